//! One build per target directory at a time.
//!
//! An exclusive OS file lock on `<target-dir>/.orchestrator.lock`; a second
//! build waits for it (and says so). The OS drops the lock if the holder
//! dies, so a killed build never leaves the directory locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct BuildLock {
    _file: File,
}

impl BuildLock {
    /// Take the lock, calling `on_wait` first if another build holds it.
    pub fn acquire(target_dir: &Path, on_wait: impl FnOnce()) -> Result<BuildLock> {
        let path = target_dir.join(".orchestrator.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
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
        Ok(BuildLock { _file: file })
    }
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
}
