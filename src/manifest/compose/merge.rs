//! Several Compose files merged into one project, as `docker compose -f A -f B` merges them (the
//! Compose specification's `merge.md`), keeping for every value the path of its own text.
//!
//! Services are merged by name. A later file's `ports`, `expose` (and `profiles`) are appended to the
//! earlier ones, identical entries once; `network_mode`, `scale` and `deploy.replicas` are replaced.
//! `!reset` on a value removes what the earlier files set (`ports: !reset []`), `!override` replaces
//! it instead of merging (`ports: !override ["8080:80"]`). Only the fields preflight reads are merged.
//!
//! `extends` is applied per file before the files are merged, as Compose v2 does: the base service
//! (in the same file or another, itself possibly extending a third) is merged first and the
//! extending service's own keys on top, with the same rules. Every inherited value keeps the path of
//! the file and service where it is written, so a finding on an inherited port points at `common.yml`.

use std::collections::HashMap;

use rustc_hash::FxHashSet;
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
    /// Whether the file is one of the project's own (`-f`, or found by discovery); `false` for a file
    /// only read because a service `extends` a service in it.
    pub root: bool,
}

/// The parsed files of a project, owned mutably while it is read so that each service's value can be
/// dropped once the service is read ([`Files::drop_service`]): on a 10 MB file the parsed value
/// (about 55 MiB) and the model (about 35 MB) were otherwise both whole at the end of reading.
#[derive(Debug)]
pub struct Files<'a> {
    /// The parsed files, by index.
    pub values: Vec<&'a mut Value>,
    /// Their source maps, by index.
    pub maps: Vec<&'a SourceMap>,
    /// How many of the first files are the project's own (the rest are read for `extends`).
    pub roots: usize,
}

impl Files<'_> {
    /// The files as the merge reads them.
    pub fn view(&self) -> Vec<ComposeFile<'_>> {
        self.values
            .iter()
            .zip(&self.maps)
            .enumerate()
            .map(|(index, (value, map))| ComposeFile {
                index,
                value,
                map,
                root: index < self.roots,
            })
            .collect()
    }

    /// Drops the value of service `name` in every root file, except in a file whose service of that
    /// name is in `bases` (by file index and name: a service some service `extends`, read again as
    /// its base). The key stays, its value becomes null: nothing reads a service again once it is
    /// merged and read.
    pub fn drop_service(&mut self, name: &str, bases: &FxHashSet<(usize, &str)>) {
        for (k, value) in self.values.iter_mut().enumerate().take(self.roots) {
            if bases.contains(&(k, name)) {
                continue;
            }
            if let Some(svc) = value.get_mut("services").and_then(|s| s.get_mut(name)) {
                drop(std::mem::take(svc));
            }
        }
    }
}

/// The services some service `extends`, by file index and name: kept by [`Files::drop_service`].
pub fn bases(extends: &ExtendsMap) -> FxHashSet<(usize, &str)> {
    extends
        .values()
        .map(|e| (e.file, e.service.as_str()))
        .collect()
}

/// Where a service's `extends` points: the file (by index) and the service in it.
#[derive(Debug, Clone)]
pub struct Extends {
    /// Index of the file holding the base service.
    pub file: usize,
    /// The base service's name.
    pub service: String,
    /// The path of the `extends` value (for problems).
    pub path: String,
}

/// `extends` of every service that has one, by (file index, service name).
pub type ExtendsMap = HashMap<(usize, String), Extends>;

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
    /// `network_mode`. This and the two below are boxed: few services set them, and unboxed they
    /// took 72 bytes more in each of a 10 MB file's 84,840 merged services, all held at once.
    pub network_mode: Option<Box<Field<'v>>>,
    /// `deploy.replicas`.
    pub replicas: Option<Box<Field<'v>>>,
    /// `scale`.
    pub scale: Option<Box<Field<'v>>>,
    /// `ports`: the list itself (the last file's, for "not a list" problems) and its items.
    pub ports_list: Option<Field<'v>>,
    /// The port entries, in merged order.
    pub ports: Vec<Field<'v>>,
    /// `expose`: container ports the service listens on without publishing them.
    pub expose: Vec<Field<'v>>,
    /// Every key of the service as each file writes it (the keys preflight does not read are
    /// classified in [`super::fields`]).
    pub keys: Vec<Keys<'v>>,
}

