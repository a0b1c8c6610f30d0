//! One span-aware parse of a YAML file into a JSON value and a map from manifest paths to byte spans.
//!
//! Every stage after loading names places by a dotted path such as `services.orders-api.ports.http.port`;
//! only the reporters turn paths back into spans with [`SourceMap::span`]. The parse goes through a
//! small [`Node`] tree deserialized with `serde-saphyr` (each node wrapped in `Spanned`), which is then
//! walked once to produce both the `serde_json::Value` that the JSON Schema validates and the path → span
//! table. Scalars keep their YAML type (numbers stay numbers), so the schema's type checks are meaningful.

use rustc_hash::FxHashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;

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

/// A 1-based line and column (the column counts characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Where one node of the YAML file sits.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The span of the value itself (zero-length for block collections).
    value: Span,
    /// The span of the mapping key that introduced the value, when there is one.
    key: Option<Span>,
}

/// Maps dotted manifest paths to spans in one file's text.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    entries: FxHashMap<String, Entry>,
    line_starts: Vec<usize>,
    text_len: usize,
}

impl SourceMap {
    /// The span to underline for `path`: the value's own span, or the key's span where the value is a
    /// block collection (which has no useful span of its own). A path that does not exist in the file
    /// (such as `…ports.metrics.port` for the shorthand `metrics: 10081`) falls back to its longest
    /// existing prefix, so every path resolves to some place.
    pub fn span(&self, path: &str) -> Span {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.get(p) {
                return match e.key {
                    Some(k) if e.value.len == 0 => k,
                    _ => e.value,
                };
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => return self.entries.get("").map(|e| e.value).unwrap_or_default(),
            }
        }
    }

    /// The span of the mapping key at `path` (the key itself, not its value), when there is one.
    pub fn key_span(&self, path: &str) -> Option<Span> {
        self.entries.get(path).and_then(|e| e.key)
    }

    /// Every path below `prefix` (`services` → `services.api`, `services.api.ports`, …), sorted.
    pub fn paths_below(&self, prefix: &str) -> Vec<String> {
        let start = format!("{prefix}.");
        let mut v: Vec<String> = self
            .entries
            .keys()
            .filter(|k| k.starts_with(&start))
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// Whether `path` names a node that exists in the file.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// The 1-based line and column of a byte offset.
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = offset.min(self.text_len);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let column = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start)
            + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }

    /// The byte offset of a 1-based line and column (column in characters), clamped to the text.
    pub fn offset_of(&self, text: &str, line: usize, column: usize) -> usize {
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text_len);
        let rest = text.get(start..).unwrap_or("");
        let delta = rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        start + delta
    }

    /// A source map with only the line index, for texts that could not be parsed.
    pub fn lines_only(text: &str) -> Self {
        SourceMap {
            entries: FxHashMap::default(),
            line_starts: line_starts(text),
            text_len: text.len(),
        }
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// Joins a parent path and a key into a dotted path.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
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

/// A YAML node with its children's spans, as read by `deserialize_any`.
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::UInt(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Node::Seq(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = a.next_key::<Spanned<String>>()? {
                    let x = a.next_value()?;
                    v.push((k, x));
                }
                Ok(Node::Map(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Limits applied while parsing YAML, so hostile input ends quickly with an error.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// Deepest nesting of collections.
    pub max_depth: usize,
    /// Most nodes (scalars and collections) in one document.
    pub max_nodes: usize,
    /// Most events replayed from aliases (`*ref`) in one document: the alias-bomb guard.
    pub max_alias_events: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_depth: 32,
            max_nodes: 2_000_000,
            max_alias_events: 10_000,
        }
    }
}

/// A YAML parse failure with its place.
#[derive(Debug)]
pub struct ParseError {
    /// What went wrong, without the snippet the parser adds.
    pub message: String,
    /// Where, when the parser knows.
    pub span: Option<Span>,
}

fn saphyr_options(limits: ParseLimits) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_nodes = limits.max_nodes;
    budget.max_events = limits.max_nodes.saturating_mul(3);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = limits.max_alias_events;
    // YAML 1.2 core schema: `0755` is a string (not the float 755), and only true/false are booleans
    // (`off`, `no`, `on`, `yes` stay strings, so `ephemeral-range: off` means what it says).
    options.leading_zero_numbers_as_strings = true;
    options.strict_booleans = true;
    options
}

/// Parses YAML text into a JSON value and the source map of its paths.
pub fn parse(text: &str, limits: ParseLimits) -> Result<(Value, SourceMap), ParseError> {
    let map = SourceMap::lines_only(text);
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, saphyr_options(limits))
        .map_err(|e| {
            let span = e.location().and_then(|loc| {
                let line = usize::try_from(loc.line()).ok()?;
                let col = usize::try_from(loc.column()).ok()?;
                (line > 0).then(|| Span::new(map.offset_of(text, line, col.max(1)), 0))
            });
            ParseError {
                message: clean_message(&e.without_snippet().to_string()),
                span,
            }
        })?;
    let mut map = map;
    let value = walk(&root, String::new(), None, &mut map.entries);
    Ok((value, map))
}

