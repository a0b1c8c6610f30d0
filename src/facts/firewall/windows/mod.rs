//! Windows Defender Firewall: rules and profiles from `netsh advfirewall` or PowerShell exports, and the
//! inbound decision per profile (Domain, Private, Public).
//!
//! A block rule that matches wins over any allow rule; otherwise a matching allow rule admits the port;
//! otherwise the profile's default inbound action applies (Block by default on every profile). Rules
//! limited to a program, a service or remote addresses match only some traffic: they make the decision
//! conditional rather than certain.
//!
//! The readers of each export are beside this file: [`netsh`] (`netsh advfirewall` text) and
//! [`powershell`] (the JSON export and `Get-NetConnectionProfile`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod netsh;
mod powershell;

use crate::ports::PortRange;
use crate::ports::Protocol;

pub use netsh::{netsh_profiles, netsh_rules};
pub use powershell::{connection_profiles, powershell};
/// The three firewall profiles.
pub const PROFILES: [&str; 3] = ["Domain", "Private", "Public"];

/// One inbound rule, normalized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WinRule {
    /// The rule's name (DisplayName, or netsh's `Rule Name`).
    pub name: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// `true` for Allow, `false` for Block.
    pub allow: bool,
    /// Profiles it applies to (`Domain`, `Private`, `Public`); all three for `Any`.
    pub profiles: Vec<String>,
    /// `TCP`, `UDP`, `Any` or a protocol number.
    pub protocol: String,
    /// Local ports; empty means any port. `None` when the rule names ports by keyword (RPC, …).
    pub local_ports: Option<Vec<PortRange>>,
    /// What limits it to some traffic (program, service, remote addresses), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// One profile's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WinProfile {
    /// `Domain`, `Private` or `Public`.
    pub name: String,
    /// Whether the firewall is on for it.
    pub enabled: bool,
    /// Whether inbound traffic no rule matches is blocked.
    pub default_block_inbound: bool,
}

/// A network connection's category, which picks the firewall profile that applies to its traffic
/// (`Get-NetConnectionProfile`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct NetworkProfile {
    /// The interface (`Ethernet`, `Wi-Fi`).
    pub interface: String,
    /// The firewall profile its category selects: `Domain`, `Private` or `Public`.
    pub profile: String,
}

/// The firewall profile a `NetworkCategory` selects (`DomainAuthenticated` → `Domain`; PowerShell's
/// plain `ConvertTo-Json` writes the enum as 0, 1, 2).
pub fn profile_of_category(category: &str) -> Option<&'static str> {
    match category.trim().to_ascii_lowercase().as_str() {
        "public" | "0" => Some("Public"),
        "private" | "1" => Some("Private"),
        "domainauthenticated" | "domain" | "2" => Some("Domain"),
        _ => None,
    }
}

/// The decision for one profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileDecision {
    /// The profile.
    pub profile: String,
    /// Whether the port is admitted for arbitrary clients.
    pub accepted: bool,
    /// Whether some clients are admitted (a scoped allow rule).
    pub some_accepted: bool,
    /// What decided.
    pub by: String,
}

fn matches(rule: &WinRule, protocol: Protocol, port: u16) -> bool {
    let proto_ok = match rule.protocol.to_ascii_uppercase().as_str() {
        "ANY" | "" => true,
        "TCP" | "6" => protocol == Protocol::Tcp,
        "UDP" | "17" => protocol == Protocol::Udp,
        _ => false,
    };
    proto_ok
        && match &rule.local_ports {
            None => false,
            Some(ports) => ports.is_empty() || ports.iter().any(|r| r.contains(port)),
        }
}

