//! Path helpers shared by the stages.

use std::path::{Component, Path, PathBuf};

/// Resolve `.` and `..` lexically, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `base` when it lies below it, else unchanged.
///
/// Fingerprints store workspace-relative paths so that moving a checkout
/// does not change them.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// `path` relative to `base`, with `..` where needed (`../other/crate`);
/// unchanged when they share no prefix (another drive) or either is relative.
pub fn relative_path(path: &Path, base: &Path) -> PathBuf {
    if path.is_relative() || base.is_relative() {
        return relative_to(path, base);
    }
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return path.iter().collect();
    }
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for part in &path[common..] {
        out.push(part);
    }
    out
}

/// Whether a file with modification time `modified` was certainly written
/// before `instant`. File systems with whole-second timestamps (a zero
/// sub-second part) get a second of slack; others the few milliseconds of a
/// kernel's coarse clock. Used only to take trust away: a file that may have
/// changed while a job read it is not recorded as read.
pub fn written_before(modified: std::time::SystemTime, instant: std::time::SystemTime) -> bool {
    use std::time::{Duration, UNIX_EPOCH};
    let coarse = modified
        .duration_since(UNIX_EPOCH)
        .is_ok_and(|d| d.subsec_nanos() == 0);
    let slack = match coarse {
        true => Duration::from_secs(1),
        false => Duration::from_millis(50),
    };
    modified < instant - slack
}

/// Every entry below `dir` that is not a directory (recursively, sorted);
/// `None` if any directory or entry cannot be read.
pub fn files_below(dir: &Path) -> Option<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).ok()? {
            let entry = entry.ok()?;
            match entry.file_type().ok()?.is_dir() {
                true => pending.push(entry.path()),
                false => files.push(entry.path()),
            }
        }
    }
    files.sort();
    Some(files)
}

/// The temp name a file is written under before it is renamed onto `path`:
/// a hidden sibling (same directory, so the rename is atomic). The name is
/// fixed, not per process: only the holder of the target directory's lock
/// writes there, so a build killed mid-write leaves at most one such file
/// per output, replaced by the next write of that output.
pub fn temp_sibling(path: &Path, purpose: &str) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    path.with_file_name(format!(".{name}.{purpose}-tmp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_dots() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }

    #[test]
    fn relative_paths_climb_with_dot_dot() {
        assert_eq!(
            relative_path(Path::new("/w/a/src/lib.rs"), Path::new("/w")),
            PathBuf::from("a/src/lib.rs")
        );
        assert_eq!(
            relative_path(Path::new("/x/crate"), Path::new("/w/ws")),
            PathBuf::from("../../x/crate")
        );
        assert_eq!(
            relative_path(Path::new("/w"), Path::new("/w")),
            PathBuf::new()
        );
    }

    #[test]
    fn relative_only_below_base() {
        assert_eq!(
            relative_to(Path::new("/w/a/src/lib.rs"), Path::new("/w")),
            PathBuf::from("a/src/lib.rs")
        );
        assert_eq!(
            relative_to(Path::new("/x/y"), Path::new("/w")),
            PathBuf::from("/x/y")
        );
    }
}
