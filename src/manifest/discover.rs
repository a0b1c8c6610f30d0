//! Which files an input is, found the way each file's own tool finds them.
//!
//! - No input named: `COMPOSE_FILE` (split on `COMPOSE_PATH_SEPARATOR`, else `:`, `;` on Windows),
//!   else the first of `compose.yaml`, `compose.yml`, `docker-compose.yml`, `docker-compose.yaml` in
//!   the working directory with the first matching `compose.override.*`/`docker-compose.override.*`
//!   beside it, else `deploy.yaml` there, else the Compose files of the nearest parent directory
//!   that has one, as `docker compose` looks upwards.
//! - A directory is a project: a Helm chart (`Chart.yaml`) or a kustomization (`kustomization.yaml`)
//!   is rendered by its tool ([`super::render`]); otherwise its Compose project (same names as
//!   above), every other Compose file (alone, unless a project reads it through `extends` or
//!   `include`), its deploy manifests, and its Kubernetes manifests (as one input, as `kubectl apply
//!   -f DIR`). Files that are none of these, and subdirectories, are listed as not checked, with why.
//! - A file is read as what its content is.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Kind, LoadOptions, Manifest};
use crate::document::{
    Document, LoadError, parse_document, parse_document_each, parse_document_pruned, read_text,
    under,
};

/// The names Compose v2 looks for, in its order.
pub const COMPOSE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The override files Compose v2 adds to the one it found, in its order.
pub const OVERRIDE_NAMES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// A file (or directory) that was not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotChecked {
    /// The file as named to the user.
    pub file: String,
    /// Why it was not checked.
    pub reason: String,
    /// What to do to check it.
    pub help: String,
}

/// An input as loaded: a label (the file or directory it stands for) and the result.
pub type Loaded = (PathBuf, Result<(Manifest, Document), LoadError>);

/// What reading the inputs gave: each input loaded (or why not), and what was passed over.
#[derive(Debug, Default)]
pub struct Read {
    /// The inputs in the order found.
    pub loaded: Vec<Loaded>,
    /// Files and directories seen but not checked.
    pub not_checked: Vec<NotChecked>,
}

/// The Compose project Compose finds in `dir`: the first default name, with the first override.
pub fn compose_project(dir: &Path) -> Option<Vec<PathBuf>> {
    let main = COMPOSE_NAMES
        .iter()
        .map(|n| under(dir, n))
        .find(|p| p.is_file())?;
    let over = OVERRIDE_NAMES
        .iter()
        .map(|n| under(dir, n))
        .find(|p| p.is_file());
    Some(std::iter::once(main).chain(over).collect())
}

/// `COMPOSE_FILE` split as Compose splits it.
fn compose_file_env() -> Option<Vec<PathBuf>> {
    let files = std::env::var("COMPOSE_FILE")
        .ok()
        .filter(|f| !f.trim().is_empty())?;
    let default = if cfg!(windows) { ";" } else { ":" };
    let sep = std::env::var("COMPOSE_PATH_SEPARATOR")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_owned());
    Some(
        files
            .split(sep.as_str())
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .collect(),
    )
}

/// The inputs when none is named (see the module docs); `None` when there is nothing to read.
pub fn default_inputs() -> Option<Input> {
    if let Some(files) = compose_file_env() {
        return Some(Input::Compose(files));
    }
    if let Some(files) = compose_project(Path::new(".")) {
        return Some(Input::Compose(files));
    }
    if Path::new("deploy.yaml").is_file() {
        return Some(Input::File(PathBuf::from("deploy.yaml")));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .skip(1)
        .find_map(compose_project)
        .map(Input::Compose)
}

/// One input to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file (or, with `--kind`, a directory), read as what its content (or `--kind`) says.
    File(PathBuf),
    /// Compose files merged into one project, in order.
    Compose(Vec<PathBuf>),
    /// Kubernetes manifests read as one input.
    Kubernetes(Vec<PathBuf>),
    /// A directory rendered by its tool (a Helm chart, a kustomization).
    Rendered(PathBuf, super::render::Renderer),
}

impl Input {
    /// The file or directory the input stands for, as reports name it.
    pub fn label(&self) -> PathBuf {
        match self {
            Input::File(p) | Input::Rendered(p, _) => p.clone(),
            Input::Compose(f) | Input::Kubernetes(f) => f.first().cloned().unwrap_or_default(),
        }
    }

