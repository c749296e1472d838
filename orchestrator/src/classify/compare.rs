//! Compare two versions of a crate, file by file and item by item.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::CrateContext;
use super::summary::{FileSummary, ItemSummary};
use super::walk::CrateView;

/// How far a change reaches, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeClass {
    /// Comments and whitespace that move no token: outputs would be identical.
    Cosmetic,
    /// Only bodies no other crate can see: recompile the crate, relink dependents.
    Codegen,
    /// Something other crates can see: recompile the crate and its dependents.
    Signature,
}

impl ChangeClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::Cosmetic => "cosmetic",
            ChangeClass::Codegen => "codegen",
            ChangeClass::Signature => "signature",
        }
    }
}

impl fmt::Display for ChangeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict for one crate, with the item-level cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub class: ChangeClass,
    /// `trait Storage: method flush added`.
    pub cause: String,
    /// Workspace-relative file the cause is in, if any.
    pub file: Option<PathBuf>,
    /// A codegen-only verdict from one item's body: that item (`fn
    /// normalize`), for dependents' explanations.
    pub body_of: Option<String>,
}

/// What changed in one file, if anything but comments and whitespace.
#[derive(Debug, Clone, PartialEq)]
pub struct FileChange {
    pub class: ChangeClass,
    pub cause: String,
    /// The item whose body alone changed (see [`Classification::body_of`]).
    pub body_of: Option<String>,
}

impl FileChange {
    fn new(class: ChangeClass, cause: impl Into<String>) -> Self {
        FileChange {
            class,
            cause: cause.into(),
            body_of: None,
        }
    }
}

impl Classification {
    pub fn new(class: ChangeClass, cause: impl Into<String>, file: Option<&Path>) -> Self {
        Classification {
            class,
            cause: cause.into(),
            file: file.map(Path::to_path_buf),
            body_of: None,
        }
    }

    /// Keep the stronger of two verdicts (the first one found on a tie).
    pub fn max(self, other: Classification) -> Classification {
        if other.class > self.class {
            other
        } else {
            self
        }
    }
}

/// Compare crate versions in the unit's context (R6, R9).
pub fn compare(old: &CrateView, new: &CrateView, cx: &CrateContext<'_>) -> Classification {
    let release = cx.release;
    if let Some(why) = new.unresolved.as_ref().or(old.unresolved.as_ref()) {
        return Classification::new(ChangeClass::Signature, why.clone(), None);
    }
    for path in old.files.keys() {
        if !new.files.contains_key(path) {
            return Classification::new(ChangeClass::Signature, "module file removed", Some(path));
        }
    }
    // R10: a module file that is also included as data (or may be: an
    // include whose path orchestrator cannot resolve).
    let included: Vec<Option<PathBuf>> = included_files(old, cx.package_dir)
        .chain(included_files(new, cx.package_dir))
        .collect();
    for (path, new_file) in &new.files {
        let changed = old.files.get(path).is_none_or(|o| o.hash != new_file.hash);
        if changed
            && included
                .iter()
                .any(|p| p.as_ref().is_none_or(|p| p == path))
        {
            return Classification::new(
                ChangeClass::Signature,
                "a module file that `include_str!`, `include_bytes!` or `include!` also reads (or may read) changed",
                Some(path),
            );
        }
    }
    let verdict = compare_modules(old, new, release);
    // R9: bodies calling a crate-defined `vec!` may define items.
    let shadowed = old.files.values().chain(new.files.values()).any(|f| {
        f.summary.shadows_macros
            || f.summary
                .glob_roots
                .iter()
                .any(|root| super::rules::foreign_glob(root, cx.externs))
    });
    if verdict.class == ChangeClass::Codegen && shadowed {
        return Classification::new(
            ChangeClass::Signature,
            format!(
                "{} (the crate defines or imports macros that may shadow std's, so a body's macro calls may define items)",
                verdict.cause
            ),
            verdict.file.as_deref(),
        );
    }
    verdict
}

/// Files named by `include_str!`/`include_bytes!`/`include!` in `view`,
/// resolved against the including file's directory or the package directory
/// (workspace-relative); `None` for one that cannot be resolved.
fn included_files<'v>(
    view: &'v CrateView,
    package_dir: &'v Path,
) -> impl Iterator<Item = Option<PathBuf>> + 'v {
    use super::rules::{MANIFEST_DIR, UNRESOLVED_INCLUDE};
    view.files.iter().flat_map(move |(path, file)| {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        file.summary.includes.iter().map(move |inc| {
            if inc == UNRESOLVED_INCLUDE {
                return None;
            }
            let full = match inc.strip_prefix(MANIFEST_DIR) {
                Some(rest) => package_dir.join(rest.trim_start_matches('/')),
                None => dir.join(inc),
            };
            Some(crate::paths::normalize(&full))
        })
    })
}

