//! The worker side: one job per call, on a rayon thread — a rustc run (with
//! the package's files hashed before it, member sources summarized while it
//! runs and the other sources it read after), a relink, or a build-script
//! run. Workers only send [`JobEvent`]s; they never print and never write
//! the ledger.

use crate::events::Diagnostic;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::Sender;

use crate::buildscript::{BuildOutput, RunDirs};
use crate::cache::key::Remap;
use crate::cache::{Cache, CacheNote, Hit, Lookup};
use crate::classify::{Items, SyntaxCache};
use crate::error::{Error, Result};
use crate::graph::{Package, UnitId};
use crate::ledger::{FileRecord, LinkRecipe, hash_file, hash_path, write_atomic};
use crate::link;
use crate::paths::{normalize, relative_to};
use crate::rustc::{DepInfo, Invocation, Message, Outputs};

/// One job: a rustc run, a relink, or a build-script run.
#[derive(Debug, Clone)]
pub struct Job {
    pub unit: UnitId,
    pub kind: JobKind,
    pub outputs: Outputs,
    pub target_dir: PathBuf,
    /// The workspace root: recorded paths inside it are relative to it.
    pub root: PathBuf,
    /// Files to hash before the job starts (a local package's directory),
    /// so the ledger records what the job was given.
    pub pre_hash: Option<PathBuf>,
    /// Directories never hashed as package files (the target directory).
    pub skip: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub enum JobKind {
    /// `record_link`: ask rustc for the link step, to relink later.
    /// `summarize`: cache syntax summaries of the sources (members only),
    /// with the items the unit compiles (R7).
    Compile {
        invocation: Invocation,
        record_link: bool,
        summarize: Option<Items>,
        /// Look the unit up in the shared cache first (and let it be stored after).
        cached: Option<Box<CacheJob>>,
    },
    Relink {
        recipe: LinkRecipe,
    },
    /// Run a build script; its results go to `dirs`.
    Run {
        invocation: Invocation,
        dirs: RunDirs,
        package: Box<Package>,
        rustc_bootstrap: Option<String>,
        /// Its package's sources never change (a registry package).
        immutable: bool,
        /// Look the run up in the shared cache first (and let it be stored after).
        cached: Option<Box<CacheJob>>,
    },
}

/// What a worker needs to finish a unit's action key ([`crate::cache::key`]).
#[derive(Debug, Clone)]
pub struct CacheJob {
    pub partial: blake3::Hasher,
    /// Files whose content enters the key, hashed by the worker: the
    /// artifacts the unit links, and rustc wrappers.
    pub hashed: Vec<PathBuf>,
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
    /// A diagnostic or other output of rustc; `json` is rustc's whole message.
    Message {
        unit: UnitId,
        diagnostic: Diagnostic,
    },
    Done {
        unit: UnitId,
        result: std::result::Result<Box<JobOutput>, JobFailure>,
    },
}

#[derive(Debug, Default)]
pub struct JobOutput {
    pub duration: Duration,
    /// Hash of the `.rmeta` for pipelined libraries, else of the main
    /// artifact; for a build-script run, of what it printed and of `OUT_DIR`.
    pub output_hash: String,
    /// What rustc read (compiles only).
    pub dep_info: Option<DepInfo>,
    /// Content hashes of the package's files, taken before the job started
    /// (ledger paths).
    pub pre_hashes: HashMap<PathBuf, String>,
    /// Content hashes of dep-info files, taken after the run (as rustc
    /// wrote their paths).
    pub file_hashes: HashMap<PathBuf, String>,
    /// Dep-info files modified since shortly before the job started: their
    /// hash after the run alone does not say what rustc read.
    pub unsettled: std::collections::HashSet<PathBuf>,
    pub link: Option<LinkRecipe>,
    /// A build-script run: its parsed result and the inputs that decide
    /// whether it reruns.
    pub script: Option<BuildOutput>,
    pub script_inputs: Vec<FileRecord>,
    /// The outputs came from the shared cache; rustc did not run.
    pub downloaded: bool,
    /// For a download: what the compile took where it ran (and when its
    /// `.rmeta` was ready), which is what predicting a later compile needs.
    pub compiled_ms: Option<(u64, Option<u64>)>,
    /// The unit's action key, when the cache is on: a compile is stored under it.
    pub cache_key: Option<String>,
    pub cache_notes: Vec<CacheNote>,
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

/// Runs the real rustc, linker and build scripts.
pub struct RustcRunner<'a> {
    /// Summaries of the member sources rustc read are cached after each
    /// compile, so the next build can classify changes against them.
    pub cache: &'a SyntaxCache,
    /// The shared artifact cache, if one is configured.
    pub artifacts: Option<&'a Cache>,
}

impl Runner for RustcRunner<'_> {
    fn run(&self, job: &Job, events: &Sender<JobEvent>) {
        let start = Instant::now();
        let result = match &job.kind {
            JobKind::Compile {
                invocation,
                record_link,
                summarize,
                cached,
            } => run_rustc(
                job,
                invocation,
                *record_link,
                *summarize,
                events,
                start,
                self.cache,
                self.artifacts.zip(cached.as_deref()),
            ),
            JobKind::Relink { recipe } => run_relink(job, recipe, start),
            JobKind::Run {
                invocation,
                dirs,
                package,
                rustc_bootstrap,
                immutable,
                cached,
            } => run_script(
                job,
                ScriptJob {
                    invocation,
                    dirs,
                    package,
                    rustc_bootstrap: rustc_bootstrap.as_deref(),
                    immutable: *immutable,
                },
                start,
                self.artifacts.zip(cached.as_deref()),
            ),
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

#[allow(clippy::too_many_arguments)]
fn run_rustc(
    job: &Job,
    invocation: &Invocation,
    record_link: bool,
    summarize: Option<Items>,
    events: &Sender<JobEvent>,
    start: Instant,
    cache: &SyntaxCache,
    artifacts: Option<(&Cache, &CacheJob)>,
) -> std::result::Result<JobOutput, String> {
    let (pre_hashes, sources) = match &job.pre_hash {
        Some(dir) => hash_package(dir, &job.root, &job.skip, summarize.is_some()),
        None => (HashMap::new(), Sources::default()),
    };
    let mut cache_notes = Vec::new();
    let cache_key = artifacts
        .and_then(|(artifacts, job_key)| artifacts.key(job_key.partial.clone(), &job_key.hashed));
    if let (Some((artifacts, _)), Some(key)) = (artifacts, &cache_key) {
        let mut required: Vec<PathBuf> = job
            .outputs
            .required()
            .into_iter()
            .map(Path::to_path_buf)
            .collect();
        required.push(job.outputs.dep_info.clone());
        let lookup = Lookup {
            key,
            required,
            within: None,
            main: Some(&job.outputs.main),
            invocation,
            root: &job.root,
            known: &pre_hashes,
            script: false,
        };
        if let Some(hit) = artifacts.fetch(&lookup, &mut cache_notes) {
            if let Some(items) = summarize {
                sources.summarize(cache, items);
            }
            return downloaded(job, hit, pre_hashes, cache_key, cache_notes, events, start);
        }
    }
    std::fs::create_dir_all(&job.outputs.out_dir)
        .map_err(|e| format!("could not create `{}`: {e}", job.outputs.out_dir.display()))?;
    let spawned_at = SystemTime::now();
    let mut command = invocation.command();
    // Objects an earlier recording compile left (a build killed before
    // they were moved into the recipe's directory) would be written through
    // into rustc's incremental cache: gone before any compile of the binary.
    if let Some(exe) = job.outputs.executable() {
        link::clean(exe);
    }
    if record_link {
        command.args(link::RECORD_FLAGS);
    }
    // rustc prefers an existing `.rlib` over a newer `.rmeta` (cargo deletes it).
    if let Some(rmeta) = &job.outputs.rmeta {
        let _ = std::fs::remove_file(rmeta.with_extension("rlib"));
    }
    let mut child = crate::interrupt::spawn(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .map_err(|e| format!("could not start `{}`: {e}", invocation.program.display()))?;
    let unit = job.unit;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let printed = std::thread::scope(|s| {
        // Off the critical path: summaries are needed by the next build,
        // and rustc leaves a core idle for much of its run.
        let sources = &sources;
        let summarizer = summarize.map(|items| s.spawn(move || sources.summarize(cache, items)));
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
                    Message::Diagnostic(diagnostic) => JobEvent::Message { unit, diagnostic },
                    Message::Text(text) => JobEvent::Message {
                        unit,
                        diagnostic: Diagnostic {
                            level: String::new(),
                            rendered: text + "\n",
                            json: None,
                        },
                    },
                    _ => continue,
                };
                let _ = events.send(event);
            }
        }
        // A summary that could not be made only costs the next build a
        // shortcut (a missing summary is a signature change).
        if let Some(summarizer) = summarizer {
            let _ = summarizer.join();
        }
        reader.join().unwrap_or_default()
    });
    let status = child.wait();
    crate::interrupt::forget(child.id());
    let status = status.map_err(|e| format!("could not wait for rustc: {e}"))?;
    if !status.success() {
        return Err(match status.code() {
            Some(code) => format!("rustc exited with status {code}"),
            None => "rustc was killed by a signal".to_owned(),
        });
    }
    let dep_info = DepInfo::read(&job.outputs.dep_info).map_err(|e| e.to_string())?;
    let identity = &job.outputs.main;
    let output_hash =
        hash_file(identity).map_err(|e| format!("could not read `{}`: {e}", identity.display()))?;
    // A recipe that cannot be recorded only means this binary is recompiled
    // instead of relinked later.
    let link = match (record_link, job.outputs.executable()) {
        (true, Some(exe)) => {
            link::record(&printed, exe, &job.target_dir, targets_apple(invocation)).ok()
        }
        _ => None,
    };
    uplift_all(&job.outputs)?;
    let (file_hashes, unsettled) = hash_and_summarize(
        &invocation.cwd,
        &dep_info.files,
        summarize.map(|items| (cache, items)),
        &pre_hashes,
        spawned_at,
        &job.target_dir,
    );
    Ok(JobOutput {
        duration: start.elapsed(),
        output_hash,
        dep_info: Some(dep_info),
        pre_hashes,
        file_hashes,
        unsettled,
        link,
        cache_key,
        cache_notes,
        ..JobOutput::default()
    })
}

/// Whether rustc builds for an Apple target (`--target`, else the host).
fn targets_apple(invocation: &Invocation) -> bool {
    match invocation.args.iter().position(|a| a == "--target") {
        Some(i) => invocation
            .args
            .get(i + 1)
            .is_some_and(|t| t.to_string_lossy().contains("-apple-")),
        None => cfg!(target_vendor = "apple"),
    }
}

/// A cache hit: the outputs are in place. Report it as rustc's run would
/// be reported (metadata ready, the recorded warnings), with the inputs the
/// hit was checked against.
fn downloaded(
    job: &Job,
    hit: Hit,
    mut pre_hashes: HashMap<PathBuf, String>,
    cache_key: Option<String>,
    cache_notes: Vec<CacheNote>,
    events: &Sender<JobEvent>,
    start: Instant,
) -> std::result::Result<JobOutput, String> {
    let unit = job.unit;
    if job.outputs.rmeta.is_some() {
        let _ = events.send(JobEvent::Metadata {
            unit,
            at: start.elapsed(),
            hash: hit.variant.output.clone(),
        });
    }
    for diagnostic in hit.variant.diagnostics {
        let _ = events.send(JobEvent::Message { unit, diagnostic });
    }
    let dep_info = DepInfo::read(&job.outputs.dep_info).map_err(|e| e.to_string())?;
    uplift_all(&job.outputs)?;
    pre_hashes.extend(hit.input_hashes);
    Ok(JobOutput {
        duration: start.elapsed(),
        output_hash: hit.variant.output,
        dep_info: Some(dep_info),
        pre_hashes,
        downloaded: true,
        compiled_ms: Some((hit.variant.duration_ms, hit.variant.metadata_ms)),
        cache_key,
        cache_notes,
        ..JobOutput::default()
    })
}

/// Hash every file of a package before a job reads it (skipping `target`,
/// hidden directories, nested packages and `skip`), so the ledger can record
/// what the job was given rather than what the file holds after it. With
/// `keep_sources`, the Rust sources are returned with the very bytes hashed,
/// to be summarized ([`Sources::summarize`]): the next build classifies
/// against exactly what is recorded.
fn hash_package(
    package_dir: &Path,
    root: &Path,
    skip: &[PathBuf],
    keep_sources: bool,
) -> (HashMap<PathBuf, String>, Sources) {
    let mut hashes = HashMap::new();
    let mut sources = Sources::default();
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
                let skipped = name == "target"
                    || name.to_string_lossy().starts_with('.')
                    || path.join("Cargo.toml").is_file()
                    || skip.iter().any(|s| path.starts_with(s));
                if !skipped {
                    pending.push(path);
                }
            } else if kind.is_file()
                && let Ok(bytes) = std::fs::read(&path)
            {
                let hash = blake3::hash(&bytes).to_hex().to_string();
                if keep_sources && path.extension().is_some_and(|e| e == "rs") {
                    sources.0.push((path.clone(), hash.clone(), bytes));
                }
                hashes.insert(relative_to(&path, root), hash);
            }
        }
    }
    (hashes, sources)
}

