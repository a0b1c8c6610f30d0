//! The command line: clap definitions and dispatch. `main.rs` only calls [`main`].

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::check::{self, Outcome};
use crate::document::did_you_mean;
use crate::finding::Severity;
use crate::fix::generate::{FirewallDialect, GenOptions};
use crate::fix::script::Dialect;
use crate::manifest::LoadOptions;
use crate::report::{self, Format};
use crate::rules;

/// Stops a deploy from failing on ports: checks a deploy manifest for everything that will make `listen`
/// fail or the port unreachable, and says how to fix it.
#[derive(Debug, Parser)]
#[command(name = "preflight", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Print nothing for people (machine formats and the exit code still tell).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Colours in the human report: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colours in a terminal unless NO_COLOR is set.
    Auto,
    /// Always the graphical, coloured report.
    Always,
    /// Plain text.
    Never,
}

impl ColorChoice {
    fn style(self, is_tty: bool) -> report::human::Style {
        match self {
            ColorChoice::Auto => report::human::Style::detect(is_tty),
            ColorChoice::Always => report::human::Style::Graphical,
            ColorChoice::Never => report::human::Style::Plain,
        }
    }
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
        /// A policy file whose custom rules to list too (the nearest `.preflight.yaml` is always read).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Explain a rule: why it matters, an example, the fix.
    Explain {
        /// The rule's id, e.g. `ephemeral-range`.
        id: String,
        /// A policy file whose custom rules may be explained too.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Policy files: show the effective policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The lowest free port that passes every rule, in a team's block or a range.
    Suggest(SuggestArgs),
    /// Explain an error a service died with: likely causes, ranked, with commands to confirm and fix.
    Diagnose(DiagnoseArgs),
    /// Print shell completions.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Arguments of `diagnose`.
#[derive(Debug, clap::Args)]
pub struct DiagnoseArgs {
    /// The error text; read from standard input when absent or `-`.
    pub text: Option<String>,
    /// Check the extracted port against this host (read-only).
    #[arg(long, conflicts_with = "facts")]
    pub local: bool,
    /// Check the extracted port against facts captured on the host that failed.
    #[arg(long, value_name = "FILE")]
    pub facts: Option<PathBuf>,
    /// The platform the error comes from, when the text doesn't tell (Winsock codes and errno do).
    #[arg(long, value_enum)]
    pub platform: Option<PlatformArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// `--platform`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlatformArg {
    /// Linux.
    Linux,
    /// Windows.
    Windows,
    /// macOS.
    Macos,
}

/// `policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the effective policy (after `extends`) as JSON.
    Show {
        /// The manifest whose nearest `.preflight.yaml` applies.
        #[arg(default_value = "deploy.yaml")]
        manifest: PathBuf,
        /// A policy file applied on top.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

/// Arguments of `suggest`.
#[derive(Debug, clap::Args)]
pub struct SuggestArgs {
    /// Manifests and host facts, as for `check`.
    #[command(flatten)]
    pub inputs: Inputs,
    /// The team whose `port_plan` block to search.
    #[arg(long, conflicts_with = "range")]
    pub team: Option<String>,
    /// The range to search, `START-END`.
    #[arg(long)]
    pub range: Option<String>,
    /// The protocol of the port.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Tcp)]
    pub protocol: ProtocolArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// `tcp` or `udp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
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
    /// Run the host rules against facts captured on the targets (`preflight facts --host NAME -o FILE`
    /// there). Repeatable; a directory stands for every `*.json` in it. Host rules run once per host.
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub facts: Vec<PathBuf>,
    /// A policy file applied on top of the nearest `.preflight.yaml` (which is found from each
    /// manifest's directory upwards).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
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
    /// Write the `--format` report to FILE; the human report still goes to the terminal.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Arguments of `fix`.
#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// Manifests and host facts, as for `check`.
    #[command(flatten)]
    pub inputs: Inputs,
    /// The language of the script. Optional with host facts (`--facts`, `--local`): each host then gets
    /// PowerShell on Windows, and elsewhere `sh` with the firewall tool its facts show.
    #[arg(long, value_enum, required_unless_present_any = ["facts", "local"])]
    pub dialect: Option<Dialect>,
    /// Write `DIR/fix.EXT` instead of printing; with several hosts, one script per host,
    /// `DIR/HOST.EXT` (required then).
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
        /// The firewall's language. Optional with `--facts`: each host then gets the dialect its facts
        /// call for (PowerShell on Windows, else firewalld, ufw, iptables or nft, whichever it runs).
        #[arg(long, value_enum, required_unless_present = "facts")]
        dialect: Option<FirewallDialect>,
        /// Facts of the target hosts (files or directories of `*.json`, repeatable): one file per host,
        /// `DIR/HOST.EXT` (`-o DIR` required with several hosts).
        #[arg(long, value_name = "FILE_OR_DIR")]
        facts: Vec<PathBuf>,
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
        /// Write `DIR/firewall.EXT` instead of printing; with several hosts, `DIR/HOST.EXT` per host.
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
    /// Policy files (`.preflight.yaml`).
    Policy,
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
    // Buffered: a report of 100,000 findings would otherwise cost a write per line.
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match run(cli, &mut out, is_tty).and_then(|code| out.flush().map(|()| code)) {
        Ok(code) => code,
        // A closed pipe (`preflight check | head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e}");
            2
        }
    }
}

fn cli_style(color: ColorChoice, is_tty: bool) -> report::human::Style {
    color.style(is_tty)
}

/// Runs a parsed command line, writing to `out`.
pub fn run(cli: Cli, out: &mut dyn Write, is_tty: bool) -> io::Result<u8> {
    match cli.command {
        Command::Check(args) => {
            let run = match run_checks(&args.inputs) {
                Ok(x) => x,
                Err(code) => return Ok(code),
            };
            let (outcomes, policy) = (&run.0, run.2.as_ref().map(|p| &p.policy));
            let default_policy = crate::policy::Policy::default();
            let policy = policy.unwrap_or(&default_policy);
            let fail_on = args.fail_on.level();
            let style = cli_style(cli.color, is_tty);
            let write_format = |w: &mut dyn Write, format: Format| -> io::Result<()> {
                match format {
                    Format::Human => report::human::write(w, outcomes, style),
                    Format::Json => report::json::write(w, outcomes),
                    Format::Sarif => report::sarif::write(w, outcomes, policy),
                    Format::Junit => report::junit::write(w, outcomes, policy, fail_on),
                    Format::Github => report::github::write(w, outcomes),
                }
            };
            match &args.output {
                Some(path) => {
                    let mut file = io::BufWriter::new(std::fs::File::create(path)?);
                    write_format(&mut file, args.format)?;
                    file.flush()?;
                    if !cli.quiet {
                        report::human::write(out, outcomes, style)?;
                    }
                }
                None if cli.quiet && args.format == Format::Human => {}
                None => write_format(out, args.format)?,
            }
            Ok(check::exit_code(outcomes, fail_on))
        }
        Command::Fix(args) => {
            let (outcomes, hosts, _) = match run_checks(&args.inputs) {
                Ok(x) => x,
                Err(code) => return Ok(code),
            };
            if outcomes.iter().any(|o| matches!(o, Outcome::Failed(_))) {
                // The manifest itself must be fixed first: show why, as `check` would.
                report::human::write(&mut io::stderr(), &outcomes, report::human::Style::Plain)?;
                return Ok(2);
            }
            // clap requires --dialect without host facts.
            emit_per_host(out, args.output.as_deref(), "fix", &hosts, |host| {
                let d = args
                    .dialect
                    .or_else(|| host.map(|h| Dialect::for_host(&h.facts)))
                    .unwrap_or(Dialect::Sh);
                crate::fix::script::fix_script(d, &outcomes, host).map(|text| (text, d.parts().2))
            })
        }
        Command::Gen(cmd) => generate(cmd, out),
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::Deploy => crate::manifest::model::schema(),
                SchemaKind::Facts => crate::facts::schema(),
                SchemaKind::Policy => crate::policy::model::schema(),
            };
            serde_json::to_writer_pretty(&mut *out, &schema)?;
            writeln!(out)?;
            Ok(0)
        }
        Command::Facts(args) => facts_command(args, out),
        Command::Rules { format, policy } => {
            let lp = match crate::policy::load_policy(
                crate::policy::discover(std::path::Path::new("deploy.yaml")).as_deref(),
                policy.as_deref(),
                &rules::ids(),
            ) {
                Ok(lp) => lp,
                Err(e) => return policy_error(e),
            };
            write_rules(out, format, &lp.policy)?;
            Ok(0)
        }
        Command::Explain { id, policy } => {
            let lp = match crate::policy::load_policy(
                crate::policy::discover(std::path::Path::new("deploy.yaml")).as_deref(),
                policy.as_deref(),
                &rules::ids(),
            ) {
                Ok(lp) => lp,
                Err(e) => return policy_error(e),
            };
            explain(out, &id, &lp.policy)
        }
        Command::Policy(PolicyCommand::Show { manifest, policy }) => {
            match crate::policy::load_policy(
                crate::policy::discover(&manifest).as_deref(),
                policy.as_deref(),
                &rules::ids(),
            ) {
                Ok(lp) => {
                    serde_json::to_writer_pretty(&mut *out, &crate::policy::show(&lp))?;
                    writeln!(out)?;
                    Ok(0)
                }
                Err(e) => policy_error(e),
            }
        }
        Command::Suggest(args) => suggest(args, out),
        Command::Diagnose(args) => diagnose(args, out),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "preflight", out);
            Ok(0)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(out)?;
            Ok(0)
        }
    }
}

