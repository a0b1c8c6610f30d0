//! `preflight init --from FILE...`: a starting deploy.yaml that includes the Compose files and
//! Kubernetes manifests a team already has, with the target and a commented port plan derived from
//! the host ports they publish. The result loads as it is; the plan is a suggestion to edit.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Error;
use crate::check::Outcome;
use crate::cli::args::InitArgs;
use crate::manifest::{self, Kind, LoadOptions};

/// The path of `file` as written in a manifest at `manifest`: relative to the manifest's directory
/// where it lies below it, else absolute.
fn relative_to(manifest: &Path, file: &Path) -> String {
    let base = manifest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (base, target) = (abs(base), abs(file));
    let shown: PathBuf = target
        .strip_prefix(&base)
        .map_or(target.clone(), Path::to_path_buf);
    let mut s = shown.to_string_lossy().replace('\\', "/");
    if file.is_dir() && !s.ends_with('/') {
        s.push('/');
    }
    s
}

/// Blocks of 100 ports (`8000-8099`) that hold the ports from 1024 up, each with its ports, in order.
/// Ports below 1024 are well-known ports a plan doesn't hand out; they are left to the caller.
fn blocks(ports: &[u16]) -> Vec<((u16, u16), Vec<u16>)> {
    let mut out: BTreeMap<(u16, u16), Vec<u16>> = BTreeMap::new();
    for &p in ports.iter().filter(|&&p| p >= 1024) {
        let start = p - p % 100;
        let held = out.entry((start, start.saturating_add(99))).or_default();
        if !held.contains(&p) {
            held.push(p);
        }
    }
    out.into_iter()
        .map(|(b, mut ps)| {
            ps.sort_unstable();
            (b, ps)
        })
        .collect()
}

/// A team, its blocks (each with the ports it holds) and its ports below 1024.
type TeamPorts<'a> = (&'a String, Vec<((u16, u16), Vec<u16>)>, Vec<u16>);

/// A YAML-safe name for a team (`port_plan` keys are `[A-Za-z0-9_-]+`).
fn team_name(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if t.is_empty() { "team".into() } else { t }
}

