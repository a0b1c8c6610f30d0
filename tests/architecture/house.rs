//! The house rules beside the layers (issue #27): no file under `src/` is longer than [`MAX_LINES`]
//! lines, and library code has no `String` for an error type (`Result<_, String>`, `type Err = String`,
//! `Err(format!(…))`): each module owns a `thiserror` enum, as STYLE.md asks. A file may break a rule
//! only when it is named in [`LONG_FILES`] or [`STRING_ERRORS`] with a reason, and an exception that
//! is no longer needed is itself reported, so the lists shrink as the code is fixed.

use std::collections::BTreeMap;

use super::code_of;

/// The longest a file under `src/` may be, in lines.
pub const MAX_LINES: usize = 500;

/// Files allowed over [`MAX_LINES`], each with its reason.
pub const LONG_FILES: &[(&str, &str)] = &[];

/// Files allowed a `String` error, each with its reason.
pub const STRING_ERRORS: &[(&str, &str)] = &[];

/// A house rule broken.
#[derive(Debug, PartialEq, Eq)]
pub enum Breach {
    /// A file longer than [`MAX_LINES`].
    TooLong { file: String, lines: usize },
    /// A `String` used as an error type, at a 1-based line.
    StringError {
        file: String,
        line: usize,
        what: &'static str,
    },
    /// An exception for a file that keeps the rule (or no longer exists).
    NeedlessException { file: String, rule: &'static str },
}

/// Whether a file holds only tests (`src/document/yaml_tests.rs`), which may use any error type.
fn is_test_file(rel: &str) -> bool {
    rel.ends_with("_tests.rs")
}

/// The `String` errors of one file's code (test modules, comments and string contents already gone):
/// (1-based line, what was found).
pub fn string_errors(code: &str) -> Vec<(usize, &'static str)> {
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if squeezed.contains("Err(format!(") {
            out.push((i + 1, "Err(format!(…))"));
        }
        if squeezed.contains("typeErr=String;") || squeezed.contains("typeError=String;") {
            out.push((i + 1, "type Err = String"));
        }
    }
    // `Result<…, String>`, possibly over several lines.
    let mut from = 0;
    while let Some(i) = code[from..].find("Result<") {
        let at = from + i;
        from = at + "Result<".len();
        if code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue; // `MyResult<…>` is another type
        }
        if result_error_is_string(&code[from..]) {
            let line = code[..at].matches('\n').count() + 1;
            out.push((line, "Result<_, String>"));
        }
    }
    out.sort_unstable();
    out
}

/// Whether the generic arguments that start `args` (just after `Result<`) end in `String`.
fn result_error_is_string(args: &str) -> bool {
    let mut depth = 0usize;
    let mut start = 0;
    let mut parts: Vec<&str> = Vec::new();
    let mut prev = ' ';
    for (i, c) in args.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' if prev == '-' => {} // `->` in a `Fn() -> T` argument
            '>' | ')' | ']' => {
                if depth == 0 {
                    parts.push(args[start..i].trim());
                    parts.retain(|p| !p.is_empty()); // a trailing comma
                    // `io::Result<T>` has one argument.
                    return parts.len() == 2
                        && matches!(parts[1], "String" | "std::string::String");
                }
                depth -= 1;
            }
            ',' if depth == 0 => {
                parts.push(args[start..i].trim());
                start = i + 1;
            }
            ';' | '{' => return false,
            _ => {}
        }
        prev = c;
    }
    false
}

