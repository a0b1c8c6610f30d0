//! Tests of the event-based YAML reader and of the source maps it builds.

use super::*;
use crate::document::builder::{LARGE, SCAN_KEYS};
use crate::document::source_map::Span;

fn v(text: &str) -> Value {
    parse(text, ParseLimits::default()).unwrap().0
}

#[test]
fn scalars_follow_the_core_schema() {
    let d = v(
        "a: 1\nb: -2\nc: 1.5\nd: true\ne: off\nf: yes\ng: ~\nh: '1'\ni: 0755\nj: 0x1F\nk: abc\nl: \"true\"\nm: !!str 12\n",
    );
    assert_eq!(d["a"], 1);
    assert_eq!(d["b"], -2);
    assert_eq!(d["c"], 1.5);
    assert_eq!(d["d"], true);
    assert_eq!(d["e"], "off");
    assert_eq!(d["f"], "yes");
    assert!(d["g"].is_null());
    assert_eq!(d["h"], "1");
    assert_eq!(d["i"], "0755");
    assert_eq!(d["j"], 31);
    assert_eq!(d["k"], "abc");
    assert_eq!(d["l"], "true");
    assert_eq!(d["m"], "12");
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let d = v("base: &b { port: 80, bind: 0.0.0.0 }\nweb:\n  <<: *b\n  port: 8080\nother: *b\n");
    assert_eq!(d["web"]["port"], 8080, "written keys win over merged ones");
    assert_eq!(d["web"]["bind"], "0.0.0.0");
    assert_eq!(d["other"]["port"], 80);
}

#[test]
fn guards() {
    // A key written twice: the later value is read, both places are kept.
    let (d, map) = parse("a: 1\na: 2\n", ParseLimits::default()).unwrap();
    assert_eq!(d["a"], 2);
    assert_eq!(map.duplicates(), [("a".to_owned(), "a#0".to_owned())]);
    assert_eq!(map.span("a"), Span::new(8, 1));
    assert_eq!(map.span("a#0"), Span::new(3, 1));
    let deep = format!("x: {}{}\n", "[".repeat(40), "]".repeat(40));
    assert!(
        parse(&deep, ParseLimits::default())
            .unwrap_err()
            .message
            .contains("nested too deeply")
    );
    let limits = ParseLimits {
        max_alias_events: 5,
        ..ParseLimits::default()
    };
    let bomb = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n";
    assert!(parse(bomb, limits).unwrap_err().message.contains("alias"));
    assert!(
        parse("a: 1\n---\nb: 2\n", ParseLimits::default())
            .unwrap_err()
            .message
            .contains("several")
    );
    assert!(parse("a: *nope\n", ParseLimits::default()).is_err());
}

/// A document past `PIPELINE_BYTES` goes through the two-thread pipeline; it must give exactly
/// what the single-thread path gives, and report errors (from either side) at the same place.
#[test]
fn the_pipeline_matches_the_single_thread_parse() {
    let mut big = String::from("services:\n");
    let mut i = 0;
    while big.len() < PIPELINE_BYTES * 2 {
        big.push_str(&format!("  s{i}: {{ port: {i}, bind: \"x\" }}\n"));
        i += 1;
    }
    let limits = ParseLimits::default();
    let piped = parse_entries(&big, limits, None, None).unwrap();
    let single = build(&big, limits, None, events(&big), None).unwrap();
    assert_eq!(piped.0, single.0);
    assert_eq!(piped.1.len(), single.1.len());
    assert_eq!(
        piped.1.get("services.s7.port"),
        single.1.get("services.s7.port")
    );

    // A scanner error near the end arrives through the channel with its place.
    let broken = format!("{big}  bad: [1, 2\n");
    let e = parse(&broken, limits).unwrap_err();
    assert!(e.span.unwrap().offset >= big.len(), "{e:?}");
    // The builder stopping early (node limit) hangs up on the scanner thread.
    let few = ParseLimits {
        max_nodes: 100,
        ..limits
    };
    assert!(parse(&big, few).unwrap_err().message.contains("too large"));
    // A duplicate key far into a large file is recorded on the pipelined path too.
    let dup = format!("{big}  s0: 1\n");
    assert_eq!(parse(&dup, limits).unwrap().1.duplicates().len(), 1);
}

