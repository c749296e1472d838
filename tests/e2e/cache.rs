//! The shared build cache (`ORCHESTRATOR_CACHE`): a second clone in another
//! directory downloads what the first built, edits download only what they
//! force, corrupted or escaping entries are refused, concurrent writers do
//! not corrupt the store, and a store that goes away only costs a warning.
//! Against a directory store, a real `redis-server`, a real nginx WebDAV
//! server, and emulated S3, GCS and Azure Blob stores (`servers.rs`). Every binary is compared with cargo's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::servers::{self, Remote};
use crate::support::*;

/// Every unit of the `cached` fixture's build: 21 rustc runs and 7
/// build-script runs.
const CACHED_UNITS: usize = 28;

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// A build with the cache, sharing across directories and taking build
/// scripts' results (machines declared interchangeable): every clone here
/// lives in its own temp directory (`default_mode_...` tests the default).
fn cached(ws: &Ws, store: impl Into<Remote>) -> Command {
    let mut cmd = strict(ws, store);
    cmd.env("ORCHESTRATOR_CACHE_PORTABLE", "1");
    cmd
}

/// A build with the cache in its default mode: outputs that name the
/// building machine's paths are only taken at those paths.
fn strict(ws: &Ws, store: impl Into<Remote>) -> Command {
    let mut cmd = build_cmd(ws);
    store.into().apply(&mut cmd);
    cmd
}

