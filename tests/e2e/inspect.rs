//! Seeing into a build: `--explain`, `--touch` with `--dry-run`, `--timings`
//! and `orchestrator graph`, on the sample workspace.

use crate::support::*;

const CORE_LIB: &str = "core_lib/src/lib.rs";
const STORE: &str = "core_lib/src/store.rs";
/// A codegen-only edit: the body of the private helper `normalize`.
const PRIVATE_FROM: &str = "' ' | '-' => '_',";
const PRIVATE_TO: &str = "' ' | '-' => '.',";
/// A signature edit: a method added to the pub trait.
const TRAIT_ANCHOR: &str = "pub trait Storage {";
const TRAIT_WITH_FLUSH: &str =
    "pub trait Storage {\n    /// Flush pending writes.\n    fn flush(&mut self) {}\n";

/// `--explain` lines, durations masked, in the order printed.
fn explain_lines(ws: &Ws) -> Vec<String> {
    let out = run(human_cmd(ws).args(["--explain", "--color", "never"]));
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    out.stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("Explain "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn explain_names_the_cause_down_to_the_item() {
    let ws = built("sample-workspace");

    let text = ws.read(CORE_LIB);
    ws.write(CORE_LIB, &format!("{text}// a trailing comment\n"));
    assert_eq!(
        explain_lines(&ws),
        ["core_lib: cosmetic — comments or whitespace only (src/lib.rs)"]
    );

    ws.replace(CORE_LIB, PRIVATE_FROM, PRIVATE_TO);
    let mut lines = explain_lines(&ws);
    lines.sort();
    assert_eq!(
        lines,
        [
            "api_server: relinked — core_lib changed only the body of fn normalize",
            "cli_tool: relinked — core_lib changed only the body of fn normalize",
            "core_lib: codegen — body of fn normalize changed (src/lib.rs)",
        ]
    );

    ws.replace(STORE, TRAIT_ANCHOR, TRAIT_WITH_FLUSH);
    let mut lines = explain_lines(&ws);
    lines.sort();
    assert_eq!(
        lines,
        [
            "api_server: compiled — depends on core_lib, whose signature changed",
            "cli_tool: compiled — depends on core_lib, whose signature changed",
            "core_lib: signature — trait Storage: method flush added (src/store.rs)",
        ]
    );
    assert!(explain_lines(&ws).is_empty(), "nothing left to explain");
}

#[test]
fn json_events_carry_change_and_explanation() {
    let ws = built("sample-workspace");
    ws.replace(CORE_LIB, PRIVATE_FROM, PRIVATE_TO);
    let out = build(&ws);
    out.assert_success();
    let finished = |name: &str| {
        out.of("crate-finished")
            .into_iter()
            .find(|e| e["crate"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no crate-finished for {name}\n{}", out.describe()))
    };
    let core = finished("core_lib");
    assert_eq!(
        (core["action"].as_str(), core["change"].as_str()),
        (Some("compiled"), Some("codegen"))
    );
    let api = finished("api_server");
    assert_eq!(
        (api["action"].as_str(), api["change"].as_str()),
        (Some("relinked"), Some("dependency"))
    );
    assert_eq!(
        api["explain"].as_str(),
        Some("relinked — core_lib changed only the body of fn normalize")
    );
    let after = assert_dev_matches_cargo(&ws);
    assert!(after[0].contains("dave.smith"), "{}", after[0]);
}

/// `planned` events of a dry run, by crate: (action, change, stages).
fn planned(out: &Outcome) -> Vec<(String, String, String, Vec<String>)> {
    let mut rows: Vec<_> = out
        .of("planned")
        .into_iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            let stages = e["stages"]
                .as_array()
                .map(|s| {
                    s.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (text("crate"), text("action"), text("change"), stages)
        })
        .collect();
    rows.sort();
    rows
}

fn owned(rows: &[(&str, &str, &str, &[&str])]) -> Vec<(String, String, String, Vec<String>)> {
    rows.iter()
        .map(|(c, a, ch, s)| {
            (
                c.to_string(),
                a.to_string(),
                ch.to_string(),
                s.iter().map(|x| x.to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn touch_an_item_predicts_by_what_the_item_is() {
    let ws = built("sample-workspace");
    let ledger_before = list_files(&ws.target_dir().join("debug/.ledger"));

    let trait_touch = run(build_cmd(&ws).args(["--touch", "core_lib::Storage", "--dry-run"]));
    assert_eq!(trait_touch.code(), Some(0), "{}", trait_touch.describe());
    let lib_stages: &[&str] = &["front-end", "codegen"];
    let bin_stages: &[&str] = &["front-end", "codegen", "link"];
    assert_eq!(
        planned(&trait_touch),
        owned(&[
            ("api_server", "compile", "dependency", bin_stages),
            ("cli_tool", "compile", "dependency", bin_stages),
            ("core_lib", "compile", "signature", lib_stages),
        ])
    );
    let predicted = trait_touch.one("plan-finished")["predicted_ms"].as_u64();
    assert!(
        predicted.is_some_and(|ms| ms > 0),
        "{}",
        trait_touch.describe()
    );
    assert!(
        trait_touch.of("crate-started").is_empty(),
        "a dry run compiles nothing"
    );

    // The trait's full path, and a private non-generic fn: codegen-only.
    let body_touch =
        run(build_cmd(&ws).args(["--touch", "core_lib::store::Storage=codegen", "--dry-run"]));
    let relink: &[&str] = &["relink"];
    let expected_codegen = owned(&[
        ("api_server", "relink", "dependency", relink),
        ("cli_tool", "relink", "dependency", relink),
        ("core_lib", "compile", "codegen", lib_stages),
    ]);
    assert_eq!(planned(&body_touch), expected_codegen);
    let fn_touch = run(build_cmd(&ws).args(["--touch", "core_lib::normalize", "--dry-run"]));
    assert_eq!(planned(&fn_touch), expected_codegen);

    let cosmetic = run(build_cmd(&ws).args(["--touch", "core_lib=cosmetic", "--dry-run"]));
    assert!(
        planned(&cosmetic)
            .iter()
            .all(|(_, action, ..)| action == "fresh")
    );

    assert_eq!(
        list_files(&ws.target_dir().join("debug/.ledger")),
        ledger_before,
        "dry runs leave the ledger alone"
    );
    assert!(
        build(&ws).redone().is_empty(),
        "and the next build is a no-op"
    );
}

#[test]
fn touch_without_dry_run_runs_the_plan_and_reports_the_prediction() {
    let ws = built("sample-workspace");
    let out = run(build_cmd(&ws).args(["--touch", "core_lib::normalize"]));
    out.assert_success();
    out.assert_compiled(["core_lib"]);
    out.assert_relinked(["api_server", "cli_tool"]);
    assert!(out.finished_event()["predicted_ms"].as_u64().is_some());
    assert_dev_matches_cargo(&ws);
}

#[test]
fn unknown_touch_targets_list_the_closest_names() {
    let ws = built("sample-workspace");
    let item = run(build_cmd(&ws).args(["--touch", "core_lib::Storag", "--dry-run"]));
    assert_eq!(item.code(), Some(101));
    let message = item.error_message();
    assert!(
        message.contains("no item `Storag`") && message.contains("store::Storage"),
        "{message}"
    );

    let krate = run(build_cmd(&ws).args(["--touch", "core_lbi", "--dry-run"]));
    assert_eq!(krate.code(), Some(101));
    let message = krate.error_message();
    assert!(
        message.contains("no crate `core_lbi`") && message.contains("core_lib"),
        "{message}"
    );

    let class = run(build_cmd(&ws).args(["--touch", "core_lib=loud"]));
    assert_eq!(class.code(), Some(2), "a bad class is a usage error");
}

#[test]
fn timings_report_covers_every_crate() {
    let ws = Ws::new("sample-workspace");
    let out = run(build_cmd(&ws).arg("--timings"));
    out.assert_success();
    let path = out.one("timings")["path"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        path,
        ws.bin_dir()
            .join("orchestrator-timings.html")
            .to_string_lossy()
    );
    let html = std::fs::read_to_string(&path).expect("timings report");
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for name in ["core_lib", "api_server", "cli_tool"] {
        assert!(html.contains(name), "{name} missing from the report");
    }
    for class in [
        "class=\"front-end",
        "class=\"codegen",
        "class=\"link",
        "on-path",
    ] {
        assert!(html.contains(class), "{class} missing from the report");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained"
    );
    let finished = out.finished_event();
    assert!(
        finished["scheduler_efficiency"]
            .as_f64()
            .is_some_and(|e| e >= 0.5),
        "{}",
        out.describe()
    );
    assert!(finished["critical_path_ms"].as_u64().is_some_and(|c| c > 0));
}

#[test]
fn graph_marks_what_would_rebuild() {
    let ws = built("sample-workspace");
    ws.replace(CORE_LIB, PRIVATE_FROM, PRIVATE_TO);
    let graph = |format: &str| {
        let out = orchestrator()
            .args(["graph", "--format", format, "--manifest-path"])
            .arg(ws.manifest())
            .output()
            .expect("run orchestrator graph");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = graph("text");
    assert!(
        text.contains(
            "api_server (bin) [relink] relinked — core_lib changed only the body of fn normalize"
        ),
        "{text}"
    );
    assert!(
        text.contains("└── core_lib (lib) [compile] codegen — body of fn normalize changed"),
        "{text}"
    );
    assert!(
        text.contains("3 crates: 1 to compile, 2 to relink, 0 cosmetic, 0 fresh"),
        "{text}"
    );
    let dot = graph("dot");
    assert!(dot.starts_with("digraph workspace {"), "{dot}");
    assert!(
        dot.contains("\"api_server (bin)\" -> \"core_lib (lib)\";"),
        "{dot}"
    );
    assert!(
        build(&ws).redone().len() == 3,
        "graph changed nothing: the build still has the work to do"
    );
}

#[test]
fn optimizing_rustflags_turn_body_edits_into_signature_changes() {
    let ws = Ws::new("sample-workspace");
    let optimized = |ws: &Ws| run(build_cmd(ws).env("RUSTFLAGS", "-C opt-level=1"));
    optimized(&ws).assert_success();
    ws.replace(CORE_LIB, PRIVATE_FROM, PRIVATE_TO);
    let out = optimized(&ws);
    out.assert_success();
    // opt-level ≥ 1 inlines across crates: dependents must be recompiled.
    out.assert_compiled(["core_lib", "api_server", "cli_tool"]);
    assert!(out.relinked().is_empty(), "{}", out.describe());
    let api = ws.bin_dir().join("api_server");
    assert!(run_bin(&api, &[], &ws.root).1.contains("dave.smith"));
}
