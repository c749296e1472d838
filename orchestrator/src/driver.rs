//! `orchestrator build`: chain the stages, in the order `lib.rs` lists them.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cargo_platform::Cfg;

use crate::buildscript::BuildOutput;
use crate::cargo::config::{EnvEntry, parse_cfgs};
use crate::cargo::{self, CargoCommand, CargoConfig, CargoRequest};
use crate::classify::SyntaxCache;
use crate::error::{Error, Result};
use crate::events::{BuildEvent, BuildSummary, UnitInfo, Verdict};
use crate::execute::{self, Execution, RustcRunner};
use crate::fingerprint::{self, UnitSettings, UnitSpec};
use crate::graph::{CrateGraph, CrateType, Source, UnitId, UnitKind, UnitMap};
use crate::invoke::InvocationContext;
use crate::ledger::{Ledger, hash_str, write_atomic};
use crate::lock::BuildLock;
use crate::manifest;
use crate::plan::{self, Action, BuildPlan, PlanInput, Reason, Touch};
use crate::profile::{Layout, Lto, Profile, lto_roles};
use crate::report::Reporter;
use crate::report::timings::{self, TimingsInput};
use crate::rustc::{Outputs, Toolchain};
use crate::touch::{self, TouchSpec};

/// What the command line (and environment) asked for.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Whose plan: `cargo build`, `check` or `test`.
    pub command: CargoCommand,
    pub cwd: PathBuf,
    pub manifest_path: Option<PathBuf>,
    pub target_dir: Option<PathBuf>,
    /// Selection and resolution flags, exactly as they go to `cargo build`
    /// (`-p`, `--workspace`, `--features`, `--locked`...).
    pub cargo_args: Vec<String>,
    /// `dev`, `release` (`--release`) or `--profile NAME`.
    pub profile: String,
    /// `--target` triples.
    pub targets: Vec<String>,
    /// `--config KEY=VALUE` / `--config FILE`.
    pub config: Vec<String>,
    /// `-j`; `None`: `build.jobs`, else the available cores.
    pub jobs: Option<usize>,
    /// Ask rustc for coloured diagnostics.
    pub color: bool,
    /// Ask rustc for short diagnostics.
    pub short_diagnostics: bool,
    /// The environment orchestrator runs in.
    pub env: BTreeMap<String, String>,
    /// Simulated changes (`--touch`).
    pub touches: Vec<TouchSpec>,
    /// Print the plan and its predicted time; compile nothing.
    pub dry_run: bool,
    /// Say why each crate that is not fresh is rebuilt.
    pub explain: bool,
    /// Relink binaries after codegen-only changes (where nothing optimizes).
    pub relink: bool,
    /// Write the HTML timings report.
    pub timings: bool,
    /// `-vv`: show dependencies' warnings, as cargo does.
    pub extra_verbose: bool,
    /// Build as much as possible after a failure.
    pub keep_going: bool,
    /// The shared artifact cache (`ORCHESTRATOR_CACHE`, `--cache-read-only`).
    pub cache: Option<crate::cache::CacheSettings>,
}

impl BuildOptions {
    /// Defaults for `cwd` and `env`, as a user running `orchestrator build`.
    pub fn new(cwd: PathBuf, env: BTreeMap<String, String>) -> BuildOptions {
        BuildOptions {
            command: CargoCommand::Build,
            cwd,
            manifest_path: None,
            target_dir: None,
            cargo_args: Vec::new(),
            profile: "dev".to_owned(),
            targets: Vec::new(),
            config: Vec::new(),
            jobs: None,
            color: false,
            short_diagnostics: false,
            env,
            touches: Vec::new(),
            dry_run: false,
            explain: false,
            relink: true,
            timings: false,
            extra_verbose: false,
            keep_going: false,
            cache: None,
        }
    }
}

