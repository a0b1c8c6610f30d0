//! `port-conflict`: two services of the manifest want the same port on overlapping addresses.

use super::{Context, suggest_port};
use crate::finding::RuleMeta;
use crate::finding::{Deferred, DeferredRule, Finding, Findings, Severity, index};
use crate::manifest::{Platform, Port, Protocol, Service};
use crate::ports::binds_overlap;

/// Metadata of `port-conflict`.
pub const META: RuleMeta = RuleMeta {
    id: "port-conflict",
    severity: Severity::Error,
    summary: "two ports share protocol and number on overlapping bind addresses",
    facts: &[],
    docs: r#"## What it does
Reports a port whose protocol and number are already used by an earlier port of the manifest on an
overlapping bind address. Addresses overlap when they are equal or one is a wildcard: `0.0.0.0` covers
every IPv4 address and `::` every address (Linux, Go, Node and Java open `::` dual-stack). TCP and UDP on
one number do not clash. Two ports of the *same* service on the same protocol, number and address are one
listener serving both (see `shared-port-purpose`), not a conflict. On `kubernetes` every service is its
own pod with its own network namespace, so only ports within one service are compared.

In a Compose file every published port is a listener of its own (Docker's), so two entries of one
service that publish one host port on overlapping addresses conflict too, and a fixed host port on a
service with more than one replica (`deploy.replicas`, `scale`) fails for the second replica. A port
without `host_ip` is published on every address (Docker opens `0.0.0.0` and `::`). Ports Docker picks
itself (`"3000"`, `"8000-9000:80"`) are not compared.

## Why is this bad?
Only one socket can listen on an address and port: the service that starts second fails with
"address already in use" (Linux `EADDRINUSE` 98, Windows `WSAEADDRINUSE` 10048). On Linux
`127.0.0.1:P` and `0.0.0.0:P` conflict too, even with SO_REUSEADDR.

In Kubernetes manifests: two containers of one pod on one port and protocol (they share the pod's
network namespace; plain init containers have exited by then), two Services with one `nodePort` (the
API server refuses the second: "provided port is already allocated"), and `hostPort`s (or the ports of
`hostNetwork` pods) that workloads share on a node: a DaemonSet runs on every node (it selects), so any
other workload with its host port never schedules there; two other workloads can't share a node; and a
workload with `replicas` > 1 needs one node per replica (the scheduler won't put two on one node; the
rest stay Pending). Workloads whose `nodeSelector`s require one label with different values never meet
on a node and are not compared; affinity and taints are not read.

## Example
```yaml
services:
  orders-api:  { ports: { http: 8080 } }
  billing-api: { ports: { http: { port: 8080, bind: 127.0.0.1 } } }   # overlaps 0.0.0.0:8080
```

## Fix
Give one of the two another port (the team's `port_plan` block has room), or bind them to distinct
specific addresses that do not overlap. For a replicated Compose service, publish a range with one
container port (`"8000-8002:80"`: Docker gives each replica one free port of it) or no host port.
"#,
};

/// Reports each port that clashes with an earlier one (once, naming the first it clashes with).
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let per_pod = cx.manifest.target.platform == Platform::Kubernetes;
    let services = &cx.manifest.services;
    // The ports seen so far (service and port indices), and for each (protocol, number) the chain of
    // them in the order seen: `first` holds where a pair's chain starts and `last` where it ends
    // (indexed by the pair, as in `PortSet`), each seen port where its pair's next one is. No hashing
    // and no list per number: a manifest's 30,000 ports had cost 30,000 small allocations.
    let mut seen: Vec<(u32, u32, u32)> = Vec::new();
    let mut first = vec![NONE; 2 << 16];
    let mut last = vec![NONE; 2 << 16];
    let mut replicated_entries = std::collections::HashSet::new();
    let ports = services
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.ports.iter().enumerate().map(move |(j, p)| (i, s, j, p)));
    for (si, svc, pi, port) in ports {
        let Some(n) = port.number else { continue };
        // A plain init container has exited before the pod's other containers start.
        if port.container.as_ref().is_some_and(|c| c.init) {
            continue;
        }
        let (Some(si32), Some(pi32)) = (index(si), index(pi)) else {
            continue;
        };
        let pair = usize::from(port.protocol == Protocol::Udp) << 16 | usize::from(n);
        let at = |i: u32| {
            let (s, p, _) = seen[i as usize];
            (
                s,
                p,
                &services[s as usize],
                &services[s as usize].ports[p as usize],
            )
        };
        let mut earlier = std::iter::successors(Some(first[pair]).filter(|&i| i != NONE), |&i| {
            Some(seen[i as usize].2).filter(|&i| i != NONE)
        })
        .map(at);
        let clash = earlier.find(|(_, _, s, p)| {
            let same_service = s.name == svc.name;
            // Pods have network namespaces of their own (a Kubernetes container port is never a
            // port of the host, whatever the target).
            let pods = per_pod || p.container.is_some() || port.container.is_some();
            if pods && !same_service {
                return false;
            }
            // Within one service (one process) a port written twice is one listener; Docker
            // publishes each entry separately, and containers of one pod are separate processes.
            let same_process = match (&p.container, &port.container) {
                (Some(a), Some(b)) => a.name == b.name,
                _ => true,
            };
            let one_listener = same_service && p.bind == port.bind && !port.docker && same_process;
            binds_overlap(p.bind, port.bind) && !one_listener
        });
        // One finding per entry: `"9090-9091:8080-8081"` is one mistake, not two.
        // Only Compose services have replicas > 1 here: published or on the host network alike, a
        // second replica can't take the host port.
        if clash.is_none()
            && port.container.is_none()
            && svc.replicas > 1
            && !per_pod
            && replicated_entries.insert(port.path.as_str())
        {
            out.push(replicas_clash(cx, svc, port, n));
        }
        if let Some((other_si, other_pi, other_svc, other)) = clash {
            let suggested = suggest_port(cx, svc, port.protocol);
            let d = Deferred {
                rule: DeferredRule::PortConflict,
                severity: META.severity,
                suggested,
                service: si32,
                port: pi32,
                other: (other_si, other_pi),
            };
            cx.defer(out, d, || conflict(svc, port, other_svc, other, suggested));
        }
        let index = u32::try_from(seen.len()).unwrap_or(NONE);
        seen.push((si32, pi32, NONE));
        match last[pair] {
            NONE => first[pair] = index,
            tail => seen[tail as usize].2 = index,
        }
        last[pair] = index;
    }
    super::kube_conflict::host_ports(cx, &META, out);
    super::kube_conflict::node_ports(cx, &META, out);
    super::shared_network::check(cx, &META, out);
}

