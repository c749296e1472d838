//! Stage 5: the [`BuildPlan`] — for every unit what to do (fresh, record a
//! cosmetic change, compile, relink, run its build script) and why.
//!
//! Owns: comparing the ledger with current content, classifying changed
//! member crates (via [`crate::classify`]), propagating signature changes to
//! dependents, metadata debt, choosing relinks, re-planning when a relink
//! fails or a build script prints something new ([`Decisions::escalate`]),
//! and predicting durations.
//! Never: trusts an mtime, runs rustc, or writes anything.

mod decide;
mod predict;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::classify::{ChangeClass, Classification};
use crate::graph::{UnitId, UnitMap};

pub use decide::{Decisions, Escalation, PlanInput, Touch, plan};
pub use predict::{job_time, predict};

/// What the build does with a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Nothing to do.
    Fresh,
    /// Only comments or whitespace changed: no rustc run; the ledger takes the new hashes.
    Cosmetic,
    /// Run rustc.
    Compile,
    /// Re-run the binary's recorded link step with its dependencies' new rlibs.
    Relink,
    /// Run the package's build script.
    Run,
}

impl Action {
    /// `"compile" | "relink" | "run" | "fresh"`, as `planned` JSON events say it.
    pub fn planned(self) -> &'static str {
        match self {
            Action::Fresh | Action::Cosmetic => "fresh",
            Action::Compile => "compile",
            Action::Relink => "relink",
            Action::Run => "run",
        }
    }

    /// `"compiled" | "relinked" | "ran"`, as `crate-finished` says it.
    pub fn done(self) -> &'static str {
        match self {
            Action::Fresh | Action::Cosmetic => "fresh",
            Action::Compile => "compiled",
            Action::Relink => "relinked",
            Action::Run => "ran",
        }
    }

    /// Whether a worker runs a job for it.
    pub fn is_job(self) -> bool {
        matches!(self, Action::Compile | Action::Relink | Action::Run)
    }
}

/// The kind of change behind an action (`"change"` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    None,
    Cosmetic,
    Codegen,
    Signature,
    /// The unit itself did not change; a dependency did.
    Dependency,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::None => "none",
            Change::Cosmetic => "cosmetic",
            Change::Codegen => "codegen",
            Change::Signature => "signature",
            Change::Dependency => "dependency",
        }
    }

    pub fn of(class: ChangeClass) -> Change {
        match class {
            ChangeClass::Cosmetic => Change::Cosmetic,
            ChangeClass::Codegen => Change::Codegen,
            ChangeClass::Signature => Change::Signature,
        }
    }
}

/// Why a unit gets its action (cargo's `DirtyReason`, content-based).
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    Unchanged,
    NeverBuilt,
    /// A build script's run with this configuration never happened.
    NeverRun,
    ToolchainChanged,
    SpecChanged,
    EnvChanged {
        name: String,
        old: Option<String>,
        new: Option<String>,
    },
    OutputMissing {
        path: PathBuf,
    },
    /// An output is not as its job left it (the ledger's tripwire).
    OutputChanged {
        path: PathBuf,
    },
    /// A member's own sources changed; the classifier says how.
    Edited(Classification),
    /// A file of a unit that is never classified (a dependency outside the
    /// workspace, a proc-macro, a build script) changed.
    SourceChanged {
        file: PathBuf,
    },
    /// `--touch`: a simulated change.
    Touched {
        what: String,
        class: ChangeClass,
    },
    /// A build script's `rerun-if-changed` path (or, without any, a file of
    /// its package) changed.
    ScriptInputChanged {
        path: PathBuf,
    },
    /// A `rerun-if-env-changed` variable changed.
    ScriptEnvChanged {
        name: String,
        old: Option<String>,
        new: Option<String>,
    },
    /// The build script was rebuilt, or a dependency's script output changed.
    ScriptRebuilt {
        dep: String,
    },
    /// The package's build script printed something new or changed `OUT_DIR`.
    ScriptOutputChanged {
        package: String,
    },
    /// A dependency's interface may have changed.
    DependencySignature {
        dep: String,
        cause: String,
    },
    /// A dependency changed in an earlier, unfinished build (unknown how).
    DependencyChanged {
        dep: String,
    },
    /// A dependency is recompiled and this unit cannot be relinked instead.
    DependencyRebuilt {
        dep: String,
    },
    /// Its metadata names an older build of `dep`; `needed_by` is compiled
    /// by rustc and would fail with E0460 loading it.
    MetadataDebt {
        dep: String,
        needed_by: String,
    },
    /// A dependency changed only in bodies no other crate sees.
    Relink {
        dep: String,
        cause: String,
    },
}

