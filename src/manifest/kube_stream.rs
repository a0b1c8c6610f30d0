//! The documents of a Kubernetes file: each object of a stream with its path (`kind: List` items
//! flattened), and the template each document of rendered Helm output came from.

use serde_json::Value;

use crate::document::join;

/// The objects of one document at `path` (`0`, or `""` for a file of one document): the document
/// itself, or the items of a `List` (`kind: List`, `ServiceList`, …), each with its path.
pub(super) fn objects<'a>(path: &str, doc: &'a Value) -> Vec<(String, &'a Value)> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind == "List" || kind.ends_with("List") && doc.get("items").is_some() {
        let Some(items) = doc.get("items").and_then(Value::as_array) else {
            return Vec::new();
        };
        let ipath = join(path, "items");
        items
            .iter()
            .enumerate()
            .map(|(i, item)| (join(&ipath, &i.to_string()), item))
            .collect()
    } else if doc.is_object() {
        vec![(path.to_owned(), doc)]
    } else {
        Vec::new()
    }
}

/// The `# Source: …` comment that heads each document of rendered Helm output: document prefix →
/// template. `starts` are the byte offsets where the documents' first nodes begin, in order.
pub fn helm_sources(text: &str, starts: &[(String, usize)]) -> Vec<(String, String)> {
    // Helm writes `---` then `# Source: CHART/templates/FILE` before each document; a comment
    // elsewhere (a file's own header naming a URL) is not a template.
    let mut comments = Vec::new();
    let mut offset = 0;
    let mut after_separator = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t == "---" {
            after_separator = true;
        } else if let Some(rest) = t.strip_prefix("# Source:") {
            let rest = rest.trim();
            if after_separator && !rest.contains("://") {
                comments.push((offset, rest.to_owned()));
            }
        } else if !t.is_empty() {
            after_separator = false;
        }
        offset += line.len();
    }
    // Documents and comments are both in text order: one pass pairs each document with the last
    // comment between the previous document's start and its own.
    let mut out = Vec::new();
    let mut next = 0;
    for (prefix, start) in starts {
        let mut last = None;
        while let Some((o, t)) = comments.get(next)
            && o < start
        {
            last = Some(t);
            next += 1;
        }
        if let Some(t) = last {
            out.push((prefix.clone(), t.clone()));
        }
    }
    out
}
