//! `platform-mismatch`: the host facts come from another operating system than the manifest targets.

use super::{Context, host_facts};
use crate::facts::Facts;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::Platform;

/// Metadata of `platform-mismatch`.
pub const META: RuleMeta = RuleMeta {
    id: "platform-mismatch",
    severity: Severity::Error,
    summary: "the host facts come from another operating system than the manifest targets",
    facts: &["os"],
    docs: r#"## What it does
With host facts that name their operating system (`"os"`, which `preflight facts` and the Windows
collector always write), reports a manifest whose `target.platform` is another one: Windows facts for a
`linux` manifest, or the reverse. A `kubernetes` manifest matches Linux and Windows nodes.

## Why is this bad?
In a fleet, a host in the wrong inventory group receives a service it can't run, and nothing in the
manifest shows it. The host rules would also judge the host by the wrong platform's behaviour: the
Linux ephemeral range against a Windows host, privileged ports where Winsock has none, SO_REUSEADDR
advice that is wrong on Windows.

## Example
```yaml
target: { platform: linux }   # checked with --facts app-01.json, captured on Windows
```

## Fix
Deploy the manifest only to hosts of its platform (check the inventory group), or capture the facts again
on the right host with `preflight facts --host NAME`.
"#,
};

/// Host rules whose verdict depends on the host's OS matching the target platform (ranges, exclusions,
/// privileged ports, TIME_WAIT semantics): on a mismatched host they are skipped, not run with the
/// wrong platform's meaning.
pub const PLATFORM_DEPENDENT: &[&str] = &[
    "ephemeral-range",
    "excluded-range",
    "plan-in-ephemeral",
    "privileged-port",
    "time-wait",
];

/// The OS the facts come from when it is not the target platform's (a Kubernetes target fits Linux and
/// Windows nodes); `None` when it fits or the facts don't say.
pub fn mismatch(platform: Platform, facts: &Facts) -> Option<&str> {
    let os = facts.os.as_deref()?;
    let fits = match platform {
        Platform::Kubernetes => matches!(os, "linux" | "windows"),
        p => p.as_str() == os,
    };
    (!fits).then_some(os)
}

/// Reports facts from another operating system than the target platform.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let Some(facts) = host_facts(cx, &META, out) else {
        return;
    };
    let platform = cx.manifest.target.platform;
    let Some(os) = mismatch(platform, facts) else {
        return; // it fits, or facts built from imports don't say; nothing to compare
    };
    out.push(
        Finding::new(
            &META,
            "target.platform",
            format!(
                "the host facts come from a {os} host, but the manifest targets {}: the service can't run there, and the host rules would judge it by the wrong platform",
                platform.as_str()
            ),
        )
        .label(format!("targets {}", platform.as_str()))
        .evidence("os", os)
        .help(format!(
            "deploy this manifest only to {} hosts (check the inventory), or capture the facts again on the right host with `preflight facts --host NAME`",
            platform.as_str()
        )),
    );
}