/// Everything known once the plan is made: what `build` executes and
/// `graph` prints.
pub struct Session {
    /// Whose plan: `build`, `check` or `test`.
    pub command: CargoCommand,
    pub started: Instant,
    pub toolchain: Toolchain,
    pub graph: CrateGraph,
    pub profile: Profile,
    pub target_dir: PathBuf,
    pub layout: Layout,
    pub settings: UnitMap<UnitSettings>,
    pub specs: UnitMap<UnitSpec>,
    pub outputs: UnitMap<Outputs>,
    pub infos: UnitMap<UnitInfo>,
    /// Per unit: rustc may inline across crates (R6).
    pub optimizing: UnitMap<bool>,
    /// Per unit: `test` is one of its cfgs (R7).
    pub cfg_test: UnitMap<bool>,
    pub ledger: Ledger,
    pub toolchain_hash: String,
    pub cache: SyntaxCache,
    pub touches: Vec<Touch>,
    pub plan: BuildPlan,
    /// Results of build scripts that ran in earlier builds.
    pub scripts: HashMap<UnitId, BuildOutput>,
    pub cfgs: HashMap<Option<String>, Vec<Cfg>>,
    pub config_env: BTreeMap<String, EnvEntry>,
    pub cargo_exe: OsString,
    pub jobs: usize,
    pub env: BTreeMap<String, String>,
    /// cargo's answer, with what it depends on.
    pub cargo: cargo::cache::Remembered,
    /// Held while the session lives: one build (or `graph`) per target directory.
    lock: BuildLock,
}

/// What a session leaves for the next one in the same process (`watch`
/// keeps it between rounds). Each part is reused only where it is provably
/// what would be read from disk again:
///
/// | kept | reused when |
/// |---|---|
/// | parsed-file summaries | in the same target directory: they are found by content hash |
/// | the ledger | nobody held the build lock since this process did ([`BuildLock::follows`]); entries of units it lacks are read |
/// | cargo's answer | the same request, with everything it depends on as recorded ([`cargo::cache::Remembered::holds_for`]) |
///
/// Anything else (a failed build, another process's build in between) is
/// read from disk, as without it.
#[derive(Default)]
pub struct Warm {
    syntax: Option<SyntaxCache>,
    ledger: Option<(String, Ledger)>,
    cargo: Option<cargo::cache::Remembered>,
}

impl Warm {
    /// Keep what `session` read and wrote; its lock is released.
    pub fn keep(session: Session) -> Warm {
        let epoch = session.lock.epoch().to_owned();
        let mut syntax = session.cache;
        syntax.next_round();
        Warm {
            syntax: Some(syntax),
            ledger: Some((epoch, session.ledger)),
            cargo: Some(session.cargo),
        }
    }
}

impl Session {
    pub fn invocation_context(
        &self,
        color: bool,
        short_diagnostics: bool,
        extra_verbose: bool,
    ) -> InvocationContext<'_> {
        InvocationContext {
            graph: &self.graph,
            specs: &self.specs,
            settings: &self.settings,
            outputs: &self.outputs,
            layout: &self.layout,
            profile: &self.profile,
            toolchain: &self.toolchain,
            color,
            short_diagnostics,
            cargo_exe: self.cargo_exe.clone(),
            env: &self.env,
            config_env: &self.config_env,
            jobs: self.jobs,
            cfgs: &self.cfgs,
            extra_verbose,
            artifact_dir: self.command.has_artifact_dir(),
        }
    }
}

