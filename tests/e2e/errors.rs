//! Bad inputs: exit 101 (2 for usage errors), never a panic, and a message
//! that names the file or crate at fault and says what to do.

use crate::support::*;

/// Run a bad fixture in both formats; return the JSON error message and the
/// human stderr, after the checks every bad input must pass.
fn fails_with(name: &str) -> (String, String) {
    let ws = Ws::new(name);

    let out = build(&ws);
    let ctx = out.describe();
    assert_eq!(out.code(), Some(101), "{ctx}");
    assert!(!out.stderr.contains("panicked"), "{ctx}");
    assert!(
        out.of("build-started").is_empty(),
        "no build for a bad manifest\n{ctx}"
    );
    assert!(out.of("crate-started").is_empty(), "{ctx}");
    let error = out.one("error");
    assert_eq!(reason(out.events.last().expect("events")), "error", "{ctx}");
    let help = error["help"].as_str().unwrap_or("");
    assert!(!help.is_empty(), "a help text\n{ctx}");
    let message = error["message"].as_str().unwrap_or("").to_owned();
    assert!(!message.is_empty(), "{ctx}");

    let human = run(&mut human_cmd(&ws));
    let ctx = human.describe();
    assert_eq!(human.code(), Some(101), "{ctx}");
    assert!(!human.stderr.contains("panicked"), "{ctx}");
    assert!(human.stdout.is_empty(), "{ctx}");
    assert!(
        human.stderr.contains(&format!("error: {message}")),
        "human output shows the same message\n{ctx}"
    );
    assert!(human.stderr.contains(&format!("help: {help}")), "{ctx}");
    assert!(
        !ws.path("target").exists(),
        "nothing is written for a workspace that cannot be loaded"
    );
    (message, human.stderr)
}

fn assert_mentions(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "the message should mention `{needle}`: {message}"
        );
    }
}

// Workspaces cargo cannot load: cargo's own message, exit 101.

#[test]
fn malformed_toml() {
    let (message, _) = fails_with("bad/malformed_toml");
    assert_mentions(&message, &["broken/Cargo.toml:3:", "invalid basic string"]);
}

#[test]
fn glob_matching_nothing() {
    let (message, _) = fails_with("bad/glob_no_match");
    assert_mentions(&message, &["nothing/*", "Cargo.toml"]);
}

#[test]
fn member_without_manifest() {
    let (message, _) = fails_with("bad/missing_member_manifest");
    assert_mentions(&message, &["two/Cargo.toml"]);
}

#[test]
fn missing_path_dependency() {
    let (message, _) = fails_with("bad/missing_path_dep");
    assert_mentions(&message, &["ghost", "haunted"]);
}

#[test]
fn duplicate_package_name() {
    let (message, _) = fails_with("bad/duplicate_name");
    assert_mentions(&message, &["twin", "a/Cargo.toml", "b/Cargo.toml"]);
}

#[test]
fn dependency_cycle() {
    let (message, _) = fails_with("bad/cycle");
    assert_mentions(&message, &["cyclic package dependency", "ping", "pong"]);
}

#[test]
fn unreachable_git_dependency() {
    let (message, _) = fails_with("bad/git_dep");
    assert_mentions(&message, &["foo", "uses_git", "example.invalid"]);
}

#[test]
fn every_bad_fixture_has_a_test() {
    let source = include_str!("errors.rs");
    for entry in std::fs::read_dir(repo_root().join("tests/fixtures/bad")).expect("bad fixtures") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            source.contains(&format!("\"bad/{name}\"")),
            "tests/fixtures/bad/{name} has no test in errors.rs"
        );
    }
}

