//! Every field of a Kubernetes pod spec, container, container port, Service spec and Service port,
//! classified by what preflight does with it: read, left alone because it takes no port, or not read
//! although it may decide one (each use is then reported by `not-read`).
//!
//! Also the readers of the values of two kinds of fields: text maps (`labels`, `selector`) and a
//! port's `protocol`.
//!
//! A unit test walks the Kubernetes API's JSON Schemas (vendored as test data,
//! `tests/fixtures/spec/kubernetes`): a field nobody classified fails it.

use serde_json::Value;

use super::Unread;
use super::compose::fields::Use::{self, NotPorts, NotRead, Read};
use crate::document::join;
use crate::ports::Protocol;

const PLACE: &str = "which node a pod runs on decides which workloads share a node's host ports; preflight judges that from `nodeSelector` only, so host-port clashes err towards yes";
const RUN: &str = "a setting of the pod's processes, storage or scheduling, not of its ports";
const INSIDE: &str =
    "may set the port the process listens on; preflight trusts the declared container ports";
const PROBE: &str = "a probe connects to a port; it takes none";
const META: &str = "metadata";

/// A map of text values (`labels`, `selector`); a value that is not text is written as JSON.
pub(super) fn str_map(v: Option<&Value>) -> super::TextMap {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let t = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), t)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A port's `protocol`: TCP (the default) or UDP; `Err(true)` for SCTP (not checked), `Err(false)`
/// for anything the API server refuses (the names are case-sensitive).
pub(super) fn protocol(v: Option<&Value>) -> Result<Protocol, bool> {
    match v.and_then(Value::as_str).unwrap_or("TCP") {
        "TCP" => Ok(Protocol::Tcp),
        "UDP" => Ok(Protocol::Udp),
        "SCTP" => Err(true),
        _ => Err(false),
    }
}

/// The fields of a `PodSpec`, sorted.
pub const POD_SPEC: &[(&str, Use)] = &[
    ("activeDeadlineSeconds", NotPorts(RUN)),
    ("affinity", NotRead(PLACE)),
    ("automountServiceAccountToken", NotPorts(RUN)),
    ("containers", Read),
    ("dnsConfig", NotPorts(RUN)),
    ("dnsPolicy", NotPorts(RUN)),
    (
        "enableServiceLinks",
        NotPorts("environment variables naming Services"),
    ),
    (
        "ephemeralContainers",
        NotPorts("ephemeral containers may not declare ports"),
    ),
    ("evictionResponders", NotPorts(RUN)),
    ("hostAliases", NotPorts(RUN)),
    ("hostIPC", NotPorts("shares IPC, not the network")),
    ("hostNetwork", Read),
    ("hostPID", NotPorts("shares processes, not the network")),
    (
        "hostUsers",
        NotPorts("user namespaces change who owns files, not who may bind a port in the pod"),
    ),
    ("hostname", NotPorts(RUN)),
    ("hostnameOverride", NotPorts(RUN)),
    ("imagePullSecrets", NotPorts(RUN)),
    ("initContainers", Read),
    ("nodeName", NotRead(PLACE)),
    ("nodeSelector", Read),
    (
        "os",
        NotRead("Windows pods have no privileged ports, and preflight judges every pod as Linux"),
    ),
    ("overhead", NotPorts(RUN)),
    ("preemptionPolicy", NotPorts(RUN)),
    ("priority", NotPorts(RUN)),
    ("priorityClassName", NotPorts(RUN)),
    ("readinessGates", NotPorts(RUN)),
    ("resourceClaims", NotPorts(RUN)),
    ("resources", NotPorts(RUN)),
    ("restartPolicy", NotPorts(RUN)),
    ("runtimeClassName", NotPorts(RUN)),
    ("schedulerName", NotPorts(RUN)),
    ("schedulingGates", NotPorts(RUN)),
    ("schedulingGroup", NotPorts(RUN)),
    ("securityContext", Read),
    ("serviceAccount", NotPorts(RUN)),
    ("serviceAccountName", NotPorts(RUN)),
    ("setHostnameAsFQDN", NotPorts(RUN)),
    (
        "shareProcessNamespace",
        NotPorts("shares processes, not the network"),
    ),
    ("subdomain", NotPorts(RUN)),
    ("terminationGracePeriodSeconds", NotPorts(RUN)),
    ("tolerations", NotRead(PLACE)),
    ("topologySpreadConstraints", NotRead(PLACE)),
    ("volumes", NotPorts(RUN)),
];

