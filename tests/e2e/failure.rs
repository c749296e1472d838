//! A compile error: reported with rustc's diagnostics, exit 101, nothing that
//! depends on the failed crate is built, what compiled is kept; after the
//! fix only the failed crate and its dependents compile.

use crate::support::*;

const BAD_LIB: &str = "bad_lib/src/lib.rs";
const ORIGINAL: &str = "good_lib::good_value() + 1";
const BROKEN: &str = "good_lib::good_value() + undefined_symbol";
const FIXED: &str = "good_lib::good_value() + 2";

#[test]
fn compile_error_is_reported_then_fix_rebuilds_only_what_failed() {
    let ws = Ws::new("failing");
    ws.replace(BAD_LIB, ORIGINAL, BROKEN);
    let out = build(&ws);
    let ctx = out.describe();
    assert_eq!(out.code(), Some(101), "{ctx}");
    assert!(!out.stderr.contains("panicked"), "{ctx}");
    out.assert_consistent_stream();

    let errors: Vec<_> = out
        .of("compiler-message")
        .into_iter()
        .filter(|e| e["level"] == "error")
        .collect();
    assert!(!errors.is_empty(), "an error diagnostic\n{ctx}");
    for e in &errors {
        assert_eq!(e["crate"], "bad_lib", "{ctx}");
        assert_eq!(e["kind"], "lib", "{ctx}");
    }
    assert!(
        errors.iter().any(|e| e["rendered"]
            .as_str()
            .unwrap_or("")
            .contains("undefined_symbol")),
        "rustc's rendered diagnostic names the symbol\n{ctx}"
    );

    let failed = out.one("crate-failed");
    assert_eq!(label(failed), "bad_lib (lib)", "{ctx}");
    assert_eq!(failed["package"], "bad_lib");
    assert!(
        failed["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{ctx}"
    );
    assert!(failed["duration_ms"].as_u64().is_some(), "{ctx}");

    let finished = out.finished_event();
    assert_eq!(finished["success"], false, "{ctx}");
    assert_eq!(
        finished["failed"],
        serde_json::json!(["bad_lib (lib)"]),
        "{ctx}"
    );
    assert_eq!(finished["compiled"].as_u64(), Some(1), "{ctx}");

    assert_eq!(
        out.compiled(),
        set(["good_lib"]),
        "good_lib is recorded\n{ctx}"
    );
    assert!(!out.started().contains("app"), "app must not start\n{ctx}");
    assert!(
        out.of("crate-finished").iter().all(|e| e["crate"] != "app"),
        "{ctx}"
    );
    assert!(
        !ws.bin_dir().join("app").exists(),
        "no app binary after a failed build"
    );

    let last = out.events.last().expect("events");
    assert_eq!(
        reason(last),
        "error",
        "the build ends with an error event\n{ctx}"
    );
    let message = last["message"].as_str().unwrap_or("");
    assert!(
        message.contains("could not compile") && message.contains("bad_lib"),
        "{ctx}"
    );

    // Fix it, with a behaviour change.
    ws.replace(BAD_LIB, BROKEN, FIXED);
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["bad_lib", "app"]);
    assert_eq!(out.fresh(), set(["good_lib"]));
    let outputs = assert_dev_matches_cargo(&ws);
    assert_eq!(outputs[0], "app: bad_value=22\n");
}

#[test]
fn human_output_shows_rustc_diagnostics_and_the_failed_crate() {
    let ws = Ws::new("failing");
    ws.replace(BAD_LIB, ORIGINAL, BROKEN);
    let out = run(&mut human_cmd(&ws));
    let ctx = out.describe();
    assert_eq!(out.code(), Some(101), "{ctx}");
    assert!(
        out.stdout.is_empty(),
        "human mode writes only to stderr\n{ctx}"
    );
    assert!(!out.stderr.contains("panicked"), "{ctx}");
    assert!(
        out.stderr.contains("error[E0425]"),
        "rustc's error code\n{ctx}"
    );
    assert!(out.stderr.contains("undefined_symbol"), "{ctx}");
    assert!(
        out.stderr.contains("bad_lib/src/lib.rs"),
        "rustc's location\n{ctx}"
    );
    assert_eq!(
        out.stderr.matches("could not compile").count(),
        1,
        "said once, as cargo does\n{ctx}"
    );
    assert!(out.stderr.contains("could not compile `bad_lib`"), "{ctx}");
    assert!(
        out.stderr.contains("   Compiling good_lib v0.1.0 (lib)"),
        "{ctx}"
    );
    assert!(!out.stderr.contains("Compiling app"), "{ctx}");
    assert!(
        !out.stderr.contains("\x1b["),
        "no colour when stderr is not a terminal\n{ctx}"
    );
}

#[test]
fn breaking_and_restoring_a_built_workspace() {
    let ws = Ws::new("failing");
    build(&ws).assert_success();
    let before = assert_dev_matches_cargo(&ws);

    ws.replace(BAD_LIB, ORIGINAL, BROKEN);
    let out = build(&ws);
    assert_eq!(out.code(), Some(101), "{}", out.describe());
    assert_eq!(out.fresh(), set(["good_lib"]), "{}", out.describe());
    assert!(out.compiled().is_empty(), "{}", out.describe());

    ws.replace(BAD_LIB, BROKEN, ORIGINAL);
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["bad_lib", "app"]);
    assert_eq!(before, assert_dev_matches_cargo(&ws));
}

/// `--keep-going`: after a failure, what does not depend on it is still
/// built (as cargo's flag); without it, nothing new starts.
#[test]
fn keep_going_builds_what_does_not_depend_on_the_failure() {
    let ws = Ws::new("diamond");
    let right = ws.read("right/src/lib.rs");
    ws.write(
        "right/src/lib.rs",
        &format!("{right}\ncompile_error!(\"broken\");\n"),
    );
    let mut stop = build_cmd(&ws);
    stop.args(["-j", "1"]);
    let stopped = run(&mut stop);
    assert_eq!(stopped.code(), Some(101));
    stopped.assert_consistent_stream();
    // With one worker, `right` runs before `left` (same priority, cargo's
    // unit order): its failure stops the build before `left` starts.
    assert!(
        !stopped.compiled().contains("left"),
        "{}",
        stopped.describe()
    );

    let mut going = build_cmd(&ws);
    going.args(["-j", "1", "--keep-going"]);
    let kept = run(&mut going);
    assert_eq!(kept.code(), Some(101), "{}", kept.describe());
    kept.assert_consistent_stream();
    assert!(kept.compiled().contains("left"), "{}", kept.describe());
    assert!(!kept.compiled().contains("top"), "{}", kept.describe());
    assert_eq!(label(kept.one("crate-failed")), "right (lib)");
}
