//! `fix` and `gen`: snapshots of every template, generated shell through `shellcheck` and through a real
//! `sh` with recording stubs, Kubernetes YAML through `kubernetes-validate --strict`, nft through `nft -f`
//! in a private namespace, a corpus of hostile names and descriptions, and an end-to-end run in a private
//! network and mount namespace: check → fix → apply → check is clean.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{available, has, is_root, root, run};
use serde_json::Value;

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/fix")
}

/// Runs preflight in the fixture directory and returns stdout, asserting exit 0.
fn out(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(&fixtures(), args);
    assert_eq!(code, 0, "preflight {args:?}: {stderr}");
    stdout
}

const FIX_DIALECTS: &[&str] = &[
    "sh",
    "firewalld",
    "ufw",
    "nft",
    "iptables",
    "powershell",
    "netsh",
    "systemd",
    "k8s",
];
const GEN_DIALECTS: &[&str] = &["powershell", "netsh", "firewalld", "ufw", "nft", "iptables"];

fn fix(manifest: &str, dialect: &str) -> String {
    let facts = manifest.replace(".yaml", ".facts.json");
    out(&["fix", manifest, "--facts", &facts, "--dialect", dialect])
}

#[test]
fn snapshots_of_every_dialect() {
    for m in ["linux.yaml", "windows.yaml"] {
        for d in FIX_DIALECTS {
            insta::assert_snapshot!(
                format!("fix__{}__{d}", m.trim_end_matches(".yaml")),
                fix(m, d)
            );
        }
    }
    for d in GEN_DIALECTS {
        insta::assert_snapshot!(
            format!("gen_firewall__{d}"),
            out(&["gen", "firewall", "linux.yaml", "--dialect", d])
        );
    }
    insta::assert_snapshot!("gen_k8s", out(&["gen", "k8s", "k8s.yaml"]));
}

#[test]
fn every_fix_kind_reaches_a_template_or_says_it_is_manual() {
    let sh = fix("linux.yaml", "sh");
    for needle in [
        "setcap 'cap_net_bind_service=+ep'",
        "nft insert rule 'inet' 'filter' 'input' 'tcp' dport 11080 accept",
        "ip_local_reserved_ports",
        "ss -Hlnp 'sport = :11080'",
        "to do by hand: bind port `admin` of `worker` to 127.0.0.1",
    ] {
        assert!(sh.contains(needle), "{needle} missing:\n{sh}");
    }
    let ps = fix("windows.yaml", "powershell");
    for needle in [
        "net stop winnat",
        "netsh http show servicestate",
        "excludedportrange protocol='tcp' startport=50001",
    ] {
        assert!(ps.contains(needle), "{needle} missing:\n{ps}");
    }
    // Choices are printed for a person, never made.
    assert!(sh.contains("# to do by hand: move port"));
    // Each fix is preceded by the finding it fixes.
    assert!(sh.contains("# [firewall-blocked] public port 11080/tcp of `web`"));
    // Forced tools.
    assert!(
        fix("linux.yaml", "firewalld").contains("firewall-cmd --permanent --add-port='11080/tcp'")
    );
    assert!(fix("linux.yaml", "ufw").contains("ufw allow '11080/tcp'"));
    assert!(
        fix("linux.yaml", "iptables")
            .contains("iptables -I INPUT -p 'tcp' --dport 11080 -j ACCEPT")
    );
}

fn shell_outputs() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for d in ["sh", "firewalld", "ufw", "nft", "iptables"] {
        v.push((format!("fix --dialect {d}"), fix("linux.yaml", d)));
    }
    for m in ["linux.yaml", "hostile.yaml"] {
        for d in ["firewalld", "ufw", "iptables"] {
            v.push((
                format!("gen firewall {m} --dialect {d}"),
                out(&["gen", "firewall", m, "--dialect", d]),
            ));
        }
    }
    v
}

