//! Clean builds of every good fixture: everything compiles, the event stream
//! is complete, and every binary behaves exactly like cargo's.

use std::collections::BTreeSet;

use crate::support::*;

fn clean_build_matches_cargo(name: &str) {
    let ws = Ws::new(name);
    let fx = ws.fixture();
    let out = build(&ws);
    out.assert_success();

    let expected: BTreeSet<String> = fx.units.iter().map(|(l, _)| l.to_string()).collect();
    assert_eq!(
        out.units("compiled"),
        expected,
        "compiled units\n{}",
        out.describe()
    );
    assert!(
        out.units("fresh").is_empty(),
        "nothing is fresh in a clean build"
    );
    let packages: BTreeSet<(String, String)> = out
        .of("crate-finished")
        .into_iter()
        .map(|e| (label(e), e["package"].as_str().unwrap_or("?").to_owned()))
        .collect();
    let expected_packages: BTreeSet<(String, String)> = fx
        .units
        .iter()
        .map(|(l, p)| (l.to_string(), p.to_string()))
        .collect();
    assert_eq!(packages, expected_packages, "package of each unit");

    let n = fx.units.len() as u64;
    let started = out.started_event();
    assert_eq!(started["crates"].as_u64(), Some(n));
    assert_eq!(started["to_compile"].as_u64(), Some(n));
    assert_eq!(started["profile"], "dev");
    assert!(started["jobs"].as_u64().is_some_and(|j| j >= 1));
    assert_eq!(
        started["estimate_ms"],
        serde_json::Value::Null,
        "nothing recorded yet"
    );
    let finished = out.finished_event();
    assert_eq!(finished["compiled"].as_u64(), Some(n));
    assert_eq!(finished["fresh"].as_u64(), Some(0));
    assert_eq!(out.started().len(), out.compiled().len());

    assert_dev_matches_cargo(&ws);

    // The same sources again: nothing to do, and the estimate is now known.
    let again = build(&ws);
    again.assert_success();
    assert_eq!(
        again.units("fresh"),
        expected,
        "second build\n{}",
        again.describe()
    );
    assert!(again.compiled().is_empty());
    assert!(again.of("crate-started").is_empty());
    assert_eq!(again.started_event()["to_compile"].as_u64(), Some(0));
    assert_eq!(again.finished_event()["compiled"].as_u64(), Some(0));
    assert_eq!(again.finished_event()["fresh"].as_u64(), Some(n));
    assert_dev_matches_cargo(&ws);
}

macro_rules! clean_build_tests {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                clean_build_matches_cargo($name);
            }
        )*
    };
}

clean_build_tests! {
    sample_workspace => "sample-workspace",
    globs => "globs",
    renamed => "renamed",
    inherit => "inherit",
    root_package => "root_package",
    lib_bin => "lib_bin",
    chain => "chain",
    diamond => "diamond",
    multi_file => "multi_file",
    failing_fixture_builds_as_shipped => "failing",
    features => "features",
    wide => "wide",
    proc_macro => "proc_macro",
    edits => "edits",
}

#[test]
fn every_good_fixture_has_a_test() {
    let dir = repo_root().join("tests/fixtures");
    let mut on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("read fixtures")
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.insert("sample-workspace".to_owned());
    let specified: BTreeSet<String> = FIXTURES.iter().map(|f| f.name.to_owned()).collect();
    assert_eq!(
        on_disk, specified,
        "tests/e2e/support.rs FIXTURES vs tests/fixtures/"
    );
}
