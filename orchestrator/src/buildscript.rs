//! Build scripts: what they print, and where their results live.
//!
//! Owns: parsing a script's stdout in both syntaxes (`cargo:KEY=VALUE` and
//! `cargo::KEY=VALUE`, cargo book "Build Scripts"), validating it as cargo
//! does, the run directory (`build/<pkg>-<hash>/` with `out/`, `output`,
//! `stderr`, `root-output`), and reading a recorded result back.
//! Never: runs anything (the executor does) or decides when to rerun (plan).

use std::path::{Path, PathBuf};

use crate::graph::Package;

/// `cargo::rustc-link-arg*` variants: which targets a linker argument is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkArgTarget {
    All,
    Cdylib,
    Bins,
    Bin(String),
    Tests,
    Benches,
    Examples,
}

/// A script's instructions, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildOutput {
    /// `rustc-link-search` (`-L`), in order.
    pub library_paths: Vec<PathBuf>,
    /// `rustc-link-lib` (`-l`).
    pub library_links: Vec<String>,
    pub linker_args: Vec<(LinkArgTarget, String)>,
    pub cfgs: Vec<String>,
    pub check_cfgs: Vec<String>,
    pub env: Vec<(String, String)>,
    /// `cargo::metadata=KEY=VALUE`: `DEP_<LINKS>_<KEY>` for dependents' scripts.
    pub metadata: Vec<(String, String)>,
    pub rerun_if_changed: Vec<PathBuf>,
    pub rerun_if_env_changed: Vec<String>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
}

const RESERVED_PREFIXES: &[&str] = &[
    "rustc-flags=",
    "rustc-link-lib=",
    "rustc-link-search=",
    "rustc-link-arg-cdylib=",
    "rustc-cdylib-link-arg=",
    "rustc-link-arg-bins=",
    "rustc-link-arg-bin=",
    "rustc-link-arg-tests=",
    "rustc-link-arg-benches=",
    "rustc-link-arg-examples=",
    "rustc-link-arg=",
    "rustc-cfg=",
    "rustc-check-cfg=",
    "rustc-env=",
    "warning=",
    "rerun-if-changed=",
    "rerun-if-env-changed=",
];

const DOCS: &str = "See https://doc.rust-lang.org/cargo/reference/build-scripts.html#outputs-of-the-build-script for more information about build script outputs.";

