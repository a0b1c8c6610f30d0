//! Findings: what the rules report, as plain data that names places by manifest path.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

mod deferred;
mod fix;

pub use deferred::{Deferred, DeferredRule, index};
pub use fix::Fix;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a failure by default.
    Info,
    /// Likely to bite; fails with `--fail-on warning`.
    Warning,
    /// Will break the deploy; fails by default.
    Error,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule is, for `rules`, `explain` and SARIF.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable kebab-case id; never reused.
    pub id: &'static str,
    /// Severity when the policy does not say otherwise.
    pub severity: Severity,
    /// One line: what the rule reports.
    pub summary: &'static str,
    /// Host facts the rule reads (empty: the manifest alone decides).
    pub facts: &'static [&'static str],
    /// Long documentation in Markdown: `## What it does`, `## Why is this bad?`, `## Example`, `## Fix`.
    pub docs: &'static str,
}

impl RuleMeta {
    /// Whether the rule reads host facts; such a rule runs once per host of a fleet.
    pub fn reads_facts(&self) -> bool {
        !self.facts.is_empty()
    }
}

/// Another place that explains a finding ("first used here", "`PORT` defined here").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Related {
    /// Manifest path of the place.
    pub path: String,
    /// What to say there.
    pub label: String,
}

/// One problem a rule found.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The rule's id (`port-conflict`): a built-in rule's borrowed, a custom rule's owned. A finding's
    /// fixed texts are borrowed, not copied: a 10 MB stream's 61,186 findings each held their rule id,
    /// label and help text in allocations of their own.
    pub rule: Cow<'static, str>,
    /// Its severity after policy.
    pub severity: Severity,
    /// One line: what is wrong (lowercase start, no final period).
    pub message: Box<str>,
    /// Manifest path of the primary place.
    pub path: Box<str>,
    /// The host whose facts the finding comes from; `None` for a finding of the manifest alone, which
    /// holds on every host and is reported once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<Box<str>>,
    /// A short label for the underline at `path`.
    #[serde(skip)]
    pub label: Cow<'static, str>,
    /// Other places worth showing.
    pub related: Box<[Related]>,
    /// How to fix it, in words.
    pub help: Option<Cow<'static, str>>,
    /// What would fix it, as intents the `fix` stage renders for a dialect.
    pub fixes: Box<[Fix]>,
    /// Structured facts behind the finding (ranges, sources, owners), for machines.
    #[serde(skip_serializing_if = "Evidence::is_empty")]
    pub evidence: Evidence,
    /// What identifies the finding across runs, set by the check stage: rule, file, the service or
    /// object and port it concerns, and the host — not the line, so it survives moved lines and
    /// reformatting (baselines and SARIF's `partialFingerprints` use it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// What the finding concerns (`api 8080/tcp`), set with the fingerprint; baselines show it.
    #[serde(skip)]
    pub subject: Box<str>,
}

/// A finding's fingerprint: 64 bits, written as 16 lowercase hex digits (as baselines and SARIF's
/// `partialFingerprints` hold it). Kept as the number: as text, a 10 MB stream's 61,186 fingerprints
/// took 40 bytes each. Never zero, so that a finding without one takes no more room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(std::num::NonZeroU64);

impl Fingerprint {
    /// The fingerprint of a 64-bit hash (zero, one chance in 2^64, counts as one).
    pub fn new(hash: u64) -> Fingerprint {
        Fingerprint(std::num::NonZeroU64::new(hash).unwrap_or(std::num::NonZeroU64::MIN))
    }

