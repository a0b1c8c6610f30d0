//! Reporters: turn findings (which name places by manifest path) into output, resolving paths to spans.

pub(crate) mod github;
pub mod human;
pub(crate) mod json;
pub(crate) mod junit;
pub mod plain;
pub(crate) mod sarif;
mod source;
mod window;

use std::io::{self, Write};

/// An output format of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// miette diagnostics for people (graphical in a terminal, plain prose otherwise).
    Human,
    /// A stable, versioned JSON document.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// JUnit XML (GitLab, Azure Pipelines, Jenkins).
    Junit,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

/// A message with its help on a second line (`message\nhelp: …`), for formats that carry one text.
pub fn with_help(message: &str, help: Option<&str>) -> String {
    match help {
        Some(h) => format!("{message}\nhelp: {h}"),
        None => message.to_owned(),
    }
}

/// One host's part of a checked file: its own findings and skipped rules, in report order.
#[derive(Debug, Default)]
pub struct HostPart<'a> {
    /// Findings from the host's facts, by index into the file's findings (each made whole where it
    /// is written: see [`crate::check::Found`]).
    pub findings: Vec<usize>,
    /// Rules that could not run for the host.
    pub skipped: Vec<&'a crate::finding::Skipped>,
}

/// Splits a checked file by host: the manifest's own part first (findings without a host), then one
/// part per host of `c.hosts`, in that order.
pub fn by_host(c: &crate::check::Checked) -> (HostPart<'_>, Vec<HostPart<'_>>) {
    let index: std::collections::HashMap<&str, usize> = c
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.as_str(), i))
        .collect();
    let mut own = HostPart::default();
    let mut parts: Vec<HostPart<'_>> = c.hosts.iter().map(|_| HostPart::default()).collect();
    for (n, f) in c.findings.keys().enumerate() {
        match f.host.and_then(|h| index.get(h)) {
            Some(&i) => parts[i].findings.push(n),
            None => own.findings.push(n),
        }
    }
    for s in &c.skipped {
        match s.host.as_deref().and_then(|h| index.get(h)) {
            Some(&i) => parts[i].skipped.push(s),
            None => own.skipped.push(s),
        }
    }
    (own, parts)
}

/// `message` prefixed with the host it holds on (`[host web-01] …`), for formats with one text per
/// finding.
pub fn on_host(message: &str, host: Option<&str>) -> String {
    match host {
        Some(h) => format!("[host {h}] {message}"),
        None => message.to_owned(),
    }
}

/// What a baseline did, in one sentence.
pub fn baseline_text(b: &crate::check::baseline::Applied) -> String {
    let mut t = format!(
        "baseline {}: {} finding{} held back",
        b.file,
        b.held_back,
        if b.held_back == 1 { "" } else { "s" }
    );
    if !b.fixed.is_empty() {
        t.push_str(&format!(
            "; {} of its entries matched nothing (fixed: trim them with --write-baseline)",
            b.fixed.len()
        ));
    }
    t
}

/// Items serialized per batch in parallel, each batch written before the next is made: a fleet's
/// report holds 100,000 findings (88 MB of JSON), and one thread took a fifth of the run to write them.
const BATCH: usize = 4096;
/// Items one thread serializes into one buffer.
const CHUNK: usize = 256;

/// Writes `n` items as a JSON array the way `serde_json`'s pretty printer writes one `depth` levels
/// deep in a document (two spaces a level), item `i` serialized by `item(i)`. The items are made and
/// serialized in parallel batches, so no more than a batch of them is held at once (a report's
/// findings are made whole as they are written: see [`crate::check::Found`]).
pub(crate) fn write_pretty_array<T: serde::Serialize>(
    out: &mut dyn Write,
    n: usize,
    depth: usize,
    item: impl Fn(usize) -> T + Sync,
) -> io::Result<()> {
    use rayon::prelude::*;
    if n == 0 {
        return out.write_all(b"[]");
    }
    let indent = "  ".repeat(depth + 1);
    let gap = format!(",\n{indent}");
    let newline = format!("\n{indent}");
    out.write_all(b"[")?;
    let mut first = true;
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let bufs: Vec<io::Result<Vec<u8>>> = (start..end)
            .into_par_iter()
            .chunks(CHUNK)
            .map(|chunk| {
                let mut buf = Vec::new();
                let mut one = Vec::new();
                for i in chunk {
                    one.clear();
                    serde_json::to_writer_pretty(&mut one, &item(i))?;
                    // Each element on a line of its own, indented one level inside the array.
                    buf.extend_from_slice(gap.as_bytes());
                    for (k, line) in one.split(|&b| b == b'\n').enumerate() {
                        if k > 0 {
                            buf.extend_from_slice(newline.as_bytes());
                        }
                        buf.extend_from_slice(line);
                    }
                }
                Ok(buf)
            })
            .collect();
        for buf in bufs {
            let buf = buf?;
            // The first element has no comma before it.
            out.write_all(if first { &buf[1..] } else { &buf })?;
            first = false;
        }
    }
    write!(out, "\n{}]", "  ".repeat(depth))
}

/// A checked manifest of `services` services for the report writers' tests, each with a privileged
/// public port and one in the ephemeral range (findings with fixes and evidence, deferred ones
/// among them); with `ignore_first`, the first service's ephemeral-range finding is waived by an
/// inline ignore.
#[cfg(test)]
pub(crate) fn checked_services(services: usize, ignore_first: bool) -> Vec<crate::check::Outcome> {
    let mut text = String::from("version: 1\ntarget: { platform: linux, run_as: user }\n");
    text += if services == 0 {
        "services: {}\n"
    } else {
        "services:\n"
    };
    for i in 0..services {
        let ignore = if i == 0 && ignore_first {
            "  # preflight: ignore[ephemeral-range] a test"
        } else {
            ""
        };
        text += &format!(
            "  s{i}:\n    ports:\n      web: {{ port: {}, expose: public }}\n      api: {{ port: {} }}{ignore}\n",
            80 + i % 3,
            40000 + i
        );
    }
    let (m, doc) = crate::manifest::load_str("deploy.yaml", text, &Default::default())
        .expect("the manifest loads");
    let today: crate::policy::date::Date = "2026-01-01".parse().expect("a date");
    vec![crate::check::Outcome::Checked(Box::new(
        crate::check::check_manifest(m, doc, &crate::policy::Policy::default(), &[], today, true),
    ))]
}
