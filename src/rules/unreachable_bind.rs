//! `unreachable-bind`: a port meant for other hosts bound to a loopback address.

use super::Context;
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::Expose;
use crate::ports::is_loopback;

/// Metadata of `unreachable-bind`.
pub const META: RuleMeta = RuleMeta {
    id: "unreachable-bind",
    severity: Severity::Error,
    summary: "a public or internal port is bound to a loopback address",
    facts: &[],
    docs: r#"## What it does
Reports a port with `expose: public` or `expose: internal` whose `bind` is a loopback address
(`127.0.0.0/8` or `::1`).

## Why is this bad?
Only processes on the same host can reach a loopback address. Load balancers, other services and users
get "connection refused" while the service looks healthy from the host itself, and no firewall rule can
change that.

## Example
```yaml
services:
  api:
    ports:
      http: { port: 8080, bind: 127.0.0.1, expose: public }
```

## Fix
Bind every address (`bind: 0.0.0.0`, or `::` for IPv6 too) or the host's own address; or, if the port
really is for this host only, say so with `expose: local`.
"#,
};

/// Reports loopback binds of ports other hosts must reach.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    for (svc, port) in cx.manifest.ports() {
        if port.expose == Expose::Local || !is_loopback(port.bind) {
            continue;
        }
        let any = if port.bind.is_ipv4() { "0.0.0.0" } else { "::" };
        out.push(
            Finding::new(
                &META,
                port.bind_path(),
                format!(
                    "port `{}` of `{}` is exposed `{}` but binds {}, which only this host can reach",
                    port.name,
                    svc.name,
                    port.expose.as_str(),
                    port.bind
                ),
            )
            .label("loopback only")
            .help(format!(
                "bind `{any}` (every address) or the host's own address, or set `expose: local` if only this host uses it"
            ))
            .fix(Fix::BindAddress {
                service: svc.name.clone(),
                port: port.name.clone(),
                address: any.to_owned(),
            }),
        );
    }
}
