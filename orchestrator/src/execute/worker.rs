//! The worker side: one job per call, on a rayon thread — a rustc run (with
//! the package's files hashed before it and its sources summarized after)
//! or a relink. Workers only send [`JobEvent`]s; they never print and never
//! write the ledger.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::classify::SyntaxCache;
use crate::error::{Error, Result};
use crate::graph::UnitId;
use crate::ledger::{LinkRecipe, hash_file};
use crate::link;
use crate::paths::relative_to;
use crate::rustc::{DepInfo, Invocation, Message, Outputs};

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
