//! orchestrator: build Cargo workspaces with rustc, doing only the work a
//! change requires.
//!
//! The build is a pipeline of stages, each handing a named type to the next:
//!
//! 1. [`manifest`]: root and member `Cargo.toml`s → [`manifest::Workspace`]
//! 2. [`graph`]: packages → [`graph::CrateGraph`] of compilation units
//! 3. [`rustc`]: units → path-free [`rustc::CompileSpec`]s and their invocations
//! 4. [`ledger`]: what each unit was last built from → [`ledger::Ledger`]
//! 5. [`classify`]: a changed crate's sources, parsed with syn →
//!    [`classify::Classification`] (cosmetic, codegen-only or signature)
//! 6. [`plan`]: ledger, classifications and `--touch` → [`plan::BuildPlan`]
//!    (fresh, cosmetic, compile or relink per unit, with a [`plan::Reason`]),
//!    scheduled by [`schedule`] (longest remaining path first)
//! 7. [`execute`]: rustc and relink ([`link`]) jobs on a rayon pool, pipelined
//!    on `.rmeta`, one coordinator → [`events::BuildEvent`]s and an updated ledger
//! 8. [`report`]: events → terminal (indicatif / plain lines), JSON, the
//!    `--timings` HTML, or the `graph` command's tree
//!
//! [`driver`] chains them (`prepare` for stages 1–6, then `build`); [`cli`]
//! is the command line; [`touch`] resolves `--touch` arguments.

pub mod classify;
pub mod cli;
pub mod driver;
pub mod error;
pub mod events;
pub mod execute;
pub mod graph;
pub mod ledger;
pub mod link;
pub mod lock;
pub mod manifest;
pub mod paths;
pub mod plan;
pub mod profile;
pub mod queue;
pub mod report;
pub mod rustc;
pub mod schedule;
pub mod touch;

pub use error::{Error, Result};
