//! Stage 5: run the plan — rustc jobs on a rayon pool, pipelined as cargo does.
//!
//! Workers run one job each and send [`JobEvent`]s over a crossbeam channel.
//! The coordinator (the calling thread) is the only one that schedules,
//! writes the ledger, and talks to the reporter.
//! Never: prints from a worker, or records a unit whose job did not succeed.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::error::{Error, Result};
use crate::events::{BuildEvent, BuildSummary, Stage, UnitInfo};
use crate::graph::{CrateGraph, UnitId};
use crate::ledger::{DepRecord, EnvRecord, FileRecord, Ledger, hash_file};
use crate::manifest::TargetKind;
use crate::paths::{normalize, relative_to};
use crate::plan::BuildPlan;
use crate::profile::Profile;
use crate::queue::{Artifact, DependencyQueue};
use crate::report::Reporter;
use crate::rustc::{CompileSpec, DepInfo, Invocation, Message, Outputs};

/// One rustc run.
#[derive(Debug, Clone)]
pub struct Job {
    pub unit: UnitId,
    pub invocation: Invocation,
    pub outputs: Outputs,
}

/// What a worker reports about its job.
#[derive(Debug)]
pub enum JobEvent {
    /// The `.rmeta` is written; `hash` is its content hash.
    Metadata {
        unit: UnitId,
        at: Duration,
        hash: String,
    },
    Message {
        unit: UnitId,
        level: String,
        rendered: String,
    },
    Done {
        unit: UnitId,
        result: std::result::Result<JobOutput, JobFailure>,
    },
}

#[derive(Debug)]
pub struct JobOutput {
    pub duration: Duration,
    /// Hash of the `.rmeta` for libraries, else of the final artifact.
    pub output_hash: String,
    pub dep_info: DepInfo,
    /// Content hashes of the dep-info files, taken after the run.
    pub file_hashes: HashMap<PathBuf, String>,
}

#[derive(Debug)]
pub struct JobFailure {
    pub duration: Duration,
    pub message: String,
}

/// Runs a job; a fake one drives scheduler tests.
pub trait Runner: Sync {
    fn run(&self, job: &Job, events: &Sender<JobEvent>);
}

/// Runs the real rustc.
pub struct RustcRunner;

impl Runner for RustcRunner {
    fn run(&self, job: &Job, events: &Sender<JobEvent>) {
        let start = Instant::now();
        let result = run_rustc(job, events, start);
        let result = result.map_err(|message| JobFailure {
            duration: start.elapsed(),
            message,
        });
        let _ = events.send(JobEvent::Done {
            unit: job.unit,
            result,
        });
    }
}

fn run_rustc(
    job: &Job,
    events: &Sender<JobEvent>,
    start: Instant,
) -> std::result::Result<JobOutput, String> {
    let mut child = job
        .invocation
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "could not start `{}`: {e}",
                job.invocation.program.display()
            )
        })?;
    let unit = job.unit;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let event = match Message::parse(&line) {
                Message::Artifact { path, emit } if emit == "metadata" => JobEvent::Metadata {
                    unit,
                    at: start.elapsed(),
                    hash: hash_file(&path).unwrap_or_default(),
                },
                Message::Diagnostic { level, rendered } => JobEvent::Message {
                    unit,
                    level,
                    rendered,
                },
                Message::Text(text) => JobEvent::Message {
                    unit,
                    level: String::new(),
                    rendered: text + "\n",
                },
                _ => continue,
            };
            let _ = events.send(event);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("could not wait for rustc: {e}"))?;
    if !status.success() {
        return Err(match status.code() {
            Some(code) => format!("rustc exited with status {code}"),
            None => "rustc was killed by a signal".to_owned(),
        });
    }
    let dep_info = DepInfo::read(&job.outputs.dep_info).map_err(|e| e.to_string())?;
    // A library is identified by its `.rmeta` (what dependents compile
    // against); anything else by its final artifact.
    let identity = job.outputs.rmeta.as_ref().unwrap_or(&job.outputs.main);
    let output_hash =
        hash_file(identity).map_err(|e| format!("could not read `{}`: {e}", identity.display()))?;
    if let Some(uplift) = &job.outputs.uplift {
        uplift_binary(&job.outputs.main, uplift).map_err(|e| e.to_string())?;
    }
    let cwd = &job.invocation.cwd;
    let file_hashes = dep_info
        .files
        .iter()
        .filter_map(|f| Some((f.clone(), hash_file(&cwd.join(f)).ok()?)))
        .collect();
    Ok(JobOutput {
        duration: start.elapsed(),
        output_hash,
        dep_info,
        file_hashes,
    })
}

