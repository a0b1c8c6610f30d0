//! Checks of a manifest's raw value that its JSON Schema can't express: IANA port names and the order
//! of a range's ends. They run with the schema, so every problem is reported in one pass.

use serde_json::Value;

use crate::document::{Problem, SourceMap, join};

/// Checks an IANA service name (Kubernetes `IsValidPortName`): at most 15 characters of `a-z0-9-`, at
/// least one letter, no leading, trailing or doubled hyphen.
pub(crate) fn port_name_problem(name: &str) -> Option<&'static str> {
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
pub(super) fn value_checks(value: &Value, map: &SourceMap) -> Vec<Problem> {
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
                            .help("port names follow the IANA service-name rules that Kubernetes enforces, e.g. `http`, `metrics`, `grpc-web`")
                            .at_path(path),
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
                    .help("write the block as START-END, e.g. `11000-11999`")
                    .at_path(path),
                );
            }
        }
    }
    if let Some(text) = value
        .get("target")
        .and_then(|t| t.get("node_port_range"))
        .and_then(Value::as_str)
        && let Err(e) = text.parse::<crate::ports::PortRange>()
    {
        let path = "target.node_port_range";
        problems.push(
            Problem::at(
                map.span(path),
                format!("invalid NodePort range: {e}"),
                "invalid range",
            )
            .help("write the range as START-END, e.g. `30000-32767`")
            .at_path(path),
        );
    }
    problems
}
