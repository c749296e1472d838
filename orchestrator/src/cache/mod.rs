//! The shared artifact cache: between "the plan says compile" and "run
//! rustc". A worker about to compile a unit first looks its action key up
//! ([`key`]); a hit restores the outputs and is recorded as a compile would
//! be; a miss compiles, and the coordinator hands the result to the
//! [`Uploader`], which stores it in the background.
//!
//! Soundness rests on three checks, all on content: the key covers every
//! setting and dependency artifact rustc reads ([`key`]); a hit needs every
//! source file and `env!` variable the entry recorded to be as they are here
//! ([`entry::Variant`]); every downloaded file must hash to its name. When
//! unsure (a file that cannot be read, a path outside the target directory,
//! an entry in an unknown format), it is a miss.
//!
//! *Never* fails a build: an unreachable store is reported once and the
//! build goes on without it.

pub mod entry;
pub mod key;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::events::Diagnostic;
use crate::paths::relative_to;
use crate::rustc::Invocation;
use entry::{ActionEntry, BuiltAt, CachedFile, EnvRead, Input, Variant, ac_path, cas_path};
use key::Remap;
use store::{Backend, Store, StoreError};

/// Whether this machine writes to the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    ReadWrite,
    /// `--cache-read-only`: use hits, upload nothing (untrusted machines).
    ReadOnly,
}

/// Which units a cache takes (looks up and stores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheScope {
    /// Every unit: a store someone chose.
    All,
    /// Units of registry and git packages only: the per-user store nobody
    /// configured. Their sources are immutable and the same in every
    /// workspace of the user, while members change on every edit: storing
    /// each of their states would put hashing and copying (a third of a
    /// second for ripgrep's 49 MB debug binary) behind every edit-rebuild,
    /// for hits their own target directory already gives.
    Dependencies,
}

impl CacheScope {
    /// Whether units of a package from `source` are looked up and stored.
    pub fn takes(self, source: &crate::graph::Source) -> bool {
        self == CacheScope::All || !source.is_local()
    }
}

/// The cache a command uses, from the command line, `ORCHESTRATOR_CACHE`
/// and the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// As given (may hold credentials: print [`CacheSettings::describe`]).
    pub url: String,
    pub backend: Backend,
    pub mode: CacheMode,
    /// Share entries whose outputs name the building machine's paths with
    /// clones elsewhere (debug info and generated code then name that
    /// machine's directories): `ORCHESTRATOR_CACHE_PORTABLE=1`.
    pub portable: bool,
    /// A directory store's size limit in bytes (least recently used objects
    /// are removed beyond it); other stores have their own policies.
    pub max_size: Option<u64>,
    /// Nothing was configured: the per-user directory store. If it cannot
    /// be used, the build goes on without a cache (a warning, not an error).
    pub implicit: bool,
    pub scope: CacheScope,
}

/// A directory store's size limit unless `ORCHESTRATOR_CACHE_SIZE` or
/// `cache.max-size` says otherwise (sccache's default).
pub const DEFAULT_MAX_SIZE: u64 = 10 << 30;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ConfigFile {
    #[serde(default)]
    cache: ConfigCache,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ConfigCache {
    url: Option<String>,
    read_only: Option<bool>,
    portable: Option<bool>,
    max_size: Option<toml::Value>,
}

impl CacheSettings {
    /// `no_cache` (`--no-cache`) wins; then `ORCHESTRATOR_CACHE` (`off` turns
    /// the cache off), then `cache.url` in orchestrator's config file. No URL
    /// anywhere: the per-user directory store (`local`).
    pub fn resolve(
        env: &BTreeMap<String, String>,
        no_cache: bool,
        read_only: bool,
    ) -> Result<Option<CacheSettings>> {
        if no_cache {
            return Ok(None);
        }
        let file = config_file(env);
        let config = match &file {
            Some(path) if path.is_file() => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
                toml::from_str::<ConfigFile>(&text).map_err(|e| Error::Cache {
                    url: path.display().to_string(),
                    message: format!("malformed config file: {}", e.message()),
                })?
            }
            _ => ConfigFile::default(),
        };
        let (url, implicit) = match env.get("ORCHESTRATOR_CACHE").filter(|v| !v.is_empty()) {
            Some(url) => (url.clone(), false),
            None => match config.cache.url {
                Some(url) => (url, false),
                None => ("local".to_owned(), true),
            },
        };
        if url == "off" || url == "none" {
            return Ok(None);
        }
        let flag = |name: &str| {
            env.get(name)
                .is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
        };
        let read_only = read_only
            || flag("ORCHESTRATOR_CACHE_READ_ONLY")
            || config.cache.read_only == Some(true);
        let portable = flag("ORCHESTRATOR_CACHE_PORTABLE") || config.cache.portable == Some(true);
        let default = default_dir(env);
        if implicit && default.is_none() {
            return Ok(None);
        }
        let backend = Backend::parse(&url, default.as_deref()).map_err(|message| Error::Cache {
            url: store::redact(&url),
            message,
        })?;
        let max_size = match (&backend, env.get("ORCHESTRATOR_CACHE_SIZE")) {
            (Backend::Dir(_), Some(text)) => {
                Some(parse_size(text).map_err(|message| Error::Cache {
                    url: format!("ORCHESTRATOR_CACHE_SIZE={text}"),
                    message,
                })?)
            }
            (Backend::Dir(_), None) => match &config.cache.max_size {
                None => Some(DEFAULT_MAX_SIZE),
                Some(value) => {
                    let text = match value {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    Some(parse_size(&text).map_err(|message| {
                        Error::Cache {
                            url: file
                                .as_ref()
                                .map(|f| f.display().to_string())
                                .unwrap_or_default(),
                            message: format!("cache.max-size: {message}"),
                        }
                    })?)
                }
            },
            _ => None,
        };
        Ok(Some(CacheSettings {
            max_size,
            implicit,
            scope: match implicit {
                true => CacheScope::Dependencies,
                false => CacheScope::All,
            },
            url,
            backend,
            mode: match read_only {
                true => CacheMode::ReadOnly,
                false => CacheMode::ReadWrite,
            },
            portable,
        }))
    }

    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Dir(dir) => format!("file://{}", dir.display()),
            _ => store::redact(&self.url),
        }
    }
}

