//! Plain-text diagnostics in the style of rustc's: no colours, no box drawing, stable for logs and diffs.
//!
//! Used when stdout is not a terminal or `NO_COLOR` is set. miette's `NarratableReportHandler` was the
//! first choice, but in miette 7.6.0 it attaches labels to the last line of a snippet's context with
//! wrong columns ("columns 23 to 22") whenever a diagnostic has labels far apart, which is the common case
//! here (a port and the team block it must lie in), so this small renderer replaces it.
//!
//! ```text
//! error[port-plan]: port 9182/tcp of `metrics-exporter` is outside team `monitoring`'s block 13000-13999
//!   --> examples/deploy.yaml:46:24
//!    |
//! 46 |       metrics: { port: 9182, expose: internal, purpose: metrics }
//!    |                        ^^^^ outside the block
//!    |
//!   ::: examples/deploy.yaml:16:15
//! 16 |   monitoring: 13000-13999
//!    |               ----------- `monitoring`'s block
//!    = help: move it into 13000-13999: 13000 is the lowest free port there
//! ```

use std::fmt::Write;

use crate::document::{Document, Span};

/// One label to draw.
pub struct Label<'a> {
    /// Where.
    pub span: Span,
    /// What to say there (may be empty).
    pub text: &'a str,
}

/// Renders one diagnostic: `severity[code]: message`, the primary label's line, related labels, help.
pub fn render(
    severity: &str,
    code: &str,
    message: &str,
    doc: &Document,
    primary: Option<Label<'_>>,
    related: &[Label<'_>],
    help: Option<&str>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{severity}[{code}]: {message}");
    let lines: Vec<usize> = primary
        .iter()
        .chain(related)
        .map(|l| doc.map.line_col(&doc.text, l.span.offset).line)
        .collect();
    let width = lines.iter().max().map_or(1, |n| n.to_string().len());
    let pad = " ".repeat(width);
    match &primary {
        Some(p) => {
            let lc = doc.map.line_col(&doc.text, p.span.offset);
            let _ = writeln!(s, "{pad}--> {}:{}:{}", doc.name, lc.line, lc.column);
            let _ = writeln!(s, "{pad} |");
            snippet(&mut s, doc, p, '^', width);
        }
        None => {
            let _ = writeln!(s, "{pad}--> {}", doc.name);
        }
    }
    for r in related {
        let lc = doc.map.line_col(&doc.text, r.span.offset);
        let _ = writeln!(s, "{pad} |");
        let _ = writeln!(s, "{pad}::: {}:{}:{}", doc.name, lc.line, lc.column);
        snippet(&mut s, doc, r, '-', width);
    }
    if let Some(h) = help {
        let _ = writeln!(s, "{pad} = help: {h}");
    }
    s
}

fn snippet(s: &mut String, doc: &Document, label: &Label<'_>, mark: char, width: usize) {
    let lc = doc.map.line_col(&doc.text, label.span.offset);
    let offset = label.span.offset.min(doc.text.len());
    let line_start = doc
        .text
        .get(..offset)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let rest = doc.text.get(line_start..).unwrap_or("");
    let line = rest.split('\n').next().unwrap_or("").trim_end_matches('\r');
    let prefix: String = line
        .chars()
        .take(lc.column - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let span_text = doc
        .text
        .get(label.span.offset..label.span.offset + label.span.len)
        .unwrap_or("");
    let first_line = span_text.split('\n').next().unwrap_or("");
    let marks = first_line.chars().count().max(1);
    let _ = writeln!(s, "{:>width$} | {line}", lc.line);
    let text = if label.text.is_empty() {
        String::new()
    } else {
        format!(" {}", label.text)
    };
    let _ = writeln!(
        s,
        "{} | {prefix}{}{text}",
        " ".repeat(width),
        mark.to_string().repeat(marks)
    );
}
