//! What the coordinator tells reporters. Reporters turn these into terminal
//! output or JSON; nothing else writes to the terminal.

use std::sync::Arc;
use std::time::Duration;

use crate::graph::{Mode, Package, Unit, UnitId, UnitKind};
use crate::plan::{Action, Change};
use crate::profile::Profile;

/// How events name a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitInfo {
    /// Which unit: two units may share a label (two versions of a crate).
    pub id: UnitId,
    pub crate_name: String,
    pub package: String,
    pub version: String,
    pub kind: UnitKind,
    pub mode: Mode,
    /// How cargo's messages name the unit.
    pub cargo: Arc<CargoUnit>,
}

/// A unit as cargo's JSON messages identify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoUnit {
    pub package_id: String,
    pub manifest_path: std::path::PathBuf,
    pub target: serde_json::Value,
    /// `compiler-artifact`'s profile: `opt_level`, `debuginfo`,
    /// `debug_assertions`, `overflow_checks`, `test`.
    pub profile: serde_json::Value,
    pub features: Vec<String>,
}

impl CargoUnit {
    pub fn new(
        package: &Package,
        target: &serde_json::Value,
        profile: &crate::cargo::RawProfile,
        test: bool,
        features: &[String],
    ) -> CargoUnit {
        CargoUnit {
            package_id: package.id.clone(),
            manifest_path: package.manifest_path.clone(),
            target: target.clone(),
            profile: serde_json::json!({
                "opt_level": profile.opt_level,
                "debuginfo": profile.debuginfo,
                "debug_assertions": profile.debug_assertions,
                "overflow_checks": profile.overflow_checks,
                "test": test,
            }),
            features: features.to_vec(),
        }
    }
}

impl UnitInfo {
    pub fn new(unit: &Unit, package: &Package) -> UnitInfo {
        UnitInfo {
            id: unit.id,
            crate_name: unit.crate_name.clone(),
            package: package.name.clone(),
            version: package.version.text.clone(),
            kind: unit.kind,
            mode: unit.mode,
            cargo: Arc::new(CargoUnit::new(
                package,
                &unit.cargo_target,
                &unit.profile,
                unit.mode.is_test(),
                &unit.features,
            )),
        }
    }

    /// The crate's name; a build script's is its package's (every build
    /// script's crate is `build_script_build`).
    pub fn name(&self) -> &str {
        match self.kind {
            UnitKind::BuildScript | UnitKind::RunBuildScript => &self.package,
            _ => &self.crate_name,
        }
    }

    /// `core_lib (lib)`, `serde (build-script)`.
    pub fn label(&self) -> String {
        format!(
            "{} ({})",
            self.name(),
            crate::graph::kind_label(self.kind, self.mode)
        )
    }
}

/// The stage a running job is in, as far as rustc's notifications tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Parsing, expansion, type checking, MIR: until `.rmeta` is written.
    FrontEnd,
    /// LLVM code generation after the metadata is out (libraries).
    Codegen,
    /// A binary: front-end, codegen and link in one rustc run.
    CompileAndLink,
    /// Re-running a binary's recorded link step.
    Relink,
    /// Running a build script.
    Run,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::FrontEnd => "front-end",
            Stage::Codegen => "codegen",
            Stage::CompileAndLink => "front-end → link",
            Stage::Relink => "relink",
            Stage::Run => "run",
        }
    }
}

