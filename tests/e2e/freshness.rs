//! What a rebuild does: nothing when the content is the same; otherwise the
//! edited crate is compiled, and its dependents are compiled (a change other
//! crates can see) or, for binaries, relinked (a change only the crate's own
//! code sees). Whatever it does, the binaries always match cargo's for the
//! current sources.

use std::fs;
use std::time::Duration;

use crate::support::*;

const CLI_MAIN: &str = "cli_tool/src/main.rs";
const CORE_LIB: &str = "core_lib/src/lib.rs";
/// A behaviour change in the body of a private, non-generic helper of
/// core_lib (a codegen-only change): keys now normalise `-` and spaces to
/// `.` instead of `_`.
const CORE_FROM: &str = "' ' | '-' => '_',";
const CORE_TO: &str = "' ' | '-' => '.',";

#[test]
fn noop_rebuild_compiles_nothing_and_rewrites_nothing() {
    let ws = built("sample-workspace");
    let bins = ["api_server", "cli_tool"].map(|b| ws.bin_dir().join(b));
    let mtimes: Vec<_> = bins
        .iter()
        .map(|b| {
            fs::metadata(b)
                .and_then(|m| m.modified())
                .expect("binary mtime")
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));

    let out = build(&ws);
    out.assert_success();
    assert!(out.compiled().is_empty(), "{}", out.describe());
    assert_eq!(out.fresh(), set(["core_lib", "api_server", "cli_tool"]));
    assert_eq!(out.finished_event()["compiled"].as_u64(), Some(0));
    assert_eq!(out.finished_event()["fresh"].as_u64(), Some(3));
    let after: Vec<_> = bins
        .iter()
        .map(|b| {
            fs::metadata(b)
                .and_then(|m| m.modified())
                .expect("binary mtime")
        })
        .collect();
    assert_eq!(mtimes, after, "a no-op build must not rewrite the binaries");
}

#[test]
fn same_content_with_new_mtimes_compiles_nothing() {
    let ws = built("sample-workspace");
    ws.touch_everything();
    let out = build(&ws);
    out.assert_success();
    assert!(
        out.compiled().is_empty(),
        "touch recompiled\n{}",
        out.describe()
    );
    assert_eq!(out.fresh(), set(["core_lib", "api_server", "cli_tool"]));
    assert_dev_matches_cargo(&ws);
}

#[test]
fn leaf_bin_edit_compiles_only_that_bin() {
    let ws = built("sample-workspace");
    ws.replace(
        CLI_MAIN,
        r#"println!("summary: {}", summarize(&store));"#,
        r#"println!("summary (edited): {}", summarize(&store));"#,
    );
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["cli_tool"]);
    assert!(out.relinked().is_empty(), "{}", out.describe());
    assert!(
        out.started_event()["estimate_ms"].is_u64(),
        "cli_tool's last duration is known\n{}",
        out.describe()
    );
    assert_eq!(out.fresh(), set(["core_lib", "api_server"]));
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[1].contains("summary (edited): "), "{}", outputs[1]);
    assert!(outputs[2].contains("summary (edited): "), "{}", outputs[2]);
}

#[test]
fn library_signature_edit_recompiles_the_library_and_all_dependents() {
    let ws = built("sample-workspace");
    let before = assert_dev_matches_cargo(&ws);
    ws.replace(
        CORE_LIB,
        "pub const MAX_KEY_LEN: usize = 16;",
        "pub const MAX_KEY_LEN: usize = 12;",
    );
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["core_lib", "api_server", "cli_tool"]);
    assert_eq!(out.change_of("core_lib (lib)"), "signature");
    let after = assert_dev_matches_cargo(&ws);
    assert!(after[0].contains("max key length 12"), "{}", after[0]);
    assert!(after[1].contains("at most 12 characters"), "{}", after[1]);
    assert_ne!(before, after);
}

#[test]
fn library_body_edit_recompiles_the_library_and_relinks_the_binaries() {
    let ws = built("sample-workspace");
    let before = assert_dev_matches_cargo(&ws);
    ws.replace(CORE_LIB, CORE_FROM, CORE_TO);
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["core_lib"]);
    out.assert_relinked(["api_server", "cli_tool"]);
    assert_eq!(out.change_of("core_lib (lib)"), "codegen");
    let after = assert_dev_matches_cargo(&ws);
    assert!(after[0].contains("dave.smith"), "{}", after[0]);
    assert_ne!(before[0], after[0], "api_server's behaviour changed");

    let again = build(&ws);
    again.assert_success();
    assert!(again.redone().is_empty(), "{}", again.describe());
}

