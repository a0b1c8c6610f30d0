//! Host facts: parsers on captured output (Windows and Linux formats, messy ones included), the
//! `facts --import` command, and a property test that the parsers never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;

use common::{root, run};
use preflight::facts::import::{ImportKind, import};
use preflight::facts::parse;
use preflight::facts::{Facts, SocketState};
use preflight::manifest::Protocol;
use preflight::ports::PortRange;
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/facts").join(name)).unwrap()
}

fn r(a: u16, b: u16) -> PortRange {
    PortRange::new(a, b).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn excluded_port_ranges_english_crlf_with_administered_marker() {
    let (proto, ex) =
        parse::excludedportrange(&fixture("netsh-excludedportrange-tcp.txt")).unwrap();
    assert_eq!(proto, Some(Protocol::Tcp));
    let got: Vec<(PortRange, bool)> = ex.iter().map(|e| (e.range, e.administered)).collect();
    assert_eq!(
        got,
        [
            (r(5357, 5357), false),
            (r(49671, 49770), false),
            (r(50000, 50059), true)
        ]
    );
}

#[test]
fn excluded_port_ranges_localized_and_empty() {
    let (proto, ex) =
        parse::excludedportrange(&fixture("netsh-excludedportrange-udp-de.txt")).unwrap();
    assert_eq!(proto, Some(Protocol::Udp));
    assert_eq!(ex.len(), 2);
    assert!(ex[1].administered && ex[1].range == r(54000, 54000));
    let (_, ex) = parse::excludedportrange(&fixture("netsh-excludedportrange-empty.txt")).unwrap();
    assert!(ex.is_empty());
    let e = parse::excludedportrange(&fixture("netsh-excludedportrange-broken.txt")).unwrap_err();
    assert_eq!(e.line, 6, "{e:?}");
}

#[test]
fn dynamic_port_ranges() {
    let (proto, range) = parse::dynamicport(&fixture("netsh-dynamicport-tcp.txt")).unwrap();
    assert_eq!((proto, range), (Some(Protocol::Tcp), r(49152, 65535)));
    // The widely copied tip `set dynamicport udp start=10000 num=55536`, with German labels.
    let (proto, range) = parse::dynamicport(&fixture("netsh-dynamicport-udp-tip.txt")).unwrap();
    assert_eq!((proto, range), (Some(Protocol::Udp), r(10000, 65535)));
    assert!(parse::dynamicport("Start Port : 60000\nNumber of Ports : 16384\n").is_err());
    assert!(parse::dynamicport("nothing here").is_err());
}

#[test]
fn windows_netstat_ano() {
    let s = parse::netstat_ano(&fixture("netstat-ano.txt")).unwrap();
    assert_eq!(s.len(), 9);
    assert_eq!(
        (s[0].port, s[0].state, s[0].pid),
        (80, SocketState::Listen, Some(4))
    );
    assert_eq!(
        (s[3].state, s[4].state),
        (SocketState::Established, SocketState::TimeWait)
    );
    assert_eq!((s[5].address, s[5].state), (ip("::"), SocketState::Listen));
    assert_eq!(
        (s[7].protocol, s[7].port, s[7].state, s[7].pid),
        (Protocol::Udp, 123, SocketState::Bound, Some(1284))
    );
    // Localized states: listening is recognised by the foreign address 0.0.0.0:0.
    let s = parse::netstat_ano(&fixture("netstat-ano-de.txt")).unwrap();
    let states: Vec<SocketState> = s.iter().map(|x| x.state).collect();
    assert_eq!(
        states,
        [
            SocketState::Listen,
            SocketState::Listen,
            SocketState::Established,
            SocketState::TimeWait
        ]
    );
}

#[test]
fn linux_ss_with_and_without_netid_and_owners() {
    let s = parse::ss(&fixture("ss-tlnp.txt")).unwrap();
    assert_eq!(s.len(), 4);
    assert_eq!(
        (s[0].address, s[0].port, s[0].pid, s[0].process.as_deref()),
        (ip("127.0.0.1"), 8080, Some(7706), Some("python3"))
    );
    assert_eq!(s[1].address, ip("::"), "`*` is the dual-stack wildcard");
    assert_eq!((s[3].address, s[3].port), (ip("127.0.0.53"), 53));
    let s = parse::ss(&fixture("ss-tulpn.txt")).unwrap();
    assert_eq!(s.iter().filter(|x| x.protocol == Protocol::Udp).count(), 2);
    assert_eq!(s[2].process.as_deref(), Some("nginx"));
    let s = parse::ss(&fixture("ss-tanp-nonroot.txt")).unwrap();
    assert!(s.iter().all(|x| x.pid.is_none()));
    assert_eq!(s[2].state, SocketState::TimeWait);
    let e = parse::ss(&fixture("ss-names.txt")).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("ss -n"), "{}", e.message);
}

