//! The action key: what identifies a unit's outputs on any machine.
//!
//! A key hashes everything that decides what rustc (or a build script)
//! writes, with the two places that differ between clones, the workspace
//! root and the target directory, written as `{workspace}` and `{target}`:
//!
//! | part | why |
//! |---|---|
//! | `rustc -vV` (hash) | the compiler and its host |
//! | the unit's spec, remapped | every setting of the unit ([`crate::fingerprint`]) |
//! | the argument vector, working directory and the variables orchestrator sets, remapped | flags from build scripts (`--cfg`, `-l`, `-L`), `CARGO_PKG_*`, `OUT_DIR`, lint and diagnostic flags; a build script's whole environment |
//! | every transitive dependency's key and output hash | the `.rmeta`s rustc reads and build-script results (which hash the native libraries a script names) |
//! | the content of what the unit links, and of rustc wrappers (added by the worker, [`finish`]) | the object code the linker reads; what a wrapper does |
//! | the C library's version and `RUSTC_BOOTSTRAP` ([`super::Cache::key`]) | what linked programs load; unstable features |
//!
//! Not in the key, but in the entry and checked on every hit
//! ([`super::entry::Variant`]): the content of every source file rustc
//! read (dep-info) or a build script's `rerun-if-changed` inputs, and the
//! verbatim value of every variable read by `env!`/`option_env!` or named
//! by `rerun-if-env-changed` (`OUT_DIR` compared remapped: where it reaches
//! the outputs, they hold the path, below). A crate that embeds
//! `env!("CARGO_MANIFEST_DIR")` misses in another directory, as it must.
//!
//! Outputs that hold the building machine's workspace or target path
//! (debug info, generated code included from `OUT_DIR`,
//! docs/rustc-facts.md §12) are recorded with those paths and taken only at
//! them, and build-script results are not taken at all (a script may read
//! anything on its machine), unless the reader declared the machines
//! sharing the cache interchangeable (`ORCHESTRATOR_CACHE_PORTABLE`). What remains outside: system libraries
//! found by the linker on its own, the C toolchain, and a proc macro that
//! computes from a path without writing it out.

use std::path::{Path, PathBuf};

use crate::fingerprint::UnitSpec;
use crate::rustc::Invocation;

const VERSION: &str = "orchestrator-cache-v1";

/// Absolute paths of this machine ↔ their portable spelling.
#[derive(Debug, Clone)]
pub struct Remap {
    target: String,
    workspace: String,
}

pub const TARGET: &str = "{target}";
pub const WORKSPACE: &str = "{workspace}";

impl Remap {
    pub fn new(target_dir: &Path, workspace_root: &Path) -> Remap {
        Remap {
            target: target_dir
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned(),
            workspace: workspace_root
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned(),
        }
    }

    /// This machine's paths replaced by placeholders (the target directory
    /// first: it is usually inside the workspace). A path is replaced only
    /// where it ends (`/a/ws` in `/a/ws/src`, not in `/a/ws2`).
    pub fn portable(&self, text: &str) -> String {
        replace_path(
            &replace_path(text, &self.target, TARGET),
            &self.workspace,
            WORKSPACE,
        )
    }

    /// This machine's target directory and workspace root, as text.
    pub fn prefixes(&self) -> (&str, &str) {
        (&self.target, &self.workspace)
    }

    /// Placeholders replaced by this machine's paths.
    pub fn local(&self, text: &str) -> String {
        text.replace(TARGET, &self.target)
            .replace(WORKSPACE, &self.workspace)
    }

    pub fn portable_path(&self, path: &Path) -> String {
        self.portable(&path.to_string_lossy())
    }

    /// A portable path of an input file on this machine: under a
    /// placeholder, or absolute outside both (a system header, a file in
    /// `CARGO_HOME`). `None` for anything else (`..`, relative).
    pub fn local_input(&self, portable: &str) -> Option<PathBuf> {
        let path = match split_placeholder(portable) {
            Some((TARGET, rest)) => Path::new(&self.target).join(safe_relative(rest)?),
            Some((_, rest)) => Path::new(&self.workspace).join(safe_relative(rest)?),
            None => {
                let path = PathBuf::from(portable);
                (path.is_absolute() && safe_relative(portable.trim_start_matches('/')).is_some())
                    .then_some(path)?
            }
        };
        Some(path)
    }

    /// Where an output file of an entry goes: only ever inside the target
    /// directory.
    pub fn local_output(&self, portable: &str) -> Option<PathBuf> {
        match split_placeholder(portable) {
            Some((TARGET, rest)) => Some(Path::new(&self.target).join(safe_relative(rest)?)),
            _ => None,
        }
    }
}