/// libyaml reads its input 16 KiB at a time: a character that straddles a read is read whole, and
/// places stay byte offsets into the whole text.
#[test]
fn characters_across_libyamls_reads_are_read_whole() {
    for shift in 0..4 {
        let mut text = String::from("a: \"");
        while text.len() < 16 * 1024 - 2 - shift {
            text.push('x');
        }
        text.push_str("端é端\"\nb: 端\n");
        let (value, map) = parse(&text, ParseLimits::default()).unwrap();
        let a = value["a"].as_str().unwrap();
        assert!(a.ends_with("x端é端"), "{shift}");
        assert_eq!(value["b"], "端");
        let b = map.span("b");
        assert_eq!(&text[b.offset..b.offset + b.len], "端");
    }
}

/// A character YAML does not allow is refused at its place (libyaml's reader names its byte).
#[test]
fn a_forbidden_character_is_refused_where_it_is() {
    let e = parse("a: b\nc: d\u{1}e\n", ParseLimits::default()).unwrap_err();
    assert!(e.message.contains("control characters"), "{e:?}");
    assert_eq!(e.span, Some(Span::new(9, 1)));
}

/// The source map's lookups, on maps this parser built.
mod source_map {
    use super::super::ParseLimits;
    use super::super::parse;
    use crate::document::source_map::{LineCol, pointer_to_path};

    /// Lines and columns from the sparse line index equal a count from the start of the text, on
    /// every offset of a text of several strides (multi-byte characters, empty lines, no final
    /// newline), and `offset_of` inverts them on every character.
    #[test]
    fn line_col_and_offset_of_agree_with_counting_from_the_start() {
        let mut text = String::new();
        for i in 0..150 {
            let line = match i % 4 {
                0 => String::new(),
                1 => format!("k{i}: é{i}"),
                2 => format!("  - \"ü{}\"", "x".repeat(i % 7)),
                _ => format!("k{i}:"),
            };
            text.push_str(&line);
            if i < 149 {
                text.push('\n');
            }
        }
        let map = crate::document::source_map::SourceMap::lines_only(&text);
        for offset in 0..=text.len() + 3 {
            let at = offset.min(text.len());
            let before = &text.as_bytes()[..at];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let column = text
                .get(start..at)
                .map_or(at - start, |s| s.chars().count())
                + 1;
            assert_eq!(
                map.line_col(&text, offset),
                LineCol { line, column },
                "{offset}"
            );
            if text.is_char_boundary(at) {
                assert_eq!(map.offset_of(&text, line, column), at, "{offset}");
            }
        }
        assert_eq!(map.offset_of(&text, 151, 1), text.len());
        assert_eq!(map.offset_of(&text, 500, 1), text.len());
    }

    #[test]
    fn spans_point_at_values_and_keys() {
        let text = "a:\n  b: { c: \"x\" }\n  d: [1, 2]\n";
        let (v, map) = parse(text, ParseLimits::default()).unwrap();
        assert_eq!(v["a"]["b"]["c"], "x");
        let s = map.span("a.b.c");
        assert_eq!(&text[s.offset..s.offset + s.len], "\"x\"");
        let s = map.span("a.d.1");
        assert_eq!(&text[s.offset..s.offset + s.len], "2");
        // block mapping: the key is underlined
        let s = map.span("a");
        assert_eq!(&text[s.offset..s.offset + s.len], "a");
        // missing leaf falls back to its parent
        assert_eq!(map.span("a.b.c.zzz"), map.span("a.b.c"));
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "é: 1\nbb: 22\n";
        let (_, map) = parse(text, ParseLimits::default()).unwrap();
        let s = map.span("bb");
        assert_eq!(map.line_col(text, s.offset), LineCol { line: 2, column: 5 });
        let s = map.span("é");
        assert_eq!(map.line_col(text, s.offset), LineCol { line: 1, column: 4 });
        assert_eq!(map.offset_of(text, 2, 5), text.find("22").unwrap());
        assert_eq!(map.offset_of(text, 1, 2), "é".len());
    }

