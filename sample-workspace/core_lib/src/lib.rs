//! core_lib: storage abstractions and key handling shared by `api_server`
//! and `cli_tool`.

mod store;

pub use store::{LoggingStorage, MemoryStorage, Storage};

use std::fmt;

/// Longest key (in characters, after normalization) that is accepted.
pub const MAX_KEY_LEN: usize = 16;

/// Formats one operation result as a single aligned line.
#[macro_export]
macro_rules! kv_line {
    ($op:expr, $key:expr, $result:expr) => {
        format!("{:<6} {:<20} -> {}", $op, $key, $result)
    };
}

/// Why a key was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    Empty,
    TooLong(usize),
    InvalidChar(char),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Empty => write!(f, "empty key"),
            KeyError::TooLong(n) => write!(f, "key too long ({n} > {MAX_KEY_LEN})"),
            KeyError::InvalidChar(c) => write!(f, "invalid character {c:?}"),
        }
    }
}

/// A key/value pair read out of a store. The key can only be set through
/// `Record::new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    key: String,
    pub value: String,
}

impl Record {
    pub fn new(key: &str, value: &str) -> Self {
        Self {
            key: normalize(key),
            value: value.to_string(),
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn describe(&self) -> String {
        format!("{}={}", self.key, self.value)
    }
}

/// Private helper: canonical form of a key (trimmed, lowercase, `_` for
/// spaces and dashes).
fn normalize(key: &str) -> String {
    key.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            other => other.to_ascii_lowercase(),
        })
        .collect()
}

/// Private helper: characters allowed in a normalized key.
fn is_key_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
}

/// Normalizes and validates a user-supplied key.
pub fn normalize_key(raw: &str) -> Result<String, KeyError> {
    let key = normalize(raw);
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    let len = key.chars().count();
    if len > MAX_KEY_LEN {
        return Err(KeyError::TooLong(len));
    }
    match key.chars().find(|c| !is_key_char(*c)) {
        Some(bad) => Err(KeyError::InvalidChar(bad)),
        None => Ok(key),
    }
}

/// A small, stable checksum (FNV-1a folded to 16 bits) for display purposes.
#[inline]
pub fn checksum(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash >> 16) ^ (hash & 0xffff)
}

/// All entries of a store as records, in key order.
pub fn records<S: Storage>(store: &S) -> Vec<Record> {
    store
        .keys()
        .iter()
        .filter_map(|k| store.get(k).map(|v| Record::new(k, &v)))
        .collect()
}

/// One-line description of a store's contents.
pub fn summarize<S: Storage>(store: &S) -> String {
    if store.is_empty() {
        return String::from("0 entries");
    }
    let records = records(store);
    let body: Vec<String> = records.iter().map(Record::describe).collect();
    let joined = body.join(",");
    format!(
        "{} entries [{}] checksum={:04x}",
        store.len(),
        joined,
        checksum(joined.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_key_accepts_and_rejects() {
        assert_eq!(normalize_key("  User-Name ").unwrap(), "user_name");
        assert_eq!(normalize_key("   "), Err(KeyError::Empty));
        assert_eq!(normalize_key("a/b"), Err(KeyError::InvalidChar('/')));
        assert_eq!(
            normalize_key("abcdefghijklmnopq"),
            Err(KeyError::TooLong(17))
        );
    }

    #[test]
    fn logging_storage_records_operations() {
        let mut store = LoggingStorage::new(MemoryStorage::new());
        assert!(store.is_empty());
        assert_eq!(store.put("a", "1".into()), None);
        assert_eq!(store.get("a").as_deref(), Some("1"));
        assert_eq!(store.delete("b"), None);
        assert_eq!(store.log(), ["put a (miss)", "get a (hit)", "delete b (miss)"]);
        assert_eq!(summarize(&store.into_inner()), "1 entries [a=1] checksum=6047");
    }
}
