//! A workspace like real ones (`tests/fixtures/crates_io`): crates.io
//! dependencies with a derive proc-macro and build scripts, a member build
//! script generating code, a `links` member compiling C through `cc`,
//! optional and weak features, platform-specific and dev-dependencies, two
//! versions of one crate, profile overrides, a custom profile and cargo
//! configuration. Every binary is compared with cargo's.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// `(package, kind)` of every unit that finished with `action`.
fn finished(out: &Outcome, action: &str) -> BTreeSet<(String, String)> {
    out.of("crate-finished")
        .into_iter()
        .filter(|e| e["action"] == action)
        .map(|e| {
            (
                e["package"].as_str().unwrap_or("?").to_owned(),
                e["kind"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

fn pairs<const N: usize>(items: [(&str, &str); N]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(p, k)| (p.to_string(), k.to_string()))
        .collect()
}

fn built() -> Ws {
    let ws = Ws::new("crates_io");
    build(&ws).assert_success();
    ws
}

#[test]
fn builds_like_cargo_and_a_no_op_asks_cargo_nothing() {
    let ws = Ws::new("crates_io");
    let out = build(&ws);
    out.assert_success();
    let compiled = finished(&out, "compiled");
    for unit in [
        ("serde_derive", "proc-macro"),
        ("serde", "lib"),
        ("serde", "build-script"),
        ("cc", "lib"),
        ("native", "build-script"),
        ("model", "lib"),
        ("app", "bin"),
    ] {
        assert!(
            compiled.contains(&(unit.0.to_owned(), unit.1.to_owned())),
            "{unit:?} compiled\n{}",
            out.describe()
        );
    }
    let ran = finished(&out, "ran");
    for package in ["native", "gen", "serde", "proc-macro2"] {
        assert!(
            ran.contains(&(package.to_owned(), "build-script-run".to_owned())),
            "{package}'s build script ran\n{}",
            out.describe()
        );
    }
    let itoa: BTreeSet<String> = out
        .of("crate-finished")
        .into_iter()
        .filter(|e| e["package"] == "itoa")
        .map(|e| e["version"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(itoa.len(), 2, "two versions of itoa: {itoa:?}");
    for absent in ["winapi-util", "static_assertions"] {
        assert!(
            !out.of("crate-finished")
                .iter()
                .any(|e| e["package"] == absent),
            "{absent} is not built (another platform / a dev-dependency)"
        );
    }
    let printed = assert_dev_matches_cargo(&ws);
    for line in [
        "numbers 9876543210/9876543210",
        "\"cfg-from-config\"",
        "stamp tally-v3 mode plain",
        "tally 8",
        "greeting hello from [env]",
        "readme Some(\"README.md\")",
        "\"exact\"",
    ] {
        assert!(printed[0].contains(line), "{line}\n{}", printed[0]);
    }

    // rustc's answers (-vV, sysroot) are kept after the first build.
    let kept = std::fs::read_dir(ws.path("target/orchestrator/.plan"))
        .expect("plan dir")
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("toolchain-"));
    assert!(kept, "the toolchain answer is kept");
    // Nothing changed: no cargo run at all (`CARGO` points at a program
    // that fails), nothing compiled, no build script run.
    let again = run(build_cmd(&ws).env("CARGO", "/bin/false"));
    again.assert_success();
    assert!(again.compiled().is_empty(), "{}", again.describe());
    assert!(finished(&again, "ran").is_empty(), "{}", again.describe());
}

#[test]
fn member_edits_are_classified_among_registry_crates() {
    let ws = built();
    ws.replace(
        "model/src/lib.rs",
        "/// Both versions",
        "/// All two versions",
    );
    let out = build(&ws);
    out.assert_success();
    assert!(out.compiled().is_empty(), "{}", out.describe());
    assert_eq!(out.change_of("model (lib)"), "cosmetic");

    ws.replace("model/src/lib.rs", "v * 2.0", "v * 3.0");
    let out = build(&ws);
    out.assert_success();
    out.assert_compiled(["model"]);
    out.assert_relinked(["app"]);
    assert!(assert_dev_matches_cargo(&ws)[0].contains("scaled 3.75"));

    ws.replace(
        "model/src/lib.rs",
        "pub fn scaled(v: f64) -> f64 {",
        "pub fn scaled(v: f64) -> f64 {\n    let _ = v;",
    );
    ws.replace(
        "model/src/lib.rs",
        "pub sensor: String,",
        "pub sensor: String,\n    pub unit: u8,",
    );
    ws.replace(
        "model/src/lib.rs",
        "value,\n            tags",
        "value,\n            unit: 0,\n            tags",
    );
    let out = build(&ws);
    out.assert_success();
    assert_eq!(out.change_of("model (lib)"), "signature");
    out.assert_compiled(["model", "app"]);
    assert!(assert_dev_matches_cargo(&ws)[0].contains("\"unit\":0"));
}

#[test]
fn build_scripts_rerun_on_their_inputs_and_unchanged_results_stop_there() {
    let ws = built();
    // The script changes, what it prints does not: nothing downstream compiles
    // (cargo would recompile gen and app).
    ws.replace(
        "gen/build.rs",
        "fn main() {",
        "// Generates the table.\nfn main() {",
    );
    let out = build(&ws);
    out.assert_success();
    assert_eq!(
        finished(&out, "compiled"),
        pairs([("gen", "build-script")]),
        "{}",
        out.describe()
    );
    assert_eq!(finished(&out, "ran"), pairs([("gen", "build-script-run")]));
    assert_dev_matches_cargo(&ws);

    // A `rerun-if-changed` input: new generated code.
    ws.write("gen/table.txt", "2 7 1 8\n");
    let out = build(&ws);
    out.assert_success();
    assert_eq!(finished(&out, "ran"), pairs([("gen", "build-script-run")]));
    out.assert_compiled(["gen", "app"]);
    assert!(assert_dev_matches_cargo(&ws)[0].contains("table [2, 7, 1, 8] weighted 42"));

    // The C source of a `links` package: the static library changes.
    ws.replace("native/c/tally.c", "b * 2", "b * 3");
    let out = build(&ws);
    out.assert_success();
    assert!(
        finished(&out, "ran").contains(&("native".to_owned(), "build-script-run".to_owned())),
        "{}",
        out.describe()
    );
    assert!(out.compiled().contains("native"), "{}", out.describe());
    assert!(assert_dev_matches_cargo(&ws)[0].contains("tally 11"));

    // Unrelated files of a package whose script names its inputs: no rerun.
    ws.write("gen/NOTES.md", "notes\n");
    let out = build(&ws);
    out.assert_success();
    assert!(finished(&out, "ran").is_empty(), "{}", out.describe());
}

#[test]
fn a_failing_build_script_names_its_package_and_the_next_build_retries() {
    let ws = built();
    ws.replace(
        "gen/build.rs",
        "fn main() {",
        "fn main() {\n    println!(\"about to fail\");\n    eprintln!(\"boom from gen\");\n    std::process::exit(3);",
    );
    let out = build(&ws);
    assert_eq!(out.code(), Some(101), "{}", out.describe());
    let failed: Vec<&Value> = out.of("crate-failed");
    assert_eq!(failed.len(), 1, "{}", out.describe());
    assert_eq!(failed[0]["package"], "gen");
    assert_eq!(failed[0]["kind"], "build-script-run");
    let message = failed[0]["message"].as_str().unwrap_or("");
    for needle in [
        "failed to run custom build command for `gen v0.1.0`",
        "exit status: 3",
        "about to fail",
        "boom from gen",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let human = run(&mut human_cmd(&ws));
    assert_eq!(human.code(), Some(101));
    assert!(
        human
            .stderr
            .contains("failed to run custom build command for `gen v0.1.0`")
    );
    assert!(!human.stderr.contains("panicked"));

    ws.replace("gen/build.rs", "    std::process::exit(3);\n", "");
    let out = build(&ws);
    out.assert_success();
    assert!(
        finished(&out, "ran").contains(&("gen".to_owned(), "build-script-run".to_owned())),
        "the failed run is retried\n{}",
        out.describe()
    );
    assert_dev_matches_cargo(&ws);
}

#[test]
fn features_and_custom_profiles_like_cargo() {
    let ws = built();
    // A weak feature (`serde_json?/float_roundtrip`) toggled off.
    ws.replace("app/Cargo.toml", "features = [\"exact\"]", "features = []");
    let out = build(&ws);
    out.assert_success();
    assert!(out.compiled().contains("model"), "{}", out.describe());
    let printed = assert_dev_matches_cargo(&ws);
    assert!(!printed[0].contains("\"exact\""), "{}", printed[0]);

    let fast = run(build_cmd(&ws).args(["--profile", "fast"]));
    fast.assert_success();
    let cargo = cargo_bins(
        &ws,
        CargoOpts {
            release: false,
            rustflags: None,
            profile: Some("fast"),
        },
    );
    let printed = assert_matches_cargo(&ws, &ws.target_dir().join("fast"), &cargo);
    assert!(printed[0].contains("mode fast"), "{}", printed[0]);
    assert!(
        printed[0].contains("overflow checks true"),
        "{}",
        printed[0]
    );
}

#[test]
fn a_lockfile_change_rebuilds_what_cargo_would() {
    let ws = built();
    let lock = ws.read("Cargo.lock");
    let current = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"itoa\"") && p.contains("version = \"1."))
        .and_then(|p| p.split("version = \"").nth(1))
        .and_then(|v| v.split('"').next())
        .expect("itoa 1.x in Cargo.lock")
        .to_owned();
    let older = if current == "1.0.15" {
        "1.0.14"
    } else {
        "1.0.15"
    };
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "update",
            "-p",
            &format!("itoa@{current}"),
            "--precise",
            older,
        ])
        .current_dir(&ws.root)
        .status()
        .expect("cargo update");
    assert!(status.success());
    let out = build(&ws);
    out.assert_success();
    assert_eq!(
        finished(&out, "compiled"),
        pairs([
            ("itoa", "lib"),
            ("serde_json", "lib"),
            ("model", "lib"),
            ("app", "bin")
        ]),
        "{}",
        out.describe()
    );
    let itoa = out
        .of("crate-finished")
        .into_iter()
        .find(|e| e["package"] == "itoa" && e["action"] == "compiled")
        .map(|e| e["version"].as_str().unwrap_or("").to_owned());
    assert_eq!(itoa.as_deref(), Some(older));
    assert_dev_matches_cargo(&ws);
}

/// A git repository with one library crate, and a commit function.
fn git_repo(dir: &std::path::Path, answer: u32) {
    std::fs::create_dir_all(dir.join("src")).expect("repo dir");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"gitdep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("manifest");
    std::fs::write(
        dir.join("src/lib.rs"),
        format!("pub const NAME: &str = env!(\"CARGO_PKG_NAME\");\npub fn answer() -> u32 {{ {answer} }}\n"),
    )
    .expect("lib.rs");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    };
    if !dir.join(".git").exists() {
        git(&["init", "-q"]);
    }
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "answer"]);
}

