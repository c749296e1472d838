//! `orchestrator build`: chain the stages, in the order `lib.rs` lists them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::classify::SyntaxCache;
use crate::error::{Error, Result};
use crate::events::{BuildEvent, BuildSummary, UnitInfo, Verdict};
use crate::execute::{self, Execution, RustcRunner};
use crate::graph::CrateGraph;
use crate::ledger::{Ledger, hash_str, write_atomic};
use crate::lock::BuildLock;
use crate::manifest::{self, Workspace};
use crate::plan::{self, Action, BuildPlan, PlanInput, Reason, Touch};
use crate::profile::{Layout, Profile};
use crate::report::Reporter;
use crate::report::timings::{self, TimingsInput};
use crate::rustc::{self, CompileSpec, Invocation, InvocationContext, Outputs, Toolchain};
use crate::touch::{self, TouchSpec};

/// What the command line (and environment) asked for.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub cwd: PathBuf,
    pub manifest_path: Option<PathBuf>,
    pub target_dir: Option<PathBuf>,
    pub profile: Profile,
    pub jobs: usize,
    /// Ask rustc for coloured diagnostics.
    pub color: bool,
    /// `RUSTC`.
    pub rustc: Option<OsString>,
    /// `RUSTFLAGS` / `CARGO_ENCODED_RUSTFLAGS`, split.
    pub rustflags: Vec<String>,
    /// Value of `CARGO` for the compiler's environment.
    pub cargo: OsString,
    /// Simulated changes (`--touch`).
    pub touches: Vec<TouchSpec>,
    /// Print the plan and its predicted time; compile nothing.
    pub dry_run: bool,
    /// Say why each crate that is not fresh is rebuilt.
    pub explain: bool,
    /// Relink binaries after codegen-only changes (dev-like profiles only).
    pub relink: bool,
    /// Write the HTML timings report.
    pub timings: bool,
}

/// Everything known once the plan is made: what `build` executes and
/// `graph` prints.
pub struct Session {
    pub started: Instant,
    pub ws: Workspace,
    pub toolchain: Toolchain,
    pub graph: CrateGraph,
    pub target_dir: PathBuf,
    pub layout: Layout,
    pub specs: Vec<CompileSpec>,
    pub outputs: Vec<Outputs>,
    pub infos: Vec<UnitInfo>,
    pub ledger: Ledger,
    pub toolchain_hash: String,
    pub cache: SyntaxCache,
    pub touches: Vec<Touch>,
    pub plan: BuildPlan,
    /// Held while the build runs; `None` for read-only commands.
    _lock: Option<BuildLock>,
}

impl Session {
    fn invocation_context<'a>(&'a self, opts: &BuildOptions) -> InvocationContext<'a> {
        InvocationContext {
            ws: &self.ws,
            graph: &self.graph,
            specs: &self.specs,
            layout: &self.layout,
            profile: opts.profile,
            toolchain: &self.toolchain,
            color: opts.color,
            cargo: opts.cargo.clone(),
        }
    }
}

/// Stages 1–5: manifests, graph, specs, ledger, classification, plan.
/// `lock`: take the target directory's build lock (anything that may write).
pub fn prepare(opts: &BuildOptions, reporter: &mut dyn Reporter, lock: bool) -> Result<Session> {
    let started = Instant::now();
    let ws = manifest::load(&opts.cwd, opts.manifest_path.as_deref())?;
    // The compiler is identified from the workspace root (where it will run)
    // while the crate graph is built.
    let (toolchain, graph) = std::thread::scope(|s| {
        let toolchain = s.spawn(|| Toolchain::detect(opts.rustc.clone(), &ws.root));
        let graph = CrateGraph::build(&ws);
        let toolchain = toolchain.join().unwrap_or_else(|_| {
            Err(Error::Compiler {
                program: PathBuf::from("rustc"),
                message: "version check panicked".to_owned(),
            })
        });
        (toolchain, graph)
    });
    let (toolchain, graph) = (toolchain?, graph?);

    let target_dir = match &opts.target_dir {
        Some(dir) => opts.cwd.join(dir),
        None => ws.root.join("target").join("orchestrator"),
    };
    let layout = Layout::new(&target_dir, opts.profile);
    layout
        .create()
        .map_err(|e| Error::io("create target directory", &layout.deps, e))?;
    let lock = match lock {
        true => Some(BuildLock::acquire(&target_dir, || {
            reporter.event(&BuildEvent::WaitingForLock)
        })?),
        false => None,
    };

    let specs = rustc::compile_specs(&ws, &graph, opts.profile, &toolchain, &opts.rustflags);
    let outputs: Vec<Outputs> = graph
        .units()
        .iter()
        .map(|u| Outputs::of(&specs[u.id.0], u, &layout))
        .collect();
    let infos: Vec<UnitInfo> = graph
        .units()
        .iter()
        .map(|u| UnitInfo::new(u, &ws.packages[u.package].version.text))
        .collect();
    let keys: Vec<String> = specs.iter().map(|s| s.unit_key()).collect();
    let ledger = Ledger::load(&layout.ledger, &keys);
    let toolchain_hash = hash_str(&toolchain.verbose_version);
    let cache = SyntaxCache::new(&target_dir.join(".syntax"));
    let mut session = Session {
        started,
        ws,
        toolchain,
        graph,
        target_dir,
        layout,
        specs,
        outputs,
        infos,
        ledger,
        toolchain_hash,
        cache,
        touches: Vec::new(),
        plan: BuildPlan {
            units: Vec::new(),
            known_hashes: Default::default(),
            predicted_ms: 0,
            priorities: Vec::new(),
        },
        _lock: lock,
    };
    session.touches = touch::resolve(
        &opts.touches,
        &session.ws,
        &session.graph,
        &session.specs,
        &session.cache,
    )?;
    let cx = session.invocation_context(opts);
    let compiler_env: Vec<_> = session
        .graph
        .units()
        .iter()
        .map(|u| rustc::compiler_env(&cx, u))
        .collect();
    let release = optimizes_across_crates(opts);
    let plan = plan::plan(&PlanInput {
        root: &session.ws.root,
        graph: &session.graph,
        specs: &session.specs,
        outputs: &session.outputs,
        ledger: &session.ledger,
        toolchain: &session.toolchain_hash,
        compiler_env: &compiler_env,
        cache: &session.cache,
        release,
        relink: opts.relink && !release,
        touches: &session.touches,
        jobs: opts.jobs.max(1),
    });
    session.plan = plan;
    Ok(session)
}

