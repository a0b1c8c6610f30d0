//! Tells the integration tests which outside tools this machine has, so a test that can't run here is
//! reported as ignored in `cargo test`'s summary instead of passing without having run.
//!
//! Each capability becomes a `preflight_has_*` cfg, and the tests that need it carry
//! `#[cfg_attr(not(preflight_has_…), ignore = "needs …")]`. With `PREFLIGHT_REQUIRE_TOOLS` set (CI sets
//! it) every cfg is on, so every test runs and one whose tool is missing fails. The library and the
//! binary don't read these cfgs. After installing a tool, `touch build.rs` (or change `PATH`) to look
//! again.
//!
//! It also records the commit the binary is built from, for `preflight --version`: `PREFLIGHT_COMMIT_INFO`
//! is `<short hash> <commit date>` from git when the crate is its own git checkout, the hash cargo wrote
//! into `.cargo_vcs_info.json` when it is a packaged crate, `PREFLIGHT_COMMIT` when a packager sets it,
//! and `unknown` otherwise (a source tarball without `.git`).

use std::path::{Path, PathBuf};
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

/// What `git ARGS` prints in `dir`, trimmed, when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// `<short hash> <commit date>` of the checkout at `dir`, when `dir` is the top of a git work tree (not a
/// source tarball unpacked inside some other repository), with the files whose change means a new commit.
fn git_commit(dir: &Path) -> Option<(String, Vec<PathBuf>)> {
    let top = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let info = git(dir, &["log", "-1", "--format=%h %cs"])?;
    let git_dir = dir.join(git(dir, &["rev-parse", "--git-dir"])?);
    let common = dir.join(git(dir, &["rev-parse", "--git-common-dir"])?);
    let mut watch = vec![git_dir.join("HEAD"), common.join("packed-refs")];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch.push(common.join(branch));
    }
    watch.retain(|p| p.exists());
    Some((info, watch))
}

/// The short hash in `.cargo_vcs_info.json`, which `cargo package` writes into a published crate.
fn packaged_commit(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let at = text.find("\"sha1\"")?;
    let hash: String = text[at + 6..]
        .chars()
        .skip_while(|c| !c.is_ascii_hexdigit())
        .take_while(char::is_ascii_hexdigit)
        .take(7)
        .collect();
    (hash.len() >= 7).then_some(hash)
}

fn commit_info() {
    println!("cargo::rerun-if-env-changed=PREFLIGHT_COMMIT");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()));
    let info = if let Some(given) = std::env::var("PREFLIGHT_COMMIT")
        .ok()
        .filter(|s| !s.trim().is_empty())
    {
        given.trim().to_owned()
    } else if let Some((info, watch)) = git_commit(&dir) {
        for path in watch {
            println!("cargo::rerun-if-changed={}", path.display());
        }
        info
    } else {
        packaged_commit(&dir).unwrap_or_else(|| "unknown".to_owned())
    };
    println!("cargo::rustc-env=PREFLIGHT_COMMIT_INFO={info}");
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    commit_info();
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
    // The hook test that builds preflight from source inside pre-commit (`preflight-rust`) takes minutes,
    // so it runs only when PREFLIGHT_SLOW_TESTS is set, in CI too; ci/install-test.sh tests the hooks
    // that install the wheel.
    println!("cargo::rerun-if-env-changed=PREFLIGHT_SLOW_TESTS");
    println!("cargo::rustc-check-cfg=cfg(preflight_has_slow_precommit)");
    if std::env::var_os("PREFLIGHT_SLOW_TESTS").is_some()
        && (require || (has("pre-commit") && has("git")))
    {
        println!("cargo::rustc-cfg=preflight_has_slow_precommit");
    }
    for (name, check) in checks {
        println!("cargo::rustc-check-cfg=cfg(preflight_has_{name})");
        if require || check() {
            println!("cargo::rustc-cfg=preflight_has_{name}");
        }
    }
}