/// The finding that `port` of `svc` clashes with `other` of `other_svc`, an earlier port, with
/// `suggested` (a free port of the team's block) in its help and fix. [`check`] defers it (see
/// [`Deferred`]); `rules::render` makes it whole through this function.
pub(super) fn conflict(
    svc: &Service,
    port: &Port,
    other_svc: &Service,
    other: &Port,
    suggested: Option<u16>,
) -> Finding {
    // The fixed texts are written once; where no free port goes between them, `concat!` joins them
    // into one borrowed help (a copy in each of a 10 MB Compose file's 34,840 findings took 5 MB).
    macro_rules! move_one {
        () => {
            "move one of the two to another port"
        };
    }
    macro_rules! or_bind {
        () => {
            ", or bind them to distinct addresses that do not overlap (a wildcard overlaps every address)"
        };
    }
    const MOVE_CONTAINER: &str = "move one of the two containers to another port: containers of one pod can't listen on the same port";
    let help: std::borrow::Cow<'static, str> = match (suggested, port.container.is_some()) {
        (None, true) => MOVE_CONTAINER.into(),
        (None, false) => concat!(move_one!(), or_bind!()).into(),
        (Some(s), true) => format!(
            "{MOVE_CONTAINER} ({s} is free in `{}`'s team block)",
            svc.name
        )
        .into(),
        (Some(s), false) => format!(
            concat!(
                move_one!(),
                " ({} is free in `{}`'s team block)",
                or_bind!()
            ),
            s, svc.name
        )
        .into(),
    };
    Finding::new(
        &META,
        port.number_path.clone(),
        match (&port.container, &other.container) {
            (Some(c), Some(o)) => format!(
                "port {} of container `{}` is already used by container `{}` of the same pod `{}`: containers of a pod share its network namespace",
                port.label(),
                c.name,
                o.name,
                svc.name
            ),
            _ => format!(
                "port {} on {} of `{}` is already used by `{}` (port `{}` on {})",
                port.label(),
                port.bind_text(),
                svc.name,
                other_svc.name,
                other.name,
                other.bind_text()
            ),
        },
    )
    .label("second use")
    .related(
        other.number_path.clone(),
        format!("first used by `{}` here", other_svc.name),
    )
    .help(help)
    .fix(super::choose_port(svc, port, suggested))
}

/// The end of a chain of [`check`]'s seen ports.
const NONE: u32 = u32::MAX;

/// A fixed host port on a Compose service with several replicas: the second replica can't publish it.
fn replicas_clash(cx: &Context<'_>, svc: &Service, port: &Port, n: u16) -> Finding {
    let suggested = suggest_port(cx, svc, port.protocol);
    let target = port.target.unwrap_or(n);
    let one_target = svc.ports.iter().filter(|p| p.path == port.path).count() == 1;
    let help = if one_target {
        format!(
            "publish a range with one container port, one host port per replica (\"{n}-{}:{target}\"), or leave the host port out (\"{target}\") and put a proxy in front",
            n.saturating_add(u16::try_from(svc.replicas.saturating_sub(1)).unwrap_or(u16::MAX)),
        )
    } else {
        "leave the host ports out (Docker then picks a free port for each replica), or run one replica".to_owned()
    };
    Finding::new(
        &META,
        port.number_path.clone(),
        format!(
            "`{}` runs {} replicas but publishes the fixed host port {}: replica 2 fails (\"Bind for {}:{n} failed: port is already allocated\")",
            svc.name,
            svc.replicas,
            port.label(),
            if port.bind.is_unspecified() { "0.0.0.0".to_owned() } else { port.bind.to_string() },
        ),
    )
    .label("one host port, several replicas")
    .help(help)
    .fix(super::choose_port(svc, port, suggested))
}
