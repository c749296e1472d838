//! Stage 4: the [`BuildPlan`] — for every unit, fresh or compile, and why.
//!
//! A unit is fresh when the toolchain, its compile spec, the content of every
//! file rustc read, every `env!` variable it read, and the artifacts of its
//! dependencies are what the ledger recorded, and its outputs exist.
//! Never: trusts an mtime, runs rustc, or writes anything.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::graph::{CrateGraph, UnitId};
use crate::ledger::{Ledger, LedgerEntry, hash_files};
use crate::rustc::{CompileSpec, Outputs};

/// Why a unit must be compiled (cargo's `DirtyReason`, content-based).
#[derive(Debug, Clone, PartialEq)]
pub enum DirtyReason {
    NeverBuilt,
    ToolchainChanged,
    SpecChanged,
    FileChanged {
        path: PathBuf,
    },
    FileMissing {
        path: PathBuf,
    },
    EnvChanged {
        name: String,
        old: Option<String>,
        new: Option<String>,
    },
    /// A dependency is compiled in this build.
    DependencyRebuilt {
        dep: String,
    },
    /// A dependency's artifact is not the one this unit was built against.
    DependencyChanged {
        dep: String,
    },
    OutputMissing {
        path: PathBuf,
    },
}

impl fmt::Display for DirtyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "<unset>".into());
        match self {
            DirtyReason::NeverBuilt => write!(f, "never built"),
            DirtyReason::ToolchainChanged => write!(f, "the toolchain changed"),
            DirtyReason::SpecChanged => write!(f, "compiler flags or manifest settings changed"),
            DirtyReason::FileChanged { path } => write!(f, "`{}` changed", path.display()),
            DirtyReason::FileMissing { path } => write!(f, "`{}` is missing", path.display()),
            DirtyReason::EnvChanged { name, old, new } => {
                write!(f, "env `{name}` changed: {} → {}", show(old), show(new))
            }
            DirtyReason::DependencyRebuilt { dep } => {
                write!(f, "depends on `{dep}`, which is rebuilt")
            }
            DirtyReason::DependencyChanged { dep } => write!(f, "dependency `{dep}` changed"),
            DirtyReason::OutputMissing { path } => {
                write!(f, "output `{}` is missing", path.display())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Fresh,
    Compile(DirtyReason),
}

#[derive(Debug)]
pub struct BuildPlan {
    actions: Vec<Action>,
    /// Hashes taken while planning, by workspace-relative path: the content
    /// rustc is about to read, recorded if the compile succeeds.
    pub known_hashes: HashMap<PathBuf, String>,
}

impl BuildPlan {
    pub fn action(&self, id: UnitId) -> &Action {
        &self.actions[id.0]
    }

    pub fn is_fresh(&self, id: UnitId) -> bool {
        self.actions[id.0] == Action::Fresh
    }

    pub fn to_compile(&self) -> impl Iterator<Item = UnitId> + '_ {
        self.actions
            .iter()
            .enumerate()
            .filter(|(_, a)| **a != Action::Fresh)
            .map(|(i, _)| UnitId(i))
    }
}

/// What planning compares against the ledger.
pub struct PlanInput<'a> {
    pub root: &'a Path,
    pub graph: &'a CrateGraph,
    pub specs: &'a [CompileSpec],
    pub outputs: &'a [Outputs],
    pub ledger: &'a Ledger,
    pub toolchain: &'a str,
    /// The `CARGO_*` environment each unit's compiler gets.
    pub compiler_env: &'a [BTreeMap<String, String>],
}

pub fn plan(input: &PlanInput<'_>) -> BuildPlan {
    let entries: Vec<Option<&LedgerEntry>> = input
        .specs
        .iter()
        .map(|s| input.ledger.get(&s.unit_key()))
        .collect();
    let mut files: Vec<PathBuf> = entries
        .iter()
        .flatten()
        .flat_map(|e| e.inputs.iter().map(|f| f.path.clone()))
        .collect();
    files.sort();
    files.dedup();
    let absolute: Vec<PathBuf> = files.iter().map(|f| input.root.join(f)).collect();
    let hashed = hash_files(&absolute);
    let current: HashMap<PathBuf, Option<String>> = files
        .into_iter()
        .zip(absolute)
        .map(|(rel, abs)| (rel, hashed.get(&abs).cloned().flatten()))
        .collect();

    let mut actions = vec![Action::Fresh; input.graph.len()];
    for &id in input.graph.topological() {
        actions[id.0] = match entries[id.0] {
            None => Action::Compile(DirtyReason::NeverBuilt),
            Some(entry) => match dirty_reason(input, id, entry, &actions, &current) {
                Some(reason) => Action::Compile(reason),
                None => Action::Fresh,
            },
        };
    }
    BuildPlan {
        actions,
        known_hashes: current
            .into_iter()
            .filter_map(|(path, hash)| Some((path, hash?)))
            .collect(),
    }
}

fn dirty_reason(
    input: &PlanInput<'_>,
    id: UnitId,
    entry: &LedgerEntry,
    actions: &[Action],
    current: &HashMap<PathBuf, Option<String>>,
) -> Option<DirtyReason> {
    if entry.toolchain != input.toolchain {
        return Some(DirtyReason::ToolchainChanged);
    }
    if entry.spec != input.specs[id.0].fingerprint() {
        return Some(DirtyReason::SpecChanged);
    }
    let unit = input.graph.unit(id);
    for dep in &unit.deps {
        let dep_label = input.graph.unit(dep.unit).label();
        if actions[dep.unit.0] != Action::Fresh {
            return Some(DirtyReason::DependencyRebuilt { dep: dep_label });
        }
        let dep_key = input.specs[dep.unit.0].unit_key();
        let built_against = entry.deps.iter().find(|d| d.unit == dep_key);
        let now = input.ledger.get(&dep_key).map(|e| &e.output);
        if built_against.map(|d| &d.output) != now {
            return Some(DirtyReason::DependencyChanged { dep: dep_label });
        }
    }
    for var in &entry.env {
        let now = input.compiler_env[id.0]
            .get(&var.name)
            .cloned()
            .or_else(|| std::env::var(&var.name).ok());
        if now != var.value {
            return Some(DirtyReason::EnvChanged {
                name: var.name.clone(),
                old: var.value.clone(),
                new: now,
            });
        }
    }
    for file in &entry.inputs {
        match current.get(&file.path).cloned().flatten() {
            None => {
                return Some(DirtyReason::FileMissing {
                    path: file.path.clone(),
                });
            }
            Some(hash) if hash != file.hash => {
                return Some(DirtyReason::FileChanged {
                    path: file.path.clone(),
                });
            }
            Some(_) => {}
        }
    }
    let outputs = &input.outputs[id.0];
    for path in outputs.rmeta.iter().chain([&outputs.main]) {
        if !path.is_file() {
            return Some(DirtyReason::OutputMissing { path: path.clone() });
        }
    }
    None
}
