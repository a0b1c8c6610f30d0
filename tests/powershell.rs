//! Every PowerShell text preflight emits parses as PowerShell: the facts collector, every
//! `fix --dialect powershell` and `gen firewall --dialect powershell` output, the hostile corpus
//! included. Parsed with tree-sitter's PowerShell grammar: no ERROR or MISSING node anywhere, and each
//! hostile description is exactly one verbatim (single-quoted) string literal, whatever it contains.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{root, run};
use tree_sitter::{Node, Parser, Tree};

fn parse(text: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("PowerShell grammar");
    parser.parse(text, None).expect("a tree")
}

/// Every ERROR or MISSING node, as `line:column kind` with the text around it.
fn errors(text: &str, tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if n.is_error() || n.is_missing() {
            let p = n.start_position();
            let line = text.lines().nth(p.row).unwrap_or("");
            out.push(format!(
                "{}:{} {}{}: {line}",
                p.row + 1,
                p.column + 1,
                if n.is_missing() { "MISSING " } else { "" },
                n.kind()
            ));
        }
        let mut c = n.walk();
        stack.extend(n.children(&mut c));
    }
    out
}

/// Every `string_literal` node's text.
fn literals<'a>(text: &'a str, node: Node<'_>, out: &mut Vec<&'a str>) {
    if node.kind() == "string_literal" {
        out.push(&text[node.byte_range()]);
        return;
    }
    let mut c = node.walk();
    for child in node.children(&mut c) {
        literals(text, child, out);
    }
}

fn out(dir: &std::path::Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = run(dir, args);
    assert!(code == 0 || code == 1, "{args:?}: exit {code}: {stderr}");
    stdout
}

/// Every PowerShell text preflight emits for the examples and fixtures.
fn emitted() -> Vec<(String, String)> {
    let fix = root().join("tests/fixtures/fix");
    let examples = root().join("examples");
    let mut v = vec![(
        "facts --script powershell".to_owned(),
        out(&examples, &["facts", "--script", "powershell"]),
    )];
    for (dir, m, extra) in [
        (&examples, "deploy.yaml", &[][..]),
        (&examples, "clean.yaml", &[]),
        (&fix, "windows.yaml", &["--facts", "windows.facts.json"]),
        (&fix, "linux.yaml", &[]),
        (&fix, "hostile.yaml", &[]),
    ] {
        let mut args = vec!["fix", m, "--dialect", "powershell"];
        args.extend(extra);
        v.push((args.join(" "), out(dir, &args)));
        let mut args = vec!["gen", "firewall", m, "--dialect", "powershell"];
        args.extend(extra);
        v.push((args.join(" "), out(dir, &args)));
    }
    // Without --dialect, a Windows host's script is PowerShell too.
    v.push((
        "fix windows.yaml --facts windows.facts.json (no dialect)".to_owned(),
        out(
            &fix,
            &["fix", "windows.yaml", "--facts", "windows.facts.json"],
        ),
    ));
    v
}

#[test]
fn every_powershell_text_we_emit_parses() {
    let all = emitted();
    assert!(all.len() >= 12);
    for (what, text) in all {
        assert!(text.len() > 50, "{what}: nearly empty: {text}");
        let tree = parse(&text);
        let errs = errors(&text, &tree);
        assert!(
            errs.is_empty(),
            "{what} does not parse:\n{}\n\n{text}",
            errs.join("\n")
        );
    }
}

#[test]
fn hostile_descriptions_are_one_verbatim_string_each() {
    let fix = root().join("tests/fixtures/fix");
    let text = out(
        &fix,
        &["gen", "firewall", "hostile.yaml", "--dialect", "powershell"],
    );
    let tree = parse(&text);
    assert!(errors(&text, &tree).is_empty());
    let mut all = Vec::new();
    literals(&text, tree.root_node(), &mut all);
    // The description (its second line folded into the first), with every character that ends or
    // expands a string elsewhere: quotes, typographic quotes, `$(…)`, backticks.
    let description = "it's \"quoted\" $(touch /tmp/pwned) `id` ; rm -rf / & | %PATH% ‘smart’ ’quotes‚ ‛x second line";
    let holding: Vec<&&str> = all.iter().filter(|l| l.contains("pwned")).collect();
    assert!(
        !holding.is_empty(),
        "no literal holds the description:\n{text}"
    );
    for lit in holding {
        assert!(lit.starts_with('\''), "not verbatim: {lit}");
        // Undo PowerShell's verbatim escaping: each of the four single quotes is doubled.
        let inner = &lit[lit.char_indices().nth(1).unwrap().0
            ..lit.len() - lit.chars().last().unwrap().len_utf8()];
        let mut back = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            back.push(c);
            if matches!(c, '\'' | '‘' | '’' | '‚' | '‛') {
                assert_eq!(
                    chars.next(),
                    Some(c),
                    "an undoubled quote ends the literal early: {lit}"
                );
            }
        }
        assert!(
            back.contains(description),
            "{back:?} should hold {description:?}"
        );
    }
}

#[test]
fn the_grammar_catches_what_the_test_is_for() {
    // A sanity floor: a broken text is reported, so a passing test means something.
    let broken = "New-NetFirewallRule -DisplayName 'a -Description 'it's'\n";
    assert!(!errors(broken, &parse(broken)).is_empty());
    // The collector writes `-State 'Listen','TimeWait'` (tree-sitter-powershell 0.26.6 also accepts
    // the bare `Listen, TimeWait`, which PowerShell reads the same way).
    let quoted = "Get-NetTCPConnection -State 'Listen','TimeWait'\n";
    assert!(errors(quoted, &parse(quoted)).is_empty());
}
