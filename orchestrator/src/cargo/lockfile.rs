//! Registry checksums from `Cargo.lock`: a registry package's identity is its
//! package id plus this checksum (its sources are immutable, so they are
//! fingerprinted by identity rather than by hashing every file).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

/// Package id (`registry+URL#name@version`, as cargo spells it) → checksum.
/// An unreadable lock file gives no checksums: packages are then identified
/// by id alone, as cargo itself does for registry sources.
pub fn checksums(path: &Path) -> BTreeMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    let Ok(lock) = toml::from_str::<Lock>(&text) else {
        return BTreeMap::new();
    };
    lock.package
        .into_iter()
        .filter_map(|p| {
            let source = p.source?;
            let checksum = p.checksum?;
            Some((format!("{source}#{}@{}", p.name, p.version), checksum))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_registry_checksums() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.lock");
        std::fs::write(
            &path,
            "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.15\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"abc\"\n",
        )
        .unwrap();
        let sums = checksums(&path);
        assert_eq!(sums.len(), 1);
        assert_eq!(
            sums["registry+https://github.com/rust-lang/crates.io-index#itoa@1.0.15"],
            "abc"
        );
        assert!(checksums(&dir.path().join("missing")).is_empty());
    }
}
