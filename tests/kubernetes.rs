//! Real Kubernetes manifests from 22 public projects (`tests/fixtures/kubernetes`, each naming its
//! source on its first line), read by preflight and compared with what `EXPECTED.txt` says about them —
//! written by hand from reading each file, not from preflight's output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{root, run};

/// One host-level row as `EXPECTED.txt` describes it: (service, protocol, host port, target port).
type Row = (String, String, Option<u64>, Option<u64>);

/// The workload and Service lines of one file's block in `EXPECTED.txt`, as the rows `preflight
/// ports` prints for them: a container port (TCP/UDP; SCTP is not read) with its hostPort, or the
/// port itself on the host network, else no host port; and each Service port with a nodePort.
fn expected_rows(block: &str) -> BTreeSet<Row> {
    let mut rows = BTreeSet::new();
    let (mut workload, mut host_network) = (String::new(), false);
    let mut service = String::new();
    let field = |line: &str, key: &str| -> Option<String> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .map(|v| v.trim_end_matches('*').to_owned())
    };
    for line in block.lines() {
        if let Some(rest) = line.strip_prefix("  workload ") {
            let id = rest.split_whitespace().next().unwrap();
            workload = id.rsplit('/').next().unwrap().to_owned();
            host_network = rest.contains("hostNetwork=true");
            service.clear();
        } else if let Some(rest) = line.strip_prefix("  service ") {
            service = rest
                .split_whitespace()
                .next()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned();
        } else if line.starts_with("    container ") {
            let Some(port) = field(line, "port").and_then(|p| p.parse::<u64>().ok()) else {
                continue;
            };
            let proto = field(line, "proto").unwrap();
            if proto == "SCTP" {
                continue;
            }
            let host = match field(line, "hostPort").and_then(|h| h.parse::<u64>().ok()) {
                Some(h) => Some(h),
                None if host_network => Some(port),
                None => None,
            };
            rows.insert((workload.clone(), proto.to_lowercase(), host, Some(port)));
        } else if line.starts_with("    port=") && !service.is_empty() {
            let proto = field(line, "proto").unwrap();
            if let Some(np) = field(line, "nodePort").and_then(|n| n.parse::<u64>().ok())
                && proto != "SCTP"
            {
                let port = field(line, "port").and_then(|p| p.parse().ok());
                rows.insert((
                    format!("service/{service}"),
                    proto.to_lowercase(),
                    Some(np),
                    port,
                ));
            }
        }
    }
    rows
}

/// The blocks of `EXPECTED.txt`: file name → its text.
fn blocks() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/kubernetes/EXPECTED.txt")).unwrap();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some((name, _)) = line.split_once(".yaml:")
            && !line.starts_with(' ')
            && !line.starts_with('#')
        {
            out.push((format!("{name}.yaml"), String::new()));
        } else if let Some((_, b)) = out.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    out
}

#[test]
fn every_real_manifest_reads_as_the_hand_written_expectations_say() {
    let dir = root().join("tests/fixtures/kubernetes");
    let blocks = blocks();
    assert!(blocks.len() >= 24, "{} files described", blocks.len());
    let mut projects = BTreeSet::new();
    for (file, block) in &blocks {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let source = text.lines().next().unwrap();
        assert!(
            source.starts_with("# Source: https://github.com/"),
            "{file}: {source}"
        );
        projects.insert(source.split('/').take(5).collect::<Vec<_>>().join("/"));
        let (code, stdout, stderr) = run(&dir, &["ports", file, "--format", "json"]);
        assert_eq!(code, 0, "{file}: {stderr}");
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let got: BTreeSet<Row> = json["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let service = r["service"].as_str().unwrap();
                (
                    service
                        .rsplit('/')
                        .next()
                        .map(|s| {
                            if service.starts_with("service/") {
                                format!("service/{s}")
                            } else {
                                s.to_owned()
                            }
                        })
                        .unwrap(),
                    r["protocol"].as_str().unwrap().to_owned(),
                    r["port"].as_u64(),
                    r["target"].as_u64(),
                )
            })
            .collect();
        assert_eq!(got, expected_rows(block), "{file}");
    }
    assert!(
        projects.len() >= 20,
        "{} projects: {projects:?}",
        projects.len()
    );
}