/// `text` with every occurrence of the path `from` that is followed by
/// the end of a path component replaced by `to`.
fn replace_path(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        let ends = after
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')));
        out.push_str(&rest[..at]);
        out.push_str(if ends { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

fn split_placeholder(path: &str) -> Option<(&'static str, &str)> {
    [TARGET, WORKSPACE].into_iter().find_map(|p| {
        path.strip_prefix(p)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(|rest| (p, rest))
    })
}

/// `rest` as a relative path with only normal components.
fn safe_relative(rest: &str) -> Option<PathBuf> {
    let path = Path::new(rest);
    let normal = path
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    (normal && !rest.is_empty()).then(|| path.to_path_buf())
}

/// What the coordinator knows when a job starts: everything but the link
/// closure's contents.
pub fn partial(
    remap: &Remap,
    toolchain: &str,
    spec: &UnitSpec,
    invocation: &Invocation,
    upstream: &[(String, String)],
) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    let mut part = |text: &str| {
        h.update(text.as_bytes());
        h.update(&[0]);
    };
    part(VERSION);
    part(toolchain);
    part(&remap.portable(&serde_json::to_string(&spec.body).unwrap_or_default()));
    part(&spec.key);
    part(&remap.portable_path(&invocation.cwd));
    part("args");
    for arg in &invocation.args {
        part(&remap.portable(&arg.to_string_lossy()));
    }
    part("env");
    let mut env: Vec<(&String, String)> = invocation
        .env
        .iter()
        .map(|(k, v)| (k, remap.portable(&v.to_string_lossy())))
        .collect();
    env.sort();
    for (name, value) in env {
        part(name);
        part(&value);
    }
    part("env-remove");
    for name in &invocation.env_remove {
        part(name);
    }
    part("upstream");
    let mut upstream = upstream.to_vec();
    upstream.sort();
    for (key, output) in upstream {
        part(&key);
        part(&output);
    }
    h
}

/// The key, once the worker has hashed what the unit links.
pub fn finish(mut partial: blake3::Hasher, link_hashes: &[String]) -> String {
    partial.update(b"links\0");
    for hash in link_hashes {
        partial.update(hash.as_bytes());
        partial.update(&[0]);
    }
    partial.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaps_both_ways_and_refuses_escapes() {
        let r = Remap::new(Path::new("/w/ws/target"), Path::new("/w/ws"));
        assert_eq!(
            r.portable("-L dependency=/w/ws/target/debug/deps --cwd /w/ws"),
            "-L dependency={target}/debug/deps --cwd {workspace}"
        );
        assert_eq!(r.local("{target}/debug/x"), "/w/ws/target/debug/x");
        assert_eq!(
            r.local_output("{target}/debug/deps/liba.rlib"),
            Some(PathBuf::from("/w/ws/target/debug/deps/liba.rlib"))
        );
        for bad in [
            "{target}/../../etc/passwd",
            "{target}/debug/../../x",
            "/etc/passwd",
            "{workspace}/src/lib.rs",
            "{target}/",
            "relative",
        ] {
            assert_eq!(r.local_output(bad), None, "{bad}");
        }
        assert_eq!(
            r.local_input("{workspace}/src/lib.rs"),
            Some(PathBuf::from("/w/ws/src/lib.rs"))
        );
        assert_eq!(
            r.local_input("/usr/include/x.h"),
            Some(PathBuf::from("/usr/include/x.h"))
        );
        assert_eq!(r.local_input("/usr/../etc/x"), None);
        assert_eq!(r.local_input("src/lib.rs"), None);
    }

    #[test]
    fn only_whole_paths_are_replaced() {
        let r = Remap::new(Path::new("/a/ws/target"), Path::new("/a/ws"));
        assert_eq!(
            r.portable("/a/ws2/x /a/ws/x /a/ws"),
            "/a/ws2/x {workspace}/x {workspace}"
        );
        assert_eq!(
            r.portable("--x=/a/ws/target\n/a/ws.d"),
            "--x={target}\n/a/ws.d"
        );
    }

    #[test]
    fn two_clones_share_keys() {
        let a = Remap::new(Path::new("/a/ws/target"), Path::new("/a/ws"));
        let b = Remap::new(Path::new("/elsewhere/b/target"), Path::new("/elsewhere/b"));
        let arg = |r: &Remap, root: &str| {
            r.portable(&format!("--extern x={root}/target/debug/deps/libx.rmeta"))
        };
        assert_eq!(arg(&a, "/a/ws"), arg(&b, "/elsewhere/b"));
    }
}
