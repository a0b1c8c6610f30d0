//! Real Compose files from 41 public projects (`tests/fixtures/compose`, each naming its source on its
//! first line): the host ports preflight reads must equal the rows `EXPECTED.txt` lists for each file
//! (written by hand from reading the files) and, for every file the reference implementation accepts,
//! the ports Debian's `docker-compose config` prints. Then the Compose semantics end to end: `.env`,
//! `--env-file`, the process environment, profiles, replicas, `include:`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::root;

/// (service, host address or `*`, host port or `*` or `START-END`, target, protocol).
type Row = (String, String, String, u64, String);

fn dir() -> std::path::PathBuf {
    root().join("tests/fixtures/compose")
}

/// The blocks of `EXPECTED.txt`: (file, accepted by docker-compose 1.29.2, rows, services on the host
/// network).
fn expected() -> Vec<(String, bool, BTreeSet<Row>, BTreeSet<String>)> {
    let text = std::fs::read_to_string(dir().join("EXPECTED.txt")).unwrap();
    let mut out: Vec<(String, bool, BTreeSet<Row>, BTreeSet<String>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            let (file, verdict) = line.split_once(": ").unwrap();
            out.push((
                file.to_owned(),
                verdict.starts_with("accepted"),
                BTreeSet::new(),
                BTreeSet::new(),
            ));
            continue;
        }
        let t = line.trim();
        if t.starts_with('#') {
            continue;
        }
        let (_, _, rows, host) = out.last_mut().unwrap();
        if let Some(svc) = t.strip_suffix("(host network: ports discarded)") {
            host.insert(svc.trim().to_owned());
            continue;
        }
        let w: Vec<&str> = t.split_whitespace().collect();
        rows.insert((
            w[0].into(),
            w[1].into(),
            w[2].into(),
            w[3].parse().unwrap(),
            w[4].into(),
        ));
    }
    out
}

/// `preflight ports FILE` with every profile active and an empty environment (as `EXPECTED.txt`
/// assumes), as rows.
fn preflight_rows(file: &str, host_network: &BTreeSet<String>) -> BTreeSet<Row> {
    // A file whose project needs a variable (`${VAR:?…}`) is refused without it, as Compose
    // refuses it: the variable is given, as its `.env` would.
    let env: &[(&str, &str)] = match file {
        "44-graylog-open-core.yaml" => &[
            ("GRAYLOG_PASSWORD_SECRET", "secret"),
            ("GRAYLOG_ROOT_PASSWORD_SHA2", "sha2"),
        ],
        _ => &[],
    };
    if !env.is_empty() {
        let refused = preflight(&dir(), &["ports", file], &[]);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{file}: refused without {env:?}"
        );
    }
    let out = preflight(
        &dir(),
        &["ports", file, "--format", "json", "--profile", "*"],
        env,
    );
    assert!(
        out.status.success(),
        "{file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows_of(&json, host_network)
}

#[test]
fn every_real_compose_file_publishes_the_ports_a_reader_of_it_expects() {
    let blocks = expected();
    assert!(blocks.len() >= 40, "{} files", blocks.len());
    let mut projects = BTreeSet::new();
    let mut rows = 0;
    for (file, _, want, host) in &blocks {
        let text = std::fs::read_to_string(dir().join(file)).unwrap();
        let source = text.lines().next().unwrap();
        assert!(
            source.starts_with("# Source: https://github.com/"),
            "{file}"
        );
        projects.insert(source.split('/').take(5).collect::<Vec<_>>().join("/"));
        assert_eq!(&preflight_rows(file, host), want, "{file}");
        rows += want.len();
    }
    assert!(projects.len() >= 30, "{} projects", projects.len());
    assert!(rows >= 150, "{rows} rows");
}

