//! Stage 4a: classify what changed in a crate — cosmetic, codegen-only or
//! signature — from its sources, parsed with syn.
//!
//! Owns: the rules (`rules.rs`, documented rule by rule), per-file syntax
//! summaries cached by content hash, the module walker, and the comparison.
//! Never: runs rustc, or answers anything weaker than "signature" when unsure.

mod cache;
mod compare;
pub mod rules;
mod summary;
mod walk;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use cache::SyntaxCache;
pub use compare::{ChangeClass, Classification, compare, compare_files};
pub use summary::{FileSummary, ItemSummary, Items, summarize};
pub use walk::{CrateView, walk};

use crate::ledger::FileRecord;

/// The crate as it is on disk now; with `compiled`, only the modules rustc
/// read in the recorded build (see [`walk`]).
pub fn current_view(
    ws_root: &Path,
    src: &Path,
    compiled: Option<&dyn Fn(&Path) -> bool>,
    cache: &SyntaxCache,
    items: Items,
) -> CrateView {
    walk(src, compiled, &mut |path| {
        cache.summarize_file(&ws_root.join(path), items)
    })
}

/// The crate as the ledger recorded it: summaries of the recorded hashes.
pub fn recorded_view(
    src: &Path,
    recorded: &[FileRecord],
    cache: &SyntaxCache,
    items: Items,
) -> CrateView {
    let hashes: HashMap<&Path, &str> = recorded
        .iter()
        .map(|f| (f.path.as_path(), f.hash.as_str()))
        .collect();
    let compiled = |path: &Path| hashes.contains_key(path);
    walk(src, Some(&compiled), &mut |path| {
        let hash = hashes.get(path)?;
        Some((hash.to_string(), cache.get(hash, items)?))
    })
}

/// What the rules need to know about the unit, beyond its sources.
#[derive(Debug, Clone, Copy)]
pub struct CrateContext<'a> {
    /// rustc may inline across crates into or out of the unit (R6).
    pub release: bool,
    /// `test` is one of the unit's cfgs (R7).
    pub cfg_test: bool,
    /// The unit's extern crate names (R9).
    pub externs: &'a [String],
    /// The package directory, workspace-relative (`CARGO_MANIFEST_DIR`, R10).
    pub package_dir: &'a Path,
}

/// Classify the change of a crate whose recorded inputs are `recorded` and
/// whose files now hash to `current` (workspace-relative paths).
pub fn classify_crate(
    ws_root: &Path,
    src: &Path,
    recorded: &[FileRecord],
    current: &HashMap<PathBuf, Option<String>>,
    cache: &SyntaxCache,
    cx: &CrateContext<'_>,
) -> Classification {
    // A file saved while the last build ran: what rustc read is unknown
    // (the ledger records no hash), so nothing can be compared with it.
    if let Some(file) = recorded.iter().find(|f| f.hash.is_empty()) {
        return Classification::new(
            ChangeClass::Signature,
            format!(
                "`{}` changed while it was last compiled: what rustc read is unknown",
                file.path.display()
            ),
            None,
        );
    }
    let items = Items::for_unit(cx.cfg_test);
    let old = recorded_view(src, recorded, cache, items);
    if let Some(why) = &old.unresolved {
        return Classification::new(
            ChangeClass::Signature,
            format!("the previous sources cannot be compared ({why})"),
            None,
        );
    }
    let read: std::collections::HashSet<&Path> =
        recorded.iter().map(|f| f.path.as_path()).collect();
    let compiled = |path: &Path| read.contains(path);
    let new = current_view(ws_root, src, Some(&compiled), cache, items);
    // Files rustc read that the walker does not reach (`include!`,
    // `include_str!`, macro-generated modules): any change is a signature change.
    for file in recorded {
        let changed = current
            .get(&file.path)
            .is_none_or(|h| h.as_deref() != Some(file.hash.as_str()));
        if changed && !old.files.contains_key(&file.path) && !new.files.contains_key(&file.path) {
            return Classification::new(
                ChangeClass::Signature,
                "a file read by rustc that is not a module changed",
                Some(&file.path),
            );
        }
    }
    // R7: with `--cfg test`, the `#[cfg(test)]` items the summaries left out
    // are real code. (Summaries for such units keep them: this only holds
    // if one was made without them.)
    let has_cfg_test = old
        .files
        .values()
        .chain(new.files.values())
        .any(|f| f.summary.has_cfg_test);
    if cx.cfg_test && has_cfg_test {
        return Classification::new(
            ChangeClass::Signature,
            "`test` is a cfg of this build, so `#[cfg(test)]` items are compiled",
            None,
        );
    }
    compare(&old, &new, cx)
}
