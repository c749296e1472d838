//! One build per target directory at a time.
//!
//! An exclusive OS file lock on `<target-dir>/.orchestrator.lock`; a second
//! build waits for it (and says so). The OS drops the lock if the holder
//! dies, so a killed build never leaves the directory locked.
//!
//! The file also holds an *epoch*: every holder writes a new one once it has
//! the lock. A process that finds the epoch it wrote itself knows that
//! nobody held the lock since, so nothing rewrote the state it keeps in
//! memory (`watch`'s ledger, [`crate::driver::Warm`]). A holder killed while
//! writing leaves text nobody wrote, which matches no one: state is reread.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct BuildLock {
    _file: File,
    previous: String,
    epoch: String,
}

impl BuildLock {
    /// Take the lock, calling `on_wait` first if another build holds it.
    pub fn acquire(target_dir: &Path, on_wait: impl FnOnce()) -> Result<BuildLock> {
        let path = target_dir.join(".orchestrator.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                on_wait();
                file.lock().map_err(|e| Error::io("lock", &path, e))?;
            }
            Err(TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
        }
        let mut previous = String::new();
        // An unreadable epoch is one nobody wrote: state is reread.
        let _ = (&file).read_to_string(&mut previous);
        let epoch = new_epoch();
        let written = (&file)
            .rewind()
            .and_then(|()| file.set_len(0))
            .and_then(|()| (&file).write_all(epoch.as_bytes()));
        // Without a new epoch, a later holder could not tell this one from
        // the previous: nobody may trust memory then.
        let epoch = match written {
            Ok(()) => epoch,
            Err(_) => String::new(),
        };
        Ok(BuildLock {
            _file: file,
            previous,
            epoch,
        })
    }

    /// This holder's epoch: what a later holder finds if nobody else held
    /// the lock in between. Empty if it could not be written.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Whether the holder before this one was the one that wrote `epoch`.
    pub fn follows(&self, epoch: &str) -> bool {
        !epoch.is_empty() && self.previous == epoch
    }
}

/// Unique among processes (pid, clock) and within one (a counter).
fn new_epoch() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits_until_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = BuildLock::acquire(dir.path(), || panic!("nothing holds it")).unwrap();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            let mut waited = false;
            let _second = BuildLock::acquire(&path, || waited = true).unwrap();
            waited
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(first);
        assert!(waiter.join().unwrap(), "second acquire reported waiting");
    }

    #[test]
    fn a_holder_knows_whether_anyone_held_the_lock_since_its_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let first = BuildLock::acquire(dir.path(), || {}).unwrap();
        assert!(!first.follows(""), "an empty epoch is never trusted");
        let mine = first.epoch().to_owned();
        assert!(!mine.is_empty());
        drop(first);
        let again = BuildLock::acquire(dir.path(), || {}).unwrap();
        assert!(again.follows(&mine), "nobody held it in between");
        let again_epoch = again.epoch().to_owned();
        drop(again);
        let other = BuildLock::acquire(dir.path(), || {}).unwrap();
        drop(other);
        let later = BuildLock::acquire(dir.path(), || {}).unwrap();
        assert!(!later.follows(&again_epoch), "another holder came between");
    }
}
