//! The coordinator: the one thread that schedules jobs, renders their
//! commands when they start, writes the ledger (cosmetic updates, compiles,
//! relinks, build-script runs, absorbed codegen-only changes), applies
//! re-planning ([`Decisions::escalate`]) when a relink fails or a build
//! script prints something new, and talks to the reporter.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::worker::{CacheJob, Job, JobEvent, JobFailure, JobKind, JobOutput, Runner, uplift_all};
use crate::buildscript::BuildOutput;
use crate::cache::{Cache, CacheMode, Upload, Uploader};
use crate::classify::Items;
use crate::error::{Error, Result};
use crate::events::{
    BuildEvent, BuildSummary, CacheReport, Diagnostic, JobTiming, Produced, Stage, UnitInfo,
    Verdict,
};
use crate::fingerprint::is_immutable;
use crate::graph::{Source, UnitId, UnitKind, UnitMap};
use crate::invoke::InvocationContext;
use crate::ledger::{
    DepRecord, EnvRecord, FileRecord, Ledger, LedgerEntry, Measured, OutputStamp, links_hash,
};
use crate::paths::{normalize, relative_to};
use crate::plan::{Action, BuildPlan, Decisions, Escalation, Reason};
use crate::profile::Profile;
use crate::queue::{Artifact, DependencyQueue};
use crate::report::Reporter;
use crate::rustc::Invocation;
use crate::schedule::{measure_schedule, waits_for};

/// Everything the coordinator needs, prepared by the driver.
pub struct Execution<'a> {
    pub cx: &'a InvocationContext<'a>,
    pub infos: &'a UnitMap<UnitInfo>,
    pub plan: &'a BuildPlan,
    /// Hash of `rustc -vV`.
    pub toolchain: &'a str,
    pub jobs: usize,
    pub profile: &'a Profile,
    /// Per unit: record the binary's link step, to relink it later.
    pub record_links: &'a UnitMap<bool>,
    /// Per unit: `test` is one of its cfgs (R7): summaries keep `#[cfg(test)]` items.
    pub cfg_test: &'a UnitMap<bool>,
    /// `--keep-going`: after a failure, keep starting the jobs that do not
    /// depend on what failed.
    pub keep_going: bool,
    pub started: Instant,
    /// Results of build scripts that are fresh (read back from disk).
    pub scripts: HashMap<UnitId, BuildOutput>,
    /// `RUSTC_BOOTSTRAP` orchestrator was started with (for build-script checks).
    pub rustc_bootstrap: Option<String>,
    /// The shared artifact cache, if one is configured.
    pub cache: Option<&'a Cache>,
}