/// Findings of the Kubernetes rules on the real files, counted per rule, as `EXPECTED.txt`'s
/// `findings:` notes predict them (R3/R4 targetPort, R5 selector, R7 host ports, R8 low ports; the
/// runtime is not given, so R8 is a warning). SCTP ports are reported as not checked.
#[test]
fn the_kubernetes_rules_find_what_a_reader_of_the_files_finds() {
    let dir = root().join("tests/fixtures/kubernetes");
    #[rustfmt::skip]
    let expected: &[(&str, &[(&str, usize)])] = &[
        // `not-read`: placement (affinity, tolerations) of pods that take node ports is not read.
        (
            "01-ingress-nginx-kind.yaml",
            &[("privileged-port", 2), ("not-read", 1)],
        ),
        ("02-flannel.yaml", &[("not-read", 2)]),
        ("03-metallb-native.yaml", &[("not-read", 1)]),
        ("04-guestbook-all-in-one.yaml", &[]),
        ("05-javaweb-pod-init-hostport.yaml", &[]),
        ("06-online-boutique-frontend.yaml", &[]),
        ("07-node-exporter-daemonset.yaml", &[("not-read", 1)]),
        ("08-node-exporter-service.yaml", &[("service-target-port", 1)]),
        ("09-otel-collector-daemonset-helm.yaml", &[]),
        ("10-sock-shop-complete-demo.yaml", &[("privileged-port", 2)]),
        ("11-longhorn-helm-rendered.yaml", &[("service-target-port", 2)]),
        ("13-nginx-ingress-daemonset.yaml", &[("privileged-port", 2)]),
        ("15-gke-sctp-deployment.yaml", &[("ignored-ports", 2)]),
        ("16-loxilb-sctp-svc-pod.yaml", &[("ignored-ports", 1)]),
        ("17-kubectl-testdata-list.yaml", &[]),
        ("18-istio-gateway-deployment-golden.yaml", &[]),
        ("21-coredns-yaml-sed.yaml", &[]),
        ("22-contour-render.yaml", &[]),
        ("24-calico-typha-helm-rendered.yaml", &[("not-read", 1)]),
        ("25-argocd-install.yaml", &[("service-target-port", 6)]),
    ];
    for (file, rules) in expected {
        let (code, report) = common::check_json(&dir, file, &["--fail-on", "never"]);
        assert_eq!(code, 0, "{file}");
        let got = common::rules_of(&report);
        let mut want: Vec<String> = Vec::new();
        for (rule, n) in *rules {
            want.extend(std::iter::repeat_n((*rule).to_owned(), *n));
        }
        let mut got_sorted = got.clone();
        got_sorted.sort();
        want.sort();
        assert_eq!(got_sorted, want, "{file}: {report:#}");
    }
}

/// Rendered Helm output names its template in each finding; a file's own `# Source: URL` header does not.
#[test]
fn helm_templates_are_named_and_headers_are_not() {
    let dir = root().join("tests/fixtures/kubernetes");
    let (_, report) = common::check_json(
        &dir,
        "11-longhorn-helm-rendered.yaml",
        &["--fail-on", "never"],
    );
    for f in report["findings"].as_array().unwrap() {
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .ends_with("(template `longhorn/templates/services.yaml`)"),
            "{f:#}"
        );
    }
    let (_, report) = common::check_json(&dir, "25-argocd-install.yaml", &["--fail-on", "never"]);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["message"].as_str().unwrap().contains("template"))
    );
}

