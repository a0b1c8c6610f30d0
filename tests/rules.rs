//! Every rule on its fixtures: `fires*.yaml` must produce findings of that rule, `passes*.yaml` none.
//! Human and JSON output are snapshotted per fixture, one test case per fixture.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{check_json, root, rules_of, run};

#[test]
fn every_rule_has_fires_and_passes_fixtures() {
    let base = root().join("tests/fixtures/rules");
    for rule in preflight::rules::ALL {
        let id = rule.meta.id;
        let files: Vec<String> = std::fs::read_dir(base.join(id))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        assert!(
            files.iter().any(|f| f.starts_with("fires")),
            "{id}: no fires*.yaml"
        );
        assert!(
            files.iter().any(|f| f.starts_with("passes")),
            "{id}: no passes*.yaml"
        );
    }
}

/// One case per fixture (insta's `glob!` names each failing file): `fires*.yaml` must produce findings
/// of its directory's rule, `passes*.yaml` none; human and JSON output are snapshotted.
#[test]
fn rule_fixture() {
    insta::glob!("fixtures/rules/*/*.yaml", |path| {
        let dir = path.parent().unwrap();
        let id = dir.file_name().unwrap().to_str().unwrap();
        let file = path.file_name().unwrap().to_str().unwrap();
        assert!(
            preflight::rules::find(id).is_some(),
            "fixtures/rules/{id}: no such rule"
        );
        // `NAME.facts.json` beside `NAME.yaml` supplies host facts.
        let facts = file.replace(".yaml", ".facts.json");
        let mut extra = vec!["--fail-on", "never"];
        if dir.join(&facts).exists() {
            extra.extend(["--facts", facts.as_str()]);
        }
        let (code, report) = check_json(dir, file, &extra);
        assert_eq!(code, 0, "{id}/{file}: --fail-on never exits 0");
        let hits = rules_of(&report).iter().filter(|r| *r == id).count();
        if file.starts_with("fires") {
            assert!(hits > 0, "{id}/{file} should fire: {report:#}");
        } else {
            assert!(
                file.starts_with("passes"),
                "{id}/{file}: name it fires* or passes*"
            );
            assert_eq!(hits, 0, "{id}/{file} should not fire: {report:#}");
        }
        // SARIF places each finding where JSON does: the file its path points into, line and column.
        let mut sarif_args = vec!["check", file, "--format", "sarif"];
        sarif_args.extend(extra.iter().copied());
        let (_, sarif, _) = run(dir, &sarif_args);
        let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
        let places = |rule: &serde_json::Value,
                      file: &serde_json::Value,
                      line: &serde_json::Value,
                      column: &serde_json::Value| {
            format!(
                "{rule} {} {line}:{column}",
                file.as_str().unwrap_or_default().trim_start_matches("./")
            )
        };
        // Waived findings are suppressed results in SARIF, listed under `waived` in JSON.
        let mut from_sarif: Vec<String> = sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["suppressions"].is_null())
            .map(|r| {
                let l = &r["locations"][0]["physicalLocation"];
                places(
                    &r["ruleId"],
                    &l["artifactLocation"]["uri"],
                    &l["region"]["startLine"],
                    &l["region"]["startColumn"],
                )
            })
            .collect();
        let mut from_json: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| places(&f["rule"], &f["file"], &f["line"], &f["column"]))
            .collect();
        from_sarif.sort();
        from_json.sort();
        assert_eq!(from_sarif, from_json, "{id}/{file}: SARIF places");
        let stem = file.trim_end_matches(".yaml");
        let mut args = vec!["check", file];
        args.extend(extra.iter().skip(2));
        let (_, human, _) = run(dir, &args);
        // The snapshots keep the names they had before `glob!`: RULE__STEM__FORMAT.
        let mut settings = insta::Settings::clone_current();
        settings.remove_snapshot_suffix();
        settings.bind(|| {
            insta::assert_json_snapshot!(format!("{id}__{stem}__json"), report);
            insta::assert_snapshot!(format!("{id}__{stem}__human"), human);
        });
    });
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
