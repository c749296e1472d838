//! Find the workspace root, expand members, follow path dependencies.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::package::{self, Inherited, TargetCx};
use super::raw::{RawManifest, RawPackage};
use super::{Package, Target, TargetKind, Workspace};
use crate::error::{Error, Result};
use crate::paths::normalize;

/// Load the workspace containing `cwd`, or the one `manifest_path` belongs to.
pub fn load(cwd: &Path, manifest_path: Option<&Path>) -> Result<Workspace> {
    let start = match manifest_path {
        Some(path) => {
            let path = normalize(&cwd.join(path));
            if !path.is_file() {
                return Err(Error::io(
                    "read manifest",
                    &path,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ));
            }
            path
        }
        None => find_manifest(cwd)?,
    };
    let start = canonical(&start)?;
    let root_manifest = find_root(&start)?;
    load_from(&root_manifest)
}

/// Load the workspace whose root manifest is `root_manifest`.
pub fn load_from(root_manifest: &Path) -> Result<Workspace> {
    let root_manifest = canonical(root_manifest)?;
    let root = root_manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let raw = read_manifest(&root_manifest)?;
    let ws = raw.workspace.as_ref();
    let inherited = Inherited {
        root: Some(&root),
        package: ws.and_then(|w| w.package.as_ref()),
        dependencies: ws.map(|w| &w.dependencies),
    };
    if raw.profile.is_some() {
        return Err(Error::unsupported(
            &root_manifest,
            raw.package
                .as_ref()
                .and_then(|p| p.name.as_deref())
                .unwrap_or("(workspace root)"),
            "custom `[profile.*]` settings",
        ));
    }

    let mut loader = Loader {
        packages: Vec::new(),
        by_dir: HashMap::new(),
        by_name: HashMap::new(),
    };
    if let Some(pkg) = &raw.package {
        loader.add(package::resolve(
            &root_manifest,
            &raw,
            pkg,
            &inherited,
            true,
        )?)?;
    }
    if let Some(ws) = ws {
        for dir in member_dirs(&root_manifest, &root, &ws.members, &ws.exclude)? {
            let manifest = dir.join("Cargo.toml");
            let member = read_manifest(&manifest)?;
            let Some(pkg) = &member.package else {
                return Err(Error::manifest(
                    &manifest,
                    None,
                    "workspace member has no `[package]` table (nested virtual workspaces are not supported)",
                ));
            };
            let inherited_here = if member.workspace.is_some() {
                Inherited::default()
            } else {
                Inherited { ..inherited }
            };
            loader.add(package::resolve(
                &manifest,
                &member,
                pkg,
                &inherited_here,
                true,
            )?)?;
        }
    }
    loader.follow_path_dependencies(&inherited)?;
    Ok(Workspace::new(root, root_manifest, loader.packages))
}

struct Loader {
    packages: Vec<Package>,
    by_dir: HashMap<PathBuf, usize>,
    by_name: HashMap<String, usize>,
}

impl Loader {
    fn add(&mut self, package: Package) -> Result<()> {
        if self.by_dir.contains_key(&package.dir) {
            return Ok(());
        }
        if let Some(&other) = self.by_name.get(&package.name) {
            return Err(Error::DuplicatePackage {
                name: package.name.clone(),
                first: self.packages[other].manifest_path.clone(),
                second: package.manifest_path.clone(),
            });
        }
        self.by_name
            .insert(package.name.clone(), self.packages.len());
        self.by_dir.insert(package.dir.clone(), self.packages.len());
        self.packages.push(package);
        Ok(())
    }

