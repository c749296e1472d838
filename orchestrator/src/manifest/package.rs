//! Resolve one package manifest: inheritance, targets, dependencies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Value;

use super::raw::{RawManifest, RawPackage};
use super::{Dependency, Package, PackageMetadata, Target, TargetKind, Version};
use crate::error::{Error, Result};
use crate::paths::normalize;

/// What a member may inherit from the workspace root.
#[derive(Debug, Default)]
pub struct Inherited<'a> {
    pub root: Option<&'a Path>,
    pub package: Option<&'a toml::Table>,
    pub dependencies: Option<&'a BTreeMap<String, Value>>,
}

const EDITIONS: [&str; 4] = ["2015", "2018", "2021", "2024"];

/// Turn a parsed manifest with a `[package]` table into a [`Package`].
pub fn resolve(
    manifest_path: &Path,
    raw: &RawManifest,
    pkg: &RawPackage,
    inherited: &Inherited<'_>,
    is_member: bool,
) -> Result<Package> {
    let dir = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let name = pkg
        .name
        .clone()
        .ok_or_else(|| Error::manifest(manifest_path, None, "`package.name` is missing"))?;
    let cx = Cx {
        path: manifest_path,
        krate: &name,
        inherited,
    };
    reject_unsupported(&cx, raw, pkg, &dir)?;

    let version_text = cx
        .string("version", pkg.version.as_ref())?
        .unwrap_or_else(|| "0.0.0".to_owned());
    let version = parse_version(&version_text).ok_or_else(|| {
        cx.error(format!(
            "`package.version` `{version_text}` is not a semantic version"
        ))
    })?;
    let edition = cx
        .string("edition", pkg.edition.as_ref())?
        .unwrap_or_else(|| "2015".to_owned());
    if !EDITIONS.contains(&edition.as_str()) {
        return Err(cx.error(format!(
            "unknown edition `{edition}` (expected one of {})",
            EDITIONS.join(", ")
        )));
    }
    let metadata = PackageMetadata {
        authors: cx.string_list("authors", pkg.authors.as_ref())?,
        description: cx.string("description", pkg.description.as_ref())?,
        homepage: cx.string("homepage", pkg.homepage.as_ref())?,
        repository: cx.string("repository", pkg.repository.as_ref())?,
        license: cx.string("license", pkg.license.as_ref())?,
        license_file: cx.string("license-file", pkg.license_file.as_ref())?,
        rust_version: cx.string("rust-version", pkg.rust_version.as_ref())?,
        readme: cx.readme(pkg.readme.as_ref())?,
    };

    let dependencies = cx.dependencies(&dir, &raw.dependencies, "dependencies")?;
    let dev_dependencies = cx.dependencies(&dir, &raw.dev_dependencies, "dev-dependencies")?;
    check_features(&cx, &raw.features, &dependencies)?;
    let targets = super::workspace::discover_targets(&cx_target(&cx), &dir, &name, raw, pkg)?;

    Ok(Package {
        name: name.clone(),
        version,
        edition,
        metadata,
        manifest_path: manifest_path.to_path_buf(),
        dir,
        is_member,
        targets,
        dependencies,
        dev_dependencies,
        features: raw.features.clone(),
    })
}

fn cx_target<'a>(cx: &'a Cx<'a>) -> TargetCx<'a> {
    TargetCx {
        path: cx.path,
        krate: cx.krate,
    }
}

/// Names the manifest and crate for target-discovery errors.
pub struct TargetCx<'a> {
    pub path: &'a Path,
    pub krate: &'a str,
}

impl TargetCx<'_> {
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::manifest(self.path, Some(self.krate), message)
    }

    pub fn unsupported(&self, what: impl Into<String>) -> Error {
        Error::unsupported(self.path, self.krate, what)
    }
}

/// Build a target, checking that its source file exists.
pub fn target(
    cx: &TargetCx<'_>,
    name: &str,
    kind: TargetKind,
    src: PathBuf,
    key: &str,
) -> Result<Target> {
    if !src.is_file() {
        return Err(cx.error(format!(
            "{key} target `{name}` has no source file at `{}`",
            src.display()
        )));
    }
    Ok(Target {
        name: name.to_owned(),
        kind,
        src_path: src,
    })
}

