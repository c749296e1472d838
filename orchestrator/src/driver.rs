//! `orchestrator build`: chain the stages, in the order `lib.rs` lists them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::classify::SyntaxCache;
use crate::error::{Error, Result};
use crate::events::{BuildEvent, BuildSummary, UnitInfo, Verdict};
use crate::execute::{self, Execution, RustcRunner};
use crate::graph::CrateGraph;
use crate::ledger::{Ledger, hash_str};
use crate::lock::BuildLock;
use crate::manifest;
use crate::plan::{self, Action, BuildPlan, PlanInput, Reason};
use crate::profile::{Layout, Profile};
use crate::report::Reporter;
use crate::rustc::{self, Invocation, InvocationContext, Outputs, Toolchain};
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
}

pub fn build(opts: &BuildOptions, reporter: &mut dyn Reporter) -> Result<BuildSummary> {
    let started = Instant::now();
    // `rustc -vV` runs while the manifests are read.
    let (ws, toolchain) = std::thread::scope(|s| {
        let toolchain = s.spawn(|| Toolchain::detect(opts.rustc.clone()));
        let ws = manifest::load(&opts.cwd, opts.manifest_path.as_deref());
        let toolchain = toolchain.join().unwrap_or_else(|_| {
            Err(Error::Compiler {
                program: PathBuf::from("rustc"),
                message: "version check panicked".to_owned(),
            })
        });
        (ws, toolchain)
    });
    let (ws, toolchain) = (ws?, toolchain?);
    let graph = CrateGraph::build(&ws)?;

    let target_dir = match &opts.target_dir {
        Some(dir) => opts.cwd.join(dir),
        None => ws.root.join("target").join("orchestrator"),
    };
    let layout = Layout::new(&target_dir, opts.profile);
    layout
        .create()
        .map_err(|e| Error::io("create target directory", &layout.deps, e))?;
    let _lock = BuildLock::acquire(&target_dir, || reporter.event(&BuildEvent::WaitingForLock))?;

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
    let cx = InvocationContext {
        ws: &ws,
        graph: &graph,
        specs: &specs,
        layout: &layout,
        profile: opts.profile,
        toolchain: &toolchain,
        color: opts.color,
        cargo: opts.cargo.clone(),
    };
    let compiler_env: Vec<_> = graph
        .units()
        .iter()
        .map(|u| rustc::compiler_env(&cx, u))
        .collect();

    let keys: Vec<String> = specs.iter().map(|s| s.unit_key()).collect();
    let mut ledger = Ledger::load(&layout.ledger, &keys);
    let toolchain_hash = hash_str(&toolchain.verbose_version);
    let cache = SyntaxCache::new(&target_dir.join(".syntax"));
    let touches = touch::resolve(&opts.touches, &ws, &graph, &specs, &cache)?;
    let release = opts.profile == Profile::Release;
    let plan = plan::plan(&PlanInput {
        root: &ws.root,
        graph: &graph,
        specs: &specs,
        outputs: &outputs,
        ledger: &ledger,
        toolchain: &toolchain_hash,
        compiler_env: &compiler_env,
        cache: &cache,
        release,
        relink: opts.relink && !release,
        touches: &touches,
        jobs: opts.jobs.max(1),
    });
    if opts.dry_run || opts.explain {
        report_plan(&graph, &infos, &plan, reporter);
    }
    if opts.dry_run {
        let summary = BuildSummary {
            success: true,
            compiled: 0,
            relinked: 0,
            fresh: graph.len(),
            failed: Vec::new(),
            duration: started.elapsed(),
            profile: opts.profile,
            predicted: Some(Duration::from_millis(plan.predicted_ms)),
            timings: Vec::new(),
            schedule: None,
        };
        reporter.event(&BuildEvent::PlanFinished {
            predicted: Duration::from_millis(plan.predicted_ms),
        });
        return Ok(summary);
    }
    // A simulated change runs at its real cost: the touched crates'
    // incremental caches are not reused.
    for t in &touches {
        if plan.action(t.unit) == Action::Compile {
            forget_incremental(&layout, &graph.unit(t.unit).crate_name);
        }
    }

    let invocations: Vec<Invocation> = graph
        .units()
        .iter()
        .map(|u| rustc::invocation(&cx, u.id))
        .collect();
    let mut summary = execute::execute(
        Execution {
            root: &ws.root,
            target_dir: &target_dir,
            graph: &graph,
            specs: &specs,
            outputs: &outputs,
            infos: &infos,
            plan: &plan,
            invocations: &invocations,
            toolchain: &toolchain_hash,
            jobs: opts.jobs.max(1),
            profile: opts.profile,
            record_links: opts.relink && !release,
            started,
        },
        &mut ledger,
        &RustcRunner { cache: &cache },
        reporter,
    )?;
    if !touches.is_empty() {
        summary.predicted = Some(Duration::from_millis(plan.predicted_ms));
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
