//! The check pipeline for one manifest file: load → rules → findings sorted by place, then inline
//! ignores ([`ignore`]) and policy waivers applied.

pub mod baseline;
mod ignore;

use std::path::Path;

use crate::document::{Document, LoadError};
use crate::finding::{Finding, Severity, Skipped, Summary};
use crate::fleet::{Host, HostInfo};
use crate::manifest::{self, LoadOptions};
use crate::policy::Policy;
use crate::policy::date::Date;
use crate::rules;

/// What checking one file produced.
#[derive(Debug)]
pub enum Outcome {
    /// The file was checked.
    Checked(Box<Checked>),
    /// The file could not be checked (exit code 2).
    Failed(LoadError),
    /// A file seen among the inputs but not checked (of no kind preflight reads, or a subdirectory),
    /// with why: listed in every format, never counted as passed.
    NotChecked(crate::manifest::discover::NotChecked),
    /// What `--baseline` held back, and its entries that no longer match.
    Baseline(baseline::Applied),
}

/// A checked file with its findings.
#[derive(Debug)]
pub struct Checked {
    /// The file, for turning paths into places.
    pub doc: Document,
    /// Findings: those of the manifest alone first, then each host's in host order; within each, by
    /// place in the file, then rule id, then message.
    pub findings: Vec<Finding>,
    /// The hosts checked, sorted by name (empty without host facts).
    pub hosts: Vec<HostInfo>,
    /// Rules that could not run.
    pub skipped: Vec<Skipped>,
    /// Findings a waiver accepted, with the waiver's reason.
    pub waived: Vec<Waived>,
    /// Custom rules that failed to evaluate (exit code 2).
    pub errors: Vec<String>,
}

/// A finding accepted by a waiver.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Waived {
    /// The finding.
    pub finding: Finding,
    /// The waiver's reason.
    pub reason: String,
    /// When the waiver expires.
    pub expires: Option<String>,
    /// For an inline ignore, the path of the ignore (a comment's place or an annotation);
    /// `None` for a policy waiver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
}

impl Outcome {
    /// The findings (none for a file that failed to load).
    pub fn findings(&self) -> &[Finding] {
        match self {
            Outcome::Checked(c) => &c.findings,
            Outcome::Failed(_) | Outcome::NotChecked(_) | Outcome::Baseline(_) => &[],
        }
    }
}

/// Loads and checks one manifest against `hosts` (none: the manifest alone).
pub fn check_file(
    path: &Path,
    load: &LoadOptions,
    policy: &Policy,
    hosts: &[Host],
    today: Date,
) -> Outcome {
    match manifest::load(path, load) {
        Ok((m, doc)) => Outcome::Checked(Box::new(check_manifest(
            &m, doc, policy, hosts, today, true,
        ))),
        Err(e) => Outcome::Failed(e),
    }
}

/// Runs the rules on a loaded manifest, once for the manifest and once per host for the rules that read
/// host facts (see [`rules::evaluate_fleet`]), and sorts what they found. With `inline`, the
/// inputs' inline ignores waive what they name; then the policy's waivers apply. Waivers that expired
/// before `today` waive nothing.
pub fn check_manifest(
    m: &manifest::Manifest,
    doc: Document,
    policy: &Policy,
    hosts: &[Host],
    today: Date,
    inline: bool,
) -> Checked {
    let infos = hosts.iter().map(Host::info).collect();
    let rules = || rules::evaluate_fleet(m, policy, hosts);
    finish(m, doc, policy, infos, rules, today, inline)
}

/// [`check_manifest`] for a fleet checked a host at a time: `parts` holds what each of `hosts` (in
/// the same order) contributed (see [`rules::gather`]).
pub fn check_streamed(
    m: &manifest::Manifest,
    doc: Document,
    policy: &Policy,
    hosts: Vec<HostInfo>,
    parts: rules::Gathered,
    today: Date,
    inline: bool,
) -> Checked {
    let rules = || rules::combine(m, policy, parts);
    finish(m, doc, policy, hosts, rules, today, inline)
}

/// Runs `rules`, sorts what they found, names fingerprints, and applies inline ignores and waivers.
fn finish(
    m: &manifest::Manifest,
    doc: Document,
    policy: &Policy,
    hosts: Vec<HostInfo>,
    rules: impl FnOnce() -> crate::finding::Findings + Send,
    today: Date,
    inline: bool,
) -> Checked {
    // What findings concern is indexed while the rules run: on a 10,000-service manifest each takes a
    // few milliseconds, and the index needs only the manifest.
    let (found, subjects) = rayon::join(rules, || baseline::Subjects::of(m));
    let mut findings: Vec<Finding> = found.items;
    for f in &mut findings {
        name_template(m, f);
    }
    // Sorted through a permutation of indices, then moved in place: a fleet's findings are not copied
    // into a second list with their keys.
    let at: Vec<(usize, usize)> = findings
        .iter()
        .map(|f| (doc.file_index(&f.path), doc.span(&f.path).offset))
        .collect();
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (&findings[a], &findings[b]);
        fa.host
            .cmp(&fb.host)
            .then_with(|| at[a].cmp(&at[b]))
            .then_with(|| fa.rule.cmp(&fb.rule))
            .then_with(|| fa.message.cmp(&fb.message))
    });
    drop(at);
    permute(&mut findings, order);
    let mut skipped = found.skipped;
    skipped.sort_by(|a, b| (&a.host, &a.rule, &a.reason).cmp(&(&b.host, &b.rule, &b.reason)));
    skipped.dedup();
    let host_names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    {
        use rayon::prelude::*;
        findings
            .par_iter_mut()
            .with_min_len(256)
            .for_each(|f| baseline::fingerprint(&subjects, &doc, f));
    }
    let (findings, mut waived) = if inline {
        ignore::apply(m, &subjects, &doc, findings, &skipped, policy)
    } else {
        (findings, Vec::new())
    };
    // Policy waivers.
    let waiver = |f: &Finding| {
        policy.waivers.iter().find(|w| {
            !w.expired(today)
                && w.covers(&f.rule, &f.path)
                && w.covers_host(f.host.as_deref(), &host_names)
        })
    };
    let mut kept = findings;
    if !policy.waivers.is_empty() {
        for (f, w) in extract_found(&mut kept, waiver) {
            waived.push(Waived {
                reason: w.reason.clone(),
                expires: w.expires.map(|d| d.to_string()),
                inline: None,
                finding: f,
            });
        }
    }
    Checked {
        doc,
        findings: kept,
        hosts,
        skipped,
        waived,
        errors: found.errors,
    }
}

