//! Rendering the commands jobs run, as cargo would: rustc for compile units,
//! the script binary for build-script runs. A command is rendered when its
//! job starts, because it depends on what build scripts printed.
//!
//! The argument order and environment follow cargo 1.95's `build_base_args`,
//! `build_deps_args`, `add_native_deps`, `add_custom_flags` and build-script
//! environment (`docs/rustc-facts.md`, "How cargo calls rustc").
//! Never: runs anything or builds a command through a shell.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cargo_platform::Cfg;

use crate::buildscript::{BuildOutput, LinkArgTarget, envify};
use crate::cargo::config::EnvEntry;
use crate::fingerprint::{UnitSettings, UnitSpec};
use crate::graph::{CrateGraph, Doctest, PkgId, Source, Unit, UnitDep, UnitId, UnitKind, UnitMap};
use crate::profile::{Layout, Profile};
use crate::rustc::{Invocation, Outputs, Toolchain};

/// Inputs to rendering that are the same for every unit.
pub struct InvocationContext<'a> {
    pub graph: &'a CrateGraph,
    pub specs: &'a UnitMap<UnitSpec>,
    pub settings: &'a UnitMap<UnitSettings>,
    pub outputs: &'a UnitMap<Outputs>,
    pub layout: &'a Layout,
    pub profile: &'a Profile,
    pub toolchain: &'a Toolchain,
    /// Ask rustc for coloured diagnostics.
    pub color: bool,
    /// Ask rustc for short diagnostics (`--message-format short`).
    pub short_diagnostics: bool,
    /// `CARGO` for children: the cargo executable.
    pub cargo_exe: OsString,
    /// The environment orchestrator was started with.
    pub env: &'a BTreeMap<String, String>,
    /// `[env]` from cargo's configuration.
    pub config_env: &'a BTreeMap<String, EnvEntry>,
    /// `-j`, for `NUM_JOBS`.
    pub jobs: usize,
    /// `rustc --print cfg` of each platform in the graph (`None`: the host).
    pub cfgs: &'a HashMap<Option<String>, Vec<Cfg>>,
    /// `-vv`: dependencies' warnings are shown (`--cap-lints warn`), as cargo does.
    pub extra_verbose: bool,
    /// The command copies final artifacts to the profile directory (all but
    /// `check`, which has no such directory in cargo): build scripts find
    /// libraries there.
    pub artifact_dir: bool,
}

/// The enabled features as `--cfg`s, then the `--check-cfg`s that declare
/// `docsrs`, `test` and every feature the package has (cargo's
/// `features_args` and `check_cfg_args`).
fn feature_args(enabled: &[String], declared: &[String]) -> Vec<String> {
    let mut args = Vec::new();
    for feature in enabled {
        args.push("--cfg".to_owned());
        args.push(format!("feature=\"{feature}\""));
    }
    let values: Vec<String> = declared.iter().map(|f| format!("\"{f}\"")).collect();
    args.push("--check-cfg".to_owned());
    args.push("cfg(docsrs,test)".to_owned());
    args.push("--check-cfg".to_owned());
    args.push(format!("cfg(feature, values({}))", values.join(", ")));
    args
}

/// How `test` runs doc tests: what cargo decides from its command line.
pub struct DoctestOptions<'a> {
    /// `--color`: `auto`, `always`, `never`.
    pub color: &'a str,
    /// Each passed as `--test-args`.
    pub test_args: &'a [String],
    /// `-q`: `--test-args --quiet`.
    pub quiet: bool,
    /// `RUSTDOCFLAGS` / `CARGO_ENCODED_RUSTDOCFLAGS`.
    pub rustdocflags: &'a [String],
    /// `human`, `short` or `json`, after `--message-format`.
    pub error_format: &'a str,
}

/// What finished build-script runs printed, by run unit.
pub trait ScriptResults {
    fn output(&self, run: UnitId) -> Option<&BuildOutput>;
}

impl ScriptResults for HashMap<UnitId, BuildOutput> {
    fn output(&self, run: UnitId) -> Option<&BuildOutput> {
        self.get(&run)
    }
}