#[test]
fn no_manifest_anywhere_up_from_the_current_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().canonicalize().expect("canonical");
    if empty.ancestors().any(|a| a.join("Cargo.toml").is_file()) {
        eprintln!("skipped: a Cargo.toml exists above {}", empty.display());
        return;
    }
    let out = run(orchestrator()
        .args(["build", "--message-format", "json"])
        .current_dir(&empty));
    let ctx = out.describe();
    assert_eq!(out.code(), Some(101), "{ctx}");
    let error = out.one("error");
    let message = error["message"].as_str().unwrap_or("");
    assert_mentions(message, &["Cargo.toml", &empty.display().to_string()]);
    assert!(
        error["help"]
            .as_str()
            .is_some_and(|h| h.contains("--manifest-path")),
        "{ctx}"
    );

    let human = run(orchestrator().arg("build").current_dir(&empty));
    assert_eq!(human.code(), Some(101), "{}", human.describe());
    assert!(
        human.stderr.contains("--manifest-path"),
        "{}",
        human.describe()
    );
    assert!(!human.stderr.contains("panicked"));
}

#[test]
fn manifest_path_that_does_not_exist() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere/Cargo.toml");
    let out = run(orchestrator()
        .arg("build")
        .arg("--manifest-path")
        .arg(&missing)
        .args(["--message-format", "json"]));
    let ctx = out.describe();
    assert_eq!(out.code(), Some(101), "{ctx}");
    assert!(!out.stderr.contains("panicked"), "{ctx}");
    let message = out.one("error")["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert_mentions(&message, &["nowhere/Cargo.toml"]);
}

#[test]
fn manifest_path_to_a_directory() {
    let ws = Ws::new("chain");
    let out = run(orchestrator()
        .arg("build")
        .arg("--manifest-path")
        .arg(&ws.root)
        .args(["--message-format", "json"]));
    let ctx = out.describe();
    assert_eq!(out.code(), Some(101), "{ctx}");
    assert!(!out.stderr.contains("panicked"), "{ctx}");
    out.one("error");
}

#[test]
fn usage_errors_exit_2() {
    let ws = Ws::new("chain");
    for args in [
        &["build", "--bogus"][..],
        &["build", "-j", "0"],
        &["build", "-j", "many"],
        &["build", "--message-format", "xml"],
        &["build", "--color", "sometimes"],
        &["build", "--quiet", "--verbose"],
        &["frobnicate"],
        &[],
    ] {
        let out = run(orchestrator().args(args).current_dir(&ws.root));
        assert_eq!(
            out.code(),
            Some(2),
            "`orchestrator {}`\n{}",
            args.join(" "),
            out.describe()
        );
        assert!(
            out.stdout.is_empty(),
            "usage errors go to stderr\n{}",
            out.describe()
        );
        assert!(!out.stderr.is_empty());
        assert!(!out.stderr.contains("panicked"));
    }
    assert!(!ws.path("target").exists(), "a usage error builds nothing");
}

#[test]
fn empty_root_manifest() {
    let (message, _) = fails_with("bad/empty_manifest");
    assert_mentions(&message, &["Cargo.toml", "[package]", "[workspace]"]);
}

#[test]
fn invalid_package_name() {
    let (message, _) = fails_with("bad/invalid_name");
    assert_mentions(&message, &["Cargo.toml", "my lib"]);
}

/// `-j` is a limit, as in cargo: a huge one builds, with as many threads as
/// there is work.
#[test]
fn a_huge_job_count_builds() {
    let ws = Ws::new("chain");
    let out = run(build_cmd(&ws).args(["-j", "4294967295"]));
    out.assert_success();
    assert!(!out.compiled().is_empty(), "{}", out.describe());
}

/// A closed stdout (`orchestrator graph --format dot | dot` without `dot`)
/// ends quietly, as cargo does.
#[test]
fn a_closed_stdout_is_not_a_crash() {
    let ws = Ws::new("chain");
    let mut child = orchestrator()
        .args(["graph", "--format", "dot"])
        .current_dir(&ws.root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn orchestrator graph");
    drop(child.stdout.take());
    let out = child
        .wait_with_output()
        .expect("wait for orchestrator graph");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
