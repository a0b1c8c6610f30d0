//! `network-mode-ports`: ports published by a Compose service that joins another container's network.

use super::Context;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};

/// Metadata of `network-mode-ports`.
pub const META: RuleMeta = RuleMeta {
    id: "network-mode-ports",
    severity: Severity::Error,
    summary: "a Compose service publishes ports while it joins another container's network namespace",
    facts: &[],
    docs: r#"## What it does
Reports each `ports` and `expose` entry of a Compose service whose `network_mode` is `service:NAME`
or `container:NAME`: the container has no network namespace of its own, so it has nothing to
publish or expose. (`docker compose config` accepts such a file; the engine refuses it at `up`.)

## Why is this bad?
Docker refuses to create the container: `conflicting options: port publishing and the container type
network mode` (`port exposing` for `expose`). The whole project fails to start, not just this port. (The ports of the namespace's
owner are published for every container in it; that is where they belong.)

## Example
```yaml
services:
  vpn:
    image: qmcgaw/gluetun
  torrent:
    image: lscr.io/linuxserver/qbittorrent
    network_mode: "service:vpn"
    ports: ["8080:8080"]        # refused
```

## Fix
Move the entry to the service that owns the namespace (`vpn` above: its `ports:` publish the ports of
every container that joins it), and remove `ports:` from the joining service.
"#,
};

/// Reports each refused entry, with the `network_mode` that makes it so.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    for svc in &cx.manifest.services {
        let Some(n) = &svc.network else { continue };
        let owner = match &n.service {
            Some(s) => format!("`{s}`"),
            None => format!(
                "the container `{}`",
                n.mode.trim_start_matches("container:")
            ),
        };
        for path in &n.refused {
            out.push(
                Finding::new(
                    &META,
                    path.clone(),
                    if path.contains(".expose.") {
                        format!(
                            "`{}` exposes a port but uses `network_mode: {}`: Docker refuses to create the container (\"conflicting options: port exposing and the container type network mode\")",
                            svc.name, n.mode
                        )
                    } else {
                        format!(
                            "`{}` publishes a port but uses `network_mode: {}`: Docker refuses to create the container (\"conflicting options: port publishing and the container type network mode\")",
                            svc.name, n.mode
                        )
                    },
                )
                .label("refused")
                .related(n.path.clone(), "joins this network namespace")
                .help(format!(
                    "publish the port on {owner}, whose `ports:` serve every container in its network namespace, and remove it here"
                )),
            );
        }
    }
}
