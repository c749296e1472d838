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

/// `--message-format`, with cargo's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// Human-readable output on stderr.
    Human,
    /// Human-readable, with rustc's short diagnostics.
    Short,
    /// One JSON object per line on stdout; diagnostics' `rendered` without colours.
    Json,
    /// JSON, with rustc's short diagnostics in `rendered`.
    JsonDiagnosticShort,
    /// JSON, with ANSI colours in `rendered` (what rust-analyzer asks for).
    JsonDiagnosticRenderedAnsi,
    /// JSON, except that compiler messages are printed rendered on stderr.
    JsonRenderDiagnostics,
}

impl MessageFormat {
    pub fn is_json(self) -> bool {
        !matches!(self, MessageFormat::Human | MessageFormat::Short)
    }

    /// rustc's short diagnostics (`--json=diagnostic-short`).
    pub fn short(self) -> bool {
        matches!(
            self,
            MessageFormat::Short | MessageFormat::JsonDiagnosticShort
        )
    }

    /// Ask rustc for ANSI colours in rendered diagnostics.
    pub fn ansi(self, color: bool) -> bool {
        match self {
            MessageFormat::JsonDiagnosticRenderedAnsi => true,
            MessageFormat::Json | MessageFormat::JsonDiagnosticShort => false,
            MessageFormat::Human | MessageFormat::Short | MessageFormat::JsonRenderDiagnostics => {
                color
            }
        }
    }

    /// rustdoc's `--error-format` for doc tests, as cargo picks it.
    pub fn rustdoc_error_format(self) -> &'static str {
        match self {
            _ if self.short() => "short",
            _ if self.is_json() => "json",
            _ => "human",
        }
    }
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
        MessageFormat::Human | MessageFormat::Short => {
            Box::new(Human::new(verbosity, color, tty, explain))
        }
        MessageFormat::JsonRenderDiagnostics => Box::new(Json::stdout().rendering_diagnostics()),
        _ => Box::new(Json::stdout()),
    }
}
