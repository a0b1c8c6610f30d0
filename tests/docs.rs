//! Docs that can't drift: the README's rule tables list exactly the rules `preflight rules` prints, with
//! their default severities; the rule ids are snapshotted (a renamed id shows as a diff); every
//! subcommand's `--help` is snapshotted and the clap definitions pass clap's own debug checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use clap::CommandFactory;
use common::{root, run};
use preflight::cli::Cli;

/// `(id, severity)` of every row of a rule table in the README: a first cell that is a backticked id
/// and a second that is a severity.
fn readme_rules() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut rows = Vec::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        let [_, id, severity, ..] = cells.as_slice() else {
            continue;
        };
        let Some(id) = id.strip_prefix('`').and_then(|s| s.strip_suffix('`')) else {
            continue;
        };
        if ["error", "warning", "info"].contains(severity) {
            rows.push((id.to_owned(), (*severity).to_owned()));
        }
    }
    rows.sort();
    rows
}

#[test]
fn readme_rule_tables_list_exactly_the_rules() {
    let tmp = tempfile::tempdir().unwrap(); // no .preflight.yaml here: default severities
    let (code, stdout, stderr) = run(tmp.path(), &["rules", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mut rules: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rules.sort();
    assert_eq!(readme_rules(), rules);
}

#[test]
fn rule_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, stdout, _) = run(tmp.path(), &["rules"]);
    let ids: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    insta::assert_snapshot!("rule_ids", ids.join("\n"));
}

#[test]
fn clap_definitions_are_consistent() {
    Cli::command().debug_assert();
}

/// Every command path below `cmd`, e.g. `["gen", "firewall"]`.
fn paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut p = prefix.to_vec();
        p.push(sub.get_name().to_owned());
        out.push(p.clone());
        paths(sub, &p, out);
    }
}

#[test]
fn help_of_every_subcommand() {
    let mut all = vec![Vec::new()];
    paths(&Cli::command(), &[], &mut all);
    assert!(all.len() >= 15, "{all:?}");
    for path in all {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (code, stdout, stderr) = common::preflight_in(&root())
            .args(&args)
            .env("COLUMNS", "100")
            .output()
            .map(|o| {
                (
                    o.status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&o.stdout).into_owned(),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                )
            })
            .unwrap();
        assert_eq!(code, 0, "{args:?}: {stderr}");
        let name = if path.is_empty() {
            "help".to_owned()
        } else {
            format!("help__{}", path.join("__"))
        };
        insta::assert_snapshot!(name, stdout);
    }
}

#[test]
fn facts_help_lists_every_import_kind() {
    let (code, stdout, _) = run(&root(), &["facts", "--help"]);
    assert_eq!(code, 0);
    for (name, kind) in preflight::facts::import::ImportKind::ALL {
        let line = format!("{name:<24} {}", kind.command());
        assert!(
            stdout.contains(&line),
            "`facts --help` lacks {line:?}:\n{stdout}"
        );
    }
}

/// `docs/rules/ID.md` (what the language server's diagnostics link to) is `preflight explain ID` for
/// every rule, kept equal here; `PREFLIGHT_BLESS=1 cargo test --test docs` writes them.
#[test]
fn rule_pages_are_explain_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, stdout, _) = run(tmp.path(), &["rules", "--format", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let dir = root().join("docs/rules");
    let bless = std::env::var_os("PREFLIGHT_BLESS").is_some();
    let mut ids = Vec::new();
    for r in listed.as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let (code, page, _) = run(tmp.path(), &["explain", id]);
        assert_eq!(code, 0, "{id}");
        let path = dir.join(format!("{id}.md"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &page).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            page,
            "{id}: run PREFLIGHT_BLESS=1 cargo test --test docs"
        );
        ids.push(format!("{id}.md"));
    }
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    ids.sort();
    assert_eq!(files, ids, "one page per rule, no other");
}
