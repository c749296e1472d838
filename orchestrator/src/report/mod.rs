//! Stage 6: reporters — the only code that writes to the terminal.
//!
//! [`human::Human`] draws indicatif bars on a terminal and plain lines
//! otherwise; [`json::Json`] writes one JSON object per line on stdout (the
//! contract documented in the README).

pub mod graph;
mod human;
mod json;
pub mod timings;

use crate::error::Error;
use crate::events::BuildEvent;

pub use human::Human;
pub use json::Json;

pub trait Reporter {
    fn event(&mut self, event: &BuildEvent);
    /// A fatal error that ends the command.
    fn error(&mut self, error: &Error);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
    /// `-vv`: commands with the environment orchestrator gives them.
    VeryVerbose,
}

/// Pick the reporter for the command line's choices and the terminal.
pub fn reporter(
    format: MessageFormat,
    verbosity: Verbosity,
    color: bool,
    tty: bool,
    explain: bool,
) -> Box<dyn Reporter> {
    match format {
        MessageFormat::Json => Box::new(Json::stdout()),
        MessageFormat::Human => Box::new(Human::new(verbosity, color, tty, explain)),
    }
}