#[test]
fn linux_netstat() {
    let s = parse::netstat_linux(&fixture("netstat-tulpn.txt")).unwrap();
    assert_eq!(s.len(), 5);
    assert_eq!(
        (s[0].pid, s[0].process.as_deref()),
        (Some(700), Some("sshd"))
    );
    assert_eq!(s[1].pid, None, "`-` when not root");
    assert_eq!((s[2].address, s[2].port), (ip("::"), 80));
    assert_eq!(
        (s[3].protocol, s[3].pid, s[3].process.as_deref()),
        (Protocol::Udp, Some(567), Some("dhclient"))
    );
}

#[test]
fn import_command_builds_facts_and_check_uses_them() {
    let tmp = tempfile::tempdir().unwrap();
    let facts_dir = root().join("tests/fixtures/facts");
    let out = tmp.path().join("win.json");
    let (code, _, err) = run(
        &facts_dir,
        &[
            "facts",
            "--host",
            "win-app-01",
            "--import",
            "netsh-excludedportrange=netsh-excludedportrange-tcp.txt",
            "--import",
            "netsh-dynamicport=netsh-dynamicport-tcp.txt",
            "--import",
            "netstat-ano=netstat-ano.txt",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let facts: Facts = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(facts.host.as_deref(), Some("win-app-01"));
    assert_eq!(facts.ephemeral_tcp.unwrap().value, r(49152, 65535));
    assert_eq!(facts.excluded_tcp.unwrap().value.len(), 3);
    std::fs::write(
        tmp.path().join("deploy.yaml"),
        "version: 1\ntarget: { platform: windows }\nservices:\n  api:\n    ports:\n      http: 1433\n      dyn: 49700\n      winrm: 5985\n",
    )
    .unwrap();
    let (code, report) = common::check_json(tmp.path(), "deploy.yaml", &["--facts", "win.json"]);
    assert_eq!(code, 1);
    let f: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "port-occupied" || f["rule"] == "excluded-range")
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(
        f[0].1.contains("PID 3880") && f[0].1.contains("captured"),
        "{f:?}"
    );
    assert!(f[1].1.contains("49671-49770"), "{f:?}");
    assert!(f[2].1.contains("HTTP.sys"), "{f:?}");
    // Host findings come after the manifest's own, and carry the host the facts name.
    let occupied = common::finding(&report, "port-occupied");
    assert_eq!(occupied["evidence"]["pid"], 3880);
    assert_eq!(occupied["host"], "win-app-01");
    assert_eq!(report["hosts"][0]["name"], "win-app-01");
}

#[test]
fn import_errors_name_the_file_and_line() {
    let facts_dir = root().join("tests/fixtures/facts");
    let (code, _, err) = run(&facts_dir, &["facts", "--import", "ss=ss-names.txt"]);
    assert_eq!(code, 2);
    assert!(err.contains("ss-names.txt:2"), "{err}");
    let (code, _, err) = run(
        &facts_dir,
        &["facts", "--import", "netsh-excludedportrang=x.txt"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("did you mean `netsh-excludedportrange`"),
        "{err}"
    );
    let (code, _, err) = run(&facts_dir, &["facts", "--import", "ss"]);
    assert_eq!(code, 2);
    assert!(err.contains("KIND=FILE"), "{err}");
}

#[test]
fn utf16_captures_from_powershell_redirects_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let text = fixture("netsh-excludedportrange-tcp.txt");
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(tmp.path().join("ex.txt"), bytes).unwrap();
    let (code, out, err) = run(
        tmp.path(),
        &["facts", "--import", "netsh-excludedportrange=ex.txt"],
    );
    assert_eq!(code, 0, "{err}");
    let facts: Facts = serde_json::from_str(&out).unwrap();
    assert_eq!(facts.excluded_tcp.unwrap().value.len(), 3);
}

#[test]
fn powershell_collector_is_read_only() {
    let (code, script, _) = run(&root(), &["facts", "--script", "powershell"]);
    assert_eq!(code, 0);
    for verb in [
        "Get-NetTCPConnection",
        "Get-NetUDPEndpoint",
        "show excludedportrange",
        "show dynamicport",
    ] {
        assert!(script.contains(verb), "{verb}");
    }
    for forbidden in [
        "Set-Net", "New-Net", "Remove-", "Stop-", "Disable-", "Enable-", " add ", " delete ",
        " set ",
    ] {
        assert!(
            !script.contains(forbidden),
            "collector must not change the host: {forbidden}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn parsers_never_panic(text in "(?s).{0,400}") {
        let _ = parse::excludedportrange(&text);
        let _ = parse::dynamicport(&text);
        let _ = parse::netstat_ano(&text);
        let _ = parse::ss(&text);
        let _ = parse::netstat_linux(&text);
        let _ = parse::port_list(&text);
        let _ = parse::two_numbers(&text);
        for (_, kind) in ImportKind::ALL {
            let _ = import(*kind, &text, &mut Facts::new());
        }
    }

    #[test]
    fn parsers_never_panic_on_plausible_rows(
        rows in proptest::collection::vec(
            (prop::sample::select(vec!["TCP", "UDP", "tcp", "udp6", "LISTEN", "*", "-", "Netid"]),
             "[0-9.:\\[\\]*%a-z]{0,20}", "[0-9]{0,6}", "[A-Z_-]{0,12}", "[0-9/a-z\"(),=]{0,20}"),
            0..8)
    ) {
        let text: String = rows.iter().map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}\r\n")).collect();
        let _ = parse::excludedportrange(&text);
        let _ = parse::dynamicport(&text);
        let _ = parse::netstat_ano(&text);
        let _ = parse::ss(&text);
        let _ = parse::netstat_linux(&text);
    }
}

#[test]
fn windows_firewall_exports() {
    use preflight::facts::firewall::windows;
    let rules = windows::netsh_rules(&fixture("netsh-firewall.txt")).unwrap();
    assert_eq!(rules.len(), 5);
    assert_eq!(rules[0].scope.as_deref(), Some("program System"));
    assert_eq!(rules[1].local_ports, Some(vec![r(11001, 11010)]));
    assert!(!rules[2].allow && rules[2].profiles == ["Public"]);
    assert_eq!(rules[3].local_ports, None, "RPC is a keyword, not a port");
    assert!(!rules[4].enabled);
    let profiles = windows::netsh_profiles(&fixture("netsh-allprofiles.txt")).unwrap();
    assert_eq!(profiles.len(), 3);
    assert!(
        profiles
            .iter()
            .all(|p| p.enabled && p.default_block_inbound)
    );
    let (rules, profiles) = windows::powershell(&fixture("powershell-firewall.json")).unwrap();
    assert_eq!(rules.len(), 2, "outbound rules are left out");
    assert_eq!(rules[0].profiles, ["Domain", "Private"]);
    assert_eq!(
        rules[0].local_ports,
        Some(vec![r(11001, 11001), r(11002, 11010)])
    );
    assert_eq!(rules[1].scope.as_deref(), Some("remote 10.20.0.0/16"));
    assert!(
        profiles.iter().all(|p| p.default_block_inbound),
        "NotConfigured means the built-in Block"
    );
    assert!(
        windows::netsh_rules("Regelname: x\nAktion: Zulassen\n").is_err(),
        "localized netsh output is refused"
    );
}

#[test]
fn windows_firewall_verdicts_per_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("tests/fixtures/facts");
    let out = tmp.path().join("win.json");
    let (code, _, err) = run(
        &dir,
        &[
            "facts",
            "--import",
            "netsh-firewall=netsh-firewall.txt",
            "--import",
            "netsh-allprofiles=netsh-allprofiles.txt",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        tmp.path().join("deploy.yaml"),
        "version: 1\ntarget: { platform: windows }\nservices:\n  api:\n    runtime: iis\n    ports:\n      http: { port: 80, expose: public }\n      a: { port: 11001, expose: public }\n      b: { port: 11005, expose: public }\n      old: { port: 12001, expose: internal }\n      smb: { port: 445, expose: internal }\n      local: { port: 12002, bind: 127.0.0.1, expose: local }\n",
    )
    .unwrap();
    let (_, report) = common::check_json(tmp.path(), "deploy.yaml", &["--facts", "win.json"]);
    let got: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "firewall-blocked")
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let sev: Vec<(&str, &str)> = got
        .iter()
        .map(|(p, s, _)| (p.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        sev,
        [
            ("services.api.ports.http.port", "warning"),
            ("services.api.ports.a.port", "warning"),
            ("services.api.ports.b.port", "warning"),
            ("services.api.ports.old.port", "error"),
            ("services.api.ports.smb.port", "error"),
        ],
        "{got:#?}"
    );
    assert!(got[0].2.contains("program System"), "{}", got[0].2);
    assert!(
        got[1].2.contains("Domain, Private profiles") && got[1].2.contains("blocked on Public"),
        "{}",
        got[1].2
    );
    assert!(got[2].2.contains("block rule 'Block SMB'"), "{}", got[2].2);
    assert!(
        got[4].2.contains("block rule 'Block SMB'")
            || got[4].2.contains("default inbound action Block"),
        "{}",
        got[4].2
    );
}

#[test]
fn network_profiles_from_real_get_netconnectionprofile_captures() {
    use preflight::facts::firewall::windows::{NetworkProfile, connection_profiles};
    let on = |interface: &str, profile: &str| NetworkProfile {
        interface: interface.into(),
        profile: profile.into(),
    };
    // A prompt line, then one Private network.
    assert_eq!(
        connection_profiles(&fixture("netconnectionprofile-private.txt")).unwrap(),
        [on("Ethernet", "Private")]
    );
    // A PowerShell prompt, blank lines, two networks (one named in Chinese), sorted by interface.
    assert_eq!(
        connection_profiles(&fixture("netconnectionprofile-private-public.txt")).unwrap(),
        [
            on("WLAN", "Private"),
            on("ZeroTier One [272f5eae1628958e]", "Public")
        ]
    );
    let e = connection_profiles("Name : x\nNetworkCategory : Hotspot\n").unwrap_err();
    assert_eq!(e.line, 2, "{e:?}");
    assert!(connection_profiles("nothing here").is_err());
}

/// `(url, port, queue, pids)` of each registration, as the test expects them.
type Reg<'a> = (&'a str, u16, Option<&'a str>, &'a [u32]);

