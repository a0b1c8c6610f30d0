//! `port-occupied`: another socket already listens on (or, for UDP, is bound to) the port.

use super::{Context, host_facts};
use crate::facts::windows_net::{HttpUrl, PortProxy};
use crate::facts::{Facts, Origin, Socket, SocketState};
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::{Platform, Protocol};
use crate::ports::binds_overlap;

/// Metadata of `port-occupied`.
pub const META: RuleMeta = RuleMeta {
    id: "port-occupied",
    severity: Severity::Error,
    summary: "a socket on the host already listens on the port",
    facts: &["sockets"],
    docs: r#"## What it does
With host facts (`--local` or `--facts`), reports a port on which a socket of the host already listens
(TCP) or is bound (UDP) on an overlapping address, naming the process and PID. On Windows, PID 4
(`System`) on a TCP port is the HTTP.sys kernel driver serving a registered application: IIS/W3SVC, WinRM
(5985/5986/47001), SSRS and the like; with `netsh http show servicestate` in the facts the message names
the registered URL, its request queue and the processes attached to it. A port proxy
(`netsh interface portproxy`) on the port is reported as the IP Helper service's listener and where it
forwards, even when the socket table was not captured. TIME_WAIT sockets do not occupy a port (see
`time-wait`).

## Why is this bad?
The service fails at start-up with "address already in use" (Linux `EADDRINUSE` 98, Windows
`WSAEADDRINUSE` 10048): IIS on 80, SQL Server on 1433, a stale instance of the service itself.

## Example
```yaml
services:
  api:
    ports:
      http: 8080   # nginx (PID 4242) already listens on 0.0.0.0:8080
```

## Fix
Move the service to a free port, or stop the owner if it should not run there: Linux
`systemctl stop <unit>` (find it with `systemctl status <PID>`); Windows `Stop-Service` for the owning
service (`tasklist /SVC /FI "PID eq <PID>"` names it; for PID 4, `netsh http show servicestate`). Never kill
a PID blindly.
"#,
};

/// Describes a socket's owner for a message. PID 0 (the System Idle Process, or an owner the table
/// could not tell) is never named as an owner.
pub fn owner(s: &Socket, platform_windows: bool, owners_visible: bool) -> String {
    let services = match s.services.as_slice() {
        [] => String::new(),
        [one] => format!(", service {one}"),
        many => format!(", services {}", many.join(", ")),
    };
    match (s.pid.filter(|p| *p != 0), &s.process) {
        (Some(4), _) if platform_windows && s.protocol == Protocol::Tcp => {
            "the HTTP.sys kernel driver (System, PID 4), which serves IIS/W3SVC, WinRM, SSRS and other registered URLs; `netsh http show servicestate` names the application".to_owned()
        }
        (Some(pid), Some(name)) => format!("{name} (PID {pid}{services})"),
        (Some(pid), None) => format!("PID {pid}{services}"),
        (None, _) if !owners_visible => "a process whose owner is unknown (run as root to see it)".to_owned(),
        (None, _) => "a process whose owner is unknown".to_owned(),
    }
}

