//! The Kubernetes part of `privileged-port`: which limit a container's port meets, from the pod
//! sysctl, `hostNetwork` and the nodes' container runtime. The rule's docs describe it.

use super::Context;
use crate::facts::Fact;
use crate::finding::{Finding, RuleMeta, Severity};
use crate::manifest::{ContainerRuntime, Port, RunAs, Service};

/// What to do about a low port in a non-root container.
pub const HELP: &str = "set the pod sysctl `net.ipv4.ip_unprivileged_port_start: \"0\"` in `securityContext.sysctls` (safe since Kubernetes 1.22, not with hostNetwork), or listen on a port >= 1024 and map the Service `port` to it with `targetPort`, or `setcap cap_net_bind_service=+ep` on the binary in the image";

/// The lowest port a non-root process of the pod may bind, with the severity of missing it and where
/// the limit comes from; `None` when the runtime lets pods bind every port.
pub fn runtime_limit(
    runtime: Option<ContainerRuntime>,
    pod_sysctl: Option<u16>,
    host_network: bool,
    node: &Fact<u16>,
) -> Option<(u16, Severity, String)> {
    if host_network {
        return Some((
            node.value,
            Severity::Error,
            format!(
                "{}; a hostNetwork pod uses the node's value",
                node.describe()
            ),
        ));
    }
    if let Some(v) = pod_sysctl {
        return Some((
            v,
            Severity::Error,
            "the pod sysctl net.ipv4.ip_unprivileged_port_start".to_owned(),
        ));
    }
    match runtime {
        Some(rt) if rt.pods_bind_low_ports() => None,
        Some(rt) => Some((
            1024,
            Severity::Error,
            format!("`{}` keeps the kernel default for pods", rt.as_str()),
        )),
        None => Some((
            1024,
            Severity::Warning,
            "where the nodes run CRI-O or containerd 1.x, which keep the kernel default; containerd 2.x, Docker, k3s and kind set 0 for pods: set `target.container_runtime` to know".to_owned(),
        )),
    }
}

/// The finding for a container port below the limit of its pod, if it is one.
pub fn check(
    cx: &Context<'_>,
    meta: &'static RuleMeta,
    svc: &Service,
    port: &Port,
    n: u16,
    node: &Fact<u16>,
) -> Option<Finding> {
    let run_as = match &port.container {
        Some(c) => c.run_as,
        None => Some(cx.manifest.target.run_as),
    };
    if !matches!(run_as, Some(RunAs::User)) {
        return None;
    }
    let pod = svc.pod.as_ref();
    let (limit, severity, why) = runtime_limit(
        cx.manifest.target.container_runtime,
        pod.and_then(|p| p.unprivileged_port_start),
        pod.is_some_and(|p| p.host_network),
        node,
    )?;
    if n >= limit {
        return None;
    }
    let caps_note = if port.container.as_ref().is_some_and(|c| c.bind_capability) {
        "; adding NET_BIND_SERVICE does not help: Kubernetes has no ambient capabilities, so a non-root process gets it only from file capabilities on its binary"
    } else {
        ""
    };
    let who = match &port.container {
        Some(c) => format!("container `{}` of `{}`", c.name, svc.name),
        None => format!("`{}`", svc.name),
    };
    Some(
        Finding::new(
            meta,
            port.number_path.clone(),
            format!(
                "port {} of {who} is below {limit} ({why}) and the container runs as non-root{caps_note}",
                port.label()
            ),
        )
        .severity(severity)
        .help(HELP),
    )
}
