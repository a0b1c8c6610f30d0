//! Kubernetes objects that route traffic to a Service's port: Ingress (`networking.k8s.io/v1`:
//! `spec.defaultBackend` and every rule path's `backend.service`, port by `name` or `number`; the
//! beta APIs' `serviceName`/`servicePort`) and the
//! Gateway API routes (`HTTPRoute`, `GRPCRoute`, `TCPRoute`, `UDPRoute`, `TLSRoute`: every rule's
//! `backendRefs`, whose `port` a Service backend requires). The `route-backend` rule checks each
//! reference against the Services of the inputs.

use serde_json::Value;

use crate::document::join;

/// The port a route names on its Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutePort {
    /// `port.number` (Ingress) or `port` (Gateway API).
    Number(u16),
    /// `port.name` (Ingress only).
    Name(String),
    /// Not given where it is required (a Gateway API backendRef to a Service).
    Missing,
}

/// One reference from a route to a Service's port.
#[derive(Debug, Clone)]
pub struct KubeRoute {
    /// The routing object's kind (`Ingress`, `HTTPRoute`, …).
    pub kind: String,
    /// The routing object's name.
    pub name: String,
    /// The routing object's namespace, when given.
    pub namespace: Option<String>,
    /// The Service it routes to.
    pub service: String,
    /// The Service's namespace (a Gateway API backendRef may name another; else the route's).
    pub service_namespace: Option<String>,
    /// The port.
    pub port: RoutePort,
    /// Path of the backend reference (the port's value where there is one).
    pub path: String,
}

/// The Gateway API route kinds whose rules have `backendRefs`.
const ROUTES: [&str; 5] = ["HTTPRoute", "GRPCRoute", "TCPRoute", "UDPRoute", "TLSRoute"];

/// The Service backends `obj` (at `path`, of `kind`) routes to; empty for other objects.
pub fn routes(path: &str, obj: &Value, kind: &str) -> Vec<KubeRoute> {
    let meta = obj.get("metadata");
    let text = |v: Option<&Value>, k: &str| {
        v.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let name = text(meta, "name").unwrap_or_else(|| "(unnamed)".into());
    let namespace = text(meta, "namespace");
    let spec = obj.get("spec");
    let spath = join(path, "spec");
    let mut out = Vec::new();
    let mut push =
        |service: String, service_namespace: Option<String>, port: RoutePort, path: String| {
            out.push(KubeRoute {
                kind: kind.to_owned(),
                name: name.clone(),
                namespace: namespace.clone(),
                service,
                service_namespace,
                port,
                path,
            });
        };
    if kind == "Ingress" {
        let mut backends: Vec<(String, &Value)> = Vec::new();
        for key in ["defaultBackend", "backend"] {
            if let Some(b) = spec.and_then(|s| s.get(key)) {
                backends.push((join(&spath, key), b));
            }
        }
        let rules = spec.and_then(|s| s.get("rules")).and_then(Value::as_array);
        for (i, r) in rules.into_iter().flatten().enumerate() {
            let ppath = join(
                &join(&join(&join(&spath, "rules"), &i.to_string()), "http"),
                "paths",
            );
            let paths = r
                .get("http")
                .and_then(|h| h.get("paths"))
                .and_then(Value::as_array);
            for (j, p) in paths.into_iter().flatten().enumerate() {
                if let Some(b) = p.get("backend") {
                    backends.push((join(&join(&ppath, &j.to_string()), "backend"), b));
                }
            }
        }
        for (bpath, b) in backends {
            // The beta APIs (`extensions/v1beta1`, `networking.k8s.io/v1beta1`): `serviceName` and
            // `servicePort` (a number or a name).
            if let Some(sname) = text(Some(b), "serviceName") {
                let at = join(&bpath, "servicePort");
                let rp = match b.get("servicePort") {
                    Some(Value::String(s)) => match s.parse::<u16>() {
                        Ok(n) => RoutePort::Number(n),
                        Err(_) => RoutePort::Name(s.clone()),
                    },
                    Some(v) => match v.as_u64().and_then(|n| u16::try_from(n).ok()) {
                        Some(n) => RoutePort::Number(n),
                        None => continue,
                    },
                    None => RoutePort::Missing,
                };
                push(sname, None, rp, at);
                continue;
            }
            // `networking.k8s.io/v1`: `backend.service.{name, port}`; a `resource` backend routes to
            // no Service.
            let Some(svc) = b.get("service") else {
                continue;
            };
            let Some(sname) = text(Some(svc), "name") else {
                continue;
            };
            let spath = join(&bpath, "service.port");
            let port = svc.get("port");
            let (rp, at) = match (
                port.and_then(|p| p.get("number")),
                port.and_then(|p| p.get("name")),
            ) {
                (Some(n), _) => match n.as_u64().and_then(|n| u16::try_from(n).ok()) {
                    Some(n) => (RoutePort::Number(n), join(&spath, "number")),
                    None => continue,
                },
                (None, Some(Value::String(s))) => {
                    (RoutePort::Name(s.clone()), join(&spath, "name"))
                }
                _ => (RoutePort::Missing, join(&bpath, "service")),
            };
            push(sname, None, rp, at);
        }
    } else if ROUTES.contains(&kind) {
        let rules = spec.and_then(|s| s.get("rules")).and_then(Value::as_array);
        for (i, r) in rules.into_iter().flatten().enumerate() {
            let rpath = join(&join(&spath, "rules"), &i.to_string());
            let refs = r.get("backendRefs").and_then(Value::as_array);
            for (j, b) in refs.into_iter().flatten().enumerate() {
                let bpath = join(&join(&rpath, "backendRefs"), &j.to_string());
                // `kind` defaults to Service and `group` to the core group.
                let is_service = text(Some(b), "kind").is_none_or(|k| k == "Service")
                    && text(Some(b), "group").is_none_or(|g| g.is_empty());
                let Some(sname) = text(Some(b), "name").filter(|_| is_service) else {
                    continue;
                };
                let (rp, at) = match b
                    .get("port")
                    .and_then(Value::as_u64)
                    .and_then(|n| u16::try_from(n).ok())
                {
                    Some(n) => (RoutePort::Number(n), join(&bpath, "port")),
                    None => (RoutePort::Missing, bpath.clone()),
                };
                push(sname, text(Some(b), "namespace"), rp, at);
            }
        }
    }
    out
}