/// The HTTP.sys registrations on `port`, described: URL, request queue and processes.
fn http_sys_holder(facts: &Facts, port: u16) -> Option<String> {
    let urls: Vec<&HttpUrl> = facts
        .http_urls
        .as_ref()?
        .value
        .iter()
        .filter(|h| h.port == port)
        .collect();
    if urls.is_empty() {
        return None;
    }
    let each: Vec<String> = urls
        .iter()
        .map(|h| {
            let queue = h
                .queue
                .as_deref()
                .map_or("an unnamed request queue".to_owned(), |q| {
                    format!("request queue {q}")
                });
            let pids = match h.pids.as_slice() {
                [] => String::new(),
                [one] => format!(" of PID {one}"),
                many => format!(
                    " of PIDs {}",
                    many.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            format!("{} ({queue}{pids})", h.url)
        })
        .collect();
    Some(format!(
        "the HTTP.sys kernel driver (System, PID 4) for {}",
        each.join(", ")
    ))
}

/// The port proxy listening on `port` at an address overlapping `bind`, if any.
fn proxy_on(
    facts: &Facts,
    protocol: Protocol,
    port: u16,
    bind: std::net::IpAddr,
) -> Option<&PortProxy> {
    if protocol != Protocol::Tcp {
        return None; // netsh portproxy forwards TCP only
    }
    facts
        .port_proxies
        .as_ref()?
        .value
        .iter()
        .find(|p| p.listen_ports.contains(port) && binds_overlap(p.listen_address, bind))
}

/// How a port proxy is named in a message.
fn describe_proxy(p: &PortProxy) -> String {
    format!(
        "a netsh portproxy of the IP Helper service (iphlpsvc) on {}:{}, forwarding to {}:{}",
        p.listen_address, p.listen_ports, p.connect_address, p.connect_ports
    )
}

/// Reports ports held by another socket, HTTP.sys or a port proxy.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let Some(facts) = host_facts(cx, &META, out) else {
        return;
    };
    if facts.sockets.is_none() {
        out.skip(META.id, "the host facts have no socket table: capture it with `preflight facts` on the target, or import `ss -tulpn` / `netstat -ano` output");
        if facts.port_proxies.is_none() {
            return;
        }
    }
    let windows =
        cx.manifest.target.platform == Platform::Windows || facts.os.as_deref() == Some("windows");
    let visible = facts.owners_visible.unwrap_or(true);
    let captured = |o: Origin| match o {
        Origin::Live => "on this host",
        _ => "in the captured facts",
    };
    for (svc, port) in cx.manifest.ports() {
        if let Some(range) = port.pick {
            // `"8000-9000:80"`: Docker takes one free port of the range; only a full range fails.
            if let Some(f) = full_range(facts, &svc.name, port, range, captured) {
                out.push(f);
            }
            continue;
        }
        let Some((n, at)) = port.node(svc) else {
            continue;
        };
        let held = facts.sockets.as_ref().and_then(|sockets| {
            sockets.value.iter().find(|s| {
                s.port == n
                    && s.protocol == port.protocol
                    && matches!(s.state, SocketState::Listen | SocketState::Bound)
                    && binds_overlap(s.address, port.bind)
            })
        });
        let proxy = proxy_on(facts, port.protocol, n, port.bind);
        let Some(s) = held else {
            // No socket (or no socket table), but a port proxy that listens there while iphlpsvc runs.
            if let (Some(p), Some(fact)) = (proxy, &facts.port_proxies) {
                out.push(proxy_finding(cx, svc, port, p, captured(fact.origin)));
            }
            continue;
        };
        let sockets = facts
            .sockets
            .as_ref()
            .map_or(Origin::Captured, |f| f.origin);
        let who = match (proxy, s.pid.filter(|p| *p != 0)) {
            (Some(p), _) => describe_proxy(p),
            (None, Some(4)) if windows && s.protocol == Protocol::Tcp => {
                http_sys_holder(facts, n).unwrap_or_else(|| owner(s, windows, visible))
            }
            _ => owner(s, windows, visible),
        };
        let stop = match (proxy, s.pid.filter(|p| *p != 0), windows) {
            (Some(p), _, _) => remove_proxy(p),
            (None, Some(4), true) => "find the application with `netsh http show servicestate` and stop or move it; a plain Winsock server can't share the port with HTTP.sys, an HTTP.sys application (IIS, HttpListener, HttpSys) can, under a URL of its own".to_owned(),
            (None, Some(pid), true) => format!("if it should not run there, find its service with `tasklist /SVC /FI \"PID eq {pid}\"` and `Stop-Service` it"),
            (None, Some(pid), false) => format!("if it should not run there, find its unit with `systemctl status {pid}` and `systemctl stop` it"),
            (None, None, _) => "find the owner with `ss -tulpn` as root (Windows: `Get-NetTCPConnection -LocalPort`)".to_owned(),
        };
        let mut f = Finding::new(
            &META,
            at,
            format!(
                "port {} of `{}` is already in use by {who}: {} on {} {}",
                node_label(n, port),
                svc.name,
                s.state.as_str(),
                s.address,
                captured(sockets)
            ),
        )
        .label("in use")
        .help(format!("move the service to a free port, or {stop}"))
        .fix(super::choose_port(
            svc,
            port,
            super::suggest_port(cx, svc, port.protocol),
        ))
        .evidence("state", s.state.as_str())
        .evidence("address", s.address.to_string())
        .evidence("source", sockets.as_str());
        if let Some(pid) = s.pid.filter(|p| *p != 0) {
            f = f.evidence("pid", pid);
            f = f.fix(Fix::FreePort {
                port: n,
                protocol: port.protocol,
                pid,
                process: s.process.clone(),
            });
        }
        if let Some(p) = &s.process {
            f = f.evidence("process", p.clone());
        }
        out.push(f);
    }
}

/// The command that removes a port proxy (run as administrator).
fn remove_proxy(p: &PortProxy) -> String {
    let family = if p.listen_address.is_ipv4() {
        "v4tov4"
    } else {
        "v6tov6"
    };
    format!(
        "remove the proxy if it is stale, as administrator: `netsh interface portproxy delete {family} listenport={} listenaddress={}`",
        p.listen_ports, p.listen_address
    )
}

/// A port a proxy holds, with no socket of it in the facts.
fn proxy_finding(
    cx: &Context<'_>,
    svc: &crate::manifest::Service,
    port: &crate::manifest::Port,
    p: &PortProxy,
    source: &str,
) -> crate::finding::Finding {
    Finding::new(
        &META,
        port.number_path.clone(),
        format!(
            "port {} of `{}` is taken by {} {source}: the IP Helper service listens there while it runs",
            port.label(),
            svc.name,
            describe_proxy(p)
        ),
    )
    .label("proxied")
    .help(format!("move the service to a free port, or {}", remove_proxy(p)))
    .fix(super::choose_port(svc, port, super::suggest_port(cx, svc, port.protocol)))
    .evidence("proxy_to", format!("{}:{}", p.connect_address, p.connect_ports))
}

/// A range Docker picks a host port from (`"8000-9000:80"`) where every port is taken; `None` while
/// one port is free (or without a socket table).
fn full_range(
    facts: &crate::facts::Facts,
    service: &str,
    port: &crate::manifest::Port,
    range: crate::ports::PortRange,
    captured: impl Fn(Origin) -> &'static str,
) -> Option<Finding> {
    let sockets = facts.sockets.as_ref()?;
    let taken = |n: u16| {
        sockets.value.iter().any(|s| {
            s.port == n
                && s.protocol == port.protocol
                && matches!(s.state, SocketState::Listen | SocketState::Bound)
                && binds_overlap(s.address, port.bind)
        })
    };
    if !(range.start..=range.end).all(taken) {
        return None;
    }
    Some(
        Finding::new(
            &META,
            port.number_path.clone(),
            format!(
                "every port of {range}/{} is already in use {}, so Docker has no host port to give `{service}` (`{}`)",
                port.protocol.as_str(),
                captured(sockets.origin),
                port.name
            ),
        )
        .label("no free port")
        .help("widen the range, or free a port in it (`ss -tlnp` shows who holds them)"),
    )
}

/// `80/tcp`: the port as the host sees it.
fn node_label(n: u16, port: &crate::manifest::Port) -> String {
    format!("{n}/{}", port.protocol.as_str())
}
