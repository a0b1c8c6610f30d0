//! Resolving a validated manifest: `${VAR}` interpolation, defaults applied, services and ports in file
//! order with the dotted path of each, and every problem that only resolution can find.

use std::net::IpAddr;

use super::interpolate::{Interpolated, VarSource, Variables, interpolate};
use super::model::{self, ManifestFile, PortEntry, PortSpec, PortValue};
use super::options::LoadOptions;
use super::{Manifest, PlanBlock, Port, Service, Target, Trace};
use crate::document::{Problem, SourceMap, Span, join};

struct Resolver<'a> {
    map: &'a SourceMap,
    vars: &'a Variables,
    problems: Vec<Problem>,
    trace: Trace,
}

impl Resolver<'_> {
    /// Interpolates the string at `path`; `None` when it is malformed (a problem is recorded).
    fn interpolate(&mut self, path: &str, s: &str) -> Option<Interpolated> {
        match interpolate(s, self.vars) {
            Ok(i) => {
                self.trace.record(path, &i);
                Some(i)
            }
            Err(e) => {
                self.problems.push(
                    Problem::at(self.map.span(path), e.to_string(), "bad reference")
                        .help("write `${VAR}` or `${VAR:-default}`; `$$` is a literal `$`"),
                );
                None
            }
        }
    }

    /// Labels pointing at the definitions of the variables an interpolated value used.
    fn var_labels(&self, i: &Interpolated) -> Vec<(Span, String)> {
        i.uses
            .iter()
            .filter_map(|u| match &u.source {
                Some(VarSource::Manifest(def)) => {
                    Some((self.map.span(def), format!("`{}` defined here", u.name)))
                }
                _ => None,
            })
            .collect()
    }

    fn origin(i: &Interpolated) -> String {
        let parts: Vec<String> = i
            .uses
            .iter()
            .map(|u| match &u.source {
                Some(VarSource::Process) => format!("`{}` from the process environment", u.name),
                Some(VarSource::Default) => format!("the default of `{}`", u.name),
                _ => format!("`{}`", u.name),
            })
            .collect();
        parts.join(", ")
    }

    fn port_number(&mut self, path: &str, value: &PortValue) -> Option<u16> {
        match value {
            PortValue::Number(n) => Some(*n),
            PortValue::Expr(s) => {
                let i = self.interpolate(path, s)?;
                if i.unresolved().next().is_some() {
                    return None;
                }
                let n = i.text.trim().parse::<u64>();
                if let Ok(n @ 1..=65535) = n {
                    return Some(n as u16);
                }
                // Said as a literal is: "port 99999 is out of range" / "… is not a port number".
                let (value, what, label) = match n {
                    Ok(n) => (
                        format!("port {n}"),
                        "which is out of range: ports are 1-65535",
                        "out of range",
                    ),
                    Err(_) => (
                        format!("{:?}", i.text),
                        "which is not a port number",
                        "not a port",
                    ),
                };
                // A default that is wrong is fixed in the manifest, not by setting the variable.
                let from_default = i
                    .uses
                    .iter()
                    .any(|u| matches!(u.source, Some(VarSource::Default)));
                let help = if from_default {
                    format!("change the default in `{s}` to a number from 1 to 65535")
                } else {
                    let names: Vec<String> =
                        i.uses.iter().map(|u| format!("`{}`", u.name)).collect();
                    format!("set {} to a number from 1 to 65535", names.join(", "))
                };
                let mut p = Problem::at(
                    self.map.span(path),
                    format!(
                        "`{s}` resolves to {value} (from {}), {what}",
                        Self::origin(&i)
                    ),
                    label,
                )
                .help(help);
                p.related = self.var_labels(&i);
                self.problems.push(p);
                None
            }
        }
    }

    fn bind(&mut self, path: &str, value: Option<&str>) -> IpAddr {
        let default = IpAddr::from([0, 0, 0, 0]);
        let Some(raw) = value else { return default };
        let (text, labels, origin) = if raw.contains('$') {
            let Some(i) = self.interpolate(path, raw) else {
                return default;
            };
            if i.unresolved().next().is_some() {
                return default;
            }
            let labels = self.var_labels(&i);
            let origin = format!(" (from {})", Self::origin(&i));
            (i.text, labels, origin)
        } else {
            (raw.to_owned(), Vec::new(), String::new())
        };
        let t = crate::ports::unbracket(text.trim());
        match t.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => {
                let hint = if t.eq_ignore_ascii_case("localhost") {
                    "use `127.0.0.1` (or `::1`): `bind` takes an address, not a host name"
                } else if t == "*" {
                    "use `0.0.0.0` (every IPv4 address) or `::` (every address)"
                } else {
                    "use an IPv4 or IPv6 address such as `0.0.0.0`, `127.0.0.1` or `::`"
                };
                let mut p = Problem::at(
                    self.map.span(path),
                    format!("{text:?}{origin} is not an IP address"),
                    "not an address",
                )
                .help(hint);
                p.related = labels;
                self.problems.push(p);
                default
            }
        }
    }
}

