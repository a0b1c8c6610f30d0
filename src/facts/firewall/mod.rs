//! Host firewalls: what they are, as captured, and whether they admit a new inbound connection to a port.
//!
//! Facts keep each backend's machine-readable dump as captured (`nft -j list ruleset`, `iptables-save`,
//! `ip6tables-save`) or, for Windows, the normalized rules and profiles; the decision is made at check
//! time by [`decide`], so the message can quote the rule (table/chain/handle, iptables line, Windows rule
//! name) or the policy that decided. Linux packets pass every backend in use (legacy iptables and
//! nftables both hook input): a drop in any is final.

pub(crate) mod engine;
pub(crate) mod iptables;
pub(crate) mod nft;
pub mod windows;

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ports::Protocol;
use engine::{Decision, Family, Packet, Ruleset};
pub use windows::{WinProfile, WinRule};

/// The firewall of a host, as captured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FirewallFacts {
    /// The tool managing the rules, when one is active (`firewalld`, `ufw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// `nft -j list ruleset` output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nftables: Option<serde_json::Value>,
    /// `nf_tables` or `legacy`, from `iptables -V`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables_variant: Option<String>,
    /// `iptables-save` output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables_v4: Option<String>,
    /// `ip6tables-save` output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables_v6: Option<String>,
    /// Windows inbound rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_rules: Option<Vec<WinRule>>,
    /// Windows profiles (firewall on/off, default inbound action).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_profiles: Option<Vec<WinProfile>>,
}

/// What the firewall does with new inbound connections to a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every client is admitted.
    Open {
        /// The accepting rule or policy.
        by: String,
        /// Whether a rule (not a default policy) accepted.
        by_rule: bool,
    },
    /// Some clients are admitted (by source address, interface, program, profile), others not.
    Restricted {
        /// The accepting rule.
        by: String,
        /// What limits it.
        condition: String,
        /// What happens to the others.
        otherwise: String,
    },
    /// No client is admitted.
    Blocked {
        /// The dropping or rejecting rule, or the policy.
        by: String,
    },
}

/// The decision for one port, with the backend that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortDecision {
    /// `nftables`, `iptables (nf_tables)`, `Windows Defender Firewall`, … with the manager if any.
    pub backend: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The Linux base chain that decided a block (`inet filter input`, `iptables INPUT`): where an
    /// accept rule must go to open the port.
    pub chain: Option<String>,
    /// Windows: the profiles that block the port (of the active ones, when the facts name them), where
    /// an allow rule must apply to open it.
    pub blocked_profiles: Vec<String>,
}

impl FirewallFacts {
    /// Whether any backend was captured.
    pub fn is_empty(&self) -> bool {
        self.nftables.is_none()
            && self.iptables_v4.is_none()
            && self.iptables_v6.is_none()
            && self.windows_rules.is_none()
    }

    fn backend_name(&self) -> String {
        let mut parts = Vec::new();
        if self.nftables.is_some() {
            parts.push("nftables".to_owned());
        }
        if self.iptables_v4.is_some() || self.iptables_v6.is_some() {
            parts.push(match self.iptables_variant.as_deref() {
                Some(v) => format!("iptables ({v})"),
                None => "iptables".to_owned(),
            });
        }
        if self.windows_rules.is_some() {
            parts.push("Windows Defender Firewall".to_owned());
        }
        let mut name = parts.join(" + ");
        if let Some(m) = &self.manager {
            name.push_str(&format!(", managed by {m}"));
        }
        name
    }

