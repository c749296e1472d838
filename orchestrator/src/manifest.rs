//! The little orchestrator reads from manifests itself — everything else
//! comes from cargo.
//!
//! Owns: finding the workspace root before cargo is asked (so its answer can
//! be kept under the target directory and a no-op build runs no cargo), the
//! `[lints]` table of local packages (cargo passes it to rustc but reports it
//! nowhere), and custom profiles' `inherits` (for build scripts' `PROFILE`).
//! Never: resolves dependencies, features or targets — cargo's unit graph does.

use std::path::{Path, PathBuf};

use toml::Value;

use crate::error::{Error, Result};
use crate::paths::normalize;

/// The manifest a command starts from and its workspace's root manifest.
#[derive(Debug, Clone)]
pub struct Located {
    /// `--manifest-path`, or the nearest `Cargo.toml` above the current directory.
    pub manifest: PathBuf,
    /// The workspace root directory (where `Cargo.lock` lives).
    pub root: PathBuf,
}

/// Find the workspace the way cargo does: from `--manifest-path` or the
/// nearest `Cargo.toml` above `cwd`, walk up to the first manifest with a
/// `[workspace]` table that lists it (or use the package itself).
pub fn locate(cwd: &Path, manifest_path: Option<&Path>) -> Result<Located> {
    let start = match manifest_path {
        Some(path) => {
            let path = normalize(&cwd.join(path));
            if path.is_dir() {
                return Err(Error::manifest(
                    &path,
                    None,
                    "`--manifest-path` must point to a `Cargo.toml` file, not a directory",
                ));
            }
            if !path.is_file() {
                return Err(Error::io(
                    "read manifest",
                    &path,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ));
            }
            path
        }
        None => cwd
            .ancestors()
            .map(|dir| dir.join("Cargo.toml"))
            .find(|m| m.is_file())
            .ok_or_else(|| Error::NoManifest {
                dir: cwd.to_path_buf(),
            })?,
    };
    let start = start
        .canonicalize()
        .map_err(|e| Error::io("resolve", &start, e))?;
    let root_manifest = find_root(&start)?;
    Ok(Located {
        manifest: start,
        root: root_manifest
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    })
}

fn find_root(start: &Path) -> Result<PathBuf> {
    let table = read(start)?;
    if table.contains_key("workspace") {
        return Ok(start.to_path_buf());
    }
    let package_dir = start.parent().unwrap_or(Path::new("/"));
    if let Some(explicit) = table
        .get("package")
        .and_then(|p| p.get("workspace"))
        .and_then(Value::as_str)
    {
        return Ok(normalize(&package_dir.join(explicit).join("Cargo.toml")));
    }
    for dir in package_dir.ancestors().skip(1) {
        let candidate = dir.join("Cargo.toml");
        if !candidate.is_file() {
            continue;
        }
        let Ok(root) = read(&candidate) else { continue };
        let Some(ws) = root.get("workspace").and_then(Value::as_table) else {
            continue;
        };
        if lists_member(ws, dir, package_dir) {
            return Ok(candidate);
        }
    }
    Ok(start.to_path_buf())
}

/// Whether `workspace.members` (globs allowed) minus `exclude` names `member`.
fn lists_member(ws: &toml::Table, root: &Path, member: &Path) -> bool {
    let patterns = |key: &str| -> Vec<String> {
        ws.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let matches = |pattern: &str| {
        let full = root.join(pattern).to_string_lossy().into_owned();
        glob::Pattern::new(&full).is_ok_and(|p| p.matches_path(member))
            || normalize(&root.join(pattern)) == member
    };
    patterns("members").iter().any(|p| matches(p))
        && !patterns("exclude")
            .iter()
            .any(|e| member.starts_with(normalize(&root.join(e))))
}

fn read(path: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read manifest", path, e))?;
    toml::from_str(&text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let before = &text[..offset.min(text.len())];
        Error::TomlSyntax {
            path: path.to_path_buf(),
            line: before.matches('\n').count() + 1,
            column: before.chars().rev().take_while(|&c| c != '\n').count() + 1,
            message: e.message().trim().to_owned(),
        }
    })
}

/// Targets of the package at `manifest` declared with `harness = false`, as
/// `kind:name` (`test:bench_like`, `lib:my_lib`): cargo compiles their test
/// and bench units as plain binaries instead of with `--test`. Neither the
/// unit graph nor `cargo metadata` reports the flag, so it is read here.
pub fn harnessless_targets(manifest: &Path, package: &str) -> Result<Vec<String>> {
    let table = read(manifest)?;
    let off = |t: &toml::Table| t.get("harness").and_then(Value::as_bool) == Some(false);
    let mut found = Vec::new();
    if let Some(lib) = table.get("lib").and_then(Value::as_table)
        && off(lib)
    {
        let name = lib.get("name").and_then(Value::as_str).unwrap_or(package);
        found.push(format!("lib:{}", name.replace('-', "_")));
    }
    for (key, kind) in [
        ("bin", "bin"),
        ("test", "test"),
        ("bench", "bench"),
        ("example", "example"),
    ] {
        let targets = table.get(key).and_then(Value::as_array);
        for target in targets.into_iter().flatten().filter_map(Value::as_table) {
            if let Some(name) = target.get("name").and_then(Value::as_str)
                && off(target)
            {
                found.push(format!("{kind}:{name}"));
            }
        }
    }
    Ok(found)
}

