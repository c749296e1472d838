//! End-to-end tests: run the `orchestrator` binary on copies of the fixture
//! workspaces and compare what it builds with what `cargo build` builds.

mod servers;
mod support;

mod build;
mod cache;
mod classes;
mod commands;
mod crates_io;
mod differential;
mod errors;
mod failure;
mod freshness;
mod generated;
mod inspect;
mod kill;
mod lock;
mod options;
