//! Writing generated text: to standard output, or to files in a directory (one per host in a fleet).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::Error;
use crate::fleet::Host;

/// Prints `text`, or writes it to `DIR/name` when a directory is given.
pub(super) fn emit(
    out: &mut dyn Write,
    dir: Option<&Path>,
    name: &str,
    text: &str,
) -> Result<ExitCode, Error> {
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            std::fs::write(d.join(name), text)?;
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes what `render` makes for the run: with several hosts, one file per host, `DIR/HOST.EXT`
/// (`-o DIR` required then); otherwise one, for the only host or none, printed or written to
/// `DIR/BASE.EXT`. `render` returns the text and its extension.
pub(super) fn emit_per_host(
    out: &mut dyn Write,
    dir: Option<&Path>,
    base: &str,
    hosts: &[Host],
    render: impl Fn(Option<&Host>) -> Result<(String, &'static str), Error>,
) -> Result<ExitCode, Error> {
    if hosts.len() <= 1 {
        let (text, ext) = render(hosts.first())?;
        return emit(out, dir, &format!("{base}.{ext}"), &text);
    }
    let Some(dir) = dir else {
        return Err(Error::Usage(format!(
            "{} hosts need one file each: give -o DIR to write DIR/HOST.EXT",
            hosts.len()
        )));
    };
    for host in hosts {
        let (text, ext) = render(Some(host))?;
        emit(out, Some(dir), &format!("{}.{ext}", host.name), &text)?;
    }
    Ok(ExitCode::SUCCESS)
}
