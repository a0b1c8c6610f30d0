//! The manifest file as written: serde types, which are also the source of `schemas/deploy.schema.json`.
//!
//! These types describe the file exactly (every field, every default); they are deserialized only after the
//! JSON Schema generated from them has accepted the document. Interpolation of `${VAR}` and the checks that
//! need more than a schema (IANA port names, IP addresses, port ranges) happen in [`super::resolve`], which
//! turns this into the [`super::Manifest`] the rules read.

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

pub use crate::ports::{Platform, Protocol};

/// A deploy manifest: what a set of services needs from the host it runs on.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "preflight deploy manifest", extend("$id" = "https://preflight.dev/schemas/deploy.schema.json"))]
pub struct ManifestFile {
    /// Version of the manifest format. Only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The host the services will run on.
    pub target: Target,
    /// Variables that `${VAR}` and `${VAR:-default}` in port and bind values refer to.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" }))]
    pub environment: IndexMap<String, EnvValue>,
    /// Each team's block of ports, as `START-END` (inclusive), e.g. `11000-11999`.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[A-Za-z0-9_-]+$" }))]
    pub port_plan: IndexMap<String, PortRangeText>,
    /// The services, by name (lowercase DNS labels).
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" }))]
    pub services: IndexMap<String, Service>,
    /// Compose files and Kubernetes manifests whose services join this manifest's: they get its
    /// `target`, `port_plan` and policy, and conflicts across files are found.
    #[serde(default)]
    pub include: Vec<Include>,
}

/// A file (or directory) of services to include: exactly one of `compose` and `kubernetes`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [ { "required": ["compose"] }, { "required": ["kubernetes"] } ]))]
pub struct Include {
    /// A Compose file, relative to this manifest.
    #[serde(default)]
    pub compose: Option<String>,
    /// A Kubernetes manifest file, or a directory of them, relative to this manifest.
    #[serde(default)]
    pub kubernetes: Option<String>,
    /// Compose: the profiles to activate.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Compose: env files to read instead of `.env`, relative to this manifest.
    #[serde(default)]
    pub env_file: Vec<String>,
    /// The team that owns the included services (their ports must lie in its `port_plan` block).
    #[serde(default)]
    pub team: Option<String>,
}

/// A value of `environment:`: a string or a whole number.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    /// A whole number, such as `11001`.
    Int(i64),
    /// Text, such as `"11001"`.
    Text(String),
}

impl EnvValue {
    /// The value as text, as it is substituted.
    pub fn as_text(&self) -> String {
        match self {
            EnvValue::Int(i) => i.to_string(),
            EnvValue::Text(s) => s.clone(),
        }
    }
}

/// A port range written `START-END`, e.g. `11000-11999`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct PortRangeText(
    #[schemars(regex(pattern = r"^\s*[0-9]{1,5}\s*-\s*[0-9]{1,5}\s*$"))] pub String,
);

/// The host the services will run on.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The operating system (or orchestrator) the services run on.
    pub platform: Platform,
    /// Who the service process runs as.
    #[serde(default)]
    pub run_as: RunAs,
    /// Linux capabilities granted to the service process, e.g. `[NET_BIND_SERVICE]`.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Kubernetes: the nodes' container runtime, which decides whether a non-root container may bind
    /// ports below 1024 (containerd 2.x, Docker/cri-dockerd, k3s and kind allow it; CRI-O and
    /// containerd 1.x don't).
    #[serde(default)]
    pub container_runtime: Option<ContainerRuntime>,
    /// Kubernetes: the cluster's NodePort range, `START-END` (the API server's
    /// `--service-node-port-range`; 30000-32767 when not given).
    #[serde(default)]
    pub node_port_range: Option<PortRangeText>,
}

/// A Kubernetes node's container runtime.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum ContainerRuntime {
    /// containerd 2.0 or later (its CRI plugin sets `ip_unprivileged_port_start=0` for pods).
    Containerd,
    /// containerd 1.x (keeps 1024 unless `enable_unprivileged_ports` is set).
    #[serde(rename = "containerd-1")]
    #[value(name = "containerd-1")]
    Containerd1,
    /// CRI-O (keeps 1024).
    CriO,
    /// Docker Engine through cri-dockerd (Docker >= 20.10 sets 0).
    Docker,
    /// k3s (its containerd enables unprivileged ports).
    K3s,
    /// kind (its containerd enables unprivileged ports).
    Kind,
}

