//! `privileged-port`: a port the service's account is not allowed to bind.

use super::Context;
use crate::facts::defaults;
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::Platform;

/// Metadata of `privileged-port`.
pub const META: RuleMeta = RuleMeta {
    id: "privileged-port",
    severity: Severity::Error,
    summary: "a port below the unprivileged start that the service's account cannot bind",
    facts: &["unprivileged_port_start"],
    docs: r#"## What it does
Reports a port the service's account is not allowed to bind, per platform:

- **linux**: a port below `net.ipv4.ip_unprivileged_port_start` (default 1024; the host's value with
  facts) when the service neither runs as `root`/`admin` nor has `NET_BIND_SERVICE` in `capabilities`.
- **kubernetes**: the same limit inside the pod's network namespace, for a non-root container
  (`runAsUser` other than 0, or `runAsNonRoot: true`, container level over pod level; a container whose
  image decides is not judged). What the limit is depends on the nodes' container runtime
  (`target.container_runtime`): containerd 2.x, Docker/cri-dockerd, k3s and kind start pods with
  `ip_unprivileged_port_start=0`, so nothing is reported; CRI-O and containerd 1.x keep 1024, an error;
  when the runtime is not given, a warning that says so. The pod sysctl
  `net.ipv4.ip_unprivileged_port_start` decides where it is set. `hostNetwork: true` pods use the node's
  value whatever the runtime. `capabilities: [NET_BIND_SERVICE]` alone does not rescue a non-root
  container: Kubernetes has no ambient capabilities, so a non-root process only gets the capability from
  file capabilities on its binary (`setcap`). `hostPort` is not judged: the node maps it.
- **macos**: since 10.14 any user may bind a port below 1024 on the wildcard address (`0.0.0.0`, `::`),
  but a specific address, `127.0.0.1` included, still needs root.
- **Compose** (ports Docker publishes): rootful dockerd binds any port; with `run_as: user` (a deploy
  manifest that includes the Compose file) Docker is rootless, and host ports below the start fail.
- **windows**: never. Winsock has no privileged ports; administrator rights are needed for HTTP.sys URL
  reservations, firewall rules and port exclusions, which other rules cover.

## Why is this bad?
`bind` fails with `EACCES` ("permission denied", errno 13) and the service never starts.

## Example
```yaml
target: { platform: linux, run_as: user }
services:
  web:
    ports:
      http: 80
```

## Fix
Linux: `setcap 'cap_net_bind_service=+ep' /path/to/binary` (re-apply after every deploy, since replacing
the file drops it; for scripts it must go on the interpreter), or under systemd `AmbientCapabilities=CAP_NET_BIND_SERVICE`
with `User=`; or listen on a port at or above 1024 behind a proxy. Lowering
`net.ipv4.ip_unprivileged_port_start` works but lets every user of the host bind low ports.
Kubernetes: the pod sysctl `net.ipv4.ip_unprivileged_port_start: "0"` in `securityContext.sysctls` (a safe
sysctl since 1.22; not with `hostNetwork: true`), or listen on 8080 and map Service `port: 80` to
`targetPort: 8080`. macOS: bind the wildcard address, or use launchd socket activation.
"#,
};

/// Reports ports the account cannot bind.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let target = &cx.manifest.target;
    let per_container = cx.manifest.kind == crate::manifest::Kind::Kubernetes;
    if (target.run_as.is_privileged() && !per_container) || target.platform == Platform::Windows {
        return;
    }
    let start = defaults::unprivileged_port_start(cx.facts);
    for (svc, port) in cx.manifest.ports() {
        let Some(n) = port.number else { continue };
        let finding = match target.platform {
            Platform::Windows => None,
            Platform::Linux if port.docker => (n < start.value).then(|| {
                Finding::new(
                    &META,
                    port.number_path.clone(),
                    format!(
                        "host port {} of `{}` is below {} ({}): with `run_as: user` Docker runs rootless, and its port forwarder can't bind it",
                        port.label(),
                        svc.name,
                        start.value,
                        start.describe()
                    ),
                )
                .help(format!(
                    "on the Docker host: `sysctl -w net.ipv4.ip_unprivileged_port_start={n}` (persist it in /etc/sysctl.d/), or `setcap cap_net_bind_service=ep $(which rootlesskit)` and restart the rootless daemon; or publish a port >= {} (or set `run_as: root` if dockerd runs as root)",
                    start.value
                ))
            }),
            Platform::Linux => (n < start.value && !target.has_capability("NET_BIND_SERVICE")).then(|| {
                Finding::new(
                    &META,
                    port.number_path.clone(),
                    format!(
                        "port {} of `{}` is below {} ({}) and a non-root process without CAP_NET_BIND_SERVICE cannot bind it",
                        port.label(),
                        svc.name,
                        start.value,
                        start.describe()
                    ),
                )
                .help(format!(
                    "grant the capability: `setcap 'cap_net_bind_service=+ep' /path/to/binary` (again after each deploy) or systemd `AmbientCapabilities=CAP_NET_BIND_SERVICE`, then add NET_BIND_SERVICE to `target.capabilities`; or listen on a port >= {} behind a proxy",
                    start.value
                ))
            }),
            Platform::Kubernetes if port.container.is_some() || svc.pod.is_some() => {
                super::kube_privileged::check(cx, &META, svc, port, n, &start)
            }
            Platform::Kubernetes => super::kube_privileged::runtime_limit(target.container_runtime, None, false, &start).and_then(|(limit, severity, why)| (n < limit).then(|| {
                let caps_note = if target.has_capability("NET_BIND_SERVICE") {
                    "; `capabilities: [NET_BIND_SERVICE]` does not help: Kubernetes has no ambient capabilities, so a non-root process gets it only from file capabilities on its binary"
                } else {
                    ""
                };
                Finding::new(
                    &META,
                    port.number_path.clone(),
                    format!(
                        "port {} of `{}` is below {limit} ({why}) and a non-root container cannot bind it{caps_note}",
                        port.label(),
                        svc.name,
                    ),
                )
                .severity(severity)
                .help(super::kube_privileged::HELP)
            })),
            Platform::Macos => (n < 1024 && !port.bind.is_unspecified()).then(|| {
                Finding::new(
                    &META,
                    port.bind_path(),
                    format!(
                        "port {} of `{}` binds {}: on macOS only the wildcard address may bind ports below 1024 without root",
                        port.label(),
                        svc.name,
                        port.bind
                    ),
                )
                .help("bind `0.0.0.0` or `::` (allowed for any user since macOS 10.14), run as root, or use launchd socket activation")
            }),
        };
        if let Some(f) = finding {
            out.push(
                f.label("needs privilege")
                    .fix(Fix::GrantBindCapability {
                        service: svc.name.clone(),
                        port: n,
                        protocol: port.protocol,
                    })
                    .evidence("unprivileged_port_start", start.value)
                    .evidence("source", start.origin.as_str()),
            );
        }
    }
}
