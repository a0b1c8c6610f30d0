//! `preflight diagnose`: from the error a service died with to its likely causes, each tied to a rule.
//!
//! The text is classified by error (in use, access denied, address not available, no buffers, refused),
//! by operation (the service's own `bind`/`listen`, or an outbound `connect`/`dial`), by platform (errno
//! numbers and Winsock codes differ), and the port and address are extracted in the forms Go, Node,
//! Python, Java, .NET, Rust, nginx and Docker print (shared/domain-facts.md §6). Causes are ranked; with
//! host facts the extracted port is checked against the host and the ranking follows the evidence.

use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::facts::{Facts, SocketState, defaults};
use crate::ports::binds_overlap;
use crate::ports::{Platform, Protocol};

/// What the error says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// EADDRINUSE / WSAEADDRINUSE 10048.
    AddressInUse,
    /// EACCES / WSAEACCES 10013.
    AccessDenied,
    /// EADDRNOTAVAIL / WSAEADDRNOTAVAIL 10049.
    AddressNotAvailable,
    /// ENOBUFS / WSAENOBUFS 10055.
    NoBuffers,
    /// ECONNREFUSED / WSAECONNREFUSED 10061.
    ConnectionRefused,
    /// Nothing recognised.
    Unknown,
}

/// Which socket call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// The service's own `bind`/`listen`.
    Bind,
    /// An outbound `connect`/`dial`.
    Connect,
    /// Not said.
    Unknown,
}

/// One likely cause.
#[derive(Clone, Debug, Serialize)]
pub struct Cause {
    /// The rule that checks for it before a deploy (none where no rule can).
    pub rule: Option<&'static str>,
    /// `high`, `medium` or `low`.
    pub likelihood: &'static str,
    /// Why this is a likely cause.
    pub why: String,
    /// Commands that confirm it.
    pub confirm: Vec<String>,
    /// Commands or changes that fix it.
    pub fix: Vec<String>,
}

/// The diagnosis of one error text.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    /// The port, when the text names one.
    pub port: Option<u16>,
    /// The address, when the text names one.
    pub address: Option<String>,
    /// The error as named (`EADDRINUSE`, `WSAEACCES (10013)`), when recognised.
    pub errno: Option<String>,
    /// The kind of error.
    pub kind: ErrorKind,
    /// The failing operation.
    pub operation: Operation,
    /// The platform the text comes from, when it tells.
    pub platform: Option<&'static str>,
    /// Likely causes, most likely first.
    pub causes: Vec<Cause>,
}

/// A constant pattern, compiled once (`None` only if the pattern itself were broken; tests compile all).
fn re(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

fn classify(t: &str) -> (ErrorKind, Option<String>, Option<&'static str>) {
    let l = t.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| l.contains(n));
    if has(&[
        "10048",
        "only one usage of each socket address",
        "wsaeaddrinuse",
    ]) {
        return (
            ErrorKind::AddressInUse,
            Some("WSAEADDRINUSE (10048)".into()),
            Some("windows"),
        );
    }
    if has(&["10013", "forbidden by its access permissions", "wsaeacces"]) {
        return (
            ErrorKind::AccessDenied,
            Some("WSAEACCES (10013)".into()),
            Some("windows"),
        );
    }
    if has(&["10049", "not valid in its context", "wsaeaddrnotavail"]) {
        return (
            ErrorKind::AddressNotAvailable,
            Some("WSAEADDRNOTAVAIL (10049)".into()),
            Some("windows"),
        );
    }
    if has(&["10055", "lacked sufficient buffer space", "wsaenobufs"]) {
        return (
            ErrorKind::NoBuffers,
            Some("WSAENOBUFS (10055)".into()),
            Some("windows"),
        );
    }
    if has(&["10061", "actively refused"]) {
        return (
            ErrorKind::ConnectionRefused,
            Some("WSAECONNREFUSED (10061)".into()),
            Some("windows"),
        );
    }
    let errno = |n: &str| {
        has(&[
            &format!("errno {n}]"),
            &format!("os error {n})"),
            &format!("({n}:"),
            &format!("errno {n} "),
        ])
    };
    if has(&[
        "address already in use",
        "eaddrinuse",
        "jvm_bind",
        "address in use",
    ]) {
        let platform = if errno("48") {
            Some("macos")
        } else if errno("98") {
            Some("linux")
        } else {
            None
        };
        return (ErrorKind::AddressInUse, Some("EADDRINUSE".into()), platform);
    }
    if has(&[
        "cannot assign requested address",
        "eaddrnotavail",
        "address not available",
        "can't assign requested address",
    ]) {
        let platform = if errno("49") || l.contains("can't assign") {
            Some("macos")
        } else if errno("99") {
            Some("linux")
        } else {
            None
        };
        return (
            ErrorKind::AddressNotAvailable,
            Some("EADDRNOTAVAIL".into()),
            platform,
        );
    }
    if has(&["permission denied", "eacces", "access denied"]) {
        return (ErrorKind::AccessDenied, Some("EACCES".into()), None);
    }
    if has(&["no buffer space available", "enobufs"]) {
        return (ErrorKind::NoBuffers, Some("ENOBUFS".into()), None);
    }
    if has(&["connection refused", "econnrefused"]) {
        return (
            ErrorKind::ConnectionRefused,
            Some("ECONNREFUSED".into()),
            None,
        );
    }
    (ErrorKind::Unknown, None, None)
}