#[test]
fn http_sys_registrations_from_real_servicestate_captures() {
    use preflight::facts::windows_net::servicestate;
    let read = |name: &str| -> Vec<(String, u16, Option<String>, Vec<u32>)> {
        servicestate(&fixture(name))
            .unwrap()
            .into_iter()
            .map(|h| (h.url, h.port, h.queue, h.pids))
            .collect()
    };
    let want = |v: &[Reg<'_>]| -> Vec<(String, u16, Option<String>, Vec<u32>)> {
        v.iter()
            .map(|(u, p, q, pids)| ((*u).to_owned(), *p, q.map(str::to_owned), pids.to_vec()))
            .collect()
    };
    // Session view from a netsh> prompt, with notes pasted after a URL and a PID. Two unnamed
    // queues, neither listing its URLs: which process serves which URL can't be told.
    assert_eq!(
        read("netsh-http-servicestate-en-1.txt"),
        want(&[
            (
                "HTTP://*:5357/4C2CDC17-BEFE-4441-899A-CC530F03F2DF/",
                5357,
                None,
                &[]
            ),
            ("HTTP://LOCALHOST:8080/", 8080, None, &[]),
        ])
    );
    // The newer layout: each queue lists its processes (`ID: 1412, image: <?>`) and URLs.
    assert_eq!(
        read("netsh-http-servicestate-en-2.txt"),
        want(&[
            ("HTTP://+:47001/WSMAN/", 47001, None, &[1412]),
            ("HTTP://+:5985/WSMAN/", 5985, None, &[1412]),
            ("HTTP://+:8000/MONITORSERVICE/", 8000, None, &[4796]),
        ])
    );
    // An IIS application pool, its URL bound to an address (`:8000:127.0.0.1`), its process list
    // cut off by the paste.
    assert_eq!(
        read("netsh-http-servicestate-en-3.txt"),
        want(&[
            ("HTTP://+:47001/WSMAN/", 47001, None, &[3416]),
            ("HTTP://+:5985/WSMAN/", 5985, None, &[3416]),
            (
                "HTTP://127.0.0.1:8000:127.0.0.1/",
                8000,
                Some("DefaultAppPool"),
                &[]
            ),
        ])
    );
    // `view=requestq`, an excerpt without its heading: the queue's URL groups nest inside it.
    assert_eq!(
        read("netsh-http-servicestate-en-4.txt"),
        want(&[("HTTP://LOCALHOST:8082/", 8082, None, &[2312])])
    );
    assert!(servicestate("nothing here\n").is_err());
}

