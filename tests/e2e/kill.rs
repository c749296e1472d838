//! SIGKILL in the middle of a build: the next build must succeed and give
//! binaries equal to cargo's, and work finished before the kill is kept.
//!
//! orchestrator runs in its own process group. `child.kill()` kills only
//! orchestrator (its rustc jobs run on, orphaned, and are waited for before
//! the next build); the group kill takes the jobs down with it, as a closed
//! terminal would.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy)]
enum Moment {
    After(Duration),
    /// On the first event with this reason (and crate, if given).
    Event(&'static str, Option<&'static str>),
}

#[derive(Clone, Copy)]
enum Edit {
    None,
    /// A library: it and the hub recompile.
    W1,
    /// The binary only.
    Hub,
}

impl Edit {
    fn apply(self, ws: &Ws) -> BTreeSet<String> {
        match self {
            Edit::None => BTreeSet::new(),
            Edit::W1 => {
                ws.replace("w1/src/lib.rs", r#""w1: sum="#, r#""w1 (edited): sum="#);
                set(["w1", "hub"])
            }
            Edit::Hub => {
                ws.replace(
                    "hub/src/main.rs",
                    r#"println!("{}", w6::report());"#,
                    r#"println!("{}", w6::report());
    println!("hub edited after a kill");"#,
                );
                set(["hub"])
            }
        }
    }
}

fn start_in_own_group(ws: &Ws) -> Spawned {
    let mut cmd = build_cmd(ws);
    cmd.process_group(0);
    Spawned::start(&mut cmd)
}

fn reach(running: &mut Spawned, moment: Moment) {
    match moment {
        Moment::After(delay) => std::thread::sleep(delay),
        Moment::Event(reason_, krate) => {
            let found = running.wait_for(WAIT, |e: &Value| {
                reason(e) == reason_ && krate.is_none_or(|k| e["crate"] == k)
            });
            assert!(found, "the build never emitted {reason_} {krate:?}");
        }
    }
}

/// Kill a clean build of `wide` at `moment`, optionally edit, then build to
/// completion and compare with cargo.
fn kill_clean_build_then_rebuild(moment: Moment, group: bool, edit: Edit) {
    let ws = Ws::new("wide");
    let mut running = start_in_own_group(&ws);
    let pgid = running.pid();
    reach(&mut running, moment);
    if group {
        kill_group(pgid);
    } else {
        running.kill();
    }
    let killed = running.finish();
    wait_group_gone(pgid, WAIT);
    let done_before_kill = killed.compiled();

    let affected = edit.apply(&ws);
    let out = build(&ws);
    out.assert_success();
    let all: BTreeSet<String> = ws
        .fixture()
        .units
        .iter()
        .map(|(l, _)| l.to_string())
        .collect();
    let mut seen = out.units("compiled");
    seen.extend(out.units("relinked"));
    seen.extend(out.units("fresh"));
    assert_eq!(seen, all, "every unit accounted for\n{}", out.describe());
    for krate in done_before_kill.difference(&affected) {
        assert!(
            out.fresh().contains(krate),
            "{krate} finished before the kill and did not change, yet was redone\n{}",
            out.describe()
        );
    }
    for krate in &affected {
        assert!(
            out.redone().contains(krate),
            "{krate} was edited\n{}",
            out.describe()
        );
    }
    let outputs = assert_dev_matches_cargo(&ws);
    match edit {
        Edit::W1 => assert!(outputs[0].contains("w1 (edited): sum="), "{}", outputs[0]),
        Edit::Hub => assert!(
            outputs[0].contains("hub edited after a kill"),
            "{}",
            outputs[0]
        ),
        Edit::None => {}
    }

    let again = build(&ws);
    again.assert_success();
    assert!(again.compiled().is_empty(), "{}", again.describe());
}

#[test]
fn kill_immediately() {
    kill_clean_build_then_rebuild(Moment::After(Duration::ZERO), false, Edit::None);
}

#[test]
fn kill_after_150ms_then_edit_a_library() {
    kill_clean_build_then_rebuild(Moment::After(Duration::from_millis(150)), false, Edit::W1);
}

#[test]
fn kill_after_400ms() {
    kill_clean_build_then_rebuild(Moment::After(Duration::from_millis(400)), false, Edit::None);
}

#[test]
fn kill_after_800ms_then_edit_the_binary() {
    kill_clean_build_then_rebuild(Moment::After(Duration::from_millis(800)), false, Edit::Hub);
}

#[test]
fn kill_when_the_first_metadata_is_ready() {
    kill_clean_build_then_rebuild(Moment::Event("crate-stage", None), false, Edit::None);
}

#[test]
fn kill_after_the_first_finished_crate_then_edit_it() {
    kill_clean_build_then_rebuild(Moment::Event("crate-finished", Some("w1")), false, Edit::W1);
}

#[test]
fn kill_while_linking_the_binary() {
    kill_clean_build_then_rebuild(
        Moment::Event("crate-started", Some("hub")),
        false,
        Edit::None,
    );
}

#[test]
fn kill_the_whole_process_group_mid_build() {
    kill_clean_build_then_rebuild(Moment::Event("crate-stage", Some("w2")), true, Edit::Hub);
}

/// A rebuild of an edited crate is killed, the edit is reverted and the
/// binary edited, so that it relinks against whatever library artifact is
/// on disk: the next build must give what cargo gives for these sources.
#[test]
fn kill_a_rebuild_after_an_edit_then_revert_it() {
    let ws = Ws::new("wide");
    build(&ws).assert_success();
    let lib = "w3/src/lib.rs";
    let lib_source = ws.read(lib);
    let hub = "hub/src/main.rs";
    let hub_source = ws.read(hub);

    for (round, moment) in [
        Moment::Event("crate-stage", Some("w3")),
        Moment::Event("crate-finished", Some("w3")),
        // The binary's relink (w3's change is codegen-only) is under way.
        Moment::Event("crate-started", Some("hub")),
    ]
    .into_iter()
    .enumerate()
    {
        ws.replace(lib, r#""w3: m^3="#, r#""w3 (edited): m^3="#);
        let mut running = start_in_own_group(&ws);
        let pgid = running.pid();
        reach(&mut running, moment);
        running.kill();
        running.finish();
        wait_group_gone(pgid, WAIT);

        ws.write(lib, &lib_source);
        ws.write(
            hub,
            &hub_source.replace(
                "fn main() {",
                &format!("fn main() {{\n    println!(\"round {round}\");"),
            ),
        );
        let out = build(&ws);
        out.assert_success();
        let outputs = assert_dev_matches_cargo(&ws);
        assert!(!outputs[0].contains("w3 (edited)"), "{}", outputs[0]);
        assert!(
            outputs[0].contains(&format!("round {round}")),
            "{}",
            outputs[0]
        );
        out.assert_compiled(["w3", "hub"]);
        assert_eq!(
            out.fresh(),
            set(["w1", "w2", "w4", "w5", "w6"]),
            "{}",
            out.describe()
        );
    }
}

/// Killed twice in a row, with an edit in between, then completed.
#[test]
fn kill_twice_with_an_edit_in_between() {
    let ws = Ws::new("wide");
    for (moment, edit) in [
        (Moment::Event("crate-finished", None), Edit::W1),
        (Moment::Event("crate-started", Some("hub")), Edit::Hub),
    ] {
        let mut running = start_in_own_group(&ws);
        let pgid = running.pid();
        reach(&mut running, moment);
        running.kill();
        running.finish();
        wait_group_gone(pgid, WAIT);
        edit.apply(&ws);
    }
    let out = build(&ws);
    out.assert_success();
    let outputs = assert_dev_matches_cargo(&ws);
    assert!(outputs[0].contains("w1 (edited): sum="), "{}", outputs[0]);
    assert!(
        outputs[0].contains("hub edited after a kill"),
        "{}",
        outputs[0]
    );
}

/// Killed while rustc jobs run, rebuilt at once: the orphaned jobs may
/// still be writing while the next build starts.
#[test]
fn rebuild_at_once_while_orphaned_jobs_still_run() {
    let ws = Ws::new("wide");
    let mut running = start_in_own_group(&ws);
    let pgid = running.pid();
    reach(&mut running, Moment::Event("crate-stage", None));
    running.kill();
    running.finish();
    let out = build(&ws);
    wait_group_gone(pgid, WAIT);
    out.assert_success();
    assert_dev_matches_cargo(&ws);
    let again = build(&ws);
    again.assert_success();
    assert!(again.compiled().is_empty(), "{}", again.describe());
}

/// SIGTERM or SIGINT to orchestrator alone (as `kill PID` or a supervisor
/// sends it): its rustc jobs stop with it, it exits 143 / 130 as cargo
/// does, and the next build completes what was left, as cargo would.
#[test]
fn sigterm_and_sigint_stop_the_jobs_and_exit_like_cargo() {
    for (signal, number, code) in [("-TERM", 15, 143), ("-INT", 2, 130)] {
        let ws = Ws::new("wide");
        let mut running = start_in_own_group(&ws);
        let pgid = running.pid();
        reach(&mut running, Moment::Event("crate-stage", None));
        let status = std::process::Command::new("kill")
            .args([signal, &running.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let stopped = running.finish();
        assert_eq!(
            stopped.code(),
            Some(code),
            "signal {number}\n{}",
            stopped.describe()
        );
        assert!(
            !stopped.stderr.contains("panicked"),
            "{}",
            stopped.describe()
        );
        // Nothing of the build runs on: its jobs were stopped, not orphaned.
        assert!(
            group_members(pgid).is_empty(),
            "jobs left running after signal {number}: {:?}",
            group_members(pgid)
        );
        let out = build(&ws);
        out.assert_success();
        assert_dev_matches_cargo(&ws);
    }
}