/// The fields of a `Container`, sorted.
pub const CONTAINER: &[(&str, Use)] = &[
    ("args", NotPorts(INSIDE)),
    ("command", NotPorts(INSIDE)),
    ("env", NotPorts(INSIDE)),
    ("envFrom", NotPorts(INSIDE)),
    ("image", NotPorts("the image's EXPOSE publishes nothing")),
    ("imagePullPolicy", NotPorts(RUN)),
    ("lifecycle", NotPorts(PROBE)),
    ("livenessProbe", NotPorts(PROBE)),
    ("name", Read),
    ("ports", Read),
    ("readinessProbe", NotPorts(PROBE)),
    ("resizePolicy", NotPorts(RUN)),
    ("resources", NotPorts(RUN)),
    ("restartPolicy", Read),
    ("restartPolicyRules", NotPorts(RUN)),
    ("securityContext", Read),
    ("startupProbe", NotPorts(PROBE)),
    ("stdin", NotPorts(RUN)),
    ("stdinOnce", NotPorts(RUN)),
    ("terminationMessagePath", NotPorts(RUN)),
    ("terminationMessagePolicy", NotPorts(RUN)),
    ("tty", NotPorts(RUN)),
    ("volumeDevices", NotPorts(RUN)),
    ("volumeMounts", NotPorts(RUN)),
    ("workingDir", NotPorts(RUN)),
];

/// The fields of a `ContainerPort`, sorted.
pub const CONTAINER_PORT: &[(&str, Use)] = &[
    ("containerPort", Read),
    ("hostIP", Read),
    ("hostPort", Read),
    ("name", Read),
    ("protocol", Read),
];

/// The fields of a `ServiceSpec`, sorted.
pub const SERVICE_SPEC: &[(&str, Use)] = &[
    (
        "allocateLoadBalancerNodePorts",
        NotPorts("whether node ports are allocated; the nodePorts written are read"),
    ),
    (
        "clusterIP",
        NotPorts("a virtual address, not a port of any node"),
    ),
    (
        "clusterIPs",
        NotPorts("virtual addresses, not ports of any node"),
    ),
    (
        "externalIPs",
        NotRead(
            "kube-proxy answers on these addresses and the Service's ports on every node; they are not compared with the nodes' own listeners",
        ),
    ),
    ("externalName", NotPorts("a DNS name, no port")),
    (
        "externalTrafficPolicy",
        NotPorts("which nodes answer, not which ports"),
    ),
    (
        "healthCheckNodePort",
        NotRead(
            "a node port of its own, from the NodePort range; not compared with other Services' nodePorts",
        ),
    ),
    (
        "internalTrafficPolicy",
        NotPorts("which endpoints answer, not which ports"),
    ),
    (
        "ipFamilies",
        NotPorts("address families of the virtual address"),
    ),
    (
        "ipFamilyPolicy",
        NotPorts("address families of the virtual address"),
    ),
    ("loadBalancerClass", NotPorts(META)),
    (
        "loadBalancerIP",
        NotPorts("an address of the cloud's load balancer"),
    ),
    (
        "loadBalancerSourceRanges",
        NotPorts("who may connect, enforced outside the nodes' listeners"),
    ),
    ("ports", Read),
    (
        "publishNotReadyAddresses",
        NotPorts("which endpoints answer"),
    ),
    ("selector", Read),
    ("sessionAffinity", NotPorts("which endpoint answers")),
    ("sessionAffinityConfig", NotPorts("which endpoint answers")),
    ("trafficDistribution", NotPorts("which endpoint answers")),
    ("type", Read),
];

/// The fields of a `ServicePort`, sorted.
pub const SERVICE_PORT: &[(&str, Use)] = &[
    ("appProtocol", NotPorts(META)),
    ("name", Read),
    ("nodePort", Read),
    ("port", Read),
    ("protocol", Read),
    ("targetPort", Read),
];

/// The pod spec of a workload of `kind`, with its path (`path` is the object's).
pub fn pod_spec<'a>(path: &str, obj: &'a Value, kind: &str) -> Option<(String, &'a Value)> {
    let rel = match kind {
        "Pod" => "spec",
        "CronJob" => "spec.jobTemplate.spec.template.spec",
        _ => "spec.template.spec",
    };
    let v = rel.split('.').try_fold(obj, |v, k| v.get(k))?;
    Some((join(path, rel), v))
}

