//! Profiles and the target-directory layout.
//!
//! cargo resolves every unit's profile (the unit graph carries it); this
//! module names the directories as cargo does (`debug` for `dev` and `test`,
//! `release` for `release` and `bench`, a custom profile's own name; a
//! `<triple>/` level for units built for an explicit `--target`), tells a
//! profile's root (`PROFILE` for build scripts), and computes each unit's
//! LTO role the way cargo's `lto.rs` does.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::graph::{CrateGraph, CrateType, UnitId, UnitKind, UnitMap};

/// The profile the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// `dev`, `release`, or a custom name.
    pub name: String,
    /// The directory under the target directory (`debug`, `release`, `name`).
    pub dir_name: String,
    /// Whether it descends from `release` (build scripts see `PROFILE=release`).
    pub release_root: bool,
}

impl Profile {
    /// `inherits` answers a custom profile's parent (from manifests and
    /// configuration); cargo has already checked that the chain ends.
    pub fn new(name: &str, inherits: &dyn Fn(&str) -> Option<String>) -> Profile {
        let dir_name = match name {
            "dev" | "test" => "debug".to_owned(),
            "release" | "bench" => "release".to_owned(),
            other => other.to_owned(),
        };
        let mut current = name.to_owned();
        let mut release_root = false;
        for _ in 0..32 {
            match current.as_str() {
                "release" | "bench" => {
                    release_root = true;
                    break;
                }
                "dev" | "test" => break,
                _ => match inherits(&current) {
                    Some(parent) => current = parent,
                    None => break,
                },
            }
        }
        Profile {
            name: name.to_owned(),
            dir_name,
            release_root,
        }
    }

    pub fn dev() -> Profile {
        Profile::new("dev", &|_| None)
    }

    /// `` `dev` profile ``, as cargo's summary names it.
    pub fn description(&self) -> String {
        format!("`{}` profile", self.name)
    }
}

/// Where everything lives under orchestrator's target directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub target_dir: PathBuf,
    pub dir_name: String,
}

impl Layout {
    pub fn new(target_dir: &Path, profile: &Profile) -> Layout {
        Layout {
            target_dir: target_dir.to_path_buf(),
            dir_name: profile.dir_name.clone(),
        }
    }

    /// `<target>/<profile>` for the host, `<target>/<triple>/<profile>` for
    /// an explicit target: where final artifacts are copied.
    pub fn root(&self, platform: Option<&str>) -> PathBuf {
        match platform {
            None => self.target_dir.join(&self.dir_name),
            Some(triple) => self.target_dir.join(triple).join(&self.dir_name),
        }
    }

    /// rustc's `--out-dir` for libraries and binaries.
    pub fn deps(&self, platform: Option<&str>) -> PathBuf {
        self.root(platform).join("deps")
    }

    /// Build scripts: `build/<pkg>-<hash>/` (compiled and run).
    pub fn build(&self, platform: Option<&str>) -> PathBuf {
        self.root(platform).join("build")
    }

    /// `CARGO_TARGET_TMPDIR` of integration tests and benches.
    pub fn tmp(&self) -> PathBuf {
        self.target_dir.join("tmp")
    }

    pub fn incremental(&self, platform: Option<&str>) -> PathBuf {
        self.root(platform).join("incremental")
    }

    /// A crate's incremental state directories (`incremental/<crate>-<hash>/`).
    fn incremental_dirs(&self, platform: Option<&str>, crate_name: &str) -> Vec<PathBuf> {
        let prefix = format!("{crate_name}-");
        let Ok(entries) = std::fs::read_dir(self.incremental(platform)) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect()
    }

