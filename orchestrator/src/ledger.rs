//! Stage 3: the [`Ledger`] — what each unit was last built from.
//!
//! One JSON file per unit under `<target>/<profile>/.ledger/`. An entry
//! records content hashes of every file rustc read (from dep-info), the
//! `env!` variables it read, the toolchain, the compile spec, and the output
//! hashes of the dependencies it was compiled against.
//!
//! Invariants: an entry is written (atomically: temp file, fsync, rename)
//! only after its rustc run succeeded, and removed before a rustc run
//! starts, so a build killed at any moment leaves either a true entry or
//! none. Freshness never rests on an mtime, and nothing here stores an
//! absolute path inside the workspace. The one use of mtimes is a tripwire
//! on the unit's own outputs ([`OutputStamp`]): an output whose size or
//! mtime is not the one its job left was changed by someone else (a
//! truncated binary, a replaced rlib), and the unit is rebuilt.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const FORMAT: u32 = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub format: u32,
    pub unit: String,
    /// Hash of `rustc -vV`.
    pub toolchain: String,
    /// Hash of the unit's [`crate::fingerprint::CompileSpec`].
    pub spec: String,
    pub inputs: Vec<FileRecord>,
    pub env: Vec<EnvRecord>,
    /// Direct dependencies: the output rustc compiled this unit against.
    /// When one differs from the dependency's current output while `links`
    /// agrees, the unit carries *metadata debt*: its code is right, but
    /// rustc would refuse to load its metadata (E0460).
    pub deps: Vec<DepRecord>,
    /// Hash of the outputs of every transitive dependency this unit's
    /// artifact is consistent with for linking ([`links_hash`]); updated by
    /// relinks and absorbed codegen-only changes. One hash, not a list: at
    /// thousands of crates a list per entry would make the ledger huge.
    pub links: String,
    /// Hash of the `.rmeta` for libraries, else of the final artifact.
    pub output: String,
    /// The last compile (or build-script run), whatever its kind.
    pub duration_ms: u64,
    /// When `.rmeta` was ready, for libraries.
    pub metadata_ms: Option<u64>,
    /// The last compile that started from nothing (no earlier outputs or
    /// incremental state of the unit here) and the last one that started
    /// from an earlier build of it: the duration model predicts each kind
    /// of job from what was measured for that kind
    /// ([`crate::schedule::Durations`]). Carried over by later entries.
    #[serde(default)]
    pub clean: Option<Measured>,
    #[serde(default)]
    pub recompile: Option<Measured>,
    /// For binaries: the linker command rustc ran, to relink without rustc.
    pub link: Option<LinkRecipe>,
    pub relink_ms: Option<u64>,
    /// What the unit's job left on disk, for the tripwire.
    #[serde(default)]
    pub stamps: Vec<OutputStamp>,
    /// rustc's warnings (and other non-error diagnostics) of the compile,
    /// replayed while the unit is not recompiled.
    #[serde(default)]
    pub diagnostics: Vec<crate::events::Diagnostic>,
}

/// How long one kind of compile took, and when its `.rmeta` was ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub total_ms: u64,
    pub metadata_ms: Option<u64>,
}

/// Size and modification time of one output file, as its job left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputStamp {
    /// The file name (outputs of one unit have distinct names).
    pub name: String,
    pub size: u64,
    pub modified_ns: u128,
}

impl OutputStamp {
    pub fn of(path: &Path) -> Option<OutputStamp> {
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta.modified().ok()?;
        Some(OutputStamp {
            name: path.file_name()?.to_string_lossy().into_owned(),
            size: meta.len(),
            modified_ns: modified
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_nanos(),
        })
    }

    /// The first of `paths` that is not as its stamp says.
    pub fn first_changed<'p>(stamps: &[OutputStamp], paths: &[&'p Path]) -> Option<&'p Path> {
        paths.iter().copied().find(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy());
            stamps
                .iter()
                .find(|s| Some(s.name.as_str()) == name.as_deref())
                .is_some_and(|stamp| OutputStamp::of(path).as_ref() != Some(stamp))
        })
    }
}

