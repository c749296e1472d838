//! The harness: fixture copies in temp dirs, running `orchestrator build` and
//! parsing its JSON events, cargo baselines, and comparing binaries.
//!
//! Every test builds a fresh copy of a fixture (never the repository's own
//! files). Binaries built by orchestrator are checked against binaries built
//! by `cargo build` from the same sources: same stdout, same exit status.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tempfile::TempDir;

/// The binary under test.
pub const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_orchestrator");

/// Longest any single orchestrator run may take before the test fails
/// (a build of a fixture takes about a second).
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// Variables that would make orchestrator or cargo build differently from
/// what a test asks for; they may leak in from the outer `cargo test`.
const LEAKY_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_INCREMENTAL",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "ORCHESTRATOR_CACHE_READ_ONLY",
    "ORCHESTRATOR_CACHE_PORTABLE",
    "ORCHESTRATOR_CACHE_SIZE",
];
const LEAKY_ENV_PREFIXES: &[&str] = &["CARGO_BUILD_", "CARGO_PROFILE_"];

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("orchestrator/ has a parent")
        .to_path_buf()
}

/// Where a fixture lives in the repository: `sample-workspace`, or a name
/// under `tests/fixtures/` (`chain`, `bad/cycle`...).
pub fn fixture_source(name: &str) -> PathBuf {
    if name == "sample-workspace" {
        repo_root().join("sample-workspace")
    } else {
        repo_root().join("tests/fixtures").join(name)
    }
}

/// What a good fixture builds and how to run its binaries.
pub struct Fixture {
    pub name: &'static str,
    /// Every compilation target: (`crate (kind)`, package name).
    pub units: &'static [(&'static str, &'static str)],
    /// Binary runs to compare with cargo's: (binary, arguments).
    pub runs: &'static [(&'static str, &'static [&'static str])],
}

pub const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "cached",
        units: &[
            ("util (lib)", "util"),
            ("core_lib (lib)", "core_lib"),
            ("app (bin)", "app"),
        ],
        runs: &[("app", &[])],
    },
    Fixture {
        name: "sample-workspace",
        units: &[
            ("core_lib (lib)", "core_lib"),
            ("api_server (bin)", "api_server"),
            ("cli_tool (bin)", "cli_tool"),
        ],
        runs: &[
            ("api_server", &[]),
            ("cli_tool", &[]),
            ("cli_tool", &["put", "k", "v", "get", "k"]),
        ],
    },
    Fixture {
        name: "globs",
        units: &[
            ("alpha (lib)", "alpha"),
            ("beta (lib)", "beta"),
            ("runner (bin)", "runner"),
        ],
        runs: &[("runner", &[])],
    },
    Fixture {
        name: "renamed",
        units: &[
            ("text_utils (lib)", "text-utils"),
            ("mathcore (lib)", "math-core"),
            ("app (bin)", "app"),
        ],
        runs: &[("app", &[])],
    },
    Fixture {
        name: "inherit",
        units: &[("shared (lib)", "shared"), ("app (bin)", "app")],
        runs: &[("app", &[])],
    },
    Fixture {
        name: "root_package",
        units: &[("helper (lib)", "helper"), ("rootapp (bin)", "rootapp")],
        runs: &[("rootapp", &[])],
    },
    Fixture {
        name: "lib_bin",
        units: &[
            ("toolkit (lib)", "toolkit"),
            ("toolkit (bin)", "toolkit"),
            ("extra (bin)", "toolkit"),
            ("custom (bin)", "toolkit"),
        ],
        runs: &[("toolkit", &[]), ("extra", &[]), ("custom", &[])],
    },
    Fixture {
        name: "chain",
        units: &[
            ("level_a (lib)", "level_a"),
            ("level_b (lib)", "level_b"),
            ("level_c (lib)", "level_c"),
            ("top (bin)", "top"),
        ],
        runs: &[("top", &[])],
    },
    Fixture {
        name: "diamond",
        units: &[
            ("base (lib)", "base"),
            ("left (lib)", "left"),
            ("right (lib)", "right"),
            ("top (bin)", "top"),
        ],
        runs: &[("top", &[])],
    },
    Fixture {
        name: "multi_file",
        units: &[("deep (lib)", "deep"), ("show (bin)", "show")],
        runs: &[("show", &[])],
    },
    Fixture {
        name: "failing",
        units: &[
            ("good_lib (lib)", "good_lib"),
            ("bad_lib (lib)", "bad_lib"),
            ("app (bin)", "app"),
        ],
        runs: &[("app", &[])],
    },
    Fixture {
        name: "features",
        units: &[("flags (lib)", "flags"), ("user (bin)", "user")],
        runs: &[("user", &[])],
    },
    Fixture {
        name: "wide",
        units: &[
            ("w1 (lib)", "w1"),
            ("w2 (lib)", "w2"),
            ("w3 (lib)", "w3"),
            ("w4 (lib)", "w4"),
            ("w5 (lib)", "w5"),
            ("w6 (lib)", "w6"),
            ("hub (bin)", "hub"),
        ],
        runs: &[("hub", &[])],
    },
    Fixture {
        name: "edits",
        units: &[
            ("base (lib)", "base"),
            ("mid (lib)", "mid"),
            ("app (bin)", "app"),
        ],
        runs: &[("app", &[])],
    },
    Fixture {
        name: "crates_io",
        // Its units are checked by `crates_io.rs` (build scripts share a crate name).
        units: &[],
        runs: &[("app", &[])],
    },
    Fixture {
        name: "git_source",
        units: &[],
        runs: &[("app", &[])],
    },
    Fixture {
        name: "proc_macro",
        units: &[
            ("mac (proc-macro)", "mac"),
            ("middle (lib)", "middle"),
            ("user (bin)", "user"),
        ],
        runs: &[("user", &[])],
    },
];

