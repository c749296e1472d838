//! Change classes end to end: cosmetic edits run no rustc, codegen-only
//! edits relink dependent binaries, anything else recompiles dependents.
//! Whichever shortcut the classifier takes, the binaries must be exactly
//! cargo's; edits that *look* local but are not (generic impls, `#[inline]`,
//! generic fns, `line!()`) must not be relinked.

use crate::support::*;

const CORE_LIB: &str = "core_lib/src/lib.rs";
const STORE: &str = "core_lib/src/store.rs";

#[test]
fn comment_and_doc_edits_run_no_rustc() {
    let ws = built("sample-workspace");
    ws.write(
        CORE_LIB,
        &format!("{}// a trailing comment\n", ws.read(CORE_LIB)),
    );
    ws.replace(
        CORE_LIB,
        "/// Normalizes and validates a user-supplied key.",
        "/// Normalises and checks a key the user typed.",
    );
    let out = build(&ws);
    out.assert_success();
    assert!(out.redone().is_empty(), "{}", out.describe());
    assert_eq!(out.change_of("core_lib (lib)"), "cosmetic");
    assert_eq!(out.change_of("api_server (bin)"), "none");
    assert_dev_matches_cargo(&ws);

    // The ledger took the cosmetic version: a real edit after it is seen.
    ws.replace(CORE_LIB, "' ' | '-' => '_',", "' ' | '-' => '.',");
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["core_lib"]);
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("dave.smith"), "{}", outputs[0]);
}

#[test]
fn a_line_inserted_at_the_top_of_a_library() {
    let ws = built("sample-workspace");
    ws.write(
        CORE_LIB,
        &format!("// a new first line\n{}", ws.read(CORE_LIB)),
    );
    let out = build(&ws);
    out.assert_success();
    assert_dev_matches_cargo(&ws);
    let again = build(&ws);
    again.assert_success();
    assert!(again.redone().is_empty(), "{}", again.describe());
}

#[test]
fn a_method_body_in_a_generic_impl_recompiles_dependents() {
    let ws = built("sample-workspace");
    ws.replace(
        STORE,
        r#"format!("{op} {key} ({outcome})")"#,
        r#"format!("{op}:{key} [{outcome}]")"#,
    );
    let out = build(&ws);
    out.assert_success();
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("put:alice [miss]"), "{}", outputs[0]);
    out.assert_compiled(["core_lib", "api_server", "cli_tool"]);
}

#[test]
fn an_inline_fn_body_recompiles_dependents() {
    let ws = built("chain");
    ws.replace("level_a/src/lib.rs", "    x * 2\n", "    x * 3\n");
    let out = build(&ws);
    out.assert_success();
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("widget#28"), "{}", outputs[0]);
    out.assert_compiled(["level_a", "level_b", "level_c", "top"]);
}

#[test]
fn a_generic_fn_body_recompiles_dependents() {
    let ws = built("chain");
    ws.replace("level_a/src/lib.rs", "if item > best {", "if item < best {");
    let out = build(&ws);
    out.assert_success();
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("biggest int: 3"), "{}", outputs[0]);
    out.assert_compiled(["level_a", "level_b", "level_c", "top"]);
}

/// `line!()` in a library function: shifting it by a line changes what the
/// binary prints.
#[test]
fn a_line_macro_moved_by_a_comment() {
    let ws = Ws::new("chain");
    ws.write(
        "level_a/src/lib.rs",
        &format!(
            "{}\npub fn where_am_i() -> u32 {{\n    line!()\n}}\n",
            ws.read("level_a/src/lib.rs")
        ),
    );
    ws.replace(
        "top/src/main.rs",
        r#"println!("{}", level_c::report(5));"#,
        r#"println!("{}", level_c::report(5));
    println!("line: {}", level_c::level_a_line());"#,
    );
    ws.write(
        "level_c/src/lib.rs",
        &format!(
            "{}\npub fn level_a_line() -> u32 {{\n    level_b::level_a_line()\n}}\n",
            ws.read("level_c/src/lib.rs")
        ),
    );
    ws.write(
        "level_b/src/lib.rs",
        &format!(
            "{}\npub fn level_a_line() -> u32 {{\n    level_a::where_am_i()\n}}\n",
            ws.read("level_b/src/lib.rs")
        ),
    );
    build(&ws).assert_success();
    let before = assert_dev_matches_cargo(&ws);

    ws.write(
        "level_a/src/lib.rs",
        &format!("// one more line\n{}", ws.read("level_a/src/lib.rs")),
    );
    let out = build(&ws);
    out.assert_success();
    let after = assert_dev_matches_cargo(&ws);
    assert_ne!(before, after, "the printed line moved");
    assert!(out.redone().contains("top"), "{}", out.describe());
}