/// A size as people write it: `10G`, `10 GiB`, `500M`, `1.5G`, `1000000`.
/// `K`/`M`/`G`/`T` and `KiB`... are powers of 1024, `KB`/`MB`/`GB`/`TB`
/// powers of 1000.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. `10G`, `500 MiB`, `1000000`)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (B, K, M, G, T, KiB..., KB...)"
            ));
        }
    };
    Ok((number * scale as f64) as u64)
}

/// What of this machine, beyond the toolchain, decides outputs and so
/// enters every key: the C library the linker links against and that
/// downloaded proc macros and build scripts must load with, and
/// `RUSTC_BOOTSTRAP` (it lets rustc accept unstable features).
fn system(env: &BTreeMap<String, String>) -> String {
    format!(
        "libc {}; RUSTC_BOOTSTRAP={:?}",
        libc_version(),
        env.get("RUSTC_BOOTSTRAP")
    )
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn libc_version() -> String {
    // SAFETY: glibc returns a pointer to a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    format!("glibc {}", version.to_string_lossy())
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn libc_version() -> String {
    "system".to_owned()
}

fn own_paths(remap: &Remap) -> Vec<String> {
    let (target, workspace) = remap.prefixes();
    let mut paths = Vec::new();
    for path in [workspace, target] {
        if path.is_empty() {
            continue;
        }
        paths.push(path.to_owned());
        if let Ok(real) = std::fs::canonicalize(path) {
            paths.push(real.to_string_lossy().into_owned());
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// `$XDG_CONFIG_HOME/orchestrator/config.toml`, else
/// `~/.config/orchestrator/config.toml`.
pub fn config_file(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let base = match env.get("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env.get("HOME")?).join(".config"),
    };
    Some(base.join("orchestrator").join("config.toml"))
}

/// The per-user directory `ORCHESTRATOR_CACHE=local` names:
/// `$XDG_CACHE_HOME/orchestrator`, else `~/.cache/orchestrator`.
/// `None` without `XDG_CACHE_HOME` or `HOME`: a directory everyone can
/// write to (`/tmp`) would let another user plant entries.
pub fn default_dir(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let set = |name: &str| env.get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    match set("XDG_CACHE_HOME") {
        Some(dir) => Some(dir.join("orchestrator")),
        None => set("HOME").map(|home| home.join(".cache").join("orchestrator")),
    }
}

/// Something about the cache the build reports (workers never print).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheNote {
    /// The store failed; the build goes on without it. Reported once.
    Unavailable(String),
    /// A stored file did not hash to its name: ignored (and removed when
    /// this machine may write), the unit compiled.
    Corrupt { file: String },
    /// An entry named an output outside the target directory, or one the
    /// unit does not write: ignored.
    Refused { path: String },
}

impl std::fmt::Display for CacheNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheNote::Unavailable(m) => write!(
                f,
                "the build cache is unavailable, building without it: {m}"
            ),
            CacheNote::Corrupt { file } => write!(
                f,
                "corrupted cache entry ignored (`{file}` does not match its hash); compiling instead"
            ),
            CacheNote::Refused { path } => write!(
                f,
                "cache entry refused: it names `{path}`, which is not an output of this unit inside the target directory"
            ),
        }
    }
}

/// A hit: the outputs are in place.
#[derive(Debug)]
pub struct Hit {
    pub variant: Variant,
    /// Hashes of the inputs, by ledger path (workspace-relative or absolute).
    pub input_hashes: HashMap<PathBuf, String>,
    pub bytes: u64,
}

/// What a worker needs to look a unit up.
pub struct Lookup<'a> {
    pub key: &'a str,
    /// Files the entry must provide (and may write).
    pub required: Vec<PathBuf>,
    /// Where else it may write: a build script's run directory (`OUT_DIR`).
    pub within: Option<&'a Path>,
    /// The file the unit's output hash is the hash of (compiles).
    pub main: Option<&'a Path>,
    pub invocation: &'a Invocation,
    /// The workspace root: ledger paths inside it are relative to it.
    pub root: &'a Path,
    /// Hashes already taken for this job (by ledger path).
    pub known: &'a HashMap<PathBuf, String>,
    /// A build-script run: its `rerun-if-env-changed` variables are the
    /// process environment's (as the plan compares them).
    pub script: bool,
}