/// The keys one file writes for a service: borrowed from the value, under the service's path in that
/// file (a key's path is `join(service, key)`). A path kept for every key took 216 bytes a service of
/// a 10 MB file, all held while the project is read; only a key preflight does not read needs one.
#[derive(Debug, Clone, Default)]
pub struct Keys<'v> {
    /// The path of the service in the file.
    pub service: String,
    /// Its keys, in the file's order.
    pub names: Vec<&'v str>,
}

/// A problem found while merging, at a path.
#[derive(Debug, Clone)]
pub struct MergeProblem {
    /// Where.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// The label under the place.
    pub label: &'static str,
    /// How to fix it.
    pub help: String,
}

/// The project's service names, in the order the root `files` first name them; problems (a
/// `services` that is no mapping) come second. Each is merged by [`merge_service`] when it is read,
/// so that only one merged service is held at a time: merged all at once, a 10 MB file's 84,840
/// services took about 30 MB beside the parsed value.
pub fn service_names<'v>(files: &[ComposeFile<'v>]) -> (Vec<&'v str>, Vec<MergeProblem>) {
    let most: usize = files
        .iter()
        .filter(|f| f.root)
        .filter_map(|f| Some(f.value.get("services")?.as_object()?.len()))
        .sum();
    let mut names = Vec::with_capacity(most);
    let mut seen = FxHashSet::default();
    seen.reserve(most);
    let mut problems = Vec::new();
    for f in files.iter().filter(|f| f.root) {
        let Some(services) = f.value.get("services") else {
            continue;
        };
        let Some(services) = services.as_object() else {
            problems.push(MergeProblem {
                path: format!("{}services", Document::part_path(f.index, "")),
                message: "`services` must be a mapping of service names to services".into(),
                label: "not a mapping",
                help: "write `services:` followed by indented service names".into(),
            });
            continue;
        };
        for name in services.keys() {
            if seen.insert(name.as_str()) {
                names.push(name.as_str());
            }
        }
    }
    (names, problems)
}

/// The service `name` merged over the root `files` in order, each file's `extends` applied; an
/// `extends` cycle is a problem pushed to `problems`.
pub fn merge_service<'v>(
    files: &[ComposeFile<'v>],
    extends: &ExtendsMap,
    name: &str,
    problems: &mut Vec<MergeProblem>,
) -> Merged<'v> {
    let mut m: Option<Merged<'v>> = None;
    for f in files.iter().filter(|f| f.root) {
        let Some(svc) = f
            .value
            .get("services")
            .and_then(Value::as_object)
            .and_then(|s| s.get(name))
        else {
            continue;
        };
        let m = m.get_or_insert_with(|| Merged {
            path: format!(
                "{}{}",
                Document::part_path(f.index, ""),
                join("services", name)
            ),
            ..Merged::default()
        });
        let mut stack = Vec::new();
        extended(m, files, extends, f, name, svc, &mut stack, problems);
    }
    m.unwrap_or_default()
}