impl InvocationContext<'_> {
    fn unit(&self, id: UnitId) -> &Unit {
        self.graph.unit(id)
    }

    /// A path package's source inside the workspace is passed relative to
    /// the workspace root, which is then rustc's working directory; any
    /// other source absolute, from the package's root (cargo's `path_args`).
    pub fn source_arg(&self, id: UnitId) -> (PathBuf, PathBuf) {
        let unit = self.unit(id);
        self.source_of(unit.pkg, &unit.target.src_path)
    }

    fn source_of(&self, pkg: PkgId, src_path: &Path) -> (PathBuf, PathBuf) {
        let package = self.graph.package(pkg);
        let root = &self.graph.workspace_root;
        if package.source.is_local()
            && let Ok(rel) = src_path.strip_prefix(root)
        {
            return (rel.to_path_buf(), root.clone());
        }
        (src_path.to_path_buf(), package.root.clone())
    }

    /// The wrapper chain and compiler (`RUSTC_WRAPPER`, then
    /// `RUSTC_WORKSPACE_WRAPPER` for members, then rustc).
    fn compiler_program(&self, id: UnitId) -> (PathBuf, Vec<OsString>) {
        let settings = &self.settings[id];
        let mut chain: Vec<PathBuf> = settings
            .wrapper
            .iter()
            .chain(&settings.workspace_wrapper)
            .cloned()
            .collect();
        chain.push(self.toolchain.rustc.clone());
        let program = chain.remove(0);
        (
            program,
            chain.into_iter().map(PathBuf::into_os_string).collect(),
        )
    }

    /// `LD_LIBRARY_PATH` (or the platform's equivalent) with `dirs` first.
    fn library_path(&self, dirs: Vec<PathBuf>) -> (String, OsString) {
        let var = dylib_path_var();
        let mut all = dirs;
        if let Some(existing) = self.env.get(var) {
            all.extend(std::env::split_paths(existing));
        }
        let joined = std::env::join_paths(all).unwrap_or_default();
        (var.to_owned(), joined)
    }

    /// `CARGO`, `CARGO_MANIFEST_*`, `CARGO_PKG_*` and `[env]` (cargo's `fill_env`).
    fn package_env(&self, id: UnitId, env: &mut Vec<(String, OsString)>) {
        let package = self.graph.package_of(id);
        let v = &package.version;
        let mut set = |k: &str, v: OsString| env.push((k.to_owned(), v));
        set("CARGO", self.cargo_exe.clone());
        set("CARGO_MANIFEST_DIR", package.root.clone().into_os_string());
        set(
            "CARGO_MANIFEST_PATH",
            package.manifest_path.clone().into_os_string(),
        );
        set("CARGO_PKG_VERSION_MAJOR", v.major.to_string().into());
        set("CARGO_PKG_VERSION_MINOR", v.minor.to_string().into());
        set("CARGO_PKG_VERSION_PATCH", v.patch.to_string().into());
        set("CARGO_PKG_VERSION_PRE", v.pre.clone().into());
        set("CARGO_PKG_VERSION", v.text.clone().into());
        set("CARGO_PKG_NAME", package.name.clone().into());
        let meta = &package.meta;
        let text = |o: &Option<String>| OsString::from(o.clone().unwrap_or_default());
        set("CARGO_PKG_DESCRIPTION", text(&meta.description));
        set("CARGO_PKG_HOMEPAGE", text(&meta.homepage));
        set("CARGO_PKG_REPOSITORY", text(&meta.repository));
        set("CARGO_PKG_LICENSE", text(&meta.license));
        set("CARGO_PKG_LICENSE_FILE", text(&meta.license_file));
        set("CARGO_PKG_AUTHORS", meta.authors.join(":").into());
        set("CARGO_PKG_RUST_VERSION", text(&meta.rust_version));
        set("CARGO_PKG_README", text(&meta.readme));
        for (name, value) in self.config_env_applied() {
            if !env.iter().any(|(k, _)| *k == name) {
                env.push((name, value));
            }
        }
    }

    /// `[env]` entries that apply: forced ones, and the others only where
    /// the environment does not set the variable already.
    pub fn config_env_applied(&self) -> Vec<(String, OsString)> {
        self.config_env
            .iter()
            .filter(|(name, entry)| entry.force || !self.env.contains_key(*name))
            .map(|(name, entry)| (name.clone(), entry.value.clone()))
            .collect()
    }

    /// The variables rustc runs with for unit `id` (besides those inherited).
    pub fn compiler_env(&self, id: UnitId, scripts: &dyn ScriptResults) -> Vec<(String, OsString)> {
        let unit = self.unit(id);
        let mut env = Vec::new();
        if matches!(unit.kind, UnitKind::Bin | UnitKind::Example) {
            env.push(("CARGO_BIN_NAME".to_owned(), unit.target.name.clone().into()));
        }
        env.push((
            "CARGO_CRATE_NAME".to_owned(),
            unit.crate_name.clone().into(),
        ));
        env.push(self.library_path(vec![self.layout.deps(None)]));
        self.package_env(id, &mut env);
        if self.graph.package_of(id).primary {
            env.push(("CARGO_PRIMARY_PACKAGE".to_owned(), "1".into()));
        }
        if matches!(unit.kind, UnitKind::Test | UnitKind::Bench) {
            env.extend(self.test_target_env(id));
        }
        if let Some(run) = self.graph.own_build_script(id) {
            env.extend(self.script_env(run, scripts));
        }
        env
    }

    /// What cargo gives an integration test or bench at compile time: the
    /// path of each of its package's binaries (`CARGO_BIN_EXE_<name>`; a
    /// placeholder when checking, since nothing is linked) and a scratch
    /// directory (`CARGO_TARGET_TMPDIR`).
    fn test_target_env(&self, id: UnitId) -> Vec<(String, OsString)> {
        let unit = self.unit(id);
        let exe = std::env::consts::EXE_SUFFIX;
        let mut env: Vec<(String, OsString)> = self
            .graph
            .package_of(id)
            .targets
            .iter()
            .filter(|(kinds, _)| kinds.iter().any(|k| k == "bin"))
            .map(|(_, name)| {
                let path = match unit.mode.is_check() {
                    true => OsString::from(format!("placeholder:{name}")),
                    false => self
                        .layout
                        .root(unit.platform.as_deref())
                        .join(format!("{name}{exe}"))
                        .into_os_string(),
                };
                (format!("CARGO_BIN_EXE_{name}"), path)
            })
            .collect();
        env.push((
            "CARGO_TARGET_TMPDIR".to_owned(),
            self.layout.tmp().into_os_string(),
        ));
        env
    }

    /// How cargo runs an executable it built for unit `id` (`cargo test`,
    /// `cargo run`; its `target_process`): from the package's root, with
    /// `CARGO`, `CARGO_MANIFEST_*`, `CARGO_PKG_*`, the package's build-script
    /// `rustc-env` values and `[env]`, and a library path holding native
    /// directories that build scripts put under the target directory, the
    /// output directories and the toolchain's target libraries.
    pub fn target_process(
        &self,
        id: UnitId,
        program: &Path,
        args: &[String],
        scripts: &dyn ScriptResults,
    ) -> Invocation {
        let unit = self.unit(id);
        let platform = unit.platform.as_deref();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for run in self.graph.build_scripts_to_link(id) {
            for path in scripts
                .output(run)
                .map(|o| &o.library_paths)
                .into_iter()
                .flatten()
            {
                let path = crate::buildscript::search_dir(path).to_path_buf();
                if path.starts_with(&self.layout.target_dir) && !dirs.contains(&path) {
                    dirs.push(path);
                }
            }
        }
        dirs.push(self.layout.root(platform));
        dirs.push(self.layout.deps(platform));
        if let Some(sysroot) = &self.toolchain.sysroot {
            let triple = platform.unwrap_or(&self.toolchain.host);
            dirs.push(sysroot.join("lib/rustlib").join(triple).join("lib"));
        }
        let mut env = vec![self.library_path(dirs)];
        if let Some(run) = self.graph.own_build_script(id) {
            env.extend(self.script_env(run, scripts));
        }
        self.package_env(id, &mut env);
        Invocation {
            program: program.to_path_buf(),
            args: args.iter().map(OsString::from).collect(),
            env,
            env_remove: Vec::new(),
            cwd: self.graph.package_of(id).root.clone(),
        }
    }

    /// `rustdoc --test` for a library's documentation tests, as cargo's
    /// `run_doc_tests` builds it (argument order included): against the
    /// artifacts of its dependencies, with the features, cfgs and
    /// build-script results of the library, run from the workspace root.
    pub fn rustdoc_test(
        &self,
        doctest: &Doctest,
        options: &DoctestOptions<'_>,
        scripts: &dyn ScriptResults,
    ) -> Invocation {
        let package = self.graph.package(doctest.pkg);
        let platform = doctest.platform.as_deref();
        let own_script = doctest
            .deps
            .iter()
            .map(|d| d.unit)
            .find(|&d| self.unit(d).kind == UnitKind::RunBuildScript);
        // cargo's `native_dirs`: every script's search paths, as printed.
        let all_native: std::collections::BTreeSet<&PathBuf> = self
            .graph
            .units()
            .iter()
            .filter(|u| u.kind == UnitKind::RunBuildScript)
            .filter_map(|u| scripts.output(u.id))
            .flat_map(|o| o.library_paths.iter())
            .collect();
        let mut env: Vec<(String, OsString)> = vec![(
            "CARGO_CRATE_NAME".to_owned(),
            doctest.crate_name.clone().into(),
        )];
        let host_root = self.layout.root(None);
        let mut dirs: Vec<PathBuf> = all_native
            .iter()
            .map(|d| crate::buildscript::search_dir(d).to_path_buf())
            .filter(|d| d.starts_with(&host_root))
            .collect();
        dirs.push(self.layout.deps(None));
        env.push(self.library_path(dirs));
        if let Some(run) = own_script {
            env.extend(self.script_env(run, scripts));
        }
        // `package_env` wants a unit of the package: any of the doc test's
        // own package will do, else the values are the package's anyway.
        self.doctest_package_env(doctest, &mut env);

        let mut args: Vec<OsString> = Vec::new();
        let mut push = |a: &str| args.push(OsString::from(a));
        push(&format!("--edition={}", doctest.target.edition));
        for t in &doctest.target.crate_types {
            push("--crate-type");
            push(t.as_str());
        }
        push("--color");
        push(options.color);
        push("--crate-name");
        push(&doctest.crate_name);
        push("--test");
        let (src, cwd) = self.source_of(doctest.pkg, &doctest.target.src_path);
        args.push(src.into_os_string());
        args.push("--test-run-directory".into());
        args.push(package.root.clone().into_os_string());
        if let Some(triple) = platform {
            args.push("--target".into());
            args.push(triple.into());
        }
        let settings = self
            .graph
            .ids()
            .find(|&id| self.unit(id).pkg == doctest.pkg && self.unit(id).kind == doctest.kind)
            .map(|id| &self.settings[id]);
        if let Some(linker) = settings.and_then(|s| s.linker.as_ref()) {
            let mut flag = OsString::from("linker=");
            flag.push(linker);
            args.push("-C".into());
            args.push(flag);
        }
        let mut push = |a: &str| args.push(OsString::from(a));
        if doctest.profile.panic != "unwind" {
            push("-C");
            push(&format!("panic={}", doctest.profile.panic));
        }
        for dir in &all_native {
            args.push("-L".into());
            args.push(dir.as_os_str().to_owned());
        }
        let mut push = |a: &str| args.push(OsString::from(a));
        for arg in options.test_args {
            push("--test-args");
            push(arg);
        }
        if options.quiet {
            push("--test-args");
            push("--quiet");
        }
        for flag in &package.lint_flags {
            push(flag);
        }
        args.extend(self.externs(&doctest.deps, false, doctest.kind == UnitKind::ProcMacro));
        let mut dep_dir = OsString::from("dependency=");
        dep_dir.push(self.layout.deps(platform));
        args.push("-L".into());
        args.push(dep_dir);
        if platform.is_some() {
            let mut host = OsString::from("dependency=");
            host.push(self.layout.deps(None));
            args.push("-L".into());
            args.push(host);
        }
        let lto = crate::profile::root_lto(
            &doctest.profile.lto,
            &doctest.target.crate_types,
            doctest.kind == UnitKind::ProcMacro,
        );
        let mut push = |a: &str| args.push(OsString::from(a));
        for a in lto.args() {
            push(&a);
        }
        for arg in feature_args(&doctest.features, &package.declared_features) {
            push(&arg);
        }
        if let Some(output) = own_script.and_then(|run| scripts.output(run)) {
            for cfg in &output.cfgs {
                push("--cfg");
                push(cfg);
            }
            for check in &output.check_cfgs {
                push("--check-cfg");
                push(check);
            }
            for (target, arg) in &output.linker_args {
                if *target == LinkArgTarget::All {
                    push("-C");
                    push(&format!("link-arg={arg}"));
                }
            }
        }
        for flag in options.rustdocflags {
            push(flag);
        }
        push("--error-format");
        push(options.error_format);
        Invocation {
            program: self.toolchain.rustdoc.clone(),
            args,
            env,
            env_remove: Vec::new(),
            cwd,
        }
    }

    /// What cargo gives programs it runs for a package with a build script
    /// (its `extra_env`): `OUT_DIR`, then the script's `rustc-env` values.
    fn script_env(&self, run: UnitId, scripts: &dyn ScriptResults) -> Vec<(String, OsString)> {
        let mut env = Vec::new();
        if let Some(dirs) = &self.outputs[run].run {
            env.push(("OUT_DIR".to_owned(), dirs.out.clone().into_os_string()));
        }
        if let Some(output) = scripts.output(run) {
            for (name, value) in &output.env {
                env.push((name.clone(), value.into()));
            }
        }
        env
    }

    /// `CARGO`, `CARGO_MANIFEST_*`, `CARGO_PKG_*`, `[env]` for a doc test's package.
    fn doctest_package_env(&self, doctest: &Doctest, env: &mut Vec<(String, OsString)>) {
        let any_unit = self
            .graph
            .ids()
            .find(|&id| self.unit(id).pkg == doctest.pkg);
        if let Some(id) = any_unit {
            self.package_env(id, env);
        }
    }

    /// rustc's command for compile unit `id`, with what the build scripts it
    /// depends on printed.
    pub fn rustc(&self, id: UnitId, scripts: &dyn ScriptResults) -> Invocation {
        let unit = self.unit(id);
        let spec = self.specs[id]
            .compile()
            .expect("rustc is only run for compile units");
        let settings = &self.settings[id];
        let package = self.graph.package(unit.pkg);
        let outputs = &self.outputs[id];
        let (program, mut args) = self.compiler_program(id);
        let mut push = |a: &str| args.push(OsString::from(a));
        let (src, cwd) = self.source_arg(id);
        push("--crate-name");
        push(&unit.crate_name);
        push(&format!("--edition={}", unit.target.edition));
        args.push(src.into_os_string());
        let mut push = |a: &str| args.push(OsString::from(a));
        push("--error-format=json");
        push(match (self.color, self.short_diagnostics) {
            (true, false) => "--json=diagnostic-rendered-ansi,artifacts,future-incompat",
            (true, true) => {
                "--json=diagnostic-rendered-ansi,artifacts,future-incompat,diagnostic-short"
            }
            (false, false) => "--json=artifacts,future-incompat",
            (false, true) => "--json=artifacts,future-incompat,diagnostic-short",
        });
        // A test unit's crate type is rustc's default for `--test` (cargo's
        // `build_base_args`; docs/rustc-facts.md §11).
        if !unit.mode.is_test() {
            for t in &unit.target.crate_types {
                push("--crate-type");
                push(t.as_str());
            }
        }
        push(match (unit.mode.is_check(), unit.emits_metadata()) {
            (true, _) => "--emit=dep-info,metadata",
            (false, true) => "--emit=dep-info,metadata,link",
            (false, false) => "--emit=dep-info,link",
        });
        let dylib = unit
            .target
            .crate_types
            .contains(&crate::graph::CrateType::Dylib);
        if unit.kind == UnitKind::ProcMacro || (dylib && !package.primary) {
            push("-C");
            push("prefer-dynamic");
        }
        let profile = &unit.profile;
        if profile.opt_level != "0" {
            push("-C");
            push(&format!("opt-level={}", profile.opt_level));
        }
        if profile.panic != "unwind" {
            push("-C");
            push(&format!("panic={}", profile.panic));
        }
        for a in settings.lto.args() {
            push(&a);
        }
        if let Some(n) = profile.codegen_units {
            push("-C");
            push(&format!("codegen-units={n}"));
        }
        if let Some(level) = profile.debuginfo_level() {
            push("-C");
            push(&format!("debuginfo={level}"));
            if let Some(split) = &profile.split_debuginfo {
                push("-C");
                push(&format!("split-debuginfo={split}"));
            }
        }
        if !spec.cap_lints || self.extra_verbose {
            // Dependencies' lints only reach rustc when they are not all
            // capped to `allow` (cargo's `compute_cap_lints`).
            for flag in &package.lint_flags {
                push(flag);
            }
        }
        for a in assertion_args(
            &profile.opt_level,
            profile.debug_assertions,
            profile.overflow_checks,
        ) {
            push(a);
        }
        if unit.test_harness() {
            push("--test");
        } else if unit.mode.is_test() {
            push("--cfg");
            push("test");
        }
        for arg in feature_args(&unit.features, &package.declared_features) {
            push(&arg);
        }
        let meta = &self.specs[id].metadata;
        push("-C");
        push(&format!("metadata={meta}"));
        if settings.extra_filename {
            push("-C");
            push(&format!("extra-filename=-{meta}"));
        }
        if profile.rpath {
            push("-C");
            push("rpath");
        }
        args.push("--out-dir".into());
        args.push(outputs.out_dir.clone().into_os_string());
        if let Some(triple) = &unit.platform {
            args.push("--target".into());
            args.push(triple.into());
        }
        if let Some(linker) = &settings.linker {
            let mut flag = OsString::from("linker=");
            flag.push(linker);
            args.push("-C".into());
            args.push(flag);
        }
        if settings.incremental {
            let mut flag = OsString::from("incremental=");
            flag.push(self.layout.incremental(unit.platform.as_deref()));
            args.push("-C".into());
            args.push(flag);
        }
        if let Some(strip) = profile.strip_level() {
            args.push("-C".into());
            args.push(format!("strip={strip}").into());
        }
        let mut dep_dir = OsString::from("dependency=");
        dep_dir.push(self.layout.deps(unit.platform.as_deref()));
        args.push("-L".into());
        args.push(dep_dir);
        if unit.platform.is_some() {
            let mut host = OsString::from("dependency=");
            host.push(self.layout.deps(None));
            args.push("-L".into());
            args.push(host);
        }
        args.extend(self.extern_args(id));
        if spec.cap_lints {
            // cargo shows dependencies' warnings only at `-vv`; either way
            // a dependency's lints never fail the build (outputs are equal).
            args.push("--cap-lints".into());
            args.push(if self.extra_verbose { "warn" } else { "allow" }.into());
        }
        args.extend(settings.rustflags.iter().map(OsString::from));
        args.extend(self.native_args(id, scripts));
        let mut env = self.compiler_env(id, scripts);
        // `CARGO_ENCODED_RUSTFLAGS` etc. from the outer environment are for
        // cargo, not rustc; rustc ignores them, so they stay inherited.
        env.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        Invocation {
            program,
            args,
            env,
            env_remove: Vec::new(),
            cwd,
        }
    }

    /// `--extern` for every linkable dependency: the `.rmeta` when this
    /// unit only needs metadata (pipelining), the linkable artifact otherwise.
    fn extern_args(&self, id: UnitId) -> Vec<OsString> {
        let unit = self.unit(id);
        self.externs(
            &unit.deps,
            unit.emits_metadata(),
            unit.kind == UnitKind::ProcMacro,
        )
    }

    /// `--extern name=path` per linkable dependency: its `.rmeta` when only
    /// metadata is needed, else its linkable artifact; `--extern proc_macro`
    /// for a proc-macro crate.
    fn externs(&self, deps: &[UnitDep], metadata_only: bool, proc_macro: bool) -> Vec<OsString> {
        let mut args = Vec::new();
        for dep in deps {
            let dep_unit = self.unit(dep.unit);
            if !dep_unit.is_linkable() {
                continue;
            }
            let outputs = &self.outputs[dep.unit];
            let path = match (&outputs.rmeta, metadata_only) {
                (Some(rmeta), true) => Some(rmeta.clone()),
                _ => outputs.linkable.clone(),
            };
            let Some(path) = path else { continue };
            let mut flag = OsString::from(format!("{}=", dep.extern_name));
            flag.push(path);
            args.push("--extern".into());
            args.push(flag);
        }
        if proc_macro {
            args.push("--extern".into());
            args.push("proc_macro".into());
        }
        args
    }

    /// What build scripts add: `-L` search paths of every script to link,
    /// then this package's own `-l` libraries, linker arguments, `--cfg`
    /// and `--check-cfg` (cargo's `add_native_deps` and `add_custom_flags`).
    fn native_args(&self, id: UnitId, scripts: &dyn ScriptResults) -> Vec<OsString> {
        let unit = self.unit(id);
        let package = self.graph.package(unit.pkg);
        let runs = self.graph.build_scripts_to_link(id);
        let mut args: Vec<OsString> = Vec::new();
        let mut inside = Vec::new();
        let mut outside = Vec::new();
        for &run in &runs {
            let (Some(output), Some(dirs)) = (scripts.output(run), &self.outputs[run].run) else {
                continue;
            };
            for path in &output.library_paths {
                match crate::buildscript::search_dir(path).starts_with(&dirs.out) {
                    true => inside.push(path.clone()),
                    false => outside.push(path.clone()),
                }
            }
        }
        for path in inside.into_iter().chain(outside) {
            args.push("-L".into());
            args.push(path.into_os_string());
        }
        let pass_l = unit.kind == UnitKind::Lib || !package.has_lib();
        for &run in &runs {
            let Some(output) = scripts.output(run) else {
                continue;
            };
            let own = self.unit(run).pkg == unit.pkg;
            if own && pass_l {
                for lib in &output.library_links {
                    args.push("-l".into());
                    args.push(lib.into());
                }
            }
            for (target, arg) in &output.linker_args {
                let applies = match target {
                    LinkArgTarget::All => true,
                    LinkArgTarget::Cdylib => {
                        !unit.mode.is_test()
                            && unit
                                .target
                                .crate_types
                                .contains(&crate::graph::CrateType::Cdylib)
                    }
                    LinkArgTarget::Bins => unit.kind == UnitKind::Bin,
                    LinkArgTarget::Examples => unit.kind == UnitKind::Example,
                    LinkArgTarget::Bin(name) => {
                        unit.kind == UnitKind::Bin && unit.target.name == *name
                    }
                    LinkArgTarget::Tests => unit.kind == UnitKind::Test,
                    LinkArgTarget::Benches => unit.kind == UnitKind::Bench,
                };
                if applies && (own || *target == LinkArgTarget::Cdylib) {
                    args.push("-C".into());
                    args.push(format!("link-arg={arg}").into());
                }
            }
        }
        if let Some(run) = self.graph.own_build_script(id)
            && let Some(output) = scripts.output(run)
        {
            for cfg in &output.cfgs {
                args.push("--cfg".into());
                args.push(cfg.into());
            }
            for check in &output.check_cfgs {
                args.push("--check-cfg".into());
                args.push(check.into());
            }
        }
        args
    }

    /// The build script's command for run unit `run`, with the `DEP_*`
    /// metadata its dependencies' scripts printed.
    pub fn script(&self, run: UnitId, scripts: &dyn ScriptResults) -> Invocation {
        let unit = self.unit(run);
        let package = self.graph.package(unit.pkg);
        let dirs = self.outputs[run]
            .run
            .clone()
            .expect("a run unit has run directories");
        let program = self
            .graph
            .script_of_run(run)
            .and_then(|script| {
                self.outputs[script]
                    .uplifts
                    .first()
                    .map(|(_, to)| to.clone())
            })
            .unwrap_or_else(|| dirs.root.join("build-script-build"));
        let host_root = self.layout.root(None);
        let mut library_dirs = match self.artifact_dir {
            true => vec![host_root.clone(), self.layout.deps(None)],
            false => vec![self.layout.deps(None)],
        };
        if let Some(sysroot) = &self.toolchain.sysroot {
            library_dirs.push(
                sysroot
                    .join("lib/rustlib")
                    .join(&self.toolchain.host)
                    .join("lib"),
            );
        }
        let mut env = Vec::new();
        env.push(self.library_path(library_dirs));
        self.package_env(run, &mut env);
        let mut set = |k: &str, v: OsString| env.push((k.to_owned(), v));
        let triple = unit
            .platform
            .clone()
            .unwrap_or_else(|| self.toolchain.host.clone());
        set("OUT_DIR", dirs.out.clone().into_os_string());
        set("NUM_JOBS", self.jobs.to_string().into());
        set("TARGET", triple.clone().into());
        set(
            "DEBUG",
            unit.profile.debuginfo_level().is_some().to_string().into(),
        );
        set("OPT_LEVEL", unit.profile.opt_level.clone().into());
        set(
            "PROFILE",
            if self.profile.release_root {
                "release"
            } else {
                "debug"
            }
            .into(),
        );
        set("HOST", self.toolchain.host.clone().into());
        set("RUSTC", self.toolchain.rustc.clone().into_os_string());
        set("RUSTDOC", self.toolchain.rustdoc.clone().into_os_string());
        if let Some(linker) = &self.settings[run].linker {
            set("RUSTC_LINKER", linker.clone().into_os_string());
        }
        if let Some(links) = &package.links {
            set("CARGO_MANIFEST_LINKS", links.into());
        }
        for feature in &unit.features {
            set(&format!("CARGO_FEATURE_{}", envify(feature)), "1".into());
        }
        for (name, value) in cfg_env(
            self.cfgs
                .get(&unit.platform)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            &unit.features,
            unit.profile.debug_assertions,
        ) {
            set(&name, value.into());
        }
        let mut remove = vec!["RUSTFLAGS".to_owned(), "RUSTC_WORKSPACE_WRAPPER".to_owned()];
        let settings = &self.settings[run];
        match &settings.wrapper {
            Some(wrapper) => set("RUSTC_WRAPPER", wrapper.clone().into_os_string()),
            None => remove.push("RUSTC_WRAPPER".to_owned()),
        }
        if package.source == Source::Member
            && let Some(wrapper) = &settings.workspace_wrapper
        {
            set("RUSTC_WORKSPACE_WRAPPER", wrapper.clone().into_os_string());
        }
        set(
            "CARGO_ENCODED_RUSTFLAGS",
            self.settings[run].rustflags.join("\x1f").into(),
        );
        for dep in &unit.deps {
            let dep_unit = self.unit(dep.unit);
            if dep_unit.kind != UnitKind::RunBuildScript {
                continue;
            }
            let (Some(links), Some(output)) = (
                &self.graph.package(dep_unit.pkg).links,
                scripts.output(dep.unit),
            ) else {
                continue;
            };
            for (key, value) in &output.metadata {
                set(
                    &format!("DEP_{}_{}", envify(links), envify(key)),
                    value.into(),
                );
            }
        }
        // Host-only dependencies' native libraries (cargo's `add_plugin_deps`).
        let plugin_dirs: Vec<PathBuf> = self
            .graph
            .transitive_deps(run)
            .into_iter()
            .filter(|d| self.unit(*d).kind == UnitKind::RunBuildScript)
            .filter_map(|d| scripts.output(d))
            .flat_map(|o| o.library_paths.iter())
            .map(|p| crate::buildscript::search_dir(p).to_path_buf())
            .filter(|p| p.starts_with(&host_root))
            .collect();
        if !plugin_dirs.is_empty()
            && let Some((_, value)) = env.iter_mut().find(|(k, _)| k == dylib_path_var())
        {
            let mut all: Vec<PathBuf> = std::env::split_paths(value).collect();
            all.extend(plugin_dirs);
            *value = std::env::join_paths(all).unwrap_or_default();
        }
        Invocation {
            program,
            args: Vec::new(),
            env,
            env_remove: remove,
            cwd: package.root.clone(),
        }
    }
}

