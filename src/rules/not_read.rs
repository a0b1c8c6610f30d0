//! `not-read`: keys of the input that may decide a port but that preflight does not read.

use super::Context;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};

/// Metadata of `not-read`.
pub const META: RuleMeta = RuleMeta {
    id: "not-read",
    severity: Severity::Info,
    summary: "a key that may decide a port is not read, so what it does is not checked",
    facts: &[],
    docs: r#"## What it does
Names each key of a Compose file or Kubernetes manifest that can change which ports are taken or how
they are reached, but that preflight does not read (a Compose service run by a `provider`; Kubernetes
`affinity`, `tolerations`, probes on named ports, a Service's `externalIPs`, …). Every key of the
Compose specification and of a pod spec and Service is classified in preflight's source as read, as
not deciding a port, or as not read; a test walks the specifications so nothing new slips through.

## Why is this bad?
A report without findings is only worth what it read. This rule keeps the report honest: what it
could not judge is said, not passed over.

## Example
```yaml
services:
  db:
    provider: { type: awesomecloud, options: { type: mysql } }
```

## Fix
Check what the key does by hand. Where it needs no check, turn the rule off in the policy
(`rules: { not-read: off }`) or waive it for the service.
"#,
};

/// Reports what the readers classified as not read.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    for u in &cx.manifest.unread {
        out.push(
            Finding::new(&META, u.path.clone(), u.message.clone())
                .label("not read")
                .help("check what it does by hand; turn `not-read` off in the policy where it needs no check"),
        );
    }
}
