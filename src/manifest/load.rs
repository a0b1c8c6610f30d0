//! Reading a manifest file: size limit, span-aware parse, schema validation, interpolation, resolution.
//!
//! Every problem is collected with its place and returned together in [`LoadError::Invalid`], so a user
//! fixes all of them in one pass (cargo-deny's habit). Nothing here panics on any input.

use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::checks::value_checks;
use super::model::ManifestFile;
use super::options::LoadOptions;
use super::resolve::resolve;
use super::{Kind, Manifest, compose, kube_gather};
use crate::document::{
    Document, LoadError, Problem, Schema, check_parsed, parse_document, parse_document_each,
    parse_document_pruned, read_on, read_text,
};

/// The manifest's JSON Schema, as committed (a test keeps it equal to the one generated from the types).
pub const SCHEMA_TEXT: &str = include_str!("../../schemas/deploy.schema.json");

/// Reads and resolves the input at `path` (`-`: standard input): a deploy manifest, or a Compose file
/// read into one, whichever its content is (see [`Kind::detect`]) unless `opts.kind` says.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<(Manifest, Document), LoadError> {
    if path.is_dir() {
        return load_dir(path, opts).map(finish);
    }
    let (name, text) = read_text(path, &opts.limits.input)?;
    let dir = match path.parent() {
        Some(d) if path.as_os_str() != "-" && !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    load_in(&name, text, &dir, opts)
}

/// The manifest with what the files of its document (every file read for it) say besides their
/// values: keys written twice, and `# preflight: ignore` comments (once, for the whole input).
pub(crate) fn finish((mut m, doc): (Manifest, Document)) -> (Manifest, Document) {
    m.ignores
        .retain(|i| matches!(i.scope, super::IgnoreScope::Object(_)));
    super::ignores::add_comments(&mut m, &doc);
    let files = std::iter::once(&doc).chain(doc.parts.iter()).enumerate();
    m.duplicates = files
        .flat_map(|(k, d)| {
            d.map
                .duplicates()
                .iter()
                .map(move |(later, earlier)| super::Duplicate {
                    key: later.rsplit('.').next().unwrap_or(later).to_owned(),
                    path: Document::part_path(k, later),
                    earlier: Document::part_path(k, earlier),
                })
        })
        .collect();
    (m, doc)
}

/// [`load`] on text: `name` is what messages call it, `dir` the project directory (where a Compose
/// file's `.env` is looked for).
pub fn load_in(
    name: &str,
    text: String,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    // Before the content is known, a file that can't be parsed is named by `--kind` or its name.
    let what = match opts.kind {
        Some(Kind::Compose) => "compose",
        Some(Kind::Kubernetes) => "kubernetes",
        Some(Kind::Deploy) => "manifest",
        None if Kind::compose_name(name) => "compose",
        None => "manifest",
    };
    // Kubernetes files are streams of documents; the others are one document. A file of several
    // documents is Kubernetes unless `--kind` says otherwise (and then the single-document parse says
    // what is wrong).
    let several = opts.kind.is_none() && Kind::several_documents(&text);
    if opts.kind == Some(Kind::Kubernetes) || several {
        return load_stream(name, text, what, opts).map(finish);
    }
    // Values no reader looks at are dropped as parsed (a Compose service's image, environment, …;
    // see `compose::fields::prunable`): the key stays, so a deploy manifest still reports it.
    let (value, doc) = parse_document_pruned(
        name,
        text,
        &opts.limits.input,
        what,
        compose::fields::prunable,
    )?;
    let kind = opts.kind.unwrap_or_else(|| Kind::detect(&value));
    let loaded = match kind {
        Kind::Deploy => load_deploy(value, doc, dir, opts),
        Kind::Compose => load_compose(value, doc, dir, opts),
        Kind::Kubernetes => {
            // One document (a stream went to `load_stream`).
            let mut into = kube_gather::Gathered::default();
            let mut reader = kube_gather::FileReader::new(0, opts);
            reader.single(&mut into, &value);
            drop(value);
            kube_result(into, reader, doc)
        }
    };
    loaded.map(finish)
}

/// A stream of Kubernetes documents, each read as the parser finishes it and dropped before the next
/// is built (see [`kube_gather`]).
fn load_stream(
    name: &str,
    text: String,
    what: &'static str,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    let mut into = kube_gather::Gathered::default();
    let mut reader = kube_gather::FileReader::new(0, opts);
    let doc = parse_document_each(name, text, &opts.limits.input, what, &mut |v| {
        reader.next(&mut into, v)
    })?;
    kube_result(into, reader, doc)
}

/// The manifest of a Kubernetes file read by `reader`, or its problems.
fn kube_result(
    mut into: kube_gather::Gathered,
    reader: kube_gather::FileReader<'_>,
    doc: Document,
) -> Result<(Manifest, Document), LoadError> {
    match reader.finish(&mut into, &doc.map, &doc.text) {
        Ok(()) => Ok((into.manifest(), doc)),
        Err((_, problems)) => {
            let Document {
                name, text, map, ..
            } = doc;
            Err(LoadError::invalid("kubernetes", &name, text, map, problems))
        }
    }
}

