//! Stage 6: run the plan — rustc and relink jobs on a rayon pool, pipelined
//! as cargo does.
//!
//! Workers run one job each and send [`JobEvent`]s over a crossbeam channel.
//! The coordinator (the calling thread) is the only one that schedules,
//! writes the ledger, and talks to the reporter.
//! Never: prints from a worker, or records a unit whose job did not succeed.

mod coordinator;
mod worker;

pub use coordinator::{Execution, execute};
pub use worker::{
    Job, JobEvent, JobFailure, JobKind, JobOutput, Runner, RustcRunner, uplift, uplift_all,
};
