//! The rules: one file per rule, each with its metadata (id, severity, summary, docs) and its check.
//!
//! Like clippy's lints and ruff's rules, a rule file holds a `META` constant and a `check` function. [`ALL`]
//! lists every rule sorted by id; `preflight rules`, `preflight explain` and the machine formats read the same
//! metadata, so docs cannot drift from code. Rules never print and never touch the host: they read the
//! [`Context`] and push [`Finding`]s.

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::facts::Facts;
use crate::finding::{Finding, Findings, RuleMeta, Severity};
use crate::manifest::interpolate::VarSource;
use crate::manifest::{Manifest, Protocol, Service};
use crate::policy::{Policy, RuleSetting};

mod env_unresolved;
mod ephemeral_range;
mod excluded_range;
mod firewall_blocked;
mod overexposed;
mod plan_in_ephemeral;
mod platform_mismatch;
mod port_conflict;
mod port_occupied;
mod port_plan;
mod privileged_port;
mod reuse_address;
mod shared_port_purpose;
mod time_wait;
mod unreachable_bind;
pub mod waiver_expired;
mod well_known_port;

pub use well_known_port::{WELL_KNOWN, WellKnown};

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
    used: OnceCell<HashSet<(Protocol, u16)>>,
    /// Suggestions already computed, by team and protocol.
    suggestions: RefCell<HashMap<(String, Protocol), Option<u16>>>,
    /// The host's firewall, its dumps read once on first use by [`Context::firewall_decide`].
    firewall: OnceCell<Option<crate::facts::firewall::Prepared<'a>>>,
    /// Further ranges suggestions avoid: in a fleet, every host's ephemeral ranges, so that rules run
    /// once for all hosts never suggest a port inside one host's range.
    avoid: Vec<(Protocol, crate::ports::PortRange)>,
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
        }
    }

    /// A context without facts for the rules a fleet runs once: their suggestions avoid the ephemeral
    /// range of every host.
    pub fn for_fleet(
        manifest: &'a Manifest,
        policy: &'a Policy,
        hosts: &[crate::fleet::Host],
    ) -> Self {
        let mut cx = Context::new(manifest, policy, None);
        for h in hosts {
            for protocol in [Protocol::Tcp, Protocol::Udp] {
                if let Some(r) = crate::facts::defaults::ephemeral_range(
                    manifest.target.platform,
                    Some(&h.facts),
                    protocol,
                ) && !cx.avoid.contains(&(protocol, r.value))
                {
                    cx.avoid.push((protocol, r.value));
                }
            }
        }
        cx
    }

    /// What the host's firewall does with new inbound connections to `port` on `bind`: `None` without
    /// firewall facts or when nothing filters the traffic, `Err` when a captured dump can't be read.
    pub fn firewall_decide(
        &self,
        protocol: Protocol,
        port: u16,
        bind: std::net::IpAddr,
    ) -> Result<Option<crate::facts::firewall::PortDecision>, String> {
        let prepared = self.firewall.get_or_init(|| {
            self.facts
                .and_then(|f| f.firewall.as_ref())
                .map(|fw| fw.value.prepare())
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
        !used.contains(&(protocol, n))
            && !ephemeral.as_ref().is_some_and(|r| r.value.contains(n))
            && !cx
                .avoid
                .iter()
                .any(|(p, r)| *p == protocol && r.contains(n))
            && well_known_port::lookup(n, protocol, platform).is_none()
    });
    cx.suggestions.borrow_mut().insert(key, found);
    found
}

/// Which rules a run of [`evaluate_scope`] covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every rule.
    All,
    /// Rules that read no host facts: the manifest alone decides them.
    Static,
    /// Rules that read host facts (built-in, and custom rules whose expressions name `facts`).
    Host,
    /// Built-in rules that read host facts, without custom rules.
    HostBuiltIn,
}

impl Scope {
    fn includes(self, reads_facts: bool, custom: bool) -> bool {
        match self {
            Scope::All => true,
            Scope::Static => !reads_facts,
            Scope::Host => reads_facts,
            Scope::HostBuiltIn => reads_facts && !custom,
        }
    }
}

/// A rule: its metadata and its check.
pub struct Rule {
    /// The metadata.
    pub meta: &'static RuleMeta,
    /// The check.
    pub check: fn(&Context<'_>, &mut Findings),
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.meta.id)
    }
}

/// Builds the registry from rule modules: each provides `META` and `check`.
macro_rules! registry {
    ($($rule:ident),* $(,)?) => {
        &[$(Rule { meta: &$rule::META, check: $rule::check }),*]
    };
}