/// A finished job to store.
#[derive(Debug, Clone)]
pub struct Upload {
    pub key: String,
    /// The unit's key (`util-1a2b...`), written into the entry.
    pub unit: String,
    /// How messages name it (`util (lib)`).
    pub label: String,
    /// Outputs to store (absolute; inside the target directory), and
    /// whether each is text whose paths are stored portably.
    pub files: Vec<(PathBuf, bool)>,
    /// The unit's output hash, and the file it is the hash of (compiles).
    pub output: String,
    pub main: Option<PathBuf>,
    /// Inputs (absolute) with the hashes the ledger recorded, and whether
    /// each is a directory.
    pub inputs: Vec<(PathBuf, String, bool)>,
    pub env: Vec<(String, Option<String>)>,
    pub diagnostics: Vec<Diagnostic>,
    pub duration_ms: u64,
    pub metadata_ms: Option<u64>,
    /// Size and mtime of the outputs as the job left them: an output
    /// rewritten since (by anything) is not stored.
    pub stamps: Vec<crate::ledger::OutputStamp>,
}

/// What one build did with the cache.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheCounts {
    pub hits: usize,
    pub misses: usize,
    pub uploaded: usize,
    pub downloaded_bytes: u64,
    pub uploaded_bytes: u64,
    /// Least recently used objects removed to keep a directory store under
    /// its size limit.
    pub evicted: usize,
    pub evicted_bytes: u64,
}

/// The cache during one build: the store, how paths are spelled, and what
/// has been hashed already.
pub struct Cache {
    store: Store,
    pub mode: CacheMode,
    pub remap: Remap,
    /// The environment orchestrator runs in (rustc inherits it).
    process_env: BTreeMap<String, String>,
    /// What of this machine reaches outputs beyond the toolchain ([`system`]).
    system: String,
    /// The workspace root and target directory, as given and resolved.
    own_paths: Vec<String>,
    /// Share entries whose outputs name this machine's paths with clones
    /// elsewhere (`ORCHESTRATOR_CACHE_PORTABLE`).
    portable: bool,
    /// A directory store's size limit.
    max_size: Option<u64>,
    pub scope: CacheScope,
    /// The store failed once: not asked again in this build.
    down: AtomicBool,
    /// Content hashes of linked artifacts (they do not change once written
    /// in a build).
    linked: Mutex<HashMap<PathBuf, String>>,
    counts: Mutex<CacheCounts>,
}

impl Cache {
    pub fn open(
        settings: &CacheSettings,
        remap: Remap,
        process_env: BTreeMap<String, String>,
    ) -> Result<Cache> {
        Ok(Cache {
            own_paths: own_paths(&remap),
            store: Store::open(&settings.backend, settings.describe())?,
            mode: settings.mode,
            remap,
            system: system(&process_env),
            portable: settings.portable,
            max_size: settings.max_size,
            scope: settings.scope,
            process_env,
            down: AtomicBool::new(false),
            linked: Mutex::new(HashMap::new()),
            counts: Mutex::new(CacheCounts::default()),
        })
    }

    pub fn describe(&self) -> &str {
        &self.store.describe
    }

    /// Whether build-script results are taken from the cache: only where
    /// the user declared the machines sharing it interchangeable
    /// (`ORCHESTRATOR_CACHE_PORTABLE`): a script may read anything.
    pub fn shares_scripts(&self) -> bool {
        self.portable
    }

