//! The coordinator: the one thread that schedules jobs, writes the ledger
//! (cosmetic updates, compiles, relinks, absorbed codegen-only changes),
//! handles relink fallbacks, and talks to the reporter.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::worker::{Job, JobEvent, JobFailure, JobKind, JobOutput, Runner, uplift_binary};
use crate::error::{Error, Result};
use crate::events::{BuildEvent, BuildSummary, JobTiming, Stage, UnitInfo, Verdict};
use crate::graph::{CrateGraph, UnitId};
use crate::ledger::{DepRecord, EnvRecord, FileRecord, Ledger, LedgerEntry, links_hash};
use crate::manifest::TargetKind;
use crate::paths::{normalize, relative_to};
use crate::plan::{Action, BuildPlan, Reason};
use crate::profile::Profile;
use crate::queue::{Artifact, DependencyQueue};
use crate::report::Reporter;
use crate::rustc::{CompileSpec, Invocation, Outputs};
use crate::schedule::{measure_schedule, waits_for};

/// Everything the coordinator needs, prepared by the driver.
pub struct Execution<'a> {
    pub root: &'a Path,
    pub target_dir: &'a Path,
    pub graph: &'a CrateGraph,
    pub specs: &'a [CompileSpec],
    pub outputs: &'a [Outputs],
    pub infos: &'a [UnitInfo],
    pub plan: &'a BuildPlan,
    /// Every unit's rustc command (a relink may fall back to any of them).
    pub invocations: &'a [Invocation],
    /// Every unit's package directory.
    pub package_dirs: &'a [PathBuf],
    pub toolchain: &'a str,
    pub jobs: usize,
    pub profile: Profile,
    /// Record link steps of binaries, to relink them later.
    pub record_links: bool,
    pub started: Instant,
}

pub fn execute(
    exec: Execution<'_>,
    ledger: &mut Ledger,
    runner: &dyn Runner,
    reporter: &mut dyn Reporter,
) -> Result<BuildSummary> {
    let mut coordinator = Coordinator::new(exec, ledger, reporter);
    coordinator.announce()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(coordinator.exec.jobs)
        .thread_name(|i| format!("orchestrator-job-{i}"))
        .build()
        .map_err(|e| Error::State {
            path: PathBuf::from("<thread pool>"),
            message: e.to_string(),
        })?;
    let (tx, rx) = crossbeam_channel::unbounded();
    pool.in_place_scope(|scope| coordinator.run(scope, runner, &tx, &rx));
    coordinator.finish()
}

struct Coordinator<'a, 'l> {
    exec: Execution<'a>,
    ledger: &'l mut Ledger,
    reporter: &'l mut dyn Reporter,
    queue: DependencyQueue<UnitId>,
    /// Current output hash of every unit (recorded, or produced in this build).
    outputs: HashMap<UnitId, String>,
    /// What each queued unit runs (a failed relink turns into a compile).
    actions: HashMap<UnitId, Action>,
    reasons: HashMap<UnitId, Reason>,
    /// Units compiled (or being compiled) by rustc in this build.
    compiled: HashSet<UnitId>,
    /// Ledger entries of binaries being relinked, to update afterwards.
    relinking: HashMap<UnitId, LedgerEntry>,
    metadata_ms: HashMap<UnitId, u64>,
    /// When the first job could start; job timings are relative to it.
    epoch: Instant,
    started_at: HashMap<UnitId, u64>,
    timings: Vec<JobTiming>,
    running: usize,
    counts: (usize, usize),
    failed: Vec<String>,
    error: Option<Error>,
}

impl<'a, 'l> Coordinator<'a, 'l> {
    fn new(exec: Execution<'a>, ledger: &'l mut Ledger, reporter: &'l mut dyn Reporter) -> Self {
        let outputs = (0..exec.graph.len())
            .filter_map(|i| {
                let entry = ledger.get(&exec.specs[i].unit_key())?;
                Some((UnitId(i), entry.output.clone()))
            })
            .collect();
        Coordinator {
            exec,
            ledger,
            reporter,
            queue: DependencyQueue::default(),
            outputs,
            actions: HashMap::new(),
            reasons: HashMap::new(),
            compiled: HashSet::new(),
            relinking: HashMap::new(),
            metadata_ms: HashMap::new(),
            epoch: Instant::now(),
            started_at: HashMap::new(),
            timings: Vec::new(),
            running: 0,
            counts: (0, 0),
            failed: Vec::new(),
            error: None,
        }
    }

    fn key(&self, id: UnitId) -> String {
        self.exec.specs[id.0].unit_key()
    }

