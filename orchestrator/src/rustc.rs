//! Everything about talking to rustc: the toolchain, the path-free
//! [`CompileSpec`] that is fingerprinted, the [`Invocation`] rendered from it,
//! output names, dep-info files and rustc's JSON messages.
//!
//! Never: decides what to build, or spawns through a shell (an
//! [`Invocation`] is a program and an argument vector).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::graph::{CrateGraph, Unit, UnitId};
use crate::manifest::{TargetKind, Workspace};
use crate::paths::relative_to;
use crate::profile::{Layout, Profile};

/// The compiler in use, identified by its full `rustc -vV` output.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub rustc: PathBuf,
    pub verbose_version: String,
    pub release: String,
    pub host: String,
}

impl Toolchain {
    /// Identify the compiler `RUSTC` names (else `rustc` from PATH), asked
    /// from `cwd` (the workspace root, where jobs run: a rustup
    /// `rust-toolchain.toml` there decides the toolchain). Without `RUSTC`,
    /// jobs then call the toolchain's own `<sysroot>/bin/rustc`, as cargo
    /// does, instead of paying a rustup proxy on every job.
    pub fn detect(explicit: Option<OsString>, cwd: &Path) -> Result<Toolchain> {
        let program = PathBuf::from(explicit.clone().unwrap_or_else(|| "rustc".into()));
        let (version, sysroot) = std::thread::scope(|s| {
            let sysroot = s.spawn(|| match explicit {
                Some(_) => None,
                None => query(&program, &["--print", "sysroot"], cwd).ok(),
            });
            let version = query(&program, &["-vV"], cwd);
            (version, sysroot.join().ok().flatten())
        });
        let text = version?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        let (Some(release), Some(host)) = (field("release:"), field("host:")) else {
            return Err(Error::Compiler {
                program,
                message: format!("unexpected `-vV` output: {text}"),
            });
        };
        let exe = format!("rustc{}", std::env::consts::EXE_SUFFIX);
        let rustc = sysroot
            .map(|root| PathBuf::from(root.trim()).join("bin").join(exe))
            .filter(|direct| direct.is_file())
            .unwrap_or(program);
        Ok(Toolchain {
            rustc,
            verbose_version: text,
            release,
            host,
        })
    }
}

