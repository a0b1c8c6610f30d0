//! Fleets: one manifest checked against several hosts' facts. Each host's facts are built by the real
//! `preflight facts --host NAME --import …` from captured command output, so the test goes through the
//! same path an operator's pipeline does; the hosts differ in one thing each, and every finding must land
//! on the host it belongs to and nowhere else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{check_json, root, run};
use serde_json::Value;

/// A Windows manifest: `http` on 11001, `callbacks` on 49700 (in the dynamic range on every host, and in
/// win-b's Hyper-V/WinNAT block 49671-49770), `events` on 52000 (in the dynamic range on every host and in
/// no excluded range), and `sql` on 1433 (a well-known port: a finding of the manifest alone).
const MANIFEST: &str = "\
version: 1
target: { platform: windows }
port_plan:
  orders: 11000-11999
services:
  api:
    team: orders
    runtime: dotnet
    socket: { exclusive_address: true }
    ports:
      http: { port: 11001, expose: local, bind: 127.0.0.1 }
      callbacks: { port: 49700, expose: local, bind: 127.0.0.1 }
  reports:
    ports:
      sql: { port: 1433, expose: local, bind: 127.0.0.1 }
      events: { port: 52000, expose: local, bind: 127.0.0.1 }
";

/// `netstat -ano` of a host where PID 5000 listens on 11001.
const NETSTAT_BUSY: &str = "
Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1032
  TCP    0.0.0.0:11001          0.0.0.0:0              LISTENING       5000
";

/// `netstat -ano` of a host where nothing listens on the manifest's ports.
const NETSTAT_QUIET: &str = "
Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1032
";

