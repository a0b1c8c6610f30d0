//! The check pipeline for one manifest file: load → rules → findings sorted by place, then inline
//! ignores ([`ignore`]) and policy waivers applied. The findings are held as a [`Found`]: rules that
//! read the manifest alone defer theirs, which are made whole as reports write them.

pub mod baseline;
mod found;
mod ignore;

pub use found::{Found, Key};

use std::path::Path;
use std::sync::Arc;

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
    pub findings: Found,
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
    /// The findings' keys (none for a file that failed to load).
    pub fn keys(&self) -> impl Iterator<Item = Key<'_>> + '_ {
        match self {
            Outcome::Checked(c) => Some(c.findings.keys()),
            Outcome::Failed(_) | Outcome::NotChecked(_) | Outcome::Baseline(_) => None,
        }
        .into_iter()
        .flatten()
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
        Ok((m, doc)) => {
            Outcome::Checked(Box::new(check_manifest(m, doc, policy, hosts, today, true)))
        }
        Err(e) => Outcome::Failed(e),
    }
}

/// Runs the rules on a loaded manifest, once for the manifest and once per host for the rules that read
/// host facts (see [`rules::evaluate_fleet`]), and sorts what they found. With `inline`, the
/// inputs' inline ignores waive what they name; then the policy's waivers apply. Waivers that expired
/// before `today` waive nothing. The check keeps the manifest while it holds deferred findings, which
/// are made whole from it as they are written (see [`Found`]); a caller that needs the manifest
/// afterwards passes an `Arc` and keeps a clone.
pub fn check_manifest(
    m: impl Into<Arc<manifest::Manifest>>,
    doc: Document,
    policy: &Policy,
    hosts: &[Host],
    today: Date,
    inline: bool,
) -> Checked {
    let infos = hosts.iter().map(Host::info).collect();
    let m = m.into();
    let rules = || rules::evaluate_fleet(&m, policy, hosts);
    finish(&m, doc, policy, infos, rules, today, inline)
}

/// [`check_manifest`] for a fleet checked a host at a time: `parts` holds what each of `hosts` (in
/// the same order) contributed (see [`rules::gather`]).
pub fn check_streamed(
    m: manifest::Manifest,
    doc: Document,
    policy: &Policy,
    hosts: Vec<HostInfo>,
    parts: rules::Gathered,
    today: Date,
    inline: bool,
) -> Checked {
    let m = Arc::new(m);
    let rules = || rules::combine(&m, policy, parts);
    finish(&m, doc, policy, hosts, rules, today, inline)
}

/// Runs `rules`, sorts what they found, names fingerprints, and applies inline ignores and waivers.
fn finish(
    m: &Arc<manifest::Manifest>,
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
    let mut whole: Vec<Finding> = found.items;
    {
        use rayon::prelude::*;
        whole.par_iter_mut().with_min_len(256).for_each(|f| {
            found::name_template(m, f);
            baseline::fingerprint(&subjects, &doc, f);
        });
    }
    let mut findings = Found::new(whole, &found.deferred, m, &subjects, &doc);
    drop(found.deferred);
    findings.sort(&doc);
    let mut skipped = found.skipped;
    skipped.sort_by(|a, b| (&a.host, &a.rule, &a.reason).cmp(&(&b.host, &b.rule, &b.reason)));
    skipped.dedup();
    let host_names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let mut waived = if inline {
        ignore::apply(m, &subjects, &doc, &mut findings, &skipped, policy)
    } else {
        Vec::new()
    };
    // Policy waivers.
    let waiver = |f: Key<'_>| {
        policy.waivers.iter().find(|w| {
            !w.expired(today) && w.covers(f.rule, &f.path) && w.covers_host(f.host, &host_names)
        })
    };
    if !policy.waivers.is_empty() {
        for (f, w) in findings.extract(waiver) {
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
        findings,
        hosts,
        skipped,
        waived,
        errors: found.errors,
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
            .flat_map(Outcome::keys)
            .any(|f| f.severity >= level)
    });
    u8::from(failing)
}

/// Counts of all findings.
pub fn summary(outcomes: &[Outcome]) -> Summary {
    Summary::of(outcomes.iter().flat_map(Outcome::keys).map(|k| k.severity))
}

/// One outcome per policy file that holds expired waivers, with a `waiver-expired` finding for each.
pub fn expired_waivers(lp: &crate::policy::LoadedPolicy, today: Date) -> Vec<Outcome> {
    rules::waiver_expired::check(lp, today)
        .into_iter()
        .map(|(doc, findings)| {
            Outcome::Checked(Box::new(Checked {
                doc: doc.clone(),
                findings: Found::whole(findings),
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
            let before = c.findings.len();
            c.findings
                .retain(|f| !baseline::take(&mut left, f.fingerprint));
            held_back += before - c.findings.len();
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
                    Some(c.findings.iter().map(|f| baseline::Entry::of(&c.doc, &f)))
                }
                _ => None,
            })
            .flatten()
            .collect(),
    )
}
