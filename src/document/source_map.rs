//! One span-aware parse of a YAML file into a JSON value and a map from manifest paths to byte spans.
//!
//! Every stage after loading names places by a dotted path such as `services.orders-api.ports.http.port`;
//! only the reporters turn paths back into spans with [`SourceMap::span`]. One pass over the YAML parser's
//! events ([`super::yaml`]) produces both the `serde_json::Value` that the JSON Schema validates and
//! the path → span table. Scalars keep their YAML type (numbers stay numbers), so the schema's type
//! checks are meaningful.

use rustc_hash::FxHashMap;

use super::paths::{Paths, narrow};

/// A byte range in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes (zero for a point).
    pub len: usize,
}

impl Span {
    /// A span from an offset and a length.
    pub fn new(offset: usize, len: usize) -> Self {
        Span { offset, len }
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.offset, s.len).into()
    }
}

/// Whether `path` is `prefix` or a path below it (`services.a.ports` is below `services.a`, not below
/// `services.ab`).
pub fn within(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// A path that names a span of the text directly (`#at:OFFSET:LEN`): for places that are no YAML
/// node, such as a comment.
pub fn at_path(span: Span) -> String {
    format!("#at:{}:{}", span.offset, span.len)
}

/// The span an [`at_path`] names.
fn span_path(path: &str) -> Option<Span> {
    let (off, len) = path.strip_prefix("#at:")?.split_once(':')?;
    Some(Span::new(off.parse().ok()?, len.parse().ok()?))
}

/// A 1-based line and column (the column counts characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Where one node of the YAML file sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The span of the value itself (zero-length for block collections).
    pub(crate) value: Span,
    /// The span of the mapping key that introduced the value, when there is one.
    pub(crate) key: Option<Span>,
}

/// A place in 16 bytes: the value's span and, when a mapping key introduced it, the key's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Packed {
    value: (u32, u32),
    /// `u32::MAX` as the length: no key.
    key: (u32, u32),
}

impl From<Entry> for Packed {
    fn from(e: Entry) -> Self {
        let span = |s: Span| (narrow(s.offset), narrow(s.len).min(u32::MAX - 1));
        Packed {
            value: span(e.value),
            key: e.key.map_or((0, u32::MAX), span),
        }
    }
}

impl From<Packed> for Entry {
    fn from(p: Packed) -> Self {
        let span = |(o, l): (u32, u32)| Span::new(o as usize, l as usize);
        Entry {
            value: span(p.value),
            key: (p.key.1 != u32::MAX).then(|| span(p.key)),
        }
    }
}

/// Maps dotted manifest paths to spans in one file's text.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    entries: Paths<Packed>,
    /// Local tags (`!reset`, `!override`, as Compose writes them) by the path of the tagged node.
    tags: FxHashMap<String, String>,
    /// Keys written twice in one mapping: (path of the later value, which is read; path under which
    /// the earlier one's place is kept).
    duplicates: Vec<(String, String)>,
    /// Where every [`LINE_STRIDE`]th line starts, in 32 bits as every offset of the map (see
    /// [`super::paths::narrow`]).
    line_starts: Vec<u32>,
    text_len: usize,
}

impl SourceMap {
    /// The span to underline for `path`: the value's own span, or the key's span where the value is a
    /// block collection (which has no useful span of its own). A path that does not exist in the file
    /// (such as `…ports.metrics.port` for the shorthand `metrics: 10081`) falls back to its longest
    /// existing prefix, so every path resolves to some place.
    pub fn span(&self, path: &str) -> Span {
        if let Some(span) = span_path(path) {
            return span;
        }
        let mut p = path;
        loop {
            if let Some(e) = self.entries.get(p).map(Entry::from) {
                return match e.key {
                    Some(k) if e.value.len == 0 => k,
                    _ => e.value,
                };
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => {
                    return self
                        .entries
                        .get("")
                        .map(|e| Entry::from(e).value)
                        .unwrap_or_default();
                }
            }
        }
    }

    /// The span of the mapping key at `path` (the key itself, not its value), when there is one.
    pub fn key_span(&self, path: &str) -> Option<Span> {
        self.entries.get(path).and_then(|e| Entry::from(e).key)
    }