/// In rendered Helm output, a finding names the template its document came from (the `# Source:`
/// comment), which is the file to edit.
fn name_template(m: &manifest::Manifest, f: &mut Finding) {
    let doc = f.path.split('.').next().unwrap_or("");
    if let Some(t) = m.templates.get(doc) {
        f.message = format!("{} (template `{t}`)", f.message).into();
    }
}

/// Takes out of `items` those `find` names something for, each with what it named, in their order;
/// the rest stay where they are, in place (a fleet's 100,000 findings are not copied into a second
/// list to set a few aside).
fn extract_found<T, M>(items: &mut Vec<T>, mut find: impl FnMut(&T) -> Option<M>) -> Vec<(T, M)> {
    let mut named = Vec::new();
    let taken: Vec<T> = items
        .extract_if(.., |x| {
            let m = find(x);
            let hit = m.is_some();
            named.extend(m);
            hit
        })
        .collect();
    taken.into_iter().zip(named).collect()
}

/// Reorders `items` in place so that item `i` is the one that was at `order[i]` (`order` is a
/// permutation of the indices), following each cycle of the permutation once.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for start in 0..items.len() {
        let mut at = start;
        while order[at] != DONE {
            let from = order[at];
            order[at] = DONE;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// The exit code for a run: 2 when any file could not be checked, 1 when any finding is at or above
/// `fail_on` (`None`: never), 0 otherwise.
pub fn exit_code(outcomes: &[Outcome], fail_on: Option<Severity>) -> u8 {
    let broken = |o: &Outcome| match o {
        Outcome::Failed(_) => true,
        Outcome::Checked(c) => !c.errors.is_empty(),
        Outcome::NotChecked(_) | Outcome::Baseline(_) => false,
    };
    if outcomes.iter().any(broken) {
        return 2;
    }
    let failing = fail_on.is_some_and(|level| {
        outcomes
            .iter()
            .flat_map(Outcome::findings)
            .any(|f| f.severity >= level)
    });
    u8::from(failing)
}

/// Counts of all findings.
pub fn summary(outcomes: &[Outcome]) -> Summary {
    Summary::of(outcomes.iter().flat_map(Outcome::findings))
}

/// One outcome per policy file that holds expired waivers, with a `waiver-expired` finding for each.
pub fn expired_waivers(lp: &crate::policy::LoadedPolicy, today: Date) -> Vec<Outcome> {
    rules::waiver_expired::check(lp, today)
        .into_iter()
        .map(|(doc, findings)| {
            Outcome::Checked(Box::new(Checked {
                doc: doc.clone(),
                findings,
                hosts: Vec::new(),
                skipped: Vec::new(),
                waived: Vec::new(),
                errors: Vec::new(),
            }))
        })
        .collect()
}

/// Applies a baseline to the checked outcomes: the findings it holds are removed, and one
/// [`Outcome::Baseline`] says how many and which of its entries matched nothing.
pub fn apply_baseline(outcomes: &mut Vec<Outcome>, b: &baseline::Baseline, file: &str) {
    let mut left: Vec<Option<&baseline::Entry>> = b.findings.iter().map(Some).collect();
    let mut held_back = 0;
    for o in outcomes.iter_mut() {
        if let Outcome::Checked(c) = o {
            held_back += b.hold_back(&mut c.findings, &mut left);
        }
    }
    let fixed = left.into_iter().flatten().cloned().collect();
    outcomes.push(Outcome::Baseline(baseline::Applied {
        file: file.to_owned(),
        held_back,
        fixed,
    }));
}

/// The baseline of the checked outcomes' findings.
pub fn baseline_of(outcomes: &[Outcome]) -> baseline::Baseline {
    baseline::Baseline::new(
        outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Checked(c) => {
                    Some(c.findings.iter().map(|f| baseline::Entry::of(&c.doc, f)))
                }
                _ => None,
            })
            .flatten()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_moves_each_item_where_the_order_says() {
        // Every permutation of five items (cycles of every length, fixed points), against a gather.
        fn each(prefix: Vec<usize>, left: Vec<usize>, out: &mut Vec<Vec<usize>>) {
            if left.is_empty() {
                out.push(prefix);
                return;
            }
            for (i, &x) in left.iter().enumerate() {
                let (mut p, mut l) = (prefix.clone(), left.clone());
                p.push(x);
                l.remove(i);
                each(p, l, out);
            }
        }
        let mut all = Vec::new();
        each(Vec::new(), (0..5).collect(), &mut all);
        assert_eq!(all.len(), 120);
        for order in all {
            let items: Vec<String> = (0..5).map(|i| format!("item{i}")).collect();
            let want: Vec<String> = order.iter().map(|&i| items[i].clone()).collect();
            let mut got = items;
            permute(&mut got, order.clone());
            assert_eq!(got, want, "order {order:?}");
        }
        let mut empty: Vec<u8> = Vec::new();
        permute(&mut empty, Vec::new());
    }
}