/// Reads the inputs and writes the manifest.
pub(super) fn run(args: &InitArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let to_stdout = args.output.as_os_str() == "-";
    if !to_stdout && args.output.exists() && !args.force {
        return Err(Error::Usage(format!(
            "{} exists: pass --force to replace it, or -o another file (`-o -` prints it)",
            args.output.display()
        )));
    }
    let manifest_path = if to_stdout {
        PathBuf::from("deploy.yaml")
    } else {
        args.output.clone()
    };
    let mut includes = String::new();
    let mut plan: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    let mut failed = Vec::new();
    let (mut compose, mut kubernetes) = (false, false);
    for f in &args.from {
        match manifest::load(f, &LoadOptions::default()) {
            Ok((m, _)) => {
                let key = match m.kind {
                    Kind::Compose => {
                        compose = true;
                        "compose"
                    }
                    Kind::Kubernetes => {
                        kubernetes = true;
                        "kubernetes"
                    }
                    Kind::Deploy => {
                        return Err(Error::Usage(format!(
                            "{} is a deploy manifest: --from takes Compose files and Kubernetes manifests",
                            f.display()
                        )));
                    }
                };
                let _ = writeln!(includes, "  - {key}: {}", relative_to(&manifest_path, f));
                let stem = f
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let default_team = match m.kind {
                    Kind::Compose => std::fs::canonicalize(f)
                        .ok()
                        .and_then(|p| {
                            p.parent()
                                .and_then(|d| d.file_name())
                                .map(|n| n.to_string_lossy().into_owned())
                        })
                        .unwrap_or(stem),
                    _ => stem,
                };
                let mut teams: Vec<String> = Vec::new();
                for s in &m.services {
                    let team = s
                        .pod
                        .as_ref()
                        .and_then(|p| p.namespace.clone())
                        .unwrap_or_else(|| default_team.clone());
                    // Like `Port::node_port`, but an init container's hostPort counts too: the plan
                    // holds every port the workload takes on a node, if only while it starts.
                    let host: Vec<u16> = s
                        .ports
                        .iter()
                        .filter_map(|p| match &p.container {
                            Some(c) => c.host_port.or(s
                                .pod
                                .as_ref()
                                .filter(|pod| pod.host_network)
                                .and(p.number)),
                            None => p.number,
                        })
                        .collect();
                    let team = team_name(&team);
                    if !teams.contains(&team) {
                        teams.push(team.clone());
                    }
                    plan.entry(team).or_default().extend(host);
                }
                if let [team] = teams.as_slice() {
                    let _ = writeln!(
                        includes,
                        "    # team: {team}            # its services' ports must then lie in the team's block"
                    );
                }
            }
            Err(e) => failed.push(Outcome::Failed(e)),
        }
    }
    if !failed.is_empty() {
        return Err(Error::Unchecked(failed));
    }
    let platform = if kubernetes && !compose {
        "kubernetes"
    } else {
        "linux"
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# yaml-language-server: $schema=https://preflight.dev/schemas/deploy.schema.json"
    );
    let from: Vec<String> = args.from.iter().map(|f| f.display().to_string()).collect();
    let _ = writeln!(
        text,
        "# Written by `preflight init --from {}`. Check it with `preflight check {}`.",
        from.join(" "),
        manifest_path.display()
    );
    let _ = writeln!(text, "version: 1");
    let _ = writeln!(text, "target:");
    let _ = writeln!(
        text,
        "  platform: {platform}{}",
        if compose {
            "          # the host that runs Docker; windows for Docker Desktop on Windows"
        } else {
            ""
        }
    );
    if compose {
        let _ = writeln!(
            text,
            "  run_as: root              # rootful dockerd; `user` for rootless Docker (ports < 1024 need a sysctl)"
        );
    }
    if kubernetes {
        let _ = writeln!(
            text,
            "  # container_runtime: containerd   # containerd (2.x), containerd-1, cri-o, docker, k3s or kind: decides whether non-root pods may bind ports < 1024"
        );
    }
    let _ = writeln!(text, "include:");
    text.push_str(&includes);
    let used: Vec<TeamPorts<'_>> = plan
        .iter()
        .map(|(t, p)| {
            let mut low: Vec<u16> = p.iter().copied().filter(|&n| n < 1024).collect();
            low.sort_unstable();
            low.dedup();
            (t, blocks(p), low)
        })
        .filter(|(_, b, low)| !b.is_empty() || !low.is_empty())
        .collect();
    if !used.is_empty() {
        let _ = writeln!(
            text,
            "# A port plan gives each team a block, so two stacks on one host never pick the same port."
        );
        let _ = writeln!(
            text,
            "# Derived from the host ports the files publish; uncomment, adjust, and give services a `team`:"
        );
        let _ = writeln!(text, "# port_plan:");
        for (team, bs, low) in &used {
            for (i, ((a, b), ps)) in bs.iter().enumerate() {
                let key = if i == 0 {
                    (*team).clone()
                } else {
                    format!("{team}-{}", i + 1)
                };
                let list: Vec<String> = ps.iter().map(u16::to_string).collect();
                let _ = writeln!(text, "#   {key}: {a}-{b}   # publishes {}", list.join(", "));
            }
            if !low.is_empty() {
                let list: Vec<String> = low.iter().map(u16::to_string).collect();
                let _ = writeln!(
                    text,
                    "#   # {team} also publishes {} (below 1024: well-known ports, outside any block)",
                    list.join(", ")
                );
            }
        }
    }
    if to_stdout {
        out.write_all(text.as_bytes())?;
    } else {
        std::fs::write(&args.output, &text)?;
        writeln!(
            out,
            "wrote {}: run `preflight check {}`",
            args.output.display(),
            args.output.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
