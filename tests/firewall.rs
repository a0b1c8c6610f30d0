//! Firewalls against the real kernel. Each scenario loads a real ruleset (nftables or iptables-restore,
//! hand-written or in the shape firewalld, ufw, Docker and kube-proxy generate) into a private network
//! namespace, runs `preflight check --local` there, and then proves the verdict with a real client in a
//! second namespace joined by a veth pair (TEST-NET-1 addresses only): every port reported as
//! `firewall-blocked` must be unreachable, every other port reachable, and the reported set must be exactly
//! the expected one. Needs root, `ip`, `nft` and `iptables`; skipped (and said so) elsewhere. CI runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::root;
use serde_json::Value;

const PORTS: &[u16] = &[
    22, 2222, 7100, 7101, 8080, 8081, 8082, 8443, 9005, 10250, 31111,
];

fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn available() -> bool {
    common::available(
        "root, ip, nft, iptables-restore and python3",
        common::is_root()
            && ["ip", "nft", "iptables-restore", "python3"]
                .iter()
                .all(|t| common::has(t)),
    )
}

/// A server and a client namespace joined by a veth pair; deleted on drop.
struct Net {
    srv: String,
    cli: String,
}

impl Net {
    fn new(tag: &str) -> Net {
        let id = std::process::id() % 100_000;
        let net = Net {
            srv: format!("pf-srv-{tag}-{id}"),
            cli: format!("pf-cli-{tag}-{id}"),
        };
        let (a, b) = (format!("pfa{tag}{id}"), format!("pfb{tag}{id}"));
        let (a, b) = (&a[..a.len().min(15)], &b[..b.len().min(15)]);
        let setup = format!(
            "set -e; ip netns add {s}; ip netns add {c}; ip link add {a} type veth peer name {b}; \
             ip link set {a} netns {s}; ip link set {b} netns {c}; ip -n {s} link set {a} name eth0; \
             ip -n {s} addr add 192.0.2.1/24 dev eth0; ip -n {s} link set eth0 up; ip -n {s} link set lo up; \
             ip -n {c} addr add 192.0.2.2/24 dev {b}; ip -n {c} link set {b} up; ip -n {c} link set lo up",
            s = net.srv,
            c = net.cli,
        );
        assert!(sh(&setup), "namespace setup failed");
        net
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        sh(&format!(
            "ip netns del {}; ip netns del {}",
            self.srv, self.cli
        ));
    }
}

/// Listeners on every candidate port inside the server namespace; killed on drop.
struct Listeners(std::process::Child);

