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

// 1. `suggest --local` offers ports that are in use.

#[test]
fn suggest_local_looks_at_the_candidates_it_offers() {
    // A listener on the lowest port of the range (outside every default ephemeral range).
    let (listener, port) = (20240..20400)
        .find_map(|p| {
            std::net::TcpListener::bind(("127.0.0.1", p))
                .ok()
                .map(|l| (l, p))
        })
        .expect("a free port in 20240-20400");
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "version: 1\ntarget: { platform: linux, run_as: root }\nservices:\n  api:\n    ports:\n      http: { port: 11000, bind: 127.0.0.1, expose: local }\n",
    );
    let range = format!("{port}-{}", port + 4);
    let (code, out, err) = run(
        tmp.path(),
        &[
            "suggest",
            "deploy.yaml",
            "--range",
            &range,
            "--local",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let got = v["port"].as_u64().unwrap();
    assert_ne!(
        got,
        u64::from(port),
        "{port} is taken by this test's listener: {v}"
    );
    assert!(got > u64::from(port) && got <= u64::from(port) + 4, "{v}");
    drop(listener);
}

// 2. The bundled example's advice creates a new error.

#[test]
fn the_suggested_block_for_a_new_team_is_free_and_the_size_of_the_others() {
    let examples = root().join("examples");
    let (_, report) = check_json(&examples, "deploy.yaml", &[]);
    let help = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule"] == "port-plan" && f["message"].as_str().unwrap().contains("has no block")
        })
        .map(|f| f["help"].as_str().unwrap().to_owned())
        .expect("the example's team without a block");
    // `reporting: 14000-14999` is free: take the advice and check again.
    let block = help.split('`').nth(5).expect("a quoted block");
    assert_eq!(block, "reporting: 14000-14999", "{help}");
    let text = std::fs::read_to_string(examples.join("deploy.yaml")).unwrap();
    let fixed = text.replace(
        "  monitoring: 13000-13999\n",
        &format!("  monitoring: 13000-13999\n  {block}\n"),
    );
    assert_ne!(fixed, text);
    let tmp = tempfile::tempdir().unwrap();
    manifest(tmp.path(), &fixed);
    let (_, after) = check_json(tmp.path(), "deploy.yaml", &[]);
    let plan: Vec<&str> = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "port-plan")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        !plan
            .iter()
            .any(|m| m.contains("overlaps") || m.contains("no block")),
        "{plan:#?}"
    );
}

// 3. A platform mismatch still runs the host rules with the wrong platform.

#[test]
fn after_a_platform_mismatch_the_platform_rules_are_skipped_for_that_host() {
    // A Windows manifest against Linux facts (a real capture of a Linux host's sockets).
    let tmp = tempfile::tempdir().unwrap();
    let ss = root().join("tests/fixtures/facts/ss-tlnp.txt");
    let (code, _, err) = run(
        tmp.path(),
        &[
            "facts",
            "--host",
            "lin-01",
            "--import",
            &format!("ss={}", ss.display()),
            "-o",
            "lin-01.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(tmp.path().join("lin-01.json")).unwrap();
    let mut facts: serde_json::Value = serde_json::from_str(&text).unwrap();
    facts["ephemeral_tcp"] = serde_json::json!({"value": {"start": 32768, "end": 60999}, "origin": "captured", "detail": "net.ipv4.ip_local_port_range"});
    std::fs::write(tmp.path().join("lin-01.json"), facts.to_string()).unwrap();
    std::fs::copy(
        root().join("examples/deploy.yaml"),
        tmp.path().join("deploy.yaml"),
    )
    .unwrap();
    let (_, report) = check_json(tmp.path(), "deploy.yaml", &["--facts", "lin-01.json"]);
    let on_host: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["host"] == "lin-01")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(on_host.contains(&"platform-mismatch"), "{on_host:?}");
    assert!(
        !on_host.contains(&"ephemeral-range"),
        "judged by Linux's range: {report:#}"
    );
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["host"] == "lin-01" && s["reason"].as_str().unwrap().contains("platform-mismatch")
        })
        .map(|s| s["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        [
            "ephemeral-range",
            "excluded-range",
            "plan-in-ephemeral",
            "privileged-port",
            "time-wait"
        ]
    );
}

// 6. Docs that promise what isn't there.

