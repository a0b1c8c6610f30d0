//! The deploy manifest: loading, validation, interpolation and the resolved form the rules read.
//!
//! [`load`] reads a file (with a size limit), parses it once with spans (`document`), validates it against
//! the JSON Schema generated from `model`, deserializes it, interpolates `${VAR}` references and resolves
//! it into a [`Manifest`]: services and ports in document order with defaults applied, each carrying the
//! dotted path that later stages use to name places. Every problem found is collected, not only the first.

mod checks;
pub(crate) mod compose;
pub mod discover;
mod ignores;
mod include;
pub(crate) mod interpolate;
mod kind;
mod kube_fields;
mod kube_gather;
mod kube_routes;
mod kube_stream;
mod kubernetes;
pub(crate) mod load;
pub(crate) mod model;
mod options;
pub mod render;
mod resolve;
mod text_map;

use std::collections::BTreeMap;
use std::net::IpAddr;

pub(crate) use checks::port_name_problem;
pub use ignores::{IgnoreScope, InlineIgnore};
pub use kind::Kind;
pub use kube_routes::{KubeRoute, RoutePort};
pub use load::{load, load_compose_files, load_str};
pub use model::{ContainerRuntime, Expose, Platform, Protocol, Purpose, RunAs, Runtime};
pub use options::{ComposeOptions, Limits, LoadOptions};
pub use text_map::TextMap;

use crate::ports::PortRange;
use interpolate::VarUse;

/// Kubernetes' default NodePort range (the API server's `--service-node-port-range`).
pub const DEFAULT_NODE_PORT_RANGE: PortRange = PortRange {
    start: 30000,
    end: 32767,
};

/// A manifest after validation and interpolation, with every default applied.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// What kind of file it was read from.
    pub kind: Kind,
    /// The target host.
    pub target: Target,
    /// The team blocks of `port_plan`, in file order.
    pub port_plan: Vec<PlanBlock>,
    /// The services, in file order.
    pub services: Vec<Service>,
    /// Names of the variables defined under `environment:`, in file order.
    pub environment: Vec<String>,
    /// `${VAR}` references that had no value and no default.
    pub unresolved: Vec<Unresolved>,
    /// Every interpolated value: path of the value → the variables it used.
    pub interpolations: BTreeMap<String, Vec<VarUse>>,
    /// What the reader saw and left out, and why (`ignored-ports` reports them).
    pub ignored: Vec<Ignored>,
    /// Keys that may shape ports but that preflight does not read (`not-read` reports them).
    pub unread: Vec<Unread>,
    /// Mapping keys written twice (the last value was read; `duplicate-key` reports them).
    pub duplicates: Vec<Duplicate>,
    /// Inline ignores: `# preflight: ignore[…]` comments and `ignore.preflight/…` annotations.
    pub ignores: Vec<InlineIgnore>,
    /// Kubernetes Services (read from Kubernetes manifests; empty otherwise).
    pub kube_services: Vec<KubeService>,
    /// Ingress and Gateway API backends: the Service ports they route to.
    pub kube_routes: Vec<KubeRoute>,
    /// Rendered Helm output: the document path prefix (`3`) → the template its `# Source:` comment
    /// names, so findings can say which template to edit.
    pub templates: BTreeMap<String, String>,
}

/// A Kubernetes pod template, for the rules that only Kubernetes has (placement, privileges).
#[derive(Debug, Clone)]
pub struct Pod {
    /// The workload kind (`Deployment`, `DaemonSet`, …).
    pub kind: String,
    /// `metadata.namespace`, when given.
    pub namespace: Option<String>,
    /// `spec.replicas` (default 1); `None` for a DaemonSet, which runs one pod per node.
    pub replicas: Option<u32>,
    /// `hostNetwork: true`: the containers' ports are the node's ports.
    pub host_network: bool,
    /// The pod template's labels, which Service selectors match.
    pub labels: TextMap,
    /// The pod sysctl `net.ipv4.ip_unprivileged_port_start`, when set.
    pub unprivileged_port_start: Option<u16>,
    /// `nodeSelector`: the node labels the pod requires.
    pub node_selector: TextMap,
}

impl Pod {
    /// Whether pods of this template and of `other` could run on one node, as far as their
    /// `nodeSelector`s tell: not when both require one label with different values. Affinity and
    /// taints are not read, so "could" errs towards yes.
    pub fn can_share_node(&self, other: &Pod) -> bool {
        self.node_selector
            .iter()
            .all(|(k, v)| other.node_selector.get(k).is_none_or(|o| o == v))
    }
}

/// The container a Kubernetes port belongs to.
#[derive(Debug, Clone)]
pub struct Container {
    /// The container's name.
    pub name: String,
    /// A plain init container (runs to completion before the others start; not a sidecar).
    pub init: bool,
    /// Who it runs as: `Some(Root)` for uid 0, `Some(User)` for another uid or `runAsNonRoot: true`,
    /// `None` when the image decides.
    pub run_as: Option<RunAs>,
    /// `NET_BIND_SERVICE` in `securityContext.capabilities.add`.
    pub bind_capability: bool,
    /// `hostPort`, when set: the node's port mapped to this container port.
    pub host_port: Option<u16>,
    /// Path of `hostPort`.
    pub host_port_path: String,
}

