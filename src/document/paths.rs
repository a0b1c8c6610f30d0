//! The path → place table of a [`super::SourceMap`]: a tree of nodes, each its parent and the last
//! segment of its path, and a hash table of node numbers by the hash of their whole dotted path.
//!
//! A parse records one path per YAML node (795,000 on a 10 MB Kubernetes stream). Kept whole, as
//! `HashMap<String, Entry>` and later as one string of every path with a table of 24-byte slots,
//! the paths' text alone was 14 MB on that stream and the slots 26 MB: a path repeats its parent's
//! text, and the slots sat in the hash table's buckets. Here a node is 24 bytes in a plain list (its
//! parent's number, its segment's number and its place), a segment's text is kept once however many
//! paths end in it (`port`, `name`; an index such as `0` is kept as its number), and a bucket of the
//! table is a 4-byte node number.
//!
//! Lookups hash the asked path as a whole and compare it with a node's path from its last segment up,
//! so a path answers exactly as the same string would in a map keyed by it, whatever its keys hold
//! (a key may itself contain dots: `app.kubernetes.io/name`).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// Offsets and lengths are kept in 32 bits (here and in [`super::source_map::Packed`]): input files
/// are limited far below 4 GiB (16 MiB by default); a larger number is clamped, which names a wrong
/// place, never a panic.
pub(super) fn narrow(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The parent of the root.
const NONE: u32 = u32::MAX;
/// The bit of [`Node::segment`] that says the node has a value; the rest is the segment's number.
const SET: u32 = 1 << 31;
/// The bit of a segment's number that says the segment is a decimal number (a sequence's index, or a
/// key such as `8080`), held in the bits below instead of interned: a list of 1.9 million items
/// interned as many texts, and growing their table was a tenth of reading it.
const NUMBER: u32 = 1 << 30;

/// The number `segment` writes, when it is a decimal number of at most 9 digits (below [`NUMBER`])
/// with no sign and no leading zero, so that the text and the number give each other back.
fn as_number(segment: &str) -> Option<u32> {
    let b = segment.as_bytes();
    if b.is_empty() || b.len() > 9 || (b[0] == b'0' && b.len() > 1) {
        return None;
    }
    b.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// `n` written in decimal into the end of `buf`.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        // `n % 10` is below 10.
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

/// A segment's text: interned, or a number.
enum Text<'a> {
    Interned(&'a str),
    Number(u32),
}

impl Text<'_> {
    /// `path` without this segment at its end, if it ends with it.
    fn strip_from<'p>(&self, path: &'p str) -> Option<&'p str> {
        match self {
            Text::Interned(t) => path.strip_suffix(t),
            Text::Number(n) => path.strip_suffix(decimal(*n, &mut [0; 10])),
        }
    }

    /// Appends the segment to `out`.
    fn push_to(&self, out: &mut String) {
        match self {
            Text::Interned(t) => out.push_str(t),
            Text::Number(n) => out.push_str(decimal(*n, &mut [0; 10])),
        }
    }
}

/// One path: its parent's node, its last segment's number (and whether a value is recorded), the
/// value.
#[derive(Clone, Copy, Debug)]
struct Node<T> {
    parent: u32,
    segment: u32,
    entry: T,
}

impl<T> Node<T> {
    /// The number of its last segment.
    fn segment(&self) -> u32 {
        self.segment & !SET
    }

    /// Whether a value is recorded for it.
    fn is_set(&self) -> bool {
        self.segment & SET != 0
    }
}

/// Each distinct segment's text once, numbered (a decimal number is its own number: see [`NUMBER`]).
#[derive(Clone, Default)]
struct Segments {
    text: String,
    spans: Vec<(u32, u32)>,
    index: HashTable<u32>,
}

fn text_of(text: &str, (start, len): (u32, u32)) -> &str {
    text.get(start as usize..start as usize + len as usize)
        .unwrap_or("")
}

impl Segments {
    fn get(&self, id: u32) -> Text<'_> {
        if id & NUMBER != 0 {
            Text::Number(id & !NUMBER)
        } else {
            Text::Interned(text_of(&self.text, self.spans[id as usize]))
        }
    }

    /// The segment's number: the number itself, flagged, for a decimal number, else its text's.
    fn number(&mut self, segment: &str) -> u32 {
        match as_number(segment) {
            Some(n) if n < NUMBER => n | NUMBER,
            _ => self.intern(segment),
        }
    }

    fn intern(&mut self, segment: &str) -> u32 {
        let Segments { text, spans, index } = self;
        let h = hash(segment);
        let found = index.find(h, |&id| text_of(text, spans[id as usize]) == segment);
        if let Some(&id) = found {
            return id;
        }
        let id = narrow(spans.len()).min(NUMBER - 1);
        spans.push((narrow(text.len()), narrow(segment.len())));
        text.push_str(segment);
        index.insert_unique(h, id, |&id| hash(text_of(text, spans[id as usize])));
        id
    }
}

