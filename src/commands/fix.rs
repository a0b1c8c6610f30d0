//! `preflight fix`: the fixes of `check`'s findings as a script, one per host in a fleet.

use std::io::Write;
use std::process::ExitCode;

use super::{Error, inputs, output};
use crate::check::Outcome;
use crate::cli::args::FixArgs;
use crate::fix::script::{Dialect, fix_script};
use crate::policy::date::Date;

/// Checks the inputs as `check` does and renders the fixes of the findings. A manifest that could not
/// be checked must be fixed first: its problems are the error.
pub(super) fn run(args: &FixArgs, out: &mut dyn Write, today: Date) -> Result<ExitCode, Error> {
    let (inputs::Run { outcomes, .. }, hosts) = inputs::check_keeping_facts(&args.inputs, today)?;
    if outcomes.iter().any(|o| matches!(o, Outcome::Failed(_))) {
        return Err(Error::Unchecked(outcomes));
    }
    // clap requires --dialect without host facts.
    output::emit_per_host(out, args.output.as_deref(), "fix", &hosts, |host| {
        let d = args
            .dialect
            .or_else(|| host.map(|h| Dialect::for_host(&h.facts)))
            .unwrap_or(Dialect::Sh);
        Ok((fix_script(d, &outcomes, host)?, d.parts().2))
    })
}
