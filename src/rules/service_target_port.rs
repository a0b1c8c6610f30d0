//! `service-target-port`: a Kubernetes Service whose `targetPort` no selected container declares, or
//! whose selector selects no pod of the inputs.

use super::Context;
use crate::document::join;
use crate::finding::RuleMeta;
use crate::finding::{Deferred, DeferredRule, Finding, Findings, Severity, index};
use crate::manifest::{KubeService, Service, TargetPort};

/// Metadata of `service-target-port`.
pub const META: RuleMeta = RuleMeta {
    id: "service-target-port",
    severity: Severity::Error,
    summary: "a Service's targetPort names no port of the pods it selects",
    facts: &[],
    docs: r#"## What it does
For every Kubernetes Service with a selector, finds the workloads of the inputs whose pod template labels
match it (in the same namespace) and checks each port's `targetPort` against their containers' ports:

- a named `targetPort` that no selected container declares: an error — the Service has no endpoint
  for that port, and connections are refused;
- a numeric `targetPort` (or none, which means the same as `port`) that the selected pods don't declare
  while they declare other ports: a warning — `containerPort` is informational, so traffic still goes to
  that number, but it is usually a typo;
- a selector that selects no pod of the inputs: info — the workload may live in another file, which
  `preflight check` can be given as well.

## Why is this bad?
The Service has no endpoints (`kubectl get endpoints` is empty) or sends traffic to a port nothing
listens on: clients get "connection refused" and the readiness of the pods says nothing about it.

## Example
```yaml
kind: Service
spec:
  selector: { app: web }
  ports:
    - port: 80
      targetPort: htp    # the container's port is named `http`
```

## Fix
Use a port name the containers declare (`kubectl explain pod.spec.containers.ports.name`), or the
number they listen on; fix the selector to match the pod template's labels.
"#,
};

/// The workloads a Service selects: same namespace (or either without one), every selector label on
/// the pod template.
fn selected<'m>(s: &KubeService, workloads: &'m [Service]) -> Vec<&'m Service> {
    workloads
        .iter()
        .filter(|w| {
            let Some(pod) = &w.pod else { return false };
            // No namespace: the one the file is applied to, which may be the other's.
            let same_namespace = match (&pod.namespace, &s.namespace) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            same_namespace && s.selector.iter().all(|(k, v)| pod.labels.get(k) == Some(v))
        })
        .collect()
}

/// The path of a Service's selector.
pub(super) fn selector_path(s: &KubeService) -> String {
    join(&s.path, "spec.selector")
}

/// The finding that the selector of `s` selects no pod. [`check`] defers it (see [`Deferred`]);
/// `rules::render` makes it whole through this function.
pub(super) fn no_pod(s: &KubeService) -> Finding {
    Finding::new(
        &META,
        selector_path(s),
        format!(
            "the selector of Service `{}` selects no pod in the inputs",
            s.name
        ),
    )
    .severity(Severity::Info)
    .label("no pod")
    .help("check the selector against the pod template's labels, or give the file with the workload too")
}

