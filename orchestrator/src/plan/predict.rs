//! Predict a plan's wall time: simulate its jobs on `-j` workers with the
//! same readiness rules and priorities as the executor, using the durations
//! the ledger recorded (or an estimate from source size before any build).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

use super::{Action, BuildPlan};
use crate::graph::{CrateGraph, UnitId};
use crate::ledger::Ledger;
use crate::manifest::TargetKind;
use crate::queue::{Artifact, DependencyQueue};
use crate::rustc::CompileSpec;
use crate::schedule::{priority, waits_for};

/// Per-unit durations, in milliseconds.
#[derive(Debug, Clone)]
pub struct Durations {
    pub compile: Vec<u64>,
    /// Until `.rmeta` is ready (libraries).
    pub metadata: Vec<u64>,
    pub relink: Vec<u64>,
    /// Whether `compile` was measured (else estimated).
    pub measured: Vec<bool>,
}

/// Before any build: ~10 ms per KiB of source plus rustc's start-up.
fn estimate_ms(src: &Path) -> u64 {
    let dir = src.parent().unwrap_or(Path::new("."));
    let bytes: u64 = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    60 + bytes / 100
}

impl Durations {
    pub fn from_ledger(
        graph: &CrateGraph,
        specs: &[CompileSpec],
        ledger: &Ledger,
        root: &Path,
    ) -> Durations {
        let mut d = Durations {
            compile: Vec::new(),
            metadata: Vec::new(),
            relink: Vec::new(),
            measured: Vec::new(),
        };
        for unit in graph.units() {
            let entry = ledger.get(&specs[unit.id.0].unit_key());
            let compile = entry
                .map(|e| e.duration_ms)
                .unwrap_or_else(|| estimate_ms(&root.join(&specs[unit.id.0].src)));
            d.measured.push(entry.is_some());
            d.metadata.push(
                entry
                    .and_then(|e| e.metadata_ms)
                    .unwrap_or(compile * 6 / 10),
            );
            d.relink.push(
                entry
                    .and_then(|e| e.relink_ms)
                    .unwrap_or((compile / 10).max(60)),
            );
            d.compile.push(compile);
        }
        d
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Metadata(UnitId),
    Done(UnitId),
}

/// Fill in `predicted_ms` per unit and for the whole plan.
pub fn predict(plan: &mut BuildPlan, graph: &CrateGraph, durations: &Durations, jobs: usize) {
    let mut queue = DependencyQueue::default();
    for &id in graph.topological() {
        match plan.units[id.0].action {
            Action::Compile | Action::Relink => {
                queue.enqueue(id, waits_for(graph, id), priority(graph, id))
            }
            Action::Fresh | Action::Cosmetic => queue.finish(id, Artifact::Link),
        }
    }
    let mut events: BinaryHeap<Reverse<(u64, Event)>> = BinaryHeap::new();
    let (mut now, mut free) = (0u64, jobs.max(1));
    loop {
        while free > 0 {
            let Some(id) = queue.pop() else { break };
            free -= 1;
            let unit = &mut plan.units[id.0];
            let duration = match unit.action {
                Action::Relink => durations.relink[id.0],
                _ => durations.compile[id.0],
            };
            unit.predicted_ms = duration;
            if unit.action == Action::Compile && graph.unit(id).kind == TargetKind::Lib {
                events.push(Reverse((
                    now + durations.metadata[id.0].min(duration),
                    Event::Metadata(id),
                )));
            }
            events.push(Reverse((now + duration, Event::Done(id))));
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
