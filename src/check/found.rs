//! The findings of a checked file as the check holds them until they are written: whole, or deferred
//! (held as what they concern, a port or a Kubernetes Service, see [`Deferred`]) and made whole one
//! at a time as a report asks.
//!
//! A 10 MB Compose file's 74,156 findings took 60 MiB whole, more than the file's reading; deferred,
//! they take 48 bytes each. Everything that only sorts, counts, waives or holds back findings reads
//! a [`Key`] (rule, path, host, severity, fingerprint), which a deferred finding has without being made
//! whole; reports make each finding whole as they write it ([`Found::get`], [`Found::iter`]).

use std::borrow::Cow;
use std::sync::Arc;

use super::baseline::{self, Place, Subjects};
use crate::document::Document;
use crate::finding::{Deferred, Finding, Fingerprint, Severity};
use crate::manifest::Manifest;
use crate::rules;

/// The findings of a checked file, in report order.
pub struct Found {
    /// Findings made whole by their rules. Some may no longer be listed in `order` (held back by a
    /// baseline).
    whole: Vec<Finding>,
    /// Deferred findings, each with its fingerprint and what it concerns.
    deferred: Vec<Kept>,
    /// The findings listed, in order: an index into `whole`, or (with [`DEFERRED`] set) into
    /// `deferred`.
    order: Vec<u32>,
    /// The manifest the deferred findings are made from; `None` when none is deferred, so that a
    /// report of whole findings is written without the manifest held (a 10 MB Kubernetes stream
    /// whose 61,186 findings were whole: 2.5 MiB less at the report's peak).
    manifest: Option<Arc<Manifest>>,
}

/// The bit of an index in [`Found::order`] that says it is into `deferred`.
const DEFERRED: u32 = 1 << 31;

/// A deferred finding once checked.
struct Kept {
    finding: Deferred,
    fingerprint: Fingerprint,
    /// What it concerns, for its subject (see [`Subjects::subject`]); `None` names it by its path
    /// (never for the findings deferred: a port's number path and a Service's path are places).
    subject: Option<Place>,
}

/// What the check and most readers need of a finding, had without making it whole.
#[derive(Clone, Debug)]
pub struct Key<'a> {
    /// The rule's id.
    pub rule: &'a str,
    /// The manifest path of its primary place (made for a deferred finding whose path the manifest
    /// holds no string of: a Service's selector).
    pub path: Cow<'a, str>,
    /// The host it holds on (`None`: the manifest's own).
    pub host: Option<&'a str>,
    /// Its severity after policy.
    pub severity: Severity,
    /// Its fingerprint, once the check has named it.
    pub fingerprint: Option<Fingerprint>,
}

impl Found {
    /// Whole findings, in their order.
    pub fn whole(findings: Vec<Finding>) -> Found {
        let n = u32::try_from(findings.len())
            .unwrap_or(DEFERRED)
            .min(DEFERRED);
        Found {
            whole: findings,
            deferred: Vec::new(),
            order: (0..n).collect(),
            manifest: None,
        }
    }

    /// `whole` and `deferred` findings of `m` (found in `doc`), in that order: the deferred ones
    /// get their fingerprints and subjects here, the whole ones have theirs already.
    pub(super) fn new(
        whole: Vec<Finding>,
        deferred: &[Deferred],
        m: &Arc<Manifest>,
        subjects: &Subjects<'_>,
        doc: &Document,
    ) -> Found {
        use rayon::prelude::*;
        let mut found = Found::whole(whole);
        // As many as `order` can name (a manifest's ports are far fewer).
        let deferred = &deferred[..deferred.len().min(DEFERRED as usize)];
        deferred
            .par_iter()
            .with_min_len(256)
            .map(|d| {
                // As `baseline::fingerprint` names a whole finding's subject (a port's number path is
                // a YAML node, never a comment's place).
                let path = rules::deferred_path(m, d);
                let subject = subjects.place(&path);
                let name = baseline::subject_name(m, subject, &path);
                let rule = rules::deferred_rule_id(d.rule);
                Kept {
                    finding: *d,
                    fingerprint: baseline::fingerprint_of(rule, doc.file_of(&path), &name, None),
                    subject,
                }
            })
            .collect_into_vec(&mut found.deferred);
        found
            .order
            .extend((0..found.deferred.len() as u32).map(|i| DEFERRED | i));
        if !found.deferred.is_empty() {
            found.manifest = Some(Arc::clone(m));
        }
        found
    }

    /// How many findings are listed.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The deferred finding at index `i` of `deferred`, and its manifest.
    fn kept(&self, i: u32) -> (&Kept, &Manifest) {
        let Some(m) = self.manifest.as_deref() else {
            unreachable!("`Found::new` lists deferred findings only with their manifest")
        };
        (&self.deferred[(i & !DEFERRED) as usize], m)
    }

