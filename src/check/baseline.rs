//! Fingerprints that identify a finding across runs, and baselines built on them: `--write-baseline
//! FILE` records today's findings, `--baseline FILE` holds them back and says which entries no longer
//! match (fixed). A fingerprint is the rule, the file, what the finding concerns (the service or
//! Kubernetes object, and the port with its protocol) and the host: never the line or the path of a
//! list item, so moved lines, reformatting and reordered entries keep it.

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::finding::{Finding, Fingerprint};
use crate::manifest::Manifest;

/// What findings of one manifest concern, by place: built once, so naming the subject of each of
/// many findings costs a look-up per ancestor of its path rather than a walk over every port.
///
/// The table holds 12-byte [`Place`]s (what kind of place, and indices into the manifest) and finds a
/// path by hashing the path each place names: a map from `&str` to the place took 49 bytes a slot,
/// 26 MB for the 84,840 services of a 10 MB Compose file.
pub struct Subjects<'m> {
    manifest: &'m Manifest,
    places: hashbrown::HashTable<Place>,
}

/// A place findings can concern: its kind and its indices into the manifest. Places compare by
/// [`Place::rank`] where several are ancestors of one path: ports before Kubernetes Services (a
/// Service's ports before the Service), before routes, before whole services.
#[derive(Clone, Copy, Debug)]
pub(super) struct Place {
    /// 0: a port of a service (`which`: its path, its number's path, its host port's path); 1: a
    /// Kubernetes Service's port (`b`), or the Service itself (`b == u32::MAX`); 2: a route; 3: a
    /// service.
    kind: u8,
    which: u8,
    a: u32,
    b: u32,
}

impl Place {
    fn new(kind: u8, which: u8, a: usize, b: usize) -> Place {
        // Indices fit: a manifest holds at most `max_services` (100,000 by default) services.
        let idx = |i: usize| u32::try_from(i).unwrap_or(u32::MAX - 1);
        Place {
            kind,
            which,
            a: idx(a),
            b: if b == usize::MAX { u32::MAX } else { idx(b) },
        }
    }

    /// The order of insertion, as a key: a lower one wins among a path's ancestors.
    fn rank(self) -> (u8, u32, u32, u8) {
        (self.kind, self.a, self.b, self.which)
    }
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

fn fx(path: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(path)
}

impl<'m> Subjects<'m> {
    /// The subjects of `m`'s places.
    pub fn of(m: &'m Manifest) -> Subjects<'m> {
        let mut s = Subjects {
            manifest: m,
            places: hashbrown::HashTable::new(),
        };
        // Room for a place a port and one a service, and more as needed: a port's entry, number and
        // host port often share one path, and room sized above the need is resident all the same in
        // a hash table (its entries are scattered over all of it).
        let ports: usize = m.services.iter().map(|s| s.ports.len() + 1).sum();
        let kube: usize = m.kube_services.iter().map(|s| s.ports.len() + 1).sum();
        s.places.reserve(ports + kube + m.kube_routes.len(), |p| {
            fx(Self::path_in(m, *p))
        });
        for (i, svc) in m.services.iter().enumerate() {
            for (j, p) in svc.ports.iter().enumerate() {
                s.add(Place::new(0, 0, i, j));
                s.add(Place::new(0, 1, i, j));
                if p.container.is_some() {
                    s.add(Place::new(0, 2, i, j));
                }
            }
        }
        for (i, k) in m.kube_services.iter().enumerate() {
            for j in 0..k.ports.len() {
                s.add(Place::new(1, 0, i, j));
            }
            s.add(Place::new(1, 0, i, usize::MAX));
        }
        for i in 0..m.kube_routes.len() {
            s.add(Place::new(2, 0, i, 0));
        }
        // The service itself, or a place of its own (a port plan block, an ignore comment).
        for i in 0..m.services.len() {
            s.add(Place::new(3, 0, i, 0));
        }
        s
    }

    /// Adds `place` unless a place added before holds its path.
    fn add(&mut self, place: Place) {
        let m = self.manifest;
        let path = Self::path_in(m, place);
        let hash = fx(path);
        if let hashbrown::hash_table::Entry::Vacant(v) = self.places.entry(
            hash,
            |p| Self::path_in(m, *p) == path,
            |p| fx(Self::path_in(m, *p)),
        ) {
            v.insert(place);
        }
    }

    fn path(&self, place: Place) -> &'m str {
        Self::path_in(self.manifest, place)
    }

