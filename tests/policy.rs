//! Policies: layering and precedence, waivers and expiry, custom rules (and their failures), the schema,
//! `rules`/`explain` with custom rules, `policy show` and `suggest`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{check_json, preflight_in, root, run};
use serde_json::Value;

fn dir(name: &str) -> PathBuf {
    root().join("tests/fixtures/policy").join(name)
}

fn severity_of(report: &Value, rule: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| f["severity"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn precedence_pack_then_extended_then_local_then_flag() {
    let d = dir("layers");
    // The windows-server pack alone makes ephemeral-range an error.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(d.join("app/deploy.yaml"), tmp.path().join("deploy.yaml")).unwrap();
    std::fs::write(
        tmp.path().join("pack.yaml"),
        "version: 1\nextends: [windows-server]\n",
    )
    .unwrap();
    let (_, r) = check_json(
        tmp.path(),
        "deploy.yaml",
        &["--policy", "pack.yaml", "--fail-on", "never"],
    );
    assert_eq!(severity_of(&r, "ephemeral-range"), ["error"]);
    // base.yaml (extends the pack) says warning; the discovered .preflight.yaml (extends base.yaml) says info.
    let (_, r) = check_json(&d, "app/deploy.yaml", &["--fail-on", "never"]);
    assert_eq!(severity_of(&r, "ephemeral-range"), ["info"]);
    // base.yaml's allow list reaches through: 1433 is accepted, 3389 is not.
    let wk: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "well-known-port")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(wk, ["services.api.ports.rdp"]);
    // --policy wins over everything.
    let (_, r) = check_json(
        &d,
        "app/deploy.yaml",
        &["--policy", "override.yaml", "--fail-on", "never"],
    );
    assert!(severity_of(&r, "ephemeral-range").is_empty());
    let (code, out, _) = run(
        &d,
        &[
            "policy",
            "show",
            "app/deploy.yaml",
            "--policy",
            "override.yaml",
        ],
    );
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).unwrap();
    let layers: Vec<&str> = shown["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        layers,
        [
            "policies/baseline.yaml (built in)",
            "policies/windows-server.yaml (built in)",
            "base.yaml",
            ".preflight.yaml",
            "override.yaml"
        ]
    );
    assert_eq!(shown["rules"]["ephemeral-range"], "off");
    assert_eq!(shown["rules"]["excluded-range"], "error", "from the pack");
}

#[test]
fn waivers_match_paths_and_expire() {
    let d = dir("waivers");
    let run_on = |today: &str| -> (i32, Value) {
        let out = preflight_in(&d)
            .args(["check", "deploy.yaml", "--format", "json"])
            .env("PREFLIGHT_TODAY", today)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice(&out.stdout).unwrap(),
        )
    };
    let (_, r) = run_on("2026-01-15");
    let waived: Vec<(&str, &str)> = r["waived"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["path"].as_str().unwrap(), w["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        waived,
        [
            ("services.legacy.ports.http", "retired in Q3"),
            (
                "services.api.ports.metrics",
                "metrics move with the Q2 platform upgrade"
            ),
            ("services.db.ports.pg", "this service is PostgreSQL"),
        ]
    );
    let left: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        left,
        ["services.legacy.ports.other"],
        "a waiver covers its own path only"
    );
    // After 2026-06-30 the metrics waiver no longer applies, and it is itself a warning in the policy file.
    let (code, r) = run_on("2026-07-01");
    assert_eq!(code, 0, "warnings only");
    let rules: Vec<(&str, &str)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["file"].as_str().unwrap()))
        .collect();
    assert!(rules.contains(&("ephemeral-range", "deploy.yaml")));
    assert!(
        rules.contains(&("waiver-expired", ".preflight.yaml")),
        "{rules:?}"
    );
    let expired = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "waiver-expired")
        .unwrap();
    assert_eq!(
        (expired["line"].as_u64(), expired["column"].as_u64()),
        (Some(10), Some(14))
    );
    assert_eq!(r["waived"].as_array().unwrap().len(), 2);
    // Human output counts the waived findings.
    let out = preflight_in(&d)
        .args(["check", "deploy.yaml"])
        .env("PREFLIGHT_TODAY", "2026-01-15")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 waived"));
}

#[test]
fn custom_rules_report_with_their_message_and_severity() {
    let (code, r) = check_json(&dir("custom"), "deploy.yaml", &[]);
    assert_eq!(code, 1);
    let f: Vec<(&str, &str, &str)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "orders-block" || f["rule"] == "public-is-https")
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        f,
        [
            (
                "orders-block",
                "error",
                "orders-api listens on 8081, outside the orders block"
            ),
            (
                "public-is-https",
                "warning",
                "public port http of web is http, not https"
            ),
        ]
    );
    let orders = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "orders-block")
        .unwrap();
    assert_eq!(orders["path"], "services.orders-api.ports.admin");
    assert!(
        orders["help"]
            .as_str()
            .unwrap()
            .contains("preflight suggest --team orders")
    );
    // rules and explain know the custom rules.
    let (_, rules, _) = run(&dir("custom"), &["rules"]);
    assert!(rules.contains("orders-block") && rules.contains("custom (policy)"));
    let (code, ex, _) = run(&dir("custom"), &["explain", "orders-block"]);
    assert_eq!(code, 0);
    assert!(ex.contains("port.number >= 11000"));
    let (_, json, _) = run(&dir("custom"), &["rules", "--format", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "orders-block" && r["kind"] == "custom")
    );
}