    #[test]
    fn duplicate_keys_are_kept_with_both_places() {
        let (v, map) = parse("a: 1\nb: 2\na: 3\n", ParseLimits::default()).unwrap();
        assert_eq!(v["a"], 3, "the later value is read");
        assert_eq!(map.key_span("a").unwrap().offset, 10);
        assert_eq!(map.key_span("a#0").unwrap().offset, 0);
    }

    #[test]
    fn pointers_become_paths() {
        assert_eq!(
            pointer_to_path("/services/a~1b/ports"),
            "services.a/b.ports"
        );
        assert_eq!(pointer_to_path(""), "");
    }
}

#[test]
fn a_stream_is_an_array_of_its_documents_with_indexed_paths() {
    let text = "---\n# Source: c/templates/a.yaml\na: &x 1\nb: *x\n---\n---\nc: [2]\n...\n";
    let (v, map) = parse_stream(text, ParseLimits::default()).unwrap();
    assert_eq!(v, serde_json::json!([{"a": 1, "b": 1}, {"c": [2]}]));
    assert_eq!(&text[map.span("1.c.0").offset..][..1], "2");
    assert_eq!(&text[map.span("0.b").offset..][..2], "*x");
    // Anchors are per document.
    assert!(parse_stream("a: &x 1\n---\nb: *x\n", ParseLimits::default()).is_err());
    // One document stays refused by the single-document parse.
    assert!(parse("a: 1\n---\nb: 2\n", ParseLimits::default()).is_err());
}

/// `parse_stream_each` hands over the documents `parse_stream` puts in its array, in order, while
/// the parse goes on, with the same source map; a syntax error after some documents is still the
/// parse's error. Both sides of the two-thread pipeline.
#[test]
fn each_document_of_a_stream_is_handed_over_as_it_is_built() {
    let mut big = String::new();
    let mut i = 0;
    while big.len() < PIPELINE_BYTES * 2 {
        big.push_str(&format!(
            "---\nkind: Service\nmetadata: {{ name: s{i} }}\n---\n"
        ));
        i += 1;
    }
    let small = "---\na: &x 1\nb: *x\n---\n---\nc: [2]\n...\n";
    for text in [small, big.as_str()] {
        let limits = ParseLimits::default();
        let (whole, map) = parse_stream(text, limits).unwrap();
        let mut handed = Vec::new();
        let each_map = parse_stream_each(text, limits, &mut |v| handed.push(v)).unwrap();
        assert_eq!(serde_json::Value::Array(handed), whole);
        for path in ["", "0", "0.a", "1", "1.c.0", "7.metadata.name"] {
            assert_eq!(each_map.span(path), map.span(path), "{path}");
        }
        let broken = format!("{text}---\nbad: [1, 2\n");
        let mut count = 0;
        let e = parse_stream_each(&broken, limits, &mut |_| count += 1).unwrap_err();
        assert!(e.span.unwrap().offset >= text.len(), "{e:?}");
        assert_eq!(count, whole.as_array().unwrap().len());
    }
}

#[test]
fn local_tags_are_kept_by_path() {
    let text = "services:\n  web:\n    ports: !reset []\n    expose: !override [\"80\"]\n    image: !!str x\n";
    let (_, map) = parse(text, ParseLimits::default()).unwrap();
    assert_eq!(map.tag("services.web.ports"), Some("reset"));
    assert_eq!(map.tag("services.web.expose"), Some("override"));
    assert_eq!(map.tag("services.web.image"), None);
}

