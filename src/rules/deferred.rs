//! Deferred findings made whole: what a rule pushes instead of a [`Finding`] when its context defers
//! (see [`Deferred`]), and the one way back to the finding.

use std::borrow::Cow;

use crate::facts::defaults;
use crate::finding::{Deferred, DeferredRule, Finding};
use crate::manifest::Manifest;

/// The finding `d` holds, as its rule makes it when it does not defer (the rule's default severity,
/// no `${VAR}` labels: the engine adds those to what a rule pushes). The rule's own call and this one
/// pass the same ports; the test below holds them to it.
fn make(m: &Manifest, d: &Deferred) -> Finding {
    if d.rule == DeferredRule::NoPodSelected {
        return super::service_target_port::no_pod(&m.kube_services[d.service as usize]);
    }
    let service = &m.services[d.service as usize];
    let port = &service.ports[d.port as usize];
    match d.rule {
        DeferredRule::PortConflict => {
            let other_service = &m.services[d.other.0 as usize];
            let other = &other_service.ports[d.other.1 as usize];
            super::port_conflict::conflict(service, port, other_service, other, d.suggested)
        }
        DeferredRule::EphemeralRange => super::ephemeral_range::finding(
            m.target.platform,
            service,
            port,
            port.number.unwrap_or_default(),
            &defaults::platform_ephemeral_range(m.target.platform),
            d.suggested,
        ),
        DeferredRule::NoPodSelected => unreachable!("made above"),
    }
}

/// The finding `d` holds, made whole from `m`, the manifest its rule ran on: word for word the
/// finding the rule pushes when it does not defer, with the severity the policy gave it and a
/// related label at the definition of each `${VAR}` behind its value.
pub fn render(m: &Manifest, d: &Deferred) -> Finding {
    let mut f = make(m, d).severity(d.severity);
    super::engine::add_variable_labels(m, &mut f);
    f
}

/// The rule id of a deferred finding.
pub fn rule_id(rule: DeferredRule) -> &'static str {
    match rule {
        DeferredRule::PortConflict => super::port_conflict::META.id,
        DeferredRule::EphemeralRange => super::ephemeral_range::META.id,
        DeferredRule::NoPodSelected => super::service_target_port::META.id,
    }
}

/// The manifest path a deferred finding is at (its port's number, or the Service's selector),
/// without making it whole.
pub fn path<'m>(m: &'m Manifest, d: &Deferred) -> Cow<'m, str> {
    match d.rule {
        DeferredRule::NoPodSelected => Cow::Owned(super::service_target_port::selector_path(
            &m.kube_services[d.service as usize],
        )),
        DeferredRule::PortConflict | DeferredRule::EphemeralRange => {
            Cow::Borrowed(&m.services[d.service as usize].ports[d.port as usize].number_path)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::finding::Severity;
    use crate::manifest::{LoadOptions, load, load_str};
    use crate::policy::{Policy, RuleSetting};
    use crate::rules::{Context, evaluate};

    /// Every finding, as text, sorted: the rules' whole findings and the deferred ones made whole.
    fn findings(cx: &Context<'_>) -> Vec<String> {
        let found = evaluate(cx);
        let mut all: Vec<String> = found.items.iter().map(|f| format!("{f:?}")).collect();
        all.extend(
            found
                .deferred
                .iter()
                .map(|d| format!("{:?}", super::render(cx.manifest, d))),
        );
        all.sort();
        all
    }

    #[test]
    fn a_deferred_finding_made_whole_is_the_finding_the_rule_pushes() {
        // Every rule fixture and example (ports clashing in Compose, Kubernetes pods, host ports and
        // Services, Services selecting no pod, `${VAR}` values, team blocks with free ports, Windows,
        // Linux and macOS ranges),
        // under the default policy and under one that changes both rules' severities.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = std::fs::read_dir(root.join("tests/fixtures/rules"))
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .chain(std::fs::read_dir(root.join("examples")).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        let mut changed = Policy::default();
        // Each rule's severity changed from its default.
        for (id, severity) in [
            ("port-conflict", Severity::Info),
            ("ephemeral-range", Severity::Error),
            ("service-target-port", Severity::Warning),
        ] {
            changed
                .rules
                .insert(id.into(), RuleSetting::Severity(severity));
        }
        // And one where `${VAR}`s feed the clashing ports and the ephemeral one, and a team block has
        // a free port to suggest.
        let own = "version: 1\ntarget: { platform: linux }\nenvironment:\n  API_PORT: 40001\nport_plan:\n  core: 20000-20099\nservices:\n  api:\n    team: core\n    ports:\n      http: \"${API_PORT}\"\n  worker:\n    team: core\n    ports:\n      http: \"${API_PORT}\"\n      metrics: { port: 40001, protocol: udp }\n";
        let (m, _) = load_str("deploy.yaml", own.into(), &LoadOptions::default()).unwrap();
        let own = evaluate(&Context::new(&m, &Policy::default(), None));
        let texts: Vec<String> = own.items.iter().map(|f| format!("{f:?}")).collect();
        assert!(
            texts.iter().any(|f| f.contains("port-conflict")
                && f.contains("`API_PORT` defined here")
                && f.contains("20000 is free")),
            "{texts:#?}"
        );
        let loaded = files
            .iter()
            .filter_map(|f| {
                Some((
                    f.display().to_string(),
                    load(f, &LoadOptions::default()).ok()?.0,
                ))
            })
            .chain([("own".to_owned(), m)]);
        let (mut checked, mut deferred) = (0, 0);
        let mut kinds = std::collections::BTreeSet::new();
        for (file, m) in loaded {
            checked += 1;
            for policy in [&Policy::default(), &changed] {
                let whole = findings(&Context::new(&m, policy, None));
                let cx = Context::new(&m, policy, None).deferring();
                let found = evaluate(&cx);
                deferred += found.deferred.len();
                kinds.extend(found.deferred.iter().map(|d| format!("{:?}", d.rule)));
                assert_eq!(findings(&cx), whole, "{file}");
            }
        }
        assert!(checked > 90, "{checked} files checked");
        assert!(deferred > 30, "{deferred} findings deferred");
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            ["EphemeralRange", "NoPodSelected", "PortConflict"],
            "every rule that defers, deferring"
        );
    }
}