#[test]
fn explain_well_known_port_lists_the_table_it_promises() {
    let (code, out, _) = run(&root(), &["explain", "well-known-port"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("`preflight explain well-known-port` lists the table"),
        "{out}"
    );
    assert!(out.contains("## The table"), "{out}");
    for row in [
        "| 1433 | tcp | all | SQL Server |",
        "| 5985 | tcp | windows |",
    ] {
        assert!(out.contains(row), "{row} not in\n{out}");
    }
}

#[test]
fn man_dir_writes_every_page_the_pages_refer_to() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&root(), &["man", "--dir", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let pages: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for sub in [
        "preflight.1",
        "preflight-check.1",
        "preflight-gen-firewall.1",
        "preflight-man.1",
    ] {
        assert!(pages.iter().any(|p| p == sub), "{sub} not in {pages:?}");
    }
    // Every `preflight-…(1)` a page names (SEE ALSO) was written.
    for page in &pages {
        let text = std::fs::read_to_string(tmp.path().join(page)).unwrap();
        for (i, _) in text.match_indices("(1)") {
            let name: String = text[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '\\')
                .collect::<String>()
                .chars()
                .rev()
                .filter(|c| *c != '\\')
                .collect();
            if name.starts_with("preflight") {
                assert!(
                    pages.contains(&format!("{name}.1")),
                    "{page} names {name}(1), which was not written"
                );
            }
        }
    }
    // The single page printed to stdout names the same pages.
    let (_, man, _) = run(&root(), &["man"]);
    assert!(
        man.contains("preflight\\-check(1)") && !man.contains("preflight\\-help(1)"),
        "{man}"
    );
}

#[test]
fn the_pre_commit_example_pins_a_rev_that_exists() {
    let text = std::fs::read_to_string(root().join("examples/.pre-commit-config.yaml")).unwrap();
    let rev = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("rev:"))
        .map(|r| r.split('#').next().unwrap().trim().to_owned())
        .expect("a rev");
    let out = std::process::Command::new("git")
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .current_dir(root())
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "rev `{rev}` does not exist in this repository"
    );
}

// 7. `cargo test` hides skipped tests.

#[test]
fn a_test_that_needs_a_tool_shows_as_ignored_where_the_tool_is_missing() {
    // Every test that guards on an outside tool or on root carries the cfg that build.rs sets when
    // the machine has it, so without it the test is `ignored` in the summary, not `ok`.
    let guards = [
        "available(",
        "netns_tools()",
        "ansible_available()",
        "kubernetes_validate() else",
    ];
    let mut guarded = 0;
    for entry in std::fs::read_dir(root().join("tests")).unwrap() {
        let path = entry.unwrap().path();
        // This file names the guards without using them.
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("first_use.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for test in text.split("#[test]").skip(1) {
            let body = test.split("\n}\n").next().unwrap_or(test);
            if guards.iter().any(|g| calls(body, g)) {
                guarded += 1;
                let name = body
                    .split("fn ")
                    .nth(1)
                    .and_then(|r| r.split('(').next())
                    .unwrap_or("?");
                let compact: String = body.split_whitespace().collect();
                assert!(
                    compact.contains("cfg_attr(not(preflight_has_"),
                    "{}: {name} guards on a tool but would pass without running",
                    path.display()
                );
            }
        }
    }
    assert!(guarded >= 11, "only {guarded} guarded tests found");
}

