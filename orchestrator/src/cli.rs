//! The command line: parse arguments and environment, run, map to an exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cargo::CargoCommand;
use crate::driver::{self, BuildOptions};
use crate::error::Error;
use crate::report::{self, MessageFormat, Verbosity};
use crate::runner::{self, TestRun};
use crate::touch::TouchSpec;
use crate::watch::Round;

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
    /// Compile the selected packages and targets (cargo's `build`), redoing only what a change requires.
    #[command(visible_alias = "b")]
    Build(BuildArgs),
    /// Check the selected packages for errors without generating code (cargo's `check`).
    #[command(visible_alias = "c")]
    Check(BuildArgs),
    /// Build the test executables and run them (cargo's `test`).
    #[command(visible_alias = "t")]
    Test(TestArgs),
    /// Build a binary or example and run it (cargo's `run`).
    #[command(visible_alias = "r")]
    Run(RunArgs),
    /// Remove orchestrator's outputs and state.
    Clean(CleanArgs),
    /// Run a command (default: check) now and again whenever a file it depends on is saved.
    #[command(visible_alias = "w")]
    Watch {
        #[command(subcommand)]
        command: Option<WatchCommand>,
    },
    /// Print the crate graph, marking what the current sources would rebuild and why.
    Graph(GraphArgs),
    /// Inspect the shared build cache that ORCHESTRATOR_CACHE names.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Print a shell completion script (`orchestrator completions bash > ...`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `BuildArgs` with every default (what plain `watch` checks with).
#[derive(Debug, Parser)]
struct Defaults {
    #[command(flatten)]
    build: BuildArgs,
}

/// What `watch` runs.
#[derive(Debug, Subcommand)]
enum WatchCommand {
    Check(BuildArgs),
    Build(BuildArgs),
    Test(TestArgs),
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct TestArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// Run only the tests whose name contains this (passed to every test executable)
    #[arg(value_name = "TESTNAME")]
    filter: Option<String>,
    /// Build the test executables, but do not run them
    #[arg(long)]
    no_run: bool,
    /// Run every test executable, even after one failed
    #[arg(long)]
    no_fail_fast: bool,
    /// Only the libraries' documentation tests
    #[arg(long)]
    doc: bool,
    /// Arguments for the test executables (after `--`)
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// Arguments for the program (after `--`)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

#[derive(Debug, Args)]
struct CleanArgs {
    #[command(flatten)]
    location: Location,
    /// Remove only these packages' outputs (`name` or `name@version`)
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    package: Vec<String>,
    /// Remove only the release profile's outputs
    #[arg(short = 'r', long, conflicts_with = "profile")]
    release: bool,
    /// Remove only the named profile's outputs
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Print what would be removed, remove nothing
    #[arg(long)]
    dry_run: bool,
    /// Print only errors
    #[arg(short, long)]
    quiet: bool,
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

/// Where the workspace and orchestrator's target directory are.
#[derive(Debug, Args)]
struct Location {
    /// Path to the workspace's (or a member's) Cargo.toml [default: found
    /// by walking up from the current directory]
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Directory for all generated artifacts [default: <cargo's target dir>/orchestrator]
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
}

/// Which workspace, which packages and targets, which profile: everything
/// that goes to cargo to decide what is built.
#[derive(Debug, Args)]
struct WorkspaceArgs {
    #[command(flatten)]
    location: Location,
    /// Package(s) to build (`name` or `name@version`)
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    package: Vec<String>,
    /// Build every member of the workspace
    #[arg(long, visible_alias = "all")]
    workspace: bool,
    /// Exclude packages from `--workspace`
    #[arg(long, value_name = "SPEC")]
    exclude: Vec<String>,
    /// Build only the selected packages' libraries
    #[arg(long)]
    lib: bool,
    /// Build only the named binary (repeatable)
    #[arg(long, value_name = "NAME")]
    bin: Vec<String>,
    /// Build every binary
    #[arg(long)]
    bins: bool,
    /// Build only the named example (repeatable)
    #[arg(long, value_name = "NAME")]
    example: Vec<String>,
    /// Build every example
    #[arg(long)]
    examples: bool,
    /// Only the named integration test (repeatable)
    #[arg(long, value_name = "NAME")]
    test: Vec<String>,
    /// Every target with `test = true` (`tests/*.rs`, the library, binaries)
    #[arg(long)]
    tests: bool,
    /// Only the named benchmark (repeatable)
    #[arg(long, value_name = "NAME")]
    bench: Vec<String>,
    /// Every target with `bench = true`
    #[arg(long)]
    benches: bool,
    /// Every target: `--lib --bins --tests --benches --examples`
    #[arg(long)]
    all_targets: bool,
    /// Documentation tests only (`test --doc`; set by that command)
    #[arg(skip)]
    doc: bool,
    /// Space- or comma-separated features to activate
    #[arg(short = 'F', long, value_name = "FEATURES")]
    features: Vec<String>,
    /// Activate every feature of the selected packages
    #[arg(long)]
    all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long)]
    no_default_features: bool,
    /// Build with the release profile
    #[arg(short = 'r', long, conflicts_with = "profile")]
    release: bool,
    /// Build with the named profile
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Build for the target triple (repeatable)
    #[arg(long, value_name = "TRIPLE")]
    target: Vec<String>,
    /// Require Cargo.lock to be up to date
    #[arg(long)]
    locked: bool,
    /// Run without accessing the network
    #[arg(long)]
    offline: bool,
    /// Both --locked and --offline
    #[arg(long)]
    frozen: bool,
    /// Override a configuration value (`KEY=VALUE`) or add a config file
    #[arg(long, value_name = "KEY=VALUE|PATH")]
    config: Vec<String>,
}

impl WorkspaceArgs {
    /// `--profile`, `--release`, else the command's own (cargo's `test` uses
    /// the `test` profile).
    fn profile(&self, command: CargoCommand) -> String {
        match (&self.profile, self.release, command) {
            (Some(name), _, _) => name.clone(),
            (None, true, _) => "release".to_owned(),
            (None, false, CargoCommand::Test) => "test".to_owned(),
            (None, false, _) => "dev".to_owned(),
        }
    }