    /// The Linux rulesets to evaluate; a dump that can't be read is an error for the finding to name.
    fn rulesets(&self) -> Result<Vec<Ruleset>, DumpError> {
        let mut out = Vec::new();
        let have_save = self.iptables_v4.is_some() || self.iptables_v6.is_some();
        if let Some(j) = &self.nftables {
            // iptables-nft's own tables are read from iptables-save, where their matches are legible.
            let skip_compat = have_save && self.iptables_variant.as_deref() != Some("legacy");
            out.push(nft::ruleset(j, skip_compat)?);
        }
        for (text, family, label) in [
            (&self.iptables_v4, Family::V4, "iptables"),
            (&self.iptables_v6, Family::V6, "ip6tables"),
        ] {
            if let Some(t) = text {
                out.push(
                    iptables::ruleset(t, family, label).map_err(|e| DumpError::Save {
                        label,
                        line: e.line,
                        message: e.message,
                    })?,
                );
            }
        }
        Ok(out)
    }
}

/// A captured firewall dump in the facts that can't be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    /// The `nft -j list ruleset` capture.
    #[error(transparent)]
    Nft(#[from] nft::NftError),
    /// An `iptables-save` or `ip6tables-save` capture.
    #[error("{label}-save line {line}: {message}")]
    Save {
        /// `iptables` or `ip6tables`.
        label: &'static str,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Combines the decisions of rulesets that all see the packet: the first drop is final; otherwise the
/// packet is accepted, and the accept a rule made (rather than a policy) names it.
fn combine(decisions: Vec<Decision>) -> Option<Decision> {
    if let Some(drop) = decisions.iter().find(|d| !d.accepted) {
        return Some(drop.clone());
    }
    let by_rule = decisions.iter().find(|d| !d.by_policy).cloned();
    by_rule.or_else(|| decisions.into_iter().next())
}

/// The IP versions clients use to reach a bind address.
fn families(bind: IpAddr) -> Vec<Family> {
    match bind {
        IpAddr::V4(_) => vec![Family::V4],
        IpAddr::V6(v6) if v6.is_unspecified() => vec![Family::V4, Family::V6],
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => vec![Family::V4],
        IpAddr::V6(_) => vec![Family::V6],
    }
}

/// Decides new inbound connections to `port` on `bind`; `Err` when a captured dump can't be read.
/// Deciding many ports of one host? [`FirewallFacts::prepare`] reads the dumps once for all of them.
pub fn decide(
    fw: &FirewallFacts,
    protocol: Protocol,
    port: u16,
    bind: IpAddr,
) -> Result<Option<PortDecision>, DumpError> {
    fw.prepare(None).decide(protocol, port, bind)
}

/// A host's firewall with its captured dumps read into rulesets, ready to decide many ports.
#[derive(Debug)]
pub struct Prepared<'a> {
    fw: &'a FirewallFacts,
    backend: String,
    rulesets: Result<Vec<Ruleset>, DumpError>,
    /// Windows: the connected networks, whose profiles decide (empty: unknown, every profile counts).
    active: Vec<windows::NetworkProfile>,
}

impl FirewallFacts {
    /// Reads the captured dumps once (Windows rules need no reading). `active` are the host's connected
    /// networks on Windows, when known: only their profiles apply to inbound traffic.
    pub fn prepare(&self, active: Option<&[windows::NetworkProfile]>) -> Prepared<'_> {
        Prepared {
            active: active.map(<[_]>::to_vec).unwrap_or_default(),
            fw: self,
            backend: self.backend_name(),
            rulesets: if self.windows_rules.is_some() {
                Ok(Vec::new())
            } else {
                self.rulesets()
            },
        }
    }
}

