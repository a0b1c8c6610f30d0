//! Facts about the target host, each tagged with where it came from.
//!
//! A `Facts` value is what host rules read. It is filled from the live host (`probe`, `--local`), from
//! a file captured on the target (`--facts`, written by `preflight facts -o` or built from pasted command
//! output with `preflight facts --import`, see `parse`), or left empty; in the last case `defaults`
//! supplies the documented defaults of `target.platform` where one exists, and rules that need a fact
//! nobody can supply report themselves as skipped. This module only reads; it never changes the host.

pub(crate) mod defaults;
pub mod firewall;
pub mod import;
pub mod parse;
pub(crate) mod probe;
pub mod windows_net;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ports::PortRange;
use crate::ports::Protocol;

/// The read-only PowerShell collector printed by `preflight facts --script powershell`.
pub const POWERSHELL_COLLECTOR: &str = include_str!("collect.ps1");

/// Version of the facts file format.
pub const FACTS_VERSION: u32 = 1;

/// Where a fact came from; messages say it ("read from this host", "Windows default").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Probed on this host just now (`--local`).
    Live,
    /// Read from a facts file captured on the target (`--facts`).
    Captured,
    /// The platform's documented default; the real host may differ.
    Default,
}

impl Origin {
    /// `live`, `captured` or `default`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Live => "live",
            Origin::Captured => "captured",
            Origin::Default => "default",
        }
    }
}

/// A value with its origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Fact<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
    /// What was read ("net.ipv4.ip_local_port_range", "netsh int ipv4 show dynamicport tcp").
    pub detail: String,
}

impl<T> Fact<T> {
    /// A platform default.
    pub fn default_of(value: T, detail: impl Into<String>) -> Self {
        Fact {
            value,
            origin: Origin::Default,
            detail: detail.into(),
        }
    }

    /// A value read on this host now.
    pub fn live(value: T, detail: impl Into<String>) -> Self {
        Fact {
            value,
            origin: Origin::Live,
            detail: detail.into(),
        }
    }

    /// How messages name the origin.
    pub fn describe(&self) -> String {
        match self.origin {
            Origin::Live => format!("{}, read from this host", self.detail),
            Origin::Captured => format!("{}, from the captured facts", self.detail),
            Origin::Default => self.detail.clone(),
        }
    }
}

/// The state of a socket, as far as port checks care.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SocketState {
    /// A TCP socket listening for connections.
    Listen,
    /// A bound UDP socket.
    Bound,
    /// A TCP connection in TIME_WAIT after an active close.
    TimeWait,
    /// An established TCP connection.
    Established,
    /// Any other TCP state.
    Other,
}

impl SocketState {
    /// How `ss` and `netstat` print it.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketState::Listen => "LISTEN",
            SocketState::Bound => "UNCONN",
            SocketState::TimeWait => "TIME_WAIT",
            SocketState::Established => "ESTABLISHED",
            SocketState::Other => "OTHER",
        }
    }
}

/// One socket on the host.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Socket {
    /// `tcp` or `udp`.
    pub protocol: Protocol,
    /// The local address (`0.0.0.0`, `::` for wildcards; `::` also stands for a dual-stack `*`).
    pub address: IpAddr,
    /// The local port.
    pub port: u16,
    /// The state.
    pub state: SocketState,
    /// The owning process, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The owning process's name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// Windows services hosted by the owning process (a shared `svchost.exe` runs several), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}

/// A fact the probe tried to read and could not. The rules that need it say so when they skip, naming
/// the command; the rest of the facts stand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Unavailable {
    /// The fact's field in this file (`excluded_tcp`).
    pub fact: String,
    /// The command or source that failed (`netsh int ipv4 show excludedportrange protocol=tcp`).
    pub command: String,
    /// What went wrong (`printed nothing`, `exited with code 1`).
    pub reason: String,
}

/// A Windows excluded port range (`netsh int ipv4 show excludedportrange`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Exclusion {
    /// The excluded ports.
    pub range: PortRange,
    /// Whether an administrator added it (`*` in netsh's output); other ranges are reserved by the system
    /// (Hyper-V Host Network Service, WinNAT, WSL2, Docker Desktop).
    pub administered: bool,
}