    /// Loads the input.
    pub fn load(&self, opts: &LoadOptions) -> Result<(Manifest, Document), LoadError> {
        match self {
            Input::File(p) => super::load(p, opts),
            Input::Compose(files) => super::load_compose_files(files, opts),
            Input::Kubernetes(files) => {
                super::load::load_kubernetes_files(files, opts).map(super::load::finish)
            }
            Input::Rendered(dir, r) => super::load::load_rendered(dir, *r, opts),
        }
    }
}

/// Why a file found in a directory is of no kind preflight reads.
#[derive(Debug, thiserror::Error)]
pub enum Unrecognised {
    /// The file can't be read.
    #[error(transparent)]
    Read(#[from] LoadError),
    /// It does not parse.
    #[error("it is not valid YAML")]
    NotYaml,
    /// A stream of documents that are not all Kubernetes objects, or no mapping.
    #[error("it is no deploy manifest, Compose file or Kubernetes manifest")]
    NoManifest,
    /// A mapping without the keys of any kind.
    #[error(
        "it has no `services`, `apiVersion`/`kind` or deploy manifest keys: no kind preflight reads"
    )]
    NoKnownKeys,
}

/// What a YAML file is, from its content, or why it is of no kind preflight reads (a CI workflow,
/// Helm values, an editor's settings).
pub fn recognise(path: &Path, opts: &LoadOptions) -> Result<Kind, Unrecognised> {
    let (name, text) = read_text(path, &opts.limits.input)?;
    let kube = |v: &Value| v.get("apiVersion").is_some() && v.get("kind").is_some();
    if Kind::several_documents(&text) {
        // A stream is Kubernetes when every document is an object with `apiVersion` and `kind`; each
        // is looked at as it is parsed and dropped (a 10 MB stream's value whole is ten times it).
        let (mut docs, mut all_kube) = (0usize, true);
        parse_document_each(&name, text, &opts.limits.input, "input", &mut |v| {
            docs += 1;
            all_kube &= kube(&v);
        })
        .map_err(|_| Unrecognised::NotYaml)?;
        return if docs > 0 && all_kube {
            Ok(Kind::Kubernetes)
        } else {
            Err(Unrecognised::NoManifest)
        };
    }
    let (value, _) = parse_document(&name, text, &opts.limits.input, "input")
        .map_err(|_| Unrecognised::NotYaml)?;
    if kube(&value) {
        return Ok(Kind::Kubernetes);
    }
    let Some(map) = value.as_object() else {
        return Err(Unrecognised::NoManifest);
    };
    if map.get("version").and_then(Value::as_u64) == Some(1)
        || map.contains_key("target")
        || map.contains_key("port_plan")
    {
        return Ok(Kind::Deploy);
    }
    if map.get("services").is_some_and(Value::is_object)
        || map.get("include").is_some_and(Value::is_array)
    {
        return Ok(Kind::detect(&value));
    }
    Err(Unrecognised::NoKnownKeys)
}

