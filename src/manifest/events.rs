//! Building the JSON value and the path → span table straight from the YAML parser's events.
//!
//! This is the hot path of a large check, so it skips serde: `granit-parser` (the parser under
//! serde-saphyr) yields events with byte spans, and one recursive descent turns them into a
//! `serde_json::Value` and the span of every path. It keeps the guarantees the loader documents:
//! duplicate keys are refused, aliases are expanded with a budget (the alias-bomb guard), nesting and
//! size are bounded, merge keys (`<<`) are applied, and scalars follow the YAML 1.2 core schema
//! (`off`, `yes` and `0755` stay strings).

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span as GSpan};
use rustc_hash::FxHashMap;
use serde_json::{Map, Number, Value};

use super::source_map::{Entry, ParseError, ParseLimits, Span, join};

fn span_of(s: &GSpan) -> Span {
    let start = s.start.byte_offset().unwrap_or(0);
    let end = s.end.byte_offset().unwrap_or(start).max(start);
    Span::new(start, end - start)
}

fn err(message: impl Into<String>, span: Span) -> ParseError {
    ParseError {
        message: message.into(),
        span: Some(span),
    }
}

/// A plain scalar as the YAML 1.2 core schema reads it; quoted and block scalars are strings.
fn scalar(text: &str, style: ScalarStyle, str_tag: bool) -> Value {
    if style != ScalarStyle::Plain || str_tag {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // `0755` stays text: a leading zero is not a number a manifest means.
        if digits.len() > 1 && digits.starts_with('0') {
            return Value::String(text.to_owned());
        }
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Value::Number(u.into());
        }
        return Value::String(text.to_owned());
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(u) = u64::from_str_radix(hex, 16)
    {
        return Value::Number(u.into());
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(u) = u64::from_str_radix(oct, 8)
    {
        return Value::Number(u.into());
    }
    let float_like = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if float_like && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

fn count(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(count).sum::<usize>(),
        _ => 1,
    }
}

struct Builder<'a> {
    events: Parser<'a, granit_parser::StrInput<'a>>,
    limits: ParseLimits,
    entries: FxHashMap<String, Entry>,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    replayed: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, GSpan), ParseError> {
        loop {
            match self.events.next() {
                Some(Ok((Event::Comment(..) | Event::Anchor(..), _))) => continue,
                Some(Ok(e)) => return Ok(e),
                Some(Err(e)) => {
                    let at = e.marker().byte_offset().map(|o| Span::new(o, 0));
                    return Err(ParseError {
                        message: e.info().to_string(),
                        span: at,
                    });
                }
                None => {
                    return Err(ParseError {
                        message: "unexpected end of the document".into(),
                        span: None,
                    });
                }
            }
        }
    }

    fn bump(&mut self, span: Span) -> Result<(), ParseError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(err(
                format!(
                    "the document is too large (more than {} nodes)",
                    self.limits.max_nodes
                ),
                span,
            ));
        }
        Ok(())
    }

    fn record(&mut self, path: &str, value: Span, key: Option<Span>) {
        self.entries.insert(path.to_owned(), Entry { value, key });
    }

    fn node(
        &mut self,
        event: Event<'a>,
        gspan: GSpan,
        path: &str,
        key: Option<Span>,
        depth: usize,
    ) -> Result<Value, ParseError> {
        let span = span_of(&gspan);
        self.bump(span)?;
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let str_tag = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                (scalar(&text, style, str_tag), anchor)
            }
            Event::Alias(id) => {
                let Some((v, n)) = self.anchors.get(&id).cloned() else {
                    return Err(err("unknown anchor", span));
                };
                self.replayed += n;
                if self.replayed > self.limits.max_alias_events {
                    return Err(err(
                        "aliases expand to too many nodes (an alias bomb?)",
                        span,
                    ));
                }
                (v, 0)
            }
            Event::SequenceStart(_, anchor, _) => {
                if depth >= self.limits.max_depth {
                    return Err(err("the document is nested too deeply", span));
                }
                let mut items = Vec::new();
                loop {
                    let (e, s) = self.next()?;
                    if matches!(e, Event::SequenceEnd) {
                        break;
                    }
                    let child = join(path, &items.len().to_string());
                    items.push(self.node(e, s, &child, None, depth + 1)?);
                }
                (Value::Array(items), anchor)
            }
            Event::MappingStart(_, anchor, _) => {
                if depth >= self.limits.max_depth {
                    return Err(err("the document is nested too deeply", span));
                }
                let mut map = Map::new();
                let mut merged: Vec<Value> = Vec::new();
                loop {
                    let (e, s) = self.next()?;
                    let key_span = span_of(&s);
                    let key = match e {
                        Event::MappingEnd => break,
                        Event::Scalar(text, ..) => text.into_owned(),
                        Event::Alias(id) => match self.anchors.get(&id) {
                            Some((Value::String(k), _)) => k.clone(),
                            _ => return Err(err("a mapping key must be text", key_span)),
                        },
                        _ => {
                            return Err(err(
                                "a mapping key must be text, not a collection",
                                key_span,
                            ));
                        }
                    };
                    let (e, s) = self.next()?;
                    if key == "<<" {
                        let v = self.node(e, s, &join(path, "<<"), Some(key_span), depth + 1)?;
                        match v {
                            Value::Object(_) => merged.push(v),
                            Value::Array(items) if items.iter().all(Value::is_object) => {
                                merged.extend(items)
                            }
                            _ => {
                                return Err(err(
                                    "a merge key (`<<`) takes a mapping or a list of mappings",
                                    key_span,
                                ));
                            }
                        }
                        continue;
                    }
                    if map.contains_key(&key) {
                        return Err(err(format!("duplicate mapping key: {key}"), key_span));
                    }
                    let child = join(path, &key);
                    let v = self.node(e, s, &child, Some(key_span), depth + 1)?;
                    map.insert(key, v);
                }
                // Merged keys fill in; keys written in the mapping win.
                for m in merged {
                    if let Value::Object(m) = m {
                        for (k, v) in m {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
                (Value::Object(map), anchor)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                return Err(err("unexpected end of a collection", span));
            }
            _ => return Err(err("unexpected YAML event", span)),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), count(&value)));
        }
        self.record(path, span, key);
        Ok(value)
    }
}

