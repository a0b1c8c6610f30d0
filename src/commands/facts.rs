//! `preflight facts`: this host's facts, facts built from captured command output, or the collector.

use std::io::Write;
use std::process::ExitCode;

use super::Error;
use crate::cli::args::{FactsArgs, ScriptKind};
use crate::facts::{self, import, probe};
use crate::fleet;

/// Probes this host (or imports the captures) and writes the facts as JSON.
pub(super) fn run(args: FactsArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    if let Some(h) = args.host.as_deref().filter(|h| !fleet::valid_name(h)) {
        return Err(Error::Usage(format!(
            "--host {h:?}: a host name may only use letters, digits, `.`, `-` and `_`, and must not start with `.`"
        )));
    }
    if let Some(ScriptKind::Powershell) = args.script {
        out.write_all(facts::POWERSHELL_COLLECTOR.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut facts = if args.imports.is_empty() {
        probe::probe()?
    } else {
        import::import_files(&args.imports)?
    };
    if let Some(h) = args.host {
        facts.host = Some(h);
    }
    // Rows of a capture that could not be read were skipped: say which, as the facts record.
    let mut err = std::io::stderr().lock();
    for w in &facts.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    let json = serde_json::to_string_pretty(&facts).map_err(std::io::Error::other)? + "\n";
    match args.output {
        Some(path) => std::fs::write(&path, json)?,
        None => out.write_all(json.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
