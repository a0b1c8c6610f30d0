//! Every key of a Compose service and of a Compose file, as the Compose specification lists them,
//! classified by what preflight does with it: read, left alone because it does not shape a host
//! port, or not read although it may (then each use is reported by `not-read`).
//!
//! `tests/fields.rs` walks the specification's JSON Schema (vendored as test data): a property that
//! is not classified here fails the test, so a new Compose key can't be passed over silently.

/// What preflight does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Read: it decides which ports are published, where, or whether the service runs.
    Read,
    /// Left alone: it does not decide a host port (the reason says why).
    NotPorts(&'static str),
    /// Not read although it may decide a port; each use is reported with this reason.
    NotRead(&'static str),
}

use Use::{NotPorts, NotRead, Read};

const RUNTIME: &str = "a setting of the container's process or resources";
const INSIDE: &str = "sets what happens inside the container (its own port, not the host's)";
const PRIVILEGE: &str = "Docker starts containers with net.ipv4.ip_unprivileged_port_start=0 in their own network namespace, so any user binds any container port";
const META: &str = "metadata";
const STORAGE: &str = "storage";
const NAMES: &str = "names and addresses inside Docker's networks, not host ports";

/// The keys of a Compose service, sorted.
pub const SERVICE: &[(&str, Use)] = &[
    ("annotations", NotPorts(META)),
    ("attach", NotPorts("log attachment")),
    ("blkio_config", NotPorts(RUNTIME)),
    ("build", NotPorts("the image's EXPOSE publishes nothing")),
    ("cap_add", NotPorts(PRIVILEGE)),
    ("cap_drop", NotPorts(PRIVILEGE)),
    ("cgroup", NotPorts(RUNTIME)),
    ("cgroup_parent", NotPorts(RUNTIME)),
    ("command", NotPorts(INSIDE)),
    ("configs", NotPorts(STORAGE)),
    ("container_name", NotPorts(META)),
    ("cpu_count", NotPorts(RUNTIME)),
    ("cpu_percent", NotPorts(RUNTIME)),
    ("cpu_period", NotPorts(RUNTIME)),
    ("cpu_quota", NotPorts(RUNTIME)),
    ("cpu_rt_period", NotPorts(RUNTIME)),
    ("cpu_rt_runtime", NotPorts(RUNTIME)),
    ("cpu_shares", NotPorts(RUNTIME)),
    ("cpus", NotPorts(RUNTIME)),
    ("cpuset", NotPorts(RUNTIME)),
    ("credential_spec", NotPorts(RUNTIME)),
    ("depends_on", NotPorts("start order")),
    ("deploy", Read),
    ("develop", NotPorts("file watching for development")),
    ("device_cgroup_rules", NotPorts(RUNTIME)),
    ("devices", NotPorts(RUNTIME)),
    ("dns", NotPorts(NAMES)),
    ("dns_opt", NotPorts(NAMES)),
    ("dns_search", NotPorts(NAMES)),
    ("domainname", NotPorts(NAMES)),
    ("entrypoint", NotPorts(INSIDE)),
    ("env_file", NotPorts(INSIDE)),
    ("environment", NotPorts(INSIDE)),
    ("expose", Read),
    ("extends", Read),
    ("external_links", NotPorts(NAMES)),
    ("extra_hosts", NotPorts(NAMES)),
    ("gpus", NotPorts(RUNTIME)),
    ("group_add", NotPorts(PRIVILEGE)),
    ("healthcheck", NotPorts(INSIDE)),
    ("hostname", NotPorts(NAMES)),
    ("image", NotPorts("the image's EXPOSE publishes nothing")),
    ("init", NotPorts(RUNTIME)),
    ("ipc", NotPorts("shares memory, not the network")),
    ("isolation", NotPorts(RUNTIME)),
    ("label_file", NotPorts(META)),
    ("labels", NotPorts(META)),
    ("links", NotPorts(NAMES)),
    ("logging", NotPorts(RUNTIME)),
    ("mac_address", NotPorts(NAMES)),
    ("mem_limit", NotPorts(RUNTIME)),
    ("mem_reservation", NotPorts(RUNTIME)),
    ("mem_swappiness", NotPorts(RUNTIME)),
    ("memswap_limit", NotPorts(RUNTIME)),
    ("models", NotPorts("AI models the service is given")),
    ("network_mode", Read),
    ("networks", NotPorts(NAMES)),
    ("oom_kill_disable", NotPorts(RUNTIME)),
    ("oom_score_adj", NotPorts(RUNTIME)),
    ("pid", NotPorts("shares processes, not the network")),
    ("pids_limit", NotPorts(RUNTIME)),
    ("platform", NotPorts(RUNTIME)),
    ("ports", Read),
    ("post_start", NotPorts(INSIDE)),
    ("pre_stop", NotPorts(INSIDE)),
    ("privileged", NotPorts(PRIVILEGE)),
    ("profiles", Read),
    (
        "provider",
        NotRead(
            "an external provider runs this service, so which ports it takes is not known from the file",
        ),
    ),
    ("pull_policy", NotPorts(META)),
    ("pull_refresh_after", NotPorts(META)),
    ("read_only", NotPorts(STORAGE)),
    ("restart", NotPorts(RUNTIME)),
    ("runtime", NotPorts(RUNTIME)),
    ("scale", Read),
    ("secrets", NotPorts(STORAGE)),
    ("security_opt", NotPorts(RUNTIME)),
    ("shm_size", NotPorts(RUNTIME)),
    ("stdin_open", NotPorts(RUNTIME)),
    ("stop_grace_period", NotPorts(RUNTIME)),
    ("stop_signal", NotPorts(RUNTIME)),
    ("storage_opt", NotPorts(STORAGE)),
    (
        "sysctls",
        NotPorts("kernel settings of the container's own network namespace, not the host's"),
    ),
    ("tmpfs", NotPorts(STORAGE)),
    ("tty", NotPorts(RUNTIME)),
    ("ulimits", NotPorts(RUNTIME)),
    ("use_api_socket", NotPorts(RUNTIME)),
    ("user", NotPorts(PRIVILEGE)),
    ("userns_mode", NotPorts(PRIVILEGE)),
    ("uts", NotPorts(NAMES)),
    ("volumes", NotPorts(STORAGE)),
    ("volumes_from", NotPorts(STORAGE)),
    ("working_dir", NotPorts(INSIDE)),
];

/// The top-level keys of a Compose file, sorted.
pub const TOP_LEVEL: &[(&str, Use)] = &[
    ("configs", NotPorts(STORAGE)),
    ("include", Read),
    ("models", NotPorts("AI models")),
    ("name", Read),
    ("networks", NotPorts(NAMES)),
    ("secrets", NotPorts(STORAGE)),
    ("services", Read),
    ("version", NotPorts("obsolete, ignored by Compose")),
    ("volumes", NotPorts(STORAGE)),
];

/// The keys of a port in the long syntax, sorted.
pub const PORT: &[(&str, Use)] = &[
    ("app_protocol", NotPorts(META)),
    ("host_ip", Read),
    (
        "mode",
        NotPorts(
            "`host` or `ingress` matter in Swarm only; `docker compose` publishes on the host",
        ),
    ),
    ("name", Read),
    ("protocol", Read),
    ("published", Read),
    ("target", Read),
];

/// Why a key of `table` is not read although it may shape ports; `None` for keys that are read,
/// that don't shape ports, extensions (`x-…`) and keys the specification does not have.
pub fn unread(table: &[(&str, Use)], key: &str) -> Option<&'static str> {
    table
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .and_then(|i| match table[i].1 {
            NotRead(why) => Some(why),
            _ => None,
        })
}