/// `-C debug-assertions` / `-C overflow-checks`, only where they differ
/// from what the opt-level implies (cargo passes nothing redundant).
fn assertion_args(
    opt_level: &str,
    debug_assertions: bool,
    overflow_checks: bool,
) -> Vec<&'static str> {
    let mut args = Vec::new();
    if opt_level != "0" {
        if debug_assertions {
            args.extend(["-C", "debug-assertions=on"]);
            if !overflow_checks {
                args.extend(["-C", "overflow-checks=off"]);
            }
        } else if overflow_checks {
            args.extend(["-C", "overflow-checks=on"]);
        }
    } else if !debug_assertions {
        args.extend(["-C", "debug-assertions=off"]);
        if overflow_checks {
            args.extend(["-C", "overflow-checks=on"]);
        }
    } else if !overflow_checks {
        args.extend(["-C", "overflow-checks=off"]);
    }
    args
}

/// `CARGO_CFG_*` for a build script: the platform's cfgs, `feature` from
/// the unit, `debug_assertions` from the profile (not from rustc's answer).
pub fn cfg_env(cfgs: &[Cfg], features: &[String], debug_assertions: bool) -> Vec<(String, String)> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    map.insert("feature".to_owned(), features.to_vec());
    if debug_assertions {
        map.insert("debug_assertions".to_owned(), Vec::new());
    }
    for cfg in cfgs {
        match cfg {
            Cfg::Name(name) => {
                if name.as_str() != "debug_assertions" {
                    map.insert(name.to_string(), Vec::new());
                }
            }
            Cfg::KeyPair(key, value) => {
                map.entry(key.to_string()).or_default().push(value.clone());
            }
        }
    }
    map.into_iter()
        .map(|(k, v)| (format!("CARGO_CFG_{}", envify(&k)), v.join(",")))
        .collect()
}

