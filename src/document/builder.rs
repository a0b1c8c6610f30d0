//! The recursive descent of [`super::yaml`]: YAML events into a `serde_json::Value` and the path →
//! span table, with the loader's guarantees (duplicate keys recorded, aliases on a budget, nesting
//! and size bounded, merge keys applied, YAML 1.2 core schema scalars).

use std::collections::HashMap;

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde_json::{Map, Value};

use super::core_schema::{local_tag, scalar, str_tag};
use super::events::{Event, EventData, Item, ParseLimits, ScalarStyle, YamlError};
use super::paths::{Paths, ROOT};
use super::source_map::{Entry, Packed, Span};

/// What a parse builds: the value, the path → span table, the local tags by path and the duplicate
/// keys.
pub(super) type Built = (
    Value,
    Paths<Packed>,
    FxHashMap<String, String>,
    Vec<(String, String)>,
);

/// Where a stream's documents go (`None`: the text is one document).
pub(super) type Sink<'s> = Option<&'s mut dyn FnMut(Value)>;

/// Says, from a mapping's path, its depth (the number of segments of that path) and one of its
/// entries, whether the entry's value is dropped as soon as it is built: the key stays, with a null
/// value, and every place in the value stays in the table. A reader that never looks at some values
/// keeps them out of memory this way (see [`super::yaml::parse_pruned`]).
pub type Prune = fn(path: &str, depth: usize, key: &str, value: &Value) -> bool;

/// Up to this many keys, a mapping finds a key written twice by comparing it with each earlier one.
pub(super) const SCAN_KEYS: usize = 16;

/// A mapping's entries and a sequence's items are gathered in a reused buffer and copied out to
/// their number (grown from empty, a map or list keeps room for four); from this many on, they go
/// straight into the map or list, grown as it fills. Copied out whole, a large collection was held
/// twice at the end of its parse: the 84,840 services of a 10 MB Compose file 8.8 MB more at the
/// peak, a list of 1.9 million items 152 MB more.
pub(super) const LARGE: usize = 4096;

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
    /// Which entries' values are dropped as soon as they are built (see [`Prune`]).
    prune: Option<Prune>,
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

    /// `v`, the value of the current mapping's `key`, or null where [`Prune`] drops it.
    fn pruned(&self, key: &str, v: Value) -> Value {
        match self.prune {
            Some(drop) if drop(&self.path, self.ids.len() - 1, key, &v) => Value::Null,
            _ => v,
        }
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
        large: &mut Option<Map<String, Value>>,
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
            let earlier = match large {
                Some(_) => None,
                None if entries.len() <= SCAN_KEYS => entries.iter().position(|(k, _)| *k == key),
                None => {
                    if index.is_empty() {
                        for (i, (k, _)) in entries.iter().enumerate() {
                            index.insert_unique(hash(k), i, |&j| hash(&entries[j].0));
                        }
                    }
                    index.find(hash(&key), |&i| entries[i].0 == key).copied()
                }
            };
            if earlier.is_some() || large.as_ref().is_some_and(|map| map.contains_key(&key)) {
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
            }
            let v = self.child(&key, |b| b.node(e, Some(key_span), depth + 1))?;
            let v = self.pruned(&key, v);
            // A key written twice keeps its first place: the map's insert replaces the value there.
            if let Some(map) = large {
                map.insert(key, v);
                continue;
            }
            if let Some(i) = earlier {
                entries[i].1 = v;
                continue;
            }
            if !index.is_empty() {
                index.insert_unique(hash(&key), entries.len(), |&j| hash(&entries[j].0));
            }
            entries.push((key, v));
            if entries.len() == LARGE {
                let mut map = Map::with_capacity(2 * LARGE);
                map.extend(entries.drain(..));
                index.clear();
                *large = Some(map);
            }
        }
    }

    /// A sequence's items, up to its end, into `items`; from [`LARGE`] items on, into `large`
    /// instead (see [`LARGE`]).
    fn items(
        &mut self,
        depth: usize,
        items: &mut Vec<Value>,
        large: &mut Option<Vec<Value>>,
    ) -> Result<(), YamlError> {
        loop {
            let e = self.next()?;
            if matches!(e.data, EventData::SequenceEnd) {
                return Ok(());
            }
            let at = large.as_ref().map_or(items.len(), Vec::len);
            let v = self.item(at, |b| b.node(e, None, depth + 1))?;
            match large {
                Some(list) => list.push(v),
                None => {
                    items.push(v);
                    if items.len() == LARGE {
                        let mut list = Vec::with_capacity(2 * LARGE);
                        list.append(items);
                        *large = Some(list);
                    }
                }
            }
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
                let mut large = None;
                let built = self.items(depth, &mut items, &mut large);
                let list = large.unwrap_or_else(|| {
                    let mut list = Vec::with_capacity(items.len());
                    list.append(&mut items);
                    list
                });
                items.clear();
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
                let mut large = None;
                let built = self.entries(depth, &mut entries, &mut index, &mut merged, &mut large);
                let mut map = large.unwrap_or_else(|| {
                    let mut map = Map::with_capacity(entries.len());
                    map.extend(entries.drain(..));
                    map
                });
                entries.clear();
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

/// The nodes a text probably holds: one a line, and at least one per 24 bytes.
fn nodes_expected(text: &str) -> usize {
    let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
    lines.max(text.len() / 24)
}

pub(super) fn build(
    text: &str,
    limits: ParseLimits,
    mut sink: Sink<'_>,
    events: impl Iterator<Item = Item>,
    prune: Option<Prune>,
) -> Result<Built, YamlError> {
    let stream = sink.is_some();
    let mut b = Builder {
        events,
        limits,
        // Block YAML has about one node a line; flow YAML more (the table then grows). Growing
        // writes every path out again to hash it (10 % of a 10 MB stream's check when made for one
        // node per 24 bytes), and a list's unused room is not written, but the table's buckets are
        // (made for one node per 12 bytes, a 10 MB Compose file of 424,000 lines took 2.6 MB more).
        entries: Paths::with_capacity(nodes_expected(text).min(limits.max_nodes)),
        anchors: HashMap::new(),
        tags: FxHashMap::default(),
        duplicates: Vec::new(),
        nodes: 0,
        replayed: 0,
        path: String::new(),
        ids: Vec::new(),
        scratch: Vec::new(),
        items_scratch: Vec::new(),
        prune,
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
