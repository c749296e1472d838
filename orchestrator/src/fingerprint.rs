//! What a unit's artifacts depend on, and how each part is fingerprinted.
//!
//! A unit is fresh when every part below is as its ledger entry recorded
//! (cargo's `fingerprint/mod.rs` keeps the same kind of table):
//!
//! | part | how | where |
//! |---|---|---|
//! | `-C metadata` / unit key | hash of the package's path-free identity, target, mode, resolved profile, features, platform, toolchain release and host, and the dependencies' keys | [`UnitSpec::key`] (a new key is a new unit: both configurations stay on disk) |
//! | spec | hash of every setting that reaches rustc or the build script: crate types, edition, source path relative to the package, profile, LTO role, features, declared features, rustflags, `[lints]`, cap-lints, linker, wrappers, incremental, platform, extern names and dependency keys; for runs: profile, features, platform, rustflags, `links`, `[env]` | [`UnitSpec::fingerprint`] |
//! | toolchain | hash of `rustc -vV` | `ledger.toolchain` |
//! | sources | blake3 of every file rustc's dep-info lists, except files inside an immutable package: an unpacked registry package (identified by package id and `Cargo.lock` checksum) or a git checkout (by its commit), both in the spec | `ledger.inputs` |
//! | compile-time environment | every `env!`/`option_env!` rustc read, with its value | `ledger.env` |
//! | dependencies | hash of each direct dependency's output (`.rmeta`, rlib, binary, build-script result) rustc compiled against, and one hash of every artifact in the link closure | `ledger.deps`, `ledger.links` |
//! | build-script run | `rerun-if-changed` files (content) and directories (listing and contents), `rerun-if-env-changed` values; without any, every file of the package | `ledger.inputs`, `ledger.env` |
//!
//! Deliberately not hashed: modification times (content decides), absolute
//! paths of the workspace or the target directory (a moved checkout stays
//! fresh; where a path reaches the artifact, rustc reports it as an env-dep),
//! the number of jobs, and registry sources' file contents (immutable).
//!
//! The shared cache's action key ([`crate::cache::key`]) is made of the
//! same parts, with this machine's workspace and target paths written
//! portably, so that another clone elsewhere finds the same key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::graph::{CrateGraph, CrateType, Mode, Source, Unit, UnitId, UnitKind, UnitMap};
use crate::paths::relative_path;
use crate::profile::Lto;
use crate::rustc::Toolchain;

/// Settings of a unit that come from configuration and the command line
/// rather than from cargo's unit graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitSettings {
    /// `RUSTFLAGS` / `build.rustflags` / `target.*.rustflags` for its platform.
    pub rustflags: Vec<String>,
    pub linker: Option<PathBuf>,
    /// `-C incremental`, after `CARGO_INCREMENTAL` / `build.incremental`.
    pub incremental: bool,
    pub lto: Lto,
    /// Whether output names carry `-<metadata>` (cargo drops it for path
    /// dylibs and cdylibs, whose names are recorded by what loads them).
    pub extra_filename: bool,
    /// Sources that cannot change (an unpacked registry package): files
    /// below it are identified by the package's id and checksum.
    pub immutable_root: Option<PathBuf>,
    /// `RUSTC_WRAPPER`.
    pub wrapper: Option<PathBuf>,
    /// `RUSTC_WORKSPACE_WRAPPER`, for members only.
    pub workspace_wrapper: Option<PathBuf>,
}

/// Everything that decides what rustc produces for a compile unit, except
/// source contents and dependency artifacts (those are in the ledger).
/// Holds no absolute path of the workspace or the target directory.
#[derive(Debug, Clone, Serialize)]
pub struct CompileSpec {
    pub package: String,
    pub crate_name: String,
    pub kind: UnitKind,
    pub mode: Mode,
    /// `--test` (a test unit of a target without `harness = false`).
    pub test_harness: bool,
    pub crate_types: Vec<CrateType>,
    pub edition: String,
    /// Root source file, relative to the package root.
    pub src: PathBuf,
    pub profile: crate::cargo::RawProfile,
    pub platform: Option<String>,
    pub features: Vec<String>,
    pub declared_features: Vec<String>,
    pub lint_flags: Vec<String>,
    pub cap_lints: bool,
    pub settings: UnitSettings,
    /// `(extern name, dependency unit key)`.
    pub externs: Vec<(String, String)>,
}

/// Everything that decides what a build script run does, except its
/// `rerun-if` inputs (in the ledger).
#[derive(Debug, Clone, Serialize)]
pub struct RunSpec {
    pub package: String,
    pub profile: crate::cargo::RawProfile,
    pub platform: Option<String>,
    pub features: Vec<String>,
    pub links: Option<String>,
    pub settings: UnitSettings,
    /// `[env]` entries the script sees.
    pub config_env: Vec<(String, String)>,
    /// Keys of the script binary and of the dependency runs whose
    /// `DEP_*` metadata it receives.
    pub deps: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub enum SpecBody {
    Compile(CompileSpec),
    Run(RunSpec),
}

/// A unit's identity and spec.
#[derive(Debug, Clone, Serialize)]
pub struct UnitSpec {
    /// `-C metadata` and `-C extra-filename`.
    pub metadata: String,
    /// Names its artifacts and its ledger entry: `core_lib-1a2b...`.
    pub key: String,
    pub body: SpecBody,
}

impl UnitSpec {
    /// Hash of the spec: a change means the unit must be rebuilt.
    pub fn fingerprint(&self) -> String {
        let bytes = serde_json::to_vec(&self.body).unwrap_or_default();
        blake3::hash(&bytes).to_hex().to_string()
    }

