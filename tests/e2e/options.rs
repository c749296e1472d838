//! Command-line options and environment: --release, --target-dir, -j,
//! RUSTFLAGS, RUSTC, finding the workspace, human output levels.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::*;

const SAMPLE_UNITS: [&str; 3] = ["core_lib", "api_server", "cli_tool"];

#[test]
fn release_builds_match_cargo_release() {
    let ws = Ws::new("sample-workspace");
    let mut cmd = build_cmd(&ws);
    cmd.arg("--release");
    let out = run(&mut cmd);
    out.assert_success();
    assert_eq!(out.started_event()["profile"], "release");
    assert_eq!(out.compiled(), set(SAMPLE_UNITS));
    assert!(
        !ws.bin_dir().exists(),
        "nothing in debug/ for a release build"
    );
    let cargo = cargo_bins(
        &ws,
        CargoOpts {
            release: true,
            rustflags: None,
            profile: None,
        },
    );
    assert_matches_cargo(&ws, &ws.target_dir().join("release"), &cargo);

    // The dev profile is separate: building it compiles everything, and
    // then neither profile disturbs the other.
    let dev = build(&ws);
    dev.assert_success();
    assert_eq!(dev.started_event()["profile"], "dev");
    assert_eq!(dev.compiled(), set(SAMPLE_UNITS));
    assert_dev_matches_cargo(&ws);
    let again = run(build_cmd(&ws).arg("--release"));
    again.assert_success();
    assert!(again.compiled().is_empty(), "{}", again.describe());
}

#[test]
fn target_dir_elsewhere() {
    let ws = Ws::new("sample-workspace");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let target = elsewhere.path().join("custom target");
    let out = run(build_cmd(&ws).arg("--target-dir").arg(&target));
    out.assert_success();
    assert_eq!(out.compiled(), set(SAMPLE_UNITS));
    assert!(
        !ws.path("target").exists(),
        "the default target dir is untouched"
    );
    let cargo = cargo_bins(&ws, DEV);
    assert_matches_cargo(&ws, &target.join("debug"), &cargo);

    let again = run(build_cmd(&ws).arg("--target-dir").arg(&target));
    again.assert_success();
    assert!(again.compiled().is_empty(), "{}", again.describe());
}

#[test]
fn relative_target_dir_is_relative_to_the_current_directory() {
    let ws = Ws::new("chain");
    let cwd = ws.tmp.path().join("somewhere");
    std::fs::create_dir_all(&cwd).expect("mkdir");
    let out = run(build_cmd(&ws)
        .args(["--target-dir", "rel-target"])
        .current_dir(&cwd));
    out.assert_success();
    assert!(!ws.path("target").exists());
    let cargo = cargo_bins(&ws, DEV);
    assert_matches_cargo(&ws, &cwd.join("rel-target/debug"), &cargo);
}

#[test]
fn one_job_runs_one_rustc_at_a_time() {
    let ws = Ws::new("wide");
    let out = run(build_cmd(&ws).args(["-j", "1"]));
    out.assert_success();
    assert_eq!(out.started_event()["jobs"].as_u64(), Some(1));
    let all: BTreeSet<String> = ws
        .fixture()
        .units
        .iter()
        .map(|(l, _)| l.to_string())
        .collect();
    assert_eq!(out.units("compiled"), all);
    let mut running: Option<String> = None;
    for event in &out.events {
        match reason(event) {
            "crate-started" => {
                assert!(
                    running.is_none(),
                    "{} started while {running:?} runs\n{}",
                    label(event),
                    out.describe()
                );
                running = Some(label(event));
            }
            "crate-finished" | "crate-failed" if event["action"] != "fresh" => {
                assert_eq!(running.take(), Some(label(event)), "{}", out.describe());
            }
            _ => {}
        }
    }
    assert_dev_matches_cargo(&ws);
}

#[test]
fn two_jobs_are_reported() {
    let ws = Ws::new("diamond");
    let out = run(build_cmd(&ws).args(["--jobs", "2"]));
    out.assert_success();
    assert_eq!(out.started_event()["jobs"].as_u64(), Some(2));
    assert_dev_matches_cargo(&ws);
}

/// Prints whether `--cfg orchestrator_test` was passed.
fn add_cfg_probe(ws: &Ws) {
    ws.replace(
        "cli_tool/src/main.rs",
        r#"println!("summary: {}", summarize(&store));"#,
        r#"println!("summary: {}", summarize(&store));
    println!("orchestrator_test cfg: {}", cfg!(orchestrator_test));"#,
    );
}

