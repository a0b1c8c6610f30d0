//! Property tests: path ↔ span mapping, port-range arithmetic, and the quoting filters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use preflight::fix::quote;
use preflight::manifest::{LoadOptions, load_str};
use preflight::ports::PortRange;
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every port's path maps to the exact text of its number, in flow or block style.
    #[test]
    fn paths_map_to_the_value_text(
        services in proptest::collection::btree_map(name(), proptest::collection::btree_map(name(), 1u16..=65535, 1..4), 1..5),
        flow in any::<bool>(),
        indent in 2usize..5,
    ) {
        let pad = " ".repeat(indent);
        let mut text = String::from("version: 1\ntarget: { platform: linux }\nservices:\n");
        for (s, ports) in &services {
            text.push_str(&format!("{pad}{s}:\n{pad}{pad}ports:\n"));
            for (p, n) in ports {
                if flow {
                    text.push_str(&format!("{pad}{pad}{pad}{p}: {{ port: {n} }}\n"));
                } else {
                    text.push_str(&format!("{pad}{pad}{pad}{p}:\n{pad}{pad}{pad}{pad}port: {n}\n"));
                }
            }
        }
        let (m, doc) = load_str("p.yaml", text.clone(), &LoadOptions::default()).unwrap();
        for (_, port) in m.ports() {
            let span = doc.map.span(&port.number_path);
            prop_assert_eq!(&text[span.offset..span.offset + span.len], port.number.unwrap().to_string());
            let lc = doc.map.line_col(&text, span.offset);
            prop_assert_eq!(doc.map.offset_of(&text, lc.line, lc.column), span.offset);
        }
    }

    #[test]
    fn ranges(a in 1u16..=65535, b in 1u16..=65535, c in 1u16..=65535, d in 1u16..=65535, p in 1u16..=65535) {
        let (Some(x), Some(y)) = (PortRange::new(a.min(b), a.max(b)), PortRange::new(c.min(d), c.max(d))) else { unreachable!() };
        prop_assert_eq!(x.intersection(y), y.intersection(x));
        if let Some(i) = x.intersection(y) {
            prop_assert!(x.contains(i.start) && y.contains(i.end) && i.len() <= x.len().min(y.len()));
        }
        prop_assert_eq!(x.intersection(y).is_some_and(|i| i.contains(p)), x.contains(p) && y.contains(p));
        prop_assert_eq!(PortRange::from_start_count(x.start, x.len()), Some(x));
        prop_assert_eq!(x.to_string().parse::<PortRange>().ok(), Some(x));
    }

    #[test]
    fn yaml_quoting_round_trips(s in "\\PC{0,40}") {
        let doc = format!("v: {}\n", quote::yaml(&s));
        let v: serde_json::Value = serde_saphyr::from_str(&doc).unwrap();
        prop_assert_eq!(v["v"].as_str().unwrap(), s);
    }

    #[test]
    fn powershell_quoting_round_trips(s in "[\\PC'\u{2018}\u{2019}\u{201A}\u{201B}]{0,40}") {
        let q = quote::ps(&s);
        // Read the literal back the way PowerShell does: a quote ends it unless doubled.
        let inner = &q[1..q.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
                prop_assert_eq!(chars.next(), Some(c), "an undoubled quote would end the string");
            }
            out.push(c);
        }
        prop_assert_eq!(out, s);
    }

    #[test]
    fn cmd_and_names_are_safe(s in "\\PC{0,60}") {
        let q = quote::cmd(&s);
        prop_assert!(q.starts_with('"') && q.ends_with('"'));
        prop_assert!(!q[1..q.len() - 1].contains(['"', '%', '^', '&', '|', '<', '>', '!', '\n', '\r']));
        if let Some(n) = quote::dns1123(&s) {
            prop_assert!(n.len() <= 63 && !n.starts_with('-') && !n.ends_with('-'));
            prop_assert!(n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        }
        prop_assert!(!quote::comment(&s, true).contains(['\n', '\r', '%', '^', '!']));
    }
}

/// POSIX quoting, checked by a real shell: what `sh` prints is exactly the input.
#[test]
fn shell_quoting_round_trips_through_sh() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(48));
    runner
        .run(&"[^\u{0}]{0,40}", |s| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote::sh(&s)))
                .output()
                .unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&out.stdout).into_owned(), s);
            Ok(())
        })
        .unwrap();
}
