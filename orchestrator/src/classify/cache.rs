//! Parsed-file summaries cached by content hash, so a one-file edit
//! re-parses one file. Stored under `<target-dir>/.syntax/<hash>.json`
//! (`<hash>-tests.json` for summaries that keep `#[cfg(test)]` items);
//! written atomically; an unreadable entry is re-parsed, never trusted.
//! What a process read or made is also kept in memory; `watch` keeps it
//! between rounds, bounded by [`MEMO_CAP`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::summary::{FileSummary, Items, SUMMARY_FORMAT, summarize};
use crate::ledger::write_atomic;

/// Past this many summaries in memory, a new round keeps only those the
/// last one used (the current content of each file it looked at).
pub const MEMO_CAP: usize = 512;

#[derive(Debug)]
pub struct SyntaxCache {
    dir: PathBuf,
    memo: Mutex<HashMap<String, Memo>>,
}

#[derive(Debug)]
struct Memo {
    summary: Option<FileSummary>,
    /// Looked up or made since the last [`SyntaxCache::next_round`].
    used: bool,
}

impl SyntaxCache {
    pub fn new(dir: &Path) -> SyntaxCache {
        SyntaxCache {
            dir: dir.to_path_buf(),
            memo: Mutex::new(HashMap::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Start another round of the same process (`watch`): bound what is
    /// kept in memory.
    pub fn next_round(&mut self) {
        let Ok(memo) = self.memo.get_mut() else {
            return;
        };
        if memo.len() > MEMO_CAP {
            memo.retain(|_, m| m.used);
        }
        for m in memo.values_mut() {
            m.used = false;
        }
    }

    fn remember(&self, key: String, summary: Option<FileSummary>) {
        if let Ok(mut memo) = self.memo.lock() {
            memo.insert(
                key,
                Memo {
                    summary,
                    used: true,
                },
            );
        }
    }

    fn key(hash: &str, items: Items) -> String {
        match items {
            Items::WithoutTests => hash.to_owned(),
            Items::WithTests => format!("{hash}-tests"),
        }
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The summary of the content with this hash, if one was stored.
    pub fn get(&self, hash: &str, items: Items) -> Option<FileSummary> {
        let key = Self::key(hash, items);
        if let Some(hit) = self.memo.lock().ok()?.get_mut(&key) {
            hit.used = true;
            return hit.summary.clone();
        }
        let summary = std::fs::read(self.entry(&key))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<FileSummary>(&bytes).ok())
            .filter(|s| s.format == SUMMARY_FORMAT);
        self.remember(key, summary.clone());
        summary
    }

    /// Make sure a summary of `source` (whose blake3 is `hash`) is stored,
    /// without handing out a copy of it.
    pub fn ensure(&self, hash: &str, source: &str, items: Items) {
        let key = Self::key(hash, items);
        if let Ok(mut memo) = self.memo.lock()
            && let Some(hit) = memo.get_mut(&key)
            && hit.summary.is_some()
        {
            hit.used = true;
            return;
        }
        self.summarize(hash, source, items);
    }

    /// Summarize `source` (whose blake3 is `hash`) unless already cached, and store it.
    pub fn summarize(&self, hash: &str, source: &str, items: Items) -> FileSummary {
        if let Some(summary) = self.get(hash, items) {
            return summary;
        }
        let key = Self::key(hash, items);
        let summary = summarize(source, items);
        if let Ok(bytes) = serde_json::to_vec(&summary) {
            // A cache that cannot be written only costs a re-parse later.
            let _ = std::fs::create_dir_all(&self.dir).and_then(|()| {
                write_atomic(&self.entry(&key), &bytes).map_err(std::io::Error::other)
            });
        }
        self.remember(key, Some(summary.clone()));
        summary
    }

    /// Read `path`, hash it, and summarize it: `(hash, summary)`.
    pub fn summarize_file(&self, path: &Path, items: Items) -> Option<(String, FileSummary)> {
        let source = std::fs::read_to_string(path).ok()?;
        let hash = blake3::hash(source.as_bytes()).to_hex().to_string();
        let summary = self.summarize(&hash, &source, items);
        Some((hash, summary))
    }
}