/// A Linux node's captured facts with TCP listeners on `ports` (port, process), written to
/// `DIR/node.json`.
fn node_facts(dir: &std::path::Path, ports: &[(u16, &str)]) {
    let sockets: Vec<serde_json::Value> = ports
        .iter()
        .enumerate()
        .map(|(i, (port, process))| {
            serde_json::json!({"protocol": "tcp", "address": "0.0.0.0", "port": port,
                "state": "listen", "pid": 800 + i, "process": process})
        })
        .collect();
    let facts = serde_json::json!({"version": 1, "os": "linux", "owners_visible": true,
        "sockets": {"origin": "captured", "detail": "ss -tlnp", "value": sockets}});
    std::fs::write(dir.join("node.json"), facts.to_string()).unwrap();
}

/// Host rules judge what a pod takes on its node: a `hostNetwork` pod's ports and `hostPort`s, never
/// the ports inside a pod's own network namespace.
#[test]
fn host_rules_see_node_ports_only() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    node_facts(d, &[(9100, "node_exporter"), (8080, "java")]);
    let fixtures = root().join("tests/fixtures/kubernetes");
    // node-exporter: a hostNetwork DaemonSet on 9100, which the node already serves.
    std::fs::copy(
        fixtures.join("07-node-exporter-daemonset.yaml"),
        d.join("ds.yaml"),
    )
    .unwrap();
    // online boutique's frontend: containerPort 8080 in its own network namespace.
    std::fs::copy(
        fixtures.join("06-online-boutique-frontend.yaml"),
        d.join("frontend.yaml"),
    )
    .unwrap();
    let (_, report) = common::check_json(
        d,
        "ds.yaml",
        &["--facts", "node.json", "--fail-on", "never"],
    );
    let f = common::finding(&report, "port-occupied");
    assert!(
        f["message"].as_str().unwrap().contains("node_exporter"),
        "{f:#}"
    );
    let (_, report) = common::check_json(
        d,
        "frontend.yaml",
        &["--facts", "node.json", "--fail-on", "never"],
    );
    assert!(
        !common::rules_of(&report).contains(&"port-occupied".to_owned()),
        "{report:#}"
    );
}

/// A directory is one input: a Service in one file selects the pods of a workload in another.
#[test]
fn a_directory_is_one_input() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let fixtures = root().join("tests/fixtures/kubernetes");
    std::fs::create_dir(d.join("k8s")).unwrap();
    for f in [
        "07-node-exporter-daemonset.yaml",
        "08-node-exporter-service.yaml",
    ] {
        std::fs::copy(fixtures.join(f), d.join("k8s").join(f)).unwrap();
    }
    // Alone, the Service selects nothing; with its DaemonSet beside it, its named targetPort resolves.
    let (_, alone) = common::check_json(
        &fixtures,
        "08-node-exporter-service.yaml",
        &["--fail-on", "never"],
    );
    assert!(common::rules_of(&alone).contains(&"service-target-port".to_owned()));
    let (code, together) = common::check_json(d, "k8s", &["--fail-on", "never"]);
    assert_eq!(code, 0, "{together:#}");
    assert!(
        !common::rules_of(&together).contains(&"service-target-port".to_owned()),
        "{together:#}"
    );
    let (_, stdout, _) = common::run(d, &["ports", "k8s", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        json["ports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["file"].as_str().unwrap().starts_with("k8s/"))
    );
}

/// contour's envoy maps hostPort 80 to containerPort 8080: with nginx on the node's port 80, the
/// finding names 80 and points at `hostPort: 80`; the node's 8080 is none of the pod's business.
#[test]
fn a_host_port_is_named_and_placed_as_the_host_port() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    node_facts(d, &[(80, "nginx"), (8080, "java")]);
    let fixtures = root().join("tests/fixtures/kubernetes");
    std::fs::copy(
        fixtures.join("22-contour-render.yaml"),
        d.join("contour.yaml"),
    )
    .unwrap();
    let (_, report) = common::check_json(
        d,
        "contour.yaml",
        &["--facts", "node.json", "--fail-on", "never"],
    );
    let occupied = common::findings(&report, "port-occupied");
    assert_eq!(occupied.len(), 1, "{report:#}");
    assert!(
        occupied[0]["message"]
            .as_str()
            .unwrap()
            .contains("port 80/tcp"),
        "{report:#}"
    );
    let text = std::fs::read_to_string(d.join("contour.yaml")).unwrap();
    let line = text
        .lines()
        .nth(occupied[0]["line"].as_u64().unwrap() as usize - 1)
        .unwrap();
    assert_eq!(line.trim(), "hostPort: 80");
}

