//! The command line: clap definitions and dispatch. `main.rs` only calls [`main`].

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::check::{self, Outcome};
use crate::finding::Severity;
use crate::manifest::LoadOptions;
use crate::policy::Policy;
use crate::report::{self, Format};
use crate::rules;
use crate::suggest::did_you_mean;

/// Stops a deploy from failing on ports: checks a deploy manifest for everything that will make `listen`
/// fail or the port unreachable, and says how to fix it.
#[derive(Debug, Parser)]
#[command(name = "preflight", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check deploy manifests.
    Check(CheckArgs),
    /// Print the JSON Schema of a file preflight reads.
    Schema {
        /// Which schema.
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// List the rules.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Explain a rule: why it matters, an example, the fix.
    Explain {
        /// The rule's id, e.g. `ephemeral-range`.
        id: String,
    },
}

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Manifests to check.
    #[arg(default_value = "deploy.yaml")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Let `${VAR}` read the process environment (it then takes precedence over `environment:`).
    #[arg(long)]
    pub env: bool,
}

/// `--fail-on` levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Errors fail.
    Error,
    /// Warnings and errors fail.
    Warning,
    /// Any finding fails.
    Info,
    /// Findings never fail (exit 0 unless an input can't be checked).
    Never,
}

impl FailOn {
    fn level(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

/// Schemas `preflight schema` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// The deploy manifest (`deploy.yaml`).
    Deploy,
}

/// Formats of `preflight rules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table for people.
    Text,
    /// JSON for machines.
    Json,
}

/// Runs the command line and returns the process exit code (0 ok, 1 findings, 2 could not check).
pub fn main() -> u8 {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let is_tty = stdout.is_terminal();
    let mut out = stdout.lock();
    match run(cli, &mut out, is_tty) {
        Ok(code) => code,
        // A closed pipe (`preflight check | head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e}");
            2
        }
    }
}

/// Runs a parsed command line, writing to `out`.
pub fn run(cli: Cli, out: &mut dyn Write, is_tty: bool) -> io::Result<u8> {
    match cli.command {
        Command::Check(args) => {
            let load = LoadOptions {
                process_env: args.env,
                ..LoadOptions::default()
            };
            let policy = Policy::default();
            let outcomes: Vec<Outcome> = args
                .files
                .iter()
                .map(|f| check::check_file(f, &load, &policy, None))
                .collect();
            match args.format {
                Format::Human => {
                    report::human::write(out, &outcomes, report::human::Style::detect(is_tty))?
                }
                Format::Json => report::json::write(out, &outcomes)?,
            }
            Ok(check::exit_code(&outcomes, args.fail_on.level()))
        }
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::Deploy => crate::manifest::model::schema(),
            };
            serde_json::to_writer_pretty(&mut *out, &schema)?;
            writeln!(out)?;
            Ok(0)
        }
        Command::Rules { format } => {
            write_rules(out, format)?;
            Ok(0)
        }
        Command::Explain { id } => match rules::find(&id) {
            Some(rule) => {
                let m = rule.meta;
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
                Ok(0)
            }
            None => {
                let ids = rules::ALL.iter().map(|r| r.meta.id);
                let hint = match did_you_mean(&id, ids) {
                    Some(s) => format!(" (did you mean `{s}`?)"),
                    None => String::new(),
                };
                let _ = writeln!(
                    io::stderr(),
                    "error: no rule `{id}`{hint}; `preflight rules` lists them"
                );
                Ok(2)
            }
        },
    }
}

fn write_rules(out: &mut dyn Write, format: ListFormat) -> io::Result<()> {
    match format {
        ListFormat::Text => {
            for r in rules::ALL {
                let m = r.meta;
                let facts = if m.facts.is_empty() {
                    "manifest"
                } else {
                    "manifest + host facts"
                };
                writeln!(
                    out,
                    "{:<22} {:<8} {:<22} {}",
                    m.id, m.severity, facts, m.summary
                )?;
            }
        }
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = rules::ALL
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.meta.id,
                        "severity": r.meta.severity,
                        "summary": r.meta.summary,
                        "facts": r.meta.facts,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &list)?;
            writeln!(out)?;
        }
    }
    Ok(())
}