#[test]
fn rustflags_are_passed_and_changing_them_rebuilds() {
    let ws = Ws::new("sample-workspace");
    add_cfg_probe(&ws);
    let flags = "--cfg orchestrator_test";
    let with_flags = |extra: &[(&str, &str)]| {
        let mut cmd = build_cmd(&ws);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };

    let out = with_flags(&[("RUSTFLAGS", flags)]);
    out.assert_success();
    assert_eq!(out.compiled(), set(SAMPLE_UNITS));
    let cargo = cargo_bins(
        &ws,
        CargoOpts {
            release: false,
            rustflags: Some(flags),
            profile: None,
        },
    );
    let warnings: Vec<_> = out
        .of("compiler-message")
        .into_iter()
        .filter(|e| e["level"] == "warning" && e["crate"] == "cli_tool")
        .filter(|e| {
            e["rendered"]
                .as_str()
                .is_some_and(|r| r.contains("unexpected `cfg` condition name: `orchestrator_test`"))
        })
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "rustc's check-cfg warning\n{}",
        out.describe()
    );
    let outputs = assert_matches_cargo(&ws, &ws.bin_dir(), &cargo);
    assert!(
        outputs[1].contains("orchestrator_test cfg: true"),
        "{}",
        outputs[1]
    );

    let same = with_flags(&[("RUSTFLAGS", flags)]);
    same.assert_success();
    assert!(
        same.compiled().is_empty(),
        "same RUSTFLAGS\n{}",
        same.describe()
    );

    // The same flags through CARGO_ENCODED_RUSTFLAGS (which wins over RUSTFLAGS).
    let encoded = with_flags(&[
        ("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1forchestrator_test"),
        ("RUSTFLAGS", "--cfg something_else"),
    ]);
    encoded.assert_success();
    assert!(encoded.compiled().is_empty(), "{}", encoded.describe());

    let none = with_flags(&[]);
    none.assert_success();
    assert_eq!(none.compiled(), set(SAMPLE_UNITS), "{}", none.describe());
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(
        outputs[1].contains("orchestrator_test cfg: false"),
        "{}",
        outputs[1]
    );

    let again = with_flags(&[("RUSTFLAGS", "")]);
    again.assert_success();
    assert!(
        again.compiled().is_empty(),
        "empty RUSTFLAGS = none\n{}",
        again.describe()
    );
}

#[test]
fn rustc_that_does_not_exist() {
    let ws = Ws::new("chain");
    let out = run(build_cmd(&ws).env("RUSTC", "/nonexistent/rustc-x"));
    let ctx = out.describe();
    assert_eq!(out.code(), Some(101), "{ctx}");
    assert!(!out.stderr.contains("panicked"), "{ctx}");
    let error = out.one("error");
    let message = error["message"].as_str().unwrap_or("");
    assert!(message.contains("/nonexistent/rustc-x"), "{ctx}");
    assert!(
        error["help"].as_str().is_some_and(|h| h.contains("RUSTC")),
        "{ctx}"
    );
    assert!(out.of("crate-started").is_empty(), "{ctx}");

    let human = run(human_cmd(&ws).env("RUSTC", "/nonexistent/rustc-x"));
    assert_eq!(human.code(), Some(101), "{}", human.describe());
    assert!(
        human.stderr.contains("/nonexistent/rustc-x"),
        "{}",
        human.describe()
    );
}

/// As cargo does: inside a member, the build is that member's (and what it
/// depends on), in the workspace's target directory.
#[test]
fn running_inside_a_member_builds_that_member() {
    let ws = Ws::new("sample-workspace");
    let out = run(orchestrator()
        .args(["build", "--message-format", "json"])
        .current_dir(ws.path("api_server/src")));
    out.assert_success();
    assert_eq!(out.compiled(), set(["core_lib", "api_server"]));
    assert!(
        !ws.path("api_server/target").exists(),
        "target dir at the root, not the member"
    );
    assert!(ws.bin_dir().join("api_server").is_file());
    assert!(!ws.bin_dir().join("cli_tool").exists());
}

#[test]
fn member_manifest_path_builds_that_member() {
    let ws = Ws::new("sample-workspace");
    let out = run(orchestrator()
        .arg("build")
        .arg("--manifest-path")
        .arg(ws.path("api_server/Cargo.toml"))
        .args(["--message-format", "json"]));
    out.assert_success();
    assert_eq!(out.compiled(), set(["core_lib", "api_server"]));
    assert!(!ws.path("api_server/target").exists());

    // Relative to the current directory, too; core_lib is shared.
    let again = run(orchestrator()
        .args(["build", "--manifest-path", "cli_tool/Cargo.toml"])
        .args(["--message-format", "json"])
        .current_dir(&ws.root));
    again.assert_success();
    assert_eq!(again.compiled(), set(["cli_tool"]), "{}", again.describe());
    assert_dev_matches_cargo(&ws);
}

