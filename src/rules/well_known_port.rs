//! `well-known-port`: the port is the default of a widely deployed server, which may already hold it.

use super::Context;
use super::well_known::lookup;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::{Platform, Runtime};

/// Metadata of `well-known-port`.
pub const META: RuleMeta = RuleMeta {
    id: "well-known-port",
    severity: Severity::Warning,
    summary: "the port is the default of a widely deployed server",
    facts: &[],
    docs: r#"## What it does
Reports a port that is the default of a widely deployed server (SQL Server 1433, RDP 3389, WinRM 5985,
PostgreSQL 5432, Redis 6379, …; `preflight explain well-known-port` lists the table). Entries specific to
one platform (WinRM and RPC on Windows, AirPlay Receiver on macOS) apply only there. A web server
(`runtime: nginx` or `iis`) on 80 or 443 is the expected owner and is not reported. Not checked on
`kubernetes`, where each pod has its own network namespace.

## Why is this bad?
On a shared host the port is often taken already — IIS or HTTP.sys on 80, a SQL Server instance on 1433,
WinRM on 5985 (held by `System`, PID 4) — and the service fails with "address already in use" (Windows
10048). Even where it is free today, the next package installed on the host will want it.

## Example
```yaml
services:
  reports:
    ports:
      http: 1433   # SQL Server's port
```

## Fix
Pick a port from your team's block. If this service *is* that server, keep the port and list it in the
policy (`well-known-port: { allow: [1433] }`); with `--local` or `--facts` the `port-occupied` rule says
whether it is really taken.
"#,
};

/// Reports ports from the table.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let platform = cx.manifest.target.platform;
    if platform == Platform::Kubernetes {
        return;
    }
    for (svc, port) in cx.manifest.ports() {
        let Some((n, at)) = port.node(svc) else {
            continue;
        };
        let Some(w) = lookup(n, port.protocol, platform) else {
            continue;
        };
        if cx.policy.allows(META.id, n) {
            continue; // the policy's `allow:` list accepts it
        }
        if matches!(svc.runtime, Runtime::Nginx | Runtime::Iis) && matches!(n, 80 | 443) {
            continue;
        }
        let suggested = super::suggest_port(cx, svc, port.protocol);
        let mut help = "pick another port".to_owned();
        if let Some(s) = suggested {
            help.push_str(&format!(" ({s} is free in the team's block)"));
        }
        // "unless `api` is php-fpm, SonarQube, MinIO or Portainer itself": any one of them.
        let which = w.owner.replace(" and ", " or ");
        help.push_str(&format!(" unless `{}` is {which} itself", svc.name));
        out.push(
            Finding::new(
                &META,
                at,
                format!(
                    "port {} of `{}` is the default port of {}, which may already hold it",
                    node_label(n, port),
                    svc.name,
                    w.owner
                ),
            )
            .label("well-known port")
            .help(help)
            .fix(super::choose_port(svc, port, suggested)),
        );
    }
}

/// `80/tcp`: the port as the host sees it.
fn node_label(n: u16, port: &crate::manifest::Port) -> String {
    format!("{n}/{}", port.protocol.as_str())
}
