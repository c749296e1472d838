//! Deciding each unit's action, in three steps:
//!
//! 1. **Own change**: compare the ledger entry with the toolchain, spec,
//!    environment, outputs and input hashes; classify a changed member crate.
//!    Units outside the workspace, proc-macros and build scripts are never
//!    classified: any change is a signature change.
//! 2. **Propagation**, in dependency order: a signature change (or a
//!    codegen-only change where relinking is off, or in a proc-macro)
//!    compiles its direct dependents, transitively. A build script that
//!    reruns does not: its dependents wait for it and keep their plan unless
//!    it prints something new ([`Decisions::escalate`]).
//! 3. **Relinks and metadata debt**, to a fixpoint ([`Decisions::settle`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{Action, BuildPlan, Reason, UnitPlan, predict, stages};
use crate::classify::{ChangeClass, Classification, CrateContext, SyntaxCache, classify_crate};
use crate::fingerprint::{UnitSettings, UnitSpec, is_immutable};
use crate::graph::{CrateGraph, Source, UnitId, UnitKind, UnitMap};
use crate::ledger::{Ledger, LedgerEntry, OutputStamp, hash_records, links_hash};
use crate::paths::relative_to;
use crate::rustc::Outputs;
use crate::schedule::Durations;

/// A simulated change (`--touch`).
#[derive(Debug, Clone)]
pub struct Touch {
    pub unit: UnitId,
    pub class: ChangeClass,
    /// `trait Storage`, `the crate`: for explanations.
    pub what: String,
}

/// What planning compares against the ledger.
pub struct PlanInput<'a> {
    pub graph: &'a CrateGraph,
    pub specs: &'a UnitMap<UnitSpec>,
    pub settings: &'a UnitMap<UnitSettings>,
    pub outputs: &'a UnitMap<Outputs>,
    pub ledger: &'a Ledger,
    pub toolchain: &'a str,
    /// What each compile unit's compiler sees for an `env!` read: the
    /// variables orchestrator sets, else the process environment.
    pub compiler_env: &'a UnitMap<BTreeMap<String, String>>,
    pub process_env: &'a BTreeMap<String, String>,
    pub cache: &'a SyntaxCache,
    /// Per unit: rustc may inline across crates into or out of it (R6).
    pub optimizing: &'a UnitMap<bool>,
    /// Per unit: `test` is one of its cfgs (R7).
    pub cfg_test: &'a UnitMap<bool>,
    /// Relink binaries instead of recompiling them when allowed.
    pub relink: bool,
    pub touches: &'a [Touch],
    pub jobs: usize,
}

enum Own {
    Unchanged,
    Cosmetic(Classification),
    /// Needs a job; the class says how far the change reaches.
    Changed(Reason, ChangeClass),
}

/// How a unit's job affects its dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Its interface may change: dependents are compiled.
    Signature,
    /// Recompiled, and dependents cannot be relinked instead.
    Rebuilt,
}

/// The decisions behind a plan, kept so that the build can re-plan when a
/// relink fails or a build script prints something new.
#[derive(Debug, Clone)]
pub struct Decisions {
    /// Units that run a job (compile, or run a build script), and why.
    todo: UnitMap<Option<Reason>>,
    relink: UnitMap<Option<Reason>>,
    /// `(dependency key, output)` each unit's metadata was compiled against.
    recorded_deps: UnitMap<Vec<(String, String)>>,
    /// Each unit's recorded output hash.
    before: UnitMap<Option<String>>,
    keys: UnitMap<String>,
    /// Binaries that may be relinked (a recipe, relinking on, not optimizing).
    can_relink: UnitMap<bool>,
}

/// Why the build re-plans.
#[derive(Debug, Clone)]
pub enum Escalation {
    /// A relink failed: the binary is compiled with rustc instead.
    RelinkFailed { bin: UnitId },
    /// A build script's result differs from the recorded one: what its
    /// package compiles, and everything depending on that, is compiled.
    ScriptOutputChanged { run: UnitId },
}