/// Outcomes, the hosts checked, and the first policy loaded (for rule metadata in reports).
type Run = (
    Vec<Outcome>,
    Vec<crate::fleet::Host>,
    Option<crate::policy::LoadedPolicy>,
);

/// Each input manifest, loaded (or why it could not be), with the hosts the inputs name.
type Loaded = (
    Vec<(
        PathBuf,
        Result<(crate::manifest::Manifest, crate::document::Document), crate::document::LoadError>,
    )>,
    Vec<crate::fleet::Host>,
);

/// Loads every manifest once, then the hosts: with `--local`, this host, where only the sockets on the
/// manifests' ports are probed (owners are looked up for those sockets alone); with `--facts`, every
/// facts file given. `Err(2)` after printing why the hosts could not be had.
fn load_inputs(inputs: &Inputs) -> Result<Loaded, u8> {
    let load = LoadOptions {
        process_env: inputs.env,
        ..LoadOptions::default()
    };
    let manifests: Vec<_> = inputs
        .files
        .iter()
        .map(|f| (f.clone(), crate::manifest::load(f, &load)))
        .collect();
    let hosts = if inputs.local {
        let interest: crate::facts::probe::Interest = manifests
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .flat_map(|(m, _)| m.ports().filter_map(|(_, p)| Some((p.protocol, p.number?))))
            .collect();
        crate::facts::probe::probe_for(Some(&interest))
            .map(|f| vec![crate::fleet::Host::live(f)])
            .map_err(crate::fleet::FleetError::Facts)
    } else {
        crate::fleet::load(&inputs.facts)
    };
    match hosts {
        Ok(hosts) => Ok((manifests, hosts)),
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e}");
            Err(2)
        }
    }
}

