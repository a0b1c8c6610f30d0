//! `reuse-address`: SO_REUSEADDR where it matters — missing on Unix, dangerous on Windows.

use super::Context;
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::{Expose, Platform, Protocol, Runtime};

/// Metadata of `reuse-address`.
pub const META: RuleMeta = RuleMeta {
    id: "reuse-address",
    severity: Severity::Warning,
    summary: "a restart may fail without SO_REUSEADDR (Linux, macOS), or SO_REUSEADDR lets others take the port (Windows)",
    facts: &[],
    docs: r#"## What it does
Looks at whether each service's TCP listeners set SO_REUSEADDR: as declared in `socket.reuse_address`,
or else the runtime's known default. Verified defaults on Linux: Go, Rust std, Node (`net`, `http`), Java
(`ServerSocket`, NIO), nginx, and Python's `asyncio` and `http.server` set it; Python's plain `socket` and
`socketserver.TCPServer` do not (declare `reuse_address: false` for those); .NET is unverified. With
`runtime: other` (or `dotnet`) and nothing declared there is no finding.

- **linux, macos, kubernetes**: a service that does not set it gets a warning.
- **windows**: `reuse_address: true` is an error; a public port without `exclusive_address: true` is info.

## Why is this bad?
On Linux a restarted server binds while the previous instance's connections sit in TIME_WAIT (a fixed
60 s) only if both the old and the new socket set SO_REUSEADDR; otherwise the restart fails with "address
already in use". On Windows SO_REUSEADDR means something else: another socket may bind a port *in active
use*, and delivery between the two becomes undefined — a way to steal a service's traffic. Windows servers
should set SO_EXCLUSIVEADDRUSE instead.

## Example
```yaml
target: { platform: linux }
services:
  worker:
    runtime: python
    socket: { reuse_address: false }   # socketserver.TCPServer
    ports:
      http: 8080
```

## Fix
Linux/macOS: set SO_REUSEADDR before `bind` (Python: `allow_reuse_address = True` on the server class, or
`sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)`). Windows: do not set SO_REUSEADDR; set
SO_EXCLUSIVEADDRUSE on the listening socket and declare `exclusive_address: true`.
"#,
};

/// Reports SO_REUSEADDR problems per service.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let platform = cx.manifest.target.platform;
    for svc in &cx.manifest.services {
        // Nothing is allocated for a service that passes (10,000 services, a few findings).
        let tcp = svc.ports.iter().filter(|p| p.protocol == Protocol::Tcp);
        let Some(first) = tcp.clone().next() else {
            continue;
        };
        let declared = svc.socket.reuse_address;
        let socket_path = || format!("{}.socket.reuse_address", svc.path);
        if platform == Platform::Windows {
            let reuse = declared.or_else(|| svc.runtime.windows_reuse_address());
            if reuse == Some(true) {
                out.push(
                    Finding::new(
                        &META,
                        socket_path(),
                        format!(
                            "`{}` sets SO_REUSEADDR on Windows: another process can bind the same port while it is in use and take its traffic",
                            svc.name
                        ),
                    )
                    .severity(Severity::Error)
                    .label("SO_REUSEADDR on Windows")
                    .help("remove SO_REUSEADDR and set SO_EXCLUSIVEADDRUSE on the listening socket, then declare `exclusive_address: true`")
                    .fix(Fix::SetSocketOption { service: svc.name.clone(), option: "SO_REUSEADDR".into(), value: false })
                    .fix(Fix::SetSocketOption { service: svc.name.clone(), option: "SO_EXCLUSIVEADDRUSE".into(), value: true }),
                );
                continue;
            }
            let known = svc.socket.exclusive_address.is_some()
                || !matches!(svc.runtime, Runtime::Other | Runtime::Iis);
            if !known || svc.socket.exclusive_address == Some(true) {
                continue;
            }
            for port in tcp.filter(|p| p.expose == Expose::Public) {
                out.push(
                    Finding::new(
                        &META,
                        port.number_path.clone(),
                        format!(
                            "public port {} of `{}` does not declare SO_EXCLUSIVEADDRUSE: a process of the same account can bind it with SO_REUSEADDR and receive its traffic",
                            port.label(),
                            svc.name
                        ),
                    )
                    .severity(Severity::Info)
                    .label("not exclusive")
                    .help("set SO_EXCLUSIVEADDRUSE on the listening socket and declare `socket: { exclusive_address: true }`")
                    .fix(Fix::SetSocketOption { service: svc.name.clone(), option: "SO_EXCLUSIVEADDRUSE".into(), value: true }),
                );
            }
            continue;
        }
        let reuse = match declared {
            Some(v) => v,
            None => match svc.runtime.unix_reuse_address() {
                Some(v) => v,
                None => continue,
            },
        };
        if reuse {
            continue;
        }
        let why = match declared {
            Some(_) => "declared `reuse_address: false`".to_owned(),
            None => format!("the default of runtime `{}`", svc.runtime.as_str()),
        };
        let path = if declared.is_some() {
            socket_path()
        } else {
            first.number_path.clone()
        };
        out.push(
            Finding::new(
                &META,
                path,
                format!(
                    "`{}` does not set SO_REUSEADDR ({why}): a restart while connections sit in TIME_WAIT fails with \"address already in use\" for up to 60 s",
                    svc.name
                ),
            )
            .label("no SO_REUSEADDR")
            .help("set SO_REUSEADDR on the listening socket before bind (Python: `allow_reuse_address = True`), then declare `reuse_address: true`")
            .fix(Fix::SetSocketOption { service: svc.name.clone(), option: "SO_REUSEADDR".into(), value: true }),
        );
    }
}
