//! A deploy manifest's `include:`: Compose files and Kubernetes manifests whose services join the
//! manifest's own, under its target, port plan and policy.
//!
//! Each included file (every file of an included directory) becomes a part of the manifest's
//! [`Document`], so the places of its ports stay in its own file (`@k:` paths). Names that collide
//! with a service already present are qualified: `PROJECT/SERVICE` for Compose (the file's `name:`, or
//! its directory's name, as Compose names projects), `NAMESPACE/NAME` for Kubernetes.

use std::path::Path;

use super::model::Include;
use super::{LoadOptions, Manifest};
use crate::document::{Document, LoadError, Problem, join};

/// Rewrites every path of `m` (read as a document of its own, with its own parts) into the paths of
/// part `base` of another document, whose later parts hold `m`'s parts.
fn rebase(m: &mut Manifest, base: usize) {
    let re = |p: &mut String| {
        let (k, inner) = Document::split_part(p);
        *p = Document::part_path(base + k, inner);
    };
    for s in &mut m.services {
        re(&mut s.path);
        for port in &mut s.ports {
            re(&mut port.path);
            re(&mut port.number_path);
            if let Some(c) = &mut port.container {
                re(&mut c.host_port_path);
            }
        }
        if let Some(n) = &mut s.network {
            re(&mut n.path);
            n.refused.iter_mut().for_each(re);
        }
        for l in &mut s.listens {
            re(&mut l.path);
        }
    }
    for r in &mut m.kube_routes {
        re(&mut r.path);
    }
    for s in &mut m.kube_services {
        re(&mut s.path);
        for p in &mut s.ports {
            re(&mut p.path);
        }
    }
    for i in &mut m.ignored {
        re(&mut i.path);
    }
    for u in &mut m.unresolved {
        re(&mut u.path);
    }
    for u in &mut m.unread {
        re(&mut u.path);
    }
    for i in &mut m.ignores {
        re(&mut i.path);
        if let super::IgnoreScope::Object(p) = &mut i.scope {
            re(p);
        }
    }

    m.interpolations = std::mem::take(&mut m.interpolations)
        .into_iter()
        .map(|(mut k, v)| {
            re(&mut k);
            (k, v)
        })
        .collect();
    m.templates = std::mem::take(&mut m.templates)
        .into_iter()
        .map(|(mut k, v)| {
            re(&mut k);
            (k, v)
        })
        .collect();
}

/// The Compose project name: the file's top-level `name:`, else its directory's name.
fn project_name(doc: &Document, path: &Path) -> String {
    let dir_name = || {
        std::fs::canonicalize(path)
            .ok()
            .and_then(|p| {
                p.parent()
                    .and_then(|d| d.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "compose".to_owned())
    };
    doc.text
        .lines()
        .find_map(|l| {
            l.strip_prefix("name:")
                .map(|n| n.trim().trim_matches(['"', '\'']).to_owned())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(dir_name)
}

/// Adds an included input (`included`, read as a document of its own) to `m` and `doc`: its files
/// become parts of `doc`, its paths are rewritten to point into them, and what it found besides
/// services joins `m`'s. Returns its services, for the caller to add under its own naming rules.
pub(crate) fn absorb(
    m: &mut Manifest,
    doc: &mut Document,
    mut included: Manifest,
    mut idoc: Document,
) -> Vec<crate::manifest::Service> {
    let base = doc.parts.len() + 1;
    rebase(&mut included, base);
    let nested = std::mem::take(&mut idoc.parts);
    doc.parts.push(idoc);
    doc.parts.extend(nested);
    m.kube_services.extend(included.kube_services);
    m.kube_routes.extend(included.kube_routes);
    m.ignored.extend(included.ignored);
    m.unread.extend(included.unread);
    m.ignores.extend(
        included
            .ignores
            .into_iter()
            .filter(|i| matches!(i.scope, super::IgnoreScope::Object(_))),
    );
    m.unresolved.extend(included.unresolved);
    m.interpolations.extend(included.interpolations);
    m.templates.extend(included.templates);
    included.services
}

/// How an included file is read: [`super::load`], handed in by the loader that calls [`apply`].
pub type Loader = dyn Fn(&Path, &LoadOptions) -> Result<(Manifest, Document), LoadError>;

/// Loads each include of the manifest (whose file is in `dir`) with `load` and adds its services,
/// documents and templates to `m` and `doc`.
pub fn apply(
    m: &mut Manifest,
    doc: &mut Document,
    includes: &[Include],
    dir: &Path,
    opts: &LoadOptions,
    load: &Loader,
) -> Result<(), LoadError> {
    for (i, inc) in includes.iter().enumerate() {
        let (kind, rel) = match (&inc.compose, &inc.kubernetes) {
            (Some(c), None) => (super::Kind::Compose, c),
            (None, Some(k)) => (super::Kind::Kubernetes, k),
            _ => {
                let path = join("include", &i.to_string());
                let problem = Problem::at(
                    doc.map.span(&path),
                    "an include names exactly one of `compose` and `kubernetes`",
                    "include",
                )
                .help("write `- compose: compose.yaml` or `- kubernetes: k8s/`");
                return Err(LoadError::invalid(
                    "manifest",
                    &doc.name,
                    doc.text.clone(),
                    doc.map.clone(),
                    vec![problem],
                ));
            }
        };
        let path = crate::document::under(dir, rel);
        let mut sub = opts.clone();
        sub.kind = Some(kind);
        if kind == super::Kind::Compose {
            sub.compose.profiles.extend(inc.profiles.iter().cloned());
            if !inc.env_file.is_empty() {
                sub.compose.env_files = inc.env_file.iter().map(|f| dir.join(f)).collect();
            }
        }
        let (included, idoc) = load(&path, &sub)?;
        let project = match kind {
            super::Kind::Compose => Some(project_name(&idoc, &path)),
            _ => None,
        };
        for mut s in absorb(m, doc, included, idoc) {
            if m.services.iter().any(|o| o.name == s.name) {
                let qualifier = match (&project, &s.pod) {
                    (Some(p), _) => p.clone(),
                    (None, Some(pod)) => pod.namespace.clone().unwrap_or_else(|| "default".into()),
                    (None, None) => format!("include-{i}"),
                };
                s.name = format!("{qualifier}/{}", s.name);
            }
            if s.team.is_none() {
                s.team = inc.team.clone();
            }
            m.services.push(s);
        }
    }
    Ok(())
}