#[test]
fn no_relink_recompiles_the_binaries_instead() {
    let ws = built("sample-workspace");
    ws.replace(CORE_LIB, CORE_FROM, CORE_TO);
    let out = run(build_cmd(&ws).arg("--no-relink"));
    out.assert_success();
    out.assert_compiled(["core_lib", "api_server", "cli_tool"]);
    assert!(out.relinked().is_empty());
    let after = assert_dev_matches_cargo(&ws);
    assert!(after[0].contains("dave.smith"), "{}", after[0]);
}

#[test]
fn chain_signature_edit_at_the_bottom_recompiles_every_level() {
    let ws = built("chain");
    ws.replace(
        "level_a/src/lib.rs",
        "pub const BASE: i64 = 10;",
        "pub const BASE: i64 = 11;",
    );
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["level_a", "level_b", "level_c", "top"]);
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("base=11"), "{}", outputs[0]);
}

/// A body edit at the bottom compiles level_a and relinks top; level_b and
/// level_c keep metadata naming the old level_a, so when level_c later
/// changes its interface, level_b must be recompiled too (E0460 otherwise).
#[test]
fn chain_body_edit_then_a_signature_edit_above_it() {
    let ws = built("chain");
    ws.replace(
        "level_a/src/lib.rs",
        "fn secret_offset() -> i64 {\n    3\n}",
        "fn secret_offset() -> i64 {\n    4\n}",
    );
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["level_a"]);
    out.assert_relinked(["top"]);
    assert_eq!(out.fresh(), set(["level_b", "level_c"]));
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("widget#24"), "{}", outputs[0]);

    ws.replace(
        "level_c/src/lib.rs",
        "pub fn report(x: i64) -> String {",
        "pub fn added_api() -> i64 {\n    level_b::compute(1)\n}\n\npub fn report(x: i64) -> String {",
    );
    ws.replace(
        "top/src/main.rs",
        r#"println!("{}", level_c::report(5));"#,
        r#"println!("{}", level_c::report(5));
    println!("added_api: {}", level_c::added_api());"#,
    );
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["level_b", "level_c", "top"]);
    assert_eq!(out.fresh(), set(["level_a"]));
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("added_api: 16"), "{}", outputs[0]);
}

#[test]
fn diamond_edit_on_one_side_leaves_the_other_fresh() {
    let ws = built("diamond");
    ws.replace("left/src/lib.rs", "c.bump(10);", "c.bump(20);");
    let out = build(&ws);
    out.assert_success();
    assert_eq!(out.redone(), set(["left", "top"]), "{}", out.describe());
    out.assert_compiled(["left"]);
    out.assert_relinked(["top"]);
    assert_eq!(out.fresh(), set(["base", "right"]));
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("left=21"), "{}", outputs[0]);

    // An interface change of `left` compiles `top` instead.
    ws.replace(
        "left/src/lib.rs",
        "pub fn left_counter() -> Counter {",
        "pub fn left_counter() -> Counter {\n    left_counter_from(1)\n}\n\npub fn left_counter_from(start: u32) -> Counter {",
    );
    ws.replace(
        "left/src/lib.rs",
        "Counter::new(\"left\", 1)",
        "Counter::new(\"left\", start)",
    );
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["left", "top"]);
    assert_eq!(out.fresh(), set(["base", "right"]));
    assert_dev_matches_cargo(&ws);
}

#[test]
fn deleted_outputs_are_restored() {
    let ws = built("sample-workspace");
    let api = ws.bin_dir().join("api_server");
    fs::remove_file(&api).expect("delete uplifted binary");
    let out = build(&ws);
    out.assert_success();
    assert!(
        out.compiled().is_subset(&set(["api_server"])),
        "only api_server may be redone\n{}",
        out.describe()
    );
    assert!(out.fresh().contains("core_lib") && out.fresh().contains("cli_tool"));
    assert!(api.is_file(), "uplifted binary restored");
    assert_dev_matches_cargo(&ws);

    // The library's rlib itself: the library and everything linking it are redone.
    let deps = ws.bin_dir().join("deps");
    let rlibs: Vec<_> = fs::read_dir(&deps)
        .expect("deps dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("libcore_lib-") && name.ends_with(".rlib")
        })
        .collect();
    assert_eq!(rlibs.len(), 1, "one core_lib rlib in {}", deps.display());
    fs::remove_file(&rlibs[0]).expect("delete rlib");
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["core_lib", "api_server", "cli_tool"]);
    assert_dev_matches_cargo(&ws);
}

