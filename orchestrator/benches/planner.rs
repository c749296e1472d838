//! The planner at scale: a synthetic in-memory workspace of N crates in
//! layers (each depending on up to three crates of lower layers, binaries on
//! top), planned as a clean build: graph construction, compile specs,
//! propagation, the relink/metadata-debt fixpoint, critical-path priorities
//! and the schedule simulation. Run with `cargo bench -p orchestrator`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use orchestrator::classify::SyntaxCache;
use orchestrator::graph::CrateGraph;
use orchestrator::ledger::Ledger;
use orchestrator::manifest::{
    Dependency, Package, PackageMetadata, Target, TargetKind, Version, Workspace,
};
use orchestrator::plan::{self, PlanInput};
use orchestrator::profile::{Layout, Profile};
use orchestrator::rustc::{self, Outputs, Toolchain};

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

fn workspace(crates: usize, layers: usize) -> Workspace {
    let root = PathBuf::from("/virtual-workspace");
    let per_layer = crates.div_ceil(layers);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let packages = (0..crates)
        .map(|i| {
            let layer = i / per_layer;
            let name = format!("c{i:05}");
            let dir = root.join(&name);
            let top = layer + 1 == layers;
            let dependencies = if layer == 0 {
                Vec::new()
            } else {
                let below = layer * per_layer;
                let mut picked: Vec<usize> =
                    (0..3).map(|_| (rng.next() as usize) % below).collect();
                picked.sort();
                picked.dedup();
                picked
                    .into_iter()
                    .map(|d| Dependency {
                        name: format!("c{d:05}"),
                        package: format!("c{d:05}"),
                        dir: root.join(format!("c{d:05}")),
                        features: Vec::new(),
                        default_features: true,
                    })
                    .collect()
            };
            Package {
                name: name.clone(),
                version: Version {
                    text: "0.1.0".into(),
                    major: 0,
                    minor: 1,
                    patch: 0,
                    pre: String::new(),
                },
                edition: "2021".into(),
                metadata: PackageMetadata::default(),
                manifest_path: dir.join("Cargo.toml"),
                targets: vec![Target {
                    name: name.clone(),
                    kind: if top {
                        TargetKind::Bin
                    } else {
                        TargetKind::Lib
                    },
                    src_path: dir.join(if top { "src/main.rs" } else { "src/lib.rs" }),
                }],
                dir,
                is_member: true,
                dependencies,
                dev_dependencies: Vec::new(),
                features: BTreeMap::new(),
            }
        })
        .collect();
    Workspace::new(root.clone(), root.join("Cargo.toml"), packages)
}

fn toolchain() -> Toolchain {
    Toolchain {
        rustc: "rustc".into(),
        verbose_version: "rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\n".into(),
        release: "1.95.0".into(),
        host: "x86_64-unknown-linux-gnu".into(),
    }
}

#[divan::bench(args = [1_000, 10_000], sample_count = 5)]
fn crate_graph(bencher: divan::Bencher, crates: usize) {
    let ws = workspace(crates, 20);
    bencher.bench(|| CrateGraph::build(&ws).expect("a valid graph"));
}

#[divan::bench(args = [1_000, 10_000], sample_count = 5)]
fn plan_clean_build(bencher: divan::Bencher, crates: usize) {
    let ws = workspace(crates, 20);
    let graph = CrateGraph::build(&ws).expect("a valid graph");
    let toolchain = toolchain();
    let scratch = std::env::temp_dir().join("orchestrator-planner-bench");
    let layout = Layout::new(&scratch, Profile::Dev);
    let specs = rustc::compile_specs(&ws, &graph, Profile::Dev, &toolchain, &[]);
    let outputs: Vec<Outputs> = graph
        .units()
        .iter()
        .map(|u| Outputs::of(&specs[u.id.0], u, &layout))
        .collect();
    let env = vec![BTreeMap::new(); graph.len()];
    let ledger = Ledger::default();
    let cache = SyntaxCache::new(&scratch.join(".syntax"));
    bencher.bench(|| {
        plan::plan(&PlanInput {
            root: &ws.root,
            graph: &graph,
            specs: &specs,
            outputs: &outputs,
            ledger: &ledger,
            toolchain: "toolchain",
            compiler_env: &env,
            cache: &cache,
            release: false,
            relink: true,
            touches: &[],
            jobs: 2,
        })
    });
}