/// Applies the service `name` of file `f` onto `m`: its base first when it `extends` one, then its
/// own keys. `stack` holds the services being extended, to find cycles.
#[allow(clippy::too_many_arguments)]
fn extended<'v>(
    m: &mut Merged<'v>,
    files: &[ComposeFile<'v>],
    extends: &ExtendsMap,
    f: &ComposeFile<'v>,
    name: &str,
    svc: &'v Value,
    stack: &mut Vec<(usize, String)>,
    problems: &mut Vec<MergeProblem>,
) {
    if let Some(e) = extends.get(&(f.index, name.to_owned())) {
        stack.push((f.index, name.to_owned()));
        let base_file = files.iter().find(|g| g.index == e.file);
        let base = base_file.and_then(|g| g.value.get("services")?.get(&e.service).map(|b| (g, b)));
        if stack.contains(&(e.file, e.service.clone())) {
            let chain: Vec<String> = stack
                .iter()
                .map(|(_, s)| format!("`{s}`"))
                .chain([format!("`{}`", e.service)])
                .collect();
            problems.push(MergeProblem {
                path: e.path.clone(),
                message: format!("`extends` makes a cycle: {}", chain.join(" extends ")),
                label: "cycle",
                help: "break the cycle: a base service must not extend (directly or not) the service that extends it".into(),
            });
        } else if let Some((g, b)) = base {
            extended(m, files, extends, g, &e.service, b, stack, problems);
        }
        stack.pop();
    }
    apply(m, f, name, svc);
}

/// Merges the keys of one service of one file onto `m`, as a later file merges onto an earlier one.
fn apply<'v>(m: &mut Merged<'v>, f: &ComposeFile<'v>, name: &str, svc: &'v Value) {
    let prefix = Document::part_path(f.index, "");
    let local = join("services", name);
    let spath = format!("{prefix}{local}");
    // `!reset` drops what earlier files said of the service; `!override` replaces it whole.
    if matches!(f.map.tag(&local), Some("reset" | "override")) {
        *m = Merged {
            path: m.path.clone(),
            ..Merged::default()
        };
        if f.map.tag(&local) == Some("reset") {
            return;
        }
    }
    let Some(obj) = svc.as_object() else {
        if !svc.is_null() {
            m.not_a_mapping = Some(spath);
        }
        return;
    };
    // Sized to what they hold (one entry a file, and below, the lists to their items): grown from
    // empty, each kept room for four, 27 MB of a 10 MB Compose file's 84,840 services.
    m.keys.reserve_exact(1);
    m.keys.push(Keys {
        service: spath,
        names: obj.keys().map(String::as_str).collect(),
    });
    for (key, value) in obj {
        let local_key = join(&local, key);
        let path = format!("{prefix}{local_key}");
        let tag = f.map.tag(&local_key);
        let field = Field {
            path: path.clone(),
            value,
        };
        let list = |into: &mut Vec<Field<'v>>, dedup: bool| {
            if matches!(tag, Some("reset" | "override")) {
                into.clear();
            }
            if tag == Some("reset") {
                return;
            }
            into.reserve_exact(value.as_array().map_or(0, Vec::len));
            for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                if !dedup || !into.iter().any(|p| p.value == item) {
                    into.push(Field {
                        path: join(&path, &i.to_string()),
                        value: item,
                    });
                }
            }
        };
        match key.as_str() {
            "ports" => {
                list(&mut m.ports, true);
                m.ports_list = (tag != Some("reset")).then_some(field);
            }
            "expose" => list(&mut m.expose, true),
            "profiles" => list(&mut m.profiles, false),
            "network_mode" => m.network_mode = (tag != Some("reset")).then(|| Box::new(field)),
            "scale" => m.scale = (tag != Some("reset")).then(|| Box::new(field)),
            "deploy" => {
                if matches!(tag, Some("reset" | "override")) {
                    m.replicas = None;
                }
                if tag == Some("reset") {
                    continue;
                }
                if let Some(r) = value.get("replicas") {
                    let rpath = join(&local_key, "replicas");
                    m.replicas = (f.map.tag(&rpath) != Some("reset")).then(|| {
                        Box::new(Field {
                            path: format!("{prefix}{rpath}"),
                            value: r,
                        })
                    });
                }
            }
            _ => {}
        }
    }
}
