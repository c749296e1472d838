//! Deciding each unit's action.
//!
//! 1. **Own change** of every unit: never built, flags/toolchain/env, a
//!    dependency that changed in an unfinished earlier build, or its files
//!    classified (cosmetic / codegen / signature); `--touch` overrides.
//! 2. **Propagation**, in topological order: codegen or signature changes
//!    compile the unit; only a *signature* change (or any change when relinking
//!    is off, or in a proc-macro) compiles its direct dependents, transitively.
//! 3. **Relinks and metadata debt**, to a fixpoint: a binary whose
//!    dependency is recompiled is relinked (or compiled, if it has no recorded
//!    link step); a library that is not recompiled but whose metadata names an
//!    older build of a dependency must be recompiled before any rustc run that
//!    loads it (rustc-facts §3, E0460).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{Action, BuildPlan, Reason, UnitPlan, predict};
use crate::classify::{ChangeClass, Classification, SyntaxCache, classify_crate};
use crate::graph::{CrateGraph, UnitId};
use crate::ledger::{Ledger, LedgerEntry, hash_files, links_hash};
use crate::manifest::TargetKind;
use crate::rustc::{CompileSpec, Outputs};
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
    pub root: &'a Path,
    pub graph: &'a CrateGraph,
    pub specs: &'a [CompileSpec],
    pub outputs: &'a [Outputs],
    pub ledger: &'a Ledger,
    pub toolchain: &'a str,
    /// The `CARGO_*` environment each unit's compiler gets.
    pub compiler_env: &'a [BTreeMap<String, String>],
    pub cache: &'a SyntaxCache,
    /// Release-like profile (R6): every body is interface.
    pub release: bool,
    /// Relink binaries instead of recompiling them when allowed.
    pub relink: bool,
    pub touches: &'a [Touch],
    pub jobs: usize,
}

enum Own {
    Unchanged,
    Cosmetic(Classification),
    /// Needs rustc; the class says how far the change reaches.
    Changed(Reason, ChangeClass),
}

