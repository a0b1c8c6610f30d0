//! Inputs found as their own tools find them, and nothing reported clean unread: no argument
//! (Compose's file names and override, `COMPOSE_FILE`, then `deploy.yaml`), a directory as a project
//! (its Compose project, its Kubernetes manifests, files of no known kind listed as not checked in
//! every format), `extends` and `include` read through the file that names them, Helm charts and
//! kustomizations rendered by their tools or refused. The projects in `tests/fixtures/projects` are
//! real (each file names its source on its first line).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{preflight_in, root};

fn projects() -> PathBuf {
    root().join("tests/fixtures/projects")
}

/// Runs preflight in `dir` with only `PATH` (and `env`) in the environment: (code, stdout, stderr).
fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = preflight_in(dir);
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `preflight ports --format json ARGS` in `dir`: each row as (service, port, file:line).
fn ports(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<(String, u64, String)> {
    let mut all = vec!["ports", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run_env(dir, &all, env);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["service"].as_str().unwrap().to_owned(),
                r["port"].as_u64().unwrap_or(0),
                format!("{}:{}", r["file"].as_str().unwrap(), r["line"]),
            )
        })
        .collect()
}

/// With no argument, the project is `compose.yaml` with `compose.override.yaml` (symfony-docker
/// ships both); `-f compose.yaml` loads no override; a directory argument means the same project.
#[test]
fn no_argument_reads_the_compose_file_and_its_override() {
    let dir = projects().join("override-pair-symfony-docker");
    let found = ports(&dir, &[], &[]);
    let files: Vec<&str> = found
        .iter()
        .map(|(_, _, f)| f.split(':').next().unwrap())
        .collect();
    assert!(files.contains(&"compose.yaml"), "{found:?}");
    let (code, out, _) = run_env(
        &dir,
        &["check", "--format", "json", "--fail-on", "never"],
        &[],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["not_checked"], serde_json::json!([]));
    // The override is read too: the report's files include it where it has findings, and the
    // explicit `-f` below reads less or the same.
    let explicit = ports(&dir, &["-f", "compose.yaml"], &[]);
    assert_eq!(found, ports(&dir, &["."], &[]));
    assert!(explicit.len() <= found.len());
    // plausible's override is what publishes its ports: without it, none.
    let plausible = projects().join("override-pair-plausible");
    let with = ports(&plausible, &[], &[]);
    assert_eq!(with.len(), 3, "{with:?}");
    assert!(
        with.iter()
            .all(|(_, _, f)| f.starts_with("docker-compose.override.yml:"))
    );
    assert!(ports(&plausible, &["-f", "docker-compose.yml"], &[]).is_empty());
}

/// `COMPOSE_FILE` (split on `COMPOSE_PATH_SEPARATOR`) names the files, as for Compose.
#[test]
fn compose_file_names_the_files() {
    let dir = projects().join("override-pair-plausible");
    let only_base = ports(&dir, &[], &[("COMPOSE_FILE", "docker-compose.yml")]);
    assert!(only_base.is_empty(), "{only_base:?}");
    let both = ports(
        &dir,
        &[],
        &[
            (
                "COMPOSE_FILE",
                "docker-compose.yml,docker-compose.override.yml",
            ),
            ("COMPOSE_PATH_SEPARATOR", ","),
        ],
    );
    assert_eq!(both.len(), 3);
}

