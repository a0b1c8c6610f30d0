//! `preflight diagnose`: from the error a service died with to its likely causes, each tied to a rule.
//!
//! The text is classified by error (in use, access denied, address not available, no buffers, refused),
//! by operation (the service's own `bind`/`listen`, or an outbound `connect`/`dial`), by platform (errno
//! numbers and Winsock codes differ), and the port and address are extracted in the forms Go, Node,
//! Python, Java, .NET, Rust, nginx and Docker print (shared/domain-facts.md §6). Causes are ranked; with
//! host facts the extracted port is checked against the host and the ranking follows the evidence.

mod causes;
mod classify;
mod model;

use crate::facts::{Facts, SocketState, defaults};
use crate::ports::binds_overlap;
use crate::ports::{Platform, Protocol};
pub use model::{Cause, Diagnosis, ErrorKind, Operation};

use causes::{denied_causes, in_use_causes};
use classify::{classify, endpoint, operation};

/// Diagnoses an error text.
pub fn diagnose(text: &str) -> Diagnosis {
    diagnose_on(text, None)
}

/// The platform a home directory in a path tells (`/home/…` on Linux, `/Users/…` on macOS), or a
/// build's target triple (`aarch64-unknown-linux-gnu`, as PostgreSQL's start-up line prints it).
/// Windows paths are read with the error's own evidence, in `classify`.
fn home_platform(text: &str) -> Option<&'static str> {
    let after_path_start = |needle: &str| {
        text.match_indices(needle).any(|(at, _)| {
            text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '.' && c != '/' && c != ':')
        })
    };
    if after_path_start("/home/") || text.contains("-linux-gnu") || text.contains("-linux-musl") {
        Some("linux")
    } else if after_path_start("/Users/") {
        Some("macos")
    } else {
        None
    }
}

/// Diagnoses an error text from a known platform (`linux`, `windows`, `macos`); `None` lets the text tell.
pub fn diagnose_on(text: &str, known: Option<&'static str>) -> Diagnosis {
    let (kind, errno, told) = classify(text);
    let mut platform = known.or(told);
    let op = operation(text, kind);
    let (address, port) = endpoint(text, kind);
    if platform.is_none() && text.contains("JVM_Bind") {
        platform = Some("windows");
    }
    if platform.is_none() {
        platform = home_platform(text);
    }
    let p = port.map_or_else(|| "PORT".to_owned(), |p| p.to_string());
    let causes = match (kind, op) {
        (ErrorKind::AddressInUse, Operation::Connect) => vec![Cause {
            rule: Some("ephemeral-range"),
            likelihood: "high",
            why: "an outbound connect of a socket bound to a fixed local port found it in use: the local ports for outgoing connections are exhausted or reused too fast; the service's own listening port is not the problem".into(),
            confirm: vec!["ss -tan state time-wait | wc -l".into(), "sysctl net.ipv4.ip_local_port_range".into()],
            fix: vec!["reuse connections (keep-alive, pooling) instead of opening one per request".into(), "widen the ephemeral range".into()],
        }],
        (ErrorKind::AddressInUse, _) => in_use_causes(port, platform),
        (ErrorKind::AccessDenied, _) => denied_causes(port, platform),
        (ErrorKind::AddressNotAvailable | ErrorKind::NoBuffers, Operation::Connect) | (ErrorKind::NoBuffers, _) => vec![Cause {
            rule: Some("ephemeral-range"),
            likelihood: "high",
            why: "outbound connections exhausted the ephemeral (dynamic) ports: every local port for new connections is in use or in TIME_WAIT. This is not a problem of the service's listening port; freeing a port won't help".into(),
            confirm: if platform == Some("windows") {
                vec!["netstat -ano | find /c \"TIME_WAIT\"".into(), "netsh int ipv4 show dynamicport tcp".into()]
            } else {
                vec!["ss -tan state time-wait | wc -l".into(), "sysctl net.ipv4.ip_local_port_range".into()]
            },
            fix: vec!["reuse connections (HTTP keep-alive, connection pools) instead of one per request".into(), "widen the range (net.ipv4.ip_local_port_range; netsh int ipv4 set dynamicport tcp start=… num=…)".into(), "Linux: net.ipv4.tcp_tw_reuse=1 lets outgoing connections reuse TIME_WAIT ports".into()],
        }],
        (ErrorKind::AddressNotAvailable, _) => vec![Cause {
            rule: None,
            likelihood: "high",
            why: format!("the bind address {} is not an address of this host (a container's or another host's IP, a typo, or an interface that is not up yet)", address.clone().unwrap_or_else(|| "given".into())),
            confirm: vec!["ip -brief address   (Windows: Get-NetIPAddress)".into()],
            fix: vec!["bind 0.0.0.0 / :: or one of the host's addresses; start the service after the network is up (systemd: After=network-online.target)".into()],
        }],
        (ErrorKind::ConnectionRefused, _) => vec![
            Cause {
                rule: None,
                likelihood: "high",
                why: format!("nothing listens on the peer's {p}: the peer service is down, still starting, or bound to another address (127.0.0.1 only?)"),
                confirm: vec![format!("on the peer: ss -ltnp 'sport = :{p}'  (Windows: Get-NetTCPConnection -LocalPort {p} -State Listen)")],
                fix: vec!["start the peer, or point the client at the address and port the peer listens on".into()],
            },
            Cause {
                rule: Some("firewall-blocked"),
                likelihood: "medium",
                why: "the peer's firewall rejects the connection (a REJECT rule answers with refused; a DROP makes it time out)".into(),
                confirm: vec!["preflight check deploy.yaml --facts PEER.json".into()],
                fix: vec!["open the port on the peer: preflight fix deploy.yaml --facts PEER.json --dialect sh".into()],
            },
            Cause {
                rule: Some("unreachable-bind"),
                likelihood: "medium",
                why: "the peer listens on a loopback address, which only its own host can reach".into(),
                confirm: vec!["preflight check deploy.yaml".into()],
                fix: vec!["bind 0.0.0.0 on the peer, or expose it: local".into()],
            },
        ],
        (ErrorKind::Unknown, _) => Vec::new(),
    };
    Diagnosis {
        port,
        address,
        errno,
        kind,
        operation: op,
        platform,
        causes,
    }
}