#[test]
fn git_dependencies_build_and_follow_the_lock_file() {
    let ws = Ws::new("git_source");
    let repo = ws.tmp.path().join("gitdep-repo");
    git_repo(&repo, 41);
    ws.replace(
        "app/Cargo.toml",
        "GIT_URL",
        &format!("file://{}", repo.display()),
    );
    let out = build(&ws);
    out.assert_success();
    assert_eq!(
        finished(&out, "compiled"),
        pairs([("gitdep", "lib"), ("app", "bin")])
    );
    assert!(assert_dev_matches_cargo(&ws)[0].contains("answer 41 from gitdep"));

    // A new commit: nothing changes until the lock file moves to it.
    git_repo(&repo, 42);
    let out = build(&ws);
    out.assert_success();
    assert!(out.compiled().is_empty(), "{}", out.describe());
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["update", "-p", "gitdep"])
        .current_dir(&ws.root)
        .status()
        .expect("cargo update");
    assert!(status.success());
    let out = build(&ws);
    out.assert_success();
    assert_eq!(
        finished(&out, "compiled"),
        pairs([("gitdep", "lib"), ("app", "bin")])
    );
    assert!(assert_dev_matches_cargo(&ws)[0].contains("answer 42 from gitdep"));
}

/// Vendored sources (`cargo vendor` and source replacement in
/// `.cargo/config.toml`): built from the vendor directory, as cargo does.
#[test]
fn vendored_sources_build_like_cargo() {
    let ws = Ws::new("crates_io");
    let vendor = std::process::Command::new(cargo_program())
        .args(["vendor", "--locked", "-q", "vendor"])
        .current_dir(&ws.root)
        .output()
        .expect("run cargo vendor");
    assert!(
        vendor.status.success(),
        "{}",
        String::from_utf8_lossy(&vendor.stderr)
    );
    let config = ".cargo/config.toml";
    ws.write(
        config,
        &format!(
            "{}\n[source.crates-io]\nreplace-with = \"vendored-sources\"\n\n[source.vendored-sources]\ndirectory = \"vendor\"\n",
            ws.read(config)
        ),
    );
    let out = run(build_cmd(&ws).arg("--offline"));
    out.assert_success();
    assert!(
        out.compiled().contains("serde"),
        "dependencies are compiled from the vendor directory\n{}",
        out.describe()
    );
    assert!(assert_dev_matches_cargo(&ws)[0].contains("numbers 9876543210/9876543210"));
    let again = run(build_cmd(&ws).arg("--offline"));
    again.assert_success();
    assert!(again.compiled().is_empty(), "{}", again.describe());
}