    pub fn counts(&self) -> CacheCounts {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, f: impl FnOnce(&mut CacheCounts)) {
        f(&mut self.counts.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// The store failed: say so the first time only.
    fn went_down(&self, message: String, notes: &mut Vec<CacheNote>) {
        if !self.down.swap(true, Ordering::Relaxed) {
            notes.push(CacheNote::Unavailable(message));
        }
    }

    /// The full key: `partial`, this machine's system (see [`system`]), and
    /// the content of `files` (what the unit links, wrappers). `None` when
    /// one of them cannot be read (then the unit is not looked up or stored).
    pub fn key(&self, partial: blake3::Hasher, files: &[PathBuf]) -> Option<String> {
        let mut hashes = Vec::with_capacity(files.len() + 1);
        hashes.push(self.system.clone());
        for file in files {
            let known = self
                .linked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(file)
                .cloned();
            let hash = match known {
                Some(hash) => hash,
                None => {
                    let hash = crate::ledger::hash_file(file).ok()?;
                    self.linked
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(file.clone(), hash.clone());
                    hash
                }
            };
            hashes.push(hash);
        }
        Some(key::finish(partial, &hashes))
    }

    /// The variable as the job sees it: set by orchestrator, removed, or
    /// inherited; a build script's `rerun-if-env-changed` ones as the
    /// process has them.
    fn seen_env(&self, lookup: &Lookup<'_>, name: &str) -> Option<String> {
        let invocation = lookup.invocation;
        if lookup.script {
            return self.process_env.get(name).cloned();
        }
        if let Some((_, value)) = invocation.env.iter().find(|(k, _)| k == name) {
            return Some(value.to_string_lossy().into_owned());
        }
        if invocation.env_remove.iter().any(|k| k == name) {
            return None;
        }
        self.process_env.get(name).cloned()
    }

    /// Look the unit up; on a hit its outputs are restored in place.
    pub fn fetch(&self, lookup: &Lookup<'_>, notes: &mut Vec<CacheNote>) -> Option<Hit> {
        if self.is_down() {
            return None;
        }
        let bytes = match self.store.get(&ac_path(lookup.key)) {
            Ok(bytes) => bytes,
            Err(StoreError::Missing) => {
                self.count(|c| c.misses += 1);
                return None;
            }
            Err(e) => {
                self.went_down(e.to_string(), notes);
                return None;
            }
        };
        let (target, workspace) = self.remap.prefixes();
        let here = |at: &BuiltAt| at.target == target && at.workspace == workspace;
        let found = ActionEntry::parse(&bytes).and_then(|entry| {
            entry
                .variants
                .into_iter()
                // Outputs naming another machine's paths are taken only
                // where the user asked for that.
                .filter(|v| v.built_at.as_ref().is_none_or(here) || self.portable)
                .find_map(|v| self.matches(v, lookup))
        });
        let Some((variant, input_hashes)) = found else {
            self.count(|c| c.misses += 1);
            return None;
        };
        match self.restore(&variant, lookup, notes) {
            Some(bytes) => {
                self.store.touch(&ac_path(lookup.key));
                self.count(|c| {
                    c.hits += 1;
                    c.downloaded_bytes += bytes;
                });
                Some(Hit {
                    variant,
                    input_hashes,
                    bytes,
                })
            }
            None => {
                self.count(|c| c.misses += 1);
                None
            }
        }
    }

    /// A hit turned out unusable after its files were placed (a build
    /// script's result does not hash as recorded): count it as a miss.
    pub fn unusable(&self) {
        self.count(|c| {
            c.hits = c.hits.saturating_sub(1);
            c.misses += 1;
        });
    }

    /// The variant, if everything it read is as it is here.
    fn matches(
        &self,
        variant: Variant,
        lookup: &Lookup<'_>,
    ) -> Option<(Variant, HashMap<PathBuf, String>)> {
        for read in &variant.env {
            let now = self.seen_env(lookup, &read.name);
            // `OUT_DIR` is read to `include!` generated code: where the
            // outputs do not name it (an entry not bound to its machine's
            // paths), only what is in it matters, and that is an input.
            let same = match read.name == "OUT_DIR" {
                true => now.map(|v| self.remap.portable(&v)) == read.portable,
                false => now == read.value,
            };
            if !same {
                return None;
            }
        }
        let mut hashes = HashMap::new();
        for input in &variant.inputs {
            let path = self.remap.local_input(&input.path)?;
            let ledger_path = relative_to(&path, lookup.root);
            let now = match (input.dir, lookup.known.get(&ledger_path)) {
                (false, Some(h)) => h.clone(),
                (false, None) => crate::ledger::hash_file(&path).ok()?,
                (true, _) => crate::ledger::hash_path(&path)?,
            };
            if now != input.hash {
                return None;
            }
            hashes.insert(ledger_path, now);
        }
        Some((variant, hashes))
    }

    /// Download and place every output of `variant`; `None` (a miss) if any
    /// is missing, corrupted, or not where this unit writes.
    fn restore(
        &self,
        variant: &Variant,
        lookup: &Lookup<'_>,
        notes: &mut Vec<CacheNote>,
    ) -> Option<u64> {
        let mut placed = Vec::new();
        for file in &variant.files {
            let allowed = |p: &PathBuf| {
                lookup.required.contains(p) || lookup.within.is_some_and(|w| p.starts_with(w))
            };
            let Some(local) = self.remap.local_output(&file.path).filter(allowed) else {
                notes.push(CacheNote::Refused {
                    path: file.path.clone(),
                });
                return None;
            };
            placed.push((file, local));
        }
        // Every output the unit writes must come from the entry, and the
        // one its output hash names must be that hash.
        if lookup
            .required
            .iter()
            .any(|r| !placed.iter().any(|(_, p)| p == r))
        {
            return None;
        }
        if let Some(main) = lookup.main
            && !placed
                .iter()
                .any(|(f, p)| p == main && f.hash == variant.output)
        {
            return None;
        }
        let mut total = 0;
        for (file, local) in &placed {
            let bytes = self.blob(&file.hash, notes)?;
            self.store.touch(&cas_path(&file.hash));
            total += bytes.len() as u64;
            let bytes = match file.text {
                true => self
                    .remap
                    .local(&String::from_utf8(bytes).ok()?)
                    .into_bytes(),
                false => bytes,
            };
            write_output(local, &bytes, file.executable).ok()?;
        }
        Some(total)
    }

    /// A stored file, checked against its hash.
    fn blob(&self, hash: &str, notes: &mut Vec<CacheNote>) -> Option<Vec<u8>> {
        let bytes = match self.store.get(&cas_path(hash)) {
            Ok(bytes) => bytes,
            Err(StoreError::Missing) => return None,
            Err(e) => {
                self.went_down(e.to_string(), notes);
                return None;
            }
        };
        if blake3::hash(&bytes).to_hex().as_str() != hash {
            notes.push(CacheNote::Corrupt {
                file: cas_path(hash),
            });
            // A writer removes it, so the next upload stores it again; only
            // if a second read is as bad (not a transfer cut short).
            let again = self.store.get(&cas_path(hash));
            let bad = again.is_ok_and(|b| blake3::hash(&b).to_hex().as_str() != hash);
            if self.mode == CacheMode::ReadWrite && bad {
                let _ = self.store.delete(&cas_path(hash));
            }
            return None;
        }
        Some(bytes)
    }

    /// Whether `bytes` hold this machine's workspace or target path, as
    /// given or with symbolic links resolved.
    fn names_this_machine(&self, bytes: &[u8]) -> bool {
        self.own_paths
            .iter()
            .any(|p| memchr::memmem::find(bytes, p.as_bytes()).is_some())
    }

    /// Store a job's outputs; returns the bytes sent.
    pub fn upload(
        &self,
        up: &Upload,
        notes: &mut Vec<CacheNote>,
    ) -> std::result::Result<u64, String> {
        if self.is_down() || self.mode == CacheMode::ReadOnly {
            return Ok(0);
        }
        let fail = |e: StoreError, notes: &mut Vec<CacheNote>| {
            self.went_down(e.to_string(), notes);
            e.to_string()
        };
        let paths: Vec<&Path> = up.files.iter().map(|(p, _)| p.as_path()).collect();
        if let Some(changed) = crate::ledger::OutputStamp::first_changed(&up.stamps, &paths) {
            return Err(format!("{} changed after its job", changed.display()));
        }
        let mut sent = 0;
        let mut files = Vec::new();
        let mut names_paths = false;
        for (path, text) in &up.files {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            // The output changed since it was recorded (another build):
            // store nothing rather than a mismatched entry.
            if up.main.as_ref() == Some(path) && blake3::hash(&bytes).to_hex().as_str() != up.output
            {
                return Err(format!("{} changed after its compile", path.display()));
            }
            let bytes = match text {
                true => {
                    let text = String::from_utf8(bytes)
                        .map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
                    // It would read back with this machine's paths in them.
                    if text.contains(key::TARGET) || text.contains(key::WORKSPACE) {
                        return Err(format!(
                            "{} holds `{}` or `{}` literally",
                            path.display(),
                            key::TARGET,
                            key::WORKSPACE
                        ));
                    }
                    self.remap.portable(&text).into_bytes()
                }
                false => {
                    names_paths = names_paths || self.names_this_machine(&bytes);
                    bytes
                }
            };
            let hash = blake3::hash(&bytes).to_hex().to_string();
            let size = bytes.len() as u64;
            sent += self.put_blob(&hash, bytes).map_err(|e| fail(e, notes))?;
            files.push(CachedFile {
                path: self.remap.portable_path(path),
                hash,
                size,
                executable: is_executable(path),
                text: *text,
            });
        }
        if files
            .iter()
            .any(|f| self.remap.local_output(&f.path).is_none())
        {
            return Err("an output is outside the target directory".to_owned());
        }
        let variant = Variant {
            inputs: up
                .inputs
                .iter()
                .map(|(p, h, dir)| Input {
                    path: self.remap.portable_path(p),
                    hash: h.clone(),
                    dir: *dir,
                })
                .collect(),
            env: up
                .env
                .iter()
                .map(|(name, value)| EnvRead {
                    name: name.clone(),
                    value: value.clone(),
                    portable: value.as_deref().map(|v| self.remap.portable(v)),
                })
                .collect(),
            files,
            output: up.output.clone(),
            duration_ms: up.duration_ms,
            metadata_ms: up.metadata_ms,
            diagnostics: up.diagnostics.clone(),
            built_at: names_paths.then(|| {
                let (target, workspace) = self.remap.prefixes();
                BuiltAt {
                    target: target.to_owned(),
                    workspace: workspace.to_owned(),
                }
            }),
        };
        let key = &up.key;
        // Read, add, write: two machines storing one key at once may lose a
        // variant (a later miss), never mix two.
        let entry = match self.store.get(&ac_path(key)) {
            Ok(bytes) => ActionEntry::parse(&bytes),
            Err(StoreError::Missing) => None,
            Err(e) => return Err(fail(e, notes)),
        }
        .unwrap_or(ActionEntry {
            format: entry::FORMAT,
            unit: up.unit.clone(),
            variants: Vec::new(),
        });
        // A job that ran again as it ran before (a build script on another
        // machine, which is not taken from the cache by default) adds nothing.
        if entry.holds(&variant) {
            return Ok(sent);
        }
        let entry = entry.with(variant);
        let bytes = serde_json::to_vec(&entry).map_err(|e| e.to_string())?;
        sent += bytes.len() as u64;
        self.store
            .put(&ac_path(key), bytes)
            .map_err(|e| fail(e, notes))?;
        self.count(|c| {
            c.uploaded += 1;
            c.uploaded_bytes += sent;
        });
        Ok(sent)
    }

    /// Store a blob unless it is there; returns the bytes sent. A store
    /// that cannot say (an HTTP cache without `PROPFIND`) is sent the blob:
    /// writing a content-addressed file twice is harmless.
    fn put_blob(&self, hash: &str, bytes: Vec<u8>) -> std::result::Result<u64, StoreError> {
        let path = cas_path(hash);
        if let Ok(true) = self.store.exists(&path) {
            // In use again: kept longer.
            self.store.touch(&path);
            return Ok(0);
        }
        let len = bytes.len() as u64;
        self.store.put(&path, bytes)?;
        Ok(len)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Write a restored output: temp file in the same directory, then rename,
/// so no reader sees half a file.
fn write_output(path: &Path, bytes: &[u8], executable: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = crate::paths::temp_sibling(path, "download");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        #[cfg(unix)]
        if executable {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        }
        #[cfg(not(unix))]
        let _ = executable;
        // A hard link left by an uplift must not be written through.
        let _ = std::fs::remove_file(path);
        std::fs::rename(&tmp, path)
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}

/// Stores finished compiles on its own thread, so uploads never sit on
/// the build's critical path. The build waits for it only at the end.
pub struct Uploader<'scope> {
    tx: Option<crossbeam_channel::Sender<Upload>>,
    handle: Option<std::thread::ScopedJoinHandle<'scope, UploadReport>>,
}

/// What the uploader has to report, and the units it could not store (with why).
pub type UploadReport = (Vec<CacheNote>, Vec<String>);

impl<'scope> Uploader<'scope> {
    pub fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        cache: &'env Cache,
    ) -> Uploader<'scope> {
        let (tx, rx) = crossbeam_channel::unbounded::<Upload>();
        let handle = scope.spawn(move || {
            let mut notes = Vec::new();
            let mut failures = Vec::new();
            let mut sent = 0;
            for up in rx {
                // Interrupted: stop storing (what is stored is whole).
                if crate::interrupt::received().is_some() {
                    continue;
                }
                match cache.upload(&up, &mut notes) {
                    Ok(bytes) => sent += bytes,
                    Err(e) if !cache.is_down() => failures.push(format!("{}: {e}", up.label)),
                    Err(_) => {}
                }
            }
            if let Some(limit) = cache.max_size.filter(|_| sent > 0) {
                let evicted = cache.store.keep_under(limit, sent);
                cache.count(|c| {
                    c.evicted += evicted.objects;
                    c.evicted_bytes += evicted.bytes;
                });
            }
            (notes, failures)
        });
        Uploader {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    /// Where to send compiles to store; every sender must be dropped before
    /// [`Uploader::finish`] can return.
    pub fn sender(&self) -> crossbeam_channel::Sender<Upload> {
        match &self.tx {
            Some(tx) => tx.clone(),
            None => crossbeam_channel::unbounded().0,
        }
    }

    /// Wait for every upload.
    pub fn finish(mut self) -> UploadReport {
        drop(self.tx.take());
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

/// What the store holds (`orchestrator cache stats`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StoreStats {
    pub entries: usize,
    pub entry_bytes: u64,
    pub blobs: usize,
    pub blob_bytes: u64,
}

/// What `orchestrator cache verify` found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verified {
    pub blobs: usize,
    /// Files whose content did not match their name (removed).
    pub corrupt: Vec<String>,
    pub entries: usize,
    /// Variants naming a missing or corrupted file, and unreadable entries
    /// (removed; an entry left with no variant is removed).
    pub broken: Vec<String>,
}

fn admin_error(store: &Store, what: &str, e: StoreError) -> Error {
    let message = match e {
        StoreError::Unsupported(_) => format!(
            "this backend cannot list what it stores, so it cannot {what} (a Redis store: use `redis-cli FLUSHDB` to empty it)"
        ),
        other => format!("could not {what}: {other}"),
    };
    Error::Cache {
        url: store.describe.clone(),
        message,
    }
}

/// What [`Store::keep_under`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evicted {
    pub objects: usize,
    pub bytes: u64,
}

/// An object of a directory store: when it was last used, and its size.
struct Held {
    used: std::time::SystemTime,
    size: u64,
    path: PathBuf,
}

fn held_below(dir: &Path) -> Vec<Held> {
    crate::paths::files_below(dir)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|path| {
            let meta = std::fs::metadata(&path).ok()?;
            Some(Held {
                used: meta.modified().ok()?,
                size: meta.len(),
                path,
            })
        })
        .collect()
}

impl Store {
    /// Keep a directory store under `limit` bytes. After `added` bytes were
    /// stored, they are added to the size on record (`.size`); once that is
    /// over the limit (or unknown), the store is measured and, if it is over,
    /// whole entries go, least recently used first, each with the files no
    /// remaining entry names, until it holds at most 90% of the limit. A hit
    /// is thus all or nothing: no entry is left naming a removed file.
    /// Files no entry names (an upload cut short) go first, once they are an
    /// hour old (younger ones may belong to an upload in progress).
    pub fn keep_under(&self, limit: u64, added: u64) -> Evicted {
        const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);
        let Some(dir) = self.local_dir() else {
            return Evicted::default();
        };
        let record = dir.join(".size");
        let known = std::fs::read_to_string(&record)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        let mut evicted = Evicted::default();
        let mut remove = |held: &Held, size: &mut u64| {
            if std::fs::remove_file(&held.path).is_ok() {
                *size -= held.size;
                evicted.objects += 1;
                evicted.bytes += held.size;
            }
        };
        let size = match known {
            Some(size) if size.saturating_add(added) <= limit => size.saturating_add(added),
            _ => {
                let entries = held_below(&dir.join("ac"));
                let blobs = held_below(&dir.join("cas"));
                let mut size: u64 = entries.iter().chain(&blobs).map(|h| h.size).sum();
                if size > limit {
                    let goal = limit / 10 * 9;
                    let names = |entry: &Held| -> Vec<String> {
                        std::fs::read(&entry.path)
                            .ok()
                            .and_then(|b| ActionEntry::parse(&b))
                            .map(|e| {
                                e.variants
                                    .into_iter()
                                    .flat_map(|v| v.files.into_iter().map(|f| f.hash))
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    let mut named: HashMap<String, usize> = HashMap::new();
                    let mut entry_names = Vec::with_capacity(entries.len());
                    for entry in &entries {
                        let hashes = names(entry);
                        for hash in &hashes {
                            *named.entry(hash.clone()).or_default() += 1;
                        }
                        entry_names.push(hashes);
                    }
                    let blob_of: HashMap<String, &Held> = blobs
                        .iter()
                        .filter_map(|b| Some((b.path.file_name()?.to_str()?.to_owned(), b)))
                        .collect();
                    for (hash, blob) in &blob_of {
                        let old = blob.used.elapsed().is_ok_and(|age| age > ORPHAN_AGE);
                        if !named.contains_key(hash) && old {
                            remove(blob, &mut size);
                        }
                    }
                    let mut order: Vec<usize> = (0..entries.len()).collect();
                    order.sort_by_key(|&i| entries[i].used);
                    for i in order {
                        if size <= goal {
                            break;
                        }
                        remove(&entries[i], &mut size);
                        for hash in &entry_names[i] {
                            let Some(count) = named.get_mut(hash) else {
                                continue;
                            };
                            *count -= 1;
                            if *count == 0
                                && let Some(blob) = blob_of.get(hash)
                            {
                                remove(blob, &mut size);
                            }
                        }
                    }
                }
                size
            }
        };
        // A running estimate: two builds adding at once may lose an
        // addition; the next measurement corrects it.
        let tmp = dir.join(format!(".size.{}", std::process::id()));
        if std::fs::write(&tmp, size.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &record);
        }
        evicted
    }

    pub fn stats(&self) -> Result<StoreStats> {
        let listed = |dir: &str| {
            self.list(dir)
                .map_err(|e| admin_error(self, "count entries", e))
        };
        let ac = listed("ac/")?;
        let cas = listed("cas/")?;
        Ok(StoreStats {
            entries: ac.len(),
            entry_bytes: ac.iter().map(|l| l.size).sum(),
            blobs: cas.len(),
            blob_bytes: cas.iter().map(|l| l.size).sum(),
        })
    }

    /// Remove every entry and file; returns how many objects were removed.
    pub fn clean(&self) -> Result<usize> {
        let mut removed = 0;
        // Entries first: a reader never finds an entry whose files are gone.
        for dir in ["ac/", "cas/"] {
            for listed in self.list(dir).map_err(|e| admin_error(self, "clean", e))? {
                self.delete(&listed.path)
                    .map_err(|e| admin_error(self, "clean", e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Check every file against its hash and every entry against the files
    /// it names; remove what is wrong.
    pub fn verify(&self) -> Result<Verified> {
        let fail = |e| admin_error(self, "verify", e);
        let mut verified = Verified::default();
        let mut good = std::collections::HashSet::new();
        for listed in self.list("cas/").map_err(fail)? {
            let name = listed.path.trim_start_matches("cas/").to_owned();
            let bytes = self.get(&listed.path).map_err(fail)?;
            verified.blobs += 1;
            if blake3::hash(&bytes).to_hex().as_str() == name {
                good.insert(name);
            } else {
                self.delete(&listed.path).map_err(fail)?;
                verified.corrupt.push(listed.path);
            }
        }
        for listed in self.list("ac/").map_err(fail)? {
            verified.entries += 1;
            let bytes = self.get(&listed.path).map_err(fail)?;
            let Some(mut entry) = ActionEntry::parse(&bytes) else {
                self.delete(&listed.path).map_err(fail)?;
                verified.broken.push(listed.path);
                continue;
            };
            let before = entry.variants.len();
            entry
                .variants
                .retain(|v| v.files.iter().all(|f| good.contains(&f.hash)));
            let removed = before - entry.variants.len();
            verified
                .broken
                .extend((0..removed).map(|_| listed.path.clone()));
            match (removed, entry.variants.is_empty()) {
                (0, _) => {}
                (_, true) => self.delete(&listed.path).map_err(fail)?,
                (_, false) => {
                    let bytes = serde_json::to_vec(&entry).map_err(|e| Error::Cache {
                        url: self.describe.clone(),
                        message: e.to_string(),
                    })?;
                    self.put(&listed.path, bytes).map_err(fail)?;
                }
            }
        }
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_naming(blobs: &[&str]) -> Vec<u8> {
        let variant = Variant {
            inputs: Vec::new(),
            env: Vec::new(),
            files: blobs
                .iter()
                .map(|hash| CachedFile {
                    path: format!("{{target}}/{hash}"),
                    hash: (*hash).to_owned(),
                    size: 1000,
                    executable: false,
                    text: false,
                })
                .collect(),
            output: String::new(),
            duration_ms: 0,
            metadata_ms: None,
            diagnostics: Vec::new(),
            built_at: None,
        };
        let entry = ActionEntry {
            format: entry::FORMAT,
            unit: "unit".into(),
            variants: vec![variant],
        };
        serde_json::to_vec(&entry).expect("serialize")
    }

    #[test]
    fn eviction_removes_least_recently_used_entries_with_their_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&Backend::Dir(dir.path().to_path_buf()), "test".into())
            .expect("open store");
        let now = std::time::SystemTime::now();
        let age = |name: &str, hours: u64| {
            std::fs::File::options()
                .write(true)
                .open(dir.path().join(name))
                .and_then(|f| f.set_modified(now - std::time::Duration::from_secs(3600 * hours)))
                .expect("age");
        };
        for blob in ["shared", "only-old", "only-new", "orphan"] {
            store.put(&cas_path(blob), vec![0; 1000]).expect("put");
        }
        store
            .put("ac/old", entry_naming(&["shared", "only-old"]))
            .expect("put");
        store
            .put("ac/new", entry_naming(&["shared", "only-new"]))
            .expect("put");
        let entry_size = std::fs::metadata(dir.path().join("ac/old"))
            .expect("size")
            .len();
        age("ac/old", 5);
        age("ac/new", 4);
        age("cas/orphan", 2);
        // Within the limit: nothing is removed.
        assert_eq!(store.keep_under(1 << 20, 0), Evicted::default());
        // Used again: `old` becomes the most recent.
        store.touch("ac/old");
        // Over: the two-hour-old orphan, then the least recently used entry
        // (`new`) with the file only it names; `shared` stays.
        let evicted = store.keep_under(3000, 1 << 20);
        assert_eq!(
            evicted,
            Evicted {
                objects: 3,
                bytes: 2000 + entry_size
            }
        );
        for gone in ["cas/orphan", "ac/new", "cas/only-new"] {
            assert!(!dir.path().join(gone).exists(), "{gone}");
        }
        for kept in ["ac/old", "cas/shared", "cas/only-old"] {
            assert!(dir.path().join(kept).exists(), "{kept}");
        }
        let recorded = std::fs::read_to_string(dir.path().join(".size")).expect(".size");
        assert_eq!(recorded, (2000 + entry_size).to_string());
    }

    fn resolved(vars: &[(&str, &str)]) -> Option<CacheSettings> {
        let mut env: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert("XDG_CONFIG_HOME".into(), "/nonexistent/config".into());
        CacheSettings::resolve(&env, false, false).expect("resolve")
    }

    #[test]
    fn with_nothing_configured_the_per_user_store_takes_dependencies() {
        let default = resolved(&[("HOME", "/home/u")]).expect("a default store");
        assert!(default.implicit);
        assert_eq!(default.scope, CacheScope::Dependencies);
        assert_eq!(default.max_size, Some(DEFAULT_MAX_SIZE));
        assert_eq!(
            default.backend,
            Backend::Dir("/home/u/.cache/orchestrator".into())
        );
        // Named, the same store takes every unit; the size can be set.
        let named = resolved(&[
            ("HOME", "/home/u"),
            ("ORCHESTRATOR_CACHE", "local"),
            ("ORCHESTRATOR_CACHE_SIZE", "2G"),
        ])
        .expect("a store");
        assert!(!named.implicit);
        assert_eq!(named.scope, CacheScope::All);
        assert_eq!(named.max_size, Some(2 << 30));
        // Servers have their own policies.
        let redis = resolved(&[("ORCHESTRATOR_CACHE", "redis://127.0.0.1:6379")]).expect("redis");
        assert_eq!(redis.max_size, None);
        // No home: no default store (never a shared /tmp one), and off is off.
        assert!(resolved(&[]).is_none());
        assert!(resolved(&[("HOME", "/home/u"), ("ORCHESTRATOR_CACHE", "off")]).is_none());
    }

    #[test]
    fn sizes_as_people_write_them() {
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("10G"), Ok(10 << 30));
        assert_eq!(parse_size("10 GiB"), Ok(10 << 30));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("2 GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("10 parsecs").is_err());
    }
}