/// A directory of Kubernetes manifests: every `*.yaml`, `*.yml` and `*.json` file in it (not in
/// subdirectories, as `kubectl apply -f DIR`), in name order, read as one input whose first file is
/// the document and the others its parts.
fn load_dir(dir: &Path, opts: &LoadOptions) -> Result<(Manifest, Document), LoadError> {
    let io = |source| LoadError::Io {
        file: dir.display().to_string(),
        source,
    };
    if matches!(opts.kind, Some(Kind::Deploy | Kind::Compose)) {
        return Err(io(std::io::Error::other(
            "a directory is read as Kubernetes manifests; give deploy manifests and Compose files one by one",
        )));
    }
    if let Some(r) = super::render::Renderer::of(dir) {
        return load_rendered(dir, r, opts);
    }
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(io(std::io::Error::other(
            "no *.yaml, *.yml or *.json file in this directory",
        )));
    }
    load_kubernetes_files(&files, opts)
}

/// A Helm chart or kustomization rendered by its tool (see [`super::render`]), read as Kubernetes
/// manifests.
pub fn load_rendered(
    dir: &Path,
    r: super::render::Renderer,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    let (name, text) = super::render::render(dir, r)?;
    let mut sub = opts.clone();
    sub.kind = Some(Kind::Kubernetes);
    load_in(&name, text, dir, &sub)
}

/// Kubernetes manifests in several files, read as one input whose first file is the document and the
/// others its parts.
pub fn load_kubernetes_files(
    files: &[std::path::PathBuf],
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    let io = |source| LoadError::Io {
        file: files
            .first()
            .map(|f| f.display().to_string())
            .unwrap_or_default(),
        source,
    };
    // Each file is read as it is parsed. The first file with problems is reported, after every file
    // has been parsed: a YAML error in any file comes first, as when the files were parsed whole.
    let mut into = kube_gather::Gathered::default();
    let mut docs = Vec::with_capacity(files.len());
    let mut failed = None;
    for (index, f) in files.iter().enumerate() {
        let (name, text) = read_text(f, &opts.limits.input)?;
        let mut reader = kube_gather::FileReader::new(index, opts);
        let doc = parse_document_each(&name, text, &opts.limits.input, "kubernetes", &mut |v| {
            reader.next(&mut into, v)
        })?;
        if failed.is_none()
            && let Err(e) = reader.finish(&mut into, &doc.map, &doc.text)
        {
            failed = Some(e);
        }
        docs.push(doc);
    }
    let mut docs = docs.into_iter();
    match failed {
        None => match docs.next() {
            Some(mut first) => {
                first.parts = docs.collect();
                Ok((into.manifest(), first))
            }
            None => Err(io(std::io::Error::other("no file read"))),
        },
        Some((k, problems)) => match docs.nth(k) {
            Some(Document {
                name, text, map, ..
            }) => Err(LoadError::invalid("kubernetes", &name, text, map, problems)),
            None => Err(io(std::io::Error::other("no file read"))),
        },
    }
}

/// A Compose file read into a manifest: a project of its own, with the files its services
/// `extends` and the projects it `include`s (see [`compose::project`]).
fn load_compose(
    value: Value,
    doc: Document,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    compose::project::project(vec![(value, doc)], dir, opts)
}

