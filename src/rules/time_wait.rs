//! `time-wait`: connections on the port sit in TIME_WAIT, so a restart may not be able to bind it.

use super::{Context, host_facts};
use crate::facts::SocketState;
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::{Platform, Protocol};
use crate::ports::binds_overlap;

/// Metadata of `time-wait`.
pub const META: RuleMeta = RuleMeta {
    id: "time-wait",
    severity: Severity::Warning,
    summary: "connections on the port sit in TIME_WAIT and a restart may not bind it",
    facts: &["sockets"],
    docs: r#"## What it does
With host facts, reports a TCP port of the manifest on which connections sit in TIME_WAIT. When a
listener holds the port too (`port-occupied` reports it), the connections are usually that listener's
own, as in a capture taken before a restart, and they decide whether the restart can bind. On Linux and
macOS a service known to set SO_REUSEADDR (declared,
or its runtime's default, see `reuse-address`) gets info instead of a warning. On Windows the message
explains SO_EXCLUSIVEADDRUSE.

## Why is this bad?
TIME_WAIT lasts a fixed 60 s on Linux (no sysctl changes it; `tcp_fin_timeout` is about FIN_WAIT_2, and
`tcp_tw_reuse` only affects outgoing connections). A server restarted in that window binds only if both
the old and the new listening socket set SO_REUSEADDR; otherwise it fails with "address already in use".
On Windows, SO_REUSEADDR is not the answer: it lets another process bind a port in active use.

## Example
```yaml
target: { platform: linux }
services:
  worker:
    runtime: python
    socket: { reuse_address: false }
    ports:
      http: 8080     # 12 connections in TIME_WAIT on 8080
```

## Fix
Linux/macOS: set SO_REUSEADDR on the listening socket before `bind` (and declare `reuse_address: true`).
Windows: set SO_EXCLUSIVEADDRUSE on the listening socket, and allow for the TIME_WAIT period
(`TcpTimedWaitDelay`) between stop and start.
"#,
};

/// Reports ports with TIME_WAIT sockets.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let Some(facts) = host_facts(cx, &META, out) else {
        return;
    };
    let Some(sockets) = &facts.sockets else {
        out.skip(META.id, "the host facts have no socket table");
        return;
    };
    let platform = cx.manifest.target.platform;
    for (svc, port) in cx.manifest.ports() {
        let Some((n, at)) = port.node(svc) else {
            continue;
        };
        if port.protocol != Protocol::Tcp {
            continue;
        }
        let mine = |state: SocketState| {
            sockets.value.iter().filter(move |s| {
                s.protocol == Protocol::Tcp
                    && s.port == n
                    && s.state == state
                    && binds_overlap(s.address, port.bind)
            })
        };
        let count = mine(SocketState::TimeWait).count();
        if count == 0 {
            continue;
        }
        // With a listener on the port too (port-occupied reports it), the TIME_WAIT connections are
        // usually that listener's own: they decide whether its restart can bind again.
        let listening = mine(SocketState::Listen).next().is_some();
        let conns = match (count, listening) {
            (1, false) => "1 connection sits".to_owned(),
            (n, false) => format!("{n} connections sit"),
            (1, true) => "1 connection of the listener there sits".to_owned(),
            (n, true) => format!("{n} connections of the listener there sit"),
        };
        let f = if platform == Platform::Windows {
            Finding::new(
                &META,
                at,
                format!(
                    "{conns} in TIME_WAIT on port {} of `{}`: on Windows do not reach for SO_REUSEADDR (it lets another process bind a port in use); set SO_EXCLUSIVEADDRUSE on the listener",
                    node_label(n, port),
                    svc.name
                ),
            )
            .help("set SO_EXCLUSIVEADDRUSE on the listening socket and declare `exclusive_address: true`; leave the TIME_WAIT period between stop and start")
            .fix(Fix::SetSocketOption { service: svc.name.clone(), option: "SO_EXCLUSIVEADDRUSE".into(), value: true })
        } else {
            let reuse = svc
                .socket
                .reuse_address
                .or_else(|| svc.runtime.unix_reuse_address());
            let (severity, why) = match reuse {
                Some(true) => (Severity::Info, "the service sets SO_REUSEADDR, so a restart can still bind".to_owned()),
                Some(false) => (Severity::Warning, "the service does not set SO_REUSEADDR, so a restart within 60 s fails with \"address already in use\"".to_owned()),
                None => (Severity::Warning, format!("whether `{}` sets SO_REUSEADDR is unknown; without it a restart within 60 s fails with \"address already in use\"", svc.name)),
            };
            Finding::new(
                &META,
                at,
                format!("{conns} in TIME_WAIT on port {} of `{}`: {why}", node_label(n, port), svc.name),
            )
            .severity(severity)
            .help("set SO_REUSEADDR on the listening socket before bind and declare `socket: { reuse_address: true }`")
            .fix(Fix::SetSocketOption { service: svc.name.clone(), option: "SO_REUSEADDR".into(), value: true })
        };
        out.push(
            f.label("TIME_WAIT")
                .evidence("state", "TIME_WAIT")
                .evidence("count", count)
                .evidence("source", sockets.origin.as_str()),
        );
    }
}

/// `80/tcp`: the port as the host sees it.
fn node_label(n: u16, port: &crate::manifest::Port) -> String {
    format!("{n}/{}", port.protocol.as_str())
}
