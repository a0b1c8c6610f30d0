//! The inputs `check`, `fix` and `suggest` share: manifests, each one's policy, and the hosts' facts.

use std::path::{Path, PathBuf};

use super::Error;
use crate::check::{self, Outcome};
use crate::cli::args::{Inputs, ReadArgs};
use crate::document::{Document, LoadError};
use crate::facts::probe::{Interest, probe_for};
use crate::fleet::{self, Host};
use crate::manifest::discover::{self, Input, NotChecked, Read};
use crate::manifest::{LoadOptions, Manifest};
use crate::policy::date::Date;
use crate::policy::{self, LoadedPolicy};
use crate::rules;

/// The effective policy for a manifest: the nearest `.preflight.yaml` from its directory up, then
/// `explicit` (`--policy`) on top.
pub(super) fn policy_for(manifest: &Path, explicit: Option<&Path>) -> Result<LoadedPolicy, Error> {
    let discovered = policy::discover(manifest);
    Ok(policy::load_policy(
        discovered.as_deref(),
        explicit,
        &rules::ids(),
    )?)
}

/// A manifest as loaded: resolved with its document, or why it could not be.
pub(super) type LoadedManifest = Result<(Manifest, Document), LoadError>;

/// Each input manifest, loaded or why it could not be, and the hosts the inputs name.
pub(super) struct Loaded {
    /// The manifests in the order given.
    pub manifests: Vec<(PathBuf, LoadedManifest)>,
    /// Files seen but not checked, with why.
    pub not_checked: Vec<NotChecked>,
    /// The hosts: this one with `--local`, one per facts file with `--facts`, none otherwise.
    pub hosts: Fleet,
}

/// The hosts of a run.
pub(super) enum Fleet {
    /// Hosts with their facts in memory: this one with `--local`, or a fleet a caller needs the facts
    /// of after the check (`fix` renders for each host's firewall). Empty without host facts.
    Loaded(Vec<Host>),
    /// A fleet of facts files known by name: each host's facts are read when the check comes to it,
    /// and dropped after.
    Listed(Vec<fleet::Listed>),
}

impl Fleet {
    /// The OS the first host's facts name.
    fn first_os(&self) -> Option<&str> {
        match self {
            Fleet::Loaded(hosts) => hosts.first().and_then(|h| h.facts.os.as_deref()),
            Fleet::Listed(hosts) => hosts.first().and_then(|h| h.os.as_deref()),
        }
    }
}

/// Loads every manifest once, then the hosts (see [`hosts`]) for the manifests' ports: with
/// `keep_facts`, a fleet's facts are all read now and kept; without, the fleet is only listed.
pub(super) fn load(inputs: &Inputs, keep_facts: bool) -> Result<Loaded, Error> {
    let Read {
        loaded: mut manifests,
        not_checked,
    } = read(&inputs.read);
    // Only a live probe asks for the ports it must look at (a set of 30,000 pairs for a
    // 10,000-service manifest costs a millisecond for nothing otherwise).
    let interest = || -> Interest {
        manifests
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .flat_map(|(m, _)| m.ports())
            .flat_map(|(svc, p)| {
                // What the host rules ask about: the port on the node, every port of a range Docker
                // picks from.
                let range = p.pick.map_or(0..=0, |r| r.start..=r.end);
                let picks = p.pick.is_some().then_some(range).into_iter().flatten();
                p.node_port(svc)
                    .into_iter()
                    .chain(picks)
                    .map(|n| (p.protocol, n))
            })
            .collect()
    };
    let hosts = if inputs.local || keep_facts {
        Fleet::Loaded(hosts(inputs, interest)?)
    } else {
        Fleet::Listed(fleet::list(&inputs.facts)?)
    };
    imply_platform(&mut manifests, &hosts);
    Ok(Loaded {
        manifests,
        not_checked,
        hosts,
    })
}

