//! Cargo's configuration, as far as it changes what rustc is asked to do.
//!
//! Owns: finding the `.cargo/config.toml` files cargo reads (every ancestor of
//! the current directory, deepest first, then `$CARGO_HOME`), merging them as
//! cargo does (scalars: the deepest file wins; lists: concatenated, shallow
//! before deep), the `CARGO_*` environment overrides, `--config` values, and
//! answering the questions the build asks: rustflags and linker of a platform,
//! the target directory, `[env]`, jobs, wrappers, the requested targets.
//! Never: runs cargo or rustc, or guesses a setting it does not understand —
//! settings that change outputs and are not modelled here are refused by
//! [`CargoConfig::unsupported`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cargo_platform::{Cfg, Platform};
use toml::Value;

use crate::error::{Error, Result};
use crate::paths::normalize;

/// One value with the directory it is relative to (the parent of the
/// `.cargo` directory holding the file; the current directory for the
/// environment and the command line).
#[derive(Debug, Clone, PartialEq)]
struct Sourced {
    value: Value,
    base: PathBuf,
}

/// The merged configuration.
#[derive(Debug, Clone, Default)]
pub struct CargoConfig {
    /// Dotted key → value. Lists hold every contribution, lowest priority first.
    values: BTreeMap<String, Vec<Sourced>>,
    /// The files read, for cache keys: every candidate path and whether it existed.
    pub files: Vec<PathBuf>,
    /// The environment cargo sees (a snapshot: tests inject their own).
    env: BTreeMap<String, String>,
    cwd: PathBuf,
}

/// An `[env]` entry after `relative` is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub value: OsString,
    /// Overrides a variable already set in the environment.
    pub force: bool,
}

impl CargoConfig {
    /// Read the configuration cargo would use when run in `cwd` with `env`
    /// and the command line's `--config` arguments.
    pub fn load(cwd: &Path, env: BTreeMap<String, String>, cli: &[String]) -> Result<CargoConfig> {
        let mut config = CargoConfig {
            cwd: cwd.to_path_buf(),
            env,
            ..CargoConfig::default()
        };
        let home = config.cargo_home();
        let mut layers: Vec<(PathBuf, toml::Table)> = Vec::new();
        let mut seen = Vec::new();
        for dir in cwd.ancestors() {
            let dot = dir.join(".cargo");
            seen.push(dot.canonicalize().unwrap_or_else(|_| dot.clone()));
            if let Some(file) = config.config_file(&dot)? {
                layers.push((dir.to_path_buf(), read_toml(&file)?));
            }
        }
        let home_canonical = home.canonicalize().unwrap_or_else(|_| home.clone());
        if !seen.contains(&home_canonical)
            && let Some(file) = config.config_file(&home)?
        {
            let base = home.parent().map(Path::to_path_buf).unwrap_or_default();
            layers.push((base, read_toml(&file)?));
        }
        // Lowest priority first: `$CARGO_HOME`, then from `/` down to `cwd`.
        for (base, table) in layers.into_iter().rev() {
            config.merge_table("", &table, &base);
        }
        for arg in cli {
            config.merge_cli(arg)?;
        }
        Ok(config)
    }

    /// `$CARGO_HOME`, else `~/.cargo`.
    pub fn cargo_home(&self) -> PathBuf {
        if let Some(home) = self.env.get("CARGO_HOME").filter(|h| !h.is_empty()) {
            return self.cwd.join(home);
        }
        let user = self
            .env
            .get("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        user.join(".cargo")
    }

    /// `dir/config` wins over `dir/config.toml` when both exist, as in cargo.
    fn config_file(&mut self, dir: &Path) -> Result<Option<PathBuf>> {
        let plain = dir.join("config");
        let toml = dir.join("config.toml");
        self.files.push(plain.clone());
        self.files.push(toml.clone());
        Ok([plain, toml].into_iter().find(|p| p.is_file()))
    }

    fn merge_table(&mut self, prefix: &str, table: &toml::Table, base: &Path) {
        for (key, value) in table {
            let dotted = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Value::Table(inner) if !is_leaf_table(&dotted) => {
                    self.merge_table(&dotted, inner, base)
                }
                value => self.values.entry(dotted).or_default().push(Sourced {
                    value: value.clone(),
                    base: base.to_path_buf(),
                }),
            }
        }
    }