/// Rust sources as a job was given them: path, hash, bytes.
#[derive(Default)]
struct Sources(Vec<(PathBuf, String, Vec<u8>)>);

impl Sources {
    /// Cache a syntax summary of each (a worker does it while rustc runs).
    fn summarize(&self, cache: &SyntaxCache, items: Items) {
        for (path, hash, bytes) in &self.0 {
            summarize_source(path, hash, bytes, cache, items);
        }
    }
}

/// Hash every file rustc read and cache a syntax summary of each Rust
/// source not summarized before the job with the same content (`before`).
/// A file modified since (about) the job's start may differ from what
/// rustc read: it is returned as unsettled, so its unit is rebuilt next
/// time. The mtime only ever takes trust away. Files under the target
/// directory (build scripts' `OUT_DIR`) are exempt: only jobs that finished
/// before this one started write them.
fn hash_and_summarize(
    cwd: &Path,
    files: &[PathBuf],
    cache: Option<(&SyntaxCache, Items)>,
    before: &HashMap<PathBuf, String>,
    spawned_at: SystemTime,
    target_dir: &Path,
) -> (HashMap<PathBuf, String>, std::collections::HashSet<PathBuf>) {
    let mut hashes = HashMap::new();
    let mut unsettled = std::collections::HashSet::new();
    for f in files {
        let path = cwd.join(f);
        let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
            continue;
        };
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let hash = blake3::hash(&bytes).to_hex().to_string();
        if let Some((cache, items)) = cache
            && before.get(f) != Some(&hash)
        {
            summarize_source(f, &hash, &bytes, cache, items);
        }
        let generated = normalize(&path).starts_with(target_dir);
        if !generated && !settled(modified, spawned_at) {
            unsettled.insert(f.clone());
        }
        hashes.insert(f.clone(), hash);
    }
    (hashes, unsettled)
}