pub fn plan(input: &PlanInput<'_>) -> BuildPlan {
    let graph = input.graph;
    let entries: UnitMap<Option<&LedgerEntry>> =
        UnitMap::from_fn(graph, |u| input.ledger.get(&input.specs[u.id].key));
    let current = hash_current(input, &entries);
    let before: UnitMap<Option<String>> = entries
        .values()
        .map(|e| e.map(|e| e.output.clone()))
        .collect();
    let keys: UnitMap<String> = input.specs.values().map(|s| s.key.clone()).collect();

    let own: UnitMap<Own> = graph
        .ids()
        .map(|id| own_change(input, id, entries[id], &current, &before, &keys))
        .collect();

    let mut todo: UnitMap<Option<Reason>> = UnitMap::filled(graph, None);
    let mut reaches: UnitMap<Option<Reach>> = UnitMap::filled(graph, None);
    for &id in graph.topological() {
        let unit = graph.unit(id);
        match &own[id] {
            Own::Changed(reason, class) => {
                todo[id] = Some(reason.clone());
                reaches[id] = match (unit.kind, class) {
                    // A rerun whose result is known to differ only when it
                    // never ran; otherwise dependents wait and see.
                    (UnitKind::RunBuildScript, _) if entries[id].is_some() => None,
                    (_, ChangeClass::Signature) => Some(Reach::Signature),
                    // Nothing links a checked crate: dependents check
                    // against its interface, which did not change
                    // (docs/rustc-facts.md §5, §11).
                    _ if unit.mode.is_check() => None,
                    _ if !input.relink || !unit.never_links() => Some(Reach::Rebuilt),
                    _ => None,
                };
            }
            Own::Unchanged | Own::Cosmetic(_) => {
                let script_rebuilt = match unit.kind {
                    UnitKind::RunBuildScript => unit.deps.iter().find(|d| todo[d.unit].is_some()),
                    _ => None,
                };
                if let Some(dep) = script_rebuilt {
                    todo[id] = Some(Reason::ScriptRebuilt {
                        dep: graph.unit(dep.unit).label(),
                    });
                    reaches[id] = entries[id].is_none().then_some(Reach::Signature);
                    continue;
                }
                let by = unit
                    .deps
                    .iter()
                    .find_map(|d| reaches[d.unit].map(|r| (d.unit, r)));
                if let Some((dep, reach)) = by {
                    let dep = graph.unit(dep).crate_name.clone();
                    todo[id] = Some(match reach {
                        Reach::Signature => Reason::DependencySignature {
                            dep,
                            cause: "signature changed".to_owned(),
                        },
                        Reach::Rebuilt => Reason::DependencyRebuilt { dep },
                    });
                    reaches[id] = match unit.kind {
                        UnitKind::RunBuildScript if entries[id].is_some() => None,
                        _ => Some(Reach::Signature),
                    };
                }
            }
        }
    }

    let can_relink: UnitMap<bool> = UnitMap::from_fn(graph, |u| {
        input.relink
            && u.is_executable()
            && !input.optimizing[u.id]
            && entries[u.id].is_some_and(|e| e.link.is_some())
    });
    let mut decisions = Decisions {
        todo,
        relink: UnitMap::filled(graph, None),
        recorded_deps: entries
            .values()
            .map(|e| {
                e.map(|e| {
                    e.deps
                        .iter()
                        .map(|d| (d.unit.clone(), d.output.clone()))
                        .collect()
                })
                .unwrap_or_default()
            })
            .collect(),
        before,
        keys,
        can_relink,
    };
    decisions.settle(graph);

    let units: UnitMap<UnitPlan> = graph
        .ids()
        .map(|id| {
            let unit = graph.unit(id);
            let (action, reason) = decisions.action(graph, id, &own[id]);
            let absorbs = if !unit.never_links() || action == Action::Compile {
                Vec::new()
            } else {
                graph
                    .link_closure(id)
                    .into_iter()
                    .filter(|d| decisions.recompiled(graph, *d))
                    .collect()
            };
            UnitPlan {
                action,
                stages: stages(action, unit),
                reason,
                predicted_ms: 0,
                predicted_start_ms: 0,
                absorbs,
            }
        })
        .collect();
    let mut plan = BuildPlan {
        units,
        known_hashes: current
            .into_iter()
            .filter_map(|(path, hash)| Some((path, hash?)))
            .collect(),
        predicted_ms: 0,
        priorities: UnitMap::filled(graph, 0),
        decisions,
    };
    let durations = Durations::from_ledger(
        graph,
        input.specs,
        input.settings,
        input.ledger,
        // A simulated change starts the touched crates from nothing (their
        // incremental state is removed: the driver's rule).
        &input.touches.iter().map(|t| t.unit).collect::<Vec<_>>(),
    );
    predict(&mut plan, graph, &durations, input.jobs);
    plan
}