    /// The flags as they go to cargo.
    fn cargo_args(&self, command: CargoCommand) -> Vec<String> {
        let mut args = Vec::new();
        let mut pair = |flag: &str, value: &str| {
            args.push(flag.to_owned());
            args.push(value.to_owned());
        };
        let repeated = [
            ("--package", &self.package),
            ("--exclude", &self.exclude),
            ("--bin", &self.bin),
            ("--example", &self.example),
            ("--test", &self.test),
            ("--bench", &self.bench),
            ("--features", &self.features),
            ("--target", &self.target),
            ("--config", &self.config),
        ];
        for (flag, values) in repeated {
            for value in values {
                pair(flag, value);
            }
        }
        pair("--profile", &self.profile(command));
        let flags = [
            (self.workspace, "--workspace"),
            (self.lib, "--lib"),
            (self.bins, "--bins"),
            (self.examples, "--examples"),
            (self.tests, "--tests"),
            (self.benches, "--benches"),
            (self.all_targets, "--all-targets"),
            (self.doc, "--doc"),
            (self.all_features, "--all-features"),
            (self.no_default_features, "--no-default-features"),
            (self.locked, "--locked"),
            (self.offline, "--offline"),
            (self.frozen, "--frozen"),
        ];
        args.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, f)| f.to_string()),
        );
        args
    }
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
    /// Also print fresh crates and the command lines (`-vv`: with the
    /// environment orchestrator sets for them)
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Output format, as cargo's: human, short, or JSON on stdout (json,
    /// json-diagnostic-short, json-diagnostic-rendered-ansi,
    /// json-render-diagnostics)
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
    /// After a failure, go on building what does not depend on it
    #[arg(long)]
    keep_going: bool,
    /// Write an HTML report of the build's jobs (Gantt chart, concurrency,
    /// critical path) to <target-dir>/<profile>/orchestrator-timings.html
    #[arg(long)]
    timings: bool,
    /// Take hits from the shared build cache (ORCHESTRATOR_CACHE) but store nothing in it
    #[arg(long, conflicts_with = "no_cache")]
    cache_read_only: bool,
    /// Do not use the shared build cache for this command
    #[arg(long)]
    no_cache: bool,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Count the stored entries and files, and their size.
    Stats,
    /// Remove everything from the cache.
    Clean,
    /// Check every stored file against its hash and every entry against its files; remove what is wrong.
    Verify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse_from(arguments(std::env::args_os().collect())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Build(args) => build(args, CargoCommand::Build, Then::Nothing),
        Command::Check(args) => build(args, CargoCommand::Check, Then::Nothing),
        Command::Test(args) => {
            let (build_args, run) = test_run(args);
            build(build_args, CargoCommand::Test, Then::Test(run))
        }
        // cargo's plan for `run` is `build`'s with one binary selected
        // (`cargo run --unit-graph` cannot be used: it fails after printing).
        Command::Run(args) => build(args.build, CargoCommand::Build, Then::Run(args.args)),
        Command::Watch { command } => {
            let (args, command, then) = match command {
                None => (
                    Defaults::parse_from(["check"]).build,
                    CargoCommand::Check,
                    Then::Nothing,
                ),
                Some(WatchCommand::Check(args)) => (args, CargoCommand::Check, Then::Nothing),
                Some(WatchCommand::Build(args)) => (args, CargoCommand::Build, Then::Nothing),
                Some(WatchCommand::Test(args)) => {
                    let (build_args, run) = test_run(args);
                    (build_args, CargoCommand::Test, Then::Test(run))
                }
                Some(WatchCommand::Run(args)) => {
                    (args.build, CargoCommand::Build, Then::Run(args.args))
                }
            };
            watch(args, command, then)
        }
        Command::Clean(args) => clean(args),
        Command::Graph(args) => graph(args),
        Command::Cache { command } => cache(command),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let name = command.get_name().to_owned();
            clap_complete::generate(shell, &mut command, name, &mut std::io::stdout());
            0
        }
    }
}

