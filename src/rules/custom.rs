//! Custom rules of a policy: minijinja `when`/`assert`/`message` over each port, its service, the
//! target, the manifest and the host's facts, run like the built-in rules.

use std::collections::BTreeMap;

use crate::finding::{Finding, Findings, Severity};
use crate::policy::RuleSetting;

use super::Context;
use super::scope::Scope;

/// Runs the policy's custom rules of `scope` on every port with a number.
pub(super) fn run(cx: &Context<'_>, out: &mut Findings, scope: Scope) {
    if !cx
        .policy
        .custom
        .iter()
        .any(|r| scope.includes(r.uses_facts, true))
    {
        return;
    }
    let m = cx.manifest;
    let value = |v: serde_json::Value| minijinja::Value::from(minijinja::value::Serde(v));
    let target = value(serde_json::json!({
        "platform": m.target.platform.as_str(),
        "run_as": m.target.run_as,
        "capabilities": m.target.capabilities,
    }));
    let facts = cx.facts.map_or(minijinja::Value::from(()), |f| {
        minijinja::Value::from(minijinja::value::Serde(f))
    });
    let manifest = value(serde_json::json!({
        "services": m.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        "port_plan": m.port_plan.iter().map(|b| (b.team.clone(), b.range.to_string())).collect::<BTreeMap<_, _>>(),
    }));
    // Rules the policy turns off don't run; the others get the policy's severity, if it sets one.
    let rules: Vec<(&crate::policy::CustomRule, Severity)> = cx
        .policy
        .custom
        .iter()
        .filter(|r| scope.includes(r.uses_facts, true))
        .filter_map(|r| match cx.policy.setting(&r.id) {
            Some(RuleSetting::Off) => None,
            Some(RuleSetting::Severity(s)) => Some((r, s)),
            None => Some((r, r.severity)),
        })
        .collect();
    for svc in &m.services {
        let service = value(serde_json::json!({
            "name": svc.name,
            "team": svc.team,
            "description": svc.description,
            "runtime": svc.runtime.as_str(),
            "socket": { "reuse_address": svc.socket.reuse_address, "exclusive_address": svc.socket.exclusive_address },
        }));
        for port in &svc.ports {
            let Some(n) = port.number else { continue };
            let port_v = value(serde_json::json!({
                "name": port.name,
                "number": n,
                "protocol": port.protocol.as_str(),
                "bind": port.bind.to_string(),
                "expose": port.expose.as_str(),
                "purpose": port.purpose.map(|p| p.as_str()),
            }));
            let ctx = minijinja::context! {
                service => service.clone(),
                port => port_v,
                target => target.clone(),
                facts => facts.clone(),
                manifest => manifest.clone(),
            };
            for &(rule, severity) in &rules {
                match rule.check(&ctx) {
                    Ok(None) => {}
                    Ok(Some(message)) => {
                        let f = Finding {
                            rule: rule.id.clone().into(),
                            severity,
                            message: message.into(),
                            path: port.number_path.as_str().into(),
                            host: None,
                            label: rule.summary.clone().into(),
                            related: Box::default(),
                            help: rule.help.clone().map(Into::into),
                            fixes: Box::default(),
                            evidence: Default::default(),
                            fingerprint: None,
                            subject: Box::default(),
                        };
                        out.push(f);
                    }
                    Err(e) => {
                        out.errors.push(format!(
                            "{}: custom rule `{}` ({}): `{}` failed on `{}`: {}",
                            rule.origin.file,
                            rule.id,
                            rule.origin.path,
                            e.field,
                            port.path,
                            e.message
                        ));
                        return;
                    }
                }
            }
        }
    }
}
