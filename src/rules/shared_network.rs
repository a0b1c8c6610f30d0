//! `port-conflict` within a network namespace that Compose services share (`network_mode:
//! service:X`): every container in it listens in one namespace, so two of them on one container
//! port clash, as two containers of a Kubernetes pod do.

use std::collections::BTreeMap;

use crate::finding::{Finding, Findings, RuleMeta};
use crate::manifest::{Listen, Protocol, Service};

use super::Context;

/// Reports a container port declared by two services of one shared namespace.
pub fn check(cx: &Context<'_>, meta: &'static RuleMeta, out: &mut Findings) {
    let services = &cx.manifest.services;
    // Namespace owner → the services that join it.
    let mut groups: BTreeMap<&str, Vec<&Service>> = BTreeMap::new();
    for s in services {
        if let Some(owner) = s.network.as_ref().and_then(|n| n.service.as_deref()) {
            groups.entry(owner).or_default().push(s);
        }
    }
    for (owner, members) in groups {
        let owner_svc = services.iter().find(|s| s.name == owner);
        // The owner's published ports serve every member: only what it `expose`s is its own.
        let own = owner_svc.into_iter().flat_map(|s| {
            s.listens
                .iter()
                .filter(|l| !l.published)
                .map(move |l| (s, l))
        });
        let joined = members
            .iter()
            .flat_map(|s| s.listens.iter().map(move |l| (*s, l)));
        let mut seen: BTreeMap<(Protocol, u16), (&Service, &Listen)> = BTreeMap::new();
        for (svc, l) in own.chain(joined) {
            match seen.get(&(l.protocol, l.number)) {
                Some((first, fl)) if first.name != svc.name => out.push(
                    Finding::new(
                        meta,
                        l.path.clone(),
                        format!(
                            "container port {}/{} of `{}` is already used by `{}`: both listen in the network namespace of `{owner}` (`network_mode: service:{owner}`)",
                            l.number,
                            l.protocol.as_str(),
                            svc.name,
                            first.name
                        ),
                    )
                    .label("second use")
                    .related(fl.path.clone(), format!("first used by `{}` here", first.name))
                    .help("make one of the two listen on another port (its own setting, then `expose` it): containers sharing a network namespace can't listen on the same port"),
                ),
                Some(_) => {}
                None => {
                    seen.insert((l.protocol, l.number), (svc, l));
                }
            }
        }
    }
}