/// A deploy manifest's service keys: a file is parsed before its kind is known, so these are never
/// dropped, although Compose's `runtime` does not shape a port.
const DEPLOY_SERVICE: &[&str] = &["description", "ports", "runtime", "socket", "team"];

/// Whether the value of `key` in the mapping at `path` (of `depth` segments) may be dropped as soon
/// as it is parsed ([`crate::document::yaml::Prune`]): a key of a service (`services.NAME`) that does
/// not shape a host port, unless it holds a `${VAR:?message}` (Compose checks those everywhere; see
/// `Reader::required`). The key stays, so that `not-read` and the deploy manifest's unknown-field
/// check still see it. Environment, volumes, labels and commands are most of a real Compose file; a
/// 10 MB file of 84,840 services held 4.7 MB of images and restart policies.
pub fn prunable(path: &str, depth: usize, key: &str, value: &serde_json::Value) -> bool {
    depth == 2
        && path.starts_with("services.")
        && !DEPLOY_SERVICE.contains(&key)
        && SERVICE
            .binary_search_by(|(k, _)| (*k).cmp(key))
            .is_ok_and(|i| matches!(SERVICE[i].1, NotPorts(_)))
        && !holds_required(value)
}

/// Whether a string in `v` may hold `${VAR:?message}` (the test `Reader::required` reads by).
fn holds_required(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('?') && s.contains("${"),
        serde_json::Value::Array(items) => items.iter().any(holds_required),
        serde_json::Value::Object(map) => map.values().any(holds_required),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a service's keys that shape no port go, never one a deploy manifest reads (its schema's
    /// service properties), nor one holding a required variable.
    #[test]
    fn only_values_nothing_reads_are_pruned() {
        use serde_json::json;
        let text = "services.web";
        assert!(prunable(text, 2, "image", &json!("nginx")));
        assert!(prunable(text, 2, "environment", &json!({"A": "1"})));
        assert!(!prunable(
            text,
            2,
            "environment",
            &json!({"A": "${A:?set A}"})
        ));
        assert!(!prunable(text, 2, "environment", &json!(["A=${A?}"])));
        for key in [
            "ports",
            "expose",
            "profiles",
            "network_mode",
            "scale",
            "deploy",
            "extends",
        ] {
            assert!(!prunable(text, 2, key, &json!(null)), "{key}");
        }
        assert!(
            !prunable(text, 2, "provider", &json!({})),
            "not-read keys are read"
        );
        assert!(!prunable(text, 2, "x-custom", &json!("v")));
        assert!(!prunable("x-base", 1, "image", &json!("nginx")));
        assert!(!prunable(
            "services.web.deploy",
            3,
            "image",
            &json!("nginx")
        ));
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/deploy.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let props = schema["$defs"]["Service"]["properties"]
            .as_object()
            .unwrap();
        assert!(!props.is_empty());
        for key in props.keys() {
            assert!(
                !prunable(text, 2, key, &json!("x")),
                "{key} is a deploy manifest's"
            );
        }
    }

    #[test]
    fn tables_are_sorted_for_lookup() {
        for t in [SERVICE, TOP_LEVEL, PORT] {
            assert!(
                t.windows(2).all(|w| w[0].0 < w[1].0),
                "{:?}",
                t.iter().map(|x| x.0).collect::<Vec<_>>()
            );
        }
        assert!(unread(SERVICE, "provider").is_some());
        assert_eq!(unread(SERVICE, "image"), None);
        assert_eq!(unread(SERVICE, "ports"), None);
        assert_eq!(unread(SERVICE, "x-anything"), None);
    }

    /// The Compose specification's JSON Schema, vendored as test data
    /// (`tests/fixtures/spec/compose-spec.json`, source in `SOURCE.md` beside it): every property of
    /// a service, of the file and of a long-syntax port is classified here, and nothing else is.
    #[test]
    fn every_property_of_the_compose_specification_is_classified() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/spec/compose-spec.json");
        let spec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        let port = spec["definitions"]["service"]["properties"]["ports"]["items"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["type"] == "object")
            .unwrap()["properties"]
            .clone();
        let cases = [
            (
                "service",
                SERVICE,
                keys(&spec["definitions"]["service"]["properties"]),
            ),
            ("top level", TOP_LEVEL, keys(&spec["properties"])),
            ("port", PORT, keys(&port)),
        ];
        for (what, table, props) in cases {
            let mut props = props;
            props.sort();
            let ours: Vec<String> = table.iter().map(|(k, _)| (*k).to_owned()).collect();
            assert_eq!(
                ours, props,
                "{what}: classify every property of the specification, and only those"
            );
        }
    }
}
