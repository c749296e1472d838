//! Holes differential testing found (`docs/rustc-facts.md` §10), one
//! scenario each: an edit that looks local but is not. After each edit the
//! binaries must behave as cargo's, and where cargo fails orchestrator must
//! fail too.

use crate::support::*;

const BASE: &str = "base/src/lib.rs";
const APP: &str = "app/src/main.rs";

/// Set up `edits` with extra code in `base` and an `app` that prints `expr`.
fn scenario(extra: &str, expr: &str, files: &[(&str, &str)]) -> Ws {
    let ws = Ws::new("edits");
    for (path, text) in files {
        ws.write(path, text);
    }
    ws.write(BASE, &format!("{}\n{extra}", ws.read(BASE)));
    ws.write(
        APP,
        &format!("fn main() {{\n    println!(\"value={{}}\", {expr});\n}}\n"),
    );
    build(&ws).assert_success();
    ws
}

fn app_action(out: &Outcome) -> String {
    out.of("crate-finished")
        .into_iter()
        .find(|e| e["crate"] == "app")
        .and_then(|e| e["action"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// R9: a crate-local `vec!` expands to a global `impl` with a const that the
/// dependent embeds; the body calling it is not self-contained.
#[test]
fn a_crate_local_macro_named_like_std_s_defines_items() {
    let ws = scenario(
        r#"
pub trait Level {
    const LEVEL: i64;
}
pub struct Meter;
macro_rules! vec {
    ($n:expr) => {
        impl crate::Level for crate::Meter {
            const LEVEL: i64 = $n;
        }
    };
}
#[allow(dead_code)]
fn install() {
    vec!(3);
}
"#,
        "<base::Meter as base::Level>::LEVEL",
        &[],
    );
    assert!(assert_dev_matches_cargo(&ws)[0].contains("value=3"));
    ws.replace(BASE, "vec!(3);", "vec!(4);");
    let out = build(&ws);
    out.assert_success();
    assert_eq!(app_action(&out), "compiled", "{}", out.describe());
    assert!(assert_dev_matches_cargo(&ws)[0].contains("value=4"));
}

/// R10: a module file also read by `include_str!` is data dependents embed.
#[test]
fn a_module_file_read_by_include_str_is_data() {
    let ws = scenario(
        "mod data;\npub const DATA_LEN: usize = include_str!(\"data.rs\").len();\n",
        "base::DATA_LEN",
        &[(
            "base/src/data.rs",
            "#[allow(dead_code)]\nfn private() -> i64 {\n    1\n}\n",
        )],
    );
    assert_dev_matches_cargo(&ws);
    ws.replace("base/src/data.rs", "    1\n", "    1 + 2 + 3\n");
    let out = build(&ws);
    out.assert_success();
    assert_eq!(app_action(&out), "compiled", "{}", out.describe());
    assert_dev_matches_cargo(&ws);
}

/// R7: with `--cfg test` in RUSTFLAGS, `#[cfg(test)]` items are real code:
/// classified like any other (a private body edit of one is codegen-only, and
/// the relinked binary must be cargo's).
#[test]
fn cfg_test_items_count_when_test_is_a_cfg() {
    let flags = "--cfg test";
    let ws = Ws::new("edits");
    ws.write(
        BASE,
        &format!(
            "{}\n#[cfg(test)]\npub fn mode() -> &'static str {{\n    \"alpha\"\n}}\n#[cfg(not(test))]\npub fn mode() -> &'static str {{\n    \"plain\"\n}}\n",
            ws.read(BASE)
        ),
    );
    ws.write(
        APP,
        "fn main() {\n    println!(\"mode={}\", base::mode());\n}\n",
    );
    let build_with_flags = |ws: &Ws| run(build_cmd(ws).env("RUSTFLAGS", flags));
    build_with_flags(&ws).assert_success();
    let opts = CargoOpts {
        release: false,
        rustflags: Some(flags),
        profile: None,
    };
    let cargo = cargo_bins(&ws, opts);
    assert!(assert_matches_cargo(&ws, &ws.bin_dir(), &cargo)[0].contains("mode=alpha"));

    ws.replace(BASE, "\"alpha\"", "\"gamma\"");
    let out = build_with_flags(&ws);
    out.assert_success();
    assert_eq!(out.change_of("base (lib)"), "codegen", "{}", out.describe());
    let cargo = cargo_bins(&ws, opts);
    assert!(assert_matches_cargo(&ws, &ws.bin_dir(), &cargo)[0].contains("mode=gamma"));
    // A line added in its body moves what follows it: still cargo's binary.
    ws.replace(
        BASE,
        "#[cfg(test)]\npub fn mode() -> &'static str {",
        "#[cfg(test)]\npub fn mode() -> &'static str {\n    let _unused: u8 = 0;",
    );
    let out = build_with_flags(&ws);
    out.assert_success();
    let cargo = cargo_bins(&ws, opts);
    assert!(assert_matches_cargo(&ws, &ws.bin_dir(), &cargo)[0].contains("mode=gamma"));
}

/// R8: a comment with a bidirectional override is a deny-by-default lint:
/// cargo fails, so orchestrator must run rustc and fail too.
#[test]
fn a_comment_with_a_bidi_override_fails_as_in_cargo() {
    let ws = built("edits");
    ws.replace(
        BASE,
        "// A private helper: its body is invisible to dependents.",
        "// A private helper: \u{202E}its body is invisible to dependents.",
    );
    let out = build(&ws);
    assert_eq!(out.code(), Some(101), "{}", out.describe());
    let lint = out.of("compiler-message").into_iter().any(|e| {
        e["rendered"]
            .as_str()
            .is_some_and(|r| r.contains("text_direction_codepoint_in_comment"))
    });
    assert!(lint, "rustc's lint is shown\n{}", out.describe());
}

/// R10 through `concat!(env!("CARGO_MANIFEST_DIR"), ..)`: a comment edit in a
/// module file that reads itself changes a constant dependents embed.
#[test]
fn a_module_file_read_through_cargo_manifest_dir_is_data() {
    let ws = scenario(
        "mod data;\npub const DATA_LEN: usize = data::LEN;\n",
        "base::DATA_LEN",
        &[(
            "base/src/data.rs",
            "// note\npub const LEN: usize =\n    include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/src/data.rs\")).len();\n",
        )],
    );
    assert_dev_matches_cargo(&ws);
    ws.replace("base/src/data.rs", "// note\n", "// a longer note\n");
    let out = build(&ws);
    out.assert_success();
    assert_eq!(app_action(&out), "compiled", "{}", out.describe());
    assert_dev_matches_cargo(&ws);
}