pub fn execute(
    exec: Execution<'_>,
    ledger: &mut Ledger,
    runner: &dyn Runner,
    reporter: &mut dyn Reporter,
) -> Result<BuildSummary> {
    let mut coordinator = Coordinator::new(exec, ledger, reporter);
    coordinator.announce();
    // `-j` is a limit, as in cargo: never more threads than units to run.
    let threads = coordinator
        .exec
        .jobs
        .min(coordinator.exec.infos.len())
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("orchestrator-job-{i}"))
        .build()
        .map_err(|e| Error::Threads {
            threads,
            message: e.to_string(),
        })?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let cache = coordinator.exec.cache;
    std::thread::scope(|threads| {
        // Uploads run beside the build and are waited for at its end.
        let uploader = cache
            .filter(|c| c.mode == CacheMode::ReadWrite)
            .map(|c| Uploader::start(threads, c));
        coordinator.uploads = uploader.as_ref().map(Uploader::sender);
        pool.in_place_scope(|scope| coordinator.run(scope, runner, &tx, &rx));
        let (mut summary, reporter) = coordinator.finish()?;
        if let Some(cache) = cache {
            let (notes, not_stored) = uploader.map(Uploader::finish).unwrap_or_default();
            for note in notes {
                reporter.event(&BuildEvent::CacheProblem { unit: None, note });
            }
            let report = CacheReport {
                store: cache.describe().to_owned(),
                read_only: cache.mode == CacheMode::ReadOnly,
                counts: cache.counts(),
                not_stored,
            };
            reporter.event(&BuildEvent::CacheFinished(report.clone()));
            summary.cache = Some(report);
        }
        Ok(summary)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Queued,
    Running,
    Done,
    Failed,
}

/// A compile's kind and what earlier ones measured, for the duration model.
#[derive(Debug, Clone, Copy, Default)]
struct History {
    clean: Option<Measured>,
    recompile: Option<Measured>,
    /// The compile starts from an earlier build of the unit: its outputs
    /// here and, if it compiles incrementally, its incremental state.
    warm: bool,
}

/// What the coordinator knows about one unit during the build.
#[derive(Debug, Clone)]
struct UnitState {
    action: Action,
    reason: Reason,
    status: Status,
    /// Output hash: recorded, or produced in this build.
    output: Option<String>,
    metadata_ms: Option<u64>,
    started_at: u64,
    /// A binary being relinked: its entry, updated afterwards.
    relinking: Option<LedgerEntry>,
    /// What the unit's earlier build here measured, taken when its job
    /// starts (the entry is invalidated while the job runs).
    history: History,
    /// `crate-started` was sent and neither `crate-finished` nor
    /// `crate-failed` yet: every started unit ends with exactly one of them.
    open: bool,
    /// A binary whose relink failed and that rustc now compiles: if rustc
    /// fails too, the incremental state both used may be damaged.
    after_relink: bool,
    /// Already retried from a clean incremental state.
    retried: bool,
    /// Diagnostics of a job that may be retried, shown once its outcome is
    /// known (a retried attempt's errors are not the build's).
    held: Vec<Diagnostic>,
    /// rustc's diagnostics of this build's compile, recorded with it to be
    /// replayed while the unit stays fresh.
    shown: Vec<Diagnostic>,
}

struct Coordinator<'a, 'l> {
    exec: Execution<'a>,
    ledger: &'l mut Ledger,
    reporter: &'l mut dyn Reporter,
    queue: DependencyQueue<UnitId>,
    state: UnitMap<UnitState>,
    decisions: Decisions,
    /// Ready jobs waiting for a free worker: highest priority first.
    ready: BinaryHeap<(u64, Reverse<u64>, UnitId)>,
    sequence: u64,
    /// When the first job could start; job timings are relative to it.
    epoch: Instant,
    /// When the time left was last reported.
    remaining_reported: Option<Instant>,
    timings: Vec<JobTiming>,
    running: usize,
    counts: Counts,
    failed: Vec<String>,
    /// Where finished compiles go to be stored in the shared cache.
    uploads: Option<crossbeam_channel::Sender<Upload>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    compiled: usize,
    downloaded: usize,
    relinked: usize,
    ran: usize,
}

impl<'a, 'l> Coordinator<'a, 'l> {
    fn new(exec: Execution<'a>, ledger: &'l mut Ledger, reporter: &'l mut dyn Reporter) -> Self {
        let graph = exec.cx.graph;
        let state = UnitMap::from_fn(graph, |u| {
            let plan = exec.plan.unit(u.id);
            UnitState {
                action: plan.action,
                reason: plan.reason.clone(),
                status: Status::Queued,
                output: ledger
                    .get(&exec.cx.specs[u.id].key)
                    .map(|e| e.output.clone()),
                metadata_ms: None,
                started_at: 0,
                relinking: None,
                history: History::default(),
                open: false,
                after_relink: false,
                retried: false,
                held: Vec::new(),
                shown: Vec::new(),
            }
        });
        Coordinator {
            decisions: exec.plan.decisions.clone(),
            exec,
            ledger,
            reporter,
            queue: DependencyQueue::default(),
            state,
            ready: BinaryHeap::new(),
            sequence: 0,
            epoch: Instant::now(),
            remaining_reported: None,
            timings: Vec::new(),
            running: 0,
            counts: Counts::default(),
            failed: Vec::new(),
            uploads: None,
        }
    }

    fn key(&self, id: UnitId) -> &str {
        &self.exec.cx.specs[id].key
    }

    fn verdict(&self, id: UnitId) -> Verdict {
        let reason = &self.state[id].reason;
        Verdict {
            change: reason.change(),
            explain: match reason {
                Reason::Unchanged => "fresh".to_owned(),
                other => other.to_string(),
            },
        }
    }

    /// Announce the build and queue every unit: fresh ones finish as soon as
    /// what they depend on has, so that a re-plan can still reach them.
    fn announce(&mut self) {
        let graph = self.exec.cx.graph;
        let plan = self.exec.plan;
        let jobs: Vec<UnitId> = plan.jobs().collect();
        let estimate = jobs
            .iter()
            .map(|&u| self.estimate_ms(u))
            .sum::<Option<u64>>()
            .map(Duration::from_millis);
        self.reporter.event(&BuildEvent::BuildStarted {
            units: graph.len(),
            to_compile: jobs.len(),
            jobs: self.exec.jobs,
            profile: self.exec.profile.clone(),
            estimate,
        });
        for &id in graph.topological() {
            self.queue
                .enqueue(id, waits_for(graph, id), plan.priorities[id]);
        }
    }

    /// The time left, as far as the plan's durations tell: the longest
    /// remaining path through the jobs not finished (a running job counts
    /// what its own path has left), or the work left spread over the
    /// workers, whichever is longer. Updated as jobs start and end, so it
    /// follows the build instead of a fixed total.
    fn remaining_ms(&self) -> u64 {
        let now = self.epoch.elapsed().as_millis() as u64;
        let plan = self.exec.plan;
        let mut critical = 0u64;
        let mut work = 0u64;
        for id in self.exec.cx.graph.ids() {
            let state = &self.state[id];
            if !state.action.is_job() {
                continue;
            }
            let elapsed = match state.status {
                Status::Queued => 0,
                Status::Running => now.saturating_sub(state.started_at),
                Status::Done | Status::Failed => continue,
            };
            critical = critical.max(plan.priorities[id].saturating_sub(elapsed));
            work += plan.units[id].predicted_ms.saturating_sub(elapsed);
        }
        critical.max(work / self.exec.jobs.max(1) as u64)
    }

    /// At most every 100 ms: the estimate walks every unit, and a job starts
    /// or ends many times a second in a large build.
    fn report_remaining(&mut self) {
        let now = Instant::now();
        if self
            .remaining_reported
            .is_some_and(|at| now.duration_since(at) < Duration::from_millis(100))
        {
            return;
        }
        self.remaining_reported = Some(now);
        let estimate = Duration::from_millis(self.remaining_ms());
        self.reporter.event(&BuildEvent::Remaining { estimate });
    }

    /// The plan's prediction for a unit that was measured before (the
    /// one duration model, [`crate::schedule::Durations`]).
    fn estimate_ms(&self, id: UnitId) -> Option<u64> {
        self.ledger.get(self.key(id))?;
        Some(self.exec.plan.units[id].predicted_ms)
    }

    fn run<'s>(
        &mut self,
        scope: &rayon::Scope<'s>,
        runner: &'s dyn Runner,
        tx: &Sender<JobEvent>,
        rx: &Receiver<JobEvent>,
    ) {
        self.epoch = Instant::now();
        loop {
            // After SIGINT/SIGTERM the children are stopped (`interrupt`):
            // wait for the running jobs to end, start nothing new. After a
            // failure, only `--keep-going` starts more (never a dependent
            // of what failed: its inputs never become ready).
            let may_start = self.failed.is_empty() || self.exec.keep_going;
            if may_start && crate::interrupt::received().is_none() {
                self.take_ready();
                while self.running < self.exec.jobs {
                    let Some((_, _, id)) = self.ready.pop() else {
                        break;
                    };
                    match self.start(id) {
                        Ok(job) => {
                            self.running += 1;
                            let tx = tx.clone();
                            scope.spawn(move |_| runner.run(&job, &tx));
                        }
                        // The job could not be set up (its entry could not
                        // be removed, its command not rendered): it failed.
                        Err(e) => {
                            self.fail(id, Duration::ZERO, e.to_string());
                            break;
                        }
                    }
                }
            }
            if self.running == 0 {
                break;
            }
            match rx.recv() {
                Ok(event) => self.handle(event),
                Err(_) => break,
            }
        }
    }

    /// Finish ready units that run no job (fresh, cosmetic) right away, and
    /// line up the others for a worker.
    fn take_ready(&mut self) {
        while let Some(id) = self.queue.pop() {
            let action = self.state[id].action;
            if action.is_job() {
                self.sequence += 1;
                self.ready
                    .push((self.exec.plan.priorities[id], Reverse(self.sequence), id));
                continue;
            }
            if let Err(e) = self.settle_fresh(id) {
                self.fail(id, Duration::ZERO, e.to_string());
                return;
            }
        }
    }

    /// A unit with nothing to run: record a cosmetic change (the artifacts
    /// are identical, docs/rustc-facts.md §4), refresh its user-facing copies (they
    /// may come from another configuration of it, as after a feature toggled
    /// and back; cargo re-links them too), and let dependents go.
    fn settle_fresh(&mut self, id: UnitId) -> Result<()> {
        if self.state[id].action == Action::Cosmetic
            && let Some(mut entry) = self.ledger.get(self.key(id)).cloned()
        {
            for input in &mut entry.inputs {
                if let Some(hash) = self.exec.plan.known_hashes.get(&input.path) {
                    input.hash = hash.clone();
                }
            }
            self.ledger.record(entry)?;
        }
        uplift_all(&self.exec.cx.outputs[id]).map_err(|message| Error::State {
            path: self.exec.cx.outputs[id].main.clone(),
            message,
        })?;
        self.state[id].status = Status::Done;
        self.queue.finish(id, Artifact::Link);
        Ok(())
    }

    fn start(&mut self, id: UnitId) -> Result<Job> {
        let cx = self.exec.cx;
        let graph = cx.graph;
        let unit = graph.unit(id);
        let package = graph.package(unit.pkg);
        let key = self.key(id).to_owned();
        let old = self.ledger.get(&key).cloned();
        let settings = &cx.settings[id];
        self.state[id].history = History {
            clean: old.as_ref().and_then(|e| e.clean),
            recompile: old.as_ref().and_then(|e| e.recompile),
            warm: old.is_some()
                && (!settings.incremental
                    || cx
                        .layout
                        .has_incremental(unit.platform.as_deref(), &unit.crate_name)),
        };
        // Forget the unit first: a build killed while its job runs must not
        // leave an entry that vouches for half-written artifacts.
        self.ledger.invalidate(&key)?;
        let info = self.exec.infos[id].clone();
        let recipe = old.as_ref().and_then(|e| e.link.clone());
        let (kind, stage, command, env) = match (self.state[id].action, recipe) {
            (Action::Relink, Some(recipe)) => {
                self.state[id].relinking = old;
                let command = format!("{} {}", recipe.program, recipe.args.join(" "));
                (
                    JobKind::Relink { recipe },
                    Stage::Relink,
                    command,
                    String::new(),
                )
            }
            (Action::Run, _) => {
                let invocation = cx.script(id, &self.exec.scripts);
                let (command, env) = (invocation.display(), invocation.display_env());
                let dirs = cx.outputs[id]
                    .run
                    .clone()
                    .expect("run units have run directories");
                let cached = self.cache_job(id, &invocation);
                (
                    JobKind::Run {
                        invocation,
                        dirs,
                        package: Box::new(package.clone()),
                        rustc_bootstrap: self.exec.rustc_bootstrap.clone(),
                        immutable: cx.settings[id].immutable_root.is_some(),
                        cached,
                    },
                    Stage::Run,
                    command,
                    env,
                )
            }
            _ => {
                self.state[id].action = Action::Compile;
                let invocation = cx.rustc(id, &self.exec.scripts);
                let stage = match unit.never_links() {
                    true => Stage::FrontEnd,
                    false => Stage::CompileAndLink,
                };
                let (command, env) = (invocation.display(), invocation.display_env());
                let cached = self.cache_job(id, &invocation);
                (
                    JobKind::Compile {
                        invocation,
                        record_link: self.exec.record_links[id],
                        summarize: (package.source == Source::Member)
                            .then(|| Items::for_unit(self.exec.cfg_test[id])),
                        cached,
                    },
                    stage,
                    command,
                    env,
                )
            }
        };
        let action = self.state[id].action;
        self.reporter.event(&BuildEvent::JobStarted {
            unit: info,
            action,
            stage,
            command,
            env,
        });
        self.state[id].status = Status::Running;
        self.state[id].open = true;
        self.state[id].started_at = self.epoch.elapsed().as_millis() as u64;
        self.report_remaining();
        let pre_hash = match (&package.source, cx.settings[id].immutable_root.is_some()) {
            (Source::Member | Source::Path, false) => Some(package.root.clone()),
            _ => None,
        };
        Ok(Job {
            unit: id,
            kind,
            outputs: cx.outputs[id].clone(),
            target_dir: cx.layout.target_dir.clone(),
            root: graph.workspace_root.clone(),
            pre_hash,
            skip: vec![cx.layout.target_dir.clone()],
        })
    }

    /// What the worker needs to look the unit up in the shared cache: the
    /// key over everything known now (settings, command, every upstream
    /// output), and the artifacts it links, for the worker to hash.
    fn cache_job(&self, id: UnitId, invocation: &Invocation) -> Option<Box<CacheJob>> {
        let graph = self.exec.cx.graph;
        let source = &graph.package_of(id).source;
        let cache = self
            .exec
            .cache
            .filter(|c| !c.is_down() && c.scope.takes(source))?;
        let upstream: Vec<(String, String)> = graph
            .upstream(id)
            .into_iter()
            .map(|d| {
                let record = self.dep_record(d);
                (record.unit, record.output)
            })
            .collect();
        let partial = crate::cache::key::partial(
            &cache.remap,
            self.exec.toolchain,
            &self.exec.cx.specs[id],
            invocation,
            &upstream,
        );
        let unit = graph.unit(id);
        let mut hashed: Vec<std::path::PathBuf> =
            match unit.never_links() || unit.kind == UnitKind::RunBuildScript {
                true => Vec::new(),
                false => graph
                    .link_closure(id)
                    .into_iter()
                    .filter_map(|d| self.exec.cx.outputs[d].linkable.clone())
                    .collect(),
            };
        // A wrapper decides what rustc is asked: its program, not only its
        // path, is part of the key.
        let settings = &self.exec.cx.settings[id];
        hashed.extend(settings.wrapper.iter().cloned());
        hashed.extend(settings.workspace_wrapper.iter().cloned());
        Some(Box::new(CacheJob { partial, hashed }))
    }

    fn handle(&mut self, event: JobEvent) {
        match event {
            JobEvent::Metadata { unit, at, hash } => {
                self.state[unit].output = Some(hash);
                self.state[unit].metadata_ms = Some(at.as_millis() as u64);
                self.queue.finish(unit, Artifact::Metadata);
                self.reporter.event(&BuildEvent::StageChanged {
                    unit: self.exec.infos[unit].clone(),
                    stage: Stage::Codegen,
                    elapsed: at,
                });
            }
            JobEvent::Message { unit, diagnostic } => {
                let state = &mut self.state[unit];
                if state.after_relink && !state.retried {
                    state.held.push(diagnostic);
                } else {
                    self.show_diagnostic(unit, diagnostic);
                }
            }
            JobEvent::Done { unit, result } => {
                self.running -= 1;
                let retry =
                    result.is_err() && self.state[unit].after_relink && !self.state[unit].retried;
                let held = std::mem::take(&mut self.state[unit].held);
                if !retry {
                    for diagnostic in held {
                        self.show_diagnostic(unit, diagnostic);
                    }
                }
                let action = self.state[unit].action;
                match (result, action) {
                    (Ok(output), action) => self.succeeded(unit, action, *output),
                    (Err(failure), Action::Relink) => self.relink_failed(unit, failure),
                    (Err(failure), _) if retry => self.retry_clean(unit, failure),
                    (Err(failure), _) => self.fail(unit, failure.duration, failure.message),
                }
            }
        }
    }

    fn show_diagnostic(&mut self, unit: UnitId, diagnostic: Diagnostic) {
        if diagnostic.json.is_some() && diagnostic.level != "error" {
            self.state[unit].shown.push(diagnostic.clone());
        }
        self.reporter.event(&BuildEvent::Diagnostic {
            unit: self.exec.infos[unit].clone(),
            diagnostic,
            replayed: false,
        });
    }

    /// The unit's outputs, as cargo's `compiler-artifact` /
    /// `build-script-executed` report them.
    fn report_produced(&mut self, unit: UnitId, fresh: bool) {
        let outputs = &self.exec.cx.outputs[unit];
        let produced = match &outputs.run {
            Some(dirs) => {
                let Some(script) = self.exec.scripts.get(&unit) else {
                    return;
                };
                Produced::ScriptRan {
                    linked_libs: script.library_links.clone(),
                    linked_paths: script
                        .library_paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect(),
                    cfgs: script.cfgs.clone(),
                    env: script.env.clone(),
                    out_dir: dirs.out.clone(),
                }
            }
            None => {
                let shown = |file: &std::path::PathBuf| {
                    outputs
                        .uplifts
                        .iter()
                        .find(|(from, _)| from == file)
                        .map(|(_, to)| to.clone())
                        .unwrap_or_else(|| file.clone())
                };
                let mut filenames: Vec<std::path::PathBuf> =
                    outputs.files.iter().map(shown).collect();
                filenames.extend(outputs.rmeta.iter().cloned());
                let executable = self
                    .exec
                    .cx
                    .graph
                    .unit(unit)
                    .is_executable()
                    .then(|| outputs.executable().map(|e| shown(&e.to_path_buf())))
                    .flatten();
                Produced::Compiled {
                    filenames,
                    executable,
                }
            }
        };
        self.reporter.event(&BuildEvent::Produced {
            unit: self.exec.infos[unit].clone(),
            produced,
            fresh,
        });
    }

    /// What rustc said when the unit was last compiled, shown again while
    /// it is not recompiled (cargo replays warnings of fresh units).
    fn replay_diagnostics(&mut self, unit: UnitId) {
        let Some(entry) = self.ledger.get(self.key(unit)) else {
            return;
        };
        // Recorded as the compile asked for them: colours are dropped if
        // this build does not ask for any.
        let color = self.exec.cx.color;
        for diagnostic in entry.diagnostics.clone() {
            let diagnostic = match color {
                true => diagnostic,
                false => diagnostic.without_colors(),
            };
            self.reporter.event(&BuildEvent::Diagnostic {
                unit: self.exec.infos[unit].clone(),
                diagnostic,
                replayed: true,
            });
        }
    }

    /// The unit's job failed, or what it produced could not be recorded:
    /// nothing is recorded for it, and no new job starts.
    fn fail(&mut self, unit: UnitId, duration: Duration, message: String) {
        self.state[unit].status = Status::Failed;
        self.state[unit].open = false;
        let info = self.exec.infos[unit].clone();
        self.failed.push(info.label());
        self.reporter.event(&BuildEvent::JobFailed {
            unit: info,
            duration,
            message,
        });
    }

    fn succeeded(&mut self, unit: UnitId, action: Action, output: JobOutput) {
        for note in &output.cache_notes {
            self.reporter.event(&BuildEvent::CacheProblem {
                unit: Some(self.exec.infos[unit].clone()),
                note: note.clone(),
            });
        }
        let recorded = match action {
            Action::Relink => self.record_relink(unit, &output),
            Action::Run => self.record_run(unit, &output),
            _ => self.record_compile(unit, &output),
        };
        if let Err(e) = recorded {
            // Disk full, permissions: the unit did not complete.
            let key = self.key(unit).to_owned();
            let _ = self.ledger.invalidate(&key);
            self.fail(unit, output.duration, e.to_string());
            return;
        }
        match action {
            _ if output.downloaded => self.counts.downloaded += 1,
            Action::Relink => self.counts.relinked += 1,
            Action::Run => self.counts.ran += 1,
            _ => self.counts.compiled += 1,
        }
        if let (false, Some(key)) = (output.downloaded, &output.cache_key) {
            self.store(unit, key.clone(), &output);
        }
        self.record_timing(unit, action, output.downloaded);
        self.state[unit].status = Status::Done;
        if let Some(script) = &output.script {
            self.script_finished(unit, script.clone(), &output.output_hash);
        }
        self.queue.finish(unit, Artifact::Link);
        self.state[unit].open = false;
        if action == Action::Relink {
            self.replay_diagnostics(unit);
        }
        self.reporter.event(&BuildEvent::JobFinished {
            unit: self.exec.infos[unit].clone(),
            action,
            duration: output.duration,
            verdict: self.verdict(unit),
            downloaded: output.downloaded,
        });
        self.report_produced(unit, false);
        self.report_remaining();
    }

    /// Hand a job just recorded to the uploader: its outputs, and what its
    /// ledger entry says it read. A job that read a file whose content is
    /// unknown (changed during the build: [`Self::record_compile`]) is not
    /// stored: the store would vouch for a hash the job never saw.
    fn store(&mut self, unit: UnitId, key: String, output: &JobOutput) {
        let Some(uploads) = &self.uploads else {
            return;
        };
        let Some(entry) = self.ledger.get(self.key(unit)) else {
            return;
        };
        if entry.inputs.iter().any(|i| i.hash.is_empty()) {
            return;
        }
        let root = &self.exec.cx.graph.workspace_root;
        let outputs = &self.exec.cx.outputs[unit];
        let (files, main) = match &outputs.run {
            // A build script's result: what it printed (text, paths stored
            // portably) and every file it left in `OUT_DIR`.
            Some(dirs) => {
                let mut files: Vec<(std::path::PathBuf, bool)> =
                    [&dirs.output, &dirs.stderr, &dirs.root_output]
                        .into_iter()
                        .map(|p| (p.clone(), true))
                        .collect();
                // An unreadable `OUT_DIR` would be stored incomplete: not at all.
                let Some(out) = crate::paths::files_below(&dirs.out) else {
                    return;
                };
                files.extend(out.into_iter().map(|p| (p, false)));
                (files, None)
            }
            None => {
                let mut files: Vec<(std::path::PathBuf, bool)> = outputs
                    .required()
                    .into_iter()
                    .map(|p| (p.to_path_buf(), false))
                    .collect();
                files.push((outputs.dep_info.clone(), true));
                (files, Some(outputs.main.clone()))
            }
        };
        let _ = uploads.send(Upload {
            key,
            unit: self.key(unit).to_owned(),
            label: self.exec.infos[unit].label(),
            files,
            output: output.output_hash.clone(),
            main,
            inputs: entry
                .inputs
                .iter()
                .map(|i| (root.join(&i.path), i.hash.clone(), i.dir))
                .collect(),
            env: entry
                .env
                .iter()
                .map(|e| (e.name.clone(), e.value.clone()))
                .collect(),
            diagnostics: entry.diagnostics.clone(),
            duration_ms: entry.duration_ms,
            metadata_ms: entry.metadata_ms,
            stamps: entry.stamps.clone(),
        });
    }

    /// A build script ran: keep what it printed for the units that use it,
    /// show its warnings, and re-plan if its result is not the recorded one.
    fn script_finished(&mut self, run: UnitId, script: BuildOutput, hash: &str) {
        let package = self.exec.cx.graph.package_of(run);
        if package.source.is_local() {
            for warning in &script.warnings {
                self.reporter.event(&BuildEvent::Warning {
                    unit: self.exec.infos[run].clone(),
                    message: format!("{}@{}: {warning}", package.name, package.version.text),
                });
            }
        }
        self.exec.scripts.insert(run, script);
        let before = self.decisions.recorded_output(run);
        if before.is_some_and(|b| b != hash) {
            let changes = self
                .decisions
                .escalate(self.exec.cx.graph, Escalation::ScriptOutputChanged { run });
            self.apply(changes);
        }
    }

    /// Take a re-plan's new actions: units still queued just change course;
    /// finished ones are reopened and queued again.
    fn apply(&mut self, changes: Vec<(UnitId, Action, Reason)>) {
        let graph = self.exec.cx.graph;
        let mut added = 0;
        let mut reopened = Vec::new();
        for (id, action, reason) in changes {
            if !self.state[id].action.is_job() {
                added += 1;
            }
            self.state[id].action = action;
            self.state[id].reason = reason;
            if self.state[id].status == Status::Done {
                self.state[id].status = Status::Queued;
                self.queue.reopen(id);
                reopened.push(id);
            }
        }
        for id in reopened {
            self.queue
                .enqueue(id, waits_for(graph, id), self.exec.plan.priorities[id]);
        }
        if added > 0 {
            self.reporter.event(&BuildEvent::JobsAdded { count: added });
        }
    }

    /// A relink failed and then rustc failed on the same binary: both read
    /// objects rustc's incremental cache keeps, so one damaged object would
    /// fail every later build. Compile once more from a clean incremental
    /// state, and say so.
    fn retry_clean(&mut self, id: UnitId, failure: JobFailure) {
        self.state[id].retried = true;
        let unit = self.exec.cx.graph.unit(id);
        self.exec
            .cx
            .layout
            .forget_incremental(unit.platform.as_deref(), &unit.crate_name);
        self.reporter.event(&BuildEvent::Warning {
            unit: self.exec.infos[id].clone(),
            message: format!(
                "rustc failed after a failed relink; compiling once more without incremental state: {}",
                failure.message
            ),
        });
        self.state[id].status = Status::Queued;
        self.sequence += 1;
        self.ready
            .push((self.exec.plan.priorities[id], Reverse(self.sequence), id));
    }

    /// A relink that fails is never an error: compile the binary with rustc,
    /// after settling the metadata debt of everything rustc will load for it.
    fn relink_failed(&mut self, id: UnitId, failure: JobFailure) {
        self.state[id].relinking = None;
        self.reporter.event(&BuildEvent::Warning {
            unit: self.exec.infos[id].clone(),
            message: format!(
                "relinking failed, compiling with rustc instead: {}",
                failure.message
            ),
        });
        let changes = self
            .decisions
            .escalate(self.exec.cx.graph, Escalation::RelinkFailed { bin: id });
        // The binary itself was announced as a job already.
        self.state[id].status = Status::Done;
        self.state[id].after_relink = true;
        self.apply(changes);
    }

    /// The entry a compile or run leaves: what it read, what it was built
    /// against, and what it produced.
    fn new_entry(&self, id: UnitId, output: &JobOutput) -> LedgerEntry {
        let cx = self.exec.cx;
        let mut entry = Ledger::new_entry(self.key(id).to_owned());
        entry.toolchain = self.exec.toolchain.to_owned();
        entry.spec = cx.specs[id].fingerprint();
        entry.deps = cx
            .graph
            .unit(id)
            .deps
            .iter()
            .map(|d| self.dep_record(d.unit))
            .collect();
        entry.links = self.current_links(id);
        entry.output = output.output_hash.clone();
        entry.duration_ms = match output.compiled_ms {
            Some((compiled, _)) => compiled,
            None => output.duration.as_millis() as u64,
        };
        entry.stamps = self.stamps(id);
        entry.diagnostics = self.state[id].shown.clone();
        entry
    }

    /// The tripwire on what the unit's job just wrote.
    fn stamps(&self, id: UnitId) -> Vec<OutputStamp> {
        self.exec.cx.outputs[id]
            .required()
            .into_iter()
            .filter_map(OutputStamp::of)
            .collect()
    }

    /// Write the unit's ledger entry from what rustc reported it read, then
    /// let dependents that absorb this change know.
    fn record_compile(&mut self, id: UnitId, output: &JobOutput) -> Result<()> {
        let cx = self.exec.cx;
        let root = &cx.graph.workspace_root;
        let base = cx.source_arg(id).1;
        let mut entry = self.new_entry(id, output);
        if let Some(dep_info) = &output.dep_info {
            entry.inputs = dep_info
                .files
                .iter()
                .filter_map(|file| {
                    let full = normalize(&base.join(file));
                    if is_immutable(&full, &cx.settings[id]) {
                        return None;
                    }
                    let rel = relative_to(&full, root);
                    // What the file held when planned, before the job, and
                    // after it. A hash is recorded only if every look
                    // agrees: a file saved during the build leaves rustc's
                    // view unknown, and recording the planned hash would
                    // let a later revert to it pass for the content rustc
                    // compiled. A file seen only after the job, and modified
                    // since it started, is unknown too.
                    // The plan's hash stands in for the job's start only
                    // where none was taken there, and never for a file in
                    // the target directory (a build script of this build
                    // may have rewritten it since the plan).
                    let planned = match output.pre_hashes.get(&rel) {
                        Some(_) => None,
                        None if full.starts_with(&cx.layout.target_dir) => None,
                        None => self.exec.plan.known_hashes.get(&rel),
                    };
                    let before = [planned, output.pre_hashes.get(&rel)];
                    let only_after =
                        before.iter().all(Option::is_none) && output.unsettled.contains(file);
                    let looks: Vec<&String> = before
                        .into_iter()
                        .chain([output.file_hashes.get(file)])
                        .flatten()
                        .collect();
                    let agree = !only_after && looks.windows(2).all(|w| w[0] == w[1]);
                    let hash = match (agree, looks.first()) {
                        (true, Some(hash)) => (*hash).clone(),
                        // Unknown: rebuilt next time, and never stored.
                        _ => String::new(),
                    };
                    Some(FileRecord {
                        path: rel,
                        hash,
                        dir: false,
                    })
                })
                .collect();
            entry.env = dep_info
                .env
                .iter()
                .map(|(name, value)| EnvRecord {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect();
        }
        entry.metadata_ms = match output.compiled_ms {
            Some((_, metadata)) => metadata,
            None => self.state[id].metadata_ms,
        };
        // What kind of compile this was, for the duration model: from
        // nothing here, or from an earlier build of the unit (its outputs
        // and incremental state in place). A download measured neither.
        let history = self.state[id].history;
        entry.clean = history.clean;
        entry.recompile = history.recompile;
        if !output.downloaded {
            let measured = Some(Measured {
                total_ms: entry.duration_ms,
                metadata_ms: entry.metadata_ms,
            });
            match history.warm {
                true => entry.recompile = measured,
                false => entry.clean = measured,
            }
        }
        entry.link = output.link.clone();
        self.state[id].output = Some(output.output_hash.clone());
        self.ledger.record(entry)?;
        self.absorb(id)
    }

    /// A build-script run's entry: its `rerun-if` inputs and variables.
    fn record_run(&mut self, id: UnitId, output: &JobOutput) -> Result<()> {
        let mut entry = self.new_entry(id, output);
        entry.inputs = output.script_inputs.clone();
        if let Some(script) = &output.script {
            entry.env = script
                .rerun_if_env_changed
                .iter()
                .map(|name| EnvRecord {
                    name: name.clone(),
                    value: self.exec.cx.env.get(name).cloned(),
                })
                .collect();
        }
        self.state[id].output = Some(output.output_hash.clone());
        self.ledger.record(entry)
    }

    /// Libraries not recompiled in this build take a dependency's new output
    /// as consistent for linking (the plan only lets them when the change is
    /// codegen-only); their metadata debt stays visible in `deps`.
    fn absorb(&mut self, dep: UnitId) -> Result<()> {
        for (id, plan) in self.exec.plan.units.iter() {
            if !plan.absorbs.contains(&dep) || self.state[id].action.is_job() {
                continue;
            }
            // Every other transitive dependency is as recorded or itself a
            // codegen-only change of this build, so the current outputs are
            // what this artifact is consistent with.
            if let Some(mut entry) = self.ledger.get(self.key(id)).cloned() {
                entry.links = self.current_links(id);
                self.ledger.record(entry)?;
            }
        }
        Ok(())
    }

    /// The `links` hash of `id`'s link closure's current outputs.
    fn current_links(&self, id: UnitId) -> String {
        let records: Vec<DepRecord> = self
            .exec
            .cx
            .graph
            .link_closure(id)
            .into_iter()
            .map(|d| self.dep_record(d))
            .collect();
        links_hash(records.iter().map(|r| (r.unit.as_str(), r.output.as_str())))
    }

    fn record_relink(&mut self, id: UnitId, output: &JobOutput) -> Result<()> {
        let Some(mut entry) = self.state[id].relinking.take() else {
            return Ok(());
        };
        entry.links = self.current_links(id);
        entry.output = output.output_hash.clone();
        entry.relink_ms = Some(output.duration.as_millis() as u64);
        entry.stamps = self.stamps(id);
        self.state[id].output = Some(output.output_hash.clone());
        self.ledger.record(entry)
    }

    fn dep_record(&self, dep: UnitId) -> DepRecord {
        DepRecord {
            unit: self.key(dep).to_owned(),
            output: self.state[dep].output.clone().unwrap_or_default(),
        }
    }

    fn record_timing(&mut self, unit: UnitId, action: Action, downloaded: bool) {
        let start = self.state[unit].started_at;
        let end = self.epoch.elapsed().as_millis() as u64;
        let metadata = match action {
            Action::Compile => self.state[unit].metadata_ms.map(|m| start + m),
            _ => None,
        };
        self.timings.push(JobTiming {
            unit,
            action,
            downloaded,
            start_ms: start,
            metadata_ms: metadata,
            end_ms: end.max(start),
        });
    }

    fn finish(mut self) -> Result<(BuildSummary, &'l mut dyn Reporter)> {
        let graph = self.exec.cx.graph;
        // Started, then stopped before its job could run again (a relink
        // that failed, whose rustc fallback never started because another
        // unit failed): it ends here, with nothing recorded.
        for &id in graph.topological() {
            if self.state[id].open {
                self.state[id].open = false;
                self.reporter.event(&BuildEvent::JobFailed {
                    unit: self.exec.infos[id].clone(),
                    duration: Duration::ZERO,
                    message: "not rebuilt: the build stopped after another failure".to_owned(),
                });
            }
        }
        let mut fresh = 0;
        for &id in graph.topological() {
            let state = &self.state[id];
            if !state.action.is_job() && state.status == Status::Done {
                fresh += 1;
                self.replay_diagnostics(id);
                self.report_produced(id, true);
                let verdict = self.verdict(id);
                self.reporter.event(&BuildEvent::Fresh {
                    unit: self.exec.infos[id].clone(),
                    verdict,
                });
            }
        }
        let wall = self.epoch.elapsed().as_millis() as u64;
        let schedule = measure_schedule(graph, &self.timings, wall, self.exec.jobs);
        let summary = BuildSummary {
            success: self.failed.is_empty() && crate::interrupt::received().is_none(),
            compiled: self.counts.compiled,
            downloaded: self.counts.downloaded,
            relinked: self.counts.relinked,
            ran: self.counts.ran,
            fresh,
            failed: self.failed,
            duration: self.exec.started.elapsed(),
            profile: self.exec.profile.clone(),
            predicted: None,
            timings: self.timings,
            schedule,
            cache: None,
        };
        Ok((summary, self.reporter))
    }
}
