//! The JSON cargo prints for `cargo build --unit-graph` (format version 1):
//! every unit cargo would compile or run, with its profile, platform, mode,
//! features and dependencies. Only the fields orchestrator uses are read;
//! unknown fields are ignored, an unknown `version` is refused.

use serde::{Deserialize, Serialize};

/// The unit-graph format versions orchestrator understands.
pub const KNOWN_VERSIONS: &[u32] = &[1];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitGraph {
    pub version: u32,
    pub units: Vec<RawUnit>,
    pub roots: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawUnit {
    pub pkg_id: String,
    pub target: RawTarget,
    pub profile: RawProfile,
    /// `None`: the host (no `--target`, or a build script / proc-macro).
    pub platform: Option<String>,
    pub mode: String,
    pub features: Vec<String>,
    pub dependencies: Vec<RawDep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawTarget {
    pub kind: Vec<String>,
    pub crate_types: Vec<String>,
    pub name: String,
    pub src_path: String,
    pub edition: String,
    #[serde(
        default,
        rename = "required-features",
        skip_serializing_if = "Option::is_none"
    )]
    pub required_features: Option<Vec<String>>,
    #[serde(default)]
    pub doc: bool,
    #[serde(default)]
    pub doctest: bool,
    #[serde(default)]
    pub test: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawDep {
    pub index: usize,
    pub extern_crate_name: String,
}

/// A unit's profile as cargo resolved it (after build overrides, per-package
/// overrides and cargo's build-dependency debuginfo weakening).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawProfile {
    pub name: String,
    pub opt_level: String,
    /// `"false"`, `"true"`, `"thin"`, `"fat"`, `"off"`.
    pub lto: String,
    #[serde(default)]
    pub codegen_backend: Option<String>,
    #[serde(default)]
    pub codegen_units: Option<u32>,
    /// `0`, `1`, `2`, or `"line-tables-only"` / `"line-directives-only"`.
    pub debuginfo: serde_json::Value,
    #[serde(default)]
    pub split_debuginfo: Option<String>,
    pub debug_assertions: bool,
    pub overflow_checks: bool,
    pub rpath: bool,
    pub incremental: bool,
    pub panic: String,
    /// `{"deferred": "None"}`, `{"resolved": {"Named": "debuginfo"}}`...
    pub strip: serde_json::Value,
    /// Unstable `-Z trim-paths`/`profile-rustflags`: refused when present.
    #[serde(default)]
    pub rustflags: Option<Vec<String>>,
    #[serde(default)]
    pub trim_paths: Option<serde_json::Value>,
}

impl RawProfile {
    /// `-C debuginfo=` value, or `None` for no debuginfo.
    pub fn debuginfo_level(&self) -> Option<String> {
        match &self.debuginfo {
            serde_json::Value::Number(n) if n.as_u64() == Some(0) => None,
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::String(s) if s == "none" || s == "0" => None,
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// `-C strip=` value, or `None`.
    pub fn strip_level(&self) -> Option<String> {
        let inner = self
            .strip
            .get("resolved")
            .or_else(|| self.strip.get("deferred"))
            .unwrap_or(&self.strip);
        match inner {
            serde_json::Value::String(s) if s == "None" || s == "none" => None,
            serde_json::Value::Object(map) => {
                map.get("Named").and_then(|v| v.as_str()).map(str::to_owned)
            }
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl UnitGraph {
    /// The graph without units of `mode` (and edges to them), indices
    /// renumbered; and the units left out, their dependencies renumbered
    /// into the new graph.
    pub fn without_mode(&self, mode: &str) -> (UnitGraph, Vec<RawUnit>) {
        let mut new_index = vec![None; self.units.len()];
        let mut units = Vec::with_capacity(self.units.len());
        for (i, unit) in self.units.iter().enumerate() {
            if unit.mode != mode {
                new_index[i] = Some(units.len());
                units.push(unit.clone());
            }
        }
        let mut dropped: Vec<RawUnit> = self
            .units
            .iter()
            .filter(|u| u.mode == mode)
            .cloned()
            .collect();
        for unit in units.iter_mut().chain(dropped.iter_mut()) {
            unit.dependencies = unit
                .dependencies
                .iter()
                .filter_map(|d| {
                    let index = (*new_index.get(d.index)?)?;
                    Some(RawDep {
                        index,
                        extern_crate_name: d.extern_crate_name.clone(),
                    })
                })
                .collect();
        }
        let roots = self
            .roots
            .iter()
            .filter_map(|&r| *new_index.get(r)?)
            .collect();
        (
            UnitGraph {
                version: self.version,
                units,
                roots,
            },
            dropped,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(debuginfo: serde_json::Value, strip: serde_json::Value) -> RawProfile {
        RawProfile {
            name: "dev".into(),
            opt_level: "0".into(),
            lto: "false".into(),
            codegen_backend: None,
            codegen_units: None,
            debuginfo,
            split_debuginfo: None,
            debug_assertions: true,
            overflow_checks: true,
            rpath: false,
            incremental: true,
            panic: "unwind".into(),
            strip,
            rustflags: None,
            trim_paths: None,
        }
    }

    #[test]
    fn debuginfo_and_strip_forms() {
        use serde_json::json;
        let p = profile(json!(2), json!({"deferred": "None"}));
        assert_eq!(p.debuginfo_level().as_deref(), Some("2"));
        assert_eq!(p.strip_level(), None);
        let p = profile(json!(0), json!({"resolved": {"Named": "debuginfo"}}));
        assert_eq!(p.debuginfo_level(), None);
        assert_eq!(p.strip_level().as_deref(), Some("debuginfo"));
        let p = profile(json!("line-tables-only"), json!({"resolved": "None"}));
        assert_eq!(p.debuginfo_level().as_deref(), Some("line-tables-only"));
        assert_eq!(p.strip_level(), None);
    }

    #[test]
    fn dropping_a_mode_renumbers_edges_and_roots() {
        let unit = |mode: &str, deps: &[usize]| RawUnit {
            pkg_id: "p".into(),
            target: RawTarget {
                kind: vec!["lib".into()],
                crate_types: vec!["lib".into()],
                name: "p".into(),
                src_path: "/p/src/lib.rs".into(),
                edition: "2024".into(),
                required_features: None,
                doc: true,
                doctest: true,
                test: true,
                harness: None,
            },
            profile: profile(
                serde_json::json!(2),
                serde_json::json!({"deferred": "None"}),
            ),
            platform: None,
            mode: mode.into(),
            features: Vec::new(),
            dependencies: deps
                .iter()
                .map(|&index| RawDep {
                    index,
                    extern_crate_name: "p".into(),
                })
                .collect(),
        };
        let graph = UnitGraph {
            version: 1,
            units: vec![
                unit("build", &[]),
                unit("doctest", &[0]),
                unit("test", &[0]),
            ],
            roots: vec![1, 2],
        };
        let (kept, dropped) = graph.without_mode("doctest");
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].dependencies[0].index, 0);
        assert_eq!(kept.units.len(), 2);
        assert_eq!(kept.roots, vec![1]);
        assert_eq!(kept.units[1].mode, "test");
        assert_eq!(kept.units[1].dependencies[0].index, 0);
    }
}
