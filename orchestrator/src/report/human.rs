//! Human output: indicatif bars on a terminal, one plain line per event otherwise.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Reporter, Verbosity};
use crate::error::Error;
use crate::events::{BuildEvent, BuildSummary, Diagnostic, Stage, UnitInfo};
use crate::graph::{UnitId, UnitKind};
use crate::plan::{Action, Change};

pub struct Human {
    verbosity: Verbosity,
    /// `--explain`: one line per crate that is not fresh, naming the cause.
    explain: bool,
    color: bool,
    bars: Option<Bars>,
    warnings: HashMap<UnitId, usize>,
}

/// One overall bar plus one line per running job.
struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    jobs: HashMap<UnitId, ProgressBar>,
    /// The coordinator's latest estimate of the time left, and when it
    /// came: the bar counts down from it between updates.
    remaining: Arc<Mutex<Option<(Instant, Duration)>>>,
}

impl Human {
    pub fn new(verbosity: Verbosity, color: bool, tty: bool, explain: bool) -> Human {
        let bars = (tty && verbosity > Verbosity::Quiet).then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            overall: ProgressBar::hidden(),
            jobs: HashMap::new(),
            remaining: Arc::new(Mutex::new(None)),
        });
        Human {
            verbosity,
            explain,
            color,
            bars,
            warnings: HashMap::new(),
        }
    }

    fn style(&self, style: Style) -> Style {
        if self.color {
            style.force_styling(true)
        } else {
            style.force_styling(false)
        }
    }

    /// `   Compiling core_lib v0.1.0 (lib)`, cargo's right-aligned verbs.
    fn status(&self, verb: &str, style: Style, rest: &str) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        let verb = self.style(style.bold()).apply_to(format!("{verb:>12}"));
        self.line(&format!("{verb} {rest}"));
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some(bars) => bars.multi.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    fn raw(&self, text: &str) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        if !text.is_empty() {
            self.line(text);
        }
    }

    fn start_bars(&mut self, total: usize, jobs: usize, estimate: Option<Duration>) {
        let Some(bars) = &mut self.bars else { return };
        let remaining = bars.remaining.clone();
        let style = ProgressStyle::with_template(
            "{prefix:>12.cyan.bold} [{bar:30}] {pos}/{len} crates  {elapsed}{eta_left}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "eta_left",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let left = remaining.lock().ok().and_then(|r| *r);
                if let Some((at, left)) = left {
                    let left = left.saturating_sub(at.elapsed());
                    let _ = write!(w, "  ETA {:.1}s", left.as_secs_f64());
                }
            },
        )
        .progress_chars("=> ");
        let overall = bars.multi.add(ProgressBar::new(total as u64));
        overall.set_style(style);
        overall.set_prefix("Building");
        overall.enable_steady_tick(Duration::from_millis(120));
        bars.overall = overall;
        // Until the first job starts: the recorded work spread over the workers.
        bars.set_remaining(estimate.map(|e| e / jobs.max(1) as u32));
    }
}

impl Bars {
    fn set_remaining(&self, estimate: Option<Duration>) {
        if let Ok(mut remaining) = self.remaining.lock() {
            *remaining = estimate.map(|e| (Instant::now(), e));
        }
    }

