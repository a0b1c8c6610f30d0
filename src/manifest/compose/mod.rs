//! Docker Compose files read into a [`Manifest`]: each published port becomes a port of its service,
//! with its place in the Compose file, so every rule and report works on it unchanged.
//!
//! What is read, as the Compose specification defines it: `services.*.ports` in the short and long
//! syntax ([`ports`]), `network_mode: host` (published ports are discarded; the container's ports are
//! the host's), `profiles` with `--profile` and `COMPOSE_PROFILES`, `deploy.replicas` and `scale`, and
//! interpolation of every value read ([`interpolate`]) from the process environment, `--env-file` or
//! `.env`. `expose` is container-only: not a host port, so not read. The target is implied: Docker's
//! host, Linux unless the host facts say otherwise, dockerd running as root (a rootless daemon is
//! described with a deploy manifest's `target`).
//!
//! The values preflight reads are interpolated and checked; elsewhere in the file only a
//! `${VAR:?message}` without a value is looked for, since Compose refuses the project for it.

pub(crate) mod fields;
pub(crate) mod interpolate;
pub(crate) mod merge;
pub(crate) mod ports;
pub(crate) mod project;
mod published;

use serde_json::Value;

use self::interpolate::{ComposeInterpolateError, ComposeVars, interpolate};
pub use self::merge::Files;
use self::merge::{ExtendsMap, Merged};
use super::options::ComposeOptions;
use super::{
    Ignored, Kind, Listen, LoadOptions, Manifest, Service, SharedNetwork, Target, Trace, Unread,
};
use crate::document::{Problem, SourceMap};
use crate::ports::{Platform, Protocol};

/// Reads parsed Compose files, merged in order (see [`merge`]), into a manifest. On problems, returns
/// the index of the first file that has them, with its problems. Each service's value is dropped
/// from `project` once the service is read (see [`Files`]).
pub fn resolve(
    project: &mut Files<'_>,
    extends: &ExtendsMap,
    vars: &ComposeVars,
    opts: &ComposeOptions,
    load: &LoadOptions,
    has_include: bool,
) -> Result<Manifest, (usize, Vec<Problem>)> {
    let maps: Vec<&SourceMap> = project.maps.clone();
    let mut r = Reader {
        maps: &maps,
        vars,
        problems: Vec::new(),
        trace: Trace::default(),
        ignored: Vec::new(),
        unread: Vec::new(),
    };
    // `COMPOSE_PROFILES` applies only when no `--profile` is given, as in Compose.
    let mut active: Vec<String> = opts.profiles.clone();
    if let Some(env) = vars
        .get("COMPOSE_PROFILES")
        .filter(|_| opts.profiles.is_empty())
    {
        active.extend(
            env.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    let files = project.view();
    let (names, bad) = merge::service_names(&files);
    // Owned: the values they would borrow from are dropped service by service below.
    let names: Vec<Box<str>> = names.into_iter().map(Box::from).collect();
    for p in bad {
        r.problem(&p.path, p.message, p.label, &p.help);
    }
    if !has_include && files.iter().all(|f| f.value.get("services").is_none()) {
        r.problem(
            "services",
            "a Compose file needs `services`".into(),
            "no services",
            "write `services:` followed by indented service names",
        );
    }
    if names.len() > load.limits.max_services {
        r.problem(
            "services",
            format!(
                "{} services, over the limit of {}",
                names.len(),
                load.limits.max_services
            ),
            "too many services",
            "split the project",
        );
    }
    for f in &files {
        r.required(&crate::document::Document::part_path(f.index, ""), f.value);
    }
    for f in files.iter().filter(|f| f.root) {
        for key in f.value.as_object().into_iter().flat_map(|o| o.keys()) {
            if let Some(why) = fields::unread(fields::TOP_LEVEL, key) {
                r.unread.push(Unread {
                    path: crate::document::Document::part_path(f.index, key),
                    message: format!("`{key}` is not read: {why}"),
                });
            }
        }
    }
    let mut services = Vec::with_capacity(names.len());
    // Each service is merged as it is read, then it and its parsed value are dropped: the next ones
    // are built in the memory they held. Services are read only while there is no problem; every
    // service is merged all the same, to find every `extends` cycle, then reported with the problems
    // found before reading (not with those of the services read before it, as when all were merged).
    let (read, bases) = (r.problems.is_empty(), merge::bases(extends));
    drop(files);
    let mut cycles = Vec::new();
    for name in &names {
        let files = project.view();
        let m = merge::merge_service(&files, extends, name, &mut cycles);
        if read && cycles.is_empty() {
            services.extend(r.service(name, &m, &active, load));
        }
        drop((m, files));
        project.drop_service(name, &bases);
    }
    if !cycles.is_empty() {
        if read {
            r.problems.clear();
        }
        for p in cycles {
            r.problem(&p.path, p.message, p.label, &p.help);
        }
    }
    if !r.problems.is_empty() {
        let first = r.problems.iter().map(|(k, _)| *k).min().unwrap_or(0);
        let mut problems: Vec<Problem> = r
            .problems
            .into_iter()
            .filter(|(k, _)| *k == first)
            .map(|(_, p)| p)
            .collect();
        problems.sort_by_key(|p| p.span);
        return Err((first, problems));
    }
    Ok(Manifest {
        kind: Kind::Compose,
        target: Target {
            platform: Platform::Linux,
            run_as: super::RunAs::Root,
            capabilities: Vec::new(),
            implied: true,
            container_runtime: None,
            node_port_range: super::DEFAULT_NODE_PORT_RANGE,
        },
        port_plan: Vec::new(),
        services,
        environment: Vec::new(),
        unresolved: r.trace.unresolved,
        interpolations: r.trace.interpolations,
        ignored: r.ignored,
        unread: r.unread,
        duplicates: Vec::new(),
        ignores: Vec::new(),
        kube_services: Vec::new(),
        kube_routes: Vec::new(),
        templates: Default::default(),
    })
}

struct Reader<'a> {
    /// The source maps of the project's files, by index.
    maps: &'a [&'a SourceMap],
    vars: &'a ComposeVars,
    /// Problems with the index of the file they are in.
    problems: Vec<(usize, Problem)>,
    trace: Trace,
    ignored: Vec<Ignored>,
    unread: Vec<Unread>,
}

