//! Parsed-file summaries cached by content hash, so a one-file edit
//! re-parses one file. Stored under `<target-dir>/.syntax/<hash>.json`;
//! written atomically; an unreadable entry is re-parsed, never trusted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::summary::{FileSummary, SUMMARY_FORMAT, summarize};
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

    fn entry(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.json"))
    }

    /// The summary of the content with this hash, if one was stored.
    pub fn get(&self, hash: &str) -> Option<FileSummary> {
        if let Some(hit) = self.memo.lock().ok()?.get(hash) {
            return hit.clone();
        }
        let summary = std::fs::read(self.entry(hash))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<FileSummary>(&bytes).ok())
            .filter(|s| s.format == SUMMARY_FORMAT);
        if let Ok(mut memo) = self.memo.lock() {
            memo.insert(hash.to_owned(), summary.clone());
        }
        summary
    }

    /// Summarize `source` (whose blake3 is `hash`) unless already cached, and store it.
    pub fn summarize(&self, hash: &str, source: &str) -> FileSummary {
        if let Some(summary) = self.get(hash) {
            return summary;
        }
        let summary = summarize(source);
        if let Ok(bytes) = serde_json::to_vec(&summary) {
            // A cache that cannot be written only costs a re-parse later.
            let _ = std::fs::create_dir_all(&self.dir).and_then(|()| {
                write_atomic(&self.entry(hash), &bytes).map_err(std::io::Error::other)
            });
        }
        if let Ok(mut memo) = self.memo.lock() {
            memo.insert(hash.to_owned(), Some(summary.clone()));
        }
        summary
    }

    /// Read `path`, hash it, and summarize it: `(hash, summary)`.
    pub fn summarize_file(&self, path: &Path) -> Option<(String, FileSummary)> {
        let source = std::fs::read_to_string(path).ok()?;
        let hash = blake3::hash(source.as_bytes()).to_hex().to_string();
        let summary = self.summarize(&hash, &source);
        Some((hash, summary))
    }
}
