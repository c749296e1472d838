//! Key/value storage: the `Storage` trait and its two implementations.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// A minimal string key/value store.
pub trait Storage {
    /// Returns a copy of the value stored under `key`, if any.
    fn get(&self, key: &str) -> Option<String>;

    /// Stores `value` under `key`, returning the previous value, if any.
    fn put(&mut self, key: &str, value: String) -> Option<String>;

    /// Removes `key`, returning its value, if it was present.
    fn delete(&mut self, key: &str) -> Option<String>;

    /// Number of stored entries.
    fn len(&self) -> usize;

    /// All keys, in ascending order.
    fn keys(&self) -> Vec<String>;

    /// Whether the store holds no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` is present.
    fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// An in-memory store backed by a `BTreeMap`, so iteration order is sorted.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    entries: BTreeMap<String, String>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Storage for MemoryStorage {
    fn get(&self, key: &str) -> Option<String> {
        self.entries.get(key).cloned()
    }

    fn put(&mut self, key: &str, value: String) -> Option<String> {
        self.entries.insert(key.to_string(), value)
    }

    fn delete(&mut self, key: &str) -> Option<String> {
        self.entries.remove(key)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn keys(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }
}

/// Wraps another store and records every operation performed on it.
#[derive(Debug)]
pub struct LoggingStorage<S: Storage> {
    inner: S,
    log: RefCell<Vec<String>>,
}

impl<S: Storage> LoggingStorage<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            log: RefCell::new(Vec::new()),
        }
    }

    /// The recorded operations, oldest first.
    pub fn log(&self) -> Vec<String> {
        self.log.borrow().clone()
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    fn record(&self, op: &str, key: &str, hit: bool) {
        let outcome = if hit { "hit" } else { "miss" };
        self.log.borrow_mut().push(format!("{op} {key} ({outcome})"));
    }
}

impl<S: Storage> Storage for LoggingStorage<S> {
    fn get(&self, key: &str) -> Option<String> {
        let value = self.inner.get(key);
        self.record("get", key, value.is_some());
        value
    }

    fn put(&mut self, key: &str, value: String) -> Option<String> {
        let previous = self.inner.put(key, value);
        self.record("put", key, previous.is_some());
        previous
    }

    fn delete(&mut self, key: &str) -> Option<String> {
        let removed = self.inner.delete(key);
        self.record("delete", key, removed.is_some());
        removed
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn keys(&self) -> Vec<String> {
        self.inner.keys()
    }
}
