//! `check`, `test`, `run` and `clean`: the rest of the daily loop, compared
//! with cargo's own commands on the same sources.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// `orchestrator <command> --manifest-path <ws> --message-format json <args>`.
/// Test executables print to the same stdout (as under cargo): only the
/// lines that are JSON objects are events.
fn command(ws: &Ws, command: &str, args: &[&str]) -> Outcome {
    let mut cmd = orchestrator();
    cmd.arg(command)
        .arg("--manifest-path")
        .arg(ws.manifest())
        .args(["--message-format", "json"])
        .args(args)
        .current_dir(&ws.root);
    let mut out = raw(&mut cmd);
    out.events = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON event ({e}): {l}")))
        .collect();
    out
}

/// The same, human output (what a user reads); no events.
fn human(ws: &Ws, command: &str, args: &[&str]) -> Outcome {
    let mut cmd = orchestrator();
    cmd.arg(command).args(args).current_dir(&ws.root);
    raw(&mut cmd)
}

fn raw(cmd: &mut Command) -> Outcome {
    let out = cmd.output().expect("run orchestrator");
    Outcome {
        status: out.status,
        events: Vec::new(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `cargo <args>` in the workspace with its own target directory beside it:
/// (exit code, stdout, stderr).
fn cargo(ws: &Ws, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(cargo_program());
    scrub_env(&mut cmd);
    let out = cmd
        .args(args)
        .arg("--target-dir")
        .arg(ws.tmp.path().join("cargo-target"))
        .current_dir(&ws.root)
        .output()
        .expect("run cargo");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `running N tests`, `test name ... ok` and `test result:` lines of
/// libtest output, sorted (tests of one executable finish in any order).
fn test_lines(stdout: &str) -> Vec<String> {
    let mut lines: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with("test ") || l.starts_with("running "))
        .map(|l| match l.find("; finished in") {
            Some(at) => l[..at].to_owned(),
            None => l.to_owned(),
        })
        .collect();
    lines.sort();
    lines
}

fn labels_with_mode(out: &Outcome, action: &str) -> Vec<String> {
    let mut all: Vec<String> = out
        .of("crate-finished")
        .into_iter()
        .filter(|e| e["action"] == action)
        .map(label)
        .collect();
    all.sort();
    all
}

#[test]
fn check_rechecks_only_the_crate_whose_private_body_changed() {
    let ws = Ws::new("chain");
    let first = command(&ws, "check", &[]);
    first.assert_success();
    assert_eq!(
        labels_with_mode(&first, "compiled"),
        [
            "level_a (lib check)",
            "level_b (lib check)",
            "level_c (lib check)",
            "top (bin check)"
        ]
    );
    // Nothing was linked or generated: only metadata.
    let deps = ws.target_dir().join("debug/deps");
    let rlibs = list_files(&deps)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rlib"))
        .count();
    assert_eq!(rlibs, 0, "check must not write rlibs");

    // A private, non-generic body: no dependent can observe it.
    ws.replace(
        "level_a/src/lib.rs",
        "fn secret_offset() -> i64 {\n    3\n}",
        "fn secret_offset() -> i64 {\n    4\n}",
    );
    let body = command(&ws, "check", &[]);
    body.assert_success();
    assert_eq!(labels_with_mode(&body, "compiled"), ["level_a (lib check)"]);
    assert_eq!(body.change_of("level_a (lib check)"), "codegen");

    // The binary is re-checked for its own edit: it loads level_c, whose
    // metadata was compiled against the old level_a. The crates between are
    // re-checked first (metadata debt), or rustc would refuse them (E0460).
    ws.replace("top/src/main.rs", "biggest int", "largest int");
    let debt = command(&ws, "check", &[]);
    debt.assert_success();
    assert_eq!(
        labels_with_mode(&debt, "compiled"),
        [
            "level_b (lib check)",
            "level_c (lib check)",
            "top (bin check)"
        ]
    );

    // An error is cargo's error, with its exit code.
    ws.replace(
        "top/src/main.rs",
        "largest int",
        "{}\", undefined_name); (\"",
    );
    let broken = command(&ws, "check", &[]);
    let (cargo_code, _, cargo_err) = cargo(&ws, &["check"]);
    assert_eq!(broken.code(), cargo_code);
    assert_eq!(broken.code(), Some(101));
    assert!(cargo_err.contains("undefined_name"));
    assert!(
        broken.stdout.contains("undefined_name"),
        "rustc's diagnostic reaches the JSON stream\n{}",
        broken.describe()
    );
}

#[test]
fn check_does_not_guess_which_units_are_test_harnesses() {
    let ws = Ws::new("chain");
    let out = command(&ws, "check", &["--tests"]);
    assert_eq!(out.code(), Some(101));
    assert!(out.stdout.contains("--all-targets"), "{}", out.describe());
}

/// lib_bin with an integration test that runs a binary of the package and a
/// unit test in the library.
fn tested_workspace() -> Ws {
    let ws = Ws::new("lib_bin");
    ws.write(
        "toolkit/tests/cli.rs",
        "#[test]\nfn banner_of_the_binary() {\n    let out = std::process::Command::new(env!(\"CARGO_BIN_EXE_extra\"))\n        .output()\n        .expect(\"run extra\");\n    assert!(out.status.success());\n    assert!(!out.stdout.is_empty());\n}\n\n#[test]\nfn squares() {\n    assert_eq!(toolkit::sum_squares(3), 14);\n}\n",
    );
    let lib = ws.read("toolkit/src/lib.rs");
    ws.write(
        "toolkit/src/lib.rs",
        &format!(
            "{lib}\nfn private_helper() -> u32 {{\n    7\n}}\n\n/// ```\n/// assert_eq!(toolkit::seven(), 7);\n/// ```\npub fn seven() -> u32 {{\n    private_helper()\n}}\n\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn seven_is_seven() {{\n        assert_eq!(super::seven(), 7);\n    }}\n}}\n"
        ),
    );
    ws
}

#[test]
fn test_runs_what_cargo_test_runs_and_relinks_after_a_private_edit() {
    let ws = tested_workspace();
    let ours = command(&ws, "test", &[]);
    ours.assert_success();
    let (code, cargo_out, _) = cargo(&ws, &["test"]);
    assert_eq!(code, Some(0));
    assert_eq!(test_lines(&ours.stdout), test_lines(&cargo_out));
    let finished = ours.one("tests-finished");
    assert_eq!(finished["success"], true);
    assert_eq!(finished["failed"].as_array().map(Vec::len), Some(0));
    // One `test-finished` per executable (the library's, three binaries',
    // the integration test's) and the library's doc tests, run by rustdoc.
    assert_eq!(ours.of("test-finished").len(), 6);
    assert!(
        ours.stdout.contains("src/lib.rs - seven (line"),
        "{}",
        ours.describe()
    );

    // A private body of the library: the library and its own unit tests
    // compile; every other test executable is relinked, none recompiled.
    ws.replace(
        "toolkit/src/lib.rs",
        "fn private_helper() -> u32 {\n    7\n}",
        "fn private_helper() -> u32 {\n    8\n}",
    );
    let edited = command(&ws, "test", &[]);
    assert_eq!(edited.code(), Some(101), "{}", edited.describe());
    assert_eq!(
        labels_with_mode(&edited, "compiled"),
        ["toolkit (lib test)", "toolkit (lib)"]
    );
    let relinked = labels_with_mode(&edited, "relinked");
    assert!(
        relinked.contains(&"cli (test test)".to_owned()),
        "the integration test is relinked: {relinked:?}"
    );
    // The failure is cargo's: same results, same exit code, a rerun hint.
    let (cargo_code, cargo_out, _) = cargo(&ws, &["test"]);
    assert_eq!(edited.code(), cargo_code);
    assert_eq!(test_lines(&edited.stdout), test_lines(&cargo_out));
    let finished = edited.one("tests-finished");
    assert_eq!(finished["failed"], serde_json::json!(["--lib"]));
    // Only the doc tests, which fail the same way as cargo's.
    let doc = command(&ws, "test", &["--doc"]);
    let (cargo_code, cargo_out, _) = cargo(&ws, &["test", "--doc"]);
    assert_eq!(doc.code(), cargo_code);
    assert_eq!(doc.code(), Some(101));
    assert_eq!(test_lines(&doc.stdout), test_lines(&cargo_out));
    assert_eq!(
        doc.one("tests-finished")["failed"],
        serde_json::json!(["--doc"])
    );

    // Human output: the rerun hint and the summary; with --no-fail-fast the
    // executables after the failed one still run.
    let text = human(&ws, "test", &["--no-fail-fast"]);
    assert_eq!(text.code(), Some(101));
    assert!(
        text.stderr.contains("to rerun pass `--lib`"),
        "{}",
        text.describe()
    );
    assert!(text.stderr.contains("Summary"), "{}", text.describe());
    assert!(
        text.stdout.contains("test squares ... ok"),
        "{}",
        text.describe()
    );
    // A filter reaches every executable: the failing test is left out.
    let filtered = human(&ws, "test", &["squares"]);
    assert_eq!(filtered.code(), Some(0), "{}", filtered.describe());
    assert!(
        !filtered.stdout.contains("seven_is_seven"),
        "{}",
        filtered.describe()
    );
}

#[test]
fn test_no_run_lists_executables_and_a_second_run_is_fresh() {
    let ws = tested_workspace();
    let first = command(&ws, "test", &["--no-run"]);
    first.assert_success();
    let exes = first.of("executable");
    assert_eq!(exes.len(), 5, "{}", first.describe());
    for exe in &exes {
        let path = exe["path"].as_str().expect("path");
        assert!(Path::new(path).is_file(), "{path} exists");
    }
    assert!(first.of("test-started").is_empty(), "--no-run runs nothing");
    let again = command(&ws, "test", &["--no-run"]);
    again.assert_success();
    assert!(again.compiled().is_empty(), "{}", again.describe());
    // `build` after `test` shares the dependencies' artifacts (the `test`
    // profile is `dev` by another name): only what `test` did not build.
    let build = build(&ws);
    build.assert_success();
    assert!(
        !build.compiled().contains("toolkit") || build.units("compiled").len() <= 3,
        "{}",
        build.describe()
    );
}

#[test]
fn run_picks_the_binary_as_cargo_run_does() {
    let ws = Ws::new("lib_bin");
    // Several binaries and no `default-run`: cargo's question.
    let ambiguous = human(&ws, "run", &[]);
    assert_eq!(ambiguous.code(), Some(101));
    assert!(
        ambiguous
            .stderr
            .contains("available binaries: custom, extra, toolkit"),
        "{}",
        ambiguous.describe()
    );
    // The program's output, arguments and exit status are the command's.
    let ours = human(&ws, "run", &["-q", "--bin", "extra", "--", "a", "b"]);
    let (code, cargo_out, _) = cargo(&ws, &["run", "-q", "--bin", "extra", "--", "a", "b"]);
    assert_eq!(ours.code(), code);
    assert_eq!(ours.stdout, cargo_out);
    // `default-run` decides among several.
    ws.replace(
        "toolkit/Cargo.toml",
        "[package]\n",
        "[package]\ndefault-run = \"custom\"\n",
    );
    let default = human(&ws, "run", &["-q"]);
    let (code, cargo_out, _) = cargo(&ws, &["run", "-q"]);
    assert_eq!(default.code(), code, "{}", default.describe());
    assert_eq!(default.stdout, cargo_out);
}

#[test]
fn clean_removes_one_package_or_everything() {
    let ws = built("chain");
    let out = human(&ws, "clean", &["-p", "level_b"]);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert!(out.stderr.contains("Removed"), "{}", out.describe());
    let rebuilt = build(&ws);
    rebuilt.assert_success();
    assert!(
        rebuilt.compiled().contains("level_b"),
        "{}",
        rebuilt.describe()
    );
    assert!(
        !rebuilt.compiled().contains("level_a"),
        "{}",
        rebuilt.describe()
    );

    let unknown = human(&ws, "clean", &["-p", "level_bb"]);
    assert_eq!(unknown.code(), Some(101));
    assert!(
        unknown.stderr.contains("did you mean `level_b`"),
        "{}",
        unknown.describe()
    );

    let all = human(&ws, "clean", &[]);
    assert_eq!(all.code(), Some(0), "{}", all.describe());
    assert!(!ws.bin_dir().exists(), "the profile directory is gone");
    build(&ws).assert_success();
    assert_dev_matches_cargo(&ws);
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = raw(orchestrator().args(["completions", shell]));
        assert_eq!(out.code(), Some(0));
        assert!(out.stdout.contains("orchestrator"), "{shell}");
    }
}

#[test]
fn cargo_orchestrator_is_the_same_program() {
    let ws = Ws::new("chain");
    let exe = Path::new(env!("CARGO_BIN_EXE_cargo-orchestrator"));
    let dir = exe.parent().expect("bin dir");
    let path = std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let mut cmd = Command::new(cargo_program());
    scrub_env(&mut cmd);
    cmd.args(["orchestrator", "build", "--message-format", "json"])
        .env("PATH", path)
        .current_dir(&ws.root);
    let out = run(&mut cmd);
    out.assert_success();
    assert_eq!(
        out.compiled(),
        set(["level_a", "level_b", "level_c", "top"]),
        "{}",
        out.describe()
    );
    assert_dev_matches_cargo(&ws);
}

#[test]
fn json_output_is_read_by_a_cargo_message_parser() {
    use cargo_metadata::Message;
    let ws = Ws::new("lib_bin");
    let lib = ws.read("toolkit/src/lib.rs");
    ws.write(
        "toolkit/src/lib.rs",
        &format!("{lib}\nfn never_called() -> u32 {{\n    1\n}}\n"),
    );
    let read = |out: &Outcome| {
        let mut artifacts = Vec::new();
        let mut warnings = Vec::new();
        let mut finished = None;
        for message in Message::parse_stream(out.stdout.as_bytes()) {
            match message.expect("every line is a cargo message or text") {
                Message::CompilerArtifact(artifact) => artifacts.push(artifact),
                Message::CompilerMessage(msg) => warnings.push(msg),
                Message::BuildFinished(done) => finished = Some(done.success),
                _ => {}
            }
        }
        (artifacts, warnings, finished)
    };
    for (name, args) in [("build", &[][..]), ("check", &[]), ("test", &["--no-run"])] {
        let out = command(&ws, name, args);
        out.assert_success();
        let (artifacts, warnings, finished) = read(&out);
        assert_eq!(finished, Some(true), "{name}");
        assert!(!artifacts.is_empty(), "{name}: compiler-artifact messages");
        for artifact in &artifacts {
            for file in &artifact.filenames {
                assert!(file.is_file(), "{name}: {file} exists");
            }
        }
        let lib = artifacts
            .iter()
            .find(|a| a.target.name == "toolkit" && a.target.is_lib())
            .unwrap_or_else(|| panic!("{name}: the library's artifact"));
        assert!(lib.package_id.repr.contains("toolkit"));
        assert!(
            warnings
                .iter()
                .any(|w| w.message.message.contains("never_called")),
            "{name}: the dead-code warning, as rustc's diagnostic object\n{}",
            out.describe()
        );
    }
    // Nothing changed: every unit is fresh, and the warning is replayed.
    let again = command(&ws, "build", &[]);
    again.assert_success();
    assert!(again.compiled().is_empty(), "{}", again.describe());
    let (artifacts, warnings, _) = read(&again);
    assert!(artifacts.iter().all(|a| a.fresh));
    assert_eq!(warnings.len(), 1, "{}", again.describe());
    let replayed = again.one("compiler-message");
    assert_eq!(replayed["replayed"], true);
    // In human output too, as cargo does.
    let text = human(&ws, "build", &[]);
    assert!(text.stderr.contains("never_called"), "{}", text.describe());

    // cargo's other formats: what rust-analyzer asks for (ANSI colours in
    // `rendered`), rustc's short form, and diagnostics rendered on stderr.
    let rendered = |args: &[&str]| {
        // A new body each time: the library is compiled, not replayed.
        let text = ws.read("toolkit/src/lib.rs");
        let touched = match text.contains("    1\n}") {
            true => text.replace("    1\n}", "    2\n}"),
            false => text.replace("    2\n}", "    1\n}"),
        };
        ws.write("toolkit/src/lib.rs", &touched);
        let mut cmd = orchestrator();
        cmd.arg("check").args(args).current_dir(&ws.root);
        raw(&mut cmd)
    };
    let ansi = rendered(&["--message-format", "json-diagnostic-rendered-ansi"]);
    let message = ansi
        .stdout
        .lines()
        .filter(|l| l.contains("\"compiler-message\""))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
        .next()
        .expect("a compiler-message");
    assert!(
        message["message"]["rendered"]
            .as_str()
            .unwrap_or("")
            .contains('\u{1b}')
    );
    let short = rendered(&["--message-format", "short"]);
    assert!(
        short
            .stderr
            .contains(": warning: function `never_called` is never used"),
        "{}",
        short.describe()
    );
    let on_stderr = rendered(&["--message-format", "json-render-diagnostics"]);
    assert!(
        !on_stdout_has(&on_stderr, "compiler-message"),
        "{}",
        on_stderr.describe()
    );
    assert!(
        on_stderr.stderr.contains("never_called"),
        "{}",
        on_stderr.describe()
    );
    // A warning recorded with colours is replayed without them where none
    // are asked for.
    rendered(&["--message-format", "json-diagnostic-rendered-ansi"]);
    let mut cmd = orchestrator();
    cmd.args(["check", "--color", "never"])
        .current_dir(&ws.root);
    let plain = raw(&mut cmd);
    assert!(
        plain.stderr.contains("never_called"),
        "{}",
        plain.describe()
    );
    assert!(!plain.stderr.contains('\u{1b}'), "{}", plain.describe());
}

fn on_stdout_has(out: &Outcome, reason: &str) -> bool {
    out.stdout.contains(&format!("\"reason\":\"{reason}\""))
}

/// The events of one round of `watch`, up to `build-finished`.
fn next_round(running: &mut Spawned) -> Vec<serde_json::Value> {
    let from = running.events.len();
    let done = running.wait_for(std::time::Duration::from_secs(120), |e| {
        reason(e) == "build-finished"
    });
    assert!(
        done,
        "no build-finished; events so far: {:?}",
        running.events
    );
    running.events[from..].to_vec()
}

fn compiled_in(events: &[serde_json::Value]) -> Vec<String> {
    let mut all: Vec<String> = events
        .iter()
        .filter(|e| reason(e) == "crate-finished" && e["action"] != "fresh")
        .map(|e| format!("{} {}", label(e), e["action"].as_str().unwrap_or("?")))
        .collect();
    all.sort();
    all
}

/// `orchestrator watch build` on `ws`, in a process group of its own.
fn start_watch(ws: &Ws) -> Spawned {
    use std::os::unix::process::CommandExt;
    let mut cmd = orchestrator();
    cmd.args(["watch", "build", "--manifest-path"])
        .arg(ws.manifest())
        .args(["--message-format", "json"])
        .current_dir(&ws.root)
        .process_group(0);
    Spawned::start(&mut cmd)
}

fn until_watching(running: &mut Spawned) {
    assert!(
        running.wait_for(std::time::Duration::from_secs(30), |e| reason(e)
            == "watching")
    );
}

/// Ctrl-C, as a terminal sends it.
fn interrupt(running: &Spawned) {
    let status = Command::new("kill")
        .args(["-INT", &running.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn watch_rebuilds_what_a_save_requires_and_stops_on_ctrl_c() {
    let ws = Ws::new("chain");
    let mut running = start_watch(&ws);
    let pgid = running.pid();
    let first = next_round(&mut running);
    assert_eq!(compiled_in(&first).len(), 4, "{first:?}");
    until_watching(&mut running);

    // A private body: the library compiles, the binary is relinked.
    ws.replace(
        "level_a/src/lib.rs",
        "fn secret_offset() -> i64 {\n    3\n}",
        "fn secret_offset() -> i64 {\n    5\n}",
    );
    let body = next_round(&mut running);
    assert!(
        body.iter().any(|e| reason(e) == "watch-triggered"
            && e["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("level_a/src/lib.rs"))),
        "{body:?}"
    );
    assert_eq!(
        compiled_in(&body),
        ["level_a (lib) compiled", "top (bin) relinked"],
        "{body:?}"
    );
    until_watching(&mut running);

    // A comment, saved as editors do it safely (a temporary file renamed
    // onto the source): a round that compiles nothing.
    let text = ws
        .read("level_a/src/lib.rs")
        .replacen("    5\n}", "    5 // five\n}", 1);
    ws.write("level_a/src/.lib.rs.swp", &text);
    std::fs::rename(
        ws.path("level_a/src/.lib.rs.swp"),
        ws.path("level_a/src/lib.rs"),
    )
    .expect("rename onto the source");
    let comment = next_round(&mut running);
    assert!(compiled_in(&comment).is_empty(), "{comment:?}");
    until_watching(&mut running);

    // Ctrl-C ends it like an interrupted cargo, leaving nothing running.
    interrupt(&running);
    let stopped = running.finish();
    assert_eq!(stopped.code(), Some(130), "{}", stopped.describe());
    assert!(group_members(pgid).is_empty());
    assert_dev_matches_cargo(&ws);
}

/// `watch` keeps the ledger in memory between rounds, but not past another
/// process's build: a build that rewrote outputs (here `--touch`, which
/// recompiles without a change) leaves the memory stale; reusing it would
/// make the tripwire rebuild everything it wrote. Read again, the next
/// comment edit compiles nothing.
#[test]
fn watch_rereads_its_state_after_another_build_in_between() {
    let ws = Ws::new("chain");
    let mut running = start_watch(&ws);
    assert_eq!(compiled_in(&next_round(&mut running)).len(), 4);
    until_watching(&mut running);
    ws.replace("level_a/src/lib.rs", "    3\n}", "    3 // three\n}");
    assert!(compiled_in(&next_round(&mut running)).is_empty());
    until_watching(&mut running);

    let mut other = build_cmd(&ws);
    other.args(["--touch", "level_a"]);
    let touched = run(&mut other);
    touched.assert_success();
    assert!(!touched.compiled().is_empty(), "{}", touched.describe());

    ws.replace("level_a/src/lib.rs", "    3 // three\n}", "    3\n}");
    let after = next_round(&mut running);
    assert!(compiled_in(&after).is_empty(), "{after:?}");
    until_watching(&mut running);
    interrupt(&running);
    assert_eq!(running.finish().code(), Some(130));
    assert_dev_matches_cargo(&ws);
}

#[test]
fn a_crashing_test_is_reported_with_its_signal_and_bad_names_get_cargo_s_hints() {
    let ws = Ws::new("lib_bin");
    ws.write(
        "toolkit/tests/crash.rs",
        "#[test]\nfn aborts() {\n    std::process::abort();\n}\n",
    );
    let out = human(&ws, "test", &["--test", "crash"]);
    assert_eq!(out.code(), Some(101), "{}", out.describe());
    assert!(
        out.stderr.contains("signal: 6, SIGABRT"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("to rerun pass `--test crash`"),
        "{}",
        out.describe()
    );

    // Unknown names: cargo's own message, with its closest names.
    for (args, hint) in [
        (&["test", "--test", "crsh"][..], "crash"),
        (&["run", "--bin", "extr"][..], "extra"),
        (&["check", "-p", "toolkt"][..], "toolkit"),
    ] {
        let out = human(&ws, args[0], &args[1..]);
        assert_eq!(out.code(), Some(101), "{args:?}\n{}", out.describe());
        assert!(out.stderr.contains(hint), "{args:?}\n{}", out.describe());
        assert!(!out.stderr.contains("panicked"), "{}", out.describe());
    }
}