impl Listeners {
    fn start(ns: &str) -> Listeners {
        let script = format!(
            "import socket,time\nls=[]\nfor p in {PORTS:?}:\n  s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',p)); s.listen(64); ls.append(s)\nprint('ready',flush=True)\ntime.sleep(60)\n"
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-c", &script])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Listeners(child)
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Ports a real client in the client namespace can connect to (1.5 s timeout, in parallel).
fn reachable(cli: &str) -> BTreeSet<u16> {
    let script = format!(
        "import socket,threading,json\nok=[]\ndef t(p):\n  try:\n    socket.create_connection(('192.0.2.1',p),timeout=1.5).close(); ok.append(p)\n  except Exception: pass\nth=[threading.Thread(target=t,args=(p,)) for p in {PORTS:?}]\n[x.start() for x in th]; [x.join() for x in th]\nprint(json.dumps(sorted(ok)))\n"
    );
    let out = Command::new("ip")
        .args(["netns", "exec", cli, "python3", "-c", &script])
        .output()
        .unwrap();
    serde_json::from_slice::<Vec<u16>>(&out.stdout)
        .unwrap()
        .into_iter()
        .collect()
}

fn manifest(dir: &std::path::Path) {
    let mut m = String::from(
        "version: 1\ntarget: { platform: linux, run_as: root }\nservices:\n  api:\n    ports:\n",
    );
    for p in PORTS {
        m.push_str(&format!("      p{p}: {{ port: {p}, expose: public }}\n"));
    }
    std::fs::write(dir.join("deploy.yaml"), m).unwrap();
}

/// Loads `load` in a fresh server namespace, checks, probes; returns (reported blocked, reachable, report).
fn scenario(tag: &str, load: &str) -> (BTreeSet<u16>, BTreeSet<u16>, Value) {
    let net = Net::new(tag);
    let fixtures = root().join("tests/fixtures/firewall");
    assert!(
        sh(&format!(
            "cd {} && ip netns exec {} sh -c '{load}'",
            fixtures.display(),
            net.srv
        )),
        "loading {load} failed"
    );
    let _listeners = Listeners::start(&net.srv);
    let tmp = tempfile::tempdir().unwrap();
    manifest(tmp.path());
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &net.srv,
            env!("CARGO_BIN_EXE_preflight"),
            "check",
            "deploy.yaml",
            "--local",
            "--format",
            "json",
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let blocked = firewall_findings(&report)
        .into_iter()
        .filter(|(_, severity)| severity == "error")
        .map(|(port, _)| port)
        .collect();
    (blocked, reachable(&net.cli), report)
}

fn set(ports: &[u16]) -> BTreeSet<u16> {
    ports.iter().copied().collect()
}

fn check(tag: &str, load: &str, expected_blocked: &[u16]) {
    let (blocked, reachable, report) = scenario(tag, load);
    assert_eq!(
        blocked,
        set(expected_blocked),
        "{tag}: reported blocked ports\n{report:#}"
    );
    let all = set(PORTS);
    let unreachable: BTreeSet<u16> = all.difference(&reachable).copied().collect();
    assert_eq!(
        unreachable, blocked,
        "{tag}: the kernel disagrees with preflight (reachable: {reachable:?})"
    );
    // Every blocked finding names the backend and the deciding rule.
    for f in report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "firewall-blocked")
    {
        assert!(
            f["evidence"]["backend"]
                .as_str()
                .is_some_and(|b| !b.is_empty()),
            "{f}"
        );
        assert!(
            f["evidence"]["decided_by"]
                .as_str()
                .is_some_and(|b| !b.is_empty()),
            "{f}"
        );
    }
}

#[test]
#[cfg_attr(
    not(preflight_has_netns),
    ignore = "needs root, `unshare -n`, ip, nft, iptables-restore and python3"
)]
fn rulesets_decide_exactly_the_unreachable_ports() {
    if !available() {
        return;
    }
    check(
        "nd",
        "nft -f nft-reachability.nft",
        &[22, 7101, 8080, 8443, 10250, 31111],
    );
    check("na", "nft -f nft-policy-accept-drop.nft", &[8080, 8443]);
    check(
        "it",
        "iptables-restore < iptables-drop.v4",
        &[22, 7100, 7101, 8080, 8443, 10250, 31111],
    );
    check("em", "true", &[]);
    check(
        "fd",
        "nft -f firewalld.nft",
        &[7100, 7101, 8080, 8082, 8443, 9005, 10250, 31111],
    );
    check(
        "uf",
        "iptables-restore < ufw.v4",
        &[22, 7100, 7101, 8080, 8443, 9005, 10250, 31111],
    );
    check("dk", "iptables-restore < docker.v4", &[8080]);
    check(
        "kp",
        "iptables-restore < kube-proxy.v4",
        &[22, 7100, 7101, 8080, 8081, 8082, 8443, 9005],
    );
}

