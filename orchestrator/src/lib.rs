//! orchestrator: build Cargo workspaces with rustc, doing only the work a
//! change requires.
//!
//! The build is a pipeline of stages, each handing a named type to the next:
//!
//! 1. [`cargo`]: cargo's resolved plan (`cargo build --unit-graph` and
//!    `cargo metadata`, kept while nothing they depend on changes) and
//!    cargo's configuration → [`cargo::CargoAnswer`], [`cargo::CargoConfig`]
//! 2. [`graph`]: the answer → [`graph::CrateGraph`] of units (libraries,
//!    binaries, proc-macros, build scripts and their runs) and packages
//! 3. [`fingerprint`]: units → path-free [`fingerprint::UnitSpec`]s (what a
//!    unit's artifacts depend on); [`rustc`] names their [`rustc::Outputs`]
//! 4. [`ledger`]: what each unit was last built from → [`ledger::Ledger`]
//! 5. [`classify`]: a changed member crate's sources, parsed with syn →
//!    [`classify::Classification`] (cosmetic, codegen-only or signature)
//! 6. [`plan`]: ledger, classifications and `--touch` → [`plan::BuildPlan`]
//!    (fresh, cosmetic, compile, relink or run per unit, with a
//!    [`plan::Reason`]), scheduled by [`schedule`] (longest remaining path first)
//! 7. [`execute`]: rustc, relink ([`link`]) and build-script jobs on a rayon
//!    pool, pipelined on `.rmeta`, commands rendered at job start by
//!    [`invoke`] from what build scripts printed ([`buildscript`]), one
//!    coordinator → [`events::BuildEvent`]s and an updated ledger
//! 8. [`report`]: events → terminal (indicatif / plain lines), JSON, the
//!    `--timings` HTML, or the `graph` command's tree
//!
//! [`driver`] chains them (`prepare` for stages 1–6, then `build`); [`cli`]
//! is the command line; [`manifest`] reads what cargo does not report
//! (`[lints]`, the workspace root before cargo is asked); [`profile`] names
//! directories and computes LTO roles; [`touch`] resolves `--touch` arguments;
//! [`interrupt`] stops children on SIGINT / SIGTERM.
//!
//! `check` and `test` run the same stages on cargo's check and test plans
//! (units carry a [`graph::Mode`]); after a successful build [`runner`] runs
//! what was built (test executables, doc tests through rustdoc, `run`'s
//! program); [`watch`] re-runs a command after every save; [`clean`]
//! removes outputs.

pub mod buildscript;
pub mod cache;
pub mod cargo;
pub mod classify;
pub mod clean;
pub mod cli;
pub mod driver;
pub mod error;
pub mod events;
pub mod execute;
pub mod fingerprint;
pub mod graph;
pub mod interrupt;
pub mod invoke;
pub mod ledger;
pub mod link;
pub mod lock;
pub mod manifest;
pub mod paths;
pub mod plan;
pub mod profile;
pub mod queue;
pub mod report;
pub mod runner;
pub mod rustc;
pub mod schedule;
pub mod touch;
pub mod watch;

pub use error::{Error, Result};
