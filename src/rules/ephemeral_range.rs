//! `ephemeral-range`: a fixed listen port inside the target's dynamic (ephemeral) port range.

use super::{Context, suggest_port};
use crate::facts::Fact;
use crate::facts::defaults;
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Deferred, DeferredRule, Finding, Findings, Severity, index};
use crate::manifest::{Platform, Port, Protocol, Service};
use crate::ports::PortRange;

/// Metadata of `ephemeral-range`.
pub const META: RuleMeta = RuleMeta {
    id: "ephemeral-range",
    severity: Severity::Warning,
    summary: "service port falls inside the host's ephemeral range",
    facts: &["ephemeral_tcp", "ephemeral_udp"],
    docs: r#"## What it does
Reports a port that lies inside the target's dynamic (ephemeral) port range: the range the OS hands out
for outbound connections and `bind(port 0)`. Without host facts the platform's documented default is used
(Linux 32768-60999 since kernel 4.6, also inside Kubernetes pods; Windows Vista/Server 2008 and later
49152-65535; macOS usually 49152-65535); with `--local` or `--facts` the host's real range is used.

## Why is this bad?
Any outbound connection, or any program binding port 0, can be given that port first. The service then
fails at start-up with "address already in use" (Windows: 10048; 10013 when a Hyper-V/WinNAT exclusion
covers it) at a time nobody can predict, typically after a reboot or on a busy host.

## Example
```yaml
target: { platform: windows }
services:
  api:
    ports:
      http: 50000     # inside 49152-65535
```

## Fix
Move the port below the range (preferred; a team block in `port_plan` keeps the choice stable). If the
number cannot change, take it out of the pool: on Linux add it to `net.ipv4.ip_local_reserved_ports`
(`sysctl -w net.ipv4.ip_local_reserved_ports=50000`, persisted under `/etc/sysctl.d/`); explicit binds of a
reserved port still succeed. On Windows add an administered exclusion as administrator:
`netsh int ipv4 add excludedportrange protocol=tcp startport=50000 numberofports=1`.
"#,
};

/// Reports ports inside the ephemeral range.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let platform = cx.manifest.target.platform;
    // Looked up once per protocol, not once per port (each lookup copies the fact's description).
    let tcp = defaults::ephemeral_range(platform, cx.facts, Protocol::Tcp);
    let udp = defaults::ephemeral_range(platform, cx.facts, Protocol::Udp);
    let ports = cx
        .manifest
        .services
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.ports.iter().enumerate().map(move |(j, p)| (i, s, j, p)));
    for (si, svc, pi, port) in ports {
        let Some(n) = port.number else { continue };
        let range = match port.protocol {
            Protocol::Tcp => &tcp,
            Protocol::Udp => &udp,
        };
        let Some(range) = range else {
            out.skip(
                META.id,
                format!("no ephemeral range is known for {}", platform.display()),
            );
            continue;
        };
        if !range.value.contains(n) || cx.policy.allows(META.id, n) {
            continue;
        }
        // Linux keeps ip_local_reserved_ports out of automatic assignment; explicit binds still work.
        if cx
            .facts
            .and_then(|f| f.reserved_ports.as_ref())
            .is_some_and(|r| r.value.iter().any(|x| x.contains(n)))
        {
            continue;
        }
        // Windows hands out no port of an excluded range automatically: an administered one reserves the
        // port already, and an unmarked one is `excluded-range`'s error (where adding another exclusion
        // inside it would fail anyway).
        if cx
            .facts
            .and_then(|f| f.excluded(port.protocol))
            .is_some_and(|ex| ex.value.iter().any(|e| e.range.contains(n)))
        {
            continue;
        }
        let suggested = suggest_port(cx, svc, port.protocol);
        // Without facts the range is the platform's default, which `rules::render` finds again: the
        // finding can be deferred.
        let whole = || finding(platform, svc, port, n, range, suggested);
        match (cx.facts, index(si), index(pi)) {
            (None, Some(service), Some(port)) => {
                let d = Deferred {
                    rule: DeferredRule::EphemeralRange,
                    severity: META.severity,
                    suggested,
                    service,
                    port,
                    other: (0, 0),
                };
                cx.defer(out, d, whole);
            }
            _ => out.push(whole()),
        }
    }
}

/// The finding that port `n` of `svc` (`port`) lies inside `range` on `platform`, with `suggested` (a
/// free port of the team's block) in its help and fix.
pub(super) fn finding(
    platform: Platform,
    svc: &Service,
    port: &Port,
    n: u16,
    range: &Fact<PortRange>,
    suggested: Option<u16>,
) -> Finding {
    let reserve = match platform {
        Platform::Linux => format!(
            "or keep it and reserve it: `sysctl -w net.ipv4.ip_local_reserved_ports={n}` (persist it under /etc/sysctl.d/)"
        ),
        Platform::Windows => format!(
            "or keep it and exclude it as administrator: `netsh int ipv4 add excludedportrange protocol={} startport={n} numberofports=1`",
            port.protocol.as_str()
        ),
        Platform::Macos | Platform::Kubernetes => String::new(),
    };
    let mut help = format!("move it below {}", range.value.start);
    if let Some(s) = suggested {
        help.push_str(&format!(" (e.g. {s}, free in the team's block)"));
    }
    if !reserve.is_empty() {
        help.push_str(", ");
        help.push_str(&reserve);
    }
    Finding::new(
        &META,
        port.number_path.clone(),
        format!(
            "port {} of `{}` is inside the ephemeral range {} ({}): an outbound connection can take it first",
            port.label(),
            svc.name,
            range.value,
            range.describe()
        ),
    )
    .label(format!("in {}", range.value))
    .help(help)
    .fix(super::choose_port(svc, port, suggested))
    .fix(Fix::ReserveFromEphemeral {
        port: n,
        protocol: port.protocol,
    })
    .evidence("range", range.value.to_string())
    .evidence("source", range.origin.as_str())
}