fn run_checks(inputs: &Inputs) -> Result<Run, u8> {
    let (manifests, hosts) = load_inputs(inputs)?;
    // One policy per distinct nearest `.preflight.yaml`, loaded once.
    let mut policies: Vec<(Option<PathBuf>, Option<crate::policy::LoadedPolicy>)> = Vec::new();
    let mut outcomes = Vec::new();
    for (f, loaded) in manifests {
        let discovered = crate::policy::discover(&f);
        let i = match policies.iter().position(|(k, _)| *k == discovered) {
            Some(i) => i,
            None => {
                match crate::policy::load_policy(
                    discovered.as_deref(),
                    inputs.policy.as_deref(),
                    &rules::ids(),
                ) {
                    Ok(p) => policies.push((discovered, Some(p))),
                    Err(e) => {
                        outcomes.push(Outcome::Failed(e));
                        policies.push((discovered, None));
                    }
                }
                policies.len() - 1
            }
        };
        outcomes.push(match (&policies[i].1, loaded) {
            (Some(lp), Ok((m, doc))) => {
                Outcome::Checked(check::check_manifest(&m, doc, &lp.policy, &hosts))
            }
            (Some(_), Err(e)) => Outcome::Failed(e),
            (None, _) => Outcome::Failed(crate::document::LoadError::Io {
                file: f.display().to_string(),
                source: io::Error::other("its policy file is invalid (see above)"),
            }),
        });
    }
    for lp in policies.iter().filter_map(|(_, p)| p.as_ref()) {
        outcomes.extend(check::expired_waivers(
            lp,
            crate::policy::date::Date::today(),
        ));
    }
    let first = policies.into_iter().find_map(|(_, p)| p);
    Ok((outcomes, hosts, first))
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
    match cmd {
        GenCommand::Firewall {
            dialect,
            facts,
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
            let hosts = match crate::fleet::load(&facts) {
                Ok(h) => h,
                Err(e) => return fail(&e),
            };
            // clap requires --dialect without --facts.
            emit_per_host(out, output.as_deref(), "firewall", &hosts, |host| {
                let d = dialect
                    .or_else(|| host.map(|h| FirewallDialect::for_host(&h.facts)))
                    .unwrap_or(FirewallDialect::Nft);
                let name = host.map(|h| h.name.as_str());
                crate::fix::generate::firewall(d, &ms, &names, name, &opts)
                    .map(|text| (text, d.parts().1))
            })
        }
        GenCommand::K8s { .. } => match crate::fix::generate::k8s(&ms, &names) {
            Ok(text) => emit(out, output.as_deref(), "k8s.yaml", &text),
            Err(e) => fail(&e),
        },
    }
}

