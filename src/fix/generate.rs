//! `preflight gen`: whole configs from the manifest — firewall rules for every public and internal port,
//! and Kubernetes Services, NetworkPolicies and Deployment patches.

use std::collections::BTreeSet;

use serde::Serialize;

use super::render::{FixError, render};
use crate::manifest::{Expose, Manifest, Platform};
use crate::ports::is_loopback;

/// Firewall dialects `gen firewall` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FirewallDialect {
    /// PowerShell `New-NetFirewallRule` (skips rules that exist).
    Powershell,
    /// cmd with `netsh advfirewall` (delete, then add).
    Netsh,
    /// `firewall-cmd --permanent` (shell script).
    Firewalld,
    /// `ufw allow` (shell script).
    Ufw,
    /// An `nft -f` file with its own table.
    Nft,
    /// `iptables -C || iptables -I` (shell script).
    Iptables,
}

impl FirewallDialect {
    /// Template name and file extension.
    pub fn parts(self) -> (&'static str, &'static str) {
        match self {
            FirewallDialect::Powershell => ("gen/powershell.j2", "ps1"),
            FirewallDialect::Netsh => ("gen/netsh.j2", "cmd"),
            FirewallDialect::Firewalld => ("gen/firewalld.j2", "sh"),
            FirewallDialect::Ufw => ("gen/ufw.j2", "sh"),
            FirewallDialect::Nft => ("gen/nft.j2", "nft"),
            FirewallDialect::Iptables => ("gen/iptables.j2", "sh"),
        }
    }
}

impl FirewallDialect {
    /// The dialect that fits a host, from its facts: PowerShell on Windows; on Linux the active manager
    /// (firewalld, ufw), else iptables when only legacy iptables holds rules, else nftables.
    pub fn for_host(facts: &crate::facts::Facts) -> FirewallDialect {
        if facts.is_windows() {
            return FirewallDialect::Powershell;
        }
        let fw = facts.firewall.as_ref().map(|f| &f.value);
        match fw.and_then(|f| f.manager.as_deref()) {
            Some("firewalld") => FirewallDialect::Firewalld,
            Some("ufw") => FirewallDialect::Ufw,
            _ => {
                let legacy_only = fw.is_some_and(|f| {
                    f.iptables_variant.as_deref() == Some("legacy")
                        && f.iptables_v4
                            .as_deref()
                            .is_some_and(|t| t.contains("\n-A "))
                        && f.nftables.as_ref().is_none_or(|n| {
                            // `nft -j list ruleset`: {"nftables": [{"metainfo": …}, {"table": …}, …]}
                            n["nftables"]
                                .as_array()
                                .is_none_or(|items| items.iter().all(|i| i.get("table").is_none()))
                        })
                });
                if legacy_only {
                    FirewallDialect::Iptables
                } else {
                    FirewallDialect::Nft
                }
            }
        }
    }
}

/// Options of `gen`.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Windows profiles for the rules (`Domain,Private`).
    pub profile: String,
    /// firewalld zone.
    pub zone: String,
    /// Keep SSH open in the nft firewall.
    pub keep_ssh: bool,
}

#[derive(Serialize)]
struct GenPort {
    name: String,
    number: u16,
    protocol: &'static str,
    expose: &'static str,
    ipv6_only: bool,
}

#[derive(Serialize)]
struct GenService {
    name: String,
    description: Option<String>,
    /// Public and internal ports on non-loopback addresses: what a firewall must admit.
    ports: Vec<GenPort>,
    /// Every port, one per (number, protocol): what the container declares.
    all_ports: Vec<GenPort>,
    /// The ports other pods can reach (not `expose: local`, not loopback): what the Service maps.
    service_ports: Vec<GenPort>,
    public: Vec<GenPort>,
    internal: Vec<GenPort>,
    needs_low_port_sysctl: bool,
}

