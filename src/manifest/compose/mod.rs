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
//! Only the values preflight reads are interpolated and checked; a `${VAR:?message}` elsewhere in the
//! file, which Compose would refuse, is not seen.

pub(crate) mod interpolate;
pub(crate) mod merge;
pub(crate) mod ports;

use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use serde_json::Value;

use self::interpolate::{ComposeInterpolateError, ComposeVars, interpolate};
pub use self::merge::ComposeFile;
use self::merge::Merged;
use self::ports::{HostPort, Published};
use super::interpolate::VarSource;
use super::options::ComposeOptions;
use super::{Expose, Ignored, Kind, LoadOptions, Manifest, Port, Service, Target, Trace};
use crate::document::{Problem, SourceMap, join};
use crate::ports::{Platform, Protocol};

/// The variables of a Compose project in `dir`: `--env-file` files (or `dir/.env`), then the process
/// environment on top. Problems name the file and line of a line that can't be read.
pub fn variables(dir: &Path, opts: &ComposeOptions) -> Result<ComposeVars, String> {
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
        let text = std::fs::read_to_string(&f)
            .map_err(|e| format!("can't read the env file {}: {e}", f.display()))?;
        let name = f.display().to_string();
        let bad = vars.add_env_file(&name, &text, &env);
        if let Some(line) = bad.first() {
            return Err(format!(
                "{name}:{line}: not a `KEY=VALUE` line: write `KEY=VALUE` (comments start with `#`)"
            ));
        }
    }
    vars.extend(&env);
    Ok(vars)
}