    pub fn compile(&self) -> Option<&CompileSpec> {
        match &self.body {
            SpecBody::Compile(c) => Some(c),
            SpecBody::Run(_) => None,
        }
    }
}

/// A package's identity without absolute paths: registry and git packages
/// by their id (and checksum), path packages by their place relative to the
/// workspace root.
pub fn package_identity(unit: &Unit, graph: &CrateGraph) -> String {
    let package = graph.package(unit.pkg);
    match &package.source {
        Source::Member | Source::Path => format!(
            "path:{}#{}@{}",
            relative_path(&package.root, &graph.workspace_root).display(),
            package.name,
            package.version.text
        ),
        Source::Registry { checksum } => {
            format!("{}:{}", package.id, checksum.as_deref().unwrap_or("-"))
        }
        // The id names the repository, not the commit: a new commit checks
        // out elsewhere under the same id.
        Source::Git { commit } => format!("{}:{commit}", package.id),
    }
}

/// Every unit's spec, dependencies first (a unit's key hashes its
/// dependencies' keys, as cargo's `-C metadata` does).
pub fn specs(
    graph: &CrateGraph,
    settings: &UnitMap<UnitSettings>,
    toolchain: &Toolchain,
    config_env: &BTreeMap<String, String>,
) -> UnitMap<UnitSpec> {
    let mut done: UnitMap<Option<UnitSpec>> = UnitMap::filled(graph, None);
    for &id in graph.topological() {
        let unit = graph.unit(id);
        let dep_key = |d: UnitId| done[d].as_ref().map(|s| s.key.clone()).unwrap_or_default();
        let identity = package_identity(unit, graph);
        let mut hasher = blake3::Hasher::new();
        let profile = serde_json::to_string(&settings_of(&unit.profile)).unwrap_or_default();
        let types: Vec<&str> = unit.target.crate_types.iter().map(|t| t.as_str()).collect();
        let mut deps: Vec<String> = unit
            .deps
            .iter()
            .map(|d| format!("{}={}", d.extern_name, dep_key(d.unit)))
            .collect();
        deps.sort();
        for part in [
            "orchestrator-unit-v2",
            &identity,
            &unit.target.name,
            unit.kind.as_str(),
            &types.join(","),
            &profile,
            unit.platform.as_deref().unwrap_or("host"),
            &toolchain.release,
            &toolchain.host,
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(unit.features.iter().cloned())
        .chain(deps)
        {
            hasher.update(part.as_bytes());
            hasher.update(&[0]);
        }
        let package = graph.package(unit.pkg);
        let mode = match unit.mode {
            Mode::Build => String::new(),
            other => format!("-{}", other.as_str()),
        };
        hasher.update(mode.as_bytes());
        let metadata = hasher.finalize().to_hex()[..16].to_owned();
        let key = match unit.kind {
            UnitKind::RunBuildScript => format!("{}.run-{metadata}", package.name),
            _ => format!("{}-{metadata}", unit.crate_name),
        };
        let body = match unit.kind {
            UnitKind::RunBuildScript => SpecBody::Run(RunSpec {
                package: identity,
                profile: settings_of(&unit.profile),
                platform: unit.platform.clone(),
                features: unit.features.clone(),
                links: package.links.clone(),
                settings: settings[id].clone(),
                config_env: config_env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                deps: unit.deps.iter().map(|d| dep_key(d.unit)).collect(),
            }),
            _ => SpecBody::Compile(CompileSpec {
                package: identity,
                crate_name: unit.crate_name.clone(),
                kind: unit.kind,
                crate_types: unit.target.crate_types.clone(),
                edition: unit.target.edition.clone(),
                src: relative_path(&unit.target.src_path, &package.root),
                mode: unit.mode,
                test_harness: unit.test_harness(),
                profile: settings_of(&unit.profile),
                platform: unit.platform.clone(),
                features: unit.features.clone(),
                declared_features: package.declared_features.clone(),
                lint_flags: package.lint_flags.clone(),
                cap_lints: !package.source.is_local(),
                settings: settings[id].clone(),
                externs: unit
                    .deps
                    .iter()
                    .map(|d| (d.extern_name.clone(), dep_key(d.unit)))
                    .collect(),
            }),
        };
        done[id] = Some(UnitSpec {
            metadata,
            key,
            body,
        });
    }
    graph
        .ids()
        .map(|id| {
            done[id]
                .take()
                .expect("every unit is in the topological order")
        })
        .collect()
}

/// A resolved profile without its name: what reaches rustc. cargo's
/// `test` profile inherits `dev` and differs in name only, so `build` and
/// `test` share their dependencies' artifacts (cargo hashes profiles the
/// same way; docs/rustc-facts.md §11).
fn settings_of(profile: &crate::cargo::RawProfile) -> crate::cargo::RawProfile {
    crate::cargo::RawProfile {
        name: String::new(),
        ..profile.clone()
    }
}

/// Whether a file read by a unit is covered by its package's identity
/// instead of its content.
pub fn is_immutable(path: &Path, settings: &UnitSettings) -> bool {
    settings
        .immutable_root
        .as_ref()
        .is_some_and(|root| path.starts_with(root))
}
