//! Building the JSON value and the path → span table straight from the YAML parser's events.
//!
//! This is the hot path of a large check, so it skips serde: libyaml (the parser under serde_yaml,
//! see [`super::events`]) yields events with byte spans, and one recursive descent turns them into a
//! `serde_json::Value` and the span of every path. It keeps the guarantees the loader documents:
//! duplicate keys are recorded (the later value is read; see [`SourceMap::duplicates`]), aliases are
//! expanded with a budget (the alias-bomb guard), nesting and size are bounded, merge keys (`<<`) are
//! applied, and scalars follow the YAML 1.2 core schema (`off`, `yes` and `0755` stay strings).
//!
//! Hand-written on purpose: building the same table through serde-saphyr's `Spanned` cost 61 % of a
//! 10,000-service check (560 ms, 108 MiB, against 343 ms, 65 MiB this way; see the README's benchmarks).
//! `tests/yaml_differential.rs` keeps it honest: on generated YAML it must give serde-saphyr's values and
//! refuse what serde-saphyr refuses.

use std::collections::{HashMap, VecDeque};

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde_json::{Map, Value};

use super::core_schema::{local_tag, scalar, str_tag};
pub use super::events::YamlError;
use super::events::{
    Event, EventData, Item, PIPELINE_BYTES, Pipelined, ScalarStyle, events, produce,
};
use super::paths::{Paths, ROOT};
use super::source_map::{Entry, Packed, SourceMap, Span};

/// Up to this many keys, a mapping finds a key written twice by comparing it with each earlier one.
const SCAN_KEYS: usize = 16;

fn span_of(e: &Event) -> Span {
    Span::new(e.start, e.end.saturating_sub(e.start))
}

fn err(message: impl Into<String>, span: Span) -> YamlError {
    YamlError {
        message: message.into(),
        span: Some(span),
    }
}

fn count(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(count).sum::<usize>(),
        _ => 1,
    }
}

struct Builder<I> {
    events: I,
    limits: ParseLimits,
    entries: Paths<Packed>,
    /// Anchored values by name, with how many nodes each expands to; a later anchor of the same name
    /// replaces the earlier, as YAML defines.
    anchors: HashMap<String, (Value, usize)>,
    /// Local tags (`!reset`) by path.
    tags: FxHashMap<String, String>,
    /// Keys written twice in one mapping: (path of the later, read value, path of the earlier).
    duplicates: Vec<(String, String)>,
    nodes: usize,
    replayed: usize,
    /// Emptied entry lists of finished mappings, reused by the next ones.
    scratch: Vec<Vec<(String, Value)>>,
    /// The same for sequences' items.
    items_scratch: Vec<Vec<Value>>,
    /// The dotted path of the node being built. Children push `.key` and truncate back, so building
    /// the table allocates once per entry, not once per path segment.
    path: String,
    /// The table's node of each path from the root down to `path`'s.
    ids: Vec<u32>,
}