    /// `--config KEY=VALUE` (a TOML fragment) or `--config path/to/file.toml`.
    fn merge_cli(&mut self, arg: &str) -> Result<()> {
        let cli_error = |message: String| Error::Config {
            path: PathBuf::from("--config"),
            message,
        };
        let path = self.cwd.join(arg);
        let table = if arg.ends_with(".toml") && path.is_file() {
            self.files.push(path.clone());
            read_toml(&path)?
        } else {
            toml::from_str::<toml::Table>(arg).map_err(|e| {
                cli_error(format!(
                    "`{arg}` is neither a TOML `KEY=VALUE` nor a .toml file: {}",
                    e.message()
                ))
            })?
        };
        let base = self.cwd.clone();
        self.merge_table("", &table, &base);
        Ok(())
    }

    fn env_var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// The highest-priority value of a scalar key.
    fn get(&self, key: &str) -> Option<&Sourced> {
        self.values.get(key).and_then(|v| v.last())
    }

    fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|s| s.value.as_str())
    }

    /// A config path: relative to the config file's directory.
    fn get_path(&self, key: &str, env: &str) -> Option<PathBuf> {
        if let Some(value) = self.env_var(env).filter(|v| !v.is_empty()) {
            return Some(normalize(&self.cwd.join(value)));
        }
        let sourced = self.get(key)?;
        Some(normalize(&sourced.base.join(sourced.value.as_str()?)))
    }

    /// A program: a bare name is looked up on PATH; anything with a slash
    /// is relative to the config file's directory.
    fn get_program(&self, key: &str, env: &[&str]) -> Option<PathBuf> {
        for name in env {
            if let Some(value) = self.env_var(name) {
                return (!value.is_empty()).then(|| program_path(value, &self.cwd));
            }
        }
        let sourced = self.get(key)?;
        let text = sourced.value.as_str()?;
        (!text.is_empty()).then(|| program_path(text, &sourced.base))
    }

    /// Every contribution to a string-list key (`"a b"` or `["a", "b"]`).
    fn get_list(&self, key: &str, env: Option<&str>) -> Option<Vec<String>> {
        let mut out: Option<Vec<String>> = None;
        for sourced in self.values.get(key).into_iter().flatten() {
            out.get_or_insert_with(Vec::new)
                .extend(string_list(&sourced.value));
        }
        if let Some(text) = env.and_then(|e| self.env_var(e)) {
            out.get_or_insert_with(Vec::new)
                .extend(text.split_whitespace().map(str::to_owned));
        }
        out
    }

    /// `CARGO_TARGET_DIR`, `build.target-dir`, or `<workspace>/target`.
    pub fn target_dir(&self, workspace_root: &Path) -> PathBuf {
        if let Some(dir) = self.env_var("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
            return normalize(&self.cwd.join(dir));
        }
        self.get_path("build.target-dir", "CARGO_BUILD_TARGET_DIR")
            .unwrap_or_else(|| workspace_root.join("target"))
    }

    /// `build.jobs` / `CARGO_BUILD_JOBS` (negative: cores minus that many).
    pub fn jobs(&self, cores: usize) -> Result<Option<usize>> {
        let value = match self.env_var("CARGO_BUILD_JOBS") {
            Some(text) => text.parse::<i64>().map_err(|_| Error::Config {
                path: PathBuf::from("CARGO_BUILD_JOBS"),
                message: format!("`{text}` is not a number of jobs"),
            })?,
            None => match self.get("build.jobs").map(|s| &s.value) {
                Some(Value::Integer(n)) => *n,
                Some(Value::String(s)) if s == "default" => return Ok(None),
                Some(other) => {
                    return Err(Error::Config {
                        path: PathBuf::from("build.jobs"),
                        message: format!("expected a number, found `{other}`"),
                    });
                }
                None => return Ok(None),
            },
        };
        Ok(Some(match value {
            0 => {
                return Err(Error::Config {
                    path: PathBuf::from("build.jobs"),
                    message: "jobs may not be 0".to_owned(),
                });
            }
            n if n < 0 => (cores as i64 + n).max(1) as usize,
            n => n as usize,
        }))
    }

    /// `build.target` / `CARGO_BUILD_TARGET`: the default `--target`s.
    pub fn build_targets(&self) -> Vec<String> {
        if let Some(text) = self.env_var("CARGO_BUILD_TARGET").filter(|v| !v.is_empty()) {
            return vec![text.to_owned()];
        }
        match self.get("build.target").map(|s| &s.value) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `RUSTC` / `build.rustc`.
    pub fn rustc(&self) -> Option<PathBuf> {
        self.get_program("build.rustc", &["RUSTC", "CARGO_BUILD_RUSTC"])
    }

    /// `RUSTC_WRAPPER` / `build.rustc-wrapper` (an empty value turns it off).
    pub fn rustc_wrapper(&self) -> Option<PathBuf> {
        self.get_program(
            "build.rustc-wrapper",
            &["RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER"],
        )
    }

    /// `RUSTC_WORKSPACE_WRAPPER` / `build.rustc-workspace-wrapper`.
    pub fn rustc_workspace_wrapper(&self) -> Option<PathBuf> {
        self.get_program(
            "build.rustc-workspace-wrapper",
            &[
                "RUSTC_WORKSPACE_WRAPPER",
                "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
            ],
        )
    }

    /// `CARGO_INCREMENTAL` / `build.incremental`: `Some(false)` turns the
    /// profile's incremental compilation off, `Some(true)` on.
    pub fn incremental(&self) -> Option<bool> {
        if let Some(text) = self.env_var("CARGO_INCREMENTAL") {
            return Some(text == "1");
        }
        if let Some(text) = self.env_var("CARGO_BUILD_INCREMENTAL") {
            return Some(text == "true");
        }
        self.get("build.incremental")
            .and_then(|s| s.value.as_bool())
    }

    /// The flags cargo gives rustc for units built for `platform` (the
    /// target triple, `cfgs` its `rustc --print cfg`): `CARGO_ENCODED_RUSTFLAGS`,
    /// else `RUSTFLAGS`, else every matching `target.<triple>` and
    /// `target.'cfg(..)'` `rustflags`, else `build.rustflags`. `host_only`:
    /// a build script or proc-macro (or its dependency) while `--target` is
    /// given — those take no flags at all (cargo's `[host]` table is unstable).
    pub fn rustflags(&self, triple: &str, cfgs: Option<&[Cfg]>, host_only: bool) -> Vec<String> {
        if host_only {
            return Vec::new();
        }
        if let Some(encoded) = self.env_var("CARGO_ENCODED_RUSTFLAGS") {
            if encoded.is_empty() {
                return Vec::new();
            }
            return encoded.split('\x1f').map(str::to_owned).collect();
        }
        if let Some(text) = self.env_var("RUSTFLAGS") {
            return text
                .split(' ')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        let env = format!("CARGO_TARGET_{}_RUSTFLAGS", envify_triple(triple));
        let mut flags = self
            .get_list(&format!("target.{triple}.rustflags"), Some(&env))
            .unwrap_or_default();
        if let Some(cfgs) = cfgs {
            for (platform, key) in self.cfg_tables("rustflags") {
                if platform.matches(triple, cfgs) {
                    flags.extend(self.get_list(&key, None).unwrap_or_default());
                }
            }
        }
        if !flags.is_empty() {
            return flags;
        }
        self.get_list("build.rustflags", Some("CARGO_BUILD_RUSTFLAGS"))
            .unwrap_or_default()
    }

    /// `target.<triple>.linker`, else the first matching `target.'cfg(..)'.linker`.
    pub fn linker(&self, triple: &str, cfgs: Option<&[Cfg]>) -> Option<PathBuf> {
        let env = format!("CARGO_TARGET_{}_LINKER", envify_triple(triple));
        if let Some(linker) = self.get_program(&format!("target.{triple}.linker"), &[&env]) {
            return Some(linker);
        }
        let cfgs = cfgs?;
        self.cfg_tables("linker")
            .into_iter()
            .find(|(platform, _)| platform.matches(triple, cfgs))
            .and_then(|(_, key)| self.get_program(&key, &[]))
    }

    /// Whether any `target.'cfg(..)'` table sets `field`: then the target's
    /// cfgs are needed to answer [`CargoConfig::rustflags`] or `linker`.
    pub fn has_cfg_tables(&self) -> bool {
        !self.cfg_tables("rustflags").is_empty() || !self.cfg_tables("linker").is_empty()
    }

    fn cfg_tables(&self, field: &str) -> Vec<(Platform, String)> {
        self.values
            .keys()
            .filter_map(|key| {
                let rest = key.strip_prefix("target.")?;
                let cfg = rest.strip_suffix(&format!(".{field}"))?;
                cfg.starts_with("cfg(")
                    .then(|| Platform::from_str(cfg).ok())
                    .flatten()
                    .map(|p| (p, key.clone()))
            })
            .collect()
    }

    /// `[env]`, with `relative = true` values resolved against the config
    /// file's directory.
    pub fn env_table(&self) -> BTreeMap<String, EnvEntry> {
        let mut out = BTreeMap::new();
        for (key, values) in &self.values {
            let Some(name) = key.strip_prefix("env.") else {
                continue;
            };
            let Some(sourced) = values.last() else {
                continue;
            };
            let entry = match &sourced.value {
                Value::String(s) => EnvEntry {
                    value: s.into(),
                    force: false,
                },
                Value::Table(t) => {
                    let Some(value) = t.get("value").and_then(Value::as_str) else {
                        continue;
                    };
                    let relative = t.get("relative").and_then(Value::as_bool) == Some(true);
                    EnvEntry {
                        value: if relative {
                            normalize(&sourced.base.join(value)).into_os_string()
                        } else {
                            value.into()
                        },
                        force: t.get("force").and_then(Value::as_bool) == Some(true),
                    }
                }
                _ => continue,
            };
            out.insert(name.to_owned(), entry);
        }
        out
    }

    /// `inherits` of a custom profile, from configuration (`[profile.x]`).
    pub fn profile_inherits(&self, profile: &str) -> Option<String> {
        self.get_str(&format!("profile.{profile}.inherits"))
            .map(str::to_owned)
    }

    /// Settings that change outputs which orchestrator does not model; the
    /// build is refused naming the setting rather than built differently.
    pub fn unsupported(&self) -> Option<String> {
        for key in self.values.keys() {
            if let Some(rest) = key.strip_prefix("target.") {
                let field = rest.rsplit('.').next().unwrap_or("");
                let known = ["rustflags", "linker", "runner", "rustdocflags", "ar"];
                if !known.contains(&field) {
                    return Some(format!(
                        "`{key}` (a build-script override for a `links` library)"
                    ));
                }
            }
            if key.starts_with("host.") || key == "target-applies-to-host" {
                return Some(format!("`{key}` (unstable host configuration)"));
            }
        }
        None
    }
}

/// `[env]` entries are tables with `value`/`force`/`relative`, not nested config.
fn is_leaf_table(dotted: &str) -> bool {
    dotted.starts_with("env.") || dotted.matches('.').count() >= 3
}

fn string_list(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn program_path(text: &str, base: &Path) -> PathBuf {
    if text.contains('/') || text.contains('\\') {
        normalize(&base.join(text))
    } else {
        PathBuf::from(text)
    }
}

/// `x86_64-unknown-linux-gnu` → `X86_64_UNKNOWN_LINUX_GNU`.
fn envify_triple(triple: &str) -> String {
    triple
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

fn read_toml(path: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    toml::from_str(&text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: e.message().trim().to_owned(),
    })
}

/// Parse `rustc --print cfg` output.
pub fn parse_cfgs(text: &str) -> Vec<Cfg> {
    text.lines()
        .filter_map(|line| Cfg::from_str(line.trim()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn env(pairs: &[(&str, &str)], home: &Path) -> BTreeMap<String, String> {
        let mut map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("CARGO_HOME".into(), home.to_string_lossy().into_owned());
        map
    }

    #[test]
    fn deeper_files_win_and_lists_concatenate() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let home = root.join("home");
        write(
            &home.join("config.toml"),
            "[build]\nrustflags = [\"--cfg\", \"home\"]\njobs = 3\n",
        );
        write(
            &root.join("ws/.cargo/config.toml"),
            "[build]\nrustflags = \"--cfg ws\"\ntarget-dir = \"out\"\njobs = 5\n[env]\nA = \"1\"\nB = { value = \"rel\", relative = true, force = true }\n",
        );
        let cwd = root.join("ws/member");
        std::fs::create_dir_all(&cwd).unwrap();
        let c = CargoConfig::load(&cwd, env(&[], &home), &[]).unwrap();
        assert_eq!(
            c.rustflags("x86_64-unknown-linux-gnu", None, false),
            ["--cfg", "home", "--cfg", "ws"]
        );
        assert_eq!(c.jobs(8).unwrap(), Some(5));
        assert_eq!(c.target_dir(&cwd), root.join("ws/out"));
        let table = c.env_table();
        assert_eq!(table["A"].value, OsString::from("1"));
        assert_eq!(table["B"].value, root.join("ws/rel").into_os_string());
        assert!(table["B"].force);
    }

    #[test]
    fn environment_and_cli_override_files() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            &root.join(".cargo/config.toml"),
            "[target.x86_64-unknown-linux-gnu]\nrustflags = [\"-Cfoo\"]\nlinker = \"tools/cc\"\n[target.'cfg(unix)']\nrustflags = [\"--cfg\", \"unix_cfg\"]\n",
        );
        let home = root.join("nohome");
        let t = "x86_64-unknown-linux-gnu";
        let cfgs = parse_cfgs("unix\ntarget_os=\"linux\"\n");
        let c = CargoConfig::load(root, env(&[], &home), &[]).unwrap();
        assert_eq!(
            c.rustflags(t, Some(&cfgs), false),
            ["-Cfoo", "--cfg", "unix_cfg"]
        );
        assert_eq!(c.linker(t, None), Some(root.join("tools/cc")));
        assert!(c.rustflags(t, None, true).is_empty(), "host-only units");
        let c = CargoConfig::load(root, env(&[("RUSTFLAGS", "-Cx  -Cy")], &home), &[]).unwrap();
        assert_eq!(c.rustflags(t, Some(&cfgs), false), ["-Cx", "-Cy"]);
        let c = CargoConfig::load(
            root,
            env(&[("CARGO_ENCODED_RUSTFLAGS", "a b\x1fc")], &home),
            &["build.jobs=2".to_owned()],
        )
        .unwrap();
        assert_eq!(c.rustflags(t, None, false), ["a b", "c"]);
        assert_eq!(c.jobs(8).unwrap(), Some(2));
        let c = CargoConfig::load(root, env(&[("CARGO_TARGET_DIR", "t2")], &home), &[]).unwrap();
        assert_eq!(c.target_dir(root), root.join("t2"));
    }

    #[test]
    fn links_overrides_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            &tmp.path().join(".cargo/config.toml"),
            "[target.x86_64-unknown-linux-gnu.foo]\nrustc-link-lib = [\"foo\"]\n",
        );
        let c = CargoConfig::load(tmp.path(), env(&[], &tmp.path().join("h")), &[]).unwrap();
        assert!(c.unsupported().is_some_and(|m| m.contains("links")));
    }
}
