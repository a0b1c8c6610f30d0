//! A Compose project loaded as Compose v2 loads it: the files given (merged in order), the files
//! their services `extends` (read through the service that extends, never checked alone), and the
//! projects their top-level `include` pulls in (each with its own project directory and variables,
//! its services joining the project's).
//!
//! Every file read becomes a part of the project's [`Document`] (`@k:` paths), so a finding on an
//! inherited or included port points where the port is written. A missing file, an `extends` or
//! `include` cycle, or an include whose services clash with the project's own is an error at the
//! place that names it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::fields::prunable;
use super::interpolate::{ComposeVars, EnvFileError, ScalarError, interpolate};
use super::merge::{Extends, ExtendsMap, Files};
use crate::document::{Document, LoadError, Problem, join, parse_document_pruned, read_text};
use crate::manifest::interpolate::VarSource;
use crate::manifest::{ComposeOptions, LoadOptions, Manifest};

/// A parsed file with the path it was read from.
type Parsed = (Value, Document);

/// A value read from the file (interpolated) and the path of its text.
type Named = (String, String);

/// Reads the Compose files `paths` as one project whose directory is `dir`.
pub fn load_files(
    paths: &[PathBuf],
    dir: &Path,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    let mut parsed = Vec::with_capacity(paths.len());
    for p in paths {
        parsed.push(parse(p, opts)?);
    }
    project(parsed, dir, opts)
}

fn parse(path: &Path, opts: &LoadOptions) -> Result<Parsed, LoadError> {
    let (name, text) = read_text(path, &opts.limits.input)?;
    parse_document_pruned(&name, text, &opts.limits.input, "compose", prunable)
}

/// The directory a file's relative references are resolved in.
fn dir_of(doc: &Document, project: &Path) -> PathBuf {
    match Path::new(&doc.name).parent() {
        Some(d) if doc.name != "<stdin>" && !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => project.to_path_buf(),
    }
}

/// The error for problems found in file `k` of `parsed`.
fn fail(mut parsed: Vec<Parsed>, k: usize, problems: Vec<Problem>) -> LoadError {
    let (
        _,
        Document {
            name, text, map, ..
        },
    ) = parsed.swap_remove(k);
    LoadError::invalid("compose", &name, text, map, problems)
}

/// A problem at `path` (local to its file) of `doc`.
fn problem(doc: &Document, path: &str, message: String, label: &str, help: &str) -> Problem {
    Problem::at(doc.map.span(path), message, label)
        .help(help)
        .at_path(path)
}

