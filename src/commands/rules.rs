//! `preflight rules` and `preflight explain`: the rule catalog, from the same metadata the checks use.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::{Error, inputs};
use crate::cli::args::ListFormat;
use crate::document::did_you_mean;
use crate::finding::Severity;
use crate::policy::{Policy, RuleSetting};
use crate::rules::{Listed, catalog};

/// One rule as `rules --format json` lists it.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    /// The default severity (the policy's setting is in the text table).
    severity: Severity,
    summary: &'a str,
    /// Host facts the rule reads.
    facts: &'static [&'static str],
    /// `built-in` or `custom`.
    kind: &'static str,
}

impl<'a> Row<'a> {
    fn of(r: &'a Listed<'a>) -> Self {
        let (facts, kind): (&'static [&'static str], _) = match r {
            Listed::BuiltIn(m) => (m.facts, "built-in"),
            Listed::Custom(_) => (&[], "custom"),
        };
        Row {
            id: r.id(),
            severity: r.severity(),
            summary: r.summary(),
            facts,
            kind,
        }
    }
}

/// The policy `rules` and `explain` show: the nearest `.preflight.yaml` from here, then `--policy`.
fn policy(explicit: Option<&Path>) -> Result<Policy, Error> {
    Ok(inputs::policy_for(Path::new("deploy.yaml"), explicit)?.policy)
}

/// Lists every rule, built-in and custom, sorted by id.
pub(super) fn list(
    format: ListFormat,
    explicit: Option<&Path>,
    out: &mut dyn Write,
) -> Result<ExitCode, Error> {
    let policy = policy(explicit)?;
    let rules = catalog(&policy);
    match format {
        ListFormat::Text => {
            for r in &rules {
                let reads = match r {
                    Listed::Custom(_) => "custom (policy)",
                    Listed::BuiltIn(m) if m.reads_facts() => "manifest + host facts",
                    Listed::BuiltIn(_) => "manifest",
                };
                let severity = match policy.setting(r.id()) {
                    Some(RuleSetting::Off) => "off".to_owned(),
                    Some(RuleSetting::Severity(s)) => s.to_string(),
                    None => r.severity().to_string(),
                };
                writeln!(
                    out,
                    "{:<22} {:<8} {:<22} {}",
                    r.id(),
                    severity,
                    reads,
                    r.summary()
                )?;
            }
        }
        ListFormat::Json => {
            let rows: Vec<Row<'_>> = rules.iter().map(Row::of).collect();
            serde_json::to_writer_pretty(&mut *out, &rows).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints one rule's documentation; an unknown id is an error with a "did you mean".
pub(super) fn explain(
    id: &str,
    explicit: Option<&Path>,
    out: &mut dyn Write,
) -> Result<ExitCode, Error> {
    let policy = policy(explicit)?;
    let all = catalog(&policy);
    match all.iter().find(|r| r.id() == id) {
        Some(Listed::BuiltIn(m)) => {
            writeln!(
                out,
                "# {} ({})\n\n{}\n\n{}",
                m.id,
                m.severity,
                m.summary,
                m.docs.trim_end()
            )?;
            if !m.facts.is_empty() {
                writeln!(
                    out,
                    "\nHost facts used when available: {}",
                    m.facts.join(", ")
                )?;
            }
            if let Some(table) = crate::rules::reference(m.id) {
                write!(out, "\n{table}")?;
            }
        }
        Some(Listed::Custom(c)) => {
            writeln!(
                out,
                "# {} ({}, custom rule)\n\n{}\n",
                c.id, c.severity, c.summary
            )?;
            if let Some(w) = &c.when_src {
                writeln!(out, "Applies where: `{w}`")?;
            }
            writeln!(out, "Asserts: `{}`", c.assert_src)?;
            if let Some(h) = &c.help {
                writeln!(out, "\n## Fix\n{h}")?;
            }
        }
        None => {
            let hint = did_you_mean(id, all.iter().map(|r| r.id()))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(Error::Usage(format!(
                "no rule `{id}`{hint}; `preflight rules` lists them"
            )));
        }
    }
    Ok(ExitCode::SUCCESS)
}