/// What the process that collected the facts was allowed to do (Linux).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessFacts {
    /// Effective user id.
    pub uid: u32,
    /// Effective capabilities (`NET_BIND_SERVICE`, …), sorted.
    pub capabilities: Vec<String>,
}

/// Everything known about the target host.
///
/// Every field is optional: absent means "not collected", which host rules report as skipped, never as
/// passed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "preflight host facts")]
pub struct Facts {
    /// Version of the facts format. Only `1` exists.
    pub version: u32,
    /// The host's name. It names the host in fleet reports (`check --facts DIR`) and per-host output
    /// files (`fix -o DIR` writes `DIR/HOST.ps1`): letters, digits, `.`, `-` and `_`, not starting with
    /// `.`, at most 240 bytes, compared without regard to case. Without it, the file's stem names the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,239}$"))]
    pub host: Option<String>,
    /// The operating system the facts come from (`linux`, `windows`, `macos`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Listening (TCP), bound (UDP) and TIME_WAIT sockets; absent when not collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<Fact<Vec<Socket>>>,
    /// Whether socket owners could be seen (false: not root, so other users' PIDs are hidden).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners_visible: Option<bool>,
    /// The dynamic (ephemeral) port range for TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_tcp: Option<Fact<PortRange>>,
    /// The dynamic (ephemeral) port range for UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_udp: Option<Fact<PortRange>>,
    /// Linux `net.ipv4.ip_local_reserved_ports`: kept out of automatic assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_ports: Option<Fact<Vec<PortRange>>>,
    /// Linux `net.ipv4.ip_unprivileged_port_start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unprivileged_port_start: Option<Fact<u16>>,
    /// Windows excluded port ranges for TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_tcp: Option<Fact<Vec<Exclusion>>>,
    /// Windows excluded port ranges for UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_udp: Option<Fact<Vec<Exclusion>>>,
    /// Windows: each connected network's interface and the firewall profile its category selects
    /// (`Get-NetConnectionProfile`): the profiles whose rules apply to inbound traffic now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_profiles: Option<Fact<Vec<firewall::windows::NetworkProfile>>>,
    /// Windows: URLs registered with HTTP.sys, which holds their ports as System (PID 4) for the
    /// processes of each request queue (`netsh http show servicestate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_urls: Option<Fact<Vec<windows_net::HttpUrl>>>,
    /// Windows: HTTP.sys URL reservations (`netsh http show urlacl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_reservations: Option<Fact<Vec<windows_net::UrlReservation>>>,
    /// Windows: port proxies the IP Helper service listens for (`netsh interface portproxy show all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_proxies: Option<Fact<Vec<windows_net::PortProxy>>>,
    /// The host firewall, as captured (nftables, iptables, Windows Defender Firewall).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<Fact<firewall::FirewallFacts>>,
    /// The collecting process's uid and capabilities (Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessFacts>,
    /// Raw command output by import kind (`netsh-http-servicestate` → its text), as the PowerShell
    /// collector writes what is easier to read here than there. Loading the file imports each through
    /// the same readers as `facts --import` and drops the text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub captures: BTreeMap<String, String>,
    /// Rows of captured output that could not be read and were skipped, each naming its file and line
    /// (`ss.txt: ss line 7: cannot read the local address …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Facts the probe could not read, each with the command that failed and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
}

impl Facts {
    /// Empty facts of the current format version.
    pub fn new() -> Self {
        Facts {
            version: FACTS_VERSION,
            ..Facts::default()
        }
    }

    /// Why the probe could not read `fact` (a field name such as `excluded_tcp`), as a sentence naming the
    /// command: `None` when it did not try or did not fail.
    pub fn why_unavailable(&self, fact: &str) -> Option<String> {
        self.unavailable
            .iter()
            .find(|u| u.fact == fact)
            .map(|u| format!("`{}` {} on the host", u.command, u.reason))
    }

    /// Whether the facts come from Windows: they say so, or they hold the Windows firewall.
    pub fn is_windows(&self) -> bool {
        self.os.as_deref() == Some("windows")
            || self.firewall.as_ref().is_some_and(|f| {
                f.value.windows_rules.is_some() || f.value.windows_profiles.is_some()
            })
    }

