//! Rules over a fleet: static rules once, host rules once per host in parallel, and a host rule's
//! finding that holds on every host (and without facts) reported once, without a host.

use std::collections::{HashMap, HashSet};

use crate::facts::Facts;
use crate::finding::{Finding, Findings, Severity};
use crate::fleet::Host;
use crate::manifest::{Manifest, Protocol};
use crate::policy::Policy;
use crate::ports::PortRange;

use super::Context;
use super::engine::{evaluate, evaluate_scope};
use super::scope::Scope;

/// What one host contributes to a manifest's fleet check: its host rules' findings, carrying its
/// name, and the ephemeral ranges suggestions made for the whole fleet must avoid.
#[derive(Debug, Default)]
pub struct HostPart {
    /// The host rules' findings on this host.
    pub found: Findings,
    /// The host's ephemeral ranges (see [`Context::ephemeral_ranges`]).
    pub avoid: Vec<(Protocol, PortRange)>,
}

/// Runs the host rules of `manifest` on one host's facts. The facts are not needed afterwards, so a
/// fleet can be checked a host at a time (see [`combine`]) without holding every host's facts.
pub fn evaluate_host(manifest: &Manifest, policy: &Policy, name: &str, facts: &Facts) -> HostPart {
    let mut found = evaluate_scope(&Context::new(manifest, policy, Some(facts)), Scope::Host);
    for f in &mut found.items {
        f.host = Some(name.to_owned());
    }
    for s in &mut found.skipped {
        s.host = Some(name.to_owned());
    }
    for e in &mut found.errors {
        *e = format!("host `{name}`: {e}");
    }
    // Held until every host is checked: no room to spare.
    found.items.shrink_to_fit();
    HostPart {
        found,
        avoid: Context::ephemeral_ranges(manifest, facts),
    }
}

/// Runs the rules for a fleet of hosts. Rules that read no facts run once; the others run once per host,
/// in parallel, and their findings carry the host's name. A host rule's finding that does not depend on
/// the host (the rule reports it, word for word, without any facts and on every host too, such as
/// `overexposed` on a `local` port bound to a public address) is reported once, without a host, like a
/// static finding. Without hosts this is [`evaluate`] without facts.
pub fn evaluate_fleet(manifest: &Manifest, policy: &Policy, hosts: &[Host]) -> Findings {
    use rayon::prelude::*;
    if hosts.is_empty() {
        return evaluate(&Context::new(manifest, policy, None));
    }
    let parts = hosts
        .par_iter()
        .map(|h| evaluate_host(manifest, policy, &h.name, &h.facts))
        .collect();
    combine(manifest, policy, parts)
}

/// The fleet's findings from each host's [`HostPart`], in host order: the rules that read no facts run
/// here, once, and a host finding every host reports identically is reported once, without a host
/// (see [`evaluate_fleet`]). With no parts, the rules run as without facts.
pub fn combine(manifest: &Manifest, policy: &Policy, parts: Vec<HostPart>) -> Findings {
    if parts.is_empty() {
        return evaluate(&Context::new(manifest, policy, None));
    }
    let mut avoid = Vec::new();
    for r in parts.iter().flat_map(|p| &p.avoid) {
        if !avoid.contains(r) {
            avoid.push(*r);
        }
    }
    let mut all = evaluate_scope(&Context::avoiding(manifest, policy, avoid), Scope::Static);
    let baseline = evaluate_scope(&Context::new(manifest, policy, None), Scope::HostBuiltIn);
    let mut per_host: Vec<Findings> = parts.into_iter().map(|p| p.found).collect();
    // Findings of the baseline that every host reports identically hold regardless of the host.
    fn key(f: &Finding) -> (&str, &str, &str, Severity, Option<&str>) {
        (
            f.rule.as_str(),
            f.path.as_str(),
            f.message.as_str(),
            f.severity,
            f.help.as_deref(),
        )
    }
    // Each key names its first baseline finding; exact duplicates say nothing more and are dropped.
    let mut index: HashMap<_, usize> = HashMap::new();
    for (i, f) in baseline.items.iter().enumerate() {
        index.entry(key(f)).or_insert(i);
    }
    let mut common: HashSet<usize> = index.values().copied().collect();
    for found in &per_host {
        if common.is_empty() {
            break;
        }
        let here: HashSet<usize> = found
            .items
            .iter()
            .filter_map(|f| index.get(&key(f)).copied())
            .collect();
        common.retain(|i| here.contains(i));
    }
    if !common.is_empty() {
        for found in &mut per_host {
            found
                .items
                .retain(|f| index.get(&key(f)).is_none_or(|i| !common.contains(i)));
        }
    }
    drop(index);
    all.items.extend(
        baseline
            .items
            .into_iter()
            .enumerate()
            .filter(|(i, _)| common.contains(i))
            .map(|(_, f)| f),
    );
    // Room for every host's findings at once: a fleet's 100,000 findings are moved once, and each
    // host's list is freed as soon as it is moved.
    all.items
        .reserve_exact(per_host.iter().map(|f| f.items.len()).sum());
    for found in per_host {
        all.items.extend(found.items);
        all.skipped.extend(found.skipped);
        all.errors.extend(found.errors);
    }
    all
}
