//! `--message-format json`: one JSON object per line on stdout.
//!
//! This is a contract (README, "JSON messages"): fields are only ever added.

use std::io::Write;

use serde_json::{Value, json};

use super::Reporter;
use crate::cache::CacheNote;
use crate::error::Error;
use crate::events::{BuildEvent, ExitOutcome, Produced, UnitInfo};

pub struct Json<W: Write> {
    out: W,
    /// `json-render-diagnostics`: rustc's diagnostics go to stderr,
    /// rendered, instead of being `compiler-message` events.
    render_diagnostics: bool,
}

impl Json<std::io::Stdout> {
    pub fn stdout() -> Self {
        Json {
            out: std::io::stdout(),
            render_diagnostics: false,
        }
    }

    pub fn rendering_diagnostics(self) -> Self {
        Json {
            render_diagnostics: true,
            ..self
        }
    }
}

impl<W: Write> Json<W> {
    fn emit(&mut self, value: Value) {
        // A closed stdout (`| head`) must not crash the build.
        let _ = writeln!(self.out, "{value}");
        let _ = self.out.flush();
    }
}

fn unit_fields(reason: &str, unit: &UnitInfo) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("reason".into(), reason.into());
    map.insert("crate".into(), unit.crate_name.clone().into());
    map.insert("package".into(), unit.package.clone().into());
    map.insert("version".into(), unit.version.clone().into());
    map.insert("kind".into(), unit.kind.as_str().into());
    if unit.mode != crate::graph::Mode::Build {
        map.insert("mode".into(), unit.mode.as_str().into());
    }
    map
}

/// [`unit_fields`] plus what cargo's own messages carry to name a unit:
/// `package_id`, `manifest_path` and `target` (as cargo prints them).
fn cargo_fields(reason: &str, unit: &UnitInfo) -> serde_json::Map<String, Value> {
    let mut map = unit_fields(reason, unit);
    map.insert("package_id".into(), unit.cargo.package_id.clone().into());
    map.insert(
        "manifest_path".into(),
        unit.cargo.manifest_path.display().to_string().into(),
    );
    map.insert("target".into(), unit.cargo.target.clone());
    map
}

fn with(mut map: serde_json::Map<String, Value>, extra: Value) -> Value {
    if let Value::Object(extra) = extra {
        map.extend(extra);
    }
    Value::Object(map)
}

fn ms(d: std::time::Duration) -> u64 {
    d.as_millis() as u64
}

