//! Reading an input file: size limit, text decoding, the span-aware parse and schema validation.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::yaml::{self, ParseLimits};
use super::{Document, LoadError, Problem, Schema, SourceMap, Span};

/// Limits that keep hostile or accidental input from running away, for any file preflight reads.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// YAML parser limits (depth, nodes, alias expansion).
    pub parse: ParseLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 16 * 1024 * 1024,
            parse: ParseLimits::default(),
        }
    }
}

/// `dir/name`, without a leading `./` for the working directory (places read as given); an absolute
/// `name` stays as it is.
pub fn under(dir: &Path, name: &str) -> PathBuf {
    if dir == Path::new(".") {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

/// Standard input, up to one byte over the limit (so the caller can tell it is too large).
fn read_stdin(limits: &Limits) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The bytes of the file at `path`, at most `limit + 1` of them (so the caller can tell it is too
/// large). The size in its metadata is not trusted: `/dev/zero`, a pipe (`<(cmd)`) or a file that
/// grows while it is read report less than they hold, and reading them whole never ends.
pub fn read_up_to(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let hint = file.metadata().map_or(0, |m| m.len()).min(limit + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads a YAML file (`-`: standard input) with the size limit, as UTF-8 text (a BOM is dropped).
pub fn read_text(path: &Path, limits: &Limits) -> Result<(String, String), LoadError> {
    let name = path.display().to_string();
    let io = |source| LoadError::Io {
        file: name.clone(),
        source,
    };
    let bytes = if path.as_os_str() == "-" {
        read_stdin(limits).map_err(io)?
    } else {
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > limits.max_file_bytes {
            return Err(LoadError::TooLarge {
                file: name,
                size: meta.len(),
                limit: limits.max_file_bytes,
            });
        }
        let bytes = read_up_to(path, limits.max_file_bytes).map_err(io)?;
        if bytes.len() as u64 > limits.max_file_bytes {
            return Err(LoadError::TooLarge {
                file: name,
                size: bytes.len() as u64,
                limit: limits.max_file_bytes,
            });
        }
        bytes
    };
    let name = if path.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        name
    };
    match String::from_utf8(bytes) {
        Ok(t) => Ok((name, t)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let map = SourceMap::lines_only(&text);
            let problem = Problem::at(
                Span::new(valid, 1),
                "the file is not UTF-8 text",
                "invalid byte",
            )
            .help("save the file as UTF-8");
            Err(LoadError::invalid("input", &name, text, map, vec![problem]))
        }
    }
}

/// Parses YAML text with spans and validates it against `schema`; `extra` adds checks the schema can't
/// express (run even when the schema fails, so every problem is reported in one pass). Any problem is
/// the error; see [`parse_checked`] to read on past them.
pub fn parse_validated(
    name: &str,
    text: String,
    limits: &Limits,
    schema: &Schema,
    extra: impl Fn(&Value, &SourceMap) -> Vec<Problem>,
) -> Result<(Value, Document), LoadError> {
    let (value, doc, problems) = parse_checked(name, text, limits, schema, extra)?;
    if !problems.is_empty() {
        let Document { text, map, .. } = doc;
        return Err(LoadError::invalid(schema.what(), name, text, map, problems));
    }
    Ok((value, doc))
}

/// [`parse_validated`] that returns the value, the document and the problems found (in file order)
/// instead of failing on them; only a file that can't be parsed at all is an error. A reader uses it to
/// go on with the rest of the file and report every problem in one run.
pub fn parse_checked(
    name: &str,
    text: String,
    limits: &Limits,
    schema: &Schema,
    extra: impl Fn(&Value, &SourceMap) -> Vec<Problem>,
) -> Result<(Value, Document, Vec<Problem>), LoadError> {
    let (value, doc) = parse_document(name, text, limits, schema.what())?;
    let mut problems = check_parsed(&value, &doc.map, schema, extra);
    // Policy and facts files are strict: a key written twice is a problem of the file.
    for (later, _) in doc.map.duplicates() {
        let key = later.rsplit('.').next().unwrap_or(later);
        problems.push(
            Problem::at(
                doc.map
                    .key_span(later)
                    .unwrap_or_else(|| doc.map.span(later)),
                format!("duplicate mapping key: {key}"),
                "written twice",
            )
            .help(parse_help("duplicate mapping key")),
        );
    }
    problems.sort_by_key(|p| p.span);
    Ok((value, doc, problems))
}

/// Parses text of one YAML document (size limit, BOM dropped) into its value and document; a YAML
/// error is a [`LoadError::Invalid`] of the `what` the file should have been. A stream of documents
/// is read with [`parse_document_each`].
pub fn parse_document(
    name: &str,
    text: String,
    limits: &Limits,
    what: &'static str,
) -> Result<(Value, Document), LoadError> {
    let text = prepare(name, text, limits)?;
    match yaml::parse(&text, limits.parse) {
        Ok((value, map)) => Ok((value, Document::new(name.to_owned(), text, map))),
        Err(e) => Err(yaml_error(what, name, text, e)),
    }
}

/// [`parse_document`], dropping the values `prune` names as soon as they are parsed (see
/// [`yaml::Prune`]).
pub fn parse_document_pruned(
    name: &str,
    text: String,
    limits: &Limits,
    what: &'static str,
    prune: yaml::Prune,
) -> Result<(Value, Document), LoadError> {
    let text = prepare(name, text, limits)?;
    match yaml::parse_pruned(&text, limits.parse, prune) {
        Ok((value, map)) => Ok((value, Document::new(name.to_owned(), text, map))),
        Err(e) => Err(yaml_error(what, name, text, e)),
    }
}

/// [`parse_document`] of a stream that hands each document to `each` as soon as it is built, instead
/// of gathering them into an array (see [`yaml::parse_stream_each`]): a reader takes what it needs
/// of a document and drops it before the next is built.
pub fn parse_document_each(
    name: &str,
    text: String,
    limits: &Limits,
    what: &'static str,
    each: &mut dyn FnMut(Value),
) -> Result<Document, LoadError> {
    let text = prepare(name, text, limits)?;
    match yaml::parse_stream_each(&text, limits.parse, each) {
        Ok(map) => Ok(Document::new(name.to_owned(), text, map)),
        Err(e) => Err(yaml_error(what, name, text, e)),
    }
}

/// The size limit, the BOM dropped, and the large-input hook, before a parse.
fn prepare(name: &str, text: String, limits: &Limits) -> Result<String, LoadError> {
    if text.len() as u64 > limits.max_file_bytes {
        return Err(LoadError::TooLarge {
            file: name.to_owned(),
            size: text.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text);
    super::large_input(text.len());
    Ok(text)
}

/// A YAML syntax error as the load error of the `what` the file should have been.
fn yaml_error(what: &'static str, name: &str, text: String, e: yaml::YamlError) -> LoadError {
    let map = SourceMap::lines_only(&text);
    let problem = Problem {
        message: format!("invalid YAML: {}", e.message),
        span: e.span,
        label: "here".into(),
        help: Some(parse_help(&e.message)),
        related: Vec::new(),
        path: None,
    };
    LoadError::invalid(what, name, text, map, vec![problem])
}

/// The problems of a parsed value: `extra`'s (checks the schema can't express) and the schema's, one
/// per place, in file order.
pub fn check_parsed(
    value: &Value,
    map: &SourceMap,
    schema: &Schema,
    extra: impl Fn(&Value, &SourceMap) -> Vec<Problem>,
) -> Vec<Problem> {
    let mut problems = extra(value, map);
    let specific: Vec<Option<Span>> = problems.iter().map(|p| p.span).collect();
    problems.extend(
        schema
            .validate(value, map)
            .into_iter()
            .filter(|p| !specific.contains(&p.span)),
    );
    problems.sort_by_key(|p| p.span);
    problems
}

/// The file's model read from `value` without the values the problems point at, so a reader can go on
/// past them and report the problems of the rest of the file in the same run. Each refused value is
/// removed; while the rest still doesn't deserialize (an entry left without a required field), the
/// entries holding them are removed instead, one level up at a time, never a top-level section. `None`
/// when a problem concerns the whole file or nothing readable is left.
pub fn read_on<T: serde::de::DeserializeOwned>(
    mut value: Value,
    problems: &[Problem],
) -> Option<T> {
    let mut paths: Vec<Vec<String>> = problems
        .iter()
        .filter_map(|p| p.path.as_deref())
        .filter(|p| !p.is_empty())
        .map(|p| p.split('.').map(str::to_owned).collect())
        .collect();
    if paths.len() < problems.len() {
        return None;
    }
    for _ in 0..4 {
        for path in &paths {
            remove(&mut value, path);
        }
        if let Ok(file) = serde_json::from_value::<T>(value.clone()) {
            return Some(file);
        }
        for path in &mut paths {
            if path.len() > 2 {
                path.pop();
            }
        }
    }
    None
}

/// Removes the node at `path` from `value`, if it is there (an array item becomes null).
fn remove(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = value;
    for seg in parents {
        node = match node {
            Value::Object(m) => match m.get_mut(seg) {
                Some(v) => v,
                None => return,
            },
            Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match node {
        Value::Object(m) => {
            m.shift_remove(last);
        }
        Value::Array(a) => {
            if let Some(item) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}

/// Captured command output as text: UTF-16 (PowerShell's `>` redirect writes UTF-16LE with a BOM) or
/// UTF-8, a UTF-8 BOM dropped; invalid bytes become U+FFFD.
pub fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let text = String::from_utf8_lossy(bytes);
    text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned()
}

fn parse_help(message: &str) -> String {
    if message.contains("duplicate mapping key") {
        "each key may appear once per mapping: remove or rename the second one".into()
    } else if message.contains("nested")
        || message.contains("too large")
        || message.contains("alias")
    {
        "the document is nested too deeply or expands too many aliases; manifests need neither"
            .into()
    } else {
        "fix the YAML syntax at this place (check indentation, quotes and brackets)".into()
    }
}
