//! A small map of text to text (Kubernetes labels and selectors), held as a list sorted by key.

/// Text keys to text values, sorted by key. A Service's selector and a pod's labels hold one to a
/// few entries, for which a `BTreeMap` allocates a whole node (544 bytes): the selectors of a 10 MB
/// stream's 61,186 Services took 33 MB that way, 3 MB as lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextMap(Vec<(String, String)>);

impl TextMap {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The entries, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Whether it has no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl FromIterator<(String, String)> for TextMap {
    /// A key given twice keeps its last value, as a `BTreeMap` collected from the same entries does.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(entries: I) -> Self {
        let mut v: Vec<(String, String)> = entries.into_iter().collect();
        // Reversed, a stable sort puts the last value of a key first, and `dedup_by` keeps the first.
        v.reverse();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|later, kept| later.0 == kept.0);
        v.shrink_to_fit();
        TextMap(v)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::TextMap;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_as_the_btree_map_of_the_same_entries() {
        let cases: &[&[(&str, &str)]] = &[
            &[],
            &[("app", "web")],
            &[("tier", "db"), ("app", "web"), ("zone", "a")],
            &[("app", "web"), ("tier", "db"), ("app", "api")],
        ];
        for case in cases {
            let map: TextMap = pairs(case).into_iter().collect();
            let reference: BTreeMap<String, String> = pairs(case).into_iter().collect();
            assert_eq!(map.len(), reference.len(), "{case:?}");
            assert_eq!(map.is_empty(), reference.is_empty());
            assert!(map.iter().eq(reference.iter()), "{case:?}");
            for k in ["app", "tier", "zone", "", "ap", "appp"] {
                assert_eq!(map.get(k), reference.get(k), "{case:?} {k}");
            }
        }
    }
}
