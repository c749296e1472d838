//! Stage 2: the [`CrateGraph`] — cargo's units as typed units, with the
//! packages they belong to.
//!
//! Owns: turning cargo's answer into [`Unit`]s (compile units of libraries,
//! binaries, proc-macros and build scripts, and build-script runs) and
//! [`Package`]s (source kind, `CARGO_PKG_*` facts, `links`, declared
//! features, `[lints]`), dependency edges with extern names, topological
//! order, reverse dependencies, and per-unit data in a typed [`UnitMap`].
//! Never: decides features, profiles or what is selected (cargo did), reads
//! sources, or looks at the target directory.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::{Index, IndexMut};
use std::path::{Path, PathBuf};

use crate::cargo::metadata::MetaPackage;
use crate::cargo::{CargoAnswer, RawProfile, RawUnit};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(pub usize);

/// Per-unit data, indexed by [`UnitId`]: one typed map instead of parallel vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitMap<T>(Vec<T>);

impl<T> UnitMap<T> {
    pub fn from_fn(graph: &CrateGraph, f: impl FnMut(&Unit) -> T) -> Self {
        UnitMap(graph.units.iter().map(f).collect())
    }

    pub fn filled(graph: &CrateGraph, value: T) -> Self
    where
        T: Clone,
    {
        UnitMap(vec![value; graph.len()])
    }

    pub fn iter(&self) -> impl Iterator<Item = (UnitId, &T)> {
        self.0.iter().enumerate().map(|(i, v)| (UnitId(i), v))
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> Index<UnitId> for UnitMap<T> {
    type Output = T;
    fn index(&self, id: UnitId) -> &T {
        &self.0[id.0]
    }
}

impl<T> IndexMut<UnitId> for UnitMap<T> {
    fn index_mut(&mut self, id: UnitId) -> &mut T {
        &mut self.0[id.0]
    }
}

impl<T> FromIterator<T> for UnitMap<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        UnitMap(iter.into_iter().collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PkgId(pub usize);

/// Where a package's sources come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A member of the workspace: classified item by item.
    Member,
    /// Another path package (outside the members): content-fingerprinted,
    /// never classified.
    Path,
    /// A registry (crates.io, or one that replaces it): immutable sources.
    Registry { checksum: Option<String> },
    /// A git checkout, at `commit` (cargo's source id with its precise
    /// revision): content-fingerprinted.
    Git { commit: String },
}

impl Source {
    /// cargo's "local" packages: path sources (lints shown, not capped).
    pub fn is_local(&self) -> bool {
        matches!(self, Source::Member | Source::Path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub text: String,
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
}

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let core = text.split('+').next()?;
        let (numbers, pre) = match core.split_once('-') {
            Some((n, p)) => (n, p.to_owned()),
            None => (core, String::new()),
        };
        let mut parts = numbers.split('.').map(|p| p.parse::<u64>().ok());
        Some(Version {
            text: text.to_owned(),
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next()??,
            pre,
        })
    }
}

/// The facts cargo gives the compiler as `CARGO_PKG_*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageMeta {
    pub authors: Vec<String>,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub repository: Option<String>,
    pub license: Option<String>,
    pub license_file: Option<String>,
    pub rust_version: Option<String>,
    pub readme: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Package {
    /// cargo's package id (`registry+https://...#name@1.2.3`, `path+file:///...`).
    pub id: String,
    pub name: String,
    pub version: Version,
    pub source: Source,
    pub manifest_path: PathBuf,
    /// The directory holding `Cargo.toml`.
    pub root: PathBuf,
    pub meta: PackageMeta,
    pub links: Option<String>,
    /// `package.default-run`.
    pub default_run: Option<String>,
    /// Every feature the package declares (for `--check-cfg`).
    pub declared_features: Vec<String>,
    /// `(kinds, name)` of every target, for build-script link-argument checks.
    pub targets: Vec<(Vec<String>, String)>,
    /// `[lints]` as rustc flags (passed for local packages, and for others at `-vv`).
    pub lint_flags: Vec<String>,
    /// Targets declared with `harness = false`, as `kind:name`.
    pub harnessless: BTreeSet<String>,
    /// Selected on the command line (or by default): `CARGO_PRIMARY_PACKAGE`.
    pub primary: bool,
}

impl Package {
    pub fn has_lib(&self) -> bool {
        self.targets.iter().any(|(kinds, _)| {
            kinds.iter().any(|k| {
                matches!(
                    k.as_str(),
                    "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro"
                )
            })
        })
    }

    /// `name v1.2.3`, as cargo names a package in messages.
    pub fn descr(&self) -> String {
        format!("{} v{}", self.name, self.version.text)
    }
}

/// What a unit is, for decisions and for how output names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitKind {
    /// A library (`lib`, `rlib`, `dylib`, `cdylib`, `staticlib`).
    Lib,
    ProcMacro,
    Bin,
    /// An example program (`--example`, `--examples`).
    Example,
    /// An integration test (`tests/*.rs`, `[[test]]`).
    Test,
    /// A benchmark (`benches/*.rs`, `[[bench]]`).
    Bench,
    /// Compiling a package's build script.
    BuildScript,
    /// Running it.
    RunBuildScript,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Lib => "lib",
            UnitKind::ProcMacro => "proc-macro",
            UnitKind::Bin => "bin",
            UnitKind::Example => "example",
            UnitKind::Test => "test",
            UnitKind::Bench => "bench",
            UnitKind::BuildScript => "build-script",
            UnitKind::RunBuildScript => "build-script-run",
        }
    }

    /// Whether its artifact is linked into dependents (an rlib, a dylib).
    pub fn is_rustc(self) -> bool {
        self != UnitKind::RunBuildScript
    }
}