/// Drops the parser's own `line N column M:` prefix and its advice to change parser options, which
/// mean nothing to a user of preflight.
fn clean_message(msg: &str) -> String {
    let mut m = msg.trim();
    if let Some(rest) = m.strip_prefix("error: ") {
        m = rest;
    }
    if m.starts_with("line ")
        && let Some(i) = m.find(": ")
    {
        m = &m[i + 2..];
    }
    let m = m
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(m)
        .lines()
        .next()
        .unwrap_or(m);
    let m = m.split(" at line ").next().unwrap_or(m);
    if m.contains("budget breached: Depth") {
        "the document is nested too deeply".to_owned()
    } else if m.contains("budget breached") {
        format!(
            "the document is too large ({})",
            m.trim_start_matches("budget breached: ")
        )
    } else if m.contains("alias") && m.contains("limit") {
        "aliases expand to too many nodes (an alias bomb?)".to_owned()
    } else {
        m.to_owned()
    }
}

fn span_of<T>(s: &Spanned<T>) -> Span {
    let sp = s.referenced.span();
    match (sp.byte_offset(), sp.byte_len()) {
        (Some(o), Some(l)) => Span::new(o as usize, l as usize),
        _ => Span::default(),
    }
}

fn walk(
    node: &Spanned<Node>,
    path: String,
    key: Option<Span>,
    out: &mut FxHashMap<String, Entry>,
) -> Value {
    let value = match &node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => Value::Number((*i).into()),
        Node::UInt(u) => Value::Number((*u).into()),
        Node::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Node::Str(s) => Value::String(s.clone()),
        Node::Seq(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| walk(item, join(&path, &i.to_string()), None, out))
                .collect(),
        ),
        Node::Map(pairs) => {
            let mut m = Map::with_capacity(pairs.len());
            for (k, v) in pairs {
                let child = join(&path, &k.value);
                let value = walk(v, child, Some(span_of(k)), out);
                m.insert(k.value.clone(), value);
            }
            Value::Object(m)
        }
    };
    out.insert(
        path,
        Entry {
            value: span_of(node),
            key,
        },
    );
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_values_and_keys() {
        let text = "a:\n  b: { c: \"x\" }\n  d: [1, 2]\n";
        let (v, map) = parse(text, ParseLimits::default()).unwrap();
        assert_eq!(v["a"]["b"]["c"], "x");
        let s = map.span("a.b.c");
        assert_eq!(&text[s.offset..s.offset + s.len], "\"x\"");
        let s = map.span("a.d.1");
        assert_eq!(&text[s.offset..s.offset + s.len], "2");
        // block mapping: the key is underlined
        let s = map.span("a");
        assert_eq!(&text[s.offset..s.offset + s.len], "a");
        // missing leaf falls back to its parent
        assert_eq!(map.span("a.b.c.zzz"), map.span("a.b.c"));
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "é: 1\nbb: 22\n";
        let (_, map) = parse(text, ParseLimits::default()).unwrap();
        let s = map.span("bb");
        assert_eq!(map.line_col(text, s.offset), LineCol { line: 2, column: 5 });
        let s = map.span("é");
        assert_eq!(map.line_col(text, s.offset), LineCol { line: 1, column: 4 });
        assert_eq!(map.offset_of(text, 2, 5), text.find("22").unwrap());
        assert_eq!(map.offset_of(text, 1, 2), "é".len());
    }

    #[test]
    fn duplicate_keys_are_refused_with_a_place() {
        let err = parse("a: 1\nb: 2\na: 3\n", ParseLimits::default()).unwrap_err();
        assert!(
            err.message.contains("duplicate mapping key"),
            "{}",
            err.message
        );
        assert_eq!(err.span.unwrap().offset, 10);
    }

    #[test]
    fn pointers_become_paths() {
        assert_eq!(
            pointer_to_path("/services/a~1b/ports"),
            "services.a/b.ports"
        );
        assert_eq!(pointer_to_path(""), "");
    }
}
