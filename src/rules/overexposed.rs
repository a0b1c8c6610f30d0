//! `overexposed`: a port reachable from more places than its `expose` says.

use super::Context;
use crate::facts::firewall::Verdict;
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::manifest::{Expose, Port};
use crate::ports::is_loopback;

/// Metadata of `overexposed`.
pub const META: RuleMeta = RuleMeta {
    id: "overexposed",
    severity: Severity::Warning,
    summary: "a local or internal port is reachable from more places than it should be",
    facts: &["firewall"],
    docs: r#"## What it does
Reports the opposite of `firewall-blocked`:

- a port with `expose: local` bound to a non-loopback address (no facts needed): other hosts can reach
  it unless a firewall stops them;
- with firewall facts, a port with `expose: internal` or `local` (on a non-loopback address) that the
  host firewall admits from any source address, naming the accepting rule or policy;
- a database port (PostgreSQL 5432, MySQL 3306, Redis 6379, MongoDB 27017, Elasticsearch 9200, …, as
  the container port or the host port) that a Compose file publishes on every address: Docker's own
  iptables chains admit published ports before ufw's or firewalld's INPUT rules are consulted, so it is
  reachable from any host that can reach this one.

## Why is this bad?
Admin endpoints, databases and debug ports meant for the host or the internal network end up reachable
from wherever the host is reachable — a common path to data leaks and takeovers.

## Example
```yaml
services:
  api:
    ports:
      admin: { port: 9000, bind: 0.0.0.0, expose: local }
```

## Fix
Bind a loopback address (`127.0.0.1` or `::1`) for `expose: local`; in Compose, publish the database on
loopback (`"127.0.0.1:5432:5432"`) or not at all (other containers of the project reach it by service
name over the project's network). For `internal`, restrict the accepting
rule to the internal network (`ip saddr 10.0.0.0/8 tcp dport 9000 accept`,
`firewall-cmd --permanent --zone=internal --add-port=9000/tcp`, a Windows rule with `-RemoteAddress`).
"#,
};

/// Container ports of databases and stores that have no business being reachable from other hosts.
const DATABASE_PORTS: &[(u16, &str)] = &[
    (1433, "SQL Server"),
    (1521, "Oracle"),
    (2379, "etcd"),
    (3306, "MySQL/MariaDB"),
    (5432, "PostgreSQL"),
    (5984, "CouchDB"),
    (6379, "Redis"),
    (7687, "Neo4j (Bolt)"),
    (8086, "InfluxDB"),
    (9042, "Cassandra"),
    (9200, "Elasticsearch"),
    (11211, "memcached"),
    (26257, "CockroachDB"),
    (27017, "MongoDB"),
];

/// The database a Docker-published port serves on every address, when it is one.
fn published_database(port: &Port) -> Option<&'static str> {
    if !port.docker || !port.bind.is_unspecified() {
        return None;
    }
    let db = |n: u16| {
        DATABASE_PORTS
            .iter()
            .find(|(p, _)| *p == n)
            .map(|(_, d)| *d)
    };
    port.target
        .and_then(db)
        .or_else(|| port.number.and_then(db))
}

/// Reports over-exposed ports.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let fw = cx.facts.and_then(|f| f.firewall.as_ref());
    for (svc, port) in cx.manifest.ports() {
        if let (Some(db), Some(n)) = (published_database(port), port.number) {
            let target = port.target.unwrap_or(n);
            out.push(
                Finding::new(
                    &META,
                    port.number_path.clone(),
                    format!(
                        "{db} port {} of `{}` is published on every address: Docker's own iptables rules admit it from any host, before ufw or firewalld INPUT rules are consulted",
                        port.label(),
                        svc.name
                    ),
                )
                .label("database on every address")
                .help(format!(
                    "publish it on loopback (\"127.0.0.1:{n}:{target}\"), or remove the entry if only other containers use it (they reach `{}:{target}` over the project network)",
                    svc.name
                ))
                .fix(Fix::BindAddress {
                    service: svc.name.clone(),
                    port: port.name.clone(),
                    address: "127.0.0.1".into(),
                }),
            );
            continue;
        }
        if port.expose == Expose::Public || is_loopback(port.bind) {
            continue;
        }
        // Forwarded ports (Docker, hostPort) don't pass the INPUT rules the decision reads.
        let node = if port.forwarded(svc) {
            None
        } else {
            port.node(svc)
        };
        let decision = match (fw, node.as_ref().map(|(n, _)| *n)) {
            (Some(_), Some(n)) => cx
                .firewall_decide(port.protocol, n, port.bind)
                .ok()
                .flatten(),
            _ => None,
        };
        let (open_by, closed_by) = match &decision {
            Some(d) => match &d.verdict {
                Verdict::Open { by, .. } => (
                    Some(format!(
                        "{} admits it from any source address ({by})",
                        d.backend
                    )),
                    None,
                ),
                Verdict::Blocked { by } => (None, Some(format!("{} ({by})", d.backend))),
                Verdict::Restricted { by, condition, .. } => (
                    None,
                    Some(format!("{} except {condition} ({by})", d.backend)),
                ),
            },
            None => (None, None),
        };
        let loopback = if port.bind.is_ipv4() {
            "127.0.0.1"
        } else {
            "::1"
        };
        let f = match (port.expose, open_by) {
            (Expose::Local, open) => Finding::new(
                &META,
                port.bind_path(),
                format!(
                    "port `{}` of `{}` is `expose: local` but binds {}{}",
                    port.name,
                    svc.name,
                    port.bind,
                    match (open, closed_by) {
                        (Some(o), _) => format!(", so other hosts can reach it: {o}"),
                        (None, Some(c)) =>
                            format!("; only the firewall keeps other hosts out today: {c}"),
                        (None, None) =>
                            ", so other hosts can reach it unless a firewall stops them".into(),
                    }
                ),
            )
            .label("not loopback")
            .help(format!("bind `{loopback}` so only this host can connect"))
            .fix(Fix::BindAddress {
                service: svc.name.clone(),
                port: port.name.clone(),
                address: loopback.into(),
            }),
            (_, Some(open)) => {
                let (n, at) = node.unwrap_or((0, &port.number_path));
                Finding::new(
                    &META,
                    at,
                    format!("internal port {n}/{} of `{}` is reachable from anywhere: {open}", port.protocol.as_str(), svc.name),
                )
                .label("open to any source")
                .help("restrict the accepting rule to the internal network's source addresses, or close it if nothing outside this host uses it")
                .fix(Fix::RestrictFirewall { port: n, protocol: port.protocol })
            }
            _ => continue,
        };
        out.push(f);
    }
}