/// Stages 1–6: configuration, cargo's plan, graph, specs, ledger,
/// classification, plan. `lock`: take the target directory's build lock.
pub fn prepare(opts: &BuildOptions, reporter: &mut dyn Reporter, warm: Warm) -> Result<Session> {
    let started = Instant::now();
    let env = opts.env.clone();
    let config = CargoConfig::load(&opts.cwd, env.clone(), &opts.config)?;
    if let Some(what) = config.unsupported() {
        return Err(Error::Config {
            path: opts.cwd.join(".cargo/config.toml"),
            message: format!("orchestrator does not support {what}"),
        });
    }
    let located = manifest::locate(&opts.cwd, opts.manifest_path.as_deref())?;
    let root_manifest = located.root.join("Cargo.toml");
    let target_dir = match &opts.target_dir {
        Some(dir) => opts.cwd.join(dir),
        None => config.target_dir(&located.root).join("orchestrator"),
    };
    let (toolchain, pending_toolchain) = Toolchain::detect_cached(
        config.rustc(),
        &located.root,
        &env,
        &target_dir.join(".plan"),
    )?;
    let profile = Profile::new(&opts.profile, &|name| {
        manifest::profile_inherits(&root_manifest, name).or_else(|| config.profile_inherits(name))
    });
    let layout = Layout::new(&target_dir, &profile);

    let targets = match opts.targets.is_empty() {
        true => config.build_targets(),
        false => opts.targets.clone(),
    };
    let mut platforms = vec![toolchain.host.clone()];
    platforms.extend(targets.iter().cloned());
    platforms.dedup();
    let request = CargoRequest {
        command: opts.command,
        cargo: cargo::cargo_program(&env),
        cwd: opts.cwd.clone(),
        manifest_path: opts.manifest_path.as_ref().map(|m| opts.cwd.join(m)),
        args: opts.cargo_args.clone(),
        platforms,
    };
    let Warm {
        syntax: warm_syntax,
        ledger: warm_ledger,
        cargo: warm_cargo,
    } = warm;
    let remembered = cargo::resolve(
        &request,
        &env,
        &config,
        &toolchain.verbose_version,
        &target_dir.join(".plan"),
        warm_cargo,
    )?;
    let answer = &remembered.answer;
    // Nothing is written for a workspace cargo cannot load.
    if let Some(pending) = pending_toolchain {
        pending.store();
    }
    std::fs::create_dir_all(layout.ledger())
        .map_err(|e| Error::io("create target directory", &layout.ledger(), e))?;
    // `graph` takes it too: it reads the ledger, which a build rewrites.
    let lock = BuildLock::acquire(&target_dir, || reporter.event(&BuildEvent::WaitingForLock))?;
    let graph = CrateGraph::build(answer)?;
    let platforms: Vec<Option<&str>> = {
        let mut p: Vec<Option<&str>> = graph
            .units()
            .iter()
            .map(|u| u.platform.as_deref())
            .collect();
        p.push(None);
        p.sort();
        p.dedup();
        p
    };
    layout
        .create(&platforms)
        .map_err(|e| Error::io("create target directory", &layout.target_dir, e))?;

    let explicit_target = graph.units().iter().any(|u| u.platform.is_some());
    let needs_cfgs = config.has_cfg_tables()
        || graph
            .units()
            .iter()
            .any(|u| u.kind == UnitKind::RunBuildScript);
    let cfgs = match needs_cfgs {
        true => target_cfgs(
            &toolchain,
            &config,
            &platforms,
            explicit_target,
            &target_dir,
            &located.root,
        )?,
        false => HashMap::new(),
    };
    let cargo_home = config.cargo_home();
    let roles = lto_roles(&graph);
    let settings = UnitMap::from_fn(&graph, |unit| {
        let package = graph.package(unit.pkg);
        let triple = unit
            .platform
            .clone()
            .unwrap_or_else(|| toolchain.host.clone());
        let host_only = unit.platform.is_none() && explicit_target;
        let unit_cfgs = cfgs.get(&unit.platform).map(Vec::as_slice);
        let dynamic = unit
            .target
            .crate_types
            .iter()
            .any(|t| matches!(t, CrateType::Dylib | CrateType::Cdylib));
        // Unpacked registry packages and git checkouts are never modified
        // by cargo: their identity (id and checksum, or commit) is their content.
        let immutable = match package.source {
            Source::Registry { .. } => package.root.starts_with(cargo_home.join("registry/src")),
            Source::Git { .. } => package.root.starts_with(cargo_home.join("git/checkouts")),
            _ => false,
        };
        UnitSettings {
            rustflags: config.rustflags(&triple, unit_cfgs, host_only),
            linker: config.linker(&triple, unit_cfgs),
            incremental: unit.profile.incremental,
            lto: roles[unit.id],
            extra_filename: !(dynamic && package.source.is_local()),
            immutable_root: immutable.then(|| package.root.clone()),
            wrapper: config.rustc_wrapper(),
            workspace_wrapper: match package.source {
                Source::Member => config.rustc_workspace_wrapper(),
                _ => None,
            },
        }
    });
    let config_env = config.env_table();
    let config_env_flat: BTreeMap<String, String> = config_env
        .iter()
        .map(|(k, v)| (k.clone(), v.value.to_string_lossy().into_owned()))
        .collect();
    let specs = fingerprint::specs(&graph, &settings, &toolchain, &config_env_flat);
    let outputs = UnitMap::from_fn(&graph, |u| {
        Outputs::of(
            &graph,
            u.id,
            &specs[u.id],
            settings[u.id].extra_filename,
            &layout,
        )
    });
    let infos = UnitMap::from_fn(&graph, |u| UnitInfo::new(u, graph.package(u.pkg)));
    let optimizing = UnitMap::from_fn(&graph, |u| {
        let s = &settings[u.id];
        u.profile.opt_level != "0"
            || matches!(s.lto, Lto::Run(_) | Lto::OnlyBitcode)
            || optimizes_across_crates(&s.rustflags)
    });
    let keys: Vec<String> = specs.values().map(|s| s.key.clone()).collect();
    let mut ledger = match warm_ledger {
        Some((epoch, ledger)) if lock.follows(&epoch) => ledger.complete(&layout.ledger(), &keys),
        _ => Ledger::load(&layout.ledger(), &keys),
    };
    let scripts = load_scripts(
        &graph,
        &specs,
        &outputs,
        &mut ledger,
        env.get("RUSTC_BOOTSTRAP").map(String::as_str),
    )?;
    let cargo_exe = match env.get("CARGO").filter(|c| !c.is_empty()) {
        Some(cargo) => OsString::from(cargo),
        None => toolchain
            .sysroot
            .as_ref()
            .map(|s| {
                s.join("bin")
                    .join(format!("cargo{}", std::env::consts::EXE_SUFFIX))
            })
            .filter(|p| p.is_file())
            .map(PathBuf::into_os_string)
            .unwrap_or_else(|| cargo::which(Path::new("cargo"), &env)),
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let jobs = match opts.jobs {
        Some(j) => j,
        None => config.jobs(cores)?.unwrap_or(cores),
    };
    let toolchain_hash = hash_str(&toolchain.verbose_version);
    let syntax_dir = target_dir.join(".syntax");
    let cache = match warm_syntax {
        Some(cache) if cache.dir() == syntax_dir => cache,
        _ => SyntaxCache::new(&syntax_dir),
    };
    let jobs = jobs.max(1);
    let touches = touch::resolve(&opts.touches, &graph, &cache)?;
    let cx = InvocationContext {
        graph: &graph,
        specs: &specs,
        settings: &settings,
        outputs: &outputs,
        layout: &layout,
        profile: &profile,
        toolchain: &toolchain,
        color: opts.color,
        short_diagnostics: opts.short_diagnostics,
        cargo_exe: cargo_exe.clone(),
        env: &env,
        config_env: &config_env,
        jobs,
        cfgs: &cfgs,
        extra_verbose: opts.extra_verbose,
        artifact_dir: opts.command.has_artifact_dir(),
    };
    let compiler_env: UnitMap<BTreeMap<String, String>> =
        UnitMap::from_fn(&graph, |u| match u.kind {
            UnitKind::RunBuildScript => BTreeMap::new(),
            _ => cx
                .compiler_env(u.id, &scripts)
                .into_iter()
                .chain(cx.config_env_applied())
                .map(|(k, v)| (k, v.to_string_lossy().into_owned()))
                .collect(),
        });
    let cfg_test = UnitMap::from_fn(&graph, |u| {
        let script_cfgs = graph
            .own_build_script(u.id)
            .and_then(|run| scripts.get(&run))
            .map(|out| out.cfgs.clone())
            .unwrap_or_default();
        // Test units get `--test` or `--cfg test`.
        u.mode.is_test()
            || crate::classify::rules::cfg_test_is_set(
                &settings[u.id].rustflags,
                script_cfgs.iter().map(String::as_str),
            )
    });
    let plan = plan::plan(&PlanInput {
        graph: &graph,
        specs: &specs,
        settings: &settings,
        outputs: &outputs,
        ledger: &ledger,
        toolchain: &toolchain_hash,
        compiler_env: &compiler_env,
        process_env: &env,
        cache: &cache,
        optimizing: &optimizing,
        cfg_test: &cfg_test,
        relink: opts.relink,
        touches: &touches,
        jobs,
    });
    Ok(Session {
        command: opts.command,
        started,
        toolchain,
        graph,
        profile,
        target_dir,
        layout,
        settings,
        specs,
        outputs,
        infos,
        optimizing,
        cfg_test,
        ledger,
        toolchain_hash,
        cache,
        touches,
        plan,
        scripts,
        cfgs,
        config_env,
        cargo_exe,
        jobs,
        env,
        cargo: remembered,
        lock,
    })
}

/// `rustc --print cfg` of every platform, with the flags cargo would give it
/// before cfg-keyed configuration applies; kept under the target directory
/// per toolchain, platform and flags.
fn target_cfgs(
    toolchain: &Toolchain,
    config: &CargoConfig,
    platforms: &[Option<&str>],
    explicit_target: bool,
    target_dir: &Path,
    cwd: &Path,
) -> Result<HashMap<Option<String>, Vec<Cfg>>> {
    let mut out = HashMap::new();
    for platform in platforms {
        let triple = platform.unwrap_or(&toolchain.host);
        let flags = config.rustflags(triple, None, platform.is_none() && explicit_target);
        let key = hash_str(&format!(
            "{}\0{triple}\0{}",
            toolchain.verbose_version,
            flags.join("\x1f")
        ));
        let path = target_dir
            .join(".plan")
            .join(format!("cfg-{}.txt", &key[..16]));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(_) => {
                let text = toolchain.print_cfg(*platform, &flags, cwd)?;
                let _ = std::fs::create_dir_all(target_dir.join(".plan"));
                let _ = write_atomic(&path, text.as_bytes());
                text
            }
        };
        out.insert(platform.map(str::to_owned), parse_cfgs(&text));
    }
    Ok(out)
}

