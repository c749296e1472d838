//! The command line: parse arguments and environment, run, map to an exit code.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::driver::{self, BuildOptions};
use crate::profile::Profile;
use crate::report::{self, MessageFormat, Verbosity};
use crate::touch::TouchSpec;

#[derive(Debug, Parser)]
#[command(
    name = "orchestrator",
    version,
    about = "Build Cargo workspaces, recompiling only what a change requires"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build every member of the workspace with rustc, in parallel, pipelined.
    Build(BuildArgs),
    /// Print the crate graph, marking what the current sources would rebuild and why.
    Graph(GraphArgs),
}

#[derive(Debug, Args)]
struct GraphArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// `text`: a tree per top-level crate; `dot`: Graphviz
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    format: GraphFormat,
    /// Simulate a change, as for `build --touch`
    #[arg(long, value_name = "CRATE[::ITEM][=CLASS]")]
    touch: Vec<TouchSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
}

/// Which workspace and target directory, for every command.
#[derive(Debug, Args)]
struct WorkspaceArgs {
    /// Path to the workspace's (or a member's) Cargo.toml [default: found
    /// by walking up from the current directory]
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Directory for all generated artifacts [default: <workspace>/target/orchestrator]
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Build with the release profile (opt-level 3, no incremental)
    #[arg(short = 'r', long)]
    release: bool,
}

#[derive(Debug, Args)]
struct BuildArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Number of parallel jobs [default: available cores]
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Print only errors
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print fresh crates and the rustc command lines
    #[arg(short, long)]
    verbose: bool,
    /// Output format: human-readable, or one JSON object per line on stdout
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,
    /// Coloring of human output and compiler diagnostics
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Simulate a change: CRATE, CRATE::ITEM (e.g. core_lib::Storage), with
    /// an optional forced class =signature|codegen|cosmetic. Repeatable.
    #[arg(long, value_name = "CRATE[::ITEM][=CLASS]")]
    touch: Vec<TouchSpec>,
    /// Print what would run, and why, with the predicted wall time; compile nothing
    #[arg(long)]
    dry_run: bool,
    /// Print, for every crate that is not fresh, why it is rebuilt
    #[arg(long)]
    explain: bool,
    /// Recompile dependent binaries instead of relinking them after codegen-only changes
    #[arg(long)]
    no_relink: bool,
    /// Write an HTML report of the build's jobs (Gantt chart, concurrency,
    /// critical path) to <target-dir>/<profile>/orchestrator-timings.html
    #[arg(long)]
    timings: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Build(args) => build(args),
        Command::Graph(args) => graph(args),
    }
}

fn graph(args: GraphArgs) -> i32 {
    let tty = std::io::stderr().is_terminal();
    let mut reporter = report::reporter(MessageFormat::Human, Verbosity::Normal, tty, tty, false);
    let result = options(&args.workspace, tty, args.touch)
        .and_then(|opts| driver::prepare(&opts, reporter.as_mut(), false));
    match result {
        Ok(session) => {
            let text = match args.format {
                GraphFormat::Text => {
                    report::graph::text(&session.graph, &session.infos, &session.plan)
                }
                GraphFormat::Dot => {
                    report::graph::dot(&session.graph, &session.infos, &session.plan)
                }
            };
            print!("{text}");
            0
        }
        Err(error) => {
            reporter.error(&error);
            error.exit_code()
        }
    }
}

/// Options shared by every command, from arguments and the environment.
fn options(
    ws: &WorkspaceArgs,
    color: bool,
    touches: Vec<TouchSpec>,
) -> crate::Result<BuildOptions> {
    let cwd = std::env::current_dir()
        .map_err(|e| crate::Error::io("read the current directory", &PathBuf::from("."), e))?;
    Ok(BuildOptions {
        cwd,
        manifest_path: ws.manifest_path.clone(),
        target_dir: ws.target_dir.clone(),
        profile: if ws.release {
            Profile::Release
        } else {
            Profile::Dev
        },
        jobs: default_jobs(),
        color,
        rustc: std::env::var_os("RUSTC").filter(|v| !v.is_empty()),
        rustflags: rustflags(),
        cargo: std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")),
        touches,
        dry_run: false,
        explain: false,
        relink: true,
        timings: false,
    })
}

fn build(args: BuildArgs) -> i32 {
    let tty = std::io::stderr().is_terminal();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
    };
    let verbosity = match (args.quiet, args.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let mut reporter = report::reporter(args.message_format, verbosity, color, tty, args.explain);
    let options = options(&args.workspace, color, args.touch).map(|o| BuildOptions {
        jobs: args.jobs.map(|j| j as usize).unwrap_or(o.jobs),
        dry_run: args.dry_run,
        explain: args.explain,
        relink: !args.no_relink,
        timings: args.timings,
        ..o
    });
    let result = options.and_then(|options| driver::build(&options, reporter.as_mut()));
    match result {
        Ok(_) => 0,
        Err(error) => {
            reporter.error(&error);
            error.exit_code()
        }
    }
}

fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// `CARGO_ENCODED_RUSTFLAGS` (0x1f-separated) wins over `RUSTFLAGS`
/// (whitespace-separated), as in cargo.
fn rustflags() -> Vec<String> {
    if let Some(encoded) = std::env::var("CARGO_ENCODED_RUSTFLAGS")
        .ok()
        .filter(|v| !v.is_empty())
    {
        return encoded.split('\x1f').map(str::to_owned).collect();
    }
    std::env::var("RUSTFLAGS")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}
