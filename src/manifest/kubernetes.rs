//! Kubernetes manifests read into a [`Manifest`]: one service per workload (its pod template's
//! container ports, each with its container), and the Services with their ports, selectors and
//! nodePorts for the rules only Kubernetes has.
//!
//! Input: one or several YAML documents (`---`), `kind: List` objects, rendered Helm charts (their
//! `# Source: chart/templates/x.yaml` comments are kept per document, so findings can name the
//! template). Workloads: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
//! Job and CronJob; other kinds are passed over. Places are the paths of the values in the file
//! (`2.spec.template.spec.containers.0.ports.1.containerPort`).

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use super::{
    Container, Expose, KubeService, KubeServicePort, Pod, Port, RunAs, Service, TargetPort,
};
use crate::document::{Document, Problem, Span, join};

use super::kube_fields::{protocol, str_map};

/// Reads workloads and Services out of Kubernetes objects, gathering the problems and what it leaves
/// out on the way.
#[derive(Default)]
pub(super) struct Reader {
    /// Problems, each with the file-local path its span is taken from once the file's source map is
    /// complete (a stream's documents are read as they are parsed, before it is).
    pub(super) problems: Vec<(String, Problem)>,
    pub(super) ignored: Vec<super::Ignored>,
}

impl Reader {
    /// A port whose protocol is not TCP or UDP: SCTP is listed as not checked, anything else is a
    /// problem (the API server refuses it).
    fn other_protocol(&mut self, path: &str, what: &str, sctp: bool) {
        if sctp {
            self.sctp(path, what);
            return;
        }
        let ppath = join(path, "protocol");
        let local = Document::split_part(&ppath).1.to_owned();
        let problem = Problem::at(
            Span::default(),
            format!("the protocol of {what} is not one Kubernetes accepts"),
            "bad protocol",
        )
        .help("write TCP, UDP or SCTP (in capitals)")
        .at_path(local.clone());
        self.problems.push((local, problem));
    }

    /// A port whose protocol preflight's rules don't cover.
    fn sctp(&mut self, path: &str, what: &str) {
        self.ignored.push(super::Ignored {
            path: path.to_owned(),
            message: format!("{what} is SCTP: preflight checks TCP and UDP ports only"),
            help: "check SCTP ports by hand".to_owned(),
        });
    }

    fn port_number(&mut self, path: &str, v: &Value, what: &str) -> Option<u16> {
        match v.as_u64() {
            Some(n @ 1..=65535) => Some(n as u16),
            _ => {
                let problem = Problem::at(
                    Span::default(),
                    format!("{what} {v} is not a port number (1-65535)"),
                    "bad port",
                )
                .help("write a number from 1 to 65535")
                .at_path(path);
                let local = Document::split_part(path).1.to_owned();
                self.problems.push((local, problem));
                None
            }
        }
    }

