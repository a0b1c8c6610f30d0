//! Loading policies: packs, files, `extends`, discovery, validation with places.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use super::custom::CustomRule;
use super::date::Date;
use super::model::{Level, PolicyFile, RuleConfig};
use super::{Location, Policy, RuleSetting, Waiver};
use crate::document::did_you_mean;
use crate::document::{Document, LoadError, Problem};
use crate::document::{Limits, Schema, join, parse_checked, read_on, read_text};
use crate::finding::Severity;

/// The policy schema, as committed (a test keeps it equal to the one generated from the types).
pub const SCHEMA_TEXT: &str = include_str!("../../schemas/policy.schema.json");

/// The built-in packs, embedded from `policies/`.
pub const PACKS: &[(&str, &str)] = &[
    ("baseline", include_str!("../../policies/baseline.yaml")),
    ("kubernetes", include_str!("../../policies/kubernetes.yaml")),
    ("linux-host", include_str!("../../policies/linux-host.yaml")),
    ("strict", include_str!("../../policies/strict.yaml")),
    (
        "windows-server",
        include_str!("../../policies/windows-server.yaml"),
    ),
];

/// The name of the policy file preflight looks for.
pub const FILE_NAME: &str = ".preflight.yaml";

/// Rules that take an `allow:` list.
pub const RULES_WITH_ALLOW: &[&str] = &["ephemeral-range", "well-known-port"];

/// The policy schema, compiled once.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new("policy", SCHEMA_TEXT))
}

/// A policy with the files it came from (for pointing into them).
#[derive(Debug, Default)]
pub struct LoadedPolicy {
    /// The effective policy.
    pub policy: Policy,
    /// Every policy file read, packs included; [`super::Location::doc`] indexes this.
    pub docs: Vec<Document>,
}

/// The nearest `.preflight.yaml` in the manifest's directory or its parents.
pub fn discover(manifest: &Path) -> Option<PathBuf> {
    let start = manifest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let start = start.canonicalize().ok()?;
    let found = start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())?;
    // Show it relative to the working directory when it lies below it, as the user would type it.
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| d.canonicalize().ok());
    Some(
        cwd.and_then(|c| found.strip_prefix(&c).ok().map(Path::to_path_buf))
            .unwrap_or(found),
    )
}

/// Builds the effective policy: the `baseline` pack, then `discovered`, then `explicit` (each with its
/// `extends` applied first). `builtin` are the ids of the built-in rules, which settings and waivers may
/// name and custom rules may not take (the rule registry lives above this layer and passes them in).
pub fn load_policy(
    discovered: Option<&Path>,
    explicit: Option<&Path>,
    builtin: &[&str],
) -> Result<LoadedPolicy, LoadError> {
    let mut l = Loader::new(builtin);
    l.pack("baseline", None).map_err(Stop::into_load)?;
    for path in [discovered, explicit].into_iter().flatten() {
        l.file(path, None).map_err(Stop::into_load)?;
    }
    Ok(LoadedPolicy {
        policy: l.policy,
        docs: l.docs,
    })
}

/// Loads a policy from text alone (no discovery; `extends` of packs only, paths resolve from the
/// working directory), on top of the `baseline` pack; `builtin` as for [`load_policy`].
pub fn load_str(name: &str, text: &str, builtin: &[&str]) -> Result<LoadedPolicy, LoadError> {
    let mut l = Loader::new(builtin);
    l.pack("baseline", None).map_err(Stop::into_load)?;
    l.text(name, text.to_owned(), None)?;
    Ok(LoadedPolicy {
        policy: l.policy,
        docs: l.docs,
    })
}

struct Loader<'b> {
    /// Ids of the built-in rules.
    builtin: &'b [&'b str],
    policy: Policy,
    docs: Vec<Document>,
    stack: Vec<String>,
}

fn level(l: Level) -> RuleSetting {
    match l {
        Level::Error => RuleSetting::Severity(Severity::Error),
        Level::Warning => RuleSetting::Severity(Severity::Warning),
        Level::Info => RuleSetting::Severity(Severity::Info),
        Level::Off => RuleSetting::Off,
    }
}

/// Where an `extends` problem is reported: the entry in the file that names it.
struct From<'a> {
    doc: &'a Document,
    path: String,
}

/// Why a pack or file named by `extends` (or on the command line) was not applied.
enum Stop {
    /// The entry naming it is wrong (no such pack, an unreadable file, a cycle): a problem of the file
    /// that has the entry, reported with that file's other problems.
    Entry(Box<Problem>),
    /// It was read and is not valid, or (named on the command line) can't be read.
    Load(LoadError),
}

