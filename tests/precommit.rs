//! The `preflight-rust` pre-commit hook, run by the real `pre-commit` (PyPI) with `try-repo` against
//! this repository's committed HEAD: it builds preflight with `cargo install` (language: rust), passes
//! the matching manifests, reports a clean one as clean and fails on a bad one, and leaves other YAML
//! alone. Needs `pre-commit` and `git`, and takes minutes (a release build of preflight inside
//! pre-commit's environment, 146-257 s here), so it runs only with `PREFLIGHT_SLOW_TESTS=1`. The hooks
//! most people use install the wheel instead (`language: python`); `ci/install-test.sh` tests those
//! with the real `pre-commit try-repo` after `ci/dist.sh`, in CI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{available, has, root};

#[test]
#[cfg_attr(
    not(preflight_has_slow_precommit),
    ignore = "slow (builds preflight from source, minutes): set PREFLIGHT_SLOW_TESTS=1; needs pre-commit and git"
)]
fn hook_passes_clean_manifests_and_fails_bad_ones() {
    if !available("pre-commit and git", has("pre-commit") && has("git")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    std::fs::copy(root().join("examples/clean.yaml"), repo.join("deploy.yaml")).unwrap();
    std::fs::copy(
        root().join("examples/deploy.yaml"),
        repo.join("orders.deploy.yaml"),
    )
    .unwrap();
    // Not a manifest by name: the hook's `files` pattern must leave it alone (it isn't even valid).
    std::fs::write(repo.join("notes.yaml"), "just: [notes\n").unwrap();
    git(&["add", "-A"]);
    let out = Command::new("pre-commit")
        .args([
            "try-repo",
            root().to_str().unwrap(),
            "preflight-rust",
            "--all-files",
            "--verbose",
        ])
        .current_dir(&repo)
        .env("PRE_COMMIT_HOME", tmp.path().join("cache"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the bad manifest fails the hook:\n{text}"
    );
    assert!(
        text.contains("deploy.yaml: 0 errors, 0 warnings, 0 info"),
        "{text}"
    );
    assert!(
        text.contains("orders.deploy.yaml: 6 errors, 2 warnings"),
        "{text}"
    );
    assert!(text.contains("error[port-conflict]"), "{text}");
    assert!(
        !text.contains("notes.yaml"),
        "notes.yaml must not be passed to the hook:\n{text}"
    );
}