/// Whether `body` calls `guard` itself: `unavailable(` is not a call of `available(`.
fn calls(body: &str, guard: &str) -> bool {
    body.match_indices(guard).any(|(at, _)| {
        !body[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

// 5. The terminal output doesn't fit the terminal.

/// The graphical report of `file` in `dir` at `columns`, without colour codes.
fn graphical(dir: &Path, file: &str, columns: &str) -> String {
    let out = common::preflight_in(dir)
        .args(["check", file, "--color", "always"])
        .env("COLUMNS", columns)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // Drop ANSI escape sequences.
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn the_graphical_report_wraps_at_the_terminal_width_between_words() {
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: { port: 9000, bind: 127.0.0.1, expose: local }\n",
    );
    let out = graphical(tmp.path(), "deploy.yaml", "80");
    // Message and help lines (not the quoted source, which is shown as it is) fit in 80 columns.
    for line in out
        .lines()
        .filter(|l| !l.contains(" │ ") && !l.contains("skipped"))
    {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}\n{out}",
            line.chars().count()
        );
    }
    // Words are whole: "Portainer", not "Portaine" + "r".
    assert!(out.contains("Portainer"), "{out}");
    assert!(
        out.lines().all(|l| !l.trim_end().ends_with("Portaine")),
        "{out}"
    );
}

#[test]
fn a_line_wider_than_the_terminal_is_cut_around_the_underlined_value() {
    // A 300-column line: the graphical report keeps 80 columns of it around `127.0.0.1`, with `…`
    // where it was cut, and the carets under the value (#27). The header still names the real column.
    let tmp = tempfile::tempdir().unwrap();
    let line = format!(
        "  api: {{ description: \"{}\", ports: {{ http: {{ port: 9000, bind: 127.0.0.1, expose: public }}{} }} }}",
        "x".repeat(120),
        " ".repeat(100)
    );
    assert!(line.chars().count() >= 290, "{}", line.chars().count());
    manifest(
        tmp.path(),
        &format!("version: 1\ntarget: {{ platform: linux }}\nservices:\n{line}\n"),
    );
    let out = graphical(tmp.path(), "deploy.yaml", "80");
    let column = line.find("127.0.0.1").unwrap() + 1;
    assert!(out.contains(&format!("deploy.yaml:4:{column}]")), "{out}");
    for l in out
        .lines()
        .filter(|l| l.contains(" │ ") || l.contains(" · "))
    {
        assert!(
            l.chars().count() <= 80,
            "{} columns: {l}\n{out}",
            l.chars().count()
        );
    }
    let bind = &out[out.find("unreachable-bind").unwrap()..];
    let shown = bind.lines().find(|l| l.starts_with(" 4 │ ")).unwrap();
    assert!(
        shown.contains("…") && shown.contains("bind: 127.0.0.1"),
        "{out}"
    );
    // The carets stand under the value.
    let carets = bind.lines().find(|l| l.contains("────┬────")).unwrap();
    let at = |l: &str, needle: &str| l[..l.find(needle).unwrap()].chars().count();
    assert_eq!(at(carets, "────┬────"), at(shown, "127.0.0.1"), "{out}");
    insta::assert_snapshot!("graphical_300_columns", out);
}

#[test]
fn columns_count_characters_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: { port: 8080, bind: \"éé\", expose: internl }\n",
    );
    let (_, out, _) = run(tmp.path(), &["check", "deploy.yaml", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let e = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["message"].as_str().unwrap().contains("internl"))
        .unwrap();
    let (line, column) = (e["line"].as_u64().unwrap(), e["column"].as_u64().unwrap());
    assert_eq!((line, column), (6, 47), "characters, 1-based");
    let graphical = graphical(tmp.path(), "deploy.yaml", "100");
    assert!(
        graphical.contains(&format!("deploy.yaml:{line}:{column}]")),
        "{graphical}"
    );
    let (_, plain, _) = run(tmp.path(), &["check", "deploy.yaml", "--color", "never"]);
    assert!(
        plain.contains(&format!("deploy.yaml:{line}:{column}")),
        "{plain}"
    );
}

// 4. Errors arrive in instalments.

#[test]
fn every_problem_of_a_manifest_is_reported_in_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      a: \"${X:-abc}\"\n      c: 99999\n      http: { port: 8080, bind: \"éé\", expose: internl }\n",
    );
    let (code, out, _) = run(tmp.path(), &["check", "deploy.yaml", "--format", "json"]);
    assert_eq!(code, 2);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let messages: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    // Schema (99999, internl), interpolation (the default) and value (the bind) problems together,
    // in file order.
    assert_eq!(messages.len(), 4, "{messages:#?}");
    for (m, needle) in messages.iter().zip([
        "${X:-abc}",
        "99999",
        "\"éé\" is not an IP address",
        "internl",
    ]) {
        assert!(m.contains(needle), "{needle} not in {m}");
    }
}

#[test]
fn every_typo_of_a_policy_is_reported_in_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: { port: 8080, bind: 127.0.0.1, expose: local }\n",
    );
    std::fs::write(
        tmp.path().join(".preflight.yaml"),
        "version: 1\nextend: [strict]\nrules:\n  ephemeral-rang: error\n  well-known-port: { severity: fatal }\nwaivers:\n  - rule: port-plan\n    path: services.api\n    reason: x\n    expires: 2027-02-30\n",
    )
    .unwrap();
    let (code, human, _) = run(tmp.path(), &["check", "deploy.yaml", "--color", "never"]);
    assert_eq!(code, 2);
    for needle in [
        "unknown field `extend`",
        "did you mean `extends`?",
        "unknown rule `ephemeral-rang`",
        "rules.well-known-port.severity",
        "`2027-02-30` is not a day of the calendar",
        "(4 problems)",
    ] {
        assert!(human.contains(needle), "{needle} not in\n{human}");
    }
}
