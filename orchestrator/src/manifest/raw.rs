//! The shape of a `Cargo.toml` as written, before inheritance and defaults.
//!
//! Fields that may be inherited from `[workspace.package]` or that take
//! several forms stay `toml::Value` here and are interpreted in `package.rs`,
//! where an error can name the exact key. Keys orchestrator does not use are
//! ignored, as cargo ignores unknown keys (with a warning).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawManifest {
    pub package: Option<RawPackage>,
    pub workspace: Option<RawWorkspace>,
    pub lib: Option<RawLib>,
    #[serde(default)]
    pub bin: Vec<RawBin>,
    #[serde(default)]
    pub dependencies: BTreeMap<String, Value>,
    #[serde(default, alias = "dev_dependencies")]
    pub dev_dependencies: BTreeMap<String, Value>,
    #[serde(default, alias = "build_dependencies")]
    pub build_dependencies: BTreeMap<String, Value>,
    #[serde(default)]
    pub target: BTreeMap<String, toml::Table>,
    #[serde(default)]
    pub features: BTreeMap<String, Vec<String>>,
    pub profile: Option<toml::Table>,
    pub patch: Option<toml::Table>,
    pub replace: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawPackage {
    pub name: Option<String>,
    pub version: Option<Value>,
    pub edition: Option<Value>,
    pub authors: Option<Value>,
    pub description: Option<Value>,
    pub homepage: Option<Value>,
    pub repository: Option<Value>,
    pub license: Option<Value>,
    pub license_file: Option<Value>,
    pub rust_version: Option<Value>,
    pub readme: Option<Value>,
    pub build: Option<Value>,
    pub links: Option<String>,
    pub autobins: Option<bool>,
    pub autolib: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawWorkspace {
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub package: Option<toml::Table>,
    #[serde(default)]
    pub dependencies: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawLib {
    pub name: Option<String>,
    pub path: Option<String>,
    #[serde(alias = "crate_type")]
    pub crate_type: Option<Vec<String>>,
    #[serde(alias = "proc_macro")]
    pub proc_macro: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawBin {
    pub name: Option<String>,
    pub path: Option<String>,
    #[serde(default, alias = "required_features")]
    pub required_features: Vec<String>,
}
