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

use crate::driver::{self, BuildOptions, Session, Warm};
use crate::error::{Error, Result};
use crate::events::{BuildEvent, ExitOutcome, TestSummary, UnitInfo};
use crate::graph::{Doctest, Mode, UnitId, UnitKind};
use crate::invoke::DoctestOptions;
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
    /// `--color` for rustdoc: `auto`, `always`, `never`.
    pub color: String,
    /// `-q`: libtest's `--quiet` for doc tests, as cargo passes it.
    pub quiet: bool,
    /// rustdoc's `--error-format`: `human`, or `json` under `--message-format json`.
    pub error_format: String,
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
    let several_packages = several_packages(session);
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
    let cx = session.invocation_context(false, false, false);
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
        // cargo passes `-q` on to libtest harnesses.
        let mut args = run.args.clone();
        if run.quiet && session.graph.unit(exe.unit).test_harness() {
            args.push("--quiet".to_owned());
        }
        let invocation = cx.target_process(exe.unit, &exe.path, &args, &session.scripts);
        reporter.event(&BuildEvent::TestStarted {
            unit: info(exe.unit),
            what: exe.what.clone(),
            path: Some(exe.path.clone()),
            command: invocation.display_with_env(),
        });
        let one = Instant::now();
        let outcome = wait(invocation, "run test executable")?;
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
    // Doc tests come last, as in cargo, unless an executable failed first.
    let stop = !run.no_fail_fast && !summary.failed.is_empty();
    let rustdocflags = rustdocflags(&session.env);
    let options = DoctestOptions {
        color: &run.color,
        test_args: &run.args,
        quiet: run.quiet,
        rustdocflags: &rustdocflags,
        error_format: &run.error_format,
    };
    for (i, doctest) in session.graph.doctests.iter().enumerate() {
        if stop || crate::interrupt::received().is_some() {
            summary.skipped += session.graph.doctests.len() - i;
            break;
        }
        let unit = doctest_info(session, doctest);
        let invocation = cx.rustdoc_test(doctest, &options, &session.scripts);
        reporter.event(&BuildEvent::TestStarted {
            unit: unit.clone(),
            what: format!("Doc-tests {}", doctest.crate_name),
            path: None,
            command: invocation.display_with_env(),
        });
        let one = Instant::now();
        let outcome = wait(invocation, "run rustdoc")?;
        let rerun = match several_packages(session) {
            true => format!("-p {} --doc", session.graph.package(doctest.pkg).name),
            false => "--doc".to_owned(),
        };
        reporter.event(&BuildEvent::TestFinished {
            unit,
            what: format!("Doc-tests {}", doctest.crate_name),
            outcome,
            duration: one.elapsed(),
            rerun: rerun.clone(),
        });
        match outcome.success() {
            true => summary.passed += 1,
            false if run.no_fail_fast => summary.failed.push(rerun),
            false => {
                summary.failed.push(rerun);
                summary.skipped += session.graph.doctests.len() - i - 1;
                break;
            }
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

/// Run a child to its end with the inherited stdout and stderr, reachable by
/// signals.
fn wait(invocation: crate::rustc::Invocation, what: &'static str) -> Result<ExitOutcome> {
    let mut cmd = invocation.command();
    let status = crate::interrupt::spawn(&mut cmd).and_then(|mut child| {
        let status = child.wait();
        crate::interrupt::forget(child.id());
        status
    });
    status
        .map(ExitOutcome::of)
        .map_err(|e| Error::io(what, &invocation.program, e))
}

/// A doc test as events name it: the library it documents, in test mode.
fn doctest_info(session: &Session, doctest: &Doctest) -> UnitInfo {
    let package = session.graph.package(doctest.pkg);
    UnitInfo {
        id: doctest
            .deps
            .iter()
            .map(|d| d.unit)
            .find(|&d| session.graph.unit(d).pkg == doctest.pkg)
            .unwrap_or(UnitId(0)),
        crate_name: doctest.crate_name.clone(),
        package: package.name.clone(),
        version: package.version.text.clone(),
        kind: doctest.kind,
        mode: Mode::Test,
        cargo: std::sync::Arc::new(crate::events::CargoUnit::new(
            package,
            &doctest.cargo_target,
            &doctest.profile,
            true,
            &doctest.features,
        )),
    }
}

/// Whether the plan tests more than one package (rerun hints then name it).
fn several_packages(session: &Session) -> bool {
    let mut pkgs: Vec<_> = session
        .graph
        .units()
        .iter()
        .filter(|u| u.is_root && u.mode == Mode::Test)
        .map(|u| u.pkg)
        .chain(session.graph.doctests.iter().map(|d| d.pkg))
        .collect();
    pkgs.sort();
    pkgs.dedup();
    pkgs.len() > 1
}

/// `CARGO_ENCODED_RUSTDOCFLAGS` (split on 0x1f), else `RUSTDOCFLAGS`
/// (split on whitespace), as cargo reads them for rustdoc.
fn rustdocflags(env: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    if let Some(encoded) = env.get("CARGO_ENCODED_RUSTDOCFLAGS") {
        return encoded
            .split('\x1f')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
    }
    env.get("RUSTDOCFLAGS")
        .map(|f| f.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// `run`, as cargo's `run` picks the program: `--bin` / `--example` as
/// given; otherwise the selected package's only binary, else its
/// `default-run`, else cargo's error listing the binaries. Then build it and
/// run it.
pub fn build_and_run(
    opts: &BuildOptions,
    args: &[String],
    reporter: &mut dyn Reporter,
) -> Result<i32> {
    let (session, program) = build_program(opts, args, reporter, Warm::default())?;
    drop(session);
    program.exec()
}

/// [`build_and_run`] without handing over the process: the program runs as
/// a child (`watch run` stops it when a file changes). The session is
/// returned too; drop it soon, it holds the target directory's lock.
pub fn build_and_spawn(
    opts: &BuildOptions,
    args: &[String],
    reporter: &mut dyn Reporter,
    warm: Warm,
) -> Result<(Session, std::process::Child)> {
    let (session, program) = build_program(opts, args, reporter, warm)?;
    let child = program.spawn()?;
    Ok((session, child))
}

/// Choose the program, build it, and prepare its command.
fn build_program(
    opts: &BuildOptions,
    args: &[String],
    reporter: &mut dyn Reporter,
    mut warm: Warm,
) -> Result<(Session, Program)> {
    let selected = opts
        .cargo_args
        .iter()
        .any(|a| a == "--bin" || a == "--example");
    let mut opts = opts.clone();
    if !selected {
        let mut probe = opts.clone();
        probe.cargo_args.push("--bins".to_owned());
        let session = driver::prepare(&probe, reporter, warm)?;
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
        warm = Warm::keep(session);
        opts.cargo_args.push("--bin".to_owned());
        opts.cargo_args.push(name);
    }
    let (session, _) = driver::build_session(&opts, reporter, warm)?;
    let program = program(&session, args, reporter)?;
    Ok((session, program))
}

/// The program to run, with cargo's run environment.
struct Program {
    path: PathBuf,
    invocation: crate::rustc::Invocation,
}

impl Program {
    /// On Unix, replace orchestrator (`exec`, as cargo does), so the
    /// program's exit code and signals are the command's; this returns only
    /// if that fails. Elsewhere it is waited for and its exit code returned.
    fn exec(self) -> Result<i32> {
        let mut cmd = self.invocation.command();
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let error = cmd.exec();
            Err(Error::io("run", &self.path, error))
        }
        #[cfg(not(unix))]
        {
            let status = crate::interrupt::spawn(&mut cmd)
                .and_then(|mut child| child.wait())
                .map_err(|e| Error::io("run", &self.path, e))?;
            Ok(status.code().unwrap_or(101))
        }
    }

    fn spawn(self) -> Result<std::process::Child> {
        crate::interrupt::spawn(&mut self.invocation.command())
            .map_err(|e| Error::io("run", &self.path, e))
    }
}

/// `run`: the program cargo's plan selected (its one root binary or
/// example), with `args`.
fn program(session: &Session, args: &[String], reporter: &mut dyn Reporter) -> Result<Program> {
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
    let cx = session.invocation_context(false, false, false);
    let invocation = cx.target_process(unit.id, &path, args, &session.scripts);
    reporter.event(&BuildEvent::Running {
        program: path.clone(),
        args: args.to_vec(),
    });
    Ok(Program { path, invocation })
}