    /// Marks every fact as captured (facts read from a file were live where and when they were taken).
    pub fn mark_captured(&mut self) {
        fn cap<T>(f: &mut Option<Fact<T>>) {
            if let Some(f) = f
                && f.origin == Origin::Live
            {
                f.origin = Origin::Captured;
            }
        }
        cap(&mut self.sockets);
        cap(&mut self.ephemeral_tcp);
        cap(&mut self.ephemeral_udp);
        cap(&mut self.reserved_ports);
        cap(&mut self.unprivileged_port_start);
        cap(&mut self.excluded_tcp);
        cap(&mut self.excluded_udp);
        cap(&mut self.network_profiles);
        cap(&mut self.http_urls);
        cap(&mut self.url_reservations);
        cap(&mut self.port_proxies);
        cap(&mut self.firewall);
    }

    /// Excluded ranges for a protocol.
    pub fn excluded(&self, protocol: Protocol) -> Option<&Fact<Vec<Exclusion>>> {
        match protocol {
            Protocol::Tcp => self.excluded_tcp.as_ref(),
            Protocol::Udp => self.excluded_udp.as_ref(),
        }
    }

    /// Sorts everything that reaches output, so facts files diff cleanly.
    pub fn normalize(&mut self) {
        if let Some(s) = &mut self.sockets {
            // Sorted, not deduplicated: TIME_WAIT entries to different peers look alike here, and
            // `time-wait` counts them.
            s.value.sort();
        }
        for e in [&mut self.excluded_tcp, &mut self.excluded_udp]
            .into_iter()
            .flatten()
        {
            e.value.sort_by_key(|x| x.range);
        }
        if let Some(r) = &mut self.reserved_ports {
            r.value.sort();
        }
    }
}

/// Why a facts file could not be used (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    /// The file could not be read.
    #[error("cannot read facts file {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid facts JSON.
    #[error("{file} is not a valid facts file: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A captured command output could not be parsed.
    #[error("{file}:{line}: cannot read this {kind} output: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The import kind.
        kind: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An `--import` argument is malformed or names an unknown kind.
    #[error("{0}")]
    Usage(String),
    /// Probing the live host failed.
    #[error("cannot probe this host: {0}")]
    Probe(String),
}

/// Largest facts file read (a host with 100k sockets fits).
pub const MAX_FACTS_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a facts file written by `preflight facts -o` (or the PowerShell collector).
pub fn load(path: &Path) -> Result<Facts, FactsError> {
    let file = path.display().to_string();
    let bytes =
        crate::document::read_up_to(path, MAX_FACTS_BYTES).map_err(|source| FactsError::Io {
            file: file.clone(),
            source,
        })?;
    if bytes.len() as u64 > MAX_FACTS_BYTES {
        return Err(FactsError::Invalid {
            file,
            message: format!("over the limit of {MAX_FACTS_BYTES} bytes"),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| FactsError::Invalid {
        file: file.clone(),
        message: format!("not UTF-8 text ({e}): save it as UTF-8"),
    })?;
    from_text(&file, &text)
}

/// A facts file's text read (`file` is what messages call it): JSON of [`FACTS_VERSION`], a byte
/// order mark allowed (PowerShell 5 writes one).
pub fn from_text(file: &str, text: &str) -> Result<Facts, FactsError> {
    let mut facts: Facts =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
            FactsError::Invalid {
                file: file.to_owned(),
                // serde_json's message ends with the place (`at line 1 column 65`).
                message: e.to_string(),
            }
        })?;
    if facts.version != FACTS_VERSION {
        return Err(FactsError::Invalid {
            file: file.to_owned(),
            message: format!(
                "facts version {} is not supported; this preflight reads version {FACTS_VERSION}",
                facts.version
            ),
        });
    }
    facts.mark_captured();
    facts.normalize();
    Ok(facts)
}

/// The JSON Schema of the facts file, as committed in `schemas/facts.schema.json`.
pub fn schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Facts>()
        .to_value()
}
