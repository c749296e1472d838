//! The part of `cargo metadata --format-version 1` orchestrator reads:
//! package facts the unit graph lacks (the `CARGO_PKG_*` values, `links`,
//! declared features, targets, manifest paths). Never its features or
//! dependency resolution: the unit graph is the one source of what is built.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub packages: Vec<MetaPackage>,
    pub workspace_members: Vec<String>,
    #[serde(default)]
    pub workspace_default_members: Vec<String>,
    pub workspace_root: String,
    pub target_directory: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaPackage {
    pub name: String,
    pub version: String,
    pub id: String,
    pub source: Option<String>,
    pub manifest_path: String,
    #[serde(default)]
    pub authors: Vec<String>,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub repository: Option<String>,
    pub license: Option<String>,
    pub license_file: Option<String>,
    pub readme: Option<String>,
    pub rust_version: Option<String>,
    pub links: Option<String>,
    /// `package.default-run`: the binary `run` picks among several.
    #[serde(default)]
    pub default_run: Option<String>,
    pub edition: String,
    /// Every feature the package declares (implicit optional-dependency features too).
    pub features: std::collections::BTreeMap<String, Vec<String>>,
    pub targets: Vec<MetaTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaTarget {
    pub kind: Vec<String>,
    pub name: String,
    pub src_path: String,
    #[serde(default)]
    pub required_features: Option<Vec<String>>,
}