#[test]
fn http_sys_reservations_from_real_urlacl_captures() {
    use preflight::facts::windows_net::urlacl;
    let read = |name: &str| -> Vec<(String, u16, Vec<String>)> {
        urlacl(&fixture(name))
            .unwrap()
            .into_iter()
            .map(|r| (r.url, r.port, r.users))
            .collect()
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    // A cmd prompt and banner around it; several users per URL; SDDL lines are not users.
    assert_eq!(
        read("netsh-http-urlacl-en-1.txt"),
        [
            (
                "http://*:5357/".into(),
                5357,
                s(&["BUILTIN\\Users", "NT AUTHORITY\\LOCAL SERVICE"])
            ),
            (
                "http://+:80/Temporary_Listen_Addresses/".into(),
                80,
                s(&["\\Everyone"])
            ),
            (
                "https://*:5358/".into(),
                5358,
                s(&["BUILTIN\\Users", "NT AUTHORITY\\LOCAL SERVICE"])
            ),
            (
                "http://+:10247/apps/".into(),
                10247,
                s(&["NT AUTHORITY\\Authenticated Users"])
            ),
            (
                "http://*:2869/".into(),
                2869,
                s(&["NT AUTHORITY\\LOCAL SERVICE"])
            ),
        ]
    );
    assert_eq!(
        read("netsh-http-urlacl-en-2.txt"),
        [
            (
                "http://+:80/Temporary_Listen_Addresses/".into(),
                80,
                s(&["\\Everyone"])
            ),
            (
                "http://+:5985/wsman/".into(),
                5985,
                s(&["NT SERVICE\\WinRM", "NT SERVICE\\Wecsvc"])
            ),
            (
                "http://+:47001/wsman/".into(),
                47001,
                s(&["NT SERVICE\\WinRM", "NT SERVICE\\Wecsvc"])
            ),
        ]
    );
    // Italian labels (`URL prenotati`, `Utente`): read by shape.
    assert_eq!(
        read("netsh-http-urlacl-it-1.txt"),
        [("https://+:10443/".into(), 10443, s(&["\\Everyone"]))]
    );
}

#[test]
fn port_proxies_from_real_portproxy_captures() {
    use preflight::facts::windows_net::portproxy;
    let read = |name: &str| -> Vec<(IpAddr, PortRange, String, PortRange)> {
        portproxy(&fixture(name))
            .unwrap()
            .into_iter()
            .map(|p| {
                (
                    p.listen_address,
                    p.listen_ports,
                    p.connect_address,
                    p.connect_ports,
                )
            })
            .collect()
    };
    assert_eq!(
        read("netsh-portproxy-en-2.txt"),
        [(
            ip("192.168.226.64"),
            r(2222, 2222),
            "10.4.226.215".into(),
            r(22, 22)
        )]
    );
    // A range of ports, as a WSL user configured it.
    assert_eq!(
        read("netsh-portproxy-en-1.txt"),
        [(
            ip("0.0.0.0"),
            r(30000, 50000),
            "172.23.188.236".into(),
            r(30000, 50000)
        )]
    );
    // Chinese headings and `*` for every address.
    assert_eq!(
        read("netsh-portproxy-zh-1.txt"),
        [(
            ip("0.0.0.0"),
            r(13333, 13333),
            "127.0.0.1".into(),
            r(12333, 12333)
        )]
    );
    assert!(portproxy("Address Port\n").is_err());
}

#[test]
fn raw_captures_in_a_facts_file_are_read_on_load() {
    // What the PowerShell collector writes for output it leaves to preflight's readers.
    let tmp = tempfile::tempdir().unwrap();
    let facts = serde_json::json!({
        "version": 1,
        "host": "win-01",
        "os": "windows",
        "captures": {
            "netsh-portproxy": fixture("netsh-portproxy-zh-1.txt"),
            "netsh-http-servicestate": fixture("netsh-http-servicestate-en-2.txt"),
        }
    });
    std::fs::write(tmp.path().join("win-01.json"), facts.to_string()).unwrap();
    std::fs::write(
        tmp.path().join("deploy.yaml"),
        "version: 1\ntarget: { platform: windows }\nservices:\n  agent:\n    ports:\n      http: { port: 13333, expose: local, bind: 127.0.0.1 }\n",
    )
    .unwrap();
    let (code, report) = common::check_json(tmp.path(), "deploy.yaml", &["--facts", "win-01.json"]);
    assert_eq!(code, 1, "{report:#}");
    let f = common::finding(&report, "port-occupied");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("netsh portproxy of the IP Helper service (iphlpsvc) on 0.0.0.0:13333, forwarding to 127.0.0.1:12333"),
        "{f}"
    );
    // An unknown kind is an error that names it.
    let bad = serde_json::json!({"version": 1, "captures": {"netsh-nope": "x"}});
    std::fs::write(tmp.path().join("bad.json"), bad.to_string()).unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "deploy.yaml", "--facts", "bad.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown kind `netsh-nope`"), "{err}");
}