/// Checks the house rules over `path below src/ → text`, with the given exceptions.
pub fn check(
    sources: &BTreeMap<String, String>,
    long_files: &[(&str, &str)],
    string_allowed: &[(&str, &str)],
) -> Vec<Breach> {
    let excepted = |list: &[(&str, &str)], rel: &str| list.iter().any(|(f, _)| *f == rel);
    let mut found = Vec::new();
    for (rel, text) in sources {
        let lines = text.lines().count();
        if lines > MAX_LINES && !excepted(long_files, rel) {
            found.push(Breach::TooLong {
                file: rel.clone(),
                lines,
            });
        }
        if is_test_file(rel) || excepted(string_allowed, rel) {
            continue;
        }
        for (line, what) in string_errors(&code_of(text)) {
            found.push(Breach::StringError {
                file: rel.clone(),
                line,
                what,
            });
        }
    }
    for (file, reason) in long_files {
        assert!(
            !reason.trim().is_empty(),
            "{file}: an exception needs a reason"
        );
        if sources
            .get(*file)
            .is_none_or(|t| t.lines().count() <= MAX_LINES)
        {
            found.push(Breach::NeedlessException {
                file: (*file).to_owned(),
                rule: "long file",
            });
        }
    }
    for (file, reason) in string_allowed {
        assert!(
            !reason.trim().is_empty(),
            "{file}: an exception needs a reason"
        );
        if sources
            .get(*file)
            .is_none_or(|t| string_errors(&code_of(t)).is_empty())
        {
            found.push(Breach::NeedlessException {
                file: (*file).to_owned(),
                rule: "string error",
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(files: &[(&str, String)]) -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(p, t)| ((*p).to_owned(), t.clone()))
            .collect()
    }

    #[test]
    fn a_planted_long_file_is_reported_unless_excepted() {
        let long = "fn f() {}\n".repeat(MAX_LINES + 1);
        let exact = "fn f() {}\n".repeat(MAX_LINES);
        let src = sources(&[("facts/big.rs", long), ("ok.rs", exact)]);
        assert_eq!(
            check(&src, &[], &[]),
            vec![Breach::TooLong {
                file: "facts/big.rs".into(),
                lines: MAX_LINES + 1
            }]
        );
        assert_eq!(check(&src, &[("facts/big.rs", "generated")], &[]), vec![]);
        // An exception for a file within the limit, or for no file, is itself reported.
        assert_eq!(
            check(
                &src,
                &[("facts/big.rs", "generated"), ("ok.rs", "why")],
                &[]
            ),
            vec![Breach::NeedlessException {
                file: "ok.rs".into(),
                rule: "long file"
            }]
        );
    }

    #[test]
    fn planted_string_errors_are_reported_with_their_lines() {
        let text = "\
use std::fmt;
pub fn a(s: &str) -> Result<u16, String> {
    Err(format!(\"bad {s}\"))
}
pub fn b() -> std::result::Result<
    Vec<(u16, u16)>,
    String,
> { todo!() }
impl std::str::FromStr for X {
    type Err = String;
}
fn c() { return Err( format! (\"x\")); }
";
        let src = sources(&[("manifest/x.rs", text.to_owned())]);
        let found = check(&src, &[], &[]);
        let at: Vec<(usize, &str)> = found
            .iter()
            .map(|b| match b {
                Breach::StringError { line, what, .. } => (*line, *what),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            at,
            [
                (2, "Result<_, String>"),
                (3, "Err(format!(…))"),
                (5, "Result<_, String>"),
                (10, "type Err = String"),
                (12, "Err(format!(…))"),
            ]
        );
        assert_eq!(check(&src, &[], &[("manifest/x.rs", "why")]), vec![]);
    }

    #[test]
    fn typed_errors_tests_comments_and_strings_pass() {
        let text = "\
//! Returns `Result<u16, String>` in prose only.
pub fn a() -> Result<String, CaptureError> { todo!() }
pub fn b() -> io::Result<String> { todo!() }
pub fn c() -> Result<Box<dyn Fn() -> String>, Error> { todo!() }
pub fn d() -> MyResult<u16, String> { todo!() }
pub fn e() -> Result<Option<String>, ExprError> { todo!() }
pub fn f() -> String { format!(\"Err(format!(x))\") } // Err(format!(\"y\"))
#[cfg(test)]
mod tests {
    fn g() -> Result<(), String> { Err(format!(\"test\")) }
}
";
        let src = sources(&[
            ("facts/y.rs", text.to_owned()),
            (
                "document/yaml_tests.rs",
                "fn t() -> Result<(), String> { Ok(()) }\n".to_owned(),
            ),
        ]);
        assert_eq!(check(&src, &[], &[]), vec![]);
        // An exception for a file with no string error is reported.
        assert_eq!(
            check(&src, &[], &[("facts/y.rs", "why")]),
            vec![Breach::NeedlessException {
                file: "facts/y.rs".into(),
                rule: "string error"
            }]
        );
    }
}
