//! What a newcomer hit in one afternoon with the README (issue #17), one test per item, each failing on
//! the code before the fix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{check_json, root, run};

/// Writes `deploy.yaml` into `dir`.
fn manifest(dir: &Path, text: &str) {
    std::fs::write(dir.join("deploy.yaml"), text).unwrap();
}

fn help_of(report: &serde_json::Value, rule: &str) -> String {
    common::finding(report, rule)["help"]
        .as_str()
        .unwrap()
        .to_owned()
}

// 9. Wording.

#[test]
fn a_list_of_owners_reads_as_alternatives() {
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: { port: 9000, bind: 127.0.0.1, expose: local }\n",
    );
    let (_, report) = check_json(tmp.path(), "deploy.yaml", &[]);
    let help = help_of(&report, "well-known-port");
    assert!(
        help.contains("unless `api` is php-fpm, SonarQube, MinIO or Portainer itself"),
        "{help}"
    );
}

#[test]
fn a_bad_default_is_named_as_the_default_and_numbers_out_of_range_are_said_alike() {
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "version: 1\ntarget: { platform: linux }\nenvironment:\n  BIG: \"80000\"\nservices:\n  api:\n    ports:\n      a: \"${X:-abc}\"\n      b: \"${BIG}\"\n",
    );
    let (code, out, _) = run(tmp.path(), &["check", "deploy.yaml", "--format", "json"]);
    assert_eq!(code, 2);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let errors: Vec<(String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["message"].as_str().unwrap().to_owned(),
                e["help"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let find = |needle: &str| {
        errors
            .iter()
            .find(|(m, _)| m.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {errors:#?}"))
            .clone()
    };
    // The default is what's wrong, so the help says to change it, not to set the variable.
    let (_, help) = find("${X:-abc}");
    assert!(help.contains("change the default in `${X:-abc}`"), "{help}");
    // 80000 from a variable and 99999 written out are both "out of range".
    let (m, help) = find("${BIG}");
    assert!(
        m.contains("resolves to port 80000 (from `BIG`), which is out of range"),
        "{m}"
    );
    assert!(help.contains("set `BIG` to a number"), "{help}");
}

#[test]
fn a_custom_rule_failing_at_run_time_names_the_policy_file() {
    let dir = root().join("tests/fixtures/policy/undefined");
    let (code, _, _) = run(&dir, &["check", "deploy.yaml"]);
    assert_eq!(code, 2);
    let (_, human, _) = run(&dir, &["check", "deploy.yaml", "--color", "never"]);
    let line = human
        .lines()
        .find(|l| l.contains("custom rule `"))
        .unwrap_or_else(|| panic!("{human}"));
    assert!(
        line.starts_with("error: .preflight.yaml: custom rule `")
            && line.ends_with("(checking deploy.yaml)"),
        "{line}"
    );
}

#[test]
fn fleet_hosts_sort_without_case_as_they_compare() {
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: { port: 8080, bind: 127.0.0.1, expose: local }\n",
    );
    for host in ["WEB-02", "web-01", "Web-03"] {
        std::fs::write(
            tmp.path().join(format!("{host}.json")),
            format!(r#"{{"version":1,"host":"{host}","os":"linux"}}"#),
        )
        .unwrap();
    }
    let (_, report) = check_json(
        tmp.path(),
        "deploy.yaml",
        &[
            "--facts",
            "WEB-02.json",
            "--facts",
            "web-01.json",
            "--facts",
            "Web-03.json",
        ],
    );
    let names: Vec<&str> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-01", "WEB-02", "Web-03"]);
}

#[test]
fn an_empty_description_leaves_no_dangling_colon() {
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "version: 1\ntarget: { platform: linux }\nservices:\n  shop-api:\n    ports:\n      http: { port: 8443, expose: public }\n",
    );
    for (dialect, needle) in [
        ("firewalld", "# shop-api http (public)\n"),
        ("ufw", "comment 'shop-api http'"),
        ("nft", "comment \"shop-api http\""),
    ] {
        let (code, out, err) = run(
            tmp.path(),
            &["gen", "firewall", "deploy.yaml", "--dialect", dialect],
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(needle), "{dialect}: {needle:?} not in\n{out}");
        assert!(
            !out.contains("http: "),
            "{dialect}: dangling colon in\n{out}"
        );
    }
}