/// Every built-in rule, sorted by id.
pub static ALL: &[Rule] = registry![
    env_unresolved,
    ephemeral_range,
    excluded_range,
    firewall_blocked,
    overexposed,
    plan_in_ephemeral,
    platform_mismatch,
    port_conflict,
    port_occupied,
    port_plan,
    privileged_port,
    reuse_address,
    shared_port_purpose,
    time_wait,
    unreachable_bind,
    well_known_port,
];

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

/// A rule as `rules`, `explain`, SARIF and JUnit list it.
#[derive(Debug, Clone, Copy)]
pub enum Listed<'a> {
    /// A built-in rule, or the policy-level `waiver-expired`.
    BuiltIn(&'static RuleMeta),
    /// A custom rule of the policy.
    Custom(&'a crate::policy::CustomRule),
}

impl Listed<'_> {
    /// The rule's id.
    pub fn id(&self) -> &str {
        match self {
            Listed::BuiltIn(m) => m.id,
            Listed::Custom(c) => &c.id,
        }
    }

    /// Its default severity.
    pub fn severity(&self) -> Severity {
        match self {
            Listed::BuiltIn(m) => m.severity,
            Listed::Custom(c) => c.severity,
        }
    }

    /// Whether it reads host facts (and so runs once per host).
    pub fn reads_facts(&self) -> bool {
        match self {
            Listed::BuiltIn(m) => m.reads_facts(),
            Listed::Custom(c) => c.uses_facts,
        }
    }

    /// Its one-line summary.
    pub fn summary(&self) -> &str {
        match self {
            Listed::BuiltIn(m) => m.summary,
            Listed::Custom(c) => &c.summary,
        }
    }
}

/// Every rule there is for `policy`, sorted by id: the built-in ones, `waiver-expired`, and the policy's
/// custom rules. One list for every place that shows rules, so they can't disagree.
pub fn catalog(policy: &Policy) -> Vec<Listed<'_>> {
    let mut all: Vec<Listed<'_>> = ALL
        .iter()
        .map(|r| Listed::BuiltIn(r.meta))
        .chain([Listed::BuiltIn(&waiver_expired::META)])
        .chain(policy.custom.iter().map(Listed::Custom))
        .collect();
    all.sort_by(|a, b| a.id().cmp(b.id()));
    all
}

/// The ids of the built-in rules that run on manifests, sorted (what a policy may configure).
pub fn ids() -> Vec<&'static str> {
    ALL.iter().map(|r| r.meta.id).collect()
}

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.meta.id == id)
}

/// Runs every rule the policy enables and returns what they found, with severities from the policy and
/// a related label at the definition of every `${VAR}` that fed a reported value.
pub fn evaluate(cx: &Context<'_>) -> Findings {
    evaluate_scope(cx, Scope::All)
}

/// [`evaluate`] restricted to the rules of `scope`.
pub fn evaluate_scope(cx: &Context<'_>, scope: Scope) -> Findings {
    let mut all = Findings::default();
    for rule in ALL {
        if !scope.includes(rule.meta.reads_facts(), false) {
            continue;
        }
        let setting = cx.policy.setting(rule.meta.id);
        if setting == Some(RuleSetting::Off) {
            continue;
        }
        let mut found = Findings::default();
        (rule.check)(cx, &mut found);
        for mut f in found.items {
            if let Some(RuleSetting::Severity(s)) = setting {
                f.severity = s;
            }
            add_variable_labels(cx.manifest, &mut f);
            all.push(f);
        }
        all.skipped.extend(found.skipped);
    }
    custom(cx, &mut all, scope);
    all
}

/// Runs the rules for a fleet of hosts. Rules that read no facts run once; the others run once per host,
/// in parallel, and their findings carry the host's name. A host rule's finding that does not depend on
/// the host (the rule reports it, word for word, without any facts and on every host too, such as
/// `overexposed` on a `local` port bound to a public address) is reported once, without a host, like a
/// static finding. Without hosts this is [`evaluate`] without facts.
pub fn evaluate_fleet(
    manifest: &Manifest,
    policy: &Policy,
    hosts: &[crate::fleet::Host],
) -> Findings {
    use rayon::prelude::*;
    if hosts.is_empty() {
        return evaluate(&Context::new(manifest, policy, None));
    }
    let mut all = evaluate_scope(&Context::for_fleet(manifest, policy, hosts), Scope::Static);
    let baseline = evaluate_scope(&Context::new(manifest, policy, None), Scope::HostBuiltIn);
    let mut per_host: Vec<Findings> = hosts
        .par_iter()
        .map(|h| {
            let mut found =
                evaluate_scope(&Context::new(manifest, policy, Some(&h.facts)), Scope::Host);
            for f in &mut found.items {
                f.host = Some(h.name.clone());
            }
            for s in &mut found.skipped {
                s.host = Some(h.name.clone());
            }
            for e in &mut found.errors {
                *e = format!("host `{}`: {e}", h.name);
            }
            found
        })
        .collect();
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
    for found in per_host {
        all.items.extend(found.items);
        all.skipped.extend(found.skipped);
        all.errors.extend(found.errors);
    }
    all
}

