//! `firewall-blocked`: the host firewall drops or rejects new inbound connections to a port others must reach.

use super::{Context, host_facts};
use crate::facts::firewall::Verdict;
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::{Expose, Platform, Port};
use crate::ports::is_loopback;

/// Metadata of `firewall-blocked`.
pub const META: RuleMeta = RuleMeta {
    id: "firewall-blocked",
    severity: Severity::Error,
    summary: "the host firewall drops inbound traffic to a public or internal port",
    facts: &["firewall"],
    docs: r#"## What it does
With host facts that include the firewall, decides for every port with `expose: public` or `internal`
whether a new inbound connection from another host is admitted, and reports the ports that are dropped or
rejected, naming the backend and the deciding rule (nftables table/chain/handle, the iptables rule, the
Windows rule name) or the default policy. Linux: nftables and iptables (nf_tables and legacy), as managed
by firewalld, ufw, Docker or kube-proxy; input base chains with their policies, `accept`/`drop`/`reject`
on destination ports (single, sets, ranges, verdict maps), jumps to regular chains, `iif lo`, and
established/related rules that don't apply to new connections. Windows Defender Firewall: per profile,
block rules win over allow rules, then the profile's default inbound action.

A public port that only some sources may reach (an accept limited to a source address, an interface or a
program, or one Windows profile) is a warning that says so. Conditions preflight can't decide are never
taken as proof: the port is reported blocked only if it is blocked whichever way they go. Ports bound to
a loopback address and ports with `expose: local` are never reported.

Ports a Compose file publishes through Docker on a Linux host are not judged by INPUT rules: Docker
DNATs them in `PREROUTING` and admits them in its own `FORWARD` chains (`DOCKER`, `DOCKER-USER`), so a
ufw or firewalld rule that drops the port in INPUT does not stop them. A Kubernetes pod's `hostPort`
(outside `hostNetwork`) is forwarded the same way by the CNI portmap plugin. They are listed as not
evaluated.

## Why is this bad?
The service starts and listens, health checks on the host pass, and every client times out. It is the
second most common failed deploy, and the firewall is the last place people look.

## Example
```yaml
services:
  api:
    ports:
      http: { port: 8080, expose: public }   # nftables: inet filter input policy drop
```

## Fix
Open the port in the backend that manages the host: `firewall-cmd --permanent --add-port=8080/tcp &&
firewall-cmd --reload`, `ufw allow 8080/tcp`, `nft add rule inet filter input tcp dport 8080 accept`,
`iptables -I INPUT -p tcp --dport 8080 -j ACCEPT`, or on Windows
`New-NetFirewallRule -DisplayName "api 8080" -Direction Inbound -Protocol TCP -LocalPort 8080 -Action Allow`.
"#,
};

/// The command that opens `port` in the backend that manages the host.
pub fn open_command(backend: &str, port: &Port, n: u16, profiles: &[String]) -> String {
    let proto = port.protocol.as_str();
    if backend.contains("firewalld") {
        format!("firewall-cmd --permanent --add-port={n}/{proto} && firewall-cmd --reload")
    } else if backend.contains("ufw") {
        format!("ufw allow {n}/{proto}")
    } else if backend.contains("Windows") {
        let profile = if profiles.is_empty() {
            String::new()
        } else {
            format!(" -Profile {}", profiles.join(","))
        };
        format!(
            "New-NetFirewallRule -DisplayName 'preflight {n}/{proto}' -Direction Inbound -Protocol {} -LocalPort {n} -Action Allow{profile}",
            proto.to_ascii_uppercase()
        )
    } else if backend.starts_with("nftables") {
        format!(
            "nft add rule inet filter input {proto} dport {n} accept (or add it to the table that holds your input chain)"
        )
    } else {
        format!("iptables -I INPUT -p {proto} --dport {n} -j ACCEPT")
    }
}

/// Reports ports the firewall drops.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let Some(facts) = host_facts(cx, &META, out) else {
        return;
    };
    let Some(fw) = &facts.firewall else {
        out.skip(META.id, "the host facts have no firewall state (probe as root, or import `nft -j list ruleset`, `iptables-save`, or the Windows firewall export)");
        return;
    };
    let windows = facts.os.as_deref() == Some("windows");
    let mut by_docker = Vec::new();
    for (svc, port) in cx.manifest.ports() {
        let Some((n, at)) = port.node(svc) else {
            continue;
        };
        if port.expose == Expose::Local || is_loopback(port.bind) {
            continue;
        }
        if port.forwarded(svc) && !windows {
            by_docker.push(format!("{} of `{}`", node_label(n, port), svc.name));
            continue;
        }
        let decision = match cx.firewall_decide(port.protocol, n, port.bind) {
            Ok(Some(d)) => d,
            Ok(None) => continue, // nothing filters this traffic
            Err(e) => {
                out.skip(
                    META.id,
                    format!("the captured firewall could not be read: {e}"),
                );
                return;
            }
        };
        let (severity, what) = match &decision.verdict {
            Verdict::Open { .. } => continue,
            Verdict::Restricted { .. } if port.expose == Expose::Internal => continue,
            Verdict::Restricted {
                by,
                condition,
                otherwise,
            } => (
                Severity::Warning,
                format!("is admitted {condition} by {by}, {otherwise}"),
            ),
            Verdict::Blocked { by } => (META.severity, format!("is dropped inbound by {by}")),
        };
        // Open it where it is blocked: on the (active) profiles that block it, as the facts tell.
        let profile = (cx.manifest.target.platform == Platform::Windows).then(|| {
            if decision.blocked_profiles.is_empty() {
                "Domain,Private".to_owned()
            } else {
                decision.blocked_profiles.join(",")
            }
        });
        out.push(
            Finding::new(
                &META,
                at,
                format!(
                    "{} port {} of `{}` {what} ({}, {})",
                    port.expose.as_str(),
                    node_label(n, port),
                    svc.name,
                    decision.backend,
                    match fw.origin {
                        crate::facts::Origin::Live => "read from this host",
                        _ => "from the captured facts",
                    }
                ),
            )
            .severity(severity)
            .label("blocked inbound")
            .help(format!(
                "open it: `{}`",
                open_command(&decision.backend, port, n, &decision.blocked_profiles)
            ))
            .fix(Fix::OpenFirewall {
                port: n,
                protocol: port.protocol,
                profile,
                chain: decision.chain.clone(),
            })
            .evidence("backend", decision.backend.clone())
            .evidence(
                "decided_by",
                match &decision.verdict {
                    Verdict::Blocked { by }
                    | Verdict::Restricted { by, .. }
                    | Verdict::Open { by, .. } => by.clone(),
                },
            )
            .evidence("source", fw.origin.as_str()),
        );
    }
    if !by_docker.is_empty() {
        out.skip(
            META.id,
            format!(
                "not evaluated for ports Docker publishes or a pod's hostPort maps ({}): they are forwarded (DNAT, then FORWARD: Docker's DOCKER-USER and DOCKER chains, the CNI portmap rules), not decided by the INPUT rules preflight reads",
                by_docker.join(", ")
            ),
        );
    }
}

/// `80/tcp`: the port as the host sees it.
fn node_label(n: u16, port: &crate::manifest::Port) -> String {
    format!("{n}/{}", port.protocol.as_str())
}