/// Builds three Windows hosts' facts in `dir/facts`: `win-a` has 11001 taken, `win-b` has the excluded
/// ranges of a real capture (a Hyper-V/WinNAT block 49671-49770 among them), `win-c` has neither. Returns the facts directory.
fn fleet(dir: &Path) -> std::path::PathBuf {
    let fixtures = root().join("tests/fixtures/facts");
    std::fs::write(dir.join("deploy.yaml"), MANIFEST).unwrap();
    std::fs::write(dir.join("busy.txt"), NETSTAT_BUSY).unwrap();
    std::fs::write(dir.join("quiet.txt"), NETSTAT_QUIET).unwrap();
    let facts = dir.join("facts");
    std::fs::create_dir_all(&facts).unwrap();
    let none = fixtures.join("netsh-excludedportrange-empty.txt");
    let some = fixtures.join("netsh-excludedportrange-tcp.txt");
    for (host, netstat, excluded) in [
        ("win-a", "busy.txt", &none),
        ("win-b", "quiet.txt", &some),
        ("win-c", "quiet.txt", &none),
    ] {
        let out = facts.join(format!("{host}.json"));
        let (code, _, err) = run(
            dir,
            &[
                "facts",
                "--host",
                host,
                "--import",
                &format!("netstat-ano={netstat}"),
                "--import",
                &format!("netsh-excludedportrange={}", excluded.display()),
                "-o",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
    }
    facts
}

/// `(rule, host)` of every finding.
fn placed(report: &Value) -> Vec<(String, Option<String>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["host"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The hosts of the findings of `rule` in `placed` order (`None`: the manifest's own).
fn hosts_of(found: &[(String, Option<String>)], rule: &str) -> Vec<Option<String>> {
    found
        .iter()
        .filter(|(r, _)| r == rule)
        .map(|(_, h)| h.clone())
        .collect()
}

#[test]
fn each_finding_lands_on_its_host_and_nowhere_else() {
    let tmp = tempfile::tempdir().unwrap();
    let facts = fleet(tmp.path());
    let (code, report) = check_json(tmp.path(), "deploy.yaml", &["--facts", "facts"]);
    assert_eq!(code, 1, "{report:#}");
    let found = placed(&report);
    let on = |rule: &str| hosts_of(&found, rule);
    // Host rules, only where the host's facts say so.
    assert_eq!(on("port-occupied"), [Some("win-a".to_owned())], "{found:?}");
    assert_eq!(
        on("excluded-range"),
        [Some("win-b".to_owned())],
        "{found:?}"
    );
    // The manifest's own finding, once, without a host.
    assert_eq!(on("well-known-port"), [None], "{found:?}");
    // The default dynamic range applies to all three hosts alike (none of them captured its own), so
    // `events` (52000) is reported once, without a host. `callbacks` (49700) lies in win-b's WinNAT
    // block, which no outbound connection takes (excluded-range reports it there), so its
    // ephemeral-range finding belongs to win-a and win-c.
    let (a, c) = (Some("win-a".to_owned()), Some("win-c".to_owned()));
    assert_eq!(on("ephemeral-range"), [None, a, c], "{found:?}");
    // The message names the owner.
    let occupied = common::finding(&report, "port-occupied");
    assert!(
        occupied["message"].as_str().unwrap().contains("PID 5000"),
        "{occupied}"
    );
    // The hosts, sorted, with their own findings and skipped rules counted.
    let hosts: Vec<(String, u64, u64)> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert!(h["source"].as_str().unwrap().ends_with(".json"), "{h}");
            (
                h["name"].as_str().unwrap().to_owned(),
                h["findings"].as_u64().unwrap(),
                h["skipped"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hosts,
        [
            // No host captured its firewall: firewall-blocked is skipped on each, never passed.
            // win-a: port-occupied and callbacks' ephemeral-range; win-b: excluded-range; win-c:
            // callbacks' ephemeral-range.
            ("win-a".to_owned(), 2, 1),
            ("win-b".to_owned(), 1, 1),
            ("win-c".to_owned(), 1, 1)
        ]
    );
    // The same fleet given as files, in another order, gives the same report.
    let files: Vec<String> = ["win-c", "win-a", "win-b"]
        .iter()
        .map(|h| facts.join(format!("{h}.json")).display().to_string())
        .collect();
    let mut args = Vec::new();
    for f in &files {
        args.extend(["--facts", f.as_str()]);
    }
    let (code2, report2) = check_json(tmp.path(), "deploy.yaml", &args);
    assert_eq!(code2, code);
    assert_eq!(placed(&report2), found);

    // Two manifests: each host's counts agree with the report's own lists.
    std::fs::copy(
        tmp.path().join("deploy.yaml"),
        tmp.path().join("again.yaml"),
    )
    .unwrap();
    let (_, report) = check_json(
        tmp.path(),
        "deploy.yaml",
        &["again.yaml", "--facts", "facts"],
    );
    for h in report["hosts"].as_array().unwrap() {
        let of = |list: &str| {
            report[list]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["host"] == h["name"])
                .count() as u64
        };
        assert_eq!(h["findings"].as_u64().unwrap(), of("findings"), "{h}");
        assert_eq!(h["skipped"].as_u64().unwrap(), of("skipped"), "{h}");
    }
    assert_eq!(
        report["hosts"][0]["findings"], 4,
        "win-a's two, once per manifest"
    );
}

#[test]
fn every_format_names_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    fleet(tmp.path());
    let check = |format: &str| {
        let (code, out, err) = run(
            tmp.path(),
            &[
                "check",
                "deploy.yaml",
                "--facts",
                "facts",
                "--format",
                format,
                "--color",
                "never",
            ],
        );
        assert_eq!(code, 1, "{format}: {err}");
        out
    };

    // Human: host findings under their host's heading, and one summary line per host at the end.
    let human = check("human");
    let a = human.find("== host win-a").expect("win-a heading");
    let b = human.find("== host win-b").expect("win-b heading");
    let c = human
        .find("== host win-c")
        .expect("win-c heading (for its skipped rule)");
    let occupied = human.find("error[port-occupied]").unwrap();
    let excluded = human.find("error[excluded-range]").unwrap();
    let well_known = human.find("warning[well-known-port]").unwrap();
    assert!(
        well_known < a && a < occupied && occupied < b && b < excluded && excluded < c,
        "{human}"
    );
    assert!(
        human.contains("deploy.yaml: on host win-c, skipped firewall-blocked: the host facts have no firewall state"),
        "{human}"
    );
    let tail: Vec<&str> = human.lines().rev().take(4).collect();
    assert_eq!(
        tail,
        [
            "  host win-c: 0 errors, 1 warning, 0 info, 1 rule skipped",
            "  host win-b: 1 error, 0 warnings, 0 info, 1 rule skipped",
            "  host win-a: 1 error, 1 warning, 0 info, 1 rule skipped",
            "  the manifest itself: 1 error, 2 warnings, 0 info",
        ],
        "{human}"
    );

    // SARIF: the host in the message and in the properties.
    let sarif: Value = serde_json::from_str(&check("sarif")).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "excluded-range")
        .unwrap();
    assert_eq!(r["properties"]["host"], "win-b");
    assert!(
        r["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("[host win-b] "),
        "{r}"
    );
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "well-known-port")
        .unwrap();
    assert!(r["properties"].get("host").is_none(), "{r}");

    // JUnit: the manifest's suite, then one suite per host, each failing only where its host fails.
    let junit = check("junit");
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let suites: Vec<(String, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|n| {
            (
                n.attribute("name").unwrap().to_owned(),
                n.attribute("failures").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        suites,
        [
            // port-plan: 49700 is outside the orders block.
            ("deploy.yaml".to_owned(), "1".to_owned()),
            ("deploy.yaml on host win-a".to_owned(), "1".to_owned()),
            ("deploy.yaml on host win-b".to_owned(), "1".to_owned()),
            ("deploy.yaml on host win-c".to_owned(), "0".to_owned()),
        ]
    );
    let failing_case = |suite: &str| -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("testsuite") && n.attribute("name") == Some(suite))
            .flat_map(|s| s.descendants())
            .filter(|n| {
                n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("failure"))
            })
            .map(|n| n.attribute("name").unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        failing_case("deploy.yaml on host win-a"),
        ["port-occupied: services.api.ports.http"]
    );
    assert_eq!(
        failing_case("deploy.yaml on host win-b"),
        ["excluded-range: services.api.ports.callbacks"]
    );

    // GitHub annotations.
    let github = check("github");
    assert!(
        github
            .lines()
            .any(|l| l.starts_with("::error ") && l.contains("::[host win-a] port 11001/tcp")),
        "{github}"
    );
}

#[test]
fn a_host_named_twice_or_badly_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let facts = fleet(tmp.path());
    // A stale copy under another file name still says `win-a`.
    std::fs::copy(facts.join("win-a.json"), facts.join("old-a.json")).unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "deploy.yaml", "--facts", "facts"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("host `win-a` has two facts files")
            && err.contains("old-a.json")
            && err.contains("win-a.json"),
        "{err}"
    );
    std::fs::remove_file(facts.join("old-a.json")).unwrap();
    // The same file reached twice is one host.
    let (code, _, err) = run(
        tmp.path(),
        &[
            "check",
            "deploy.yaml",
            "--facts",
            "facts",
            "--facts",
            "facts/win-a.json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    // A host name that would escape `fix -o DIR/HOST.ps1`.
    let text = std::fs::read_to_string(facts.join("win-c.json")).unwrap();
    std::fs::write(
        facts.join("win-c.json"),
        text.replace("\"win-c\"", "\"../evil\""),
    )
    .unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "deploy.yaml", "--facts", "facts"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("win-c.json") && err.contains("\"../evil\""),
        "{err}"
    );
    let (code, _, err) = run(tmp.path(), &["facts", "--host", "a/b", "--import", "x=y"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--host \"a/b\""), "{err}");
    // An empty directory.
    std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "deploy.yaml", "--facts", "empty"]);
    assert_eq!(code, 2);
    assert!(err.contains("no *.json facts files"), "{err}");
}