/// Not modified since a second before `spawned_at` (file times are coarse).
fn settled(modified: SystemTime, spawned_at: SystemTime) -> bool {
    crate::paths::written_before(modified, spawned_at)
}

fn summarize_source(path: &Path, hash: &str, bytes: &[u8], cache: &SyntaxCache, items: Items) {
    if path.extension().is_some_and(|e| e == "rs")
        && let Ok(source) = std::str::from_utf8(bytes)
    {
        cache.ensure(hash, source, items);
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
    uplift_all(&job.outputs)?;
    Ok(JobOutput {
        duration: start.elapsed(),
        output_hash,
        ..JobOutput::default()
    })
}

/// A build-script run's own parts of its job.
struct ScriptJob<'a> {
    invocation: &'a Invocation,
    dirs: &'a RunDirs,
    package: &'a Package,
    rustc_bootstrap: Option<&'a str>,
    immutable: bool,
}

/// The identity of a build script's result: what it printed, with this
/// machine's paths spelled portably (so that two clones whose scripts print
/// the same thing, `-L native=<OUT_DIR>`, agree and their dependents share
/// cache keys), everything in `OUT_DIR`, and the native libraries it names
/// outside the target directory (a prebuilt `libfoo.a` that changes changes
/// what its dependents link, as in cargo, where the rerun rebuilds them).
fn script_identity(job: &Job, stdout: &[u8], out_dir: &Path, parsed: &BuildOutput) -> String {
    let remap = Remap::new(&job.target_dir, &job.root);
    let stdout = remap.portable(&String::from_utf8_lossy(stdout));
    let mut identity = blake3::Hasher::new();
    identity.update(stdout.as_bytes());
    identity.update(&[0]);
    identity.update(hash_path(out_dir).unwrap_or_default().as_bytes());
    for library in native_libraries(parsed, &job.target_dir) {
        identity.update(&[0]);
        identity.update(remap.portable_path(&library).as_bytes());
        identity.update(hash_file(&library).unwrap_or_default().as_bytes());
    }
    identity.finalize().to_hex().to_string()
}

