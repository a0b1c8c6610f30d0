//! `platform-mismatch`: the host facts come from another operating system than the manifest targets.

use super::{Context, host_facts};
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

/// Reports facts from another operating system than the target platform.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let Some(facts) = host_facts(cx, &META, out) else {
        return;
    };
    let Some(os) = facts.os.as_deref() else {
        return; // facts built from imports may not say; nothing to compare
    };
    let platform = cx.manifest.target.platform;
    let fits = match platform {
        Platform::Kubernetes => matches!(os, "linux" | "windows"),
        p => p.as_str() == os,
    };
    if fits {
        return;
    }
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