/// The command line as clap should see it. Run as `cargo orchestrator ...`,
/// cargo starts `cargo-orchestrator orchestrator ...`: the subcommand's name
/// is dropped, so both spellings take the same arguments.
fn arguments(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let as_cargo_subcommand = args.first().is_some_and(|program| {
        Path::new(program)
            .file_stem()
            .is_some_and(|stem| stem == "cargo-orchestrator")
    });
    if as_cargo_subcommand && args.get(1).is_some_and(|a| a == "orchestrator") {
        args.remove(1);
    }
    args
}

/// `test`'s build arguments and what to run after the build.
fn test_run(mut args: TestArgs) -> (BuildArgs, TestRun) {
    let mut test_args: Vec<String> = args.filter.into_iter().collect();
    test_args.extend(args.args);
    let run = TestRun {
        no_run: args.no_run,
        no_fail_fast: args.no_fail_fast,
        args: test_args,
        color: match args.build.color {
            Color::Auto => "auto",
            Color::Always => "always",
            Color::Never => "never",
        }
        .to_owned(),
        quiet: args.build.quiet,
        error_format: args.build.message_format.rustdoc_error_format().to_owned(),
    };
    args.build.workspace.doc = args.doc;
    (args.build, run)
}

/// What follows a successful build.
enum Then {
    Nothing,
    Test(TestRun),
    Run(Vec<String>),
}

fn clean(args: CleanArgs) -> i32 {
    let tty = std::io::stderr().is_terminal();
    let verbosity = match args.quiet {
        true => Verbosity::Quiet,
        false => Verbosity::Normal,
    };
    let mut reporter = report::reporter(MessageFormat::Human, verbosity, tty, tty, false);
    let profile = match (&args.profile, args.release) {
        (Some(name), _) => Some(name.clone()),
        (None, true) => Some("release".to_owned()),
        (None, false) => None,
    };
    let result = std::env::current_dir()
        .map_err(|e| Error::io("read the current directory", Path::new("."), e))
        .and_then(|cwd| {
            crate::clean::clean(
                &crate::clean::CleanOptions {
                    cwd,
                    manifest_path: args.location.manifest_path,
                    target_dir: args.location.target_dir,
                    packages: args.package,
                    profile,
                    dry_run: args.dry_run,
                    env: crate::cargo::environment(),
                },
                reporter.as_mut(),
            )
        });
    match result {
        Ok(_) => 0,
        Err(error) => {
            reporter.error(&error);
            error.exit_code()
        }
    }
}

