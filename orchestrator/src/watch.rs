//! `watch`: run a command (`check`, `build`, `test`, `run`) again whenever
//! a file it depends on is saved.
//!
//! Owns: which paths are watched — the workspace manifest, `Cargo.lock` and
//! `.cargo/`, every local package's root and its targets' source
//! directories, and every file the ledger says a local unit read (module
//! files, `include_str!` data, build scripts' `rerun-if-changed` paths) —
//! debouncing, and the loop. Each round re-runs the whole pipeline, so what
//! is rebuilt is decided as for a plain command: from content, never from
//! the event.
//! Never: prints (events go to the reporter), or treats an event as a
//! change (a save that leaves the content as it was rebuilds nothing).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use crate::driver::{self, BuildOptions, Session, Warm};
use crate::error::{Error, Result};
use crate::events::BuildEvent;
use crate::graph::Source;
use crate::report::Reporter;

/// How long the files must stay quiet after an event before the command
/// runs: an editor's save (write, rename, metadata) is over by then. A save
/// known to be over (see [`completes`]) does not wait for it.
pub const DEBOUNCE: Duration = Duration::from_millis(5);

/// What to watch: directories, each recursively or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchSet {
    pub recursive: BTreeSet<PathBuf>,
    pub flat: BTreeSet<PathBuf>,
    /// Events below here are ignored (the target directory).
    pub ignore: Vec<PathBuf>,
    /// Files the last build read (sources, `include_str!` data, manifests):
    /// a finished write to one of them ends the debounce.
    pub inputs: BTreeSet<PathBuf>,
}

impl WatchSet {
    /// From the plan and ledger of `opts`'s workspace. Reads state under
    /// the build lock, which it releases before returning.
    pub fn of(opts: &BuildOptions, reporter: &mut dyn Reporter) -> Result<WatchSet> {
        driver::prepare(opts, reporter, Warm::default())
            .map(|session| WatchSet::from_session(&session))
    }

    /// From the plan and ledger of a session that just ran.
    pub fn from_session(session: &Session) -> WatchSet {
        let graph = &session.graph;
        let root = &graph.workspace_root;
        let mut set = WatchSet {
            ignore: vec![
                session.target_dir.clone(),
                root.join("target"),
                root.join(".git"),
            ],
            ..WatchSet::default()
        };
        set.flat.insert(root.clone());
        set.inputs.insert(root.join("Cargo.toml"));
        set.inputs.insert(root.join("Cargo.lock"));
        if root.join(".cargo").is_dir() {
            set.flat.insert(root.join(".cargo"));
        }
        for unit in graph.units() {
            let package = graph.package(unit.pkg);
            if !matches!(package.source, Source::Member | Source::Path) {
                continue;
            }
            set.flat.insert(package.root.clone());
            set.inputs.insert(package.root.join("Cargo.toml"));
            if let Some(dir) = unit.target.src_path.parent() {
                set.recursive.insert(dir.to_path_buf());
            }
            let Some(entry) = session.ledger.get(&session.specs[unit.id].key) else {
                continue;
            };
            for input in &entry.inputs {
                let path = root.join(&input.path);
                if !input.dir {
                    set.inputs.insert(path.clone());
                }
                let dir = match input.dir {
                    true => Some(path.as_path()),
                    false => path.parent(),
                };
                if let Some(dir) = dir {
                    set.flat.insert(dir.to_path_buf());
                }
            }
        }
        // A directory watched recursively covers what is below it.
        let recursive = set.recursive.clone();
        set.recursive
            .retain(|d| !recursive.iter().any(|r| r != d && d.starts_with(r)));
        set.flat
            .retain(|d| !set.recursive.iter().any(|r| d.starts_with(r)));
        set
    }

    pub fn len(&self) -> usize {
        self.recursive.len() + self.flat.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an event on `path` may matter.
    fn relevant(&self, path: &Path) -> bool {
        !self.ignore.iter().any(|i| path.starts_with(i))
    }
}

/// What ended a wait.
#[derive(Debug, PartialEq, Eq)]
pub enum Woken {
    /// A watched file changed: the first path seen.
    Changed(PathBuf),
    /// SIGINT / SIGTERM.
    Interrupted,
    /// The watcher stopped delivering events.
    Stopped,
}

/// Watches a [`WatchSet`]; [`Watch::wait`] blocks until something changes.
pub struct Watch {
    watcher: notify::RecommendedWatcher,
    events: mpsc::Receiver<notify::Result<notify::Event>>,
    set: WatchSet,
}

impl Watch {
    pub fn new() -> Result<Watch> {
        let (tx, events) = mpsc::channel();
        let watcher = notify::recommended_watcher(move |event| {
            let _ = tx.send(event);
        })
        .map_err(|e| watch_error(Path::new("."), e))?;
        Ok(Watch {
            watcher,
            events,
            set: WatchSet::default(),
        })
    }

