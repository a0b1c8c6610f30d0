//! `ignored-ports`: ports written in the input that will not become listeners as written.

use super::Context;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};

/// Metadata of `ignored-ports`.
pub const META: RuleMeta = RuleMeta {
    id: "ignored-ports",
    severity: Severity::Info,
    summary: "ports in the input that the runtime discards or preflight does not check",
    facts: &[],
    docs: r#"## What it does
Reports port entries that will not be published the way they are written, and entries preflight reads
but does not check:

- a Compose service with `network_mode: host` and `ports:` — Docker discards the published ports (the
  container shares the host's network, so its own ports are the host's; preflight checks the container
  ports as host ports);
- an SCTP port — preflight's rules cover TCP and UDP.

## Why is this bad?
The file promises a mapping that does not exist: a `"8080:80"` under `network_mode: host` listens on
80, not 8080, and clashes with whatever else uses 80 on the host.

## Example
```yaml
services:
  web:
    image: nginx
    network_mode: host
    ports: ["8080:80"]   # discarded: nginx listens on the host's port 80
```

## Fix
Remove `ports:` from services on the host network (and move the service's own port if it clashes), or
drop `network_mode: host` so the ports are published.
"#,
};

/// Reports what the reader left out.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    for i in &cx.manifest.ignored {
        out.push(
            Finding::new(&META, i.path.clone(), i.message.clone())
                .label("ignored")
                .help(i.help.clone()),
        );
    }
}
