//! Scheduling facts shared by execution and prediction: what a job waits
//! for, how long jobs take, and which ready job goes first — the one with
//! the longest remaining path to the end of the build, so the critical path
//! never waits behind short jobs.

use std::path::Path;

use crate::events::{JobTiming, ScheduleStats};
use crate::graph::{CrateGraph, UnitId};
use crate::ledger::Ledger;
use crate::manifest::TargetKind;
use crate::queue::Artifact;
use crate::rustc::CompileSpec;

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

/// How long a job takes, and when dependents waiting for its `.rmeta` may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTime {
    pub total: u64,
    /// For pipelined libraries: when the metadata is out; else `total`.
    pub metadata: u64,
}

/// Per-unit durations in milliseconds, from the ledger (or estimated).
#[derive(Debug, Clone)]
pub struct Durations {
    pub compile: Vec<u64>,
    /// Until `.rmeta` is ready (libraries).
    pub metadata: Vec<u64>,
    pub relink: Vec<u64>,
    /// Whether `compile` was measured (else estimated from source size).
    pub measured: Vec<bool>,
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

/// Before any build: ~10 ms per KiB of the crate's top source directory plus start-up.
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

/// For every job, the longest time from its start to the end of the build:
/// its own duration, or the wait its dependents need from it (metadata for a
/// pipelined library, everything else in full) plus their longest path.
/// Units that run no job (`None`) get 0.
pub fn longest_paths(graph: &CrateGraph, jobs: &[Option<JobTime>]) -> Vec<u64> {
    let mut waiters: Vec<Vec<(UnitId, Artifact)>> = vec![Vec::new(); graph.len()];
    for unit in graph.units() {
        if jobs[unit.id.0].is_none() {
            continue;
        }
        for (dep, artifact) in waits_for(graph, unit.id) {
            waiters[dep.0].push((unit.id, artifact));
        }
    }
    let mut longest = vec![0u64; graph.len()];
    for &id in graph.topological().iter().rev() {
        let Some(time) = jobs[id.0] else { continue };
        let after = waiters[id.0]
            .iter()
            .map(|&(w, artifact)| {
                let wait = if artifact == Artifact::Metadata {
                    time.metadata
                } else {
                    time.total
                };
                wait + longest[w.0]
            })
            .max()
            .unwrap_or(0);
        longest[id.0] = time.total.max(after);
    }
    longest
}

/// How close the build came to the limit the graph allows:
/// wall / max(critical path, total job time / workers), from measured times.
pub fn measure_schedule(
    graph: &CrateGraph,
    timings: &[JobTiming],
    wall_ms: u64,
    workers: usize,
) -> Option<ScheduleStats> {
    if timings.is_empty() {
        return None;
    }
    let mut times: Vec<Option<JobTime>> = vec![None; graph.len()];
    for t in timings {
        let total = t.end_ms - t.start_ms;
        times[t.unit.0] = Some(JobTime {
            total,
            metadata: t.metadata_ms.map(|m| m - t.start_ms).unwrap_or(total),
        });
    }
    let longest = longest_paths(graph, &times);
    let critical_path_ms = longest.iter().copied().max().unwrap_or(0);
    let job_time_ms: u64 = times.iter().flatten().map(|t| t.total).sum();
    let bound = critical_path_ms
        .max(job_time_ms / workers.max(1) as u64)
        .max(1);
    let mut waiters: Vec<Vec<(UnitId, Artifact)>> = vec![Vec::new(); graph.len()];
    for t in timings {
        for (dep, artifact) in waits_for(graph, t.unit) {
            waiters[dep.0].push((t.unit, artifact));
        }
    }
    let mut critical_path = Vec::new();
    // Walk the chain: start at the job with the longest path, then follow
    // the waiter whose path accounts for the rest.
    let mut current = (0..graph.len())
        .map(UnitId)
        .filter(|u| times[u.0].is_some())
        .max_by_key(|u| longest[u.0]);
    while let Some(id) = current {
        critical_path.push(id);
        let time = times[id.0].unwrap_or(JobTime {
            total: 0,
            metadata: 0,
        });
        current = waiters[id.0].iter().find_map(|&(w, artifact)| {
            let wait = if artifact == Artifact::Metadata {
                time.metadata
            } else {
                time.total
            };
            (wait + longest[w.0] == longest[id.0]).then_some(w)
        });
    }
    Some(ScheduleStats {
        critical_path_ms,
        job_time_ms,
        efficiency: wall_ms.max(1) as f64 / bound as f64,
        critical_path,
    })
}
