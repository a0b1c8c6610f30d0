//! Running the rules: every rule the policy enables over one [`Context`], with the policy's severities,
//! and the labels that point at the `${VAR}` definitions behind a reported value.

use crate::finding::{Finding, Findings, Related};
use crate::manifest::Manifest;
use crate::manifest::interpolate::VarSource;
use crate::policy::RuleSetting;

use super::scope::Scope;
use super::{ALL, Context, custom};

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
    let mut found = Findings::default();
    custom::run(cx, &mut found, scope);
    for mut f in found.items {
        add_variable_labels(cx.manifest, &mut f);
        all.push(f);
    }
    all.errors.extend(found.errors);
    all
}

/// Adds a related label at the definition of every `${VAR}` that fed the finding's value.
pub(super) fn add_variable_labels(manifest: &Manifest, f: &mut Finding) {
    let Some(uses) = manifest.interpolations.get(&f.path) else {
        return;
    };
    for u in uses {
        if let Some(VarSource::Manifest(def)) = &u.source
            && !f.related.iter().any(|r| &r.path == def)
        {
            f.related.push(Related {
                path: def.clone(),
                label: format!("`{}` defined here", u.name),
            });
        }
    }
}