impl ContainerRuntime {
    /// The name as written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerRuntime::Containerd => "containerd",
            ContainerRuntime::Containerd1 => "containerd-1",
            ContainerRuntime::CriO => "cri-o",
            ContainerRuntime::Docker => "docker",
            ContainerRuntime::K3s => "k3s",
            ContainerRuntime::Kind => "kind",
        }
    }

    /// Whether pods with their own network namespace start with `ip_unprivileged_port_start=0`
    /// (domain-facts: containerd#9348, moby#41030, cri-o#10050).
    pub fn pods_bind_low_ports(self) -> bool {
        !matches!(self, ContainerRuntime::Containerd1 | ContainerRuntime::CriO)
    }
}

/// A Linux capability name, with or without the `CAP_` prefix.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Capability(#[schemars(regex(pattern = r"^(?i:cap_)?[A-Za-z_]+$"))] pub String);

impl Capability {
    /// The capability's canonical name without prefix, in upper case (`NET_BIND_SERVICE`).
    pub fn canonical(&self) -> String {
        let upper = self.0.to_ascii_uppercase();
        upper
            .strip_prefix("CAP_")
            .map(str::to_owned)
            .unwrap_or(upper)
    }
}

/// Who the service process runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunAs {
    /// uid 0 on Linux and macOS (all capabilities).
    Root,
    /// An administrator: Windows Administrators, or a Unix account with full privileges; treated like root.
    Admin,
    /// An unprivileged account.
    #[default]
    User,
}

impl RunAs {
    /// Whether the process holds every privilege.
    pub fn is_privileged(self) -> bool {
        matches!(self, RunAs::Root | RunAs::Admin)
    }
}

/// One service: a process (or pod) that listens on ports.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The team that owns the service; its ports must lie in the team's `port_plan` block.
    #[serde(default)]
    pub team: Option<String>,
    /// Free text, e.g. `Orders HTTP API`.
    #[serde(default)]
    pub description: Option<String>,
    /// What the service is built with; decides socket defaults such as SO_REUSEADDR.
    #[serde(default)]
    pub runtime: Runtime,
    /// Socket options the service sets, overriding the runtime's defaults.
    #[serde(default)]
    pub socket: Option<SocketOptions>,
    /// The ports, by name (IANA service-name rules: at most 15 of `a-z`, `0-9`, `-`, at least one letter).
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z0-9-]{1,15}$" }))]
    pub ports: IndexMap<String, PortEntry>,
}

/// What a service is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// Go (`net.Listen`).
    Go,
    /// Rust (`std::net`, tokio).
    Rust,
    /// Node.js (`net`, `http`).
    Node,
    /// Python (asyncio, `http.server`).
    Python,
    /// Java (`ServerSocket`, NIO).
    Java,
    /// .NET (Kestrel, sockets).
    Dotnet,
    /// nginx.
    Nginx,
    /// IIS (HTTP.sys).
    Iis,
    /// Anything else: socket defaults unknown.
    #[default]
    Other,
}

impl Runtime {
    /// Whether a runtime's listening sockets set SO_REUSEADDR by default on Linux and macOS, as verified
    /// with strace and restart tests: Go (`net.Listen`) and Rust std set it on non-Windows; Node
    /// (`net`/`http`), Java (`ServerSocket`, `ServerSocketChannel`), nginx, Python `asyncio` and
    /// `http.server` set it. Python's plain `socket` and `socketserver.TCPServer` do not, .NET is
    /// unverified, IIS does not run there: `None` (unknown) for those.
    pub fn unix_reuse_address(self) -> Option<bool> {
        match self {
            Runtime::Go
            | Runtime::Rust
            | Runtime::Node
            | Runtime::Java
            | Runtime::Nginx
            | Runtime::Python => Some(true),
            Runtime::Dotnet | Runtime::Iis | Runtime::Other => None,
        }
    }

    /// Whether a runtime sets SO_REUSEADDR on Windows by default: Go and Rust std deliberately do not;
    /// the others are unknown.
    pub fn windows_reuse_address(self) -> Option<bool> {
        match self {
            Runtime::Go | Runtime::Rust => Some(false),
            _ => None,
        }
    }
}

impl Runtime {
    /// The name as written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Go => "go",
            Runtime::Rust => "rust",
            Runtime::Node => "node",
            Runtime::Python => "python",
            Runtime::Java => "java",
            Runtime::Dotnet => "dotnet",
            Runtime::Nginx => "nginx",
            Runtime::Iis => "iis",
            Runtime::Other => "other",
        }
    }
}

/// Socket options a service sets explicitly.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SocketOptions {
    /// Whether the listening socket sets SO_REUSEADDR.
    #[serde(default)]
    pub reuse_address: Option<bool>,
    /// Whether the listening socket sets SO_EXCLUSIVEADDRUSE (Windows).
    #[serde(default)]
    pub exclusive_address: Option<bool>,
}

