//! `preflight policy show`: the effective policy after `extends`, as JSON.

use std::io::Write;
use std::process::ExitCode;

use super::{Error, inputs};
use crate::cli::args::PolicyCommand;

/// Prints the effective policy for a manifest.
pub(super) fn run(cmd: PolicyCommand, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let PolicyCommand::Show { manifest, policy } = cmd;
    let lp = inputs::policy_for(&manifest, policy.as_deref())?;
    serde_json::to_writer_pretty(&mut *out, &crate::policy::show(&lp))
        .map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}
