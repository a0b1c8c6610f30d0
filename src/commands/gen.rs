//! `preflight gen`: whole configs from manifests, the firewall per host, Kubernetes objects per cluster.

use std::io::Write;
use std::process::ExitCode;

use super::{Error, output};
use crate::check::Outcome;
use crate::cli::args::GenCommand;
use crate::fix::generate::{self, FirewallDialect, GenOptions};
use crate::fleet;
use crate::manifest::{self, LoadOptions, Manifest};

/// Loads the manifests (all must load) and renders the config the subcommand names.
pub(super) fn run(cmd: GenCommand, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let (files, env, output) = match &cmd {
        GenCommand::Firewall {
            files, env, output, ..
        }
        | GenCommand::K8s { files, env, output } => (files, *env, output.clone()),
    };
    let load = LoadOptions {
        process_env: env,
        ..LoadOptions::default()
    };
    let mut manifests = Vec::new();
    let mut failed = Vec::new();
    for f in files {
        match manifest::load(f, &load) {
            Ok((m, doc)) => manifests.push((m, doc.name)),
            Err(e) => failed.push(Outcome::Failed(e)),
        }
    }
    if !failed.is_empty() {
        return Err(Error::Unchecked(failed));
    }
    let ms: Vec<&Manifest> = manifests.iter().map(|(m, _)| m).collect();
    let names: Vec<&str> = manifests.iter().map(|(_, n)| n.as_str()).collect();
    match cmd {
        GenCommand::Firewall {
            dialect,
            facts,
            profile,
            zone,
            no_ssh,
            ..
        } => {
            let opts = GenOptions {
                profile,
                zone,
                keep_ssh: !no_ssh,
            };
            let hosts = fleet::load(&facts)?;
            // clap requires --dialect without --facts.
            output::emit_per_host(out, output.as_deref(), "firewall", &hosts, |host| {
                let d = dialect
                    .or_else(|| host.map(|h| FirewallDialect::for_host(&h.facts)))
                    .unwrap_or(FirewallDialect::Nft);
                let name = host.map(|h| h.name.as_str());
                Ok((
                    generate::firewall(d, &ms, &names, name, &opts)?,
                    d.parts().1,
                ))
            })
        }
        GenCommand::K8s { .. } => {
            let k8s = generate::k8s(&ms, &names)?;
            // Printed: what `kubectl apply -f -` takes. Written: that, and one patch per service.
            output::emit(out, output.as_deref(), "apply.yaml", &k8s.apply)?;
            if let Some(dir) = output.as_deref() {
                for (name, patch) in &k8s.patches {
                    output::emit(out, Some(dir), &format!("patch-{name}.yaml"), patch)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
