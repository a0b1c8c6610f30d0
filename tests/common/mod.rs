//! Helpers shared by the integration tests: run the real binary and read its output.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `preflight` with the working directory set to `dir` (so file names in output are relative and stable).
pub fn preflight_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("preflight").expect("binary");
    cmd.current_dir(dir).env_remove("NO_COLOR");
    cmd
}

/// Runs `preflight args…` in `dir`; returns (exit code, stdout, stderr).
pub fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = preflight_in(dir)
        .args(args)
        .output()
        .expect("run preflight");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `check --format json` on `file` in `dir` and parses the report.
pub fn check_json(dir: &Path, file: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["check", file, "--format", "json"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(dir, &args);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}\n{stderr}"));
    (code, v)
}

/// The first finding of `rule` in a JSON report.
pub fn finding<'a>(report: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {report:#}"))
}

/// Every finding of one rule in a JSON report.
pub fn findings<'a>(report: &'a serde_json::Value, rule: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

/// The ids of the rules of a JSON report's findings.
pub fn rules_of(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule").to_owned())
        .collect()
}

/// Whether the environment has what a test needs. Where it doesn't, the test says `SKIPPED` and
/// passes — unless `PREFLIGHT_REQUIRE_TOOLS` is set (CI sets it), where a missing tool fails the test.
pub fn available(what: &str, ok: bool) -> bool {
    if ok {
        return true;
    }
    if std::env::var_os("PREFLIGHT_REQUIRE_TOOLS").is_some() {
        panic!("{what} is required (PREFLIGHT_REQUIRE_TOOLS is set)");
    }
    eprintln!("SKIPPED: needs {what}");
    false
}

/// Whether a command is on PATH.
pub fn has(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