/// The ports `docker-compose config` prints, in its mixed output forms (`HOST_IP:HOST:TARGET/PROTO`
/// strings and long-syntax mappings), as rows.
fn reference_rows(config: &serde_json::Value) -> BTreeSet<Row> {
    let mut rows = BTreeSet::new();
    let Some(services) = config["services"].as_object() else {
        return rows;
    };
    for (name, svc) in services {
        if svc["network_mode"].as_str() == Some("host") {
            continue;
        }
        for p in svc["ports"].as_array().into_iter().flatten() {
            let row = match p {
                serde_json::Value::String(s) => {
                    let (spec, proto) = s.rsplit_once('/').unwrap_or((s, "tcp"));
                    let (rest, target) = spec.rsplit_once(':').unwrap();
                    let (ip, host) = rest.rsplit_once(':').unwrap_or(("", rest));
                    let ip = ip.trim_start_matches('[').trim_end_matches(']');
                    (
                        name.clone(),
                        if ip.is_empty() { "*".into() } else { ip.into() },
                        if host.is_empty() {
                            "*".into()
                        } else {
                            host.into()
                        },
                        target.parse().unwrap(),
                        proto.into(),
                    )
                }
                m => (
                    name.clone(),
                    m["host_ip"].as_str().unwrap_or("*").to_owned(),
                    match &m["published"] {
                        serde_json::Value::Null => "*".to_owned(),
                        serde_json::Value::String(s) => s.clone(),
                        n => n.to_string(),
                    },
                    m["target"].as_u64().unwrap(),
                    m["protocol"].as_str().unwrap_or("tcp").to_owned(),
                ),
            };
            rows.insert(row);
        }
    }
    rows
}