#[derive(Serialize)]
struct GenContext<'a> {
    title: &'a str,
    version: &'a str,
    services: Vec<GenService>,
    profile: &'a str,
    zone: &'a str,
    keep_ssh: bool,
}

fn services(manifests: &[&Manifest]) -> Vec<GenService> {
    let mut out = Vec::new();
    for m in manifests {
        for s in &m.services {
            let gen_port = |p: &crate::manifest::Port, n: u16| GenPort {
                name: p.name.clone(),
                number: n,
                protocol: p.protocol.as_str(),
                expose: p.expose.as_str(),
                ipv6_only: p.bind.is_ipv6() && !p.bind.is_unspecified(),
            };
            let mut seen = BTreeSet::new();
            let mut all_ports = Vec::new();
            let mut ports = Vec::new();
            let mut service_ports = Vec::new();
            let (mut public, mut internal) = (Vec::new(), Vec::new());
            let mut low = false;
            for p in &s.ports {
                let Some(n) = p.number else { continue };
                if !seen.insert((n, p.protocol)) {
                    continue; // one listener serving several named purposes
                }
                low |= n < 1024;
                all_ports.push(gen_port(p, n));
                if p.expose == Expose::Local || is_loopback(p.bind) {
                    continue;
                }
                ports.push(gen_port(p, n));
                service_ports.push(gen_port(p, n));
                match p.expose {
                    Expose::Public => public.push(gen_port(p, n)),
                    _ => internal.push(gen_port(p, n)),
                }
            }
            if all_ports.is_empty() {
                continue;
            }
            out.push(GenService {
                name: s.name.clone(),
                description: s.description.clone(),
                ports,
                all_ports,
                service_ports,
                public,
                internal,
                needs_low_port_sysctl: low
                    && m.target.platform == Platform::Kubernetes
                    && !m.target.run_as.is_privileged(),
            });
        }
    }
    out
}

/// Inbound allow rules for every public and internal port of the manifests.
pub fn firewall(
    dialect: FirewallDialect,
    manifests: &[&Manifest],
    names: &[&str],
    host: Option<&str>,
    opts: &GenOptions,
) -> Result<String, FixError> {
    let title = match host {
        Some(h) => format!("{} on host {h}", names.join(", ")),
        None => names.join(", "),
    };
    let cx = GenContext {
        title: &title,
        version: env!("CARGO_PKG_VERSION"),
        services: services(manifests),
        profile: &opts.profile,
        zone: &opts.zone,
        keep_ssh: opts.keep_ssh,
    };
    render(dialect.parts().0, &cx)
}

/// Kubernetes objects for every service of the manifests: what `kubectl apply` takes (Services and
/// NetworkPolicies, one text) and, per service, a strategic merge patch of its Deployment's container
/// ports, `(service name, patch text)`.
pub struct K8s {
    /// Services and NetworkPolicies: `kubectl apply -f`.
    pub apply: String,
    /// Per service: the Deployment patch, `kubectl patch deployment NAME --patch-file`.
    pub patches: Vec<(String, String)>,
}

/// The Kubernetes objects and patches for the manifests.
pub fn k8s(manifests: &[&Manifest], names: &[&str]) -> Result<K8s, FixError> {
    let title = names.join(", ");
    let cx = GenContext {
        title: &title,
        version: env!("CARGO_PKG_VERSION"),
        services: services(manifests),
        profile: "",
        zone: "",
        keep_ssh: false,
    };
    let apply = render("gen/k8s.j2", &cx)?;
    let mut patches = Vec::new();
    for s in &cx.services {
        let text = render(
            "gen/k8s-patch.j2",
            &serde_json::json!({ "s": s, "title": title, "version": env!("CARGO_PKG_VERSION") }),
        )?;
        let name = super::quote::dns1123(&s.name).unwrap_or_else(|| s.name.clone());
        patches.push((name, text));
    }
    Ok(K8s { apply, patches })
}