#[test]
fn inherited_package_fields_reach_env_macros() {
    let ws = built("inherit");
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("version: 2.3.4"), "{}", outputs[0]);

    ws.replace("Cargo.toml", r#"version = "2.3.4""#, r#"version = "2.4.0""#);
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["shared", "app"]);
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("version: 2.4.0"), "{}", outputs[0]);
    assert!(
        outputs[0].contains("shared: shared v2.4.0"),
        "{}",
        outputs[0]
    );

    // Only `app` reads CARGO_PKG_DESCRIPTION.
    ws.replace(
        "Cargo.toml",
        r#"description = "inherited description""#,
        r#"description = "a new description""#,
    );
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["app"]);
    assert_eq!(out.fresh(), set(["shared"]));
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(
        outputs[0].contains("description: a new description"),
        "{}",
        outputs[0]
    );

    let out = build(&ws);
    out.assert_success();
    assert!(out.compiled().is_empty(), "{}", out.describe());
}

#[test]
fn reverting_an_edit_restores_the_original_binaries() {
    let ws = built("sample-workspace");
    let original = ws.read(CORE_LIB);
    let before = assert_dev_matches_cargo(&ws);

    ws.replace(CORE_LIB, CORE_FROM, CORE_TO);
    build(&ws).assert_success();
    let edited = assert_dev_matches_cargo(&ws);
    assert_ne!(before, edited);

    ws.write(CORE_LIB, &original);
    let out = build(&ws);
    out.assert_success();
    assert_eq!(
        out.redone(),
        set(["core_lib", "api_server", "cli_tool"]),
        "{}",
        out.describe()
    );
    out.assert_compiled(["core_lib"]);
    let reverted = assert_dev_matches_cargo(&ws);
    assert_eq!(before, reverted);
}

/// (file, from, to, expected compiled, expected relinked)
type Edit = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

#[test]
fn modules_path_modules_and_included_files_are_tracked() {
    let ws = built("multi_file");
    // (file, from, to, compiled, relinked): an included file's content is
    // a `pub const`, which dependents embed; function bodies are not.
    let edits: [Edit; 3] = [
        (
            "deep/data/greeting.txt",
            "Hello from data/greeting.txt",
            "Hello again, edited",
            &["deep", "show"],
            &[],
        ),
        (
            "deep/src/b/c.rs",
            "module b::c (src/b/c.rs)",
            "module b::c EDITED",
            &["deep"],
            &["show"],
        ),
        (
            "deep/src/other/custom.rs",
            "module custom (src/other/custom.rs via #[path])",
            "custom EDITED",
            &["deep"],
            &["show"],
        ),
    ];
    for (file, from, to, compiled, relinked) in edits {
        ws.replace(file, from, to);
        let out = build(&ws);
        out.assert_success();
        let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            out.compiled(),
            owned(compiled),
            "after editing {file}\n{}",
            out.describe()
        );
        assert_eq!(
            out.relinked(),
            owned(relinked),
            "after editing {file}\n{}",
            out.describe()
        );
        let outputs = assert_dev_matches_cargo(&ws);
        assert!(outputs[0].contains(to), "{file}: {}", outputs[0]);
    }
}

#[test]
fn a_new_bin_file_is_discovered_and_built_alone() {
    let ws = built("lib_bin");
    ws.write(
        "toolkit/src/bin/late.rs",
        "fn main() {\n    println!(\"{} late bin: {}\", toolkit::banner(\"late\"), toolkit::sum_squares(6));\n}\n",
    );
    let out = build(&ws);
    out.assert_success();
    assert_eq!(
        out.units("compiled"),
        set(["late (bin)"]),
        "{}",
        out.describe()
    );
    assert_eq!(
        out.units("fresh"),
        set([
            "toolkit (lib)",
            "toolkit (bin)",
            "extra (bin)",
            "custom (bin)"
        ])
    );
    let cargo = cargo_bins(&ws, DEV);
    let runs: &[(&str, &[&str])] = &[
        ("late", &[]),
        ("toolkit", &[]),
        ("extra", &[]),
        ("custom", &[]),
    ];
    let outputs = assert_runs_match(&ws, &ws.bin_dir(), &cargo, runs);
    assert!(outputs[0].contains("late bin: 91"), "{}", outputs[0]);
}