/// `-p` and `--workspace` select as cargo's do.
#[test]
fn package_selection() {
    let ws = Ws::new("sample-workspace");
    let out = run(build_cmd(&ws).args(["-p", "cli_tool"]));
    out.assert_success();
    assert_eq!(out.compiled(), set(["core_lib", "cli_tool"]));
    let out = run(build_cmd(&ws).args(["--workspace", "--exclude", "cli_tool"]));
    out.assert_success();
    assert_eq!(out.compiled(), set(["api_server"]));
    let out = run(build_cmd(&ws).args(["-p", "nonexistent"]));
    assert_eq!(out.code(), Some(101), "{}", out.describe());
    assert!(
        out.one("error")["message"]
            .as_str()
            .is_some_and(|m| m.contains("nonexistent")),
        "cargo's message names the package\n{}",
        out.describe()
    );
}

#[test]
fn root_package_builds_the_root_package_from_a_member_dir_too() {
    let ws = Ws::new("root_package");
    // In `helper/`, cargo builds helper; at the root, the root package.
    let out = run(orchestrator()
        .args(["build", "--message-format", "json"])
        .current_dir(ws.path("helper")));
    out.assert_success();
    assert_eq!(out.compiled(), set(["helper"]));
    let out = run(orchestrator()
        .args(["build", "--message-format", "json"])
        .current_dir(&ws.root));
    out.assert_success();
    assert_eq!(out.compiled(), set(["rootapp"]));
    assert_dev_matches_cargo(&ws);
}

#[test]
fn human_output_levels() {
    let ws = Ws::new("sample-workspace");
    let out = run(&mut human_cmd(&ws));
    let ctx = out.describe();
    assert_eq!(out.code(), Some(0), "{ctx}");
    assert!(out.stdout.is_empty(), "human output goes to stderr\n{ctx}");
    for unit in [
        "core_lib v0.1.0 (lib)",
        "api_server v0.1.0 (bin)",
        "cli_tool v0.1.0 (bin)",
    ] {
        assert!(
            out.stderr.contains(&format!("   Compiling {unit}")),
            "{ctx}"
        );
    }
    // One line per unit, as cargo: the job's time only with -v.
    assert!(!out.stderr.contains("    Compiled "), "{ctx}");
    let finished = out
        .stderr
        .lines()
        .find(|l| l.starts_with("    Finished "))
        .unwrap_or_else(|| panic!("a Finished line\n{ctx}"));
    assert!(
        finished.ends_with(": 3 compiled, 0 relinked, 0 fresh"),
        "{ctx}"
    );

    let quiet = run(human_cmd(&ws).arg("-q"));
    assert_eq!(quiet.code(), Some(0), "{}", quiet.describe());
    assert!(
        quiet.stderr.is_empty(),
        "-q prints nothing on success\n{}",
        quiet.describe()
    );

    let verbose = run(human_cmd(&ws).arg("-v"));
    assert_eq!(verbose.code(), Some(0), "{}", verbose.describe());
    let touched = ws.read("core_lib/src/lib.rs");
    ws.write(
        "core_lib/src/lib.rs",
        &format!("{touched}\nfn unused_helper() {{}}\n"),
    );
    let recompiled = run(human_cmd(&ws).arg("-v"));
    for unit in ["core_lib (lib)", "api_server (bin)", "cli_tool (bin)"] {
        assert!(
            recompiled
                .stderr
                .contains(&format!("    Compiled {unit} in ")),
            "{}",
            recompiled.describe()
        );
    }
    assert!(
        recompiled.stderr.contains("core_lib (lib) in "),
        "{}",
        recompiled.describe()
    );
    let warned = run(&mut human_cmd(&ws));
    assert!(
        warned
            .stderr
            .contains("warning: `core_lib` (lib) generated 1 warning"),
        "{}",
        warned.describe()
    );
    ws.write("core_lib/src/lib.rs", &touched);
    run(&mut human_cmd(&ws));
    for unit in [
        "core_lib v0.1.0 (lib)",
        "api_server v0.1.0 (bin)",
        "cli_tool v0.1.0 (bin)",
    ] {
        assert!(
            verbose.stderr.contains(&format!("Fresh {unit}")),
            "{}",
            verbose.describe()
        );
    }
    assert!(
        verbose.stderr.contains(": 0 compiled, 0 relinked, 3 fresh"),
        "{}",
        verbose.describe()
    );
    assert_dev_matches_cargo(&ws);
}

#[test]
fn json_mode_writes_nothing_but_json_to_stdout() {
    let ws = Ws::new("features");
    let out = run(build_cmd(&ws).arg("-v"));
    out.assert_success();
    for line in out.stdout.lines() {
        let value: Value = serde_json::from_str(line).expect("every stdout line is JSON");
        assert!(value.is_object());
    }
    assert_eq!(out.compiled(), set(["flags", "user"]));
}