impl Stop {
    /// The error for a pack or file that no `extends` entry names.
    fn into_load(self) -> LoadError {
        match self {
            Stop::Load(e) => e,
            // Only made for an entry; kept as an error should a caller pass none.
            Stop::Entry(p) => LoadError::Io {
                file: String::new(),
                source: std::io::Error::other(p.message),
            },
        }
    }
}

impl std::convert::From<LoadError> for Stop {
    fn from(e: LoadError) -> Self {
        Stop::Load(e)
    }
}

impl<'b> Loader<'b> {
    fn new(builtin: &'b [&'b str]) -> Self {
        Loader {
            builtin,
            policy: Policy::default(),
            docs: Vec::new(),
            stack: Vec::new(),
        }
    }

    fn invalid(doc: &Document, problems: Vec<Problem>) -> LoadError {
        LoadError::Invalid {
            kind: "policy",
            doc: Box::new(Document::new(
                doc.name.clone(),
                doc.text.clone(),
                doc.map.clone(),
            )),
            problems,
        }
    }

    fn pack(&mut self, name: &str, from: Option<From<'_>>) -> Result<(), Stop> {
        let Some((_, text)) = PACKS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = PACKS.iter().map(|(n, _)| *n).collect();
            let hint = did_you_mean(name, names.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            let message = format!("no built-in policy pack `{name}`");
            let help = format!(
                "{hint}packs are {}; a path to a policy file must end in .yaml or .yml",
                names.join(", ")
            );
            return Err(match from {
                Some(f) => Stop::Entry(Box::new(
                    Problem::at(f.doc.map.span(&f.path), message, "unknown pack").help(help),
                )),
                None => Stop::Load(LoadError::Io {
                    file: name.to_owned(),
                    source: std::io::Error::other(message),
                }),
            });
        };
        Ok(self.text(
            &format!("policies/{name}.yaml (built in)"),
            (*text).to_owned(),
            None,
        )?)
    }

    fn file(&mut self, path: &Path, from: Option<From<'_>>) -> Result<(), Stop> {
        let key = path
            .canonicalize()
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string();
        if self.stack.contains(&key) {
            let message = format!(
                "`extends` makes a cycle: {} extends itself through {}",
                path.display(),
                self.stack.join(" → ")
            );
            return Err(match from {
                Some(f) => Stop::Entry(Box::new(
                    Problem::at(f.doc.map.span(&f.path), message, "cycle")
                        .help("remove one of the `extends` entries"),
                )),
                None => Stop::Load(LoadError::Io {
                    file: key,
                    source: std::io::Error::other(message),
                }),
            });
        }
        let read = read_text(path, &Limits::default());
        let (name, text) = match (read, from) {
            (Ok(x), _) => x,
            (Err(LoadError::Io { source, .. }), Some(f)) => {
                let p = Problem::at(
                    f.doc.map.span(&f.path),
                    format!("cannot read {}: {source}", path.display()),
                    "not found",
                )
                .help("paths in `extends` are relative to the policy file that names them");
                return Err(Stop::Entry(Box::new(p)));
            }
            (Err(e), _) => return Err(Stop::Load(e)),
        };
        self.stack.push(key);
        let result = self.text(&name, text, path.parent());
        self.stack.pop();
        Ok(result?)
    }

    fn text(&mut self, name: &str, text: String, base: Option<&Path>) -> Result<(), LoadError> {
        // Schema problems don't stop the reading: the rest of the file is checked too (unknown rule ids,
        // dates, expressions), so every problem is reported in one run.
        let (value, doc, schema_problems) = parse_checked(
            name,
            text,
            &Limits::default(),
            schema(),
            |_: &Value, _: &_| Vec::new(),
        )?;
        let file: PolicyFile = if schema_problems.is_empty() {
            serde_json::from_value(value).map_err(|e| {
                Self::invalid(
                    &doc,
                    vec![Problem {
                        message: format!("invalid policy: {e}"),
                        span: None,
                        label: String::new(),
                        help: None,
                        related: Vec::new(),
                        path: None,
                    }],
                )
            })?
        } else {
            match read_on(value, &schema_problems) {
                Some(f) => f,
                None => return Err(Self::invalid(&doc, schema_problems)),
            }
        };
        // A wrong `extends` entry is one more problem of this file: the rest is still checked.
        let mut problems = schema_problems;
        for (i, e) in file.extends.iter().enumerate() {
            let from = From {
                doc: &doc,
                path: join("extends", &i.to_string()),
            };
            let applied = if e.ends_with(".yaml") || e.ends_with(".yml") || e.contains('/') {
                let p = base.map_or_else(|| PathBuf::from(e), |b| b.join(e));
                self.file(&p, Some(from))
            } else {
                self.pack(e, Some(from))
            };
            match applied {
                Ok(()) => {}
                Err(Stop::Entry(p)) => problems.push(*p),
                Err(Stop::Load(e)) => return Err(e),
            }
        }
        let doc_index = self.docs.len();

        // Custom rules first, so `rules:` and waivers may name them.
        for (i, c) in file.custom.iter().enumerate() {
            let path = join("custom", &i.to_string());
            if self.builtin.contains(&c.id.as_str()) {
                problems.push(
                    Problem::at(
                        doc.map.span(&join(&path, "id")),
                        format!("`{}` is a built-in rule", c.id),
                        "taken",
                    )
                    .help("give the custom rule an id of its own"),
                );
                continue;
            }
            let severity = match c.severity.map(level) {
                Some(RuleSetting::Severity(s)) => s,
                Some(RuleSetting::Off) => continue,
                None => Severity::Error,
            };
            let origin = Location {
                doc: doc_index,
                file: doc.name.clone(),
                path: path.clone(),
            };
            match CustomRule::compile(&c.id, &c.summary, severity, c.help.clone(), c.when.as_deref(), &c.assert, &c.message, origin) {
                Ok(rule) => {
                    self.policy.custom.retain(|r| r.id != rule.id);
                    self.policy.custom.push(rule);
                }
                Err(e) => problems.push(
                    Problem::at(doc.map.span(&join(&path, e.field)), format!("custom rule `{}`: bad `{}`: {}", c.id, e.field, e.message), "does not compile")
                        .help("`when` and `assert` are minijinja expressions over service, port, target, facts and manifest; `message` is a template"),
                ),
            }
        }

        let known: Vec<String> = self
            .builtin
            .iter()
            .map(|id| (*id).to_owned())
            .chain(self.policy.custom.iter().map(|c| c.id.clone()))
            .collect();
        let unknown = |id: &str, span, what: &str| {
            let hint = did_you_mean(id, known.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            Problem::at(
                span,
                format!("unknown rule `{id}` in {what}"),
                "unknown rule",
            )
            .help(format!("{hint}`preflight rules` lists the rules"))
        };
        for (id, cfg) in &file.rules {
            let path = join("rules", id);
            if !known.iter().any(|k| k == id) {
                problems.push(unknown(
                    id,
                    doc.map
                        .key_span(&path)
                        .unwrap_or_else(|| doc.map.span(&path)),
                    "`rules`",
                ));
                continue;
            }
            match cfg {
                RuleConfig::Level(l) => {
                    self.policy.rules.insert(id.clone(), level(*l));
                }
                RuleConfig::Options(o) => {
                    if let Some(l) = o.severity {
                        self.policy.rules.insert(id.clone(), level(l));
                    }
                    if !o.allow.is_empty() {
                        if RULES_WITH_ALLOW.contains(&id.as_str()) {
                            self.policy.allow.insert(id.clone(), o.allow.clone());
                        } else {
                            problems.push(
                                Problem::at(
                                    doc.map.span(&join(&path, "allow")),
                                    format!("rule `{id}` takes no `allow` list"),
                                    "no such parameter",
                                )
                                .help(format!("`allow` works for {}", RULES_WITH_ALLOW.join(", "))),
                            );
                        }
                    }
                }
            }
        }

        for (i, w) in file.waivers.iter().enumerate() {
            let path = join("waivers", &i.to_string());
            if !known.contains(&w.rule) {
                problems.push(unknown(
                    &w.rule,
                    doc.map.span(&join(&path, "rule")),
                    "a waiver",
                ));
                continue;
            }
            if w.reason.trim().is_empty() {
                problems.push(
                    Problem::at(
                        doc.map.span(&join(&path, "reason")),
                        "a waiver needs a reason",
                        "empty reason",
                    )
                    .help("say why the finding is accepted"),
                );
                continue;
            }
            let expires = match w.expires.as_deref().map(str::parse::<Date>).transpose() {
                Ok(d) => d,
                Err(e) => {
                    problems.push(
                        Problem::at(
                            doc.map.span(&join(&path, "expires")),
                            e.to_string(),
                            "not a date",
                        )
                        .help("write the date as YYYY-MM-DD"),
                    );
                    continue;
                }
            };
            self.policy.waivers.push(Waiver {
                rule: w.rule.clone(),
                path: w.path.split('.').map(str::to_owned).collect(),
                reason: w.reason.clone(),
                expires,
                hosts: w.hosts.clone(),
                origin: Location {
                    doc: doc_index,
                    file: doc.name.clone(),
                    path,
                },
            });
        }

        if !problems.is_empty() {
            problems.sort_by_key(|p| p.span);
            problems.dedup_by(|a, b| a.span == b.span && a.message == b.message);
            return Err(Self::invalid(&doc, problems));
        }
        self.policy.layers.push(doc.name.clone());
        self.docs.push(doc);
        Ok(())
    }
}
