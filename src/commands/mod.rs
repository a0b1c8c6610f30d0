//! What each subcommand does: one file per subcommand, like cargo's `src/bin/cargo/commands/`.
//!
//! Each command translates its parsed arguments into calls of the library and returns
//! `Result<ExitCode, Error>`: 0 nothing failed, 1 findings (or nothing found), 2 the input could not be
//! checked. [`main`] is the one place that turns an [`Error`] into text on standard error and exit code 2.
//! Commands write their output to the writer they are handed, never to the terminal directly.

mod check;
mod completions;
mod diagnose;
mod facts;
mod fix;
mod r#gen;
mod init;
mod inputs;
mod lsp;
mod man;
mod output;
mod policy;
mod ports;
mod rules;
mod schema;
mod suggest;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use crate::check::Outcome;
use crate::cli::Cli;
use crate::cli::args::Command;
use crate::document::LoadError;
use crate::facts::FactsError;
use crate::fix::render::FixError;
use crate::fleet::FleetError;
use crate::policy::date::Date;
use crate::report;

/// Why a command could not do its work (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading input or writing output failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A file (manifest or policy) could not be loaded; rendered like `check`'s report of it.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Manifests that could not be checked, rendered like `check`'s report of them.
    #[error("{} input file(s) could not be checked", .0.len())]
    Unchecked(Vec<Outcome>),
    /// Host facts could not be had.
    #[error(transparent)]
    Facts(#[from] FactsError),
    /// The hosts' facts files could not be used.
    #[error(transparent)]
    Fleet(#[from] FleetError),
    /// A fix or config could not be rendered.
    #[error(transparent)]
    Fix(#[from] FixError),
    /// The arguments ask for something that can't be done; the message says what to give instead.
    #[error("{0}")]
    Usage(String),
}

/// Runs a parsed command line against the real terminal and returns the process exit code: the
/// command's, or 2 after printing its error. A closed pipe (`preflight check | head`) is not an error.
pub fn main(cli: Cli) -> ExitCode {
    // The language server owns standard output (its transport writes from a thread of its own),
    // so it runs before anything locks it.
    if let Command::Lsp = cli.command {
        return match lsp::run(today()) {
            Ok(code) => code,
            Err(e) => {
                report_error(e);
                ExitCode::from(2)
            }
        };
    }
    // Every other command runs once and exits.
    crate::document::free_at_exit();
    let stdout = io::stdout();
    let is_tty = stdout.is_terminal();
    // Buffered: a report of 100,000 findings would otherwise cost a write per line.
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = run(cli, &mut out, is_tty);
    let flushed = out.flush();
    match result.and_then(|code| flushed.map(|()| code).map_err(Error::Io)) {
        Ok(code) => code,
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            report_error(e);
            ExitCode::from(2)
        }
    }
}

/// Prints an error on standard error: files with problems as the plain human report, anything else as
/// `error: MESSAGE`.
fn report_error(e: Error) {
    let mut err = io::stderr().lock();
    let outcomes = match e {
        Error::Load(e) => vec![Outcome::Failed(e)],
        Error::Unchecked(outcomes) => outcomes,
        e => {
            let _ = writeln!(err, "error: {e}");
            return;
        }
    };
    let _ = report::human::write(&mut err, &outcomes, report::human::Style::Plain);
}

/// Runs a parsed command line, writing its output to `out` (`is_tty`: `out` is a terminal).
pub fn run(cli: Cli, out: &mut dyn Write, is_tty: bool) -> Result<ExitCode, Error> {
    let style = cli.color.style(is_tty);
    match cli.command {
        Command::Check(args) => check::run(&args, out, style, cli.quiet, today()),
        Command::Ports(args) => ports::run(&args, out),
        Command::Init(args) => init::run(&args, out),
        Command::Fix(args) => fix::run(&args, out, today()),
        Command::Gen(cmd) => r#gen::run(cmd, out),
        Command::Facts(args) => facts::run(args, out),
        Command::Schema { kind } => schema::run(kind, out),
        Command::Rules { format, policy } => rules::list(format, policy.as_deref(), out),
        Command::Explain { id, policy } => rules::explain(&id, policy.as_deref(), out),
        Command::Policy(cmd) => policy::run(cmd, out),
        Command::Suggest(args) => suggest::run(&args, out),
        Command::Diagnose(args) => diagnose::run(args, out),
        Command::Completions { shell } => completions::run(shell, out),
        Command::Man { dir } => man::run(dir.as_deref(), out),
        Command::Lsp => Err(Error::Usage(
            "`preflight lsp` talks over standard input and output: run it as its own process"
                .into(),
        )),
    }
}

/// Today's date for waiver expiry, read once per run: `PREFLIGHT_TODAY=YYYY-MM-DD` when set (for
/// reproducible runs and tests), else today in UTC.
fn today() -> Date {
    std::env::var("PREFLIGHT_TODAY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(Date::today_utc)
}
