//! `waiver-expired`: a waiver in the policy has passed its expiry date.
//!
//! Unlike the other rules it reads the policy, not a manifest, and its findings point into the policy
//! file; [`crate::check`] runs it once per policy of a run. The registry lists it with the others.

use crate::document::Document;
use crate::finding::{Finding, RuleMeta, Severity};
use crate::policy::LoadedPolicy;
use crate::policy::date::Date;

/// Metadata of `waiver-expired`, reported on the policy file.
pub const META: RuleMeta = RuleMeta {
    id: "waiver-expired",
    severity: Severity::Warning,
    summary: "a waiver in the policy has passed its expiry date",
    facts: &[],
    docs: r#"## What it does
Reports each waiver whose `expires:` date has passed. An expired waiver waives nothing: the finding it
covered is reported again, and this warning points at the waiver in the policy file.

## Why is this bad?
Waivers are promises ("retired in Q3"). One that silently outlives its date turns a temporary exception
into a permanent blind spot; one that silently stops working surprises the pipeline.

## Example
```yaml
waivers:
  - rule: ephemeral-range
    path: services.legacy.ports.http
    reason: retired in Q3
    expires: 2026-09-30
```

## Fix
Fix the finding and delete the waiver, or renew it with a new date and an updated reason.
"#,
};

/// One `waiver-expired` finding per expired waiver, grouped by the policy file that holds the waiver (in
/// the order the files were loaded).
pub fn check(lp: &LoadedPolicy, today: Date) -> Vec<(&Document, Vec<Finding>)> {
    let mut out: Vec<(&Document, Vec<Finding>)> = Vec::new();
    for w in lp.policy.waivers.iter().filter(|w| w.expired(today)) {
        let Some(doc) = lp.docs.get(w.origin.doc) else {
            continue;
        };
        let f = Finding::new(
            &META,
            format!("{}.expires", w.origin.path),
            format!(
                "the waiver of `{}` for `{}` expired on {}; the finding it covered is reported again",
                w.rule,
                w.path.join("."),
                w.expires.map(|d| d.to_string()).unwrap_or_default()
            ),
        )
        .label("expired")
        .help("fix the finding and delete the waiver, or renew it with a new date and reason");
        match out.iter_mut().find(|(d, _)| d.name == doc.name) {
            Some((_, findings)) => findings.push(f),
            None => out.push((doc, vec![f])),
        }
    }
    out
}