/// A Kubernetes Service.
#[derive(Debug, Clone)]
pub struct KubeService {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, when given.
    pub namespace: Option<String>,
    /// `spec.type` (`ClusterIP` when not given).
    pub service_type: std::borrow::Cow<'static, str>,
    /// `spec.selector`; empty when the Service has none (its endpoints are managed by hand).
    pub selector: TextMap,
    /// Its ports.
    pub ports: Vec<KubeServicePort>,
    /// Path of the Service object.
    pub path: String,
}

/// One port of a Kubernetes Service.
#[derive(Debug, Clone)]
pub struct KubeServicePort {
    /// `name`, when given.
    pub name: Option<String>,
    /// `port`.
    pub port: u16,
    /// `targetPort`; `None` when not given (it then equals `port`).
    pub target: Option<TargetPort>,
    /// `nodePort`, when given.
    pub node_port: Option<u16>,
    /// `protocol`.
    pub protocol: Protocol,
    /// Path of the port entry.
    pub path: String,
}

/// A Service's `targetPort`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    /// A container port number.
    Number(u16),
    /// A container port name.
    Name(String),
}

/// A key of the input that may shape ports and that preflight does not read.
#[derive(Debug, Clone)]
pub struct Unread {
    /// Path of the key's value.
    pub path: String,
    /// What is not read and what that leaves unchecked.
    pub message: String,
}

/// A mapping key written twice in one mapping: the later value is read (as PyYAML and other
/// non-strict readers do), and the first is reported.
#[derive(Debug, Clone)]
pub struct Duplicate {
    /// Path of the later (read) value.
    pub path: String,
    /// Path of the earlier one (see [`crate::document::SourceMap::duplicates`]).
    pub earlier: String,
    /// The key.
    pub key: String,
}

/// A Compose service that joins another container's network namespace (`network_mode:
/// service:X` or `container:X`).
#[derive(Debug, Clone)]
pub struct SharedNetwork {
    /// The mode as written (after interpolation): `service:vpn`, `container:abc`.
    pub mode: String,
    /// The service whose namespace it joins (`service:X`); `None` for `container:X`.
    pub service: Option<String>,
    /// Path of the `network_mode` value.
    pub path: String,
    /// Paths of its `ports` entries, which Docker refuses to publish for such a container.
    pub refused: Vec<String>,
}

/// A port a container declares it listens on inside its own network namespace.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The container port.
    pub number: u16,
    /// Its protocol.
    pub protocol: Protocol,
    /// Path of the entry that declares it.
    pub path: String,
    /// Declared as the container side of a published port (`ports`) rather than by `expose`.
    pub published: bool,
}

/// Something of the input that will not become a listener, with the reason.
#[derive(Debug, Clone)]
pub struct Ignored {
    /// Path of what is left out.
    pub path: String,
    /// What happens to it.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

/// The target host as the manifest describes it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The platform.
    pub platform: Platform,
    /// Who the services run as.
    pub run_as: RunAs,
    /// Granted Linux capabilities, canonical (`NET_BIND_SERVICE`), sorted.
    pub capabilities: Vec<String>,
    /// Whether the platform was implied rather than written (a Compose file runs wherever Docker
    /// runs): the host facts, when given, decide it.
    pub implied: bool,
    /// The Kubernetes nodes' container runtime, when known: it decides whether pods may bind ports
    /// below 1024 without privileges.
    pub container_runtime: Option<ContainerRuntime>,
    /// The cluster's NodePort range (`--service-node-port-range`, 30000-32767 by default).
    pub node_port_range: PortRange,
}

impl Target {
    /// Whether the capability (canonical name, e.g. `NET_BIND_SERVICE`) is granted.
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c == name)
    }
}

/// One team's block of the port plan.
#[derive(Debug, Clone)]
pub struct PlanBlock {
    /// The team's name.
    pub team: String,
    /// Its ports.
    pub range: PortRange,
    /// Path of the block (`port_plan.orders`).
    pub path: String,
}

/// A service with its ports.
#[derive(Debug, Clone)]
pub struct Service {
    /// The service's name.
    pub name: String,
    /// The owning team.
    pub team: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// What it is built with.
    pub runtime: Runtime,
    /// Socket options declared in the manifest (not the runtime's defaults).
    pub socket: model::SocketOptions,
    /// Its ports, in file order.
    pub ports: Vec<Port>,
    /// Path of the service (`services.orders-api`).
    pub path: String,
    /// How many copies run at once on the target (Compose `deploy.replicas`/`scale`); 1 for a
    /// deploy manifest.
    pub replicas: u32,
    /// The pod template, for a Kubernetes workload.
    pub pod: Option<Box<Pod>>,
    /// The network namespace it joins, for a Compose service with `network_mode: service:X` or
    /// `container:X`.
    pub network: Option<Box<SharedNetwork>>,
    /// The ports it declares inside its own network namespace (Compose: `expose` and the container
    /// side of `ports`).
    pub listens: Vec<Listen>,
}

