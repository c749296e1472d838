//! Two builds of one target directory: the second says it waits, waits, and
//! finds everything fresh; builds of different target directories do not wait.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(120);

/// Start a slow (`-j 1`) clean build of `ws` and return once it holds the
/// lock (it emits `build-started` only after taking it).
fn first_build_holding_the_lock(ws: &Ws) -> Spawned {
    let mut cmd = build_cmd(ws);
    cmd.args(["-j", "1"]).process_group(0);
    let mut first = Spawned::start(&mut cmd);
    assert!(
        first.wait_for(WAIT, |e| reason(e) == "build-started"),
        "first build started"
    );
    first
}

fn all_units(ws: &Ws) -> std::collections::BTreeSet<String> {
    ws.fixture()
        .units
        .iter()
        .map(|(l, _)| l.to_string())
        .collect()
}

#[test]
fn a_second_json_build_reports_waiting_and_finds_everything_fresh() {
    let ws = Ws::new("wide");
    let first = first_build_holding_the_lock(&ws);
    let mut second = Spawned::start(&mut build_cmd(&ws));
    assert!(
        second.wait_for(WAIT, |_| true),
        "second build printed an event"
    );
    assert_eq!(
        reason(&second.events[0]),
        "waiting-for-lock",
        "the second build's first event: {:?}",
        second.events
    );

    let first = first.finish();
    first.assert_success();
    assert_eq!(first.units("compiled"), all_units(&ws));
    let second = second.finish();
    second.assert_success();
    assert_eq!(reason(&second.events[0]), "waiting-for-lock");
    assert_eq!(second.of("waiting-for-lock").len(), 1);
    assert!(
        second.compiled().is_empty(),
        "the second build ran only after the first was done\n{}",
        second.describe()
    );
    assert_eq!(second.units("fresh"), all_units(&ws));
    assert_dev_matches_cargo(&ws);
}

#[test]
fn a_second_human_build_prints_blocking() {
    let ws = Ws::new("wide");
    let first = first_build_holding_the_lock(&ws);
    let second = run(&mut human_cmd(&ws));
    let first = first.finish();
    first.assert_success();
    assert_eq!(second.code(), Some(0), "{}", second.describe());
    assert!(
        second
            .stderr
            .contains("Blocking waiting for another build of this target directory to finish"),
        "{}",
        second.describe()
    );
    assert!(
        second.stderr.contains("0 compiled, 0 relinked, 7 fresh"),
        "{}",
        second.describe()
    );
    assert_dev_matches_cargo(&ws);
}

#[test]
fn builds_of_different_target_dirs_do_not_wait() {
    let ws = Ws::new("wide");
    let first = first_build_holding_the_lock(&ws);
    let other = ws.tmp.path().join("other-target");
    let mut cmd = build_cmd(&ws);
    cmd.arg("--target-dir").arg(&other);
    let second = run(&mut cmd);
    second.assert_success();
    assert!(
        second.of("waiting-for-lock").is_empty(),
        "{}",
        second.describe()
    );
    assert_eq!(second.units("compiled"), all_units(&ws));
    first.finish().assert_success();
    let cargo = cargo_bins(&ws, DEV);
    assert_matches_cargo(&ws, &ws.bin_dir(), &cargo);
    assert_matches_cargo(&ws, &other.join("debug"), &cargo);
}

/// The lock belongs to orchestrator alone: once it is killed, a new build
/// does not wait, even while its orphaned rustc jobs still run.
#[test]
fn a_killed_build_releases_the_lock_at_once() {
    let ws = Ws::new("wide");
    let mut first = first_build_holding_the_lock(&ws);
    let pgid = first.pid();
    first.kill();
    first.finish();

    let mut cmd = build_cmd(&ws);
    cmd.process_group(0);
    let mut second = Spawned::start(&mut cmd);
    let second_pgid = second.pid();
    assert!(
        second.wait_for(WAIT, |_| true),
        "second build printed an event"
    );
    assert_eq!(
        reason(&second.events[0]),
        "build-started",
        "no waiting for a dead build: {:?}",
        second.events
    );
    second.kill();
    second.finish();
    wait_group_gone(pgid, WAIT);
    wait_group_gone(second_pgid, WAIT);

    build(&ws).assert_success();
    assert_dev_matches_cargo(&ws);
}

/// `graph` reads the ledger a build rewrites: it waits for the build, then
/// shows what it left (everything fresh), never a half-written state.
#[test]
fn graph_waits_for_a_running_build() {
    let ws = Ws::new("wide");
    let first = first_build_holding_the_lock(&ws);
    let graph = orchestrator()
        .arg("graph")
        .current_dir(&ws.root)
        .output()
        .expect("run orchestrator graph");
    let first = first.finish();
    first.assert_success();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&graph.stdout),
        String::from_utf8_lossy(&graph.stderr),
    );
    assert_eq!(graph.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Blocking waiting"), "{stderr}");
    assert!(
        stdout.contains("[fresh]") && !stdout.contains("[compile]"),
        "the graph is read after the build: nothing left to compile\n{stdout}"
    );
}
