//! Walk a crate's module tree as rustc does: `mod x;` → `x.rs` or
//! `x/mod.rs` beside a `mod.rs`/crate root (or under `stem/` for other
//! files), `#[path]` relative to the declaring file's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::summary::{FileSummary, ItemSummary};
use crate::paths::normalize;

/// The files of one version of a crate, by workspace-relative path.
#[derive(Debug, Default, Clone)]
pub struct CrateView {
    pub files: BTreeMap<PathBuf, FileView>,
    /// A module the walker could not follow (missing file, `cfg_attr(path)`).
    pub unresolved: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FileView {
    pub hash: String,
    pub summary: FileSummary,
    /// Module path of the file inside the crate (`["store"]`).
    pub module: Vec<String>,
}

impl CrateView {
    /// Items whose path ends with `path` (`["Storage"]`, `["store", "Storage"]`);
    /// a method also answers to `Type::method`.
    pub fn find(&self, path: &[String]) -> Vec<(&Path, &ItemSummary)> {
        let mut found = Vec::new();
        for (file, view) in &self.files {
            for item in view.summary.items.iter().filter(|i| !i.name.is_empty()) {
                let (module, owner) = item_path(view, item);
                let plain = [module.clone(), vec![item.name.clone()]].concat();
                let owned = owner.map(|ty| [module, vec![ty, item.name.clone()]].concat());
                if plain.ends_with(path) || owned.is_some_and(|p| p.ends_with(path)) {
                    found.push((file.as_path(), item));
                }
            }
        }
        found
    }

    /// Every named item, as `module::name` (`module::Type::method`), for
    /// "did you mean" suggestions.
    pub fn item_paths(&self) -> Vec<String> {
        let mut paths = Vec::new();
        for view in self.files.values() {
            for item in view
                .summary
                .items
                .iter()
                .filter(|i| !i.name.is_empty() && i.kind != "use")
            {
                let (mut full, owner) = item_path(view, item);
                full.extend(owner);
                full.push(item.name.clone());
                paths.push(full.join("::"));
            }
        }
        paths
    }
}

/// An item's module path inside the crate, and its impl's self type for methods.
fn item_path(view: &FileView, item: &ItemSummary) -> (Vec<String>, Option<String>) {
    let mut module = view.module.clone();
    module.extend(
        item.module
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    );
    (module, item.owner.as_ref().map(|(_, ty)| ty.clone()))
}

/// Walk from `root` (workspace-relative crate root file). `source` returns
/// a file's content hash and summary, or `None` if there is no such file.
/// `compiled`, when known, holds every file rustc read for the crate (its
/// dep-info): a declared module none of whose candidate files rustc read was
/// not compiled (`#[cfg(windows)] mod windows;` on Linux) and is skipped.
/// Whether it is compiled can only change through the `mod` item's own
/// tokens (a signature change) or the unit's cfgs (a new spec), so skipping
/// it in either version of the crate is sound.
pub fn walk(
    root: &Path,
    compiled: Option<&dyn Fn(&Path) -> bool>,
    source: &mut dyn FnMut(&Path) -> Option<(String, FileSummary)>,
) -> CrateView {
    let mut view = CrateView::default();
    let mut pending = vec![(normalize(root), Vec::<String>::new(), true)];
    while let Some((file, module, is_root)) = pending.pop() {
        if view.files.contains_key(&file) {
            continue;
        }
        let Some((hash, summary)) = source(&file) else {
            view.unresolved = Some(format!(
                "module file `{}` could not be read",
                file.display()
            ));
            return view;
        };
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let mod_rs = is_root || file.file_name().is_some_and(|n| n == "mod.rs");
        let children_dir = if mod_rs {
            dir.clone()
        } else {
            dir.join(file.file_stem().unwrap_or_default())
        };
        for decl in &summary.modules {
            if decl.unresolvable {
                view.unresolved = Some(format!(
                    "`mod {}` in `{}` takes its path from `cfg_attr`",
                    decl.name,
                    file.display()
                ));
                return view;
            }
            let mut base = children_dir.clone();
            for parent in &decl.parents {
                base.push(parent);
            }
            let candidates = match &decl.path {
                Some(p) if decl.parents.is_empty() => vec![dir.join(p)],
                Some(p) => vec![base.join(p)],
                None => vec![
                    base.join(format!("{}.rs", decl.name)),
                    base.join(&decl.name).join("mod.rs"),
                ],
            };
            let mut child_module = module.clone();
            child_module.extend(decl.parents.iter().cloned());
            child_module.push(decl.name.clone());
            let candidates: Vec<PathBuf> = candidates.iter().map(|c| normalize(c)).collect();
            if let Some(compiled) = compiled
                && !candidates.iter().any(|c| compiled(c))
            {
                continue; // cfg'd out: rustc never read it
            }
            match candidates
                .into_iter()
                .filter(|c| compiled.is_none_or(|compiled| compiled(c)))
                .find(|c| source(c).is_some())
            {
                Some(child) => pending.push((child, child_module, false)),
                None => {
                    view.unresolved = Some(format!(
                        "no file for `mod {}` declared in `{}`",
                        decl.name,
                        file.display()
                    ));
                    return view;
                }
            }
        }
        view.files.insert(
            file,
            FileView {
                hash,
                summary,
                module,
            },
        );
    }
    view
}
