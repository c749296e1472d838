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