#[test]
fn fix_and_gen_write_one_file_per_host() {
    let tmp = tempfile::tempdir().unwrap();
    fleet(tmp.path());
    let fix = [
        "fix",
        "deploy.yaml",
        "--facts",
        "facts",
        "--dialect",
        "powershell",
    ];
    let (code, _, err) = run(tmp.path(), &fix);
    assert_eq!(code, 2);
    assert!(err.contains("give -o DIR"), "{err}");
    let (code, _, err) = run(tmp.path(), &[&fix[..], &["-o", "out"]].concat());
    assert_eq!(code, 0, "{err}");
    let script =
        |h: &str| std::fs::read_to_string(tmp.path().join(format!("out/{h}.ps1"))).unwrap();
    let (a, b, c) = (script("win-a"), script("win-b"), script("win-c"));
    assert!(a.contains("on host win-a") && a.contains("[port-occupied]"));
    assert!(!a.contains("[excluded-range]"), "{a}");
    assert!(
        b.contains("[excluded-range]") && !b.contains("[port-occupied]"),
        "{b}"
    );
    assert!(
        !c.contains("[excluded-range]") && !c.contains("[port-occupied]"),
        "{c}"
    );
    // The manifest's own findings are in every host's script.
    for s in [&a, &b, &c] {
        assert!(s.contains("[well-known-port]"), "{s}");
    }

    // gen: the dialect follows each host's facts when not given. A Linux host running ufw joins.
    std::fs::write(
        tmp.path().join("facts/lin-d.json"),
        r#"{"version":1,"host":"lin-d","os":"linux","firewall":{"value":{"manager":"ufw"},"origin":"captured","detail":"test"}}"#,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("pub.yaml"),
        "version: 1\ntarget: { platform: linux }\nservices:\n  web:\n    ports:\n      http: { port: 8080, expose: public }\n",
    )
    .unwrap();
    let (code, _, err) = run(
        tmp.path(),
        &[
            "gen", "firewall", "pub.yaml", "--facts", "facts", "-o", "gen",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let mut written: Vec<String> = std::fs::read_dir(tmp.path().join("gen"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["lin-d.sh", "win-a.ps1", "win-b.ps1", "win-c.ps1"]);
    let ufw = std::fs::read_to_string(tmp.path().join("gen/lin-d.sh")).unwrap();
    assert!(ufw.contains("ufw allow") && ufw.contains("8080"), "{ufw}");
    let ps = std::fs::read_to_string(tmp.path().join("gen/win-a.ps1")).unwrap();
    assert!(
        ps.contains("New-NetFirewallRule") && ps.contains("on host win-a"),
        "{ps}"
    );

    // The Linux manifest on the Windows hosts: each of those is in the wrong group, lin-d is not.
    let (_, report) = check_json(tmp.path(), "pub.yaml", &["--facts", "facts"]);
    assert_eq!(
        hosts_of(&placed(&report), "platform-mismatch"),
        [
            Some("win-a".to_owned()),
            Some("win-b".to_owned()),
            Some("win-c".to_owned())
        ]
    );

    // fix too: without --dialect each host gets the one its facts call for.
    let (code, _, err) = run(
        tmp.path(),
        &["fix", "pub.yaml", "--facts", "facts", "-o", "auto"],
    );
    assert_eq!(code, 0, "{err}");
    let mut written: Vec<String> = std::fs::read_dir(tmp.path().join("auto"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["lin-d.sh", "win-a.ps1", "win-b.ps1", "win-c.ps1"]);
    let sh = std::fs::read_to_string(tmp.path().join("auto/lin-d.sh")).unwrap();
    assert!(
        sh.starts_with("#!/bin/sh") && sh.contains("on host lin-d"),
        "{sh}"
    );
    let (code, _, err) = run(tmp.path(), &["fix", "pub.yaml"]);
    assert_eq!(code, 2, "without facts --dialect is required: {err}");
    assert!(err.contains("--dialect"), "{err}");
}

#[test]
fn waivers_can_name_hosts_and_custom_rules_on_facts_run_per_host() {
    let tmp = tempfile::tempdir().unwrap();
    fleet(tmp.path());
    std::fs::write(
        tmp.path().join(".preflight.yaml"),
        r#"version: 1
waivers:
  - rule: port-occupied
    path: services.api
    reason: win-a is being decommissioned
    hosts: [win-a*]
  - rule: excluded-range
    path: services.api
    reason: only waived on win-c, which has no such exclusion
    hosts: [win-c]
  - rule: ephemeral-range
    path: services.reports.ports.events
    reason: reported once for all hosts, and this waiver names them all
    hosts: ["win-*"]
  - rule: port-plan
    path: services.api.ports.callbacks
    reason: a finding of every host is not waived for one host alone
    hosts: [win-a]
custom:
  - id: no-legacy-host
    summary: nothing deploys to win-c
    assert: facts.host != "win-c"
    message: "{{ service.name }}/{{ port.name }} would run on the legacy host {{ facts.host }}"
  - id: low-ports
    summary: ports stay below 50000
    assert: port.number < 50000
    message: "{{ port.number }} is not below 50000"
    severity: info
"#,
    )
    .unwrap();
    let (code, report) = check_json(tmp.path(), "deploy.yaml", &["--facts", "facts"]);
    assert_eq!(code, 1, "{report:#}");
    let found = placed(&report);
    let on = |rule: &str| hosts_of(&found, rule);
    assert!(on("port-occupied").is_empty(), "{found:?}");
    assert_eq!(on("excluded-range"), [Some("win-b".to_owned())]);
    let waived: Vec<(&str, Option<&str>)> = report["waived"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["rule"].as_str().unwrap(), w["host"].as_str()))
        .collect();
    assert_eq!(
        waived,
        [("ephemeral-range", None), ("port-occupied", Some("win-a"))]
    );
    assert_eq!(on("port-plan"), [None], "{found:?}");
    // The rule that reads facts runs per host (four ports on win-c); the other once.
    let c = Some("win-c".to_owned());
    assert_eq!(on("no-legacy-host"), [c.clone(), c.clone(), c.clone(), c]);
    assert_eq!(on("low-ports"), [None]);
}

/// Whether `ansible-playbook` is on PATH (`SKIPPED` otherwise, a failure in CI).
fn ansible_available() -> bool {
    common::available(
        "ansible-playbook (pip install ansible)",
        common::has("ansible-playbook"),
    )
}

/// Runs the example playbook against `examples/fleet/inventory.ini` (two aliases of this machine, local
/// connection), with this build's binary copied to the "hosts" and used on the controller. Returns the
/// playbook's exit code and its output.
fn playbook(tmp: &Path, manifest: &Path, report: &Path) -> (i32, String) {
    playbook_with(
        tmp,
        &root().join("examples/fleet/inventory.ini"),
        manifest,
        report,
    )
}

/// [`playbook`] with another inventory.
fn playbook_with(tmp: &Path, inventory: &Path, manifest: &Path, report: &Path) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_preflight");
    let fleet = root().join("examples/fleet");
    let out = std::process::Command::new("ansible-playbook")
        .current_dir(tmp)
        .env("ANSIBLE_LOCAL_TEMP", tmp.join("ansible-local"))
        .env("ANSIBLE_REMOTE_TEMP", tmp.join("ansible-remote"))
        .env("ANSIBLE_NOCOLOR", "1")
        .args(["-i", inventory.to_str().unwrap()])
        .arg(fleet.join("playbook.yml"))
        .args(["-e", &format!("preflight_binary={bin}")])
        .args(["-e", &format!("preflight_controller={bin}")])
        .args(["-e", &format!("preflight_manifest={}", manifest.display())])
        .args([
            "-e",
            &format!("preflight_facts_dir={}", tmp.join("facts").display()),
        ])
        .args(["-e", &format!("preflight_report={}", report.display())])
        .args(["-e", "preflight_format=json"])
        .output()
        .expect("run ansible-playbook");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
#[cfg_attr(
    not(preflight_has_ansible),
    ignore = "needs ansible-playbook (pip install ansible)"
)]
fn the_ansible_playbook_collects_facts_and_fails_the_play_when_a_host_is_not_ready() {
    if !ansible_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A real listener on loopback: both "hosts" (this machine) see it, owned by this test process.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = listener.local_addr().unwrap().port();
    let manifest = |name: &str, port: u16| {
        let path = tmp.path().join(name);
        std::fs::write(
            &path,
            format!(
                "version: 1\ntarget: {{ platform: linux, run_as: root }}\nservices:\n  api:\n    socket: {{ reuse_address: true }}\n    ports:\n      http: {{ port: {port}, bind: 127.0.0.1, expose: local }}\n"
            ),
        )
        .unwrap();
        path
    };
    let report_file = tmp.path().join("report.json");
    let (code, log) = playbook(tmp.path(), &manifest("busy.yaml", busy), &report_file);
    assert_ne!(code, 0, "the play must fail: {log}");
    assert!(log.contains("preflight check exited 1"), "{log}");
    // The facts arrived on the controller, one file per host, named by the inventory.
    let mut files: Vec<String> = std::fs::read_dir(tmp.path().join("facts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["web-01.json", "web-02.json"], "{log}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    let hosts: Vec<&str> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["web-01", "web-02"]);
    let occupied: Vec<(&str, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "port-occupied")
        .map(|f| {
            (
                f["host"].as_str().unwrap(),
                f["evidence"]["pid"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let me = u64::from(std::process::id());
    assert_eq!(occupied, [("web-01", me), ("web-02", me)], "{report:#}");

    // A port nobody holds: the play passes.
    drop(listener);
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, log) = playbook(tmp.path(), &manifest("free.yaml", free), &report_file);
    assert_eq!(code, 0, "{log}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    assert!(
        !common::rules_of(&report).contains(&"port-occupied".to_owned()),
        "{report:#}"
    );
}

#[test]
#[cfg_attr(
    not(preflight_has_ansible_windows),
    ignore = "needs ansible with the ansible.windows collection (pip install ansible)"
)]
fn the_windows_tasks_resolve_against_ansible_windows() {
    // The Windows half can't run here; `--syntax-check` of a play that imports it statically at least
    // resolves every module and keyword against the real ansible.windows collection.
    let has_collection = common::has("ansible-doc")
        && std::process::Command::new("ansible-doc")
            .args(["-t", "module", "ansible.windows.win_shell"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !common::available(
        "ansible-playbook with the ansible.windows collection (pip install ansible)",
        has_collection,
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fleet = root().join("examples/fleet");
    let play = tmp.path().join("windows-play.yml");
    std::fs::write(
        &play,
        format!(
            "- hosts: all\n  gather_facts: false\n  vars: {{ _pf_facts_dir: facts, _pf_controller: preflight }}\n  tasks:\n    - ansible.builtin.import_tasks: {}\n",
            fleet.join("windows.yml").display()
        ),
    )
    .unwrap();
    for p in [play, fleet.join("playbook.yml")] {
        let out = std::process::Command::new("ansible-playbook")
            .env("ANSIBLE_LOCAL_TEMP", tmp.path().join("ansible-local"))
            .args(["--syntax-check", "-i", "localhost,"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}{}",
            p.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
#[cfg_attr(
    not(preflight_has_ansible),
    ignore = "needs ansible-playbook (pip install ansible)"
)]
fn inventory_vars_route_windows_hosts_and_a_failed_host_stops_the_check() {
    if !ansible_available() {
        return;
    }
    // `preflight_os=windows` in the inventory must reach the play (play vars would override it). The
    // "Windows host" here is this Linux machine, so the Windows collector fails on it, and the failure
    // must stop the run before `preflight check`, which would otherwise report a fleet without it.
    let tmp = tempfile::tempdir().unwrap();
    let inventory = tmp.path().join("inventory.ini");
    std::fs::write(
        &inventory,
        "[all]\n\
         web-01 ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n\
         win-x ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\" preflight_os=windows\n",
    )
    .unwrap();
    let manifest = tmp.path().join("deploy.yaml");
    std::fs::write(
        &manifest,
        "version: 1\ntarget: { platform: linux }\nservices:\n  api:\n    ports:\n      http: { port: 18080, bind: 127.0.0.1, expose: local }\n",
    )
    .unwrap();
    let (code, log) = playbook_with(
        tmp.path(),
        &inventory,
        &manifest,
        &tmp.path().join("r.json"),
    );
    assert_ne!(code, 0, "{log}");
    // The Linux tasks skipped win-x, and the Windows tasks ran (and failed) on it alone.
    let capture = log.find("TASK [Capture the facts").expect("capture task");
    let after = &log[capture..];
    let next = after[1..].find("TASK [").map_or(after.len(), |i| i + 1);
    assert!(after[..next].contains("skipping: [win-x]"), "{log}");
    assert!(after[..next].contains("ok: [web-01]"), "{log}");
    assert!(log.contains("fatal: [win-x]"), "{log}");
    assert!(!log.contains("fatal: [web-01]"), "{log}");
    // Nothing was checked with a fleet that lacks win-x.
    assert!(!log.contains("TASK [preflight check]"), "{log}");
    assert!(!tmp.path().join("r.json").exists());
}

#[test]
fn suggestions_of_rules_run_once_avoid_every_hosts_range() {
    // port-plan runs once for the fleet; the port it suggests must be outside each host's own dynamic
    // range, not only outside the platform's default one.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("deploy.yaml"),
        "version: 1\ntarget: { platform: linux, run_as: root }\nport_plan:\n  web: 20000-20010\nservices:\n  api:\n    team: web\n    ports:\n      http: { port: 9000, bind: 127.0.0.1, expose: local }\n",
    )
    .unwrap();
    let help = |extra: &[&str]| -> String {
        let (_, report) = check_json(tmp.path(), "deploy.yaml", extra);
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "port-plan")
            .map(|f| f["help"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(help(&[]).contains("20000 is the lowest free port"));
    for (host, start, end) in [("lin-1", 20000, 20005), ("lin-2", 20006, 20008)] {
        std::fs::write(
            tmp.path().join(format!("{host}.json")),
            format!(
                r#"{{"version":1,"host":"{host}","os":"linux","ephemeral_tcp":{{"value":{{"start":{start},"end":{end}}},"origin":"captured","detail":"test"}}}}"#
            ),
        )
        .unwrap();
    }
    assert!(help(&["--facts", "lin-1.json"]).contains("20006 is the lowest free port"));
    let both = help(&["--facts", "lin-1.json", "--facts", "lin-2.json"]);
    assert!(both.contains("20009 is the lowest free port"), "{both}");
}

#[test]
fn a_fleet_run_reports_for_each_host_what_a_run_on_that_host_alone_reports() {
    // The fleet run splits findings into the manifest's own (once) and each host's; for every host, the
    // two together must be exactly what checking against that host alone finds. A fourth host with its
    // own dynamic-port capture makes the ephemeral-range finding host-specific for everyone.
    let tmp = tempfile::tempdir().unwrap();
    let facts = fleet(tmp.path());
    let dynamic = root().join("tests/fixtures/facts/netsh-dynamicport-tcp.txt");
    let (code, _, err) = run(
        tmp.path(),
        &[
            "facts",
            "--host",
            "win-d",
            "--import",
            "netstat-ano=busy.txt",
            "--import",
            &format!("netsh-dynamicport={}", dynamic.display()),
            "-o",
            "facts/win-d.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    type Key = (String, String, String, String);
    let key = |f: &Value| -> Key {
        let s = |k: &str| f[k].as_str().unwrap_or("").to_owned();
        (s("rule"), s("path"), s("severity"), s("message"))
    };
    let (_, fleet_report) = check_json(tmp.path(), "deploy.yaml", &["--facts", "facts"]);
    let fleet_findings = fleet_report["findings"].as_array().unwrap();
    for host in ["win-a", "win-b", "win-c", "win-d"] {
        let file = facts.join(format!("{host}.json")).display().to_string();
        let (_, alone) = check_json(tmp.path(), "deploy.yaml", &["--facts", &file]);
        let mut expected: Vec<Key> = alone["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        let mut got: Vec<Key> = fleet_findings
            .iter()
            .filter(|f| f["host"].is_null() || f["host"] == host)
            .map(key)
            .collect();
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "{host}");
    }
    // win-d's captured range words its finding differently, so no host's ephemeral-range finding is
    // the same on every host: each host carries its own, for both ports, except win-b, where
    // `callbacks` lies in an excluded block (no outbound connection takes it).
    let eph: Vec<Option<&str>> = fleet_findings
        .iter()
        .filter(|f| f["rule"] == "ephemeral-range")
        .map(|f| f["host"].as_str())
        .collect();
    assert_eq!(
        eph,
        [
            Some("win-a"),
            Some("win-a"),
            Some("win-b"),
            Some("win-c"),
            Some("win-c"),
            Some("win-d"),
            Some("win-d")
        ]
    );
}

#[test]
fn a_host_whose_facts_are_invalid_stops_the_fleet_check() {
    // The fleet is listed by name first and each host's facts are read whole when its turn comes: a
    // file that names its host but holds a bad fact, or no JSON at all, is still the run's error,
    // named with its file, and no report is written.
    let tmp = tempfile::tempdir().unwrap();
    let facts = fleet(tmp.path());
    let good = std::fs::read_to_string(facts.join("win-b.json")).unwrap();
    let mut bad: Value = serde_json::from_str(&good).unwrap();
    bad["sockets"] = Value::from("not a list");
    std::fs::write(facts.join("win-b.json"), bad.to_string()).unwrap();
    let (code, out, err) = run(tmp.path(), &["check", "deploy.yaml", "--facts", "facts"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("win-b.json is not a valid facts file")
            && err.contains("expected struct Fact at line 1 column"),
        "{err}"
    );
    std::fs::write(facts.join("win-b.json"), "{\"host\": \"win-b\",").unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "deploy.yaml", "--facts", "facts"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("win-b.json is not a valid facts file"),
        "{err}"
    );
    std::fs::write(facts.join("win-b.json"), good).unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "deploy.yaml", "--facts", "facts"]);
    assert_eq!(code, 1, "{err}");
}
