//! Kubernetes files read document by document into one manifest.
//!
//! A stream is read as it is parsed: [`FileReader::document`] takes each document the parser hands
//! over, keeps what the manifest needs of it and drops it before the next one is built, so a 10 MB
//! stream's value (about ten times its text) is never held whole. The problems found on the way get
//! their spans in [`FileReader::finish`], once the file's source map is complete. The files of a
//! directory are read one after the other into one [`Gathered`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::kube_stream::{helm_sources, objects};
use super::kubernetes::Reader;
use super::{Ignored, InlineIgnore, KubeRoute, Unread};
use super::{Kind, KubeService, LoadOptions, Manifest, RunAs, Service, Target};
use crate::document::{Document, Problem, SourceMap};
use crate::ports::Platform;

/// What the files of one input give, gathered as their documents are read.
#[derive(Default)]
pub struct Gathered {
    services: Vec<Service>,
    kube_services: Vec<KubeService>,
    kube_routes: Vec<KubeRoute>,
    unread: Vec<Unread>,
    ignores: Vec<InlineIgnore>,
    ignored: Vec<Ignored>,
    templates: BTreeMap<String, String>,
}

/// The documents of one file, read one at a time into a [`Gathered`].
pub struct FileReader<'l> {
    index: usize,
    prefix: String,
    load: &'l LoadOptions,
    reader: Reader,
    /// Documents read (a stream's; their paths are their indices).
    documents: usize,
    /// Whether the workloads went over the limit (the reading stopped there).
    too_many: bool,
}

impl<'l> FileReader<'l> {
    /// A reader for the file at `index` of its document (0: the document, k: part k).
    pub fn new(index: usize, load: &'l LoadOptions) -> Self {
        FileReader {
            index,
            prefix: Document::part_path(index, ""),
            load,
            reader: Reader::default(),
            documents: 0,
            too_many: false,
        }
    }

    /// The next document of a stream (its path is its index), taken and dropped once read. Past the
    /// workload limit documents are only counted ([`FileReader::finish`] reports the limit; the parse
    /// goes on, so a YAML error further on is still the one reported).
    pub fn next(&mut self, into: &mut Gathered, doc: Value) {
        let dpath = self.documents.to_string();
        self.documents += 1;
        if !self.too_many {
            self.document(into, &dpath, &doc);
        }
    }

    /// The document of a file of one document.
    pub fn single(&mut self, into: &mut Gathered, doc: &Value) {
        self.document(into, "", doc);
    }

    /// One document at `dpath` (`""` for a file of one document).
    fn document(&mut self, into: &mut Gathered, dpath: &str, doc: &Value) {
        let r = &mut self.reader;
        for (path, obj) in objects(dpath, doc) {
            let path = format!("{}{path}", self.prefix);
            let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
            into.kube_routes
                .extend(super::kube_routes::routes(&path, obj, kind));
            into.ignores.extend(super::ignores::annotations(&path, obj));
            if kind == "Service" {
                if let Some(s) = r.service(&path, obj) {
                    into.unread
                        .extend(super::kube_fields::unread_service(&path, obj, &s.name));
                    into.kube_services.push(s);
                }
            } else if let Some(s) = r.workload(&path, obj, kind) {
                let node_ports = s.ports.iter().any(|p| p.node_port(&s).is_some());
                into.unread.extend(super::kube_fields::unread_workload(
                    &path, obj, kind, &s.name, node_ports,
                ));
                into.services.push(s);
            }
            if into.services.len() > self.load.limits.max_services {
                self.too_many = true;
                return;
            }
        }
    }

    /// After the file's last document, with its complete source map: the problems (each placed by
    /// its path) or, for a stream's documents, the Helm templates they came from. On problems, the
    /// file's index with them.
    pub fn finish(
        self,
        into: &mut Gathered,
        map: &SourceMap,
        text: &str,
    ) -> Result<(), (usize, Vec<Problem>)> {
        if self.too_many {
            return Err((
                self.index,
                vec![Problem::at(
                    map.span(""),
                    format!("over {} workloads", self.load.limits.max_services),
                    "too many workloads",
                )],
            ));
        }
        let Reader { problems, ignored } = self.reader;
        if !problems.is_empty() {
            let mut problems: Vec<Problem> = problems
                .into_iter()
                .map(|(local, mut p)| {
                    p.span = Some(map.span(&local));
                    p
                })
                .collect();
            problems.sort_by_key(|p| p.span);
            return Err((self.index, problems));
        }
        into.ignored.extend(ignored);
        // Only a stream's documents (read by `next`) have starts; a file of one document has none.
        if self.documents > 0 {
            let starts: Vec<(String, usize)> = (0..self.documents)
                .map(|i| {
                    let p = i.to_string();
                    let at = map.span(&p).offset;
                    (format!("{}{p}", self.prefix), at)
                })
                .collect();
            into.templates.extend(helm_sources(text, &starts));
        }
        Ok(())
    }
}

impl Gathered {
    /// The manifest of everything gathered.
    pub fn manifest(self) -> Manifest {
        let Gathered {
            mut services,
            kube_services,
            kube_routes,
            unread,
            ignores,
            ignored,
            templates,
        } = self;
        // Names are `NAME`, or `NAMESPACE/KIND/NAME` where one name is used in several namespaces or
        // kinds.
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for s in &services {
            *counts.entry(s.name.clone()).or_default() += 1;
        }
        for s in &mut services {
            if counts[&s.name] > 1
                && let Some(pod) = &s.pod
            {
                s.name = format!(
                    "{}/{}/{}",
                    pod.namespace.as_deref().unwrap_or("default"),
                    pod.kind,
                    s.name
                );
            }
        }
        Manifest {
            kind: Kind::Kubernetes,
            target: Target {
                platform: Platform::Kubernetes,
                run_as: RunAs::User,
                capabilities: Vec::new(),
                implied: false,
                container_runtime: None,
                node_port_range: super::DEFAULT_NODE_PORT_RANGE,
            },
            port_plan: Vec::new(),
            services,
            environment: Vec::new(),
            unresolved: Vec::new(),
            interpolations: BTreeMap::new(),
            ignored,
            unread,
            duplicates: Vec::new(),
            ignores,
            kube_services,
            kube_routes,
            templates,
        }
    }
}
