//! What an action entry (`ac/<key>`) holds. Files are stored by content hash
//! under `cas/`; the entry names them, so a reader never sees an entry
//! before its files (they are uploaded first) and checks every file against
//! its hash on download.

use serde::{Deserialize, Serialize};

use crate::events::Diagnostic;

pub const FORMAT: u32 = 2;

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
    /// Every source file rustc read (from dep-info), or a build script's
    /// `rerun-if-changed` paths, as portable paths with their content hash.
    pub inputs: Vec<Input>,
    /// Every variable rustc read through `env!`/`option_env!`.
    pub env: Vec<EnvRead>,
    /// The outputs, as `{target}/...` (with the dep-info file, or a build
    /// script's recorded output).
    pub files: Vec<CachedFile>,
    /// The unit's output hash (of its `.rmeta`, else its main artifact; of
    /// a build script's output and `OUT_DIR`).
    pub output: String,
    pub duration_ms: u64,
    pub metadata_ms: Option<u64>,
    /// Warnings to replay, as rustc printed them.
    pub diagnostics: Vec<Diagnostic>,
    /// Set when an output holds the storing machine's workspace or target
    /// path (debug info, `env!` paths, generated code naming `OUT_DIR`): the
    /// variant behaves the same only at those paths, and is taken elsewhere
    /// only by a reader that asked for that (`ORCHESTRATOR_CACHE_PORTABLE`).
    #[serde(default)]
    pub built_at: Option<BuiltAt>,
}

/// Where a variant was built: its target directory and workspace root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltAt {
    pub target: String,
    pub workspace: String,
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
pub struct Input {
    pub path: String,
    /// For a directory: of its names and contents ([`crate::ledger::hash_path`]).
    pub hash: String,
    pub dir: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedFile {
    pub path: String,
    pub hash: String,
    pub size: u64,
    pub executable: bool,
    /// Stored with this machine's paths written portably (dep-info, a
    /// build script's output), written back with the reader's.
    pub text: bool,
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
    /// Whether a variant taken under the same conditions restores the
    /// same files: storing `variant` again would add nothing.
    pub fn holds(&self, variant: &Variant) -> bool {
        self.variants.iter().any(|v| {
            v.same_conditions(variant) && v.files == variant.files && v.output == variant.output
        })
    }

    pub fn with(mut self, variant: Variant) -> ActionEntry {
        self.variants.retain(|v| !v.same_conditions(&variant));
        self.variants.insert(0, variant);
        self.variants.truncate(MAX_VARIANTS);
        self
    }
}

impl Variant {
    /// Taken under the same conditions: same inputs, variables and place.
    fn same_conditions(&self, other: &Variant) -> bool {
        self.inputs == other.inputs && self.env == other.env && self.built_at == other.built_at
    }
}
