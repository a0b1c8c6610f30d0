//! Machine formats: SARIF validated against the official 2.1.0 schema, well-formed JUnit, escaped GitHub
//! annotations, `--output`, `--quiet`, `--color`, completions and the man page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{root, run};
use serde_json::Value;

fn examples(args: &[&str]) -> (i32, String) {
    let (code, out, err) = run(&root().join("examples"), args);
    assert!(code == 0 || code == 1, "{args:?}: {err}");
    (code, out)
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for file in ["deploy.yaml", "clean.yaml", "policy/deploy.yaml"] {
        let (_, out) = examples(&["check", file, "--format", "sarif"]);
        let log: Value = serde_json::from_str(&out).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{file}: {errors:#?}");
    }
    let (_, out) = examples(&["check", "deploy.yaml", "--format", "sarif"]);
    let log: Value = serde_json::from_str(&out).unwrap();
    let first_run = &log["runs"][0];
    let rules = first_run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(
        rules.iter().any(
            |r| r["id"] == "ephemeral-range" && r["defaultConfiguration"]["level"] == "warning"
        )
    );
    let result = first_run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "port-conflict")
        .unwrap();
    assert_eq!(result["level"], "error");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (
            region["startLine"].as_u64(),
            region["startColumn"].as_u64(),
            region["endColumn"].as_u64()
        ),
        (Some(40), Some(21), Some(26))
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy.yaml"
    );
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "port-conflict"
    );
    assert!(
        result["relatedLocations"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("first used")
    );
    // A file that can't be checked is a failed invocation with a notification, not a silent pass.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("bad.yaml"), "version: [").unwrap();
    let (code, out, _) = run(tmp.path(), &["check", "bad.yaml", "--format", "sarif"]);
    assert_eq!(code, 2);
    let log: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
    assert!(validator.iter_errors(&log).next().is_none());
}

#[test]
fn junit_is_well_formed_and_counts_failures_and_passes() {
    let (_, out) = examples(&["check", "deploy.yaml", "--format", "junit"]);
    let doc = roxmltree::Document::parse(&out).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("name"), Some("deploy.yaml"));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        suite.attribute("tests").unwrap().parse::<usize>().unwrap(),
        cases.len()
    );
    let failing = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    assert_eq!(
        suite
            .attribute("failures")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        failing
    );
    assert_eq!(failing, 6, "the six errors fail at the default level");
    let passing = cases
        .iter()
        .filter(|c| !c.children().any(|n| n.is_element()))
        .count();
    assert!(passing > 50, "passing checks are listed too");
    // Warnings fail with --fail-on warning.
    let (_, out) = examples(&[
        "check",
        "deploy.yaml",
        "--format",
        "junit",
        "--fail-on",
        "warning",
    ]);
    let doc = roxmltree::Document::parse(&out).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("failures"), Some("8"));
    // Hostile text stays well-formed.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("x.yaml"), "version: 1\ntarget: { platform: linux }\nenvironment: { P: \"<&>\\\"'\" }\nservices:\n  a:\n    ports:\n      http: \"${P}\"\n").unwrap();
    let (code, out, _) = run(tmp.path(), &["check", "x.yaml", "--format", "junit"]);
    assert_eq!(code, 2);
    roxmltree::Document::parse(&out).unwrap();
}

#[test]
fn github_annotations_are_escaped() {
    let (code, out) = examples(&["check", "deploy.yaml", "--format", "github"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8, "one command per finding:\n{out}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("::error ") || l.starts_with("::warning "))
    );
    let conflict = lines
        .iter()
        .find(|l| l.contains("title=port-conflict"))
        .unwrap();
    assert!(
        conflict.starts_with(
            "::error file=deploy.yaml,line=40,col=21,endLine=40,endColumn=26,title=port-conflict::"
        ),
        "{conflict}"
    );
    assert!(
        conflict.contains("%0Ahelp: "),
        "line breaks are escaped: {conflict}"
    );
    assert!(!out.contains("\r"));
    let (_, info) = examples(&[
        "check",
        "deploy.yaml",
        "--format",
        "github",
        "--fail-on",
        "never",
    ]);
    assert_eq!(info, out, "the format does not depend on the fail level");
}

#[test]
fn output_file_quiet_and_color() {
    let tmp = tempfile::tempdir().unwrap();
    let sarif = tmp.path().join("out.sarif");
    let (code, out, _) = run(
        &root().join("examples"),
        &[
            "check",
            "deploy.yaml",
            "--format",
            "sarif",
            "--output",
            sarif.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "the exit code is the same whatever the format");
    assert!(
        out.contains("error[port-conflict]"),
        "the human report still goes to the terminal"
    );
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let (code, out, _) = run(
        &root().join("examples"),
        &["check", "deploy.yaml", "--quiet"],
    );
    assert_eq!((code, out.as_str()), (1, ""));
    let (_, out, _) = run(
        &root().join("examples"),
        &["check", "deploy.yaml", "--color", "always"],
    );
    assert!(
        out.contains('\u{1b}'),
        "--color always forces the coloured report"
    );
    let (_, out, _) = run(
        &root().join("examples"),
        &["check", "deploy.yaml", "--color", "never"],
    );
    assert!(!out.contains('\u{1b}'));
    let out = common::preflight_in(&root().join("examples"))
        .args(["check", "deploy.yaml"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
}

#[test]
fn completions_man_and_version() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, out, _) = run(&root(), &["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(
            out.contains("preflight") && out.contains("diagnose"),
            "{shell}"
        );
    }
    if common::has("bash") {
        let (_, script, _) = run(&root(), &["completions", "bash"]);
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("c.bash");
        std::fs::write(&f, script).unwrap();
        let ok = std::process::Command::new("bash")
            .arg("-n")
            .arg(&f)
            .status()
            .unwrap();
        assert!(ok.success(), "the bash completion script parses");
    }
    let (code, man, _) = run(&root(), &["man"]);
    assert_eq!(code, 0);
    assert!(
        man.starts_with(".ie") || man.contains(".TH preflight"),
        "{}",
        &man[..man.len().min(200)]
    );
    let (code, v, _) = run(&root(), &["--version"]);
    assert_eq!(code, 0);
    // The version and the commit it was built from: `preflight 0.1.0 (a38004d 2026-12-05)`, or
    // `(unknown)` outside a git checkout.
    let v = v.trim();
    let commit = v
        .strip_prefix(&format!("preflight {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{v}"));
    let mut parts = commit.split(' ');
    let hash = parts.next().unwrap_or_default();
    assert!(
        commit == "unknown"
            || (hash.len() >= 7
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
                && parts.next().is_some_and(|d| d.len() == 10)),
        "{v}"
    );
}
