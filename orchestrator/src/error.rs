//! The one error type that crosses stage boundaries.
//!
//! Every variant names the file and, where one is involved, the crate, and
//! [`Error::help`] says what the user can do about it. The CLI maps errors to
//! exit codes ([`Error::exit_code`]); nothing below the CLI prints.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("could not find `Cargo.toml` in `{}` or any parent directory", dir.display())]
    NoManifest { dir: PathBuf },

    #[error("malformed TOML in `{}` at line {line}, column {column}: {message}", path.display())]
    TomlSyntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("invalid manifest `{}`{}: {message}", path.display(), crate_suffix(krate))]
    Manifest {
        path: PathBuf,
        krate: Option<String>,
        message: String,
    },

    #[error("crate `{krate}` (`{}`) uses {what}, which orchestrator does not support yet", path.display())]
    Unsupported {
        path: PathBuf,
        krate: String,
        what: String,
    },

    /// cargo's own message, as cargo wrote it (without its `error: ` prefix).
    #[error("{}", output.strip_prefix("error: ").unwrap_or(output))]
    Cargo { command: String, output: String },

    #[error("invalid cargo configuration `{}`: {message}", path.display())]
    Config { path: PathBuf, message: String },

    #[error("could not run the compiler `{}`: {message}", program.display())]
    Compiler { program: PathBuf, message: String },

    #[error("corrupt build state `{}`: {message}", path.display())]
    State { path: PathBuf, message: String },

    #[error("--touch {touch}: {message}{}", did_you_mean(suggestions))]
    Touch {
        touch: String,
        message: String,
        suggestions: Vec<String>,
    },

    #[error("could not compile {}", list_crates(crates))]
    CompileFailed { crates: Vec<String> },

    #[error("build cache `{url}`: {message}")]
    Cache { url: String, message: String },

    #[error("could not start {threads} worker threads: {message}")]
    Threads { threads: usize, message: String },

    /// A request orchestrator cannot serve as given; `help` says how to ask.
    #[error("{message}")]
    Usage { message: String, help: String },

    /// Test executables that failed, by the flags that select them again.
    #[error("{} target{} failed: {}", targets.len(), if targets.len() == 1 { "" } else { "s" }, list_crates(targets))]
    TestsFailed { targets: Vec<String> },
}

fn crate_suffix(krate: &Option<String>) -> String {
    krate
        .as_ref()
        .map(|k| format!(" (crate `{k}`)"))
        .unwrap_or_default()
}

fn did_you_mean(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!("; closest: {}", names.join(", "))
    }
}

fn list_crates(crates: &[String]) -> String {
    crates
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn manifest(path: &Path, krate: Option<&str>, message: impl Into<String>) -> Self {
        Error::Manifest {
            path: path.to_path_buf(),
            krate: krate.map(str::to_owned),
            message: message.into(),
        }
    }

    pub fn unsupported(path: &Path, krate: &str, what: impl Into<String>) -> Self {
        Error::Unsupported {
            path: path.to_path_buf(),
            krate: krate.to_owned(),
            what: what.into(),
        }
    }

    /// What the user can do about it, shown under the error.
    pub fn help(&self) -> Option<String> {
        let text = match self {
            Error::Io { .. } => "check that the path exists and is readable/writable",
            Error::NoManifest { .. } => {
                "run inside a Cargo workspace or pass `--manifest-path path/to/Cargo.toml`"
            }
            Error::TomlSyntax { .. } => "fix the TOML syntax at that position",
            Error::Manifest { .. } => "fix the manifest; `cargo metadata` reports the same problem",
            Error::Unsupported { .. } => {
                "build this workspace with `cargo build`; orchestrator does not model this setting"
            }
            Error::Cargo { .. } => {
                "this is cargo's own message about the workspace; fix what it names, then build again"
            }
            Error::Config { .. } => "fix the configuration value or file it names",
            Error::Compiler { .. } => {
                "check that `rustc` is installed and on PATH, or set `RUSTC` to its path"
            }
            Error::State { .. } => "remove the target directory and build again",
            Error::Touch { .. } => {
                "name a workspace crate, optionally `::` an item path in it, e.g. `--touch core_lib::Storage`"
            }
            Error::CompileFailed { .. } => return None,
            Error::Threads { .. } => "lower `-j` (or `build.jobs`), or free system resources",
            Error::Cache { .. } => {
                "set ORCHESTRATOR_CACHE to `file:///path`, `local`, `redis://host:port`, `s3://bucket/prefix`, `gs://bucket/prefix`, `azblob://container/prefix` or `http://host:port/prefix`, or `off` (the README's \"Build cache\" section)"
            }
            Error::Usage { help, .. } => return Some(help.clone()),
            Error::TestsFailed { .. } => return None,
        };
        Some(text.to_owned())
    }

    /// Already said, unit by unit, while the build ran ("could not compile
    /// `x` (lib) due to the errors above"): human output says it once, as cargo.
    pub fn reported_per_unit(&self) -> bool {
        matches!(
            self,
            Error::CompileFailed { .. } | Error::TestsFailed { .. }
        )
    }

    /// cargo's convention: 101 for a failed build of any kind.
    pub fn exit_code(&self) -> i32 {
        101
    }
}
