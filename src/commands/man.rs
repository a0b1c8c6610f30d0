//! `preflight man`: the man pages (roff) generated from the clap definitions.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use super::Error;
use crate::cli::Cli;

/// Prints the main page, or with `dir` writes it and one page per subcommand (`preflight-check.1`,
/// `preflight-gen-firewall.1`, …): the pages the main page's SEE ALSO names.
pub(super) fn run(dir: Option<&Path>, out: &mut dyn Write) -> Result<ExitCode, Error> {
    // The `help` subcommand repeats `--help`; the pages leave it out, so SEE ALSO names no page that
    // isn't written.
    let mut cmd = without_help(Cli::command());
    cmd.build();
    let Some(dir) = dir else {
        clap_mangen::Man::new(cmd).render(out)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    write_pages(&cmd, dir, &mut written)?;
    for name in written {
        writeln!(out, "{}", dir.join(name).display())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `NAME.1` for `cmd` (its display name, `preflight-gen-firewall` for a nested subcommand once
/// the root is built) and for every subcommand below it, recording the file names.
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<String>) -> Result<(), Error> {
    let file = format!("{}.1", cmd.get_display_name().unwrap_or(cmd.get_name()));
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    std::fs::write(dir.join(&file), page)?;
    written.push(file);
    for sub in cmd.get_subcommands() {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

/// `cmd` and every subcommand below it without clap's `help` subcommand.
fn without_help(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    let mut cmd = cmd.disable_help_subcommand(true);
    for name in names {
        cmd = cmd.mut_subcommand(name, without_help);
    }
    cmd
}