fn operation(t: &str, kind: ErrorKind) -> Operation {
    let l = t.to_ascii_lowercase();
    let connect = [
        "dial ",
        "connect:",
        "connect(",
        "connect ",
        "connection refused",
        "actively refused",
        "cannot connect",
        "connecting",
    ];
    let bind = [
        "listen ",
        "bind",
        "failed to bind",
        "userland proxy",
        "ports are not available",
        "startup",
        "serve",
    ];
    if connect.iter().any(|k| l.contains(k)) && !l.contains("bind:") && !l.contains("listen tcp") {
        return Operation::Connect;
    }
    if bind.iter().any(|k| l.contains(k)) {
        return Operation::Bind;
    }
    match kind {
        ErrorKind::ConnectionRefused | ErrorKind::NoBuffers => Operation::Connect,
        ErrorKind::AddressInUse | ErrorKind::AccessDenied => Operation::Bind,
        _ => Operation::Unknown,
    }
}

/// The address and port the text names: `0.0.0.0:80`, `[::1]:8080`, `:::3000`, `:8080`,
/// `('127.0.0.1', 3005)`, `http://127.0.0.1:5000`, `port 8080`.
fn endpoint(t: &str) -> (Option<String>, Option<u16>) {
    static PY: OnceLock<Option<Regex>> = OnceLock::new();
    static URL: OnceLock<Option<Regex>> = OnceLock::new();
    static HOSTPORT: OnceLock<Option<Regex>> = OnceLock::new();
    static PORT: OnceLock<Option<Regex>> = OnceLock::new();
    let port = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|p| (1..=65535).contains(p))
            .map(|p| p as u16)
    };
    if let Some(c) = re(&PY, r"\('([0-9a-fA-F:.]+)',\s*(\d{1,5})").and_then(|r| r.captures(t)) {
        return (Some(c[1].to_owned()), port(&c[2]));
    }
    if let Some(c) = re(
        &URL,
        r"https?://(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost|\*|\+):(\d{1,5})",
    )
    .and_then(|r| r.captures(t))
    {
        return (Some(c[1].trim_matches(['[', ']']).to_owned()), port(&c[2]));
    }
    // The last address:port in the text is the local one in "dial tcp A:P" and "listen tcp A:P"
    // alike, except Docker's "exposing port TCP 0.0.0.0:8080 -> 0.0.0.0:0", where the first is.
    let all: Vec<(String, Option<u16>)> = re(
        &HOSTPORT,
        r"(\[[0-9a-fA-F:.%a-z]+\]|::|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\*)?:(\d{1,5})\b",
    )
    .map(|r| {
        r.captures_iter(t)
            .map(|c| {
                (
                    c.get(1).map_or(String::new(), |m| {
                        m.as_str().trim_matches(['[', ']']).to_owned()
                    }),
                    port(&c[2]),
                )
            })
            .filter(|(_, p)| p.is_some())
            .collect()
    })
    .unwrap_or_default();
    // Prefer an address:port; a bare `:port` (Go's `listen tcp :8080`) is taken last-first, so a
    // timestamp earlier on the line (`12:30:45`) doesn't win.
    if let Some((a, p)) = all.iter().find(|(a, _)| !a.is_empty()) {
        return (Some(a.clone()), *p);
    }
    if let Some((_, p)) = all.last() {
        return (None, *p);
    }
    if let Some(c) = re(&PORT, r"(?i)\bport\s+(\d{1,5})\b").and_then(|r| r.captures(t)) {
        return (None, port(&c[1]));
    }
    (None, None)
}

