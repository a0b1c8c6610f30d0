//! Running the rules: every rule the policy enables over one [`Context`], with the policy's severities,
//! and the labels that point at the `${VAR}` definitions behind a reported value.

use crate::finding::{Finding, Findings, Related};
use crate::manifest::Manifest;
use crate::manifest::interpolate::VarSource;
use crate::policy::RuleSetting;

use super::scope::Scope;
use super::{ALL, Context, custom, platform_mismatch};

/// Runs every rule the policy enables and returns what they found, with severities from the policy and
/// a related label at the definition of every `${VAR}` that fed a reported value.
pub fn evaluate(cx: &Context<'_>) -> Findings {
    evaluate_scope(cx, Scope::All)
}

/// [`evaluate`] restricted to the rules of `scope`.
pub fn evaluate_scope(cx: &Context<'_>, scope: Scope) -> Findings {
    let mut all = Findings::default();
    // Room for a finding a port (a Kubernetes Service's included), made once: a large manifest's
    // list grown by doubling from empty was copied at each step (the last copy of a 10 MB Compose
    // file's held 18 MB twice). Room for two a port cost 1-1.2 MB more at the 10 MB inputs' peaks
    // though no finding took it (one finding a port or fewer there); a manifest with more findings
    // than ports has its list doubled once. Not for one host of a fleet: its host rules find a few
    // findings, gathered at once into the fleet's list, and the room made a thousand times added
    // 1.7 MiB to the fleet benchmark's peak.
    if !matches!(scope, Scope::Host | Scope::HostBuiltIn) {
        let service_ports: usize = cx
            .manifest
            .kube_services
            .iter()
            .map(|s| s.ports.len())
            .sum();
        all.items
            .reserve(cx.manifest.ports().count() + service_ports);
    }
    let platform = cx.manifest.target.platform;
    // Facts from another OS than the target's: `platform-mismatch` says so, and the rules whose meaning
    // depends on the platform don't judge this host by the wrong one.
    let mismatch = cx
        .facts
        .and_then(|f| platform_mismatch::mismatch(platform, f));
    for rule in ALL {
        if !scope.includes(rule.meta.reads_facts(), false) {
            continue;
        }
        let setting = cx.policy.setting(rule.meta.id);
        if setting == Some(RuleSetting::Off) {
            continue;
        }
        if let Some(os) = mismatch
            && platform_mismatch::PLATFORM_DEPENDENT.contains(&rule.meta.id)
        {
            all.skip(
                rule.meta.id,
                format!(
                    "the host facts come from a {os} host, not {} (see platform-mismatch): this host is not judged by the wrong platform",
                    platform.display()
                ),
            );
            continue;
        }
        // The rule pushes into the one list, and its findings (those past `start`) get the policy's
        // severity after: a list per rule, moved into this one, held 34,840 findings of a 10 MB
        // Compose file twice while this one grew.
        let (start, deferred) = (all.items.len(), all.deferred.len());
        (rule.check)(cx, &mut all);
        for f in &mut all.items[start..] {
            if let Some(RuleSetting::Severity(s)) = setting {
                f.severity = s;
            }
            add_variable_labels(cx.manifest, f);
        }
        // A deferred finding gets its labels when it is made whole (`rules::render`).
        if let Some(RuleSetting::Severity(s)) = setting {
            for d in &mut all.deferred[deferred..] {
                d.severity = s;
            }
        }
    }
    let start = all.items.len();
    custom::run(cx, &mut all, scope);
    for f in &mut all.items[start..] {
        add_variable_labels(cx.manifest, f);
    }
    all
}

/// Adds a related label at the definition of every `${VAR}` that fed the finding's value.
pub(super) fn add_variable_labels(manifest: &Manifest, f: &mut Finding) {
    let Some(uses) = manifest.interpolations.get(&*f.path) else {
        return;
    };
    for u in uses {
        if let Some(VarSource::Manifest(def)) = &u.source
            && !f.related.iter().any(|r| &r.path == def)
        {
            f.related = crate::finding::push(
                std::mem::take(&mut f.related),
                Related {
                    path: def.clone(),
                    label: format!("`{}` defined here", u.name),
                },
            );
        }
    }
}
