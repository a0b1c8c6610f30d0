//! The Windows build, run under Wine: the same answers as the Linux build, and the Windows probe on a
//! real socket table.
//!
//! Every test here is `#[ignore]`d in a plain `cargo test` (it needs the `.exe` and Wine, which
//! `ci/windows.sh` builds and installs) and so shows as ignored, never as passed. `ci/windows.sh` runs
//! them with `--ignored`, pointing `PREFLIGHT_WINDOWS_EXE` at the `.exe` and `PREFLIGHT_FAKE_NETSH` at
//! the stand-in netsh (`ci/wine/netsh.c`); there a missing one is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::root;

const WINE: &str = "/usr/lib/wine/wine64";

/// The `.exe` under test.
fn exe() -> PathBuf {
    let p = PathBuf::from(
        std::env::var("PREFLIGHT_WINDOWS_EXE").expect("PREFLIGHT_WINDOWS_EXE (see ci/windows.sh)"),
    );
    assert!(p.is_file(), "{} is not built", p.display());
    p
}

/// Runs the Windows build under Wine in `dir`. Its output goes through files, not pipes: Wine's own
/// background processes (services.exe, winedevice.exe, …) inherit the handles and outlive the run under
/// a persistent wineserver, so waiting for a pipe to close would wait for them.
fn windows(dir: &Path, exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let (out, err) = (tmp.path().join("stdout"), tmp.path().join("stderr"));
    let mut cmd = Command::new(WINE);
    cmd.arg(exe).args(args).current_dir(dir);
    cmd.env("WINEDEBUG", "-all").env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    let status = cmd.status().expect("run wine64");
    Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    }
}

/// Runs the Linux build in `dir`.
fn linux(dir: &Path, args: &[&str]) -> Output {
    common::preflight_in(dir)
        .args(args)
        .output()
        .expect("run preflight")
}

/// Asserts both builds give the same bytes and exit code for `args` in `dir`.
fn same(dir: &Path, args: &[&str]) {
    let w = windows(dir, &exe(), args, &[]);
    let l = linux(dir, args);
    assert_eq!(
        w.status.code(),
        l.status.code(),
        "{args:?} in {}: exit code (Windows stderr: {})",
        dir.display(),
        String::from_utf8_lossy(&w.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&w.stdout),
        String::from_utf8_lossy(&l.stdout),
        "{args:?} in {}: stdout differs (Windows stderr: {})",
        dir.display(),
        String::from_utf8_lossy(&w.stderr)
    );
}

