//! Parsed-file summaries cached by content hash, so a one-file edit
//! re-parses one file. Stored under `<target-dir>/.syntax/<hash>.json`
//! (`<hash>-tests.json` for summaries that keep `#[cfg(test)]` items);
//! written atomically; an unreadable entry is re-parsed, never trusted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::summary::{FileSummary, Items, SUMMARY_FORMAT, summarize};
use crate::ledger::write_atomic;

#[derive(Debug)]
pub struct SyntaxCache {
    dir: PathBuf,
    memo: Mutex<HashMap<String, Option<FileSummary>>>,
}

impl SyntaxCache {
    pub fn new(dir: &Path) -> SyntaxCache {
        SyntaxCache {
            dir: dir.to_path_buf(),
            memo: Mutex::new(HashMap::new()),
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
        if let Some(hit) = self.memo.lock().ok()?.get(&key) {
            return hit.clone();
        }
        let summary = std::fs::read(self.entry(&key))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<FileSummary>(&bytes).ok())
            .filter(|s| s.format == SUMMARY_FORMAT);
        if let Ok(mut memo) = self.memo.lock() {
            memo.insert(key, summary.clone());
        }
        summary
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
        if let Ok(mut memo) = self.memo.lock() {
            memo.insert(key, Some(summary.clone()));
        }
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