/// Dotted paths and a small value for each (a place), each path once.
#[derive(Clone)]
pub(crate) struct Paths<T> {
    /// Node 0 is the root (the path ``), once there is any node.
    nodes: Vec<Node<T>>,
    /// Node numbers by the hash of their path.
    index: HashTable<u32>,
    segments: Segments,
}

impl<T> Default for Paths<T> {
    fn default() -> Self {
        Paths {
            nodes: Vec::new(),
            index: HashTable::new(),
            segments: Segments::default(),
        }
    }
}

impl<T> std::fmt::Debug for Paths<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paths")
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

/// The root's number: the node of the path ``.
pub(crate) const ROOT: u32 = 0;

fn hash(path: &str) -> u64 {
    FxBuildHasher.hash_one(path)
}

/// Whether node `id`'s path is `path`, compared from the last segment up.
fn is<T>(nodes: &[Node<T>], segments: &Segments, mut id: u32, mut path: &str) -> bool {
    loop {
        let n = &nodes[id as usize];
        if n.parent == NONE {
            return path.is_empty();
        }
        let Some(head) = segments.get(n.segment()).strip_from(path) else {
            return false;
        };
        if n.parent == ROOT {
            return head.is_empty();
        }
        let Some(head) = head.strip_suffix('.') else {
            return false;
        };
        path = head;
        id = n.parent;
    }
}

/// Writes node `id`'s path into `out` (emptied first).
fn write_path<T>(nodes: &[Node<T>], segments: &Segments, id: u32, out: &mut String) {
    out.clear();
    append_path(nodes, segments, id, out);
}

/// Appends node `id`'s path to `out`, its parent's first (nesting is bounded by the parser's depth
/// limit, so the recursion is too).
fn append_path<T>(nodes: &[Node<T>], segments: &Segments, id: u32, out: &mut String) {
    let n = &nodes[id as usize];
    if n.parent == NONE {
        return;
    }
    if n.parent != ROOT {
        append_path(nodes, segments, n.parent, out);
        out.push('.');
    }
    segments.get(n.segment()).push_to(out);
}

/// The hash of node `id`'s path, written out from its segments.
fn rehash<T>(nodes: &[Node<T>], segments: &Segments, id: u32) -> u64 {
    let mut out = String::new();
    write_path(nodes, segments, id, &mut out);
    hash(&out)
}

/// A table of every node with room for `room`, made by writing the paths out in node order: a node
/// mostly comes right after its parent's subtree began, so its path is the path still in the buffer
/// for its parent and one segment more (a node made later below an older one is written out from
/// the root). Growing the table through its own rehash wrote every path out from the root, in the
/// table's order: a 3.8 MB flow list of 1.9 million items took about a quarter longer to read.
fn rebuilt<T>(nodes: &[Node<T>], segments: &Segments, room: usize) -> HashTable<u32> {
    let mut table = HashTable::with_capacity(room.max(nodes.len() + 1).max(8));
    let mut path = String::new();
    // The nodes whose paths start `path`, each with its path's length, from the root down.
    let mut open: Vec<(u32, usize)> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let id = narrow(i);
        if n.parent == NONE {
            path.clear();
            open.clear();
        } else {
            while open.last().is_some_and(|&(top, _)| top != n.parent) {
                open.pop();
            }
            match open.last() {
                Some(&(_, len)) => {
                    path.truncate(len);
                    if n.parent != ROOT {
                        path.push('.');
                    }
                    segments.get(n.segment()).push_to(&mut path);
                }
                None => write_path(nodes, segments, id, &mut path),
            }
        }
        open.push((id, path.len()));
        table.insert_unique(hash(&path), id, |&j| rehash(nodes, segments, j));
    }
    table
}

impl<T: Copy + Default> Paths<T> {
    /// Room for about `paths` paths.
    pub(crate) fn with_capacity(paths: usize) -> Self {
        Paths {
            nodes: Vec::with_capacity(paths),
            index: HashTable::with_capacity(paths),
            segments: Segments::default(),
        }
    }

    /// The root's number ([`ROOT`]), made if there is no node yet.
    pub(crate) fn root(&mut self) -> u32 {
        if self.nodes.is_empty() {
            let segment = self.segments.intern("");
            self.nodes.push(Node {
                parent: NONE,
                segment,
                entry: T::default(),
            });
            self.index.insert_unique(hash(""), ROOT, |_| hash(""));
        }
        ROOT
    }