/// The library files a script's `rustc-link-lib`s name in its
/// `rustc-link-search` directories outside the target directory.
fn native_libraries(parsed: &BuildOutput, target_dir: &Path) -> Vec<PathBuf> {
    let names: Vec<&str> = parsed
        .library_links
        .iter()
        .map(|l| {
            let name = l.rsplit_once('=').map_or(l.as_str(), |(_, n)| n);
            name.split(':').next().unwrap_or(name)
        })
        .collect();
    let mut found = Vec::new();
    for dir in &parsed.library_paths {
        let text = dir.to_string_lossy();
        let dir = ["native=", "all=", "dependency=", "crate=", "framework="]
            .iter()
            .find_map(|k| text.strip_prefix(k))
            .map_or_else(|| dir.clone(), PathBuf::from);
        if normalize(&dir).starts_with(target_dir) {
            continue;
        }
        for name in &names {
            for file in [
                format!("lib{name}.a"),
                format!("lib{name}.so"),
                format!("lib{name}.dylib"),
                format!("{name}.lib"),
            ] {
                let path = dir.join(file);
                if path.is_file() {
                    found.push(path);
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// A build script's result restored from the shared cache: parsed as if it
/// had just printed it, and accepted only if it hashes as recorded.
fn script_downloaded(
    job: &Job,
    script: &ScriptJob<'_>,
    hit: Hit,
    cache_key: Option<String>,
    cache_notes: Vec<CacheNote>,
    start: Instant,
) -> Option<JobOutput> {
    // `OUT_DIR` exists when a script ran, even if it wrote nothing there.
    std::fs::create_dir_all(&script.dirs.out).ok()?;
    let stdout = std::fs::read(&script.dirs.output).ok()?;
    let parsed = BuildOutput::parse(
        &stdout,
        script.package,
        &script.dirs.out,
        &script.dirs.out,
        script.rustc_bootstrap,
    )
    .ok()?;
    if script_identity(job, &stdout, &script.dirs.out, &parsed) != hit.variant.output {
        return None;
    }
    let remap = Remap::new(&job.target_dir, &job.root);
    let mut script_inputs: Vec<FileRecord> = hit
        .variant
        .inputs
        .iter()
        .filter_map(|input| {
            let path = remap.local_input(&input.path)?;
            Some(FileRecord {
                path: relative_to(&path, &job.root),
                hash: input.hash.clone(),
                dir: input.dir,
            })
        })
        .collect();
    script_inputs.sort_by(|a, b| a.path.cmp(&b.path));
    Some(JobOutput {
        duration: start.elapsed(),
        output_hash: hit.variant.output.clone(),
        script: Some(parsed),
        script_inputs,
        downloaded: true,
        compiled_ms: Some((hit.variant.duration_ms, None)),
        cache_key,
        cache_notes,
        ..JobOutput::default()
    })
}

/// Run a build script as cargo does, and keep what it printed.
fn run_script(
    job: &Job,
    script: ScriptJob<'_>,
    start: Instant,
    artifacts: Option<(&Cache, &CacheJob)>,
) -> std::result::Result<JobOutput, String> {
    let ScriptJob {
        invocation,
        dirs,
        package,
        rustc_bootstrap,
        immutable,
    } = script;
    let pre_hashes = match &job.pre_hash {
        Some(dir) => hash_package(dir, &job.root, &job.skip, false).0,
        None => HashMap::new(),
    };
    let mut cache_notes = Vec::new();
    let cache_key = artifacts
        .and_then(|(artifacts, job_key)| artifacts.key(job_key.partial.clone(), &job_key.hashed));
    // A build script may read anything on the machine (variables, system
    // libraries, `pkg-config`) beyond its `rerun-if` inputs: its result is
    // taken only between machines declared interchangeable (it is stored
    // for them either way).
    let shared = artifacts.filter(|(a, _)| a.shares_scripts());
    if let (Some((artifacts, _)), Some(key)) = (shared, &cache_key) {
        let lookup = Lookup {
            key,
            required: vec![dirs.output.clone()],
            within: Some(&dirs.root),
            main: None,
            invocation,
            root: &job.root,
            known: &pre_hashes,
            script: true,
        };
        if let Some(hit) = artifacts.fetch(&lookup, &mut cache_notes) {
            let notes = std::mem::take(&mut cache_notes);
            match script_downloaded(job, &script, hit, cache_key.clone(), notes, start) {
                Some(output) => return Ok(output),
                // Not what was recorded: run the script after all.
                None => artifacts.unusable(),
            }
        }
    }
    std::fs::create_dir_all(&dirs.out)
        .map_err(|e| format!("could not create `{}`: {e}", dirs.out.display()))?;
    let spawned_at = SystemTime::now();
    let output = crate::interrupt::output(&mut invocation.command())
        .map_err(|e| format!("could not run `{}`: {e}", invocation.program.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failed = |why: String| {
        format!(
            "failed to run custom build command for `{}`\n\nCaused by:\n  {why}\n  --- stdout\n{}\n  --- stderr\n{}",
            package.descr(),
            indent(&stdout),
            indent(&stderr)
        )
    };
    if !output.status.success() {
        let status = match output.status.code() {
            Some(code) => format!("exit status: {code}"),
            None => "killed by a signal".to_owned(),
        };
        return Err(failed(format!(
            "process didn't exit successfully: `{}` ({status})",
            invocation.program.display()
        )));
    }
    let parsed = BuildOutput::parse(
        &output.stdout,
        package,
        &dirs.out,
        &dirs.out,
        rustc_bootstrap,
    )
    .map_err(failed)?;
    if !parsed.errors.is_empty() {
        let errors: Vec<String> = parsed
            .errors
            .iter()
            .map(|e| format!("error: {e}"))
            .collect();
        return Err(format!("{}\nbuild script logged errors", errors.join("\n")));
    }
    let write = |path: &Path, bytes: &[u8]| write_atomic(path, bytes).map_err(|e| e.to_string());
    write(&dirs.stderr, &output.stderr)?;
    write(&dirs.root_output, dirs.out.to_string_lossy().as_bytes())?;
    write(&dirs.output, &output.stdout)?;
    let script_inputs = script_inputs(job, &parsed, &pre_hashes, package, immutable, spawned_at);
    Ok(JobOutput {
        duration: start.elapsed(),
        output_hash: script_identity(job, &output.stdout, &dirs.out, &parsed),
        script: Some(parsed),
        script_inputs,
        pre_hashes,
        cache_key,
        cache_notes,
        ..JobOutput::default()
    })
}

/// The files that say which commit is checked out in the git work tree
/// around `dir`: `HEAD` and the branch it names (loose or packed). A build
/// script without `rerun-if` instructions may read them through `git` (as
/// ripgrep's embeds `git rev-parse HEAD`): cargo reruns such a script when
/// any package file's mtime moves, which a checkout does; orchestrator
/// compares content, so the commit itself is an input.
fn git_head(dir: &Path) -> Vec<PathBuf> {
    let Some(git_dir) = dir.ancestors().find_map(|d| {
        let dot_git = d.join(".git");
        if dot_git.is_dir() {
            return Some(dot_git);
        }
        // A linked work tree: `.git` is a file `gitdir: <path>`.
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let target = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
        Some(if target.is_absolute() {
            target
        } else {
            d.join(target)
        })
    }) else {
        return Vec::new();
    };
    let head = git_dir.join("HEAD");
    let mut files = vec![head.clone()];
    if let Ok(text) = std::fs::read_to_string(&head)
        && let Some(reference) = text.strip_prefix("ref:")
    {
        // A branch lives in its own file or in `packed-refs` (of the
        // common dir for linked work trees).
        let common = std::fs::read_to_string(git_dir.join("commondir"))
            .map(|c| git_dir.join(c.trim()))
            .unwrap_or_else(|_| git_dir.clone());
        files.push(common.join(reference.trim()));
        files.push(common.join("packed-refs"));
    }
    files.retain(|f| f.is_file());
    files
}

/// What decides whether a script reruns: its `rerun-if-changed` paths
/// (relative to the package), or, without any `rerun-if` instruction, every
/// file of its package (none for an immutable package) and the git commit
/// checked out ([`git_head`]).
fn script_inputs(
    job: &Job,
    output: &BuildOutput,
    pre_hashes: &HashMap<PathBuf, String>,
    package: &Package,
    immutable: bool,
    spawned_at: SystemTime,
) -> Vec<FileRecord> {
    if output.rerun_if_changed.is_empty() {
        if !output.rerun_if_env_changed.is_empty() || immutable {
            return Vec::new();
        }
        let mut records: Vec<FileRecord> = pre_hashes
            .iter()
            .map(|(path, hash)| FileRecord {
                path: path.clone(),
                hash: hash.clone(),
                dir: false,
            })
            .collect();
        records.extend(git_head(&package.root).into_iter().map(|path| {
            let hash = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .filter(|m| settled(*m, spawned_at))
                .and_then(|_| hash_path(&path))
                .unwrap_or_default();
            FileRecord {
                path: relative_to(&path, &job.root),
                hash,
                dir: false,
            }
        }));
        records.sort_by(|a, b| a.path.cmp(&b.path));
        return records;
    }
    output
        .rerun_if_changed
        .iter()
        .map(|rel| {
            let full = normalize(&package.root.join(rel));
            let is_dir = full.is_dir();
            let path = relative_to(&full, &job.root);
            let modified = std::fs::metadata(&full).and_then(|m| m.modified()).ok();
            let now = hash_path(&full);
            // Missing, or possibly changed while the script ran: no hash, so
            // it reruns. A file with the content it had before the script
            // started is what the script read, however recent its mtime.
            let unchanged = now.is_some() && now.as_ref() == pre_hashes.get(&path);
            let hash = match unchanged || modified.is_some_and(|m| settled(m, spawned_at)) {
                true => now.unwrap_or_default(),
                false => String::new(),
            };
            FileRecord {
                path,
                hash,
                dir: is_dir,
            }
        })
        .collect()
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every user-facing copy of a unit's artifacts.
pub fn uplift_all(outputs: &Outputs) -> std::result::Result<(), String> {
    for (from, to) in &outputs.uplifts {
        uplift(from, to).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Put an artifact where the user expects it (`<target>/debug/<name>`),
/// replacing the old one atomically: hard link (or copy) to a temp name, rename.
pub fn uplift(from: &Path, to: &Path) -> Result<()> {
    // Renaming a hard link onto another link of the same file does nothing
    // and leaves the temp name behind (POSIX `rename`): nothing to do anyway.
    if same_file(from, to) {
        return Ok(());
    }
    let tmp = crate::paths::temp_sibling(to, "uplift");
    let _ = std::fs::remove_file(&tmp);
    let result = std::fs::hard_link(from, &tmp)
        .or_else(|_| std::fs::copy(from, &tmp).map(drop))
        .and_then(|()| std::fs::rename(&tmp, to));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("write", to, e)
    })
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &Path, _: &Path) -> bool {
    false
}