    fn job_started(&mut self, unit: &UnitInfo, stage: Stage) {
        let style = ProgressStyle::with_template("{prefix:>12.green} {msg} {elapsed:.dim}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(style);
        bar.set_prefix("Compiling");
        bar.set_message(format!("{}: {}", unit.label(), stage.as_str()));
        bar.enable_steady_tick(Duration::from_millis(120));
        self.jobs.insert(unit.id, bar);
    }

    fn job_ended(&mut self, unit: &UnitInfo) {
        if let Some(bar) = self.jobs.remove(&unit.id) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
    }
}

impl Reporter for Human {
    fn event(&mut self, event: &BuildEvent) {
        match event {
            BuildEvent::TimingsWritten { path } => self.status(
                "Timings",
                Style::new().cyan(),
                &format!("report written to {}", path.display()),
            ),
            BuildEvent::JobsAdded { count } => {
                if let Some(bars) = &self.bars {
                    bars.overall.inc_length(*count as u64);
                }
            }
            BuildEvent::WaitingForLock => self.status(
                "Blocking",
                Style::new().cyan(),
                "waiting for another build of this target directory to finish",
            ),
            BuildEvent::BuildStarted {
                to_compile,
                jobs,
                estimate,
                ..
            } => {
                if *to_compile > 0 {
                    self.start_bars(*to_compile, *jobs, *estimate);
                }
            }
            BuildEvent::Planned {
                unit,
                action,
                stages,
                predicted,
                verdict,
            } => {
                if self.explain && *action != Action::Fresh {
                    self.status(
                        "Explain",
                        Style::new().cyan(),
                        &format!("{}: {}", unit.name(), verdict.explain),
                    );
                } else if !self.explain {
                    let stages = if stages.is_empty() {
                        "fresh".to_owned()
                    } else {
                        stages.join(" → ")
                    };
                    let rest = format!(
                        "{} [{stages}] ~{} — {}",
                        unit.label(),
                        secs(*predicted),
                        verdict.explain
                    );
                    let verb = match action {
                        Action::Compile => "Compile",
                        Action::Relink => "Relink",
                        Action::Run => "Run",
                        Action::Fresh | Action::Cosmetic => "Fresh",
                    };
                    self.status(verb, Style::new().cyan(), &rest);
                }
            }
            BuildEvent::PlanFinished { predicted } => {
                let rest = format!("wall time ~{} (from recorded durations)", secs(*predicted));
                self.status("Predicted", Style::new().green(), &rest);
            }
            BuildEvent::Fresh { unit, verdict } => {
                if verdict.change == Change::Cosmetic {
                    let rest = format!(
                        "{}: comments or whitespace only, no rustc run",
                        unit.label()
                    );
                    self.status("Cosmetic", Style::new().green(), &rest);
                } else if self.verbosity >= Verbosity::Verbose {
                    self.status("Fresh", Style::new().green(), &describe(unit));
                }
                self.warnings_generated(unit);
            }
            BuildEvent::Warning { unit, message } => {
                // A failed relink: its line goes; the compile that follows gets its own.
                if let Some(bar) = self.bars.as_mut().and_then(|b| b.jobs.remove(&unit.id)) {
                    bar.finish_and_clear();
                }
                let label = self.style(Style::new().yellow().bold()).apply_to("warning");
                self.line(&format!("{label}: {}: {message}", unit.label()));
            }
            BuildEvent::JobStarted {
                unit,
                action,
                stage,
                command,
                env,
            } => {
                let verb = match action {
                    Action::Relink => "Relinking",
                    Action::Run => "Running",
                    _ if unit.mode.is_check() => "Checking",
                    _ => "Compiling",
                };
                self.status(verb, Style::new().green(), &describe(unit));
                if self.verbosity >= Verbosity::Verbose {
                    let env = match self.verbosity {
                        Verbosity::VeryVerbose if !env.is_empty() => format!("{env} "),
                        _ => String::new(),
                    };
                    self.status(
                        "Running",
                        Style::new().green(),
                        &format!("`{env}{command}`"),
                    );
                }
                if let Some(bars) = &mut self.bars {
                    bars.job_started(unit, *stage);
                }
            }
            BuildEvent::StageChanged {
                unit,
                stage,
                elapsed,
            } => {
                if let Some(bar) = self.bars.as_ref().and_then(|b| b.jobs.get(&unit.id)) {
                    bar.set_message(format!("{}: {}", unit.label(), stage.as_str()));
                } else if self.verbosity >= Verbosity::Verbose {
                    let rest = format!("{} metadata ready after {}", unit.label(), secs(*elapsed));
                    self.status("Pipelined", Style::new().cyan(), &rest);
                }
            }
            BuildEvent::Diagnostic {
                unit, diagnostic, ..
            } => {
                let Diagnostic {
                    level, rendered, ..
                } = diagnostic;
                if level == "warning" {
                    if self.verbosity == Verbosity::Quiet {
                        return;
                    }
                    *self.warnings.entry(unit.id).or_default() += 1;
                }
                self.raw(rendered);
            }
            BuildEvent::JobFinished {
                unit,
                action,
                duration,
                downloaded,
                ..
            } => {
                if let Some(bars) = &mut self.bars {
                    bars.job_ended(unit);
                }
                let verb = match action {
                    _ if *downloaded => "Downloaded",
                    Action::Relink => "Relinked",
                    Action::Run => "Ran",
                    _ if unit.mode.is_check() => "Checked",
                    _ => "Compiled",
                };
                // One line per unit, as cargo's scrollback: the finish line
                // (with the job's time) only with -v.
                if self.verbosity >= Verbosity::Verbose {
                    let rest = format!("{} in {}", unit.label(), secs(*duration));
                    self.status(verb, Style::new().green(), &rest);
                }
                self.warnings_generated(unit);
            }
            BuildEvent::JobFailed { unit, message, .. } => {
                if let Some(bars) = &mut self.bars {
                    bars.job_ended(unit);
                }
                let error = self.style(Style::new().red().bold()).apply_to("error");
                match unit.kind {
                    UnitKind::RunBuildScript => self.line(&format!("{error}: {message}")),
                    _ => self.line(&format!(
                        "{error}: could not compile `{}` ({}) due to the errors above ({message})",
                        unit.name(),
                        unit.kind.as_str()
                    )),
                }
            }
            BuildEvent::CacheProblem { unit, note } => {
                let warning = self.style(Style::new().yellow().bold()).apply_to("warning");
                match unit {
                    Some(unit) => self.line(&format!("{warning}: {}: {note}", unit.label())),
                    None => self.line(&format!("{warning}: {note}")),
                }
            }
            BuildEvent::CacheFinished(report) => {
                if self.verbosity == Verbosity::Quiet {
                    return;
                }
                let c = &report.counts;
                if c.hits + c.misses + c.uploaded == 0 && report.not_stored.is_empty() {
                    return;
                }
                let mut stored = match report.read_only {
                    true => "read-only".to_owned(),
                    false => format!("{} stored ({} up)", c.uploaded, bytes(c.uploaded_bytes)),
                };
                if c.evicted > 0 {
                    stored.push_str(&format!(
                        ", {} least recently used removed ({})",
                        c.evicted,
                        bytes(c.evicted_bytes)
                    ));
                }
                let rest = format!(
                    "{}: {} hit{} ({} down), {} miss{}, {stored}",
                    report.store,
                    c.hits,
                    if c.hits == 1 { "" } else { "s" },
                    bytes(c.downloaded_bytes),
                    c.misses,
                    if c.misses == 1 { "" } else { "es" },
                );
                self.status("Cache", Style::new().cyan(), &rest);
                for unit in &report.not_stored {
                    let warning = self.style(Style::new().yellow().bold()).apply_to("warning");
                    self.line(&format!("{warning}: not stored in the build cache: {unit}"));
                }
            }
            BuildEvent::BuildFinished(summary) => {
                if let Some(bars) = &self.bars {
                    bars.overall.finish_and_clear();
                    let _ = bars.multi.clear();
                }
                self.summary(summary);
            }
            BuildEvent::Executable { what, path, .. } => {
                let path = shown(path);
                self.status(
                    "Executable",
                    Style::new().green(),
                    &format!("{what} ({path})"),
                );
            }
            BuildEvent::TestStarted {
                what,
                path: Some(path),
                ..
            } => {
                let path = shown(path);
                self.status("Running", Style::new().green(), &format!("{what} ({path})"));
            }
            BuildEvent::TestStarted {
                unit,
                path: None,
                command,
                ..
            } => {
                self.status("Doc-tests", Style::new().green(), unit.name());
                if self.verbosity >= Verbosity::Verbose {
                    self.status("Running", Style::new().green(), &format!("`{command}`"));
                }
            }
            BuildEvent::TestFinished { outcome, rerun, .. } => {
                if !outcome.success() {
                    let error = self.style(Style::new().red().bold()).apply_to("error");
                    self.line(&format!(
                        "{error}: test failed ({}), to rerun pass `{rerun}`",
                        outcome.describe()
                    ));
                }
            }
            BuildEvent::TestsFinished(summary) => {
                let failed = summary.failed.len();
                let mut rest = format!(
                    "{} test executable{} in {}: {} passed, {failed} failed",
                    summary.passed + failed + summary.skipped,
                    if summary.passed + failed + summary.skipped == 1 {
                        ""
                    } else {
                        "s"
                    },
                    secs(summary.duration),
                    summary.passed,
                );
                if summary.skipped > 0 {
                    rest.push_str(&format!(
                        ", {} not run (use --no-fail-fast to run them)",
                        summary.skipped
                    ));
                }
                let style = match failed {
                    0 => Style::new().green(),
                    _ => Style::new().red(),
                };
                self.status("Summary", style, &rest);
                if failed > 1 {
                    let error = self.style(Style::new().red().bold()).apply_to("error");
                    let list: Vec<String> = summary
                        .failed
                        .iter()
                        .map(|f| format!("    `{f}`"))
                        .collect();
                    self.line(&format!(
                        "{error}: {failed} targets failed:\n{}",
                        list.join("\n")
                    ));
                }
            }
            BuildEvent::Remaining { estimate } => {
                if let Some(bars) = &self.bars {
                    bars.set_remaining(Some(*estimate));
                }
            }
            BuildEvent::Watching { directories } => {
                let rest = format!(
                    "{directories} director{} for changes (Ctrl-C to stop)",
                    if *directories == 1 { "y" } else { "ies" }
                );
                self.status("Watching", Style::new().cyan(), &rest);
            }
            BuildEvent::WatchTriggered { path } => {
                self.status("Changed", Style::new().cyan(), &shown(path));
            }
            // cargo's artifact messages are for machines.
            BuildEvent::Produced { .. } => {}
            BuildEvent::Cleaned {
                files,
                bytes,
                dry_run,
            } => {
                let verb = if *dry_run { "Summary" } else { "Removed" };
                let size = match *bytes {
                    b if b >= 1 << 30 => format!("{:.1}GiB", b as f64 / (1u64 << 30) as f64),
                    b if b >= 1 << 20 => format!("{:.1}MiB", b as f64 / (1u64 << 20) as f64),
                    b if b >= 1 << 10 => format!("{:.1}KiB", b as f64 / 1024.0),
                    b => format!("{b}B"),
                };
                let files = match files {
                    1 => "1 file".to_owned(),
                    n => format!("{n} files"),
                };
                let note = if *dry_run {
                    " (dry run: nothing removed)"
                } else {
                    ""
                };
                self.status(
                    verb,
                    Style::new().green(),
                    &format!("{files}, {size} total{note}"),
                );
            }
            BuildEvent::Running { program, args } => {
                let command = std::iter::once(shown(program))
                    .chain(args.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" ");
                self.status("Running", Style::new().green(), &format!("`{command}`"));
            }
        }
    }