    fn verdict(&self, id: UnitId) -> Verdict {
        let reason = self
            .reasons
            .get(&id)
            .unwrap_or(&self.exec.plan.unit(id).reason);
        Verdict {
            change: reason.change(),
            explain: match reason {
                Reason::Unchanged => "fresh".to_owned(),
                other => other.to_string(),
            },
        }
    }

    /// Report fresh units, record cosmetic changes, queue the jobs.
    fn announce(&mut self) -> Result<()> {
        let graph = self.exec.graph;
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
            profile: self.exec.profile,
            estimate,
        });
        for &id in graph.topological() {
            match plan.action(id) {
                Action::Compile | Action::Relink => continue,
                Action::Cosmetic => self.record_cosmetic(id)?,
                Action::Fresh => {}
            }
            // The user-facing copy may come from another configuration of
            // this unit (a feature toggled and back, a version bumped and
            // restored): always point it at this unit's artifact, as cargo does.
            let outputs = &self.exec.outputs[id.0];
            if let Some(uplift) = &outputs.uplift {
                uplift_binary(&outputs.main, uplift)?;
            }
            // Reported at the end: a relink fallback may still compile it.
            self.queue.finish(id, Artifact::Link);
        }
        for &id in &jobs {
            self.actions.insert(id, plan.action(id));
            if plan.action(id) == Action::Compile {
                self.compiled.insert(id);
            }
            self.queue
                .enqueue(id, waits_for(graph, id), self.exec.plan.priorities[id.0]);
        }
        Ok(())
    }

    /// A cosmetic change produces the same artifacts (rustc-facts §4): the
    /// ledger takes the new hashes and nothing runs.
    fn record_cosmetic(&mut self, id: UnitId) -> Result<()> {
        let Some(mut entry) = self.ledger.get(&self.key(id)).cloned() else {
            return Ok(());
        };
        for input in &mut entry.inputs {
            if let Some(hash) = self.exec.plan.known_hashes.get(&input.path) {
                input.hash = hash.clone();
            }
        }
        self.ledger.record(entry)
    }

    fn estimate_ms(&self, id: UnitId) -> Option<u64> {
        let entry = self.ledger.get(&self.key(id))?;
        Some(match self.exec.plan.action(id) {
            Action::Relink => entry.relink_ms.unwrap_or(entry.duration_ms / 10),
            _ => entry.duration_ms,
        })
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
            while self.running < self.exec.jobs && self.failed.is_empty() && self.error.is_none() {
                let Some(id) = self.queue.pop() else { break };
                match self.start(id) {
                    Ok(job) => {
                        self.running += 1;
                        let tx = tx.clone();
                        scope.spawn(move |_| runner.run(&job, &tx));
                    }
                    Err(e) => self.error = Some(e),
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

    fn start(&mut self, id: UnitId) -> Result<Job> {
        let key = self.key(id);
        let action = self.actions.get(&id).copied().unwrap_or(Action::Compile);
        let old = self.ledger.get(&key).cloned();
        // Forget the unit first: a build killed while its job runs must not
        // leave an entry that vouches for half-written artifacts.
        self.ledger.invalidate(&key)?;
        let unit = self.exec.infos[id.0].clone();
        let (kind, stage, command) =
            match (action, old.and_then(|e| e.link.clone().map(|l| (e, l)))) {
                (Action::Relink, Some((entry, recipe))) => {
                    self.relinking.insert(id, entry);
                    let command = format!("{} {}", recipe.program, recipe.args.join(" "));
                    (JobKind::Relink { recipe }, Stage::Relink, command)
                }
                _ => {
                    self.actions.insert(id, Action::Compile);
                    self.compiled.insert(id);
                    let invocation = self.exec.invocations[id.0].clone();
                    let stage = match unit.kind {
                        TargetKind::Bin => Stage::CompileAndLink,
                        _ => Stage::FrontEnd,
                    };
                    let command = invocation.display();
                    let record_link = self.exec.record_links && unit.kind == TargetKind::Bin;
                    (
                        JobKind::Compile {
                            invocation,
                            record_link,
                        },
                        stage,
                        command,
                    )
                }
            };
        let action = self.actions[&id];
        self.reporter.event(&BuildEvent::JobStarted {
            unit,
            action,
            stage,
            command,
            estimate: self.estimate_ms(id).map(Duration::from_millis),
        });
        self.started_at
            .insert(id, self.epoch.elapsed().as_millis() as u64);
        Ok(Job {
            unit: id,
            kind,
            outputs: self.exec.outputs[id.0].clone(),
            target_dir: self.exec.target_dir.to_path_buf(),
            package_dir: self.exec.package_dirs[id.0].clone(),
        })
    }

    fn handle(&mut self, event: JobEvent) {
        match event {
            JobEvent::Metadata { unit, at, hash } => {
                self.outputs.insert(unit, hash);
                self.metadata_ms.insert(unit, at.as_millis() as u64);
                self.queue.finish(unit, Artifact::Metadata);
                self.reporter.event(&BuildEvent::StageChanged {
                    unit: self.exec.infos[unit.0].clone(),
                    stage: Stage::Codegen,
                    elapsed: at,
                });
            }
            JobEvent::Message {
                unit,
                level,
                rendered,
            } => {
                self.reporter.event(&BuildEvent::Diagnostic {
                    unit: self.exec.infos[unit.0].clone(),
                    level,
                    rendered,
                });
            }
            JobEvent::Done { unit, result } => {
                self.running -= 1;
                let action = self.actions.get(&unit).copied().unwrap_or(Action::Compile);
                match (result, action) {
                    (Ok(output), action) => {
                        let recorded = match action {
                            Action::Relink => self.record_relink(unit, &output),
                            _ => self.record_compile(unit, &output),
                        };
                        if let Err(e) = recorded {
                            self.error = Some(e);
                            return;
                        }
                        match action {
                            Action::Relink => self.counts.1 += 1,
                            _ => self.counts.0 += 1,
                        }
                        self.record_timing(unit, action);
                        self.queue.finish(unit, Artifact::Link);
                        self.reporter.event(&BuildEvent::JobFinished {
                            unit: self.exec.infos[unit.0].clone(),
                            action,
                            duration: output.duration,
                            verdict: self.verdict(unit),
                        });
                    }
                    (Err(failure), Action::Relink) => self.relink_failed(unit, failure),
                    (Err(failure), _) => {
                        let info = self.exec.infos[unit.0].clone();
                        self.failed.push(info.label());
                        self.reporter.event(&BuildEvent::JobFailed {
                            unit: info,
                            duration: failure.duration,
                            message: failure.message,
                        });
                    }
                }
            }
        }
    }

    /// Write the unit's ledger entry from what rustc reported it read, then
    /// let dependents that absorb this change know.
    fn record_compile(&mut self, id: UnitId, output: &JobOutput) -> Result<()> {
        let spec = &self.exec.specs[id.0];
        let root = self.exec.root;
        let graph = self.exec.graph;
        let mut entry = Ledger::new_entry(spec.unit_key());
        if let Some(dep_info) = &output.dep_info {
            // Prefer hashes taken before rustc ran: if a file changed during
            // the build, the next build sees the change instead of trusting it.
            entry.inputs = dep_info
                .files
                .iter()
                .map(|file| {
                    let rel = relative_to(&normalize(&root.join(file)), root);
                    let hash = self
                        .exec
                        .plan
                        .known_hashes
                        .get(&rel)
                        // Else the hash from before rustc ran, else a settled
                        // post-run hash; none: unknown, rebuilt next time.
                        .or_else(|| output.pre_hashes.get(&rel))
                        .or_else(|| output.file_hashes.get(file))
                        .cloned()
                        .unwrap_or_default();
                    FileRecord { path: rel, hash }
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
        entry.toolchain = self.exec.toolchain.to_owned();
        entry.spec = spec.fingerprint();
        entry.deps = graph
            .unit(id)
            .deps
            .iter()
            .map(|d| self.dep_record(d.unit))
            .collect();
        entry.links = self.current_links(id);
        entry.output = output.output_hash.clone();
        entry.duration_ms = output.duration.as_millis() as u64;
        entry.metadata_ms = self.metadata_ms.get(&id).copied();
        entry.link = output.link.clone();
        self.outputs.insert(id, output.output_hash.clone());
        self.ledger.record(entry)?;
        self.absorb(id)
    }

    /// Libraries not recompiled in this build take a dependency's new output
    /// as consistent for linking (the plan only lets them when the change is
    /// codegen-only); their metadata debt stays visible in `deps`.
    fn absorb(&mut self, dep: UnitId) -> Result<()> {
        for (i, plan) in self.exec.plan.units.iter().enumerate() {
            let id = UnitId(i);
            if !plan.absorbs.contains(&dep) || self.actions.contains_key(&id) {
                continue;
            }
            // Every other transitive dependency is as recorded or itself a
            // codegen-only change of this build, so the current outputs are
            // what this artifact is consistent with.
            if let Some(mut entry) = self.ledger.get(&self.key(id)).cloned() {
                entry.links = self.current_links(id);
                self.ledger.record(entry)?;
            }
        }
        Ok(())
    }

    /// The `links` hash of `id`'s transitive dependencies' current outputs.
    fn current_links(&self, id: UnitId) -> String {
        let records: Vec<DepRecord> = self
            .exec
            .graph
            .transitive_deps(id)
            .into_iter()
            .map(|d| self.dep_record(d))
            .collect();
        links_hash(records.iter().map(|r| (r.unit.as_str(), r.output.as_str())))
    }

    fn record_relink(&mut self, id: UnitId, output: &JobOutput) -> Result<()> {
        let Some(mut entry) = self.relinking.remove(&id) else {
            return Ok(());
        };
        entry.links = self.current_links(id);
        entry.output = output.output_hash.clone();
        entry.relink_ms = Some(output.duration.as_millis() as u64);
        self.outputs.insert(id, output.output_hash.clone());
        self.ledger.record(entry)
    }

    /// A relink that fails is never an error: compile the binary with rustc,
    /// after settling the metadata debt of everything rustc will load for it.
    fn relink_failed(&mut self, id: UnitId, failure: JobFailure) {
        self.relinking.remove(&id);
        self.reporter.event(&BuildEvent::Warning {
            unit: self.exec.infos[id.0].clone(),
            message: format!(
                "relinking failed, compiling with rustc instead: {}",
                failure.message
            ),
        });
        let graph = self.exec.graph;
        let mut debtors = Vec::new();
        for &t in graph.topological() {
            if !graph.transitive_deps(id).contains(&t)
                || graph.unit(t).kind != TargetKind::Lib
                || self.compiled.contains(&t)
            {
                continue;
            }
            let entry = self.ledger.get(&self.key(t));
            let stale = graph.unit(t).deps.iter().find(|d| {
                self.compiled.contains(&d.unit)
                    || entry.and_then(|e| e.dep_output(&self.key(d.unit)))
                        != self.outputs.get(&d.unit).map(String::as_str)
            });
            if let Some(dep) = stale {
                self.compiled.insert(t);
                self.reasons.insert(
                    t,
                    Reason::MetadataDebt {
                        dep: graph.unit(dep.unit).crate_name.clone(),
                        needed_by: graph.unit(id).crate_name.clone(),
                    },
                );
                debtors.push(t);
            }
        }
        // The binary was announced already (as a relink); its debtors were not.
        self.reporter.event(&BuildEvent::JobsAdded {
            count: debtors.len(),
        });
        for t in debtors {
            // Counted as fresh at the start: make later nodes wait for it again.
            self.queue.reopen(t);
            self.actions.insert(t, Action::Compile);
            self.queue
                .enqueue(t, waits_for(graph, t), self.exec.plan.priorities[t.0]);
        }
        self.actions.insert(id, Action::Compile);
        self.compiled.insert(id);
        let dep = self.exec.plan.unit(id).reason.clone();
        let dep = match dep {
            Reason::Relink { dep, .. } => dep,
            _ => "a dependency".to_owned(),
        };
        self.reasons.insert(id, Reason::DependencyRebuilt { dep });
        self.queue
            .enqueue(id, waits_for(graph, id), self.exec.plan.priorities[id.0]);
    }

    fn dep_record(&self, dep: UnitId) -> DepRecord {
        DepRecord {
            unit: self.key(dep),
            output: self.outputs.get(&dep).cloned().unwrap_or_default(),
        }
    }

    fn record_timing(&mut self, unit: UnitId, action: Action) {
        let start = self.started_at.get(&unit).copied().unwrap_or(0);
        let end = self.epoch.elapsed().as_millis() as u64;
        let metadata = match action {
            Action::Relink => None,
            _ => self.metadata_ms.get(&unit).map(|m| start + m),
        };
        self.timings.push(JobTiming {
            unit,
            action,
            start_ms: start,
            metadata_ms: metadata,
            end_ms: end.max(start),
        });
    }

    fn finish(self) -> Result<BuildSummary> {
        if let Some(e) = self.error {
            return Err(e);
        }
        for &id in self.exec.graph.topological() {
            if !self.actions.contains_key(&id) {
                let verdict = self.verdict(id);
                self.reporter.event(&BuildEvent::Fresh {
                    unit: self.exec.infos[id.0].clone(),
                    verdict,
                });
            }
        }
        let wall = self.epoch.elapsed().as_millis() as u64;
        let schedule = measure_schedule(self.exec.graph, &self.timings, wall, self.exec.jobs);
        let (compiled, relinked) = self.counts;
        let jobs = self.actions.len();
        Ok(BuildSummary {
            success: self.failed.is_empty(),
            compiled,
            relinked,
            fresh: self.exec.graph.len().saturating_sub(jobs),
            failed: self.failed,
            duration: self.exec.started.elapsed(),
            profile: self.exec.profile,
            predicted: None,
            timings: self.timings,
            schedule,
        })
    }
}