pub fn plan(input: &PlanInput<'_>) -> BuildPlan {
    let graph = input.graph;
    let keys: Vec<String> = input.specs.iter().map(CompileSpec::unit_key).collect();
    let entries: Vec<Option<&LedgerEntry>> = keys.iter().map(|k| input.ledger.get(k)).collect();
    let current = hash_inputs(input.root, &entries);
    let before: Vec<Option<&str>> = entries
        .iter()
        .map(|e| e.map(|e| e.output.as_str()))
        .collect();

    let own: Vec<Own> = (0..graph.len())
        .map(|i| own_change(input, UnitId(i), entries[i], &current, &before, &keys))
        .collect();

    let mut compile: Vec<Option<Reason>> = vec![None; graph.len()];
    // For units whose dependents must be compiled: how to say why.
    let mut reaches: Vec<Option<Reach>> = vec![None; graph.len()];
    for &id in graph.topological() {
        let unit = graph.unit(id);
        match &own[id.0] {
            Own::Changed(reason, class) => {
                compile[id.0] = Some(reason.clone());
                reaches[id.0] = match class {
                    ChangeClass::Signature => Some(Reach::Signature),
                    _ if !input.relink || unit.kind == TargetKind::ProcMacro => {
                        Some(Reach::Rebuilt)
                    }
                    _ => None,
                };
            }
            Own::Unchanged | Own::Cosmetic(_) => {
                let by = unit
                    .deps
                    .iter()
                    .find_map(|d| reaches[d.unit.0].map(|r| (d.unit, r)));
                if let Some((dep, reach)) = by {
                    let dep = graph.unit(dep).crate_name.clone();
                    compile[id.0] = Some(match reach {
                        Reach::Signature => Reason::DependencySignature {
                            dep,
                            cause: "signature changed".to_owned(),
                        },
                        Reach::Rebuilt => Reason::DependencyRebuilt { dep },
                    });
                    reaches[id.0] = Some(Reach::Signature);
                }
            }
        }
    }

    let mut relink: Vec<Option<Reason>> = vec![None; graph.len()];
    settle_relinks_and_debt(input, &entries, &before, &mut compile, &mut relink);

    let units: Vec<UnitPlan> = (0..graph.len())
        .map(|i| {
            let id = UnitId(i);
            let (action, reason) = match (&compile[i], &relink[i], &own[i]) {
                (Some(reason), _, _) => (Action::Compile, reason.clone()),
                (None, Some(reason), _) => (Action::Relink, reason.clone()),
                (None, None, Own::Cosmetic(c)) => (Action::Cosmetic, Reason::Edited(c.clone())),
                _ => (Action::Fresh, Reason::Unchanged),
            };
            let absorbs = if graph.unit(id).kind == TargetKind::Bin || action == Action::Compile {
                Vec::new()
            } else {
                graph
                    .transitive_deps(id)
                    .into_iter()
                    .filter(|d| compile[d.0].is_some())
                    .collect()
            };
            UnitPlan {
                action,
                stages: stages(action, graph.unit(id).kind),
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
        priorities: Vec::new(),
    };
    let durations = Durations::from_ledger(input.graph, input.specs, input.ledger, input.root);
    predict(&mut plan, input.graph, &durations, input.jobs);
    plan
}

#[derive(Debug, Clone, Copy)]
enum Reach {
    /// The unit's interface may have changed.
    Signature,
    /// Recompiled, and dependents cannot be relinked instead.
    Rebuilt,
}

fn stages(action: Action, kind: TargetKind) -> Vec<&'static str> {
    match (action, kind) {
        (Action::Compile, TargetKind::Lib) => vec!["front-end", "codegen"],
        (Action::Compile, _) => vec!["front-end", "codegen", "link"],
        (Action::Relink, _) => vec!["relink"],
        _ => Vec::new(),
    }
}

/// Hash, in parallel, every file any recorded unit read.
fn hash_inputs(root: &Path, entries: &[Option<&LedgerEntry>]) -> HashMap<PathBuf, Option<String>> {
    let mut files: Vec<PathBuf> = entries
        .iter()
        .flatten()
        .flat_map(|e| e.inputs.iter().map(|f| f.path.clone()))
        .collect();
    files.sort();
    files.dedup();
    let absolute: Vec<PathBuf> = files.iter().map(|f| root.join(f)).collect();
    let hashed = hash_files(&absolute);
    files
        .into_iter()
        .zip(absolute)
        .map(|(rel, abs)| (rel, hashed.get(&abs).cloned().flatten()))
        .collect()
}

fn own_change(
    input: &PlanInput<'_>,
    id: UnitId,
    entry: Option<&LedgerEntry>,
    current: &HashMap<PathBuf, Option<String>>,
    before: &[Option<&str>],
    keys: &[String],
) -> Own {
    use ChangeClass::*;
    let graph = input.graph;
    let unit = graph.unit(id);
    if let Some(touch) = input.touches.iter().find(|t| t.unit == id) {
        let class = match (touch.class, input.release, unit.kind) {
            (Codegen, true, _) | (Codegen, _, TargetKind::ProcMacro) => Signature,
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
        return Own::Changed(Reason::NeverBuilt, Signature);
    };
    let rebuild = |reason| Own::Changed(reason, Signature);
    if entry.toolchain != input.toolchain {
        return rebuild(Reason::ToolchainChanged);
    }
    if entry.spec != input.specs[id.0].fingerprint() {
        return rebuild(Reason::SpecChanged);
    }
    for var in &entry.env {
        let now = input.compiler_env[id.0]
            .get(&var.name)
            .cloned()
            .or_else(|| std::env::var(&var.name).ok());
        if now != var.value {
            return rebuild(Reason::EnvChanged {
                name: var.name.clone(),
                old: var.value.clone(),
                new: now,
            });
        }
    }
    let outputs = &input.outputs[id.0];
    for path in outputs.rmeta.iter().chain([&outputs.main]) {
        if !path.is_file() {
            return rebuild(Reason::OutputMissing { path: path.clone() });
        }
    }
    // A dependency whose current output this unit never took in changed in
    // a build that did not finish: how is unknown, so assume the worst. (A
    // dependency with no entry is rebuilt, and that reaches this unit anyway.)
    let deps = graph.transitive_deps(id);
    if deps.iter().all(|d| before[d.0].is_some()) {
        let now = links_hash(
            deps.iter()
                .map(|d| (keys[d.0].as_str(), before[d.0].unwrap_or_default())),
        );
        if now != entry.links {
            let dep = graph
                .unit(id)
                .deps
                .iter()
                .find(|d| entry.dep_output(&keys[d.unit.0]) != before[d.unit.0])
                .map(|d| graph.unit(d.unit).crate_name.clone())
                .unwrap_or_else(|| "a dependency".to_owned());
            return rebuild(Reason::DependencyChanged { dep });
        }
    }
    let changed = entry
        .inputs
        .iter()
        .any(|f| current.get(&f.path).cloned().flatten().as_deref() != Some(f.hash.as_str()));
    if !changed {
        return Own::Unchanged;
    }
    let classification = if unit.kind == TargetKind::ProcMacro {
        let file = entry
            .inputs
            .iter()
            .find(|f| current.get(&f.path).cloned().flatten().as_deref() != Some(f.hash.as_str()))
            .map(|f| f.path.clone());
        Classification::new(Signature, "a proc-macro crate changed", file.as_deref())
    } else {
        classify_crate(
            input.root,
            &input.specs[id.0].src,
            &entry.inputs,
            current,
            input.cache,
            input.release,
        )
    };
    let classification = relative_to_package(classification, input, id);
    match classification.class {
        Cosmetic => Own::Cosmetic(classification),
        class => Own::Changed(Reason::Edited(classification), class),
    }
}

/// Explanations name files relative to the package (`src/store.rs`).
fn relative_to_package(mut c: Classification, input: &PlanInput<'_>, id: UnitId) -> Classification {
    let src = &input.specs[id.0].src;
    // The package directory is the source root's ancestor holding `src/`.
    let package_dir = src
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "src"))
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    if let (Some(file), Some(dir)) = (&c.file, package_dir)
        && let Ok(rel) = file.strip_prefix(&dir)
    {
        c.file = Some(rel.to_path_buf());
    }
    c
}