#[test]
#[cfg_attr(
    not(preflight_has_netns),
    ignore = "needs root, `unshare -n`, ip, nft, iptables-restore and python3"
)]
fn captured_rulesets_give_the_same_verdicts() {
    if !available() {
        return;
    }
    // Capture inside the namespace with the standard commands, import elsewhere, check with --facts.
    let net = Net::new("cp");
    let fixtures = root().join("tests/fixtures/firewall");
    assert!(sh(&format!(
        "cd {} && ip netns exec {} iptables-restore < ufw.v4",
        fixtures.display(),
        net.srv
    )));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().display();
    assert!(sh(&format!(
        "ip netns exec {s} nft -j list ruleset > {d}/nft.json && ip netns exec {s} iptables-save > {d}/ipt.txt && iptables -V > {d}/v.txt",
        s = net.srv
    )));
    manifest(tmp.path());
    let (code, _, err) = common::run(
        tmp.path(),
        &[
            "facts",
            "--import",
            "nft-json=nft.json",
            "--import",
            "iptables-save=ipt.txt",
            "--import",
            "iptables-version=v.txt",
            "-o",
            "fw.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (_, report) = common::check_json(tmp.path(), "deploy.yaml", &["--facts", "fw.json"]);
    let blocked: BTreeSet<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "firewall-blocked")
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(blocked.len(), 8, "{report:#}");
    assert!(report["findings"].as_array().unwrap().iter().any(|f| {
        f["rule"] == "firewall-blocked"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("from the captured facts")
    }));
}

/// The `firewall-blocked` findings of a report, as (port, severity).
fn firewall_findings(report: &Value) -> Vec<(u16, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "firewall-blocked")
        .map(|f| {
            let port = f["path"]
                .as_str()
                .unwrap()
                .trim_start_matches("services.api.ports.p")
                .trim_end_matches(".port")
                .parse()
                .unwrap();
            (port, f["severity"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(preflight_has_netns),
    ignore = "needs root, `unshare -n`, ip, nft, iptables-restore and python3"
)]
fn a_packet_mark_no_rule_on_the_way_in_sets_is_zero() {
    if !available() {
        return;
    }
    // A real node's dump: kubelet's `KUBE-FIREWALL -m mark --mark 0x8000/0x8000 -j DROP` on INPUT, and
    // KUBE-MARK-DROP (which sets 0x8000) in nat but reached from no chain a packet traverses. A fresh
    // packet carries mark 0: every port is reachable, and preflight says nothing, not "conditional".
    let (_, reachable, report) = scenario("km", "iptables-restore < kubelet-mark.v4");
    assert_eq!(reachable, set(PORTS), "the kernel drops some port");
    assert_eq!(firewall_findings(&report), [], "{report:#}");
    // The same dump with mangle PREROUTING marking TCP 8080 on the way in: the kernel drops 8080, and
    // preflight, which does not weigh the marking rule's own conditions, says 8080 *may* be dropped.
    let load = "iptables-restore < kubelet-mark.v4 && \
                iptables -t mangle -A PREROUTING -p tcp --dport 8080 -j MARK --set-xmark 0x8000/0x8000";
    let (_, reachable, report) = scenario("kn", load);
    let unreachable: BTreeSet<u16> = set(PORTS).difference(&reachable).copied().collect();
    assert_eq!(unreachable, set(&[8080]));
    let findings = firewall_findings(&report);
    assert!(
        !findings.is_empty() && findings.iter().all(|(_, s)| s == "warning"),
        "{report:#}"
    );
    assert!(findings.iter().any(|(p, _)| *p == 8080), "{findings:?}");
    let text = report.to_string();
    assert!(text.contains("--mark 0x8000/0x8000"), "{report:#}");
    // nftables: the same test as `meta mark & 0x8000 == 0x8000`, and `meta mark != 0` before 9005.
    // Only a chain no hook reaches sets a mark bit (0x4000): every port is reachable.
    let (_, reachable, report) = scenario("nm", "nft -f nft-mark.nft");
    assert_eq!(reachable, set(PORTS), "the kernel drops some port");
    assert_eq!(firewall_findings(&report), [], "{report:#}");
    // A prerouting chain sets 0x8000 on TCP 8080: the kernel drops it. The marking rule's own
    // condition is not weighed, so any port may carry the mark: warnings, 8080's among them.
    let (_, reachable, report) = scenario(
        "np",
        "nft -f nft-mark.nft && nft -f nft-mark-prerouting.nft",
    );
    let unreachable: BTreeSet<u16> = set(PORTS).difference(&reachable).copied().collect();
    assert_eq!(unreachable, set(&[8080]));
    let findings = firewall_findings(&report);
    assert!(
        findings.iter().any(|(p, s)| *p == 8080 && s == "warning")
            && findings.iter().all(|(_, s)| s == "warning"),
        "{report:#}"
    );
}
