//! Inline ignores applied to a manifest's findings: each finding on a line (or in a file, or inside
//! a Kubernetes object) that an ignore names becomes waived, with the ignore's reason and place; an
//! ignore that matched nothing is reported (`inline-ignore`, as ruff's `RUF100`), except for rules
//! that did not run.

use super::{Found, Key, Waived};
use crate::document::Document;
use crate::finding::{Finding, Skipped};
use crate::manifest::{IgnoreScope, InlineIgnore, Manifest};
use crate::policy::{Policy, RuleSetting};
use crate::rules::inline_ignore::{META, names};

/// Whether `ignore` covers a finding at `path`, whose place starts on `line` of file `file`.
fn covers(ignore: &InlineIgnore, path: &str, file: usize, line: usize) -> bool {
    match &ignore.scope {
        IgnoreScope::Line { file: f, line: l } => *f == file && *l == line,
        IgnoreScope::File(f) => *f == file,
        IgnoreScope::Object(prefix) => crate::document::within(path, prefix),
    }
}

/// Takes out of `kept` the findings an inline ignore waives, returned waived, and adds a finding for
/// each ignore (and rule) that matched nothing in this run.
pub(super) fn apply(
    m: &Manifest,
    subjects: &super::baseline::Subjects<'_>,
    doc: &Document,
    kept: &mut Found,
    skipped: &[Skipped],
    policy: &Policy,
) -> Vec<Waived> {
    let mut used = vec![Vec::new(); m.ignores.len()];
    let mut waived = Vec::new();
    // The ignore each finding falls under, worked out once; without ignores there is nothing to do.
    let hit = |f: Key<'_>| -> Option<usize> {
        if f.rule == META.id {
            // An ignore's own problems are not ignored by ignores.
            return None;
        }
        let file = doc.file_index(&f.path);
        let line = doc.place(&f.path).0;
        m.ignores.iter().position(|i| {
            i.malformed.is_none()
                && i.rules.iter().any(|r| *r == f.rule)
                && covers(i, &f.path, file, line)
        })
    };
    if !m.ignores.is_empty() {
        for (f, k) in kept.extract(hit) {
            let i = &m.ignores[k];
            used[k].push(f.rule.to_string());
            waived.push(Waived {
                reason: i
                    .reason
                    .clone()
                    .unwrap_or_else(|| "(no reason given)".into()),
                expires: None,
                inline: Some(i.path.clone()),
                finding: f,
            });
        }
    }
    let setting = policy.setting(META.id);
    if setting == Some(RuleSetting::Off) {
        return waived;
    }
    let skipped_rules: Vec<&str> = skipped.iter().map(|s| s.rule.as_str()).collect();
    let known = crate::rules::ids();
    for (i, used) in m.ignores.iter().zip(&used) {
        let unused: Vec<String> = i
            .rules
            .iter()
            .filter(|r| {
                !used.contains(r)
                    && known.contains(&r.as_str())
                    && !skipped_rules.contains(&r.as_str())
                    && policy.setting(r) != Some(RuleSetting::Off)
            })
            .cloned()
            .collect();
        if i.malformed.is_some() || unused.is_empty() {
            continue;
        }
        let mut f = Finding::new(
            &META,
            i.path.clone(),
            format!("the ignore of {} matched no finding in this run", names(&unused)),
        )
        .label("unused")
        .help("delete the ignore (or the rule ids that no longer match), so it can't hide a later finding");
        if let Some(RuleSetting::Severity(s)) = setting {
            f.severity = s;
        }
        super::baseline::fingerprint(subjects, doc, &mut f);
        kept.push(f);
    }
    waived
}
