//! `env-unresolved`: a `${VAR}` reference with no value and no default.

use super::Context;
use crate::document::did_you_mean;
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};

/// Metadata of `env-unresolved`.
pub const META: RuleMeta = RuleMeta {
    id: "env-unresolved",
    severity: Severity::Error,
    summary: "a `${VAR}` reference has no value and no default",
    facts: &[],
    docs: r#"## What it does
Reports a `${VAR}` reference in a port or bind value when `VAR` is defined neither in the manifest's
`environment:` nor (with `--env`) in the process environment, and the reference has no `:-default`.
In a Compose file: a `$VAR` or `${VAR}` in a value preflight reads (ports, `network_mode`, profiles,
replicas) that neither the environment nor `.env` (or `--env-file`) sets; Compose substitutes an empty
string, which turns `"${WEB_PORT}:80"` into a port Docker picks at random.

## Why is this bad?
The value the service will really use is unknown: every other rule skips that port, and at deploy time the
service either refuses to start or falls back to a built-in port nobody reviewed.

## Example
```yaml
services:
  orders-api:
    ports:
      http: "${ORDERS_PORT}"   # ORDERS_PORT is defined nowhere
```

## Fix
Define the variable under `environment:` (`ORDERS_PORT: "11001"`), give the reference a default
(`${ORDERS_PORT:-11001}`), or run `preflight check --env` where the pipeline exports it.
"#,
};

/// Reports every unresolved reference.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let m = cx.manifest;
    let compose = m.kind == crate::manifest::Kind::Compose;
    for u in &m.unresolved {
        let mut help = if compose {
            format!(
                "set `{0}` in `.env` beside the Compose file, an `--env-file`, or the environment, or write `${{{0}:-<port>}}` with a default",
                u.name
            )
        } else {
            format!(
                "define `{0}` under `environment:`, write `${{{0}:-<port>}}` with a default, or pass --env if the pipeline exports it",
                u.name
            )
        };
        if let Some(s) = did_you_mean(&u.name, m.environment.iter().map(String::as_str)) {
            help = format!("did you mean `{s}`? {help}");
        }
        out.push(
            Finding::new(
                &META,
                u.path.clone(),
                if compose {
                    format!(
                        "`${{{}}}` has no value and no default: Compose substitutes an empty string",
                        u.name
                    )
                } else {
                    format!("`${{{}}}` has no value and no default", u.name)
                },
            )
            .label("unresolved")
            .help(help)
            .fix(Fix::DefineVariable {
                name: u.name.clone(),
            }),
        );
    }
}
