//! The command line end to end: exit codes, bad input, `--env`, `schema`, `rules`, `explain`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::{check_json, root, rules_of, run};

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const WARN_ONLY: &str =
    "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: 40000\n";
const INFO_ONLY: &str = "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      metrics: { port: 11000, expose: public, purpose: metrics }\n";
const ERROR: &str =
    "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: 80\n";
const CLEAN: &str =
    "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: 11000\n";

#[test]
fn exit_codes_follow_fail_on() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (name, text) in [
        ("warn.yaml", WARN_ONLY),
        ("info.yaml", INFO_ONLY),
        ("error.yaml", ERROR),
        ("clean.yaml", CLEAN),
    ] {
        write(d, name, text);
    }
    let code = |file: &str, level: &str| run(d, &["check", file, "--fail-on", level]).0;
    assert_eq!(code("clean.yaml", "info"), 0);
    assert_eq!(code("warn.yaml", "error"), 0);
    assert_eq!(code("warn.yaml", "warning"), 1);
    assert_eq!(code("info.yaml", "warning"), 0);
    assert_eq!(code("info.yaml", "info"), 1);
    assert_eq!(code("error.yaml", "error"), 1);
    assert_eq!(code("error.yaml", "never"), 0);
    // The default is --fail-on error.
    assert_eq!(run(d, &["check", "warn.yaml"]).0, 0);
    assert_eq!(run(d, &["check", "error.yaml"]).0, 1);
    // The exit code does not depend on the format.
    assert_eq!(run(d, &["check", "error.yaml", "--format", "json"]).0, 1);
    // A file that cannot be checked wins over findings, and the good file is still reported.
    write(d, "broken.yaml", "version: [");
    let (code, out, _) = run(
        d,
        &["check", "error.yaml", "broken.yaml", "--format", "json"],
    );
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rules_of(&v), ["privileged-port", "well-known-port"]);
    assert_eq!(v["errors"][0]["file"], "broken.yaml");
}

#[test]
fn default_file_is_deploy_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, _) = run(tmp.path(), &["check"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("no compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml or deploy.yaml here"),
        "{out}"
    );
    write(tmp.path(), "deploy.yaml", CLEAN);
    assert_eq!(run(tmp.path(), &["check"]).0, 0);
}

/// A key written twice in a deploy manifest is an error at its place, and the rest of the file is
/// still checked (the later value is read).
#[test]
fn a_duplicate_key_is_a_finding_and_the_rest_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "deploy.yaml",
        "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: 8080\n      http: 80\n",
    );
    let (code, v) = check_json(tmp.path(), "deploy.yaml", &[]);
    assert_eq!(code, 1, "{v:#}");
    let d = common::finding(&v, "duplicate-key");
    assert_eq!(
        (d["line"].as_u64(), d["related"][0]["line"].as_u64()),
        (Some(7), Some(6))
    );
    // The later value (80) was read: a privileged port for a user service.
    assert!(
        rules_of(&v).contains(&"privileged-port".to_owned()),
        "{v:#}"
    );
}

#[test]
fn every_bad_input_is_exit_2_with_a_located_error() {
    let dir = root().join("tests/fixtures/bad");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for file in files {
        let started = Instant::now();
        let (code, report) = check_json(&dir, &file, &[]);
        assert_eq!(code, 2, "{file}: {report:#}");
        let errors = report["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{file}");
        if file != "empty.yaml" {
            for e in errors {
                assert!(
                    e["line"].as_u64().is_some(),
                    "{file}: error without a line: {e}"
                );
            }
        }
        let (_, human, stderr) = run(&dir, &["check", &file]);
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
        let stem = file.trim_end_matches(".yaml");
        insta::assert_snapshot!(format!("bad__{stem}"), human);
        // Nothing here may take long, even the alias bomb (a generous bound against hangs, not a benchmark).
        assert!(
            started.elapsed().as_secs() < 20,
            "{file} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn specific_bad_inputs_say_what_and_how() {
    let dir = root().join("tests/fixtures/bad");
    let msgs = |file: &str| -> Vec<String> {
        let (_, r) = check_json(&dir, file, &[]);
        r["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{} | {}", e["message"], e["help"]))
            .collect()
    };
    let ports = msgs("ports.yaml").join("\n");
    for needle in [
        "port 0 is out of range",
        "port 70000 is out of range",
        "\\\"abc\\\" is not a port number",
        "80.5 is not a port number",
        "missing field `port`",
    ] {
        assert!(ports.contains(needle), "{needle} not in:\n{ports}");
    }
    let unknown = msgs("unknown-fields.yaml").join("\n");
    for needle in [
        "did you mean `runtime`",
        "did you mean `protocol`",
        "did you mean `public`",
        "did you mean `services`",
        "did you mean `user`",
    ] {
        assert!(unknown.contains(needle), "{needle} not in:\n{unknown}");
    }
    let values = msgs("values.yaml").join("\n");
    for needle in [
        "resolves to \\\"eighty\\\"",
        "is not an IP address",
        "use `127.0.0.1`",
        "without a closing",
    ] {
        assert!(values.contains(needle), "{needle} not in:\n{values}");
    }
    let names = msgs("names.yaml").join("\n");
    for needle in [
        "backwards",
        "`Orders_API` is not a service name",
        "must contain at least one letter",
        "consecutive hyphens",
        "begin or end with a hyphen",
        "1 to 15 characters",
    ] {
        assert!(names.contains(needle), "{needle} not in:\n{names}");
    }
    assert!(msgs("alias-bomb.yaml")[0].contains("alias"));
    assert!(msgs("deep.yaml")[0].contains("nested too deeply"));
}

#[test]
fn huge_and_binary_files_are_refused_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // 50 MB: refused by size before any parsing.
    let mut big = String::from("version: 1\ntarget: { platform: linux }\nservices:\n");
    let line = "  # padding padding padding padding padding padding padding padding padding\n";
    while big.len() < 50 * 1024 * 1024 {
        big.push_str(line);
    }
    write(d, "big.yaml", &big);
    let (code, out, _) = run(d, &["check", "big.yaml"]);
    assert_eq!(code, 2);
    assert!(out.contains("over the limit"), "{out}");
    std::fs::write(d.join("bin.yaml"), b"version: 1\n\xff\xfe\x00garbage").unwrap();
    let (code, report) = check_json(d, "bin.yaml", &[]);
    assert_eq!(code, 2);
    assert_eq!(report["errors"][0]["line"], 2);
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not UTF-8")
    );
}