/// A key written twice keeps its first place and takes the later value, in small mappings (keys
/// compared one by one) and large ones (keys found through the index), and the map holds each key
/// once, in the order first written.
#[test]
fn duplicate_keys_in_small_and_large_mappings() {
    for n in [3, SCAN_KEYS, SCAN_KEYS + 1, 40] {
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!("k{i}: {i}\n"));
        }
        let again = n - 2;
        text.push_str(&format!("k{again}: later\nlast: 1\n"));
        let (value, map) = parse(&text, ParseLimits::default()).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        let mut expected: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        expected.push("last".into());
        assert_eq!(keys, expected.iter().collect::<Vec<_>>(), "{n}");
        assert_eq!(value[format!("k{again}")], "later", "{n}");
        assert_eq!(value[format!("k{}", n - 1)], (n - 1) as u64, "{n}");
        let path = format!("k{again}");
        assert_eq!(
            map.duplicates(),
            [(path.clone(), format!("{path}#0"))],
            "{n}"
        );
        let later = map.span(&path);
        assert_eq!(
            &text[later.offset..later.offset + later.len],
            "later",
            "{n}"
        );
        let first = map.span(&format!("{path}#0"));
        assert_eq!(
            &text[first.offset..first.offset + first.len],
            again.to_string(),
            "{n}"
        );
    }
}

/// A mapping and a list past [`LARGE`] go straight into the map or list: the same value as below it
/// (order, a key written twice on either side of the switch keeping its first place and its later
/// value, every place in the table).
#[test]
fn large_collections_read_as_small_ones() {
    let n = LARGE + 900;
    let mut text = String::from("map:\n");
    for i in 0..n {
        text.push_str(&format!("  k{i}: {i}\n"));
        if i == LARGE + 10 {
            text.push_str("  k3: again\n");
        }
        if i == LARGE + 20 {
            text.push_str(&format!("  k{}: later\n", LARGE + 5));
        }
    }
    text.push_str("list:\n");
    for i in 0..n {
        text.push_str(&format!("  - {i}\n"));
    }
    let (v, map) = parse(&text, ParseLimits::default()).unwrap();
    let m = v["map"].as_object().unwrap();
    assert_eq!(m.len(), n);
    let keys: Vec<&String> = m.keys().collect();
    let want: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    assert!(keys.iter().zip(&want).all(|(a, b)| *a == b), "order kept");
    assert_eq!(m["k3"], "again");
    assert_eq!(m[&format!("k{}", LARGE + 5)], "later");
    assert_eq!(m["k4"], 4);
    assert_eq!(map.duplicates().len(), 2);
    let list = v["list"].as_array().unwrap();
    assert_eq!(list.len(), n);
    assert!(
        list.iter()
            .enumerate()
            .all(|(i, x)| x.as_u64() == Some(i as u64))
    );
    let last = format!("list.{}", n - 1);
    assert_eq!(
        map.span(&last).offset,
        text.rfind(&(n - 1).to_string()).unwrap()
    );
}

/// A pruned value is null and everything else as parsed: its key and every place in it stay in the
/// table, and an anchor inside it still gives its value to an alias.
#[test]
fn pruned_values_are_null_and_keep_their_places() {
    fn drop_image(path: &str, depth: usize, key: &str, _: &Value) -> bool {
        depth == 2 && path.starts_with("services.") && key == "image"
    }
    let text = "services:\n  web:\n    image: &img { name: nginx }\n    ports: [\"80:80\"]\n  db:\n    base: *img\n";
    let (v, map) = parse_pruned(text, ParseLimits::default(), drop_image).unwrap();
    assert_eq!(v["services"]["web"]["image"], Value::Null);
    assert_eq!(v["services"]["web"]["ports"][0], "80:80");
    assert_eq!(v["services"]["db"]["base"]["name"], "nginx");
    let (full, full_map) = parse(text, ParseLimits::default()).unwrap();
    assert_ne!(full, v);
    for path in [
        "services.web.image",
        "services.web.image.name",
        "services.web.ports.0",
    ] {
        assert_eq!(map.span(path), full_map.span(path), "{path}");
        assert!(map.span(path).len > 0, "{path}");
    }
}