/// A port: the shorthand (just the number) or the full form.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum PortEntry {
    /// `metrics: 10081`
    Short(PortValue),
    /// `http: { port: 8080, protocol: tcp, … }`
    Full(PortSpec),
}

// By hand rather than `#[serde(untagged)]`, which buffers every entry before trying each form.
impl<'de> Deserialize<'de> for PortEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PortEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a port number, a ${VAR} reference, or a port object")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PortEntry, E> {
                u16::try_from(v)
                    .map(|n| PortEntry::Short(PortValue::Number(n)))
                    .map_err(|_| E::custom(format!("port {v} is out of range")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortEntry, E> {
                u16::try_from(v)
                    .map(|n| PortEntry::Short(PortValue::Number(n)))
                    .map_err(|_| E::custom(format!("port {v} is out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortEntry, E> {
                Ok(PortEntry::Short(PortValue::Expr(v.to_owned())))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<PortEntry, A::Error> {
                PortSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(PortEntry::Full)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for PortEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortEntry".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        // if/then/else instead of anyOf, so a validator reports the error of the form the user chose
        // (an unknown field in the object, a bad number) instead of "matches none of the alternatives".
        let spec = generator.subschema_for::<PortSpec>();
        let value = generator.subschema_for::<PortValue>();
        json_schema!({
            "description": "A port: just the number (or `${VAR}`), or an object with `port` and options.",
            "if": { "type": "object" },
            "then": spec,
            "else": value
        })
    }
}

/// A port number: 1–65535, or a `${VAR}` / `${VAR:-default}` reference resolved from `environment:`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum PortValue {
    /// A literal port number.
    Number(u16),
    /// A string holding a `${VAR}` reference.
    Expr(String),
}

// By hand rather than `#[serde(untagged)]`: untagged enums buffer every value first, which made this
// the costliest step of reading a large manifest after parsing.
impl<'de> Deserialize<'de> for PortValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PortValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a port number or a ${VAR} reference")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PortValue, E> {
                u16::try_from(v)
                    .map(PortValue::Number)
                    .map_err(|_| E::custom(format!("port {v} is out of range")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortValue, E> {
                u16::try_from(v)
                    .map(PortValue::Number)
                    .map_err(|_| E::custom(format!("port {v} is out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortValue, E> {
                Ok(PortValue::Expr(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<PortValue, E> {
                Ok(PortValue::Expr(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for PortValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortValue".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A port number 1-65535, or a string with a ${VAR} or ${VAR:-default} reference.",
            "type": ["integer", "string"],
            "minimum": 1,
            "maximum": 65535,
            "pattern": "\\$\\{"
        })
    }
}

/// The full form of a port.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// The port number: 1–65535, or a `${VAR}` / `${VAR:-default}` reference.
    pub port: PortValue,
    /// The transport protocol.
    #[serde(default)]
    pub protocol: Protocol,
    /// The local address the service binds: an IPv4 or IPv6 address (`0.0.0.0` and `::` mean every address).
    #[serde(default)]
    pub bind: Option<String>,
    /// Who must reach the port: `public` (anyone), `internal` (other hosts of the network), `local` (this host only).
    #[serde(default)]
    pub expose: Expose,
    /// What the port carries.
    #[serde(default)]
    pub purpose: Option<Purpose>,
}

/// Who must be able to reach a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Expose {
    /// Anyone, from anywhere.
    Public,
    /// Other hosts of the same network.
    #[default]
    Internal,
    /// Only this host.
    Local,
}

impl Expose {
    /// The name as written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Expose::Public => "public",
            Expose::Internal => "internal",
            Expose::Local => "local",
        }
    }
}

/// What a port carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Plain HTTP.
    Http,
    /// HTTPS.
    Https,
    /// gRPC.
    Grpc,
    /// Health checks.
    Health,
    /// Metrics (Prometheus and the like).
    Metrics,
    /// Anything else.
    Other,
}

impl Purpose {
    /// The name as written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Http => "http",
            Purpose::Https => "https",
            Purpose::Grpc => "grpc",
            Purpose::Health => "health",
            Purpose::Metrics => "metrics",
            Purpose::Other => "other",
        }
    }

    /// Health and metrics endpoints, which are meant for operators rather than users.
    pub fn is_operational(self) -> bool {
        matches!(self, Purpose::Health | Purpose::Metrics)
    }
}

/// The JSON Schema of the manifest, as committed in `schemas/deploy.schema.json`.
pub fn schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<ManifestFile>();
    schema.to_value()
}