#[test]
fn changing_enabled_features_recompiles_with_the_new_cfgs() {
    let ws = built("features");
    let before = assert_dev_matches_cargo(&ws);
    assert!(
        before[0].contains("features: [loud, extra]"),
        "{}",
        before[0]
    );

    ws.replace(
        "user/Cargo.toml",
        r#"flags = { path = "../flags", features = ["extra"] }"#,
        r#"flags = { path = "../flags", features = [] }"#,
    );
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["flags", "user"]);
    let after = assert_dev_matches_cargo(&ws);
    assert!(after[0].contains("features: [loud]\n"), "{}", after[0]);
    assert!(!after[0].contains("(extra)"), "{}", after[0]);
}

/// Returning to an earlier configuration must bring back that
/// configuration's binary, not keep the last one built (every unit is fresh:
/// both configurations' artifacts are on disk under their own keys).
#[test]
fn toggling_a_feature_off_and_on_again_restores_each_binary() {
    let ws = built("features");
    let with_extra = r#"flags = { path = "../flags", features = ["extra"] }"#;
    let without = r#"flags = { path = "../flags", features = [] }"#;
    ws.replace("user/Cargo.toml", with_extra, without);
    build(&ws).assert_success();
    let off = assert_dev_matches_cargo(&ws);
    assert!(off[0].contains("features: [loud]\n"), "{}", off[0]);

    ws.replace("user/Cargo.toml", without, with_extra);
    let out = build(&ws);
    out.assert_success();
    assert!(
        out.compiled().is_empty(),
        "both configurations were built before\n{}",
        out.describe()
    );
    let on = assert_dev_matches_cargo(&ws);
    assert!(on[0].contains("features: [loud, extra]"), "{}", on[0]);

    ws.replace("user/Cargo.toml", with_extra, without);
    build(&ws).assert_success();
    let off_again = assert_dev_matches_cargo(&ws);
    assert!(
        off_again[0].contains("features: [loud]\n"),
        "{}",
        off_again[0]
    );
}

/// The same for a package version bumped and restored.
#[test]
fn bumping_a_version_and_restoring_it_restores_the_binary() {
    let ws = Ws::new("features");
    ws.write(
        "user/src/main.rs",
        "fn main() {\n    println!(\"user {}\", env!(\"CARGO_PKG_VERSION\"));\n}\n",
    );
    build(&ws).assert_success();
    ws.replace(
        "user/Cargo.toml",
        "version = \"0.1.0\"",
        "version = \"0.2.0\"",
    );
    build(&ws).assert_success();
    assert!(assert_dev_matches_cargo(&ws)[0].contains("user 0.2.0"));
    ws.replace(
        "user/Cargo.toml",
        "version = \"0.2.0\"",
        "version = \"0.1.0\"",
    );
    let out = build(&ws);
    out.assert_success();
    assert!(
        out.compiled().is_empty(),
        "0.1.0 was built before\n{}",
        out.describe()
    );
    assert!(assert_dev_matches_cargo(&ws)[0].contains("user 0.1.0"));
}

#[test]
fn a_moved_workspace_stays_fresh() {
    let mut ws = built("sample-workspace");
    let moved = ws.tmp.path().join("moved-elsewhere");
    fs::rename(&ws.root, &moved).expect("move workspace");
    ws.root = moved.canonicalize().expect("canonical");
    let out = build(&ws);
    out.assert_success();
    assert!(
        out.compiled().is_empty(),
        "moving the checkout recompiled\n{}",
        out.describe()
    );
    assert_dev_matches_cargo(&ws);
}

