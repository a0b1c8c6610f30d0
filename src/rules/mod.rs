//! The rules: one file per rule, each with its metadata (id, severity, summary, docs) and its check.
//!
//! Like clippy's lints and ruff's rules, a rule file holds a `META` constant and a `check` function. [`ALL`]
//! lists every rule sorted by id; `preflight rules`, `preflight explain` and the machine formats read the same
//! metadata, so docs cannot drift from code. Rules never print and never touch the host: they read the
//! [`Context`] and push [`Finding`](crate::finding::Finding)s.

use crate::finding::{Findings, RuleMeta, Severity};
use crate::policy::Policy;

mod context;
mod custom;
mod deferred;
mod engine;
mod fleet;
mod kube_conflict;
mod kube_privileged;
mod scope;
mod shared_network;

mod duplicate_key;
mod env_unresolved;
mod ephemeral_range;
mod excluded_range;
mod firewall_blocked;
mod ignored_ports;
pub(crate) mod inline_ignore;
mod network_mode_ports;
mod node_port_range;
mod not_read;
mod overexposed;
mod plan_in_ephemeral;
mod platform_mismatch;
mod port_conflict;
mod port_occupied;
mod port_plan;
mod privileged_port;
mod reuse_address;
mod route_backend;
mod service_target_port;
mod shared_port_purpose;
mod time_wait;
mod unreachable_bind;
pub(crate) mod waiver_expired;
mod well_known;
mod well_known_port;

pub use well_known::{WELL_KNOWN, WellKnown};

pub use context::{Context, choose_port, host_facts, suggest_port};
pub use deferred::{path as deferred_path, render, rule_id as deferred_rule_id};
pub use engine::{evaluate, evaluate_scope};
pub use fleet::{Gathered, HostPart, combine, evaluate_fleet, evaluate_host, gather};
pub use scope::Scope;

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
    duplicate_key,
    env_unresolved,
    ephemeral_range,
    excluded_range,
    firewall_blocked,
    ignored_ports,
    inline_ignore,
    network_mode_ports,
    node_port_range,
    not_read,
    overexposed,
    plan_in_ephemeral,
    platform_mismatch,
    port_conflict,
    port_occupied,
    port_plan,
    privileged_port,
    reuse_address,
    route_backend,
    service_target_port,
    shared_port_purpose,
    time_wait,
    unreachable_bind,
    well_known_port,
];

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

/// Reference material `explain ID` prints after a rule's docs, where the docs promise it (the table of
/// well-known ports).
pub fn reference(id: &str) -> Option<String> {
    (id == well_known_port::META.id).then(|| format!("## The table\n{}", well_known::table()))
}

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.meta.id == id)
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