/// A path whose metadata says nothing of its content (`/dev/zero` reports 0 bytes and never ends) is
/// read only up to the limit, wherever a path is given: the input itself, a Compose `extends` file,
/// `--facts`, `--baseline`. Found while writing the fuzz targets for these readers (#26).
#[test]
#[cfg(target_os = "linux")]
fn endless_files_are_read_only_up_to_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out_of = |args: &[&str]| {
        let (code, out, err) = run(d, args);
        (code, format!("{out}{err}"))
    };
    let (code, out) = out_of(&["check", "/dev/zero"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("over the limit"), "{out}");
    write(
        d,
        "compose.yaml",
        "services:\n  web:\n    extends: { file: /dev/zero, service: x }\n    ports: [\"80:80\"]\n",
    );
    let (code, out) = out_of(&["check", "compose.yaml"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("over the limit"), "{out}");
    write(
        d,
        "deploy.yaml",
        "version: 1\ntarget: { platform: linux }\nservices: {}\n",
    );
    for flag in ["--facts", "--baseline"] {
        let (code, out) = out_of(&["check", "deploy.yaml", flag, "/dev/zero"]);
        assert_eq!(code, 2, "{flag}: {out}");
        assert!(out.contains("over the limit"), "{flag}: {out}");
    }
}

#[test]
fn env_flag_reads_the_process_environment() {
    let dir = root().join("tests/fixtures/rules/env-unresolved");
    let (code, r) = check_json(&dir, "fires.yaml", &[]);
    assert_eq!(code, 1);
    assert_eq!(rules_of(&r), ["env-unresolved", "env-unresolved"]);
    // Without --env the process environment is ignored…
    let mut cmd = common::preflight_in(&dir);
    let out = cmd
        .args(["check", "fires.yaml", "--format", "json"])
        .env("ORDER_PORT", "11001")
        .env("ADMIN_PORT", "11002")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // …and with it the references resolve.
    let mut cmd = common::preflight_in(&dir);
    let out = cmd
        .args(["check", "fires.yaml", "--env", "--format", "json"])
        .env("ORDER_PORT", "11001")
        .env("ADMIN_PORT", "11002")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert!(rules_of(&v).is_empty(), "{v:#}");
}

#[test]
fn schemas_match_the_committed_files() {
    // Every schema is generated from the Rust types; the committed copy is what editors use.
    for kind in ["deploy", "facts", "policy"] {
        let (code, out, _) = run(&root(), &["schema", kind]);
        assert_eq!(code, 0, "{kind}");
        let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let file = root().join(format!("schemas/{kind}.schema.json"));
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert!(
            printed == committed,
            "{} is stale: run `cargo run -- schema {kind} > {}`",
            file.display(),
            file.display()
        );
    }
}

#[test]
fn examples_validate_and_the_clean_one_is_clean() {
    let dir = root().join("examples");
    let (code, r) = check_json(&dir, "clean.yaml", &["--fail-on", "info"]);
    assert_eq!(code, 0, "{r:#}");
    let (code, r) = check_json(&dir, "deploy.yaml", &[]);
    assert_eq!(code, 1);
    let mut rules = rules_of(&r);
    rules.sort();
    rules.dedup();
    assert_eq!(
        rules,
        [
            "ephemeral-range",
            "port-conflict",
            "port-plan",
            "unreachable-bind",
            "well-known-port"
        ]
    );
}

#[test]
fn rules_and_explain() {
    let (code, out, _) = run(&root(), &["rules"]);
    assert_eq!(code, 0);
    for r in preflight::rules::ALL {
        assert!(out.contains(r.meta.id));
    }
    let (_, json, _) = run(&root(), &["rules", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Built-in rules plus the policy-level `waiver-expired`.
    assert_eq!(v.as_array().unwrap().len(), preflight::rules::ALL.len() + 1);
    let (code, out, _) = run(&root(), &["explain", "privileged-port"]);
    assert_eq!(code, 0);
    assert!(out.contains("## Why is this bad?") && out.contains("ip_unprivileged_port_start"));
    let (code, _, err) = run(&root(), &["explain", "privileged-ports"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `privileged-port`"), "{err}");
}

#[test]
fn graphical_report_underlines_the_value() {
    use preflight::check::{Outcome, check_file};
    use preflight::report::human::{Style, write};
    let path = root().join("tests/fixtures/rules/unreachable-bind/fires.yaml");
    let today = "2026-11-29".parse().unwrap();
    let outcome = check_file(&path, &Default::default(), &Default::default(), &[], today);
    let Outcome::Checked(mut c) = outcome else {
        panic!("not checked")
    };
    c.doc.name = "fires.yaml".into();
    let mut out = Vec::new();
    write(&mut out, &[Outcome::Checked(c)], Style::GraphicalNoColor).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains('\u{1b}'), "no ANSI codes");
    insta::assert_snapshot!("graphical_unreachable_bind", text);
}