fn in_use_causes(port: Option<u16>, platform: Option<&str>) -> Vec<Cause> {
    let p = port.map_or_else(|| "PORT".to_owned(), |p| p.to_string());
    let windows = platform == Some("windows");
    let mut causes = vec![Cause {
        rule: Some("port-occupied"),
        likelihood: "high",
        why: format!(
            "another process already listens on {p}: another server (IIS/HTTP.sys on 80, SQL Server on 1433), or an old instance of this service"
        ),
        confirm: if windows {
            vec![
                format!(
                    "Get-NetTCPConnection -LocalPort {p} -State Listen -ErrorAction SilentlyContinue | Select LocalAddress,LocalPort,OwningProcess"
                ),
                format!("netstat -ano | findstr :{p}"),
                "netsh http show servicestate   (when the owner is System, PID 4)".into(),
            ]
        } else {
            vec![
                format!("ss -ltnp 'sport = :{p}'"),
                format!("lsof -nP -iTCP:{p} -sTCP:LISTEN"),
            ]
        },
        fix: vec![format!(
            "stop the owner if it should not run there (systemctl stop / Stop-Service), or move the service to a free port: preflight suggest --team TEAM"
        )],
    }];
    if !windows {
        causes.push(Cause {
            rule: Some("time-wait"),
            likelihood: "medium",
            why: "a restart within 60 s of the last instance, while its connections sit in TIME_WAIT, fails unless both the old and the new listener set SO_REUSEADDR".to_owned(),
            confirm: vec![format!("ss -tan state time-wait '( sport = :{p} )'")],
            fix: vec!["set SO_REUSEADDR on the listening socket before bind (declare `socket: { reuse_address: true }`)".into()],
        });
    }
    causes.push(Cause {
        rule: Some("port-conflict"),
        likelihood: "medium",
        why: "two services of the same deploy picked the same port, or one binds 0.0.0.0 and another a specific address of the same port (they conflict on Linux)".into(),
        confirm: vec!["preflight check deploy.yaml".into()],
        fix: vec!["give one of them another port".into()],
    });
    causes.push(Cause {
        rule: Some("ephemeral-range"),
        likelihood: "low",
        why: "the port is inside the dynamic range, so an outbound connection or a bind(0) took it first".into(),
        confirm: if windows { vec!["netsh int ipv4 show dynamicport tcp".into()] } else { vec!["sysctl net.ipv4.ip_local_port_range".into()] },
        fix: vec!["move the port below the dynamic range, or reserve it (net.ipv4.ip_local_reserved_ports; netsh … add excludedportrange)".into()],
    });
    causes
}

fn denied_causes(port: Option<u16>, platform: Option<&str>) -> Vec<Cause> {
    let p = port.map_or_else(|| "PORT".to_owned(), |p| p.to_string());
    if platform == Some("windows") {
        return vec![
            Cause {
                rule: Some("excluded-range"),
                likelihood: "high",
                why: format!("{p} lies in a range Windows excludes (Hyper-V/WinNAT, WSL2, Docker Desktop): nothing listens there, yet bind is refused with 10013"),
                confirm: vec!["netsh interface ipv4 show excludedportrange protocol=tcp".into()],
                fix: vec![format!("move the port out of the range, or as administrator: net stop winnat; netsh int ipv4 add excludedportrange protocol=tcp startport={p} numberofports=1; net start winnat")],
            },
            Cause {
                rule: Some("port-occupied"),
                likelihood: "medium",
                why: "another process holds the port with SO_EXCLUSIVEADDRUSE (Windows answers 10013 instead of 10048 then)".into(),
                confirm: vec![format!("Get-NetTCPConnection -LocalPort {p} -ErrorAction SilentlyContinue | Select OwningProcess")],
                fix: vec!["stop the owner or move the service".into()],
            },
        ];
    }
    let low = port.is_none_or(|p| p < 1024);
    vec![Cause {
        rule: Some("privileged-port"),
        likelihood: if low { "high" } else { "low" },
        why: format!(
            "{p} is below net.ipv4.ip_unprivileged_port_start (1024 by default) and the process lacks CAP_NET_BIND_SERVICE (macOS: only the wildcard address is free for non-root since 10.14)"
        ),
        confirm: vec![
            "sysctl net.ipv4.ip_unprivileged_port_start".into(),
            "getcap /path/to/binary".into(),
            "id".into(),
        ],
        fix: vec![
            "setcap 'cap_net_bind_service=+ep' /path/to/binary (again after each deploy)".into(),
            "systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE".into(),
            "Kubernetes: the pod sysctl net.ipv4.ip_unprivileged_port_start=0".into(),
            "or listen on a port >= 1024 behind a proxy".into(),
        ],
    }]
}

/// Diagnoses an error text.
pub fn diagnose(text: &str) -> Diagnosis {
    diagnose_on(text, None)
}

/// Diagnoses an error text from a known platform (`linux`, `windows`, `macos`); `None` lets the text tell.
pub fn diagnose_on(text: &str, known: Option<&'static str>) -> Diagnosis {
    let (kind, errno, told) = classify(text);
    let mut platform = known.or(told);
    let op = operation(text, kind);
    let (address, port) = endpoint(text);
    if platform.is_none() && text.contains("JVM_Bind") {
        platform = Some("windows");
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
