//! `scripts/gen-workspace` and the edit anchors `scripts/bench` relies on,
//! on a small generated workspace: it builds like cargo builds it, and the
//! benchmark's private-body edit is the shortcut the benchmark assumes.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

fn generate(dir: &Path) {
    let status = Command::new("python3")
        .arg(repo_root().join("scripts/gen-workspace"))
        .args([
            "--crates", "8", "--layers", "3", "--lines", "60", "--seed", "7", "--bins", "2",
        ])
        .arg(dir)
        .status()
        .expect("run scripts/gen-workspace (python3)");
    assert!(status.success(), "gen-workspace failed");
}

/// Stdout of every binary orchestrator built, by name.
fn outputs(ws: &Ws, bins: &Path, names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| run_bin(&bins.join(n), &[], &ws.root).1)
        .collect()
}

fn cargo_build(ws: &Ws, target: &Path) {
    let mut cmd = Command::new("cargo");
    scrub_env(&mut cmd);
    let status = cmd
        .args(["build", "--offline", "-q", "--manifest-path"])
        .arg(ws.manifest())
        .arg("--target-dir")
        .arg(target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build failed");
}

#[test]
fn a_generated_workspace_builds_like_cargo_and_its_anchors_work() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("generated");
    generate(&root);
    let ws = Ws {
        root: root.canonicalize().expect("root"),
        name: "generated".to_owned(),
        tmp,
    };
    let first = build(&ws);
    first.assert_success();
    let bins: Vec<String> = first
        .of("crate-finished")
        .into_iter()
        .filter(|e| e["kind"] == "bin")
        .filter_map(|e| e["crate"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(bins.len(), 2, "{}", first.describe());
    let cargo_target = ws.tmp.path().join("cargo-target");
    cargo_build(&ws, &cargo_target);
    let ours = outputs(&ws, &ws.bin_dir(), &bins);
    assert_eq!(ours, outputs(&ws, &cargo_target.join("debug"), &bins));

    let edits: Value =
        serde_json::from_str(&ws.read("bench-edits.json")).expect("bench-edits.json");
    let private = &edits["edits"]["private"];
    let file = private["file"].as_str().expect("file");
    ws.replace(
        file,
        private["find"].as_str().expect("find"),
        private["replace"].as_str().expect("replace"),
    );
    let edited = build(&ws);
    edited.assert_success();
    assert_eq!(
        edited.compiled().len(),
        1,
        "only the edited crate compiles\n{}",
        edited.describe()
    );
    assert_eq!(
        edited.relinked().len(),
        2,
        "both binaries relink\n{}",
        edited.describe()
    );
    cargo_build(&ws, &cargo_target);
    let ours = outputs(&ws, &ws.bin_dir(), &bins);
    assert_eq!(ours, outputs(&ws, &cargo_target.join("debug"), &bins));
}
