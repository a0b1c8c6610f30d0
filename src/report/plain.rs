//! Plain-text diagnostics for logs, pipes and `NO_COLOR`, rendered by rustc's own renderer,
//! [`annotate-snippets`](https://docs.rs/annotate-snippets) with `Renderer::plain()`.
//!
//! It measures columns by display width (wide and combining characters, tabs), draws spans that run
//! over several lines, and never colours. miette's `NarratableReportHandler` was the first choice, but in
//! miette 7.6.0 it attaches labels to the last line of a snippet's context with wrong columns whenever a
//! diagnostic has labels far apart, which is the common case here (a port and the team block it must lie
//! in). Each label gets a snippet of just its own lines, so rendering stays linear in the size of the
//! report, not of the file.
//!
//! ```text
//! error[port-plan]: port 9182/tcp of `metrics-exporter` is outside team `monitoring`'s block 13000-13999
//!   --> examples/deploy.yaml:46:24
//!    |
//! 46 |       metrics: { port: 9182, expose: internal, purpose: metrics }
//!    |                        ^^^^ outside the block
//!    |
//!   ::: examples/deploy.yaml:16:15
//!    |
//! 16 |   monitoring: 13000-13999
//!    |               ----------- `monitoring`'s block
//!    = help: move it into 13000-13999: 13000 is the lowest free port there
//! ```

use annotate_snippets::{Annotation, AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use crate::document::{Document, Span};

/// Width the renderer may use: plain output goes to logs and files, which don't wrap, so long source
/// lines are shown whole rather than cut at a terminal's width.
const WIDTH: usize = 10_000;

/// One label to draw.
pub struct Label<'a> {
    /// Where.
    pub span: Span,
    /// What to say there (may be empty).
    pub text: &'a str,
}

/// Renders one diagnostic: `severity[code]: message`, the primary label's lines, each related label's
/// lines, and the help.
pub fn render(
    severity: &str,
    code: &str,
    message: &str,
    doc: &Document,
    primary: Option<Label<'_>>,
    related: &[Label<'_>],
    help: Option<&str>,
) -> String {
    let level = match severity {
        "error" => Level::ERROR,
        "warning" => Level::WARNING,
        _ => Level::INFO,
    };
    let title = level.primary_title(message).id(code);
    let mut group: Group<'_> = match &primary {
        Some(p) => title.element(snippet(doc, p, AnnotationKind::Primary)),
        None => title.element(Origin::path(doc.name.as_str())),
    };
    for r in related {
        group = group.element(snippet(doc, r, AnnotationKind::Context));
    }
    if let Some(h) = help {
        group = group.element(Level::HELP.message(h));
    }
    let mut out = Renderer::plain().term_width(WIDTH).render(&[group]);
    out.push('\n');
    out
}

/// The lines of `doc` that `label` covers, with the label on its span.
fn snippet<'a>(
    doc: &'a Document,
    label: &Label<'a>,
    kind: AnnotationKind,
) -> Snippet<'a, Annotation<'a>> {
    let text = doc.text.as_str();
    let start = floor_char(text, label.span.offset.min(text.len()));
    let end = floor_char(text, (label.span.offset + label.span.len).min(text.len())).max(start);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let line = doc.map.line_col(text, start).line;
    let annotation = kind
        .span(start - line_start..end - line_start)
        .label((!label.text.is_empty()).then_some(label.text));
    Snippet::source(&text[line_start..line_end])
        .line_start(line)
        .path(doc.name.as_str())
        .annotation(annotation)
}

/// The largest char boundary at or below `i`.
fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}
