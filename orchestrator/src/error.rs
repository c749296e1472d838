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

    #[error("workspace member pattern `{pattern}` in `{}` matches no directory", path.display())]
    GlobNoMatch { path: PathBuf, pattern: String },

    #[error("workspace member `{}` listed in `{}` has no `Cargo.toml`", member.display(), path.display())]
    MissingMemberManifest { path: PathBuf, member: PathBuf },

    #[error("dependency `{dep}` of crate `{krate}` points to `{}`, which has no `Cargo.toml` (declared in `{}`)", dep_path.display(), path.display())]
    MissingPathDependency {
        path: PathBuf,
        krate: String,
        dep: String,
        dep_path: PathBuf,
    },

    #[error("two packages are named `{name}`: `{}` and `{}`", first.display(), second.display())]
    DuplicatePackage {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },

    #[error("dependency cycle between crates: {}", cycle.join(" → "))]
    Cycle { cycle: Vec<String> },

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
                "build this workspace with `cargo build`; support for this is planned"
            }
            Error::GlobNoMatch { .. } => {
                "remove the pattern from `workspace.members` or create a crate it matches"
            }
            Error::MissingMemberManifest { .. } => {
                "add a `Cargo.toml` to the member or remove it from `workspace.members`"
            }
            Error::MissingPathDependency { .. } => "fix the dependency's `path`",
            Error::DuplicatePackage { .. } => "rename one of the packages",
            Error::Cycle { .. } => "break the cycle: crates cannot depend on each other in a loop",
            Error::Compiler { .. } => {
                "check that `rustc` is installed and on PATH, or set `RUSTC` to its path"
            }
            Error::State { .. } => "remove the target directory and build again",
            Error::Touch { .. } => {
                "name a workspace crate, optionally `::` an item path in it, e.g. `--touch core_lib::Storage`"
            }
            Error::CompileFailed { .. } => return None,
        };
        Some(text.to_owned())
    }

    /// cargo's convention: 101 for a failed build of any kind.
    pub fn exit_code(&self) -> i32 {
        101
    }
}
