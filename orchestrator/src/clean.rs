//! `orchestrator clean`: remove orchestrator's outputs and state, as
//! `cargo clean` does for cargo's.
//!
//! Owns: which files belong to a selection — everything under
//! orchestrator's target directory; one profile's directories
//! (`--release`, `--profile`); or one package's artifacts, build-script
//! directories, incremental state and ledger entries (`-p`, by the crate and
//! package names cargo reports for it).
//! Never: touches cargo's own outputs beside it, or removes anything while a
//! build holds the target directory's lock (it waits, as a build does).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cargo::{self, CargoCommand, CargoConfig, CargoRequest};
use crate::error::{Error, Result};
use crate::events::BuildEvent;
use crate::lock::BuildLock;
use crate::manifest;
use crate::profile::Profile;
use crate::report::Reporter;

#[derive(Debug, Clone)]
pub struct CleanOptions {
    pub cwd: PathBuf,
    pub manifest_path: Option<PathBuf>,
    pub target_dir: Option<PathBuf>,
    /// `-p name` / `-p name@version`.
    pub packages: Vec<String>,
    /// Only this profile's directories.
    pub profile: Option<String>,
    /// Count, remove nothing.
    pub dry_run: bool,
    pub env: BTreeMap<String, String>,
}

/// What was (or would be) removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub files: u64,
    pub bytes: u64,
}

pub fn clean(opts: &CleanOptions, reporter: &mut dyn Reporter) -> Result<Removed> {
    let config = CargoConfig::load(&opts.cwd, opts.env.clone(), &[])?;
    let located = manifest::locate(&opts.cwd, opts.manifest_path.as_deref())?;
    let target_dir = match &opts.target_dir {
        Some(dir) => opts.cwd.join(dir),
        None => config.target_dir(&located.root).join("orchestrator"),
    };
    // Names are checked against cargo's packages even when nothing is built.
    let names = match opts.packages.is_empty() {
        true => None,
        false => Some(package_names(opts, &located.root)?),
    };
    let mut removed = Removed::default();
    if !target_dir.is_dir() {
        reporter.event(&BuildEvent::Cleaned {
            files: 0,
            bytes: 0,
            dry_run: opts.dry_run,
        });
        return Ok(removed);
    }
    let _lock = BuildLock::acquire(&target_dir, || reporter.event(&BuildEvent::WaitingForLock))?;
    let profile_dirs = |name: &str| -> Vec<PathBuf> {
        let dir_name = Profile::new(name, &|n| {
            manifest::profile_inherits(&located.root.join("Cargo.toml"), n)
                .or_else(|| config.profile_inherits(n))
        })
        .dir_name;
        profile_roots(&target_dir)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|f| f == dir_name.as_str()))
            .collect()
    };
    match (&names, &opts.profile) {
        (None, None) => {
            for entry in read_dir(&target_dir)? {
                // The lock file stays: it is held right now.
                if entry.file_name().is_some_and(|n| n == ".orchestrator.lock") {
                    continue;
                }
                remove(&entry, opts.dry_run, &mut removed)?;
            }
        }
        (None, Some(profile)) => {
            for dir in profile_dirs(profile) {
                remove(&dir, opts.dry_run, &mut removed)?;
            }
        }
        (Some(names), profile) => {
            let roots = match profile {
                Some(p) => profile_dirs(p),
                None => profile_roots(&target_dir),
            };
            for root in roots {
                for dir in [
                    root.clone(),
                    root.join("deps"),
                    root.join("examples"),
                    root.join("build"),
                    root.join("incremental"),
                    root.join(".ledger"),
                ] {
                    for entry in read_dir(&dir).unwrap_or_default() {
                        if names.owns(&entry, dir == root) {
                            remove(&entry, opts.dry_run, &mut removed)?;
                        }
                    }
                }
            }
        }
    }
    reporter.event(&BuildEvent::Cleaned {
        files: removed.files,
        bytes: removed.bytes,
        dry_run: opts.dry_run,
    });
    Ok(removed)
}

/// The names a package's files carry: its crate names (`lib<crate>-<hash>`,
/// `<crate>-<hash>`, uplifted binaries) and its package name (build-script
/// directories `<pkg>-<hash>`, run ledger entries `<pkg>.run-<hash>`).
#[derive(Debug, Default)]
struct Names {
    crates: Vec<String>,
    binaries: Vec<String>,
    packages: Vec<String>,
}