/// Checks every Service's targetPorts against the pods it selects.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    for (si, s) in cx.manifest.kube_services.iter().enumerate() {
        // A targetPort that is neither a number nor a port name: an unfilled placeholder.
        let invalid = |sp: &&crate::manifest::KubeServicePort| matches!(&sp.target, Some(TargetPort::Name(n)) if crate::manifest::port_name_problem(n).is_some());
        for sp in s.ports.iter().filter(invalid) {
            let Some(TargetPort::Name(n)) = &sp.target else {
                continue;
            };
            let why = crate::manifest::port_name_problem(n).unwrap_or_default();
            out.push(
                Finding::new(
                    &META,
                    join(&sp.path, "targetPort"),
                    format!(
                        "targetPort `{n}` of Service `{}` is neither a port number nor a valid port name (a name {why}): an unfilled placeholder?",
                        s.name
                    ),
                )
                .label("not a port")
                .help("write the container port's number or its name; if the file is a template (envsubst, Helm), render it and check the output"),
            );
        }
        if s.selector.is_empty() {
            continue; // endpoints managed by hand
        }
        let pods = selected(s, &cx.manifest.services);
        let namespaces: std::collections::BTreeSet<&str> = pods
            .iter()
            .filter_map(|w| w.pod.as_ref()?.namespace.as_deref())
            .collect();
        let all_namespaced = pods
            .iter()
            .all(|w| w.pod.as_ref().is_some_and(|p| p.namespace.is_some()));
        if s.namespace.is_none() && !pods.is_empty() && all_namespaced {
            let ns: Vec<&str> = namespaces.iter().copied().collect();
            let first = ns.first().copied().unwrap_or("default");
            out.push(
                Finding::new(
                    &META,
                    join(&s.path, "metadata"),
                    format!(
                        "Service `{}` has no namespace: `kubectl apply -f` creates it in the current context's namespace (`default` unless the context or `-n` says otherwise), while the pods it selects run in `{}`; from another namespace its selector selects nothing",
                        s.name,
                        ns.join("`, `")
                    ),
                )
                .severity(Severity::Info)
                .label("no namespace")
                .help(format!(
                    "add `namespace: {first}` under `metadata`, or apply the file with `kubectl apply -n {first} -f …`"
                )),
            );
        }
        if pods.is_empty() {
            match index(si) {
                Some(service) => {
                    let d = Deferred {
                        rule: DeferredRule::NoPodSelected,
                        severity: Severity::Info,
                        suggested: None,
                        service,
                        port: 0,
                        other: (0, 0),
                    };
                    cx.defer(out, d, || no_pod(s));
                }
                None => out.push(no_pod(s)),
            }
            continue;
        }
        let ports: Vec<_> = pods
            .iter()
            .flat_map(|w| w.ports.iter().map(move |p| (*w, p)))
            .filter(|(_, p)| p.container.as_ref().is_some_and(|c| !c.init))
            .collect();
        let names: Vec<String> = pods.iter().map(|w| format!("`{}`", w.name)).collect();
        for sp in &s.ports {
            let target = sp.target.clone().unwrap_or(TargetPort::Number(sp.port));
            let tpath = if sp.target.is_some() {
                join(&sp.path, "targetPort")
            } else {
                join(&sp.path, "port")
            };
            match &target {
                TargetPort::Name(name) if crate::manifest::port_name_problem(name).is_some() => {}
                TargetPort::Name(name) => {
                    if ports
                        .iter()
                        .any(|(_, p)| &p.name == name && p.protocol == sp.protocol)
                    {
                        continue;
                    }
                    let declared: Vec<&str> = ports
                        .iter()
                        .map(|(_, p)| p.name.as_str())
                        .filter(|n| !n.contains(':'))
                        .collect();
                    let mut help = format!(
                        "use a port name the containers of {} declare{}",
                        names.join(", "),
                        if declared.is_empty() {
                            " (they name none: add `name:` to the container port)".to_owned()
                        } else {
                            format!(" ({})", declared.join(", "))
                        }
                    );
                    if let Some(s) = crate::document::did_you_mean(name, declared.iter().copied()) {
                        help = format!("did you mean `{s}`? {help}");
                    }
                    out.push(
                        Finding::new(
                            &META,
                            tpath,
                            format!(
                                "targetPort `{name}` of Service `{}` names no {} port of the pods it selects ({}): the Service has no endpoints for it",
                                s.name,
                                sp.protocol.as_str(),
                                names.join(", ")
                            ),
                        )
                        .label("no such port name")
                        .help(help),
                    );
                }
                TargetPort::Number(n) => {
                    if ports.is_empty()
                        || ports
                            .iter()
                            .any(|(_, p)| p.number == Some(*n) && p.protocol == sp.protocol)
                    {
                        continue;
                    }
                    let mut numbers: Vec<u16> =
                        ports.iter().filter_map(|(_, p)| p.number).collect();
                    numbers.sort_unstable();
                    numbers.dedup();
                    let declared: Vec<String> = numbers.iter().map(u16::to_string).collect();
                    out.push(
                        Finding::new(
                            &META,
                            tpath,
                            format!(
                                "targetPort {n}/{} of Service `{}` is not a port the pods it selects declare ({}); they declare {}",
                                sp.protocol.as_str(),
                                s.name,
                                names.join(", "),
                                declared.join(", ")
                            ),
                        )
                        .severity(Severity::Warning)
                        .label("not declared")
                        .help("point targetPort at the port the container listens on (its `containerPort` or name); if the container listens on it, declare it"),
                    );
                }
            }
        }
    }
}
