//! `route-backend`: an Ingress or Gateway API route sends traffic to a Service port that doesn't exist.

use super::Context;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::{KubeService, RoutePort};

/// Metadata of `route-backend`.
pub const META: RuleMeta = RuleMeta {
    id: "route-backend",
    severity: Severity::Error,
    summary: "an Ingress or Gateway API route names a Service port the Service does not have",
    facts: &[],
    docs: r#"## What it does
Checks every backend of an Ingress (`networking.k8s.io/v1`: `defaultBackend` and each path's
`backend.service.port.name` or `.number`) and every `backendRefs` entry of a Gateway API route
(`HTTPRoute`, `GRPCRoute`, `TCPRoute`, `UDPRoute`, `TLSRoute`) against the Service it names, when that
Service is among the inputs (same namespace; a backendRef may name another):

- a port name or number the Service does not have: error;
- a Gateway API backendRef to a Service without `port`: error (the port is required for Services);
- a Service that is not among the inputs: info (it may be applied from elsewhere).

## Why is this bad?
The controller has no endpoint for the backend: an Ingress answers 503 (ingress-nginx: "default
backend - 404/503"), a route's `ResolvedRefs` condition turns false and its traffic fails, while
every object applies without an error.

## Example
```yaml
kind: Ingress
spec:
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend: { service: { name: web, port: { name: htp } } }   # the Service's port is `http`
```

## Fix
Name a port the Service declares (`kubectl get service NAME -o yaml`), by its `name` or its `port`
number (not the container's `targetPort`).
"#,
};

/// Checks each route backend against the Services of the inputs.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let services = &cx.manifest.kube_services;
    for r in &cx.manifest.kube_routes {
        let ns = r.service_namespace.as_ref().or(r.namespace.as_ref());
        let target: Option<&KubeService> = services.iter().find(|s| {
            s.name == r.service
                && (ns.is_none() || s.namespace.is_none() || s.namespace.as_ref() == ns)
        });
        let what = format!("{} `{}`", r.kind, r.name);
        let Some(s) = target else {
            out.push(
                Finding::new(
                    &META,
                    r.path.clone(),
                    format!(
                        "{what} routes to Service `{}`, which is not among the inputs",
                        r.service
                    ),
                )
                .severity(Severity::Info)
                .label("not in the inputs")
                .help("give the file with the Service too, so its ports can be checked"),
            );
            continue;
        };
        let ports: Vec<String> = s
            .ports
            .iter()
            .map(|p| match &p.name {
                Some(n) => format!("{} ({n})", p.port),
                None => p.port.to_string(),
            })
            .collect();
        let (ok, named) = match &r.port {
            RoutePort::Number(n) => (s.ports.iter().any(|p| p.port == *n), format!("port {n}")),
            RoutePort::Name(n) => (
                s.ports
                    .iter()
                    .any(|p| p.name.as_deref() == Some(n.as_str())),
                format!("port `{n}`"),
            ),
            RoutePort::Missing => (false, "no port".to_owned()),
        };
        if ok {
            continue;
        }
        let message = match &r.port {
            RoutePort::Missing => format!(
                "{what} routes to Service `{}` without a `port`, which a Service backend requires",
                s.name
            ),
            _ => format!(
                "{what} routes to {named} of Service `{}`, which has no such port: the backend has no endpoints",
                s.name
            ),
        };
        let mut help = format!(
            "name one of the Service's ports: {} (the Service's `port`, not the container's `targetPort`)",
            if ports.is_empty() {
                "it declares none".to_owned()
            } else {
                ports.join(", ")
            }
        );
        if let RoutePort::Name(n) = &r.port
            && let Some(m) =
                crate::document::did_you_mean(n, s.ports.iter().filter_map(|p| p.name.as_deref()))
        {
            help = format!("did you mean `{m}`? {help}");
        }
        out.push(
            Finding::new(&META, r.path.clone(), message)
                .label("no such port")
                .related(s.path.clone(), format!("Service `{}`", s.name))
                .help(help),
        );
    }
}