#[test]
#[cfg_attr(not(preflight_has_shellcheck), ignore = "needs shellcheck")]
fn generated_shell_passes_shellcheck() {
    if !available("shellcheck", has("shellcheck")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (i, (what, script)) in shell_outputs().into_iter().enumerate() {
        let f = tmp.path().join(format!("s{i}.sh"));
        std::fs::write(&f, &script).unwrap();
        let o = Command::new("shellcheck")
            .args(["-s", "sh", "-S", "style"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{what}: shellcheck:\n{}\n{script}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

/// Stubs on PATH that record each call's argv (one argument per line, calls separated by `--`).
fn stubs(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("calls.log");
    for tool in [
        "firewall-cmd",
        "ufw",
        "iptables",
        "ip6tables",
        "nft",
        "sysctl",
        "setcap",
        "ss",
        "ps",
        "systemctl",
    ] {
        let body = format!(
            "#!/bin/sh\n{{ echo {tool}; for a in \"$@\"; do printf '%s\\n' \"$a\"; done; echo --; }} >> '{}'\n[ \"$1\" = -C ] && exit 1\nexit 0\n",
            log.display()
        );
        let p = bin.join(tool);
        std::fs::write(&p, body).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&p)
            .status()
            .unwrap();
    }
    log
}

#[test]
fn generated_shell_runs_and_passes_hostile_text_as_one_argument() {
    let tmp = tempfile::tempdir().unwrap();
    let log = stubs(tmp.path());
    let marker = "/tmp/pwned";
    let _ = std::fs::remove_file(marker);
    let description = "it's \"quoted\" $(touch /tmp/pwned) `id` ; rm -rf / & | %PATH% ‘smart’ ’quotes‚ ‛x second line";
    for (what, script) in shell_outputs() {
        std::fs::write(&log, "").unwrap();
        let path = format!(
            "{}:{}",
            tmp.path().join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        // /etc/sysctl.d is not touched: the script's writes go to a copy under the temp dir.
        let script = script.replace(
            "/etc/sysctl.d",
            &tmp.path().join("sysctl.d").display().to_string(),
        );
        let o = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{what} failed: {}\n{script}",
            String::from_utf8_lossy(&o.stderr)
        );
        let calls = std::fs::read_to_string(&log).unwrap();
        assert!(!calls.is_empty(), "{what}: no tool was called");
        if what.contains("hostile") && what.contains("ufw") {
            assert!(
                calls.contains(&format!("comment\napi http: {description}\n")),
                "{what}: the description must arrive as one literal argument:\n{calls}"
            );
        }
    }
    assert!(
        !Path::new(marker).exists(),
        "a command substitution in a description ran"
    );
}

/// Reads back the PowerShell single-quoted literal that follows `flag ` on `line`.
fn ps_literal_after(script: &str, flag: &str) -> String {
    let start = script.find(&format!("{flag} '")).unwrap() + flag.len() + 2;
    let mut out = String::new();
    let mut chars = script[start..].chars().peekable();
    while let Some(c) = chars.next() {
        let quote = matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}');
        if quote {
            if chars.peek() == Some(&c) {
                chars.next();
                out.push(c);
                continue;
            }
            return out;
        }
        out.push(c);
    }
    panic!("unterminated literal");
}

#[test]
fn hostile_descriptions_stay_data_in_every_dialect() {
    let description = "it's \"quoted\" $(touch /tmp/pwned) `id` ; rm -rf / & | %PATH% ‘smart’ ’quotes‚ ‛x second line";
    let ps = out(&["gen", "firewall", "hostile.yaml", "--dialect", "powershell"]);
    assert_eq!(ps_literal_after(&ps, "-Description"), description);
    let cmd = out(&["gen", "firewall", "hostile.yaml", "--dialect", "netsh"]);
    let line = cmd.lines().find(|l| l.contains("add rule")).unwrap();
    let desc = line
        .split("description=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        !desc.contains(['%', '&', '|', '^', '<', '>', '!']),
        "{desc}"
    );
    assert!(
        cmd.contains("REM characters cmd cannot quote safely were removed from the description")
    );
    assert_eq!(line.matches('"').count() % 2, 0, "quotes balance: {line}");
    let nft = out(&["gen", "firewall", "hostile.yaml", "--dialect", "nft"]);
    let comment_line = nft.lines().find(|l| l.contains("dport 11000")).unwrap();
    assert_eq!(comment_line.matches('"').count(), 2, "{comment_line}");
    // Names that are not valid DNS-1123 labels are refused by the manifest itself, before any template.
    std::fs::write(
        std::env::temp_dir().join("pf-bad-name.yaml"),
        "version: 1\ntarget: { platform: linux }\nservices:\n  \"a;b\": { ports: { http: 80 } }\n",
    )
    .unwrap();
    let (code, _, _) = run(
        &std::env::temp_dir(),
        &["gen", "firewall", "pf-bad-name.yaml", "--dialect", "ufw"],
    );
    assert_eq!(code, 2);
}

fn kubernetes_validate() -> Option<String> {
    std::env::var("KUBERNETES_VALIDATE")
        .ok()
        .or_else(|| has("kubernetes-validate").then(|| "kubernetes-validate".to_owned()))
}

#[test]
#[cfg_attr(
    not(preflight_has_kubernetes_validate),
    ignore = "needs kubernetes-validate (pip install kubernetes-validate)"
)]
fn generated_kubernetes_yaml_passes_the_api_schemas() {
    let Some(kv) = kubernetes_validate() else {
        available(
            "kubernetes-validate (pip install kubernetes-validate)",
            false,
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let files = [
        ("gen-k8s.yaml", out(&["gen", "k8s", "k8s.yaml"])),
        ("gen-hostile.yaml", out(&["gen", "k8s", "hostile.yaml"])),
        (
            "fix-k8s.yaml",
            out(&["fix", "k8s.yaml", "--dialect", "k8s"]),
        ),
    ];
    for (name, text) in &files {
        assert!(text.contains("kind:"), "{name} has no object");
        let f = tmp.path().join(name);
        std::fs::write(&f, text).unwrap();
        let o = Command::new(&kv).arg("--strict").arg(&f).output().unwrap();
        assert!(
            o.status.success(),
            "{name}: {}\n{}\n{text}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // The hostile description survives as data: parse the YAML back.
    let docs: Vec<serde_json::Value> = files[1]
        .1
        .split("\n---\n")
        .skip(1)
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    let want = "it's \"quoted\" $(touch /tmp/pwned) `id` ; rm -rf / & | %PATH% ‘smart’ ’quotes‚ ‛x\nsecond line";
    assert_eq!(docs[0]["metadata"]["annotations"]["description"], want);
    // Objects to apply: a Service and a NetworkPolicy per service, one port per (number, protocol).
    let k8s = out(&["gen", "k8s", "k8s.yaml"]);
    let docs: Vec<Value> = k8s
        .split("\n---\n")
        .skip(1)
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["Service", "NetworkPolicy", "Service", "NetworkPolicy"]
    );
    assert_eq!(
        docs[0]["spec"]["ports"].as_array().unwrap().len(),
        2,
        "http and metrics; the loopback debug port is no Service port"
    );
    assert_eq!(
        docs[1]["spec"]["ingress"].as_array().unwrap().len(),
        2,
        "a public and an internal rule"
    );
    assert_eq!(
        docs[2]["spec"]["ports"].as_array().unwrap().len(),
        2,
        "dns over udp and tcp"
    );
    // The Deployment patches are written apart, one per service, and patch only the pod template:
    // never the selector, which an existing Deployment can't change.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = common::run(
        &fixtures(),
        &["gen", "k8s", "k8s.yaml", "-o", dir.path().to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["apply.yaml", "patch-dns.yaml", "patch-web.yaml"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("apply.yaml")).unwrap(),
        k8s
    );
    let patch = |name: &str| -> (String, Value) {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let v = serde_saphyr::from_str(&text).unwrap();
        (text, v)
    };
    let (text, web) = patch("patch-web.yaml");
    assert!(
        text.contains("kubectl patch deployment web --patch-file patch-web.yaml"),
        "{text}"
    );
    assert_eq!(
        web.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["spec"]
    );
    assert_eq!(
        web["spec"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["template"]
    );
    let pod = &web["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["name"], "web");
    assert_eq!(
        pod["containers"][0]["ports"].as_array().unwrap().len(),
        3,
        "the container declares all three"
    );
    assert_eq!(
        pod["securityContext"]["sysctls"][0]["name"],
        "net.ipv4.ip_unprivileged_port_start"
    );
    let (_, dns) = patch("patch-dns.yaml");
    assert!(
        dns["spec"]["template"]["spec"]
            .get("securityContext")
            .is_none()
    );
}

fn netns_tools() -> bool {
    available(
        "root, unshare, nft, python3",
        is_root() && has("unshare") && has("nft") && has("python3"),
    )
}

#[test]
#[cfg_attr(
    not(preflight_has_netns),
    ignore = "needs root, `unshare -n`, ip, nft, iptables-restore and python3"
)]
fn generated_nft_loads_and_opens_the_ports() {
    if !netns_tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("fw.nft");
    std::fs::write(
        &file,
        out(&["gen", "firewall", "linux.yaml", "--dialect", "nft"]),
    )
    .unwrap();
    // Loading twice proves the file is idempotent.
    let o = Command::new("unshare")
        .args([
            "-n",
            "sh",
            "-c",
            &format!(
                "nft -f {f} && nft -f {f} && nft -j list ruleset",
                f = file.display()
            ),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ruleset: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut ports: Vec<u64> = ruleset["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.get("rule"))
        .flat_map(|r| r["expr"].as_array().unwrap().clone())
        .filter_map(|e| e["match"]["right"].as_u64())
        .collect();
    ports.sort();
    assert_eq!(
        ports,
        [22, 80, 11080, 40000],
        "SSH, and the public and internal ports (not the local admin port)"
    );
    // And preflight, reading that ruleset back, calls those ports open and the rest blocked.
    let facts_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        facts_dir.path().join("deploy.yaml"),
        std::fs::read_to_string(fixtures().join("linux.yaml")).unwrap(),
    )
    .unwrap();
    let o = Command::new("unshare")
        .args([
            "-n",
            "sh",
            "-c",
            &format!(
                "nft -f {} && {} check deploy.yaml --local --format json",
                file.display(),
                env!("CARGO_BIN_EXE_preflight")
            ),
        ])
        .current_dir(facts_dir.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let blocked: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "firewall-blocked")
        .collect();
    assert!(blocked.is_empty(), "{blocked:?}");
}

#[test]
#[cfg_attr(
    not(preflight_has_netns),
    ignore = "needs root, `unshare -n`, ip, nft, iptables-restore and python3"
)]
fn end_to_end_check_fix_apply_check_is_clean() {
    if !netns_tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("deploy.yaml"),
        "version: 1\ntarget: { platform: linux, run_as: root }\nservices:\n  api:\n    ports:\n      http: { port: 20050, expose: public }\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("host.nft"),
        "table inet filter {\n chain input {\n  type filter hook input priority filter; policy drop;\n  ct state established,related accept\n  iif lo accept\n  tcp dport 22 accept\n }\n}\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_preflight");
    // A private network namespace (sysctls, firewall) and mount namespace (/etc/sysctl.d on a tmpfs).
    let script = format!(
        "set -e
         mount -t tmpfs tmpfs /etc/sysctl.d
         echo '20000 20100' > /proc/sys/net/ipv4/ip_local_port_range
         nft -f host.nft
         {bin} check deploy.yaml --local --format json > before.json || true
         {bin} fix deploy.yaml --local --dialect sh > fix.sh
         sh fix.sh
         cat /etc/sysctl.d/60-preflight-reserved-ports.conf > persisted.conf
         {bin} check deploy.yaml --local --format json > after.json"
    );
    let o = Command::new("unshare")
        .args(["-n", "-m", "--propagation", "private", "sh", "-c", &script])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join(f)).unwrap()).unwrap()
    };
    let rules = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = read("before.json");
    assert_eq!(
        rules(&before),
        ["ephemeral-range", "firewall-blocked"],
        "{before:#}"
    );
    let fix = std::fs::read_to_string(tmp.path().join("fix.sh")).unwrap();
    assert!(
        fix.contains("nft insert rule 'inet' 'filter' 'input' 'tcp' dport 20050 accept"),
        "{fix}"
    );
    let after = read("after.json");
    assert!(
        rules(&after).is_empty(),
        "still failing after the fix:\n{after:#}\n{fix}"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("persisted.conf"))
            .unwrap()
            .trim(),
        "net.ipv4.ip_local_reserved_ports = 20050"
    );
}
