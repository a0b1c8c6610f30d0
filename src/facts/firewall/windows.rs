//! Windows Defender Firewall: rules and profiles from `netsh advfirewall` or PowerShell exports, and the
//! inbound decision per profile (Domain, Private, Public).
//!
//! A block rule that matches wins over any allow rule; otherwise a matching allow rule admits the port;
//! otherwise the profile's default inbound action applies (Block by default on every profile). Rules
//! limited to a program, a service or remote addresses match only some traffic: they make the decision
//! conditional rather than certain.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::facts::parse::CaptureError;
use crate::ports::PortRange;
use crate::ports::Protocol;

/// The three firewall profiles.
pub const PROFILES: [&str; 3] = ["Domain", "Private", "Public"];

/// One inbound rule, normalized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WinRule {
    /// The rule's name (DisplayName, or netsh's `Rule Name`).
    pub name: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// `true` for Allow, `false` for Block.
    pub allow: bool,
    /// Profiles it applies to (`Domain`, `Private`, `Public`); all three for `Any`.
    pub profiles: Vec<String>,
    /// `TCP`, `UDP`, `Any` or a protocol number.
    pub protocol: String,
    /// Local ports; empty means any port. `None` when the rule names ports by keyword (RPC, …).
    pub local_ports: Option<Vec<PortRange>>,
    /// What limits it to some traffic (program, service, remote addresses), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// One profile's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WinProfile {
    /// `Domain`, `Private` or `Public`.
    pub name: String,
    /// Whether the firewall is on for it.
    pub enabled: bool,
    /// Whether inbound traffic no rule matches is blocked.
    pub default_block_inbound: bool,
}

/// A network connection's category, which picks the firewall profile that applies to its traffic
/// (`Get-NetConnectionProfile`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct NetworkProfile {
    /// The interface (`Ethernet`, `Wi-Fi`).
    pub interface: String,
    /// The firewall profile its category selects: `Domain`, `Private` or `Public`.
    pub profile: String,
}

/// The firewall profile a `NetworkCategory` selects (`DomainAuthenticated` → `Domain`; PowerShell's
/// plain `ConvertTo-Json` writes the enum as 0, 1, 2).
pub fn profile_of_category(category: &str) -> Option<&'static str> {
    match category.trim().to_ascii_lowercase().as_str() {
        "public" | "0" => Some("Public"),
        "private" | "1" => Some("Private"),
        "domainauthenticated" | "domain" | "2" => Some("Domain"),
        _ => None,
    }
}

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

/// The decision for one profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileDecision {
    /// The profile.
    pub profile: String,
    /// Whether the port is admitted for arbitrary clients.
    pub accepted: bool,
    /// Whether some clients are admitted (a scoped allow rule).
    pub some_accepted: bool,
    /// What decided.
    pub by: String,
}

fn matches(rule: &WinRule, protocol: Protocol, port: u16) -> bool {
    let proto_ok = match rule.protocol.to_ascii_uppercase().as_str() {
        "ANY" | "" => true,
        "TCP" | "6" => protocol == Protocol::Tcp,
        "UDP" | "17" => protocol == Protocol::Udp,
        _ => false,
    };
    proto_ok
        && match &rule.local_ports {
            None => false,
            Some(ports) => ports.is_empty() || ports.iter().any(|r| r.contains(port)),
        }
}