    /// Remove a crate's incremental state: its next compile starts from
    /// scratch.
    pub fn forget_incremental(&self, platform: Option<&str>, crate_name: &str) {
        for dir in self.incremental_dirs(platform, crate_name) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Whether a crate's next compile can start from incremental state.
    pub fn has_incremental(&self, platform: Option<&str>, crate_name: &str) -> bool {
        !self.incremental_dirs(platform, crate_name).is_empty()
    }

    /// The host profile directory (`target/orchestrator/debug`): binaries,
    /// the ledger, the timings report.
    pub fn profile_dir(&self) -> PathBuf {
        self.root(None)
    }

    /// One JSON file per unit: what it was last built from.
    pub fn ledger(&self) -> PathBuf {
        self.profile_dir().join(".ledger")
    }

    pub fn create(&self, platforms: &[Option<&str>]) -> std::io::Result<()> {
        std::fs::create_dir_all(self.ledger())?;
        std::fs::create_dir_all(self.tmp())?;
        for platform in platforms {
            for dir in [
                self.deps(*platform),
                self.build(*platform),
                self.incremental(*platform),
            ] {
                std::fs::create_dir_all(dir)?;
            }
        }
        Ok(())
    }
}

/// A unit's part in link-time optimization (cargo's `lto::Lto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Lto {
    /// This unit runs LTO: `-C lto` (`Some`: `-C lto=<value>`).
    Run(Option<&'static str>),
    /// `-C lto=off -C embed-bitcode=no`.
    Off,
    /// Only bitcode, for a dependency of an LTO'd artifact: `-C linker-plugin-lto`.
    OnlyBitcode,
    /// rustc's default: objects with embedded bitcode (no flag).
    ObjectAndBitcode,
    /// Only objects: `-C embed-bitcode=no`.
    OnlyObject,
}

impl Lto {
    pub fn args(self) -> Vec<String> {
        let c = |v: &str| ["-C".to_owned(), v.to_owned()];
        match self {
            Lto::Run(None) => c("lto").to_vec(),
            Lto::Run(Some(s)) => c(&format!("lto={s}")).to_vec(),
            Lto::Off => [c("lto=off"), c("embed-bitcode=no")].concat(),
            Lto::ObjectAndBitcode => Vec::new(),
            Lto::OnlyBitcode => c("linker-plugin-lto").to_vec(),
            Lto::OnlyObject => c("embed-bitcode=no").to_vec(),
        }
    }

