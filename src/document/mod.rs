//! Text in: the bottom layer, shared by every reader of a file preflight is given.
//!
//! It reads a file with a size limit (`read`), parses YAML (or JSON, which is YAML) into a
//! `serde_json::Value` together with a path → span table in one pass over the parser's events
//! (`yaml`, `source_map`), validates the value against a JSON Schema with messages that point into
//! the text (`schema`), and gathers what is wrong into located `Problem`s and a typed `LoadError`.
//! It knows nothing of ports, manifests or policies: `manifest`, `policy` and `facts` build their own
//! models on top of it, and only the reporters turn paths back into places ([`Document::place`]).

mod builder;
mod core_schema;
pub mod directives;
mod events;
mod paths;
pub(crate) mod problem;
pub(crate) mod read;
pub(crate) mod schema;
pub(crate) mod source_map;
pub(crate) mod suggest;
pub mod yaml;

pub use problem::{LoadError, Problem};
pub use read::{
    Limits, check_parsed, decode, parse_checked, parse_document, parse_document_each,
    parse_document_pruned, parse_validated, read_on, read_text, read_up_to, under,
};
pub use schema::Schema;
pub use source_map::{LineCol, SourceMap, Span, at_path, join, within};
pub use suggest::did_you_mean;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Files at least this large are read memory-first (see [`on_large_input`]): a 10,000-service
/// manifest (2.2 MB) is not, a 10 MB Compose file is.
pub const LARGE_INPUT_BYTES: usize = 4 << 20;

/// What [`on_large_input`] registered.
static LARGE_INPUT: OnceLock<fn()> = OnceLock::new();

/// Registers what to do before a file of [`LARGE_INPUT_BYTES`] or more is parsed (once per file).
/// The CLI has its allocator hand freed memory back to the OS at once from then on: on the 10 MB
/// Compose benchmark that lowers the peak from 373 to 268 MiB in the same time, while on a
/// 10,000-service manifest or a fleet of small files keeping freed memory for reuse is what makes the
/// run fast (see `main.rs`). The library itself knows nothing of the allocator.
pub fn on_large_input(hook: fn()) {
    let _ = LARGE_INPUT.set(hook);
}

/// Runs the [`on_large_input`] hook, if any, for a file of `len` bytes about to be parsed.
pub(crate) fn large_input(len: usize) {
    if len >= LARGE_INPUT_BYTES
        && let Some(hook) = LARGE_INPUT.get()
    {
        hook();
    }
}

/// Set by [`free_at_exit`]: what [`retire`] is given is left for the OS to take back at exit.
static AT_EXIT: AtomicBool = AtomicBool::new(false);

/// Declares the process short-lived (one command, then exit): large values a load no longer needs
/// are then not freed node by node (see [`retire`]), as compilers do with `-disable-free`. The CLI
/// sets it for every command but the language server; a library caller, a fuzz loop or the language
/// server leave it unset and every value is freed.
pub fn free_at_exit() {
    AT_EXIT.store(true, Ordering::Relaxed);
}

/// Lets go of a large value no longer needed: freed on a pool thread, or, once [`free_at_exit`]
/// declared the process short-lived, left for the OS to take back at exit. Freeing the 350,000 nodes
/// of a 10,000-service manifest takes 3 ms, and on a pool thread it competed with the rules for the
/// second core: the check ran 7-10 ms longer than with the value left alone.
pub fn retire<T: Send + 'static>(value: T) {
    if AT_EXIT.load(Ordering::Relaxed) {
        std::mem::forget(value);
    } else {
        rayon::spawn(move || drop(value));
    }
}

/// A loaded file: its display name, its text and where each path sits in it.
///
/// An input can span several files (a deploy manifest's `include:`, Compose files merged with `-f`, a
/// directory of Kubernetes manifests): the first is the document itself, the others are its `parts`,
/// and a path into part `k` (1-based) is written `@k:path` (see [`Document::part_path`]). The methods
/// taking a path resolve it in the right file.
#[derive(Clone, Debug)]
pub struct Document {
    /// The name shown to users (the path as given on the command line).
    pub name: String,
    /// The file's text.
    pub text: String,
    /// Path → span table of the text.
    pub map: SourceMap,
    /// Further files of the same input, addressed by `@k:` paths.
    pub parts: Vec<Document>,
}

impl Document {
    /// A document of one file.
    pub fn new(name: impl Into<String>, text: String, map: SourceMap) -> Self {
        Document {
            name: name.into(),
            text,
            map,
            parts: Vec::new(),
        }
    }

    /// `path` in part `k` (1-based; 0 is this document itself).
    pub fn part_path(k: usize, path: &str) -> String {
        if k == 0 {
            path.to_owned()
        } else {
            format!("@{k}:{path}")
        }
    }

    /// The inverse of [`Document::part_path`]: the part a path points into (0: the document itself)
    /// and the path within that file.
    pub fn split_part(path: &str) -> (usize, &str) {
        path.strip_prefix('@')
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(k, inner)| Some((k.parse().ok()?, inner)))
            .unwrap_or((0, path))
    }

    /// The file a path points into and the path within it.
    pub fn locate<'a, 'p>(&'a self, path: &'p str) -> (&'a Document, &'p str) {
        match Document::split_part(path) {
            (k, inner) if k > 0 => match self.parts.get(k - 1) {
                Some(part) => (part, inner),
                None => (self, path),
            },
            _ => (self, path),
        }
    }

    /// The index of the file a path points into (0: this document, k: part k) — for sorting.
    pub fn file_index(&self, path: &str) -> usize {
        let (d, _) = self.locate(path);
        if std::ptr::eq(d, self) {
            return 0;
        }
        self.parts
            .iter()
            .position(|p| std::ptr::eq(p, d))
            .map_or(0, |i| i + 1)
    }

    /// The span of a path in its own file.
    pub fn span(&self, path: &str) -> Span {
        let (d, p) = self.locate(path);
        d.map.span(p)
    }

    /// Where a path sits in its own file: (line, column, end line, end column), 1-based, columns in
    /// characters.
    pub fn place(&self, path: &str) -> (usize, usize, usize, usize) {
        let (d, p) = self.locate(path);
        let span = d.map.span(p);
        let start = d.map.line_col(&d.text, span.offset);
        let end = d.map.line_col(&d.text, span.offset + span.len);
        (start.line, start.column, end.line, end.column)
    }

    /// The name of the file a path points into.
    pub fn file_of(&self, path: &str) -> &str {
        &self.locate(path).0.name
    }
}
