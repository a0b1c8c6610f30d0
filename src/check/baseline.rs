//! Fingerprints that identify a finding across runs, and baselines built on them: `--write-baseline
//! FILE` records today's findings, `--baseline FILE` holds them back and says which entries no longer
//! match (fixed). A fingerprint is the rule, the file, what the finding concerns (the service or
//! Kubernetes object, and the port with its protocol) and the host: never the line or the path of a
//! list item, so moved lines, reformatting and reordered entries keep it.

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::finding::Finding;
use crate::manifest::Manifest;

/// What findings of one manifest concern, by place: built once, so naming the subject of each of
/// many findings costs a look-up per ancestor of its path rather than a walk over every port.
pub struct Subjects<'m> {
    /// Path → (rank, subject); a lower rank wins where several places hold a path (ports before
    /// Kubernetes Services, before routes, before whole services: the order in which [`Subjects::of`] adds them).
    by_path: rustc_hash::FxHashMap<&'m str, (usize, Subject<'m>)>,
}

/// What a place concerns, named (formatted) only when a finding asks: a manifest of 10,000 services
/// has 30,000 places and a handful of findings.
#[derive(Clone, Copy)]
enum Subject<'m> {
    Port(&'m crate::manifest::Service, &'m crate::manifest::Port),
    KubePort(
        &'m crate::manifest::KubeService,
        &'m crate::manifest::KubeServicePort,
    ),
    KubeService(&'m crate::manifest::KubeService),
    Route(&'m crate::manifest::KubeRoute),
    Service(&'m crate::manifest::Service),
}

impl Subject<'_> {
    fn name(self) -> String {
        match self {
            Subject::Port(s, p) => format!("{} {}", s.name, p.label()),
            Subject::KubePort(s, p) => {
                format!("Service {} {}/{}", s.name, p.port, p.protocol.as_str())
            }
            Subject::KubeService(s) => format!("Service {}", s.name),
            Subject::Route(r) => format!("{} {} -> {}", r.kind, r.name, r.service),
            Subject::Service(s) => s.name.clone(),
        }
    }
}

impl<'m> Subjects<'m> {
    /// The subjects of `m`'s places.
    pub fn of(m: &'m Manifest) -> Subjects<'m> {
        let mut by_path = rustc_hash::FxHashMap::default();
        by_path.reserve(m.services.iter().map(|s| 3 * s.ports.len() + 1).sum());
        let mut rank = 0;
        let mut add = |path: &'m str, subject: Subject<'m>| {
            rank += 1;
            by_path.entry(path).or_insert((rank, subject));
        };
        for s in &m.services {
            for p in &s.ports {
                add(&p.path, Subject::Port(s, p));
                add(&p.number_path, Subject::Port(s, p));
                if let Some(c) = &p.container {
                    add(&c.host_port_path, Subject::Port(s, p));
                }
            }
        }
        for s in &m.kube_services {
            for p in &s.ports {
                add(&p.path, Subject::KubePort(s, p));
            }
            add(&s.path, Subject::KubeService(s));
        }
        for r in &m.kube_routes {
            add(&r.path, Subject::Route(r));
        }
        // The service itself, or a place of its own (a port plan block, an ignore comment).
        for s in &m.services {
            add(&s.path, Subject::Service(s));
        }
        Subjects { by_path }
    }

    /// What a finding at `path` concerns: the port (`api 8080/tcp`), else the service, the
    /// Kubernetes Service or route, else the place itself (without the line).
    pub fn subject(&self, path: &str) -> String {
        let ancestors = path
            .match_indices('.')
            .map(|(i, _)| &path[..i])
            .chain(std::iter::once(path));
        ancestors
            .filter_map(|p| self.by_path.get(p))
            .min_by_key(|(rank, _)| *rank)
            .map_or_else(
                || Document::split_part(path).1.to_owned(),
                |(_, s)| s.name(),
            )
    }
}

/// FNV-1a over the parts: stable across runs and platforms.
fn hash(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Sets the subject and fingerprint of `f`, found in `m` (read from `doc`). A place that is no YAML
/// node (a comment) is named by its text, which moves with it.
pub fn fingerprint(subjects: &Subjects<'_>, doc: &Document, f: &mut Finding) {
    let (file, local) = doc.locate(&f.path);
    f.subject = if local.starts_with("#at:") {
        let span = file.map.span(local);
        file.text
            .get(span.offset..span.offset + span.len)
            .unwrap_or(local)
            .trim()
            .to_owned()
    } else {
        subjects.subject(&f.path)
    };
    let mut parts = vec![f.rule.as_str(), doc.file_of(&f.path), f.subject.as_str()];
    parts.extend(f.host.as_deref());
    f.fingerprint = hash(&parts);
}

/// A baseline file: sorted, stable JSON that diffs well.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Baseline {
    /// The format's version (1).
    pub version: u32,
    /// The findings recorded, sorted by file, rule, subject and fingerprint.
    pub findings: Vec<Entry>,
}

/// One recorded finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The file it is in.
    pub file: String,
    /// The rule.
    pub rule: String,
    /// What it concerns (see [`Subjects::subject`]); for people, matching uses the fingerprint.
    pub subject: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its message when it was recorded, for people.
    pub message: String,
}

impl Entry {
    /// The entry for a finding of `doc` (fingerprinted by the check).
    pub fn of(doc: &Document, f: &Finding) -> Entry {
        Entry {
            file: doc.file_of(&f.path).to_owned(),
            rule: f.rule.clone(),
            subject: f.subject.clone(),
            fingerprint: f.fingerprint.clone(),
            message: f.message.clone(),
        }
    }
}

/// What applying a baseline did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    /// The baseline file.
    pub file: String,
    /// How many findings it held back.
    pub held_back: usize,
    /// Its entries that matched no finding: fixed since, to be trimmed from the file.
    pub fixed: Vec<Entry>,
}

