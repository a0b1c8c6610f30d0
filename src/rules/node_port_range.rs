//! `node-port-range`: a Kubernetes Service's `nodePort` outside the cluster's NodePort range.

use super::Context;
use crate::document::join;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};

/// Metadata of `node-port-range`.
pub const META: RuleMeta = RuleMeta {
    id: "node-port-range",
    severity: Severity::Error,
    summary: "a Service's nodePort lies outside the cluster's NodePort range",
    facts: &[],
    docs: r#"## What it does
Reports a `nodePort` outside the cluster's NodePort range: 30000-32767 by default, or
`target.node_port_range` in a deploy manifest (the API server's `--service-node-port-range`).

## Why is this bad?
The API server refuses the Service: `spec.ports[0].nodePort: Invalid value: 8080: provided port is
not in the valid range. The range of valid ports is 30000-32767`, and the deploy stops there.

## Example
```yaml
kind: Service
spec:
  type: NodePort
  ports:
    - { port: 80, nodePort: 8080 }
```

## Fix
Remove `nodePort` (the API server picks a free one from the range), choose one inside the range, or
put a LoadBalancer or an Ingress in front if a fixed low port is what clients need.
"#,
};

/// Reports nodePorts outside the range.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let range = cx.manifest.target.node_port_range;
    for s in &cx.manifest.kube_services {
        for p in &s.ports {
            let Some(np) = p.node_port else { continue };
            if range.contains(np) {
                continue;
            }
            out.push(
                Finding::new(
                    &META,
                    join(&p.path, "nodePort"),
                    format!(
                        "nodePort {np} of Service `{}` is outside the NodePort range {range}: the API server refuses it (\"provided port is not in the valid range\")",
                        s.name
                    ),
                )
                .label("outside the range")
                .help(format!(
                    "remove `nodePort` so the API server picks one, or choose a port in {range} (the range is the API server's --service-node-port-range; tell preflight with `target.node_port_range` or --node-port-range)"
                )),
            );
        }
    }
}
