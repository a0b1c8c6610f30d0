//! The Kubernetes parts of `port-conflict`: host ports shared on a node, and nodePorts shared in the
//! cluster. Called from `port-conflict`'s check with its metadata; the rule's docs describe them.

use super::Context;
use crate::finding::{Finding, Findings, RuleMeta, Severity};
use crate::manifest::{Port, Protocol, Service};
use crate::ports::binds_overlap;

fn daemon(svc: &Service) -> bool {
    svc.pod.as_ref().is_some_and(|p| p.kind == "DaemonSet")
}

/// Host ports (and host-network ports) that workloads can't share on one node.
pub fn host_ports(cx: &Context<'_>, meta: &'static RuleMeta, out: &mut Findings) {
    let mut seen: Vec<(&Service, &Port, u16, &str)> = Vec::new();
    for (svc, port) in cx.manifest.ports() {
        // A pod's node port: its `hostPort`, or the container port itself on the host network.
        let Some((n, path)) = port.container.as_ref().and(port.node(svc)) else {
            continue;
        };
        let replicas = svc.pod.as_ref().and_then(|p| p.replicas).unwrap_or(1);
        if replicas > 1
            && !seen
                .iter()
                .any(|(s, p, _, _)| s.name == svc.name && p.protocol == port.protocol)
        {
            out.push(
                Finding::new(
                    meta,
                    path,
                    format!(
                        "`{}` runs {replicas} replicas with host port {n}/{}: the scheduler puts at most one on a node, so it needs {replicas} schedulable nodes and the rest stay Pending",
                        svc.name,
                        port.protocol.as_str()
                    ),
                )
                .severity(Severity::Warning)
                .label("one per node")
                .help("drop `hostPort` and reach the pods through a Service, or run it as a DaemonSet (one per node) if that is the intent"),
            );
        }
        let clash = seen.iter().find(|(s, p, m, _)| {
            *m == n
                && p.protocol == port.protocol
                && s.name != svc.name
                && binds_overlap(p.bind, port.bind)
                && match (&s.pod, &svc.pod) {
                    (Some(a), Some(b)) => a.can_share_node(b),
                    _ => true,
                }
        });
        if let Some((other, _, _, other_path)) = clash {
            let (severity, why) = if daemon(svc) || daemon(other) {
                (
                    Severity::Error,
                    "a DaemonSet holds it on every node it runs on, so the other never schedules there (Pending: \"node(s) didn't have free ports for the requested pod ports\")",
                )
            } else {
                (
                    Severity::Warning,
                    "their pods can't share a node: the scheduler keeps them apart, and with too few nodes some stay Pending",
                )
            };
            out.push(
                Finding::new(
                    meta,
                    path,
                    format!(
                        "host port {n}/{} of `{}` is also the host port of `{}`: {why}",
                        port.protocol.as_str(),
                        svc.name,
                        other.name
                    ),
                )
                .severity(severity)
                .label("same host port")
                .related(*other_path, format!("`{}` takes it here", other.name))
                .help("give one of them another hostPort, or drop `hostPort` and use a Service"),
            );
        }
        seen.push((svc, port, n, path));
    }
}

/// Two Services with one `nodePort`: the API server refuses the second ("provided port is already
/// allocated"). The allocator is cluster-wide and shared by TCP and UDP; one Service may use a number
/// for both protocols.
pub fn node_ports(cx: &Context<'_>, meta: &'static RuleMeta, out: &mut Findings) {
    // (Service name, its object's path, protocol, nodePort, the port's path)
    let mut seen: Vec<(&str, &str, Protocol, u16, &str)> = Vec::new();
    for s in &cx.manifest.kube_services {
        for p in &s.ports {
            let Some(np) = p.node_port else { continue };
            let path = crate::document::join(&p.path, "nodePort");
            // One Service may use a number for TCP and UDP; two Services (told apart by their
            // objects, not their names, which namespaces repeat) never.
            let clash = seen.iter().find(|(_, object, proto, n, _)| {
                *n == np && (*object != s.path.as_str() || *proto == p.protocol)
            });
            if let Some((other, _, _, _, other_path)) = clash {
                out.push(
                    Finding::new(
                        meta,
                        path.clone(),
                        format!(
                            "nodePort {np} of Service `{}` is already taken by Service `{other}`: the API server refuses it (\"provided port is already allocated\")",
                            s.name
                        ),
                    )
                    .label("nodePort taken")
                    .related(crate::document::join(other_path, "nodePort"), format!("`{other}` takes it here"))
                    .help(format!(
                        "remove `nodePort` so the API server picks a free one, or choose another in {}",
                        cx.manifest.target.node_port_range
                    )),
                );
            }
            seen.push((
                s.name.as_str(),
                s.path.as_str(),
                p.protocol,
                np,
                p.path.as_str(),
            ));
        }
    }
}
