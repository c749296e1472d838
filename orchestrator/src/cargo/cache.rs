//! cargo's answer, kept under the target directory so that a build whose
//! inputs to cargo did not change runs no cargo at all.
//!
//! An entry is found by a [`RequestKey`]: a hash of the command-line
//! selection, the toolchain (`rustc -vV`, which also decides which cargo a
//! rustup proxy runs), and the environment variables cargo reads. It is valid while everything it
//! watches is as recorded:
//!
//! | watched | why |
//! |---|---|
//! | every path package's `Cargo.toml`, the root manifest | dependencies, features, profiles, targets |
//! | `Cargo.lock` | the resolution itself |
//! | every `.cargo/config[.toml]` cargo would read (present or not) | profiles, `[patch]`, sources, `build.target` |
//! | each path package's directory, `src/`, `src/bin/` (and its subdirectories), `examples/`, `tests/`, `benches/` listings | auto-discovered targets and `build.rs` |
//! | the expansion of `workspace.members`/`exclude`/`default-members` globs | a new member directory changes the workspace |
//!
//! Files are compared by content hash, directories by their sorted listing.
//! An entry is written atomically, and only when no watched file changed
//! while cargo ran (judged from modification times, which can only take
//! trust away: [`crate::paths::written_before`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{CargoAnswer, CargoConfig, CargoRequest};
use crate::ledger::{hash_file, write_atomic};

const FORMAT: u32 = 2;

/// Which entry to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey(String);

impl RequestKey {
    pub fn new(request: &CargoRequest, env: &BTreeMap<String, String>, toolchain: &str) -> Self {
        let mut hasher = blake3::Hasher::new();
        let mut part = |s: &[u8]| {
            hasher.update(s);
            hasher.update(&[0]);
        };
        part(b"orchestrator-cargo-plan-v1");
        // The toolchain names cargo too: `cargo orchestrator` (CARGO set to
        // the real cargo) and `orchestrator` (the rustup proxy) share entries.
        part(toolchain.as_bytes());
        part(request.command.as_str().as_bytes());
        part(request.cwd.to_string_lossy().as_bytes());
        if let Some(m) = &request.manifest_path {
            part(m.to_string_lossy().as_bytes());
        }
        for arg in &request.args {
            part(arg.as_bytes());
        }
        for platform in &request.platforms {
            part(platform.as_bytes());
        }
        for (name, value) in env.iter().filter(|(k, _)| cargo_reads(k)) {
            part(name.as_bytes());
            part(value.as_bytes());
        }
        RequestKey(hasher.finalize().to_hex()[..32].to_owned())
    }
}