/// Start a build of `ws`, and once rustc has read `w4` (its `.rmeta` is
/// out) and is still generating code, edit `w4` again (`from` → `to`). The
/// next build must see that edit: the ledger must not vouch for content
/// rustc never saw.
fn edit_w4_during_build(ws: &Ws, from: &str, to: &str, marker: &str) {
    let mut running = Spawned::start(&mut build_cmd(ws));
    assert!(
        running.wait_for(Duration::from_secs(120), |e| {
            reason(e) == "crate-stage" && e["crate"] == "w4"
        }),
        "w4 reached codegen"
    );
    ws.replace("w4/src/lib.rs", from, to);
    let during = running.finish();
    during.assert_success();
    assert!(during.compiled().contains("w4"));

    // What rustc read of w4 is unknown (the plan hashed one version, rustc
    // may have read another): w4 is rebuilt as a signature change, and hub
    // compiled against it, not relinked (a relink would trust that hub was
    // compiled against an interface the recorded hash stands for).
    let out = build(ws);
    out.assert_success();
    let outputs = assert_dev_matches_cargo(ws);
    assert!(outputs[0].contains(marker), "{}", outputs[0]);
    assert_eq!(out.redone(), set(["w4", "hub"]), "{}", out.describe());
    out.assert_compiled(["w4", "hub"]);
    let w4 = out
        .of("crate-finished")
        .into_iter()
        .find(|e| e["crate"] == "w4")
        .expect("w4 finished");
    assert!(
        w4["explain"]
            .as_str()
            .is_some_and(|x| x.contains("changed while it was last compiled")),
        "{w4}"
    );
}

#[test]
fn an_edit_during_a_clean_build_is_seen_by_the_next_build() {
    let ws = Ws::new("wide");
    edit_w4_during_build(
        &ws,
        r#""w4: {stats}"#,
        r#""w4 edited during build: {stats}"#,
        "w4 edited during build: ",
    );
}

#[test]
fn an_edit_during_a_rebuild_is_seen_by_the_next_build() {
    let ws = built("wide");
    ws.replace(
        "w4/src/lib.rs",
        r#""w4: {stats}"#,
        r#""w4 first edit: {stats}"#,
    );
    edit_w4_during_build(&ws, "w4 first edit", "w4 second edit", "w4 second edit: ");
}

/// A checkout copied with its target directory (`cp -a`), then edited: the
/// copy's relinks must use the copy's artifacts, and leave the original alone.
#[test]
fn a_copied_workspace_relinks_against_its_own_artifacts() {
    let original = built("sample-workspace");
    let before = assert_dev_matches_cargo(&original);
    let mut copy = Ws::new("sample-workspace");
    fs::remove_dir_all(&copy.root).expect("clear the copy");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&original.root)
        .arg(&copy.root)
        .status()
        .expect("run cp -a");
    assert!(status.success());
    copy.root = copy.root.canonicalize().expect("canonical");

    copy.replace(CORE_LIB, CORE_FROM, CORE_TO);
    let out = build(&copy);
    out.assert_success();
    out.assert_compiled(["core_lib"]);
    let after = assert_dev_matches_cargo(&copy);
    assert!(after[0].contains("dave.smith"), "{}", after[0]);
    assert_eq!(
        assert_dev_matches_cargo(&original),
        before,
        "the original checkout's binaries are untouched"
    );
    let again = build(&original);
    again.assert_success();
    assert!(again.redone().is_empty(), "{}", again.describe());
}

/// Outputs damaged behind orchestrator's back (a truncated binary, a
/// replaced rlib) are not "fresh": the ledger's tripwire sees them and the
/// unit is rebuilt.
#[test]
fn damaged_outputs_are_rebuilt() {
    let ws = built("sample-workspace");
    let bin = ws.bin_dir().join("api_server");
    let len = fs::metadata(&bin).expect("binary").len();
    fs::OpenOptions::new()
        .write(true)
        .open(&bin)
        .and_then(|f| f.set_len(len / 2))
        .expect("truncate the binary");
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["api_server"]);
    assert!(
        out.describe().contains("was changed since it was built"),
        "{}",
        out.describe()
    );
    assert_dev_matches_cargo(&ws);

    let deps = ws.bin_dir().join("deps");
    let rlib = fs::read_dir(&deps)
        .expect("deps dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("libcore_lib-") && name.ends_with(".rlib")
        })
        .expect("core_lib's rlib");
    fs::write(&rlib, b"not an rlib").expect("replace the rlib");
    let out = build(&ws);
    out.assert_success();
    assert!(out.compiled().contains("core_lib"), "{}", out.describe());
    assert_dev_matches_cargo(&ws);
    let again = build(&ws);
    again.assert_success();
    assert!(again.redone().is_empty(), "{}", again.describe());
}