impl Decisions {
    /// Nothing to do anywhere (tests and benchmarks).
    pub fn empty(graph: &CrateGraph) -> Decisions {
        Decisions {
            todo: UnitMap::filled(graph, None),
            relink: UnitMap::filled(graph, None),
            recorded_deps: UnitMap::filled(graph, Vec::new()),
            before: UnitMap::filled(graph, None),
            keys: UnitMap::filled(graph, String::new()),
            can_relink: UnitMap::filled(graph, false),
        }
    }

    fn action(&self, graph: &CrateGraph, id: UnitId, own: &Own) -> (Action, Reason) {
        match (&self.todo[id], &self.relink[id], own) {
            (Some(reason), _, _) if graph.unit(id).kind == UnitKind::RunBuildScript => {
                (Action::Run, reason.clone())
            }
            (Some(reason), _, _) => (Action::Compile, reason.clone()),
            (None, Some(reason), _) => (Action::Relink, reason.clone()),
            (None, None, Own::Cosmetic(c)) => (Action::Cosmetic, Reason::Edited(c.clone())),
            _ => (Action::Fresh, Reason::Unchanged),
        }
    }

    /// Binaries, proc-macros and build scripts relink or compile when
    /// something in their link closure is recompiled; libraries whose
    /// metadata is stale are compiled when some rustc run loads them.
    /// Repeats until nothing changes: each new compile can create both.
    fn settle(&mut self, graph: &CrateGraph) {
        loop {
            let mut changed = false;
            for &id in graph.topological() {
                let unit = graph.unit(id);
                if self.todo[id].is_some() || unit.never_links() {
                    continue;
                }
                let closure = graph.link_closure(id);
                let Some(dep) = graph
                    .topological()
                    .iter()
                    .copied()
                    .find(|d| self.recompiled(graph, *d) && closure.contains(d))
                else {
                    continue;
                };
                let label = graph.unit(dep).crate_name.clone();
                if unit.kind == UnitKind::RunBuildScript {
                    self.todo[id] = Some(Reason::ScriptRebuilt {
                        dep: graph.unit(dep).label(),
                    });
                    changed = true;
                } else if self.can_relink[id] {
                    if self.relink[id].is_none() {
                        self.relink[id] = Some(Reason::Relink {
                            dep: label,
                            cause: relink_cause(self.todo[dep].as_ref()),
                        });
                    }
                } else {
                    self.relink[id] = None;
                    self.todo[id] = Some(Reason::DependencyRebuilt { dep: label });
                    changed = true;
                }
            }
            let compiled: Vec<UnitId> = graph
                .ids()
                .filter(|u| self.todo[*u].is_some() && graph.unit(*u).kind.is_rustc())
                .collect();
            for id in compiled {
                for t in graph.link_closure(id) {
                    if self.todo[t].is_some() || !graph.unit(t).never_links() {
                        continue;
                    }
                    if let Some(dep) = self.stale_metadata(graph, t) {
                        self.todo[t] = Some(Reason::MetadataDebt {
                            dep: graph.unit(dep).crate_name.clone(),
                            needed_by: graph.unit(id).crate_name.clone(),
                        });
                        changed = true;
                    }
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// The first direct dependency whose current (or about-to-change) output
    /// is not the one `unit`'s metadata was compiled against.
    fn stale_metadata(&self, graph: &CrateGraph, unit: UnitId) -> Option<UnitId> {
        let recorded = &self.recorded_deps[unit];
        graph.unit(unit).deps.iter().map(|d| d.unit).find(|&d| {
            let was = recorded
                .iter()
                .find(|(k, _)| *k == self.keys[d])
                .map(|(_, o)| o.as_str());
            self.recompiled(graph, d) || was != self.before[d].as_deref()
        })
    }

    /// Whether rustc recompiles `id` in this build. A build script that
    /// reruns is not counted: its result is only known once it has run
    /// (then [`Decisions::escalate`] decides).
    fn recompiled(&self, graph: &CrateGraph, id: UnitId) -> bool {
        self.todo[id].is_some() && graph.unit(id).kind.is_rustc()
    }

    /// Re-plan after something the plan assumed turned out otherwise.
    /// Returns every unit whose action changes, with its new action and
    /// reason; the caller reopens units that had already finished.
    pub fn escalate(
        &mut self,
        graph: &CrateGraph,
        why: Escalation,
    ) -> Vec<(UnitId, Action, Reason)> {
        let was_todo = self.todo.clone();
        let was_relink = self.relink.clone();
        match why {
            Escalation::RelinkFailed { bin } => {
                let dep = match self.relink[bin].take() {
                    Some(Reason::Relink { dep, .. }) => dep,
                    _ => "a dependency".to_owned(),
                };
                self.todo[bin] = Some(Reason::DependencyRebuilt { dep });
            }
            Escalation::ScriptOutputChanged { run } => {
                let package = graph.package_of(run).descr();
                let mut stack: Vec<(UnitId, Reason)> = graph
                    .dependents(run)
                    .iter()
                    .map(|&d| {
                        let reason = match graph.unit(d).kind {
                            UnitKind::RunBuildScript => Reason::ScriptRebuilt {
                                dep: graph.unit(run).label(),
                            },
                            _ => Reason::ScriptOutputChanged {
                                package: package.clone(),
                            },
                        };
                        (d, reason)
                    })
                    .collect();
                let mut seen = std::collections::HashSet::new();
                while let Some((id, reason)) = stack.pop() {
                    if !seen.insert(id) {
                        continue;
                    }
                    self.relink[id] = None;
                    if self.todo[id].is_none() {
                        self.todo[id] = Some(reason);
                    }
                    // A dependent build script decides again once it has run.
                    if graph.unit(id).kind == UnitKind::RunBuildScript {
                        continue;
                    }
                    let dep = graph.unit(id).crate_name.clone();
                    stack.extend(graph.dependents(id).iter().map(|&d| {
                        (
                            d,
                            Reason::DependencySignature {
                                dep: dep.clone(),
                                cause: "build script output changed".to_owned(),
                            },
                        )
                    }));
                }
            }
        }
        self.settle(graph);
        graph
            .ids()
            .filter(|&id| self.todo[id] != was_todo[id] || self.relink[id] != was_relink[id])
            .filter_map(|id| {
                let action = match (&self.todo[id], &self.relink[id]) {
                    (Some(_), _) if graph.unit(id).kind == UnitKind::RunBuildScript => Action::Run,
                    (Some(_), _) => Action::Compile,
                    (None, Some(_)) => Action::Relink,
                    (None, None) => return None,
                };
                let reason = self.todo[id].clone().or_else(|| self.relink[id].clone())?;
                Some((id, action, reason))
            })
            .collect()
    }

    /// The recorded output of a unit before this build.
    pub fn recorded_output(&self, id: UnitId) -> Option<&str> {
        self.before[id].as_deref()
    }
}

/// Hash, in parallel, every input any recorded unit read, except files an
/// immutable package identity covers.
fn hash_current(
    input: &PlanInput<'_>,
    entries: &UnitMap<Option<&LedgerEntry>>,
) -> HashMap<PathBuf, Option<String>> {
    let root = &input.graph.workspace_root;
    let records: Vec<&crate::ledger::FileRecord> = entries
        .iter()
        .filter_map(|(id, e)| e.map(|e| (id, e)))
        .flat_map(|(id, e)| {
            e.inputs
                .iter()
                .filter(move |f| !is_immutable(&root.join(&f.path), &input.settings[id]))
        })
        .collect();
    hash_records(root, &records)
}

fn own_change(
    input: &PlanInput<'_>,
    id: UnitId,
    entry: Option<&LedgerEntry>,
    current: &HashMap<PathBuf, Option<String>>,
    before: &UnitMap<Option<String>>,
    keys: &UnitMap<String>,
) -> Own {
    use ChangeClass::*;
    let graph = input.graph;
    let unit = graph.unit(id);
    if let Some(touch) = input.touches.iter().find(|t| t.unit == id) {
        let class = match (touch.class, input.optimizing[id], unit.kind) {
            (Codegen, true, _) | (Codegen, _, UnitKind::ProcMacro) => Signature,
            (class, _, _) => class,
        };
        return match class {
            Cosmetic => Own::Cosmetic(Classification::new(
                Cosmetic,
                format!("touched {} (--touch)", touch.what),
                None,
            )),
            _ => Own::Changed(
                Reason::Touched {
                    what: touch.what.clone(),
                    class,
                },
                class,
            ),
        };
    }
    let Some(entry) = entry else {
        let reason = match input.graph.unit(id).kind {
            UnitKind::RunBuildScript => Reason::NeverRun,
            _ => Reason::NeverBuilt,
        };
        return Own::Changed(reason, Signature);
    };
    let rebuild = |reason| Own::Changed(reason, Signature);
    if entry.toolchain != input.toolchain {
        return rebuild(Reason::ToolchainChanged);
    }
    if entry.spec != input.specs[id].fingerprint() {
        return rebuild(Reason::SpecChanged);
    }
    let is_run = unit.kind == UnitKind::RunBuildScript;
    for var in &entry.env {
        let now = match is_run {
            true => input.process_env.get(&var.name).cloned(),
            false => input.compiler_env[id]
                .get(&var.name)
                .cloned()
                .or_else(|| input.process_env.get(&var.name).cloned()),
        };
        if now != var.value {
            let (name, old, new) = (var.name.clone(), var.value.clone(), now);
            return rebuild(match is_run {
                true => Reason::ScriptEnvChanged { name, old, new },
                false => Reason::EnvChanged { name, old, new },
            });
        }
    }
    let required = input.outputs[id].required();
    if let Some(path) = required.iter().find(|p| !p.is_file()) {
        return rebuild(Reason::OutputMissing {
            path: path.to_path_buf(),
        });
    }
    if let Some(path) = OutputStamp::first_changed(&entry.stamps, &required) {
        return rebuild(Reason::OutputChanged {
            path: path.to_path_buf(),
        });
    }
    // A dependency whose current output this unit never took in changed in
    // a build that did not finish: how is unknown, so assume the worst. (A
    // dependency with no entry is rebuilt, and that reaches this unit anyway.)
    let deps = graph.link_closure(id);
    if deps.iter().all(|d| before[*d].is_some()) {
        let now = links_hash(
            deps.iter()
                .map(|d| (keys[*d].as_str(), before[*d].as_deref().unwrap_or_default())),
        );
        if now != entry.links {
            let dep = unit
                .deps
                .iter()
                .find(|d| entry.dep_output(&keys[d.unit]) != before[d.unit].as_deref())
                .map(|d| graph.unit(d.unit).crate_name.clone())
                .unwrap_or_else(|| "a dependency".to_owned());
            return rebuild(Reason::DependencyChanged { dep });
        }
    }
    let root = &graph.workspace_root;
    let settings = &input.settings[id];
    let changed = entry.inputs.iter().find(|f| {
        !is_immutable(&root.join(&f.path), settings)
            && current.get(&f.path).cloned().flatten().as_deref() != Some(f.hash.as_str())
    });
    let Some(changed) = changed else {
        return Own::Unchanged;
    };
    let classifiable = graph.package(unit.pkg).source == Source::Member
        && matches!(
            unit.kind,
            UnitKind::Lib | UnitKind::Bin | UnitKind::Example | UnitKind::Test | UnitKind::Bench
        );
    if is_run {
        return rebuild(Reason::ScriptInputChanged {
            path: changed.path.clone(),
        });
    }
    if !classifiable {
        return rebuild(Reason::SourceChanged {
            file: changed.path.clone(),
        });
    }
    let src = relative_to(&unit.target.src_path, root);
    let externs: Vec<String> = unit.deps.iter().map(|d| d.extern_name.clone()).collect();
    let classification = classify_crate(
        root,
        &src,
        &entry.inputs,
        current,
        input.cache,
        &CrateContext {
            release: input.optimizing[id],
            cfg_test: input.cfg_test[id],
            externs: &externs,
            package_dir: &relative_to(&graph.package(unit.pkg).root, root),
        },
    );
    let classification = relative_to_package(classification, &graph.package(unit.pkg).root, root);
    match classification.class {
        Cosmetic => Own::Cosmetic(classification),
        class => Own::Changed(Reason::Edited(classification), class),
    }
}

/// Explanations name files relative to the package (`src/store.rs`).
fn relative_to_package(
    mut c: Classification,
    package_root: &Path,
    ws_root: &Path,
) -> Classification {
    let rel_root = relative_to(package_root, ws_root);
    if let Some(file) = &c.file
        && let Ok(rel) = file.strip_prefix(&rel_root)
    {
        c.file = Some(rel.to_path_buf());
    }
    c
}

/// "the body of fn normalize", from the reason its dependency is recompiled.
fn relink_cause(reason: Option<&Reason>) -> String {
    match reason {
        Some(Reason::Edited(c)) => match &c.body_of {
            Some(item) => format!("the body of {item}"),
            None => format!("code no other crate sees ({})", c.cause),
        },
        Some(Reason::Touched { what, .. }) => format!("code no other crate sees (touched {what})"),
        Some(Reason::MetadataDebt { .. }) => {
            "its metadata (recompiled to settle metadata debt)".to_owned()
        }
        _ => "code no other crate sees".to_owned(),
    }
}