/// Writes what `render` makes for the run: with several hosts, one file per host, `DIR/HOST.EXT`
/// (`-o DIR` required then); otherwise one, for the only host or none, printed or written to
/// `DIR/BASE.EXT`. `render` returns the text and its extension.
fn emit_per_host(
    out: &mut dyn Write,
    dir: Option<&std::path::Path>,
    base: &str,
    hosts: &[crate::fleet::Host],
    render: impl Fn(Option<&crate::fleet::Host>) -> Result<(String, &'static str), String>,
) -> io::Result<u8> {
    if hosts.len() <= 1 {
        return match render(hosts.first()) {
            Ok((text, ext)) => emit(out, dir, &format!("{base}.{ext}"), &text),
            Err(e) => fail(&e),
        };
    }
    let Some(dir) = dir else {
        return fail(&format!(
            "{} hosts need one file each: give -o DIR to write DIR/HOST.EXT",
            hosts.len()
        ));
    };
    for host in hosts {
        match render(Some(host)) {
            Ok((text, ext)) => emit(out, Some(dir), &format!("{}.{ext}", host.name), &text)?,
            Err(e) => return fail(&e),
        };
    }
    Ok(0)
}

/// Prints an error that stops the run and returns exit code 2.
fn fail(e: &dyn std::fmt::Display) -> io::Result<u8> {
    let _ = writeln!(io::stderr(), "error: {e}");
    Ok(2)
}

fn facts_command(args: FactsArgs, out: &mut dyn Write) -> io::Result<u8> {
    if let Some(h) = args
        .host
        .as_deref()
        .filter(|h| !crate::fleet::valid_name(h))
    {
        return fail(&format!(
            "--host {h:?}: a host name may only use letters, digits, `.`, `-` and `_`, and must not start with `.`"
        ));
    }
    if let Some(ScriptKind::Powershell) = args.script {
        out.write_all(crate::facts::POWERSHELL_COLLECTOR.as_bytes())?;
        return Ok(0);
    }
    let facts = if args.imports.is_empty() {
        crate::facts::probe::probe()
    } else {
        crate::facts::import::import_files(&args.imports)
    };
    let mut facts = match facts {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    if let Some(h) = args.host {
        facts.host = Some(h);
    }
    let json = serde_json::to_string_pretty(&facts).map_err(io::Error::other)? + "\n";
    match args.output {
        Some(path) => std::fs::write(&path, json)?,
        None => out.write_all(json.as_bytes())?,
    }
    Ok(0)
}

/// Every rule as JSON rows, from the one catalog.
fn rule_rows(policy: &crate::policy::Policy) -> Vec<serde_json::Value> {
    rules::catalog(policy)
        .into_iter()
        .map(|r| {
            let (facts, kind): (&[&str], &str) = match r {
                rules::Listed::BuiltIn(m) => (m.facts, "built-in"),
                rules::Listed::Custom(_) => (&[], "custom"),
            };
            serde_json::json!({ "id": r.id(), "severity": r.severity(), "summary": r.summary(), "facts": facts, "kind": kind })
        })
        .collect()
}

fn write_rules(
    out: &mut dyn Write,
    format: ListFormat,
    policy: &crate::policy::Policy,
) -> io::Result<()> {
    let rows = rule_rows(policy);
    match format {
        ListFormat::Text => {
            for r in rows {
                let facts = match (
                    r["kind"].as_str(),
                    r["facts"].as_array().is_some_and(|f| !f.is_empty()),
                ) {
                    (Some("custom"), _) => "custom (policy)",
                    (_, true) => "manifest + host facts",
                    _ => "manifest",
                };
                let severity = policy.setting(r["id"].as_str().unwrap_or("")).map_or_else(
                    || r["severity"].as_str().unwrap_or("").to_owned(),
                    |s| match s {
                        crate::policy::RuleSetting::Off => "off".to_owned(),
                        crate::policy::RuleSetting::Severity(s) => s.to_string(),
                    },
                );
                writeln!(
                    out,
                    "{:<22} {:<8} {:<22} {}",
                    r["id"].as_str().unwrap_or(""),
                    severity,
                    facts,
                    r["summary"].as_str().unwrap_or("")
                )?;
            }
        }
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

fn explain(out: &mut dyn Write, id: &str, policy: &crate::policy::Policy) -> io::Result<u8> {
    let all = rules::catalog(policy);
    match all.iter().find(|r| r.id() == id) {
        Some(rules::Listed::BuiltIn(m)) => {
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
        Some(rules::Listed::Custom(c)) => {
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
            Ok(0)
        }
        None => {
            let hint = did_you_mean(id, all.iter().map(|r| r.id()))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            let _ = writeln!(
                io::stderr(),
                "error: no rule `{id}`{hint}; `preflight rules` lists them"
            );
            Ok(2)
        }
    }
}

/// Prints a policy file's problems and returns exit code 2.
fn policy_error(e: crate::document::LoadError) -> io::Result<u8> {
    report::human::write(
        &mut io::stderr(),
        &[Outcome::Failed(e)],
        report::human::Style::Plain,
    )?;
    Ok(2)
}

fn diagnose(args: DiagnoseArgs, out: &mut dyn Write) -> io::Result<u8> {
    let text = match args.text.as_deref() {
        Some(t) if t != "-" => t.to_owned(),
        _ => {
            let mut s = String::new();
            io::Read::read_to_string(&mut io::Read::take(io::stdin(), 1 << 20), &mut s)?;
            s
        }
    };
    // The platform decides which causes apply (Winsock 10013 vs EACCES); the text tells unless given.
    let known = args.platform.map(|p| match p {
        PlatformArg::Linux => "linux",
        PlatformArg::Windows => "windows",
        PlatformArg::Macos => "macos",
    });
    let mut d = crate::diagnose::diagnose_on(&text, known);
    let facts = if args.local {
        Some(crate::facts::probe::probe())
    } else {
        args.facts.as_deref().map(crate::facts::load)
    };
    match facts.transpose() {
        Ok(Some(f)) => {
            let platform = match (d.platform, f.os.as_deref()) {
                (Some("windows"), _) | (None, Some("windows")) => {
                    crate::manifest::Platform::Windows
                }
                (Some("macos"), _) | (None, Some("macos")) => crate::manifest::Platform::Macos,
                _ => crate::manifest::Platform::Linux,
            };
            d = crate::diagnose::with_facts(d, &f, platform);
        }
        Ok(None) => {}
        Err(e) => return fail(&e),
    }
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &d)?;
            writeln!(out)?;
        }
        ListFormat::Text => crate::diagnose::write_text(out, &d)?,
    }
    Ok(if d.causes.is_empty() { 1 } else { 0 })
}

fn suggest(args: SuggestArgs, out: &mut dyn Write) -> io::Result<u8> {
    let (mut manifests, hosts) = match load_inputs(&args.inputs) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    if manifests.is_empty() {
        return Ok(2);
    }
    let (file, loaded) = manifests.swap_remove(0);
    let manifest = match loaded {
        Ok((m, _)) => m,
        Err(e) => {
            report::human::write(
                &mut io::stderr(),
                &[Outcome::Failed(e)],
                report::human::Style::Plain,
            )?;
            return Ok(2);
        }
    };
    let lp = match crate::policy::load_policy(
        crate::policy::discover(&file).as_deref(),
        args.inputs.policy.as_deref(),
        &rules::ids(),
    ) {
        Ok(lp) => lp,
        Err(e) => return policy_error(e),
    };
    let range = match (&args.team, &args.range) {
        (_, Some(r)) => match r.parse::<crate::ports::PortRange>() {
            Ok(r) => r,
            Err(e) => return fail(&format!("--range: {e}")),
        },
        (Some(t), None) => match manifest.plan_block(t) {
            Some(b) => b.range,
            None => {
                let teams = manifest.port_plan.iter().map(|b| b.team.as_str());
                let hint = did_you_mean(t, teams)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return fail(&format!(
                    "team `{t}` has no block in the manifest's port_plan{hint}"
                ));
            }
        },
        (None, None) => {
            return fail(
                &"give --team TEAM (a block of the manifest's port_plan) or --range START-END",
            );
        }
    };
    let protocol = match args.protocol {
        ProtocolArg::Tcp => crate::manifest::Protocol::Tcp,
        ProtocolArg::Udp => crate::manifest::Protocol::Udp,
    };
    let found = crate::advise::lowest_passing(
        &manifest,
        &lp.policy,
        &hosts.iter().map(|h| &h.facts).collect::<Vec<_>>(),
        range,
        protocol,
        args.team.as_deref(),
    );
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({ "port": found.port, "range": range.to_string(), "protocol": protocol.as_str(), "checked": found.checked }),
            )?;
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
    Ok(if found.port.is_some() { 0 } else { 1 })
}