pub fn build(opts: &BuildOptions, reporter: &mut dyn Reporter) -> Result<BuildSummary> {
    build_session(opts, reporter, Warm::default()).map(|(_, summary)| summary)
}

/// Build, and keep the session for what runs the results (`test`, `run`):
/// its build-script results are those of this build.
pub fn build_session(
    opts: &BuildOptions,
    reporter: &mut dyn Reporter,
    warm: Warm,
) -> Result<(Session, BuildSummary)> {
    let mut session = prepare(opts, reporter, warm)?;
    let s = &session;
    if opts.dry_run || opts.explain {
        report_plan(&s.graph, &s.infos, &s.plan, reporter);
    }
    let predicted = Duration::from_millis(s.plan.predicted_ms);
    if opts.dry_run {
        reporter.event(&BuildEvent::PlanFinished { predicted });
        let fresh = s.graph.len();
        let duration = s.started.elapsed();
        let profile = s.profile.clone();
        return Ok((
            session,
            BuildSummary {
                success: true,
                compiled: 0,
                relinked: 0,
                ran: 0,
                fresh,
                failed: Vec::new(),
                duration,
                profile,
                predicted: Some(predicted),
                timings: Vec::new(),
                schedule: None,
                downloaded: 0,
                cache: None,
            },
        ));
    }
    // A simulated change runs at its real cost: the touched crates'
    // incremental caches are not reused.
    for t in &s.touches {
        if s.plan.action(t.unit) == Action::Compile {
            let unit = s.graph.unit(t.unit);
            s.layout
                .forget_incremental(unit.platform.as_deref(), &unit.crate_name);
        }
    }
    let record_links = UnitMap::from_fn(&s.graph, |u| {
        opts.relink && u.is_executable() && !s.optimizing[u.id]
    });
    let Session {
        ledger, scripts, ..
    } = &mut session;
    let mut ledger = std::mem::take(ledger);
    let scripts = std::mem::take(scripts);
    let s = &session;
    let cx = s.invocation_context(opts.color, opts.short_diagnostics, opts.extra_verbose);
    // A simulated change runs at its real cost: nothing comes from the
    // cache. A build that compiles nothing the cache takes never opens it
    // (a no-op build, or an edit-rebuild of members with the per-user
    // store, costs what it costs without one).
    let compiles = |settings: &crate::cache::CacheSettings| {
        s.plan.jobs().any(|u| {
            let source = &s.graph.package_of(u).source;
            s.plan.action(u) == Action::Compile && settings.scope.takes(source)
        })
    };
    let mut unusable = None;
    let wanted = opts
        .cache
        .as_ref()
        .filter(|c| s.touches.is_empty() && compiles(c));
    let cache = match wanted {
        Some(settings) => match crate::cache::Cache::open(
            settings,
            crate::cache::key::Remap::new(&s.layout.target_dir, &s.graph.workspace_root),
            s.env.clone(),
        ) {
            Ok(cache) => Some(cache),
            // Nothing was asked for: the default store being unusable (a
            // read-only home) only costs its hits. Said once the build is
            // done, beside its summary.
            Err(e) if settings.implicit => {
                unusable = Some(crate::cache::CacheNote::Unavailable(format!(
                    "{e} (set ORCHESTRATOR_CACHE=off to build without the cache)"
                )));
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    let result = execute::execute(
        Execution {
            cx: &cx,
            infos: &s.infos,
            plan: &s.plan,
            toolchain: &s.toolchain_hash,
            jobs: s.jobs,
            profile: &s.profile,
            record_links: &record_links,
            cfg_test: &s.cfg_test,
            keep_going: opts.keep_going,
            started: s.started,
            scripts,
            rustc_bootstrap: s.env.get("RUSTC_BOOTSTRAP").cloned(),
            cache: cache.as_ref(),
        },
        &mut ledger,
        &RustcRunner {
            cache: &s.cache,
            artifacts: cache.as_ref(),
        },
        reporter,
    );
    if result
        .as_ref()
        .map_or(true, |r| r.compiled + r.relinked + r.ran > 0)
    {
        remove_rustc_temps(&s.graph, &s.layout);
    }
    let mut summary = result?;
    if let Some(note) = unusable {
        reporter.event(&BuildEvent::CacheProblem { unit: None, note });
    }
    if !s.touches.is_empty() {
        summary.predicted = Some(predicted);
    }
    if opts.timings {
        let path = s.layout.profile_dir().join("orchestrator-timings.html");
        let title = format!("orchestrator build of {}", s.graph.workspace_root.display());
        let html = timings::render(&TimingsInput {
            title: &title,
            infos: &s.infos,
            plan: &s.plan,
            summary: &summary,
            jobs: s.jobs,
            show_prediction: !s.touches.is_empty(),
        });
        write_atomic(&path, html.as_bytes())?;
        reporter.event(&BuildEvent::TimingsWritten { path });
    }
    reporter.event(&BuildEvent::BuildFinished(summary.clone()));
    if !summary.success {
        return Err(Error::CompileFailed {
            crates: summary.failed.clone(),
        });
    }
    drop(cx);
    session.ledger = ledger;
    session.scripts = load_scripts(
        &session.graph,
        &session.specs,
        &session.outputs,
        &mut session.ledger,
        session.env.get("RUSTC_BOOTSTRAP").map(String::as_str),
    )?;
    Ok((session, summary))
}

/// The recorded results of build scripts that ran (in an earlier build or
/// this one). A result that cannot be read back is as good as none: its
/// ledger entry is dropped, so the script runs again.
fn load_scripts(
    graph: &CrateGraph,
    specs: &UnitMap<UnitSpec>,
    outputs: &UnitMap<Outputs>,
    ledger: &mut Ledger,
    rustc_bootstrap: Option<&str>,
) -> Result<HashMap<UnitId, BuildOutput>> {
    let mut scripts = HashMap::new();
    for unit in graph
        .units()
        .iter()
        .filter(|u| u.kind == UnitKind::RunBuildScript)
    {
        let key = &specs[unit.id].key;
        if ledger.get(key).is_none() {
            continue;
        }
        let dirs = outputs[unit.id]
            .run
            .as_ref()
            .expect("run units have run directories");
        match dirs.load(graph.package(unit.pkg), rustc_bootstrap) {
            Some(output) => {
                scripts.insert(unit.id, output);
            }
            None => ledger.invalidate(key)?,
        }
    }
    Ok(scripts)
}

/// rustc's temporary directories in every directory rustc wrote to
/// (`deps/`, each build script's `build/<pkg>-<hash>/`), once no job runs.
fn remove_rustc_temps(graph: &CrateGraph, layout: &Layout) {
    let mut platforms: Vec<Option<&str>> = graph
        .units()
        .iter()
        .map(|u| u.platform.as_deref())
        .collect();
    platforms.sort();
    platforms.dedup();
    for platform in platforms {
        crate::rustc::remove_temp_dirs(&layout.deps(platform));
        if let Ok(entries) = std::fs::read_dir(layout.build(platform)) {
            for entry in entries.flatten() {
                crate::rustc::remove_temp_dirs(&entry.path());
            }
        }
    }
}

fn report_plan(
    graph: &CrateGraph,
    infos: &UnitMap<UnitInfo>,
    plan: &BuildPlan,
    reporter: &mut dyn Reporter,
) {
    for &id in graph.topological() {
        let unit = plan.unit(id);
        let explain = match &unit.reason {
            Reason::Unchanged => "fresh".to_owned(),
            reason => reason.to_string(),
        };
        reporter.event(&BuildEvent::Planned {
            unit: infos[id].clone(),
            action: unit.action,
            stages: unit.stages.clone(),
            predicted: Duration::from_millis(unit.predicted_ms),
            verdict: Verdict {
                change: unit.reason.change(),
                explain,
            },
        });
    }
}

/// Remove a crate's incremental-compilation directories.
/// Whether `RUSTFLAGS` turn on optimization or LTO (cross-crate inlining),
/// or tune inlining at all (R6).
pub fn optimizes_across_crates(rustflags: &[String]) -> bool {
    let flags: Vec<&str> = rustflags.iter().map(String::as_str).collect();
    flags.iter().enumerate().any(|(i, flag)| {
        // `-C opt-level=1`, `-Copt-level=1` and `-C` `opt-level=1` alike.
        let value = flag.strip_prefix("-C").unwrap_or(flag);
        let value = if value.is_empty() {
            flags.get(i + 1).copied().unwrap_or("")
        } else {
            value
        };
        *flag == "-O"
            || value
                .strip_prefix("opt-level=")
                .is_some_and(|level| level != "0")
            || value.contains("lto")
            || value.contains("inline")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(f: &[&str]) -> Vec<String> {
        f.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn optimizing_rustflags_make_a_dev_build_release_like() {
        assert!(!optimizes_across_crates(&flags(&[])));
        assert!(!optimizes_across_crates(&flags(&[
            "--cfg",
            "x",
            "-C",
            "opt-level=0"
        ])));
        assert!(optimizes_across_crates(&flags(&["-C", "opt-level=1"])));
        assert!(optimizes_across_crates(&flags(&["-Copt-level=s"])));
        assert!(optimizes_across_crates(&flags(&["-O"])));
        assert!(optimizes_across_crates(&flags(&["-C", "lto=thin"])));
        assert!(optimizes_across_crates(&flags(&[
            "-Zcross-crate-inline-threshold=always"
        ])));
    }
}
