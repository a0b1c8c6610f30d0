//! `preflight diagnose` on real-world error strings (Go, Node, Python, Java, .NET, Rust, nginx, Docker;
//! Linux errno and Winsock codes), and re-ranking with host facts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{root, run};
use serde_json::Value;

/// (error text, kind, operation, port, address, platform, first cause's rule)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    Option<u16>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

const CASES: &[Case] = &[
    (
        "listen tcp :8080: bind: address already in use",
        "address-in-use",
        "bind",
        Some(8080),
        None,
        None,
        Some("port-occupied"),
    ),
    (
        "listen tcp 0.0.0.0:8080: bind: Only one usage of each socket address (protocol/network address/port) is normally permitted.",
        "address-in-use",
        "bind",
        Some(8080),
        Some("0.0.0.0"),
        Some("windows"),
        Some("port-occupied"),
    ),
    (
        "listen tcp 127.0.0.1:9801: bind: An attempt was made to access a socket in a way forbidden by its access permissions.",
        "access-denied",
        "bind",
        Some(9801),
        Some("127.0.0.1"),
        Some("windows"),
        Some("excluded-range"),
    ),
    (
        "listen tcp :80: bind: permission denied",
        "access-denied",
        "bind",
        Some(80),
        None,
        None,
        Some("privileged-port"),
    ),
    (
        "dial tcp 10.0.0.5:443: connect: cannot assign requested address",
        "address-not-available",
        "connect",
        Some(443),
        Some("10.0.0.5"),
        None,
        Some("ephemeral-range"),
    ),
    (
        "Error: listen EADDRINUSE: address already in use :::3000",
        "address-in-use",
        "bind",
        Some(3000),
        Some("::"),
        None,
        Some("port-occupied"),
    ),
    (
        "Error: listen EACCES: permission denied 0.0.0.0:80",
        "access-denied",
        "bind",
        Some(80),
        Some("0.0.0.0"),
        None,
        Some("privileged-port"),
    ),
    (
        "Error: listen EADDRNOTAVAIL: address not available 10.99.99.99:3009",
        "address-not-available",
        "bind",
        Some(3009),
        Some("10.99.99.99"),
        None,
        None,
    ),
    (
        "java.net.BindException: Address already in use",
        "address-in-use",
        "bind",
        None,
        None,
        None,
        Some("port-occupied"),
    ),
    (
        "java.net.BindException: Address already in use: JVM_Bind",
        "address-in-use",
        "bind",
        None,
        None,
        Some("windows"),
        Some("port-occupied"),
    ),
    (
        "OSError: [Errno 98] Address already in use",
        "address-in-use",
        "bind",
        None,
        None,
        Some("linux"),
        Some("port-occupied"),
    ),
    (
        "OSError: [Errno 98] error while attempting to bind on address ('127.0.0.1', 3005): address already in use",
        "address-in-use",
        "bind",
        Some(3005),
        Some("127.0.0.1"),
        Some("linux"),
        Some("port-occupied"),
    ),
    (
        "Error: Address already in use (os error 98)",
        "address-in-use",
        "bind",
        None,
        None,
        Some("linux"),
        Some("port-occupied"),
    ),
    (
        "System.Net.Sockets.SocketException (10048): Only one usage of each socket address (protocol/network address/port) is normally permitted.",
        "address-in-use",
        "bind",
        None,
        None,
        Some("windows"),
        Some("port-occupied"),
    ),
    (
        "System.IO.IOException: Failed to bind to address http://127.0.0.1:5000: address already in use.",
        "address-in-use",
        "bind",
        Some(5000),
        Some("127.0.0.1"),
        None,
        Some("port-occupied"),
    ),
    (
        "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
        "address-in-use",
        "bind",
        Some(80),
        Some("0.0.0.0"),
        Some("linux"),
        Some("port-occupied"),
    ),
    (
        "nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)",
        "access-denied",
        "bind",
        Some(80),
        Some("0.0.0.0"),
        None,
        Some("privileged-port"),
    ),
    (
        "Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use",
        "address-in-use",
        "bind",
        Some(8080),
        Some("0.0.0.0"),
        None,
        Some("port-occupied"),
    ),
    (
        "Error response from daemon: Ports are not available: exposing port TCP 0.0.0.0:8080 -> 0.0.0.0:0: listen tcp 0.0.0.0:8080: bind: An attempt was made to access a socket in a way forbidden by its access permissions.",
        "access-denied",
        "bind",
        Some(8080),
        Some("0.0.0.0"),
        Some("windows"),
        Some("excluded-range"),
    ),
    (
        "An operation on a socket could not be performed because the system lacked sufficient buffer space or because a queue was full",
        "no-buffers",
        "connect",
        None,
        None,
        Some("windows"),
        Some("ephemeral-range"),
    ),
    (
        "dial tcp 10.0.0.7:5432: connect: connection refused",
        "connection-refused",
        "connect",
        Some(5432),
        Some("10.0.0.7"),
        None,
        None,
    ),
    (
        "No connection could be made because the target machine actively refused it. (10061)",
        "connection-refused",
        "connect",
        None,
        None,
        Some("windows"),
        None,
    ),
    (
        "2026-11-25 12:30:45 fatal: listen tcp :8443: bind: address already in use",
        "address-in-use",
        "bind",
        Some(8443),
        None,
        None,
        Some("port-occupied"),
    ),
];