/// `targetPort: 0` and `targetPort: ""` mean "the same as `port`" (the API server's defaults).
#[test]
fn empty_and_zero_target_ports_default_to_the_port() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = root().join("tests/fixtures/kubernetes");
    let text = std::fs::read_to_string(fixtures.join("06-online-boutique-frontend.yaml")).unwrap();
    for replacement in ["targetPort: 0", "targetPort: \"\""] {
        // The Services' port 80 then means target 80, which the pods don't declare: a warning, not a
        // refused file and not an unknown name.
        let mutated = text.replace("targetPort: 8080", replacement);
        std::fs::write(tmp.path().join("m.yaml"), mutated).unwrap();
        let (code, report) = common::check_json(tmp.path(), "m.yaml", &["--fail-on", "never"]);
        assert_eq!(code, 0, "{replacement}: {report:#}");
        let f = common::finding(&report, "service-target-port");
        assert_eq!(f["severity"], "warning", "{replacement}: {f:#}");
        assert!(
            f["message"].as_str().unwrap().contains("targetPort 80/tcp"),
            "{f:#}"
        );
    }
}

/// The shared corpus of real Kubernetes manifests (`../shared/corpora/kubernetes`, 25 files, each
/// file's source in its `SOURCE.md`) is read whole, each file alone and the directory as one input,
/// and the defects a reader of the files finds are reported at their places: two real duplicate keys
/// (Mailu's `ports:` twice, retail-store's `CARTS_DYNAMODB_CREATETABLE` twice), one unfilled
/// placeholder (`targetPort: $MINIO_CONSOLE_PORT` in prow's envsubst template), and two Services that
/// select nothing (Mailu's `redis` selects `app: mailu`, the pods are `app: mailu-redis`; linkerd's
/// `linkerd-viz` has no namespace while its pods run in `linkerd`).
#[test]
#[cfg_attr(not(preflight_has_shared_corpora), ignore = "needs ../shared/corpora")]
fn the_shared_corpus_is_read_whole_and_its_defects_are_found() {
    let dir = root().join("../shared/corpora/kubernetes");
    if !common::available("../shared/corpora/kubernetes", dir.is_dir()) {
        return;
    }
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 25, "{files:?}");
    for f in &files {
        let (code, report) = common::check_json(&dir, f, &["--fail-on", "never"]);
        assert_eq!(code, 0, "{f}: {report:#}");
        assert_eq!(report["errors"], serde_json::json!([]), "{f}");
    }
    let (code, report) = common::check_json(&dir, ".", &["--fail-on", "never"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["not_checked"],
        serde_json::json!([]),
        "every file is a Kubernetes manifest"
    );
    let at = |rule: &str, severity: &str, file: &str, line: u64, needle: &str| {
        let hit = report["findings"].as_array().unwrap().iter().any(|x| {
            x["rule"] == rule
                && x["severity"] == severity
                && x["file"] == file
                && x["line"] == line
                && x["message"].as_str().unwrap().contains(needle)
        });
        assert!(
            hit,
            "no {rule} ({severity}) at {file}:{line} with {needle:?}"
        );
    };
    at(
        "duplicate-key",
        "error",
        "Mailu__Mailu__kubernetes-mailu.yaml",
        151,
        "`ports` is written twice",
    );
    at(
        "duplicate-key",
        "error",
        "aws-containers__retail-store-sample-app__deploy.yaml",
        249,
        "`CARTS_DYNAMODB_CREATETABLE` is written twice",
    );
    at(
        "service-target-port",
        "error",
        "kubernetes-sigs__prow__starter-azure.yaml",
        1354,
        "`$MINIO_CONSOLE_PORT`",
    );
    at(
        "service-target-port",
        "info",
        "Mailu__Mailu__kubernetes-mailu.yaml",
        65,
        "Service `redis` selects no pod",
    );
    at(
        "service-target-port",
        "info",
        "linkerd__linkerd-examples__linkerd.yml",
        341,
        "`linkerd-viz` has no namespace",
    );
    let dups = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"] == "duplicate-key")
        .count();
    assert_eq!(dups, 2);
}

