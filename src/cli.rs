//! The command line: clap definitions and dispatch. `main.rs` only calls [`main`].

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::check::{self, Outcome};
use crate::finding::Severity;
use crate::fix::generate::{FirewallDialect, GenOptions};
use crate::fix::script::Dialect;
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
    /// Print a script that fixes the findings of `check` (same inputs), in a dialect.
    Fix(FixArgs),
    /// Generate whole configs from manifests: firewall rules, Kubernetes objects.
    #[command(subcommand)]
    Gen(GenCommand),
    /// Print (or write) the facts of this host, or build facts from captured command output.
    Facts(FactsArgs),
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

/// The inputs `check`, `fix` and `gen` share: manifests, variables and host facts.
#[derive(Debug, clap::Args)]
pub struct Inputs {
    /// Manifests to read.
    #[arg(default_value = "deploy.yaml")]
    pub files: Vec<PathBuf>,
    /// Let `${VAR}` read the process environment (it then takes precedence over `environment:`).
    #[arg(long)]
    pub env: bool,
    /// Probe this host (read-only) and run the host rules against it.
    #[arg(long, conflicts_with = "facts")]
    pub local: bool,
    /// Run the host rules against facts captured on the target (`preflight facts -o FILE` there).
    #[arg(long, value_name = "FILE")]
    pub facts: Option<PathBuf>,
}

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Manifests and host facts.
    #[command(flatten)]
    pub inputs: Inputs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
}

/// Arguments of `fix`.
#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// Manifests and host facts, as for `check`.
    #[command(flatten)]
    pub inputs: Inputs,
    /// The language of the script.
    #[arg(long, value_enum)]
    pub dialect: Dialect,
    /// Write `DIR/fix.EXT` instead of printing.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

/// What `gen` generates.
#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// Inbound allow rules for every public and internal port.
    Firewall {
        /// Manifests.
        #[arg(default_value = "deploy.yaml")]
        files: Vec<PathBuf>,
        /// The firewall's language.
        #[arg(long, value_enum)]
        dialect: FirewallDialect,
        /// Windows profiles the rules apply to.
        #[arg(long, default_value = "Domain,Private")]
        profile: String,
        /// firewalld zone.
        #[arg(long, default_value = "public")]
        zone: String,
        /// Leave SSH (22/tcp) out of the nft firewall (it is kept open by default).
        #[arg(long)]
        no_ssh: bool,
        /// Let `${VAR}` read the process environment.
        #[arg(long)]
        env: bool,
        /// Write `DIR/firewall.EXT` instead of printing.
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
    /// Kubernetes Service, NetworkPolicy and Deployment patch per service.
    K8s {
        /// Manifests.
        #[arg(default_value = "deploy.yaml")]
        files: Vec<PathBuf>,
        /// Let `${VAR}` read the process environment.
        #[arg(long)]
        env: bool,
        /// Write `DIR/k8s.yaml` instead of printing.
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
}

/// Arguments of `facts`.
#[derive(Debug, clap::Args)]
pub struct FactsArgs {
    /// Write the facts to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Build facts from captured command output instead of probing this host: KIND=FILE, repeatable.
    /// Kinds: netsh-excludedportrange, netsh-dynamicport, netstat-ano (Windows); ss, netstat (Linux).
    #[arg(long = "import", value_name = "KIND=FILE")]
    pub imports: Vec<String>,
    /// Name the host in the facts (default: this host's name when probing).
    #[arg(long)]
    pub host: Option<String>,
    /// Print a read-only collector script for a host without preflight instead of facts.
    #[arg(long, value_enum, conflicts_with = "imports")]
    pub script: Option<ScriptKind>,
}

/// Collector scripts `preflight facts --script` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScriptKind {
    /// Windows PowerShell 5.1 or later.
    Powershell,
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
    /// Host facts (`preflight facts -o host.json`).
    Facts,
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
            let (outcomes, _) = match run_checks(&args.inputs) {
                Ok(x) => x,
                Err(code) => return Ok(code),
            };
            match args.format {
                Format::Human => {
                    report::human::write(out, &outcomes, report::human::Style::detect(is_tty))?
                }
                Format::Json => report::json::write(out, &outcomes)?,
            }
            Ok(check::exit_code(&outcomes, args.fail_on.level()))
        }
        Command::Fix(args) => {
            let (outcomes, facts) = match run_checks(&args.inputs) {
                Ok(x) => x,
                Err(code) => return Ok(code),
            };
            if outcomes.iter().any(|o| matches!(o, Outcome::Failed(_))) {
                // The manifest itself must be fixed first: show why, as `check` would.
                report::human::write(&mut io::stderr(), &outcomes, report::human::Style::Plain)?;
                return Ok(2);
            }
            let script =
                match crate::fix::script::fix_script(args.dialect, &outcomes, facts.as_ref()) {
                    Ok(s) => s,
                    Err(e) => return fail(&e),
                };
            emit(
                out,
                args.output.as_deref(),
                &format!("fix.{}", args.dialect.parts().2),
                &script,
            )
        }
        Command::Gen(cmd) => generate(cmd, out),
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::Deploy => crate::manifest::model::schema(),
                SchemaKind::Facts => crate::facts::schema(),
            };
            serde_json::to_writer_pretty(&mut *out, &schema)?;
            writeln!(out)?;
            Ok(0)
        }
        Command::Facts(args) => facts_command(args, out),
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