impl<I: Iterator<Item = Item>> Builder<I> {
    fn next(&mut self) -> Result<Event, YamlError> {
        match self.events.next() {
            Some(Ok(e)) => Ok(e),
            Some(Err(e)) => Err(e),
            None => Err(YamlError {
                message: "unexpected end of the document".into(),
                span: None,
            }),
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

    /// The table's node of the current path.
    fn id(&self) -> u32 {
        self.ids.last().copied().unwrap_or(ROOT)
    }

    fn record(&mut self, value: Span, key: Option<Span>) {
        let id = self.id();
        self.entries.set(id, Entry { value, key }.into());
    }

    /// Builds the item `index` of the current path with `f` (the index is written into the path, not
    /// formatted into a string of its own).
    fn item<T>(&mut self, index: usize, f: impl FnOnce(&mut Self) -> T) -> T {
        use std::fmt::Write;
        self.below(
            |path| {
                // Writing to a `String` does not fail.
                let _ = write!(path, "{index}");
            },
            f,
        )
    }

    /// Builds the child `key` of the current path with `f`.
    fn child<T>(&mut self, key: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        self.below(|path| path.push_str(key), f)
    }

    /// Appends `.` and the segment `write` writes to the current path, builds with `f`, then restores
    /// the path.
    fn below<T>(&mut self, write: impl FnOnce(&mut String), f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.path.len();
        if len > 0 {
            self.path.push('.');
        }
        let start = self.path.len();
        write(&mut self.path);
        let parent = self.id();
        let id = self.entries.child(parent, &self.path[start..], &self.path);
        self.ids.push(id);
        let out = f(self);
        self.ids.pop();
        self.path.truncate(len);
        out
    }

    /// Reads a mapping's entries up to its end into `entries`, in order; a key written twice keeps
    /// its first place and takes the later value. Merge keys' (`<<`) values go to `merged`. Keys are
    /// compared one by one in a small mapping, and through `index` (positions by key hash) once it
    /// holds more than [`SCAN_KEYS`].
    fn entries(
        &mut self,
        depth: usize,
        entries: &mut Vec<(String, Value)>,
        index: &mut HashTable<usize>,
        merged: &mut Vec<Value>,
    ) -> Result<(), YamlError> {
        let hash = |k: &str| FxBuildHasher.hash_one(k);
        loop {
            let e = self.next()?;
            let key_span = span_of(&e);
            let key = match e.data {
                EventData::MappingEnd => return Ok(()),
                EventData::Scalar { value, .. } => value,
                EventData::Alias { anchor } => match self.anchors.get(&anchor) {
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
            let e = self.next()?;
            if key == "<<" {
                let v = self.child("<<", |b| b.node(e, Some(key_span), depth + 1))?;
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
            let earlier = if entries.len() <= SCAN_KEYS {
                entries.iter().position(|(k, _)| *k == key)
            } else {
                if index.is_empty() {
                    for (i, (k, _)) in entries.iter().enumerate() {
                        index.insert_unique(hash(k), i, |&j| hash(&entries[j].0));
                    }
                }
                index.find(hash(&key), |&i| entries[i].0 == key).copied()
            };
            match earlier {
                None => {
                    let v = self.child(&key, |b| b.node(e, Some(key_span), depth + 1))?;
                    if !index.is_empty() {
                        index.insert_unique(hash(&key), entries.len(), |&j| hash(&entries[j].0));
                    }
                    entries.push((key, v));
                }
                Some(i) => {
                    // The later value is read, as non-strict readers do; the earlier one's place is
                    // kept for the report under the path with `#N` after the key (segment `KEY#N`).
                    self.child(&key, |b| {
                        let earlier = format!("{}#{}", b.path, b.duplicates.len());
                        let id = b.id();
                        if let Some(entry) = b.entries.take(id) {
                            let parent = b.entries.parent(id);
                            let segment = &earlier[b.path.len() - key.len()..];
                            let moved = b.entries.child(parent, segment, &earlier);
                            b.entries.set(moved, entry);
                        }
                        b.duplicates.push((b.path.clone(), earlier));
                    });
                    entries[i].1 = self.child(&key, |b| b.node(e, Some(key_span), depth + 1))?;
                }
            }
        }
    }

    /// A sequence's items, up to its end, into `items`.
    fn items(&mut self, depth: usize, items: &mut Vec<Value>) -> Result<(), YamlError> {
        loop {
            let e = self.next()?;
            if matches!(e.data, EventData::SequenceEnd) {
                return Ok(());
            }
            let v = self.item(items.len(), |b| b.node(e, None, depth + 1))?;
            items.push(v);
        }
    }

    fn node(&mut self, event: Event, key: Option<Span>, depth: usize) -> Result<Value, YamlError> {
        let span = span_of(&event);
        self.bump(span)?;
        let tag = match &event.data {
            EventData::Scalar { tag, .. }
            | EventData::SequenceStart { tag, .. }
            | EventData::MappingStart { tag, .. } => tag.as_deref(),
            _ => None,
        };
        if let Some(t) = tag.and_then(local_tag) {
            self.tags.insert(self.path.clone(), t.to_owned());
        }
        let (value, anchor) = match event.data {
            EventData::Scalar {
                value,
                style,
                anchor,
                tag,
                ..
            } => {
                let str_tag = tag.as_deref().is_some_and(str_tag);
                (scalar(value, style, str_tag), anchor)
            }
            EventData::Alias { anchor } => {
                let Some((v, n)) = self.anchors.get(&anchor).cloned() else {
                    return Err(err("unknown anchor", span));
                };
                self.replayed += n;
                if self.replayed > self.limits.max_alias_events {
                    return Err(err(
                        "aliases expand to too many nodes (an alias bomb?)",
                        span,
                    ));
                }
                (v, None)
            }
            EventData::SequenceStart { anchor, .. } => {
                if depth >= self.limits.max_depth {
                    return Err(err("the document is nested too deeply", span));
                }
                // Gathered in a reused buffer and copied out to their number, as a mapping's
                // entries are: a list grown from empty keeps room for four (a 10 MB Compose
                // file's 84,840 one-port lists took 24 MB, 288 bytes each for 72).
                let mut items = self.items_scratch.pop().unwrap_or_default();
                let built = self.items(depth, &mut items);
                let mut list = Vec::with_capacity(items.len());
                list.append(&mut items);
                self.items_scratch.push(items);
                built?;
                (Value::Array(list), anchor)
            }
            EventData::MappingStart { anchor, .. } => {
                if depth >= self.limits.max_depth {
                    return Err(err("the document is nested too deeply", span));
                }
                // The entries are gathered first and the map is made to their number: a map grown
                // from empty keeps room for four entries (and a hash index of eight), which for the
                // usual mapping of one to three keys was more than half its memory (a 10 MB
                // Kubernetes stream's value took 156 MB).
                let mut entries = self.scratch.pop().unwrap_or_default();
                let mut index = HashTable::new();
                let mut merged: Vec<Value> = Vec::new();
                let built = self.entries(depth, &mut entries, &mut index, &mut merged);
                let mut map = Map::with_capacity(entries.len());
                map.extend(entries.drain(..));
                self.scratch.push(entries);
                built?;
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
            EventData::SequenceEnd | EventData::MappingEnd => {
                return Err(err("unexpected end of a collection", span));
            }
            _ => return Err(err("unexpected YAML event", span)),
        };
        if let Some(anchor) = anchor {
            let n = count(&value);
            self.anchors.insert(anchor, (value.clone(), n));
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

/// What a parse builds: the value, the path → span table, the local tags by path and the duplicate
/// keys.
type Built = (
    Value,
    Paths<Packed>,
    FxHashMap<String, String>,
    Vec<(String, String)>,
);

/// Parses one YAML document into its JSON value and the source map of its paths.
pub fn parse(text: &str, limits: ParseLimits) -> Result<(Value, SourceMap), YamlError> {
    let (value, entries, tags, dups) = parse_entries(text, limits, None)?;
    Ok((value, SourceMap::with_entries(text, entries, tags, dups)))
}

/// Parses a stream of YAML documents (`---`) into an array with one item per non-empty document,
/// whose paths start with the item's index (`0.kind`, `1.spec.ports.0`). Anchors are per document,
/// as YAML defines them; the node and alias limits count over the whole stream.
pub fn parse_stream(text: &str, limits: ParseLimits) -> Result<(Value, SourceMap), YamlError> {
    let mut items = Vec::new();
    let (_, entries, tags, dups) = parse_entries(text, limits, Some(&mut |doc| items.push(doc)))?;
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
    let (_, entries, tags, dups) = parse_entries(text, limits, Some(each))?;
    Ok(SourceMap::with_entries(text, entries, tags, dups))
}

/// Where a stream's documents go (`None`: the text is one document).
type Sink<'s> = Option<&'s mut dyn FnMut(Value)>;

/// Parses one YAML document (or, with a sink, every document, each handed to it) into its JSON value
/// and the path → span table.
fn parse_entries(text: &str, limits: ParseLimits, stream: Sink<'_>) -> Result<Built, YamlError> {
    if text.len() < PIPELINE_BYTES {
        return build(text, limits, stream, events(text));
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

fn build(
    text: &str,
    limits: ParseLimits,
    mut sink: Sink<'_>,
    events: impl Iterator<Item = Item>,
) -> Result<Built, YamlError> {
    let stream = sink.is_some();
    let mut b = Builder {
        events,
        limits,
        // Manifests have one node per 12 to 25 bytes; the table is made for one per 12: growing it
        // writes every path out again to hash it (10 % of a 10 MB stream's check, grown from one
        // per 24), while a bucket is a 4-byte node number and a list's unused room is not written.
        entries: Paths::with_capacity((text.len() / 12).min(limits.max_nodes)),
        anchors: HashMap::new(),
        tags: FxHashMap::default(),
        duplicates: Vec::new(),
        nodes: 0,
        replayed: 0,
        path: String::new(),
        ids: Vec::new(),
        scratch: Vec::new(),
        items_scratch: Vec::new(),
    };
    b.ids.push(b.entries.root());
    let mut root = Value::Null;
    // Documents handed to the sink (a stream's) or read (one document's).
    let mut documents = 0;
    loop {
        let e = match b.events.next() {
            None => break,
            Some(Err(e)) => return Err(e),
            Some(Ok(x)) => x,
        };
        match e.data {
            EventData::StreamStart | EventData::DocumentEnd => {}
            EventData::StreamEnd => break,
            EventData::DocumentStart if stream => {
                let e = b.next()?;
                // An empty document (`---` followed by `---`, as Helm renders skipped templates).
                let empty = matches!(&e.data, EventData::Scalar { value, style: ScalarStyle::Plain, .. } if matches!(value.as_str(), "" | "~" | "null"));
                if matches!(e.data, EventData::DocumentEnd) || empty {
                    continue;
                }
                b.anchors.clear();
                let index = documents.to_string();
                let doc = b.child(&index, |b| b.node(e, None, 0))?;
                documents += 1;
                if let Some(each) = sink.as_mut() {
                    each(doc);
                }
            }
            EventData::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(err(
                        "a manifest is one YAML document; this file has several (`---`)",
                        span_of(&e),
                    ));
                }
                let e = b.next()?;
                if matches!(e.data, EventData::DocumentEnd) {
                    b.record(span_of(&e), None);
                    continue;
                }
                root = b.node(e, None, 0)?;
            }
            _ => return Err(err("unexpected YAML event", span_of(&e))),
        }
    }
    if stream {
        b.record(Span::new(0, 0), None);
    }
    if !b.entries.contains("") {
        b.record(Span::default(), None);
    }
    Ok((root, b.entries, b.tags, b.duplicates))
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
mod tests;
