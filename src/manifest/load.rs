//! Reading a manifest file: size limit, span-aware parse, schema validation, interpolation, resolution.
//!
//! Every problem is collected with its place and returned together in [`LoadError::Invalid`], so a user
//! fixes all of them in one pass (cargo-deny's habit). Nothing here panics on any input.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use super::interpolate::{Interpolated, VarSource, Variables, interpolate};
use super::model::{ManifestFile, PortEntry, PortSpec, PortValue};
use super::{Manifest, PlanBlock, Port, Service, Target, Unresolved};
use crate::document::{
    self, Document, LoadError, Problem, Schema, SourceMap, Span, join, parse_validated, read_text,
};

/// The manifest's JSON Schema, as committed (a test keeps it equal to the one generated from the types).
pub const SCHEMA_TEXT: &str = include_str!("../../schemas/deploy.schema.json");

/// Limits that keep hostile or accidental input from running away.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Limits of reading and parsing the file.
    pub input: document::Limits,
    /// Most services in one manifest.
    pub max_services: usize,
    /// Most ports in one service.
    pub max_ports_per_service: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            input: document::Limits::default(),
            max_services: 100_000,
            max_ports_per_service: 1_000,
        }
    }
}

/// How to load a manifest.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Let `${VAR}` see the process environment (`--env`); it then takes precedence over `environment:`.
    pub process_env: bool,
    /// Input limits.
    pub limits: Limits,
}

/// Reads and resolves the manifest at `path`.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<(Manifest, Document), LoadError> {
    let (name, text) = read_text(path, &opts.limits.input)?;
    load_str(&name, text, opts)
}

/// Resolves a manifest from text; `name` is what messages call the file.
pub fn load_str(
    name: &str,
    text: String,
    opts: &LoadOptions,
) -> Result<(Manifest, Document), LoadError> {
    // Checks the schema can't express (IANA port names, range order) run on the raw value too.
    let (value, doc) = parse_validated(name, text, &opts.limits.input, schema(), value_checks)?;
    let Document { name: _, text, map } = doc;
    let file: ManifestFile = match serde_json::from_value(value) {
        Ok(f) => f,
        Err(e) => {
            // The schema is generated from these types, so this is a schema/type mismatch; still no panic.
            let problem = Problem {
                message: format!("invalid manifest: {e}"),
                span: None,
                label: String::new(),
                help: None,
                related: Vec::new(),
            };
            return Err(LoadError::invalid(
                "manifest",
                name,
                text,
                map,
                vec![problem],
            ));
        }
    };
    match resolve(file, &map, opts) {
        Ok(manifest) => Ok((
            manifest,
            Document {
                name: name.to_owned(),
                text,
                map,
            },
        )),
        Err(problems) => Err(LoadError::invalid("manifest", name, text, map, problems)),
    }
}

/// The manifest schema, compiled once.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new("manifest", SCHEMA_TEXT))
}

/// Checks an IANA service name (Kubernetes `IsValidPortName`): at most 15 characters of `a-z0-9-`, at
/// least one letter, no leading, trailing or doubled hyphen.
fn port_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 15 {
        Some("must be 1 to 15 characters long")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("must contain only lowercase letters (a-z), digits (0-9) and hyphens (-)")
    } else if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        Some("must contain at least one letter (a-z)")
    } else if name.contains("--") {
        Some("must not contain consecutive hyphens")
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("must not begin or end with a hyphen")
    } else {
        None
    }
}

/// Problems found on the raw document that the schema cannot express: port names that break the IANA
/// service-name rules, and `port_plan` ranges that are backwards or out of bounds.
fn value_checks(value: &Value, map: &SourceMap) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(services) = value.get("services").and_then(Value::as_object) {
        for (sname, svc) in services {
            let Some(ports) = svc.get("ports").and_then(Value::as_object) else {
                continue;
            };
            for pname in ports.keys() {
                if let Some(why) = port_name_problem(pname) {
                    let path = join(&join(&join("services", sname), "ports"), pname);
                    problems.push(
                        Problem::at(map.key_span(&path).unwrap_or_else(|| map.span(&path)), format!("port name `{pname}` {why}"), "invalid port name")
                            .help("port names follow the IANA service-name rules that Kubernetes enforces, e.g. `http`, `metrics`, `grpc-web`"),
                    );
                }
            }
        }
    }
    if let Some(plan) = value.get("port_plan").and_then(Value::as_object) {
        for (team, range) in plan {
            let Some(text) = range.as_str() else { continue };
            if let Err(e) = text.parse::<crate::ports::PortRange>() {
                let path = join("port_plan", team);
                problems.push(
                    Problem::at(
                        map.span(&path),
                        format!("invalid block for team `{team}`: {e}"),
                        "invalid range",
                    )
                    .help("write the block as START-END, e.g. `11000-11999`"),
                );
            }
        }
    }
    problems
}

struct Resolver<'a> {
    map: &'a SourceMap,
    vars: Variables,
    problems: Vec<Problem>,
    unresolved: Vec<Unresolved>,
    interpolations: BTreeMap<String, Vec<super::interpolate::VarUse>>,
}

impl Resolver<'_> {
    /// Interpolates the string at `path`; `None` when it is malformed (a problem is recorded).
    fn interpolate(&mut self, path: &str, s: &str) -> Option<Interpolated> {
        match interpolate(s, &self.vars) {
            Ok(i) => {
                for name in i.unresolved() {
                    self.unresolved.push(Unresolved {
                        path: path.to_owned(),
                        name: name.to_owned(),
                    });
                }
                if !i.uses.is_empty() {
                    self.interpolations.insert(path.to_owned(), i.uses.clone());
                }
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
                match i.text.trim().parse::<u32>() {
                    Ok(n @ 1..=65535) => Some(n as u16),
                    _ => {
                        let mut p = Problem::at(
                            self.map.span(path),
                            format!(
                                "`{s}` resolves to {:?} (from {}), which is not a port number",
                                i.text,
                                Self::origin(&i)
                            ),
                            "not a port",
                        )
                        .help("set the variable to a number from 1 to 65535");
                        p.related = self.var_labels(&i);
                        self.problems.push(p);
                        None
                    }
                }
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
        let t = text.trim();
        let t = t
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(t);
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

fn resolve(
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
        vars,
        problems: Vec::new(),
        unresolved: Vec::new(),
        interpolations: BTreeMap::new(),
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

    let mut services = Vec::with_capacity(file.services.len());
    for (name, svc) in file.services {
        let spath = join("services", &name);
        if svc.ports.len() > opts.limits.max_ports_per_service {
            r.problems.push(Problem::at(
                map.span(&join(&spath, "ports")),
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
        for (pname, entry) in svc.ports {
            let ppath = join(&join(&spath, "ports"), &pname);
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
            let number_path = if map.contains(&join(&ppath, "port")) {
                join(&ppath, "port")
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
            });
        }
        services.push(Service {
            name,
            team: svc.team,
            description: svc.description,
            runtime: svc.runtime,
            socket: svc.socket.unwrap_or_default(),
            ports,
            path: spath,
        });
    }

    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    Ok(Manifest {
        target: Target {
            platform: file.target.platform,
            run_as: file.target.run_as,
            capabilities,
        },
        port_plan,
        services,
        environment: file.environment.keys().cloned().collect(),
        unresolved: r.unresolved,
        interpolations: r.interpolations,
    })
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
