//! Everything about talking to rustc: the toolchain, the files a unit's
//! rustc run writes ([`Outputs`]), the [`Invocation`] type, dep-info files
//! and rustc's JSON messages.
//!
//! Never: decides what to build, or spawns through a shell (an
//! [`Invocation`] is a program and an argument vector).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::buildscript::RunDirs;
use crate::error::{Error, Result};
use crate::fingerprint::UnitSpec;
use crate::graph::{CrateGraph, CrateType, Mode, UnitId, UnitKind};
use crate::profile::Layout;

/// The compiler in use, identified by its full `rustc -vV` output.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// What jobs run: the toolchain's own `<sysroot>/bin/rustc` when `rustc`
    /// came from PATH (as cargo does, skipping a rustup proxy per job).
    pub rustc: PathBuf,
    pub rustdoc: PathBuf,
    pub sysroot: Option<PathBuf>,
    pub verbose_version: String,
    pub release: String,
    pub host: String,
}

impl Toolchain {
    /// Identify the compiler `explicit` names (`RUSTC`, `build.rustc`), else
    /// `rustc` from PATH, asked from `cwd` (the workspace root, where a rustup
    /// `rust-toolchain.toml` decides the toolchain).
    pub fn detect(explicit: Option<PathBuf>, cwd: &Path) -> Result<Toolchain> {
        let program = explicit.unwrap_or_else(|| PathBuf::from("rustc"));
        let (version, sysroot) = std::thread::scope(|s| {
            let sysroot = s.spawn(|| query(&program, &["--print", "sysroot"], cwd).ok());
            let version = query(&program, &["-vV"], cwd);
            (version, sysroot.join().ok().flatten())
        });
        Toolchain::from_answers(program, version?, sysroot)
    }

    /// [`Toolchain::detect`], with the answer kept in `cache_dir`: asking
    /// rustc (through a rustup proxy) twice is most of a no-op build's time.
    /// cargo keeps the same answer in `target/.rustc_info.json`. The entry
    /// is keyed by what decides which compiler `rustc` is — the program
    /// found on PATH, rustup's variables and settings, `rust-toolchain`
    /// files above `cwd` — and holds while the toolchain's own `rustc` and
    /// its library directory are as they were (`rustup update` replaces them).
    /// A fresh answer comes with the entry to keep, for the caller to
    /// [`PendingToolchain::store`] once the workspace loaded (nothing is
    /// written for a workspace cargo cannot load).
    pub fn detect_cached(
        explicit: Option<PathBuf>,
        cwd: &Path,
        env: &std::collections::BTreeMap<String, String>,
        cache_dir: &Path,
    ) -> Result<(Toolchain, Option<PendingToolchain>)> {
        let program = explicit.clone().unwrap_or_else(|| PathBuf::from("rustc"));
        let key = toolchain_key(&program, cwd, env);
        let path = cache_dir.join(format!("toolchain-{}.json", &key[..16]));
        if let Ok(bytes) = std::fs::read(&path)
            && let Ok(cached) = serde_json::from_slice::<CachedToolchain>(&bytes)
            && cached.key == key
            && sysroot_stamp(&cached.sysroot) == cached.stamp
        {
            let toolchain =
                Toolchain::from_answers(program, cached.verbose_version, Some(cached.sysroot))?;
            return Ok((toolchain, None));
        }
        let toolchain = Toolchain::detect(explicit, cwd)?;
        let pending = toolchain.sysroot.as_ref().and_then(|sysroot| {
            let cached = CachedToolchain {
                key,
                verbose_version: toolchain.verbose_version.clone(),
                stamp: sysroot_stamp(&sysroot.to_string_lossy()),
                sysroot: sysroot.to_string_lossy().into_owned(),
            };
            Some(PendingToolchain {
                path,
                bytes: serde_json::to_vec(&cached).ok()?,
            })
        });
        Ok((toolchain, pending))
    }

    fn from_answers(program: PathBuf, text: String, sysroot: Option<String>) -> Result<Toolchain> {
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
        let sysroot = sysroot.map(|s| PathBuf::from(s.trim()));
        let exe = |name: &str| format!("{name}{}", std::env::consts::EXE_SUFFIX);
        let in_sysroot = |name: &str| {
            sysroot
                .as_ref()
                .map(|root| root.join("bin").join(exe(name)))
                .filter(|p| p.is_file())
        };
        let from_path = program.components().count() == 1;
        let rustc = match from_path {
            true => in_sysroot("rustc").unwrap_or_else(|| program.clone()),
            false => program.clone(),
        };
        let rustdoc = in_sysroot("rustdoc").unwrap_or_else(|| PathBuf::from(exe("rustdoc")));
        Ok(Toolchain {
            rustc,
            rustdoc,
            sysroot,
            verbose_version: text,
            release,
            host,
        })
    }