/// `lib`, `bin`, `test`; `lib test` for a target's unit-test harness.
pub fn kind_label(kind: UnitKind, mode: Mode) -> String {
    match (mode.is_test(), kind) {
        (false, _) | (true, UnitKind::Test | UnitKind::Bench) => kind.as_str().to_owned(),
        (true, _) => format!("{} test", kind.as_str()),
    }
}

/// How rustc compiles a unit: cargo's compile mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Code generation, and linking for executables (`cargo build`).
    Build,
    /// Metadata only: type checking and lints (`cargo check`).
    Check,
    /// Metadata only, of the target compiled as a test harness
    /// (`cargo check --all-targets`, `--test NAME`).
    CheckTest,
    /// An executable test harness (`rustc --test`), or a plain binary for a
    /// target with `harness = false` (`cargo test`, `cargo build --tests`).
    Test,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Build => "build",
            Mode::Check => "check",
            Mode::CheckTest => "check-test",
            Mode::Test => "test",
        }
    }

    /// rustc writes metadata and nothing else (no code, no link).
    pub fn is_check(self) -> bool {
        matches!(self, Mode::Check | Mode::CheckTest)
    }

    /// Compiled as a test harness (`--test`, unless `harness = false`).
    pub fn is_test(self) -> bool {
        matches!(self, Mode::CheckTest | Mode::Test)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrateType {
    Lib,
    Rlib,
    Dylib,
    Cdylib,
    Staticlib,
    ProcMacro,
    Bin,
}

impl CrateType {
    fn parse(text: &str) -> Option<CrateType> {
        Some(match text {
            "lib" => CrateType::Lib,
            "rlib" => CrateType::Rlib,
            "dylib" => CrateType::Dylib,
            "cdylib" => CrateType::Cdylib,
            "staticlib" => CrateType::Staticlib,
            "proc-macro" => CrateType::ProcMacro,
            "bin" => CrateType::Bin,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CrateType::Lib => "lib",
            CrateType::Rlib => "rlib",
            CrateType::Dylib => "dylib",
            CrateType::Cdylib => "cdylib",
            CrateType::Staticlib => "staticlib",
            CrateType::ProcMacro => "proc-macro",
            CrateType::Bin => "bin",
        }
    }

    /// cargo's `can_lto`: the final artifacts LTO runs on.
    pub fn can_lto(self) -> bool {
        matches!(
            self,
            CrateType::Bin | CrateType::Staticlib | CrateType::Cdylib
        )
    }

    pub fn is_dynamic(self) -> bool {
        matches!(
            self,
            CrateType::Dylib | CrateType::Cdylib | CrateType::ProcMacro
        )
    }

    /// Needs the object code of every dependency (cannot start on `.rmeta`).
    pub fn requires_upstream_objects(self) -> bool {
        !matches!(self, CrateType::Lib | CrateType::Rlib)
    }

    /// Can be passed to dependents with `--extern`.
    pub fn is_linkable(self) -> bool {
        matches!(
            self,
            CrateType::Lib | CrateType::Rlib | CrateType::Dylib | CrateType::ProcMacro
        )
    }
}

/// One compilation target of a package, as cargo describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// As written (`my-tool`); the crate name is [`Unit::crate_name`].
    pub name: String,
    pub crate_types: Vec<CrateType>,
    /// Absolute.
    pub src_path: PathBuf,
    pub edition: String,
    /// `harness = false`: a test or bench unit is a plain binary.
    pub harness: bool,
}

#[derive(Debug, Clone)]
pub struct Unit {
    pub id: UnitId,
    pub pkg: PkgId,
    pub kind: UnitKind,
    pub mode: Mode,
    pub target: Target,
    /// The target as cargo's JSON messages print it (`kind`, `crate_types`,
    /// `name`, `src_path`, `edition`, `doc`, `doctest`, `test`).
    pub cargo_target: std::sync::Arc<serde_json::Value>,
    pub crate_name: String,
    /// The profile cargo resolved for this unit.
    pub profile: RawProfile,
    /// `None`: the host.
    pub platform: Option<String>,
    pub features: Vec<String>,
    pub deps: Vec<UnitDep>,
    /// Requested by the command line (cargo's roots): its libraries are
    /// copied next to the binaries, as cargo does.
    pub is_root: bool,
}

impl Unit {
    /// `core_lib (lib)`, `api_server (bin)`, `core_lib (lib test)`: how
    /// output names a unit.
    pub fn label(&self) -> String {
        format!("{} ({})", self.crate_name, kind_label(self.kind, self.mode))
    }

    /// An executable for the user (a binary, an example, a test harness):
    /// relinkable.
    pub fn is_executable(&self) -> bool {
        match self.mode {
            Mode::Build => matches!(
                self.kind,
                UnitKind::Bin | UnitKind::Example | UnitKind::Test | UnitKind::Bench
            ),
            Mode::Test => true,
            Mode::Check | Mode::CheckTest => false,
        }
    }

    /// Its output reaches others only as metadata to compile against and
    /// as code to link later (a library, or anything checked): it never
    /// links, so a dependency's codegen-only change never touches it.
    pub fn never_links(&self) -> bool {
        self.mode.is_check() || (self.kind == UnitKind::Lib && !self.is_executable())
    }

    /// rustc gets `--test` (a harness), not `--crate-type`.
    pub fn test_harness(&self) -> bool {
        self.mode.is_test() && self.target.harness
    }

    /// The crate types of what rustc writes: none when checking, a binary
    /// for a test harness, else the target's.
    pub fn output_crate_types(&self) -> Vec<CrateType> {
        match self.mode {
            Mode::Check | Mode::CheckTest => Vec::new(),
            Mode::Test => vec![CrateType::Bin],
            Mode::Build => self.target.crate_types.clone(),
        }
    }

    /// Whether it needs the object code of its dependencies (it links).
    pub fn requires_upstream_objects(&self) -> bool {
        match self.mode {
            Mode::Check | Mode::CheckTest => false,
            Mode::Test => true,
            Mode::Build => self
                .target
                .crate_types
                .iter()
                .any(|t| t.requires_upstream_objects()),
        }
    }

    /// Writes `.rmeta` that dependents may start on (pipelining); when
    /// checking, `.rmeta` is all it writes.
    pub fn emits_metadata(&self) -> bool {
        self.mode.is_check()
            || (self.mode == Mode::Build
                && self.kind == UnitKind::Lib
                && !self.requires_upstream_objects())
    }

    /// Passed to dependents with `--extern` (a library, a proc-macro; when
    /// checking, its `.rmeta`). Binaries a test depends on are not.
    pub fn is_linkable(&self) -> bool {
        self.kind.is_rustc()
            && !self.mode.is_test()
            && self.target.crate_types.iter().any(|t| t.is_linkable())
    }

    /// Built for the host to run during the build (cargo's `for_host`).
    pub fn for_host(&self) -> bool {
        matches!(
            self.kind,
            UnitKind::ProcMacro | UnitKind::BuildScript | UnitKind::RunBuildScript
        )
    }
}

/// A library's documentation tests (cargo's `doctest` unit): nothing is
/// compiled for it in the build; `rustdoc --test` compiles and runs them
/// afterwards against its dependencies' artifacts (the library itself and
/// the dev-dependencies).
#[derive(Debug, Clone)]
pub struct Doctest {
    pub pkg: PkgId,
    /// `Lib` or `ProcMacro`.
    pub kind: UnitKind,
    pub target: Target,
    pub cargo_target: std::sync::Arc<serde_json::Value>,
    pub crate_name: String,
    pub profile: RawProfile,
    pub platform: Option<String>,
    pub features: Vec<String>,
    pub deps: Vec<UnitDep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDep {
    pub extern_name: String,
    pub unit: UnitId,
}

#[derive(Debug)]
pub struct CrateGraph {
    units: Vec<Unit>,
    packages: Vec<Package>,
    order: Vec<UnitId>,
    dependents: Vec<Vec<UnitId>>,
    pub workspace_root: PathBuf,
    /// cargo's doc-test units: not compiled, run by rustdoc after the build.
    pub doctests: Vec<Doctest>,
}

impl CrateGraph {
    /// Build the graph from cargo's answer.
    pub fn build(answer: &CargoAnswer) -> Result<CrateGraph> {
        // Doc tests are run by rustdoc, which orchestrator does not drive yet.
        let (raw_graph, raw_doctests) = answer.graph.without_mode("doctest");
        let roots: BTreeSet<usize> = raw_graph.roots.iter().copied().collect();
        // Doc-test roots make their package primary too (`test --doc`).
        let root_pkgs: BTreeSet<&str> = answer
            .graph
            .roots
            .iter()
            .filter_map(|&i| answer.graph.units.get(i))
            .map(|u| u.pkg_id.as_str())
            .collect();
        let mut packages = Vec::new();
        let mut pkg_index: HashMap<&str, PkgId> = HashMap::new();
        for (id, meta) in &answer.packages {
            let member = answer.members.contains(id);
            let package = package(answer, meta, member, root_pkgs.contains(id.as_str()))?;
            pkg_index.insert(id.as_str(), PkgId(packages.len()));
            packages.push(package);
        }
        let mut units = Vec::with_capacity(raw_graph.units.len());
        for (i, raw) in raw_graph.units.iter().enumerate() {
            let pkg = *pkg_index
                .get(raw.pkg_id.as_str())
                .ok_or_else(|| Error::Cargo {
                    command: "cargo build --unit-graph".to_owned(),
                    output: format!("unit of unknown package `{}`", raw.pkg_id),
                })?;
            units.push(unit(
                UnitId(i),
                pkg,
                raw,
                roots.contains(&i),
                &packages[pkg.0],
            )?);
        }
        resolve_check_tests(&mut units);
        let doctests = raw_doctests
            .iter()
            .map(|raw| {
                let pkg = *pkg_index
                    .get(raw.pkg_id.as_str())
                    .ok_or_else(|| Error::Cargo {
                        command: "cargo test --unit-graph".to_owned(),
                        output: format!("doc-test unit of unknown package `{}`", raw.pkg_id),
                    })?;
                let as_build = RawUnit {
                    mode: "build".to_owned(),
                    ..raw.clone()
                };
                let unit = unit(UnitId(usize::MAX), pkg, &as_build, false, &packages[pkg.0])?;
                Ok(Doctest {
                    pkg,
                    kind: unit.kind,
                    target: unit.target,
                    cargo_target: unit.cargo_target,
                    crate_name: unit.crate_name,
                    profile: unit.profile,
                    platform: unit.platform,
                    features: unit.features,
                    deps: unit.deps,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let order = topological_order(&units)?;
        let mut dependents = vec![Vec::new(); units.len()];
        for unit in &units {
            for dep in &unit.deps {
                dependents[dep.unit.0].push(unit.id);
            }
        }
        Ok(CrateGraph {
            units,
            packages,
            order,
            dependents,
            workspace_root: answer.workspace_root.clone(),
            doctests,
        })
    }

    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    pub fn unit(&self, id: UnitId) -> &Unit {
        &self.units[id.0]
    }

    pub fn package(&self, id: PkgId) -> &Package {
        &self.packages[id.0]
    }

    pub fn package_of(&self, id: UnitId) -> &Package {
        self.package(self.unit(id).pkg)
    }

    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = UnitId> + '_ {
        (0..self.units.len()).map(UnitId)
    }

    /// Dependencies before dependents.
    pub fn topological(&self) -> &[UnitId] {
        &self.order
    }

    /// Units that depend on `id` directly.
    pub fn dependents(&self, id: UnitId) -> &[UnitId] {
        &self.dependents[id.0]
    }

    /// Every unit `id` depends on, directly or not.
    pub fn transitive_deps(&self, id: UnitId) -> BTreeSet<UnitId> {
        closure(id, |u| self.unit(u).deps.iter().map(|d| d.unit).collect())
    }

    /// Every unit that depends on `id`, directly or not.
    pub fn transitive_dependents(&self, id: UnitId) -> BTreeSet<UnitId> {
        closure(id, |u| self.dependents(u).to_vec())
    }

    /// What `id`'s artifact is built from and consistent with: its
    /// dependencies, transitively, stopping at build-script runs (only their
    /// results reach dependents) and proc-macros (only the macro library
    /// itself is loaded). A binary links exactly the libraries in here.
    /// Every unit `id` depends on, directly or not.
    pub fn upstream(&self, id: UnitId) -> BTreeSet<UnitId> {
        closure(id, |u| self.unit(u).deps.iter().map(|d| d.unit).collect())
    }

    pub fn link_closure(&self, id: UnitId) -> BTreeSet<UnitId> {
        closure(id, |u| {
            let unit = self.unit(u);
            if u != id && matches!(unit.kind, UnitKind::RunBuildScript | UnitKind::ProcMacro) {
                return Vec::new();
            }
            // An integration test depends on the package's binaries only
            // for their paths (`CARGO_BIN_EXE_*`): they are not linked.
            unit.deps
                .iter()
                .map(|d| d.unit)
                .filter(|&d| !self.unit(d).is_executable())
                .collect()
        })
    }

    /// The build-script run of `id`'s own package that `id` depends on.
    pub fn own_build_script(&self, id: UnitId) -> Option<UnitId> {
        self.unit(id)
            .deps
            .iter()
            .map(|d| d.unit)
            .find(|&d| self.unit(d).kind == UnitKind::RunBuildScript)
    }

    /// The compile unit of the build script a run unit runs.
    pub fn script_of_run(&self, run: UnitId) -> Option<UnitId> {
        self.unit(run)
            .deps
            .iter()
            .map(|d| d.unit)
            .find(|&d| self.unit(d).kind == UnitKind::BuildScript)
    }

    /// Build-script runs whose native search paths `id` passes to rustc,
    /// in cargo's order: its own package's first, then its linkable
    /// dependencies' (sorted by package id), depth first, without repeats.
    pub fn build_scripts_to_link(&self, id: UnitId) -> Vec<UnitId> {
        let mut memo: HashMap<UnitId, Vec<UnitId>> = HashMap::new();
        self.to_link(id, &mut memo)
    }

    fn to_link(&self, id: UnitId, memo: &mut HashMap<UnitId, Vec<UnitId>>) -> Vec<UnitId> {
        if let Some(done) = memo.get(&id) {
            return done.clone();
        }
        let unit = self.unit(id);
        let mut out = Vec::new();
        if unit.kind != UnitKind::BuildScript
            && unit.kind != UnitKind::RunBuildScript
            && let Some(own) = self.own_build_script(id)
        {
            out.push(own);
        }
        let mut deps: Vec<UnitId> = unit.deps.iter().map(|d| d.unit).collect();
        deps.sort_by(|a, b| self.package_of(*a).id.cmp(&self.package_of(*b).id));
        for dep in deps {
            let dep_unit = self.unit(dep);
            if dep_unit.for_host() || !dep_unit.is_linkable() {
                continue;
            }
            for run in self.to_link(dep, memo) {
                if !out.contains(&run) {
                    out.push(run);
                }
            }
        }
        memo.insert(id, out.clone());
        out
    }
}

fn closure(start: UnitId, next: impl Fn(UnitId) -> Vec<UnitId>) -> BTreeSet<UnitId> {
    let mut seen = BTreeSet::new();
    let mut stack = next(start);
    while let Some(u) = stack.pop() {
        if seen.insert(u) {
            stack.extend(next(u));
        }
    }
    seen
}

fn package(
    answer: &CargoAnswer,
    meta: &MetaPackage,
    member: bool,
    primary: bool,
) -> Result<Package> {
    let manifest_path = PathBuf::from(&meta.manifest_path);
    let source = match meta.source.as_deref() {
        None if member => Source::Member,
        None => Source::Path,
        Some(s) if s.starts_with("git+") => Source::Git {
            commit: s.rsplit('#').next().unwrap_or(s).to_owned(),
        },
        Some(_) => Source::Registry {
            checksum: answer.checksums.get(&meta.id).cloned(),
        },
    };
    let version = Version::parse(&meta.version).ok_or_else(|| {
        Error::manifest(
            &manifest_path,
            Some(&meta.name),
            format!("version `{}` is not semver", meta.version),
        )
    })?;
    let lint_flags = answer.lints.get(&meta.id).cloned().unwrap_or_default();
    Ok(Package {
        id: meta.id.clone(),
        name: meta.name.clone(),
        version,
        root: manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        manifest_path,
        source,
        meta: PackageMeta {
            authors: meta.authors.clone(),
            description: meta.description.clone(),
            homepage: meta.homepage.clone(),
            repository: meta.repository.clone(),
            license: meta.license.clone(),
            license_file: meta.license_file.clone(),
            rust_version: meta.rust_version.clone(),
            readme: meta.readme.clone(),
        },
        links: meta.links.clone(),
        default_run: meta.default_run.clone(),
        declared_features: meta.features.keys().cloned().collect(),
        targets: meta
            .targets
            .iter()
            .map(|t| (t.kind.clone(), t.name.clone()))
            .collect(),
        lint_flags,
        harnessless: answer
            .harnessless
            .get(&meta.id)
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        primary,
    })
}

fn unit(id: UnitId, pkg: PkgId, raw: &RawUnit, is_root: bool, package: &Package) -> Result<Unit> {
    let unsupported =
        |what: String| Error::unsupported(&package.manifest_path, &package.name, what);
    let first_kind = raw.target.kind.first().map(String::as_str).unwrap_or("");
    let mode = match raw.mode.as_str() {
        "build" | "run-custom-build" => Mode::Build,
        // `check` of a test harness is told apart in `resolve_check_tests`.
        "check" => Mode::Check,
        "test" | "bench" => Mode::Test,
        other => {
            return Err(unsupported(format!(
                "`{other}` units (target `{}`)",
                raw.target.name
            )));
        }
    };
    let kind = match (raw.mode.as_str(), first_kind) {
        ("run-custom-build", _) => UnitKind::RunBuildScript,
        ("build", "custom-build") => UnitKind::BuildScript,
        (_, "proc-macro") => UnitKind::ProcMacro,
        (_, "bin") => UnitKind::Bin,
        (_, "example") if raw.target.crate_types == ["bin"] || mode != Mode::Build => {
            UnitKind::Example
        }
        (_, "test") => UnitKind::Test,
        (_, "bench") => UnitKind::Bench,
        (_, "lib" | "rlib" | "dylib" | "cdylib" | "staticlib") => UnitKind::Lib,
        (mode, kind) => {
            return Err(unsupported(format!(
                "a `{kind}` target in `{mode}` mode (target `{}`)",
                raw.target.name
            )));
        }
    };
    let crate_types = raw
        .target
        .crate_types
        .iter()
        .map(|t| {
            CrateType::parse(t).ok_or_else(|| {
                unsupported(format!("crate type `{t}` (target `{}`)", raw.target.name))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if raw
        .profile
        .rustflags
        .as_ref()
        .is_some_and(|f| !f.is_empty())
        || raw.profile.trim_paths.is_some()
        || raw.profile.codegen_backend.is_some()
    {
        return Err(unsupported(
            "unstable profile settings (`rustflags`, `trim-paths` or `codegen-backend`)".to_owned(),
        ));
    }
    Ok(Unit {
        id,
        pkg,
        kind,
        mode,
        cargo_target: std::sync::Arc::new(
            serde_json::to_value(&raw.target).unwrap_or(serde_json::Value::Null),
        ),
        crate_name: raw.target.name.replace('-', "_"),
        target: Target {
            name: raw.target.name.clone(),
            crate_types,
            src_path: PathBuf::from(&raw.target.src_path),
            edition: raw.target.edition.clone(),
            harness: !package
                .harnessless
                .contains(&format!("{first_kind}:{}", raw.target.name)),
        },
        profile: raw.profile.clone(),
        platform: raw.platform.clone(),
        features: raw.features.clone(),
        deps: raw
            .dependencies
            .iter()
            .map(|d| UnitDep {
                extern_name: d.extern_crate_name.clone(),
                unit: UnitId(d.index),
            })
            .collect(),
        is_root,
    })
}

/// The unit graph writes `check` for both of cargo's check modes (plain
/// and test harness). Integration tests and benches are always checked as
/// harnesses; a target checked both ways appears twice, and cargo sorts
/// its units by mode, the plain check first. A target checked as a
/// harness only (which `check --tests` / `--benches` can ask for) cannot be
/// told apart, so the CLI does not pass those flags to `check`
/// (docs/rustc-facts.md §11).
fn resolve_check_tests(units: &mut [Unit]) {
    let mut seen: HashSet<(PkgId, UnitKind, String, Option<String>)> = HashSet::new();
    for unit in units.iter_mut().filter(|u| u.mode == Mode::Check) {
        let twin = (
            unit.pkg,
            unit.kind,
            unit.target.name.clone(),
            unit.platform.clone(),
        );
        let harness = matches!(unit.kind, UnitKind::Test | UnitKind::Bench);
        if !seen.insert(twin) || harness {
            unit.mode = Mode::CheckTest;
        }
    }
}

/// Kahn's algorithm; cargo's unit graph has no cycles, but a malformed one
/// is an error rather than a hang.
fn topological_order(units: &[Unit]) -> Result<Vec<UnitId>> {
    let mut waiting: Vec<usize> = units.iter().map(|u| u.deps.len()).collect();
    let mut dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for unit in units {
        for dep in &unit.deps {
            if dep.unit.0 >= units.len() {
                return Err(Error::Cargo {
                    command: "cargo build --unit-graph".to_owned(),
                    output: format!(
                        "unit {} depends on a unit that does not exist",
                        unit.label()
                    ),
                });
            }
            dependents.entry(dep.unit.0).or_default().push(unit.id.0);
        }
    }
    let mut ready: Vec<usize> = (0..units.len()).filter(|&i| waiting[i] == 0).collect();
    ready.reverse();
    let mut order = Vec::with_capacity(units.len());
    while let Some(i) = ready.pop() {
        order.push(UnitId(i));
        for &d in dependents.get(&i).into_iter().flatten() {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(d);
            }
        }
    }
    if order.len() != units.len() {
        return Err(Error::Cargo {
            command: "cargo build --unit-graph".to_owned(),
            output: "the unit graph has a cycle".to_owned(),
        });
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = Version::parse("1.2.3-beta.1+build").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 3));
        assert_eq!(v.pre, "beta.1");
        assert!(Version::parse("1.2").is_none());
    }
}
