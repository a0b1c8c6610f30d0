//! Every rule on its fixtures: `fires*.yaml` must produce findings of that rule, `passes*.yaml` none.
//! Human and JSON output are snapshotted per fixture.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{check_json, root, rules_of, run};

#[test]
fn every_rule_fires_and_passes_on_its_fixtures() {
    let base = root().join("tests/fixtures/rules");
    let mut checked = 0;
    for rule in preflight::rules::ALL {
        let id = rule.meta.id;
        let dir = base.join(id);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        files.sort();
        assert!(
            files.iter().any(|f| f.starts_with("fires")),
            "{id}: no fires*.yaml"
        );
        assert!(
            files.iter().any(|f| f.starts_with("passes")),
            "{id}: no passes*.yaml"
        );
        for file in files {
            // `NAME.facts.json` beside `NAME.yaml` supplies host facts.
            let facts = file.replace(".yaml", ".facts.json");
            let mut extra = vec!["--fail-on", "never"];
            if dir.join(&facts).exists() {
                extra.extend(["--facts", facts.as_str()]);
            }
            let (code, report) = check_json(&dir, &file, &extra);
            assert_eq!(code, 0, "{id}/{file}: --fail-on never exits 0");
            let hits = rules_of(&report).iter().filter(|r| *r == id).count();
            if file.starts_with("fires") {
                assert!(hits > 0, "{id}/{file} should fire: {report:#}");
            } else {
                assert_eq!(hits, 0, "{id}/{file} should not fire: {report:#}");
            }
            let stem = file.trim_end_matches(".yaml");
            insta::assert_json_snapshot!(format!("{id}__{stem}__json"), report);
            let mut args = vec!["check", file.as_str()];
            args.extend(extra.iter().skip(2));
            let (_, human, _) = run(&dir, &args);
            insta::assert_snapshot!(format!("{id}__{stem}__human"), human);
            checked += 1;
        }
    }
    assert!(checked >= 28, "only {checked} fixtures checked");
}

#[test]
fn findings_point_at_the_value() {
    let dir = root().join("tests/fixtures/rules/port-conflict");
    let (_, report) = check_json(&dir, "fires.yaml", &[]);
    let f = &report["findings"][0];
    assert_eq!(f["rule"], "port-conflict");
    assert_eq!(f["path"], "services.billing-api.ports.http.port");
    // line 10: `      http: { port: 11000, bind: 127.0.0.1, expose: local }`
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(10), Some(21))
    );
    assert_eq!(f["related"][0]["path"], "services.orders-api.ports.http");
    assert_eq!(
        (
            f["related"][0]["line"].as_u64(),
            f["related"][0]["column"].as_u64()
        ),
        (Some(6), Some(13))
    );
}

#[test]
fn interpolated_values_name_the_variable_definition() {
    let dir = root().join("tests/fixtures/rules/port-plan");
    let text = "version: 1\ntarget: { platform: linux }\nenvironment:\n  API_PORT: \"8080\"\nport_plan:\n  web: 11000-11999\nservices:\n  api:\n    team: web\n    ports:\n      http: \"${API_PORT}\"\n";
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("deploy.yaml"), text).unwrap();
    let (code, report) = check_json(tmp.path(), "deploy.yaml", &[]);
    assert_eq!(code, 1);
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "port-plan")
        .unwrap();
    let labels: Vec<&str> = f["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"`API_PORT` defined here"), "{labels:?}");
    let def = f["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "environment.API_PORT")
        .unwrap();
    assert_eq!(
        (def["line"].as_u64(), def["column"].as_u64()),
        (Some(4), Some(13))
    );
    drop(dir);
}
