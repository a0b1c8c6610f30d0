//! Fix intents: what would fix a finding, as data. Rules say *what* to do; the `fix` stage renders an
//! intent into PowerShell, netsh, shell, nftables or Kubernetes YAML for the target's dialect.

use serde::Serialize;

use crate::ports::PortRange;
use crate::ports::Protocol;

/// One way to fix a finding, independent of the shell or tool that will carry it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fix {
    /// Move the port to another number (a choice for a person: options are printed, not applied).
    ChoosePort {
        /// The service.
        service: String,
        /// The port's name.
        port: String,
        /// A free number that passes the rules, when one is known.
        #[serde(skip_serializing_if = "Option::is_none")]
        suggested: Option<u16>,
        /// The range the new number must stay out of, or inside, as the finding requires.
        #[serde(skip_serializing_if = "Option::is_none")]
        within: Option<PortRange>,
    },
    /// Take the port out of the OS's ephemeral pool (Linux `ip_local_reserved_ports`, Windows an
    /// administered excluded range).
    ReserveFromEphemeral {
        /// The port.
        port: u16,
        /// Its protocol.
        protocol: Protocol,
    },
    /// Let a non-root process bind a port below the unprivileged start (setcap, systemd ambient
    /// capabilities, or the Kubernetes pod sysctl).
    GrantBindCapability {
        /// The service.
        service: String,
        /// The privileged port.
        port: u16,
        /// Its protocol.
        protocol: Protocol,
    },
    /// Bind another address.
    BindAddress {
        /// The service.
        service: String,
        /// The port's name.
        port: String,
        /// The address to bind.
        address: String,
    },
    /// Set a socket option in the service's code or configuration.
    SetSocketOption {
        /// The service.
        service: String,
        /// `SO_REUSEADDR` or `SO_EXCLUSIVEADDRUSE`.
        option: String,
        /// Whether to set or clear it.
        value: bool,
    },
    /// Free a port held by another process: show the owner and stop its service, never kill blindly.
    FreePort {
        /// The port.
        port: u16,
        /// Its protocol.
        protocol: Protocol,
        /// The owning process.
        pid: u32,
        /// The owner's name, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        process: Option<String>,
    },
    /// Reserve a port as an administered Windows exclusion while WinNAT is stopped (`net stop winnat`,
    /// `netsh … add excludedportrange`, `net start winnat`).
    ResetWinnatExclusion {
        /// The port.
        port: u16,
        /// Its protocol.
        protocol: Protocol,
    },
    /// Admit new inbound connections to the port in the host firewall.
    OpenFirewall {
        /// The port.
        port: u16,
        /// Its protocol.
        protocol: Protocol,
        /// Windows profiles to open it on (`Domain,Private`), when the target is Windows.
        #[serde(skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
        /// The Linux base chain that drops it (`inet filter input`, `iptables INPUT`), where the accept goes.
        #[serde(skip_serializing_if = "Option::is_none")]
        chain: Option<String>,
    },
    /// Limit the firewall rule that admits the port to the sources that need it.
    RestrictFirewall {
        /// The port.
        port: u16,
        /// Its protocol.
        protocol: Protocol,
    },
    /// Give a `${VAR}` a value.
    DefineVariable {
        /// The variable.
        name: String,
    },
}

impl Fix {
    /// The kebab-case kind, as in the JSON and in template names (`open-firewall`).
    pub fn kind(&self) -> &'static str {
        match self {
            Fix::ChoosePort { .. } => "choose-port",
            Fix::ReserveFromEphemeral { .. } => "reserve-from-ephemeral",
            Fix::GrantBindCapability { .. } => "grant-bind-capability",
            Fix::BindAddress { .. } => "bind-address",
            Fix::SetSocketOption { .. } => "set-socket-option",
            Fix::FreePort { .. } => "free-port",
            Fix::ResetWinnatExclusion { .. } => "reset-winnat-exclusion",
            Fix::OpenFirewall { .. } => "open-firewall",
            Fix::RestrictFirewall { .. } => "restrict-firewall",
            Fix::DefineVariable { .. } => "define-variable",
        }
    }

    /// What a person should do, for dialects where the fix can't be a command (a choice, a code change).
    pub fn describe(&self) -> String {
        match self {
            Fix::ChoosePort {
                service,
                port,
                suggested: Some(s),
                ..
            } => {
                format!(
                    "move port `{port}` of `{service}` to {s} (free, outside the ephemeral range) in the manifest and the service's configuration"
                )
            }
            Fix::ChoosePort {
                service,
                port,
                within: Some(r),
                ..
            } => {
                format!(
                    "move port `{port}` of `{service}` into {r} in the manifest and the service's configuration"
                )
            }
            Fix::ChoosePort { service, port, .. } => {
                format!("choose another number for port `{port}` of `{service}`")
            }
            Fix::ReserveFromEphemeral { port, protocol } => format!(
                "reserve {port}/{} from the ephemeral range",
                protocol.as_str()
            ),
            Fix::GrantBindCapability { service, port, .. } => format!(
                "let `{service}` bind port {port} (setcap, systemd AmbientCapabilities, or the Kubernetes pod sysctl)"
            ),
            Fix::BindAddress {
                service,
                port,
                address,
            } => format!("bind port `{port}` of `{service}` to {address}"),
            Fix::SetSocketOption {
                service,
                option,
                value: true,
            } => format!("set {option} on the listening socket of `{service}`"),
            Fix::SetSocketOption {
                service,
                option,
                value: false,
            } => format!("stop setting {option} on the listening socket of `{service}`"),
            Fix::FreePort {
                port, pid, process, ..
            } => format!(
                "port {port} is held by {} (PID {pid}): stop its service if it should not run there",
                process.as_deref().unwrap_or("a process")
            ),
            Fix::ResetWinnatExclusion { port, .. } => format!(
                "reserve {port} as an administered exclusion while WinNAT is stopped (Windows)"
            ),
            Fix::OpenFirewall { port, protocol, .. } => {
                format!("open {port}/{} in the host firewall", protocol.as_str())
            }
            Fix::RestrictFirewall { port, protocol } => format!(
                "limit the rule admitting {port}/{} to the sources that need it",
                protocol.as_str()
            ),
            Fix::DefineVariable { name } => {
                format!("define `{name}` under `environment:` or give it a default")
            }
        }
    }
}
