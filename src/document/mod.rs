//! Text in: the bottom layer, shared by every reader of a file preflight is given.
//!
//! It reads a file with a size limit (`read`), parses YAML (or JSON, which is YAML) into a
//! `serde_json::Value` together with a path → span table in one pass over the parser's events
//! (`yaml`, `source_map`), validates the value against a JSON Schema with messages that point into
//! the text (`schema`), and gathers what is wrong into located `Problem`s and a typed `LoadError`.
//! It knows nothing of ports, manifests or policies: `manifest`, `policy` and `facts` build their own
//! models on top of it, and only the reporters turn paths back into places ([`Document::place`]).

pub(crate) mod problem;
pub(crate) mod read;
pub(crate) mod schema;
pub(crate) mod source_map;
pub(crate) mod suggest;
pub mod yaml;

pub use problem::{LoadError, Problem};
pub use read::{
    Limits, check_parsed, decode, parse_checked, parse_document, parse_validated, read_on,
    read_text,
};
pub use schema::Schema;
pub use source_map::{LineCol, SourceMap, Span, join};
pub use suggest::did_you_mean;

/// A loaded file: its display name, its text and where each path sits in it.
#[derive(Clone, Debug)]
pub struct Document {
    /// The name shown to users (the path as given on the command line).
    pub name: String,
    /// The file's text.
    pub text: String,
    /// Path → span table of the text.
    pub map: SourceMap,
}

impl Document {
    /// Where a path sits: (line, column, end line, end column), 1-based, columns in characters.
    pub fn place(&self, path: &str) -> (usize, usize, usize, usize) {
        let span = self.map.span(path);
        let start = self.map.line_col(&self.text, span.offset);
        let end = self.map.line_col(&self.text, span.offset + span.len);
        (start.line, start.column, end.line, end.column)
    }
}