/// A port inherited through `extends` from another file is placed where it is written, under the
/// service that inherits it (dfir-iris: nginx extends the base file's service).
#[test]
fn extended_ports_point_into_the_base_file() {
    let dir = projects().join("extends-file-iris");
    let rows = ports(&dir, &["-f", "docker-compose.dev.yml"], &[]);
    let base: Vec<&(String, u64, String)> = rows
        .iter()
        .filter(|(_, _, f)| f.starts_with("docker-compose.base.yml:"))
        .collect();
    assert!(!base.is_empty(), "{rows:?}");
    // The dev file's own ports are placed in the dev file.
    assert!(
        rows.iter()
            .any(|(_, p, f)| *p == 5432 && f.starts_with("docker-compose.dev.yml:")),
        "{rows:?}"
    );
    // The base file is read through the dev file, not checked again alone.
    let (_, out, _) = run_env(
        &dir,
        &["check", ".", "--format", "json", "--fail-on", "never"],
        &[],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let files: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert!(
        files.iter().all(|f| f.starts_with("docker-compose.")),
        "{files:?}"
    );
}

/// `include` in the short (ragflow) and long syntax with `env_file` (dc-bug-example): the included
/// project's ports join, placed in the included file, with its own variables.
#[test]
fn included_projects_join_with_their_own_variables() {
    let long = ports(&projects().join("include-long-dcbug"), &[], &[]);
    assert_eq!(long.len(), 1, "{long:?}");
    assert_eq!(long[0].1, 9501, "SWOOLE_PORT from server/.env");
    assert!(long[0].2.contains("server/docker-compose.yml:"), "{long:?}");
    let short = ports(&projects().join("include-short-ragflow/docker"), &[], &[]);
    assert!(!short.is_empty());
    assert!(
        short
            .iter()
            .all(|(_, _, f)| f.contains("docker-compose-base.yml:")),
        "{short:?}"
    );
}

/// Cycles and missing files are refused with exit 2 at the place that names them; nothing hangs.
#[test]
fn cycles_and_missing_files_are_located_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let w = |n: &str, t: &str| std::fs::write(d.join(n), t).unwrap();
    w(
        "a.yaml",
        "services:\n  a:\n    extends: { file: b.yaml, service: b }\n",
    );
    w(
        "b.yaml",
        "services:\n  b:\n    extends: { file: a.yaml, service: a }\n    ports: [\"80:80\"]\n",
    );
    let run = |args: &[&str]| {
        let (code, out, err) = run_env(d, args, &[]);
        (code, format!("{out}{err}"))
    };
    let (code, err) = run(&["check", "a.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`extends` makes a cycle"), "{err}");
    // Services are merged one at a time as they are read; a cycle found after a service with a
    // problem of its own is still reported alone, every cycle of it, as when all were merged first.
    w(
        "c.yaml",
        "services:\n  web:\n    image: x\n    ports: \"80\"\n  a:\n    extends: { service: b }\n  b:\n    extends: { service: a }\n",
    );
    let (code, err) = run(&["check", "c.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`b` extends `a` extends `b`") && err.contains("`a` extends `b` extends `a`"),
        "{err}"
    );
    assert!(!err.contains("must be a list"), "{err}");
    w(
        "i.yaml",
        "include: [j.yaml]\nservices:\n  x: { image: x }\n",
    );
    w(
        "j.yaml",
        "include: [i.yaml]\nservices:\n  y: { image: y }\n",
    );
    let (code, err) = run(&["check", "i.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`include` makes a cycle") && err.contains("j.yaml:1:"),
        "{err}"
    );
    w(
        "m.yaml",
        "include:\n  - path: missing.yaml\nservices:\n  x: { image: x }\n",
    );
    let (code, err) = run(&["check", "m.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("missing.yaml can't be read") && err.contains("m.yaml:2:"),
        "{err}"
    );
    w(
        "e.yaml",
        "services:\n  x:\n    extends: { file: nowhere.yaml, service: base }\n",
    );
    let (code, err) = run(&["check", "e.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("nowhere.yaml, which can't be read") && err.contains("e.yaml:3:"),
        "{err}"
    );
    w(
        "c.yaml",
        "include: [i2.yaml]\nservices:\n  x: { image: x }\n",
    );
    w("i2.yaml", "services:\n  x: { image: y }\n");
    let (code, err) = run(&["check", "c.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("service `x` is also defined by the project included at c.yaml:1"),
        "{err}"
    );
}

/// A directory of a Compose file, Kubernetes manifests and a YAML file of no known kind: each
/// input is checked and named by its own file; the other file is listed as not checked in every
/// format, and a subdirectory too.
#[test]
fn a_mixed_directory_names_each_file_and_lists_what_it_did_not_check() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let p = projects();
    std::fs::copy(
        p.join("override-pair-symfony-docker/compose.yaml"),
        d.join("compose.yaml"),
    )
    .unwrap();
    for f in [
        "plausible-deployment.yaml",
        "plausible-service.yaml",
        "plausible-ingress.yaml",
    ] {
        std::fs::copy(p.join("ingress-service-plausible").join(f), d.join(f)).unwrap();
    }
    std::fs::copy(
        p.join("helm-chart-plausible/plausible-analytics/values.yaml"),
        d.join("values.yaml"),
    )
    .unwrap();
    std::fs::create_dir(d.join("more")).unwrap();
    std::fs::copy(
        p.join("override-pair-plausible/docker-compose.yml"),
        d.join("more/docker-compose.yml"),
    )
    .unwrap();
    let (code, out, err) = run_env(
        d,
        &["check", ".", "--format", "json", "--fail-on", "never"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let not: Vec<&str> = v["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["file"].as_str().unwrap())
        .collect();
    assert_eq!(not, ["values.yaml", "more/"], "{v:#}");
    for f in v["findings"].as_array().unwrap() {
        let file = f["file"].as_str().unwrap();
        let kube = f["path"].as_str().unwrap().contains("spec");
        assert!(
            (kube && file.starts_with("plausible-")) || (!kube && file == "compose.yaml"),
            "{f}"
        );
    }
    let human = run_env(
        d,
        &["check", ".", "--color", "never", "--fail-on", "never"],
        &[],
    )
    .1;
    assert!(human.contains("note: values.yaml: not checked:"), "{human}");
    let sarif = run_env(
        d,
        &["check", ".", "--format", "sarif", "--fail-on", "never"],
        &[],
    )
    .1;
    let s: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let notes = s["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(
        notes.iter().any(|n| n["descriptor"]["id"] == "not-checked"
            && n["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with("values.yaml: not checked")),
        "{s:#}"
    );
    let junit = run_env(
        d,
        &["check", ".", "--format", "junit", "--fail-on", "never"],
        &[],
    )
    .1;
    assert!(
        junit.contains("<skipped") && junit.contains("values.yaml"),
        "{junit}"
    );
    let github = run_env(
        d,
        &["check", ".", "--format", "github", "--fail-on", "never"],
        &[],
    )
    .1;
    assert!(
        github.contains("::notice file=values.yaml,title=not checked::"),
        "{github}"
    );
}

/// A kustomization is rendered with `kubectl kustomize` (kustomize's own ldap example, overlay on
/// a base; `base/env.startup.txt` is an empty stand-in for the file its configMapGenerator reads,
/// which the example does not ship); a broken one is refused with the tool's error.
#[test]
#[cfg_attr(
    not(preflight_has_kubectl),
    ignore = "needs kubectl (kubectl kustomize)"
)]
fn kustomizations_are_rendered_by_kubectl() {
    if !common::available("kubectl", common::has("kubectl")) {
        return;
    }
    let dir = projects().join("kustomize-ldap/overlays/production");
    let (code, out, err) = run_env(
        &root(),
        &["ports", "--format", "json", dir.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["service"].as_str().unwrap().contains("production-ldap")),
        "{v:#}"
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("kustomization.yaml"),
        "resources: [missing.yaml]\n",
    )
    .unwrap();
    let (code, out, err) = run_env(tmp.path(), &["check", "."], &[]);
    let err = format!("{out}{err}");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("kubectl kustomize . failed") || err.contains("`kubectl kustomize .` failed"),
        "{err}"
    );
}

/// A Helm chart without `helm` on PATH is refused (exit 2) with the command to pipe in; never a
/// green. With `helm` on PATH it is rendered by `helm template DIR`: a stand-in `helm` (Helm itself
/// is not packaged here) records its arguments and prints real `helm template` output (Longhorn's,
/// from tests/fixtures/kubernetes), whose findings name their templates.
#[test]
fn helm_charts_are_rendered_or_refused() {
    let chart = projects().join("helm-chart-plausible/plausible-analytics");
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let mut cmd = preflight_in(&root());
    let out = cmd
        .env_clear()
        .env("PATH", &path)
        .args(["check", chart.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(
        err.contains("not on PATH")
            && err.contains(&format!(
                "helm template {} | preflight check -",
                chart.display()
            )),
        "{err}"
    );
    let rendered = root().join("tests/fixtures/kubernetes/11-longhorn-helm-rendered.yaml");
    let args = tmp.path().join("args");
    let script = format!(
        "#!/bin/sh\necho \"$@\" > '{}'\ncat '{}'\n",
        args.display(),
        rendered.display()
    );
    std::fs::write(bin.join("helm"), script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("helm"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cmd = preflight_in(&root());
    let out = cmd
        .env_clear()
        .env("PATH", &path)
        .args([
            "check",
            chart.to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "never",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&args).unwrap().trim(),
        format!("template {}", chart.display())
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| f["message"].as_str().unwrap().contains("(template `")),
        "{v:#}"
    );
}