/// A linker command recorded from `rustc --print link-args`. Paths inside
/// the target directory are stored as `{target}/...`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRecipe {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl LedgerEntry {
    pub fn dep_output(&self, unit: &str) -> Option<&str> {
        self.deps
            .iter()
            .find(|d| d.unit == unit)
            .map(|d| d.output.as_str())
    }
}

/// The `links` hash of a set of `(unit key, output)` pairs, in any order.
pub fn links_hash<'a>(records: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut records: Vec<(&str, &str)> = records.into_iter().collect();
    records.sort_unstable();
    let mut hasher = blake3::Hasher::new();
    for (unit, output) in records {
        hasher.update(unit.as_bytes());
        hasher.update(&[0]);
        hasher.update(output.as_bytes());
        hasher.update(&[0]);
    }
    hasher.finalize().to_hex().to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Workspace-relative when inside the workspace, else absolute.
    pub path: PathBuf,
    /// Content hash; for a directory, of its names and contents ([`hash_path`]).
    pub hash: String,
    /// A directory (a build script's `rerun-if-changed` may name one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dir: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvRecord {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepRecord {
    pub unit: String,
    pub output: String,
}

/// The persisted entries of one profile.
#[derive(Debug, Default)]
pub struct Ledger {
    dir: PathBuf,
    entries: HashMap<String, LedgerEntry>,
}

impl Ledger {
    /// Load the entries for `units`; unreadable or foreign entries count as
    /// absent (the unit is rebuilt), never as an error.
    pub fn load(dir: &Path, units: &[String]) -> Ledger {
        let entries = read_entries(dir, units.par_iter());
        Ledger {
            dir: dir.to_path_buf(),
            entries,
        }
    }

    /// This ledger, kept in memory since it was loaded, completed with the
    /// entries of `units` it lacks. Only for a ledger nobody else wrote
    /// meanwhile (the caller knows it from the build lock's epoch): then it
    /// is what [`Ledger::load`] would read, without reading it.
    pub fn complete(mut self, dir: &Path, units: &[String]) -> Ledger {
        if self.dir != dir {
            return Ledger::load(dir, units);
        }
        let missing = read_entries(
            dir,
            units.par_iter().filter(|k| !self.entries.contains_key(*k)),
        );
        self.entries.extend(missing);
        self
    }

    pub fn get(&self, unit: &str) -> Option<&LedgerEntry> {
        self.entries.get(unit)
    }

    /// Forget a unit before rebuilding it: if the build dies mid-way, the
    /// next one must not trust artifacts that may be half-written.
    pub fn invalidate(&mut self, unit: &str) -> Result<()> {
        self.entries.remove(unit);
        let path = entry_path(&self.dir, unit);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove ledger entry", &path, e)),
        }
    }

    /// Record a successful build.
    pub fn record(&mut self, entry: LedgerEntry) -> Result<()> {
        let path = entry_path(&self.dir, &entry.unit);
        let bytes = serde_json::to_vec(&entry).map_err(|e| Error::State {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&path, &bytes)?;
        self.entries.insert(entry.unit.clone(), entry);
        Ok(())
    }

    pub fn new_entry(unit: String) -> LedgerEntry {
        LedgerEntry {
            format: FORMAT,
            unit,
            toolchain: String::new(),
            spec: String::new(),
            inputs: Vec::new(),
            env: Vec::new(),
            deps: Vec::new(),
            links: String::new(),
            output: String::new(),
            duration_ms: 0,
            metadata_ms: None,
            clean: None,
            recompile: None,
            link: None,
            relink_ms: None,
            stamps: Vec::new(),
            diagnostics: Vec::new(),
        }
    }
}

/// The readable entries among `units`; unreadable or foreign ones are absent.
fn read_entries<'a>(
    dir: &Path,
    units: impl ParallelIterator<Item = &'a String>,
) -> HashMap<String, LedgerEntry> {
    units
        .filter_map(|key| {
            let text = std::fs::read(entry_path(dir, key)).ok()?;
            let entry: LedgerEntry = serde_json::from_slice(&text).ok()?;
            (entry.format == FORMAT && entry.unit == *key).then(|| (key.clone(), entry))
        })
        .collect()
}