    /// A workload: the pod template's spec and metadata, where the kind keeps them.
    pub(super) fn workload(&mut self, path: &str, obj: &Value, kind: &str) -> Option<Service> {
        let (tpath, template) = match kind {
            "Pod" => (path.to_owned(), obj),
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "ReplicationController"
            | "Job" => (
                join(path, "spec.template"),
                obj.get("spec")?.get("template")?,
            ),
            "CronJob" => (
                join(path, "spec.jobTemplate.spec.template"),
                obj.get("spec")?
                    .get("jobTemplate")?
                    .get("spec")?
                    .get("template")?,
            ),
            _ => return None,
        };
        let meta = obj.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)")
            .to_owned();
        let namespace = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let replicas = match kind {
            "DaemonSet" => None,
            "Pod" => Some(1),
            _ => Some(
                obj.get("spec")
                    .and_then(|s| s.get("replicas"))
                    .and_then(Value::as_u64)
                    .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            ),
        };
        let spec = template.get("spec")?;
        let spath = join(&tpath, "spec");
        let labels = str_map(template.get("metadata").and_then(|m| m.get("labels")));
        let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
        let pod_sc = spec.get("securityContext");
        let unprivileged_port_start = pod_sc
            .and_then(|sc| sc.get("sysctls"))
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter().find(|s| {
                    s.get("name").and_then(Value::as_str)
                        == Some("net.ipv4.ip_unprivileged_port_start")
                })
            })
            .and_then(|s| match s.get("value") {
                Some(Value::String(t)) => t.trim().parse().ok(),
                Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                _ => None,
            });
        let mut ports = Vec::new();
        for (list, init) in [("initContainers", true), ("containers", false)] {
            let Some(containers) = spec.get(list).and_then(Value::as_array) else {
                continue;
            };
            for (ci, c) in containers.iter().enumerate() {
                let cpath = join(&join(&spath, list), &ci.to_string());
                // An init container with `restartPolicy: Always` is a sidecar: it keeps running.
                let sidecar = c.get("restartPolicy").and_then(Value::as_str) == Some("Always");
                self.container(
                    &cpath,
                    c,
                    pod_sc,
                    init && !sidecar,
                    host_network,
                    &mut ports,
                );
            }
        }
        ports.shrink_to_fit(); // grown port by port, it kept room for four
        Some(Service {
            name,
            team: None,
            description: None,
            runtime: super::Runtime::Other,
            socket: Default::default(),
            ports,
            path: path.to_owned(),
            replicas: replicas.unwrap_or(1),
            pod: Some(Box::new(Pod {
                kind: kind.to_owned(),
                namespace,
                replicas,
                host_network,
                labels,
                unprivileged_port_start,
                node_selector: str_map(spec.get("nodeSelector")),
            })),
            network: None,
            listens: Vec::new(),
        })
    }

    fn container(
        &mut self,
        cpath: &str,
        c: &Value,
        pod_sc: Option<&Value>,
        init: bool,
        host_network: bool,
        out: &mut Vec<Port>,
    ) {
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let sc = c.get("securityContext");
        let field = |k: &str| {
            sc.and_then(|s| s.get(k))
                .or_else(|| pod_sc.and_then(|s| s.get(k)))
        };
        let run_as = match field("runAsUser").and_then(Value::as_i64) {
            Some(0) => Some(RunAs::Root),
            Some(_) => Some(RunAs::User),
            None if field("runAsNonRoot").and_then(Value::as_bool) == Some(true) => {
                Some(RunAs::User)
            }
            None => None,
        };
        let bind_capability = sc
            .and_then(|s| s.get("capabilities"))
            .and_then(|c| c.get("add"))
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter().filter_map(Value::as_str).any(|c| {
                    let c = c.to_ascii_uppercase();
                    c == "NET_BIND_SERVICE" || c == "CAP_NET_BIND_SERVICE" || c == "ALL"
                })
            });
        let Some(list) = c.get("ports").and_then(Value::as_array) else {
            return;
        };
        for (pi, p) in list.iter().enumerate() {
            let ppath = join(&join(cpath, "ports"), &pi.to_string());
            let npath = join(&ppath, "containerPort");
            let Some(n) = p
                .get("containerPort")
                .and_then(|v| self.port_number(&npath, v, "containerPort"))
            else {
                continue;
            };
            let protocol = match protocol(p.get("protocol")) {
                Ok(p) => p,
                Err(sctp) => {
                    self.other_protocol(&ppath, &format!("container port {n} of `{name}`"), sctp);
                    continue;
                }
            };
            let hpath = join(&ppath, "hostPort");
            let host_port = match p.get("hostPort") {
                Some(v) if v.as_u64() == Some(0) || v.is_null() => None,
                Some(v) => self.port_number(&hpath, v, "hostPort"),
                None => None,
            };
            let bind = p
                .get("hostIP")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<IpAddr>().ok())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            let pname = p
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{name}:{n}"), str::to_owned);
            out.push(Port {
                name: pname,
                number: Some(n),
                protocol,
                bind: if host_port.is_some() || host_network {
                    bind
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                },
                expose: Expose::Internal,
                purpose: None,
                path: ppath.clone(),
                number_path: npath,
                target: Some(n),
                pick: None,
                docker: false,
                container: Some(Box::new(Container {
                    name: name.clone(),
                    init,
                    run_as,
                    bind_capability,
                    host_port,
                    host_port_path: hpath,
                })),
            });
        }
    }

    pub(super) fn service(&mut self, path: &str, obj: &Value) -> Option<KubeService> {
        let meta = obj.get("metadata");
        let spec = obj.get("spec")?;
        let spath = join(path, "spec");
        let mut ports = Vec::new();
        if let Some(list) = spec.get("ports").and_then(Value::as_array) {
            ports.reserve_exact(list.len()); // grown from empty, it kept room for four
            for (i, p) in list.iter().enumerate() {
                let ppath = join(&join(&spath, "ports"), &i.to_string());
                let Some(port) = p
                    .get("port")
                    .and_then(|v| self.port_number(&join(&ppath, "port"), v, "port"))
                else {
                    continue;
                };
                // `0`, `""` and no value all mean "the same as `port`" (SetDefaults_Service).
                let target = match p.get("targetPort") {
                    Some(Value::String(s)) if s.is_empty() => None,
                    Some(v) if v.as_u64() == Some(0) => None,
                    Some(Value::String(s)) => match s.parse::<u16>() {
                        Ok(n) => Some(TargetPort::Number(n)),
                        Err(_) => Some(TargetPort::Name(s.clone())),
                    },
                    Some(v) if !v.is_null() => self
                        .port_number(&join(&ppath, "targetPort"), v, "targetPort")
                        .map(TargetPort::Number),
                    _ => None,
                };
                let node_port = match p.get("nodePort") {
                    Some(v) if v.as_u64() == Some(0) || v.is_null() => None,
                    Some(v) => self.port_number(&join(&ppath, "nodePort"), v, "nodePort"),
                    None => None,
                };
                let protocol = match protocol(p.get("protocol")) {
                    Ok(p) => p,
                    Err(sctp) => {
                        self.other_protocol(&ppath, &format!("Service port {port}"), sctp);
                        continue;
                    }
                };
                ports.push(KubeServicePort {
                    name: p.get("name").and_then(Value::as_str).map(str::to_owned),
                    port,
                    target,
                    node_port,
                    protocol,
                    path: ppath,
                });
            }
        }
        Some(KubeService {
            name: meta
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)")
                .to_owned(),
            namespace: meta
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            service_type: service_type(spec.get("type").and_then(Value::as_str)),
            selector: str_map(spec.get("selector")),
            ports,
            path: path.to_owned(),
        })
    }
}

/// `spec.type`, borrowed when it is one of the four types Kubernetes defines (a 10 MB stream's 61,186
/// Services each held `ClusterIP` in an allocation of its own).
fn service_type(written: Option<&str>) -> std::borrow::Cow<'static, str> {
    const KNOWN: [&str; 4] = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
    let t = written.unwrap_or("ClusterIP");
    KNOWN
        .iter()
        .find(|k| **k == t)
        .map_or_else(|| t.to_owned().into(), |k| (*k).into())
}
