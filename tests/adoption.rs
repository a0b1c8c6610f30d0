//! Adopting preflight in a repository that already has findings: inline ignores (comments in deploy
//! manifests and Compose files, annotations on Kubernetes objects) and baselines, on real files (each
//! fixture names its source; the ignores are added here, as a team adopting preflight adds them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{check_json, root, rules_of, run};

/// The annotation `ignore.preflight/<rule>` on a Kubernetes object waives that rule's findings inside
/// the object, with its reason, in JSON (`by: inline`, the annotation's place) and SARIF
/// (`suppressions` of kind `inSource`); `fix` then has nothing to fix; `--no-inline-ignores` brings
/// the findings back.
#[test]
fn a_kubernetes_annotation_waives_its_rule_in_its_object() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        root().join("tests/fixtures/kubernetes/01-ingress-nginx-kind.yaml"),
    )
    .unwrap();
    // The controller Deployment's metadata gains the annotation (kind runs containerd 2).
    let marker = "kind: Deployment\nmetadata:\n";
    assert!(text.contains(marker));
    let text = text.replacen(
        marker,
        &format!("{marker}  annotations:\n    ignore.preflight/privileged-port: \"kind's containerd 2 lets pods bind any port\"\n"),
        1,
    );
    std::fs::write(tmp.path().join("ingress.yaml"), text).unwrap();
    let (code, v) = check_json(tmp.path(), "ingress.yaml", &["--fail-on", "warning"]);
    assert!(
        !rules_of(&v).contains(&"privileged-port".to_owned()),
        "{v:#}"
    );
    let waived = v["waived"].as_array().unwrap();
    assert_eq!(waived.len(), 2, "{v:#}");
    for w in waived {
        assert_eq!(
            (w["rule"].as_str(), w["by"].as_str()),
            (Some("privileged-port"), Some("inline"))
        );
        assert_eq!(w["reason"], "kind's containerd 2 lets pods bind any port");
        assert_eq!(w["ignore"]["line"], 75, "the annotation's place");
    }
    // What is left is not a warning any more (the two privileged-port warnings were all).
    assert_eq!(code, 0, "{v:#}");
    let (_, sarif, _) = run(
        tmp.path(),
        &[
            "check",
            "ingress.yaml",
            "--format",
            "sarif",
            "--fail-on",
            "never",
        ],
    );
    let s: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let suppressed: Vec<&serde_json::Value> = s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["suppressions"].is_null())
        .collect();
    assert_eq!(suppressed.len(), 2);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        suppressed[0]["suppressions"][0]["location"]["physicalLocation"]["region"]["startLine"],
        75
    );
    let (_, fix, _) = run(tmp.path(), &["fix", "ingress.yaml", "--dialect", "k8s"]);
    assert!(
        !fix.contains("[privileged-port]"),
        "fix never uses ignored findings:\n{fix}"
    );
    let (_, strict) = check_json(
        tmp.path(),
        "ingress.yaml",
        &["--fail-on", "never", "--no-inline-ignores"],
    );
    assert_eq!(
        rules_of(&strict)
            .iter()
            .filter(|r| *r == "privileged-port")
            .count(),
        2
    );
    assert_eq!(strict["waived"], serde_json::json!([]));
}