pub(super) fn resolve(
    file: ManifestFile,
    map: &SourceMap,
    opts: &LoadOptions,
) -> Result<Manifest, Vec<Problem>> {
    let mut vars = Variables::default();
    for (name, value) in &file.environment {
        vars.manifest
            .insert(name.clone(), (value.as_text(), join("environment", name)));
    }
    if opts.process_env {
        vars.process = Some(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        );
    }
    let mut r = Resolver {
        map,
        vars: &vars,
        problems: Vec::new(),
        trace: Trace::default(),
    };

    if file.services.len() > opts.limits.max_services {
        r.problems.push(
            Problem::at(
                map.span("services"),
                format!(
                    "{} services, over the limit of {}",
                    file.services.len(),
                    opts.limits.max_services
                ),
                "too many services",
            )
            .help("split the manifest into several files"),
        );
        return Err(r.problems);
    }

    let mut port_plan = Vec::new();
    for (team, text) in &file.port_plan {
        let path = join("port_plan", team);
        // `value_checks` has already refused ranges that do not parse.
        if let Ok(range) = text.0.parse() {
            port_plan.push(PlanBlock {
                team: team.clone(),
                range,
                path,
            });
        }
    }

    let mut capabilities: Vec<String> = file
        .target
        .capabilities
        .iter()
        .map(|c| c.canonical())
        .collect();
    capabilities.sort();
    capabilities.dedup();

    // Services resolve independently: a large manifest's halves resolve side by side (the schema
    // check beside them ends first and leaves a core free), each half's services, problems and
    // trace in file order, the first half's first.
    let mut first: Vec<(String, model::Service)> = file.services.into_iter().collect();
    let services = if first.len() >= PARALLEL_SERVICES {
        let second = first.split_off(first.len() / 2);
        let mut other = Resolver {
            map,
            vars: &vars,
            problems: Vec::new(),
            trace: Trace::default(),
        };
        let (mut a, b) = rayon::join(
            || services(&mut r, first, opts),
            || services(&mut other, second, opts),
        );
        a.extend(b);
        r.problems.append(&mut other.problems);
        r.trace.unresolved.append(&mut other.trace.unresolved);
        r.trace
            .interpolations
            .append(&mut other.trace.interpolations);
        a
    } else {
        services(&mut r, first, opts)
    };

    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    Ok(Manifest {
        kind: super::Kind::Deploy,
        target: Target {
            platform: file.target.platform,
            run_as: file.target.run_as,
            capabilities,
            implied: false,
            container_runtime: file.target.container_runtime,
            node_port_range: file
                .target
                .node_port_range
                .as_ref()
                .and_then(|t| t.0.parse().ok())
                .unwrap_or(super::DEFAULT_NODE_PORT_RANGE),
        },
        port_plan,
        services,
        environment: file.environment.keys().cloned().collect(),
        unresolved: r.trace.unresolved,
        interpolations: r.trace.interpolations,
        ignored: Vec::new(),
        unread: Vec::new(),
        duplicates: Vec::new(),
        ignores: Vec::new(),
        kube_services: Vec::new(),
        kube_routes: Vec::new(),
        templates: Default::default(),
    })
}

/// From this many services on, [`resolve`] resolves the two halves side by side.
const PARALLEL_SERVICES: usize = 2048;

/// Resolves `list`'s services in order, recording problems and interpolations in `r`.
fn services(
    r: &mut Resolver<'_>,
    list: Vec<(String, model::Service)>,
    opts: &LoadOptions,
) -> Vec<Service> {
    let mut out = Vec::with_capacity(list.len());
    for (name, svc) in list {
        let spath = join("services", &name);
        if svc.ports.len() > opts.limits.max_ports_per_service {
            r.problems.push(Problem::at(
                r.map.span(&join(&spath, "ports")),
                format!(
                    "{} ports, over the limit of {} for one service",
                    svc.ports.len(),
                    opts.limits.max_ports_per_service
                ),
                "too many ports",
            ));
            continue;
        }
        let mut ports = Vec::with_capacity(svc.ports.len());
        let ports_path = join(&spath, "ports");
        for (pname, entry) in svc.ports {
            let ppath = join(&ports_path, &pname);
            let spec = match entry {
                PortEntry::Short(v) => PortSpec {
                    port: v,
                    protocol: Default::default(),
                    bind: None,
                    expose: Default::default(),
                    purpose: None,
                },
                PortEntry::Full(s) => s,
            };
            let port_path = join(&ppath, "port");
            let number_path = if r.map.contains(&port_path) {
                port_path
            } else {
                ppath.clone()
            };
            let number = r.port_number(&number_path, &spec.port);
            let bind = r.bind(&join(&ppath, "bind"), spec.bind.as_deref());
            ports.push(Port {
                name: pname,
                number,
                protocol: spec.protocol,
                bind,
                expose: spec.expose,
                purpose: spec.purpose,
                path: ppath,
                number_path,
                target: None,
                pick: None,
                docker: false,
                container: None,
            });
        }
        out.push(Service {
            name,
            team: svc.team,
            description: svc.description,
            runtime: svc.runtime,
            socket: svc.socket.unwrap_or_default(),
            ports,
            path: spath,
            replicas: 1,
            pod: None,
            network: None,
            listens: Vec::new(),
        });
    }
    out
}
