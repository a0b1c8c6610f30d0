//! The command line's clap definitions: every subcommand, flag and help text. What each command does is
//! in `crate::commands`, one file per subcommand.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::finding::Severity;
use crate::fix::generate::FirewallDialect;
use crate::fix::script::Dialect;
use crate::report::{self, Format};

/// What `preflight --version` prints after the name: the version and the commit it was built from, as
/// `0.1.0 (a38004d 2026-12-05)` (`build.rs` finds the commit; `unknown` when it was built without one).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("PREFLIGHT_COMMIT_INFO"),
    ")"
);

/// Stops a deploy from failing on ports: checks a deploy manifest for everything that will make `listen`
/// fail or the port unreachable, and says how to fix it.
#[derive(Debug, Parser)]
#[command(name = "preflight", version = VERSION, propagate_version = true)]
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
    /// The human report's style for this choice when standard output is (`is_tty`) or isn't a terminal.
    pub fn style(self, is_tty: bool) -> report::human::Style {
        match self {
            ColorChoice::Auto => report::human::Style::detect(is_tty),
            ColorChoice::Always => report::human::Style::graphical(),
            ColorChoice::Never => report::human::Style::Plain,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check deploy manifests, Compose files and Kubernetes manifests.
    Check(CheckArgs),
    /// Print the port inventory of the inputs, one row per host port: what preflight understood.
    Ports(PortsArgs),
    /// Write a starting deploy.yaml that includes Compose files and Kubernetes manifests, with the
    /// target and a commented port plan derived from the ports they publish.
    Init(InitArgs),
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
    /// Run the Language Server over standard input and output: diagnostics as you type, hover with
    /// `explain`, code actions that ignore a finding or move a port.
    Lsp,
    /// Print the man page (roff), or write one page per subcommand to a directory.
    Man {
        /// Write `preflight.1` and `preflight-SUBCOMMAND.1` for every subcommand into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
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

/// The files to read and how: what `check`, `fix`, `suggest` and `ports` share.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// Inputs to read: deploy manifests, Compose files, Kubernetes manifests or directories of them
    /// (`-` reads standard input) [default: deploy.yaml, unless -f is given]
    pub files: Vec<PathBuf>,
    /// Compose: files merged into one project, as `docker compose -f A -f B` merges them (repeatable;
    /// a later file adds ports and replaces settings; `!reset` and `!override` are honoured).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub compose_files: Vec<PathBuf>,
    /// What the inputs are; without it, each one's kind is recognised from its content.
    #[arg(long, value_enum, value_name = "KIND")]
    pub kind: Option<crate::manifest::Kind>,
    /// Compose: read variables from FILE instead of `.env` (repeatable; a later file wins, the
    /// process environment wins over all).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Compose: activate a profile (repeatable; `*` activates all). `COMPOSE_PROFILES` adds more.
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,
    /// Let `${VAR}` in a deploy manifest read the process environment (it then takes precedence over
    /// `environment:`). Compose files always read it, as Compose does.
    #[arg(long)]
    pub env: bool,
    /// Kubernetes: the nodes' container runtime, which decides whether non-root containers may bind
    /// ports below 1024 (overrides `target.container_runtime`).
    #[arg(long, value_enum, value_name = "RUNTIME")]
    pub container_runtime: Option<crate::manifest::ContainerRuntime>,
    /// Kubernetes: the cluster's NodePort range, `START-END` (overrides `target.node_port_range`;
    /// default 30000-32767).
    #[arg(long, value_name = "START-END", value_parser = parse_range)]
    pub node_port_range: Option<crate::ports::PortRange>,
}

/// A `START-END` port range argument.
fn parse_range(s: &str) -> Result<crate::ports::PortRange, RangeArgError> {
    s.parse::<crate::ports::PortRange>().map_err(RangeArgError)
}

/// A port range argument that can't be read, with how to write one.
#[derive(Debug, thiserror::Error)]
#[error("{0}: write START-END, e.g. 30000-32767")]
struct RangeArgError(crate::ports::RangeError);

/// The inputs `check`, `fix` and `suggest` share: files, variables and host facts.
#[derive(Debug, clap::Args)]
pub struct Inputs {
    /// The files and how to read them.
    #[command(flatten)]
    pub read: ReadArgs,
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
    /// Ignore the inputs' inline ignores (`# preflight: ignore[…]` comments, `ignore.preflight/…`
    /// annotations): report what they hide, as a strict mode for CI.
    #[arg(long)]
    pub no_inline_ignores: bool,
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
    /// Report only findings that are not in this baseline (written by `--write-baseline`), and say
    /// how many it held back and which of its entries no longer match (fixed).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record today's findings in FILE (sorted, stable JSON) to adopt preflight in a repository that
    /// already has findings; later runs with `--baseline FILE` report only new ones.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,
}

/// Arguments of `ports`.
#[derive(Debug, clap::Args)]
pub struct PortsArgs {
    /// The files and how to read them.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Compose files and Kubernetes manifests (files or directories) to include.
    #[arg(long = "from", value_name = "FILE", required = true, num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// Where to write the manifest (`-` prints it).
    #[arg(short, long, value_name = "FILE", default_value = "deploy.yaml")]
    pub output: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
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
    /// Kubernetes Service and NetworkPolicy per service (to apply), and a Deployment patch with its
    /// container ports (written with -o).
    K8s {
        /// Manifests.
        #[arg(default_value = "deploy.yaml")]
        files: Vec<PathBuf>,
        /// Let `${VAR}` read the process environment.
        #[arg(long)]
        env: bool,
        /// Write `DIR/apply.yaml` (Services and NetworkPolicies, `kubectl apply -f`) and
        /// `DIR/patch-NAME.yaml` per service (`kubectl patch deployment NAME --patch-file`).
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
    /// Build facts from captured command output instead of probing this host: KIND=FILE, repeatable
    /// (`--help` lists the kinds).
    #[arg(long = "import", value_name = "KIND=FILE", long_help = crate::facts::import::ImportKind::help())]
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
    /// The lowest severity that fails the run (`None`: none does).
    pub fn level(self) -> Option<Severity> {
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
