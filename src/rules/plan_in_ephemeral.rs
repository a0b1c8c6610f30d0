//! `plan-in-ephemeral`: a team block of the port plan overlaps the dynamic (ephemeral) range.

use super::Context;
use crate::facts::defaults;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::{Platform, Protocol};

/// Metadata of `plan-in-ephemeral`.
pub const META: RuleMeta = RuleMeta {
    id: "plan-in-ephemeral",
    severity: Severity::Warning,
    summary: "a team block of the port plan overlaps the ephemeral range",
    facts: &["ephemeral_tcp", "ephemeral_udp"],
    docs: r#"## What it does
Reports each block of `port_plan` that overlaps the target's dynamic (ephemeral) range, once per block,
with the overlap, even before any service uses those ports. Without host facts the platform default is
used (Linux 32768-60999, Windows 49152-65535); with `--local` or `--facts` the host's real range is used.

## Why is this bad?
Every port of the overlap can be taken by an outbound connection before the service binds it. A widely
copied Windows tip, `netsh int ipv4 set dynamicport tcp start=10000 num=55536`, swallows every team block
at once; after some installs and updates the range starts at 1024 or 1025.

## Example
```yaml
target: { platform: linux }
port_plan:
  batch: 40000-40999   # inside 32768-60999
```

## Fix
Move the block below the range. Or shrink the range so it no longer covers the block: on Windows
`netsh int ipv4 set dynamicport tcp start=49152 num=16384` (the default; also udp and ipv6), on Linux
`net.ipv4.ip_local_port_range`, or reserve the block with `net.ipv4.ip_local_reserved_ports`.
"#,
};

/// Reports blocks overlapping the range.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let platform = cx.manifest.target.platform;
    let Some(range) = defaults::ephemeral_range(platform, cx.facts, Protocol::Tcp) else {
        out.skip(
            META.id,
            format!("no ephemeral range is known for {}", platform.display()),
        );
        return;
    };
    let reserved = cx.facts.and_then(|f| f.reserved_ports.as_ref());
    for block in &cx.manifest.port_plan {
        let Some(overlap) = block.range.intersection(range.value) else {
            continue;
        };
        if reserved.is_some_and(|r| {
            r.value
                .iter()
                .any(|x| x.intersection(overlap) == Some(overlap))
        }) {
            continue; // the whole overlap is kept out of automatic assignment
        }
        let fix = match platform {
            Platform::Windows => format!(
                "move the block below {}, or restore the default dynamic range as administrator: `netsh int ipv4 set dynamicport tcp start=49152 num=16384` (and udp)",
                range.value.start
            ),
            Platform::Linux => format!(
                "move the block out of {}, or reserve it: `sysctl -w net.ipv4.ip_local_reserved_ports={}` (persist under /etc/sysctl.d/)",
                range.value, overlap
            ),
            _ => format!("move the block out of {}", range.value),
        };
        out.push(
            Finding::new(
                &META,
                block.path.clone(),
                format!(
                    "block {} of team `{}` overlaps the ephemeral range {} ({}) in {} ({} ports)",
                    block.range,
                    block.team,
                    range.value,
                    range.describe(),
                    overlap,
                    overlap.len()
                ),
            )
            .label(format!("overlaps {}", range.value))
            .help(fix)
            .evidence("range", range.value.to_string())
            .evidence("overlap", overlap.to_string())
            .evidence("source", range.origin.as_str()),
        );
    }
}
