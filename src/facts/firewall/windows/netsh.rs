//! `netsh advfirewall firewall show rule` and `netsh advfirewall show allprofiles`.

use super::{PROFILES, WinProfile, WinRule, local_ports, profiles_of};
use crate::facts::parse::CaptureError;

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