#[test]
fn custom_rules_that_run_away_or_misname_stop_with_exit_2() {
    for (d, needle) in [("hostile", "fuel"), ("undefined", "undefined")] {
        let (code, r) = check_json(&dir(d), "deploy.yaml", &[]);
        assert_eq!(code, 2, "{d}: {r:#}");
        let msg = r["errors"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains(needle) && msg.contains("custom rule `"),
            "{d}: {msg}"
        );
        assert!(
            msg.contains("custom.0"),
            "names where the rule is written: {msg}"
        );
    }
}

#[test]
fn bad_policies_are_exit_2_with_places_and_suggestions() {
    // Policy problems are reported like manifest problems: on stdout, each with its place.
    let (code, err, _) = run(&dir("broken"), &["check", "deploy.yaml"]);
    assert_eq!(code, 2, "{err}");
    for needle in [
        "unknown rule `ephemeral-rang`",
        "did you mean `ephemeral-range`?",
        "rule `port-conflict` takes no `allow` list",
        "`2027-02-30` is not a day of the calendar",
        "`port-plan` is a built-in rule",
        "custom rule `bad-expr`: bad `assert`",
        ".preflight.yaml:18:13",
    ] {
        assert!(err.contains(needle), "{needle} not in:\n{err}");
    }
    let (code, err, _) = run(&dir("broken-schema"), &["check", "deploy.yaml"]);
    assert_eq!(code, 2);
    for needle in [
        "unknown field `extend`",
        "did you mean `extends`?",
        "`fatal` is not a valid value",
        "did you mean `severity`?",
        "missing field `reason`",
    ] {
        assert!(err.contains(needle), "{needle} not in:\n{err}");
    }
    assert!(err.contains("error[invalid-policy]"));
}

#[test]
fn every_problem_of_a_policy_file_is_reported_in_one_run() {
    // An unknown pack in `extends` used to stop the loading before the rest of the file was read (#27).
    let d = dir("every-problem");
    let (code, out, _) = run(&d, &["check", "deploy.yaml"]);
    assert_eq!(code, 2, "{out}");
    for needle in [
        "no built-in policy pack `windows-servr`",
        "did you mean `windows-server`?",
        ".preflight.yaml:3:11",
        "`critical` is not a valid value",
        ".preflight.yaml:5:20",
        "unknown rule `ephemeral-rang`",
        "did you mean `ephemeral-range`?",
        ".preflight.yaml:6:3",
        "could not be checked (3 problems)",
    ] {
        assert!(out.contains(needle), "{needle} not in:\n{out}");
    }
    // The same three, in order, with their places, in the JSON report.
    let (code, r) = check_json(&d, "deploy.yaml", &[]);
    assert_eq!(code, 2);
    let places: Vec<(u64, u64)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["file"] == ".preflight.yaml")
        .map(|e| (e["line"].as_u64().unwrap(), e["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(places, [(3, 11), (5, 20), (6, 3)], "{r:#}");
}

#[test]
fn suggest_finds_the_lowest_port_passing_every_rule() {
    let d = dir("custom");
    let (code, out, _) = run(&d, &["suggest", "--team", "orders", "--format", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["port"], 11000);
    // With a port taken on the host, the next one.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(d.join("deploy.yaml"), tmp.path().join("deploy.yaml")).unwrap();
    std::fs::write(
        tmp.path().join("host.json"),
        r#"{"version":1,"os":"linux","sockets":{"origin":"captured","detail":"ss","value":[{"protocol":"tcp","address":"0.0.0.0","port":11000,"state":"listen","pid":9,"process":"x"}]}}"#,
    )
    .unwrap();
    let (_, out, _) = run(
        tmp.path(),
        &["suggest", "--team", "orders", "--facts", "host.json"],
    );
    assert!(out.starts_with("11001/tcp"), "{out}");
    // A range where every port breaks a rule (well-known 3306, the ephemeral range on Linux).
    let (code, out, _) = run(&d, &["suggest", "--range", "3306-3306"]);
    assert_eq!(code, 1, "{out}");
    let (code, _, err) = run(&d, &["suggest", "--team", "order"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `orders`"), "{err}");
}

#[test]
fn packs_load_and_validate() {
    for (name, _) in preflight::policy::load::PACKS {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("p.yaml"),
            format!("version: 1\nextends: [{name}]\n"),
        )
        .unwrap();
        let (code, out, err) = run(tmp.path(), &["policy", "show", "--policy", "p.yaml"]);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(out.contains(&format!("policies/{name}.yaml (built in)")));
    }
}