pub fn fixture(name: &str) -> &'static Fixture {
    FIXTURES
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture spec named {name}"))
}

pub fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// Workspace copies

/// A private copy of a fixture in a temp dir, at `<tmp>/<fixture dir name>`.
pub struct Ws {
    pub tmp: TempDir,
    pub root: PathBuf,
    pub name: String,
}

impl Ws {
    pub fn new(name: &str) -> Ws {
        let tmp = tempfile::Builder::new()
            .prefix("orch-e2e-")
            .tempdir()
            .expect("create temp dir");
        let dir_name = Path::new(name).file_name().expect("fixture dir name");
        let root = tmp.path().join(dir_name);
        copy_tree(&fixture_source(name), &root, Mtimes::Keep);
        let root = root.canonicalize().expect("canonical workspace root");
        Ws {
            tmp,
            root,
            name: name.to_owned(),
        }
    }

    pub fn fixture(&self) -> &'static Fixture {
        fixture(&self.name)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn manifest(&self) -> PathBuf {
        self.path("Cargo.toml")
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent dir");
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }

    /// Replace the single occurrence of `from` in `rel` by `to`.
    pub fn replace(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` must occur exactly once in {rel}"
        );
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// `<root>/target/orchestrator`, the default target directory.
    pub fn target_dir(&self) -> PathBuf {
        self.path("target/orchestrator")
    }

    /// Where orchestrator's dev binaries land by default.
    pub fn bin_dir(&self) -> PathBuf {
        self.target_dir().join("debug")
    }

    /// Rewrite every file (outside `target/`) with its own content and give
    /// it an mtime in the future, as `touch` or a `git checkout` would.
    pub fn touch_everything(&self) {
        let future = SystemTime::now() + Duration::from_secs(5);
        for rel in list_files(&self.root) {
            let path = self.root.join(&rel);
            let bytes = fs::read(&path).expect("read file");
            fs::write(&path, &bytes).expect("rewrite file");
            let file = fs::File::options()
                .write(true)
                .open(&path)
                .expect("open file");
            file.set_modified(future).expect("set mtime");
        }
    }
}

/// Copy `from` to `to`, skipping `target/` directories. (A fixture's
/// `Cargo.lock`, where one is committed, pins its crates.io versions.)
/// What a copied file's modification time is.
#[derive(Clone, Copy, PartialEq)]
pub enum Mtimes {
    /// The source file's, as a checkout's files are older than the first
    /// build (a file written in the last instant before a cargo query keeps
    /// orchestrator from storing cargo's answer).
    Keep,
    /// The time of the copy.
    Now,
}

/// Copy a workspace, without its top-level `target/` directory.
pub fn copy_tree(from: &Path, to: &Path, mtimes: Mtimes) {
    copy_dir(from, to, mtimes, true);
}

fn copy_dir(from: &Path, to: &Path, mtimes: Mtimes, top: bool) {
    fs::create_dir_all(to).expect("create copy dir");
    for entry in fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            if !(top && name == "target") {
                copy_dir(&entry.path(), &to.join(&name), mtimes, false);
            }
        } else {
            let dest = to.join(&name);
            fs::copy(entry.path(), &dest).expect("copy file");
            if mtimes == Mtimes::Keep
                && let Ok(modified) = entry.metadata().and_then(|m| m.modified())
            {
                let _ = fs::File::options()
                    .write(true)
                    .open(&dest)
                    .and_then(|f| f.set_modified(modified));
            }
        }
    }
}

/// Relative paths of every file under `root` (except the top-level `target/`), sorted.
pub fn list_files(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("read dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            let name = entry.file_name();
            if entry.file_type().expect("file type").is_dir() {
                if !(dir == root && name == "target") {
                    walk(root, &path, out);
                }
            } else {
                out.push(path.strip_prefix(root).expect("below root").to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Running orchestrator

pub fn scrub_env(cmd: &mut Command) {
    // orchestrator's own config file (a cache URL) stays out of the tests,
    // and so does the per-user cache every build uses by default: a test
    // counts what is compiled (the cache tests name their own store).
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/orchestrator-e2e-config");
    cmd.env("ORCHESTRATOR_CACHE", "off");
    for var in LEAKY_ENV {
        cmd.env_remove(var);
    }
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if LEAKY_ENV_PREFIXES.iter().any(|p| key_text.starts_with(p)) {
            cmd.env_remove(&key);
        }
    }
}

/// `orchestrator` with a clean environment, run from the system temp dir.
pub fn orchestrator() -> Command {
    let mut cmd = Command::new(ORCHESTRATOR);
    scrub_env(&mut cmd);
    cmd.current_dir(std::env::temp_dir());
    cmd
}

/// `orchestrator build --manifest-path <ws>/Cargo.toml --message-format json`, run from the root.
pub fn build_cmd(ws: &Ws) -> Command {
    let mut cmd = orchestrator();
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(ws.manifest())
        .args(["--message-format", "json"])
        .current_dir(&ws.root);
    cmd
}

/// The same in human format (`--color` left at its default).
pub fn human_cmd(ws: &Ws) -> Command {
    let mut cmd = orchestrator();
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(ws.manifest())
        .current_dir(&ws.root);
    cmd
}

/// A copy of a fixture, built once successfully.
pub fn built(name: &str) -> Ws {
    let ws = Ws::new(name);
    build(&ws).assert_success();
    ws
}

pub fn build(ws: &Ws) -> Outcome {
    run(&mut build_cmd(ws))
}

/// Run to completion (with a time limit) and parse what it printed.
pub fn run(cmd: &mut Command) -> Outcome {
    Spawned::start(cmd).finish()
}

/// What one orchestrator run did.
pub struct Outcome {
    pub status: ExitStatus,
    pub events: Vec<Value>,
    pub stdout: String,
    pub stderr: String,
}

/// Parse stdout as JSON lines; anything else on stdout breaks the contract.
fn parse_events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            assert!(
                value.get("reason").and_then(Value::as_str).is_some(),
                "JSON event without a string `reason`: {line}"
            );
            value
        })
        .collect()
}

pub fn reason(event: &Value) -> &str {
    event["reason"].as_str().unwrap_or("")
}

/// `crate (kind)`, as events and the `failed` list name a unit.
/// A unit's identity in events: two versions of a crate, or the build
/// scripts of two packages, have the same label.
pub fn unit_id(event: &Value) -> String {
    format!(
        "{}@{} {}",
        event["package"].as_str().unwrap_or("?"),
        event["version"].as_str().unwrap_or("?"),
        label(event)
    )
}

/// `crate (kind)`; units of `check` and `test` add their mode:
/// `crate (kind check)`, `crate (kind test)`.
pub fn label(event: &Value) -> String {
    let mode = match event["mode"].as_str() {
        Some(mode) => format!(" {mode}"),
        None => String::new(),
    };
    format!(
        "{} ({}{mode})",
        event["crate"].as_str().unwrap_or("?"),
        event["kind"].as_str().unwrap_or("?")
    )
}

impl Outcome {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn describe(&self) -> String {
        format!(
            "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    pub fn of(&self, reason_: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| reason(e) == reason_)
            .collect()
    }

    pub fn one(&self, reason_: &str) -> &Value {
        let found = self.of(reason_);
        assert_eq!(
            found.len(),
            1,
            "expected exactly one `{reason_}` event\n{}",
            self.describe()
        );
        found[0]
    }

    pub fn started_event(&self) -> &Value {
        self.one("build-started")
    }

    pub fn finished_event(&self) -> &Value {
        self.one("build-finished")
    }

    /// Labels (`crate (kind)`) of units whose `crate-finished` action is `action`.
    pub fn units(&self, action: &str) -> BTreeSet<String> {
        self.of("crate-finished")
            .into_iter()
            .filter(|e| e["action"] == action)
            .map(label)
            .collect()
    }

    fn crates(&self, action: &str) -> BTreeSet<String> {
        self.of("crate-finished")
            .into_iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["crate"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    /// Crate names compiled in this build.
    pub fn compiled(&self) -> BTreeSet<String> {
        self.crates("compiled")
    }

    /// Crate names found fresh in this build.
    pub fn fresh(&self) -> BTreeSet<String> {
        self.crates("fresh")
    }

    /// Crate names relinked (a dependency changed only code no other crate
    /// sees; the binary's link step is re-run) in this build.
    pub fn relinked(&self) -> BTreeSet<String> {
        self.crates("relinked")
    }

    /// Crate names that ran a job: compiled or relinked.
    pub fn redone(&self) -> BTreeSet<String> {
        let mut all = self.compiled();
        all.extend(self.relinked());
        all
    }

    /// The `change` field of a crate's `crate-finished` (`crate (kind)` label).
    pub fn change_of(&self, unit_label: &str) -> String {
        self.of("crate-finished")
            .into_iter()
            .find(|e| label(e) == unit_label)
            .and_then(|e| e["change"].as_str())
            .unwrap_or_else(|| panic!("no crate-finished with a change for {unit_label}"))
            .to_owned()
    }

    /// Crate names that got a `crate-started`.
    pub fn started(&self) -> BTreeSet<String> {
        self.of("crate-started")
            .into_iter()
            .map(|e| e["crate"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    /// Exit 0 and a self-consistent successful event stream.
    /// The crates compiled by rustc are exactly `expected`.
    pub fn assert_compiled<const N: usize>(&self, expected: [&str; N]) -> &Self {
        assert_eq!(self.compiled(), set(expected), "{}", self.describe());
        self
    }

    /// The binaries relinked are exactly `expected`.
    pub fn assert_relinked<const N: usize>(&self, expected: [&str; N]) -> &Self {
        assert_eq!(self.relinked(), set(expected), "{}", self.describe());
        self
    }

    /// The message of the `error` event.
    pub fn error_message(&self) -> String {
        self.one("error")["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn assert_success(&self) -> &Self {
        assert_eq!(
            self.code(),
            Some(0),
            "orchestrator failed\n{}",
            self.describe()
        );
        assert!(
            !self.stderr.contains("panicked"),
            "orchestrator panicked\n{}",
            self.describe()
        );
        self.assert_consistent_stream();
        let finished = self.finished_event();
        assert_eq!(finished["success"], true, "{}", self.describe());
        assert_eq!(
            finished["failed"],
            serde_json::json!([]),
            "{}",
            self.describe()
        );
        let errors: Vec<_> = self
            .of("compiler-message")
            .into_iter()
            .filter(|e| e["level"] == "error")
            .collect();
        assert!(
            errors.is_empty(),
            "error diagnostics in a successful build: {errors:?}"
        );
        assert!(self.of("crate-failed").is_empty(), "{}", self.describe());
        assert!(self.of("error").is_empty(), "{}", self.describe());
        self
    }

    /// Checks that hold for any build that got to running jobs: one
    /// `build-started` first, one `build-finished` whose counts match the
    /// `crate-finished` events, one `crate-finished` per unit at most with a
    /// known `action` and `change`, a `crate-started` with the same action
    /// before each compiled or relinked unit, and a `codegen` stage for each
    /// compiled library.
    pub fn assert_consistent_stream(&self) {
        let ctx = self.describe();
        let first = self
            .events
            .iter()
            .find(|e| reason(e) != "waiting-for-lock")
            .unwrap_or_else(|| panic!("no events\n{ctx}"));
        assert_eq!(reason(first), "build-started", "{ctx}");
        let started = self.started_event();
        let finished = self.finished_event();
        let finished_pos = self
            .events
            .iter()
            .position(|e| reason(e) == "build-finished")
            .expect("build-finished present");
        const AFTER_BUILD: &[&str] = &[
            "error",
            "executable",
            "test-started",
            "test-finished",
            "tests-finished",
            "running",
        ];
        assert!(
            self.events[finished_pos + 1..]
                .iter()
                .all(|e| AFTER_BUILD.contains(&reason(e))),
            "only an `error` or what runs the build's results may follow `build-finished`\n{ctx}"
        );
        let mut units = BTreeSet::new();
        for event in self.of("crate-finished") {
            assert!(
                units.insert(unit_id(event)),
                "duplicate crate-finished for {}\n{ctx}",
                unit_id(event)
            );
            let action = event["action"].as_str().unwrap_or("");
            assert!(
                ["compiled", "downloaded", "relinked", "ran", "fresh"].contains(&action),
                "action `{action}`\n{ctx}"
            );
            let change = event["change"].as_str().unwrap_or("");
            assert!(
                ["none", "cosmetic", "codegen", "signature", "dependency"].contains(&change),
                "change `{change}`\n{ctx}"
            );
            assert!(event["explain"].is_string(), "explain\n{ctx}");
            assert!(event["duration_ms"].is_u64(), "duration_ms\n{ctx}");
        }
        let count = |action: &str| {
            self.of("crate-finished")
                .into_iter()
                .filter(|e| e["action"] == action)
                .count() as u64
        };
        let (compiled, downloaded, relinked, ran, fresh) = (
            count("compiled"),
            count("downloaded"),
            count("relinked"),
            count("ran"),
            count("fresh"),
        );
        assert_eq!(finished["compiled"].as_u64(), Some(compiled), "{ctx}");
        assert_eq!(finished["downloaded"].as_u64(), Some(downloaded), "{ctx}");
        // A download is a compile served by the shared cache.
        let compiled = compiled + downloaded;
        assert_eq!(finished["ran"].as_u64(), Some(ran), "{ctx}");
        assert_eq!(finished["relinked"].as_u64(), Some(relinked), "{ctx}");
        assert_eq!(finished["fresh"].as_u64(), Some(fresh), "{ctx}");
        // A failed relink adds jobs (`jobs-added`) to what `build-started` announced.
        let added: u64 = self
            .events
            .iter()
            .filter(|e| reason(e) == "jobs-added")
            .filter_map(|e| e["count"].as_u64())
            .sum();
        assert!(
            started["to_compile"]
                .as_u64()
                .is_some_and(|n| n + added >= compiled + relinked + ran),
            "{ctx}"
        );
        if finished["success"] == true {
            assert_eq!(
                started["to_compile"].as_u64().map(|n| n + added),
                Some(compiled + relinked + ran),
                "{ctx}"
            );
            assert_eq!(
                started["crates"].as_u64(),
                Some(compiled + relinked + ran + fresh),
                "{ctx}"
            );
        }
        for (i, event) in self.events.iter().enumerate() {
            let action = event["action"].as_str().unwrap_or("");
            if reason(event) != "crate-finished" || action == "fresh" {
                continue;
            }
            let this = unit_id(event);
            let before = &self.events[..i];
            let start = before
                .iter()
                .rev()
                .find(|e| reason(e) == "crate-started" && unit_id(e) == this)
                .unwrap_or_else(|| panic!("{this} finished without crate-started\n{ctx}"));
            let expected_start = match action {
                "downloaded" if event["kind"] == "build-script-run" => "run",
                "compiled" | "downloaded" => "compile",
                "ran" => "run",
                _ => "relink",
            };
            assert_eq!(start["action"], expected_start, "{this}\n{ctx}");
            // A library's build unit (not its test harness, not a check).
            if event["kind"] == "lib" && event["mode"].is_null() {
                assert_ne!(action, "relinked", "only binaries relink\n{ctx}");
                let stages = before
                    .iter()
                    .filter(|e| reason(e) == "crate-stage" && unit_id(e) == this)
                    .filter(|e| e["stage"] == "codegen")
                    .count();
                assert_eq!(
                    stages, 1,
                    "{this}: one codegen stage before finishing\n{ctx}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// A running orchestrator whose events are read as they come

pub struct Spawned {
    pub child: Child,
    lines: Receiver<String>,
    stdout: String,
    pub events: Vec<Value>,
    stderr: Option<JoinHandle<String>>,
    started: Instant,
}

impl Spawned {
    pub fn start(cmd: &mut Command) -> Spawned {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn orchestrator");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Spawned {
            child,
            lines,
            stdout: String::new(),
            events: Vec::new(),
            stderr: Some(stderr),
            started: Instant::now(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn take_line(&mut self, line: String) -> Option<Value> {
        self.stdout.push_str(&line);
        self.stdout.push('\n');
        let value: Value = serde_json::from_str(&line).ok()?;
        self.events.push(value.clone());
        Some(value)
    }

    /// Read events until one matches `pred`; false if stdout closed or the
    /// time ran out first.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(value) = self.take_line(line)
                        && pred(&value)
                    {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return false;
                }
            }
        }
    }

    /// SIGKILL the orchestrator process (not its rustc children).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait for exit (failing the test past [`RUN_TIMEOUT`]) and collect everything.
    pub fn finish(mut self) -> Outcome {
        let status = loop {
            match self.child.try_wait().expect("wait for orchestrator") {
                Some(status) => break status,
                None if self.started.elapsed() > RUN_TIMEOUT => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "orchestrator still running after {RUN_TIMEOUT:?}; output so far:\n{}",
                        self.stdout
                    );
                }
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(30)) {
            self.take_line(line);
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        Outcome {
            status,
            events: parse_events(&self.stdout),
            stdout: self.stdout,
            stderr,
        }
    }
}

/// Processes (by pid) in process group `pgid`, read from /proc.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parens.
            let rest = &stat[stat.rfind(')')? + 1..];
            let mut fields = rest.split_whitespace();
            let state = fields.next()?;
            let pgrp: u32 = fields.nth(1)?.parse().ok()?;
            (pgrp == pgid && state != "Z").then_some(pid)
        })
        .collect()
}

/// SIGKILL every process in a group.
pub fn kill_group(pgid: u32) {
    let status = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .expect("run kill");
    let _ = status;
}

/// Wait until no process of group `pgid` is left (orphaned rustc jobs of a
/// killed orchestrator finish on their own); kill them past `timeout`.
pub fn wait_group_gone(pgid: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !group_members(pgid).is_empty() {
        if Instant::now() > deadline {
            kill_group(pgid);
            std::thread::sleep(Duration::from_millis(200));
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Cargo baselines

/// How cargo is asked to build a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CargoOpts<'a> {
    pub release: bool,
    pub rustflags: Option<&'a str>,
    /// `--profile NAME` (a custom profile).
    pub profile: Option<&'a str>,
}

pub const DEV: CargoOpts<'static> = CargoOpts {
    release: false,
    rustflags: None,
    profile: None,
};

pub fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// `rustc -vV` and `cargo -V`: part of every baseline's cache key.
fn toolchain_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let mut text = String::new();
        for (program, arg) in [(rustc, "-vV"), (cargo_program(), "-V")] {
            let out = Command::new(&program)
                .arg(arg)
                .output()
                .unwrap_or_else(|e| panic!("run {program:?} {arg}: {e}"));
            text.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        text
    })
}

/// Hash of the workspace's sources plus the build options.
fn baseline_key(ws: &Ws, opts: CargoOpts<'_>) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"baseline-v3");
    hasher.update(toolchain_id().as_bytes());
    hasher.update(format!("{opts:?}").as_bytes());
    for rel in list_files(&ws.root) {
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update(&[0]);
        let bytes = fs::read(ws.root.join(&rel)).expect("read source");
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hasher.finalize().to_hex()[..24].to_owned()
}

/// The directory holding cargo's binaries for the workspace's current
/// sources (`<target>/debug` or `<target>/release`). Cargo builds a snapshot
/// of the sources in its own directory, once per distinct state: results are
/// kept under `CARGO_TARGET_TMPDIR`, keyed by a hash of the sources, the
/// options and the toolchain.
pub fn cargo_bins(ws: &Ws, opts: CargoOpts<'_>) -> PathBuf {
    type Cells = Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>;
    static CELLS: OnceLock<Cells> = OnceLock::new();
    let key = baseline_key(ws, opts);
    let cell = {
        let mut cells = CELLS.get_or_init(Default::default).lock().expect("lock");
        cells.entry(key.clone()).or_default().clone()
    };
    cell.get_or_init(|| build_baseline(ws, &key, opts)).clone()
}

fn build_baseline(ws: &Ws, key: &str, opts: CargoOpts<'_>) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-cargo-baselines");
    prune_old_baselines(&base);
    let done = base.join(key);
    if done.join("ok").is_file() {
        return done.join("bin");
    }
    // Dependencies from crates.io are compiled once for every baseline of a
    // fixture that pins them (a committed Cargo.lock): their target
    // directory is shared, one baseline at a time, from
    // its copy on: cargo decides freshness by mtimes, so a copy must be newer
    // than the previous baseline's build.
    static SHARED: Mutex<()> = Mutex::new(());
    let shared = fixture_source(&ws.name).join("Cargo.lock").is_file();
    let _one_at_a_time = shared.then(|| SHARED.lock().unwrap_or_else(|e| e.into_inner()));
    let work = base.join(format!("{key}.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    // Fresh mtimes: the shared cargo target directory must see every
    // file of this copy as newer than what an earlier baseline built.
    copy_tree(&ws.root, &work.join("src"), Mtimes::Now);
    let mut cmd = Command::new(cargo_program());
    scrub_env(&mut cmd);
    let target = match shared {
        true => base.join(format!("shared-target-{}", ws.name.replace('/', "-"))),
        false => work.join("target"),
    };
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(work.join("src/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        // Same binaries, less disk: the baseline is built once.
        .env("CARGO_INCREMENTAL", "0")
        // cargo reads `.cargo/config.toml` from where it runs.
        .current_dir(work.join("src"));
    if opts.release {
        cmd.arg("--release");
    }
    if let Some(profile) = opts.profile {
        cmd.arg("--profile").arg(profile);
    }
    if let Some(flags) = opts.rustflags {
        cmd.env("RUSTFLAGS", flags);
    }
    let out = cmd.output().expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo baseline build of {} failed:\n{}",
        ws.name,
        String::from_utf8_lossy(&out.stderr)
    );
    // Keep only the binaries (`<target>/<profile>/<bin>`).
    let profile_dir = target.join(match (opts.profile, opts.release) {
        (Some(profile), _) => profile,
        (None, true) => "release",
        (None, false) => "debug",
    });
    let bins = work.join("bin");
    fs::create_dir_all(&bins).expect("create bin dir");
    for entry in fs::read_dir(&profile_dir)
        .expect("cargo's profile dir")
        .flatten()
    {
        let path = entry.path();
        let is_exe = path.is_file()
            && std::os::unix::fs::PermissionsExt::mode(
                &entry.metadata().expect("metadata").permissions(),
            ) & 0o111
                != 0;
        if is_exe {
            fs::copy(&path, bins.join(entry.file_name())).expect("keep binary");
        }
    }
    let _ = fs::remove_dir_all(work.join("target"));
    let _ = fs::remove_dir_all(work.join("src"));
    fs::write(work.join("ok"), b"").expect("write marker");
    let _ = fs::remove_dir_all(&done);
    if fs::rename(&work, &done).is_err() && !done.join("ok").is_file() {
        panic!("could not move cargo baseline into {}", done.display());
    }
    let _ = fs::remove_dir_all(&work);
    done.join("bin")
}

/// Baselines are kept across runs (keyed by content); forget those unused
/// for a week, once per test process.
fn prune_old_baselines(base: &Path) {
    static PRUNED: OnceLock<()> = OnceLock::new();
    PRUNED.get_or_init(|| {
        let Ok(entries) = fs::read_dir(base) else {
            return;
        };
        let week = Duration::from_secs(7 * 24 * 3600);
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > week);
            if old {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Running binaries

/// Exit code and stdout of `bin args...`, run in `cwd`.
pub fn run_bin(path: &Path, args: &[&str], cwd: &Path) -> (Option<i32>, String) {
    let out = Command::new(path)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Run each `(bin, args)` from both directories in the workspace root and
/// require identical stdout and exit status; returns orchestrator's stdouts.
pub fn assert_runs_match(
    ws: &Ws,
    ours: &Path,
    cargo: &Path,
    runs: &[(&str, &[&str])],
) -> Vec<String> {
    runs.iter()
        .map(|(bin, args)| {
            let exe = format!("{bin}{}", std::env::consts::EXE_SUFFIX);
            let our_bin = ours.join(&exe);
            assert!(
                our_bin.is_file(),
                "orchestrator's binary {} is missing",
                our_bin.display()
            );
            let (our_code, our_out) = run_bin(&our_bin, args, &ws.root);
            let (cargo_code, cargo_out) = run_bin(&cargo.join(&exe), args, &ws.root);
            assert!(!cargo_out.is_empty(), "cargo's {bin} printed nothing");
            let shown = std::iter::once(*bin)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" ");
            assert_eq!(
                our_out, cargo_out,
                "`{shown}`: orchestrator's binary prints something else than cargo's"
            );
            assert_eq!(our_code, cargo_code, "`{shown}`: exit status");
            our_out
        })
        .collect()
}

/// [`assert_runs_match`] with the fixture's runs.
pub fn assert_matches_cargo(ws: &Ws, ours: &Path, cargo: &Path) -> Vec<String> {
    assert_runs_match(ws, ours, cargo, ws.fixture().runs)
}

/// Build with orchestrator's default layout must equal cargo's dev build of
/// the same sources.
pub fn assert_dev_matches_cargo(ws: &Ws) -> Vec<String> {
    assert_no_leftovers(ws);
    let cargo = cargo_bins(ws, DEV);
    assert_matches_cargo(ws, &ws.bin_dir(), &cargo)
}

/// A finished build leaves no temporary files behind: uplift temp names,
/// rustc's `rmetaXXXXXX` / `rustcXXXXXX` temp directories.
pub fn assert_no_leftovers(ws: &Ws) {
    fn is_temp(name: &str) -> bool {
        let rustc_temp = |prefix: &str| {
            name.strip_prefix(prefix).is_some_and(|rest| {
                rest.len() == 6 && rest.chars().all(|c| c.is_ascii_alphanumeric())
            })
        };
        name.ends_with(".uplift-tmp")
            || name.ends_with(".download-tmp")
            || rustc_temp("rmeta")
            || rustc_temp("rustc")
    }
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if is_temp(&entry.file_name().to_string_lossy()) {
                found.push(path.clone());
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) && entry.file_name() != "incremental" {
                walk(&path, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(&ws.path("target/orchestrator"), &mut found);
    assert!(found.is_empty(), "temporary files left behind: {found:#?}");
}