/// Runs the policy's custom rules of `scope` on every port with a number.
fn custom(cx: &Context<'_>, out: &mut Findings, scope: Scope) {
    if !cx
        .policy
        .custom
        .iter()
        .any(|r| scope.includes(r.uses_facts, true))
    {
        return;
    }
    let m = cx.manifest;
    let value = |v: serde_json::Value| minijinja::Value::from(minijinja::value::Serde(v));
    let target = value(serde_json::json!({
        "platform": m.target.platform.as_str(),
        "run_as": m.target.run_as,
        "capabilities": m.target.capabilities,
    }));
    let facts = cx.facts.map_or(minijinja::Value::from(()), |f| {
        minijinja::Value::from(minijinja::value::Serde(f))
    });
    let manifest = value(serde_json::json!({
        "services": m.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        "port_plan": m.port_plan.iter().map(|b| (b.team.clone(), b.range.to_string())).collect::<BTreeMap<_, _>>(),
    }));
    // Rules the policy turns off don't run; the others get the policy's severity, if it sets one.
    let rules: Vec<(&crate::policy::CustomRule, Severity)> = cx
        .policy
        .custom
        .iter()
        .filter(|r| scope.includes(r.uses_facts, true))
        .filter_map(|r| match cx.policy.setting(&r.id) {
            Some(RuleSetting::Off) => None,
            Some(RuleSetting::Severity(s)) => Some((r, s)),
            None => Some((r, r.severity)),
        })
        .collect();
    for svc in &m.services {
        let service = value(serde_json::json!({
            "name": svc.name,
            "team": svc.team,
            "description": svc.description,
            "runtime": svc.runtime.as_str(),
            "socket": { "reuse_address": svc.socket.reuse_address, "exclusive_address": svc.socket.exclusive_address },
        }));
        for port in &svc.ports {
            let Some(n) = port.number else { continue };
            let port_v = value(serde_json::json!({
                "name": port.name,
                "number": n,
                "protocol": port.protocol.as_str(),
                "bind": port.bind.to_string(),
                "expose": port.expose.as_str(),
                "purpose": port.purpose.map(|p| p.as_str()),
            }));
            let ctx = minijinja::context! {
                service => service.clone(),
                port => port_v,
                target => target.clone(),
                facts => facts.clone(),
                manifest => manifest.clone(),
            };
            for &(rule, severity) in &rules {
                match rule.check(&ctx) {
                    Ok(None) => {}
                    Ok(Some(message)) => {
                        let mut f = Finding {
                            rule: rule.id.clone(),
                            severity,
                            message,
                            path: port.number_path.clone(),
                            host: None,
                            label: rule.summary.clone(),
                            related: Vec::new(),
                            help: rule.help.clone(),
                            fixes: Vec::new(),
                            evidence: BTreeMap::new(),
                        };
                        add_variable_labels(m, &mut f);
                        out.push(f);
                    }
                    Err(e) => {
                        out.errors.push(format!(
                            "custom rule `{}` ({}): `{}` failed on `{}`: {}",
                            rule.id, rule.origin.path, e.field, port.path, e.message
                        ));
                        return;
                    }
                }
            }
        }
    }
}

fn add_variable_labels(manifest: &Manifest, f: &mut Finding) {
    let Some(uses) = manifest.interpolations.get(&f.path) else {
        return;
    };
    for u in uses {
        if let Some(VarSource::Manifest(def)) = &u.source
            && !f.related.iter().any(|r| &r.path == def)
        {
            f.related.push(crate::finding::Related {
                path: def.clone(),
                label: format!("`{}` defined here", u.name),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sorted_unique_and_kebab_case() {
        let ids: Vec<&str> = ALL.iter().map(|r| r.meta.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted, "ALL must be sorted by id, without duplicates");
        for id in ids {
            assert!(
                id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                    && !id.starts_with('-')
                    && !id.ends_with('-'),
                "{id} is not kebab-case"
            );
        }
    }

    #[test]
    fn docs_have_the_four_headings() {
        for r in ALL {
            for h in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Fix",
            ] {
                assert!(r.meta.docs.contains(h), "{} docs lack {h}", r.meta.id);
            }
            let s = r.meta.summary;
            assert!(
                s.chars().next().is_some_and(|c| c.is_lowercase()) && !s.ends_with('.'),
                "{}: summary style",
                r.meta.id
            );
        }
    }

    #[test]
    fn every_rule_has_a_fixture_dir_and_every_dir_a_rule() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
        let mut dirs: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        dirs.sort();
        let ids: Vec<String> = ALL.iter().map(|r| r.meta.id.to_owned()).collect();
        assert_eq!(dirs, ids);
    }
}
