//! Building the JSON value and the path → span table straight from the YAML parser's events.
//!
//! This is the hot path of a large check, so it skips serde: `granit-parser` (the parser under
//! serde-saphyr) yields events with byte spans, and one recursive descent turns them into a
//! `serde_json::Value` and the span of every path. It keeps the guarantees the loader documents:
//! duplicate keys are recorded (the later value is read; see [`SourceMap::duplicates`]), aliases are expanded with a budget (the alias-bomb guard), nesting and
//! size are bounded, merge keys (`<<`) are applied, and scalars follow the YAML 1.2 core schema
//! (`off`, `yes` and `0755` stay strings).
//!
//! Hand-written on purpose: building the same table through serde-saphyr's `Spanned` cost 61 % of a
//! 10,000-service check (560 ms, 108 MiB, against 343 ms, 65 MiB this way; see the README's benchmarks).
//! `tests/yaml_differential.rs` keeps it honest: on generated YAML it must give serde-saphyr's values and
//! refuse what serde-saphyr refuses.

use std::collections::{HashMap, VecDeque};

use granit_parser::{Event, Parser, ScalarStyle, Span as GSpan};
use rustc_hash::FxHashMap;
use serde_json::{Map, Number, Value};

use super::source_map::{Entry, SourceMap, Span};

fn span_of(s: &GSpan) -> Span {
    let start = s.start.byte_offset().unwrap_or(0);
    let end = s.end.byte_offset().unwrap_or(start).max(start);
    Span::new(start, end - start)
}

fn err(message: impl Into<String>, span: Span) -> YamlError {
    YamlError {
        message: message.into(),
        span: Some(span),
    }
}

/// A plain scalar as the YAML 1.2 core schema reads it; quoted and block scalars are strings.
fn scalar(text: &str, style: ScalarStyle, str_tag: bool) -> Value {
    if style != ScalarStyle::Plain || str_tag {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // `0755` stays text: a leading zero is not a number a manifest means.
        if digits.len() > 1 && digits.starts_with('0') {
            return Value::String(text.to_owned());
        }
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Value::Number(u.into());
        }
        return Value::String(text.to_owned());
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(u) = u64::from_str_radix(hex, 16)
    {
        return Value::Number(u.into());
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(u) = u64::from_str_radix(oct, 8)
    {
        return Value::Number(u.into());
    }
    let float_like = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if float_like && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

fn count(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(count).sum::<usize>(),
        _ => 1,
    }
}

/// One parser event with its span, or the parse error that ended the stream.
type Item<'a> = Result<(Event<'a>, GSpan), YamlError>;

fn scan_error(e: granit_parser::ScanError) -> YamlError {
    YamlError {
        message: e.info().to_string(),
        span: e.marker().byte_offset().map(|o| Span::new(o, 0)),
    }
}

/// Files at least this large are parsed in a pipeline: the YAML scanner runs on a second thread
/// while this one builds the value and the span table (each is about half the work). Below it, a
/// thread costs more than it saves.
const PIPELINE_BYTES: usize = 256 * 1024;
/// Events travel between the threads in batches, so the channel is not touched per event.
const BATCH: usize = 1024;

/// The receiving end of the pipeline: yields the scanner thread's events in order, and hands each
/// emptied batch back so the scanner refills memory that is already mapped and in cache (a fresh
/// batch each time cost a third of the scanner thread in page faults on a 2 MB file).
struct Pipelined<'a> {
    rx: std::sync::mpsc::Receiver<VecDeque<Item<'a>>>,
    back: std::sync::mpsc::Sender<VecDeque<Item<'a>>>,
    batch: VecDeque<Item<'a>>,
}

impl<'a> Iterator for Pipelined<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            if let Some(item) = self.batch.pop_front() {
                return Some(item);
            }
            let full = self.rx.recv().ok()?;
            let empty = std::mem::replace(&mut self.batch, full);
            // The scanner may have finished; then the batch is simply dropped.
            let _ = self.back.send(empty);
        }
    }
}

/// Runs the scanner over `text`, sending its events in batches until the end, an error, or until the
/// receiver hangs up (the builder stopped at a limit): no thread outlives a failed parse. Emptied
/// batches come back on `back` and are refilled.
fn produce<'a>(
    text: &'a str,
    tx: std::sync::mpsc::SyncSender<VecDeque<Item<'a>>>,
    back: std::sync::mpsc::Receiver<VecDeque<Item<'a>>>,
) {
    let mut batch = VecDeque::with_capacity(BATCH);
    for item in Parser::new_from_str(text) {
        let failed = item.is_err();
        batch.push_back(item.map_err(scan_error));
        if failed || batch.len() == BATCH {
            let fresh = back
                .try_recv()
                .unwrap_or_else(|_| VecDeque::with_capacity(BATCH));
            let full = std::mem::replace(&mut batch, fresh);
            if tx.send(full).is_err() || failed {
                return;
            }
        }
    }
    let _ = tx.send(batch);
}