struct Cx<'a> {
    path: &'a Path,
    krate: &'a str,
    inherited: &'a Inherited<'a>,
}

impl Cx<'_> {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::manifest(self.path, Some(self.krate), message)
    }

    fn unsupported(&self, what: impl Into<String>) -> Error {
        Error::unsupported(self.path, self.krate, what)
    }

    /// Follow `key = { workspace = true }` to `[workspace.package]`.
    fn inherit<'v>(&'v self, key: &str, value: Option<&'v Value>) -> Result<Option<&'v Value>> {
        let Some(value) = value else { return Ok(None) };
        let Some(table) = value.as_table() else {
            return Ok(Some(value));
        };
        if table.get("workspace").and_then(Value::as_bool) != Some(true) {
            return Err(self.error(format!(
                "`package.{key}` must be a value or `{{ workspace = true }}`"
            )));
        }
        let Some(ws) = self.inherited.package else {
            return Err(self.error(format!(
                "`package.{key}` is inherited with `workspace = true`, but the workspace root has no `[workspace.package]` table"
            )));
        };
        match ws.get(key) {
            Some(v) => Ok(Some(v)),
            None => Err(self.error(format!(
                "`package.{key}` is inherited, but `[workspace.package]` has no `{key}`"
            ))),
        }
    }

    fn string(&self, key: &str, value: Option<&Value>) -> Result<Option<String>> {
        match self.inherit(key, value)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.error(format!("`package.{key}` must be a string"))),
        }
    }

    fn string_list(&self, key: &str, value: Option<&Value>) -> Result<Vec<String>> {
        match self.inherit(key, value)? {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        self.error(format!("`package.{key}` must be a list of strings"))
                    })
                })
                .collect(),
            Some(_) => Err(self.error(format!("`package.{key}` must be a list of strings"))),
        }
    }

    fn readme(&self, value: Option<&Value>) -> Result<Option<String>> {
        match self.inherit("readme", value)? {
            None | Some(Value::Boolean(false)) => Ok(None),
            Some(Value::Boolean(true)) => Ok(Some("README.md".to_owned())),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.error("`package.readme` must be a string or a boolean")),
        }
    }

    fn dependencies(
        &self,
        dir: &Path,
        deps: &BTreeMap<String, Value>,
        section: &str,
    ) -> Result<Vec<Dependency>> {
        deps.iter()
            .map(|(name, spec)| self.dependency(dir, name, spec, section))
            .collect()
    }

    fn dependency(
        &self,
        dir: &Path,
        name: &str,
        spec: &Value,
        section: &str,
    ) -> Result<Dependency> {
        let Some(table) = spec.as_table() else {
            return Err(self.unsupported(format!(
                "the dependency `{name}` from a registry (crates.io) in `[{section}]` (only `path` dependencies are supported)"
            )));
        };
        let mut features = string_array(table.get("features")).ok_or_else(|| {
            self.error(format!(
                "`{section}.{name}.features` must be a list of strings"
            ))
        })?;
        let mut optional = table
            .get("optional")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut default_features = default_features(table);
        let (source, base): (&toml::Table, &Path) = if table
            .get("workspace")
            .and_then(Value::as_bool)
            == Some(true)
        {
            let (Some(root), Some(ws_deps)) = (self.inherited.root, self.inherited.dependencies)
            else {
                return Err(self.error(format!(
                        "`{section}.{name}` uses `workspace = true`, but the workspace root has no `[workspace.dependencies]`"
                    )));
            };
            let Some(ws_spec) = ws_deps.get(name) else {
                return Err(self.error(format!(
                        "`{section}.{name}` uses `workspace = true`, but `[workspace.dependencies]` has no `{name}`"
                    )));
            };
            let Some(ws_table) = ws_spec.as_table() else {
                return Err(self.unsupported(format!(
                        "the dependency `{name}` from a registry (crates.io), inherited from `[workspace.dependencies]` (only `path` dependencies are supported)"
                    )));
            };
            features.extend(string_array(ws_table.get("features")).unwrap_or_default());
            optional |= ws_table
                .get("optional")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            default_features &= self::default_features(ws_table);
            (ws_table, root)
        } else {
            (table, dir)
        };
        if source.contains_key("git") {
            return Err(self.unsupported(format!(
                "the dependency `{name}` from a git repository in `[{section}]` (only `path` dependencies are supported)"
            )));
        }
        let Some(path) = source.get("path").and_then(Value::as_str) else {
            return Err(self.unsupported(format!(
                "the dependency `{name}` from a registry in `[{section}]` (only `path` dependencies are supported)"
            )));
        };
        if optional {
            return Err(self.unsupported(format!(
                "the optional dependency `{name}` (features that change the set of dependencies)"
            )));
        }
        let package = match source.get("package").or_else(|| table.get("package")) {
            None => name.to_owned(),
            Some(Value::String(p)) => p.clone(),
            Some(_) => {
                return Err(self.error(format!("`{section}.{name}.package` must be a string")));
            }
        };
        Ok(Dependency {
            name: name.to_owned(),
            package,
            dir: normalize(&base.join(path)),
            features,
            default_features,
        })
    }
}

