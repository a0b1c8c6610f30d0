//! `port-conflict`: two services of the manifest want the same port on overlapping addresses.

use std::collections::HashMap;

use super::{Context, suggest_port};
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::{Platform, Port, Protocol, Service};
use crate::ports::binds_overlap;

/// Metadata of `port-conflict`.
pub const META: RuleMeta = RuleMeta {
    id: "port-conflict",
    severity: Severity::Error,
    summary: "two ports share protocol and number on overlapping bind addresses",
    facts: &[],
    docs: r#"## What it does
Reports a port whose protocol and number are already used by an earlier port of the manifest on an
overlapping bind address. Addresses overlap when they are equal or one is a wildcard: `0.0.0.0` covers
every IPv4 address and `::` every address (Linux, Go, Node and Java open `::` dual-stack). TCP and UDP on
one number do not clash. Two ports of the *same* service on the same protocol, number and address are one
listener serving both (see `shared-port-purpose`), not a conflict. On `kubernetes` every service is its
own pod with its own network namespace, so only ports within one service are compared.

## Why is this bad?
Only one socket can listen on an address and port: the service that starts second fails with
"address already in use" (Linux `EADDRINUSE` 98, Windows `WSAEADDRINUSE` 10048). On Linux
`127.0.0.1:P` and `0.0.0.0:P` conflict too, even with SO_REUSEADDR.

## Example
```yaml
services:
  orders-api:  { ports: { http: 8080 } }
  billing-api: { ports: { http: { port: 8080, bind: 127.0.0.1 } } }   # overlaps 0.0.0.0:8080
```

## Fix
Give one of the two another port (the team's `port_plan` block has room), or bind them to distinct
specific addresses that do not overlap.
"#,
};

/// Reports each port that clashes with an earlier one (once, naming the first it clashes with).
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let per_pod = cx.manifest.target.platform == Platform::Kubernetes;
    let mut seen: HashMap<(Protocol, u16), Vec<(&Service, &Port)>> = HashMap::new();
    for (svc, port) in cx.manifest.ports() {
        let Some(n) = port.number else { continue };
        let earlier = seen.entry((port.protocol, n)).or_default();
        let clash = earlier.iter().find(|(s, p)| {
            let same_service = s.name == svc.name;
            if per_pod && !same_service {
                return false;
            }
            binds_overlap(p.bind, port.bind) && !(same_service && p.bind == port.bind)
        });
        if let Some((other_svc, other)) = clash {
            let suggested = suggest_port(cx, svc, port.protocol);
            let mut help = "move one of the two to another port".to_owned();
            if let Some(s) = suggested {
                help.push_str(&format!(" ({s} is free in `{}`'s team block)", svc.name));
            }
            help.push_str(", or bind them to distinct addresses that do not overlap (a wildcard overlaps every address)");
            out.push(
                Finding::new(
                    &META,
                    port.number_path.clone(),
                    format!(
                        "port {} on {} of `{}` is already used by `{}` (port `{}` on {})",
                        port.label(),
                        port.bind,
                        svc.name,
                        other_svc.name,
                        other.name,
                        other.bind
                    ),
                )
                .label("second use")
                .related(
                    other.number_path.clone(),
                    format!("first used by `{}` here", other_svc.name),
                )
                .help(help)
                .fix(super::choose_port(svc, port, suggested)),
            );
        }
        earlier.push((svc, port));
    }
}