/// `orchestrator cache stats|clean|verify`.
fn cache(command: CacheCommand) -> i32 {
    let tty = std::io::stderr().is_terminal();
    let mut reporter = report::reporter(MessageFormat::Human, Verbosity::Normal, tty, tty, false);
    let env = crate::cargo::environment();
    let result = crate::cache::CacheSettings::resolve(&env, false, false).and_then(|settings| {
        let Some(settings) = settings else {
            return Err(Error::Usage {
                message: "the build cache is turned off (ORCHESTRATOR_CACHE=off)".to_owned(),
                help: "unset ORCHESTRATOR_CACHE for the per-user cache, or set it (or `cache.url` in ~/.config/orchestrator/config.toml) to a store: `local`, `file:///path`, `redis://127.0.0.1:6379`, `http://host:port/prefix`, ...".to_owned(),
            });
        };
        let store = crate::cache::store::Store::open(&settings.backend, settings.describe())?;
        let lines = match command {
            CacheCommand::Stats => {
                let s = store.stats()?;
                vec![
                    format!("cache:   {}", store.describe),
                    format!("entries: {} ({} bytes)", s.entries, s.entry_bytes),
                    format!("files:   {} ({} bytes)", s.blobs, s.blob_bytes),
                ]
                .into_iter()
                .chain(settings.max_size.map(|limit| {
                    format!("limit:   {limit} bytes (least recently used removed beyond it)")
                }))
                .collect()
            }
            CacheCommand::Clean => {
                let removed = store.clean()?;
                vec![format!("removed {removed} objects from {}", store.describe)]
            }
            CacheCommand::Verify => {
                let v = store.verify()?;
                let mut lines = vec![format!(
                    "checked {} files and {} entries in {}: {} corrupted file{}, {} broken variant{} removed",
                    v.blobs,
                    v.entries,
                    store.describe,
                    v.corrupt.len(),
                    if v.corrupt.len() == 1 { "" } else { "s" },
                    v.broken.len(),
                    if v.broken.len() == 1 { "" } else { "s" },
                )];
                lines.extend(v.corrupt.iter().map(|p| format!("corrupted: {p}")));
                lines.extend(v.broken.iter().map(|p| format!("broken:    {p}")));
                lines
            }
        };
        Ok(lines)
    });
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            0
        }
        Err(error) => {
            reporter.error(&error);
            error.exit_code()
        }
    }
}

fn graph(args: GraphArgs) -> i32 {
    let tty = std::io::stderr().is_terminal();
    let mut reporter = report::reporter(MessageFormat::Human, Verbosity::Normal, tty, tty, false);
    let result = options(&args.workspace, CargoCommand::Build, tty, args.touch)
        .and_then(|opts| driver::prepare(&opts, reporter.as_mut(), driver::Warm::default()));
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
            // A closed stdout (`| head`, a missing `dot`) ends the output
            // quietly, as cargo does; other write errors are reported.
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => 0,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
                Err(e) => {
                    reporter.error(&Error::io("write", Path::new("<stdout>"), e));
                    101
                }
            }
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
    command: CargoCommand,
    color: bool,
    touches: Vec<TouchSpec>,
) -> crate::Result<BuildOptions> {
    if command == CargoCommand::Check && (ws.tests || ws.benches) && !ws.all_targets {
        return Err(Error::Usage {
            message: "`check --tests` and `check --benches` are not supported: cargo's plan \
                      does not say which of their units are test harnesses"
                .to_owned(),
            help: "use `check --all-targets`, or `--test NAME` / `--bench NAME`".to_owned(),
        });
    }
    let cwd = std::env::current_dir()
        .map_err(|e| crate::Error::io("read the current directory", &PathBuf::from("."), e))?;
    let mut options = BuildOptions::new(cwd, crate::cargo::environment());
    options.manifest_path = ws.location.manifest_path.clone();
    options.target_dir = ws.location.target_dir.clone();
    options.command = command;
    options.cargo_args = ws.cargo_args(command);
    options.profile = ws.profile(command);
    options.targets = ws.target.clone();
    options.config = ws.config.clone();
    options.color = color;
    options.touches = touches;
    Ok(options)
}

/// How a command reports, and its options, from its arguments.
struct Setup {
    format: MessageFormat,
    verbosity: Verbosity,
    color: bool,
    tty: bool,
    explain: bool,
    options: crate::Result<BuildOptions>,
}

impl Setup {
    fn reporter(&self) -> Box<dyn report::Reporter> {
        report::reporter(
            self.format,
            self.verbosity,
            self.color,
            self.tty,
            self.explain,
        )
    }
}