    /// The node of `path`, whose last segment is `segment` below `parent`'s path (`path` is that path
    /// joined with `.` and `segment`, or `segment` alone below the root), made if there is none. The
    /// same path always gives the same node, however it was reached (a key `` below the root is
    /// the root).
    pub(crate) fn child(&mut self, parent: u32, segment: &str, path: &str) -> u32 {
        let Paths {
            nodes,
            index,
            segments,
        } = self;
        let h = hash(path);
        if let Some(&id) = index.find(h, |&id| is(nodes, segments, id, path)) {
            return id;
        }
        if index.len() == index.capacity() {
            *index = rebuilt(nodes, segments, index.capacity() * 2);
        }
        let id = narrow(nodes.len());
        nodes.push(Node {
            parent,
            segment: segments.number(segment),
            entry: T::default(),
        });
        index.insert_unique(h, id, |&id| rehash(nodes, segments, id));
        id
    }

    /// Records `entry` for node `id`, replacing the one recorded before.
    pub(crate) fn set(&mut self, id: u32, entry: T) {
        if let Some(n) = self.nodes.get_mut(id as usize) {
            n.entry = entry;
            n.segment |= SET;
        }
    }

    fn find(&self, path: &str) -> Option<u32> {
        self.index
            .find(hash(path), |&id| is(&self.nodes, &self.segments, id, path))
            .copied()
    }

    /// What is recorded for `path`.
    pub(crate) fn get(&self, path: &str) -> Option<T> {
        let n = &self.nodes[self.find(path)? as usize];
        n.is_set().then_some(n.entry)
    }

    /// Takes out what is recorded for node `id` (the node stays, as the parent of its children).
    pub(crate) fn take(&mut self, id: u32) -> Option<T> {
        let n = self.nodes.get_mut(id as usize)?;
        let had = n.is_set();
        n.segment = n.segment();
        had.then_some(n.entry)
    }

    /// The parent of node `id` (the root is its own).
    pub(crate) fn parent(&self, id: u32) -> u32 {
        match self.nodes.get(id as usize) {
            Some(n) if n.parent != NONE => n.parent,
            _ => ROOT,
        }
    }

    /// Whether something is recorded for `path`.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// Every recorded path, in no particular order, each written out.
    pub(crate) fn keys(&self) -> impl Iterator<Item = String> + '_ {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_set())
            .map(|i| {
                let mut out = String::new();
                write_path(&self.nodes, &self.segments, narrow(i), &mut out);
                out
            })
    }

    /// How many paths are recorded.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_set()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths built segment by segment (keys with dots and empty keys among them) answer as a map
    /// keyed by the joined path string does, including paths reached two ways.
    #[test]
    fn paths_behave_as_a_map_keyed_by_the_path() {
        let segments = [
            "services",
            "a",
            "a.b",
            "b",
            "",
            "0",
            "1",
            "ports",
            "x.y.z",
            "b.c",
            "10",
            "007",
            "01",
            "1.0",
            "999999999",
            "1000000000",
            "-1",
            "1e3",
        ];
        let mut p: Paths<(usize, usize)> = Paths::with_capacity(4);
        let mut reference = std::collections::BTreeMap::new();
        let root = p.root();
        // Walk pseudo-random chains from the root, recording a value at every node.
        let mut seed = 7usize;
        for i in 0..3000 {
            let (mut id, mut path) = (root, String::new());
            let depth = 1 + i % 5;
            for _ in 0..depth {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let s = segments[(seed >> 33) % segments.len()];
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(s);
                id = p.child(id, s, &path);
            }
            p.set(id, (i, depth));
            reference.insert(path.clone(), (i, depth));
            if i % 13 == 0 {
                assert_eq!(p.take(id), reference.remove(&path), "{path}");
            }
        }
        assert_eq!(p.len(), reference.len());
        for (k, v) in &reference {
            assert_eq!(p.get(k), Some(*v), "{k}");
        }
        let mut keys: Vec<String> = p.keys().collect();
        keys.sort_unstable();
        let expected: Vec<&String> = reference.keys().collect();
        assert_eq!(keys.iter().collect::<Vec<_>>(), expected);
        for absent in [
            "services.zz",
            "zz",
            ".",
            "a..b",
            "services.",
            "a.b.",
            "ports.ports.ports.ports.ports.ports",
            "a.00",
            "a.7",
            "10.0",
            "b.1000000000.0",
        ] {
            assert_eq!(p.get(absent), reference.get(absent).copied(), "{absent}");
        }
    }

    #[test]
    fn the_root_and_an_empty_key_below_it_are_one_path() {
        let mut p: Paths<(usize, usize)> = Paths::default();
        assert_eq!(p.get(""), None);
        let root = p.root();
        p.set(root, (0, 0));
        assert_eq!(p.get(""), Some((0, 0)));
        let empty = p.child(root, "", "");
        assert_eq!(empty, root);
        p.set(empty, (5, 1));
        assert_eq!(p.get(""), Some((5, 1)));
        assert_eq!(p.len(), 1);
        let a = p.child(root, "a", "a");
        assert_eq!(p.parent(a), root);
        assert_eq!(p.get("a"), None, "a node is made without a value");
    }
}
