//! Stage 1: read the workspace's manifests into a [`Workspace`].
//!
//! Owns: finding the workspace root (walking up like cargo), member globs and
//! `exclude`, `[workspace.package]`/`[workspace.dependencies]` inheritance,
//! target auto-discovery, and rejecting what later stages cannot build.
//! Never: runs rustc, touches the target directory, or decides build order.

mod package;
mod raw;
mod workspace;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub use workspace::{load, load_from};

/// Every package the build needs: the members plus path dependencies outside them.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Directory of the root manifest (absolute, symlinks resolved).
    pub root: PathBuf,
    pub root_manifest: PathBuf,
    pub packages: Vec<Package>,
    by_name: HashMap<String, usize>,
}

impl Workspace {
    /// Package names must be unique (the loader rejects duplicates).
    pub fn new(root: PathBuf, root_manifest: PathBuf, packages: Vec<Package>) -> Workspace {
        let by_name = packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        Workspace {
            root,
            root_manifest,
            packages,
            by_name,
        }
    }

    pub fn package(&self, name: &str) -> Option<&Package> {
        self.by_name.get(name).map(|&i| &self.packages[i])
    }
}

#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub version: Version,
    pub edition: String,
    pub metadata: PackageMetadata,
    pub manifest_path: PathBuf,
    /// Directory holding `Cargo.toml` (absolute).
    pub dir: PathBuf,
    pub is_member: bool,
    pub targets: Vec<Target>,
    pub dependencies: Vec<Dependency>,
    /// Recorded for later use (tests); never built by `orchestrator build`.
    pub dev_dependencies: Vec<Dependency>,
    /// `[features]`: feature name → what it enables (`"other"` or `"dep/feat"`).
    pub features: BTreeMap<String, Vec<String>>,
}

impl Package {
    pub fn lib(&self) -> Option<&Target> {
        self.targets.iter().find(|t| t.kind != TargetKind::Bin)
    }
}

/// Descriptive fields cargo exposes to the compiler as `CARGO_PKG_*`.
#[derive(Debug, Clone, Default)]
pub struct PackageMetadata {
    pub authors: Vec<String>,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub repository: Option<String>,
    pub license: Option<String>,
    pub license_file: Option<String>,
    pub rust_version: Option<String>,
    pub readme: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub text: String,
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Lib,
    ProcMacro,
    Bin,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Lib => "lib",
            TargetKind::ProcMacro => "proc-macro",
            TargetKind::Bin => "bin",
        }
    }
}

/// One compilation target of a package.
#[derive(Debug, Clone)]
pub struct Target {
    /// Target name as written (`my-tool` for a bin); the crate name is
    /// [`Target::crate_name`].
    pub name: String,
    pub kind: TargetKind,
    /// Root source file (absolute).
    pub src_path: PathBuf,
}

impl Target {
    pub fn crate_name(&self) -> String {
        self.name.replace('-', "_")
    }
}

/// A path dependency after inheritance and renaming.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// The name the dependent uses (`alias` in `alias = { package = "real" }`).
    pub name: String,
    /// The real package name.
    pub package: String,
    /// Directory of the dependency's package (absolute).
    pub dir: PathBuf,
    pub features: Vec<String>,
    pub default_features: bool,
}

impl Dependency {
    /// Whether the dependent calls it by another name (`alias = { package = "real" }`).
    pub fn is_renamed(&self) -> bool {
        self.name != self.package
    }
}
