//! `preflight completions`: shell completions generated from the clap definitions.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use super::Error;
use crate::cli::Cli;

/// Prints the completions for `shell`.
pub(super) fn run(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<ExitCode, Error> {
    clap_complete::generate(shell, &mut Cli::command(), "preflight", out);
    Ok(ExitCode::SUCCESS)
}