struct Builder<I> {
    events: I,
    limits: ParseLimits,
    entries: FxHashMap<String, Entry>,
    anchors: HashMap<usize, (Value, usize)>,
    /// Local tags (`!reset`) by path.
    tags: FxHashMap<String, String>,
    /// Keys written twice in one mapping: (path of the later, read value, path of the earlier).
    duplicates: Vec<(String, String)>,
    nodes: usize,
    replayed: usize,
    /// The dotted path of the node being built. Children push `.key` and truncate back, so building
    /// the table allocates once per entry, not once per path segment.
    path: String,
}

impl<'a, I: Iterator<Item = Item<'a>>> Builder<I> {
    fn next(&mut self) -> Result<(Event<'a>, GSpan), YamlError> {
        loop {
            match self.events.next() {
                Some(Ok((Event::Anchor(..), _))) => continue,
                Some(Ok(e)) => return Ok(e),
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(YamlError {
                        message: "unexpected end of the document".into(),
                        span: None,
                    });
                }
            }
        }
    }

    fn bump(&mut self, span: Span) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(err(
                format!(
                    "the document is too large (more than {} nodes)",
                    self.limits.max_nodes
                ),
                span,
            ));
        }
        Ok(())
    }

    fn record(&mut self, value: Span, key: Option<Span>) {
        self.entries.insert(self.path.clone(), Entry { value, key });
    }

    /// Builds the child `key` of the current path with `f`, then restores the path.
    fn child<T>(&mut self, key: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.path.len();
        if len > 0 {
            self.path.push('.');
        }
        self.path.push_str(key);
        let out = f(self);
        self.path.truncate(len);
        out
    }

    fn node(
        &mut self,
        event: Event<'a>,
        gspan: GSpan,
        key: Option<Span>,
        depth: usize,
    ) -> Result<Value, YamlError> {
        let span = span_of(&gspan);
        self.bump(span)?;
        if let Some(t) = event.tag()
            && t.handle() == "!"
        {
            self.tags.insert(self.path.clone(), t.suffix().to_owned());
        }
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let str_tag = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                (scalar(&text, style, str_tag), anchor)
            }
            Event::Alias(id) => {
                let Some((v, n)) = self.anchors.get(&id).cloned() else {
                    return Err(err("unknown anchor", span));
                };
                self.replayed += n;
                if self.replayed > self.limits.max_alias_events {
                    return Err(err(
                        "aliases expand to too many nodes (an alias bomb?)",
                        span,
                    ));
                }
                (v, 0)
            }
            Event::SequenceStart(_, anchor, _) => {
                if depth >= self.limits.max_depth {
                    return Err(err("the document is nested too deeply", span));
                }
                let mut items = Vec::new();
                loop {
                    let (e, s) = self.next()?;
                    if matches!(e, Event::SequenceEnd) {
                        break;
                    }
                    let index = items.len().to_string();
                    items.push(self.child(&index, |b| b.node(e, s, None, depth + 1))?);
                }
                (Value::Array(items), anchor)
            }
            Event::MappingStart(_, anchor, _) => {
                if depth >= self.limits.max_depth {
                    return Err(err("the document is nested too deeply", span));
                }
                let mut map = Map::new();
                let mut merged: Vec<Value> = Vec::new();
                loop {
                    let (e, s) = self.next()?;
                    let key_span = span_of(&s);
                    let key = match e {
                        Event::MappingEnd => break,
                        Event::Scalar(text, ..) => text.into_owned(),
                        Event::Alias(id) => match self.anchors.get(&id) {
                            Some((Value::String(k), _)) => k.clone(),
                            _ => return Err(err("a mapping key must be text", key_span)),
                        },
                        _ => {
                            return Err(err(
                                "a mapping key must be text, not a collection",
                                key_span,
                            ));
                        }
                    };
                    let (e, s) = self.next()?;
                    if key == "<<" {
                        let v = self.child("<<", |b| b.node(e, s, Some(key_span), depth + 1))?;
                        match v {
                            Value::Object(_) => merged.push(v),
                            Value::Array(items) if items.iter().all(Value::is_object) => {
                                merged.extend(items)
                            }
                            _ => {
                                return Err(err(
                                    "a merge key (`<<`) takes a mapping or a list of mappings",
                                    key_span,
                                ));
                            }
                        }
                        continue;
                    }
                    if map.contains_key(&key) {
                        // The later value is read, as non-strict readers do; the earlier one's
                        // place is kept under a path of its own for the report.
                        self.child(&key, |b| {
                            let earlier = format!("{}#{}", b.path, b.duplicates.len());
                            if let Some(entry) = b.entries.remove(&b.path) {
                                b.entries.insert(earlier.clone(), entry);
                            }
                            b.duplicates.push((b.path.clone(), earlier));
                        });
                    }
                    let v = self.child(&key, |b| b.node(e, s, Some(key_span), depth + 1))?;
                    map.insert(key, v);
                }
                // Merged keys fill in; keys written in the mapping win.
                for m in merged {
                    if let Value::Object(m) = m {
                        for (k, v) in m {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
                (Value::Object(map), anchor)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                return Err(err("unexpected end of a collection", span));
            }
            _ => return Err(err("unexpected YAML event", span)),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), count(&value)));
        }
        self.record(span, key);
        Ok(value)
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
pub struct YamlError {
    /// What went wrong, without the snippet the parser adds.
    pub message: String,
    /// Where, when the parser knows.
    pub span: Option<Span>,
}

