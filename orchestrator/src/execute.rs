//! Stage 6: run the plan — rustc and relink jobs on a rayon pool, pipelined
//! as cargo does.
//!
//! Workers run one job each and send [`JobEvent`]s over a crossbeam channel.
//! The coordinator (the calling thread) is the only one that schedules,
//! writes the ledger, and talks to the reporter.
//! Never: prints from a worker, or records a unit whose job did not succeed.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::classify::SyntaxCache;
use crate::error::{Error, Result};
use crate::events::{BuildEvent, BuildSummary, JobTiming, ScheduleStats, Stage, UnitInfo, Verdict};
use crate::graph::{CrateGraph, UnitId};
use crate::ledger::{
    DepRecord, EnvRecord, FileRecord, Ledger, LedgerEntry, LinkRecipe, hash_file, links_hash,
};
use crate::link;
use crate::manifest::TargetKind;
use crate::paths::{normalize, relative_to};
use crate::plan::{Action, BuildPlan, Reason};
use crate::profile::Profile;
use crate::queue::{Artifact, DependencyQueue};
use crate::report::Reporter;
use crate::rustc::{CompileSpec, DepInfo, Invocation, Message, Outputs};
use crate::schedule::{JobTime, longest_paths, waits_for};

/// One job: a rustc run, or a relink.
#[derive(Debug, Clone)]
pub struct Job {
    pub unit: UnitId,
    pub kind: JobKind,
    pub outputs: Outputs,
    pub target_dir: PathBuf,
    /// The unit's package directory: its files are hashed before rustc runs.
    pub package_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub enum JobKind {
    /// `record_link`: ask rustc for the link step, to relink later.
    Compile {
        invocation: Invocation,
        record_link: bool,
    },
    Relink {
        recipe: LinkRecipe,
    },
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
        result: std::result::Result<Box<JobOutput>, JobFailure>,
    },
}

#[derive(Debug)]
pub struct JobOutput {
    pub duration: Duration,
    /// Hash of the `.rmeta` for libraries, else of the final artifact.
    pub output_hash: String,
    /// What rustc read (compiles only).
    pub dep_info: Option<DepInfo>,
    /// Content hashes of the package's files, taken before rustc started
    /// (workspace-relative paths).
    pub pre_hashes: HashMap<PathBuf, String>,
    /// Content hashes of dep-info files, taken after the run, only for files
    /// not modified since shortly before the job started (as rustc wrote them).
    pub file_hashes: HashMap<PathBuf, String>,
    pub link: Option<LinkRecipe>,
}

#[derive(Debug)]
pub struct JobFailure {
    pub duration: Duration,
    pub message: String,
}

/// Runs a job; a fake one can drive scheduler tests.
pub trait Runner: Sync {
    fn run(&self, job: &Job, events: &Sender<JobEvent>);
}

/// Runs the real rustc and linker.
pub struct RustcRunner<'a> {
    /// Summaries of the sources rustc read are cached after each compile, so
    /// the next build can classify changes against them.
    pub cache: &'a SyntaxCache,
}

