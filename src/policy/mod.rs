//! Which rules run and at what severity.
//!
//! For now a policy is the built-in defaults plus per-rule overrides; policy files (`.preflight.yaml`),
//! packs under `policies/`, waivers and custom rules build on this type.

use std::collections::BTreeMap;

use crate::finding::Severity;

/// What a policy says about one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleSetting {
    /// The rule does not run.
    Off,
    /// The rule runs and its findings get this severity.
    Severity(Severity),
}

/// The effective policy.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Per-rule settings by rule id; rules not listed run at their default severity.
    pub rules: BTreeMap<String, RuleSetting>,
}

impl Policy {
    /// The setting for `rule`, if the policy overrides it.
    pub fn setting(&self, rule: &str) -> Option<RuleSetting> {
        self.rules.get(rule).copied()
    }
}