#[derive(Debug, Clone)]
pub enum BuildEvent {
    /// Another build holds the target directory's lock; this one waits.
    WaitingForLock,
    BuildStarted {
        units: usize,
        to_compile: usize,
        jobs: usize,
        profile: Profile,
        /// Sum of recorded durations of the units to compile, when all are known.
        estimate: Option<Duration>,
    },
    /// `--dry-run` and `--explain`: what the plan will do with a unit.
    Planned {
        unit: UnitInfo,
        action: Action,
        stages: Vec<&'static str>,
        predicted: Duration,
        verdict: Verdict,
    },
    PlanFinished {
        predicted: Duration,
    },
    /// Re-planning during the build: `count` more units run a job than
    /// `BuildStarted` announced — a relink failed (the binary was counted;
    /// its job becomes a compile), or a build script printed something new
    /// (its package's units compile).
    JobsAdded {
        count: usize,
    },
    /// No job runs for this unit (it may still have taken a cosmetic change).
    Fresh {
        unit: UnitInfo,
        verdict: Verdict,
    },
    JobStarted {
        unit: UnitInfo,
        action: Action,
        stage: Stage,
        command: String,
        /// `KEY=value ...`: what orchestrator sets in the command's environment.
        env: String,
    },
    StageChanged {
        unit: UnitInfo,
        stage: Stage,
        elapsed: Duration,
    },
    Diagnostic {
        unit: UnitInfo,
        diagnostic: Diagnostic,
        /// Recorded by an earlier build of a unit that is fresh now, shown
        /// again as cargo does.
        replayed: bool,
    },
    JobFinished {
        unit: UnitInfo,
        action: Action,
        duration: Duration,
        verdict: Verdict,
        /// A compile whose outputs came from the shared cache.
        downloaded: bool,
    },
    /// The shared cache could not serve or take something; the build goes
    /// on (`unit`: the unit it happened for).
    CacheProblem {
        unit: Option<UnitInfo>,
        note: crate::cache::CacheNote,
    },
    /// What the build did with the shared cache (after every upload ended).
    CacheFinished(CacheReport),
    /// Something went wrong that the build recovers from by itself.
    Warning {
        unit: UnitInfo,
        message: String,
    },
    JobFailed {
        unit: UnitInfo,
        duration: Duration,
        message: String,
    },
    /// `--timings`: the HTML report is at `path`.
    TimingsWritten {
        path: std::path::PathBuf,
    },
    BuildFinished(BuildSummary),
    /// `test --no-run`: a test executable that was built.
    Executable {
        unit: UnitInfo,
        /// `unittests src/lib.rs`, `tests/it.rs`: what cargo calls it.
        what: String,
        path: std::path::PathBuf,
    },
    /// A test executable starts; its own output follows on the inherited
    /// stdout and stderr, one executable at a time.
    TestStarted {
        unit: UnitInfo,
        what: String,
        /// `None`: the library's doc tests (rustdoc compiles and runs them).
        path: Option<std::path::PathBuf>,
        /// The command line, with the environment orchestrator sets.
        command: String,
    },
    TestFinished {
        unit: UnitInfo,
        what: String,
        outcome: ExitOutcome,
        duration: Duration,
        /// cargo's flags that select this target again (`--lib`, `--test it`).
        rerun: String,
    },
    TestsFinished(TestSummary),
    /// `run`: the program about to replace orchestrator (`exec`).
    Running {
        program: std::path::PathBuf,
        args: Vec<String>,
    },
    /// What a unit's outputs are, after its job or when it is fresh (cargo's
    /// `compiler-artifact` and `build-script-executed`).
    Produced {
        unit: UnitInfo,
        produced: Produced,
        fresh: bool,
    },
    /// The live estimate of the time left: sent whenever a job starts or
    /// ends (human output only).
    Remaining {
        estimate: Duration,
    },
    /// `watch`: the command is done; waiting for a change.
    Watching {
        directories: usize,
    },
    /// `watch`: a watched file changed; the command runs again.
    WatchTriggered {
        path: std::path::PathBuf,
    },
    /// `clean`: what was removed (or, with `--dry-run`, would be).
    Cleaned {
        files: u64,
        bytes: u64,
        dry_run: bool,
    },
}

/// A unit's results as cargo reports them.
#[derive(Debug, Clone, PartialEq)]
pub enum Produced {
    /// A compiled crate: its files (final copies where they are uplifted)
    /// and, for a program, the executable.
    Compiled {
        filenames: Vec<std::path::PathBuf>,
        executable: Option<std::path::PathBuf>,
    },
    /// A build script's results.
    ScriptRan {
        linked_libs: Vec<String>,
        linked_paths: Vec<String>,
        cfgs: Vec<String>,
        env: Vec<(String, String)>,
        out_dir: std::path::PathBuf,
    },
}

/// One message rustc printed for a unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    /// `error`, `warning`, `note`...; empty for a line that is not a
    /// diagnostic (a crash, linker output).
    pub level: String,
    pub rendered: String,
    /// rustc's JSON diagnostic object as it printed it (cargo passes it on
    /// under `message`); `None` for plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
}

impl Diagnostic {
    /// The same message without ANSI colour sequences (in `rendered`, and as
    /// `\u001b[...m` escapes in the JSON), for a replay in a build that does
    /// not ask for colour.
    pub fn without_colors(&self) -> Diagnostic {
        Diagnostic {
            level: self.level.clone(),
            rendered: strip_ansi(&self.rendered, "\u{1b}["),
            json: self.json.as_deref().map(|j| strip_ansi(j, "\\u001b[")),
        }
    }
}

