//! Predict a plan's wall time: simulate its jobs on `-j` workers with the
//! same readiness rules and priorities as the executor, using the durations
//! the ledger recorded (or an estimate from source size before any build).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Action, BuildPlan};
use crate::graph::{CrateGraph, UnitId};
use crate::manifest::TargetKind;
use crate::queue::{Artifact, DependencyQueue};
use crate::schedule::{Durations, JobTime, longest_paths, waits_for};

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Metadata(UnitId),
    Done(UnitId),
}

/// The job a unit's action runs, with its expected duration.
pub fn job_time(
    action: Action,
    kind: TargetKind,
    durations: &Durations,
    id: UnitId,
) -> Option<JobTime> {
    let compile = durations.compile[id.0];
    match action {
        Action::Compile => Some(JobTime {
            total: compile,
            metadata: if kind == TargetKind::Lib {
                durations.metadata[id.0].min(compile)
            } else {
                compile
            },
        }),
        Action::Relink => Some(JobTime {
            total: durations.relink[id.0],
            metadata: durations.relink[id.0],
        }),
        Action::Fresh | Action::Cosmetic => None,
    }
}

/// Fill in priorities (longest remaining path), `predicted_ms` per unit and
/// for the whole plan.
pub fn predict(plan: &mut BuildPlan, graph: &CrateGraph, durations: &Durations, jobs: usize) {
    let times: Vec<Option<JobTime>> = graph
        .units()
        .iter()
        .map(|u| job_time(plan.units[u.id.0].action, u.kind, durations, u.id))
        .collect();
    plan.priorities = longest_paths(graph, &times);
    let mut queue = DependencyQueue::default();
    for &id in graph.topological() {
        match times[id.0] {
            Some(_) => queue.enqueue(id, waits_for(graph, id), plan.priorities[id.0]),
            None => queue.finish(id, Artifact::Link),
        }
    }
    let mut events: BinaryHeap<Reverse<(u64, Event)>> = BinaryHeap::new();
    let (mut now, mut free) = (0u64, jobs.max(1));
    loop {
        while free > 0 {
            let Some(id) = queue.pop() else { break };
            let Some(time) = times[id.0] else { continue };
            free -= 1;
            plan.units[id.0].predicted_ms = time.total;
            plan.units[id.0].predicted_start_ms = now;
            events.push(Reverse((now + time.metadata, Event::Metadata(id))));
            events.push(Reverse((now + time.total, Event::Done(id))));
        }
        let Some(Reverse((at, event))) = events.pop() else {
            break;
        };
        now = at;
        match event {
            Event::Metadata(id) => queue.finish(id, Artifact::Metadata),
            Event::Done(id) => {
                queue.finish(id, Artifact::Link);
                free += 1;
            }
        }
    }
    plan.predicted_ms = now;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Reason, UnitPlan};
    use std::collections::HashMap;

    #[test]
    fn longest_path_first_and_makespan_on_two_workers() {
        // chain: a → b → bin, plus an independent short lib c; all compile.
        let ws = crate::manifest::load_from(&fixture("chain")).unwrap();
        let graph = CrateGraph::build(&ws).unwrap();
        let n = graph.len();
        let durations = Durations {
            compile: vec![100; n],
            metadata: vec![40; n],
            relink: vec![10; n],
            measured: vec![true; n],
        };
        let mut plan = BuildPlan {
            units: (0..n)
                .map(|_| UnitPlan {
                    action: Action::Compile,
                    reason: Reason::NeverBuilt,
                    stages: Vec::new(),
                    predicted_ms: 0,
                    predicted_start_ms: 0,
                    absorbs: Vec::new(),
                })
                .collect(),
            known_hashes: HashMap::new(),
            predicted_ms: 0,
            priorities: Vec::new(),
        };
        // Three workers: level_a → level_b → level_c start 40 apart on each
        // other's metadata; `top` waits for every rlib (level_c's at 180).
        predict(&mut plan, &graph, &durations, 3);
        assert_eq!(plan.predicted_ms, 280);
        // Two workers: level_c waits for level_a's worker (free at 100).
        predict(&mut plan, &graph, &durations, 2);
        assert_eq!(plan.predicted_ms, 300);
        let first = graph.topological()[0];
        assert!(plan.priorities[first.0] >= plan.priorities.iter().copied().max().unwrap());
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures")
            .join(name)
            .join("Cargo.toml")
    }
}