/// A Compose file runs wherever Docker runs: its implied platform is the host's, when the (first)
/// host's facts name it, so the Windows rules apply to Docker Desktop on Windows.
fn imply_platform(manifests: &mut [(PathBuf, LoadedManifest)], hosts: &Fleet) {
    let Some(os) = hosts.first_os() else {
        return;
    };
    let platform = match os {
        "windows" => crate::ports::Platform::Windows,
        "linux" => crate::ports::Platform::Linux,
        "macos" => crate::ports::Platform::Macos,
        _ => return,
    };
    for (_, loaded) in manifests.iter_mut() {
        if let Ok((m, _)) = loaded
            && m.target.implied
        {
            m.target.platform = platform;
        }
    }
}

/// Every input manifest, loaded or why it could not be, in the order given.
pub(super) fn manifests(inputs: &Inputs) -> Vec<(PathBuf, LoadedManifest)> {
    read(&inputs.read).loaded
}

/// Every input `read` names (or, with none, the one found as Compose finds its files; a directory is
/// a project, see [`discover`]), loaded or why it could not be, in the order given, and what was
/// seen but not checked.
pub(super) fn read(read: &ReadArgs) -> Read {
    let load = LoadOptions {
        process_env: read.env,
        kind: read.kind,
        compose: crate::manifest::ComposeOptions {
            env_files: read.env_file.clone(),
            profiles: read.profile.clone(),
            ..Default::default()
        },
        ..LoadOptions::default()
    };
    let mut found = Read::default();
    let add = |found: &mut Read, input: Input| {
        let r = input.load(&load);
        found.loaded.push((input.label(), r));
    };
    if read.files.is_empty() && read.compose_files.is_empty() {
        match discover::default_inputs() {
            Some(input) => add(&mut found, input),
            None => found.loaded.push((
                PathBuf::from("."),
                Err(LoadError::Io {
                    file: ".".into(),
                    source: std::io::Error::other(
                        "no compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml or deploy.yaml here (nor a Compose file in a parent directory): name the input, `preflight check FILE|DIR`",
                    ),
                }),
            )),
        }
    }
    for f in &read.files {
        if f.is_dir() && read.kind.is_none() {
            let d = discover::directory(f, &load);
            found.loaded.extend(d.loaded);
            found.not_checked.extend(d.not_checked);
        } else {
            add(&mut found, Input::File(f.clone()));
        }
    }
    if !read.compose_files.is_empty() {
        add(&mut found, Input::Compose(read.compose_files.clone()));
    }
    for (_, m) in &mut found.loaded {
        if let Ok((m, _)) = m {
            if let Some(rt) = read.container_runtime {
                m.target.container_runtime = Some(rt);
            }
            if let Some(r) = read.node_port_range {
                m.target.node_port_range = r;
            }
        }
    }
    found
}

/// The hosts the inputs name: with `--local`, this host, where only the sockets on the ports of
/// `interest` (asked for only then) are probed (owners are looked up for those sockets alone), so the
/// caller names every port it will ask about; with `--facts`, every facts file given.
pub(super) fn hosts(
    inputs: &Inputs,
    interest: impl FnOnce() -> Interest,
) -> Result<Vec<Host>, Error> {
    Ok(if inputs.local {
        vec![Host::live(probe_for(Some(&interest()))?)]
    } else {
        fleet::load(&inputs.facts)?
    })
}

/// A checked run: what each file produced, and the first policy loaded (for rule metadata in reports).
pub(super) struct Run {
    /// One outcome per manifest, then one per policy file with expired waivers.
    pub outcomes: Vec<Outcome>,
    /// The first policy that loaded.
    pub policy: Option<LoadedPolicy>,
}

/// Loads the inputs and checks every manifest under its policy (one per distinct nearest
/// `.preflight.yaml`, loaded once) against the hosts. A fleet's facts files are read a host at a time
/// and each host's facts dropped once every manifest is checked against them.
pub(super) fn check(inputs: &Inputs, today: Date) -> Result<Run, Error> {
    let loaded = load(inputs, false)?;
    check_loaded(inputs, today, loaded).map(|(run, _)| run)
}

/// [`check`], keeping the hosts with their facts for the caller.
pub(super) fn check_keeping_facts(inputs: &Inputs, today: Date) -> Result<(Run, Vec<Host>), Error> {
    let loaded = load(inputs, true)?;
    let (run, hosts) = check_loaded(inputs, today, loaded)?;
    match hosts {
        Fleet::Loaded(hosts) => Ok((run, hosts)),
        Fleet::Listed(_) => unreachable!("load(.., true) reads every host's facts"),
    }
}