impl BuildOutput {
    /// Parse a script's stdout. `out_dir_then` is the `OUT_DIR` it ran with
    /// and `out_dir_now` the current one (a moved target directory).
    /// `rustc_bootstrap`: the `RUSTC_BOOTSTRAP` orchestrator was started with.
    pub fn parse(
        stdout: &[u8],
        package: &Package,
        out_dir_then: &Path,
        out_dir_now: &Path,
        rustc_bootstrap: Option<&str>,
    ) -> Result<BuildOutput, String> {
        let whence = format!("build script of `{}`", package.descr());
        let mut out = BuildOutput::default();
        let then = out_dir_then.to_string_lossy();
        let now = out_dir_now.to_string_lossy();
        for line in stdout.split(|b| *b == b'\n') {
            let Ok(line) = std::str::from_utf8(line) else {
                continue;
            };
            let line = line.trim();
            let (key, value, old_syntax) = if let Some(data) = line.strip_prefix("cargo::") {
                check_new_syntax_msrv(package, data)?;
                let (k, v) = directive(&whence, line, data, "cargo::")?;
                (k, v, false)
            } else if let Some(data) = line.strip_prefix("cargo:") {
                if RESERVED_PREFIXES.iter().any(|p| data.starts_with(p)) {
                    let (k, v) = directive(&whence, line, data, "cargo:")?;
                    (k, v, true)
                } else {
                    ("metadata", data, true)
                }
            } else {
                continue;
            };
            let value = value.replace(then.as_ref(), now.as_ref());
            let syntax = if old_syntax { "cargo:" } else { "cargo::" };
            out.apply(package, &whence, syntax, line, key, value, rustc_bootstrap)?;
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        package: &Package,
        whence: &str,
        syntax: &str,
        line: &str,
        key: &str,
        value: String,
        rustc_bootstrap: Option<&str>,
    ) -> Result<(), String> {
        let has_target = |kind: &str| {
            package
                .targets
                .iter()
                .any(|(kinds, _)| kinds.iter().any(|k| k == kind))
        };
        let require = |kind: &str, what: &str| {
            if has_target(kind) {
                Ok(())
            } else {
                Err(format!(
                    "invalid instruction `{syntax}{key}` from {whence}\nThe package {} does not have a {what} target.",
                    package.descr()
                ))
            }
        };
        match key {
            "rustc-flags" => {
                let (paths, links) = parse_rustc_flags(&value, whence)?;
                self.library_paths.extend(paths);
                self.library_links.extend(links);
            }
            "rustc-link-lib" => self.library_links.push(value),
            "rustc-link-search" => self.library_paths.push(PathBuf::from(value)),
            "rustc-link-arg-cdylib" | "rustc-cdylib-link-arg" => {
                if !has_target("cdylib") {
                    self.warnings.push(format!(
                        "{syntax}{key} was specified in the build script of {}, but that package does not contain a cdylib target",
                        package.descr()
                    ));
                }
                self.linker_args.push((LinkArgTarget::Cdylib, value));
            }
            "rustc-link-arg-bins" => {
                require("bin", "bin")?;
                self.linker_args.push((LinkArgTarget::Bins, value));
            }
            "rustc-link-arg-bin" => {
                let Some((bin, arg)) = value.split_once('=') else {
                    return Err(format!(
                        "invalid instruction `{syntax}{key}={value}` from {whence}\nThe instruction should have the form {syntax}{key}=BIN=ARG"
                    ));
                };
                let exists = package
                    .targets
                    .iter()
                    .any(|(kinds, name)| name == bin && kinds.iter().any(|k| k == "bin"));
                if !exists {
                    return Err(format!(
                        "invalid instruction `{syntax}{key}` from {whence}\nThe package {} does not have a bin target with the name `{bin}`.",
                        package.descr()
                    ));
                }
                self.linker_args
                    .push((LinkArgTarget::Bin(bin.to_owned()), arg.to_owned()));
            }
            "rustc-link-arg-tests" => {
                require("test", "test")?;
                self.linker_args.push((LinkArgTarget::Tests, value));
            }
            "rustc-link-arg-benches" => {
                require("bench", "benchmark")?;
                self.linker_args.push((LinkArgTarget::Benches, value));
            }
            "rustc-link-arg-examples" => {
                require("example", "example")?;
                self.linker_args.push((LinkArgTarget::Examples, value));
            }
            "rustc-link-arg" => self.linker_args.push((LinkArgTarget::All, value)),
            "rustc-cfg" => self.cfgs.push(value),
            "rustc-check-cfg" => self.check_cfgs.push(value),
            "rustc-env" => {
                let Some((name, val)) = value.split_once('=') else {
                    return Err(format!(
                        "Variable rustc-env has no value in {whence}: {value}"
                    ));
                };
                if name == "RUSTC_BOOTSTRAP" {
                    let lib = package.name.replace('-', "_");
                    let allowed = rustc_bootstrap.is_some_and(|v| v.split(',').any(|s| s == lib));
                    if !allowed {
                        return Err(format!(
                            "cannot set `RUSTC_BOOTSTRAP={val}` from {whence}.\nnote: crates cannot set `RUSTC_BOOTSTRAP` themselves, as doing so would subvert the stability guarantees of Rust for your project.\nhelp: If you're sure you want to do this in your project, set the environment variable `RUSTC_BOOTSTRAP={lib}` before running orchestrator instead."
                        ));
                    }
                    self.warnings
                        .push(format!("cannot set `RUSTC_BOOTSTRAP={val}` from {whence}."));
                } else {
                    self.env.push((name.to_owned(), val.to_owned()));
                }
            }
            "error" => self.errors.push(value),
            "warning" => self.warnings.push(value),
            "rerun-if-changed" => self.rerun_if_changed.push(PathBuf::from(value)),
            "rerun-if-env-changed" => self.rerun_if_env_changed.push(value),
            "metadata" => {
                let prefix = if syntax == "cargo:" {
                    "cargo:"
                } else {
                    "cargo::metadata="
                };
                let (k, v) = directive(whence, line, &value, prefix)?;
                self.metadata.push((k.to_owned(), v.to_owned()));
            }
            _ => {
                return Err(format!(
                    "invalid output in {whence}: `{line}`\nUnknown key: `{key}`.\n{DOCS}"
                ));
            }
        }
        Ok(())
    }

    /// `-L` search paths in cargo's order: those inside the script's own
    /// output directory first, then the rest, each keeping its order.
    pub fn ordered_library_paths(&self, out_dir: &Path) -> Vec<PathBuf> {
        let (mut inside, outside): (Vec<PathBuf>, Vec<PathBuf>) = self
            .library_paths
            .iter()
            .cloned()
            .partition(|p| search_dir(p).starts_with(out_dir));
        inside.extend(outside);
        inside
    }
}

/// `native=/x` → `/x` (the directory part of a `-L` value).
pub fn search_dir(path: &Path) -> &Path {
    match path.to_str().and_then(|s| s.split_once('=')) {
        Some(("native" | "crate" | "dependency" | "framework" | "all", dir)) => Path::new(dir),
        _ => path,
    }
}

fn directive<'a>(
    whence: &str,
    line: &str,
    data: &'a str,
    syntax: &str,
) -> Result<(&'a str, &'a str), String> {
    match data.split_once('=') {
        Some((k, v)) => Ok((k, v.trim_end())),
        None => Err(format!(
            "invalid output in {whence}: `{line}`\nExpected a line with `{syntax}KEY=VALUE` with an `=` character, but none was found.\n{DOCS}"
        )),
    }
}

