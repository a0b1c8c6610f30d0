//! Reporters: turn findings (which name places by manifest path) into output, resolving paths to spans.

pub mod human;
pub mod json;
pub mod plain;

/// An output format of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// miette diagnostics for people (graphical in a terminal, plain prose otherwise).
    Human,
    /// A stable, versioned JSON document.
    Json,
}
