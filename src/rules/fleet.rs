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
/// fleet can be checked a host at a time (see [`gather`] and [`combine`]) without holding every host's
/// facts.
pub fn evaluate_host(manifest: &Manifest, policy: &Policy, name: &str, facts: &Facts) -> HostPart {
    let mut found = evaluate_scope(&Context::new(manifest, policy, Some(facts)), Scope::Host);
    for f in &mut found.items {
        f.host = Some(name.into());
    }
    for s in &mut found.skipped {
        s.host = Some(name.to_owned());
    }
    for e in &mut found.errors {
        *e = format!("host `{name}`: {e}");
    }
    HostPart {
        found,
        avoid: Context::ephemeral_ranges(manifest, facts),
    }
}

/// Runs the rules for a fleet of hosts. Rules that read no facts run once; the others run once per host,
/// in parallel, and their findings carry the host's name. A host rule's finding that does not depend on
/// the host (the rule reports it, word for word, without any facts and on every host too, such as
/// `overexposed` on a `local` port bound to a public address) is reported once, without a host, like a
/// static finding. Without hosts this is [`evaluate`] without facts. Findings that can be deferred
/// are (see [`combine`]).
pub fn evaluate_fleet(manifest: &Manifest, policy: &Policy, hosts: &[Host]) -> Findings {
    let Ok(mut gathered) = gather(hosts, 1, |h| {
        Ok::<_, std::convert::Infallible>(vec![evaluate_host(manifest, policy, &h.name, &h.facts)])
    });
    // One job, so one gathering; without hosts it is empty and `combine` runs the rules without facts.
    combine(manifest, policy, gathered.pop().unwrap_or_default())
}

/// How many hosts are checked in parallel at a time by [`gather`]: enough to keep every thread busy,
/// few enough that their lists, freed as they are gathered, are reused for the next ones.
const HOSTS_AT_ONCE: usize = 64;

/// How many hosts' findings are counted before room is made for the whole fleet's (see
/// [`Gathered::push`]).
const SAMPLE_HOSTS: usize = 16;

/// Every host's [`HostPart`] of one manifest, gathered into one list in host order as the hosts are
/// checked (see [`gather`]): a fleet's findings are moved once, while each host's list is fresh, and
/// never held twice (every host's list, and all of them).
#[derive(Debug, Default)]
pub struct Gathered {
    /// The hosts' findings, skipped checks and errors, host after host.
    found: Findings,
    /// Where each host's findings end in `found.items`, in host order.
    ends: Vec<usize>,
    /// The ephemeral ranges of every host, each once, in the order first seen.
    avoid: Vec<(Protocol, PortRange)>,
    /// How many hosts will be gathered.
    hosts: usize,
}

impl Gathered {
    /// An empty gathering for `hosts` hosts.
    pub fn new(hosts: usize) -> Self {
        Gathered {
            hosts,
            ends: Vec::with_capacity(hosts),
            ..Gathered::default()
        }
    }

    /// Adds the next host's part. Once the first hosts are in, room is made for the whole fleet at
    /// their rate plus a quarter: the list then grows in place instead of being copied each time it
    /// doubles (room that is never written costs address space, not memory).
    pub fn push(&mut self, part: HostPart) {
        let HostPart { found, avoid } = part;
        for r in avoid {
            if !self.avoid.contains(&r) {
                self.avoid.push(r);
            }
        }
        self.found.items.extend(found.items);
        self.found.skipped.extend(found.skipped);
        self.found.errors.extend(found.errors);
        self.ends.push(self.found.items.len());
        if self.ends.len() == SAMPLE_HOSTS.min(self.hosts) {
            let per_host = self.found.items.len().div_ceil(self.ends.len());
            let total = per_host * self.hosts;
            let room = total + total / 4 + 1024;
            self.found
                .items
                .reserve_exact(room.saturating_sub(self.found.items.len()));
        }
    }
}

/// Checks `hosts` in host order, [`HOSTS_AT_ONCE`] at a time in parallel, and gathers what `check`
/// makes of each (one [`HostPart`] per job) into one [`Gathered`] per job. A chunk's parts are
/// gathered while the next chunk is checked, so the threads never wait for the gathering. The first
/// error in host order stops the gathering.
pub fn gather<T: Sync, E: Send>(
    hosts: &[T],
    jobs: usize,
    check: impl Fn(&T) -> Result<Vec<HostPart>, E> + Sync,
) -> Result<Vec<Gathered>, E> {
    use rayon::prelude::*;
    type Parts<E> = Vec<Result<Vec<HostPart>, E>>;
    fn push_all<E>(gathered: &mut [Gathered], parts: Parts<E>) -> Result<(), E> {
        for parts in parts {
            for (g, p) in gathered.iter_mut().zip(parts?) {
                g.push(p);
            }
        }
        Ok(())
    }
    let mut gathered: Vec<Gathered> = (0..jobs).map(|_| Gathered::new(hosts.len())).collect();
    let mut pending: Option<Parts<E>> = None;
    for chunk in hosts.chunks(HOSTS_AT_ONCE) {
        let (parts, pushed) = rayon::join(
            || chunk.par_iter().map(&check).collect::<Parts<E>>(),
            || {
                pending
                    .take()
                    .map_or(Ok(()), |p| push_all(&mut gathered, p))
            },
        );
        pushed?;
        pending = Some(parts);
    }
    if let Some(p) = pending {
        push_all(&mut gathered, p)?;
    }
    Ok(gathered)
}