/// A manifest waiting for the hosts: where its outcome goes, and its policy.
struct Job {
    slot: usize,
    manifest: Manifest,
    doc: Document,
    policy: usize,
}

fn check_loaded(inputs: &Inputs, today: Date, loaded: Loaded) -> Result<(Run, Fleet), Error> {
    let Loaded {
        manifests,
        not_checked,
        hosts,
    } = loaded;
    let mut policies: Vec<(Option<PathBuf>, Option<LoadedPolicy>)> = Vec::new();
    let mut outcomes: Vec<Option<Outcome>> = Vec::new();
    let mut jobs = Vec::new();
    for (f, loaded) in manifests {
        let discovered = policy::discover(&f);
        let i = match policies.iter().position(|(k, _)| *k == discovered) {
            Some(i) => i,
            None => {
                match policy::load_policy(
                    discovered.as_deref(),
                    inputs.policy.as_deref(),
                    &rules::ids(),
                ) {
                    Ok(p) => policies.push((discovered, Some(p))),
                    Err(e) => {
                        outcomes.push(Some(Outcome::Failed(e)));
                        policies.push((discovered, None));
                    }
                }
                policies.len() - 1
            }
        };
        outcomes.push(match (&policies[i].1, loaded) {
            (Some(_), Ok((manifest, doc))) => {
                jobs.push(Job {
                    slot: outcomes.len(),
                    manifest,
                    doc,
                    policy: i,
                });
                None
            }
            (Some(_), Err(e)) => Some(Outcome::Failed(e)),
            (None, _) => Some(Outcome::Failed(LoadError::Io {
                file: f.display().to_string(),
                source: std::io::Error::other("its policy file is invalid (see above)"),
            })),
        });
    }
    // Every job's policy loaded (a manifest whose policy failed is an outcome already).
    let jobs: Vec<(&policy::Policy, Job)> = jobs
        .into_iter()
        .filter_map(|j| Some((&policies[j.policy].1.as_ref()?.policy, j)))
        .collect();
    let inline = !inputs.no_inline_ignores;
    let checked: Vec<(usize, check::Checked)> = match &hosts {
        Fleet::Loaded(hosts) => jobs
            .into_iter()
            .map(|(policy, j)| {
                let c = check::check_manifest(j.manifest, j.doc, policy, hosts, today, inline);
                (j.slot, c)
            })
            .collect(),
        Fleet::Listed(listed) => {
            let parts = host_parts(listed, &jobs)?;
            let infos: Vec<_> = listed.iter().map(fleet::Listed::info).collect();
            jobs.into_iter()
                .zip(parts)
                .map(|((policy, j), parts)| {
                    let c = check::check_streamed(
                        j.manifest,
                        j.doc,
                        policy,
                        infos.clone(),
                        parts,
                        today,
                        inline,
                    );
                    (j.slot, c)
                })
                .collect()
        }
    };
    for (slot, c) in checked {
        outcomes[slot] = Some(Outcome::Checked(Box::new(c)));
    }
    let mut outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
    for lp in policies.iter().filter_map(|(_, p)| p.as_ref()) {
        outcomes.extend(check::expired_waivers(lp, today));
    }
    outcomes.extend(not_checked.into_iter().map(Outcome::NotChecked));
    let policy = policies.into_iter().find_map(|(_, p)| p);
    Ok((Run { outcomes, policy }, hosts))
}

/// What the listed hosts contribute to each job, one [`rules::Gathered`] per job: the hosts are read
/// in parallel, each once, checked against every job and dropped (see [`rules::gather`]). A host that
/// can't be read is the error (the first in host order).
fn host_parts(
    listed: &[fleet::Listed],
    jobs: &[(&policy::Policy, Job)],
) -> Result<Vec<rules::Gathered>, Error> {
    let gathered = rules::gather(listed, jobs.len(), |l| {
        let host = l.load()?;
        Ok::<_, fleet::FleetError>(
            jobs.iter()
                .map(|(policy, j)| {
                    rules::evaluate_host(&j.manifest, policy, &host.name, &host.facts)
                })
                .collect(),
        )
    })?;
    Ok(gathered)
}
