//! Host facts against the real kernel: sockets bound on 127.0.0.1 by a child process, a TIME_WAIT made on
//! loopback, and port sysctls changed inside a private network namespace. Nothing outside loopback and
//! namespaces made here is touched.
//!
//! Tests that need root (owners of other processes' sockets, `unshare -n`) say so and skip where they
//! can't run; CI runs as root, so there they run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{check_json, is_root, run};
use serde_json::Value;

fn can_unshare_net() -> bool {
    Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

fn manifest(dir: &std::path::Path, body: &str) {
    std::fs::write(
        dir.join("deploy.yaml"),
        format!("version: 1\ntarget: {{ platform: linux }}\n{body}"),
    )
    .unwrap();
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

/// A python3 child listening on 127.0.0.1:<free port>; killed on drop.
struct Listener {
    child: std::process::Child,
    port: u16,
}

impl Listener {
    fn start() -> Self {
        let mut child = Command::new("python3")
            .args([
                "-c",
                "import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is needed for this test");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap();
        Listener { child, port }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_child_listener_is_found_with_its_pid_and_name() {
    let l = Listener::start();
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        &format!(
            "services:\n  api:\n    ports:\n      http: {{ port: {}, bind: 127.0.0.1, expose: local }}\n",
            l.port
        ),
    );
    let (code, report) = check_json(tmp.path(), "deploy.yaml", &["--local"]);
    assert_eq!(code, 1, "{report:#}");
    let f = findings(&report, "port-occupied");
    assert_eq!(f.len(), 1, "{report:#}");
    let msg = f[0]["message"].as_str().unwrap();
    if is_root() {
        assert_eq!(f[0]["evidence"]["pid"], l.child.id(), "{msg}");
        assert_eq!(f[0]["evidence"]["process"], "python3");
        assert!(
            msg.contains(&format!("python3 (PID {})", l.child.id())),
            "{msg}"
        );
    } else if f[0]["evidence"]["pid"].is_null() {
        eprintln!("not root: the owner may be hidden; checking the wording only");
        assert!(
            msg.contains("owner is unknown (run as root to see it)"),
            "{msg}"
        );
    }
    assert_eq!(f[0]["evidence"]["source"], "live");
    // A different loopback address does not overlap 127.0.0.1.
    manifest(
        tmp.path(),
        &format!(
            "services:\n  api:\n    ports:\n      http: {{ port: {}, bind: 127.0.0.2, expose: local }}\n",
            l.port
        ),
    );
    let (_, report) = check_json(tmp.path(), "deploy.yaml", &["--local"]);
    assert!(findings(&report, "port-occupied").is_empty(), "{report:#}");
}

/// Leaves a TIME_WAIT socket on the server side of a loopback connection and returns its port.
fn make_time_wait() -> u16 {
    make_time_wait_on(TcpListener::bind("127.0.0.1:0").unwrap())
}

/// Leaves a TIME_WAIT socket on `listener`'s port (the server closes first), and closes the listener.
fn make_time_wait_on(listener: TcpListener) -> u16 {
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (server_side, _) = listener.accept().unwrap();
    drop(server_side); // the server closes first: TIME_WAIT lands on the server's port
    let mut buf = [0u8; 1];
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    drop(client);
    drop(listener);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let out = Command::new("cat").arg("/proc/net/tcp").output().unwrap();
        let hex = format!(":{port:04X} ");
        if String::from_utf8_lossy(&out.stdout).lines().any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(hex.trim()))
                && l.split_whitespace().nth(3) == Some("06")
        }) {
            return port;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no TIME_WAIT appeared on port {port}");
}

/// A manifest whose `worker` (Python, without SO_REUSEADDR) listens on `port` on loopback.
fn worker_on(dir: &std::path::Path, port: u16) {
    manifest(
        dir,
        &format!(
            "services:\n  worker:\n    runtime: python\n    socket: {{ reuse_address: false }}\n    ports:\n      http: {{ port: {port}, bind: 127.0.0.1, expose: local }}\n"
        ),
    );
}

#[test]
fn time_wait_on_loopback_is_reported_and_not_occupied_live_and_captured() {
    let port = make_time_wait();
    let tmp = tempfile::tempdir().unwrap();
    worker_on(tmp.path(), port);
    let (_, live) = check_json(tmp.path(), "deploy.yaml", &["--local"]);
    assert!(findings(&live, "port-occupied").is_empty(), "{live:#}");
    let tw = findings(&live, "time-wait");
    assert_eq!(tw.len(), 1, "{live:#}");
    assert_eq!(tw[0]["severity"], "warning");
    assert_eq!(tw[0]["evidence"]["source"], "live");

    // The same through a facts file: `facts -o` then `check --facts`.
    let (code, _, err) = run(tmp.path(), &["facts", "-o", "host.json"]);
    assert_eq!(code, 0, "{err}");
    let (_, captured) = check_json(tmp.path(), "deploy.yaml", &["--facts", "host.json"]);
    let tw = findings(&captured, "time-wait");
    assert_eq!(tw.len(), 1, "{captured:#}");
    assert_eq!(tw[0]["evidence"]["source"], "captured");
    assert!(findings(&captured, "port-occupied").is_empty());
}

#[test]
fn time_wait_on_a_listeners_port_is_reported_with_it_live_and_captured() {
    // A service that is still up (its listener) with TIME_WAIT connections on its port, as during a
    // restart: port-occupied names the listener, and time-wait says whether the restart can bind.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    make_time_wait_on(listener.try_clone().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    worker_on(tmp.path(), port);
    let (_, live) = check_json(tmp.path(), "deploy.yaml", &["--local"]);
    assert_eq!(findings(&live, "port-occupied").len(), 1, "{live:#}");
    let tw = findings(&live, "time-wait");
    assert_eq!(tw.len(), 1, "{live:#}");
    assert!(
        tw[0]["message"]
            .as_str()
            .unwrap()
            .contains("of the listener there"),
        "{}",
        tw[0]
    );
    let (code, _, err) = run(tmp.path(), &["facts", "-o", "host.json"]);
    assert_eq!(code, 0, "{err}");
    let (_, captured) = check_json(tmp.path(), "deploy.yaml", &["--facts", "host.json"]);
    assert_eq!(findings(&captured, "time-wait").len(), 1, "{captured:#}");
    assert_eq!(
        findings(&captured, "port-occupied").len(),
        1,
        "{captured:#}"
    );
    drop(listener);
}

#[test]
fn facts_file_round_trip_finds_the_listener() {
    let l = Listener::start();
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        tmp.path(),
        &["facts", "--host", "build-01", "-o", "host.json"],
    );
    assert_eq!(code, 0, "{err}");
    manifest(
        tmp.path(),
        &format!("services:\n  api:\n    ports:\n      http: {}\n", l.port),
    );
    let (code, report) = check_json(tmp.path(), "deploy.yaml", &["--facts", "host.json"]);
    assert_eq!(code, 1);
    let f = findings(&report, "port-occupied");
    assert_eq!(f.len(), 1, "{report:#}");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("in the captured facts")
    );
    assert!(
        report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["rule"] != "port-occupied")
    );
}