/// Reads parsed Compose files, merged in order (see [`merge`]), into a manifest. On problems, returns
/// the index of the first file that has them, with its problems.
pub fn resolve(
    files: &[ComposeFile<'_>],
    vars: &ComposeVars,
    opts: &ComposeOptions,
    load: &LoadOptions,
) -> Result<Manifest, (usize, Vec<Problem>)> {
    let maps: Vec<&SourceMap> = files.iter().map(|f| f.map).collect();
    let mut r = Reader {
        maps: &maps,
        vars,
        problems: Vec::new(),
        trace: Trace::default(),
        ignored: Vec::new(),
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
    let (merged, bad) = merge::merge(files);
    for path in bad {
        r.problem(
            &path,
            "`services` must be a mapping of service names to services".into(),
            "not a mapping",
            "write `services:` followed by indented service names",
        );
    }
    if files.iter().all(|f| f.value.get("services").is_none()) {
        r.problem(
            "services",
            "a Compose file needs `services`".into(),
            "no services",
            "write `services:` followed by indented service names",
        );
    }
    if merged.len() > load.limits.max_services {
        r.problem(
            "services",
            format!(
                "{} services, over the limit of {}",
                merged.len(),
                load.limits.max_services
            ),
            "too many services",
            "split the project",
        );
    }
    let mut services = Vec::new();
    if r.problems.is_empty() {
        for (name, m) in &merged {
            if let Some(s) = r.service(name, m, &active, load) {
                services.push(s);
            }
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
        kube_services: Vec::new(),
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
        let network_host = match &m.network_mode {
            Some(f) => self.text(&f.path, f.value).as_deref() == Some("host"),
            None => false,
        };
        let mut out = Vec::new();
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
        })
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

    /// One entry of `ports`, short or long, into `out`.
    fn port(&mut self, ipath: &str, item: &Value, network_host: bool, out: &mut Vec<Port>) {
        let (entries, name, number_path) = match item {
            Value::Object(long) => match self.long(ipath, long) {
                Some((p, name, np)) => (vec![p], name, np),
                None => return,
            },
            v => {
                let Some(text) = self.text(ipath, v) else {
                    return;
                };
                let written = scalar_text(v).unwrap_or_default();
                match ports::parse_short(&text) {
                    Ok(list) => (list, written.trim().to_owned(), ipath.to_owned()),
                    Err(e) => {
                        self.problem(
                            ipath,
                            format!("{text:?}: {e}"),
                            "bad port",
                            "write `[HOST_IP:][HOST:]CONTAINER[/PROTOCOL]`, e.g. \"127.0.0.1:8080:80\" or \"8080:80/udp\"",
                        );
                        return;
                    }
                }
            }
        };
        for p in entries {
            let protocol = match p.protocol.as_str() {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                _ => {
                    self.ignored.push(Ignored {
                        path: ipath.to_owned(),
                        message: format!(
                            "`{name}` is an SCTP port: preflight checks TCP and UDP ports only"
                        ),
                        help: "check SCTP ports by hand (`ss -Sln`)".into(),
                    });
                    continue;
                }
            };
            let every = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
            let (number, pick, bind) = if network_host {
                (Some(p.target), None, every)
            } else {
                let bind = p.host_ip.unwrap_or(every);
                match p.host {
                    HostPort::Any => (None, None, bind),
                    HostPort::Fixed(n) => (Some(n), None, bind),
                    HostPort::OneOf(r) => (None, Some(r), bind),
                }
            };
            let expose = if crate::ports::is_loopback(bind) {
                Expose::Local
            } else {
                Expose::Public
            };
            out.push(Port {
                name: name.clone(),
                number,
                protocol,
                bind,
                expose,
                purpose: None,
                path: ipath.to_owned(),
                number_path: number_path.clone(),
                target: Some(p.target),
                pick,
                docker: !network_host,
                container: None,
            });
        }
    }

    /// The long syntax: `target` (required), `published`, `host_ip`, `protocol`, `mode`, `name`.
    fn long(
        &mut self,
        ipath: &str,
        long: &serde_json::Map<String, Value>,
    ) -> Option<(Published, String, String)> {
        let field = |k: &str| join(ipath, k);
        let Some(target_v) = long.get("target") else {
            self.problem(
                ipath,
                "a port in the long syntax needs `target`, the container port".into(),
                "no target",
                "add `target: 80` (the port the container listens on)",
            );
            return None;
        };
        let tpath = field("target");
        let t = self.text(&tpath, target_v)?;
        let target = match ports::number(&t, "container port") {
            Ok(n) => n,
            Err(e) => {
                self.problem(&tpath, e, "bad port", "write the container port, 1-65535");
                return None;
            }
        };
        let mut host = HostPort::Any;
        if let Some(v) = long.get("published") {
            let ppath = field("published");
            let t = self.text(&ppath, v)?;
            if !t.trim().is_empty() {
                match ports::range(&t, "published port") {
                    Ok(r) if r.start == r.end => host = HostPort::Fixed(r.start),
                    Ok(r) => host = HostPort::OneOf(r),
                    Err(e) => {
                        self.problem(
                            &ppath,
                            e,
                            "bad port",
                            "write a host port (1-65535) or a range `8000-8010`",
                        );
                        return None;
                    }
                }
            }
        }
        let mut host_ip = None;
        if let Some(v) = long.get("host_ip") {
            let hpath = field("host_ip");
            let t = self.text(&hpath, v)?;
            match crate::ports::unbracket(t.trim()).parse::<IpAddr>() {
                Ok(ip) => host_ip = Some(ip),
                Err(_) => {
                    self.problem(
                        &hpath,
                        format!("{t:?} is not an IP address"),
                        "not an address",
                        "use an address such as `127.0.0.1` or `::1`",
                    );
                    return None;
                }
            }
        }
        let mut protocol = "tcp".to_owned();
        if let Some(v) = long.get("protocol") {
            let ppath = field("protocol");
            let t = self.text(&ppath, v)?.to_ascii_lowercase();
            if let Err(e) = ports::protocol_ok(&t) {
                self.problem(&ppath, e, "bad protocol", "use tcp, udp or sctp");
                return None;
            }
            protocol = t;
        }
        let name = match long.get("name").and_then(scalar_text) {
            Some(n) => n,
            None => match host {
                HostPort::Fixed(n) => format!("{n}:{target}/{protocol}"),
                HostPort::OneOf(r) => format!("{}-{}:{target}/{protocol}", r.start, r.end),
                HostPort::Any => format!("{target}/{protocol}"),
            },
        };
        let number_path = if long.contains_key("published") {
            field("published")
        } else {
            tpath
        };
        Some((
            Published {
                host_ip,
                host,
                target,
                protocol,
            },
            name,
            number_path,
        ))
    }
}
