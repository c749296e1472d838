//! `--touch CRATE[::ITEM...][=CLASS]`: name a simulated change.
//!
//! A crate alone is a signature change of the crate. An item's class follows
//! from what it is: a private function whose body no other crate can see is
//! codegen-only; anything else (traits, pub signatures, types, consts...) is
//! a signature change. `=signature`, `=codegen` or `=cosmetic` forces it.

use std::str::FromStr;

use crate::classify::{ChangeClass, ItemSummary, SyntaxCache, current_view};
use crate::error::{Error, Result};
use crate::graph::{CrateGraph, Source, UnitId, UnitKind};
use crate::paths::relative_to;
use crate::plan::Touch;

/// A `--touch` argument as written.
#[derive(Debug, Clone, PartialEq)]
pub struct TouchSpec {
    pub text: String,
    pub krate: String,
    pub path: Vec<String>,
    pub class: Option<ChangeClass>,
}

impl FromStr for TouchSpec {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let (target, class) = match text.split_once('=') {
            Some((t, c)) => (t, Some(parse_class(c)?)),
            None => (text, None),
        };
        let mut parts = target.split("::").map(str::trim);
        let krate = parts
            .next()
            .filter(|k| !k.is_empty())
            .ok_or("expected CRATE[::ITEM][=CLASS]")?;
        let path: Vec<String> = parts.map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!("`{target}` has an empty path segment"));
        }
        Ok(TouchSpec {
            text: text.to_owned(),
            krate: krate.to_owned(),
            path,
            class,
        })
    }
}

fn parse_class(text: &str) -> std::result::Result<ChangeClass, String> {
    match text {
        "signature" => Ok(ChangeClass::Signature),
        "codegen" | "codegen-only" => Ok(ChangeClass::Codegen),
        "cosmetic" => Ok(ChangeClass::Cosmetic),
        other => Err(format!(
            "unknown change class `{other}` (expected signature, codegen or cosmetic)"
        )),
    }
}

/// Resolve each spec to a unit and a change class.
pub fn resolve(
    touches: &[TouchSpec],
    graph: &CrateGraph,
    cache: &SyntaxCache,
) -> Result<Vec<Touch>> {
    touches
        .iter()
        .map(|t| resolve_one(t, graph, cache))
        .collect()
}

/// Member units that `--touch` can name: libraries, binaries, proc-macros.
fn touchable(graph: &CrateGraph) -> impl Iterator<Item = &crate::graph::Unit> {
    graph.units().iter().filter(|u| {
        graph.package(u.pkg).source == Source::Member
            && matches!(
                u.kind,
                UnitKind::Lib | UnitKind::Bin | UnitKind::Example | UnitKind::ProcMacro
            )
    })
}

fn resolve_one(touch: &TouchSpec, graph: &CrateGraph, cache: &SyntaxCache) -> Result<Touch> {
    let candidates: Vec<UnitId> = touchable(graph)
        .filter(|u| u.crate_name == touch.krate || graph.package(u.pkg).name == touch.krate)
        .map(|u| u.id)
        .collect();
    let unit = candidates
        .iter()
        .copied()
        .find(|&u| !graph.unit(u).is_executable())
        .or_else(|| candidates.first().copied())
        .ok_or_else(|| {
            let names: Vec<String> = touchable(graph).map(|u| u.crate_name.clone()).collect();
            unknown(
                touch,
                format!("no crate `{}` in the workspace", touch.krate),
                &touch.krate,
                &names,
            )
        })?;
    if touch.path.is_empty() {
        return Ok(Touch {
            unit,
            class: touch.class.unwrap_or(ChangeClass::Signature),
            what: format!("crate {}", touch.krate),
        });
    }
    let root = &graph.workspace_root;
    let view = current_view(
        root,
        &relative_to(&graph.unit(unit).target.src_path, root),
        None,
        cache,
        crate::classify::Items::WithoutTests,
    );
    let found = view.find(&touch.path);
    let wanted = touch.path.join("::");
    match found.as_slice() {
        [] => Err(unknown(
            touch,
            format!("no item `{wanted}` in crate `{}`", touch.krate),
            &wanted,
            &view.item_paths(),
        )),
        [(_, item)] => Ok(Touch {
            unit,
            class: touch.class.unwrap_or_else(|| item_class(item)),
            what: format!("{} {}", item.kind, wanted),
        }),
        many => {
            let paths: Vec<String> = many
                .iter()
                .map(|(f, i)| format!("{} ({})", i.key, f.display()))
                .collect();
            Err(Error::Touch {
                touch: touch.text.clone(),
                message: format!(
                    "`{wanted}` names {} items in crate `{}`",
                    many.len(),
                    touch.krate
                ),
                suggestions: paths,
            })
        }
    }
}

/// A private function whose body no other crate sees: codegen-only; else signature.
pub fn item_class(item: &ItemSummary) -> ChangeClass {
    if item.kind == "fn" && item.body.is_some() && !item.public {
        ChangeClass::Codegen
    } else {
        ChangeClass::Signature
    }
}

fn unknown(touch: &TouchSpec, message: String, wanted: &str, names: &[String]) -> Error {
    let mut scored: Vec<(usize, &String)> =
        names.iter().map(|n| (distance(wanted, n), n)).collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    Error::Touch {
        touch: touch.text.clone(),
        message,
        suggestions: scored.into_iter().take(5).map(|(_, n)| n.clone()).collect(),
    }
}

/// Names close enough to `wanted` to suggest, closest first (cargo's
/// "did you mean": an edit distance of at most a third of the name, and 3).
pub fn closest<'a>(wanted: &str, names: &[&'a str]) -> Vec<&'a str> {
    let limit = (wanted.chars().count() / 3).max(3);
    let mut scored: Vec<(usize, &str)> = names
        .iter()
        .map(|n| (levenshtein(wanted, n), *n))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().map(|(_, n)| n).collect()
}

/// Levenshtein distance, comparing the last path segment too so that
/// `Storage` is close to `store::Storage`.
fn distance(a: &str, b: &str) -> usize {
    let last = b.rsplit("::").next().unwrap_or(b);
    levenshtein(a, b).min(levenshtein(a, last))
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_crate_item_and_class() {
        let t: TouchSpec = "core_lib::store::Storage=codegen".parse().unwrap();
        assert_eq!(
            (t.krate.as_str(), t.path.len(), t.class),
            ("core_lib", 2, Some(ChangeClass::Codegen))
        );
        let t: TouchSpec = "core_lib".parse().unwrap();
        assert!(t.path.is_empty() && t.class.is_none());
        assert!("core_lib=loud".parse::<TouchSpec>().is_err());
        assert!("core_lib::".parse::<TouchSpec>().is_err());
    }

    #[test]
    fn closest_names_first() {
        assert_eq!(levenshtein("Storag", "Storage"), 1);
        assert!(distance("Storage", "store::Storage") == 0);
    }
}