pub fn build(opts: &BuildOptions, reporter: &mut dyn Reporter) -> Result<BuildSummary> {
    let mut session = prepare(opts, reporter, true)?;
    let s = &session;
    if opts.dry_run || opts.explain {
        report_plan(&s.graph, &s.infos, &s.plan, reporter);
    }
    let predicted = Duration::from_millis(s.plan.predicted_ms);
    if opts.dry_run {
        reporter.event(&BuildEvent::PlanFinished { predicted });
        return Ok(BuildSummary {
            success: true,
            compiled: 0,
            relinked: 0,
            fresh: s.graph.len(),
            failed: Vec::new(),
            duration: s.started.elapsed(),
            profile: opts.profile,
            predicted: Some(predicted),
            timings: Vec::new(),
            schedule: None,
        });
    }
    // A simulated change runs at its real cost: the touched crates'
    // incremental caches are not reused.
    for t in &s.touches {
        if s.plan.action(t.unit) == Action::Compile {
            forget_incremental(&s.layout, &s.graph.unit(t.unit).crate_name);
        }
    }
    let cx = s.invocation_context(opts);
    let invocations: Vec<Invocation> = s
        .graph
        .units()
        .iter()
        .map(|u| rustc::invocation(&cx, u.id))
        .collect();
    let package_dirs: Vec<PathBuf> = s
        .graph
        .units()
        .iter()
        .map(|u| s.ws.packages[u.package].dir.clone())
        .collect();
    let release = optimizes_across_crates(opts);
    let Session { ledger, .. } = &mut session;
    let mut ledger = std::mem::take(ledger);
    let s = &session;
    let result = execute::execute(
        Execution {
            root: &s.ws.root,
            target_dir: &s.target_dir,
            graph: &s.graph,
            specs: &s.specs,
            outputs: &s.outputs,
            infos: &s.infos,
            plan: &s.plan,
            invocations: &invocations,
            package_dirs: &package_dirs,
            toolchain: &s.toolchain_hash,
            jobs: opts.jobs.max(1),
            profile: opts.profile,
            record_links: opts.relink && !release,
            started: s.started,
        },
        &mut ledger,
        &RustcRunner { cache: &s.cache },
        reporter,
    );
    session.ledger = ledger;
    let s = &session;
    let mut summary = result?;
    if !s.touches.is_empty() {
        summary.predicted = Some(predicted);
    }
    if opts.timings {
        let path = s.layout.profile_dir.join("orchestrator-timings.html");
        let title = format!("orchestrator build of {}", s.ws.root.display());
        let html = timings::render(&TimingsInput {
            title: &title,
            infos: &s.infos,
            plan: &s.plan,
            summary: &summary,
            jobs: opts.jobs.max(1),
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
    Ok(summary)
}

fn report_plan(
    graph: &CrateGraph,
    infos: &[UnitInfo],
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
            unit: infos[id.0].clone(),
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
fn forget_incremental(layout: &Layout, crate_name: &str) {
    let prefix = format!("{crate_name}-");
    let Ok(entries) = std::fs::read_dir(&layout.incremental) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Release-like (R6): every body is interface and nothing is relinked. The
/// release profile is, and so is a dev build whose `RUSTFLAGS` turn on
/// optimization or LTO (cross-crate inlining), or tune inlining at all.
pub fn optimizes_across_crates(opts: &BuildOptions) -> bool {
    if opts.profile == Profile::Release {
        return true;
    }
    let flags: Vec<&str> = opts.rustflags.iter().map(String::as_str).collect();
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

    fn with_flags(flags: &[&str]) -> BuildOptions {
        BuildOptions {
            cwd: PathBuf::from("."),
            manifest_path: None,
            target_dir: None,
            profile: Profile::Dev,
            jobs: 1,
            color: false,
            rustc: None,
            rustflags: flags.iter().map(|f| f.to_string()).collect(),
            cargo: "cargo".into(),
            touches: Vec::new(),
            dry_run: false,
            explain: false,
            relink: true,
            timings: false,
        }
    }

    #[test]
    fn optimizing_rustflags_make_a_dev_build_release_like() {
        assert!(!optimizes_across_crates(&with_flags(&[])));
        assert!(!optimizes_across_crates(&with_flags(&[
            "--cfg",
            "x",
            "-C",
            "opt-level=0"
        ])));
        assert!(optimizes_across_crates(&with_flags(&["-C", "opt-level=1"])));
        assert!(optimizes_across_crates(&with_flags(&["-Copt-level=s"])));
        assert!(optimizes_across_crates(&with_flags(&["-O"])));
        assert!(optimizes_across_crates(&with_flags(&["-C", "lto=thin"])));
        assert!(optimizes_across_crates(&with_flags(&[
            "-Zcross-crate-inline-threshold=always"
        ])));
    }
}