/// The fleet's findings from each host's [`HostPart`], in host order: the rules that read no facts run
/// here, once, and a host finding every host reports identically is reported once, without a host
/// (see [`evaluate_fleet`]). With no parts, the rules run as without facts. The rules that can defer
/// their findings do (see [`Context::deferring`]): what this returns is for the check, which makes
/// them whole as it writes them.
pub fn combine(manifest: &Manifest, policy: &Policy, gathered: Gathered) -> Findings {
    if gathered.ends.is_empty() {
        return evaluate(&Context::new(manifest, policy, None).deferring());
    }
    let Gathered {
        found: mut hosts,
        ends,
        avoid,
        ..
    } = gathered;
    let mut all = evaluate_scope(
        &Context::avoiding(manifest, policy, avoid).deferring(),
        Scope::Static,
    );
    let baseline = evaluate_scope(&Context::new(manifest, policy, None), Scope::HostBuiltIn);
    // Findings of the baseline that every host reports identically hold regardless of the host.
    fn key(f: &Finding) -> (&str, &str, &str, Severity, Option<&str>) {
        (
            &*f.rule,
            &*f.path,
            &*f.message,
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
    let mut start = 0;
    for &end in &ends {
        if common.is_empty() {
            break;
        }
        let here: HashSet<usize> = hosts.items[start..end]
            .iter()
            .filter_map(|f| index.get(&key(f)).copied())
            .collect();
        common.retain(|i| here.contains(i));
        start = end;
    }
    if !common.is_empty() {
        hosts
            .items
            .retain(|f| index.get(&key(f)).is_none_or(|i| !common.contains(i)));
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
    // The fleet's own findings go before the hosts', moved within the room the hosts' list has to
    // spare (see [`Gathered::push`]) rather than the hosts' findings being moved after them.
    let own = std::mem::take(&mut all.items);
    hosts.items.splice(0..0, own);
    all.items = hosts.items;
    all.skipped.extend(hosts.skipped);
    all.errors.extend(hosts.errors);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;

    /// A part of `n` findings whose messages name the host and their place.
    fn part(host: usize, n: usize) -> HostPart {
        let mut found = Findings::default();
        for i in 0..n {
            found.push(Finding::new(
                &super::super::port_occupied::META,
                "services.a",
                format!("host {host} finding {i}"),
            ));
        }
        HostPart {
            found,
            avoid: Vec::new(),
        }
    }

    #[test]
    fn gathering_keeps_host_order_across_chunks_and_makes_room_once() {
        // Uneven counts, more hosts than are checked at once, and a sample that underestimates.
        let hosts: Vec<usize> = (0..HOSTS_AT_ONCE * 2 + 5).collect();
        let count = |h: usize| if h < SAMPLE_HOSTS { 1 } else { h % 7 };
        let mut gathered = gather(&hosts, 2, |&h| {
            Ok::<_, ()>(vec![part(h, count(h)), part(h, 1)])
        })
        .unwrap_or_default();
        assert_eq!(gathered.len(), 2);
        let second = gathered.pop().unwrap_or_default();
        let first = gathered.pop().unwrap_or_default();
        let expected: Vec<String> = hosts
            .iter()
            .flat_map(|&h| (0..count(h)).map(move |i| format!("host {h} finding {i}")))
            .collect();
        let got: Vec<&str> = first.found.items.iter().map(|f| &*f.message).collect();
        assert_eq!(got, expected);
        let mut end = 0;
        for (h, &e) in hosts.iter().zip(&first.ends) {
            end += count(*h);
            assert_eq!(e, end);
        }
        assert_eq!(second.found.items.len(), hosts.len());
    }

    #[test]
    fn gathering_stops_at_the_first_error_in_host_order() {
        let hosts: Vec<usize> = (0..HOSTS_AT_ONCE * 3).collect();
        let bad = [HOSTS_AT_ONCE + 3, HOSTS_AT_ONCE + 1, HOSTS_AT_ONCE * 2 + 1];
        let result = gather(&hosts, 1, |&h| {
            if bad.contains(&h) {
                Err(h)
            } else {
                Ok(vec![part(h, 1)])
            }
        });
        assert_eq!(result.err(), Some(HOSTS_AT_ONCE + 1));
    }
}