    /// Load path dependencies that are not members (cargo builds them too).
    fn follow_path_dependencies(&mut self, inherited: &Inherited<'_>) -> Result<()> {
        let mut next = 0;
        while next < self.packages.len() {
            let deps: Vec<_> = self.packages[next]
                .dependencies
                .iter()
                .map(|d| (d.clone(), self.packages[next].clone_ident()))
                .collect();
            next += 1;
            for (dep, (krate, manifest_path)) in deps {
                let dep_dir =
                    canonical(&dep.dir).map_err(|_| missing_dep(&krate, &manifest_path, &dep))?;
                let dep_manifest = dep_dir.join("Cargo.toml");
                if !dep_manifest.is_file() {
                    return Err(missing_dep(&krate, &manifest_path, &dep));
                }
                let loaded = match self.by_dir.get(&dep_dir) {
                    Some(&index) => &self.packages[index],
                    None => {
                        let raw = read_manifest(&dep_manifest)?;
                        let Some(pkg) = &raw.package else {
                            return Err(Error::manifest(
                                &dep_manifest,
                                None,
                                format!(
                                    "the path dependency `{}` of crate `{krate}` has no `[package]` table",
                                    dep.name
                                ),
                            ));
                        };
                        let package = package::resolve(&dep_manifest, &raw, pkg, inherited, false)?;
                        self.add(package)?;
                        &self.packages[self.packages.len() - 1]
                    }
                };
                if loaded.name != dep.package {
                    return Err(Error::manifest(
                        &manifest_path,
                        Some(&krate),
                        format!(
                            "dependency `{}` expects package `{}`, but `{}` holds package `{}`",
                            dep.name,
                            dep.package,
                            dep_dir.display(),
                            loaded.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Package {
    fn clone_ident(&self) -> (String, PathBuf) {
        (self.name.clone(), self.manifest_path.clone())
    }
}

fn missing_dep(krate: &str, manifest: &Path, dep: &super::Dependency) -> Error {
    Error::MissingPathDependency {
        path: manifest.to_path_buf(),
        krate: krate.to_owned(),
        dep: dep.name.clone(),
        dep_path: dep.dir.clone(),
    }
}

/// Expand `members` (with globs) minus `exclude`, in a stable order.
fn member_dirs(
    manifest: &Path,
    root: &Path,
    members: &[String],
    exclude: &[String],
) -> Result<Vec<PathBuf>> {
    let excluded: Vec<PathBuf> = exclude.iter().map(|e| normalize(&root.join(e))).collect();
    let mut dirs = Vec::new();
    for pattern in members {
        if !is_glob(pattern) {
            let dir = normalize(&root.join(pattern));
            if !dir.join("Cargo.toml").is_file() {
                return Err(Error::MissingMemberManifest {
                    path: manifest.to_path_buf(),
                    member: dir,
                });
            }
            dirs.push(dir);
            continue;
        }
        let full = root.join(pattern);
        let matches = glob::glob(&full.to_string_lossy()).map_err(|e| {
            Error::manifest(
                manifest,
                None,
                format!("invalid member pattern `{pattern}`: {e}"),
            )
        })?;
        let mut found = 0;
        for entry in matches {
            let path = entry
                .map_err(|e| Error::io("read", e.path(), std::io::Error::other(e.to_string())))?;
            if !path.is_dir() {
                continue;
            }
            found += 1;
            let dir = normalize(&path);
            if excluded.iter().any(|e| dir.starts_with(e)) {
                continue;
            }
            if !dir.join("Cargo.toml").is_file() {
                return Err(Error::MissingMemberManifest {
                    path: manifest.to_path_buf(),
                    member: dir,
                });
            }
            dirs.push(dir);
        }
        if found == 0 {
            return Err(Error::GlobNoMatch {
                path: manifest.to_path_buf(),
                pattern: pattern.clone(),
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    Ok(dirs)
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', ']'])
}

fn find_manifest(cwd: &Path) -> Result<PathBuf> {
    cwd.ancestors()
        .map(|dir| dir.join("Cargo.toml"))
        .find(|m| m.is_file())
        .ok_or_else(|| Error::NoManifest {
            dir: cwd.to_path_buf(),
        })
}

/// Walk up from a manifest to the workspace root, as cargo does: the nearest
/// manifest with `[workspace]` whose members include this package, or the
/// package itself when there is none.
fn find_root(start: &Path) -> Result<PathBuf> {
    let raw = read_manifest(start)?;
    if raw.workspace.is_some() {
        return Ok(start.to_path_buf());
    }
    let package_dir = start.parent().unwrap_or(Path::new("/"));
    for dir in package_dir.ancestors().skip(1) {
        let candidate = dir.join("Cargo.toml");
        if !candidate.is_file() {
            continue;
        }
        let root = read_manifest(&candidate)?;
        let Some(ws) = &root.workspace else { continue };
        let listed = member_dirs(&candidate, dir, &ws.members, &ws.exclude).unwrap_or_default();
        if listed.iter().any(|m| m == package_dir) {
            return Ok(candidate);
        }
    }
    Ok(start.to_path_buf())
}

fn canonical(path: &Path) -> Result<PathBuf> {
    path.canonicalize()
        .map_err(|e| Error::io("resolve", path, e))
}

/// Read and parse a manifest; syntax errors carry line and column.
pub(super) fn read_manifest(path: &Path) -> Result<RawManifest> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read manifest", path, e))?;
    toml::from_str(&text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let (line, column) = line_column(&text, offset);
        Error::TomlSyntax {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    (line, column)
}

/// Targets from `[lib]`, `[[bin]]` and the standard layout.
pub(super) fn discover_targets(
    cx: &TargetCx<'_>,
    dir: &Path,
    name: &str,
    raw: &RawManifest,
    pkg: &RawPackage,
) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    let default_lib = dir.join("src/lib.rs");
    if raw.lib.is_some() || (pkg.autolib != Some(false) && default_lib.is_file()) {
        let lib = raw.lib.as_ref();
        let lib_name = lib
            .and_then(|l| l.name.clone())
            .unwrap_or_else(|| name.replace('-', "_"));
        let src = lib
            .and_then(|l| l.path.as_ref())
            .map(|p| normalize(&dir.join(p)))
            .unwrap_or(default_lib);
        let kind = lib_kind(cx, lib)?;
        targets.push(package::target(cx, &lib_name, kind, src, "library")?);
    }

    let mut bins: BTreeMap<String, PathBuf> = BTreeMap::new();
    if pkg.autobins != Some(false) {
        if dir.join("src/main.rs").is_file() {
            bins.insert(name.to_owned(), dir.join("src/main.rs"));
        }
        for (bin, path) in discover_bin_dir(&dir.join("src/bin")) {
            bins.insert(bin, path);
        }
    }
    for bin in &raw.bin {
        let Some(bin_name) = &bin.name else {
            return Err(cx.error("a `[[bin]]` target has no `name`"));
        };
        if !bin.required_features.is_empty() {
            return Err(cx.unsupported(format!("`required-features` on the binary `{bin_name}`")));
        }
        let path = match &bin.path {
            Some(p) => normalize(&dir.join(p)),
            None => default_bin_path(dir, name, bin_name),
        };
        // An explicit target replaces an inferred one at the same path.
        bins.retain(|_, p| *p != path);
        bins.insert(bin_name.clone(), path);
    }
    for (bin_name, path) in bins {
        targets.push(package::target(
            cx,
            &bin_name,
            TargetKind::Bin,
            path,
            "binary",
        )?);
    }
    if targets.is_empty() {
        return Err(
            cx.error("no targets: add `src/lib.rs`, `src/main.rs`, or a `[lib]`/`[[bin]]` section")
        );
    }
    Ok(targets)
}

fn lib_kind(cx: &TargetCx<'_>, lib: Option<&super::raw::RawLib>) -> Result<TargetKind> {
    let proc_macro = lib.and_then(|l| l.proc_macro).unwrap_or(false);
    let types = lib.and_then(|l| l.crate_type.clone()).unwrap_or_default();
    let mut kind = if proc_macro {
        TargetKind::ProcMacro
    } else {
        TargetKind::Lib
    };
    for ty in &types {
        match ty.as_str() {
            "lib" | "rlib" => {}
            "proc-macro" => kind = TargetKind::ProcMacro,
            other => {
                return Err(cx.unsupported(format!("the library crate type `{other}`")));
            }
        }
    }
    Ok(kind)
}

fn default_bin_path(dir: &Path, package: &str, bin: &str) -> PathBuf {
    let candidates = [
        dir.join("src/bin").join(format!("{bin}.rs")),
        dir.join("src/bin").join(bin).join("main.rs"),
    ];
    match candidates.iter().find(|c| c.is_file()) {
        Some(found) => found.clone(),
        None if bin == package => dir.join("src/main.rs"),
        None => candidates[0].clone(),
    }
}

fn discover_bin_dir(bin_dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(bin_dir) else {
        return Vec::new();
    };
    let mut bins = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned);
        match stem {
            Some(stem) if path.extension().is_some_and(|e| e == "rs") && path.is_file() => {
                bins.push((stem, path));
            }
            Some(stem) if path.join("main.rs").is_file() => bins.push((stem, path.join("main.rs"))),
            _ => {}
        }
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        let text = "a = 1\nbb = \"x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 11), (2, 6));
    }

    #[test]
    fn globs_are_recognised() {
        assert!(is_glob("crates/*"));
        assert!(!is_glob("crates/core"));
    }
}