    /// The path `place` names.
    fn path_in(m: &'m Manifest, place: Place) -> &'m str {
        let (a, b) = (place.a as usize, place.b as usize);
        match place.kind {
            0 => {
                let p = &m.services[a].ports[b];
                match place.which {
                    0 => &p.path,
                    1 => &p.number_path,
                    _ => p.container.as_ref().map_or("", |c| &c.host_port_path),
                }
            }
            1 if place.b == u32::MAX => &m.kube_services[a].path,
            1 => &m.kube_services[a].ports[b].path,
            2 => &m.kube_routes[a].path,
            _ => &m.services[a].path,
        }
    }

    /// What `place` of `m` concerns.
    fn subject_in(m: &'m Manifest, place: Place) -> Subject<'m> {
        let (a, b) = (place.a as usize, place.b as usize);
        match place.kind {
            0 => Subject::Port(&m.services[a], &m.services[a].ports[b]),
            1 if place.b == u32::MAX => Subject::KubeService(&m.kube_services[a]),
            1 => Subject::KubePort(&m.kube_services[a], &m.kube_services[a].ports[b]),
            2 => Subject::Route(&m.kube_routes[a]),
            _ => Subject::Service(&m.services[a]),
        }
    }

    /// The place at `path`, if any.
    fn get(&self, path: &str) -> Option<Place> {
        self.places
            .find(fx(path), |p| self.path(*p) == path)
            .copied()
    }

    /// What a finding at `path` concerns: the port (`api 8080/tcp`), else the service, the
    /// Kubernetes Service or route, else the place itself (without the line).
    pub fn subject(&self, path: &str) -> String {
        subject_name(self.manifest, self.place(path), path)
    }

    /// The place a finding at `path` concerns (see [`Subjects::subject`]), if any: what a deferred
    /// finding keeps to name its subject when it is made whole.
    pub(super) fn place(&self, path: &str) -> Option<Place> {
        let ancestors = path
            .match_indices('.')
            .map(|(i, _)| &path[..i])
            .chain(std::iter::once(path));
        ancestors
            .filter_map(|p| self.get(p))
            .min_by_key(|p| p.rank())
    }
}

/// What a finding at `path` concerns, found at `place` of `m` ([`Subjects::place`]): the place's
/// subject, or without one the path itself (without the line).
pub(super) fn subject_name(m: &Manifest, place: Option<Place>, path: &str) -> String {
    place.map_or_else(
        || Document::split_part(path).1.to_owned(),
        |p| Subjects::subject_in(m, p).name(),
    )
}

/// The fingerprint of a finding of `rule` in `file` concerning `subject`, on `host` (`None`: the
/// manifest's own).
pub(super) fn fingerprint_of(
    rule: &str,
    file: &str,
    subject: &str,
    host: Option<&str>,
) -> Fingerprint {
    let mut parts = vec![rule, file, subject];
    parts.extend(host);
    hash(&parts)
}

/// FNV-1a over the parts: stable across runs and platforms.
fn hash(parts: &[&str]) -> Fingerprint {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Fingerprint::new(h)
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
            .into()
    } else {
        subjects.subject(&f.path).into_boxed_str()
    };
    f.fingerprint = Some(fingerprint_of(
        &f.rule,
        doc.file_of(&f.path),
        &f.subject,
        f.host.as_deref(),
    ));
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
            rule: f.rule.to_string(),
            subject: f.subject.to_string(),
            fingerprint: f.fingerprint.map(|x| x.to_string()).unwrap_or_default(),
            message: f.message.to_string(),
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
}

/// Whether an entry of a baseline still `left` holds back a finding with `fingerprint` (one entry
/// holds back one finding): the entry that does is used up.
pub fn take(left: &mut [Option<&Entry>], fingerprint: Option<Fingerprint>) -> bool {
    let slot = left.iter_mut().find(|e| {
        e.is_some_and(|e| fingerprint.map_or(e.fingerprint.is_empty(), |x| x.is(&e.fingerprint)))
    });
    match slot {
        Some(slot) => {
            *slot = None;
            true
        }
        None => false,
    }
}