fn default_features(table: &toml::Table) -> bool {
    table
        .get("default-features")
        .or_else(|| table.get("default_features"))
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

fn string_array(value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        None => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(_) => None,
    }
}

fn reject_unsupported(cx: &Cx<'_>, raw: &RawManifest, pkg: &RawPackage, dir: &Path) -> Result<()> {
    match &pkg.build {
        Some(Value::Boolean(false)) => {}
        Some(Value::String(script)) => {
            return Err(cx.unsupported(format!("a build script (`build = \"{script}\"`)")));
        }
        Some(_) => return Err(cx.unsupported("a build script (`package.build`)")),
        None if dir.join("build.rs").is_file() => {
            return Err(cx.unsupported("a build script (`build.rs`)"));
        }
        None => {}
    }
    if pkg.links.is_some() {
        return Err(cx.unsupported("`package.links` (native libraries)"));
    }
    if !raw.build_dependencies.is_empty() {
        return Err(cx.unsupported("`[build-dependencies]` (build scripts)"));
    }
    if raw.target.values().any(|t| !t.is_empty()) {
        return Err(cx.unsupported("platform-specific `[target.'...'.dependencies]`"));
    }
    if raw.patch.is_some() || raw.replace.is_some() {
        return Err(cx.unsupported("`[patch]` or `[replace]`"));
    }
    Ok(())
}

/// Features may only toggle `cfg`s and enable features of dependencies;
/// anything that changes the set of dependencies is rejected.
fn check_features(
    cx: &Cx<'_>,
    features: &BTreeMap<String, Vec<String>>,
    deps: &[Dependency],
) -> Result<()> {
    for (feature, enables) in features {
        for item in enables {
            if item.starts_with("dep:") || item.contains("?/") {
                return Err(cx.unsupported(format!(
                    "the feature `{feature} = [\"{item}\"]` (features that change the set of dependencies)"
                )));
            }
            match item.split_once('/') {
                Some((dep, _)) if !deps.iter().any(|d| d.name == dep) => {
                    return Err(cx.error(format!(
                        "feature `{feature}` enables `{item}`, but `{dep}` is not a dependency"
                    )));
                }
                None if !features.contains_key(item) => {
                    return Err(cx.error(format!(
                        "feature `{feature}` enables `{item}`, which is not a feature of this package"
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// `MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
pub fn parse_version(text: &str) -> Option<Version> {
    let core_and_pre = text.split('+').next()?;
    let (core, pre) = match core_and_pre.split_once('-') {
        Some((c, p)) => (c, p.to_owned()),
        None => (core_and_pre, String::new()),
    };
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let (major, minor, patch) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() {
        return None;
    }
    Some(Version {
        text: text.to_owned(),
        major,
        minor,
        patch,
        pre,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions() {
        let v = parse_version("1.22.3-beta.1+abc").unwrap();
        assert_eq!(
            (v.major, v.minor, v.patch, v.pre.as_str()),
            (1, 22, 3, "beta.1")
        );
        assert!(parse_version("1.2").is_none());
        assert!(parse_version("1.2.x").is_none());
        assert!(parse_version("1.2.3.4").is_none());
    }
}
