//! Scheduling facts shared by execution and prediction: what a job waits
//! for, how long jobs take, and which ready job goes first — the one with
//! the longest remaining path to the end of the build, so the critical path
//! never waits behind short jobs.

use std::path::Path;

use crate::events::{JobTiming, ScheduleStats};
use crate::fingerprint::{UnitSettings, UnitSpec};
use crate::graph::{CrateGraph, UnitId, UnitKind, UnitMap};
use crate::ledger::{Ledger, LedgerEntry, Measured};
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

/// Per-unit durations in milliseconds, from the ledger (or estimated): the
/// one duration model behind `--touch --dry-run`, the plan's priorities and
/// the live ETA. Each kind of job is predicted from what was measured for
/// that kind:
///
/// | job | predicted from |
/// |---|---|
/// | compile of a unit never built here | its source size ([`estimate_ms`]) |
/// | compile of a unit built here before | its last such recompile; never measured: its clean compile × the recompile/clean ratio measured on the other units (incremental units only) |
/// | compile of a touched unit (`--touch`: incremental state removed) | its last clean compile |
/// | relink | its last relink; never measured: its clean compile × the relink/clean ratio measured on other binaries, else a tenth of it (at least 60 ms) |
/// | build-script run | its last run |
#[derive(Debug, Clone)]
pub struct Durations {
    pub compile: UnitMap<u64>,
    /// Until `.rmeta` is ready (libraries).
    pub metadata: UnitMap<u64>,
    pub relink: UnitMap<u64>,
    /// Whether `compile` was measured (else estimated from source size).
    pub measured: UnitMap<bool>,
}

/// A recompile's share of a clean compile before any was measured here
/// (ripgrep and the generated workspaces, dev profile: 0.4–0.7).
const RECOMPILE_SHARE: f64 = 0.55;

/// What the next compile of a unit built here before will be.
#[derive(Debug, Clone, Copy)]
enum NextCompile {
    /// From nothing (`--touch` removed its incremental state).
    Cold,
    /// From its incremental state; never measured: `share` of a clean one.
    Warm { share: f64 },
    /// As long as the last one (no incremental state: registry crates,
    /// release builds, build-script runs).
    AsLast,
}

fn next_compile(e: &LedgerEntry, kind: NextCompile) -> Measured {
    let last = Measured {
        total_ms: e.duration_ms,
        metadata_ms: e.metadata_ms,
    };
    match kind {
        NextCompile::Cold => e.clean.unwrap_or(last),
        NextCompile::AsLast => e.recompile.unwrap_or(last),
        NextCompile::Warm { share } => e.recompile.unwrap_or_else(|| {
            let from = e.clean.unwrap_or(last);
            Measured {
                total_ms: scaled(from.total_ms, share),
                metadata_ms: from.metadata_ms.map(|m| scaled(m, share)),
            }
        }),
    }
}

fn scaled(ms: u64, share: f64) -> u64 {
    (ms as f64 * share).round() as u64
}

/// The median of `ratios` when there are enough of them to trust.
fn learned(mut ratios: Vec<f64>) -> Option<f64> {
    if ratios.len() < 3 {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    Some(ratios[ratios.len() / 2])
}

impl Durations {
    pub fn from_ledger(
        graph: &CrateGraph,
        specs: &UnitMap<UnitSpec>,
        settings: &UnitMap<UnitSettings>,
        ledger: &Ledger,
        cold: &[UnitId],
    ) -> Durations {
        let entries: UnitMap<Option<&LedgerEntry>> =
            UnitMap::from_fn(graph, |u| ledger.get(&specs[u.id].key));
        let ratio = |part: &dyn Fn(&LedgerEntry) -> Option<u64>| {
            learned(
                entries
                    .values()
                    .flatten()
                    .filter_map(|e| {
                        let clean = e.clean?.total_ms;
                        (clean >= 50).then(|| part(e).map(|p| p as f64 / clean as f64))?
                    })
                    .collect(),
            )
        };
        let recompile_share =
            ratio(&|e| e.recompile.map(|r| r.total_ms)).unwrap_or(RECOMPILE_SHARE);
        let relink_share = ratio(&|e| e.relink_ms);
        // The next compile of a unit built here before: a recompile.
        let next: UnitMap<Option<Measured>> = UnitMap::from_fn(graph, |u| {
            let kind = match () {
                _ if cold.contains(&u.id) => NextCompile::Cold,
                _ if u.kind == UnitKind::RunBuildScript || !settings[u.id].incremental => {
                    NextCompile::AsLast
                }
                _ => NextCompile::Warm {
                    share: recompile_share,
                },
            };
            Some(next_compile(entries[u.id]?, kind))
        });
        let compile: UnitMap<u64> = UnitMap::from_fn(graph, |u| match next[u.id] {
            Some(m) => m.total_ms,
            None => match u.kind {
                UnitKind::RunBuildScript => 150,
                _ => estimate_ms(&u.target.src_path),
            },
        });
        Durations {
            metadata: UnitMap::from_fn(graph, |u| {
                next[u.id]
                    .and_then(|m| m.metadata_ms)
                    .unwrap_or(compile[u.id] * 6 / 10)
                    .min(compile[u.id])
            }),
            relink: UnitMap::from_fn(graph, |u| {
                let e = entries[u.id];
                let clean = e
                    .and_then(|e| e.clean)
                    .map_or(compile[u.id], |c| c.total_ms);
                e.and_then(|e| e.relink_ms).unwrap_or(match relink_share {
                    Some(share) => scaled(clean, share),
                    None => (clean / 10).max(60),
                })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(total_ms: u64, metadata_ms: u64) -> Option<Measured> {
        Some(Measured {
            total_ms,
            metadata_ms: Some(metadata_ms),
        })
    }

    #[test]
    fn each_kind_of_compile_is_predicted_from_its_own_kind() {
        let mut e = Ledger::new_entry("lib-1".into());
        // The first build: a clean compile, measured under a full build.
        e.duration_ms = 400;
        e.metadata_ms = Some(200);
        e.clean = measured(400, 200);
        let warm = NextCompile::Warm { share: 0.5 };
        // No recompile measured yet: a share of the clean one.
        assert_eq!(Some(next_compile(&e, warm)), measured(200, 100));
        assert_eq!(
            Some(next_compile(&e, NextCompile::Cold)),
            measured(400, 200)
        );
        // Once one was measured, recompiles come from it, and a touched
        // (cold) compile still from the clean one.
        e.duration_ms = 150;
        e.metadata_ms = Some(90);
        e.recompile = measured(150, 90);
        assert_eq!(Some(next_compile(&e, warm)), measured(150, 90));
        assert_eq!(
            Some(next_compile(&e, NextCompile::Cold)),
            measured(400, 200)
        );
        assert_eq!(
            Some(next_compile(&e, NextCompile::AsLast)),
            measured(150, 90)
        );
        // An entry from before the model kept kinds: its last compile.
        let mut old = Ledger::new_entry("lib-2".into());
        old.duration_ms = 300;
        old.metadata_ms = Some(100);
        assert_eq!(
            Some(next_compile(&old, NextCompile::Cold)),
            measured(300, 100)
        );
        assert_eq!(
            Some(next_compile(&old, NextCompile::AsLast)),
            measured(300, 100)
        );
    }

    #[test]
    fn a_ratio_is_learned_from_three_samples_or_more() {
        assert_eq!(learned(vec![0.5, 0.4]), None);
        assert_eq!(learned(vec![0.9, 0.3, 0.5]), Some(0.5));
        assert_eq!(learned(vec![0.2, 0.6, 0.4, 0.8]), Some(0.6));
    }
}
