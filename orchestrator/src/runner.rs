//! After a build: running what it built, as cargo does.
//!
//! Owns: which executables `test` runs and in what order (cargo's: by
//! package, then library, binaries, integration tests, benches, examples,
//! then by name), the environment they run in (`invoke::target_process`),
//! the per-executable outcome and the final summary, and `run`'s hand-over
//! to the program.
//! Never: prints (events go to the reporter; a test's own output goes to the
//! inherited stdout and stderr, one executable at a time, so no two
//! executables' lines interleave), or decides what is built.

use std::path::PathBuf;
use std::time::Instant;

use crate::driver::{self, BuildOptions, Session};
use crate::error::{Error, Result};
use crate::events::{BuildEvent, ExitOutcome, TestSummary};
use crate::graph::{Mode, UnitId, UnitKind};
use crate::report::Reporter;

/// What `orchestrator test` was asked besides the build.
#[derive(Debug, Clone, Default)]
pub struct TestRun {
    /// Build the test executables, list them, run nothing.
    pub no_run: bool,
    /// Run every executable even after one failed.
    pub no_fail_fast: bool,
    /// Passed to every test executable: the filter, then what follows `--`.
    pub args: Vec<String>,
}

/// One test executable of the plan.
struct TestExe {
    unit: UnitId,
    path: PathBuf,
    /// `unittests src/lib.rs`, `tests/it.rs`.
    what: String,
    /// cargo's flags that select it again.
    rerun: String,
}

/// How cargo orders test executables: package (name, version, id), then
/// target kind (library, binaries, tests, benches, examples), then name.
type TestOrder = ((String, String, String), u8, String);

/// The test executables cargo's plan asked for, in cargo's order.
fn test_executables(session: &Session) -> Vec<TestExe> {
    let graph = &session.graph;
    let several_packages = {
        let mut pkgs: Vec<_> = graph
            .units()
            .iter()
            .filter(|u| u.is_root && u.mode == Mode::Test)
            .map(|u| u.pkg)
            .collect();
        pkgs.sort();
        pkgs.dedup();
        pkgs.len() > 1
    };
    // cargo orders by package id: name, version, source.
    let mut exes: Vec<(TestOrder, TestExe)> = graph
        .units()
        .iter()
        .filter(|u| u.is_root && u.mode == Mode::Test)
        .filter_map(|u| {
            let package = graph.package(u.pkg);
            let path = session.outputs[u.id].executable()?.to_path_buf();
            let src = u
                .target
                .src_path
                .strip_prefix(&package.root)
                .unwrap_or(&u.target.src_path)
                .display()
                .to_string();
            let (order, what, flag) = match u.kind {
                UnitKind::Lib | UnitKind::ProcMacro => {
                    (0, format!("unittests {src}"), "--lib".to_owned())
                }
                UnitKind::Bin => (
                    1,
                    format!("unittests {src}"),
                    format!("--bin {}", u.target.name),
                ),
                UnitKind::Test => (2, src, format!("--test {}", u.target.name)),
                UnitKind::Bench => (3, src, format!("--bench {}", u.target.name)),
                _ => (
                    4,
                    format!("unittests {src}"),
                    format!("--example {}", u.target.name),
                ),
            };
            let rerun = match several_packages {
                true => format!("-p {} {flag}", package.name),
                false => flag,
            };
            Some((
                (
                    (
                        package.name.clone(),
                        package.version.text.clone(),
                        package.id.clone(),
                    ),
                    order,
                    u.target.name.clone(),
                ),
                TestExe {
                    unit: u.id,
                    path,
                    what,
                    rerun,
                },
            ))
        })
        .collect();
    exes.sort_by(|a, b| a.0.cmp(&b.0));
    exes.into_iter().map(|(_, exe)| exe).collect()
}

/// Run (or with `--no-run`, list) the test executables of a finished build.
/// A failed executable is an error (exit 101) after the summary.
pub fn test(session: &Session, run: &TestRun, reporter: &mut dyn Reporter) -> Result<TestSummary> {
    let started = Instant::now();
    let exes = test_executables(session);
    let info = |id: UnitId| session.infos[id].clone();
    if run.no_run {
        for exe in &exes {
            reporter.event(&BuildEvent::Executable {
                unit: info(exe.unit),
                what: exe.what.clone(),
                path: exe.path.clone(),
            });
        }
        return Ok(TestSummary {
            passed: 0,
            failed: Vec::new(),
            skipped: exes.len(),
            duration: started.elapsed(),
        });
    }
    let cx = session.invocation_context(false, false);
    let mut summary = TestSummary {
        passed: 0,
        failed: Vec::new(),
        skipped: 0,
        duration: started.elapsed(),
    };
    for (i, exe) in exes.iter().enumerate() {
        if crate::interrupt::received().is_some() {
            summary.skipped = exes.len() - i;
            break;
        }
        reporter.event(&BuildEvent::TestStarted {
            unit: info(exe.unit),
            what: exe.what.clone(),
            path: exe.path.clone(),
        });
        let one = Instant::now();
        let invocation = cx.target_process(exe.unit, &exe.path, &run.args, &session.scripts);
        let mut cmd = invocation.command();
        let status = crate::interrupt::spawn(&mut cmd).and_then(|mut child| {
            let status = child.wait();
            crate::interrupt::forget(child.id());
            status
        });
        let outcome = match status {
            Ok(status) => ExitOutcome::of(status),
            Err(e) => return Err(Error::io("run test executable", &exe.path, e)),
        };
        reporter.event(&BuildEvent::TestFinished {
            unit: info(exe.unit),
            what: exe.what.clone(),
            outcome,
            duration: one.elapsed(),
            rerun: exe.rerun.clone(),
        });
        if outcome.success() {
            summary.passed += 1;
            continue;
        }
        summary.failed.push(exe.rerun.clone());
        if !run.no_fail_fast {
            summary.skipped = exes.len() - i - 1;
            break;
        }
    }
    summary.duration = started.elapsed();
    reporter.event(&BuildEvent::TestsFinished(summary.clone()));
    if !summary.failed.is_empty() {
        return Err(Error::TestsFailed {
            targets: summary.failed.clone(),
        });
    }
    Ok(summary)
}

