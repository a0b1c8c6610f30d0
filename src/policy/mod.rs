//! Which rules run and at what severity, with parameters, waivers and custom rules.
//!
//! A policy is built in layers, later ones winning: the built-in `baseline` pack, then the nearest
//! `.preflight.yaml` found from the manifest's directory upwards, then a `--policy FILE`. Each file's
//! `extends:` (packs from `policies/`, embedded in the binary, or other files) is applied before the file
//! itself. Policy files are validated like manifests: every problem with its place, unknown fields and
//! rule ids with a "did you mean", expressions compiled at load.

pub(crate) mod custom;
pub(crate) mod date;
pub mod load;
pub(crate) mod model;

use std::collections::BTreeMap;

pub use custom::CustomRule;
pub use load::{LoadedPolicy, discover, load_policy};

use crate::finding::Severity;
use date::Date;

/// What a policy says about one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleSetting {
    /// The rule does not run.
    Off,
    /// The rule runs and its findings get this severity.
    Severity(Severity),
}

/// Where a policy entry was written: the policy file and the path inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Index of the file in [`LoadedPolicy::docs`].
    pub doc: usize,
    /// The file's name, as messages show it.
    pub file: String,
    /// Path inside the file (`waivers.0`).
    pub path: String,
}

/// A finding accepted on purpose.
#[derive(Clone, Debug)]
pub struct Waiver {
    /// The waived rule.
    pub rule: String,
    /// The manifest path pattern, split in segments (`*` matches one).
    pub path: Vec<String>,
    /// Why.
    pub reason: String,
    /// When it stops applying.
    pub expires: Option<Date>,
    /// Host name patterns it is limited to (empty: not limited).
    pub hosts: Vec<String>,
    /// Where it was written.
    pub origin: Location,
}

impl Waiver {
    /// Whether the waiver covers a finding of `rule` at manifest path `path` (the pattern or anything below it).
    pub fn covers(&self, rule: &str, path: &str) -> bool {
        if self.rule != rule {
            return false;
        }
        let segs: Vec<&str> = path.split('.').collect();
        self.path.len() <= segs.len()
            && self.path.iter().zip(&segs).all(|(p, s)| p == "*" || p == s)
    }

    /// Whether the waiver covers a finding of `host` in a run over `all` hosts. A finding without a host
    /// holds on every host, so a waiver limited to some hosts covers it only when it covers every host
    /// of the run (and never in a run without hosts).
    pub fn covers_host(&self, host: Option<&str>, all: &[&str]) -> bool {
        if self.hosts.is_empty() {
            return true;
        }
        let matches = |h: &str| self.hosts.iter().any(|p| glob(p, h));
        match host {
            Some(h) => matches(h),
            None => !all.is_empty() && all.iter().all(|h| matches(h)),
        }
    }

    /// Whether it has expired on `today`.
    pub fn expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|e| e < today)
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters (none included).
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The effective policy.
#[derive(Debug, Default)]
pub struct Policy {
    /// Per-rule settings by rule id; rules not listed run at their default severity.
    pub rules: BTreeMap<String, RuleSetting>,
    /// Per-rule `allow` lists (ports a rule accepts).
    pub allow: BTreeMap<String, Vec<u16>>,
    /// Waivers, in the order written.
    pub waivers: Vec<Waiver>,
    /// Custom rules, by the order written; a later layer's rule with the same id replaces it.
    pub custom: Vec<CustomRule>,
    /// The layers applied, in order (`baseline (built in)`, `./.preflight.yaml`).
    pub layers: Vec<String>,
}

impl Policy {
    /// The setting for `rule`, if the policy overrides it.
    pub fn setting(&self, rule: &str) -> Option<RuleSetting> {
        self.rules.get(rule).copied()
    }

    /// Whether `rule` is told to accept `port`.
    pub fn allows(&self, rule: &str, port: u16) -> bool {
        self.allow
            .get(rule)
            .is_some_and(|ports| ports.contains(&port))
    }
}

/// The effective policy as JSON, for `preflight policy show`.
pub fn show(lp: &LoadedPolicy) -> serde_json::Value {
    let p = &lp.policy;
    let file = |o: &Location| {
        lp.docs
            .get(o.doc)
            .map_or_else(String::new, |d| d.name.clone())
    };
    serde_json::json!({
        "layers": p.layers,
        "rules": p.rules.iter().map(|(id, s)| (id.clone(), match s {
            RuleSetting::Off => "off".to_owned(),
            RuleSetting::Severity(s) => s.to_string(),
        })).collect::<BTreeMap<_, _>>(),
        "allow": p.allow,
        "waivers": p.waivers.iter().map(|w| serde_json::json!({
            "rule": w.rule, "path": w.path.join("."), "reason": w.reason,
            "expires": w.expires.map(|d| d.to_string()), "hosts": w.hosts, "file": file(&w.origin),
        })).collect::<Vec<_>>(),
        "custom": p.custom.iter().map(|c| serde_json::json!({
            "id": c.id, "summary": c.summary, "severity": c.severity, "when": c.when_src,
            "assert": c.assert_src, "message": c.message_src, "file": file(&c.origin),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiver(path: &str) -> Waiver {
        Waiver {
            rule: "ephemeral-range".into(),
            path: path.split('.').map(str::to_owned).collect(),
            reason: "r".into(),
            expires: None,
            hosts: Vec::new(),
            origin: Location {
                doc: 0,
                file: ".preflight.yaml".into(),
                path: "waivers.0".into(),
            },
        }
    }

    #[test]
    fn waiver_paths_match_segments_and_below() {
        let w = waiver("services.legacy.ports.http");
        assert!(w.covers("ephemeral-range", "services.legacy.ports.http.port"));
        assert!(w.covers("ephemeral-range", "services.legacy.ports.http"));
        assert!(!w.covers("ephemeral-range", "services.legacy.ports.https.port"));
        assert!(!w.covers("port-plan", "services.legacy.ports.http.port"));
        assert!(!w.covers("ephemeral-range", "services.legacy"));
        let w = waiver("services.*.ports.metrics");
        assert!(w.covers("ephemeral-range", "services.a.ports.metrics.port"));
        assert!(!w.covers("ephemeral-range", "services.a.ports.http.port"));
    }

    #[test]
    fn waiver_hosts_match_names_and_patterns() {
        let mut w = waiver("services");
        assert!(w.covers_host(None, &[]) && w.covers_host(Some("web-01"), &["web-01"]));
        w.hosts = vec!["web-*".into(), "db-01".into(), "*-canary-*".into()];
        let all = ["web-01", "db-01"];
        assert!(w.covers_host(Some("web-01"), &all) && w.covers_host(Some("web-"), &all));
        assert!(w.covers_host(Some("db-01"), &all) && !w.covers_host(Some("db-011"), &all));
        assert!(w.covers_host(Some("eu-canary-3"), &all));
        assert!(!w.covers_host(Some("app-01"), &all));
        // A finding of every host: covered only when every host is.
        assert!(w.covers_host(None, &all));
        assert!(!w.covers_host(None, &["web-01", "app-01"]));
        assert!(!w.covers_host(None, &[]));
        assert!(glob("a*b*a", "abba") && !glob("a*b*a", "ab") && glob("*", ""));
    }
}