    /// Whether `text` is this fingerprint written out (exactly: 16 lowercase hex digits).
    pub fn is(self, text: &str) -> bool {
        text.len() == 16
            && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && u64::from_str_radix(text, 16) == Ok(self.0.get())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Finding {
    /// A finding of `rule` at `path` with the rule's default severity.
    pub fn new(meta: &RuleMeta, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            rule: Cow::Borrowed(meta.id),
            severity: meta.severity,
            // Boxed, so made to its length: `format!` leaves up to twice the room the text takes,
            // and a fleet holds 100,000 messages.
            message: message.into().into_boxed_str(),
            path: path.into().into_boxed_str(),
            host: None,
            label: Cow::Borrowed(""),
            related: Box::default(),
            help: None,
            fixes: Box::default(),
            evidence: Evidence::default(),
            fingerprint: None,
            subject: Box::default(),
        }
    }

    /// Sets the severity (for rules whose findings differ in severity).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the label under the primary underline.
    pub fn label(mut self, label: impl Into<Cow<'static, str>>) -> Self {
        self.label = label.into();
        self
    }

    /// Adds a related place.
    pub fn related(mut self, path: impl Into<String>, label: impl Into<String>) -> Self {
        self.related = push(
            std::mem::take(&mut self.related),
            Related {
                path: path.into(),
                label: label.into(),
            },
        );
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<Cow<'static, str>>) -> Self {
        let mut help = help.into();
        if let Cow::Owned(h) = &mut help {
            h.shrink_to_fit();
        }
        self.help = Some(help);
        self
    }

    /// Adds a fix intent.
    pub fn fix(mut self, fix: Fix) -> Self {
        self.fixes = push(std::mem::take(&mut self.fixes), fix);
        self
    }

    /// Adds a piece of evidence.
    pub fn evidence(mut self, key: &'static str, value: impl Into<serde_json::Value>) -> Self {
        self.evidence.insert(key, value.into());
        self
    }
}

/// `items` with `item` after them. A finding's lists are boxed slices, made to their length: most
/// hold one item or none, and a list's capacity is one more word in each of 61,186 findings.
pub(crate) fn push<T>(items: Box<[T]>, item: T) -> Box<[T]> {
    let at = items.len();
    inserted(items, at, item)
}

/// `items` with `item` inserted at `at`, made to their length (see [`push`]).
fn inserted<T>(items: Box<[T]>, at: usize, item: T) -> Box<[T]> {
    let mut v = Vec::with_capacity(items.len() + 1);
    v.extend(items);
    v.insert(at, item);
    v.into_boxed_slice()
}

/// The structured facts behind a finding, by key: serialized as a JSON object with its keys in
/// order. Kept as a short sorted list of small values rather than a `BTreeMap` of `serde_json::Value`:
/// a finding holds two to five of them and a fleet's report 100,000 findings, where a B-tree node of
/// 80-byte values (about 1 KiB) per finding was the largest part of their memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence(Box<[(&'static str, Scalar)]>);

/// One piece of evidence: text, a number or a flag, or (rarely) any JSON.
#[derive(Clone, Debug, PartialEq)]
enum Scalar {
    Text(Box<str>),
    Number(serde_json::Number),
    Bool(bool),
    Other(Box<serde_json::Value>),
}

impl From<serde_json::Value> for Scalar {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::String(s) => Scalar::Text(s.into_boxed_str()),
            serde_json::Value::Number(n) => Scalar::Number(n),
            serde_json::Value::Bool(b) => Scalar::Bool(b),
            v => Scalar::Other(Box::new(v)),
        }
    }
}

impl Serialize for Scalar {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Text(t) => s.serialize_str(t),
            Scalar::Number(n) => n.serialize(s),
            Scalar::Bool(b) => s.serialize_bool(*b),
            Scalar::Other(v) => v.serialize(s),
        }
    }
}

impl Evidence {
    /// Sets `key` to `value`, replacing an earlier value of the key.
    pub fn insert(&mut self, key: &'static str, value: serde_json::Value) {
        let value = Scalar::from(value);
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0 = inserted(std::mem::take(&mut self.0), i, (key, value)),
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// A rule that could not run, and why (never reported as passed).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skipped {
    /// The rule's id.
    pub rule: String,
    /// Why it did not run, and how to make it run.
    pub reason: String,
    /// The host it could not run for (its facts lack what the rule reads); `None` for the whole run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// What the rules push into.
#[derive(Debug, Default)]
pub struct Findings {
    /// The findings, in the order pushed.
    pub items: Vec<Finding>,
    /// Findings held as the ports they concern, pushed by rules that defer (see [`Deferred`]); made
    /// whole by `rules::render`. Only a context that defers (`Context::deferring`) fills it.
    pub deferred: Vec<Deferred>,
    /// Rules (or parts of rules) that could not run.
    pub skipped: Vec<Skipped>,
    /// Custom rules whose expressions failed at run time (the input could not be checked: exit 2).
    pub errors: Vec<String>,
}

impl Findings {
    /// Records a finding.
    pub fn push(&mut self, finding: Finding) {
        self.items.push(finding);
    }

    /// Records that `rule` could not run.
    pub fn skip(&mut self, rule: &str, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            rule: rule.to_owned(),
            reason: reason.into(),
            host: None,
        });
    }
}

/// Counts of findings by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Errors.
    pub error: usize,
    /// Warnings.
    pub warning: usize,
    /// Infos.
    pub info: usize,
}

impl Summary {
    /// Counts findings of these severities.
    pub fn of(severities: impl IntoIterator<Item = Severity>) -> Self {
        let mut s = Summary::default();
        for severity in severities {
            match severity {
                Severity::Error => s.error += 1,
                Severity::Warning => s.warning += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }
}