/// A codegen-only library edit and a compile error in one of the binaries:
/// whichever binary did not get relinked in the failed build must be
/// brought up to date by the build after the fix.
#[test]
fn a_failed_build_after_a_body_edit_leaves_no_stale_binary() {
    let ws = built("sample-workspace");
    ws.replace(CORE_LIB, "' ' | '-' => '_',", "' ' | '-' => '.',");
    let api = "api_server/src/main.rs";
    let api_source = ws.read(api);
    ws.replace(api, "let mut ok = 0;", "let mut ok = 0 + not_defined;");
    let out = run(build_cmd(&ws).args(["-j", "1"]));
    assert_eq!(out.code(), Some(101), "{}", out.describe());
    out.assert_compiled(["core_lib"]);

    ws.write(api, &api_source);
    let out = build(&ws);
    out.assert_success();
    assert!(out.redone().contains("api_server"), "{}", out.describe());
    let cargo = cargo_bins(&ws, DEV);
    let runs: &[(&str, &[&str])] = &[
        ("api_server", &[]),
        ("cli_tool", &["put", "Dave-Smith", "1", "get", "dave.smith"]),
    ];
    let outputs = assert_runs_match(&ws, &ws.bin_dir(), &cargo, runs);
    assert!(outputs[1].contains("dave.smith"), "{}", outputs[1]);
    assert!(!outputs[1].contains("<missing>"), "{}", outputs[1]);
}

/// In release builds every body is interface (cross-crate inlining):
/// nothing is relinked.
#[test]
fn release_body_edit_recompiles_dependents() {
    let ws = Ws::new("sample-workspace");
    run(build_cmd(&ws).arg("--release")).assert_success();
    ws.replace(CORE_LIB, "' ' | '-' => '_',", "' ' | '-' => '.',");
    let out = run(build_cmd(&ws).arg("--release"));
    out.assert_success();
    out.assert_compiled(["core_lib", "api_server", "cli_tool"]);
    let cargo = cargo_bins(
        &ws,
        CargoOpts {
            release: true,
            rustflags: None,
            profile: None,
        },
    );
    let outputs = assert_matches_cargo(&ws, &ws.target_dir().join("release"), &cargo);
    assert!(outputs[0].contains("dave.smith"), "{}", outputs[0]);
}

#[test]
fn dry_run_compiles_nothing_and_touch_rebuilds() {
    let ws = built("sample-workspace");
    let dry = run(build_cmd(&ws).args(["--touch", "core_lib", "--dry-run"]));
    assert_eq!(dry.code(), Some(0), "{}", dry.describe());
    let planned: std::collections::BTreeSet<String> =
        dry.of("planned").into_iter().map(label).collect();
    assert_eq!(
        planned,
        set(["core_lib (lib)", "api_server (bin)", "cli_tool (bin)"]),
        "{}",
        dry.describe()
    );
    for event in dry.of("planned") {
        assert_eq!(event["action"], "compile", "{}", dry.describe());
    }
    assert_eq!(dry.of("plan-finished").len(), 1, "{}", dry.describe());
    assert!(dry.of("crate-started").is_empty(), "{}", dry.describe());

    let after_dry = build(&ws);
    after_dry.assert_success();
    assert!(
        after_dry.redone().is_empty(),
        "a dry run changes nothing\n{}",
        after_dry.describe()
    );

    let touched = run(build_cmd(&ws).args(["--touch", "core_lib"]));
    touched.assert_success();
    touched.assert_compiled(["core_lib", "api_server", "cli_tool"]);
    assert_dev_matches_cargo(&ws);
    let again = build(&ws);
    again.assert_success();
    assert!(again.redone().is_empty(), "{}", again.describe());
}

