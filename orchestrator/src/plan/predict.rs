//! Predict a plan's wall time: simulate its jobs on `-j` workers with the
//! same readiness rules and priorities as the executor, using the durations
//! the ledger recorded (or an estimate from source size before any build).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Action, BuildPlan};
use crate::graph::{CrateGraph, UnitId, UnitMap};
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
    pipelined: bool,
    durations: &Durations,
    id: UnitId,
) -> Option<JobTime> {
    let compile = durations.compile[id];
    match action {
        Action::Compile | Action::Run => Some(JobTime {
            total: compile,
            metadata: if pipelined {
                durations.metadata[id].min(compile)
            } else {
                compile
            },
        }),
        Action::Relink => Some(JobTime {
            total: durations.relink[id],
            metadata: durations.relink[id],
        }),
        Action::Fresh | Action::Cosmetic => None,
    }
}

/// Fill in priorities (longest remaining path), `predicted_ms` per unit and
/// for the whole plan.
pub fn predict(plan: &mut BuildPlan, graph: &CrateGraph, durations: &Durations, jobs: usize) {
    let times: UnitMap<Option<JobTime>> = UnitMap::from_fn(graph, |u| {
        job_time(plan.units[u.id].action, u.emits_metadata(), durations, u.id)
    });
    plan.priorities = longest_paths(graph, &times);
    let mut queue = DependencyQueue::default();
    for &id in graph.topological() {
        match times[id] {
            Some(_) => queue.enqueue(id, waits_for(graph, id), plan.priorities[id]),
            None => queue.finish(id, Artifact::Link),
        }
    }
    let mut events: BinaryHeap<Reverse<(u64, Event)>> = BinaryHeap::new();
    let (mut now, mut free) = (0u64, jobs.max(1));
    loop {
        while free > 0 {
            let Some(id) = queue.pop() else { break };
            let Some(time) = times[id] else { continue };
            free -= 1;
            plan.units[id].predicted_ms = time.total;
            plan.units[id].predicted_start_ms = now;
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
    use crate::cargo::synthetic::{Crate, answer};
    use crate::plan::{Decisions, Reason, UnitPlan};

    fn krate(name: &str, kind: &'static str, deps: &[usize]) -> Crate {
        Crate {
            name: name.into(),
            kind,
            deps: deps.to_vec(),
        }
    }

    #[test]
    fn longest_path_first_and_makespan_on_two_workers() {
        // chain: a → b → c → top, plus an independent short lib; all compile.
        let crates = [
            krate("level_a", "lib", &[]),
            krate("level_b", "lib", &[0]),
            krate("level_c", "lib", &[1]),
            krate("top", "bin", &[2]),
        ];
        let graph = CrateGraph::build(&answer(std::path::Path::new("/w"), &crates)).unwrap();
        let durations = Durations {
            compile: UnitMap::filled(&graph, 100),
            metadata: UnitMap::filled(&graph, 40),
            relink: UnitMap::filled(&graph, 10),
            measured: UnitMap::filled(&graph, true),
        };
        let mut plan = BuildPlan {
            units: UnitMap::from_fn(&graph, |_| UnitPlan {
                action: Action::Compile,
                reason: Reason::NeverBuilt,
                stages: Vec::new(),
                predicted_ms: 0,
                predicted_start_ms: 0,
                absorbs: Vec::new(),
            }),
            known_hashes: Default::default(),
            predicted_ms: 0,
            priorities: UnitMap::filled(&graph, 0),
            decisions: Decisions::empty(&graph),
        };
        // Three workers: level_a → level_b → level_c start 40 apart on each
        // other's metadata; `top` waits for every rlib (level_c's at 180).
        predict(&mut plan, &graph, &durations, 3);
        assert_eq!(plan.predicted_ms, 280);
        predict(&mut plan, &graph, &durations, 1);
        assert_eq!(plan.predicted_ms, 400);
        let first = graph.topological()[0];
        assert!(plan.priorities[first] >= plan.priorities.values().copied().max().unwrap());
    }
}