/// Several Compose files merged into one project, as `docker compose -f A -f B` merges them: the
/// first file is the document, the others its parts; `.env` is read beside the first.
pub fn load_compose_files(
    paths: &[std::path::PathBuf],
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    let dir = match paths.first().and_then(|p| p.parent()) {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    compose::project::load_files(paths, &dir, opts).map(finish)
}

/// Resolves a manifest from text; `name` is what messages call the file.
///
/// Every problem of the file comes back in one error, like cargo-deny and rustc: schema problems, the
/// checks the schema can't express, and what only resolution finds (a `${VAR}` with a bad default, a
/// bind that is no address). Values the schema already refused are left out (their entry, or the entry
/// holding them) so the rest of the file still resolves; nothing is reported twice.
pub fn load_str(
    name: &str,
    text: String,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    let (value, doc) = parse_document(name, text, &opts.limits.input, "manifest")?;
    load_deploy(value, doc, Path::new("."), opts).map(finish)
}

/// A parsed deploy manifest validated and resolved.
/// Its `include:` files are read relative to `dir`, the manifest's directory.
fn load_deploy(
    value: Value,
    doc: Document,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    let Document {
        name, text, map, ..
    } = doc;
    let name = name.as_str();
    let read = |f: ManifestFile| {
        let include = f.include.clone();
        resolve(f, &map, opts).map(|m| (m, include))
    };
    // The schema check (with the checks it can't express: IANA port names, range order) and reading
    // the typed file run side by side: on a valid file, the usual case, the check only confirms what
    // was read. A file with problems is read again with the places at fault taken out.
    let (mut problems, typed) = rayon::join(
        || check_parsed(&value, &map, schema(), value_checks),
        || ManifestFile::deserialize(&value).map(read),
    );
    let resolved = if problems.is_empty() {
        crate::document::retire(value);
        match typed {
            Ok(r) => Some(r),
            Err(e) => {
                // The schema is generated from these types, so this is a schema/type mismatch.
                problems.push(Problem {
                    message: format!("invalid manifest: {e}"),
                    span: None,
                    label: String::new(),
                    help: None,
                    related: Vec::new(),
                    path: None,
                });
                None
            }
        }
    } else {
        drop(typed);
        read_on::<ManifestFile>(value, &problems).map(read)
    };
    match resolved {
        Some(Ok((mut manifest, include))) if problems.is_empty() => {
            let mut doc = Document::new(name.to_owned(), text, map);
            super::include::apply(&mut manifest, &mut doc, &include, dir, opts, &load)?;
            Ok((manifest, doc))
        }
        Some(Err(more)) => {
            let seen: Vec<_> = problems.iter().map(|p| p.span).collect();
            problems.extend(more.into_iter().filter(|p| !seen.contains(&p.span)));
            problems.sort_by_key(|p| p.span);
            Err(LoadError::invalid("manifest", name, text, map, problems))
        }
        _ => Err(LoadError::invalid("manifest", name, text, map, problems)),
    }
}

/// The manifest schema, compiled once.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new("manifest", SCHEMA_TEXT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        match load_str("t.yaml", text.to_owned(), &LoadOptions::default()) {
            Err(LoadError::Invalid { problems, .. }) => problems,
            Ok(_) => panic!("expected problems"),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    const HEAD: &str = "version: 1\ntarget: { platform: linux }\n";

    /// Services from `PARALLEL_SERVICES` on resolve in two halves side by side: every service, port,
    /// problem and interpolation of both halves comes back, in file order.
    #[test]
    fn large_manifests_resolve_in_halves_in_order() {
        let n = 3000;
        let service = |i: usize, bind: &str| {
            format!(
                "  s{i}:\n    ports:\n      http: {{ port: \"${{P{i}:-{}}}\", bind: {bind} }}\n",
                2000 + i
            )
        };
        let text = |bad: &[usize]| {
            let mut t = format!("{HEAD}services:\n");
            for i in 0..n {
                t.push_str(&service(
                    i,
                    if bad.contains(&i) {
                        "nowhere"
                    } else {
                        "127.0.0.1"
                    },
                ));
            }
            t
        };
        let (m, _) = load_str("t.yaml", text(&[]), &LoadOptions::default()).unwrap();
        let names: Vec<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
        let expected: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        assert_eq!(names, expected);
        let numbers: Vec<Option<u16>> = m.ports().map(|(_, p)| p.number).collect();
        let expected: Vec<Option<u16>> = (0..n).map(|i| Some(2000 + i as u16)).collect();
        assert_eq!(numbers, expected);
        assert_eq!(m.interpolations.len(), n);
        assert!(m.interpolations.contains_key("services.s0.ports.http.port"));
        assert!(
            m.interpolations
                .contains_key("services.s2999.ports.http.port")
        );

        let p = problems(&text(&[7, 2990]));
        let messages: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "\"nowhere\" is not an IP address",
                "\"nowhere\" is not an IP address"
            ]
        );
        assert!(p[0].span < p[1].span);
    }

    #[test]
    fn unknown_field_suggests() {
        let p = problems(&format!(
            "{HEAD}services:\n  a:\n    ports:\n      http: {{ port: 80, proto: tcp }}\n"
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message.contains("unknown field `proto`"),
            "{}",
            p[0].message
        );
        assert!(
            p[0].help
                .as_deref()
                .unwrap()
                .contains("did you mean `protocol`")
        );
    }

    #[test]
    fn port_values() {
        for (v, msg) in [
            ("0", "out of range"),
            ("70000", "out of range"),
            ("\"abc\"", "not a port number"),
            ("true", "not a port number"),
        ] {
            let p = problems(&format!(
                "{HEAD}services:\n  a:\n    ports:\n      http: {v}\n"
            ));
            assert!(p[0].message.contains(msg), "{v}: {p:?}");
        }
    }

    #[test]
    fn interpolated_port_with_bad_value_points_at_the_definition() {
        let p = problems(&format!(
            "{HEAD}environment: {{ P: abc }}\nservices:\n  a:\n    ports:\n      http: \"${{P}}\"\n"
        ));
        assert!(p[0].message.contains("not a port number"));
        assert_eq!(p[0].related.len(), 1);
    }

    #[test]
    fn resolves_defaults_and_order() {
        let (m, _) = load_str(
            "t.yaml",
            format!("{HEAD}environment: {{ P: 11001 }}\nservices:\n  z:\n    ports:\n      http: \"${{P}}\"\n  a:\n    ports:\n      m: {{ port: \"${{Q:-9}}\", bind: \"[::1]\" }}\n"),
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(m.services[0].name, "z");
        assert_eq!(m.services[0].ports[0].number, Some(11001));
        assert_eq!(m.services[1].ports[0].number, Some(9));
        assert_eq!(m.services[1].ports[0].bind.to_string(), "::1");
        assert_eq!(m.services[0].ports[0].bind.to_string(), "0.0.0.0");
    }
}