fn compare_modules(old: &CrateView, new: &CrateView, release: bool) -> Classification {
    let mut verdict =
        Classification::new(ChangeClass::Cosmetic, "comments or whitespace only", None);
    for (path, new_file) in &new.files {
        let Some(old_file) = old.files.get(path) else {
            return Classification::new(ChangeClass::Signature, "module file added", Some(path));
        };
        if old_file.hash == new_file.hash {
            continue;
        }
        let found = compare_files(&old_file.summary, &new_file.summary, release);
        if let Some(change) = found {
            let mut file_verdict = Classification::new(change.class, change.cause, Some(path));
            file_verdict.body_of = change.body_of;
            if verdict.file.is_none() && verdict.class == ChangeClass::Cosmetic {
                verdict = file_verdict;
            } else {
                verdict = verdict.max(file_verdict);
            }
            if verdict.class == ChangeClass::Signature {
                return verdict;
            }
        } else if verdict.file.is_none() {
            verdict.file = Some(path.clone());
        }
    }
    verdict
}

/// `None`: the files are the same up to comments and whitespace (R1).
pub fn compare_files(old: &FileSummary, new: &FileSummary, release: bool) -> Option<FileChange> {
    use ChangeClass::*;
    if !old.parsed || !new.parsed {
        return Some(FileChange::new(Signature, "the file does not parse"));
    }
    if let Some(why) = new.unclassifiable.as_ref().or(old.unclassifiable.as_ref()) {
        return Some(FileChange::new(Signature, why.clone()));
    }
    if old.inner_shape != new.inner_shape {
        return Some(FileChange::new(
            Signature,
            "inner attributes (`#![...]`) changed",
        ));
    }
    let old_items: BTreeMap<&str, &ItemSummary> =
        old.items.iter().map(|i| (i.key.as_str(), i)).collect();
    let new_items: BTreeMap<&str, &ItemSummary> =
        new.items.iter().map(|i| (i.key.as_str(), i)).collect();
    for (key, item) in &new_items {
        if !old_items.contains_key(key) {
            return Some(FileChange::new(
                Signature,
                format!("{} added", describe(item)),
            ));
        }
    }
    for (key, item) in &old_items {
        if !new_items.contains_key(key) {
            return Some(FileChange::new(
                Signature,
                format!("{} removed", describe(item)),
            ));
        }
    }
    let mut strongest: Option<FileChange> = None;
    for item in &new.items {
        let before = old_items[item.key.as_str()];
        let found = if before.interface != item.interface {
            Some(FileChange::new(Signature, interface_change(before, item)))
        } else if before.body != item.body {
            // Same tokens elsewhere: the body moved rather than changed.
            let moved = before.shape == item.shape;
            let what = match moved {
                true => format!("{} moved", describe(item)),
                false => format!("body of {} changed", describe(item)),
            };
            if release {
                Some(FileChange::new(
                    Signature,
                    format!("{what} (release builds inline across crates)"),
                ))
            } else {
                Some(FileChange {
                    class: Codegen,
                    cause: what,
                    body_of: (!moved).then(|| describe(item)),
                })
            }
        } else if before.exact != item.exact {
            Some(FileChange::new(
                Codegen,
                format!("{} moved", describe(item)),
            ))
        } else {
            None
        };
        if let Some(found) = found {
            if found.class == Signature {
                return Some(found);
            }
            if strongest.is_none() {
                strongest = Some(found);
            }
        }
    }
    // Crate-level attributes carry no code: moved, they change positions only.
    if strongest.is_none() && old.inner != new.inner {
        strongest = Some(FileChange::new(
            Codegen,
            "inner attributes (`#![...]`) moved",
        ));
    }
    // Identical items in identical places: a reorder would have shown as a move.
    strongest
}

fn describe(item: &ItemSummary) -> String {
    if item.kind == "impl" {
        return item
            .key
            .rsplit_once("::")
            .map(|(_, k)| k)
            .unwrap_or(&item.key)
            .to_owned();
    }
    if item.name.is_empty() {
        return item.kind.clone();
    }
    match &item.owner {
        Some((owner, _)) => format!("{} {} ({owner})", item.kind, item.name),
        None => format!("{} {}", item.kind, item.name),
    }
}

/// Name what changed inside an item, down to a member where possible.
fn interface_change(old: &ItemSummary, new: &ItemSummary) -> String {
    let what = describe(new);
    if old.shape == new.shape {
        return format!("{what} moved (dependents see its position)");
    }
    let old_members: BTreeMap<&str, &str> = old
        .members
        .iter()
        .map(|(n, h)| (n.as_str(), h.as_str()))
        .collect();
    let new_members: BTreeMap<&str, &str> = new
        .members
        .iter()
        .map(|(n, h)| (n.as_str(), h.as_str()))
        .collect();
    for (name, _) in &new.members {
        if !old_members.contains_key(name.as_str()) {
            return format!("{what}: {name} added");
        }
    }
    for (name, _) in &old.members {
        if !new_members.contains_key(name.as_str()) {
            return format!("{what}: {name} removed");
        }
    }
    for (name, hash) in &new.members {
        if old_members.get(name.as_str()) != Some(&hash.as_str()) {
            return format!("{what}: {name} changed");
        }
    }
    match new.kind.as_str() {
        "fn" if new.body.is_none() => format!("{what} changed (its body is visible to dependents)"),
        "fn" => format!("signature of {what} changed"),
        _ => format!("{what} changed"),
    }
}
