//! Stage 1: cargo's resolved plan — what is built, with which features,
//! profiles and dependencies — and the configuration cargo reads.
//!
//! Owns: running `cargo build --unit-graph` (stable cargo, with
//! `RUSTC_BOOTSTRAP=1` for that one call) and `cargo metadata`, keeping their
//! answer under the target directory keyed by everything that can change it
//! ([`cache`]), and the cargo configuration ([`config`]).
//! Never: resolves dependencies or features itself, guesses when cargo's
//! answer cannot be had (cargo's own message is shown), or compiles anything.

pub mod cache;
pub mod config;
pub mod lockfile;
pub mod metadata;
pub mod synthetic;
pub mod unit_graph;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use config::CargoConfig;
pub use metadata::{MetaPackage, Metadata};
pub use unit_graph::{RawProfile, RawUnit, UnitGraph};

/// Which cargo command's plan to take: `build`, `check` or `test` (whose
/// unit graphs differ in mode: code, metadata only, test harnesses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CargoCommand {
    Build,
    Check,
    Test,
}

impl CargoCommand {
    /// cargo copies final artifacts to `<target>/<profile>/` (its "artifact
    /// dir") for every command but `check`; build scripts and programs see
    /// that directory on their library path only then.
    pub fn has_artifact_dir(self) -> bool {
        self != CargoCommand::Check
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CargoCommand::Build => "build",
            CargoCommand::Check => "check",
            CargoCommand::Test => "test",
        }
    }
}

/// What to ask cargo: the command line's selection and resolution flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CargoRequest {
    /// Whose unit graph: `cargo build`, `cargo check` or `cargo test`.
    pub command: CargoCommand,
    /// `CARGO`, else `cargo` from PATH.
    pub cargo: PathBuf,
    /// Where cargo runs (its configuration is found from here).
    pub cwd: PathBuf,
    pub manifest_path: Option<PathBuf>,
    /// `-p`, `--workspace`, `--exclude`, `--features`, `--profile`, `--target`,
    /// `--locked`... exactly as they go to `cargo build`.
    pub args: Vec<String>,
    /// Platforms to filter `cargo metadata` by (host and every `--target`).
    pub platforms: Vec<String>,
}

/// cargo's answer: the unit graph plus the package facts it lacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CargoAnswer {
    pub graph: UnitGraph,
    /// Packages that appear in the unit graph, by package id.
    pub packages: BTreeMap<String, MetaPackage>,
    pub members: Vec<String>,
    pub workspace_root: PathBuf,
    pub target_directory: PathBuf,
    /// `Cargo.lock` checksums of registry packages, by package id.
    pub checksums: BTreeMap<String, String>,
    /// Each package's `[lints]` as rustc flags (cargo reports them nowhere).
    pub lints: BTreeMap<String, Vec<String>>,
    /// Each package's targets with `harness = false` (`kind:name`).
    #[serde(default)]
    pub harnessless: BTreeMap<String, Vec<String>>,
}

/// Ask cargo (or reuse its answer from `cache_dir` when nothing it depends
/// on changed; or `remembered`, an answer this process already has, on the
/// same condition). `toolchain` is `rustc -vV`, part of the cache key.
pub fn resolve(
    request: &CargoRequest,
    env: &BTreeMap<String, String>,
    config: &CargoConfig,
    toolchain: &str,
    cache_dir: &Path,
    remembered: Option<cache::Remembered>,
) -> Result<cache::Remembered> {
    let key = cache::RequestKey::new(request, env, toolchain);
    if let Some(answer) = remembered.filter(|r| r.holds_for(&key)) {
        return Ok(answer);
    }
    if let Some(answer) = cache::lookup(cache_dir, &key) {
        return Ok(answer);
    }
    let started = std::time::SystemTime::now();
    let answer = query(request)?;
    Ok(cache::store(cache_dir, &key, answer, config, started))
}

/// Run cargo's two queries (in parallel) and join their answers.
pub fn query(request: &CargoRequest) -> Result<CargoAnswer> {
    let (graph, metadata) = std::thread::scope(|s| {
        let graph = s.spawn(|| run_unit_graph(request));
        let metadata = run_metadata(request);
        let graph = graph.join().unwrap_or_else(|_| {
            Err(Error::Cargo {
                command: "cargo build --unit-graph".to_owned(),
                output: "the query thread panicked".to_owned(),
            })
        });
        (graph, metadata)
    });
    let graph = graph?;
    let metadata = metadata?;
    if !unit_graph::KNOWN_VERSIONS.contains(&graph.version) {
        return Err(Error::Cargo {
            command: "cargo build --unit-graph".to_owned(),
            output: format!(
                "unit-graph format version {} is not one orchestrator understands ({:?}); \
                 use a cargo version this orchestrator supports",
                graph.version,
                unit_graph::KNOWN_VERSIONS
            ),
        });
    }
    let wanted: std::collections::BTreeSet<&str> =
        graph.units.iter().map(|u| u.pkg_id.as_str()).collect();
    let packages: BTreeMap<String, MetaPackage> = metadata
        .packages
        .into_iter()
        .filter(|p| wanted.contains(p.id.as_str()))
        .map(|p| (p.id.clone(), p))
        .collect();
    if let Some(missing) = wanted.iter().find(|id| !packages.contains_key(**id)) {
        return Err(Error::Cargo {
            command: "cargo metadata".to_owned(),
            output: format!("package `{missing}` of the unit graph is missing from cargo metadata"),
        });
    }
    let workspace_root = PathBuf::from(&metadata.workspace_root);
    let checksums = lockfile::checksums(&workspace_root.join("Cargo.lock"));
    let root_manifest = workspace_root.join("Cargo.toml");
    let lints = packages
        .values()
        .map(|p| {
            let flags = crate::manifest::lint_flags(Path::new(&p.manifest_path), &root_manifest)?;
            Ok((p.id.clone(), flags))
        })
        .collect::<Result<BTreeMap<_, _>>>()?;
    // Only packages with test harnesses (or checks of them) need it.
    let tested: std::collections::BTreeSet<&str> = graph
        .units
        .iter()
        .filter(|u| matches!(u.mode.as_str(), "test" | "check" | "bench"))
        .map(|u| u.pkg_id.as_str())
        .collect();
    let harnessless = packages
        .values()
        .filter(|p| tested.contains(p.id.as_str()))
        .map(|p| {
            let targets =
                crate::manifest::harnessless_targets(Path::new(&p.manifest_path), &p.name)?;
            Ok((p.id.clone(), targets))
        })
        .collect::<Result<BTreeMap<_, _>>>()?;
    Ok(CargoAnswer {
        graph,
        packages,
        members: metadata.workspace_members,
        workspace_root,
        target_directory: PathBuf::from(metadata.target_directory),
        checksums,
        lints,
        harnessless,
    })
}

