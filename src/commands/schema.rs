//! `preflight schema`: the JSON Schema of a file preflight reads.

use std::io::Write;
use std::process::ExitCode;

use super::Error;
use crate::cli::args::SchemaKind;

/// Prints the schema generated from the Rust types (the committed files under `schemas/` equal it).
pub(super) fn run(kind: SchemaKind, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let schema = match kind {
        SchemaKind::Deploy => crate::manifest::model::schema(),
        SchemaKind::Facts => crate::facts::schema(),
        SchemaKind::Policy => crate::policy::model::schema(),
    };
    serde_json::to_writer_pretty(&mut *out, &schema).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}