/// The `cargo::` syntax needs a `rust-version` of 1.77 or newer (or none).
fn check_new_syntax_msrv(package: &Package, data: &str) -> Result<(), String> {
    let Some(msrv) = &package.meta.rust_version else {
        return Ok(());
    };
    let mut parts = msrv.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(1), parts.next().unwrap_or(0));
    if (major, minor) >= (1, 77) {
        return Ok(());
    }
    Err(format!(
        "the `cargo::` syntax for build script output instructions was added in Rust 1.77.0, but the minimum supported Rust version of `{}` is {msrv}.\nSwitch to the old `cargo:{data}` syntax (note the single colon).\n{DOCS}",
        package.descr()
    ))
}

/// `cargo::rustc-flags`: only `-l` and `-L`, with or without a space.
fn parse_rustc_flags(value: &str, whence: &str) -> Result<(Vec<PathBuf>, Vec<String>), String> {
    let mut words = value.split_whitespace();
    let (mut paths, mut links) = (Vec::new(), Vec::new());
    while let Some(word) = words.next() {
        let (flag, rest) = word.split_at(word.len().min(2));
        if flag != "-l" && flag != "-L" {
            return Err(format!(
                "only `-l` and `-L` flags are allowed in {whence}: `{value}`"
            ));
        }
        let arg = if rest.is_empty() {
            words
                .next()
                .ok_or_else(|| format!("flag in rustc-flags has no value in {whence}: {value}"))?
        } else {
            rest
        };
        match flag {
            "-l" => links.push(arg.to_owned()),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    Ok((paths, links))
}

/// Where a build-script run keeps its results: `build/<pkg>-<hash>/`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDirs {
    pub root: PathBuf,
    /// `OUT_DIR`.
    pub out: PathBuf,
    /// The script's stdout, as cargo keeps it.
    pub output: PathBuf,
    pub stderr: PathBuf,
    /// The `OUT_DIR` it ran with, to rewrite paths if the target directory moves.
    pub root_output: PathBuf,
}

impl RunDirs {
    pub fn new(root: PathBuf) -> RunDirs {
        RunDirs {
            out: root.join("out"),
            output: root.join("output"),
            stderr: root.join("stderr"),
            root_output: root.join("root-output"),
            root,
        }
    }

    /// The recorded result of the last successful run, if any.
    pub fn load(&self, package: &Package, rustc_bootstrap: Option<&str>) -> Option<BuildOutput> {
        let stdout = std::fs::read(&self.output).ok()?;
        let then = std::fs::read(&self.root_output)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(PathBuf::from)
            .unwrap_or_else(|| self.out.clone());
        BuildOutput::parse(&stdout, package, &then, &self.out, rustc_bootstrap).ok()
    }
}

/// `my-feature` → `MY_FEATURE`, for `CARGO_FEATURE_*`, `CARGO_CFG_*`, `DEP_*`.
pub fn envify(s: &str) -> String {
    s.chars()
        .flat_map(char::to_uppercase)
        .map(|c| if c == '-' { '_' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{PackageMeta, Source, Version};

    fn package(rust_version: Option<&str>) -> Package {
        Package {
            id: "path+file:///w#p@0.1.0".into(),
            name: "p".into(),
            version: Version::parse("0.1.0").unwrap(),
            source: Source::Member,
            manifest_path: "/w/Cargo.toml".into(),
            root: "/w".into(),
            meta: PackageMeta {
                rust_version: rust_version.map(str::to_owned),
                ..PackageMeta::default()
            },
            links: Some("z".into()),
            default_run: None,
            declared_features: Vec::new(),
            targets: vec![
                (vec!["lib".into()], "p".into()),
                (vec!["bin".into()], "tool".into()),
            ],
            lint_flags: Vec::new(),
            harnessless: Default::default(),
            primary: true,
        }
    }

    fn parse(text: &str) -> Result<BuildOutput, String> {
        BuildOutput::parse(
            text.as_bytes(),
            &package(None),
            Path::new("/old/out"),
            Path::new("/new/out"),
            None,
        )
    }

    #[test]
    fn both_syntaxes() {
        let out = parse(
            "noise\ncargo:rustc-cfg=old\ncargo::rustc-cfg=new\ncargo:rustc-env=A=1=2\ncargo::rustc-link-search=native=/old/out/lib\ncargo:rustc-link-lib=static=z\ncargo:root=/old/out/inc\ncargo::metadata=include=/x\ncargo::rerun-if-changed=build.rs\ncargo:rerun-if-env-changed=CC\ncargo::warning=careful\ncargo::rustc-check-cfg=cfg(old)\ncargo:rustc-flags=-L /lib -lfoo\ncargo::rustc-link-arg-bin=tool=-Wl,-z\n",
        )
        .unwrap();
        assert_eq!(out.cfgs, ["old", "new"]);
        assert_eq!(out.env, [("A".to_owned(), "1=2".to_owned())]);
        assert_eq!(
            out.library_paths,
            [PathBuf::from("native=/new/out/lib"), PathBuf::from("/lib")]
        );
        assert_eq!(out.library_links, ["static=z", "foo"]);
        assert_eq!(
            out.metadata,
            [
                ("root".to_owned(), "/new/out/inc".to_owned()),
                ("include".to_owned(), "/x".to_owned())
            ]
        );
        assert_eq!(out.rerun_if_changed, [PathBuf::from("build.rs")]);
        assert_eq!(out.rerun_if_env_changed, ["CC"]);
        assert_eq!(out.warnings, ["careful"]);
        assert_eq!(out.check_cfgs, ["cfg(old)"]);
        assert_eq!(
            out.linker_args,
            [(LinkArgTarget::Bin("tool".into()), "-Wl,-z".into())]
        );
        assert_eq!(
            out.ordered_library_paths(Path::new("/new/out")),
            [PathBuf::from("native=/new/out/lib"), PathBuf::from("/lib")]
        );
    }

    #[test]
    fn invalid_output_is_refused_as_cargo_does() {
        assert!(parse("cargo::bogus=1").unwrap_err().contains("Unknown key"));
        assert!(
            parse("cargo::rustc-cfg")
                .unwrap_err()
                .contains("`=` character")
        );
        assert!(
            parse("cargo:rustc-flags=-O")
                .unwrap_err()
                .contains("only `-l` and `-L`")
        );
        assert!(
            parse("cargo::rustc-link-arg-tests=x")
                .unwrap_err()
                .contains("does not have a test target")
        );
        assert!(parse("cargo::rustc-env=RUSTC_BOOTSTRAP=1").is_err());
        let old = BuildOutput::parse(
            b"cargo::rustc-cfg=x",
            &package(Some("1.70")),
            Path::new("/o"),
            Path::new("/o"),
            None,
        );
        assert!(old.unwrap_err().contains("1.77"));
    }

    #[test]
    fn envify_names() {
        assert_eq!(envify("my-feature"), "MY_FEATURE");
        assert_eq!(envify("target_os"), "TARGET_OS");
    }
}