/// The fields of `obj` (at `path`) that `table` classifies as not read, each with its reason.
fn unread_in(table: &[(&str, Use)], path: &str, obj: &Value, what: &str, out: &mut Vec<Unread>) {
    for key in obj.as_object().into_iter().flat_map(|o| o.keys()) {
        if let Some(why) = super::compose::fields::unread(table, key) {
            out.push(Unread {
                path: join(path, key),
                message: format!("{what}: `{key}` is not read: {why}"),
            });
        }
    }
}

/// What a workload (at `path`) has that is not read: the placement fields only where the pod takes
/// node ports (`node_ports`), since elsewhere they decide nothing about ports.
pub fn unread_workload(
    path: &str,
    obj: &Value,
    kind: &str,
    name: &str,
    node_ports: bool,
) -> Vec<Unread> {
    let mut out = Vec::new();
    let Some((spath, spec)) = pod_spec(path, obj, kind) else {
        return out;
    };
    let what = format!("{kind} `{name}`");
    unread_in(POD_SPEC, &spath, spec, &what, &mut out);
    for list in ["initContainers", "containers"] {
        let cs = spec.get(list).and_then(Value::as_array);
        for (i, c) in cs.into_iter().flatten().enumerate() {
            let cpath = join(&join(&spath, list), &i.to_string());
            unread_in(CONTAINER, &cpath, c, &what, &mut out);
            let ports = c.get("ports").and_then(Value::as_array);
            for (j, p) in ports.into_iter().flatten().enumerate() {
                unread_in(
                    CONTAINER_PORT,
                    &join(&join(&cpath, "ports"), &j.to_string()),
                    p,
                    &what,
                    &mut out,
                );
            }
        }
    }
    if !node_ports {
        const PLACEMENT: [&str; 4] = [
            "affinity",
            "nodeName",
            "tolerations",
            "topologySpreadConstraints",
        ];
        out.retain(|u| !PLACEMENT.iter().any(|k| u.path.ends_with(&format!(".{k}"))));
    }
    out
}

/// What a Service (at `path`) has that is not read.
pub fn unread_service(path: &str, obj: &Value, name: &str) -> Vec<Unread> {
    let mut out = Vec::new();
    if let Some(spec) = obj.get("spec") {
        let what = format!("Service `{name}`");
        let spath = join(path, "spec");
        unread_in(SERVICE_SPEC, &spath, spec, &what, &mut out);
        let ports = spec.get("ports").and_then(Value::as_array);
        for (i, p) in ports.into_iter().flatten().enumerate() {
            unread_in(
                SERVICE_PORT,
                &join(&join(&spath, "ports"), &i.to_string()),
                p,
                &what,
                &mut out,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendored Kubernetes API schemas (`tests/fixtures/spec/kubernetes`, sources in its
    /// `SOURCE.md`): a field of a pod spec, container, container port, Service spec or Service port
    /// that is not classified here fails, so a new field is never passed over silently.
    #[test]
    fn every_field_of_the_kubernetes_api_is_classified() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec/kubernetes");
        let props = |file: &str| -> Vec<String> {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            v["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        // The pod spec is listed (its schema file is large) in field-lists.txt, one name a line.
        let lists = std::fs::read_to_string(dir.join("field-lists.txt")).unwrap();
        let pod: Vec<String> = lists
            .split("## PodSpec")
            .nth(1)
            .unwrap()
            .split("\n## ")
            .next()
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect();
        assert!(pod.len() >= 40, "{pod:?}");
        let cases = [
            ("PodSpec", POD_SPEC, pod),
            ("Container", CONTAINER, props("container.json")),
            ("ContainerPort", CONTAINER_PORT, props("containerport.json")),
            ("ServiceSpec", SERVICE_SPEC, props("servicespec-v1.json")),
            ("ServicePort", SERVICE_PORT, props("serviceport.json")),
        ];
        for (what, table, fields) in cases {
            assert!(
                table.windows(2).all(|w| w[0].0 < w[1].0),
                "{what}: keep the table sorted"
            );
            let missing: Vec<&String> = fields
                .iter()
                .filter(|f| {
                    table
                        .binary_search_by(|(k, _)| (*k).cmp(f.as_str()))
                        .is_err()
                })
                .collect();
            assert!(
                missing.is_empty(),
                "{what}: classify {missing:?} (read, NotPorts or NotRead)"
            );
            let stale: Vec<&str> = table
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| !fields.iter().any(|f| f == k))
                .collect();
            assert!(stale.is_empty(), "{what}: not in the API: {stale:?}");
        }
    }
}