/// `preflight facts` of the Windows build under Wine, which must exit 0, as JSON.
fn facts_under_wine(dir: &Path, exe: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let out = windows(dir, exe, &["facts"], env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The facts the probe could not read, by field name.
fn unavailable(facts: &serde_json::Value) -> Vec<&str> {
    facts["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["fact"].as_str().unwrap())
        .collect()
}

/// A Windows path for a Unix one: Wine maps `/` to drive `Z:`.
fn wine_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

#[test]
#[ignore = "needs the Windows build and Wine: run `bash ci/windows.sh`"]
fn check_gives_the_linux_builds_json_on_every_example_and_fixture() {
    let mut runs = 0;
    for (dir, file) in [
        ("examples", "deploy.yaml"),
        ("examples", "clean.yaml"),
        ("examples/policy", "deploy.yaml"),
        ("examples/fleet", "deploy.yaml"),
    ] {
        same(&root().join(dir), &["check", file, "--format", "json"]);
        runs += 1;
    }
    let rules = root().join("tests/fixtures/rules");
    let mut dirs: Vec<_> = std::fs::read_dir(&rules)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        files.sort();
        for file in files {
            let facts = file.replace(".yaml", ".facts.json");
            let mut args = vec!["check", file.as_str(), "--format", "json"];
            if dir.join(&facts).exists() {
                args.extend(["--facts", facts.as_str()]);
            }
            same(&dir, &args);
            runs += 1;
        }
    }
    assert!(runs >= 30, "{runs} runs");
}

#[test]
#[ignore = "needs the Windows build and Wine: run `bash ci/windows.sh`"]
fn facts_import_of_every_windows_kind_matches_the_linux_build() {
    let dir = root().join("tests/fixtures/facts");
    for (kind, file) in [
        ("netsh-excludedportrange", "netsh-excludedportrange-tcp.txt"),
        (
            "netsh-excludedportrange",
            "netsh-excludedportrange-udp-de.txt",
        ),
        (
            "netsh-excludedportrange",
            "netsh-excludedportrange-empty.txt",
        ),
        (
            "netsh-excludedportrange",
            "netsh-excludedportrange-broken.txt",
        ),
        ("netsh-dynamicport", "netsh-dynamicport-tcp.txt"),
        ("netsh-dynamicport", "netsh-dynamicport-udp-tip.txt"),
        ("netstat-ano", "netstat-ano.txt"),
        ("netstat-ano", "netstat-ano-de.txt"),
        ("netsh-firewall", "netsh-firewall.txt"),
        ("netsh-allprofiles", "netsh-allprofiles.txt"),
        ("powershell-firewall", "powershell-firewall.json"),
        (
            "netconnectionprofile",
            "netconnectionprofile-private-public.txt",
        ),
        (
            "netsh-http-servicestate",
            "netsh-http-servicestate-en-2.txt",
        ),
        ("netsh-http-urlacl", "netsh-http-urlacl-it-1.txt"),
        ("netsh-portproxy", "netsh-portproxy-zh-1.txt"),
    ] {
        let spec = format!("{kind}={file}");
        same(&dir, &["facts", "--import", &spec, "--host", "win-01"]);
    }
}

#[test]
#[ignore = "needs the Windows build and Wine: run `bash ci/windows.sh`"]
fn fix_and_gen_in_the_windows_dialects_match_the_linux_build() {
    let examples = root().join("examples");
    for dialect in ["powershell", "netsh"] {
        same(&examples, &["fix", "deploy.yaml", "--dialect", dialect]);
        same(
            &examples,
            &["gen", "firewall", "deploy.yaml", "--dialect", dialect],
        );
    }
    let fix = root().join("tests/fixtures/fix");
    same(
        &fix,
        &["fix", "windows.yaml", "--facts", "windows.facts.json"],
    );
    same(&fix, &["fix", "hostile.yaml", "--dialect", "powershell"]);
    same(
        &fix,
        &["gen", "firewall", "hostile.yaml", "--dialect", "powershell"],
    );
    same(
        &fix,
        &[
            "gen",
            "firewall",
            "windows.yaml",
            "--facts",
            "windows.facts.json",
        ],
    );
}

/// A Windows manifest whose one port is `port`.
fn manifest_on(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("deploy.yaml");
    std::fs::write(
        &path,
        format!(
            "version: 1\ntarget: {{ platform: windows, run_as: admin }}\nservices:\n  api:\n    ports:\n      http: {{ port: {port}, bind: 127.0.0.1, expose: local }}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
#[ignore = "needs the Windows build and Wine: run `bash ci/windows.sh`"]
fn the_windows_probe_finds_a_listener_started_for_the_test() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    manifest_on(tmp.path(), port);
    // `check --local`: the socket comes through the IP Helper tables Wine serves from the kernel's.
    let out = windows(
        tmp.path(),
        &exe(),
        &["check", "deploy.yaml", "--local", "--format", "json"],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let occupied = common::findings(&report, "port-occupied");
    assert_eq!(occupied.len(), 1, "{report:#}");
    let message = occupied[0]["message"].as_str().unwrap();
    assert!(message.contains(&format!("port {port}/tcp")), "{message}");
    // Wine can't tell the owner of a Linux socket: PID 0 is never named as one.
    assert!(!message.contains("PID 0"), "{message}");
    // `facts`: the socket table names its real source.
    let facts = facts_under_wine(tmp.path(), &exe(), &[]);
    assert_eq!(facts["os"], "windows");
    assert!(
        facts["sockets"]["detail"]
            .as_str()
            .unwrap()
            .contains("IP Helper"),
        "{}",
        facts["sockets"]
    );
    let found = facts["sockets"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["port"] == port && s["state"] == "listen" && s["address"] == "127.0.0.1");
    assert!(found, "port {port} not in {}", facts["sockets"]);
    drop(listener);
}

#[test]
#[ignore = "needs the Windows build and Wine: run `bash ci/windows.sh`"]
fn facts_under_wines_stub_netsh_keep_the_socket_table_and_mark_the_ranges_default() {
    let tmp = tempfile::tempdir().unwrap();
    let facts = facts_under_wine(tmp.path(), &exe(), &[]);
    assert!(facts["sockets"]["value"].is_array(), "{facts:#}");
    for p in ["tcp", "udp"] {
        let range = &facts[format!("ephemeral_{p}")];
        assert_eq!(range["origin"], "default", "{range}");
        assert_eq!(range["value"]["start"], 49152);
        assert!(
            range["detail"]
                .as_str()
                .unwrap()
                .contains("printed nothing"),
            "{range}"
        );
        assert!(facts.get(format!("excluded_{p}")).is_none(), "{facts:#}");
    }
    // Every netsh fact but the port proxies (printing nothing means none), and the network profiles
    // (Wine has no PowerShell).
    let unavailable = unavailable(&facts);
    assert_eq!(
        unavailable,
        [
            "ephemeral_tcp",
            "ephemeral_udp",
            "excluded_tcp",
            "excluded_udp",
            "network_profiles",
            "http_urls",
            "url_reservations"
        ]
    );
    assert_eq!(facts["port_proxies"]["value"], serde_json::json!([]));
    // A check with these facts says why excluded-range did not run.
    std::fs::write(tmp.path().join("host.json"), facts.to_string()).unwrap();
    manifest_on(tmp.path(), 8080);
    let out = linux(
        tmp.path(),
        &[
            "check",
            "deploy.yaml",
            "--facts",
            "host.json",
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["rule"] == "excluded-range")
        .expect("excluded-range skipped");
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .contains("`netsh int ipv4 show excludedportrange protocol=tcp` printed nothing"),
        "{skipped}"
    );
}

#[test]
#[ignore = "needs the Windows build and Wine: run `bash ci/windows.sh`"]
fn facts_read_the_ranges_netsh_prints_in_any_language() {
    let fake = PathBuf::from(
        std::env::var("PREFLIGHT_FAKE_NETSH").expect("PREFLIGHT_FAKE_NETSH (see ci/windows.sh)"),
    );
    let tmp = tempfile::tempdir().unwrap();
    // netsh next to the .exe is found before the system's; WINEDLLOVERRIDES makes Wine run it.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(exe(), bin.join("preflight.exe")).unwrap();
    std::fs::copy(&fake, bin.join("netsh.exe")).unwrap();
    let captures = tmp.path().join("netsh");
    std::fs::create_dir(&captures).unwrap();
    let fixtures = root().join("tests/fixtures/facts");
    for (file, fixture) in [
        (
            "int_ipv4_show_dynamicport_tcp.txt",
            "netsh-dynamicport-tcp.txt",
        ),
        (
            "int_ipv4_show_excludedportrange_protocol-tcp.txt",
            "netsh-excludedportrange-tcp.txt",
        ),
        // German output for UDP: the parsers read the layout, not the words.
        (
            "int_ipv4_show_excludedportrange_protocol-udp.txt",
            "netsh-excludedportrange-udp-de.txt",
        ),
        (
            "http_show_servicestate.txt",
            "netsh-http-servicestate-en-2.txt",
        ),
        (
            "interface_portproxy_show_all.txt",
            "netsh-portproxy-zh-1.txt",
        ),
    ] {
        std::fs::copy(fixtures.join(fixture), captures.join(file)).unwrap();
    }
    // No capture for `dynamicport udp` nor `http show urlacl`: those facts fall back to the default or
    // are left out, the rest stand.
    let facts = facts_under_wine(
        tmp.path(),
        &bin.join("preflight.exe"),
        &[
            ("WINEDLLOVERRIDES", "netsh.exe=n"),
            ("FAKE_NETSH_DIR", &wine_path(&captures)),
        ],
    );
    assert_eq!(facts["ephemeral_tcp"]["origin"], "live", "{facts:#}");
    assert_eq!(
        facts["ephemeral_tcp"]["detail"],
        "netsh int ipv4 show dynamicport tcp"
    );
    assert_eq!(facts["ephemeral_udp"]["origin"], "default", "{facts:#}");
    assert!(
        facts["ephemeral_udp"]["detail"]
            .as_str()
            .unwrap()
            .contains("exited with code 1"),
        "{}",
        facts["ephemeral_udp"]
    );
    for p in ["tcp", "udp"] {
        let ex = &facts[format!("excluded_{p}")];
        assert_eq!(ex["origin"], "live", "{facts:#}");
        assert!(!ex["value"].as_array().unwrap().is_empty(), "{ex}");
    }
    assert_eq!(facts["http_urls"]["origin"], "live", "{facts:#}");
    assert_eq!(facts["http_urls"]["value"].as_array().unwrap().len(), 3);
    assert_eq!(
        facts["port_proxies"]["value"][0]["listen_ports"]["start"],
        13333
    );
    let unavailable = unavailable(&facts);
    assert_eq!(
        unavailable,
        ["ephemeral_udp", "network_profiles", "url_reservations"]
    );
}