/// Parsed root files resolved as one project, with their `extends` files and `include`d projects.
pub fn project(
    mut parsed: Vec<Parsed>,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    let roots = parsed.len();
    let first_name = parsed
        .first()
        .map(|(_, d)| d.name.clone())
        .unwrap_or_default();
    let vars = variables(dir, &opts.compose).map_err(|e| LoadError::Io {
        file: first_name,
        source: std::io::Error::other(e),
    })?;
    let extends = match find_extends(&mut parsed, dir, &vars, opts) {
        Ok(e) => e,
        Err(Failure::Load(e)) => return Err(e),
        Err(Failure::At(k, problems)) => return Err(fail(parsed, k, problems)),
    };
    let included = match includes(&parsed[..roots], dir, &vars, opts) {
        Ok(i) => i,
        Err(Failure::Load(e)) => return Err(e),
        Err(Failure::At(k, problems)) => return Err(fail(parsed, k, problems)),
    };
    let (values, maps) = parsed.iter_mut().map(|(v, d)| (v, &d.map)).unzip();
    let files = &mut Files {
        values,
        maps,
        roots,
    };
    let has_include = !included.is_empty();
    let resolved = super::resolve(files, &extends, &vars, &opts.compose, opts, has_include);
    let mut m = match resolved {
        Ok(m) => m,
        Err((k, problems)) => return Err(fail(parsed, k, problems)),
    };
    // An included service may not share a name with the project's own (Compose refuses it).
    for (inc, _, (k, local)) in &included {
        let by = &parsed[*k].1;
        let line = by.map.line_col(&by.text, by.map.span(local).offset).line;
        let place = format!("{}:{line}", by.name);
        let clashes: Vec<(usize, Problem)> = inc
            .services
            .iter()
            .filter_map(|s| m.services.iter().find(|o| o.name == s.name))
            .map(|o| {
                let (ok, olocal) = Document::split_part(&o.path);
                let p = problem(
                    &parsed[ok].1,
                    olocal,
                    format!("service `{}` is also defined by the project included at {place}", o.name),
                    "defined twice",
                    "rename one of the two services, or drop the include: Compose refuses a project whose included services clash with its own",
                );
                (ok, p)
            })
            .collect();
        if let Some(&(first, _)) = clashes.first() {
            let problems = clashes
                .into_iter()
                .filter(|(f, _)| *f == first)
                .map(|(_, p)| p)
                .collect();
            return Err(fail(parsed, first, problems));
        }
    }
    let mut docs = parsed.into_iter().map(|(_, d)| d);
    let Some(mut doc) = docs.next() else {
        return Err(LoadError::Io {
            file: dir.display().to_string(),
            source: std::io::Error::other("no Compose file given"),
        });
    };
    doc.parts = docs.collect();
    for (inc, idoc, _) in included {
        let services = crate::manifest::include::absorb(&mut m, &mut doc, inc, idoc);
        m.services.extend(services);
    }
    Ok((m, doc))
}

/// Why a project can't be read: a file that failed to load, or problems in file `k`.
enum Failure {
    Load(LoadError),
    At(usize, Vec<Problem>),
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        Failure::Load(e)
    }
}

/// The interpolated text of a scalar, or a problem.
fn text(v: &Value, vars: &ComposeVars) -> Result<String, ScalarError> {
    let raw = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(ScalarError::NotText),
    };
    if !raw.contains('$') {
        return Ok(raw);
    }
    Ok(interpolate(&raw, vars)?.text)
}