/// A build script without `rerun-if` instructions that embeds the git
/// commit (as ripgrep's does): a commit that changes no file of its package
/// still reruns it, as a clean cargo build would see the new commit.
#[test]
fn a_new_commit_reruns_build_scripts_without_rerun_if() {
    let ws = Ws::new("edits");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(&ws.root)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    ws.write(
        "app/build.rs",
        r#"fn main() {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .expect("git");
    println!("cargo:rustc-env=APP_COMMIT={}", String::from_utf8_lossy(&out.stdout).trim());
}
"#,
    );
    ws.write(
        "app/src/main.rs",
        "fn main() {\n    println!(\"commit {}\", env!(\"APP_COMMIT\"));\n}\n",
    );
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "one"]);
    build(&ws).assert_success();
    let first = git(&["rev-parse", "--short=10", "HEAD"]);
    assert!(assert_dev_matches_cargo(&ws)[0].contains(&first));

    // A commit that touches another package only.
    ws.replace(
        BASE_LIB,
        "pub const LIMIT: i64 = 5;",
        "pub const LIMIT: i64 = 5; // same",
    );
    git(&["commit", "-q", "-am", "two"]);
    let out = build(&ws);
    out.assert_success();
    let second = git(&["rev-parse", "--short=10", "HEAD"]);
    assert!(
        assert_dev_matches_cargo(&ws)[0].contains(&second),
        "{}",
        out.describe()
    );
}

const BASE_LIB: &str = "base/src/lib.rs";
