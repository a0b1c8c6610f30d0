//! `shared-port-purpose`: health or metrics endpoints reachable by public traffic.

use super::Context;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::Expose;
use crate::ports::binds_overlap;

/// Metadata of `shared-port-purpose`.
pub const META: RuleMeta = RuleMeta {
    id: "shared-port-purpose",
    severity: Severity::Info,
    summary: "health or metrics served on the same port as public traffic",
    facts: &[],
    docs: r#"## What it does
Reports a port with `purpose: health` or `purpose: metrics` that shares its protocol, number and address
with a public port of the same service (one listener serving both), or that is itself `expose: public`.

## Why is this bad?
Whatever reaches the public port reaches the operational endpoints too: metrics leak internals (paths,
versions, tenant names), and health or debug handlers become a cheap target. It also means the operators'
endpoints cannot be firewalled apart from user traffic.

## Example
```yaml
services:
  api:
    ports:
      http:    { port: 8080, expose: public, purpose: http }
      metrics: { port: 8080, purpose: metrics }
```

## Fix
Serve health and metrics on a port of their own with `expose: internal` (or `local`), and admit only the
monitoring network to it.
"#,
};

/// Reports operational endpoints on public listeners.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    for svc in &cx.manifest.services {
        for port in &svc.ports {
            let (Some(n), Some(purpose)) = (port.number, port.purpose) else {
                continue;
            };
            if !purpose.is_operational() {
                continue;
            }
            let public = svc.ports.iter().find(|o| {
                o.path != port.path
                    && o.number == Some(n)
                    && o.protocol == port.protocol
                    && o.expose == Expose::Public
                    && !o.purpose.is_some_and(|p| p.is_operational())
                    && binds_overlap(o.bind, port.bind)
            });
            let finding = if let Some(o) = public {
                Finding::new(
                    &META,
                    port.number_path.clone(),
                    format!(
                        "{} endpoint `{}` of `{}` shares {} with public traffic (`{}`)",
                        purpose.as_str(),
                        port.name,
                        svc.name,
                        port.label(),
                        o.name
                    ),
                )
                .related(o.number_path.clone(), "public port")
            } else if port.expose == Expose::Public {
                Finding::new(
                    &META,
                    port.number_path.clone(),
                    format!(
                        "{} endpoint `{}` of `{}` is exposed `public`",
                        purpose.as_str(),
                        port.name,
                        svc.name
                    ),
                )
            } else {
                continue;
            };
            out.push(
                finding
                    .label(format!("{} endpoint", purpose.as_str()))
                    .help(format!("serve {} on a port of its own with `expose: internal` and admit only the monitoring network", purpose.as_str())),
            );
        }
    }
}