/// In a deploy manifest, an ignore at the end of a line, alone on the line above and for the whole
/// file; one that matches nothing is reported (`inline-ignore`, like ruff's RUF100).
#[test]
fn comments_in_a_deploy_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (_, before) = {
        std::fs::copy(root().join("examples/deploy.yaml"), d.join("deploy.yaml")).unwrap();
        check_json(d, "deploy.yaml", &["--fail-on", "never"])
    };
    let conflict = common::finding(&before, "port-conflict");
    let line = conflict["line"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(d.join("deploy.yaml")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[line - 1].push_str("  # preflight: ignore[port-conflict] billing moves next sprint");
    lines.insert(
        0,
        "# preflight: ignore-file[well-known-port] the lab host has nothing else".into(),
    );
    // Alone on the last line, it covers no line: unused.
    lines.push("# preflight: ignore[port-plan] covers nothing".into());
    std::fs::write(d.join("deploy.yaml"), lines.join("\n") + "\n").unwrap();
    let (_, after) = check_json(d, "deploy.yaml", &["--fail-on", "never"]);
    let rules = rules_of(&after);
    assert!(!rules.contains(&"well-known-port".to_owned()), "{after:#}");
    assert_eq!(
        rules.iter().filter(|r| *r == "port-conflict").count(),
        rules_of(&before)
            .iter()
            .filter(|r| *r == "port-conflict")
            .count()
            - 1
    );
    let unused = common::findings(&after, "inline-ignore");
    assert_eq!(unused.len(), 1, "{after:#}");
    assert!(
        unused[0]["message"]
            .as_str()
            .unwrap()
            .contains("`port-plan` matched no finding")
    );
}

/// A baseline holds back today's findings by fingerprint (rule, file, service, port), so moved lines
/// and reformatting keep it; a new finding is reported, and an entry that matches nothing any more is
/// listed as fixed. The file is sorted, stable JSON. (typeorm's test stack: two MySQL on 3306, …)
#[test]
fn a_baseline_survives_moved_lines_and_reports_only_new_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let text = std::fs::read_to_string(
        root().join("tests/fixtures/rules/port-conflict/fires-compose.yaml"),
    )
    .unwrap();
    std::fs::write(d.join("compose.yaml"), &text).unwrap();
    let (_, first) = check_json(d, "compose.yaml", &["--fail-on", "never"]);
    let n = first["findings"].as_array().unwrap().len();
    assert!(n > 2);
    let (code, out, _) = run(
        d,
        &["check", "compose.yaml", "--write-baseline", "base.json"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("wrote {n} finding(s) to the baseline base.json")),
        "{out}"
    );
    let written = std::fs::read_to_string(d.join("base.json")).unwrap();
    run(
        d,
        &["check", "compose.yaml", "--write-baseline", "again.json"],
    );
    assert_eq!(
        written,
        std::fs::read_to_string(d.join("again.json")).unwrap(),
        "stable"
    );
    let b: serde_json::Value = serde_json::from_str(&written).unwrap();
    let entries = b["findings"].as_array().unwrap();
    assert_eq!(entries.len(), n);
    let keys: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{}\t{}\t{}\t{}",
                e["file"], e["rule"], e["subject"], e["fingerprint"]
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted");
    assert!(
        entries.iter().any(|e| e["subject"] == "mysql-9 3306/tcp"),
        "{written}"
    );
    // Moved lines and reformatting: a comment and blank lines at the top, the flow style of a list.
    let moved = text
        .replacen("services:\n", "# reviewed 2026-12\n\nservices:\n\n", 1)
        .replacen(
            "    ports:\n      - \"3306:3306\"\n",
            "    ports: [ \"3306:3306\" ]\n",
            2,
        );
    assert_ne!(moved, text);
    std::fs::write(d.join("compose.yaml"), &moved).unwrap();
    let (code, held) = check_json(d, "compose.yaml", &["--baseline", "base.json"]);
    assert_eq!(code, 0, "{held:#}");
    assert_eq!(held["findings"], serde_json::json!([]));
    assert_eq!(held["baseline"]["held_back"], n);
    assert_eq!(held["baseline"]["fixed"], serde_json::json!([]));
    // A new clash is reported; the second MySQL moved off 3306 is fixed.
    let changed = moved
        .replacen("\"3306:3306\" ]", "\"3307:3306\" ]", 2)
        .replacen("\"3307:3306\" ]", "\"3306:3306\" ]", 1)
        + "  newcomer:\n    image: nginx\n    ports: [\"3307:80\"]\n";
    std::fs::write(d.join("compose.yaml"), &changed).unwrap();
    let (code, after) = check_json(d, "compose.yaml", &["--baseline", "base.json"]);
    assert_eq!(code, 1, "{after:#}");
    let new: Vec<&serde_json::Value> = after["findings"].as_array().unwrap().iter().collect();
    assert!(
        new.iter()
            .all(|f| f["message"].as_str().unwrap().contains("3307")),
        "only the new port: {after:#}"
    );
    assert!(
        new.iter().any(|f| f["rule"] == "port-conflict"),
        "{after:#}"
    );
    let fixed = after["baseline"]["fixed"].as_array().unwrap();
    assert!(
        fixed
            .iter()
            .any(|e| e["subject"] == "mysql-9 3306/tcp" && e["rule"] == "port-conflict"),
        "{after:#}"
    );
    let (_, human, _) = run(
        d,
        &[
            "check",
            "compose.yaml",
            "--baseline",
            "base.json",
            "--color",
            "never",
        ],
    );
    assert!(
        human.contains("baseline base.json:") && human.contains("matched nothing (fixed"),
        "{human}"
    );
    // A file that is no baseline is refused with its place.
    std::fs::write(d.join("bad.json"), "{\"version\": 1,\n \"findings\": 3}\n").unwrap();
    let (code, out, err) = run(d, &["check", "compose.yaml", "--baseline", "bad.json"]);
    assert_eq!(code, 2);
    assert!(format!("{out}{err}").contains("bad.json:2:"), "{out}{err}");
}