/// Largest baseline file read.
pub const MAX_BASELINE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a baseline file can't be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// It can't be read.
    #[error("can't read the baseline {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// It is not a baseline.
    #[error(
        "{file}:{line}:{column}: not a preflight baseline ({message}); write one with `preflight check … --write-baseline {file}`"
    )]
    Invalid {
        /// The file.
        file: String,
        /// Where, 1-based (0: the file as a whole).
        line: usize,
        /// Where on the line, 1-based.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl Baseline {
    /// Reads the baseline file at `path`.
    pub fn load(path: &std::path::Path) -> Result<Baseline, BaselineError> {
        let file = path.display().to_string();
        let bytes = crate::document::read_up_to(path, MAX_BASELINE_BYTES).map_err(|source| {
            BaselineError::Io {
                file: file.clone(),
                source,
            }
        })?;
        if bytes.len() as u64 > MAX_BASELINE_BYTES {
            let message = format!("over the limit of {MAX_BASELINE_BYTES} bytes");
            return Err(BaselineError::Invalid {
                file,
                line: 0,
                column: 0,
                message,
            });
        }
        Baseline::from_text(&file, &String::from_utf8_lossy(&bytes))
    }

    /// A baseline file's text read (`file` is what messages call it).
    pub fn from_text(file: &str, text: &str) -> Result<Baseline, BaselineError> {
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
            BaselineError::Invalid {
                file: file.to_owned(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            }
        })
    }

    /// A baseline of `entries`, sorted.
    pub fn new(mut entries: Vec<Entry>) -> Baseline {
        entries.sort();
        Baseline {
            version: 1,
            findings: entries,
        }
    }

    /// Removes from `findings` each one the baseline holds (one entry holds back one finding), and
    /// returns how many it held back and the entries left over.
    pub fn hold_back(&self, findings: &mut Vec<Finding>, left: &mut Vec<Option<&Entry>>) -> usize {
        let before = findings.len();
        findings.retain(|f| {
            match left
                .iter_mut()
                .find(|e| e.is_some_and(|e| e.fingerprint == f.fingerprint))
            {
                Some(slot) => {
                    *slot = None;
                    false
                }
                None => true,
            }
        });
        before - findings.len()
    }
}