    /// Whether code from other crates may be optimized into this unit's output.
    pub fn runs(self) -> bool {
        matches!(self, Lto::Run(_))
    }
}

/// The profile's `lto` setting as cargo's `profiles::Lto`.
enum ProfileLto {
    Bool(bool),
    Off,
    Named(&'static str),
}

fn profile_lto(text: &str) -> ProfileLto {
    match text {
        "false" => ProfileLto::Bool(false),
        "true" | "fat" => ProfileLto::Bool(true),
        "off" => ProfileLto::Off,
        "thin" => ProfileLto::Named("thin"),
        _ => ProfileLto::Bool(true),
    }
}

fn needs_object(types: &[CrateType]) -> bool {
    types.iter().any(|t| t.can_lto() || t.is_dynamic())
}

fn lto_when_needs_object(types: &[CrateType]) -> Lto {
    if types.iter().all(|t| *t == CrateType::Dylib) {
        Lto::OnlyObject
    } else {
        Lto::ObjectAndBitcode
    }
}

/// Every unit's LTO role, walking down from the roots as cargo does.
pub fn lto_roles(graph: &CrateGraph) -> UnitMap<Lto> {
    let mut roles: UnitMap<Option<Lto>> = UnitMap::filled(graph, None);
    for unit in graph.units().iter().filter(|u| u.is_root) {
        let root = root_lto(&unit.profile.lto, &unit.target.crate_types, unit.for_host());
        calculate(graph, &mut roles, unit.id, root);
    }
    graph
        .ids()
        .map(|id| roles[id].unwrap_or(Lto::OnlyObject))
        .collect()
}

/// The LTO role of a root of cargo's plan (a doc test is one too).
pub fn root_lto(profile_lto_setting: &str, crate_types: &[CrateType], for_host: bool) -> Lto {
    match profile_lto(profile_lto_setting) {
        ProfileLto::Bool(false) => Lto::OnlyObject,
        ProfileLto::Off => Lto::Off,
        _ if for_host => Lto::OnlyObject,
        _ if needs_object(crate_types) => lto_when_needs_object(crate_types),
        _ => Lto::OnlyBitcode,
    }
}

fn calculate(graph: &CrateGraph, roles: &mut UnitMap<Option<Lto>>, id: UnitId, parent: Lto) {
    let unit = graph.unit(id);
    let types: &[CrateType] = if unit.kind == UnitKind::RunBuildScript {
        &[CrateType::Bin]
    } else {
        &unit.target.crate_types
    };
    let lto = if unit.for_host() {
        Lto::OnlyObject
    } else if types.iter().all(|t| t.can_lto()) {
        match profile_lto(&unit.profile.lto) {
            ProfileLto::Named(s) => Lto::Run(Some(s)),
            ProfileLto::Off => Lto::Off,
            ProfileLto::Bool(true) => Lto::Run(None),
            ProfileLto::Bool(false) => Lto::OnlyObject,
        }
    } else {
        match (parent, needs_object(types)) {
            (Lto::Run(_), false) => Lto::OnlyBitcode,
            (Lto::Run(_), true) | (Lto::OnlyBitcode, true) => lto_when_needs_object(types),
            (Lto::Off, _) => Lto::Off,
            (_, false) | (Lto::OnlyObject, true) | (Lto::ObjectAndBitcode, true) => parent,
        }
    };
    let merged = match roles[id] {
        None => lto,
        Some(existing) => {
            let result = match (lto, existing) {
                (Lto::OnlyBitcode, Lto::OnlyBitcode) => Lto::OnlyBitcode,
                (Lto::OnlyObject, Lto::OnlyObject) => Lto::OnlyObject,
                (Lto::Run(s), _) | (_, Lto::Run(s)) => Lto::Run(s),
                (Lto::Off, _) | (_, Lto::Off) => Lto::Off,
                (Lto::ObjectAndBitcode, _) | (_, Lto::ObjectAndBitcode) => Lto::ObjectAndBitcode,
                (Lto::OnlyObject, Lto::OnlyBitcode) | (Lto::OnlyBitcode, Lto::OnlyObject) => {
                    Lto::ObjectAndBitcode
                }
            };
            if result == existing {
                return;
            }
            result
        }
    };
    roles[id] = Some(merged);
    for dep in unit.deps.clone() {
        calculate(graph, roles, dep.unit, merged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_and_roots() {
        let inherits = |name: &str| match name {
            "fast" => Some("release".to_owned()),
            "ci" => Some("dev".to_owned()),
            "deeper" => Some("fast".to_owned()),
            _ => None,
        };
        let p = Profile::new("dev", &inherits);
        assert_eq!((p.dir_name.as_str(), p.release_root), ("debug", false));
        let p = Profile::new("release", &inherits);
        assert_eq!((p.dir_name.as_str(), p.release_root), ("release", true));
        let p = Profile::new("deeper", &inherits);
        assert_eq!((p.dir_name.as_str(), p.release_root), ("deeper", true));
        let p = Profile::new("ci", &inherits);
        assert_eq!((p.dir_name.as_str(), p.release_root), ("ci", false));
    }

    #[test]
    fn layout_paths() {
        let l = Layout::new(Path::new("/t"), &Profile::dev());
        assert_eq!(l.deps(None), PathBuf::from("/t/debug/deps"));
        assert_eq!(
            l.deps(Some("x86_64-unknown-linux-musl")),
            PathBuf::from("/t/x86_64-unknown-linux-musl/debug/deps")
        );
        assert_eq!(l.ledger(), PathBuf::from("/t/debug/.ledger"));
    }
}