#[test]
fn excluded_ranges_from_real_captures_in_six_languages() {
    // (file, number of ranges, first, last, the administered `*` ranges), read off each capture by hand.
    type Want<'a> = (&'a str, usize, (u16, u16), (u16, u16), &'a [(u16, u16)]);
    let cases: [Want<'_>; 8] = [
        // German, a `> netsh …` prompt line; after WinNAT had taken ten 100-port blocks.
        ("de-1", 15, (5357, 5357), (60806, 60905), &[(50000, 50059)]),
        // The same host after restarting WinNAT.
        ("de-2", 7, (5357, 5357), (50000, 50059), &[(50000, 50059)]),
        // Spanish, a `C:\MVD>` prompt.
        ("es-1", 4, (1898, 1997), (50000, 50059), &[(50000, 50059)]),
        (
            "es-2",
            16,
            (20, 22),
            (50000, 50059),
            &[
                (20, 22),
                (80, 80),
                (443, 443),
                (3306, 3306),
                (5432, 5432),
                (8000, 8000),
                (8080, 8080),
                (8888, 8888),
                (40000, 40010),
                (50000, 50059),
            ],
        ),
        // Spanish, pasted without title or footer, the `*` column lost.
        ("es-3", 24, (1025, 1124), (50000, 50059), &[]),
        // French, a wider rule under the headings.
        (
            "fr-1",
            7,
            (80, 80),
            (50000, 50059),
            &[(13128, 13130), (50000, 50059)],
        ),
        // Korean, trailing spaces on every line, from a PowerShell session log.
        ("ko-1", 8, (5357, 5357), (50000, 50059), &[(50000, 50059)]),
        // Chinese.
        ("zh-1", 18, (1607, 1706), (54235, 54235), &[(50000, 50059)]),
    ];
    for (lang, n, first, last, administered) in cases {
        let (proto, ex) =
            parse::excludedportrange(&fixture(&format!("netsh-excludedportrange-{lang}.txt")))
                .unwrap();
        // The heading names the protocol in every language; the paste without it doesn't say.
        let heading = if lang == "es-3" {
            None
        } else {
            Some(Protocol::Tcp)
        };
        assert_eq!(proto, heading, "{lang}");
        assert_eq!(ex.len(), n, "{lang}");
        assert_eq!(ex[0].range, r(first.0, first.1), "{lang}");
        assert_eq!(ex[n - 1].range, r(last.0, last.1), "{lang}");
        let stars: Vec<PortRange> = ex
            .iter()
            .filter(|e| e.administered)
            .map(|e| e.range)
            .collect();
        let want: Vec<PortRange> = administered.iter().map(|(a, b)| r(*a, *b)).collect();
        assert_eq!(stars, want, "{lang}");
    }
    // Chinese `dynamicport`: start 49152, 16383 ports.
    let (proto, range) = parse::dynamicport(&fixture("netsh-dynamicport-zh-1.txt")).unwrap();
    assert_eq!((proto, range), (Some(Protocol::Tcp), r(49152, 65534)));
}

