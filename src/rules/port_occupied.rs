//! `port-occupied`: another socket already listens on (or, for UDP, is bound to) the port.

use super::{Context, host_facts};
use crate::facts::{Origin, Socket, SocketState};
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
(5985/5986/47001), SSRS and the like. TIME_WAIT sockets do not occupy a port (see `time-wait`).

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

/// Reports ports held by another socket.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let Some(facts) = host_facts(cx, &META, out) else {
        return;
    };
    let Some(sockets) = &facts.sockets else {
        out.skip(META.id, "the host facts have no socket table: capture it with `preflight facts` on the target, or import `ss -tulpn` / `netstat -ano` output");
        return;
    };
    let windows =
        cx.manifest.target.platform == Platform::Windows || facts.os.as_deref() == Some("windows");
    let visible = facts.owners_visible.unwrap_or(true);
    for (svc, port) in cx.manifest.ports() {
        let Some(n) = port.number else { continue };
        let held = sockets.value.iter().find(|s| {
            s.port == n
                && s.protocol == port.protocol
                && matches!(s.state, SocketState::Listen | SocketState::Bound)
                && binds_overlap(s.address, port.bind)
        });
        let Some(s) = held else { continue };
        let who = owner(s, windows, visible);
        let source = match sockets.origin {
            Origin::Live => "on this host",
            _ => "in the captured facts",
        };
        let stop = match (s.pid.filter(|p| *p != 0), windows) {
            (Some(4), true) => "find the application with `netsh http show servicestate` and stop or move it".to_owned(),
            (Some(pid), true) => format!("if it should not run there, find its service with `tasklist /SVC /FI \"PID eq {pid}\"` and `Stop-Service` it"),
            (Some(pid), false) => format!("if it should not run there, find its unit with `systemctl status {pid}` and `systemctl stop` it"),
            (None, _) => "find the owner with `ss -tulpn` as root (Windows: `Get-NetTCPConnection -LocalPort`)".to_owned(),
        };
        let mut f = Finding::new(
            &META,
            port.number_path.clone(),
            format!(
                "port {} of `{}` is already in use by {who}: {} on {} {source}",
                port.label(),
                svc.name,
                s.state.as_str(),
                s.address
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
        .evidence("source", sockets.origin.as_str());
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
