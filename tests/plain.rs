//! The plain renderer (logs, pipes, `NO_COLOR`) on the shapes a hand-made renderer gets wrong: a span
//! over two lines, a line with non-ASCII text (columns count characters, the caret sits under the
//! value), and a 200-column line (shown whole: plain output is not cut to a terminal's width).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use preflight::document::{Document, SourceMap, Span};
use preflight::report::plain::{Label, render};

fn doc(text: &str) -> Document {
    Document::new("deploy.yaml", text.into(), SourceMap::lines_only(text))
}

fn span_of(text: &str, needle: &str) -> Span {
    Span::new(text.find(needle).unwrap(), needle.len())
}

#[test]
fn a_span_over_two_lines() {
    let text = "services:\n  api:\n    ports: { http: { port: 8080,\n      bind: 127.0.0.1 } }\n";
    let d = doc(text);
    let out = render(
        "error",
        "unreachable-bind",
        "port `http` of `api` binds 127.0.0.1",
        &d,
        Some(Label {
            span: span_of(text, "{ port: 8080,\n      bind: 127.0.0.1 }"),
            text: "this entry",
        }),
        &[],
        Some("bind 0.0.0.0"),
    );
    insta::assert_snapshot!("plain_two_lines", out);
    assert!(out.contains("3 |") && out.contains("4 |"), "{out}");
}

#[test]
fn a_line_with_non_ascii_text() {
    let text = "services:\n  café-端口: { port: 99999, description: \"naïve\" }\n";
    let d = doc(text);
    let s = span_of(text, "99999");
    let out = render(
        "error",
        "schema",
        "port 99999 is out of range",
        &d,
        Some(Label {
            span: s,
            text: "1-65535",
        }),
        &[],
        None,
    );
    insta::assert_snapshot!("plain_non_ascii", out);
    // The header counts characters, as the JSON report does.
    let col = d.map.line_col(text, s.offset).column;
    assert!(
        out.contains(&format!("deploy.yaml:2:{col}")),
        "column {col}: {out}"
    );
}

#[test]
fn a_200_column_line() {
    let long = format!(
        "services:\n  api: {{ ports: {{ http: {{ port: 8080, description: \"{}\", bind: 127.0.0.1 }} }} }}\n",
        "x".repeat(140)
    );
    let line = long.lines().nth(1).unwrap();
    assert!(line.chars().count() >= 200, "{}", line.len());
    let d = doc(&long);
    let out = render(
        "warning",
        "overexposed",
        "a long line",
        &d,
        Some(Label {
            span: span_of(&long, "127.0.0.1"),
            text: "here",
        }),
        &[],
        None,
    );
    insta::assert_snapshot!("plain_200_columns", out);
    assert!(out.contains(line), "the whole line is shown: {out}");
}
