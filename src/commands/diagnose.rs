//! `preflight diagnose`: likely causes of a bind error, ranked, optionally checked against a host.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use super::Error;
use crate::cli::args::{DiagnoseArgs, ListFormat, PlatformArg};
use crate::diagnose;
use crate::ports::Platform;

/// Largest error text read from standard input.
const MAX_INPUT: u64 = 1 << 20;

/// Reads the error text, ranks its causes (with host facts when given) and prints them; exit 1 when no
/// cause was found.
pub(super) fn run(args: DiagnoseArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let text = match args.text.as_deref() {
        Some(t) if t != "-" => t.to_owned(),
        _ => {
            let mut s = String::new();
            io::stdin().take(MAX_INPUT).read_to_string(&mut s)?;
            s
        }
    };
    // The platform decides which causes apply (Winsock 10013 vs EACCES); the text tells unless given.
    let known = args.platform.map(|p| match p {
        PlatformArg::Linux => "linux",
        PlatformArg::Windows => "windows",
        PlatformArg::Macos => "macos",
    });
    let mut d = diagnose::diagnose_on(&text, known);
    let facts = if args.local {
        Some(crate::facts::probe::probe()?)
    } else {
        args.facts
            .as_deref()
            .map(crate::facts::import::load)
            .transpose()?
    };
    if let Some(f) = facts {
        let platform = match (d.platform, f.os.as_deref()) {
            (Some("windows"), _) | (None, Some("windows")) => Platform::Windows,
            (Some("macos"), _) | (None, Some("macos")) => Platform::Macos,
            _ => Platform::Linux,
        };
        d = diagnose::with_facts(d, &f, platform);
    }
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &d).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        ListFormat::Text => diagnose::write_text(out, &d)?,
    }
    Ok(ExitCode::from(u8::from(d.causes.is_empty())))
}