/// Decides an inbound connection to `port` for each profile.
pub fn decide(
    rules: &[WinRule],
    profiles: &[WinProfile],
    protocol: Protocol,
    port: u16,
) -> Vec<ProfileDecision> {
    PROFILES
        .iter()
        .map(|&name| {
            let profile = profiles.iter().find(|p| p.name.eq_ignore_ascii_case(name));
            let (enabled, default_block) =
                profile.map_or((true, true), |p| (p.enabled, p.default_block_inbound));
            if !enabled {
                return ProfileDecision {
                    profile: name.into(),
                    accepted: true,
                    some_accepted: true,
                    by: format!("the firewall is off for the {name} profile"),
                };
            }
            let applicable = rules.iter().filter(|r| {
                r.enabled
                    && r.profiles
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(name) || p.eq_ignore_ascii_case("Any"))
                    && matches(r, protocol, port)
            });
            let (mut block, mut allow, mut scoped_allow) = (None, None, None);
            for r in applicable {
                match (r.allow, &r.scope) {
                    (false, None) => block = block.or(Some(r)),
                    (false, Some(_)) => {} // a scoped block blocks only some clients
                    (true, None) => allow = allow.or(Some(r)),
                    (true, Some(_)) => scoped_allow = scoped_allow.or(Some(r)),
                }
            }
            if let Some(b) = block {
                return ProfileDecision {
                    profile: name.into(),
                    accepted: false,
                    some_accepted: false,
                    by: format!("block rule '{}'", b.name),
                };
            }
            if let Some(a) = allow {
                return ProfileDecision {
                    profile: name.into(),
                    accepted: true,
                    some_accepted: true,
                    by: format!("allow rule '{}'", a.name),
                };
            }
            let default = if default_block {
                "default inbound action Block"
            } else {
                "default inbound action Allow"
            };
            match scoped_allow {
                Some(a) => ProfileDecision {
                    profile: name.into(),
                    accepted: !default_block,
                    some_accepted: true,
                    by: format!(
                        "allow rule '{}' ({}), otherwise the {name} profile's {default}",
                        a.name,
                        a.scope.as_deref().unwrap_or("")
                    ),
                },
                None => ProfileDecision {
                    profile: name.into(),
                    accepted: !default_block,
                    some_accepted: !default_block,
                    by: format!("the {name} profile's {default}"),
                },
            }
        })
        .collect()
}

fn local_ports(spec: &str) -> Option<Vec<PortRange>> {
    let s = spec.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("any") {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        match (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
            (Ok(a), Ok(b)) => out.push(PortRange::new(a, b)?),
            _ => return None, // RPC, RPCEPMap, IPHTTPS, PlayToDiscovery…
        }
    }
    Some(out)
}