fn entry_path(dir: &Path, unit: &str) -> PathBuf {
    dir.join(format!("{unit}.json"))
}

/// Write `bytes` to `path` so that readers see the old or the new content,
/// never a mix: temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("write", path, e)
    })
}

/// blake3 of a file's content, hex.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// Hash many files in parallel; `None` for a file that cannot be read.
pub fn hash_files(paths: &[PathBuf]) -> HashMap<PathBuf, Option<String>> {
    paths
        .par_iter()
        .map(|p| (p.clone(), hash_file(p).ok()))
        .collect()
}

/// A file's content hash, or a directory's: every name below it (sorted)
/// with its content hash. `None` when it cannot be read.
pub fn hash_path(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return hash_file(path).ok();
    }
    let mut hasher = blake3::Hasher::new();
    for file in crate::paths::files_below(path)? {
        hasher.update(
            file.strip_prefix(path)
                .unwrap_or(&file)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update(&[0]);
        hasher.update(hash_file(&file).ok()?.as_bytes());
    }
    Some(hasher.finalize().to_hex().to_string())
}

/// Current hashes of recorded inputs (paths relative to `root` or
/// absolute), in parallel; each path once.
pub fn hash_records(root: &Path, records: &[&FileRecord]) -> HashMap<PathBuf, Option<String>> {
    let mut unique: Vec<(&PathBuf, bool)> = records.iter().map(|r| (&r.path, r.dir)).collect();
    unique.sort();
    unique.dedup();
    unique
        .par_iter()
        .map(|(path, dir)| {
            let full = root.join(path);
            let hash = match dir {
                true => hash_path(&full),
                false => hash_file(&full).ok(),
            };
            ((*path).clone(), hash)
        })
        .collect()
}

pub fn hash_str(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_invalidate_and_ignore_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let mut entry = Ledger::new_entry("a-1".into());
        entry.output = "h".into();
        let mut ledger = Ledger::load(dir.path(), &["a-1".into()]);
        assert!(ledger.get("a-1").is_none());
        ledger.record(entry.clone()).unwrap();
        let ledger2 = Ledger::load(dir.path(), &["a-1".into()]);
        assert_eq!(ledger2.get("a-1"), Some(&entry));
        ledger.invalidate("a-1").unwrap();
        assert!(
            Ledger::load(dir.path(), &["a-1".into()])
                .get("a-1")
                .is_none()
        );
        std::fs::write(dir.path().join("a-1.json"), b"{not json").unwrap();
        assert!(
            Ledger::load(dir.path(), &["a-1".into()])
                .get("a-1")
                .is_none()
        );
    }

    #[test]
    fn a_ledger_kept_in_memory_reads_only_the_entries_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let mut kept = Ledger::load(dir.path(), &["a-1".into()]);
        let mut a = Ledger::new_entry("a-1".into());
        a.output = "from this process".into();
        kept.record(a.clone()).unwrap();
        // Written by another ledger (what this process never saw).
        let mut other = Ledger::load(dir.path(), &[]);
        let mut b = Ledger::new_entry("b-2".into());
        b.output = "b".into();
        other.record(b.clone()).unwrap();
        let mut a_elsewhere = a.clone();
        a_elsewhere.output = "never read: a-1 is in memory".into();
        other.record(a_elsewhere).unwrap();

        let completed = kept.complete(dir.path(), &["a-1".into(), "b-2".into()]);
        assert_eq!(completed.get("a-1"), Some(&a));
        assert_eq!(completed.get("b-2"), Some(&b));
        // Another directory: nothing of memory is kept.
        let elsewhere = tempfile::tempdir().unwrap();
        let moved = completed.complete(elsewhere.path(), &["a-1".into()]);
        assert!(moved.get("a-1").is_none());
    }
}