/// Environment variables that can change cargo's answer.
fn cargo_reads(name: &str) -> bool {
    const PER_UNIT: &[&str] = &[
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_MAKEFLAGS",
        "CARGO_TERM_",
        "CARGO_LOG",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    const OTHERS: &[&str] = &[
        "RUSTFLAGS",
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTDOC",
        "RUSTDOCFLAGS",
        "RUSTUP_TOOLCHAIN",
        "HOME",
    ];
    (name.starts_with("CARGO_") && !PER_UNIT.iter().any(|p| name.starts_with(p)))
        || name.starts_with("__CARGO")
        || OTHERS.contains(&name)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Watched {
    File {
        path: PathBuf,
        hash: Option<String>,
    },
    Dir {
        path: PathBuf,
        listing: Option<Vec<String>>,
    },
    Glob {
        pattern: String,
        matches: Vec<PathBuf>,
    },
}

impl Watched {
    fn still_holds(&self) -> bool {
        match self {
            Watched::File { path, hash } => hash_file(path).ok() == *hash,
            Watched::Dir { path, listing } => list_dir(path) == *listing,
            Watched::Glob { pattern, matches } => expand(pattern) == *matches,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    format: u32,
    key: String,
    watched: Vec<Watched>,
    answer: CargoAnswer,
}

fn entry_path(dir: &Path, key: &RequestKey) -> PathBuf {
    dir.join(format!("{}.json", key.0))
}

/// cargo's answer as a build got it, with what it depends on: what `watch`
/// keeps between rounds instead of reading the entry again.
#[derive(Debug, Clone)]
pub struct Remembered {
    key: RequestKey,
    /// `None` when the answer was not stored (a watched file changed while
    /// cargo ran): it is then never reused.
    watched: Option<Vec<Watched>>,
    pub answer: CargoAnswer,
}

impl Remembered {
    /// An answer nothing is known of: used once, never reused.
    pub fn once(key: RequestKey, answer: CargoAnswer) -> Remembered {
        Remembered {
            key,
            watched: None,
            answer,
        }
    }

    /// Whether this is still cargo's answer to `key`: the same question,
    /// and everything it depends on as recorded (checked as [`lookup`] does).
    pub fn holds_for(&self, key: &RequestKey) -> bool {
        use rayon::prelude::*;
        self.key == *key
            && self
                .watched
                .as_ref()
                .is_some_and(|w| w.par_iter().all(Watched::still_holds))
    }
}

/// The stored answer for `key`, if everything it depends on is unchanged.
pub fn lookup(dir: &Path, key: &RequestKey) -> Option<Remembered> {
    let bytes = std::fs::read(entry_path(dir, key)).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    if entry.format != FORMAT || entry.key != key.0 {
        return None;
    }
    let remembered = Remembered {
        key: key.clone(),
        watched: Some(entry.watched),
        answer: entry.answer,
    };
    remembered.holds_for(key).then_some(remembered)
}

/// Keep `answer` for later builds. Failing to write only costs a cargo run
/// next time, so errors are ignored.
pub fn store(
    dir: &Path,
    key: &RequestKey,
    answer: CargoAnswer,
    config: &CargoConfig,
    started: SystemTime,
) -> Remembered {
    let watched = watch_list(&answer, config);
    let lock = answer.workspace_root.join("Cargo.lock");
    let touched_meanwhile = watched.iter().any(|w| match w {
        Watched::File { path, .. } if *path != lock => modified_since(path, started),
        _ => false,
    });
    if touched_meanwhile {
        return Remembered::once(key.clone(), answer);
    }
    let entry = Entry {
        format: FORMAT,
        key: key.0.clone(),
        watched,
        answer,
    };
    if std::fs::create_dir_all(dir).is_ok()
        && let Ok(bytes) = serde_json::to_vec(&entry)
    {
        let _ = write_atomic(&entry_path(dir, key), &bytes);
    }
    Remembered {
        key: key.clone(),
        watched: Some(entry.watched),
        answer: entry.answer,
    }
}

fn modified_since(path: &Path, started: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|m| !crate::paths::written_before(m, started))
}

fn watch_list(answer: &CargoAnswer, config: &CargoConfig) -> Vec<Watched> {
    let file = |path: PathBuf| Watched::File {
        hash: hash_file(&path).ok(),
        path,
    };
    let dir = |path: PathBuf| Watched::Dir {
        listing: list_dir(&path),
        path,
    };
    let root = &answer.workspace_root;
    let mut watched = vec![file(root.join("Cargo.toml")), file(root.join("Cargo.lock"))];
    watched.extend(config.files.iter().cloned().map(file));
    for package in answer.packages.values().filter(|p| p.source.is_none()) {
        let manifest = PathBuf::from(&package.manifest_path);
        let Some(pkg_dir) = manifest.parent() else {
            continue;
        };
        watched.push(file(manifest.clone()));
        for sub in ["", "src", "src/bin", "examples", "tests", "benches"] {
            watched.push(dir(pkg_dir.join(sub)));
        }
        // `src/bin/tool/main.rs` appearing inside an existing directory.
        for sub in ["src/bin", "examples", "tests", "benches"] {
            for name in list_dir(&pkg_dir.join(sub)).unwrap_or_default() {
                let path = pkg_dir.join(sub).join(&name);
                if path.is_dir() {
                    watched.push(dir(path));
                }
            }
        }
    }
    for pattern in workspace_globs(&root.join("Cargo.toml")) {
        let full = root.join(&pattern).to_string_lossy().into_owned();
        watched.push(Watched::Glob {
            matches: expand(&full),
            pattern: full,
        });
    }
    watched.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    watched.dedup();
    watched
}

/// `workspace.members`, `exclude` and `default-members` entries that are globs.
fn workspace_globs(root_manifest: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root_manifest) else {
        return Vec::new();
    };
    let Ok(table) = toml::from_str::<toml::Table>(&text) else {
        return Vec::new();
    };
    let Some(ws) = table.get("workspace").and_then(|w| w.as_table()) else {
        return Vec::new();
    };
    ["members", "exclude", "default-members"]
        .iter()
        .filter_map(|k| ws.get(*k).and_then(|v| v.as_array()))
        .flatten()
        .filter_map(|v| v.as_str())
        .filter(|p| p.contains(['*', '?', '[']))
        .map(str::to_owned)
        .collect()
}

fn expand(pattern: &str) -> Vec<PathBuf> {
    let mut matches: Vec<PathBuf> = glob::glob(pattern)
        .map(|paths| paths.flatten().collect())
        .unwrap_or_default();
    matches.sort();
    matches
}

fn list_dir(path: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(path)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "target" && !n.starts_with('.'))
        .collect();
    names.sort();
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_filter() {
        assert!(cargo_reads("CARGO_PROFILE_DEV_OPT_LEVEL"));
        assert!(cargo_reads("CARGO_BUILD_TARGET"));
        assert!(cargo_reads("RUSTFLAGS"));
        assert!(!cargo_reads("CARGO_PKG_NAME"));
        assert!(!cargo_reads("CARGO_MANIFEST_DIR"));
        assert!(!cargo_reads("PATH"));
    }

    #[test]
    fn watched_things_notice_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("Cargo.toml");
        std::fs::write(&f, "a").unwrap();
        let w = Watched::File {
            path: f.clone(),
            hash: hash_file(&f).ok(),
        };
        assert!(w.still_holds());
        std::fs::write(&f, "b").unwrap();
        assert!(!w.still_holds());
        let d = Watched::Dir {
            path: tmp.path().to_path_buf(),
            listing: list_dir(tmp.path()),
        };
        assert!(d.still_holds());
        std::fs::write(tmp.path().join("build.rs"), "").unwrap();
        assert!(!d.still_holds());
    }
}