    /// Every path below `prefix` (`services` → `services.api`, `services.api.ports`, …), sorted.
    pub fn paths_below(&self, prefix: &str) -> Vec<String> {
        let start = format!("{prefix}.");
        let mut v: Vec<String> = self
            .entries
            .keys()
            .filter(|k| k.starts_with(&start))
            .collect();
        v.sort();
        v
    }

    /// Whether `path` names a node that exists in the file.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains(path)
    }

    /// The 1-based line and column of a byte offset.
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = offset.min(self.text_len);
        let block = match self.line_starts.binary_search(&narrow(offset)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let from = self.line_starts.get(block).map_or(0, |&s| s as usize);
        let between = text.as_bytes().get(from..offset).unwrap_or_default();
        // One pass over the few lines between: how many newlines, and where the last one ends.
        let (mut newlines, mut start) = (0, from);
        for (i, &b) in between.iter().enumerate() {
            if b == b'\n' {
                newlines += 1;
                start = from + i + 1;
            }
        }
        let column = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset.saturating_sub(start))
            + 1;
        LineCol {
            line: block * LINE_STRIDE + newlines + 1,
            column,
        }
    }

    /// The byte offset of a 1-based line and column (column in characters), clamped to the text.
    pub fn offset_of(&self, text: &str, line: usize, column: usize) -> usize {
        let line = line.saturating_sub(1);
        let Some(&from) = self.line_starts.get(line / LINE_STRIDE) else {
            return self.text_len;
        };
        let from = from as usize;
        let bytes = text.as_bytes().get(from..).unwrap_or_default();
        let skip = line % LINE_STRIDE;
        let start = if skip == 0 {
            from
        } else {
            match bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .nth(skip - 1)
            {
                Some((i, _)) => from + i + 1,
                None => return self.text_len,
            }
        };
        let rest = text.get(start..).unwrap_or("");
        let delta = rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        start + delta
    }

    /// A source map over `text` with the path → span table a parse produced.
    pub(crate) fn with_entries(
        text: &str,
        entries: Paths<Packed>,
        tags: FxHashMap<String, String>,
        duplicates: Vec<(String, String)>,
    ) -> Self {
        SourceMap {
            entries,
            tags,
            duplicates,
            ..SourceMap::lines_only(text)
        }
    }

    /// Keys written twice in one mapping, in file order: (path of the later value, which the parse
    /// read; path of the earlier one, which resolves to its place).
    pub fn duplicates(&self) -> &[(String, String)] {
        &self.duplicates
    }

    /// The local tag (`reset` for `!reset`) on the node at `path`, when it has one.
    pub fn tag(&self, path: &str) -> Option<&str> {
        self.tags.get(path).map(String::as_str)
    }

    /// A source map with only the line index, for texts that could not be parsed.
    pub fn lines_only(text: &str) -> Self {
        SourceMap {
            entries: Paths::default(),
            tags: FxHashMap::default(),
            duplicates: Vec::new(),
            line_starts: line_starts(text),
            text_len: text.len(),
        }
    }
}

/// Lines from one recorded line start to the next: a position's line is found from the start before
/// it and the newlines between (at most this many lines of text to count), and the index is an
/// eighth of one start per line (which took 3 MB on a 10 MB file's 800,000 lines). Every 32nd line
/// saved 0.3 MB more, and made a fleet's report 8 % slower: its 100,000 findings' places are
/// counted twice each.
const LINE_STRIDE: usize = 8;

/// The start of every [`LINE_STRIDE`]th line: lines 1, 9, 17, …
fn line_starts(text: &str) -> Vec<u32> {
    let mut starts: Vec<u32> = std::iter::once(0)
        .chain(
            text.match_indices('\n')
                .skip(LINE_STRIDE - 1)
                .step_by(LINE_STRIDE)
                .map(|(i, _)| narrow(i + 1)),
        )
        .collect();
    starts.shrink_to_fit();
    starts
}

/// Joins a parent path and a key into a dotted path.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        return key.to_owned();
    }
    // Sized once: `format!` guesses the length and grew the string again for most paths.
    let mut path = String::with_capacity(parent.len() + 1 + key.len());
    path.push_str(parent);
    path.push('.');
    path.push_str(key);
    path
}

/// Turns a JSON pointer (`/services/api/ports/http/port`) into a dotted path.
pub fn pointer_to_path(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}