/// Put a binary where the user expects it (`<target>/debug/<name>`),
/// replacing the old one atomically: hard link (or copy) to a temp name, rename.
pub fn uplift_binary(from: &Path, to: &Path) -> Result<()> {
    let tmp = to.with_file_name(format!(
        ".{}.uplift-{}",
        to.file_name().and_then(|n| n.to_str()).unwrap_or("bin"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let result = std::fs::hard_link(from, &tmp)
        .or_else(|_| std::fs::copy(from, &tmp).map(drop))
        .and_then(|()| std::fs::rename(&tmp, to));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("write binary", to, e)
    })
}

/// Everything the coordinator needs, prepared by the driver.
pub struct Execution<'a> {
    pub root: &'a Path,
    pub graph: &'a CrateGraph,
    pub specs: &'a [CompileSpec],
    pub outputs: &'a [Outputs],
    pub infos: &'a [UnitInfo],
    pub plan: &'a BuildPlan,
    pub invocations: Vec<Option<Invocation>>,
    pub toolchain: &'a str,
    pub jobs: usize,
    pub profile: Profile,
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
    /// Output hashes of units finished (or metadata-ready) in this build.
    outputs: HashMap<UnitId, String>,
    started_at: HashMap<UnitId, Instant>,
    metadata_ms: HashMap<UnitId, u64>,
    running: usize,
    compiled: usize,
    failed: Vec<String>,
    error: Option<Error>,
}

impl<'a, 'l> Coordinator<'a, 'l> {
    fn new(exec: Execution<'a>, ledger: &'l mut Ledger, reporter: &'l mut dyn Reporter) -> Self {
        Coordinator {
            exec,
            ledger,
            reporter,
            queue: DependencyQueue::default(),
            outputs: HashMap::new(),
            started_at: HashMap::new(),
            metadata_ms: HashMap::new(),
            running: 0,
            compiled: 0,
            failed: Vec::new(),
            error: None,
        }
    }

    /// Report fresh units, restore their uplifted binaries, queue the rest.
    fn announce(&mut self) -> Result<()> {
        let graph = self.exec.graph;
        let to_compile: Vec<UnitId> = self.exec.plan.to_compile().collect();
        let estimates: Vec<Option<u64>> = to_compile.iter().map(|&u| self.estimate_ms(u)).collect();
        let estimate = estimates
            .iter()
            .copied()
            .sum::<Option<u64>>()
            .map(Duration::from_millis);
        self.reporter.event(&BuildEvent::BuildStarted {
            units: graph.len(),
            to_compile: to_compile.len(),
            jobs: self.exec.jobs,
            profile: self.exec.profile,
            estimate,
        });
        for &id in graph.topological() {
            if !self.exec.plan.is_fresh(id) {
                continue;
            }
            let outputs = &self.exec.outputs[id.0];
            if let Some(uplift) = &outputs.uplift
                && !uplift.is_file()
            {
                uplift_binary(&outputs.main, uplift)?;
            }
            self.queue.finish(id, Artifact::Link);
            self.reporter.event(&BuildEvent::Fresh {
                unit: self.exec.infos[id.0].clone(),
            });
        }
        for &id in &to_compile {
            let priority = graph.transitive_dependents(id).len() as u64;
            let deps = waits_for(graph, id);
            self.queue.enqueue(id, deps, priority);
        }
        Ok(())
    }

    fn estimate_ms(&self, id: UnitId) -> Option<u64> {
        self.ledger
            .get(&self.exec.specs[id.0].unit_key())
            .map(|e| e.duration_ms)
    }