/// One port of a service, with defaults applied.
#[derive(Debug, Clone)]
pub struct Port {
    /// The port's name (`http`).
    pub name: String,
    /// The number; `None` when it came from a `${VAR}` that has no value.
    pub number: Option<u16>,
    /// The transport protocol.
    pub protocol: Protocol,
    /// The bind address (`0.0.0.0` when not given).
    pub bind: IpAddr,
    /// Who must reach it.
    pub expose: Expose,
    /// What it carries.
    pub purpose: Option<Purpose>,
    /// Path of the port entry (`services.orders-api.ports.http`).
    pub path: String,
    /// Path of the port number: `….ports.http.port`, or the entry itself for the shorthand `http: 8080`.
    pub number_path: String,
    /// The container port behind a published port (Compose, Kubernetes); `None` in a deploy manifest.
    pub target: Option<u16>,
    /// When Docker picks the host port from a range (`"8000-9000:80"`): that range; `number` is then
    /// `None`, and so it is when Docker picks from its ephemeral range (`"3000"`).
    pub pick: Option<PortRange>,
    /// Whether Docker's port mapping publishes it: its own iptables chains admit the traffic, so the
    /// host's INPUT rules (ufw, firewalld) don't decide whether it is reachable.
    pub docker: bool,
    /// The container it belongs to, for a Kubernetes workload.
    pub container: Option<Box<Container>>,
}

impl Port {
    /// Path of the bind address.
    pub fn bind_path(&self) -> String {
        format!("{}.bind", self.path)
    }

    /// The bind address as messages say it: "every address" where Docker publishes without `host_ip`
    /// (it opens `0.0.0.0` and `::`), else the address.
    pub fn bind_text(&self) -> String {
        if self.docker && self.bind.is_unspecified() {
            "every address".to_owned()
        } else {
            self.bind.to_string()
        }
    }

    /// The port as the host sees it, which the host rules judge: a Kubernetes container's `hostPort`,
    /// or the port itself in a `hostNetwork` pod, and no port of the node otherwise (the pod has its
    /// own network namespace); for every other port, its number.
    pub fn node_port(&self, svc: &Service) -> Option<u16> {
        match &self.container {
            Some(c) if c.init => None,
            Some(c) => c
                .host_port
                .or_else(|| svc.pod.as_ref().filter(|p| p.host_network).and(self.number)),
            None => self.number,
        }
    }

    /// [`Port::node_port`] with the path of its text: the `hostPort` value, or the port's own.
    pub fn node(&self, svc: &Service) -> Option<(u16, &str)> {
        let n = self.node_port(svc)?;
        match &self.container {
            Some(c) if c.host_port.is_some() => Some((n, &c.host_port_path)),
            _ => Some((n, &self.number_path)),
        }
    }

    /// Whether inbound traffic to the port is forwarded (DNAT in PREROUTING, then FORWARD) rather than
    /// delivered to a local listener through INPUT: ports Docker publishes, and a pod's `hostPort`
    /// outside the host network (the CNI portmap plugin's rules).
    pub fn forwarded(&self, svc: &Service) -> bool {
        let host_network = svc.pod.as_ref().is_some_and(|p| p.host_network);
        self.docker
            || self
                .container
                .as_ref()
                .is_some_and(|c| c.host_port.is_some())
                && !host_network
    }

    /// `8080/tcp`, or `?/tcp` when unresolved.
    pub fn label(&self) -> String {
        match self.number {
            Some(n) => format!("{n}/{}", self.protocol.as_str()),
            None => format!("?/{}", self.protocol.as_str()),
        }
    }
}

/// What interpolating a file's values leaves for the rules: the references that had no value, and the
/// variables behind each interpolated value, by path.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    /// References without a value or default.
    pub(crate) unresolved: Vec<Unresolved>,
    /// Path of an interpolated value → the variables it used.
    pub(crate) interpolations: BTreeMap<String, Vec<VarUse>>,
}

impl Trace {
    /// Records the value interpolated at `path`.
    pub(crate) fn record(&mut self, path: &str, i: &interpolate::Interpolated) {
        for name in i.unresolved() {
            self.unresolved.push(Unresolved {
                path: path.to_owned(),
                name: name.to_owned(),
            });
        }
        if !i.uses.is_empty() {
            self.interpolations.insert(path.to_owned(), i.uses.clone());
        }
    }
}

/// A `${VAR}` reference with no value.
#[derive(Debug, Clone)]
pub struct Unresolved {
    /// Path of the value holding the reference.
    pub path: String,
    /// The variable's name.
    pub name: String,
}

impl Manifest {
    /// Every port with its service, in file order.
    pub fn ports(&self) -> impl Iterator<Item = (&Service, &Port)> {
        self.services
            .iter()
            .flat_map(|s| s.ports.iter().map(move |p| (s, p)))
    }

    /// The plan block of a team.
    pub fn plan_block(&self, team: &str) -> Option<&PlanBlock> {
        self.port_plan.iter().find(|b| b.team == team)
    }
}