impl Prepared<'_> {
    /// When the connected networks are known: which profiles they use, and an allow rule that admits
    /// the port only on profiles no connected network uses (it does nothing for inbound traffic now).
    fn inactive_note(&self, all: &[windows::ProfileDecision], blocked_everywhere: bool) -> String {
        if self.active.is_empty() {
            return String::new();
        }
        let nets: Vec<String> = self
            .active
            .iter()
            .map(|a| format!("{}: {}", a.interface, a.profile))
            .collect();
        let mut note = format!(
            ", the profile{} of the connected networks ({})",
            if nets.len() == 1 { "" } else { "s" },
            nets.join(", ")
        );
        let idle: Vec<&windows::ProfileDecision> = all
            .iter()
            .filter(|x| x.accepted && !self.active.iter().any(|a| a.profile == x.profile))
            .collect();
        if let Some(first) = idle
            .first()
            .filter(|x| blocked_everywhere && x.by.starts_with("allow rule"))
        {
            let names: Vec<&str> = idle.iter().map(|x| x.profile.as_str()).collect();
            note.push_str(&format!(
                "; {} admits it only on the {} profile{}, which no connected network uses",
                first.by,
                names.join(", "),
                if names.len() == 1 { "" } else { "s" }
            ));
        }
        note
    }

    /// Decides new inbound connections to `port` on `bind`; `Err` when a captured dump can't be read.
    pub fn decide(
        &self,
        protocol: Protocol,
        port: u16,
        bind: IpAddr,
    ) -> Result<Option<PortDecision>, DumpError> {
        let fw = self.fw;
        let backend = self.backend.clone();
        if let Some(rules) = &fw.windows_rules {
            let profiles = fw.windows_profiles.as_deref().unwrap_or(&[]);
            let all = windows::decide(rules, profiles, protocol, port);
            // Only the connected networks' profiles apply, when the facts name them.
            let is_active = |p: &str| self.active.iter().any(|a| a.profile == p);
            let d: Vec<windows::ProfileDecision> = if self.active.is_empty() {
                all.clone()
            } else {
                all.iter()
                    .filter(|x| is_active(&x.profile))
                    .cloned()
                    .collect()
            };
            let blocked_profiles: Vec<String> = d
                .iter()
                .filter(|x| !x.accepted)
                .map(|x| x.profile.clone())
                .collect();
            let blocked: Vec<&str> = d
                .iter()
                .filter(|x| !x.accepted)
                .map(|x| x.profile.as_str())
                .collect();
            let verdict = if blocked.is_empty() {
                let by = d
                    .iter()
                    .map(|x| x.by.as_str())
                    .find(|b| b.starts_with("allow rule"))
                    .unwrap_or(&d[0].by)
                    .to_owned();
                Verdict::Open {
                    by_rule: by.starts_with("allow rule"),
                    by,
                }
            } else if blocked.len() == d.len() && d.iter().all(|x| !x.some_accepted) {
                let by = if d
                    .iter()
                    .all(|x| x.by.ends_with("default inbound action Block"))
                {
                    let names: Vec<&str> = d.iter().map(|x| x.profile.as_str()).collect();
                    format!(
                        "the default inbound action Block of the {} profile{}",
                        and_list(&names),
                        if names.len() == 1 { "" } else { "s" }
                    )
                } else {
                    let mut bys: Vec<String> = d
                        .iter()
                        .map(|x| format!("{} on {}", x.by, x.profile))
                        .collect();
                    bys.dedup();
                    bys.join("; ")
                };
                Verdict::Blocked {
                    by: by + &self.inactive_note(&all, true),
                }
            } else {
                let admitted: Vec<&windows::ProfileDecision> =
                    d.iter().filter(|x| x.accepted || x.some_accepted).collect();
                let closed: Vec<String> = d
                    .iter()
                    .filter(|x| !x.accepted)
                    .map(|x| format!("{} ({})", x.profile, x.by))
                    .collect();
                Verdict::Restricted {
                    by: admitted.first().map_or_else(String::new, |x| x.by.clone()),
                    condition: format!(
                        "on the {} profile{}",
                        admitted
                            .iter()
                            .map(|x| x.profile.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        if admitted.len() == 1 { "" } else { "s" }
                    ),
                    otherwise: format!("blocked on {}", closed.join(", "))
                        + &self.inactive_note(&all, false),
                }
            };
            return Ok(Some(PortDecision {
                backend,
                verdict,
                chain: None,
                blocked_profiles,
            }));
        }
        let rulesets = self.rulesets.as_ref().map_err(Clone::clone)?;
        if rulesets.iter().all(Ruleset::is_empty) {
            return Ok(None);
        }
        let mut result: Option<(Verdict, Option<String>)> = None;
        for family in families(bind) {
            let packet = Packet {
                protocol,
                port,
                family,
            };
            let (mut bests, mut worsts) = (Vec::new(), Vec::new());
            for rs in rulesets {
                if let Some((b, w)) = rs.decide(&packet) {
                    bests.push(b);
                    worsts.push(w);
                }
            }
            let (best, worst) = (combine(bests), combine(worsts));
            let (Some(best), Some(worst)) = (best, worst) else {
                continue;
            };
            let chain = (!best.accepted).then(|| best.base.clone());
            let v = match (best.accepted, worst.accepted) {
                (false, _) => Verdict::Blocked { by: best.by },
                (true, true) => Verdict::Open {
                    by_rule: !best.by_policy,
                    by: best.by,
                },
                (true, false) => Verdict::Restricted {
                    condition: if best.assumed.is_empty() {
                        "under some conditions".into()
                    } else {
                        format!("only when {}", best.assumed.join(" and "))
                    },
                    by: best.by,
                    otherwise: format!("otherwise {}", worst.by),
                },
            };
            let v = match v {
                Verdict::Blocked { by } if families(bind).len() > 1 => Verdict::Blocked {
                    by: format!("{by} ({})", family.as_str()),
                },
                other => other,
            };
            // The worst family decides: blocked beats restricted beats open.
            let rank = |v: &Verdict| match v {
                Verdict::Blocked { .. } => 2,
                Verdict::Restricted { .. } => 1,
                Verdict::Open { .. } => 0,
            };
            if result.as_ref().is_none_or(|(r, _)| rank(&v) > rank(r)) {
                result = Some((v, chain));
            }
        }
        Ok(result.map(|(verdict, chain)| PortDecision {
            blocked_profiles: Vec::new(),
            backend,
            verdict,
            chain,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::windows::{NetworkProfile, WinRule};
    use super::*;
    use crate::ports::PortRange;

    fn rules_allowing_11001_on(profiles: &[&str]) -> FirewallFacts {
        FirewallFacts {
            windows_rules: Some(vec![WinRule {
                name: "orders 11001".into(),
                enabled: true,
                allow: true,
                profiles: profiles.iter().map(|p| (*p).to_owned()).collect(),
                protocol: "TCP".into(),
                local_ports: Some(vec![PortRange {
                    start: 11001,
                    end: 11001,
                }]),
                scope: None,
            }]),
            ..FirewallFacts::default()
        }
    }

    fn on(interface: &str, profile: &str) -> NetworkProfile {
        NetworkProfile {
            interface: interface.into(),
            profile: profile.into(),
        }
    }

    fn decide(fw: &FirewallFacts, active: Option<&[NetworkProfile]>) -> PortDecision {
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        fw.prepare(active)
            .decide(Protocol::Tcp, 11001, any)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn only_the_connected_networks_profiles_decide() {
        let fw = rules_allowing_11001_on(&["Domain", "Private"]);
        // Without network facts every profile counts: open on two, blocked on Public.
        let d = decide(&fw, None);
        assert!(matches!(d.verdict, Verdict::Restricted { .. }), "{d:?}");
        assert_eq!(d.blocked_profiles, ["Public"]);
        // A Private network only: the rule applies, nothing is blocked.
        let d = decide(&fw, Some(&[on("Ethernet", "Private")]));
        assert!(matches!(d.verdict, Verdict::Open { .. }), "{d:?}");
        assert!(d.blocked_profiles.is_empty());
        // A Public network only: blocked, and the rule is named as one for profiles no network uses.
        let d = decide(&fw, Some(&[on("Ethernet", "Public")]));
        let Verdict::Blocked { by } = &d.verdict else {
            panic!("{d:?}")
        };
        assert!(
            by.contains("Public profile")
                && by.contains("(Ethernet: Public)")
                && by.contains("allow rule 'orders 11001' admits it only on the Domain, Private profiles, which no connected network uses"),
            "{by}"
        );
        assert_eq!(d.blocked_profiles, ["Public"]);
    }
}
