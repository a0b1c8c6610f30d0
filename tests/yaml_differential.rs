//! Differential property test: preflight's event-based YAML reader (`document::yaml`, hand-written for
//! speed, over libyaml's events) and serde-saphyr (the maintained serde YAML reader, over its own
//! parser, granit-parser) agree on generated YAML: two independent parsers and two builders give the
//! same JSON value for every document both accept, and both refuse the same broken ones —
//! except a duplicate key, which serde-saphyr refuses and preflight reads as non-strict readers do
//! (the later value wins, and the key is recorded for the `duplicate-key` rule).
//!
//! The generator writes mappings and sequences in block and flow style, nested, with scalars plain,
//! single- and double-quoted (escapes, non-ASCII, `#`, `: `), numbers, booleans, nulls, anchors and
//! aliases, and then breaks some documents: a duplicate key, an unclosed flow collection, a bad indent,
//! an undefined alias, a tab in the indentation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use preflight::document::yaml::{ParseLimits, parse};
use proptest::prelude::*;
use serde_json::Value;

/// A generated node.
#[derive(Clone, Debug)]
enum Node {
    Scalar(Scalar),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

/// A scalar and how to write it.
#[derive(Clone, Debug)]
enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// A string written plain (only when that reads back as the same string).
    Plain(String),
    Single(String),
    Double(String),
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        any::<i32>().prop_map(|n| Scalar::Int(n.into())),
        (-1000i32..1000, 1u32..100)
            .prop_map(|(a, b)| Scalar::Float(f64::from(a) + f64::from(b) / 128.0)),
        any::<bool>().prop_map(Scalar::Bool),
        Just(Scalar::Null),
        "[a-z][a-z0-9_-]{0,8}".prop_map(Scalar::Plain),
        "[ -~éü端]{0,12}".prop_map(Scalar::Single),
        "[ -~éü端\t\n]{0,12}".prop_map(Scalar::Double),
    ]
}

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,6}"
}

fn node() -> impl Strategy<Value = Node> {
    scalar()
        .prop_map(Node::Scalar)
        .prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::btree_map(key(), inner.clone(), 0..5)
                    .prop_map(|m| Node::Map(m.into_iter().collect())),
                proptest::collection::vec(inner, 0..5).prop_map(Node::Seq),
            ]
        })
}

/// Plain words YAML would read as something other than the string (YAML 1.1 and 1.2 alike).
fn plain_is_safe(s: &str) -> bool {
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "nan" | "inf"
    ) && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn write_scalar(s: &Scalar) -> String {
    match s {
        Scalar::Int(n) => n.to_string(),
        Scalar::Float(f) => format!("{f:?}"),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null => "null".into(),
        Scalar::Plain(p) if plain_is_safe(p) => p.clone(),
        Scalar::Plain(p) | Scalar::Single(p) => format!("'{}'", p.replace('\'', "''")),
        Scalar::Double(d) => serde_json::to_string(d).unwrap(),
    }
}

/// Writes a node in flow style.
fn flow(n: &Node) -> String {
    match n {
        Node::Scalar(s) => write_scalar(s),
        Node::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k}: {}", flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Node::Seq(v) => format!("[{}]", v.iter().map(flow).collect::<Vec<_>>().join(", ")),
    }
}

/// Writes a node in block style at `indent`; `flow_below` switches nested collections to flow.
fn block(n: &Node, indent: usize, out: &mut String, flow_below: usize) {
    let pad = " ".repeat(indent);
    match n {
        Node::Map(m) if !m.is_empty() => {
            for (k, v) in m {
                match v {
                    Node::Map(c) if !c.is_empty() && indent / 2 < flow_below => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        block(v, indent + 2, out, flow_below);
                    }
                    Node::Seq(c) if !c.is_empty() && indent / 2 < flow_below => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        block(v, indent + 2, out, flow_below);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", flow(v))),
                }
            }
        }
        Node::Seq(v) if !v.is_empty() => {
            for item in v {
                match item {
                    Node::Map(c) if !c.is_empty() && indent / 2 < flow_below => {
                        out.push_str(&format!("{pad}-\n"));
                        block(item, indent + 2, out, flow_below);
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", flow(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", flow(other))),
    }
}

/// Ways to break a document.
#[derive(Clone, Copy, Debug)]
enum Break {
    None,
    DuplicateKey,
    UnclosedFlow,
    BadIndent,
    UndefinedAlias,
    TabIndent,
}

fn breaks() -> impl Strategy<Value = Break> {
    prop_oneof![
        4 => Just(Break::None),
        1 => Just(Break::DuplicateKey),
        1 => Just(Break::UnclosedFlow),
        1 => Just(Break::BadIndent),
        1 => Just(Break::UndefinedAlias),
        1 => Just(Break::TabIndent),
    ]
}

fn document(root: &[(String, Node)], flow_below: usize, brk: Break) -> String {
    let mut text = String::new();
    block(&Node::Map(root.to_vec()), 0, &mut text, flow_below);
    match brk {
        Break::None => {}
        Break::DuplicateKey => text.push_str(&format!("{}: 1\n", root[0].0)),
        Break::UnclosedFlow => text.push_str("zz_open: [1, {a: 2}\n"),
        Break::BadIndent => text.push_str("zz_a:\n    b: 1\n  c: 2\n"),
        Break::UndefinedAlias => text.push_str("zz_alias: *nowhere\n"),
        Break::TabIndent => text.push_str("zz_tab:\n\tb: 1\n"),
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_event_reader_and_serde_saphyr_agree(
        root in proptest::collection::btree_map(key(), node(), 1..6),
        flow_below in 0usize..4,
        brk in breaks(),
        anchor in any::<bool>(),
    ) {
        let root: Vec<(String, Node)> = root.into_iter().collect();
        let mut text = document(&root, flow_below, brk);
        if anchor && matches!(brk, Break::None) {
            // An anchored flow value and an alias to it.
            text.push_str("zz_anchor: &a {x: 1, y: [true, null]}\nzz_ref: *a\n");
        }
        let ours = parse(&text, ParseLimits::default());
        if matches!(brk, Break::DuplicateKey) {
            // Ours reads the later value in the first key's place, as serde-saphyr reads the
            // document with the first key's value replaced.
            let (v, map) = ours.expect("a duplicate key is read");
            prop_assert_eq!(map.duplicates().len(), 1, "{}", text);
            let mut theirs: Value = serde_saphyr::from_str(&document(&root, flow_below, Break::None)).unwrap();
            theirs[root[0].0.as_str()] = Value::from(1);
            prop_assert_eq!(v, theirs, "values differ for:\n{}", text);
            return Ok(());
        }
        let theirs: Result<Value, _> = serde_saphyr::from_str(&text);
        match (&ours, &theirs) {
            (Ok((v, _)), Ok(t)) => prop_assert_eq!(v, t, "values differ for:\n{}", text),
            (Err(_), Err(_)) => {}
            (Ok((v, _)), Err(e)) => prop_assert!(false, "only serde-saphyr refused ({e}):\n{text}\nours: {v}"),
            (Err(e), Ok(t)) => prop_assert!(false, "only ours refused ({}):\n{text}\ntheirs: {t}", e.message),
        }
        if matches!(brk, Break::None) {
            prop_assert!(ours.is_ok(), "a well-formed document was refused:\n{}", text);
        } else {
            prop_assert!(ours.is_err(), "{:?} was accepted:\n{}", brk, text);
        }
    }
}