/// Decides an inbound connection to `port` for each profile.
pub fn decide(
    rules: &[WinRule],
    profiles: &[WinProfile],
    protocol: Protocol,
    port: u16,
) -> Vec<ProfileDecision> {
    PROFILES
        .iter()
        .map(|&name| {
            let profile = profiles.iter().find(|p| p.name.eq_ignore_ascii_case(name));
            let (enabled, default_block) =
                profile.map_or((true, true), |p| (p.enabled, p.default_block_inbound));
            if !enabled {
                return ProfileDecision {
                    profile: name.into(),
                    accepted: true,
                    some_accepted: true,
                    by: format!("the firewall is off for the {name} profile"),
                };
            }
            let applicable = rules.iter().filter(|r| {
                r.enabled
                    && r.profiles
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(name) || p.eq_ignore_ascii_case("Any"))
                    && matches(r, protocol, port)
            });
            let (mut block, mut allow, mut scoped_allow) = (None, None, None);
            for r in applicable {
                match (r.allow, &r.scope) {
                    (false, None) => block = block.or(Some(r)),
                    (false, Some(_)) => {} // a scoped block blocks only some clients
                    (true, None) => allow = allow.or(Some(r)),
                    (true, Some(_)) => scoped_allow = scoped_allow.or(Some(r)),
                }
            }
            if let Some(b) = block {
                return ProfileDecision {
                    profile: name.into(),
                    accepted: false,
                    some_accepted: false,
                    by: format!("block rule '{}'", b.name),
                };
            }
            if let Some(a) = allow {
                return ProfileDecision {
                    profile: name.into(),
                    accepted: true,
                    some_accepted: true,
                    by: format!("allow rule '{}'", a.name),
                };
            }
            let default = if default_block {
                "default inbound action Block"
            } else {
                "default inbound action Allow"
            };
            match scoped_allow {
                Some(a) => ProfileDecision {
                    profile: name.into(),
                    accepted: !default_block,
                    some_accepted: true,
                    by: format!(
                        "allow rule '{}' ({}), otherwise the {name} profile's {default}",
                        a.name,
                        a.scope.as_deref().unwrap_or("")
                    ),
                },
                None => ProfileDecision {
                    profile: name.into(),
                    accepted: !default_block,
                    some_accepted: !default_block,
                    by: format!("the {name} profile's {default}"),
                },
            }
        })
        .collect()
}

fn local_ports(spec: &str) -> Option<Vec<PortRange>> {
    let s = spec.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("any") {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        match (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
            (Ok(a), Ok(b)) => out.push(PortRange::new(a, b)?),
            _ => return None, // RPC, RPCEPMap, IPHTTPS, PlayToDiscovery…
        }
    }
    Some(out)
}

fn profiles_of(spec: &str) -> Vec<String> {
    let s = spec.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("any") || s.eq_ignore_ascii_case("all") {
        return PROFILES.iter().map(|p| (*p).to_owned()).collect();
    }
    s.split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}
#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, allow: bool, profiles: &str, port: &str, scope: Option<&str>) -> WinRule {
        WinRule {
            name: name.into(),
            enabled: true,
            allow,
            profiles: profiles_of(profiles),
            protocol: "TCP".into(),
            local_ports: local_ports(port),
            scope: scope.map(str::to_owned),
        }
    }

    #[test]
    fn block_wins_and_profiles_matter() {
        let rules = vec![
            rule("app 8080", true, "Domain,Private", "8080", None),
            rule("no 8081", false, "Any", "8081", None),
            rule("all 8081", true, "Any", "8081-8100", None),
            rule(
                "rdp from jump host",
                true,
                "Any",
                "3389",
                Some("remote 10.0.0.4"),
            ),
        ];
        let d = decide(&rules, &[], Protocol::Tcp, 8080);
        assert_eq!(
            d.iter().map(|x| x.accepted).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert!(
            d[2].by
                .contains("Public profile's default inbound action Block")
        );
        let d = decide(&rules, &[], Protocol::Tcp, 8081);
        assert!(
            d.iter()
                .all(|x| !x.accepted && x.by == "block rule 'no 8081'")
        );
        let d = decide(&rules, &[], Protocol::Tcp, 3389);
        assert!(d.iter().all(|x| !x.accepted && x.some_accepted));
        let off = [WinProfile {
            name: "Public".into(),
            enabled: false,
            default_block_inbound: true,
        }];
        assert!(decide(&rules, &off, Protocol::Tcp, 9999)[2].accepted);
    }
}