/// `[lints]` of the package at `manifest` as rustc flags, in cargo's order
/// (by priority, then name descending), plus `unexpected_cfgs`'s
/// `check-cfg` list. `lints.workspace = true` takes `[workspace.lints]`
/// from `root_manifest`.
pub fn lint_flags(manifest: &Path, root_manifest: &Path) -> Result<Vec<String>> {
    let table = read(manifest)?;
    let Some(lints) = table.get("lints").and_then(Value::as_table) else {
        return Ok(Vec::new());
    };
    let lints = if lints.get("workspace").and_then(Value::as_bool) == Some(true) {
        let root = read(root_manifest)?;
        match root
            .get("workspace")
            .and_then(|w| w.get("lints"))
            .and_then(Value::as_table)
        {
            Some(l) => l.clone(),
            None => {
                return Err(Error::manifest(
                    manifest,
                    None,
                    "`lints.workspace = true` but the workspace has no `[workspace.lints]`",
                ));
            }
        }
    } else {
        lints.clone()
    };
    let mut flags: Vec<(i64, std::cmp::Reverse<String>, String)> = Vec::new();
    let mut check_cfg = Vec::new();
    for (tool, entries) in &lints {
        if tool == "cargo" || tool == "workspace" {
            continue;
        }
        let Some(entries) = entries.as_table() else {
            continue;
        };
        for (name, config) in entries {
            let (level, priority) = match config {
                Value::String(level) => (level.as_str(), 0),
                Value::Table(t) => (
                    t.get("level").and_then(Value::as_str).unwrap_or("warn"),
                    t.get("priority").and_then(Value::as_integer).unwrap_or(0),
                ),
                _ => continue,
            };
            let flag = match level {
                "forbid" => "--forbid",
                "deny" => "--deny",
                "warn" => "--warn",
                "allow" => "--allow",
                other => {
                    return Err(Error::manifest(
                        manifest,
                        None,
                        format!("unknown lint level `{other}` for `{name}`"),
                    ));
                }
            };
            let option = if tool == "rust" {
                format!("{flag}={name}")
            } else {
                format!("{flag}={tool}::{name}")
            };
            flags.push((priority, std::cmp::Reverse(name.clone()), option));
            if tool == "rust"
                && name == "unexpected_cfgs"
                && let Some(list) = config.get("check-cfg").and_then(Value::as_array)
            {
                check_cfg.extend(list.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
        }
    }
    flags.sort();
    let mut out: Vec<String> = flags.into_iter().map(|(_, _, o)| o).collect();
    for cfg in check_cfg {
        out.push("--check-cfg".to_owned());
        out.push(cfg);
    }
    Ok(out)
}

/// `[profile.<name>].inherits` in the root manifest.
pub fn profile_inherits(root_manifest: &Path, profile: &str) -> Option<String> {
    let table = read(root_manifest).ok()?;
    table
        .get("profile")?
        .get(profile)?
        .get("inherits")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lints_in_cargo_order_with_workspace_inheritance() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Cargo.toml");
        std::fs::write(
            &root,
            "[workspace]\nmembers=[\"a\"]\n[workspace.lints.rust]\nunsafe_code = \"forbid\"\nunexpected_cfgs = { level = \"warn\", check-cfg = ['cfg(foo)'] }\n[workspace.lints.clippy]\nall = { level = \"deny\", priority = -1 }\npedantic = \"warn\"\n",
        )
        .unwrap();
        let member = dir.path().join("a/Cargo.toml");
        std::fs::create_dir_all(member.parent().unwrap()).unwrap();
        std::fs::write(
            &member,
            "[package]\nname=\"a\"\n[lints]\nworkspace = true\n",
        )
        .unwrap();
        assert_eq!(
            lint_flags(&member, &root).unwrap(),
            [
                "--deny=clippy::all",
                "--forbid=unsafe_code",
                "--warn=unexpected_cfgs",
                "--warn=clippy::pedantic",
                "--check-cfg",
                "cfg(foo)"
            ]
        );
    }

    #[test]
    fn finds_the_root_from_a_member() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        std::fs::write(
            base.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\"]\n",
        )
        .unwrap();
        std::fs::create_dir_all(base.join("crates/a/src")).unwrap();
        std::fs::write(
            base.join("crates/a/Cargo.toml"),
            "[package]\nname = \"a\"\n",
        )
        .unwrap();
        let found = locate(&base.join("crates/a/src"), None).unwrap();
        assert_eq!(found.root, base);
        assert_eq!(found.manifest, base.join("crates/a/Cargo.toml"));
        assert!(locate(&base, Some(Path::new("crates"))).is_err());
    }
}