fn profiles_of(spec: &str) -> Vec<String> {
    let s = spec.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("any") || s.eq_ignore_ascii_case("all") {
        return PROFILES.iter().map(|p| (*p).to_owned()).collect();
    }
    s.split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// `netsh advfirewall firewall show rule name=all [verbose]`: blocks of `Key: value` lines. Keys are
/// English; localized output is refused with a pointer to the PowerShell export.
pub fn netsh_rules(text: &str) -> Result<Vec<WinRule>, CaptureError> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    let mut start_line = 0;
    let mut saw_rule_name = false;
    let mut flush = |cur: &mut Vec<(String, String)>, line: usize| -> Result<(), CaptureError> {
        if cur.is_empty() {
            return Ok(());
        }
        let get = |k: &str| {
            cur.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        let name = get("Rule Name").unwrap_or("").to_owned();
        let direction = get("Direction").unwrap_or("In");
        if !direction.eq_ignore_ascii_case("In") {
            cur.clear();
            return Ok(());
        }
        let action = get("Action").ok_or(CaptureError {
            line,
            message: format!("rule '{name}' has no `Action:` line"),
        })?;
        let mut scope = Vec::new();
        if let Some(remote) = get("RemoteIP").filter(|v| !v.eq_ignore_ascii_case("any")) {
            scope.push(format!("remote {remote}"));
        }
        if let Some(program) = get("Program").filter(|v| !v.eq_ignore_ascii_case("any")) {
            scope.push(format!("program {program}"));
        }
        if let Some(service) = get("Service").filter(|v| !v.eq_ignore_ascii_case("any")) {
            scope.push(format!("service {service}"));
        }
        out.push(WinRule {
            name,
            enabled: get("Enabled").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            allow: action.eq_ignore_ascii_case("allow"),
            profiles: profiles_of(get("Profiles").unwrap_or("Any")),
            protocol: get("Protocol").unwrap_or("Any").to_owned(),
            local_ports: local_ports(get("LocalPort").unwrap_or("Any")),
            scope: (!scope.is_empty()).then(|| scope.join(", ")),
        });
        cur.clear();
        Ok(())
    };
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_end_matches('\r').trim();
        if line.starts_with("Rule Name:") {
            flush(&mut cur, start_line)?;
            start_line = i + 1;
            saw_rule_name = true;
        }
        if line.is_empty() || line.starts_with("---") || line == "Ok." {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    flush(&mut cur, start_line)?;
    if !saw_rule_name && !text.trim().is_empty() && !text.contains("No rules match") {
        return Err(CaptureError {
            line: 1,
            message: "no `Rule Name:` lines: is this `netsh advfirewall firewall show rule name=all verbose` output in English? For other languages use the PowerShell export (`powershell-firewall`)".into(),
        });
    }
    Ok(out)
}

/// `netsh advfirewall show allprofiles`: `Domain Profile Settings:` blocks with `State ON|OFF` and
/// `Firewall Policy BlockInbound,AllowOutbound`.
pub fn netsh_profiles(text: &str) -> Result<Vec<WinProfile>, CaptureError> {
    let mut out: Vec<WinProfile> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_end_matches('\r').trim();
        if let Some(name) = PROFILES
            .iter()
            .find(|p| line.starts_with(&format!("{p} Profile Settings")))
        {
            out.push(WinProfile {
                name: (*name).to_owned(),
                enabled: true,
                default_block_inbound: true,
            });
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        let mut w = line.split_whitespace();
        match (w.next(), w.next()) {
            (Some("State"), Some(v)) => cur.enabled = v.eq_ignore_ascii_case("on"),
            (Some("Firewall"), Some("Policy")) => {
                let policy = w.next().ok_or(CaptureError {
                    line: i + 1,
                    message: "`Firewall Policy` without a value".into(),
                })?;
                cur.default_block_inbound = !policy.to_ascii_lowercase().contains("allowinbound");
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(CaptureError { line: 1, message: "no `… Profile Settings:` blocks: is this `netsh advfirewall show allprofiles` output in English?".into() });
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, allow: bool, profiles: &str, port: &str, scope: Option<&str>) -> WinRule {
        WinRule {
            name: name.into(),
            enabled: true,
            allow,
            profiles: profiles_of(profiles),
            protocol: "TCP".into(),
            local_ports: local_ports(port),
            scope: scope.map(str::to_owned),
        }
    }

    #[test]
    fn block_wins_and_profiles_matter() {
        let rules = vec![
            rule("app 8080", true, "Domain,Private", "8080", None),
            rule("no 8081", false, "Any", "8081", None),
            rule("all 8081", true, "Any", "8081-8100", None),
            rule(
                "rdp from jump host",
                true,
                "Any",
                "3389",
                Some("remote 10.0.0.4"),
            ),
        ];
        let d = decide(&rules, &[], Protocol::Tcp, 8080);
        assert_eq!(
            d.iter().map(|x| x.accepted).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert!(
            d[2].by
                .contains("Public profile's default inbound action Block")
        );
        let d = decide(&rules, &[], Protocol::Tcp, 8081);
        assert!(
            d.iter()
                .all(|x| !x.accepted && x.by == "block rule 'no 8081'")
        );
        let d = decide(&rules, &[], Protocol::Tcp, 3389);
        assert!(d.iter().all(|x| !x.accepted && x.some_accepted));
        let off = [WinProfile {
            name: "Public".into(),
            enabled: false,
            default_block_inbound: true,
        }];
        assert!(decide(&rules, &off, Protocol::Tcp, 9999)[2].accepted);
    }
}