/// Parses one YAML document into its JSON value and the path → span table.
pub(crate) fn parse(
    text: &str,
    limits: ParseLimits,
) -> Result<(Value, FxHashMap<String, Entry>), ParseError> {
    let mut b = Builder {
        events: Parser::new_from_str(text),
        limits,
        entries: FxHashMap::default(),
        anchors: HashMap::new(),
        nodes: 0,
        replayed: 0,
    };
    let mut root = Value::Null;
    let mut documents = 0;
    loop {
        let (e, s) = match b.events.next() {
            None => break,
            Some(Err(e)) => {
                let at = e.marker().byte_offset().map(|o| Span::new(o, 0));
                return Err(ParseError {
                    message: e.info().to_string(),
                    span: at,
                });
            }
            Some(Ok(x)) => x,
        };
        match e {
            Event::StreamStart | Event::DocumentEnd | Event::Comment(..) | Event::Anchor(..) => {}
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(err(
                        "a manifest is one YAML document; this file has several (`---`)",
                        span_of(&s),
                    ));
                }
                let (e, s) = b.next()?;
                if matches!(e, Event::DocumentEnd) {
                    b.record("", span_of(&s), None);
                    continue;
                }
                root = b.node(e, s, "", None, 0)?;
            }
            _ => return Err(err("unexpected YAML event", span_of(&s))),
        }
    }
    if !b.entries.contains_key("") {
        b.record("", Span::default(), None);
    }
    Ok((root, b.entries))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let d =
            v("base: &b { port: 80, bind: 0.0.0.0 }\nweb:\n  <<: *b\n  port: 8080\nother: *b\n");
        assert_eq!(d["web"]["port"], 8080, "written keys win over merged ones");
        assert_eq!(d["web"]["bind"], "0.0.0.0");
        assert_eq!(d["other"]["port"], 80);
    }

    #[test]
    fn guards() {
        let e = parse("a: 1\na: 2\n", ParseLimits::default()).unwrap_err();
        assert!(e.message.contains("duplicate mapping key: a"));
        assert_eq!(e.span, Some(Span::new(5, 1)));
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
}
