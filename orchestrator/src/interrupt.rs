//! SIGINT and SIGTERM: stop every child, start nothing new, leave a valid
//! state, and exit as cargo does (130 / 143).
//!
//! Owns: the set of running child processes (rustc, relinks, build scripts,
//! cargo queries: every spawn goes through [`spawn`] or [`output`]), the
//! signal that arrived, and forwarding it to the children. The build itself
//! needs nothing more to stay valid: a unit's ledger entry is removed before
//! its job starts and written only after it succeeded, so a killed job
//! leaves no entry.
//! Never: exits the process or prints (the CLI does, from [`received`]).

use std::collections::BTreeSet;
use std::io;
use std::process::{Child, Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

static RECEIVED: AtomicI32 = AtomicI32::new(0);
static CHILDREN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Catch SIGINT and SIGTERM from now on (once per process). Without this,
/// the default action kills orchestrator alone and its children run on.
pub fn install() -> io::Result<()> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        std::thread::Builder::new()
            .name("orchestrator-signals".to_owned())
            .spawn(move || {
                for signal in signals.forever() {
                    RECEIVED.store(signal, Ordering::SeqCst);
                    forward(signal);
                }
            })?;
    }
    Ok(())
}

/// The signal that arrived, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// cargo's exit status after a signal: 128 + its number.
pub fn exit_code(signal: i32) -> i32 {
    128 + signal
}

/// Spawn `cmd` as a child that a signal reaches. Call [`forget`] once it
/// has been waited for.
pub fn spawn(cmd: &mut Command) -> io::Result<Child> {
    let child = cmd.spawn()?;
    register(child.id());
    Ok(child)
}

/// Run `cmd` to completion, collecting its output, as a child a signal reaches.
pub fn output(cmd: &mut Command) -> io::Result<Output> {
    use std::process::Stdio;
    let child = spawn(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null()),
    )?;
    let pid = child.id();
    let result = child.wait_with_output();
    forget(pid);
    result
}

/// The child `pid` has been waited for.
pub fn forget(pid: u32) {
    if let Ok(mut children) = CHILDREN.lock() {
        children.remove(&pid);
    }
}

fn register(pid: u32) {
    if let Ok(mut children) = CHILDREN.lock() {
        children.insert(pid);
    }
    // A signal that came while this child was being spawned reaches it too.
    if let Some(signal) = received() {
        send(pid, signal);
    }
}

fn forward(signal: i32) {
    let pids: Vec<u32> = match CHILDREN.lock() {
        Ok(children) => children.iter().copied().collect(),
        Err(_) => return,
    };
    for pid in pids {
        send(pid, signal);
    }
}

#[cfg(unix)]
fn send(pid: u32, signal: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) takes no pointers. The pid is one we spawned; it
        // leaves the set right after it is waited for.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

#[cfg(not(unix))]
fn send(_: u32, _: i32) {}