/// Run `program args` in `cwd`; its stdout, or an error naming it.
fn query(program: &Path, args: &[&str], cwd: &Path) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| Error::Compiler {
            program: program.to_path_buf(),
            message: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(Error::Compiler {
            program: program.to_path_buf(),
            message: format!(
                "`{}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Everything that decides what rustc produces for a unit, except source
/// contents and dependency artifacts (those are in the ledger). Holds no
/// absolute path, so its hash survives moving the workspace.
#[derive(Debug, Clone, Serialize)]
pub struct CompileSpec {
    pub crate_name: String,
    pub kind: TargetKind,
    pub edition: String,
    /// Root source file, relative to the workspace root.
    pub src: PathBuf,
    pub profile: &'static str,
    pub features: Vec<String>,
    pub declared_features: Vec<String>,
    /// `-C metadata` and `-C extra-filename`.
    pub metadata: String,
    pub rustflags: Vec<String>,
    /// `(extern name, dependency unit key)`.
    pub externs: Vec<(String, String)>,
}

impl CompileSpec {
    /// A stable key naming this unit's artifacts and ledger entry.
    pub fn unit_key(&self) -> String {
        format!("{}-{}", self.crate_name, self.metadata)
    }

    pub fn fingerprint(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// Whether dependents may start on this unit's `.rmeta` (pipelining).
    pub fn emits_metadata(&self) -> bool {
        self.kind == TargetKind::Lib
    }
}

/// Build every unit's [`CompileSpec`], dependencies first (a unit's
/// `-C metadata` hashes its dependencies' metadata, as cargo's does).
pub fn compile_specs(
    ws: &Workspace,
    graph: &CrateGraph,
    profile: Profile,
    toolchain: &Toolchain,
    rustflags: &[String],
) -> Vec<CompileSpec> {
    let mut specs: Vec<Option<CompileSpec>> = vec![None; graph.len()];
    for &id in graph.topological() {
        let unit = graph.unit(id);
        let package = &ws.packages[unit.package];
        let mut hasher = blake3::Hasher::new();
        let dep_keys: Vec<(String, String)> = unit
            .deps
            .iter()
            .map(|d| {
                let key = specs[d.unit.0].as_ref().map(CompileSpec::unit_key);
                (d.extern_name.clone(), key.unwrap_or_default())
            })
            .collect();
        let package_dir = relative_to(&package.dir, &ws.root);
        let identity = [
            "orchestrator-unit-v1",
            &package.name,
            &package.version.text,
            &package_dir.to_string_lossy(),
            unit.kind.as_str(),
            &unit.target.name,
            profile.name(),
            &toolchain.release,
            &toolchain.host,
        ];
        for part in identity
            .iter()
            .map(|s| s.to_string())
            .chain(unit.features.iter().cloned())
            .chain(dep_keys.iter().map(|(_, k)| k.clone()))
        {
            hasher.update(part.as_bytes());
            hasher.update(&[0]);
        }
        let metadata = hasher.finalize().to_hex()[..16].to_owned();
        specs[id.0] = Some(CompileSpec {
            crate_name: unit.crate_name.clone(),
            kind: unit.kind,
            edition: package.edition.clone(),
            src: relative_to(&unit.target.src_path, &ws.root),
            profile: profile.name(),
            features: unit.features.iter().cloned().collect(),
            declared_features: unit.declared_features.iter().cloned().collect(),
            metadata,
            rustflags: rustflags.to_vec(),
            externs: dep_keys,
        });
    }
    specs
        .into_iter()
        .map(Option::unwrap_or_default_spec)
        .collect()
}

trait UnwrapSpec {
    fn unwrap_or_default_spec(self) -> CompileSpec;
}

impl UnwrapSpec for Option<CompileSpec> {
    fn unwrap_or_default_spec(self) -> CompileSpec {
        // Every unit is in the topological order, so every slot is filled.
        self.expect("every unit appears in the topological order")
    }
}

/// Files a unit's rustc run writes.
#[derive(Debug, Clone)]
pub struct Outputs {
    pub rmeta: Option<PathBuf>,
    /// The `.rlib`, proc-macro library, or hashed executable.
    pub main: PathBuf,
    pub dep_info: PathBuf,
    /// Where a binary is copied for the user (`<target>/debug/<name>`).
    pub uplift: Option<PathBuf>,
}

impl Outputs {
    pub fn of(spec: &CompileSpec, unit: &Unit, layout: &Layout) -> Outputs {
        let stem = format!("{}-{}", spec.crate_name, spec.metadata);
        let deps = &layout.deps;
        let (rmeta, main, uplift) = match spec.kind {
            TargetKind::Lib => (
                Some(deps.join(format!("lib{stem}.rmeta"))),
                deps.join(format!("lib{stem}.rlib")),
                None,
            ),
            TargetKind::ProcMacro => (
                None,
                deps.join(format!(
                    "{}{stem}{}",
                    std::env::consts::DLL_PREFIX,
                    std::env::consts::DLL_SUFFIX
                )),
                None,
            ),
            TargetKind::Bin => {
                let exe = std::env::consts::EXE_SUFFIX;
                (
                    None,
                    deps.join(format!("{stem}{exe}")),
                    Some(
                        layout
                            .profile_dir
                            .join(format!("{}{exe}", unit.target.name)),
                    ),
                )
            }
        };
        Outputs {
            rmeta,
            main,
            dep_info: deps.join(format!("{stem}.d")),
            uplift,
        }
    }
}

/// A program, its arguments, environment and working directory.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, OsString)>,
    pub cwd: PathBuf,
}

impl Invocation {
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).current_dir(&self.cwd);
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd
    }

    /// For `-v`: the command as a user could paste it (display only; never run).
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn quote(arg: &str) -> String {
    let plain = arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@".contains(c));
    if plain && !arg.is_empty() {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Inputs to [`invocation`] that are the same for every unit.
pub struct InvocationContext<'a> {
    pub ws: &'a Workspace,
    pub graph: &'a CrateGraph,
    pub specs: &'a [CompileSpec],
    pub layout: &'a Layout,
    pub profile: Profile,
    pub toolchain: &'a Toolchain,
    pub color: bool,
    /// Value for `CARGO` in the compiler's environment.
    pub cargo: OsString,
}

/// Render the rustc command for one unit, the way cargo's dev/release
/// profiles call it (`rustc-facts.md` §1).
pub fn invocation(cx: &InvocationContext<'_>, id: UnitId) -> Invocation {
    let unit = cx.graph.unit(id);
    let spec = &cx.specs[id.0];
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |a: &str| args.push(a.into());
    push("--crate-name");
    push(&spec.crate_name);
    push(&format!("--edition={}", spec.edition));
    push(&spec.src.to_string_lossy());
    push("--error-format=json");
    push(if cx.color {
        "--json=diagnostic-rendered-ansi,artifacts"
    } else {
        "--json=artifacts"
    });
    let (crate_type, emit) = match spec.kind {
        TargetKind::Lib => ("lib", "dep-info,metadata,link"),
        TargetKind::ProcMacro => ("proc-macro", "dep-info,link"),
        TargetKind::Bin => ("bin", "dep-info,link"),
    };
    push("--crate-type");
    push(crate_type);
    push(&format!("--emit={emit}"));
    if spec.kind == TargetKind::ProcMacro {
        push("-C");
        push("prefer-dynamic");
    }
    for arg in cx.profile.codegen_args() {
        push(arg);
    }
    for feature in &spec.features {
        push("--cfg");
        push(&format!("feature=\"{feature}\""));
    }
    push("--check-cfg");
    push("cfg(docsrs,test)");
    push("--check-cfg");
    let values: Vec<String> = spec
        .declared_features
        .iter()
        .map(|f| format!("\"{f}\""))
        .collect();
    push(&format!("cfg(feature, values({}))", values.join(", ")));
    push("-C");
    push(&format!("metadata={}", spec.metadata));
    push("-C");
    push(&format!("extra-filename=-{}", spec.metadata));
    args.push("--out-dir".into());
    args.push(cx.layout.deps.clone().into());
    if cx.profile.incremental() {
        let mut flag = OsString::from("incremental=");
        flag.push(&cx.layout.incremental);
        args.push("-C".into());
        args.push(flag);
    }
    for arg in cx.profile.trailing_args() {
        args.push(arg.into());
    }
    let mut dep_flag = OsString::from("dependency=");
    dep_flag.push(&cx.layout.deps);
    args.push("-L".into());
    args.push(dep_flag);
    if spec.kind == TargetKind::ProcMacro {
        args.push("--extern".into());
        args.push("proc_macro".into());
    }
    for dep in &unit.deps {
        let dep_unit = cx.graph.unit(dep.unit);
        let outputs = Outputs::of(&cx.specs[dep.unit.0], dep_unit, cx.layout);
        // A library compiles against its dependencies' metadata (pipelining);
        // anything that links needs the full artifacts.
        let path = match (&outputs.rmeta, spec.kind) {
            (Some(rmeta), TargetKind::Lib) => rmeta.clone(),
            _ => outputs.main,
        };
        let mut flag = OsString::from(format!("{}=", dep.extern_name));
        flag.push(path);
        args.push("--extern".into());
        args.push(flag);
    }
    args.extend(spec.rustflags.iter().map(OsString::from));
    Invocation {
        program: cx.toolchain.rustc.clone(),
        args,
        env: compiler_env(cx, unit)
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect(),
        cwd: cx.ws.root.clone(),
    }
}

/// The `CARGO_*` variables cargo gives the compiler; code reads them with `env!`.
pub fn compiler_env(cx: &InvocationContext<'_>, unit: &Unit) -> BTreeMap<String, String> {
    let package = &cx.ws.packages[unit.package];
    let meta = &package.metadata;
    let v = &package.version;
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set("CARGO", cx.cargo.to_string_lossy().into_owned());
    set("CARGO_PKG_NAME", package.name.clone());
    set("CARGO_PKG_VERSION", v.text.clone());
    set("CARGO_PKG_VERSION_MAJOR", v.major.to_string());
    set("CARGO_PKG_VERSION_MINOR", v.minor.to_string());
    set("CARGO_PKG_VERSION_PATCH", v.patch.to_string());
    set("CARGO_PKG_VERSION_PRE", v.pre.clone());
    set("CARGO_PKG_AUTHORS", meta.authors.join(":"));
    let or_empty = |o: &Option<String>| o.clone().unwrap_or_default();
    set("CARGO_PKG_DESCRIPTION", or_empty(&meta.description));
    set("CARGO_PKG_HOMEPAGE", or_empty(&meta.homepage));
    set("CARGO_PKG_REPOSITORY", or_empty(&meta.repository));
    set("CARGO_PKG_LICENSE", or_empty(&meta.license));
    set("CARGO_PKG_LICENSE_FILE", or_empty(&meta.license_file));
    set("CARGO_PKG_RUST_VERSION", or_empty(&meta.rust_version));
    set("CARGO_PKG_README", or_empty(&meta.readme));
    set(
        "CARGO_MANIFEST_DIR",
        package.dir.to_string_lossy().into_owned(),
    );
    set(
        "CARGO_MANIFEST_PATH",
        package.manifest_path.to_string_lossy().into_owned(),
    );
    set("CARGO_CRATE_NAME", unit.crate_name.clone());
    if package.is_member {
        set("CARGO_PRIMARY_PACKAGE", "1".to_owned());
    }
    if unit.kind == TargetKind::Bin {
        set("CARGO_BIN_NAME", unit.target.name.clone());
    }
    env
}

/// What a dep-info (`.d`) file says rustc read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DepInfo {
    /// As rustc wrote them: relative to its working directory, or absolute.
    pub files: Vec<PathBuf>,
    /// `env!`/`option_env!` reads: name and value (`None`: unset).
    pub env: Vec<(String, Option<String>)>,
}

impl DepInfo {
    pub fn read(path: &Path) -> Result<DepInfo> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io("read dep-info", path, e))?;
        Ok(DepInfo::parse(&text))
    }

    pub fn parse(text: &str) -> DepInfo {
        let mut info = DepInfo::default();
        for line in text.lines() {
            if let Some(env) = line.strip_prefix("# env-dep:") {
                let (name, value) = match env.split_once('=') {
                    Some((n, v)) => (n, Some(unescape_env(v))),
                    None => (env, None),
                };
                info.env.push((name.to_owned(), value));
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let Some(rhs) = split_rule(line) else {
                continue;
            };
            for file in split_escaped(rhs) {
                let file = PathBuf::from(file);
                if !info.files.contains(&file) {
                    info.files.push(file);
                }
            }
        }
        info
    }
}

/// The right-hand side of `target: deps`, skipping an escaped `\:` in paths.
fn split_rule(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    (0..bytes.len())
        .find(|&i| {
            bytes[i] == b':'
                && (i == 0 || bytes[i - 1] != b'\\')
                && bytes.get(i + 1).is_none_or(|&c| c == b' ')
        })
        .map(|i| &line[i + 1..])
}

fn split_escaped(rhs: &str) -> Vec<String> {
    let mut files = Vec::new();
    let mut current = String::new();
    let mut chars = rhs.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| *n == ' ' || *n == ':') => {
                current.push(chars.next().unwrap_or(' '));
            }
            ' ' => {
                if !current.is_empty() {
                    files.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        files.push(current);
    }
    files
}

/// rustc escapes `\`, newlines and carriage returns in env-dep values.
fn unescape_env(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// One line of rustc's stderr under `--error-format=json`.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// An artifact was written (`emit` is `metadata`, `link`, `dep-info`...).
    Artifact {
        path: PathBuf,
        emit: String,
    },
    Diagnostic {
        level: String,
        rendered: String,
    },
    /// Anything else rustc printed (crashes, linker output...).
    Text(String),
    /// A JSON message orchestrator has no use for.
    Other,
}

impl Message {
    pub fn parse(line: &str) -> Message {
        if !line.starts_with('{') {
            return Message::Text(line.to_owned());
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            return Message::Text(line.to_owned());
        };
        let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        if let (Some(path), Some(emit)) = (text("artifact"), text("emit")) {
            return Message::Artifact {
                path: path.into(),
                emit,
            };
        }
        if text("$message_type").as_deref() == Some("diagnostic") {
            return Message::Diagnostic {
                level: text("level").unwrap_or_default(),
                rendered: text("rendered").unwrap_or_default(),
            };
        }
        Message::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_files_and_env() {
        let text = "/t/deps/a-1.d: a/src/lib.rs a/src/my\\ mod.rs\n\n/t/deps/liba-1.rlib: a/src/lib.rs a/src/my\\ mod.rs\n\na/src/lib.rs:\na/src/my\\ mod.rs:\n\n# env-dep:CARGO_PKG_NAME=a\n# env-dep:MULTI=x\\ny\n# env-dep:UNSET\n";
        let info = DepInfo::parse(text);
        assert_eq!(
            info.files,
            vec![
                PathBuf::from("a/src/lib.rs"),
                PathBuf::from("a/src/my mod.rs")
            ]
        );
        assert_eq!(
            info.env,
            vec![
                ("CARGO_PKG_NAME".to_owned(), Some("a".to_owned())),
                ("MULTI".to_owned(), Some("x\ny".to_owned())),
                ("UNSET".to_owned(), None),
            ]
        );
    }

    #[test]
    fn messages() {
        assert_eq!(
            Message::parse(r#"{"artifact":"/t/liba.rmeta","emit":"metadata"}"#),
            Message::Artifact {
                path: "/t/liba.rmeta".into(),
                emit: "metadata".into()
            }
        );
        assert_eq!(
            Message::parse(r#"{"$message_type":"diagnostic","level":"error","rendered":"boom"}"#),
            Message::Diagnostic {
                level: "error".into(),
                rendered: "boom".into()
            }
        );
        assert_eq!(Message::parse("plain"), Message::Text("plain".into()));
    }

    #[test]
    fn display_quotes_only_when_needed() {
        assert_eq!(quote("--crate-name"), "--crate-name");
        assert_eq!(quote("cfg(feature, values())"), "'cfg(feature, values())'");
    }
}
