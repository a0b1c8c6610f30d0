//! `excluded-range`: the port lies in a Windows excluded port range.

use super::{Context, host_facts};
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};

/// Metadata of `excluded-range`.
pub const META: RuleMeta = RuleMeta {
    id: "excluded-range",
    severity: Severity::Error,
    summary: "the port lies in a Windows excluded port range",
    facts: &["excluded_tcp", "excluded_udp"],
    docs: r#"## What it does
With Windows host facts, reports a port inside a range of
`netsh interface ipv4 show excludedportrange protocol=tcp|udp`. Unmarked ranges, typically blocks of 100
ports, are reserved from the dynamic range by the Hyper-V Host Network Service / WinNAT (WSL2, Docker
Desktop, Windows Sandbox, containers): an error. Ranges marked `*` were added by an administrator and are
reservations, not traps: a program that asks for the port explicitly usually gets it, and Hyper-V/WinNAT
can't take it (KB 812873; a `net.Listen` over every excluded port bound only the `*` range). A port in one
is reported as info, with no fix.

## Why is this bad?
The port shows up nowhere in `netstat -ano`, yet `bind` fails with `WSAEACCES` 10013: "An attempt was made
to access a socket in a way forbidden by its access permissions." (Docker Desktop: "Ports are not
available"). It is not "in use", so the usual diagnosis finds nothing.

## Example
```yaml
target: { platform: windows }
services:
  api:
    ports:
      http: 49700   # inside the excluded 49671-49770
```

## Fix
Move the port out of the range (and out of the dynamic range 49152-65535, where Hyper-V reserves blocks).
To keep the number, reserve it before WinNAT takes it, as administrator: `net stop winnat`, then
`netsh int ipv4 add excludedportrange protocol=tcp startport=PORT numberofports=1`, then `net start winnat`.
Stopping WinNAT briefly cuts container and WSL networking.
"#,
};

/// Reports ports inside excluded ranges.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    if cx.manifest.target.platform != crate::manifest::Platform::Windows {
        return; // exclusions are a Windows mechanism
    }
    let Some(facts) = host_facts(cx, &META, out) else {
        return;
    };
    if facts.excluded_tcp.is_none() && facts.excluded_udp.is_none() {
        let why = facts
            .why_unavailable("excluded_tcp")
            .map(|w| format!(": {w}"))
            .unwrap_or_default();
        out.skip(META.id, format!("the host facts have no Windows excluded port ranges{why} (import `netsh int ipv4 show excludedportrange protocol=tcp` output)"));
        return;
    }
    for (svc, port) in cx.manifest.ports() {
        let Some((n, at)) = port.node(svc) else {
            continue;
        };
        let Some(ex) = facts.excluded(port.protocol) else {
            continue;
        };
        // An unmarked block decides it; an administered range alone only reserves the port.
        let hits = || ex.value.iter().filter(|e| e.range.contains(n));
        let Some(hit) = hits().find(|e| !e.administered).or_else(|| hits().next()) else {
            continue;
        };
        let finding = if hit.administered {
            Finding::new(
                &META,
                at,
                format!(
                    "port {} of `{}` lies in the administered excluded range {} ({}): a reservation, so Hyper-V/WinNAT can't take it, and a service that binds it explicitly usually gets it",
                    node_label(n, port),
                    svc.name,
                    hit.range,
                    ex.describe()
                ),
            )
            .severity(Severity::Info)
            .label(format!("reserved {}", hit.range))
            .help("nothing to do if this service is the one the range was reserved for; if another program asks for the same port, one of them must move")
        } else {
            Finding::new(
                &META,
                at,
                format!(
                    "port {} of `{}` lies in the excluded range {}, a system reservation by Hyper-V/WinNAT, WSL2 or Docker Desktop ({}): bind will fail with WSAEACCES 10013 although nothing listens there",
                    node_label(n, port),
                    svc.name,
                    hit.range,
                    ex.describe()
                ),
            )
            .label(format!("excluded {}", hit.range))
            .help(format!(
                "move the port out of {}; to keep it, as administrator: `net stop winnat`, `netsh int ipv4 add excludedportrange protocol={} startport={n} numberofports=1`, `net start winnat` (briefly cuts container/WSL networking)",
                hit.range,
                port.protocol.as_str()
            ))
            .fix(super::choose_port(svc, port, super::suggest_port(cx, svc, port.protocol)))
            .fix(Fix::ResetWinnatExclusion { port: n, protocol: port.protocol })
        };
        out.push(
            finding
                .evidence("range", hit.range.to_string())
                .evidence("administered", hit.administered)
                .evidence("source", ex.origin.as_str()),
        );
    }
}

/// `80/tcp`: the port as the host sees it.
fn node_label(n: u16, port: &crate::manifest::Port) -> String {
    format!("{n}/{}", port.protocol.as_str())
}