impl Reason {
    /// The change class this reason stands for.
    pub fn change(&self) -> Change {
        match self {
            Reason::Unchanged => Change::None,
            Reason::Edited(c) => Change::of(c.class),
            Reason::Touched { class, .. } => Change::of(*class),
            Reason::NeverBuilt
            | Reason::NeverRun
            | Reason::ToolchainChanged
            | Reason::SpecChanged
            | Reason::EnvChanged { .. }
            | Reason::OutputMissing { .. }
            | Reason::OutputChanged { .. }
            | Reason::SourceChanged { .. }
            | Reason::ScriptInputChanged { .. }
            | Reason::ScriptEnvChanged { .. } => Change::Signature,
            Reason::DependencySignature { .. }
            | Reason::DependencyChanged { .. }
            | Reason::DependencyRebuilt { .. }
            | Reason::MetadataDebt { .. }
            | Reason::ScriptRebuilt { .. }
            | Reason::ScriptOutputChanged { .. }
            | Reason::Relink { .. } => Change::Dependency,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "<unset>".into());
        match self {
            Reason::Unchanged => write!(f, "unchanged"),
            Reason::NeverBuilt => write!(f, "compiled — never built"),
            Reason::NeverRun => write!(f, "runs — never run with this configuration"),
            Reason::ToolchainChanged => write!(f, "signature — the toolchain changed"),
            Reason::SpecChanged => {
                write!(f, "signature — compiler flags or manifest settings changed")
            }
            Reason::EnvChanged { name, old, new } => {
                write!(
                    f,
                    "signature — env `{name}` changed: {} → {}",
                    show(old),
                    show(new)
                )
            }
            Reason::OutputMissing { path } => {
                write!(f, "compiled — output `{}` is missing", path.display())
            }
            Reason::OutputChanged { path } => write!(
                f,
                "compiled — output `{}` was changed since it was built",
                path.display()
            ),
            Reason::Edited(c) => {
                write!(f, "{} — {}", c.class, c.cause)?;
                if let Some(file) = &c.file {
                    write!(f, " ({})", file.display())?;
                }
                Ok(())
            }
            Reason::SourceChanged { file } => {
                write!(f, "signature — `{}` changed", file.display())
            }
            Reason::Touched { what, class } => write!(f, "{class} — touched {what} (--touch)"),
            Reason::ScriptInputChanged { path } => {
                write!(f, "runs — `{}` changed", path.display())
            }
            Reason::ScriptEnvChanged { name, old, new } => write!(
                f,
                "runs — env `{name}` changed: {} → {}",
                show(old),
                show(new)
            ),
            Reason::ScriptRebuilt { dep } => write!(f, "runs — {dep} was rebuilt"),
            Reason::ScriptOutputChanged { package } => write!(
                f,
                "compiled — the build script of {package} printed something new"
            ),
            Reason::DependencySignature { dep, cause } => {
                write!(f, "compiled — depends on {dep}, whose {cause}")
            }
            Reason::DependencyChanged { dep } => {
                write!(f, "compiled — dependency {dep} changed in an earlier build")
            }
            Reason::DependencyRebuilt { dep } => {
                write!(
                    f,
                    "compiled — depends on {dep}, which is recompiled (no relink possible)"
                )
            }
            Reason::MetadataDebt { dep, needed_by } => write!(
                f,
                "compiled — its metadata predates {dep}'s rebuild and {needed_by} loads it"
            ),
            Reason::Relink { dep, cause } => write!(f, "relinked — {dep} changed only {cause}"),
        }
    }
}

/// One unit's part of the plan.
#[derive(Debug, Clone)]
pub struct UnitPlan {
    pub action: Action,
    pub reason: Reason,
    /// Stage jobs, in order: `front-end`, `codegen`, `link`, `relink`, `run`.
    pub stages: Vec<&'static str>,
    /// Predicted wall-clock duration of this unit's jobs.
    pub predicted_ms: u64,
    /// Predicted start, in milliseconds after the first job could start.
    pub predicted_start_ms: u64,
    /// Lib dependencies recompiled in this build whose codegen-only change
    /// this unit takes without a rustc run (it gains metadata debt).
    pub absorbs: Vec<UnitId>,
}

#[derive(Debug)]
pub struct BuildPlan {
    pub units: UnitMap<UnitPlan>,
    /// Hashes taken while planning, by ledger path: the content rustc is
    /// about to read, recorded if the compile succeeds.
    pub known_hashes: HashMap<PathBuf, String>,
    /// Predicted wall time of the whole build on the `-j` workers.
    pub predicted_ms: u64,
    /// Per unit: the longest predicted path from its job's start to the end
    /// of the build; ready jobs run in this order.
    pub priorities: UnitMap<u64>,
    /// The decisions behind the actions, for re-planning during the build.
    pub decisions: Decisions,
}

impl BuildPlan {
    pub fn unit(&self, id: UnitId) -> &UnitPlan {
        &self.units[id]
    }

    pub fn action(&self, id: UnitId) -> Action {
        self.units[id].action
    }

    /// Units that run a job (compile, relink or run).
    pub fn jobs(&self) -> impl Iterator<Item = UnitId> + '_ {
        self.units
            .iter()
            .filter(|(_, u)| u.action.is_job())
            .map(|(id, _)| id)
    }
}

/// Stage names of an action, for `--dry-run` and `planned` events.
pub fn stages(action: Action, unit: &crate::graph::Unit) -> Vec<&'static str> {
    match action {
        Action::Compile if unit.mode.is_check() => vec!["front-end"],
        Action::Compile if unit.never_links() => vec!["front-end", "codegen"],
        Action::Compile => vec!["front-end", "codegen", "link"],
        Action::Relink => vec!["relink"],
        Action::Run => vec!["run"],
        _ => Vec::new(),
    }
}
