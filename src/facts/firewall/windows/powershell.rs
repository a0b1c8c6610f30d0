//! PowerShell: the JSON export of rules and profiles, and `Get-NetConnectionProfile` as it prints.

use serde_json::Value;

use super::{NetworkProfile, WinProfile, WinRule, local_ports, profile_of_category, profiles_of};
use crate::facts::parse::CaptureError;

/// `Get-NetConnectionProfile` as PowerShell prints it: one `Key : Value` block per connection; the
/// `InterfaceAlias` and `NetworkCategory` of each. Prompts and other lines around it are passed over.
pub fn connection_profiles(text: &str) -> Result<Vec<NetworkProfile>, CaptureError> {
    let mut out = Vec::new();
    let mut interface: Option<String> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_end_matches('\r').trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "InterfaceAlias" => interface = Some(value.trim().to_owned()),
            "NetworkCategory" => {
                let Some(profile) = profile_of_category(value) else {
                    return Err(CaptureError {
                        line: i + 1,
                        message: format!(
                            "unknown NetworkCategory {:?}: expected Public, Private or DomainAuthenticated",
                            value.trim()
                        ),
                    });
                };
                out.push(NetworkProfile {
                    interface: interface.take().unwrap_or_default(),
                    profile: profile.to_owned(),
                });
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(CaptureError {
            line: 1,
            message: "no `NetworkCategory : …` line: is this `Get-NetConnectionProfile` output?"
                .into(),
        });
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn enum_text(v: &Value, numeric: &[(i64, &str)]) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let i = n.as_i64().unwrap_or(-1);
            numeric
                .iter()
                .find(|(k, _)| *k == i)
                .map_or_else(|| i.to_string(), |(_, s)| (*s).to_owned())
        }
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        _ => String::new(),
    }
}

fn list_text(v: &Value) -> String {
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| enum_text(x, &[]))
            .collect::<Vec<_>>()
            .join(","),
        other => enum_text(other, &[]),
    }
}

/// The PowerShell export (see the README): `{"Rules":[{Name, DisplayName, Enabled, Direction, Action,
/// Profile, Protocol, LocalPort, RemoteAddress, Program, Service}], "Profiles":[{Name, Enabled,
/// DefaultInboundAction}]}`, or just the rules array. Enums may be names or the numbers `ConvertTo-Json`
/// writes by default.
pub fn powershell(text: &str) -> Result<(Vec<WinRule>, Vec<WinProfile>), CaptureError> {
    let v: Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| CaptureError {
            line: e.line(),
            message: format!("not JSON: {e}"),
        })?;
    let (rules_v, profiles_v) = match &v {
        Value::Array(_) => (v.clone(), Value::Null),
        Value::Object(o) => (
            o.get("Rules").cloned().unwrap_or(Value::Null),
            o.get("Profiles").cloned().unwrap_or(Value::Null),
        ),
        _ => {
            return Err(CaptureError {
                line: 1,
                message: "expected an array of rules or {\"Rules\": …, \"Profiles\": …}".into(),
            });
        }
    };
    let as_list = |v: Value| match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        one => vec![one], // ConvertTo-Json writes a single object without brackets
    };
    let mut rules = Vec::new();
    for r in as_list(rules_v) {
        let direction = enum_text(&r["Direction"], &[(1, "Inbound"), (2, "Outbound")]);
        if !direction.is_empty() && !direction.eq_ignore_ascii_case("Inbound") {
            continue;
        }
        let profile = enum_text(
            &r["Profile"],
            &[
                (0, "Any"),
                (1, "Domain"),
                (2, "Private"),
                (3, "Domain,Private"),
                (4, "Public"),
                (5, "Domain,Public"),
                (6, "Private,Public"),
                (7, "Any"),
            ],
        );
        let mut scope = Vec::new();
        let remote = list_text(&r["RemoteAddress"]);
        if !remote.is_empty() && !remote.eq_ignore_ascii_case("any") {
            scope.push(format!("remote {remote}"));
        }
        for (key, label) in [("Program", "program"), ("Service", "service")] {
            let p = list_text(&r[key]);
            if !p.is_empty() && !p.eq_ignore_ascii_case("any") {
                scope.push(format!("{label} {p}"));
            }
        }
        let name = [&r["DisplayName"], &r["Name"]]
            .iter()
            .find_map(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        rules.push(WinRule {
            name,
            enabled: enum_text(&r["Enabled"], &[(1, "True"), (2, "False")])
                .eq_ignore_ascii_case("true"),
            allow: enum_text(&r["Action"], &[(2, "Allow"), (4, "Block")])
                .eq_ignore_ascii_case("allow"),
            profiles: profiles_of(&profile),
            protocol: enum_text(&r["Protocol"], &[]),
            local_ports: local_ports(&list_text(&r["LocalPort"])),
            scope: (!scope.is_empty()).then(|| scope.join(", ")),
        });
    }
    let mut profiles = Vec::new();
    for p in as_list(profiles_v) {
        let action = enum_text(
            &p["DefaultInboundAction"],
            &[(0, "NotConfigured"), (2, "Allow"), (4, "Block")],
        );
        profiles.push(WinProfile {
            name: p["Name"].as_str().unwrap_or("").to_owned(),
            enabled: enum_text(
                &p["Enabled"],
                &[(0, "False"), (1, "True"), (2, "NotConfigured")],
            )
            .eq_ignore_ascii_case("true"),
            // NotConfigured falls back to the built-in default, Block.
            default_block_inbound: !action.eq_ignore_ascii_case("allow"),
        });
    }
    Ok((rules, profiles))
}
