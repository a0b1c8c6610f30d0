//! The release set's files agree with each other (issue #24): every place that names the version names
//! Cargo.toml's, the pre-commit hooks are the ones the README lists and their `files` patterns pick the
//! files they say, and the GitHub Action has the inputs its example uses. Building and installing the
//! release set is tested by `ci/install-test.sh` (after `ci/dist.sh`), which needs the artifacts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::root;
use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_file_that_names_the_version_names_cargo_tomls() {
    assert!(
        read("setup.py").contains(&format!("\nPREFLIGHT_VERSION = \"{VERSION}\"\n")),
        "setup.py must pin preflight-deploy=={VERSION}, the version in Cargo.toml"
    );
    assert!(
        read("install.sh").contains(&format!("\ndefault_version={VERSION}\n")),
        "install.sh must default to {VERSION}"
    );
    assert!(
        read("CHANGELOG.md")
            .lines()
            .any(|l| l == format!("## {VERSION}") || l.starts_with(&format!("## {VERSION} "))),
        "CHANGELOG.md needs a section `## {VERSION}`"
    );
    assert!(
        read("examples/ci/github-actions.yml").contains(&format!("/preflight@v{VERSION} ")),
        "examples/ci/github-actions.yml must use the action at the tag v{VERSION}"
    );
    let pyproject = read("pypi/pyproject.toml");
    for needle in [
        "name = \"preflight-deploy\"",
        "bindings = \"bin\"",
        "manifest-path = \"../Cargo.toml\"",
        "dynamic = [\"version\"",
    ] {
        assert!(pyproject.contains(needle), "pypi/pyproject.toml: {needle}");
    }
}

#[test]
fn the_pre_commit_hooks_install_the_wheel_and_pick_their_files() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_array().unwrap();
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "preflight",
            "preflight-compose",
            "preflight-kubernetes",
            "preflight-rust"
        ]
    );
    let hook = |id: &str| hooks.iter().find(|h| h["id"] == id).unwrap();
    for id in ["preflight", "preflight-compose", "preflight-kubernetes"] {
        assert_eq!(hook(id)["language"], "python", "{id} installs the wheel");
    }
    assert_eq!(hook("preflight-rust")["language"], "rust");
    assert!(
        setup_py_depends_only_on_the_wheel(&read("setup.py")),
        "setup.py's one dependency is preflight-deploy=={{PREFLIGHT_VERSION}}"
    );

    // pre-commit matches `files` with Python's re.search on the path from the repository's root.
    let matches = |id: &str, path: &str| {
        regex::Regex::new(hook(id)["files"].as_str().unwrap())
            .unwrap()
            .is_match(path)
    };
    for path in [
        "deploy.yaml",
        "deploy.yml",
        "ops/orders.deploy.yaml",
        "a/b/x.deploy.yml",
    ] {
        assert!(matches("preflight", path), "preflight: {path}");
        assert!(matches("preflight-rust", path), "preflight-rust: {path}");
    }
    for path in [
        "compose.yaml",
        "compose.yml",
        "compose.override.yaml",
        "compose.prod.yaml",
        "docker-compose.yml",
        "docker-compose.override.yml",
        "stack/docker-compose.dev.yaml",
        "stack/compose-dev.yml",
    ] {
        assert!(
            matches("preflight-compose", path),
            "preflight-compose: {path}"
        );
        assert!(!matches("preflight", path), "preflight: {path}");
    }
    for path in [
        "notes.yaml",
        "deploy.json",
        "redeploy.yaml",
        "mycompose.yaml",
        "compose.json",
        "k8s/deploy-config.yaml",
    ] {
        assert!(!matches("preflight", path), "preflight: {path}");
        assert!(
            !matches("preflight-compose", path),
            "preflight-compose: {path}"
        );
    }
    // Opt-in: nothing until the user sets `files:`.
    for path in ["k8s/pod.yaml", "deploy.yaml", "compose.yaml"] {
        assert!(!matches("preflight-kubernetes", path), "{path}");
    }
}

/// `install_requires` lists `preflight-deploy=={PREFLIGHT_VERSION}` and nothing else.
fn setup_py_depends_only_on_the_wheel(text: &str) -> bool {
    text.lines()
        .filter(|l| l.trim_start().starts_with("install_requires="))
        .collect::<Vec<_>>()
        == ["    install_requires=[f\"preflight-deploy=={PREFLIGHT_VERSION}\"],"]
}

#[test]
fn the_action_has_the_inputs_its_example_uses() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["version", "args", "sarif"] {
        assert!(
            action["inputs"][input].is_object(),
            "action.yml: input {input}"
        );
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.iter().any(|r| r.contains("install.sh")));
    assert!(runs.iter().any(|r| r.contains("preflight check")));
    for step in steps.iter().filter(|s| s["run"].is_string()) {
        assert_eq!(
            step["shell"], "bash",
            "a composite run step names its shell"
        );
    }
    let example = yaml("examples/ci/github-actions.yml");
    let uses: Vec<&Value> = example["jobs"]["preflight"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.contains("/preflight@"))
        })
        .collect();
    assert_eq!(uses.len(), 1, "the example uses the action");
    for key in uses[0]["with"].as_object().unwrap().keys() {
        assert!(
            action["inputs"][key].is_object(),
            "the example's input {key}"
        );
    }
}
