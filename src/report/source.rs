//! The file miette reads a diagnostic's snippet from: columns counted in characters, and long lines
//! cut to the terminal's width around the labels ([`super::window`]).

use miette::{LabeledSpan, SourceCode};

use super::window::Windowed;
use crate::document::Document;

/// `doc` as miette reads it, borrowed (a copy of a 10 MB file's text was a tenth of its report's
/// peak).
pub(super) fn named(doc: &Document) -> Source<'_> {
    Source {
        name: &doc.name,
        text: &doc.text,
        window: None,
    }
}

/// A file for miette whose header column (`FILE:LINE:COLUMN`) counts characters, as the plain and
/// machine formats do; miette's own `String` source counts bytes, so a line with `é` shifted it.
/// With a `window`, miette is shown the windowed text and the header still names the original column.
#[derive(Debug)]
pub(super) struct Source<'a> {
    name: &'a str,
    text: &'a str,
    window: Option<Windowed>,
}

impl<'a> Source<'a> {
    /// This source with its lines cut to fit `width` terminal columns around `labels`, and the labels
    /// moved to match; `None` when every line fits.
    pub(super) fn windowed(
        &self,
        labels: &[LabeledSpan],
        width: usize,
    ) -> Option<(Source<'a>, Vec<LabeledSpan>)> {
        // miette's gutter: ` 12 │ ` before each line.
        let gutter = self.text.lines().count().max(1).to_string().len() + 4;
        let spans: Vec<_> = labels
            .iter()
            .map(|l| l.offset()..l.offset() + l.len())
            .collect();
        let w = Windowed::new(self.text, &spans, width.saturating_sub(gutter));
        if !w.is_cut() {
            return None;
        }
        let moved = labels
            .iter()
            .zip(spans)
            .map(|(l, old)| {
                let r = w.span(old);
                let (text, span) = (l.label().map(str::to_owned), (r.start, r.len()));
                if l.primary() {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                }
            })
            .collect();
        Some((
            Source {
                name: self.name,
                text: self.text,
                window: Some(w),
            },
            moved,
        ))
    }
}

impl SourceCode for Source<'_> {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let shown: &str = self.window.as_ref().map_or(self.text, |w| &w.text);
        let inner = shown.read_span(span, context_lines_before, context_lines_after)?;
        let column = if context_lines_before == 0 {
            let start = self
                .window
                .as_ref()
                .map_or(span.offset(), |w| w.original(span.offset()));
            let start = start.min(self.text.len());
            let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
            self.text
                .get(line_start..start)
                .map_or(inner.column(), |t| t.chars().count())
        } else {
            inner.column()
        };
        Ok(Box::new(
            miette::MietteSpanContents::new_named(
                self.name.to_owned(),
                inner.data(),
                *inner.span(),
                inner.line(),
                column,
                inner.line_count(),
            )
            .with_language("yaml"),
        ))
    }
}
