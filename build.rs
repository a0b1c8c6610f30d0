//! Tells the integration tests which outside tools this machine has, so a test that can't run here is
//! reported as ignored in `cargo test`'s summary instead of passing without having run.
//!
//! Each capability becomes a `preflight_has_*` cfg, and the tests that need it carry
//! `#[cfg_attr(not(preflight_has_…), ignore = "needs …")]`. With `PREFLIGHT_REQUIRE_TOOLS` set (CI sets
//! it) every cfg is on, so every test runs and one whose tool is missing fails. The library and the
//! binary don't read these cfgs. After installing a tool, `touch build.rs` (or change `PATH`) to look
//! again.

use std::process::{Command, Stdio};

/// Whether `sh -c CMD` succeeds.
fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn has(tool: &str) -> bool {
    sh(&format!("command -v {tool}"))
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=PREFLIGHT_REQUIRE_TOOLS");
    println!("cargo::rerun-if-env-changed=KUBERNETES_VALIDATE");
    let require = std::env::var_os("PREFLIGHT_REQUIRE_TOOLS").is_some();
    let root = sh("[ \"$(id -u)\" = 0 ]");
    let corpora = std::path::Path::new("../shared/corpora/compose/SOURCE.md").is_file();
    println!("cargo::rerun-if-changed=../shared/corpora/compose/SOURCE.md");
    let checks: [(&str, &dyn Fn() -> bool); 10] = [
        // Root, private network namespaces and the tools the namespace tests drive.
        ("netns", &|| {
            root && sh("unshare -n true")
                && ["ip", "nft", "iptables-restore", "python3"]
                    .iter()
                    .all(|t| has(t))
        }),
        ("shellcheck", &|| has("shellcheck")),
        ("kubernetes_validate", &|| {
            std::env::var_os("KUBERNETES_VALIDATE").is_some() || has("kubernetes-validate")
        }),
        ("ansible", &|| has("ansible-playbook")),
        ("ansible_windows", &|| {
            has("ansible-playbook") && sh("ansible-doc -t module ansible.windows.win_shell")
        }),
        ("precommit", &|| has("pre-commit") && has("git")),
        // The reference implementation of Compose (Debian's docker-compose package).
        ("docker_compose", &|| has("docker-compose")),
        // kustomizations are rendered with `kubectl kustomize`.
        ("kubectl", &|| has("kubectl")),
        // The shared corpora of real projects, beside the repository (CI copies shared/ there).
        ("shared_corpora", &|| corpora),
        ("compose_oracle", &|| corpora && has("docker-compose")),
    ];
    for (name, check) in checks {
        println!("cargo::rustc-check-cfg=cfg(preflight_has_{name})");
        if require || check() {
            println!("cargo::rustc-cfg=preflight_has_{name}");
        }
    }
}