/// Reads every service's `extends`, parsing the files they name (and the files those name) into
/// `parsed`, and returns where each one points.
fn find_extends(
    parsed: &mut Vec<Parsed>,
    dir: &Path,
    vars: &ComposeVars,
    opts: &LoadOptions,
) -> Result<ExtendsMap, Failure> {
    let mut map = ExtendsMap::new();
    let mut canonical: Vec<Option<PathBuf>> = parsed
        .iter()
        .map(|(_, d)| std::fs::canonicalize(&d.name).ok())
        .collect();
    let mut k = 0;
    while k < parsed.len() {
        let mut problems = Vec::new();
        // (service, base service, the base's file and the path naming it)
        let mut wanted: Vec<(String, String, Option<Named>)> = Vec::new();
        if let Some(services) = parsed[k].0.get("services").and_then(Value::as_object) {
            for (name, svc) in services {
                let Some(e) = svc.get("extends") else {
                    continue;
                };
                let epath = join(&join("services", name), "extends");
                let (service, file) = match e {
                    Value::String(_) => (Some((e, epath.clone())), None),
                    Value::Object(o) => (
                        o.get("service").map(|s| (s, join(&epath, "service"))),
                        o.get("file").map(|f| (f, join(&epath, "file"))),
                    ),
                    _ => (None, None),
                };
                let Some((sv, spath)) = service else {
                    problems.push(problem(
                        &parsed[k].1,
                        &epath,
                        "`extends` needs the `service` to extend".into(),
                        "no service",
                        "write `extends: { service: base }` or `extends: { file: common.yml, service: base }`",
                    ));
                    continue;
                };
                let interpolated =
                    |v: &Value, p: &str, problems: &mut Vec<Problem>| match text(v, vars) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            problems.push(problem(
                                &parsed[k].1,
                                p,
                                e.to_string(),
                                "not read",
                                "write a service name or a file path",
                            ));
                            None
                        }
                    };
                let Some(service) = interpolated(sv, &spath, &mut problems) else {
                    continue;
                };
                let file = match file {
                    Some((fv, fpath)) => match interpolated(fv, &fpath, &mut problems) {
                        Some(f) => Some((f, fpath)),
                        None => continue,
                    },
                    None => None,
                };
                wanted.push((name.clone(), service, file));
            }
        }
        for (name, service, file) in wanted {
            let epath = join(&join("services", &name), "extends");
            let target = match &file {
                None => k,
                Some((f, fpath)) => {
                    let path = crate::document::under(&dir_of(&parsed[k].1, dir), f);
                    let canon = std::fs::canonicalize(&path).ok();
                    match canonical.iter().position(|c| c.is_some() && *c == canon) {
                        Some(i) => i,
                        None if canon.is_none() => {
                            problems.push(problem(
                                &parsed[k].1,
                                fpath,
                                format!("`extends` names {}, which can't be read", path.display()),
                                "no such file",
                                "give the path of the file holding the base service, relative to this file",
                            ));
                            continue;
                        }
                        None => {
                            let p = parse(&path, opts)?;
                            parsed.push(p);
                            canonical.push(canon);
                            parsed.len() - 1
                        }
                    }
                }
            };
            let exists = parsed[target]
                .0
                .get("services")
                .and_then(|s| s.get(&service))
                .is_some();
            if !exists {
                let spath = match &parsed[k].0["services"][&name]["extends"] {
                    Value::Object(_) => join(&epath, "service"),
                    _ => epath.clone(),
                };
                problems.push(problem(
                    &parsed[k].1,
                    &spath,
                    format!(
                        "`extends` names service `{service}`, which {} does not define",
                        parsed[target].1.name
                    ),
                    "no such service",
                    "name a service of that file",
                ));
                continue;
            }
            map.insert(
                (k, name),
                Extends {
                    file: target,
                    service,
                    path: Document::part_path(k, &epath),
                },
            );
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.span);
            return Err(Failure::At(k, problems));
        }
        k += 1;
    }
    Ok(map)
}

/// An included project: its manifest, its document, and where the root file names it (file index,
/// local path of the include entry).
type Included = (Manifest, Document, (usize, String));

