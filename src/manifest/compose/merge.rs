//! Several Compose files merged into one project, as `docker compose -f A -f B` merges them (the
//! Compose specification's `merge.md`), keeping for every value the path of its own text.
//!
//! Services are merged by name. A later file's `ports` (and `profiles`) are appended to the earlier
//! ones, identical entries once; `network_mode`, `scale` and `deploy.replicas` are replaced. `!reset`
//! on a value removes what the earlier files set (`ports: !reset []`), `!override` replaces it instead
//! of merging (`ports: !override ["8080:80"]`). Only the fields preflight reads are merged.

use indexmap::IndexMap;
use serde_json::Value;

use crate::document::{Document, SourceMap, join};

/// One parsed Compose file of a project.
#[derive(Debug, Clone, Copy)]
pub struct ComposeFile<'a> {
    /// The file's index in its [`Document`] (0: the document, k: part k).
    pub index: usize,
    /// The parsed file.
    pub value: &'a Value,
    /// The file's source map (for its tags).
    pub map: &'a SourceMap,
}

/// A value with the path of its text (`@k:`-prefixed in part k).
#[derive(Debug, Clone)]
pub struct Field<'v> {
    /// The path of the value.
    pub path: String,
    /// The value.
    pub value: &'v Value,
}

/// A service after merging: the fields preflight reads, each from the file that decided it.
#[derive(Debug, Clone, Default)]
pub struct Merged<'v> {
    /// The path of the service in the first file that names it.
    pub path: String,
    /// A service whose value is not a mapping (a problem to report), by its path.
    pub not_a_mapping: Option<String>,
    /// `profiles`, every item.
    pub profiles: Vec<Field<'v>>,
    /// `network_mode`.
    pub network_mode: Option<Field<'v>>,
    /// `deploy.replicas`.
    pub replicas: Option<Field<'v>>,
    /// `scale`.
    pub scale: Option<Field<'v>>,
    /// `ports`: the list itself (the last file's, for "not a list" problems) and its items.
    pub ports_list: Option<Field<'v>>,
    /// The port entries, in merged order.
    pub ports: Vec<Field<'v>>,
}

/// The project's services, merged over `files` in order. The second value lists `services` values
/// that are not mappings, by path.
pub fn merge<'v>(files: &[ComposeFile<'v>]) -> (IndexMap<String, Merged<'v>>, Vec<String>) {
    let mut out: IndexMap<String, Merged<'v>> = IndexMap::new();
    let mut bad = Vec::new();
    for f in files {
        let prefix = Document::part_path(f.index, "");
        let Some(services) = f.value.get("services") else {
            continue;
        };
        let Some(services) = services.as_object() else {
            bad.push(format!("{prefix}services"));
            continue;
        };
        for (name, svc) in services {
            let local = join("services", name);
            let spath = format!("{prefix}{local}");
            let m = out.entry(name.clone()).or_insert_with(|| Merged {
                path: spath.clone(),
                ..Merged::default()
            });
            // `!reset` drops what earlier files said of the service; `!override` replaces it whole.
            if matches!(f.map.tag(&local), Some("reset" | "override")) {
                *m = Merged {
                    path: m.path.clone(),
                    ..Merged::default()
                };
                if f.map.tag(&local) == Some("reset") {
                    continue;
                }
            }
            let Some(obj) = svc.as_object() else {
                if !svc.is_null() {
                    m.not_a_mapping = Some(spath);
                }
                continue;
            };
            for (key, value) in obj {
                let local_key = join(&local, key);
                let path = format!("{prefix}{local_key}");
                let tag = f.map.tag(&local_key);
                let field = Field {
                    path: path.clone(),
                    value,
                };
                match key.as_str() {
                    "ports" => {
                        if matches!(tag, Some("reset" | "override")) {
                            m.ports.clear();
                        }
                        if tag == Some("reset") {
                            m.ports_list = None;
                            continue;
                        }
                        m.ports_list = Some(field);
                        for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                            if !m.ports.iter().any(|p| p.value == item) {
                                m.ports.push(Field {
                                    path: join(&path, &i.to_string()),
                                    value: item,
                                });
                            }
                        }
                    }
                    "profiles" => {
                        if matches!(tag, Some("reset" | "override")) {
                            m.profiles.clear();
                        }
                        if tag == Some("reset") {
                            continue;
                        }
                        for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                            m.profiles.push(Field {
                                path: join(&path, &i.to_string()),
                                value: item,
                            });
                        }
                    }
                    "network_mode" => m.network_mode = (tag != Some("reset")).then_some(field),
                    "scale" => m.scale = (tag != Some("reset")).then_some(field),
                    "deploy" => {
                        if matches!(tag, Some("reset" | "override")) {
                            m.replicas = None;
                        }
                        if tag == Some("reset") {
                            continue;
                        }
                        if let Some(r) = value.get("replicas") {
                            let rpath = join(&local_key, "replicas");
                            m.replicas = (f.map.tag(&rpath) != Some("reset")).then(|| Field {
                                path: format!("{prefix}{rpath}"),
                                value: r,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    (out, bad)
}
