//! Reporters: turn findings (which name places by manifest path) into output, resolving paths to spans.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod plain;
pub mod sarif;

/// An output format of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// miette diagnostics for people (graphical in a terminal, plain prose otherwise).
    Human,
    /// A stable, versioned JSON document.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// JUnit XML (GitLab, Azure Pipelines, Jenkins).
    Junit,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

/// A message with its help on a second line (`message\nhelp: …`), for formats that carry one text.
pub fn with_help(message: &str, help: Option<&str>) -> String {
    match help {
        Some(h) => format!("{message}\nhelp: {h}"),
        None => message.to_owned(),
    }
}
