//! An in-memory cargo answer for tests and benchmarks: member packages in
//! a workspace that need not exist on disk, without running cargo.

use std::collections::BTreeMap;
use std::path::Path;

use super::CargoAnswer;
use super::metadata::{MetaPackage, MetaTarget};
use super::unit_graph::{RawDep, RawProfile, RawTarget, RawUnit, UnitGraph};

/// One package: a library or a binary, depending on earlier packages.
#[derive(Debug, Clone)]
pub struct Crate {
    pub name: String,
    /// `lib`, `bin` or `proc-macro`.
    pub kind: &'static str,
    /// Indexes of earlier crates in the list.
    pub deps: Vec<usize>,
}

/// The dev profile cargo resolves for a member.
pub fn dev_profile() -> RawProfile {
    RawProfile {
        name: "dev".into(),
        opt_level: "0".into(),
        lto: "false".into(),
        codegen_backend: None,
        codegen_units: None,
        debuginfo: serde_json::json!(2),
        split_debuginfo: None,
        debug_assertions: true,
        overflow_checks: true,
        rpath: false,
        incremental: true,
        panic: "unwind".into(),
        strip: serde_json::json!({"deferred": "None"}),
        rustflags: None,
        trim_paths: None,
    }
}

/// A workspace at `root` with one member package per crate; binaries are the roots.
pub fn answer(root: &Path, crates: &[Crate]) -> CargoAnswer {
    let id = |c: &Crate| format!("path+file://{}/{}#{}@0.1.0", root.display(), c.name, c.name);
    let mut units = Vec::new();
    let mut packages = BTreeMap::new();
    for c in crates {
        let dir = root.join(&c.name);
        let src = match c.kind {
            "bin" => dir.join("src/main.rs"),
            _ => dir.join("src/lib.rs"),
        };
        let target = RawTarget {
            kind: vec![c.kind.to_owned()],
            crate_types: vec![c.kind.to_owned()],
            name: c.name.clone(),
            src_path: src.to_string_lossy().into_owned(),
            edition: "2024".into(),
            required_features: None,
            doc: false,
            doctest: false,
            test: false,
            harness: None,
        };
        units.push(RawUnit {
            pkg_id: id(c),
            target: target.clone(),
            profile: dev_profile(),
            platform: None,
            mode: "build".into(),
            features: Vec::new(),
            dependencies: c
                .deps
                .iter()
                .map(|&d| RawDep {
                    index: d,
                    extern_crate_name: crates[d].name.replace('-', "_"),
                })
                .collect(),
        });
        packages.insert(
            id(c),
            MetaPackage {
                name: c.name.clone(),
                version: "0.1.0".into(),
                id: id(c),
                source: None,
                manifest_path: dir.join("Cargo.toml").to_string_lossy().into_owned(),
                authors: Vec::new(),
                description: None,
                homepage: None,
                repository: None,
                license: None,
                license_file: None,
                readme: None,
                rust_version: None,
                links: None,
                default_run: None,
                edition: "2024".into(),
                features: BTreeMap::new(),
                targets: vec![MetaTarget {
                    kind: target.kind.clone(),
                    name: target.name.clone(),
                    src_path: target.src_path.clone(),
                    required_features: None,
                }],
            },
        );
    }
    let roots = crates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == "bin")
        .map(|(i, _)| i)
        .collect();
    CargoAnswer {
        graph: UnitGraph {
            version: 1,
            units,
            roots,
        },
        members: packages.keys().cloned().collect(),
        packages,
        workspace_root: root.to_path_buf(),
        target_directory: root.join("target"),
        checksums: BTreeMap::new(),
        lints: BTreeMap::new(),
        harnessless: BTreeMap::new(),
    }
}