fn json(args: &[&str]) -> Value {
    let (code, out, err) = run(&root(), args);
    assert!(code == 0 || code == 1, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn real_world_errors() {
    assert!(CASES.len() >= 15);
    for (text, kind, op, port, address, platform, rule) in CASES {
        let d = json(&["diagnose", text, "--format", "json"]);
        let ctx = format!("{text}\n{d:#}");
        assert_eq!(d["kind"], *kind, "{ctx}");
        assert_eq!(d["operation"], *op, "{ctx}");
        assert_eq!(d["port"].as_u64(), port.map(u64::from), "{ctx}");
        assert_eq!(d["address"].as_str(), *address, "{ctx}");
        assert_eq!(d["platform"].as_str(), *platform, "{ctx}");
        let first = &d["causes"][0];
        assert_eq!(first["rule"].as_str(), *rule, "{ctx}");
        assert!(
            !first["confirm"].as_array().unwrap().is_empty()
                && !first["fix"].as_array().unwrap().is_empty(),
            "{ctx}"
        );
    }
}

#[test]
fn outbound_failures_do_not_blame_the_listening_port() {
    for text in [
        "dial tcp 10.0.0.5:443: connect: cannot assign requested address",
        "An operation on a socket could not be performed because the system lacked sufficient buffer space or because a queue was full",
    ] {
        let d = json(&["diagnose", text, "--format", "json"]);
        let why = d["causes"][0]["why"].as_str().unwrap();
        assert!(
            why.contains("not a problem of the service's listening port"),
            "{why}"
        );
        assert!(
            d["causes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["rule"] != "port-occupied")
        );
    }
}

#[test]
fn stdin_text_and_unknown_errors() {
    let out = common::preflight_in(&root())
        .args(["diagnose"])
        .write_stdin("listen tcp :8080: bind: address already in use\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("[port-occupied] high"));
    let (code, out, _) = run(&root(), &["diagnose", "segmentation fault"]);
    assert_eq!(code, 1);
    assert!(out.contains("not a socket error"));
}

#[test]
fn host_facts_rerank_by_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("host.json"),
        r#"{"version":1,"os":"linux","sockets":{"origin":"captured","detail":"ss","value":[
            {"protocol":"tcp","address":"10.0.0.5","port":8080,"state":"time-wait"},
            {"protocol":"tcp","address":"10.0.0.5","port":8080,"state":"time-wait"}]}}"#,
    )
    .unwrap();
    let (_, out, _) = run(
        tmp.path(),
        &[
            "diagnose",
            "listen tcp :8080: bind: address already in use",
            "--facts",
            "host.json",
            "--format",
            "json",
        ],
    );
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["causes"][0]["rule"], "time-wait", "{d:#}");
    assert_eq!(d["causes"][0]["likelihood"], "high");
    assert!(
        d["causes"][0]["why"]
            .as_str()
            .unwrap()
            .contains("2 connection(s) in TIME_WAIT")
    );
    let occupied = d["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "port-occupied")
        .unwrap();
    assert_eq!(occupied["likelihood"], "low", "nothing listens there");
}