    /// Watch `set` instead of what was watched before.
    pub fn update(&mut self, set: WatchSet) -> Result<()> {
        // Same directories: nothing to re-register (and no window in which
        // a save could go unseen), only the inputs and ignores to take.
        if set.recursive == self.set.recursive && set.flat == self.set.flat {
            self.set = set;
            return Ok(());
        }
        for dir in self.set.recursive.iter().chain(&self.set.flat) {
            let _ = self.watcher.unwatch(dir);
        }
        for (dirs, mode) in [
            (&set.recursive, RecursiveMode::Recursive),
            (&set.flat, RecursiveMode::NonRecursive),
        ] {
            for dir in dirs.iter().filter(|d| d.is_dir()) {
                self.watcher
                    .watch(dir, mode)
                    .map_err(|e| watch_error(dir, e))?;
            }
        }
        self.set = set;
        Ok(())
    }

    /// Forget events that arrived while the command ran: its own writes,
    /// and saves it has already seen.
    pub fn drain(&self) {
        while self.events.try_recv().is_ok() {}
    }

    /// Block until a relevant event, then until the files have been quiet
    /// for `debounce`, or until every write seen is over and one of them was
    /// to an input; or until interrupted.
    pub fn wait(&self, debounce: Duration) -> Woken {
        let tick = Duration::from_millis(50);
        let mut save = Save::default();
        let first = loop {
            if crate::interrupt::received().is_some() {
                return Woken::Interrupted;
            }
            match self.events.recv_timeout(tick) {
                Ok(Ok(event)) if writes(&event.kind) || completes(&event, &self.set.inputs) => {
                    if let Some(path) = event.paths.iter().find(|p| self.set.relevant(p)) {
                        let path = path.clone();
                        save.see(&event, &self.set);
                        break path;
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Woken::Stopped,
            }
        };
        let mut quiet_since = Instant::now();
        loop {
            // A finished save: take what is already queued, then go.
            let next = match save.over() {
                true => self.events.try_recv().map_err(|_| ()),
                false => match debounce.checked_sub(quiet_since.elapsed()) {
                    Some(left) if !left.is_zero() => self.events.recv_timeout(left).map_err(|_| ()),
                    _ => break,
                },
            };
            match next {
                Ok(Ok(event)) => {
                    if writes(&event.kind) {
                        quiet_since = Instant::now();
                    }
                    save.see(&event, &self.set);
                }
                // Events may have been lost: only quiet ends the wait.
                Ok(Err(_)) => save.uncertain = true,
                Err(()) => break,
            }
        }
        Woken::Changed(first)
    }
}

/// What a save has done so far, to tell when it is over before the files
/// have been quiet for the debounce.
#[derive(Debug, Default)]
struct Save {
    /// Files written and not yet closed or renamed away.
    open: BTreeSet<PathBuf>,
    /// A write to an input is over (closed, or renamed onto it).
    input_done: bool,
    /// The watcher reported an error: events may be missing.
    uncertain: bool,
}

impl Save {
    fn see(&mut self, event: &notify::Event, set: &WatchSet) {
        use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
        let relevant = || event.paths.iter().filter(|p| set.relevant(p));
        match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Modify(ModifyKind::Name(_))
            | EventKind::Remove(_) => {
                for path in relevant() {
                    self.open.remove(path);
                }
            }
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => {
                self.open.extend(relevant().cloned());
            }
            // Metadata and the rest: no close follows; quiet decides.
            ref kind if writes(kind) => self.uncertain = true,
            _ => {}
        }
        if completes(event, &set.inputs) {
            self.input_done = true;
        }
    }

    fn over(&self) -> bool {
        self.input_done && self.open.is_empty() && !self.uncertain
    }
}

/// An event after which an input's new content is complete: the writer
/// closed it, or a finished file was renamed onto it (an editor's safe save
/// writes a temporary file, then renames it; the temporary file's close
/// does not count, as it is no input).
fn completes(event: &notify::Event, inputs: &BTreeSet<PathBuf>) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
    let named = match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => event.paths.first(),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => event.paths.first(),
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => event.paths.get(1),
        _ => None,
    };
    named.is_some_and(|p| inputs.contains(p))
}

/// An event that can change a file's content or existence.
fn writes(kind: &notify::EventKind) -> bool {
    use notify::event::{EventKind, MetadataKind, ModifyKind};
    !matches!(
        kind,
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime))
    )
}