/// In dev builds rustc shares generic instances across crates: a binary may
/// link to instances (`drop_in_place::<String>`...) that its dependency
/// exported only because a function body used them. A body edit that drops
/// such a use leaves the recorded link step with undefined symbols, so the
/// relink fails; the build must fall back to rustc and still succeed.
#[test]
fn a_relink_that_fails_falls_back_to_rustc() {
    let ws = Ws::new("diamond");
    let base = "base/src/lib.rs";
    let uses_generics = "
pub fn sum_small() -> usize {
    let v: Vec<u16> = vec![1, 2, 3];
    let mut words: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    words.sort();
    words.dedup();
    v.iter().map(|x| usize::from(*x)).sum::<usize>() + words.len()
}
";
    let no_generics = "
pub fn sum_small() -> usize {
    let v: [u32; 3] = [1, 2, 4];
    v.iter().map(|x| *x as usize).sum::<usize>()
}
";
    let original = ws.read(base);
    ws.write(base, &format!("{original}{uses_generics}"));
    ws.replace(
        "top/src/main.rs",
        "fn main() {",
        r#"fn main() {
    let mut w: Vec<String> = vec!["b".to_string(), "a".to_string()];
    w.sort();
    w.dedup();
    let z: Vec<u16> = vec![7, 8];
    println!("{} {} {}", w.len(), z.len(), base::sum_small());"#,
    );
    build(&ws).assert_success();
    let before = assert_dev_matches_cargo(&ws);
    assert!(before[0].starts_with("2 2 9\n"), "{}", before[0]);

    ws.write(base, &format!("{original}{no_generics}"));
    let out = build(&ws);
    out.assert_success();
    let after = assert_dev_matches_cargo(&ws);
    assert!(after[0].starts_with("2 2 7\n"), "{}", after[0]);
    assert_eq!(
        out.redone(),
        set(["base", "left", "right", "top"]),
        "{}",
        out.describe()
    );
}

/// One scripted edit of the `edits` fixture and what `app` must then do.
struct Step {
    file: &'static str,
    /// Replacements, each of a text that occurs once.
    changes: &'static [(&'static str, &'static str)],
    /// `app`'s action: `relinked`, `compiled` or `fresh`; `None`: either.
    app: Option<&'static str>,
    /// Text `app` prints after the edit.
    shows: &'static str,
}

/// Every kind of item in `base` edited in turn; after each edit `app` must
/// print what cargo's `app` prints, and take the expected shortcut.
#[test]
fn edits_of_every_kind_of_item_match_cargo() {
    let lib = "base/src/lib.rs";
    let shapes = "base/src/shapes.rs";
    let steps = [
        Step {
            file: lib,
            changes: &[(
                "fn helper() -> i64 {\n    1\n}",
                "fn helper() -> i64 {\n    2\n}",
            )],
            app: Some("relinked"),
            shows: "plain=20 ",
        },
        Step {
            file: lib,
            changes: &[("helper() * 10", "helper() * 11")],
            app: Some("relinked"),
            shows: "plain=22 ",
        },
        Step {
            file: lib,
            changes: &[("value.into() + 100", "value.into() + 200")],
            app: Some("compiled"),
            shows: "generic=205 ",
        },
        Step {
            file: lib,
            changes: &[("x + 1000", "x + 2000")],
            app: Some("compiled"),
            shows: "inlined=2001",
        },
        Step {
            file: lib,
            changes: &[("pub const LIMIT: i64 = 5;", "pub const LIMIT: i64 = 6;")],
            app: Some("compiled"),
            shows: "limit=6 holder=13 ",
        },
        Step {
            file: lib,
            changes: &[(
                "/// Where this line is, as compiled into `base`.",
                "// moved down a line\n/// Where this line is, as compiled into `base`.",
            )],
            app: None,
            shows: "here=",
        },
        Step {
            file: shapes,
            changes: &[
                ("    tag: u8,\n}", "    tag: u8,\n    spare: [u8; 8],\n}"),
                (
                    "Holder { value, tag: 7 }",
                    "Holder { value, tag: 7, spare: [0; 8] }",
                ),
            ],
            app: Some("compiled"),
            shows: "size=24",
        },
        Step {
            file: shapes,
            changes: &[(
                r#"format!("{0}-{0}", self.speak())"#,
                r#"format!("{0}+{0}", self.speak())"#,
            )],
            app: Some("compiled"),
            shows: "twice=holder6+holder6",
        },
        Step {
            file: shapes,
            changes: &[(
                r#"format!("holder{}", self.value)"#,
                r#"format!("h{}", self.value)"#,
            )],
            app: Some("relinked"),
            shows: "speak=h6 twice=h6+h6",
        },
        Step {
            file: lib,
            changes: &[(
                "// A private helper: its body is invisible to dependents.",
                "// A private helper (its body is invisible to dependents).",
            )],
            app: Some("fresh"),
            shows: "plain=22 ",
        },
        Step {
            file: lib,
            changes: &[(
                "assert_eq!(super::plain(), 10);",
                "assert_eq!(super::plain(), 22);",
            )],
            app: Some("fresh"),
            shows: "plain=22 ",
        },
    ];
    let ws = built("edits");
    assert_dev_matches_cargo(&ws);
    for (i, step) in steps.iter().enumerate() {
        for (from, to) in step.changes {
            ws.replace(step.file, from, to);
        }
        let out = build(&ws);
        out.assert_success();
        let outputs = assert_dev_matches_cargo(&ws);
        assert!(
            outputs[0].contains(step.shows),
            "step {i}: {:?}: app prints\n{}",
            step.changes,
            outputs[0]
        );
        if let Some(action) = step.app {
            let app = out
                .of("crate-finished")
                .into_iter()
                .find(|e| e["crate"] == "app")
                .map(|e| e["action"].as_str().unwrap_or("").to_owned());
            assert_eq!(
                app.as_deref(),
                Some(action),
                "step {i}: {:?}\n{}",
                step.changes,
                out.describe()
            );
        }
    }
}