    /// `rustc --print cfg` for a platform with the flags in force, as cargo
    /// asks it (for `CARGO_CFG_*` and `target.'cfg(..)'` configuration).
    pub fn print_cfg(
        &self,
        platform: Option<&str>,
        rustflags: &[String],
        cwd: &Path,
    ) -> Result<String> {
        let mut args: Vec<String> = [
            "-",
            "--crate-name",
            "___",
            "--print=cfg",
            "--crate-type",
            "bin",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(triple) = platform {
            args.push("--target".to_owned());
            args.push(triple.to_owned());
        }
        args.extend(rustflags.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        query(&self.rustc, &args, cwd)
    }
}

/// Run `program args` in `cwd` with no input; its stdout, or an error naming it.
/// A toolchain answer to keep (see [`Toolchain::detect_cached`]).
pub struct PendingToolchain {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl PendingToolchain {
    /// Keep it. Failing to write only costs the two rustc queries next time.
    pub fn store(self) {
        if let Some(dir) = self.path.parent()
            && std::fs::create_dir_all(dir).is_ok()
        {
            let _ = crate::ledger::write_atomic(&self.path, &self.bytes);
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedToolchain {
    key: String,
    verbose_version: String,
    sysroot: String,
    stamp: String,
}

/// What decides which compiler `program` is.
fn toolchain_key(
    program: &Path,
    cwd: &Path,
    env: &std::collections::BTreeMap<String, String>,
) -> String {
    let mut hasher = blake3::Hasher::new();
    let mut part = |bytes: &[u8]| {
        hasher.update(bytes);
        hasher.update(&[0]);
    };
    part(b"orchestrator-toolchain-v1");
    let resolved = PathBuf::from(crate::cargo::which(program, env));
    part(resolved.to_string_lossy().as_bytes());
    part(file_stamp(&resolved).as_bytes());
    for name in ["RUSTUP_TOOLCHAIN", "RUSTUP_HOME", "HOME"] {
        part(name.as_bytes());
        part(env.get(name).map(String::as_str).unwrap_or("").as_bytes());
    }
    let rustup_home = env
        .get("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| env.get("HOME").map(|h| Path::new(h).join(".rustup")));
    if let Some(home) = rustup_home {
        part(&std::fs::read(home.join("settings.toml")).unwrap_or_default());
    }
    for dir in cwd.ancestors() {
        for name in ["rust-toolchain", "rust-toolchain.toml"] {
            if let Ok(bytes) = std::fs::read(dir.join(name)) {
                part(dir.join(name).to_string_lossy().as_bytes());
                part(&bytes);
            }
        }
    }
    hasher.finalize().to_hex().to_string()
}

/// The installed toolchain as it is now: its `rustc`, and the names in its
/// library directory (a new version brings new `librustc_driver-*` names).
fn sysroot_stamp(sysroot: &str) -> String {
    let root = Path::new(sysroot);
    let exe = format!("rustc{}", std::env::consts::EXE_SUFFIX);
    let mut names: Vec<String> = std::fs::read_dir(root.join("lib"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    format!(
        "{}|{}",
        file_stamp(&root.join("bin").join(exe)),
        names.join("/")
    )
}

/// Size and modification time, or nothing for a missing file.
fn file_stamp(path: &Path) -> String {
    std::fs::metadata(path)
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("{}:{modified}", m.len())
        })
        .unwrap_or_default()
}

/// Remove rustc's temporary directories (`rmetaXXXXXX`, `rustcXXXXXX`)
/// directly under `dir`. `-C save-temps` keeps them (an empty
/// `rmeta*/full.rmeta` per binary) and a killed rustc leaves them behind.
/// Only call this while no rustc writes to `dir`: between builds, under the
/// build lock.
pub fn remove_temp_dirs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let temp = ["rmeta", "rustc"].iter().any(|prefix| {
            name.strip_prefix(prefix).is_some_and(|rest| {
                rest.len() == 6 && rest.chars().all(|c| c.is_ascii_alphanumeric())
            })
        });
        if temp && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn query(program: &Path, args: &[&str], cwd: &Path) -> Result<String> {
    let output = crate::interrupt::output(Command::new(program).args(args).current_dir(cwd))
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

/// Files a unit's job writes, and where the user-facing copies go.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    /// rustc's `--out-dir` (the run directory for build-script runs).
    pub out_dir: PathBuf,
    /// `.rmeta`, for units dependents may start on early.
    pub rmeta: Option<PathBuf>,
    /// Every artifact rustc writes besides `.rmeta` and dep-info.
    pub files: Vec<PathBuf>,
    /// What the unit's output hash is taken of: the `.rmeta` of a pipelined
    /// library, else its first artifact (a run: its recorded stdout).
    pub main: PathBuf,
    /// What `--extern` passes to dependents that need object code.
    pub linkable: Option<PathBuf>,
    pub dep_info: PathBuf,
    /// `(artifact, copy)`: binaries to `<target>/<profile>/`, the requested
    /// libraries there too, build scripts to `build-script-build`.
    pub uplifts: Vec<(PathBuf, PathBuf)>,
    /// Build-script runs: `OUT_DIR` and the recorded results.
    pub run: Option<RunDirs>,
}

impl Outputs {
    pub fn of(
        graph: &CrateGraph,
        id: UnitId,
        spec: &UnitSpec,
        extra_filename: bool,
        layout: &Layout,
    ) -> Outputs {
        let unit = graph.unit(id);
        let package = graph.package(unit.pkg);
        let platform = unit.platform.as_deref();
        if unit.kind == UnitKind::RunBuildScript {
            let dirs = RunDirs::new(
                layout
                    .build(platform)
                    .join(format!("{}-{}", package.name, spec.metadata)),
            );
            return Outputs {
                out_dir: dirs.root.clone(),
                rmeta: None,
                files: Vec::new(),
                main: dirs.output.clone(),
                linkable: None,
                dep_info: dirs.root.join("output.d"),
                uplifts: Vec::new(),
                run: Some(dirs),
            };
        }
        let out_dir = match unit.kind {
            UnitKind::BuildScript => layout
                .build(None)
                .join(format!("{}-{}", package.name, spec.metadata)),
            UnitKind::Example => layout.root(platform).join("examples"),
            _ => layout.deps(platform),
        };
        let suffix = match extra_filename {
            true => format!("-{}", spec.metadata),
            false => String::new(),
        };
        let c = &unit.crate_name;
        let (dll_prefix, dll_suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
        let exe = std::env::consts::EXE_SUFFIX;
        let name_of = |t: CrateType, stem: &str, suffix: &str| match t {
            CrateType::Lib | CrateType::Rlib => format!("lib{stem}{suffix}.rlib"),
            CrateType::Dylib | CrateType::Cdylib | CrateType::ProcMacro => {
                format!("{dll_prefix}{stem}{suffix}{dll_suffix}")
            }
            CrateType::Staticlib => format!("lib{stem}{suffix}.a"),
            CrateType::Bin => format!("{stem}{suffix}{exe}"),
        };
        let mut files = Vec::new();
        let mut linkable = None;
        let mut uplifts = Vec::new();
        let root = layout.root(platform);
        for t in unit.output_crate_types() {
            let path = out_dir.join(name_of(t, c, &suffix));
            if t.is_linkable() && linkable.is_none() {
                linkable = Some(path.clone());
            }
            // Test harnesses stay in `deps/`, as cargo leaves them.
            let uplift = match (unit.kind, t) {
                _ if unit.mode != Mode::Build => None,
                (UnitKind::BuildScript, _) => {
                    Some(out_dir.join(format!("build-script-build{exe}")))
                }
                (UnitKind::Bin, _) => Some(root.join(format!("{}{exe}", unit.target.name))),
                (UnitKind::Example, _) => Some(out_dir.join(format!("{}{exe}", unit.target.name))),
                (_, CrateType::Dylib) => Some(root.join(name_of(t, c, ""))),
                (UnitKind::Lib, _) if unit.is_root => Some(root.join(name_of(t, c, ""))),
                _ => None,
            };
            if let Some(to) = uplift {
                uplifts.push((path.clone(), to));
            }
            files.push(path);
        }
        let rmeta = unit
            .emits_metadata()
            .then(|| out_dir.join(format!("lib{c}{suffix}.rmeta")));
        let main = rmeta
            .clone()
            .or_else(|| files.first().cloned())
            .unwrap_or_else(|| out_dir.join(c));
        Outputs {
            dep_info: out_dir.join(format!("{c}{suffix}.d")),
            out_dir,
            rmeta,
            files,
            main,
            linkable,
            uplifts,
            run: None,
        }
    }

    /// Everything that must exist for the unit to count as built.
    pub fn required(&self) -> Vec<&Path> {
        let mut all: Vec<&Path> = self.files.iter().map(PathBuf::as_path).collect();
        all.extend(self.rmeta.as_deref());
        if self.run.is_some() {
            all.push(&self.main);
        }
        all
    }

    /// The executable a relink rewrites (binaries).
    pub fn executable(&self) -> Option<&Path> {
        self.files.first().map(PathBuf::as_path)
    }
}

/// A program, its arguments, environment and working directory.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Variables to set (on top of the inherited environment).
    pub env: Vec<(String, OsString)>,
    /// Variables to remove from the inherited environment.
    pub env_remove: Vec<String>,
    pub cwd: PathBuf,
}

impl Invocation {
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).current_dir(&self.cwd);
        for key in &self.env_remove {
            cmd.env_remove(key);
        }
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

    /// `KEY=value ...` for what it sets, sorted (as cargo's `-vv` shows it).
    pub fn display_env(&self) -> String {
        // Later settings win, as with `Command::env`.
        let env: std::collections::BTreeMap<&String, &OsString> =
            self.env.iter().map(|(k, v)| (k, v)).collect();
        env.iter()
            .map(|(k, v)| format!("{k}={}", quote(&v.to_string_lossy())))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `KEY=value ... program args`, as cargo's `-vv` shows a command.
    pub fn display_with_env(&self) -> String {
        match self.display_env() {
            env if env.is_empty() => self.display(),
            env => format!("{env} {}", self.display()),
        }
    }

    /// The value this invocation gives `name`, if it sets it.
    pub fn env_value(&self, name: &str) -> Option<&OsString> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
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
    Diagnostic(crate::events::Diagnostic),
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
        let message = text("message").unwrap_or_default();
        // rustc's closing summary ("aborting due to 2 previous errors", "3
        // warnings emitted"): cargo drops it and says its own.
        let summary = message.starts_with("aborting due to")
            || message.ends_with("warning emitted")
            || message.ends_with("warnings emitted");
        if text("$message_type").as_deref() == Some("diagnostic") && !summary {
            return Message::Diagnostic(crate::events::Diagnostic {
                level: text("level").unwrap_or_default(),
                rendered: text("rendered").unwrap_or_default(),
                json: Some(line.to_owned()),
            });
        }
        Message::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toolchain_key_follows_what_rustup_reads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).expect("ws dir");
        let env: std::collections::BTreeMap<String, String> =
            [("HOME".to_owned(), dir.path().to_string_lossy().into_owned())].into();
        let rustc = Path::new("rustc");
        let base = toolchain_key(rustc, &ws, &env);
        assert_eq!(base, toolchain_key(rustc, &ws, &env), "stable");

        let mut nightly = env.clone();
        nightly.insert("RUSTUP_TOOLCHAIN".into(), "nightly".into());
        assert_ne!(base, toolchain_key(rustc, &ws, &nightly));

        std::fs::write(
            dir.path().join("rust-toolchain.toml"),
            "[toolchain]\nchannel = \"nightly\"\n",
        )
        .expect("toolchain file");
        let with_file = toolchain_key(rustc, &ws, &env);
        assert_ne!(base, with_file, "a rust-toolchain.toml above the workspace");

        std::fs::create_dir_all(dir.path().join(".rustup")).expect("rustup home");
        std::fs::write(
            dir.path().join(".rustup/settings.toml"),
            "default_toolchain = \"beta\"\n",
        )
        .expect("settings");
        assert_ne!(
            with_file,
            toolchain_key(rustc, &ws, &env),
            "rustup's default"
        );
    }

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
        let line = r#"{"$message_type":"diagnostic","level":"error","rendered":"boom"}"#;
        assert_eq!(
            Message::parse(line),
            Message::Diagnostic(crate::events::Diagnostic {
                level: "error".into(),
                rendered: "boom".into(),
                json: Some(line.into()),
            })
        );
        // rustc's closing summaries are dropped, as cargo drops them.
        for summary in ["aborting due to 2 previous errors", "3 warnings emitted"] {
            let line = format!(
                r#"{{"$message_type":"diagnostic","level":"warning","message":"{summary}","rendered":"x"}}"#
            );
            assert_eq!(Message::parse(&line), Message::Other);
        }
        assert_eq!(Message::parse("plain"), Message::Text("plain".into()));
    }

    #[test]
    fn display_quotes_only_when_needed() {
        assert_eq!(quote("--crate-name"), "--crate-name");
        assert_eq!(quote("cfg(feature, values())"), "'cfg(feature, values())'");
    }
}