/// `diagnose` of a fixture file (its first line names its source; the rest is the pasted text).
fn diagnose_file(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/diagnose").join(name)).unwrap();
    let pasted: String = text.lines().skip(1).collect::<Vec<_>>().join("\n");
    json(&["diagnose", &pasted, "--format", "json"])
}

#[test]
fn windows_node_errors_are_windows_binds_into_an_excluded_range() {
    // (fixture, port, address): libuv's Windows EACCES (errno -4092), a stack through D:\…, and a
    // stack through C:\… below an unrelated `cannot connect to daemon`.
    for (file, port, address) in [
        ("node-eacces-windows-errno.txt", 1420, "::1"),
        ("node-eacces-windows-drive.txt", 1181, "0.0.0.0"),
        ("node-eacces-adb-above.txt", 5037, "0.0.0.0"),
    ] {
        let d = diagnose_file(file);
        let ctx = format!("{file}: {d:#}");
        assert_eq!(d["kind"], "access-denied", "{ctx}");
        assert_eq!(
            d["operation"], "bind",
            "the error's own line says listen: {ctx}"
        );
        assert_eq!(d["platform"], "windows", "{ctx}");
        assert_eq!(d["port"].as_u64(), Some(port), "{ctx}");
        assert_eq!(d["address"], address, "{ctx}");
        assert_eq!(d["causes"][0]["rule"], "excluded-range", "{ctx}");
        let all = d["causes"].to_string();
        assert!(
            !all.contains("ip_unprivileged_port_start"),
            "no Linux cause: {ctx}"
        );
    }
}

#[test]
fn a_cause_whose_premise_is_false_for_the_port_is_not_stated() {
    // EACCES on 8080 from an unknown platform: the privileged-port cause says it holds only if the
    // host raised the start of unprivileged ports, never that 8080 is below it.
    let d = diagnose_file("node-eacces-8080-unknown.txt");
    let why = d["causes"][0]["why"].as_str().unwrap();
    assert_eq!(d["causes"][0]["rule"], "privileged-port");
    assert_eq!(d["causes"][0]["likelihood"], "low");
    assert!(
        why.contains("only if this host raised it above 8080"),
        "{why}"
    );
    assert!(!why.contains("8080 is below"), "{why}");
    // A Linux bind failure on 2024 is not blamed on the dynamic range (2024 is outside 32768-60999),
    // and a Linux host is not told about IIS or SQL Server.
    let d = json(&[
        "diagnose",
        "listen tcp 0.0.0.0:2024: bind: address already in use",
        "--platform",
        "linux",
        "--format",
        "json",
    ]);
    let rules: Vec<&str> = d["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["rule"].as_str())
        .collect();
    assert!(!rules.contains(&"ephemeral-range"), "{d:#}");
    let all = d["causes"].to_string();
    assert!(!all.contains("IIS") && !all.contains("SQL Server"), "{d:#}");
    // Inside the range, it is a cause.
    let d = json(&[
        "diagnose",
        "listen tcp 0.0.0.0:40000: bind: address already in use",
        "--platform",
        "linux",
        "--format",
        "json",
    ]);
    assert!(d["causes"].to_string().contains("ephemeral-range"), "{d:#}");
}

/// A real error text's diagnosis as written by hand: (fixture, kind, platform, port, address,
/// operation, first cause's rule).
type Expected = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<u16>,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
);