/// A module rustc does not compile here (`#[cfg(windows)] mod win;` on
/// Linux) is not part of the crate: it does not stop a body edit elsewhere
/// from being codegen-only.
#[test]
fn a_cfgd_out_module_does_not_block_classification() {
    let ws = Ws::new("edits");
    let lib = "base/src/lib.rs";
    ws.write(
        lib,
        &format!(
            "{}\n#[cfg(windows)]\nmod win;\n#[cfg(any())]\nmod nowhere;\n",
            ws.read(lib)
        ),
    );
    ws.write("base/src/win.rs", "pub fn only_on_windows() {}\n");
    build(&ws).assert_success();
    ws.replace(
        lib,
        "fn helper() -> i64 {\n    1\n}",
        "fn helper() -> i64 {\n    3\n}",
    );
    let out = build(&ws);
    out.assert_success();
    assert_eq!(out.change_of("base (lib)"), "codegen", "{}", out.describe());
    assert!(assert_dev_matches_cargo(&ws)[0].contains("plain=30 "));

    // Editing the cfg'd-out file changes nothing rustc reads.
    ws.write(
        "base/src/win.rs",
        "pub fn only_on_windows() { let _ = 1; }\n",
    );
    let out = build(&ws);
    out.assert_success();
    assert!(out.redone().is_empty(), "{}", out.describe());
}

/// Damaged objects in rustc's incremental cache and in the relink recipe:
/// the relink fails, rustc's fallback (reusing the cache) fails too, and
/// orchestrator compiles once more from a clean incremental state, says
/// so, and the binary is cargo's.
#[test]
fn a_damaged_incremental_cache_is_retried_from_scratch() {
    let ws = built("sample-workspace");
    let target = ws.path("target/orchestrator/debug");
    let mut damaged = 0;
    let mut stack = vec![target.join("deps"), target.join("incremental")];
    while let Some(dir) = stack.pop() {
        for entry in fs_entries(&dir) {
            let name = entry
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if entry.is_dir() {
                if dir.ends_with("incremental") && !name.starts_with("api_server-") {
                    continue;
                }
                stack.push(entry);
            } else if name.ends_with(".o") && entry.to_string_lossy().contains("api_server") {
                std::fs::write(&entry, b"").expect("damage an object");
                damaged += 1;
            }
        }
    }
    assert!(damaged > 0, "objects of api_server found");
    ws.replace(CORE_LIB, "' ' | '-' => '_',", "' ' | '-' => '.',");
    let out = build(&ws);
    out.assert_success();
    let retried = out.of("warning").into_iter().any(|e| {
        e["crate"] == "api_server"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("without incremental state"))
    });
    assert!(retried, "{}", out.describe());
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("dave.smith"), "{}", outputs[0]);
}

fn fs_entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}