/// `text` without the SGR sequences that start with `intro` (`ESC [` ...
/// up to and including the final `m`).
fn strip_ansi(text: &str, intro: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(intro) {
        out.push_str(&rest[..at]);
        let after = &rest[at + intro.len()..];
        match after.find(|c: char| !(c.is_ascii_digit() || c == ';')) {
            Some(end) if after[end..].starts_with('m') => rest = &after[end + 1..],
            _ => {
                out.push_str(intro);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitOutcome {
    Code(i32),
    /// Killed by a signal (Unix).
    Signal(i32),
}

impl ExitOutcome {
    pub fn of(status: std::process::ExitStatus) -> ExitOutcome {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(signal) = status.signal() {
                return ExitOutcome::Signal(signal);
            }
        }
        ExitOutcome::Code(status.code().unwrap_or(-1))
    }

    pub fn success(self) -> bool {
        self == ExitOutcome::Code(0)
    }

    /// `exit status: 101`, `signal: 11, SIGSEGV: invalid memory reference`.
    pub fn describe(self) -> String {
        match self {
            ExitOutcome::Code(code) => format!("exit status: {code}"),
            ExitOutcome::Signal(signal) => {
                let name = match signal {
                    4 => ", SIGILL: illegal instruction",
                    6 => ", SIGABRT: process abort signal",
                    7 => ", SIGBUS: access to undefined memory",
                    8 => ", SIGFPE: erroneous arithmetic operation",
                    9 => ", SIGKILL: kill",
                    11 => ", SIGSEGV: invalid memory reference",
                    15 => ", SIGTERM: termination signal",
                    _ => "",
                };
                format!("signal: {signal}{name}")
            }
        }
    }
}

/// The end of `orchestrator test`.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSummary {
    pub passed: usize,
    /// Rerun flags of the executables that failed.
    pub failed: Vec<String>,
    /// Executables not run because an earlier one failed (no `--no-fail-fast`).
    pub skipped: usize,
    pub duration: Duration,
}

/// Why a unit got its action: the change class and a one-line explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub change: Change,
    /// `core_lib: signature — trait Storage: method flush added (src/store.rs)`
    /// without the crate name: `signature — trait Storage: ...`.
    pub explain: String,
}

#[derive(Debug, Clone)]
pub struct BuildSummary {
    pub success: bool,
    pub compiled: usize,
    /// Compiles served by the shared cache.
    pub downloaded: usize,
    pub relinked: usize,
    /// Build scripts run.
    pub ran: usize,
    pub fresh: usize,
    /// With `--touch`: what the plan predicted, to show beside the measured time.
    pub predicted: Option<Duration>,
    /// Every job that ran, in the order they finished.
    pub timings: Vec<JobTiming>,
    /// Scheduler statistics; `None` when no job ran.
    pub schedule: Option<ScheduleStats>,
    /// Labels of units whose job failed.
    pub failed: Vec<String>,
    pub duration: Duration,
    pub profile: Profile,
    pub cache: Option<CacheReport>,
}

/// The shared cache in one build.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheReport {
    /// The store, without credentials.
    pub store: String,
    pub read_only: bool,
    pub counts: crate::cache::CacheCounts,
    /// Compiles that could not be stored, with why.
    pub not_stored: Vec<String>,
}

/// When a job ran, in milliseconds since the first job could start.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTiming {
    pub unit: UnitId,
    pub action: Action,
    /// Served by the shared cache.
    pub downloaded: bool,
    pub start_ms: u64,
    /// When the `.rmeta` was out (pipelined libraries).
    pub metadata_ms: Option<u64>,
    pub end_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleStats {
    /// Longest chain of jobs, with pipelining, from measured durations.
    pub critical_path_ms: u64,
    /// Sum of all job durations.
    pub job_time_ms: u64,
    /// wall / max(critical path, job time / workers): 1.0 is the limit.
    pub efficiency: f64,
    /// The jobs on the critical path, first to last.
    pub critical_path: Vec<UnitId>,
}

#[cfg(test)]
mod tests {
    use super::Diagnostic;

    #[test]
    fn colours_are_dropped_from_text_and_json() {
        let d = Diagnostic {
            level: "warning".into(),
            rendered: "\u{1b}[1m\u{1b}[33mwarning\u{1b}[0m: x [not a colour]".into(),
            json: Some(r#"{"rendered":"\u001b[1mwarning\u001b[0m: x"}"#.into()),
        };
        let plain = d.without_colors();
        assert_eq!(plain.rendered, "warning: x [not a colour]");
        assert_eq!(plain.json.as_deref(), Some(r#"{"rendered":"warning: x"}"#));
    }
}