impl<W: Write> Reporter for Json<W> {
    fn event(&mut self, event: &BuildEvent) {
        let value = match event {
            BuildEvent::WaitingForLock => json!({"reason": "waiting-for-lock"}),
            BuildEvent::JobsAdded { count } => json!({"reason": "jobs-added", "count": count}),
            BuildEvent::TimingsWritten { path } => {
                json!({"reason": "timings", "path": path.to_string_lossy()})
            }
            BuildEvent::BuildStarted {
                units,
                to_compile,
                jobs,
                profile,
                estimate,
            } => json!({
                "reason": "build-started",
                "crates": units,
                "to_compile": to_compile,
                "jobs": jobs,
                "profile": profile.name,
                "estimate_ms": estimate.map(ms),
            }),
            BuildEvent::Planned {
                unit,
                action,
                stages,
                predicted,
                verdict,
            } => with(
                unit_fields("planned", unit),
                json!({
                    "action": action.planned(),
                    "stages": stages,
                    "predicted_ms": ms(*predicted),
                    "change": verdict.change.as_str(),
                    "explain": verdict.explain,
                }),
            ),
            BuildEvent::PlanFinished { predicted } => {
                json!({"reason": "plan-finished", "predicted_ms": ms(*predicted)})
            }
            BuildEvent::Fresh { unit, verdict } => with(
                unit_fields("crate-finished", unit),
                json!({
                    "action": "fresh",
                    "duration_ms": 0,
                    "change": verdict.change.as_str(),
                    "explain": verdict.explain,
                }),
            ),
            BuildEvent::JobStarted { unit, action, .. } => with(
                unit_fields("crate-started", unit),
                json!({"action": action.planned()}),
            ),
            BuildEvent::StageChanged {
                unit,
                stage,
                elapsed,
            } => with(
                unit_fields("crate-stage", unit),
                json!({"stage": stage.as_str(), "elapsed_ms": ms(*elapsed)}),
            ),
            BuildEvent::Diagnostic { diagnostic, .. } if self.render_diagnostics => {
                eprint!("{}", diagnostic.rendered);
                return;
            }
            BuildEvent::Diagnostic {
                unit,
                diagnostic,
                replayed,
            } => match &diagnostic.json {
                // cargo's `compiler-message`: rustc's object under `message`.
                Some(text) => with(
                    cargo_fields("compiler-message", unit),
                    json!({
                        "message": serde_json::from_str::<Value>(text).unwrap_or(Value::Null),
                        "level": diagnostic.level,
                        "rendered": diagnostic.rendered,
                        "replayed": replayed,
                    }),
                ),
                None => with(
                    unit_fields("compiler-output", unit),
                    json!({"rendered": diagnostic.rendered}),
                ),
            },
            BuildEvent::JobFinished {
                unit,
                action,
                duration,
                verdict,
                downloaded,
            } => with(
                unit_fields("crate-finished", unit),
                json!({
                    "action": if *downloaded { "downloaded" } else { action.done() },
                    "duration_ms": ms(*duration),
                    "change": verdict.change.as_str(),
                    "explain": verdict.explain,
                }),
            ),
            BuildEvent::Warning { unit, message } => {
                with(unit_fields("warning", unit), json!({"message": message}))
            }
            BuildEvent::JobFailed {
                unit,
                duration,
                message,
            } => with(
                unit_fields("crate-failed", unit),
                json!({"duration_ms": ms(*duration), "message": message}),
            ),
            BuildEvent::BuildFinished(summary) => json!({
                "reason": "build-finished",
                "success": summary.success,
                "compiled": summary.compiled,
                "downloaded": summary.downloaded,
                "relinked": summary.relinked,
                "ran": summary.ran,
                "fresh": summary.fresh,
                "predicted_ms": summary.predicted.map(ms),
                "failed": summary.failed,
                "duration_ms": ms(summary.duration),
                "critical_path_ms": summary.schedule.as_ref().map(|s| s.critical_path_ms),
                "job_time_ms": summary.schedule.as_ref().map(|s| s.job_time_ms),
                "scheduler_efficiency": summary.schedule.as_ref().map(|s| (s.efficiency * 1000.0).round() / 1000.0),
            }),
            BuildEvent::CacheProblem { unit, note } => {
                let (kind, detail) = match note {
                    CacheNote::Unavailable(m) => ("unavailable", m.clone()),
                    CacheNote::Corrupt { file } => ("corrupt", file.clone()),
                    CacheNote::Refused { path } => ("refused", path.clone()),
                };
                let fields = json!({
                    "problem": kind,
                    "detail": detail,
                    "message": note.to_string(),
                });
                match unit {
                    Some(unit) => with(unit_fields("cache-problem", unit), fields),
                    None => {
                        let mut map = serde_json::Map::new();
                        map.insert("reason".into(), "cache-problem".into());
                        with(map, fields)
                    }
                }
            }
            BuildEvent::CacheFinished(report) => json!({
                "reason": "cache-finished",
                "store": report.store,
                "read_only": report.read_only,
                "hits": report.counts.hits,
                "misses": report.counts.misses,
                "stored": report.counts.uploaded,
                "downloaded_bytes": report.counts.downloaded_bytes,
                "uploaded_bytes": report.counts.uploaded_bytes,
                "evicted": report.counts.evicted,
                "evicted_bytes": report.counts.evicted_bytes,
                "not_stored": report.not_stored,
            }),
            BuildEvent::Executable { unit, what, path } => with(
                unit_fields("executable", unit),
                json!({"what": what, "path": path}),
            ),
            BuildEvent::TestStarted {
                unit,
                what,
                path,
                command,
            } => with(
                unit_fields("test-started", unit),
                json!({"what": what, "path": path, "command": command}),
            ),
            BuildEvent::TestFinished {
                unit,
                what,
                outcome,
                duration,
                rerun,
            } => with(
                unit_fields("test-finished", unit),
                json!({
                    "what": what,
                    "success": outcome.success(),
                    "exit_code": match outcome { ExitOutcome::Code(c) => Some(*c), ExitOutcome::Signal(_) => None },
                    "signal": match outcome { ExitOutcome::Signal(s) => Some(*s), ExitOutcome::Code(_) => None },
                    "duration_ms": ms(*duration),
                    "rerun": rerun,
                }),
            ),
            BuildEvent::TestsFinished(summary) => json!({
                "reason": "tests-finished",
                "success": summary.failed.is_empty(),
                "passed": summary.passed,
                "failed": summary.failed,
                "skipped": summary.skipped,
                "duration_ms": ms(summary.duration),
            }),
            BuildEvent::Running { program, args } => {
                json!({"reason": "running", "program": program, "args": args})
            }
            BuildEvent::Produced {
                unit,
                produced:
                    Produced::Compiled {
                        filenames,
                        executable,
                    },
                fresh,
            } => with(
                cargo_fields("compiler-artifact", unit),
                json!({
                    "profile": unit.cargo.profile,
                    "features": unit.cargo.features,
                    "filenames": filenames,
                    "executable": executable,
                    "fresh": fresh,
                }),
            ),
            BuildEvent::Produced {
                unit,
                produced:
                    Produced::ScriptRan {
                        linked_libs,
                        linked_paths,
                        cfgs,
                        env,
                        out_dir,
                    },
                ..
            } => with(
                cargo_fields("build-script-executed", unit),
                json!({
                    "linked_libs": linked_libs,
                    "linked_paths": linked_paths,
                    "cfgs": cfgs,
                    "env": env,
                    "out_dir": out_dir,
                }),
            ),
            // Progress for a terminal, not a fact about the build.
            BuildEvent::Remaining { .. } => return,
            BuildEvent::Watching { directories } => {
                json!({"reason": "watching", "directories": directories})
            }
            BuildEvent::WatchTriggered { path } => {
                json!({"reason": "watch-triggered", "path": path})
            }
            BuildEvent::Cleaned {
                files,
                bytes,
                dry_run,
            } => json!({
                "reason": "cleaned", "files": files, "bytes": bytes, "dry_run": dry_run,
            }),
        };
        self.emit(value);
    }

    fn error(&mut self, error: &Error) {
        self.emit(json!({
            "reason": "error",
            "message": error.to_string(),
            "help": error.help(),
        }));
    }
}