/// Loads the host facts the inputs ask for and checks every manifest; `Err(2)` after printing why the
/// facts could not be had.
fn run_checks(inputs: &Inputs) -> Result<(Vec<Outcome>, Option<crate::facts::Facts>), u8> {
    let load = LoadOptions {
        process_env: inputs.env,
        ..LoadOptions::default()
    };
    let policy = Policy::default();
    let facts = if inputs.local {
        Some(crate::facts::probe::probe())
    } else {
        inputs.facts.as_deref().map(crate::facts::load)
    };
    let facts = match facts.transpose() {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e}");
            return Err(2);
        }
    };
    let outcomes = inputs
        .files
        .iter()
        .map(|f| check::check_file(f, &load, &policy, facts.as_ref()))
        .collect();
    Ok((outcomes, facts))
}

/// Prints `text`, or writes it to `DIR/name` when a directory is given.
fn emit(
    out: &mut dyn Write,
    dir: Option<&std::path::Path>,
    name: &str,
    text: &str,
) -> io::Result<u8> {
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            std::fs::write(d.join(name), text)?;
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(0)
}

fn generate(cmd: GenCommand, out: &mut dyn Write) -> io::Result<u8> {
    let (files, env, output) = match &cmd {
        GenCommand::Firewall {
            files, env, output, ..
        }
        | GenCommand::K8s { files, env, output } => (files, *env, output.clone()),
    };
    let load = LoadOptions {
        process_env: env,
        ..LoadOptions::default()
    };
    let mut manifests = Vec::new();
    let mut failed = Vec::new();
    for f in files {
        match crate::manifest::load(f, &load) {
            Ok((m, doc)) => manifests.push((m, doc.name)),
            Err(e) => failed.push(Outcome::Failed(e)),
        }
    }
    if !failed.is_empty() {
        report::human::write(&mut io::stderr(), &failed, report::human::Style::Plain)?;
        return Ok(2);
    }
    let ms: Vec<&crate::manifest::Manifest> = manifests.iter().map(|(m, _)| m).collect();
    let names: Vec<&str> = manifests.iter().map(|(_, n)| n.as_str()).collect();
    let (result, name) = match cmd {
        GenCommand::Firewall {
            dialect,
            profile,
            zone,
            no_ssh,
            ..
        } => {
            let opts = GenOptions {
                profile,
                zone,
                keep_ssh: !no_ssh,
            };
            (
                crate::fix::generate::firewall(dialect, &ms, &names, &opts),
                format!("firewall.{}", dialect.parts().1),
            )
        }
        GenCommand::K8s { .. } => (
            crate::fix::generate::k8s(&ms, &names),
            "k8s.yaml".to_owned(),
        ),
    };
    match result {
        Ok(text) => emit(out, output.as_deref(), &name, &text),
        Err(e) => fail(&e),
    }
}

/// Prints an error that stops the run and returns exit code 2.
fn fail(e: &dyn std::fmt::Display) -> io::Result<u8> {
    let _ = writeln!(io::stderr(), "error: {e}");
    Ok(2)
}

fn facts_command(args: FactsArgs, out: &mut dyn Write) -> io::Result<u8> {
    use crate::facts::parse::{ImportKind, import};
    use crate::facts::{Facts, FactsError};
    if let Some(ScriptKind::Powershell) = args.script {
        out.write_all(crate::facts::POWERSHELL_COLLECTOR.as_bytes())?;
        return Ok(0);
    }
    let facts = if args.imports.is_empty() {
        crate::facts::probe::probe()
    } else {
        let mut facts = Facts::new();
        let mut result = Ok(());
        for spec in &args.imports {
            let Some((kind, file)) = spec.split_once('=') else {
                result = Err(FactsError::Usage(format!(
                    "--import takes KIND=FILE, got {spec:?}"
                )));
                break;
            };
            let Some(k) = ImportKind::from_name(kind) else {
                let names: Vec<&str> = ImportKind::ALL.iter().map(|(n, _)| *n).collect();
                let hint = did_you_mean(kind, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                result = Err(FactsError::Usage(format!(
                    "unknown import kind `{kind}`: {hint}kinds are {}",
                    names.join(", ")
                )));
                break;
            };
            let text = match std::fs::read(file) {
                Ok(b) => decode(&b),
                Err(source) => {
                    result = Err(FactsError::Io {
                        file: file.to_owned(),
                        source,
                    });
                    break;
                }
            };
            if let Err(e) = import(k, &text, &mut facts) {
                result = Err(FactsError::Parse {
                    file: file.to_owned(),
                    kind: kind.to_owned(),
                    line: e.line,
                    message: e.message,
                });
                break;
            }
        }
        facts.normalize();
        result.map(|()| facts)
    };
    let mut facts = match facts {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    if args.host.is_some() {
        facts.host = args.host;
    }
    let json = serde_json::to_string_pretty(&facts).map_err(io::Error::other)? + "\n";
    match args.output {
        Some(path) => std::fs::write(&path, json)?,
        None => out.write_all(json.as_bytes())?,
    }
    Ok(0)
}

/// Captured output as text: UTF-16 (PowerShell's `>` redirect writes UTF-16LE with a BOM) or UTF-8.
fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let text = String::from_utf8_lossy(bytes);
    text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned()
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
