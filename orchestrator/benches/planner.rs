//! The planner at scale: a synthetic in-memory cargo answer of N crates in
//! layers (each depending on up to three crates of lower layers, binaries on
//! top), planned as a clean build: graph construction, unit specs,
//! propagation, the relink/metadata-debt fixpoint, critical-path priorities
//! and the schedule simulation; and the syntax summary of one large source file (what an edit
//! costs the classifier). Run with `cargo bench -p orchestrator`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use orchestrator::cargo::CargoAnswer;
use orchestrator::cargo::synthetic::{Crate, answer};
use orchestrator::classify::SyntaxCache;
use orchestrator::fingerprint::{self, UnitSettings};
use orchestrator::graph::{CrateGraph, UnitMap};
use orchestrator::ledger::Ledger;
use orchestrator::plan::{self, PlanInput};
use orchestrator::profile::{Layout, Lto, Profile};
use orchestrator::rustc::{Outputs, Toolchain};

fn main() {
    divan::main();
}

/// Deterministic pseudo-random numbers (xorshift), so every run plans the same graph.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn workspace(crates: usize, layers: usize) -> CargoAnswer {
    let per_layer = crates.div_ceil(layers);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let list: Vec<Crate> = (0..crates)
        .map(|i| {
            let layer = i / per_layer;
            let deps = if layer == 0 {
                Vec::new()
            } else {
                let below = layer * per_layer;
                let mut picked: Vec<usize> =
                    (0..3).map(|_| (rng.next() as usize) % below).collect();
                picked.sort();
                picked.dedup();
                picked
            };
            Crate {
                name: format!("c{i:05}"),
                kind: if layer + 1 == layers { "bin" } else { "lib" },
                deps,
            }
        })
        .collect();
    answer(Path::new("/virtual-workspace"), &list)
}

fn toolchain() -> Toolchain {
    Toolchain {
        rustc: "rustc".into(),
        rustdoc: "rustdoc".into(),
        sysroot: None,
        verbose_version: "rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\n".into(),
        release: "1.95.0".into(),
        host: "x86_64-unknown-linux-gnu".into(),
    }
}

fn graph(answer: &CargoAnswer) -> CrateGraph {
    CrateGraph::build(answer).expect("a valid graph")
}

#[divan::bench(args = [1_000, 10_000], sample_count = 5)]
fn crate_graph(bencher: divan::Bencher, crates: usize) {
    let answer = workspace(crates, 20);
    bencher.bench(|| graph(&answer));
}

#[divan::bench(args = [1_000, 10_000], sample_count = 5)]
fn plan_clean_build(bencher: divan::Bencher, crates: usize) {
    let graph = graph(&workspace(crates, 20));
    let toolchain = toolchain();
    let scratch: PathBuf = std::env::temp_dir().join("orchestrator-planner-bench");
    let layout = Layout::new(&scratch, &Profile::dev());
    let settings = UnitMap::from_fn(&graph, |_| UnitSettings {
        rustflags: Vec::new(),
        linker: None,
        incremental: true,
        lto: Lto::OnlyObject,
        extra_filename: true,
        immutable_root: None,
        wrapper: None,
        workspace_wrapper: None,
    });
    let specs = fingerprint::specs(&graph, &settings, &toolchain, &BTreeMap::new());
    let outputs = UnitMap::from_fn(&graph, |u| {
        Outputs::of(&graph, u.id, &specs[u.id], true, &layout)
    });
    let env = UnitMap::filled(&graph, BTreeMap::new());
    let optimizing = UnitMap::filled(&graph, false);
    let ledger = Ledger::default();
    let cache = SyntaxCache::new(&scratch.join(".syntax"));
    let process_env = BTreeMap::new();
    bencher.bench(|| {
        plan::plan(&PlanInput {
            graph: &graph,
            specs: &specs,
            settings: &settings,
            outputs: &outputs,
            ledger: &ledger,
            toolchain: "toolchain",
            compiler_env: &env,
            process_env: &process_env,
            cache: &cache,
            optimizing: &optimizing,
            cfg_test: &UnitMap::filled(&graph, false),
            relink: true,
            touches: &[],
            jobs: 2,
        })
    });
}

/// The classifier's summary of one large file (this crate's coordinator,
/// about 1,200 lines), as an edit to it costs before any comparison.
#[divan::bench(sample_count = 20)]
fn summarize_large_file(bencher: divan::Bencher) {
    let source = include_str!("../src/execute/coordinator.rs");
    bencher.bench(|| {
        orchestrator::classify::summarize(source, orchestrator::classify::Items::WithoutTests)
    });
}
