//! What an action entry (`ac/<key>`) holds. Files are stored by content hash
//! under `cas/`; the entry names them, so a reader never sees an entry
//! before its files (they are uploaded first) and checks every file against
//! its hash on download.

use serde::{Deserialize, Serialize};

use crate::events::Diagnostic;

pub const FORMAT: u32 = 1;

/// Kept per key: the most recent builds of one configuration whose sources
/// differ (two branches built by one team).
pub const MAX_VARIANTS: usize = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionEntry {
    pub format: u32,
    /// The unit's key (`core_lib-1a2b...`), for people reading the store.
    pub unit: String,
    /// Newest first.
    pub variants: Vec<Variant>,
}

/// One build of the unit: what it read and what it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Every source file rustc read (from dep-info), as a portable path,
    /// with its content hash.
    pub inputs: Vec<(String, String)>,
    /// Every variable rustc read through `env!`/`option_env!`.
    pub env: Vec<EnvRead>,
    /// The outputs, as `{target}/...`.
    pub files: Vec<CachedFile>,
    /// The dep-info file, paths remapped (blob hash).
    pub dep_info: String,
    /// The unit's output hash (of its `.rmeta`, else its main artifact).
    pub output: String,
    pub duration_ms: u64,
    pub metadata_ms: Option<u64>,
    /// Warnings to replay, as rustc printed them.
    pub diagnostics: Vec<Diagnostic>,
}

/// A variable rustc read, verbatim and with the storing machine's paths
/// spelled portably (compared only where [`crate::cache::key`] says so).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvRead {
    pub name: String,
    pub value: Option<String>,
    pub portable: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedFile {
    pub path: String,
    pub hash: String,
    pub size: u64,
    pub executable: bool,
}

pub fn ac_path(key: &str) -> String {
    format!("ac/{key}")
}

pub fn cas_path(hash: &str) -> String {
    format!("cas/{hash}")
}

impl ActionEntry {
    pub fn parse(bytes: &[u8]) -> Option<ActionEntry> {
        serde_json::from_slice::<ActionEntry>(bytes)
            .ok()
            .filter(|e| e.format == FORMAT)
    }

    /// `variant` first, replacing one with the same inputs; at most
    /// [`MAX_VARIANTS`].
    pub fn with(mut self, variant: Variant) -> ActionEntry {
        self.variants
            .retain(|v| v.inputs != variant.inputs || v.env != variant.env);
        self.variants.insert(0, variant);
        self.variants.truncate(MAX_VARIANTS);
        self
    }
}