fn watch_error(path: &Path, error: notify::Error) -> Error {
    Error::Usage {
        message: format!("could not watch `{}`: {error}", path.display()),
        help: "on Linux, raise fs.inotify.max_user_watches, or watch a smaller workspace"
            .to_owned(),
    }
}

/// What one run of the command leaves for `watch`.
pub struct Round {
    /// The session of a build that got as far as running jobs: what it read
    /// is what to watch. `None` after an error: the plan is read again.
    pub session: Option<Session>,
    /// `watch run`'s program: stopped at the next change.
    pub child: Option<std::process::Child>,
}

/// Run `round` now and after every change, until interrupted (SIGINT,
/// SIGTERM). `round` runs the command with a reporter of its own, and with
/// what the last round left in memory.
pub fn watch(
    opts: &BuildOptions,
    reporter: &mut dyn Reporter,
    round: &mut dyn FnMut(Warm) -> Round,
) -> Result<()> {
    let mut watch = Watch::new()?;
    let mut warm = Warm::default();
    loop {
        let Round { session, mut child } = round(std::mem::take(&mut warm));
        if crate::interrupt::received().is_some() {
            stop_child(&mut child);
            return Ok(());
        }
        // The round's own plan when it has one (its lock is released
        // here); otherwise the plan is read again. A workspace cargo cannot
        // load keeps the previous set: fixing the manifest is a change to a
        // file in it.
        let set = match session {
            Some(session) => {
                let set = WatchSet::from_session(&session);
                warm = Warm::keep(session);
                Ok(set)
            }
            None => WatchSet::of(opts, &mut Quiet),
        };
        if let Ok(set) = set {
            watch.update(set)?;
        }
        watch.drain();
        reporter.event(&BuildEvent::Watching {
            directories: watch.set.len(),
        });
        let woken = watch.wait(DEBOUNCE);
        stop_child(&mut child);
        match woken {
            Woken::Changed(path) => reporter.event(&BuildEvent::WatchTriggered { path }),
            Woken::Interrupted | Woken::Stopped => return Ok(()),
        }
    }
}

fn stop_child(child: &mut Option<std::process::Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
        crate::interrupt::forget(c.id());
    }
}

/// A reporter that drops everything: reading the watch set must not print.
struct Quiet;

impl Reporter for Quiet {
    fn event(&mut self, _event: &BuildEvent) {}
    fn error(&mut self, _error: &Error) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, EventKind, ModifyKind};
    use notify::event::{MetadataKind, RenameMode};

    fn event(kind: EventKind, paths: &[&str]) -> notify::Event {
        let mut event = notify::Event::new(kind);
        for p in paths {
            event = event.add_path(PathBuf::from(p));
        }
        event
    }

    fn set() -> WatchSet {
        WatchSet {
            inputs: ["/ws/a.rs", "/ws/b.rs"].iter().map(PathBuf::from).collect(),
            ..WatchSet::default()
        }
    }

    const WRITE: EventKind = EventKind::Modify(ModifyKind::Data(DataChange::Any));
    const CLOSE: EventKind = EventKind::Access(AccessKind::Close(AccessMode::Write));

    #[test]
    fn a_save_is_over_when_every_write_seen_is_closed_and_one_was_an_input() {
        let set = set();
        let mut save = Save::default();
        save.see(&event(WRITE, &["/ws/a.rs"]), &set);
        assert!(!save.over(), "a.rs is still open");
        save.see(&event(WRITE, &["/ws/b.rs"]), &set);
        save.see(&event(CLOSE, &["/ws/b.rs"]), &set);
        assert!(!save.over(), "b.rs is done, a.rs is still being written");
        save.see(&event(CLOSE, &["/ws/a.rs"]), &set);
        assert!(save.over());
    }

    #[test]
    fn a_safe_save_is_over_once_the_file_is_renamed_onto_the_input() {
        let set = set();
        let mut save = Save::default();
        let tmp = "/ws/.a.rs.swp";
        save.see(&event(EventKind::Create(CreateKind::File), &[tmp]), &set);
        save.see(&event(WRITE, &[tmp]), &set);
        save.see(&event(CLOSE, &[tmp]), &set);
        assert!(!save.over(), "a temporary file's close is no input's");
        save.see(
            &event(
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
                &[tmp, "/ws/a.rs"],
            ),
            &set,
        );
        assert!(save.over());
    }

    #[test]
    fn a_metadata_change_or_a_watcher_error_leaves_it_to_the_quiet_period() {
        let set = set();
        let mut save = Save::default();
        save.see(
            &event(
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::Permissions)),
                &["/ws/a.rs"],
            ),
            &set,
        );
        save.see(&event(CLOSE, &["/ws/a.rs"]), &set);
        assert!(!save.over());
    }
}
