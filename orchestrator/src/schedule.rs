//! Scheduling facts shared by execution and prediction: what a job waits
//! for, how long jobs take, and which ready job goes first — the one with
//! the longest remaining path to the end of the build, so the critical path
//! never waits behind short jobs.

use std::path::Path;

use crate::events::{JobTiming, ScheduleStats};
use crate::fingerprint::UnitSpec;
use crate::graph::{CrateGraph, UnitId, UnitKind, UnitMap};
use crate::ledger::Ledger;
use crate::queue::Artifact;

/// What a unit's job needs before it can start: a pipelined library
/// compiles against its library dependencies' `.rmeta` (docs/rustc-facts.md §2) and
/// the results of its build script; a build-script run needs the script
/// and the runs whose `DEP_*` metadata it reads; anything that links
/// (binaries, proc-macros, build scripts, relinks) needs every artifact of
/// its link closure.
pub fn waits_for(graph: &CrateGraph, id: UnitId) -> Vec<(UnitId, Artifact)> {
    let unit = graph.unit(id);
    if unit.emits_metadata() || unit.kind == UnitKind::RunBuildScript {
        return unit
            .deps
            .iter()
            .map(
                |d| match graph.unit(d.unit).emits_metadata() && unit.emits_metadata() {
                    true => (d.unit, Artifact::Metadata),
                    false => (d.unit, Artifact::Link),
                },
            )
            .collect();
    }
    graph
        .link_closure(id)
        .into_iter()
        .map(|d| (d, Artifact::Link))
        .collect()
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
    pub compile: UnitMap<u64>,
    /// Until `.rmeta` is ready (libraries).
    pub metadata: UnitMap<u64>,
    pub relink: UnitMap<u64>,
    /// Whether `compile` was measured (else estimated from source size).
    pub measured: UnitMap<bool>,
}

impl Durations {
    pub fn from_ledger(
        graph: &CrateGraph,
        specs: &UnitMap<UnitSpec>,
        ledger: &Ledger,
    ) -> Durations {
        let entries: UnitMap<Option<&crate::ledger::LedgerEntry>> =
            UnitMap::from_fn(graph, |u| ledger.get(&specs[u.id].key));
        let compile: UnitMap<u64> = UnitMap::from_fn(graph, |u| {
            entries[u.id]
                .map(|e| e.duration_ms)
                .unwrap_or_else(|| match u.kind {
                    UnitKind::RunBuildScript => 150,
                    _ => estimate_ms(&u.target.src_path),
                })
        });
        Durations {
            metadata: UnitMap::from_fn(graph, |u| {
                entries[u.id]
                    .and_then(|e| e.metadata_ms)
                    .unwrap_or(compile[u.id] * 6 / 10)
            }),
            relink: UnitMap::from_fn(graph, |u| {
                entries[u.id]
                    .and_then(|e| e.relink_ms)
                    .unwrap_or((compile[u.id] / 10).max(60))
            }),
            measured: UnitMap::from_fn(graph, |u| entries[u.id].is_some()),
            compile,
        }
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
pub fn longest_paths(graph: &CrateGraph, jobs: &UnitMap<Option<JobTime>>) -> UnitMap<u64> {
    let waiters = waiters(graph, graph.ids().filter(|id| jobs[*id].is_some()));
    let mut longest: UnitMap<u64> = UnitMap::filled(graph, 0);
    for &id in graph.topological().iter().rev() {
        let Some(time) = jobs[id] else { continue };
        let after = waiters[id]
            .iter()
            .map(|&(w, artifact)| time.until(artifact) + longest[w])
            .max()
            .unwrap_or(0);
        longest[id] = time.total.max(after);
    }
    longest
}

impl JobTime {
    /// When a dependent waiting for `artifact` of this job may start.
    fn until(self, artifact: Artifact) -> u64 {
        match artifact {
            Artifact::Metadata => self.metadata,
            Artifact::Link => self.total,
        }
    }
}

/// For each unit, the jobs that wait for it and for which artifact.
fn waiters(
    graph: &CrateGraph,
    jobs: impl Iterator<Item = UnitId>,
) -> UnitMap<Vec<(UnitId, Artifact)>> {
    let mut waiters: UnitMap<Vec<(UnitId, Artifact)>> = UnitMap::filled(graph, Vec::new());
    for id in jobs {
        for (dep, artifact) in waits_for(graph, id) {
            waiters[dep].push((id, artifact));
        }
    }
    waiters
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
    let mut times: UnitMap<Option<JobTime>> = UnitMap::filled(graph, None);
    for t in timings {
        let total = t.end_ms - t.start_ms;
        times[t.unit] = Some(JobTime {
            total,
            metadata: t.metadata_ms.map(|m| m - t.start_ms).unwrap_or(total),
        });
    }
    let longest = longest_paths(graph, &times);
    let critical_path_ms = longest.values().copied().max().unwrap_or(0);
    let job_time_ms: u64 = times.values().flatten().map(|t| t.total).sum();
    let bound = critical_path_ms
        .max(job_time_ms / workers.max(1) as u64)
        .max(1);
    let waiters = waiters(graph, timings.iter().map(|t| t.unit));
    let mut critical_path = Vec::new();
    // Walk the chain: start at the job with the longest path, then follow
    // the waiter whose path accounts for the rest.
    let mut current = graph
        .ids()
        .filter(|u| times[*u].is_some())
        .max_by_key(|u| longest[*u]);
    while let Some(id) = current {
        critical_path.push(id);
        let time = times[id].unwrap_or(JobTime {
            total: 0,
            metadata: 0,
        });
        current = waiters[id].iter().find_map(|&(w, artifact)| {
            (time.until(artifact) + longest[w] == longest[id]).then_some(w)
        });
    }
    Some(ScheduleStats {
        critical_path_ms,
        job_time_ms,
        efficiency: wall_ms.max(1) as f64 / bound as f64,
        critical_path,
    })
}