/// A stream is read document by document as it is parsed; what goes wrong is still placed on the
/// value at fault, once the file's source map is complete (inputs written for this test).
#[test]
fn problems_of_a_stream_read_as_it_is_parsed_keep_their_places() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let bad = "---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  selector: {app: a}\n  ports:\n    - port: 80\n      protocol: tcp\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: x\n      ports:\n        - containerPort: 70000\n";
    std::fs::write(d.join("bad.yaml"), bad).unwrap();
    let (code, report) = common::check_json(d, "bad.yaml", &[]);
    assert_eq!(code, 2, "{report:#}");
    let places: Vec<(u64, u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_u64().unwrap(),
                e["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            (
                9,
                17,
                "the protocol of Service port 80 is not one Kubernetes accepts"
            ),
            (19, 26, "containerPort 70000 is not a port number (1-65535)"),
        ]
    );

    // A directory: each file is read as it is parsed, and the problems name the file that has them.
    std::fs::create_dir(d.join("k8s")).unwrap();
    std::fs::write(
        d.join("k8s/a.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n",
    )
    .unwrap();
    std::fs::write(d.join("k8s/b.yaml"), bad).unwrap();
    let (code, report) = common::check_json(d, "k8s", &[]);
    assert_eq!(code, 2, "{report:#}");
    let errors: Vec<(&str, u64)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["file"].as_str().unwrap(), e["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(errors, [("k8s/b.yaml", 9), ("k8s/b.yaml", 19)]);
}

/// Past the workload limit the stream's reading stops, but not its parse: the limit is reported,
/// unless a later document is not YAML (inputs written for this test).
#[test]
fn the_workload_limit_of_a_stream_is_reported_after_the_whole_parse() {
    let tmp = tempfile::tempdir().unwrap();
    let pods: String = (0..3)
        .map(|i| format!("---\nkind: Pod\nmetadata: {{name: p{i}}}\nspec: {{containers: [{{name: c, ports: [{{containerPort: 80}}]}}]}}\n"))
        .collect();
    let mut opts = preflight::manifest::LoadOptions::default();
    opts.limits.max_services = 2;
    let path = tmp.path().join("pods.yaml");
    std::fs::write(&path, &pods).unwrap();
    let e = preflight::manifest::load(&path, &opts).unwrap_err();
    assert!(format!("{e:?}").contains("over 2 workloads"), "{e:?}");
    std::fs::write(&path, format!("{pods}---\nkind: [\n")).unwrap();
    let e = preflight::manifest::load(&path, &opts).unwrap_err();
    assert!(!format!("{e:?}").contains("over 2 workloads"), "{e:?}");
    assert!(format!("{e:?}").contains("invalid YAML"), "{e:?}");
    opts.limits.max_services = 3;
    std::fs::write(&path, &pods).unwrap();
    let (m, _) = preflight::manifest::load(&path, &opts).unwrap();
    assert_eq!(m.services.len(), 3);
}
