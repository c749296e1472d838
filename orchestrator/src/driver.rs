//! `orchestrator build`: chain the stages, in the order `lib.rs` lists them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::events::{BuildEvent, BuildSummary, UnitInfo};
use crate::execute::{self, Execution, RustcRunner};
use crate::graph::CrateGraph;
use crate::ledger::{Ledger, hash_str};
use crate::lock::BuildLock;
use crate::manifest;
use crate::plan::{self, PlanInput};
use crate::profile::{Layout, Profile};
use crate::report::Reporter;
use crate::rustc::{self, InvocationContext, Outputs, Toolchain};

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
    let plan = plan::plan(&PlanInput {
        root: &ws.root,
        graph: &graph,
        specs: &specs,
        outputs: &outputs,
        ledger: &ledger,
        toolchain: &toolchain_hash,
        compiler_env: &compiler_env,
    });

    let mut invocations = vec![None; graph.len()];
    for id in plan.to_compile() {
        invocations[id.0] = Some(rustc::invocation(&cx, id));
    }
    let summary = execute::execute(
        Execution {
            root: &ws.root,
            graph: &graph,
            specs: &specs,
            outputs: &outputs,
            infos: &infos,
            plan: &plan,
            invocations,
            toolchain: &toolchain_hash,
            jobs: opts.jobs.max(1),
            profile: opts.profile,
            started,
        },
        &mut ledger,
        &RustcRunner,
        reporter,
    )?;
    reporter.event(&BuildEvent::BuildFinished(summary.clone()));
    if !summary.success {
        return Err(Error::CompileFailed {
            crates: summary.failed.clone(),
        });
    }
    Ok(summary)
}