impl Names {
    fn owns(&self, path: &Path, in_profile_root: bool) -> bool {
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return false;
        };
        if in_profile_root {
            // Uplifted copies: `app`, `libcore_lib.rlib`, `app.d`.
            let stem = name.split('.').next().unwrap_or(&name);
            return self.binaries.iter().any(|b| b == stem)
                || self.crates.iter().any(|c| stem == format!("lib{c}"));
        }
        // `<stem>-<hash>[.ext]`: the hash part has no `-`.
        let Some((stem, _hash)) = name.rsplit_once('-') else {
            return false;
        };
        self.crates
            .iter()
            .any(|c| stem == c || stem == format!("lib{c}"))
            || self
                .packages
                .iter()
                .any(|p| stem == p || stem == format!("{p}.run"))
    }
}

/// The crate and package names of the `-p` specs, from `cargo metadata`;
/// a spec that matches no package is cargo's error, with the closest names.
fn package_names(opts: &CleanOptions, root: &Path) -> Result<Names> {
    let request = CargoRequest {
        command: CargoCommand::Build,
        cargo: cargo::cargo_program(&opts.env),
        cwd: opts.cwd.clone(),
        manifest_path: opts.manifest_path.as_ref().map(|m| opts.cwd.join(m)),
        args: Vec::new(),
        platforms: Vec::new(),
    };
    let metadata = cargo::metadata(&request)?;
    let mut names = Names::default();
    for spec in &opts.packages {
        let (name, version) = match spec.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (spec.as_str(), None),
        };
        let matching: Vec<_> = metadata
            .packages
            .iter()
            .filter(|p| p.name == name && version.is_none_or(|v| p.version == v))
            .collect();
        if matching.is_empty() {
            let all: Vec<&str> = metadata.packages.iter().map(|p| p.name.as_str()).collect();
            let closest = crate::touch::closest(name, &all);
            return Err(Error::Manifest {
                path: root.join("Cargo.toml"),
                krate: None,
                message: format!(
                    "package ID specification `{spec}` did not match any packages{}",
                    match closest.first() {
                        Some(c) => format!("; did you mean `{c}`?"),
                        None => String::new(),
                    }
                ),
            });
        }
        for package in matching {
            names.packages.push(package.name.clone());
            for target in &package.targets {
                names.crates.push(target.name.replace('-', "_"));
                if target.kind.iter().any(|k| k == "bin" || k == "example") {
                    names.binaries.push(target.name.clone());
                }
            }
        }
    }
    // Every build script's crate is `build_script_build`: its files are
    // found by their directory (the package name) instead.
    names.crates.retain(|c| c != "build_script_build");
    Ok(names)
}

/// Profile directories: `<target>/<profile>` and `<target>/<triple>/<profile>`
/// (each recognised by the ledger or `deps/` inside).
fn profile_roots(target_dir: &Path) -> Vec<PathBuf> {
    let is_profile = |p: &Path| p.join(".ledger").is_dir() || p.join("deps").is_dir();
    let mut roots = Vec::new();
    for entry in read_dir(target_dir).unwrap_or_default() {
        if !entry.is_dir() {
            continue;
        }
        if is_profile(&entry) {
            roots.push(entry);
            continue;
        }
        for inner in read_dir(&entry).unwrap_or_default() {
            if inner.is_dir() && is_profile(&inner) {
                roots.push(inner);
            }
        }
    }
    roots
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    Ok(paths)
}

/// Remove a file or a directory tree, counting its files and bytes.
fn remove(path: &Path, dry_run: bool, removed: &mut Removed) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io("read", path, e))?;
    if meta.is_dir() {
        for entry in read_dir(path)? {
            remove(&entry, dry_run, removed)?;
        }
        if !dry_run {
            std::fs::remove_dir(path).map_err(|e| Error::io("remove", path, e))?;
        }
        return Ok(());
    }
    removed.files += 1;
    removed.bytes += meta.len();
    if !dry_run {
        std::fs::remove_file(path).map_err(|e| Error::io("remove", path, e))?;
    }
    Ok(())
}