/// A scalar of the file as Compose sees it before interpolation: strings, numbers and booleans as text.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Reader<'_> {
    fn problem(&mut self, path: &str, message: String, label: &str, help: &str) {
        let (k, local) = crate::document::Document::split_part(path);
        let span = self.maps.get(k).map(|m| m.span(local)).unwrap_or_default();
        self.problems.push((
            k,
            Problem::at(span, message, label).help(help).at_path(local),
        ));
    }

    /// Compose interpolates the whole file, so a `${VAR:?message}` whose variable has no value
    /// stops the project wherever it is written (`environment`, `image`, …): the same problem here,
    /// at its place, rather than a check of a project Compose would not start.
    fn required(&mut self, path: &str, v: &Value) {
        match v {
            Value::String(s) if s.contains('?') && s.contains("${") => {
                if let Err(e @ ComposeInterpolateError::Required { .. }) = interpolate(s, self.vars)
                {
                    self.problem(
                        path,
                        e.to_string(),
                        "required",
                        "set the variable in `.env`, an `--env-file` or the environment: Compose refuses the project without it",
                    );
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.required(&crate::document::join(path, &i.to_string()), item);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let p = if path.ends_with(':') || path.is_empty() {
                        format!("{path}{k}")
                    } else {
                        crate::document::join(path, k)
                    };
                    self.required(&p, item);
                }
            }
            _ => {}
        }
    }

    /// The interpolated text of the scalar at `path`; `None` (with a problem) when it can't be.
    fn text(&mut self, path: &str, v: &Value) -> Option<String> {
        let Some(raw) = scalar_text(v) else {
            self.problem(
                path,
                "expected a string or a number".into(),
                "not a scalar",
                "write a single value here",
            );
            return None;
        };
        if !raw.contains('$') {
            return Some(raw);
        }
        match interpolate(&raw, self.vars) {
            Ok(i) => {
                self.trace.record(path, &i);
                Some(i.text)
            }
            Err(e) => {
                let help = match e {
                    ComposeInterpolateError::Required { .. } => {
                        "set the variable in `.env`, an `--env-file` or the environment, or give the reference a default (`${VAR:-8080}`)"
                    }
                    _ => {
                        "write `$VAR`, `${VAR}` or `${VAR:-default}` (also `-`, `:?`, `?`, `:+`, `+`); `$$` is a literal `$`"
                    }
                };
                self.problem(path, e.to_string(), "interpolation", help);
                None
            }
        }
    }

    fn service(
        &mut self,
        name: &str,
        m: &Merged<'_>,
        active: &[String],
        load: &LoadOptions,
    ) -> Option<Service> {
        if let Some(path) = &m.not_a_mapping {
            self.problem(
                path,
                format!("service `{name}` must be a mapping"),
                "not a mapping",
                "write the service's fields (`image:`, `ports:`, …) indented under its name",
            );
            return None;
        }
        let mut names = Vec::new();
        for p in &m.profiles {
            names.extend(self.text(&p.path, p.value));
        }
        let on = names
            .iter()
            .any(|p| active.iter().any(|a| a == p || a == "*"));
        if !names.is_empty() && !on {
            return None;
        }
        let replicas = self.replicas(m)?;
        let mode = match &m.network_mode {
            Some(f) => self
                .text(&f.path, f.value)
                .map(|t| (t.trim().to_owned(), f.path.clone())),
            None => None,
        };
        let network_host = mode.as_ref().is_some_and(|(t, _)| t == "host");
        // `service:X` / `container:X`: the container joins X's network namespace.
        let mut network = mode
            .filter(|(t, _)| t.starts_with("service:") || t.starts_with("container:"))
            .map(|(t, path)| SharedNetwork {
                service: t.strip_prefix("service:").map(str::to_owned),
                mode: t,
                path,
                refused: Vec::new(),
            });
        self.unread_keys(name, m);
        // Sized to the entries (ranges add more): a Vec grown from empty holds room for four ports,
        // 540 unused bytes for the usual one (46 MB over the 84,840 services of the 10 MB benchmark).
        let mut out = Vec::with_capacity(m.ports.len());
        if let Some(list) = &m.ports_list {
            if !list.value.is_array() {
                self.problem(
                    &list.path,
                    "`ports` must be a list".into(),
                    "not a list",
                    "write each port as a list item: `- \"8080:80\"`",
                );
                return None;
            }
            if m.ports.len() > load.limits.max_ports_per_service {
                self.problem(
                    &list.path,
                    format!(
                        "{} ports, over the limit of {} for one service",
                        m.ports.len(),
                        load.limits.max_ports_per_service
                    ),
                    "too many ports",
                    "split the service",
                );
                return None;
            }
        }
        for item in &m.ports {
            self.port(&item.path, item.value, network_host, &mut out);
            // Ranges expand: stop at the limit rather than after building every port.
            if out.len() > load.limits.max_ports_per_service {
                break;
            }
        }
        if network_host && !m.ports.is_empty() {
            let at = m
                .network_mode
                .as_ref()
                .map_or(m.path.clone(), |f| f.path.clone());
            self.ignored.push(Ignored {
                path: at,
                message: format!(
                    "`{name}` uses `network_mode: host`: Docker discards its published ports; the container's own ports are the host's"
                ),
                help: "remove `ports:` (preflight checks the container ports as host ports), or drop `network_mode: host` to publish them".into(),
            });
        }
        if replicas == 0 {
            return None;
        }
        // What the container listens on in its own namespace: the container side of its ports,
        // and `expose`.
        // Sized to what it will hold (a `collect` through `filter_map` keeps room for four: 96
        // bytes a service too many, 8 MB of a 10 MB Compose file).
        let mut listens: Vec<Listen> = Vec::with_capacity(out.len() + m.expose.len());
        listens.extend(out.iter().filter_map(|p| {
            Some(Listen {
                number: p.target?,
                protocol: p.protocol,
                path: p.path.clone(),
                published: true,
            })
        }));
        for e in &m.expose {
            listens.extend(self.expose(&e.path, e.value));
        }
        listens.shrink_to_fit();
        // Docker refuses to publish ports of a container in another's namespace: they are not
        // listeners of the host.
        if let Some(n) = &mut network {
            for p in out.drain(..) {
                if !n.refused.contains(&p.path) {
                    n.refused.push(p.path);
                }
            }
            // `expose` is refused too ("conflicting options: port exposing and the container
            // type network mode").
            n.refused.extend(m.expose.iter().map(|e| e.path.clone()));
        }
        if out.len() > load.limits.max_ports_per_service {
            self.problem(
                &m.path,
                format!(
                    "{} published ports after expanding ranges, over the limit of {}",
                    out.len(),
                    load.limits.max_ports_per_service
                ),
                "too many ports",
                "publish smaller ranges",
            );
            return None;
        }
        Some(Service {
            name: name.to_owned(),
            team: None,
            description: None,
            runtime: super::Runtime::Other,
            socket: Default::default(),
            ports: out,
            path: m.path.clone(),
            replicas,
            pod: None,
            network: network.map(Box::new),
            listens,
        })
    }

    /// One `expose` entry (`3000`, `"3000-3005"`, `"53/udp"`): the container ports it declares.
    fn expose(&mut self, path: &str, v: &Value) -> Vec<Listen> {
        let Some(t) = self.text(path, v) else {
            return Vec::new();
        };
        let (spec, proto) = t.trim().rsplit_once('/').unwrap_or((t.trim(), "tcp"));
        let protocol = match proto.to_ascii_lowercase().as_str() {
            "tcp" | "" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            _ => return Vec::new(),
        };
        match ports::range(spec, "exposed port") {
            Ok(r) => (r.start..=r.end)
                .take(1024)
                .map(|number| Listen {
                    number,
                    protocol,
                    path: path.to_owned(),
                    published: false,
                })
                .collect(),
            Err(e) => {
                self.problem(
                    path,
                    e.to_string(),
                    "bad port",
                    "write a container port (1-65535), a range `3000-3005`, or `53/udp`",
                );
                Vec::new()
            }
        }
    }

    /// Records the keys of a service that may shape its ports but that preflight does not read.
    fn unread_keys(&mut self, name: &str, m: &Merged<'_>) {
        for keys in &m.keys {
            for key in &keys.names {
                if let Some(why) = fields::unread(fields::SERVICE, key) {
                    self.unread.push(Unread {
                        path: crate::document::join(&keys.service, key),
                        message: format!("`{name}`: `{key}` is not read: {why}"),
                    });
                }
            }
        }
    }

    /// `deploy.replicas`, else `scale`, else 1.
    fn replicas(&mut self, m: &Merged<'_>) -> Option<u32> {
        if let (Some(r), Some(s)) = (&m.replicas, &m.scale) {
            let (a, b) = (self.text(&r.path, r.value)?, self.text(&s.path, s.value)?);
            if a.trim() != b.trim() {
                self.problem(
                    &s.path,
                    format!(
                        "`scale: {b}` and `deploy.replicas: {a}` differ, which Compose refuses"
                    ),
                    "inconsistent",
                    "keep one of them (`deploy.replicas` is the specification's)",
                );
                return None;
            }
        }
        let Some(f) = m.replicas.as_ref().or(m.scale.as_ref()) else {
            return Some(1);
        };
        let t = self.text(&f.path, f.value)?;
        match t.trim().parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.problem(
                    &f.path,
                    format!("{t:?} is not a number of replicas"),
                    "not a count",
                    "write a whole number such as `2`",
                );
                None
            }
        }
    }
}