/// Whether a file name is YAML (or JSON, which is YAML) by its extension.
fn is_yaml(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// The inputs of a directory (see the module docs), each loaded; what is not checked is listed.
pub fn directory(dir: &Path, opts: &LoadOptions) -> Read {
    let mut read = Read::default();
    if let Some(r) = super::render::Renderer::of(dir) {
        let input = Input::Rendered(dir.to_path_buf(), r);
        read.loaded.push((input.label(), input.load(opts)));
        return read;
    }
    // In the working directory, names are shown as written (`compose.yaml`, not `./compose.yaml`).
    let shown = |p: PathBuf| match p.strip_prefix(".") {
        Ok(rel) if dir == Path::new(".") => rel.to_path_buf(),
        _ => p,
    };
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| shown(e.path()))).collect(),
        Err(e) => {
            read.loaded.push((
                dir.to_path_buf(),
                Err(LoadError::Io {
                    file: dir.display().to_string(),
                    source: e,
                }),
            ));
            return read;
        }
    };
    entries.sort();
    let project = compose_project(dir);
    let in_project = |p: &Path| project.as_ref().is_some_and(|f| f.iter().any(|q| q == p));
    let (mut composes, mut kube, mut others): (Vec<PathBuf>, Vec<PathBuf>, Vec<Input>) =
        Default::default();
    for p in entries.iter().filter(|p| p.is_file() && is_yaml(p)) {
        if in_project(p) {
            continue;
        }
        let shown = p.display().to_string();
        match recognise(p, opts) {
            Ok(Kind::Kubernetes) => kube.push(p.clone()),
            Ok(Kind::Compose) => composes.push(p.clone()),
            Ok(Kind::Deploy) => others.push(Input::File(p.clone())),
            Err(why) => read.not_checked.push(NotChecked {
                file: shown.clone(),
                reason: why.to_string(),
                help: format!("if it is a deploy manifest, Compose file or Kubernetes manifest, name it with its kind: `preflight check --kind KIND {shown}`"),
            }),
        }
    }
    // (input, whether it is a Compose file that another input may read through `extends`/`include`)
    let mut inputs: Vec<(Input, bool)> = project
        .into_iter()
        .map(|f| (Input::Compose(f), false))
        .collect();
    inputs.extend(
        composes
            .iter()
            .map(|c| (Input::Compose(vec![c.clone()]), true)),
    );
    inputs.extend(others.into_iter().map(|i| (i, false)));
    if !kube.is_empty() {
        inputs.push((Input::Kubernetes(kube), false));
    }
    let loaded: Vec<(Input, bool, Loaded)> = inputs
        .into_iter()
        .map(|(i, alone)| {
            let r = (i.label(), i.load(opts));
            (i, alone, r)
        })
        .collect();
    // Files read through another input (`extends`, `include`) are not checked again alone.
    let canonical = |p: &str| std::fs::canonicalize(p).ok();
    let mut read_through: Vec<PathBuf> = Vec::new();
    for (_, _, (_, r)) in &loaded {
        if let Ok((_, doc)) = r {
            read_through.extend(doc.parts.iter().filter_map(|d| canonical(&d.name)));
        }
    }
    for (input, alone, (label, r)) in loaded {
        if alone
            && canonical(&input.label().display().to_string())
                .is_some_and(|c| read_through.contains(&c))
        {
            continue;
        }
        read.loaded.push((label, r));
    }
    // Subdirectories are not searched: those holding YAML that no input read are named.
    let mut all_read: Vec<PathBuf> = read_through;
    for (_, r) in &read.loaded {
        if let Ok((_, doc)) = r {
            all_read.extend(
                std::iter::once(doc)
                    .chain(&doc.parts)
                    .filter_map(|d| canonical(&d.name)),
            );
        }
    }
    for sub in entries.iter().filter(|p| p.is_dir()) {
        let hidden = sub
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n == "node_modules" || n == "target");
        if hidden {
            continue;
        }
        let unread = std::fs::read_dir(sub)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_yaml(p))
            .filter(|p| std::fs::canonicalize(p).map_or(true, |c| !all_read.contains(&c)))
            .count();
        let renderable = super::render::Renderer::of(sub).is_some();
        if unread > 0 || renderable {
            let shown = sub.display().to_string();
            read.not_checked.push(NotChecked {
                file: format!("{shown}/"),
                reason: if renderable {
                    "a subdirectory holding a Helm chart or kustomization: subdirectories are not searched".into()
                } else {
                    format!("a subdirectory with {unread} YAML file(s) no input read: subdirectories are not searched")
                },
                help: format!("check it as an input of its own: `preflight check {shown}`"),
            });
        }
    }
    read
}

/// Loads an input from an editor's unsaved `text` for the file at `path`, as `check` would load the
/// file: a Compose file of its directory's project is read with the rest of the project (its other
/// files from disk), anything else on its own.
pub fn load_buffer(
    path: &Path,
    text: String,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = path.display().to_string();
    let project = compose_project(&dir).filter(|files| files.iter().any(|f| f == path));
    let Some(files) = project.filter(|_| opts.kind.is_none()) else {
        return super::load::load_in(&name, text, &dir, opts);
    };
    let mut parsed = Vec::with_capacity(files.len());
    let mut own = Some(text);
    for f in &files {
        let (n, t) = match (f == path, own.take()) {
            (true, Some(t)) => (name.clone(), t),
            (_, keep) => {
                own = keep;
                read_text(f, &opts.limits.input)?
            }
        };
        parsed.push(parse_document_pruned(
            &n,
            t,
            &opts.limits.input,
            "compose",
            super::compose::fields::prunable,
        )?);
    }
    super::compose::project::project(parsed, &dir, opts).map(super::load::finish)
}
