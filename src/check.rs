//! The check pipeline for one manifest file: load → rules → findings sorted by place.

use std::path::Path;

use crate::facts::Facts;
use crate::finding::{Finding, Severity, Skipped, Summary};
use crate::manifest::{self, Document, LoadError, LoadOptions};
use crate::policy::Policy;
use crate::rules::{self, Context};

/// What checking one file produced.
#[derive(Debug)]
pub enum Outcome {
    /// The file was checked.
    Checked(Checked),
    /// The file could not be checked (exit code 2).
    Failed(LoadError),
}

/// A checked file with its findings.
#[derive(Debug)]
pub struct Checked {
    /// The file, for turning paths into places.
    pub doc: Document,
    /// Findings, sorted by place in the file, then rule id, then message.
    pub findings: Vec<Finding>,
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
}

impl Outcome {
    /// The findings (none for a file that failed to load).
    pub fn findings(&self) -> &[Finding] {
        match self {
            Outcome::Checked(c) => &c.findings,
            Outcome::Failed(_) => &[],
        }
    }
}

/// Loads and checks one manifest.
pub fn check_file(
    path: &Path,
    load: &LoadOptions,
    policy: &Policy,
    facts: Option<&Facts>,
) -> Outcome {
    match manifest::load(path, load) {
        Ok((m, doc)) => Outcome::Checked(check_manifest(&m, doc, policy, facts)),
        Err(e) => Outcome::Failed(e),
    }
}

/// Runs the rules on a loaded manifest and sorts what they found by place.
pub fn check_manifest(
    m: &manifest::Manifest,
    doc: Document,
    policy: &Policy,
    facts: Option<&Facts>,
) -> Checked {
    let cx = Context::new(m, policy, facts);
    let found = rules::evaluate(&cx);
    let mut findings: Vec<(usize, Finding)> = found
        .items
        .into_iter()
        .map(|f| (doc.map.span(&f.path).offset, f))
        .collect();
    findings.sort_by(|(a, fa), (b, fb)| {
        a.cmp(b)
            .then_with(|| fa.rule.cmp(&fb.rule))
            .then_with(|| fa.message.cmp(&fb.message))
    });
    let mut skipped = found.skipped;
    skipped.sort();
    skipped.dedup();
    let today = crate::policy::date::Date::today();
    let (mut kept, mut waived) = (Vec::new(), Vec::new());
    for (_, f) in findings {
        match policy
            .waivers
            .iter()
            .find(|w| !w.expired(today) && w.covers(&f.rule, &f.path))
        {
            Some(w) => waived.push(Waived {
                reason: w.reason.clone(),
                expires: w.expires.map(|d| d.to_string()),
                finding: f,
            }),
            None => kept.push(f),
        }
    }
    Checked {
        doc,
        findings: kept,
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