    fn error(&mut self, error: &Error) {
        if let Some(bars) = &self.bars {
            let _ = bars.multi.clear();
        }
        if error.reported_per_unit() {
            return;
        }
        let label = self.style(Style::new().red().bold()).apply_to("error");
        self.line(&format!("{label}: {error}"));
        if let Some(help) = error.help() {
            let label = self.style(Style::new().cyan().bold()).apply_to("help");
            self.line(&format!("  {label}: {help}"));
        }
    }
}

impl Human {
    /// cargo's ``warning: `core_lib` (lib) generated 2 warnings`` after a
    /// unit's warnings (compiled or replayed).
    fn warnings_generated(&mut self, unit: &UnitInfo) {
        let Some(n) = self.warnings.remove(&unit.id).filter(|n| *n > 0) else {
            return;
        };
        let label = self.style(Style::new().yellow().bold()).apply_to("warning");
        self.line(&format!(
            "{label}: `{}` ({}) generated {n} warning{}",
            unit.name(),
            crate::graph::kind_label(unit.kind, unit.mode),
            if n == 1 { "" } else { "s" }
        ));
    }

    fn summary(&self, summary: &BuildSummary) {
        if !summary.success {
            return; // each failed unit said so as it failed
        }
        let scripts = match summary.ran {
            0 => String::new(),
            n => format!(", {n} build script{} run", if n == 1 { "" } else { "s" }),
        };
        let downloaded = match summary.downloaded {
            0 => String::new(),
            n => format!(", {n} downloaded"),
        };
        let mut rest = format!(
            "{} in {}: {} compiled{downloaded}, {} relinked{scripts}, {} fresh",
            summary.profile.description(),
            secs(summary.duration),
            summary.compiled,
            summary.relinked,
            summary.fresh
        );
        if let Some(predicted) = summary.predicted {
            rest.push_str(&format!(" (predicted {})", secs(predicted)));
        }
        self.status("Finished", Style::new().green(), &rest);
        if let (true, Some(s)) = (self.verbosity >= Verbosity::Verbose, &summary.schedule) {
            let stats = format!(
                "scheduler efficiency {:.2} (critical path {}, total job time {})",
                s.efficiency,
                secs(Duration::from_millis(s.critical_path_ms)),
                secs(Duration::from_millis(s.job_time_ms))
            );
            self.status("Schedule", Style::new().cyan(), &stats);
        }
    }
}

/// `1.2 MB`, `340 kB`, `12 B`.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 1_000 => format!("{} kB", n / 1000),
        n => format!("{n} B"),
    }
}

fn describe(unit: &UnitInfo) -> String {
    match unit.kind {
        UnitKind::BuildScript | UnitKind::RunBuildScript => {
            format!(
                "{} v{} ({})",
                unit.package,
                unit.version,
                unit.kind.as_str()
            )
        }
        _ => format!(
            "{} v{} ({})",
            unit.crate_name,
            unit.version,
            crate::graph::kind_label(unit.kind, unit.mode)
        ),
    }
}

/// A path as the user would type it: relative to the current directory
/// when below it.
fn shown(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| path.display().to_string())
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}
