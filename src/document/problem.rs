//! What goes wrong reading an input file: located [`Problem`]s, gathered into a typed [`LoadError`].
//!
//! Every loader (manifest, policy, later Compose and Kubernetes files) reports through these two types, so
//! each reporter renders them one way: the problem's message and help, underlined at its span.

use super::{Document, SourceMap, Span};

/// One problem in an input file, with its place.
#[derive(Debug, Clone)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// Where (none when the whole file is at fault).
    pub span: Option<Span>,
    /// Short text under the underline.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Other places that explain it (e.g. where a variable was defined).
    pub related: Vec<(Span, String)>,
    /// The dotted path of the value at fault, when known: a reader can leave that value out and read
    /// on, to report the problems of the rest of the file in the same run.
    pub path: Option<String>,
}

impl Problem {
    /// A problem at a span.
    pub fn at(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            span: Some(span),
            label: label.into(),
            help: None,
            related: Vec::new(),
            path: None,
        }
    }

    /// Records the path of the value at fault.
    pub fn at_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Adds help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Why a manifest could not be checked (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is over the size limit.
    #[error("{file} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        file: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file was read but is not valid.
    #[error("{} is not a valid {kind} ({} problem{})", doc.name, problems.len(), if problems.len() == 1 { "" } else { "s" })]
    Invalid {
        /// What the file should have been: `manifest`, `policy` or `input`.
        kind: &'static str,
        /// The file, for rendering the problems.
        doc: Box<Document>,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

impl LoadError {
    /// The problems of a document that could be read but is not valid.
    pub fn invalid(
        kind: &'static str,
        name: &str,
        text: String,
        map: SourceMap,
        problems: Vec<Problem>,
    ) -> Self {
        LoadError::Invalid {
            kind,
            doc: Box::new(Document::new(name.to_owned(), text, map)),
            problems,
        }
    }
}
