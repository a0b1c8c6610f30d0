//! Inline ignores, as read from the inputs: `# preflight: ignore[…]` comments in any YAML file of a
//! manifest (see [`crate::document::directives`]) and the Kubernetes annotation
//! `ignore.preflight/<rule-id>: "<reason>"` on an object. The check stage applies them.

use serde_json::Value;

use super::Manifest;
use crate::document::{Document, at_path, directives::directives, join};

/// What an inline ignore covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreScope {
    /// Findings whose place starts on this 1-based line of file `file` (0: the document, k: part k).
    Line {
        /// The file.
        file: usize,
        /// The line.
        line: usize,
    },
    /// Every finding in file `file`.
    File(usize),
    /// Every finding inside the Kubernetes object at this path.
    Object(String),
}

/// One inline ignore.
#[derive(Debug, Clone)]
pub struct InlineIgnore {
    /// What it covers.
    pub scope: IgnoreScope,
    /// The rule ids it names (empty for a malformed one).
    pub rules: Vec<String>,
    /// Why, as written; `None` when no reason is given.
    pub reason: Option<String>,
    /// Where the ignore is written: the comment (an `#at:` place) or the annotation.
    pub path: String,
    /// What is wrong with it, when it can't be read.
    pub malformed: Option<String>,
}

/// The `ignore.preflight/<rule-id>` annotations of the Kubernetes object at `path`.
pub fn annotations(path: &str, obj: &Value) -> Vec<InlineIgnore> {
    let Some(map) = obj
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| {
            let rule = k.strip_prefix("ignore.preflight/")?;
            Some(InlineIgnore {
                scope: IgnoreScope::Object(path.to_owned()),
                rules: vec![rule.to_owned()],
                reason: v
                    .as_str()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
                path: join(&join(&join(path, "metadata"), "annotations"), k),
                malformed: None,
            })
        })
        .collect()
}

/// Adds the ignore comments of every file of `doc` to `m`.
pub fn add_comments(m: &mut Manifest, doc: &Document) {
    let files = std::iter::once(doc).chain(doc.parts.iter()).enumerate();
    for (k, d) in files {
        let (found, bad) = directives(&d.text);
        for di in found {
            m.ignores.push(InlineIgnore {
                scope: match di.line {
                    Some(line) => IgnoreScope::Line { file: k, line },
                    None => IgnoreScope::File(k),
                },
                rules: di.rules,
                reason: di.reason,
                path: Document::part_path(k, &at_path(di.span)),
                malformed: None,
            });
        }
        for b in bad {
            m.ignores.push(InlineIgnore {
                scope: IgnoreScope::File(k),
                rules: Vec::new(),
                reason: None,
                path: Document::part_path(k, &at_path(b.span)),
                malformed: Some(b.message),
            });
        }
    }
}