impl Runner for RustcRunner<'_> {
    fn run(&self, job: &Job, events: &Sender<JobEvent>) {
        let start = Instant::now();
        let result = match &job.kind {
            JobKind::Compile {
                invocation,
                record_link,
            } => run_rustc(job, invocation, *record_link, events, start, self.cache),
            JobKind::Relink { recipe } => run_relink(job, recipe, start),
        };
        let result = result.map(Box::new).map_err(|message| JobFailure {
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
    invocation: &Invocation,
    record_link: bool,
    events: &Sender<JobEvent>,
    start: Instant,
    cache: &SyntaxCache,
) -> std::result::Result<JobOutput, String> {
    let pre_hashes = hash_package(&job.package_dir, &invocation.cwd, cache);
    let spawned_at = std::time::SystemTime::now();
    let mut command = invocation.command();
    if record_link {
        link::clean(&job.outputs.main);
        command.args(link::RECORD_FLAGS);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{}`: {e}", invocation.program.display()))?;
    let unit = job.unit;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let printed = std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut text = String::new();
            if let Some(mut out) = stdout {
                let _ = out.read_to_string(&mut text);
            }
            text
        });
        if let Some(stderr) = stderr {
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
        reader.join().unwrap_or_default()
    });
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
    let identity = job.outputs.rmeta.as_ref().unwrap_or(&job.outputs.main);
    let output_hash =
        hash_file(identity).map_err(|e| format!("could not read `{}`: {e}", identity.display()))?;
    // A recipe that cannot be recorded only means this binary is recompiled
    // instead of relinked later.
    let link = record_link
        .then(|| link::record(&printed, &job.outputs.main, &job.target_dir).ok())
        .flatten();
    if let Some(uplift) = &job.outputs.uplift {
        uplift_binary(&job.outputs.main, uplift).map_err(|e| e.to_string())?;
    }
    let file_hashes = hash_and_summarize(&invocation.cwd, &dep_info.files, cache, spawned_at);
    Ok(JobOutput {
        duration: start.elapsed(),
        output_hash,
        dep_info: Some(dep_info),
        pre_hashes,
        file_hashes,
        link,
    })
}

/// Hash every file of a package before rustc reads it (skipping `target`,
/// hidden directories and nested packages), so the ledger can record what
/// rustc was given rather than what the file holds after the run.
fn hash_package(package_dir: &Path, root: &Path, cache: &SyntaxCache) -> HashMap<PathBuf, String> {
    let mut hashes = HashMap::new();
    let mut pending = vec![package_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                let skip = name == "target"
                    || name.to_string_lossy().starts_with('.')
                    || path.join("Cargo.toml").is_file();
                if !skip {
                    pending.push(path);
                }
            } else if kind.is_file()
                && let Ok(bytes) = std::fs::read(&path)
            {
                let hash = blake3::hash(&bytes).to_hex().to_string();
                // Summarize the very bytes hashed: the next build classifies
                // against exactly what is recorded.
                summarize_source(&path, &hash, &bytes, cache);
                hashes.insert(relative_to(&path, root), hash);
            }
        }
    }
    hashes
}

/// Hash every file rustc read and cache a syntax summary of each Rust
/// source. A file modified since (about) the job's start may differ from what
/// rustc read: it gets no hash, so its unit is rebuilt next time. The mtime
/// only ever takes trust away.
fn hash_and_summarize(
    cwd: &Path,
    files: &[PathBuf],
    cache: &SyntaxCache,
    spawned_at: std::time::SystemTime,
) -> HashMap<PathBuf, String> {
    let settled_before = spawned_at - Duration::from_secs(1);
    files
        .iter()
        .filter_map(|f| {
            let path = cwd.join(f);
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
            let bytes = std::fs::read(&path).ok()?;
            let hash = blake3::hash(&bytes).to_hex().to_string();
            summarize_source(f, &hash, &bytes, cache);
            (modified < settled_before).then(|| (f.clone(), hash))
        })
        .collect()
}

fn summarize_source(path: &Path, hash: &str, bytes: &[u8], cache: &SyntaxCache) {
    if path.extension().is_some_and(|e| e == "rs")
        && let Ok(source) = std::str::from_utf8(bytes)
    {
        cache.summarize(hash, source);
    }
}

fn run_relink(
    job: &Job,
    recipe: &LinkRecipe,
    start: Instant,
) -> std::result::Result<JobOutput, String> {
    link::relink(recipe, &job.target_dir)?;
    let output_hash = hash_file(&job.outputs.main)
        .map_err(|e| format!("could not read `{}`: {e}", job.outputs.main.display()))?;
    if let Some(uplift) = &job.outputs.uplift {
        uplift_binary(&job.outputs.main, uplift).map_err(|e| e.to_string())?;
    }
    Ok(JobOutput {
        duration: start.elapsed(),
        output_hash,
        dep_info: None,
        pre_hashes: HashMap::new(),
        file_hashes: HashMap::new(),
        link: None,
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
            let outputs = &self.exec.outputs[id.0];
            if let Some(uplift) = &outputs.uplift
                && !uplift.is_file()
            {
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

/// How close the build came to the limit the graph allows:
/// wall / max(critical path, total job time / workers), from measured times.
pub fn measure_schedule(
    graph: &CrateGraph,
    timings: &[JobTiming],
    wall_ms: u64,
    workers: usize,
) -> Option<ScheduleStats> {
    if timings.is_empty() {
        return None;
    }
    let mut times: Vec<Option<JobTime>> = vec![None; graph.len()];
    for t in timings {
        let total = t.end_ms - t.start_ms;
        times[t.unit.0] = Some(JobTime {
            total,
            metadata: t.metadata_ms.map(|m| m - t.start_ms).unwrap_or(total),
        });
    }
    let longest = longest_paths(graph, &times);
    let critical_path_ms = longest.iter().copied().max().unwrap_or(0);
    let job_time_ms: u64 = times.iter().flatten().map(|t| t.total).sum();
    let bound = critical_path_ms
        .max(job_time_ms / workers.max(1) as u64)
        .max(1);
    let mut waiters: Vec<Vec<(UnitId, Artifact)>> = vec![Vec::new(); graph.len()];
    for t in timings {
        for (dep, artifact) in waits_for(graph, t.unit) {
            waiters[dep.0].push((t.unit, artifact));
        }
    }
    let mut critical_path = Vec::new();
    // Walk the chain: start at the job with the longest path, then follow
    // the waiter whose path accounts for the rest.
    let mut current = (0..graph.len())
        .map(UnitId)
        .filter(|u| times[u.0].is_some())
        .max_by_key(|u| longest[u.0]);
    while let Some(id) = current {
        critical_path.push(id);
        let time = times[id.0].unwrap_or(JobTime {
            total: 0,
            metadata: 0,
        });
        current = waiters[id.0].iter().find_map(|&(w, artifact)| {
            let wait = if artifact == Artifact::Metadata {
                time.metadata
            } else {
                time.total
            };
            (wait + longest[w.0] == longest[id.0]).then_some(w)
        });
    }
    Some(ScheduleStats {
        critical_path_ms,
        job_time_ms,
        efficiency: wall_ms.max(1) as f64 / bound as f64,
        critical_path,
    })
}
