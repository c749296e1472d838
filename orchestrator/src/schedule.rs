//! Scheduling facts shared by execution and prediction: what a job waits
//! for, and which ready job goes first.

use crate::graph::{CrateGraph, UnitId};
use crate::manifest::TargetKind;
use crate::queue::Artifact;

/// What a unit's job needs before it can start: a library compiles against
/// its library dependencies' `.rmeta` (pipelining, rustc-facts §2); anything
/// that links (binaries, proc-macros, relinks) needs every transitive
/// dependency's final artifact.
pub fn waits_for(graph: &CrateGraph, id: UnitId) -> Vec<(UnitId, Artifact)> {
    let unit = graph.unit(id);
    match unit.kind {
        TargetKind::Lib => unit
            .deps
            .iter()
            .map(|d| match graph.unit(d.unit).kind {
                TargetKind::Lib => (d.unit, Artifact::Metadata),
                _ => (d.unit, Artifact::Link),
            })
            .collect(),
        TargetKind::Bin | TargetKind::ProcMacro => graph
            .transitive_deps(id)
            .into_iter()
            .map(|d| (d, Artifact::Link))
            .collect(),
    }
}

/// cargo's rule: units with more dependents first.
pub fn priority(graph: &CrateGraph, id: UnitId) -> u64 {
    graph.transitive_dependents(id).len() as u64
}
