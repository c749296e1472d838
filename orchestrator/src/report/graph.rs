//! `orchestrator graph`: the crate graph, marked with what the current
//! sources would make each crate do, and why.

use std::collections::HashSet;
use std::fmt::Write;

use crate::events::UnitInfo;
use crate::graph::{CrateGraph, UnitId, UnitMap};
use crate::plan::{Action, BuildPlan, Reason};

fn mark(plan: &BuildPlan, id: UnitId) -> (&'static str, String) {
    let unit = plan.unit(id);
    let action = match unit.action {
        Action::Fresh => "fresh",
        Action::Cosmetic => "cosmetic",
        Action::Compile => "compile",
        Action::Relink => "relink",
        Action::Run => "run",
    };
    let why = match &unit.reason {
        Reason::Unchanged => String::new(),
        reason => reason.to_string(),
    };
    (action, why)
}

/// A tree per top-level crate (one nothing depends on), dependencies below
/// it, as `cargo tree` draws them; a crate shown before is marked `(*)`.
pub fn text(graph: &CrateGraph, infos: &UnitMap<UnitInfo>, plan: &BuildPlan) -> String {
    let mut out = String::new();
    let mut shown = HashSet::new();
    let roots = graph
        .topological()
        .iter()
        .rev()
        .filter(|&&id| graph.dependents(id).is_empty());
    for &root in roots {
        node(&mut out, graph, infos, plan, root, "", "", &mut shown);
    }
    let counts = |a: Action| plan.units.values().filter(|u| u.action == a).count();
    let _ = writeln!(
        out,
        "\n{} crates: {} to compile, {} to relink, {} cosmetic, {} fresh",
        graph.len(),
        counts(Action::Compile),
        counts(Action::Relink),
        counts(Action::Cosmetic),
        counts(Action::Fresh)
    );
    out
}

#[allow(clippy::too_many_arguments)]
fn node(
    out: &mut String,
    graph: &CrateGraph,
    infos: &UnitMap<UnitInfo>,
    plan: &BuildPlan,
    id: UnitId,
    prefix: &str,
    child_prefix: &str,
    shown: &mut HashSet<UnitId>,
) {
    let (action, why) = mark(plan, id);
    let repeated = !shown.insert(id);
    let _ = write!(out, "{prefix}{} [{action}]", infos[id].label());
    if repeated {
        out.push_str(" (*)\n");
        return;
    }
    if !why.is_empty() {
        let _ = write!(out, " {why}");
    }
    out.push('\n');
    let deps = &graph.unit(id).deps;
    for (i, dep) in deps.iter().enumerate() {
        let last = i + 1 == deps.len();
        let (branch, next) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        node(
            out,
            graph,
            infos,
            plan,
            dep.unit,
            &format!("{child_prefix}{branch}"),
            &format!("{child_prefix}{next}"),
            shown,
        );
    }
}

/// Graphviz: an edge `a -> b` means `a` depends on `b`; colour = action.
pub fn dot(graph: &CrateGraph, infos: &UnitMap<UnitInfo>, plan: &BuildPlan) -> String {
    let mut out = String::from(
        "digraph workspace {\n  rankdir=BT;\n  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\"];\n",
    );
    for &id in graph.topological() {
        let (action, why) = mark(plan, id);
        let color = match action {
            "compile" => "#f28e2b",
            "relink" => "#59a14f",
            "cosmetic" => "#bab0ac",
            _ => "#e8e8e8",
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{action}\", fillcolor=\"{color}\", tooltip=\"{}\"];",
            infos[id].label(),
            infos[id].label(),
            why.replace('"', "'")
        );
    }
    for unit in graph.units() {
        for dep in &unit.deps {
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\";",
                infos[unit.id].label(),
                infos[dep.unit].label()
            );
        }
    }
    out.push_str("}\n");
    out
}