/// `orchestrator cache <what>`: its exit code and its output.
struct Admin {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Admin {
    fn assert_success(&self) {
        assert_eq!(self.code, Some(0), "{}\n{}", self.stdout, self.stderr);
    }
}

fn cache_cmd(store: Option<impl Into<Remote>>, what: &str) -> Admin {
    let mut cmd = orchestrator();
    cmd.args(["cache", what]);
    if let Some(store) = store {
        store.into().apply(&mut cmd);
    }
    let out = cmd.output().expect("run orchestrator cache");
    Admin {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `orchestrator cache verify` finds every file and entry sound.
fn assert_store_sound(store: impl Into<Remote>) {
    let verify = cache_cmd(Some(store), "verify");
    verify.assert_success();
    assert!(
        verify
            .stdout
            .contains(": 0 corrupted files, 0 broken variants removed"),
        "{}",
        verify.stdout
    );
}

/// Every crate of `crates` finished with `action` (`downloaded`, `compiled`).
fn assert_all(out: &Outcome, action: &str, crates: &[&str]) {
    let done: BTreeSet<String> = out
        .of("crate-finished")
        .into_iter()
        .filter(|e| e["action"] == action)
        .map(|e| e["crate"].as_str().unwrap_or("?").to_owned())
        .collect();
    for krate in crates {
        assert!(
            done.contains(*krate),
            "{krate} {action}\n{}",
            out.describe()
        );
    }
}

fn downloaded(out: &Outcome) -> BTreeSet<String> {
    out.of("crate-finished")
        .into_iter()
        .filter(|e| e["action"] == "downloaded")
        .map(|e| e["crate"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// Compile units served by the cache (build scripts share one crate name).
fn downloaded_count(out: &Outcome) -> usize {
    out.of("crate-finished")
        .into_iter()
        .filter(|e| e["action"] == "downloaded")
        .count()
}

fn cache_finished(out: &Outcome) -> &Value {
    out.one("cache-finished")
}

fn problems(out: &Outcome, kind: &str) -> Vec<Value> {
    out.of("cache-problem")
        .into_iter()
        .filter(|e| e["problem"] == kind)
        .cloned()
        .collect()
}

/// Machine A: a fresh clone builds with an empty store and stores every unit.
fn fill(store: impl Into<Remote>) -> Ws {
    let a = Ws::new("cached");
    let out = run(&mut cached(&a, store));
    out.assert_success();
    let c = cache_finished(&out);
    assert_eq!(c["stored"], CACHED_UNITS, "{}", out.describe());
    assert_eq!(c["misses"], CACHED_UNITS, "{}", out.describe());
    a
}

/// Machine B: a fresh clone in another directory downloads every unit,
/// runs no rustc and no build script, and its binaries behave as cargo's.
fn downloads_everything(store: impl Into<Remote>) -> (Ws, Outcome) {
    let b = Ws::new("cached");
    let out = run(&mut cached(&b, store));
    out.assert_success();
    assert!(
        out.compiled().is_empty(),
        "no rustc run\n{}",
        out.describe()
    );
    assert_eq!(downloaded_count(&out), CACHED_UNITS, "{}", out.describe());
    assert!(assert_dev_matches_cargo(&b)[0].contains("stamp stamp-7"));
    (b, out)
}

/// A directory store filled by one clean build of `cached` ("machine A").
fn filled() -> &'static Path {
    static FILLED: OnceLock<(TempDir, Ws)> = OnceLock::new();
    let (store, _) = FILLED.get_or_init(|| {
        let store = tempfile::tempdir().expect("store dir");
        let a = fill(&file_url(store.path()));
        (store, a)
    });
    store.path()
}

/// A private copy of the filled store.
fn filled_copy() -> (TempDir, String) {
    let dir = tempfile::tempdir().expect("store copy");
    copy_tree(filled(), dir.path(), Mtimes::Keep);
    let url = file_url(dir.path());
    (dir, url)
}

/// The action entry (`ac/...`) of the unit whose key starts with `prefix`.
fn entry_of(store: &Path, prefix: &str) -> (PathBuf, Value) {
    for file in std::fs::read_dir(store.join("ac"))
        .expect("ac dir")
        .flatten()
    {
        let text = std::fs::read_to_string(file.path()).expect("read entry");
        let entry: Value = serde_json::from_str(&text).expect("entry is JSON");
        if entry["unit"]
            .as_str()
            .is_some_and(|u| u.starts_with(prefix))
        {
            return (file.path(), entry);
        }
    }
    panic!("no entry for {prefix}");
}

#[test]
fn another_clone_downloads_every_unit_and_behaves_like_cargo() {
    let (_store, url) = filled_copy();
    let b = Ws::new("cached");
    assert_ne!(b.root, filled().parent().unwrap_or(Path::new("/")));
    let out = run(&mut cached(&b, &url));
    out.assert_success();
    assert!(
        out.compiled().is_empty(),
        "no rustc run\n{}",
        out.describe()
    );
    assert_eq!(downloaded_count(&out), CACHED_UNITS, "{}", out.describe());
    assert_all(
        &out,
        "downloaded",
        &["util", "core_lib", "app", "serde_core", "serde_derive"],
    );
    let c = cache_finished(&out);
    assert_eq!(
        (c["hits"].as_u64(), c["misses"].as_u64()),
        (Some(CACHED_UNITS as u64), Some(0))
    );
    assert_eq!(out.finished_event()["downloaded"], CACHED_UNITS);
    // The member's warning, as rustc printed it on machine A.
    let warned = out.of("compiler-message").into_iter().any(|m| {
        m["target"]["name"] == "core_lib"
            && m["message"]["message"]
                .as_str()
                .is_some_and(|t| t.contains("unused_on_purpose"))
    });
    assert!(
        warned,
        "the downloaded unit's warning is shown\n{}",
        out.describe()
    );
    assert!(assert_dev_matches_cargo(&b)[0].contains("stamp stamp-7"));

    // Downloaded units are recorded like compiled ones: nothing to do now,
    // and the cache is not even opened.
    let again = run(&mut cached(&b, &url));
    again.assert_success();
    assert!(again.compiled().is_empty() && downloaded(&again).is_empty());
    assert!(
        again.of("cache-finished").is_empty(),
        "the cache is not opened"
    );

    // The first edit after a hit compiles as usual and is right.
    b.replace("util/src/lib.rs", "x * 2.5", "x * 4.0");
    let edited = run(&mut cached(&b, &url));
    edited.assert_success();
    assert!(edited.compiled().contains("util"), "{}", edited.describe());
    assert!(assert_dev_matches_cargo(&b)[0].contains("\"value\":32.0"));
}

#[test]
fn default_mode_shares_outputs_naming_a_path_only_at_that_path() {
    let store = tempfile::tempdir().expect("store");
    let url = file_url(store.path());
    let a = Ws::new("cached");
    run(&mut strict(&a, &url)).assert_success();
    // Machine B at the same place (CI runners, containers): everything.
    // Build scripts run here: they may read anything on the machine.
    std::fs::remove_dir_all(a.path("target")).expect("remove target");
    let out = run(&mut strict(&a, &url));
    out.assert_success();
    assert!(out.compiled().is_empty(), "{}", out.describe());
    assert_eq!(out.finished_event()["ran"], 7, "{}", out.describe());
    assert_eq!(
        downloaded_count(&out),
        CACHED_UNITS - 7,
        "{}",
        out.describe()
    );
    assert!(assert_dev_matches_cargo(&a)[0].contains("stamp stamp-7"));
    // Elsewhere: the members' debug info names A's directory, and
    // serde_core's code is generated in A's OUT_DIR; they (and what
    // depends on them) compile. What names no path is downloaded.
    let b = Ws::new("cached");
    let out = run(&mut strict(&b, &url));
    out.assert_success();
    assert_all(&out, "compiled", &["util", "core_lib", "app", "serde_core"]);
    assert_all(
        &out,
        "downloaded",
        &["memchr", "itoa", "syn", "serde_derive"],
    );
    assert!(assert_dev_matches_cargo(&b)[0].contains("stamp stamp-7"));
}

#[test]
fn default_mode_shares_across_directories_when_paths_are_remapped() {
    // `--remap-path-prefix=<clone>=.` keeps the clone's directory out of
    // every output (debug info, generated code's paths), and reads the same
    // in every clone's key once the directory is written `{workspace}`.
    let store = tempfile::tempdir().expect("store");
    let url = file_url(store.path());
    let remapped = |ws: &Ws| {
        let mut cmd = strict(ws, &url);
        cmd.env(
            "RUSTFLAGS",
            format!("--remap-path-prefix={}=.", ws.root.display()),
        );
        cmd
    };
    let a = Ws::new("cached");
    run(&mut remapped(&a)).assert_success();
    let b = Ws::new("cached");
    let out = run(&mut remapped(&b));
    out.assert_success();
    assert!(out.compiled().is_empty(), "{}", out.describe());
    assert_eq!(
        downloaded_count(&out),
        CACHED_UNITS - 7,
        "{}",
        out.describe()
    );
    assert!(assert_dev_matches_cargo(&b)[0].contains("stamp stamp-7"));
}

#[test]
fn an_edit_compiles_once_and_other_clones_download_what_it_forces() {
    let (_store, url) = filled_copy();
    let edit = |ws: &Ws| ws.replace("util/src/lib.rs", "x * 2.5", "x * 3.5");
    // A clone with an edit nobody built yet: the edited crate and its
    // dependents compile, the rest is downloaded.
    let b1 = Ws::new("cached");
    edit(&b1);
    let out = run(&mut cached(&b1, &url));
    out.assert_success();
    assert_eq!(
        out.compiled(),
        set(["util", "core_lib", "app"]),
        "{}",
        out.describe()
    );
    assert!(downloaded(&out).contains("serde_core"));
    assert!(assert_dev_matches_cargo(&b1)[0].contains("\"value\":28.0"));

    // Another clone with the same edit: everything downloaded.
    let b2 = Ws::new("cached");
    edit(&b2);
    let out = run(&mut cached(&b2, &url));
    out.assert_success();
    assert!(out.compiled().is_empty(), "{}", out.describe());
    assert_eq!(downloaded_count(&out), CACHED_UNITS);
    assert!(assert_dev_matches_cargo(&b2)[0].contains("\"value\":28.0"));

    // A clone built before the edit pulls it: only what the edit forces
    // is redone, and all of it comes from the cache.
    let b3 = Ws::new("cached");
    run(&mut cached(&b3, &url)).assert_success();
    edit(&b3);
    let out = run(&mut cached(&b3, &url));
    out.assert_success();
    assert!(out.compiled().is_empty(), "{}", out.describe());
    assert!(downloaded(&out).contains("util"), "{}", out.describe());
    assert!(!downloaded(&out).contains("serde"), "{}", out.describe());
    assert!(assert_dev_matches_cargo(&b3)[0].contains("\"value\":28.0"));
}

#[test]
fn a_corrupted_file_is_detected_ignored_and_replaced() {
    let (store, url) = filled_copy();
    let (_, entry) = entry_of(store.path(), "util-");
    let hash = entry["variants"][0]["files"][0]["hash"]
        .as_str()
        .expect("a stored file")
        .to_owned();
    let blob = store.path().join("cas").join(&hash);
    let mut bytes = std::fs::read(&blob).expect("read blob");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, bytes).expect("corrupt blob");

    let b = Ws::new("cached");
    let out = run(&mut cached(&b, &url));
    out.assert_success();
    let corrupt = problems(&out, "corrupt");
    assert_eq!(corrupt.len(), 1, "{}", out.describe());
    assert_eq!(corrupt[0]["crate"], "util");
    assert!(
        corrupt[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&hash))
    );
    assert!(out.compiled().contains("util"), "{}", out.describe());
    assert!(assert_dev_matches_cargo(&b)[0].contains("stamp stamp-7"));
    // The bad copy was removed: what is left is sound, and serves the next clone.
    let verify = cache_cmd(Some(&url), "verify");
    verify.assert_success();
    assert!(
        verify.stdout.contains(": 0 corrupted files, "),
        "{}",
        verify.stdout
    );
    downloads_everything(&url);
}

#[test]
fn entries_naming_paths_outside_the_target_directory_are_refused() {
    let (store, url) = filled_copy();
    let escape = |prefix: &str, path: &str| {
        let (file, mut entry) = entry_of(store.path(), prefix);
        entry["variants"][0]["files"][0]["path"] = Value::from(path);
        std::fs::write(file, entry.to_string()).expect("rewrite entry");
    };
    let outside = tempfile::tempdir().expect("outside dir");
    let absolute = outside.path().join("planted.rlib");
    escape("util-", "{target}/../../../planted.rlib");
    escape("itoa-", &absolute.display().to_string());

    let b = Ws::new("cached");
    let out = run(&mut cached(&b, &url));
    out.assert_success();
    let refused: BTreeSet<String> = problems(&out, "refused")
        .iter()
        .map(|p| p["crate"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(refused, set(["util", "itoa"]), "{}", out.describe());
    assert!(out.compiled().contains("util") && out.compiled().contains("itoa"));
    assert!(!absolute.exists(), "nothing written at an absolute path");
    let escaped = b.target_dir().join("../../../planted.rlib");
    assert!(
        !escaped.exists(),
        "nothing written above the target directory"
    );
    assert!(assert_dev_matches_cargo(&b)[0].contains("stamp stamp-7"));
}

#[test]
fn concurrent_uploads_do_not_corrupt_the_store() {
    let store = tempfile::tempdir().expect("store");
    let url = file_url(store.path());
    let (b1, b2) = (Ws::new("cached"), Ws::new("cached"));
    let first = Spawned::start(&mut cached(&b1, &url));
    let second = Spawned::start(&mut cached(&b2, &url));
    first.finish().assert_success();
    second.finish().assert_success();
    assert_store_sound(&url);
    // Two writers' variants can mix (each built its members in its own
    // directory, so their outputs differ): a third clone may compile a few
    // units again, but everything it takes is sound.
    let b3 = Ws::new("cached");
    let out = run(&mut cached(&b3, &url));
    out.assert_success();
    assert!(
        downloaded(&out).contains("serde_derive"),
        "{}",
        out.describe()
    );
    assert!(assert_dev_matches_cargo(&b3)[0].contains("stamp stamp-7"));
}

#[test]
fn read_only_takes_hits_and_stores_nothing() {
    let (store, url) = filled_copy();
    let entries = || std::fs::read_dir(store.path().join("ac")).map_or(0, |d| d.count());
    let before = entries();
    let b = Ws::new("cached");
    b.replace("util/src/lib.rs", "x * 2.5", "x * 1.5");
    let out = run(cached(&b, &url).arg("--cache-read-only"));
    out.assert_success();
    assert_eq!(out.compiled(), set(["util", "core_lib", "app"]));
    assert!(downloaded(&out).contains("serde_core"));
    assert_eq!(cache_finished(&out)["read_only"], true);
    assert_eq!(cache_finished(&out)["stored"], 0);
    assert_eq!(entries(), before, "nothing stored");
    // The same through the environment.
    b.replace("util/src/lib.rs", "x * 1.5", "x * 0.5");
    let out = run(cached(&b, &url).env("ORCHESTRATOR_CACHE_READ_ONLY", "1"));
    out.assert_success();
    assert_eq!(entries(), before, "nothing stored");
    // `--no-cache` leaves it alone entirely.
    b.replace("util/src/lib.rs", "x * 0.5", "x * 0.25");
    let out = run(cached(&b, &url).arg("--no-cache"));
    out.assert_success();
    assert!(out.of("cache-finished").is_empty());
    assert!(assert_dev_matches_cargo(&b)[0].contains("\"value\":2.0"));

    let stats = cache_cmd(Some(&url), "stats");
    stats.assert_success();
    assert!(
        stats.stdout.contains(&format!("entries: {before} ")),
        "{}",
        stats.stdout
    );
}

#[test]
fn a_bad_cache_url_or_no_cache_is_a_clear_error() {
    let ws = Ws::new("cached");
    let out = run(&mut cached(&ws, "ftp://example.org/x"));
    assert_eq!(out.code(), Some(101), "{}", out.describe());
    let error = out.one("error");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown cache scheme `ftp`")),
        "{}",
        out.describe()
    );
    assert!(
        error["help"]
            .as_str()
            .is_some_and(|h| h.contains("ORCHESTRATOR_CACHE"))
    );
    let out = cache_cmd(None::<&str>, "stats");
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("the build cache is turned off"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ORCHESTRATOR_CACHE"), "{}", out.stderr);
}

#[test]
fn redis_serves_another_clone_and_a_server_stopped_mid_build_only_warns() {
    let mut redis = servers::redis();
    let url = format!("redis://127.0.0.1:{}", redis.port);
    fill(&url);
    downloads_everything(&url);

    // A clone with an edit: its members compile and are stored at the end;
    // the server goes away as soon as the build starts.
    let c = Ws::new("cached");
    c.replace("util/src/lib.rs", "x * 2.5", "x * 5.0");
    let mut build = Spawned::start(&mut cached(&c, &url));
    assert!(build.wait_for(Duration::from_secs(120), |e| reason(e) == "crate-started"));
    redis.stop();
    let out = build.finish();
    out.assert_success();
    assert_eq!(
        problems(&out, "unavailable").len(),
        1,
        "warned once\n{}",
        out.describe()
    );
    assert!(assert_dev_matches_cargo(&c)[0].contains("\"value\":40.0"));
}

#[test]
fn a_webdav_http_cache_serves_another_clone() {
    let nginx = servers::nginx();
    let url = format!("http://127.0.0.1:{}/team-cache", nginx.port);
    fill(&url);
    // Bazel's layout on the server.
    assert!(nginx.dir.join("dav/team-cache/ac").is_dir());
    assert!(nginx.dir.join("dav/team-cache/cas").is_dir());
    downloads_everything(&url);

    let stats = cache_cmd(Some(&url), "stats");
    stats.assert_success();
    assert!(
        stats.stdout.contains(&format!("entries: {CACHED_UNITS} ")),
        "{}",
        stats.stdout
    );
}

/// What the `app` binary of a build prints.
fn app_prints(ws: &Ws) -> String {
    let out = Command::new(ws.bin_dir().join("app"))
        .output()
        .expect("run app");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_file_saved_during_the_build_is_never_vouched_for() {
    let store = tempfile::tempdir().expect("store");
    let url = file_url(store.path());
    let a = Ws::new("cached");
    run(&mut cached(&a, &url)).assert_success();
    // Next build: app's source changes (the plan hashes it), and core_lib's
    // build script, rerun first, takes a while. app's source is saved again
    // while it runs, before rustc reads it.
    let slow = |ws: &Ws| {
        ws.replace(
            "core_lib/build.rs",
            "fn main() {",
            "fn main() {\n    std::thread::sleep(std::time::Duration::from_secs(3));",
        );
        ws.replace("app/src/main.rs", "stamp {}", "planned {}");
    };
    slow(&a);
    let mut build = Spawned::start(&mut cached(&a, &url));
    let script_started = |e: &Value| {
        reason(e) == "crate-started"
            && e["package"] == "core_lib"
            && e["kind"] == "build-script-run"
    };
    assert!(build.wait_for(Duration::from_secs(300), script_started));
    a.replace("app/src/main.rs", "planned {}", "saved-during-build {}");
    let out = build.finish();
    out.assert_success();
    assert!(out.compiled().contains("app"), "{}", out.describe());
    assert!(app_prints(&a).contains("saved-during-build"));
    // The plan hashed one version, the job was given another: what is
    // recorded and stored is the one rustc read, so the next build finds
    // app fresh (the source is that version)...
    let again = run(&mut cached(&a, &url));
    again.assert_success();
    assert!(again.redone().is_empty(), "{}", again.describe());

    // A clone with the source as planned gets a binary of that source.
    let b = Ws::new("cached");
    slow(&b);
    run(&mut cached(&b, &url)).assert_success();
    assert!(
        app_prints(&b).contains("planned stamp-7"),
        "{}",
        app_prints(&b)
    );
}

#[test]
fn native_libraries_and_wrappers_are_part_of_the_key() {
    let store = tempfile::tempdir().expect("store");
    let url = file_url(store.path());
    // A prebuilt static library outside the workspace, named by a member's
    // build script; machine B's copy of it differs.
    let native = tempfile::tempdir().expect("native dir");
    let build_lib = |value: u32| {
        let c = native.path().join("foo.c");
        std::fs::write(&c, format!("int foo(void) {{ return {value}; }}\n")).expect("write C");
        let obj = native.path().join("foo.o");
        let status = Command::new("cc")
            .arg("-c")
            .arg(&c)
            .arg("-o")
            .arg(&obj)
            .status()
            .expect("run cc");
        assert!(status.success());
        let lib = native.path().join("libfoo.a");
        let _ = std::fs::remove_file(&lib);
        let status = Command::new("ar")
            .arg("crs")
            .arg(&lib)
            .arg(&obj)
            .status()
            .expect("run ar");
        assert!(status.success());
    };
    let prepare = |ws: &Ws| {
        ws.replace(
            "core_lib/build.rs",
            "fn main() {",
            &format!(
                "fn main() {{\n    println!(\"cargo::rustc-link-search=native={}\");\n    println!(\"cargo::rustc-link-lib=static=foo\");",
                native.path().display()
            ),
        );
        ws.replace(
            "core_lib/src/lib.rs",
            "pub fn stamp()",
            "extern \"C\" {\n    fn foo() -> i32;\n}\n\npub fn native() -> i32 {\n    unsafe { foo() }\n}\n\npub fn stamp()",
        );
        ws.replace(
            "app/src/main.rs",
            "    println!(\"stamp {}\", core_lib::stamp());",
            "    println!(\"stamp {}\", core_lib::stamp());\n    println!(\"native {}\", core_lib::native());",
        );
    };
    build_lib(1);
    let a = Ws::new("cached");
    prepare(&a);
    run(&mut cached(&a, &url)).assert_success();
    assert!(assert_dev_matches_cargo(&a)[0].contains("native 1"));

    build_lib(2);
    let b = Ws::new("cached");
    prepare(&b);
    let out = run(&mut cached(&b, &url));
    out.assert_success();
    assert!(out.compiled().contains("app"), "{}", out.describe());
    // (cargo's baseline is keyed by the workspace's files: run it directly.)
    assert!(app_prints(&b).contains("native 2"), "{}", app_prints(&b));

    // A rustc wrapper at the same place in each clone, with other contents.
    let wrap = |ws: &Ws, flag: &str| {
        let path = ws.path("wrap.sh");
        std::fs::write(&path, format!("#!/bin/sh\nexec \"$@\" {flag}\n")).expect("write wrapper");
        let mut perms = std::fs::metadata(&path).expect("wrapper").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).expect("chmod wrapper");
        path
    };
    let c = Ws::new("cached");
    prepare(&c);
    let wrapper = wrap(&c, "--cfg wrapped_a");
    run(cached(&c, &url).env("RUSTC_WRAPPER", &wrapper)).assert_success();
    let d = Ws::new("cached");
    prepare(&d);
    let wrapper = wrap(&d, "");
    let out = run(cached(&d, &url).env("RUSTC_WRAPPER", &wrapper));
    out.assert_success();
    assert!(out.compiled().contains("util"), "{}", out.describe());
}

#[test]
fn human_output_names_downloads_and_the_cache() {
    let (_store, url) = filled_copy();
    let b = Ws::new("cached");
    let out = run(human_cmd(&b)
        .args(["-v", "--color", "never"])
        .env("ORCHESTRATOR_CACHE", &url)
        .env("ORCHESTRATOR_CACHE_PORTABLE", "1"));
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let err = &out.stderr;
    assert!(err.contains("  Downloaded util (lib) in "), "{err}");
    assert!(err.contains("  Downloaded app (bin) in "), "{err}");
    // The member's warning, and cargo's count line, as after a compile.
    assert!(err.contains("unused_on_purpose"), "{err}");
    assert!(
        err.contains("warning: `core_lib` (lib) generated 1 warning"),
        "{err}"
    );
    let cache = err
        .lines()
        .find(|l| l.starts_with("       Cache "))
        .unwrap_or_else(|| panic!("a Cache line\n{err}"));
    assert!(
        cache.starts_with(&format!("       Cache {url}: {CACHED_UNITS} hits (")),
        "{cache}"
    );
    assert!(
        cache.ends_with(" down), 0 misses, 0 stored (0 B up)"),
        "{cache}"
    );
    let finished = err
        .lines()
        .find(|l| l.starts_with("    Finished "))
        .unwrap_or_else(|| panic!("a Finished line\n{err}"));
    assert!(
        finished.ends_with(&format!(
            ": 0 compiled, {CACHED_UNITS} downloaded, 0 relinked, 0 fresh"
        )),
        "{finished}"
    );
}

/// An object store holds a build another clone takes whole, and `cache
/// verify` lists and checks it there.
fn object_store_serves_another_clone(remote: &Remote) {
    fill(remote);
    downloads_everything(remote);
    assert_store_sound(remote);
}

#[test]
fn an_s3_store_serves_another_clone() {
    let (_server, remote) = servers::s3();
    object_store_serves_another_clone(&remote);
}

#[test]
fn a_gcs_store_serves_another_clone() {
    let (_server, remote) = servers::gcs();
    object_store_serves_another_clone(&remote);
}

#[test]
fn an_azure_blob_store_serves_another_clone() {
    let (_server, remote) = servers::azurite();
    object_store_serves_another_clone(&remote);
}

/// Every store below the directory given, and their total size.
fn store_size(dir: &Path) -> u64 {
    fn walk(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| match e.file_type().is_ok_and(|t| t.is_dir()) {
                        true => walk(&e.path()),
                        false => e.metadata().map(|m| m.len()).unwrap_or(0),
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&dir.join("ac")) + walk(&dir.join("cas"))
}

/// With nothing configured.
fn by_default(cmd: &mut Command, cache_home: &Path) {
    cmd.env_remove("ORCHESTRATOR_CACHE")
        .env("XDG_CACHE_HOME", cache_home);
}

#[test]
fn by_default_builds_share_the_per_user_cache() {
    let home = tempfile::tempdir().expect("cache home");
    let a = Ws::new("cached");
    let mut cmd = build_cmd(&a);
    by_default(&mut cmd, home.path());
    let out = run(&mut cmd);
    out.assert_success();
    // Units of registry packages only: the members' five (util, core_lib
    // with its build script compiled and run, app) are left to the
    // workspace's own target directory.
    assert_eq!(cache_finished(&out)["stored"], CACHED_UNITS - 5);
    let store = home.path().join("orchestrator");
    assert!(store.join("ac").is_dir(), "{}", out.describe());

    // Another workspace of the same user takes the dependencies that name
    // no directory; its members compile.
    let b = Ws::new("cached");
    let mut cmd = build_cmd(&b);
    by_default(&mut cmd, home.path());
    let out = run(&mut cmd);
    out.assert_success();
    assert_all(
        &out,
        "downloaded",
        &["memchr", "itoa", "syn", "serde_derive"],
    );
    assert_all(&out, "compiled", &["util", "core_lib", "app"]);
    assert!(assert_dev_matches_cargo(&b)[0].contains("stamp stamp-7"));

    // The edit loop does not touch the per-user store: members are not
    // looked up or stored, so a rebuild of members never opens it.
    b.replace("util/src/lib.rs", "x * 2.5", "x * 4.5");
    let mut cmd = build_cmd(&b);
    by_default(&mut cmd, home.path());
    let out = run(&mut cmd);
    out.assert_success();
    assert!(out.compiled().contains("util"), "{}", out.describe());
    assert!(out.of("cache-finished").is_empty(), "{}", out.describe());
    assert!(assert_dev_matches_cargo(&b)[0].contains("\"value\":36.0"));

    let mut stats = orchestrator();
    stats.args(["cache", "stats"]);
    by_default(&mut stats, home.path());
    let stats = stats.output().expect("cache stats");
    let stdout = String::from_utf8_lossy(&stats.stdout);
    assert!(stats.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("file://{}", store.display())) && stdout.contains("limit:"),
        "{stdout}"
    );

    // A per-user cache that cannot be made only costs its hits.
    let blocked = home.path().join("not-a-directory");
    std::fs::write(&blocked, "").expect("write file");
    let c = Ws::new("cached");
    let mut cmd = build_cmd(&c);
    by_default(&mut cmd, &blocked.join("below"));
    let out = run(&mut cmd);
    out.assert_success();
    assert_eq!(problems(&out, "unavailable").len(), 1, "{}", out.describe());
    assert!(assert_dev_matches_cargo(&c)[0].contains("stamp stamp-7"));
}

#[test]
fn a_directory_store_keeps_under_its_size_limit() {
    let store = tempfile::tempdir().expect("store");
    let url = file_url(store.path());
    const LIMIT: u64 = 30 << 20;
    let a = Ws::new("cached");
    let out = run(cached(&a, &url).env("ORCHESTRATOR_CACHE_SIZE", "30M"));
    out.assert_success();
    let finished = cache_finished(&out);
    assert!(
        finished["evicted"].as_u64().is_some_and(|n| n > 0),
        "{}",
        out.describe()
    );
    let size = store_size(store.path());
    assert!(size <= LIMIT, "{size} bytes stored, limit {LIMIT}");

    // What is left serves another clone; what was removed compiles again.
    let b = Ws::new("cached");
    let out = run(cached(&b, &url).env("ORCHESTRATOR_CACHE_SIZE", "30M"));
    out.assert_success();
    assert!(downloaded_count(&out) > 0, "{}", out.describe());
    assert!(!out.compiled().is_empty(), "{}", out.describe());
    assert!(assert_dev_matches_cargo(&b)[0].contains("stamp stamp-7"));
    assert!(store_size(store.path()) <= LIMIT);
    assert_store_sound(&url);

    // A size that is not one is an error naming the variable.
    let out = run(cached(&b, &url).env("ORCHESTRATOR_CACHE_SIZE", "lots"));
    assert_eq!(out.code(), Some(101), "{}", out.describe());
    assert!(out.describe().contains("ORCHESTRATOR_CACHE_SIZE"));
}