/// Step 3: binaries relink or compile; libraries whose metadata is stale are
/// compiled when some rustc run will load them. Repeats until nothing changes,
/// because each new compile can create both.
fn settle_relinks_and_debt(
    input: &PlanInput<'_>,
    entries: &[Option<&LedgerEntry>],
    before: &[Option<&str>],
    compile: &mut [Option<Reason>],
    relink: &mut [Option<Reason>],
) {
    let graph = input.graph;
    loop {
        let mut changed = false;
        for &id in graph.topological() {
            let unit = graph.unit(id);
            if compile[id.0].is_some() || unit.kind == TargetKind::Lib {
                continue;
            }
            let deps = graph.transitive_deps(id);
            let Some(dep) = graph
                .topological()
                .iter()
                .copied()
                .find(|d| compile[d.0].is_some() && deps.contains(d))
            else {
                continue;
            };
            let label = graph.unit(dep).crate_name.clone();
            let can_relink = input.relink
                && unit.kind == TargetKind::Bin
                && entries[id.0].is_some_and(|e| e.link.is_some());
            if can_relink {
                if relink[id.0].is_none() {
                    relink[id.0] = Some(Reason::Relink {
                        dep: label,
                        cause: relink_cause(compile[dep.0].as_ref()),
                    });
                }
            } else {
                relink[id.0] = None;
                compile[id.0] = Some(Reason::DependencyRebuilt { dep: label });
                changed = true;
            }
        }
        let compiled: Vec<UnitId> = (0..graph.len())
            .map(UnitId)
            .filter(|u| compile[u.0].is_some())
            .collect();
        for id in compiled {
            for t in graph.transitive_deps(id) {
                if compile[t.0].is_some() || graph.unit(t).kind != TargetKind::Lib {
                    continue;
                }
                if let Some(dep) = stale_metadata(input, t, entries[t.0], before, compile) {
                    compile[t.0] = Some(Reason::MetadataDebt {
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

/// The first direct dependency whose current (or about-to-change) output is
/// not the one `unit`'s metadata was compiled against.
pub fn stale_metadata(
    input: &PlanInput<'_>,
    unit: UnitId,
    entry: Option<&LedgerEntry>,
    before: &[Option<&str>],
    compile: &[Option<Reason>],
) -> Option<UnitId> {
    let entry = entry?;
    input
        .graph
        .unit(unit)
        .deps
        .iter()
        .map(|d| d.unit)
        .find(|&d| {
            compile[d.0].is_some() || entry.dep_output(&input.specs[d.0].unit_key()) != before[d.0]
        })
}

/// "the body of fn normalize", from the reason its dependency is recompiled.
fn relink_cause(reason: Option<&Reason>) -> String {
    match reason {
        Some(Reason::Edited(c)) => match c.cause.strip_suffix(" changed") {
            Some(body) if body.starts_with("body of ") => format!("the {body}"),
            _ => format!("code no other crate sees ({})", c.cause),
        },
        Some(Reason::Touched { what, .. }) => format!("code no other crate sees (touched {what})"),
        Some(Reason::MetadataDebt { .. }) => {
            "its metadata (recompiled to settle metadata debt)".to_owned()
        }
        _ => "code no other crate sees".to_owned(),
    }
}