/// What a parse builds: the value, the path → span table, the local tags by path and the duplicate
/// keys.
type Built = (
    Value,
    FxHashMap<String, Entry>,
    FxHashMap<String, String>,
    Vec<(String, String)>,
);

/// Parses one YAML document into its JSON value and the source map of its paths.
pub fn parse(text: &str, limits: ParseLimits) -> Result<(Value, SourceMap), YamlError> {
    let (value, entries, tags, dups) = parse_entries(text, limits, false)?;
    Ok((value, SourceMap::with_entries(text, entries, tags, dups)))
}

/// Parses a stream of YAML documents (`---`) into an array with one item per non-empty document,
/// whose paths start with the item's index (`0.kind`, `1.spec.ports.0`). Anchors are per document,
/// as YAML defines them; the node and alias limits count over the whole stream.
pub fn parse_stream(text: &str, limits: ParseLimits) -> Result<(Value, SourceMap), YamlError> {
    let (value, entries, tags, dups) = parse_entries(text, limits, true)?;
    Ok((value, SourceMap::with_entries(text, entries, tags, dups)))
}

/// Parses one YAML document (or, with `stream`, every document) into its JSON value and the path →
/// span table.
fn parse_entries(text: &str, limits: ParseLimits, stream: bool) -> Result<Built, YamlError> {
    if text.len() < PIPELINE_BYTES {
        return build(
            text,
            limits,
            stream,
            Parser::new_from_str(text).map(|i| i.map_err(scan_error)),
        );
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
        build(text, limits, stream, events)
    })
}

fn build<'a>(
    text: &'a str,
    limits: ParseLimits,
    stream: bool,
    events: impl Iterator<Item = Item<'a>>,
) -> Result<Built, YamlError> {
    let mut b = Builder {
        events,
        limits,
        // About one node per 12-15 bytes in typical manifests; sizing the table up front saves rehashing
        // it (and holding two copies) several times on large files.
        entries: FxHashMap::with_capacity_and_hasher(
            (text.len() / 12).min(limits.max_nodes),
            Default::default(),
        ),
        anchors: HashMap::new(),
        tags: FxHashMap::default(),
        duplicates: Vec::new(),
        nodes: 0,
        replayed: 0,
        path: String::new(),
    };
    let mut root = Value::Null;
    let mut items = Vec::new();
    let mut documents = 0;
    loop {
        let (e, s) = match b.events.next() {
            None => break,
            Some(Err(e)) => return Err(e),
            Some(Ok(x)) => x,
        };
        match e {
            Event::StreamStart | Event::DocumentEnd | Event::Anchor(..) => {}
            Event::StreamEnd => break,
            Event::DocumentStart(..) if stream => {
                let (e, s) = b.next()?;
                // An empty document (`---` followed by `---`, as Helm renders skipped templates).
                let empty = matches!(&e, Event::Scalar(t, ScalarStyle::Plain, ..) if matches!(t.as_ref(), "" | "~" | "null"));
                if matches!(e, Event::DocumentEnd) || empty {
                    continue;
                }
                b.anchors.clear();
                let index = items.len().to_string();
                let doc = b.child(&index, |b| b.node(e, s, None, 0))?;
                items.push(doc);
            }
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(err(
                        "a manifest is one YAML document; this file has several (`---`)",
                        span_of(&s),
                    ));
                }
                let (e, s) = b.next()?;
                if matches!(e, Event::DocumentEnd) {
                    b.record(span_of(&s), None);
                    continue;
                }
                root = b.node(e, s, None, 0)?;
            }
            _ => return Err(err("unexpected YAML event", span_of(&s))),
        }
    }
    if stream {
        b.record(Span::new(0, 0), None);
        root = Value::Array(items);
    }
    if !b.entries.contains_key("") {
        b.record(Span::default(), None);
    }
    Ok((root, b.entries, b.tags, b.duplicates))
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
mod tests;