#[test]
fn without_facts_host_rules_are_skipped_not_passed() {
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "services:\n  api:\n    ports:\n      http: 11000\n",
    );
    let (code, report) = check_json(tmp.path(), "deploy.yaml", &[]);
    assert_eq!(code, 0);
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        [
            "firewall-blocked",
            "platform-mismatch",
            "port-occupied",
            "time-wait"
        ]
    );
    assert!(
        report["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("--local")
    );
}

#[test]
#[cfg_attr(not(preflight_has_netns), ignore = "needs root and `unshare -n`")]
fn namespace_sysctls_are_read_live() {
    if !common::available("root and `unshare -n`", is_root() && can_unshare_net()) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    manifest(
        tmp.path(),
        "port_plan:\n  batch: 20000-20999\n  web: 11000-11999\nservices:\n  api:\n    ports:\n      in-range: 20010\n      reserved: 20050\n      default-range: 40000\n      at-start: 80\n      below: 79\n",
    );
    let bin = env!("CARGO_BIN_EXE_preflight");
    let script = format!(
        "echo '20000 20100' > /proc/sys/net/ipv4/ip_local_port_range && \
         echo 20050 > /proc/sys/net/ipv4/ip_local_reserved_ports && \
         echo 80 > /proc/sys/net/ipv4/ip_unprivileged_port_start && \
         exec {bin} check deploy.yaml --local --format json"
    );
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let paths = |rule: &str| -> Vec<String> {
        findings(&report, rule)
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        paths("ephemeral-range"),
        ["services.api.ports.in-range"],
        "{report:#}"
    );
    let eph = &findings(&report, "ephemeral-range")[0];
    assert!(
        eph["message"]
            .as_str()
            .unwrap()
            .contains("20000-20100 (net.ipv4.ip_local_port_range, read from this host)"),
        "{eph}"
    );
    assert_eq!(
        paths("privileged-port"),
        ["services.api.ports.below"],
        "{report:#}"
    );
    assert!(
        findings(&report, "privileged-port")[0]["message"]
            .as_str()
            .unwrap()
            .contains("below 80 (net.ipv4.ip_unprivileged_port_start, read from this host)")
    );
    assert_eq!(paths("plan-in-ephemeral"), ["port_plan.batch"]);
    assert!(
        findings(&report, "plan-in-ephemeral")[0]["message"]
            .as_str()
            .unwrap()
            .contains("in 20000-20100")
    );
    // The host's own values really differ from the namespace's: outside it, the defaults apply again.
    let (_, outside) = check_json(tmp.path(), "deploy.yaml", &["--local"]);
    let host_range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    if host_range.split_whitespace().next() == Some("32768") {
        assert!(
            findings(&outside, "ephemeral-range")
                .iter()
                .any(|f| f["path"] == "services.api.ports.default-range")
        );
    }
}
