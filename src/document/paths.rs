//! The path → place table of a [`super::SourceMap`]: every dotted path's text in one string, and a
//! hash table of where each path's text sits with its place.
//!
//! A parse records one path per YAML node (350,000 on a 2 MB file). As `HashMap<String, Entry>` that
//! was one allocation per node plus 40 bytes of places; here the paths share one string, and a slot
//! of a packed place is 24 bytes. Lookups hash the asked path and compare it with the slot's text,
//! exactly as a map keyed by the path would.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// Offsets and lengths are kept in 32 bits (here and in [`super::source_map::Packed`]): input files
/// are limited far below 4 GiB (16 MiB by default); a larger number is clamped, which names a wrong
/// place, never a panic.
pub(super) fn narrow(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One path: where its text is in [`Paths::text`], and its value.
#[derive(Clone, Copy, Debug)]
struct Slot<T> {
    start: u32,
    len: u32,
    entry: T,
}

/// Dotted paths and a small value for each (a place), each path once.
#[derive(Clone)]
pub(crate) struct Paths<T> {
    /// Every path's text, one after another (a removed path's text stays, unused).
    text: String,
    table: HashTable<Slot<T>>,
}

impl<T> Default for Paths<T> {
    fn default() -> Self {
        Paths {
            text: String::new(),
            table: HashTable::new(),
        }
    }
}

impl<T> std::fmt::Debug for Paths<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paths")
            .field("len", &self.table.len())
            .finish()
    }
}

impl<T: Copy> Paths<T> {
    /// Room for `paths` paths of `bytes` bytes in all.
    pub(crate) fn with_capacity(paths: usize, bytes: usize) -> Self {
        Paths {
            text: String::with_capacity(bytes),
            table: HashTable::with_capacity(paths),
        }
    }

    fn hash(path: &str) -> u64 {
        FxBuildHasher.hash_one(path)
    }

    fn path_of<'a>(text: &'a str, s: &Slot<T>) -> &'a str {
        text.get(s.start as usize..(s.start as usize + s.len as usize))
            .unwrap_or("")
    }

    /// Records `entry` for `path`, replacing the one recorded before.
    pub(crate) fn insert(&mut self, path: &str, entry: T) {
        let Paths { text, table } = self;
        let hash = Self::hash(path);
        let found = table.find_mut(hash, |s| Self::path_of(text, s) == path);
        if let Some(slot) = found {
            slot.entry = entry;
            return;
        }
        let slot = Slot {
            start: narrow(text.len()),
            len: narrow(path.len()),
            entry,
        };
        text.push_str(path);
        table.insert_unique(hash, slot, |s| Self::hash(Self::path_of(text, s)));
    }

    /// What is recorded for `path`.
    pub(crate) fn get(&self, path: &str) -> Option<T> {
        self.table
            .find(Self::hash(path), |s| Self::path_of(&self.text, s) == path)
            .map(|s| s.entry)
    }

    /// Takes out what is recorded for `path`.
    pub(crate) fn remove(&mut self, path: &str) -> Option<T> {
        let Paths { text, table } = self;
        let found = table.find_entry(Self::hash(path), |s| Self::path_of(text, s) == path);
        found.ok().map(|e| e.remove().0.entry)
    }

    /// Whether something is recorded for `path`.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// Every recorded path, in no particular order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.table.iter().map(|s| Self::path_of(&self.text, s))
    }

    /// How many paths are recorded.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(o: usize, key: Option<usize>) -> (usize, Option<usize>) {
        (o, key)
    }

    #[test]
    fn paths_behave_as_a_map_keyed_by_the_path() {
        let mut p = Paths::default();
        let mut reference = std::collections::BTreeMap::new();
        for i in 0..2000 {
            let path = format!("services.s{}.ports.{}", i % 300, i % 7);
            let e = entry(i, (i % 3 == 0).then_some(i + 1));
            p.insert(&path, e);
            reference.insert(path, e);
            if i % 11 == 0 {
                let gone = format!("services.s{}.ports.{}", (i * 7) % 300, i % 5);
                assert_eq!(p.remove(&gone), reference.remove(&gone));
            }
        }
        assert_eq!(p.len(), reference.len());
        for (k, v) in &reference {
            assert_eq!(p.get(k), Some(*v), "{k}");
        }
        let mut keys: Vec<&str> = p.keys().collect();
        keys.sort_unstable();
        let mut expected: Vec<&str> = reference.keys().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert!(!p.contains("services.s1"));
        assert!(!p.contains(""));
        assert_eq!(p.get("services"), None);
    }

    #[test]
    fn an_empty_path_and_places_without_a_key_round_trip() {
        let mut p = Paths::default();
        p.insert("", entry(0, None));
        assert_eq!(p.get(""), Some(entry(0, None)));
        p.insert("", entry(5, Some(1)));
        assert_eq!(p.get(""), Some(entry(5, Some(1))));
        assert_eq!(p.len(), 1);
    }
}