/// The variable the dynamic loader searches.
pub fn dylib_path_var() -> &'static str {
    if cfg!(windows) {
        "PATH"
    } else if cfg!(target_os = "macos") {
        "DYLD_FALLBACK_LIBRARY_PATH"
    } else {
        "LD_LIBRARY_PATH"
    }
}

/// The working directory and file a path in a unit's dep-info is relative to.
pub fn dep_info_base(cx: &InvocationContext<'_>, id: UnitId) -> PathBuf {
    cx.source_arg(id).1
}

/// Whether `path` lies in the workspace (for ledger paths).
pub fn in_workspace(path: &Path, root: &Path) -> bool {
    path.starts_with(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn assertion_flags_only_when_they_differ() {
        assert!(assertion_args("0", true, true).is_empty());
        assert_eq!(
            assertion_args("0", false, false),
            ["-C", "debug-assertions=off"]
        );
        assert_eq!(
            assertion_args("3", false, true),
            ["-C", "overflow-checks=on"]
        );
        assert!(assertion_args("3", false, false).is_empty());
        assert_eq!(
            assertion_args("0", true, false),
            ["-C", "overflow-checks=off"]
        );
    }

    #[test]
    fn cfg_env_joins_values_and_follows_the_profile() {
        let cfgs: Vec<Cfg> = [
            "unix",
            "debug_assertions",
            "target_os=\"linux\"",
            "target_feature=\"sse\"",
            "target_feature=\"sse2\"",
        ]
        .iter()
        .map(|s| Cfg::from_str(s).unwrap())
        .collect();
        let env: BTreeMap<String, String> = cfg_env(&cfgs, &["std".to_owned()], false)
            .into_iter()
            .collect();
        assert_eq!(env["CARGO_CFG_UNIX"], "");
        assert_eq!(env["CARGO_CFG_TARGET_OS"], "linux");
        assert_eq!(env["CARGO_CFG_TARGET_FEATURE"], "sse,sse2");
        assert_eq!(env["CARGO_CFG_FEATURE"], "std");
        assert!(!env.contains_key("CARGO_CFG_DEBUG_ASSERTIONS"));
    }
}
