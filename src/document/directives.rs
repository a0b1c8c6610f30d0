//! Ignore directives written in YAML comments: `# preflight: ignore[rule-id, …] reason` at the end of
//! a line (for that line) or alone on a line (for the next line with content), and
//! `# preflight: ignore-file[rule-id, …] reason` (for the whole file). Only the text is read here;
//! what the rule ids mean is the checker's business.

use super::Span;

/// One directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The 1-based line whose findings it covers; `None` for `ignore-file`.
    pub line: Option<usize>,
    /// The rule ids named, as written.
    pub rules: Vec<String>,
    /// The text after the bracket, trimmed; `None` when there is none.
    pub reason: Option<String>,
    /// Where the comment is, from its `#` to the end of the line.
    pub span: Span,
}

/// A comment that starts a directive but can't be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// Where the comment is.
    pub span: Span,
    /// What is wrong.
    pub message: String,
}

/// The directives of `text`, in file order, and the comments that look like one but can't be read.
pub fn directives(text: &str) -> (Vec<Directive>, Vec<Malformed>) {
    // Every directive holds `preflight:`; most files have none, and one search over the text is
    // faster than looking at each of its lines.
    if !text.contains("preflight:") {
        return (Vec::new(), Vec::new());
    }
    let mut out = Vec::new();
    let mut bad = Vec::new();
    // (line index of a comment-only directive, its index in `out`) waiting for the next content line.
    let mut pending: Vec<usize> = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        let comment_only = trimmed.starts_with('#');
        if !trimmed.is_empty() && !comment_only {
            for k in pending.drain(..) {
                if let Some(d) = out.get_mut(k) {
                    let d: &mut Directive = d;
                    d.line = Some(i + 1);
                }
            }
        }
        let Some(at) = find_directive(body) else {
            continue;
        };
        let span = Span::new(start + at, body.len() - at);
        let rest = body[at..].trim_start_matches('#').trim_start();
        let rest = rest["preflight:".len()..].trim_start();
        let (file, rest) = if let Some(r) = rest.strip_prefix("ignore-file") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("ignore") {
            (false, r)
        } else {
            bad.push(Malformed {
                span,
                message: "a `# preflight:` comment takes `ignore[rule-id] reason` or `ignore-file[rule-id] reason`".into(),
            });
            continue;
        };
        let Some((inside, reason)) = rest
            .trim_start()
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
        else {
            bad.push(Malformed {
                span,
                message: "name the rules in brackets: `# preflight: ignore[port-conflict] reason`"
                    .into(),
            });
            continue;
        };
        let rules: Vec<String> = inside
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        if rules.is_empty() {
            bad.push(Malformed {
                span,
                message: "name at least one rule in the brackets".into(),
            });
            continue;
        }
        let reason = Some(reason.trim().to_owned()).filter(|r| !r.is_empty());
        let line = if file {
            None
        } else if comment_only {
            pending.push(out.len());
            Some(0)
        } else {
            Some(i + 1)
        };
        out.push(Directive {
            line,
            rules,
            reason,
            span,
        });
    }
    // A line directive with no content line after it covers nothing; keep it (reported as unused).
    (out, bad)
}

/// The byte offset of a `# preflight:` comment in a line, if it has one.
fn find_directive(line: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(k) = line[from..].find('#') {
        let at = from + k;
        // A comment starts at the line's start or after white space (YAML's rule).
        let starts = at == 0 || line[..at].ends_with([' ', '\t']);
        if starts && line[at + 1..].trim_start().starts_with("preflight:") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_line_own_line_and_file_directives() {
        let text = "# preflight: ignore-file[well-known-port] lab host\nservices:\n  # preflight: ignore[port-conflict, port-plan] shared on purpose\n\n  api:\n    ports: { http: 80 }  # preflight: ignore[privileged-port]\n  x: \"a#preflight: ignore[z]\"\n";
        let (d, bad) = directives(text);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(
            (d[0].line, d[0].rules.clone(), d[0].reason.as_deref()),
            (None, vec!["well-known-port".to_owned()], Some("lab host"))
        );
        assert_eq!(d[1].line, Some(5), "the next line with content");
        assert_eq!(d[1].rules, ["port-conflict", "port-plan"]);
        assert_eq!((d[2].line, d[2].reason.clone()), (Some(6), None));
        assert_eq!(
            &text[d[2].span.offset..d[2].span.offset + d[2].span.len],
            "# preflight: ignore[privileged-port]"
        );
    }

    #[test]
    fn malformed_directives_are_said() {
        let (d, bad) = directives(
            "a: 1 # preflight: ignore port-conflict\nb: 2 # preflight: skip[x]\nc: 3 # preflight: ignore[]\n",
        );
        assert!(d.is_empty());
        assert_eq!(bad.len(), 3);
    }
}
