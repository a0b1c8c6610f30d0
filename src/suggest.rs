//! `preflight suggest`: the lowest port of a range that passes every rule.
//!
//! Each candidate is tried for real: the manifest gets one more service listening on it, every rule of
//! the policy runs (built-in and custom, with the host facts when given), and the candidate passes only
//! if nothing at all is reported about that service. Ports the manifest already uses are skipped first.

use crate::facts::Facts;
use crate::manifest::{Expose, Manifest, Port, Protocol, Runtime, Service};
use crate::policy::Policy;
use crate::ports::PortRange;
use crate::rules::{Context, evaluate};

/// The outcome of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suggestion {
    /// The port found, if any.
    pub port: Option<u16>,
    /// How many candidates were evaluated.
    pub checked: u32,
}

const PROBE: &str = "preflight-suggest";

/// Searches `range` from the bottom for a port that passes on every host of `hosts` (without hosts: on
/// the manifest alone).
pub fn lowest_passing(
    manifest: &Manifest,
    policy: &Policy,
    hosts: &[&Facts],
    range: PortRange,
    protocol: Protocol,
    team: Option<&str>,
) -> Suggestion {
    let used: std::collections::HashSet<u16> = manifest
        .ports()
        .filter(|(_, p)| p.protocol == protocol)
        .filter_map(|(_, p)| p.number)
        .collect();
    let mut checked = 0;
    let mut m = manifest.clone();
    m.services.push(Service {
        name: PROBE.into(),
        team: team.map(str::to_owned),
        description: None,
        runtime: Runtime::Other,
        socket: Default::default(),
        ports: vec![Port {
            name: "probe".into(),
            number: None,
            protocol,
            bind: std::net::IpAddr::from([0, 0, 0, 0]),
            expose: Expose::Internal,
            purpose: None,
            path: format!("services.{PROBE}.ports.probe"),
            number_path: format!("services.{PROBE}.ports.probe.port"),
            target: None,
            pick: None,
            docker: false,
            container: None,
        }],
        path: format!("services.{PROBE}"),
        replicas: 1,
        pod: None,
        network: None,
        listens: Vec::new(),
    });
    let prefix = format!("services.{PROBE}.");
    for n in range.start..=range.end {
        if used.contains(&n) {
            continue;
        }
        if let Some(svc) = m.services.last_mut() {
            svc.ports[0].number = Some(n);
        }
        checked += 1;
        let passes = |facts: Option<&Facts>| {
            let found = evaluate(&Context::new(&m, policy, facts));
            !found.items.iter().any(|f| f.path.starts_with(&prefix)) && found.errors.is_empty()
        };
        let ok = if hosts.is_empty() {
            passes(None)
        } else {
            hosts.iter().all(|f| passes(Some(f)))
        };
        if ok {
            return Suggestion {
                port: Some(n),
                checked,
            };
        }
    }
    Suggestion {
        port: None,
        checked,
    }
}