/// `run`, as cargo's `run` picks the program: `--bin` / `--example` as
/// given; otherwise the selected package's only binary, else its
/// `default-run`, else cargo's error listing the binaries. Then build it and
/// run it ([`run`]).
pub fn build_and_run(
    opts: &BuildOptions,
    args: &[String],
    reporter: &mut dyn Reporter,
) -> Result<i32> {
    let selected = opts
        .cargo_args
        .iter()
        .any(|a| a == "--bin" || a == "--example");
    let mut opts = opts.clone();
    if !selected {
        let mut probe = opts.clone();
        probe.cargo_args.push("--bins".to_owned());
        let session = driver::prepare(&probe, reporter)?;
        let graph = &session.graph;
        let mut bins: Vec<(&str, Option<&str>)> = graph
            .units()
            .iter()
            .filter(|u| u.is_root && u.kind == UnitKind::Bin && u.mode == Mode::Build)
            .map(|u| {
                let package = graph.package(u.pkg);
                (u.target.name.as_str(), package.default_run.as_deref())
            })
            .collect();
        bins.sort();
        bins.dedup();
        let name = match bins.as_slice() {
            [] => {
                return Err(Error::Usage {
                    message: "a bin target must be available for `run`".to_owned(),
                    help: "add a binary target, or use `--example NAME`".to_owned(),
                });
            }
            [(one, _)] => one.to_string(),
            [(_, Some(default)), ..] if bins.iter().any(|(b, _)| b == default) => {
                default.to_string()
            }
            _ => {
                let names: Vec<&str> = bins.iter().map(|(b, _)| *b).collect();
                return Err(Error::Usage {
                    message: format!(
                        "`run` could not determine which binary to run; available binaries: {}",
                        names.join(", ")
                    ),
                    help: "use the `--bin` option to specify a binary, or the `default-run` \
                           manifest key"
                        .to_owned(),
                });
            }
        };
        drop(session);
        opts.cargo_args.push("--bin".to_owned());
        opts.cargo_args.push(name);
    }
    let (session, _) = driver::build_session(&opts, reporter)?;
    run(&session, args, reporter)
}

/// `run`: the program cargo's plan selected (its one root binary or
/// example), with cargo's run environment and `args`. On Unix it replaces
/// orchestrator (`exec`, as cargo does), so its exit code and signals are
/// the command's; this returns only if that fails. Elsewhere it is waited
/// for and its exit code returned.
pub fn run(session: &Session, args: &[String], reporter: &mut dyn Reporter) -> Result<i32> {
    let graph = &session.graph;
    let mut roots = graph.units().iter().filter(|u| {
        u.is_root && u.mode == Mode::Build && matches!(u.kind, UnitKind::Bin | UnitKind::Example)
    });
    let (Some(unit), None) = (roots.next(), roots.next()) else {
        return Err(Error::Usage {
            message: "cargo's plan for `run` does not hold exactly one binary".to_owned(),
            help: "select one with `--bin NAME` or `--example NAME`".to_owned(),
        });
    };
    let outputs = &session.outputs[unit.id];
    let path = outputs
        .uplifts
        .first()
        .map(|(_, to)| to.clone())
        .or_else(|| outputs.executable().map(PathBuf::from))
        .ok_or_else(|| Error::Usage {
            message: format!("`{}` has no executable", unit.target.name),
            help: "select a binary with `--bin NAME`".to_owned(),
        })?;
    let cx = session.invocation_context(false, false);
    let invocation = cx.target_process(unit.id, &path, args, &session.scripts);
    reporter.event(&BuildEvent::Running {
        program: path.clone(),
        args: args.to_vec(),
    });
    let mut cmd = invocation.command();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = cmd.exec();
        Err(Error::io("run", &path, error))
    }
    #[cfg(not(unix))]
    {
        let status = crate::interrupt::spawn(&mut cmd)
            .and_then(|mut child| child.wait())
            .map_err(|e| Error::io("run", &path, e))?;
        Ok(status.code().unwrap_or(101))
    }
}