#[test]
fn a_dynamicport_capture_relayed_by_packer_imports_like_the_plain_one() {
    // Every line carries Packer's `    vhd: ` (#27); the values are those of the plain capture.
    let plain = parse::dynamicport(&fixture("netsh-dynamicport-zh-1.txt")).unwrap();
    let packer = parse::dynamicport(&fixture("netsh-dynamicport-zh-1-packer.txt")).unwrap();
    assert_eq!(packer, plain);
    assert_eq!(plain, (Some(Protocol::Tcp), r(49152, 65534)));
    // Through `preflight facts --import`, the facts files are the same.
    let tmp = tempfile::tempdir().unwrap();
    let facts_dir = root().join("tests/fixtures/facts");
    let imported = |file: &str| {
        let out = tmp.path().join(format!("{file}.json"));
        let spec = format!("netsh-dynamicport={file}");
        let (code, _, err) = run(
            &facts_dir,
            &["facts", "--import", &spec, "-o", out.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{file}: {err}");
        std::fs::read_to_string(&out).unwrap()
    };
    assert_eq!(
        imported("netsh-dynamicport-zh-1-packer.txt"),
        imported("netsh-dynamicport-zh-1.txt")
    );
    // The same lines behind GitHub Actions' timestamps.
    let stamped: String = fixture("netsh-dynamicport-zh-1-packer.txt")
        .lines()
        .skip(1)
        .map(|l| format!("2024-05-01T10:00:00.1234567Z {l}\n"))
        .collect();
    assert_eq!(parse::dynamicport(&stamped).unwrap(), plain);
}

#[test]
fn a_capture_with_the_tcp_and_the_udp_listing_keeps_each_to_its_protocol() {
    // Both listings, one after the other, with a CI log's prefixes around them.
    let tmp = tempfile::tempdir().unwrap();
    let capture = root().join("tests/fixtures/facts/netsh-excludedportrange-tcp-udp-ci-log.txt");
    let (code, _, err) = run(
        tmp.path(),
        &[
            "facts",
            "--import",
            &format!("netsh-excludedportrange={}", capture.display()),
            "-o",
            "host.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let facts: Facts =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("host.json")).unwrap())
            .unwrap();
    let ranges = |p: Protocol| -> Vec<PortRange> {
        facts
            .excluded(p)
            .unwrap()
            .value
            .iter()
            .map(|e| e.range)
            .collect()
    };
    assert_eq!(
        ranges(Protocol::Tcp),
        [
            r(80, 80),
            r(5986, 5986),
            r(47001, 47001),
            r(51417, 51516),
            r(51517, 51616)
        ]
    );
    assert_eq!(ranges(Protocol::Udp), [r(56030, 56129), r(56130, 56229)]);
    // A TCP port inside a UDP-only range is not excluded; the UDP port is.
    std::fs::write(
        tmp.path().join("deploy.yaml"),
        "version: 1\ntarget: { platform: windows }\nservices:\n  api:\n    ports:\n      http: { port: 56100, expose: local, bind: 127.0.0.1 }\n      dns: { port: 56100, protocol: udp, expose: local, bind: 127.0.0.1 }\n",
    )
    .unwrap();
    let (_, report) = common::check_json(tmp.path(), "deploy.yaml", &["--facts", "host.json"]);
    let excluded: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "excluded-range")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(excluded, ["services.api.ports.dns.port"], "{report:#}");
}

#[test]
fn ss_pastes_with_prompts_filters_and_other_netids() {
    // The command with its filter echoed above the table, an old `*:80` address, two processes.
    let s = parse::ss(&fixture("ss-filter-echo.txt")).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(
        (
            s[0].protocol,
            s[0].address,
            s[0].port,
            s[0].state,
            s[0].pid,
            s[0].process.as_deref()
        ),
        (
            Protocol::Tcp,
            ip("::"),
            80,
            SocketState::Listen,
            Some(50040),
            Some("nginx")
        )
    );
    // Shell prompts around the table and netlink sockets only: nothing to read, nothing refused.
    let (rows, skipped) = parse::ss_rows(&fixture("ss-prompts-netlink.txt")).unwrap();
    assert!(
        rows.is_empty() && skipped.is_empty(),
        "{rows:?} {skipped:?}"
    );
}

#[test]
fn an_unreadable_row_is_skipped_with_a_warning_that_names_it() {
    // A real capture with one row's address redacted, as people do before pasting.
    let good = fixture("ss-tlnp.txt");
    let mut lines: Vec<&str> = good.lines().collect();
    let at = lines.iter().position(|l| l.contains("LISTEN")).unwrap() + 1;
    let redacted = "LISTEN 0      128        P.Q.50.15:123      0.0.0.0:*";
    lines.insert(at, redacted);
    let text = lines.join("\n");
    let (rows, skipped) = parse::ss_rows(&text).unwrap();
    assert_eq!(rows, parse::ss(&good).unwrap());
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].line, at + 1);
    // Through `facts --import`: exit 0, the warning on stderr and in the facts.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("ss.txt"), &text).unwrap();
    let (code, out, err) = run(tmp.path(), &["facts", "--import", "ss=ss.txt"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("warning: ss.txt: ss line {}:", at + 1)),
        "{err}"
    );
    let facts: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        facts["warnings"][0]
            .as_str()
            .unwrap()
            .contains("P.Q.50.15:123"),
        "{facts:#}"
    );
    // A capture where no row can be read is still an error that names the first.
    let (code, _, err) = run(
        &root().join("tests/fixtures/facts"),
        &["facts", "--import", "ss=ss-names.txt"],
    );
    assert_eq!(code, 2, "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Garbage lines inserted anywhere into a good capture never change the rows read from it.
    #[test]
    fn garbage_lines_never_change_the_rows_of_a_capture(
        garbage in proptest::collection::vec(("[a-z0-9 :.#>$/_-]{0,60}", 0usize..40), 0..8),
        which in 0usize..3,
    ) {
        let (name, read): (&str, fn(&str) -> Vec<preflight::facts::Socket>) = [
            ("ss-tlnp.txt", (|t: &str| parse::ss(t).unwrap()) as fn(&str) -> _),
            ("netstat-tulpn.txt", |t: &str| parse::netstat_linux(t).unwrap()),
            ("netstat-ano.txt", |t: &str| parse::netstat_ano(t).unwrap()),
        ][which];
        let good = fixture(name);
        let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
        for (g, at) in &garbage {
            let at = (*at).min(lines.len());
            lines.insert(at, g.clone());
        }
        prop_assert_eq!(read(&lines.join("\n")), read(&good));
    }
}

/// How `facts --import` reads a capture of `kind`: rows per state, then the rows it skipped with a
/// warning; or the line of the error that refused it.
fn tally(kind: ImportKind, text: &str) -> String {
    let mut facts = Facts::new();
    if let Err(e) = import(kind, text, &mut facts) {
        return format!("error at line {}", e.line);
    }
    let rows = facts.sockets.map(|f| f.value).unwrap_or_default();
    let mut out = Vec::new();
    for state in [
        SocketState::Listen,
        SocketState::Bound,
        SocketState::TimeWait,
        SocketState::Established,
        SocketState::Other,
    ] {
        let n = rows.iter().filter(|s| s.state == state).count();
        if n > 0 {
            out.push(format!("{} {n}", state.as_str()));
        }
    }
    if !facts.warnings.is_empty() {
        out.push(format!("skipped {}", facts.warnings.len()));
    }
    out.join(", ")
}

#[test]
fn thirty_captures_pasted_in_issues_and_forums_read_as_counted_by_hand() {
    // Each file's first line names where it was pasted; the parser reads what follows, as a user
    // would paste it. The expected counts were made by reading each capture, not by running ours.
    let cases: &[(&str, ImportKind, &str)] = &[
        ("ss-1", ImportKind::Ss, "LISTEN 1"),
        ("ss-2", ImportKind::Ss, "OTHER 4"),
        ("ss-3", ImportKind::Ss, "UNCONN 3"),
        ("ss-4", ImportKind::Ss, "UNCONN 3"),
        ("ss-5", ImportKind::Ss, "LISTEN 4"),
        ("ss-6", ImportKind::Ss, "LISTEN 3"),
        ("ss-7", ImportKind::Ss, "UNCONN 1"),
        ("ss-8", ImportKind::Ss, "LISTEN 6, UNCONN 5"),
        ("ss-9", ImportKind::Ss, "ESTABLISHED 2, OTHER 1"),
        ("ss-10", ImportKind::Ss, "TIME_WAIT 9"),
        (
            "netstat-tulpn-1",
            ImportKind::Netstat,
            "LISTEN 5, UNCONN 6, skipped 1",
        ),
        ("netstat-lnp-1", ImportKind::Netstat, "LISTEN 5, UNCONN 3"),
        ("netstat-lnp-2", ImportKind::Netstat, "LISTEN 11"),
        (
            "netstat-listening-1",
            ImportKind::Netstat,
            "LISTEN 3, UNCONN 3",
        ),
        ("netstat-a-1", ImportKind::Netstat, "LISTEN 2, skipped 2"),
        ("netstat-ltnp-1", ImportKind::Netstat, "LISTEN 3"),
        (
            "netstat-anp-1",
            ImportKind::Netstat,
            "LISTEN 7, ESTABLISHED 4",
        ),
        ("netstat-timewait-1", ImportKind::Netstat, "TIME_WAIT 12"),
        ("netstat-n-timewait-1", ImportKind::Netstat, "TIME_WAIT 8"),
        ("netstat-tnlp-1", ImportKind::Netstat, "LISTEN 5"),
        ("netstat-tulpn-grep-1", ImportKind::Netstat, "UNCONN 3"),
        ("netstat-tulpn-grep-2", ImportKind::Netstat, "LISTEN 4"),
        ("netstat-apnu-grep-1", ImportKind::Netstat, "UNCONN 3"),
        (
            "netstat-anp-grep-1",
            ImportKind::Netstat,
            "LISTEN 1, UNCONN 1",
        ),
        (
            "netstat-lpn-grep-1",
            ImportKind::Netstat,
            "LISTEN 1, UNCONN 1",
        ),
        ("netstat-ano-1", ImportKind::NetstatAno, "LISTEN 3"),
        ("netstat-ano-2", ImportKind::NetstatAno, "LISTEN 3"),
        ("netstat-ano-3", ImportKind::NetstatAno, "TIME_WAIT 2"),
        // `netstat -a -p udp` on Windows has no PID column: refused at its first row, with the fix.
        (
            "netstat-win-a-udp-1",
            ImportKind::NetstatAno,
            "error at line 7",
        ),
    ];
    let mut failures = Vec::new();
    for (name, kind, want) in cases {
        let text = fixture(&format!("paste-{name}.txt"));
        let (source, body) = text.split_once('\n').unwrap();
        assert!(source.starts_with("# source: http"), "{name}: {source}");
        // The source line blanked, so line numbers stay those of the file.
        let body = format!("\n{body}");
        let got = tally(*kind, &body);
        if got != *want {
            failures.push(format!("{name}: read {got:?}, counted {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A paste that joins a `netstat` listing and an `ss` one: each parser reads its own rows.
    let text = fixture("paste-mixed-netstat-ss-1.txt");
    let body = text.split_once('\n').unwrap().1;
    assert_eq!(tally(ImportKind::Netstat, body), "LISTEN 8");
    assert_eq!(tally(ImportKind::Ss, body), "LISTEN 2, skipped 8");
    // Windows writes PID 0 for connections no process owns any more: no owner, not process 0.
    let text = fixture("paste-netstat-ano-3.txt");
    let (rows, _) = parse::netstat_ano_rows(text.split_once('\n').unwrap().1).unwrap();
    assert!(rows.iter().all(|s| s.pid.is_none()), "{rows:?}");
}
