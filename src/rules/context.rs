//! What a rule may read: the [`Context`] of one run over a manifest (and one host's facts), with the
//! helpers several rules share: the skip for missing facts and the port to suggest instead.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;

use crate::facts::Facts;
use crate::finding::{Findings, Fix, RuleMeta};
use crate::manifest::{Manifest, Port, Protocol, Service};
use crate::policy::Policy;

/// Everything a rule may read.
#[derive(Debug)]
pub struct Context<'a> {
    /// The resolved manifest.
    pub manifest: &'a Manifest,
    /// The effective policy.
    pub policy: &'a Policy,
    /// Host facts, when `--local` or `--facts` supplied them.
    pub facts: Option<&'a Facts>,
    /// Ports the manifest uses, computed once on first use by [`suggest_port`].
    used: OnceCell<crate::ports::PortSet>,
    /// Suggestions already computed, by team and protocol.
    suggestions: RefCell<HashMap<(String, Protocol), Option<u16>>>,
    /// The host's firewall, its dumps read once on first use by [`Context::firewall_decide`].
    firewall: OnceCell<Option<crate::facts::firewall::Prepared<'a>>>,
    /// Further ranges suggestions avoid: in a fleet, every host's ephemeral ranges, so that rules run
    /// once for all hosts never suggest a port inside one host's range.
    avoid: Vec<(Protocol, crate::ports::PortRange)>,
    /// Whether rules that can push a [`Deferred`](crate::finding::Deferred) finding do (see
    /// [`Context::deferring`]).
    defer: bool,
}

impl<'a> Context<'a> {
    /// A context over a manifest, a policy and optional facts.
    pub fn new(manifest: &'a Manifest, policy: &'a Policy, facts: Option<&'a Facts>) -> Self {
        Context {
            manifest,
            policy,
            facts,
            used: OnceCell::new(),
            suggestions: RefCell::new(HashMap::new()),
            firewall: OnceCell::new(),
            avoid: Vec::new(),
            defer: false,
        }
    }

    /// This context, with the rules that can defer their findings deferring them: the check keeps them
    /// as the ports they concern and makes them whole as it writes them (see
    /// [`Deferred`](crate::finding::Deferred)). Off by default: what reads findings straight from the
    /// rules (the fleet's comparison of hosts, `suggest`) gets them whole.
    pub fn deferring(mut self) -> Self {
        self.defer = true;
        self
    }

    /// Whether rules defer what they can (see [`Context::deferring`]).
    pub fn defers(&self) -> bool {
        self.defer
    }

    /// Pushes `d` as it is when this context defers, else the finding `whole` makes of the same ports
    /// (the one `rules::render` makes of `d`).
    pub fn defer(
        &self,
        out: &mut crate::finding::Findings,
        d: crate::finding::Deferred,
        whole: impl FnOnce() -> crate::finding::Finding,
    ) {
        if self.defer {
            out.deferred.push(d);
        } else {
            out.push(whole());
        }
    }

    /// A context without facts for the rules a fleet runs once: their suggestions avoid `avoid`, the
    /// ephemeral ranges of every host (see [`Context::ephemeral_ranges`]).
    pub fn avoiding(
        manifest: &'a Manifest,
        policy: &'a Policy,
        avoid: Vec<(Protocol, crate::ports::PortRange)>,
    ) -> Self {
        let mut cx = Context::new(manifest, policy, None);
        cx.avoid = avoid;
        cx
    }

    /// The ephemeral ranges of a host with `facts`, for the manifest's platform, that suggestions for
    /// the whole fleet must avoid.
    pub fn ephemeral_ranges(
        manifest: &Manifest,
        facts: &Facts,
    ) -> Vec<(Protocol, crate::ports::PortRange)> {
        [Protocol::Tcp, Protocol::Udp]
            .into_iter()
            .filter_map(|protocol| {
                crate::facts::defaults::ephemeral_range(
                    manifest.target.platform,
                    Some(facts),
                    protocol,
                )
                .map(|r| (protocol, r.value))
            })
            .collect()
    }

    /// What the host's firewall does with new inbound connections to `port` on `bind`: `None` without
    /// firewall facts or when nothing filters the traffic, `Err` when a captured dump can't be read.
    pub fn firewall_decide(
        &self,
        protocol: Protocol,
        port: u16,
        bind: std::net::IpAddr,
    ) -> Result<Option<crate::facts::firewall::PortDecision>, crate::facts::firewall::DumpError>
    {
        let prepared = self.firewall.get_or_init(|| {
            self.facts.and_then(|f| f.firewall.as_ref()).map(|fw| {
                let active = self.facts.and_then(|f| f.network_profiles.as_ref());
                fw.value.prepare(active.map(|a| a.value.as_slice()))
            })
        });
        match prepared {
            Some(p) => p.decide(protocol, port, bind),
            None => Ok(None),
        }
    }
}

/// The lowest port of the service's team block that no port of the manifest uses, that lies outside the
/// ephemeral range and that is not a well-known port; `None` without a team block or when the block is full.
pub fn suggest_port(cx: &Context<'_>, svc: &Service, protocol: Protocol) -> Option<u16> {
    let team = svc.team.as_deref()?;
    let key = (team.to_owned(), protocol);
    if let Some(s) = cx.suggestions.borrow().get(&key) {
        return *s;
    }
    let block = cx.manifest.plan_block(team)?;
    let used = cx.used.get_or_init(|| {
        cx.manifest
            .ports()
            .filter_map(|(_, p)| Some((p.protocol, p.number?)))
            .collect()
    });
    let platform = cx.manifest.target.platform;
    let ephemeral = crate::facts::defaults::ephemeral_range(platform, cx.facts, protocol);
    let found = (block.range.start..=block.range.end).find(|&n| {
        !used.contains(protocol, n)
            && !ephemeral.as_ref().is_some_and(|r| r.value.contains(n))
            && !cx
                .avoid
                .iter()
                .any(|(p, r)| *p == protocol && r.contains(n))
            && super::well_known::lookup(n, protocol, platform).is_none()
    });
    cx.suggestions.borrow_mut().insert(key, found);
    found
}

/// The host facts a host-only rule needs; when there are none, records the rule as skipped with the
/// flags that enable it and returns `None`.
pub fn host_facts<'a>(cx: &Context<'a>, meta: &RuleMeta, out: &mut Findings) -> Option<&'a Facts> {
    if cx.facts.is_none() {
        out.skip(
            meta.id,
            "no host facts: pass --local to probe this host, or --facts FILE with facts captured on the target (`preflight facts -o FILE`)",
        );
    }
    cx.facts
}

/// The fix that moves `port` of `svc` elsewhere: to `suggested` (see [`suggest_port`]) when a free port
/// is known.
pub fn choose_port(svc: &Service, port: &Port, suggested: Option<u16>) -> Fix {
    Fix::ChoosePort {
        service: svc.name.clone(),
        port: port.name.clone(),
        suggested,
        within: None,
    }
}