/// Loads the projects the root files' top-level `include` names (short syntax: a path; long:
/// `path` (one or a list), `project_directory`, `env_file`). Paths are relative to the project
/// directory; an included project's directory defaults to its first file's, and its variables come
/// from its `env_file` (default: its directory's `.env`) and the process environment.
fn includes(
    roots: &[Parsed],
    dir: &Path,
    vars: &ComposeVars,
    opts: &LoadOptions,
) -> Result<Vec<Included>, Failure> {
    let mut out = Vec::new();
    let stack: Vec<PathBuf> = opts
        .compose
        .include_stack
        .iter()
        .cloned()
        .chain(
            roots
                .iter()
                .filter_map(|(_, d)| std::fs::canonicalize(&d.name).ok()),
        )
        .collect();
    for (k, (value, doc)) in roots.iter().enumerate() {
        let Some(list) = value.get("include") else {
            continue;
        };
        let Some(items) = list.as_array() else {
            return Err(Failure::At(
                k,
                vec![problem(
                    doc,
                    "include",
                    "`include` must be a list".into(),
                    "not a list",
                    "write each included file as a list item: `- other/compose.yaml`",
                )],
            ));
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = join("include", &i.to_string());
            let strings = |v: Option<&Value>, p: &str| -> Result<Vec<(String, String)>, Failure> {
                let unread = |at: &str, e: ScalarError| {
                    Failure::At(
                        k,
                        vec![problem(doc, at, e.to_string(), "not read", "write a path")],
                    )
                };
                let mut out = Vec::new();
                match v {
                    None => {}
                    Some(Value::Array(a)) => {
                        for (j, s) in a.iter().enumerate() {
                            let sp = join(p, &j.to_string());
                            let t = text(s, vars).map_err(|e| unread(&sp, e))?;
                            out.push((t, sp));
                        }
                    }
                    Some(s) => {
                        let t = text(s, vars).map_err(|e| unread(p, e))?;
                        out.push((t, p.to_owned()));
                    }
                }
                Ok(out)
            };
            let (paths, project_dir, env_files) = match item {
                Value::Object(o) => (
                    strings(o.get("path"), &join(&ipath, "path"))?,
                    strings(
                        o.get("project_directory"),
                        &join(&ipath, "project_directory"),
                    )?,
                    strings(o.get("env_file"), &join(&ipath, "env_file"))?,
                ),
                v => (strings(Some(v), &ipath)?, Vec::new(), Vec::new()),
            };
            if paths.is_empty() {
                return Err(Failure::At(
                    k,
                    vec![problem(
                        doc,
                        &ipath,
                        "an include needs a `path`".into(),
                        "no path",
                        "write `- path: other/compose.yaml`",
                    )],
                ));
            }
            let mut files = Vec::new();
            for (p, at) in &paths {
                let f = crate::document::under(dir, p);
                let Ok(canon) = std::fs::canonicalize(&f) else {
                    return Err(Failure::At(
                        k,
                        vec![problem(
                            doc,
                            at,
                            format!("the included file {} can't be read", f.display()),
                            "no such file",
                            "give the path of a Compose file, relative to the project directory",
                        )],
                    ));
                };
                if stack.contains(&canon) {
                    return Err(Failure::At(
                        k,
                        vec![problem(
                            doc,
                            at,
                            format!(
                                "`include` makes a cycle: {} is already being loaded (it includes, directly or not, this file)",
                                f.display()
                            ),
                            "cycle",
                            "remove one of the includes: a project can't include itself",
                        )],
                    ));
                }
                files.push(f);
            }
            let sub_dir = match project_dir.first() {
                Some((d, _)) => crate::document::under(dir, d),
                None => files[0]
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            };
            let mut sub = opts.clone();
            sub.compose.env_files = env_files
                .iter()
                .map(|(f, _)| crate::document::under(dir, f))
                .collect();
            sub.compose.include_stack = stack.clone();
            sub.compose.inherited = Some(Box::new(vars.clone()));
            let (m, d) = load_files(&files, &sub_dir, &sub)?;
            out.push((m, d, (k, ipath)));
        }
    }
    Ok(out)
}

/// The variables of a Compose project in `dir`: `--env-file` files (or `dir/.env`), then the process
/// environment on top, then (for an included project) the including project's variables. Problems
/// name the file and line of a line that can't be read.
pub fn variables(dir: &Path, opts: &ComposeOptions) -> Result<ComposeVars, EnvFileError> {
    let mut vars = ComposeVars::default();
    let files: Vec<std::path::PathBuf> = if opts.env_files.is_empty() {
        let dot = dir.join(".env");
        if dot.is_file() { vec![dot] } else { Vec::new() }
    } else {
        opts.env_files.clone()
    };
    let mut env = ComposeVars::default();
    for (k, v) in std::env::vars_os() {
        if let (Ok(k), Ok(v)) = (k.into_string(), v.into_string()) {
            env.set(&k, v, VarSource::Process);
        }
    }
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(&f).map_err(|source| EnvFileError::Read {
            file: name.clone(),
            source,
        })?;
        let bad = vars.add_env_file(&name, &text, &env);
        if let Some(&line) = bad.first() {
            return Err(EnvFileError::Line { file: name, line });
        }
    }
    vars.extend(&env);
    if let Some(parent) = &opts.inherited {
        vars.extend(parent);
    }
    Ok(vars)
}