/// The reference implementation: each accepted file normalised by Debian's `docker-compose config`
/// (1.29.2) in an empty directory with an empty environment gives exactly the host ports preflight
/// reads, except where docker-compose 1.x reads YAML 1.1 (`- 2222:22` is the base-60 number 133342
/// there; Compose v2 and the specification read the string).
#[test]
#[cfg_attr(
    not(preflight_has_docker_compose),
    ignore = "needs docker-compose (apt-get install docker-compose)"
)]
fn preflight_reads_the_ports_docker_compose_config_prints() {
    let yaml_1_1 = ["35-gitlab-haxxnet.yaml"];
    let mut compared = 0;
    for (file, accepted, _, host) in expected() {
        if !accepted || yaml_1_1.contains(&file.as_str()) {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(dir().join(&file), tmp.path().join("docker-compose.yml")).unwrap();
        let config = compose_config(tmp.path(), &["docker-compose.yml"]);
        assert_eq!(
            preflight_rows(&file, &host),
            reference_rows(&config),
            "{file}"
        );
        compared += 1;
    }
    assert!(compared >= 30, "{compared} files compared");
}

/// `docker-compose -f FILE… config` in `dir` with an empty environment: the project as the reference
/// implementation normalises it, read as JSON with preflight's own YAML reader.
fn compose_config(dir: &Path, files: &[&str]) -> serde_json::Value {
    let args: Vec<String> = files
        .iter()
        .flat_map(|f| ["-f".to_owned(), (*f).to_owned()])
        .collect();
    compose_config_args(dir, &args)
}

/// preflight run in `dir` with an empty environment but for `env`.
fn preflight(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_preflight"));
    cmd.current_dir(dir).env_clear().args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn check(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let mut all = vec!["check", "--format", "json", "--fail-on", "never"];
    all.extend_from_slice(args);
    let out = preflight(dir, &all, env);
    let code = out.status.code().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    (code, json)
}

fn ports(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let mut all = vec!["ports", "--format", "json"];
    all.extend_from_slice(args);
    let out = preflight(dir, &all, env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["ports"].as_array().unwrap().clone()
}

/// Interpolation's sources in Compose's order: `.env`, replaced by `--env-file` (a later file wins),
/// and the process environment over all.
#[test]
fn variables_come_from_dot_env_env_files_and_the_environment_in_compose_order() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("compose.yaml"),
        "services:\n  web:\n    image: nginx\n    ports: [\"${WEB_PORT:?set WEB_PORT}:80\"]\n",
    )
    .unwrap();
    std::fs::write(d.join(".env"), "WEB_PORT=8001\n").unwrap();
    std::fs::write(d.join("a.env"), "WEB_PORT=8002\n").unwrap();
    std::fs::write(d.join("b.env"), "export WEB_PORT='8003'\n").unwrap();
    let port = |args: &[&str], env: &[(&str, &str)]| ports(d, args, env)[0]["port"].as_u64();
    assert_eq!(port(&["compose.yaml"], &[]), Some(8001));
    assert_eq!(
        port(&["compose.yaml", "--env-file", "a.env"], &[]),
        Some(8002)
    );
    assert_eq!(
        port(
            &["compose.yaml", "--env-file", "a.env", "--env-file", "b.env"],
            &[]
        ),
        Some(8003)
    );
    assert_eq!(
        port(
            &["compose.yaml", "--env-file", "a.env"],
            &[("WEB_PORT", "8004")]
        ),
        Some(8004)
    );
    // `${VAR:?message}` with the variable unset: refused, like Compose, naming the message.
    std::fs::remove_file(d.join(".env")).unwrap();
    let out = preflight(d, &["ports", "compose.yaml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("required variable `WEB_PORT` is missing a value: set WEB_PORT"),
        "{err}"
    );
    assert!(err.contains("compose.yaml:4:"), "{err}");
}

/// Profiles: a service of an inactive profile doesn't start; `--profile` and `COMPOSE_PROFILES`
/// activate it. From 11-langfuse-dev.yaml (a real file with `profiles:`).
#[test]
fn services_of_inactive_profiles_publish_nothing() {
    let d = dir();
    let services = |args: &[&str], env: &[(&str, &str)]| -> BTreeSet<String> {
        ports(&d, args, env)
            .iter()
            .map(|r| r["service"].as_str().unwrap().to_owned())
            .collect()
    };
    let file = "11-langfuse-dev.yaml";
    let text = std::fs::read_to_string(d.join(file)).unwrap();
    assert!(text.contains("profiles:"));
    let all = services(&[file, "--profile", "*"], &[]);
    let default = services(&[file], &[]);
    assert!(default.len() < all.len(), "{default:?} vs {all:?}");
    let profile = text
        .lines()
        .skip_while(|l| !l.contains("profiles:"))
        .nth(1)
        .unwrap()
        .trim()
        .trim_start_matches("- ")
        .trim_matches(['"', '[', ']'])
        .to_owned();
    let with = services(&[file, "--profile", &profile], &[]);
    assert!(with.len() > default.len(), "{profile}: {with:?}");
    assert_eq!(services(&[file], &[("COMPOSE_PROFILES", &profile)]), with);
    // `--profile` given: `COMPOSE_PROFILES` is not read, as in Compose.
    assert_eq!(
        services(
            &[file, "--profile", "no-such-profile"],
            &[("COMPOSE_PROFILES", &profile)]
        ),
        default
    );
}

/// Docker's semantics on a real file: 16-compose-port-range.yaml (docker/compose's own test) publishes a
/// host range onto one container port with `scale: 5`, which is fine (Docker gives each replica one
/// port of the range); the same file with a fixed host port fails for the second replica.
#[test]
fn replicas_with_a_fixed_host_port_conflict_and_a_range_does_not() {
    let d = dir();
    let (_, report) = check(&d, &["16-compose-port-range.yaml"], &[]);
    assert!(
        !common::rules_of(&report).contains(&"port-conflict".to_owned()),
        "{report:#}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(d.join("16-compose-port-range.yaml")).unwrap();
    let mutated = text.replace("6005-6015:80", "6005:80");
    assert_ne!(text, mutated);
    std::fs::write(tmp.path().join("compose.yaml"), mutated).unwrap();
    let (_, report) = check(tmp.path(), &["compose.yaml"], &[]);
    let f = common::finding(&report, "port-conflict");
    assert!(f["message"].as_str().unwrap().contains("replicas"), "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("port is already allocated"),
        "{f:#}"
    );
}

/// `include:` joins a Compose file's services to a deploy manifest: a conflict across the two files is
/// found, with each place in its own file, in JSON and SARIF.
#[test]
fn an_included_compose_file_conflicts_with_the_manifest_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir(d.join("stack")).unwrap();
    std::fs::copy(
        dir().join("02-uptime-kuma.yaml"),
        d.join("stack/compose.yaml"),
    )
    .unwrap();
    std::fs::write(
        d.join("deploy.yaml"),
        "version: 1\ntarget: { platform: linux, run_as: root }\nservices:\n  status-page:\n    ports:\n      http: 3001\ninclude:\n  - compose: stack/compose.yaml\n",
    )
    .unwrap();
    let (_, report) = check(d, &["deploy.yaml"], &[]);
    let f = common::finding(&report, "port-conflict");
    assert_eq!(f["file"], "stack/compose.yaml", "{f:#}");
    assert_eq!(f["related"][0]["file"], "deploy.yaml", "{f:#}");
    let compose = std::fs::read_to_string(d.join("stack/compose.yaml")).unwrap();
    let line = compose
        .lines()
        .position(|l| l.contains("3001:3001"))
        .unwrap()
        + 1;
    assert_eq!(f["line"].as_u64(), Some(line as u64));
    let out = preflight(d, &["check", "deploy.yaml", "--format", "sarif"], &[]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "port-conflict")
        .unwrap();
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "stack/compose.yaml");
    assert_eq!(loc["region"]["startLine"].as_u64(), Some(line as u64));
    assert_eq!(
        result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy.yaml"
    );
}

/// `-f A -f B` merges as Compose merges: later ports are added (an identical entry once), settings
/// replaced; `!override` replaces a list and `!reset` empties it. Each port keeps its own file's place.
/// Without tags, Debian's `docker-compose -f A -f B config` agrees where it is installed.
#[test]
fn several_compose_files_merge_as_compose_merges_them() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::copy(dir().join("01-emojivoto.yaml"), d.join("compose.yaml")).unwrap();
    std::fs::write(
        d.join("override.yaml"),
        "services:\n  web:\n    ports: [\"8080:8080\", \"9443:8443\"]\n  emoji-svc:\n    deploy: { replicas: 1 }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("tags.yaml"),
        "services:\n  web:\n    ports: !override [\"127.0.0.1:8080:8080\"]\n  voting-svc:\n    ports: !reset []\n",
    )
    .unwrap();
    let rows = |args: &[&str]| -> Vec<(String, u64, String, u64)> {
        ports(d, args, &[])
            .iter()
            .map(|r| {
                (
                    r["service"].as_str().unwrap().to_owned(),
                    r["port"].as_u64().unwrap(),
                    r["file"].as_str().unwrap().to_owned(),
                    r["line"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let merged = rows(&["-f", "compose.yaml", "-f", "override.yaml"]);
    let ports_of = |rows: &[(String, u64, String, u64)], svc: &str| -> Vec<u64> {
        rows.iter().filter(|r| r.0 == svc).map(|r| r.1).collect()
    };
    assert_eq!(ports_of(&merged, "web"), [8080, 9443]);
    assert_eq!(ports_of(&merged, "emoji-svc"), [8081]);
    let added = merged.iter().find(|r| r.1 == 9443).unwrap();
    assert_eq!((added.2.as_str(), added.3), ("override.yaml", 3));
    let tagged = rows(&[
        "-f",
        "compose.yaml",
        "-f",
        "override.yaml",
        "-f",
        "tags.yaml",
    ]);
    assert_eq!(ports_of(&tagged, "web"), [8080]);
    assert_eq!(tagged.iter().find(|r| r.0 == "web").unwrap().2, "tags.yaml");
    assert!(ports_of(&tagged, "voting-svc").is_empty());
    if common::has("docker-compose") {
        let reference = reference_rows(&compose_config(d, &["compose.yaml", "override.yaml"]));
        let ours: BTreeSet<(String, String)> = merged
            .iter()
            .map(|r| (r.0.clone(), r.1.to_string()))
            .collect();
        let theirs: BTreeSet<(String, String)> =
            reference.into_iter().map(|r| (r.0, r.2)).collect();
        assert_eq!(ours, theirs);
    }
}

/// `init --from` writes a manifest that includes the files and loads as written; uncommenting its
/// port plan and team lines gives a manifest that loads too, whose services lie in their blocks.
#[test]
fn init_writes_a_manifest_that_loads_with_and_without_its_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("shop")).unwrap();
    std::fs::create_dir_all(d.join("k8s")).unwrap();
    std::fs::copy(dir().join("01-emojivoto.yaml"), d.join("shop/compose.yaml")).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/kubernetes/07-node-exporter-daemonset.yaml"),
        d.join("k8s/node-exporter.yaml"),
    )
    .unwrap();
    let run = |args: &[&str]| common::run(d, args);
    let (code, _, err) = run(&["init", "--from", "shop/compose.yaml", "k8s"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(d.join("deploy.yaml")).unwrap();
    assert!(text.contains("  - compose: shop/compose.yaml\n"), "{text}");
    assert!(text.contains("  - kubernetes: k8s/\n"), "{text}");
    assert!(
        text.contains("#   shop: 8000-8099   # publishes 8080, 8081, 8082"),
        "{text}"
    );
    // A second run does not overwrite it.
    let (code, _, err) = run(&["init", "--from", "shop/compose.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    let (code, _, err) = run(&["check", "deploy.yaml"]);
    assert_ne!(code, 2, "{err}");
    let planned = text
        .replace("# port_plan:", "port_plan:")
        .replace("#   shop:", "  shop:")
        .replace("#   monitoring:", "  monitoring:")
        .replace("    # team: shop", "    team: shop");
    std::fs::write(d.join("deploy.yaml"), planned).unwrap();
    let (code, report) = common::check_json(d, "deploy.yaml", &["--fail-on", "never"]);
    assert_eq!(code, 0);
    assert!(
        !common::rules_of(&report).contains(&"port-plan".to_owned()),
        "{report:#}"
    );
}

/// `-` reads standard input (`helm template . | preflight check -`), and `--kind` overrides what the
/// content says.
#[test]
fn standard_input_and_kind() {
    let d = root().join("tests/fixtures/kubernetes");
    let text = std::fs::read(d.join("11-longhorn-helm-rendered.yaml")).unwrap();
    let out = common::preflight_in(&d)
        .args(["check", "-", "--format", "json", "--fail-on", "never"])
        .write_stdin(text)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = common::finding(&report, "service-target-port");
    assert_eq!(f["file"], "<stdin>");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("(template `longhorn/templates/services.yaml`)")
    );
    // A Compose file read as a deploy manifest says what a deploy manifest lacks.
    let (code, out, _) = common::run(&dir(), &["check", "01-emojivoto.yaml", "--kind", "deploy"]);
    assert_eq!(code, 2);
    assert!(out.contains("missing field `target`"), "{out}");
}

/// A project of the shared corpus: its directory's name, the `docker-compose` arguments, and
/// whether docker-compose 1.29.2 rejects it.
type Project = (String, Vec<String>, bool);

/// The shared corpus of real Compose projects (`../shared/corpora/compose`, each project's source
/// and the exact `docker-compose` command in its `SOURCE.md`): `(project, arguments)` in file order,
/// with whether docker-compose 1.29.2 rejects the project.
fn shared_corpus() -> Option<(std::path::PathBuf, Vec<Project>)> {
    let dir = root().join("../shared/corpora/compose");
    let text = std::fs::read_to_string(dir.join("SOURCE.md")).ok()?;
    let mut out: Vec<Project> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            out.push((name.trim().to_owned(), Vec::new(), false));
        } else if let Some(cmd) = line.strip_prefix("* oracle command: `docker-compose ") {
            let args = cmd.trim_end_matches('`').trim_end_matches(" config");
            let last = out.last_mut().unwrap();
            last.1 = args.split_whitespace().map(str::to_owned).collect();
        } else if line.starts_with("* **rejected by 1.29.2**") {
            out.last_mut().unwrap().2 = true;
        }
    }
    Some((dir, out))
}

/// Every project of the shared corpus that docker-compose 1.29.2 accepts gives, with the same `-f`
/// and `--profile` arguments, exactly the published ports `docker-compose config` prints (multi-file
/// merges, `extends` across files, anchors, `.env`, ranges, host IPs from defaults). The one
/// documented difference: 1.x reads an unquoted `- 25:25` as the YAML 1.1 base-60 number 1525
/// (abc-user-feedback), where Compose v2 and preflight read `25:25`.
#[test]
#[cfg_attr(
    not(preflight_has_compose_oracle),
    ignore = "needs docker-compose (apt-get install docker-compose) and ../shared/corpora"
)]
fn the_shared_corpus_publishes_what_docker_compose_config_prints() {
    let corpus = shared_corpus();
    if !common::available("../shared/corpora/compose", corpus.is_some()) {
        return;
    }
    let (dir, projects) = corpus.unwrap();
    assert!(projects.len() >= 35, "{} projects", projects.len());
    let mut compared = 0;
    for (name, args, rejected) in projects.iter().filter(|p| !p.2) {
        assert!(!rejected);
        let pdir = dir.join(name);
        let files: Vec<&str> = args
            .windows(2)
            .filter(|w| w[0] == "-f")
            .map(|w| w[1].as_str())
            .collect();
        let config = compose_config_args(&pdir, args);
        let host: BTreeSet<String> = config["services"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, s)| s["network_mode"] == "host")
            .map(|(n, _)| n.clone())
            .collect();
        let mut want = reference_rows(&config);
        let mut pf: Vec<&str> = vec!["ports", "--format", "json"];
        pf.extend(args.iter().map(String::as_str));
        let out = preflight(&pdir, &pf, &[]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut got = rows_of(&json, &host);
        if name == "abc-user-feedback" {
            let v1 = (
                "smtp4dev".into(),
                "*".into(),
                "*".into(),
                1525,
                "tcp".into(),
            );
            let v2 = ("smtp4dev".into(), "*".into(), "25".into(), 25, "tcp".into());
            assert!(
                want.remove(&v1) && got.remove(&v2),
                "{name}: the base-60 row"
            );
        }
        assert_eq!(got, want, "{name} ({files:?})");
        compared += 1;
    }
    assert!(compared >= 27, "{compared} projects compared");
}

/// The projects docker-compose 1.29.2 rejects (for syntax newer than it: `!reset`, `name:`,
/// `build.platforms`, inline configs, `env_file` with `path`): preflight reads them as Compose v2
/// does, with the port rows counted by hand from the files, and refuses the one Compose v2 refuses
/// too (authentik: a `${PG_PASS:?…}` without a value), at its place.
#[test]
#[cfg_attr(not(preflight_has_shared_corpora), ignore = "needs ../shared/corpora")]
fn the_projects_docker_compose_1_rejects_read_as_compose_v2_reads_them() {
    let corpus = shared_corpus();
    if !common::available("../shared/corpora/compose", corpus.is_some()) {
        return;
    }
    let (dir, projects) = corpus.unwrap();
    // (project, published rows), counted from the files: profiles not named on the command line
    // are off, `!reset []` drops nginx's ports, `network_mode: host` services publish nothing.
    let expected = [
        ("appwrite-dev", 19),
        ("azuracast", 150),
        ("lago", 4),
        ("mailcow", 13),
        ("spreed-signaling", 0),
        ("zabbix", 3),
        ("zammad-npm", 3),
    ];
    let rejected: Vec<&Project> = projects.iter().filter(|p| p.2).collect();
    assert_eq!(rejected.len(), expected.len() + 1, "{rejected:?}");
    for (name, args, _) in rejected {
        let mut pf: Vec<&str> = vec!["ports", "--format", "json"];
        pf.extend(args.iter().map(String::as_str));
        let out = preflight(&dir.join(name), &pf, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if name == "authentik" {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name}: {stdout}");
            assert!(
                stderr.contains("required variable `PG_PASS` is missing a value")
                    && stderr.contains("docker-compose.yml:16:26"),
                "{stderr}"
            );
            continue;
        }
        assert!(out.status.success(), "{name}: {stdout}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let want = expected.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(
            json["ports"].as_array().unwrap().len(),
            want,
            "{name}: {json:#}"
        );
    }
}

/// `preflight ports` JSON as rows, without the services on the host network.
fn rows_of(json: &serde_json::Value, host_network: &BTreeSet<String>) -> BTreeSet<Row> {
    json["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !host_network.contains(r["service"].as_str().unwrap()))
        .map(|r| {
            let bind = r["bind"].as_str().unwrap();
            let port = match (r["port"].as_u64(), r["pick"].as_str()) {
                (Some(p), _) => p.to_string(),
                (None, Some(range)) => range.to_owned(),
                (None, None) => "*".to_owned(),
            };
            (
                r["service"].as_str().unwrap().to_owned(),
                if bind == "::" {
                    "*".to_owned()
                } else {
                    bind.to_owned()
                },
                port,
                r["target"].as_u64().unwrap(),
                r["protocol"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `docker-compose ARGS config` in `dir` with an empty environment, read as JSON.
fn compose_config_args(dir: &Path, args: &[String]) -> serde_json::Value {
    let out = Command::new("docker-compose")
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(args)
        .arg("config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    preflight::document::yaml::parse(&text, Default::default())
        .unwrap()
        .0
}

/// Each service's parsed value is dropped once the service is read (to bound a large file's memory),
/// except a service another one `extends`: a base read before the service extending it still gives
/// it its ports, in one file and across the `-f` files.
#[test]
fn a_base_service_read_first_still_gives_its_ports_to_the_services_that_extend_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("compose.yaml"),
        "services:\n  base:\n    image: nginx\n    ports: [\"8080:80\"]\n  other:\n    image: nginx\n    ports: [\"8070:80\"]\n  web:\n    extends: { service: base }\n    ports: [\"9090:90\"]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("override.yaml"),
        "services:\n  base:\n    ports: [\"8081:81\"]\n  api:\n    extends: { service: base }\n  other:\n    ports: [\"8071:81\"]\n",
    )
    .unwrap();
    let rows = |args: &[&str]| -> BTreeSet<(String, u64)> {
        ports(d, args, &[])
            .iter()
            .map(|p| {
                (
                    p["service"].as_str().unwrap().to_owned(),
                    p["port"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let one = rows(&["compose.yaml"]);
    let want: BTreeSet<(String, u64)> = [
        ("base", 8080),
        ("other", 8070),
        ("web", 8080),
        ("web", 9090),
    ]
    .into_iter()
    .map(|(s, p)| (s.to_owned(), p))
    .collect();
    assert_eq!(one, want);
    let two = rows(&["-f", "compose.yaml", "-f", "override.yaml"]);
    for row in [
        ("base", 8080),
        ("base", 8081),
        ("other", 8070),
        ("other", 8071),
        ("web", 8080),
        ("web", 9090),
        ("api", 8081),
    ] {
        assert!(
            two.contains(&(row.0.to_owned(), row.1)),
            "{row:?} not in {two:?}"
        );
    }
}
