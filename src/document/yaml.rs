//! Building the JSON value and the path → span table straight from the YAML parser's events.
//!
//! This is the hot path of a large check, so it skips serde: libyaml (the parser under serde_yaml,
//! see [`super::events`]) yields events with byte spans, and one recursive descent turns them into a
//! `serde_json::Value` and the span of every path ([`super::builder`]). It keeps the guarantees the loader documents:
//! duplicate keys are recorded (the later value is read; see [`SourceMap::duplicates`]), aliases are
//! expanded with a budget (the alias-bomb guard), nesting and size are bounded, merge keys (`<<`) are
//! applied, and scalars follow the YAML 1.2 core schema (`off`, `yes` and `0755` stay strings).
//!
//! Hand-written on purpose: building the same table through serde-saphyr's `Spanned` cost 61 % of a
//! 10,000-service check (560 ms, 108 MiB, against 343 ms, 65 MiB this way; see the README's benchmarks).
//! `tests/yaml_differential.rs` keeps it honest: on generated YAML it must give serde-saphyr's values and
//! refuse what serde-saphyr refuses.

use std::collections::VecDeque;

use serde_json::Value;

pub use super::builder::Prune;
use super::builder::{Built, Sink, build};
use super::events::{PIPELINE_BYTES, Pipelined, events, produce};
pub use super::events::{ParseLimits, YamlError};

use super::source_map::SourceMap;

/// Parses one YAML document into its JSON value and the source map of its paths.
pub fn parse(text: &str, limits: ParseLimits) -> Result<(Value, SourceMap), YamlError> {
    let (value, entries, tags, dups) = parse_entries(text, limits, None, None)?;
    Ok((value, SourceMap::with_entries(text, entries, tags, dups)))
}

/// Parses a stream of YAML documents (`---`) into an array with one item per non-empty document,
/// whose paths start with the item's index (`0.kind`, `1.spec.ports.0`). Anchors are per document,
/// as YAML defines them; the node and alias limits count over the whole stream.
pub fn parse_stream(text: &str, limits: ParseLimits) -> Result<(Value, SourceMap), YamlError> {
    let mut items = Vec::new();
    let (_, entries, tags, dups) =
        parse_entries(text, limits, Some(&mut |doc| items.push(doc)), None)?;
    Ok((
        Value::Array(items),
        SourceMap::with_entries(text, entries, tags, dups),
    ))
}

/// [`parse_stream`] handing each document to `each` as soon as it is built (in order: the first is
/// item `0` of the paths), so that a reader can take it and drop it before the next one is built: a
/// 10 MB stream's value is about ten times the text.
pub fn parse_stream_each(
    text: &str,
    limits: ParseLimits,
    each: &mut dyn FnMut(Value),
) -> Result<SourceMap, YamlError> {
    let (_, entries, tags, dups) = parse_entries(text, limits, Some(each), None)?;
    Ok(SourceMap::with_entries(text, entries, tags, dups))
}

/// [`parse`], dropping the values `prune` names.
pub fn parse_pruned(
    text: &str,
    limits: ParseLimits,
    prune: Prune,
) -> Result<(Value, SourceMap), YamlError> {
    let (value, entries, tags, dups) = parse_entries(text, limits, None, Some(prune))?;
    Ok((value, SourceMap::with_entries(text, entries, tags, dups)))
}

/// Parses one YAML document (or, with a sink, every document, each handed to it) into its JSON value
/// and the path → span table.
fn parse_entries(
    text: &str,
    limits: ParseLimits,
    stream: Sink<'_>,
    prune: Option<Prune>,
) -> Result<Built, YamlError> {
    if text.len() < PIPELINE_BYTES {
        return build(text, limits, stream, events(text), prune);
    }
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let (back, returned) = std::sync::mpsc::channel();
        scope.spawn(move || produce(text, tx, returned));
        let events = Pipelined {
            rx,
            back,
            batch: VecDeque::new(),
        };
        // The builder (and with it the receiver) is dropped before the scope joins the scanner.
        build(text, limits, stream, events, prune)
    })
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
mod tests;
