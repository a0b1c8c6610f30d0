//! Which rules one evaluation covers: in a fleet, rules that read no facts run once and the others once
//! per host.

/// Which rules a run of [`super::evaluate_scope`] covers.
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
    pub(super) fn includes(self, reads_facts: bool, custom: bool) -> bool {
        match self {
            Scope::All => true,
            Scope::Static => !reads_facts,
            Scope::Host => reads_facts,
            Scope::HostBuiltIn => reads_facts && !custom,
        }
    }
}