fn setup(args: BuildArgs, command: CargoCommand) -> Setup {
    let tty = std::io::stderr().is_terminal();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
    };
    let verbosity = match (args.quiet, args.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, 0) => Verbosity::Normal,
        (_, 1) => Verbosity::Verbose,
        _ => Verbosity::VeryVerbose,
    };
    let rustc_color = args.message_format.ansi(color);
    let (no_cache, read_only) = (args.no_cache, args.cache_read_only);
    let options = options(&args.workspace, command, rustc_color, args.touch)
        .and_then(|o| {
            let cache = crate::cache::CacheSettings::resolve(&o.env, no_cache, read_only)?;
            Ok(BuildOptions { cache, ..o })
        })
        .map(|o| BuildOptions {
            short_diagnostics: args.message_format.short(),
            jobs: args.jobs.map(|j| j as usize),
            extra_verbose: verbosity == Verbosity::VeryVerbose,
            dry_run: args.dry_run,
            explain: args.explain,
            relink: !args.no_relink,
            keep_going: args.keep_going,
            timings: args.timings,
            ..o
        });
    Setup {
        format: args.message_format,
        verbosity,
        color,
        tty,
        explain: args.explain,
        options,
    }
}

/// Build, then what follows; the exit code on success.
fn execute(
    options: &BuildOptions,
    then: &Then,
    reporter: &mut dyn report::Reporter,
) -> crate::Result<i32> {
    match then {
        Then::Test(_) | Then::Run(_) if options.dry_run => {
            driver::build(options, reporter).map(|_| 0)
        }
        Then::Nothing => driver::build(options, reporter).map(|_| 0),
        Then::Test(run) => driver::build_session(options, reporter, driver::Warm::default())
            .and_then(|(session, _)| runner::test(&session, run, reporter))
            .map(|_| 0),
        Then::Run(args) => runner::build_and_run(options, args, reporter),
    }
}

fn watch(args: BuildArgs, command: CargoCommand, then: Then) -> i32 {
    let setup = setup(args, command);
    let _ = crate::interrupt::install();
    let mut reporter = setup.reporter();
    let result = setup.options.as_ref().map_err(|e| Error::Usage {
        message: e.to_string(),
        help: e.help().unwrap_or_default(),
    });
    let result = result.and_then(|options| {
        crate::watch::watch(options, reporter.as_mut(), &mut |warm| {
            // Each round reports afresh (counts, bars), as a new command.
            let mut reporter = setup.reporter();
            let reporter = reporter.as_mut();
            let outcome = match &then {
                Then::Run(args) => runner::build_and_spawn(options, args, reporter, warm).map(
                    |(session, child)| Round {
                        session: Some(session),
                        child: Some(child),
                    },
                ),
                Then::Test(run) if !options.dry_run => {
                    driver::build_session(options, reporter, warm).map(|(session, _)| {
                        if let Err(error) = runner::test(&session, run, reporter) {
                            reporter.error(&error);
                        }
                        Round {
                            session: Some(session),
                            child: None,
                        }
                    })
                }
                _ => driver::build_session(options, reporter, warm).map(|(session, _)| Round {
                    session: Some(session),
                    child: None,
                }),
            };
            outcome.unwrap_or_else(|error| {
                reporter.error(&error);
                Round {
                    session: None,
                    child: None,
                }
            })
        })
    });
    if let Some(signal) = crate::interrupt::received() {
        return crate::interrupt::exit_code(signal);
    }
    match result {
        Ok(()) => 0,
        Err(error) => {
            reporter.error(&error);
            error.exit_code()
        }
    }
}

fn build(args: BuildArgs, command: CargoCommand, then: Then) -> i32 {
    let setup = setup(args, command);
    // Without a handler, SIGINT/SIGTERM would kill orchestrator alone and
    // leave its rustc children running. (If none can be installed, signals
    // keep their default action.)
    let _ = crate::interrupt::install();
    let mut reporter = setup.reporter();
    let reporter = reporter.as_mut();
    let result = setup
        .options
        .and_then(|options| execute(&options, &then, reporter));
    if let Some(signal) = crate::interrupt::received() {
        // Children stopped, nothing half-done recorded: exit as cargo does.
        return crate::interrupt::exit_code(signal);
    }
    match result {
        Ok(code) => code,
        Err(error) => {
            reporter.error(&error);
            error.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::arguments;
    use std::ffi::OsString;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn cargo_subcommand_name_is_dropped() {
        assert_eq!(
            arguments(args(&["/bin/cargo-orchestrator", "orchestrator", "build"])),
            args(&["/bin/cargo-orchestrator", "build"])
        );
        assert_eq!(
            arguments(args(&["cargo-orchestrator", "build"])),
            args(&["cargo-orchestrator", "build"])
        );
        assert_eq!(
            arguments(args(&["orchestrator", "orchestrator"])),
            args(&["orchestrator", "orchestrator"])
        );
    }
}
