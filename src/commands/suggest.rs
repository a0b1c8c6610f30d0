//! `preflight suggest`: the lowest free port of a team's block or a range that passes every rule.

use std::io::Write;
use std::process::ExitCode;

use super::{Error, inputs};
use crate::check::Outcome;
use crate::cli::args::{ListFormat, ProtocolArg, SuggestArgs};
use crate::document::did_you_mean;
use crate::ports::{PortRange, Protocol};
use crate::suggest;

/// Searches the range for the first manifest given; exit 1 when no port passes.
pub(super) fn run(args: &SuggestArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let mut manifests = inputs::manifests(&args.inputs);
    if manifests.is_empty() {
        return Err(Error::Usage(
            "give the manifest to suggest a port for".into(),
        ));
    }
    let (file, loaded) = manifests.swap_remove(0);
    let manifest = match loaded {
        Ok((m, _)) => m,
        Err(e) => return Err(Error::Unchecked(vec![Outcome::Failed(e)])),
    };
    let lp = inputs::policy_for(&file, args.inputs.policy.as_deref())?;
    let range = match (&args.team, &args.range) {
        (_, Some(r)) => r
            .parse::<PortRange>()
            .map_err(|e| Error::Usage(format!("--range: {e}")))?,
        (Some(t), None) => match manifest.plan_block(t) {
            Some(b) => b.range,
            None => {
                let teams = manifest.port_plan.iter().map(|b| b.team.as_str());
                let hint = did_you_mean(t, teams)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(Error::Usage(format!(
                    "team `{t}` has no block in the manifest's port_plan{hint}"
                )));
            }
        },
        (None, None) => {
            return Err(Error::Usage(
                "give --team TEAM (a block of the manifest's port_plan) or --range START-END"
                    .into(),
            ));
        }
    };
    let protocol = match args.protocol {
        ProtocolArg::Tcp => Protocol::Tcp,
        ProtocolArg::Udp => Protocol::Udp,
    };
    // The live probe must see the candidates too, not only the manifest's own ports.
    let interest = || {
        manifest
            .ports()
            .filter_map(|(_, p)| Some((p.protocol, p.number?)))
            .chain((range.start..=range.end).map(|n| (protocol, n)))
            .collect()
    };
    let hosts = inputs::hosts(&args.inputs, interest)?;
    let facts: Vec<_> = hosts.iter().map(|h| &h.facts).collect();
    let found = suggest::lowest_passing(
        &manifest,
        &lp.policy,
        &facts,
        range,
        protocol,
        args.team.as_deref(),
    );
    match args.format {
        ListFormat::Json => {
            let json = serde_json::json!({
                "port": found.port,
                "range": range.to_string(),
                "protocol": protocol.as_str(),
                "checked": found.checked,
            });
            serde_json::to_writer_pretty(&mut *out, &json).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        ListFormat::Text => match found.port {
            Some(p) => writeln!(
                out,
                "{p}/{}: the lowest port in {range} that passes every rule ({} checked)",
                protocol.as_str(),
                found.checked
            )?,
            None => writeln!(
                out,
                "no port in {range} passes every rule ({} checked)",
                found.checked
            )?,
        },
    }
    Ok(ExitCode::from(u8::from(found.port.is_none())))
}