    fn run<'s>(
        &mut self,
        scope: &rayon::Scope<'s>,
        runner: &'s dyn Runner,
        tx: &Sender<JobEvent>,
        rx: &Receiver<JobEvent>,
    ) {
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
        let key = self.exec.specs[id.0].unit_key();
        // Forget the unit first: a build killed while rustc runs must not
        // leave an entry that vouches for half-written artifacts.
        self.ledger.invalidate(&key)?;
        let invocation = self.exec.invocations[id.0]
            .take()
            .ok_or_else(|| Error::State {
                path: PathBuf::from(&key),
                message: "unit scheduled twice".to_owned(),
            })?;
        let unit = self.exec.infos[id.0].clone();
        let stage = match unit.kind {
            TargetKind::Bin => Stage::CompileAndLink,
            _ => Stage::FrontEnd,
        };
        self.reporter.event(&BuildEvent::JobStarted {
            unit,
            stage,
            command: invocation.display(),
            estimate: self.estimate_ms(id).map(Duration::from_millis),
        });
        self.started_at.insert(id, Instant::now());
        Ok(Job {
            unit: id,
            invocation,
            outputs: self.exec.outputs[id.0].clone(),
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
                let info = self.exec.infos[unit.0].clone();
                match result {
                    Ok(output) => {
                        if let Err(e) = self.record(unit, &output) {
                            self.error = Some(e);
                            return;
                        }
                        self.compiled += 1;
                        self.queue.finish(unit, Artifact::Link);
                        self.reporter.event(&BuildEvent::JobFinished {
                            unit: info,
                            duration: output.duration,
                        });
                    }
                    Err(failure) => {
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

    /// Write the unit's ledger entry from what rustc reported it read.
    fn record(&mut self, id: UnitId, output: &JobOutput) -> Result<()> {
        let spec = &self.exec.specs[id.0];
        let root = self.exec.root;
        // Prefer hashes taken before rustc ran: if a file changed during the
        // build, the next build sees the change instead of trusting it.
        let inputs = output
            .dep_info
            .files
            .iter()
            .map(|file| {
                let rel = relative_to(&normalize(&root.join(file)), root);
                let hash = self
                    .exec
                    .plan
                    .known_hashes
                    .get(&rel)
                    .or_else(|| output.file_hashes.get(file))
                    .cloned()
                    .unwrap_or_default();
                FileRecord { path: rel, hash }
            })
            .collect();
        let deps = self
            .exec
            .graph
            .unit(id)
            .deps
            .iter()
            .map(|d| DepRecord {
                unit: self.exec.specs[d.unit.0].unit_key(),
                output: self.output_of(d.unit),
            })
            .collect();
        let own_output = output.output_hash.clone();
        self.outputs.insert(id, own_output.clone());
        let mut entry = Ledger::new_entry(spec.unit_key());
        entry.toolchain = self.exec.toolchain.to_owned();
        entry.spec = spec.fingerprint();
        entry.inputs = inputs;
        entry.env = output
            .dep_info
            .env
            .iter()
            .map(|(name, value)| EnvRecord {
                name: name.clone(),
                value: value.clone(),
            })
            .collect();
        entry.deps = deps;
        entry.output = own_output;
        entry.duration_ms = output.duration.as_millis() as u64;
        entry.metadata_ms = self.metadata_ms.get(&id).copied();
        self.ledger.record(entry)
    }

    fn output_of(&self, id: UnitId) -> String {
        self.outputs.get(&id).cloned().unwrap_or_else(|| {
            self.ledger
                .get(&self.exec.specs[id.0].unit_key())
                .map(|e| e.output.clone())
                .unwrap_or_default()
        })
    }

    fn finish(self) -> Result<BuildSummary> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let fresh = self.exec.graph.len() - self.exec.plan.to_compile().count();
        Ok(BuildSummary {
            success: self.failed.is_empty(),
            compiled: self.compiled,
            fresh,
            failed: self.failed,
            duration: self.exec.started.elapsed(),
            profile: self.exec.profile,
        })
    }
}

/// What a unit's rustc run needs before it can start: a library compiles
/// against its library dependencies' `.rmeta`; anything that links (binaries,
/// proc-macros) needs every transitive dependency's final artifact.
pub fn waits_for(graph: &CrateGraph, id: UnitId) -> Vec<(UnitId, Artifact)> {
    let unit = graph.unit(id);
    match unit.kind {
        TargetKind::Lib => unit
            .deps
            .iter()
            .map(|d| match graph.unit(d.unit).kind {
                TargetKind::Lib => (d.unit, Artifact::Metadata),
                _ => (d.unit, Artifact::Link),
            })
            .collect(),
        TargetKind::Bin | TargetKind::ProcMacro => graph
            .transitive_deps(id)
            .into_iter()
            .map(|d| (d, Artifact::Link))
            .collect(),
    }
}

/// Per-unit compiler environment, indexed by unit.
pub type CompilerEnv = Vec<BTreeMap<String, String>>;