#[test]
fn twenty_six_error_texts_pasted_in_issues_are_read_as_a_person_reads_them() {
    // Each fixture's first line names the issue it was pasted in. Platform only where the text tells
    // (an errno, a Windows path, a home directory, a target triple); the address as the text writes
    // it (`*` is Redis' "every address"); the first cause by the error's class: in use → who holds the
    // port, Windows 10013 → an excluded range, Unix EACCES → a privileged port, EADDRNOTAVAIL → none.
    #[rustfmt::skip]
    let cases: &[Expected] = &[
        ("node-eaddrinuse-linux-1.txt", "address-in-use", Some("linux"), Some(3000), Some("::"), "bind", Some("port-occupied")),
        ("node-eaddrinuse-macos-1.txt", "address-in-use", Some("macos"), Some(5000), Some("::"), "bind", Some("port-occupied")),
        ("node-eaddrinuse-windows-1.txt", "address-in-use", Some("windows"), Some(5000), Some("::"), "bind", Some("port-occupied")),
        ("node-eacces-linux-1.txt", "access-denied", Some("linux"), Some(80), Some("0.0.0.0"), "bind", Some("privileged-port")),
        ("node-eacces-windows-1.txt", "access-denied", Some("windows"), Some(80), Some("0.0.0.0"), "bind", Some("excluded-range")),
        ("node-eaddrnotavail-1.txt", "address-not-available", None, Some(9000), Some("118.24.129.168"), "bind", None),
        ("go-eaddrinuse-1.txt", "address-in-use", None, Some(8888), None, "bind", Some("port-occupied")),
        ("go-windows-10013-1.txt", "access-denied", Some("windows"), Some(1080), Some("0.0.0.0"), "bind", Some("excluded-range")),
        ("go-windows-10048-1.txt", "address-in-use", Some("windows"), Some(11434), Some("0.0.0.0"), "bind", Some("port-occupied")),
        ("docker-windows-excluded-1.txt", "access-denied", Some("windows"), Some(1337), Some("0.0.0.0"), "bind", Some("excluded-range")),
        ("docker-allocated-1.txt", "address-in-use", None, Some(80), Some("0.0.0.0"), "bind", Some("port-occupied")),
        ("docker-userland-1.txt", "address-in-use", None, Some(80), Some("0.0.0.0"), "bind", Some("port-occupied")),
        ("python-errno98-1.txt", "address-in-use", Some("linux"), None, None, "bind", Some("port-occupied")),
        ("python-errno48-macos-1.txt", "address-in-use", Some("macos"), None, None, "bind", Some("port-occupied")),
        ("python-errno13-1.txt", "access-denied", Some("linux"), None, Some("0.0.0.0"), "bind", Some("privileged-port")),
        ("python-winerror10013-1.txt", "access-denied", Some("windows"), Some(8080), Some("0.0.0.0"), "bind", Some("excluded-range")),
        ("python-winerror10048-1.txt", "address-in-use", Some("windows"), None, None, "bind", Some("port-occupied")),
        ("dotnet-kestrel-linux-1.txt", "address-in-use", Some("linux"), Some(5000), Some("127.0.0.1"), "bind", Some("port-occupied")),
        ("dotnet-kestrel-windows-10013-1.txt", "access-denied", Some("windows"), None, None, "bind", Some("excluded-range")),
        ("java-spring-portinuse-1.txt", "address-in-use", None, Some(8080), None, "bind", Some("port-occupied")),
        ("java-bindexception-1.txt", "address-in-use", None, Some(8080), None, "bind", Some("port-occupied")),
        ("nginx-98-1.txt", "address-in-use", Some("linux"), Some(80), Some("0.0.0.0"), "bind", Some("port-occupied")),
        ("nginx-windows-10013-1.txt", "access-denied", Some("windows"), Some(80), Some("0.0.0.0"), "bind", Some("excluded-range")),
        ("postgres-eaddrinuse-1.txt", "address-in-use", Some("linux"), Some(5432), Some("127.0.0.1"), "bind", Some("port-occupied")),
        ("mysql-eaddrinuse-1.txt", "address-in-use", None, Some(3306), None, "bind", Some("port-occupied")),
        ("redis-eaddrinuse-1.txt", "address-in-use", None, Some(6379), Some("*"), "bind", Some("port-occupied")),
    ];
    let mut failures = Vec::new();
    for &(file, kind, platform, port, address, operation, first) in cases {
        let d = diagnose_file(file);
        let got = (
            d["kind"].as_str().unwrap_or("?").to_owned(),
            d["platform"].as_str().map(str::to_owned),
            d["port"].as_u64().and_then(|p| u16::try_from(p).ok()),
            d["address"].as_str().map(str::to_owned),
            d["operation"].as_str().unwrap_or("?").to_owned(),
            d["causes"][0]["rule"].as_str().map(str::to_owned),
        );
        let want = (
            kind.to_owned(),
            platform.map(str::to_owned),
            port,
            address.map(str::to_owned),
            operation.to_owned(),
            first.map(str::to_owned),
        );
        if got != want {
            failures.push(format!("{file}: read {got:?}, expected {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
