//! `preflight man`: the man page (roff) generated from the clap definitions.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use super::Error;
use crate::cli::Cli;

/// Prints the man page.
pub(super) fn run(out: &mut dyn Write) -> Result<ExitCode, Error> {
    clap_mangen::Man::new(Cli::command()).render(out)?;
    Ok(ExitCode::SUCCESS)
}