    /// The `i`th finding, whole.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn get(&self, i: usize) -> Cow<'_, Finding> {
        self.at(self.order[i])
    }

    /// The finding an index of `order` names, whole.
    fn at(&self, k: u32) -> Cow<'_, Finding> {
        if k & DEFERRED == 0 {
            return Cow::Borrowed(&self.whole[k as usize]);
        }
        let (kept, m) = self.kept(k);
        let mut f = rules::render(m, &kept.finding);
        name_template(m, &mut f);
        f.fingerprint = Some(kept.fingerprint);
        f.subject = baseline::subject_name(m, kept.subject, &f.path).into_boxed_str();
        Cow::Owned(f)
    }

    /// The findings in order, each made whole as it is reached.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Cow<'_, Finding>> + '_ {
        self.order.iter().map(|&k| self.at(k))
    }

    /// The `i`th finding's key.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn key(&self, i: usize) -> Key<'_> {
        self.key_at(self.order[i])
    }

    fn key_at(&self, k: u32) -> Key<'_> {
        if k & DEFERRED == 0 {
            let f = &self.whole[k as usize];
            return Key {
                rule: &f.rule,
                path: Cow::Borrowed(&f.path),
                host: f.host.as_deref(),
                severity: f.severity,
                fingerprint: f.fingerprint,
            };
        }
        let (kept, m) = self.kept(k);
        Key {
            rule: rules::deferred_rule_id(kept.finding.rule),
            path: rules::deferred_path(m, &kept.finding),
            host: None,
            severity: kept.finding.severity,
            fingerprint: Some(kept.fingerprint),
        }
    }

    /// The findings' keys, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = Key<'_>> + '_ {
        self.order.iter().map(|&k| self.key_at(k))
    }

    /// The `i`th finding's message (made whole for it when deferred).
    fn message(&self, i: usize) -> Cow<'_, str> {
        match self.get(i) {
            Cow::Borrowed(f) => Cow::Borrowed(&f.message),
            Cow::Owned(f) => Cow::Owned(f.message.into_string()),
        }
    }

    /// Lists `f` last.
    pub(super) fn push(&mut self, f: Finding) {
        if let Ok(i) = u32::try_from(self.whole.len())
            && i < DEFERRED
        {
            self.order.push(i);
            self.whole.push(f);
        }
    }

    /// Keeps listed only the findings whose key `keep` accepts, in their order.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(Key<'_>) -> bool) {
        let mut order = std::mem::take(&mut self.order);
        order.retain(|&k| keep(self.key_at(k)));
        self.order = order;
    }

    /// Takes out those findings `find` names something for, each made whole, with what it named, in
    /// their order; the rest stay listed in theirs. (A whole finding taken out is cloned: the
    /// findings taken out are those waivers accept, a few.)
    pub(super) fn extract<M>(
        &mut self,
        mut find: impl FnMut(Key<'_>) -> Option<M>,
    ) -> Vec<(Finding, M)> {
        let mut taken = Vec::new();
        let mut order = std::mem::take(&mut self.order);
        order.retain(|&k| match find(self.key_at(k)) {
            Some(m) => {
                taken.push((k, m));
                false
            }
            None => true,
        });
        self.order = order;
        taken
            .into_iter()
            .map(|(k, m)| (self.at(k).into_owned(), m))
            .collect()
    }

    /// Sorts the findings: those of the manifest alone first, then each host's in host order;
    /// within each, by place in `doc` (file, then offset), then rule id, then message. The message
    /// is read (a deferred finding made whole for it) only where all else ties.
    pub(super) fn sort(&mut self, doc: &Document) {
        // Each finding's host, place and rule, worked out once.
        let by: Vec<(Option<&str>, (usize, usize), &str)> = self
            .keys()
            .map(|k| {
                let at = (doc.file_index(&k.path), doc.span(&k.path).offset);
                (k.host, at, k.rule)
            })
            .collect();
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| {
            by[a]
                .cmp(&by[b])
                .then_with(|| self.message(a).cmp(&self.message(b)))
        });
        drop(by);
        self.order = order.into_iter().map(|i| self.order[i]).collect();
    }
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// In rendered Helm output, a finding names the template its document came from (the `# Source:`
/// comment), which is the file to edit.
pub(super) fn name_template(m: &Manifest, f: &mut Finding) {
    let doc = f.path.split('.').next().unwrap_or("");
    if let Some(t) = m.templates.get(doc) {
        f.message = format!("{} (template `{t}`)", f.message).into();
    }
}