/// Re-ranks the causes with host facts: what the host shows becomes `high`, what it rules out `low`.
pub fn with_facts(mut d: Diagnosis, facts: &Facts, platform: Platform) -> Diagnosis {
    let Some(port) = d.port else { return d };
    let bind: std::net::IpAddr = d
        .address
        .as_deref()
        .and_then(|a| a.parse().ok())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let sockets = facts.sockets.as_ref().map(|s| &s.value[..]).unwrap_or(&[]);
    let listening = sockets.iter().find(|s| {
        s.port == port
            && s.protocol == Protocol::Tcp
            && s.state == SocketState::Listen
            && binds_overlap(s.address, bind)
    });
    let time_wait = sockets
        .iter()
        .filter(|s| s.port == port && s.state == SocketState::TimeWait)
        .count();
    let excluded = facts.excluded(Protocol::Tcp).and_then(|e| {
        e.value
            .iter()
            .find(|x| x.range.contains(port))
            .map(|x| x.range)
    });
    let ephemeral =
        defaults::ephemeral_range(platform, Some(facts), Protocol::Tcp).map(|r| r.value);
    let start = defaults::unprivileged_port_start(Some(facts)).value;
    for c in &mut d.causes {
        let evidence = match c.rule {
            Some("port-occupied") if facts.sockets.is_some() => Some(listening.map(|s| {
                format!(
                    "the host shows {} listening on {}:{port}",
                    s.process.clone().map_or_else(
                        || s.pid.map_or("a process".into(), |p| format!("PID {p}")),
                        |n| format!("{n} (PID {})", s.pid.unwrap_or(0))
                    ),
                    s.address
                )
            })),
            Some("time-wait") if facts.sockets.is_some() => Some((time_wait > 0).then(|| {
                format!("the host shows {time_wait} connection(s) in TIME_WAIT on {port}")
            })),
            Some("excluded-range") if facts.excluded_tcp.is_some() => {
                Some(excluded.map(|r| format!("the host excludes {r}")))
            }
            Some("ephemeral-range") if d.operation == Operation::Bind => Some(
                ephemeral
                    .filter(|r| r.contains(port))
                    .map(|r| format!("{port} is inside the host's dynamic range {r}")),
            ),
            Some("privileged-port") if facts.unprivileged_port_start.is_some() => {
                Some((port < start).then(|| {
                    format!("{port} is below the host's ip_unprivileged_port_start {start}")
                }))
            }
            _ => None,
        };
        match evidence {
            Some(Some(e)) => {
                c.likelihood = "high";
                c.why = format!("{e}: {}", c.why);
            }
            Some(None) => c.likelihood = "low",
            None => {}
        }
    }
    let rank = |l: &str| match l {
        "high" => 0,
        "medium" => 1,
        _ => 2,
    };
    d.causes.sort_by_key(|c| rank(c.likelihood));
    d
}

/// Writes a diagnosis for people.
pub fn write_text(out: &mut dyn std::io::Write, d: &Diagnosis) -> std::io::Result<()> {
    let what = match d.kind {
        ErrorKind::AddressInUse => "address already in use",
        ErrorKind::AccessDenied => "access denied",
        ErrorKind::AddressNotAvailable => "address not available",
        ErrorKind::NoBuffers => "no buffer space (ports exhausted)",
        ErrorKind::ConnectionRefused => "connection refused",
        ErrorKind::Unknown => "not a socket error preflight recognises",
    };
    let op = match d.operation {
        Operation::Bind => "the service's own bind/listen",
        Operation::Connect => "an outbound connect",
        Operation::Unknown => "a socket call",
    };
    let at = match (&d.address, d.port) {
        (Some(a), Some(p)) => format!(" on {a}:{p}"),
        (None, Some(p)) => format!(" on port {p}"),
        _ => String::new(),
    };
    writeln!(
        out,
        "{what}{} in {op}{at}{}",
        d.errno
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default(),
        d.platform.map(|p| format!(", {p}")).unwrap_or_default()
    )?;
    if d.causes.is_empty() {
        writeln!(
            out,
            "no likely causes: paste the whole error line, including the errno or Winsock code"
        )?;
    }
    for (i, c) in d.causes.iter().enumerate() {
        writeln!(
            out,
            "\n{}. [{}] {}: {}",
            i + 1,
            c.rule.unwrap_or("no rule"),
            c.likelihood,
            c.why
        )?;
        for cmd in &c.confirm {
            writeln!(out, "   confirm: {cmd}")?;
        }
        for f in &c.fix {
            writeln!(out, "   fix:     {f}")?;
        }
    }
    Ok(())
}