fn cargo_command(request: &CargoRequest, subcommand: &[&str]) -> Command {
    let mut cmd = Command::new(&request.cargo);
    cmd.args(subcommand)
        .current_dir(&request.cwd)
        .stdin(Stdio::null())
        // Never let cargo colour or page what we parse.
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_TERM_PROGRESS_WHEN");
    if let Some(manifest) = &request.manifest_path {
        cmd.arg("--manifest-path").arg(manifest);
    }
    cmd
}

fn run_unit_graph(request: &CargoRequest) -> Result<UnitGraph> {
    let command = request.command.as_str();
    let mut cmd = cargo_command(
        request,
        &[command, "--unit-graph", "-Z", "unstable-options"],
    );
    cmd.args(&request.args).env("RUSTC_BOOTSTRAP", "1");
    let what = format!("cargo {command} --unit-graph");
    let stdout = run(cmd, &what)?;
    serde_json::from_slice(&stdout).map_err(|e| Error::Cargo {
        command: what,
        output: format!("could not read its answer: {e}"),
    })
}

/// `cargo metadata` alone (package facts, e.g. for `clean -p`).
pub fn metadata(request: &CargoRequest) -> Result<Metadata> {
    run_metadata(request)
}

fn run_metadata(request: &CargoRequest) -> Result<Metadata> {
    let mut cmd = cargo_command(request, &["metadata", "--format-version", "1"]);
    for platform in &request.platforms {
        cmd.arg("--filter-platform").arg(platform);
    }
    // Only the flags that change which lock file and registry cargo may use.
    let mut args = request.args.iter().peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--locked" | "--offline" | "--frozen" => {
                cmd.arg(arg);
            }
            "--config" => {
                if let Some(value) = args.next() {
                    cmd.arg("--config").arg(value);
                }
            }
            _ => {}
        }
    }
    let stdout = run(cmd, "cargo metadata")?;
    serde_json::from_slice(&stdout).map_err(|e| Error::Cargo {
        command: "cargo metadata".to_owned(),
        output: format!("could not read its answer: {e}"),
    })
}

/// Run a cargo query; on failure, cargo's own message is the error.
fn run(mut cmd: Command, what: &str) -> Result<Vec<u8>> {
    let output = crate::interrupt::output(&mut cmd).map_err(|e| Error::Cargo {
        command: what.to_owned(),
        output: format!("could not start cargo: {e}"),
    })?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut text = cargo_error_text(&stderr);
    if text.is_empty() {
        text = format!("`{what}` failed ({}) and printed nothing", output.status);
    }
    Err(Error::Cargo {
        command: what.to_owned(),
        output: text,
    })
}

/// cargo's error, without what it printed before it: status lines ("Updating",
/// "Blocking waiting for file lock") and retry warnings depend on timing and
/// on other cargo processes, not on the workspace. From the first `error:`
/// line on when there is one; otherwise everything but the status lines.
fn cargo_error_text(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    if let Some(first) = lines.iter().position(|l| l.starts_with("error:")) {
        return lines[first..].join("\n").trim().to_owned();
    }
    lines
        .into_iter()
        .filter(|l| {
            let t = l.trim_start();
            ![
                "Updating ",
                "Downloading ",
                "Downloaded ",
                "Locking ",
                "Blocking ",
            ]
            .iter()
            .any(|status| t.starts_with(status))
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// The environment snapshot every stage reads (tests inject their own).
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// `CARGO` from the environment (set when run as `cargo orchestrator`), else `cargo`.
pub fn cargo_program(env: &BTreeMap<String, String>) -> PathBuf {
    env.get("CARGO")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// The absolute path of `program` on `PATH` (for the `CARGO` variable
/// children see); the name itself when it cannot be found.
pub fn which(program: &Path, env: &BTreeMap<String, String>) -> OsString {
    if program.components().count() > 1 {
        return program.as_os_str().to_owned();
    }
    env.get("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(p).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .map(PathBuf::into_os_string)
        .unwrap_or_else(|| program.as_os_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::cargo_error_text;

    #[test]
    fn cargo_errors_start_at_the_first_error_line() {
        let stderr = "    Blocking waiting for file lock on package cache\n\
                      warning: spurious network error (3 tries remaining)\n\
                      error: failed to get `foo`\n\nCaused by:\n  nope\n";
        assert_eq!(
            cargo_error_text(stderr),
            "error: failed to get `foo`\n\nCaused by:\n  nope"
        );
    }

    #[test]
    fn without_an_error_line_only_status_lines_are_dropped() {
        let stderr = "    Updating crates.io index\nsomething odd happened\n";
        assert_eq!(cargo_error_text(stderr), "something odd happened");
    }
}
