//! One entry of a Compose service's `ports`, short or long syntax, read into the service's ports.

use std::net::{IpAddr, Ipv6Addr};

use serde_json::Value;

use super::ports::{self, HostPort, Published};
use super::{Reader, scalar_text};
use crate::document::join;
use crate::manifest::{Expose, Ignored, Port};
use crate::ports::Protocol;

impl Reader<'_> {
    /// One entry of `ports`, short or long, into `out`.
    pub(super) fn port(
        &mut self,
        ipath: &str,
        item: &Value,
        network_host: bool,
        out: &mut Vec<Port>,
    ) {
        let (entries, name, number_path) = match item {
            Value::Object(long) => match self.long(ipath, long) {
                Some((p, name, np)) => (vec![p], name, np),
                None => return,
            },
            v => {
                let Some(text) = self.text(ipath, v) else {
                    return;
                };
                let written = scalar_text(v).unwrap_or_default();
                match ports::parse_short(&text) {
                    Ok(list) => (list, written.trim().to_owned(), ipath.to_owned()),
                    Err(e) => {
                        self.problem(
                            ipath,
                            format!("{text:?}: {e}"),
                            "bad port",
                            "write `[HOST_IP:][HOST:]CONTAINER[/PROTOCOL]`, e.g. \"127.0.0.1:8080:80\" or \"8080:80/udp\"",
                        );
                        return;
                    }
                }
            }
        };
        for p in entries {
            let protocol = match p.protocol.as_str() {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                _ => {
                    self.ignored.push(Ignored {
                        path: ipath.to_owned(),
                        message: format!(
                            "`{name}` is an SCTP port: preflight checks TCP and UDP ports only"
                        ),
                        help: "check SCTP ports by hand (`ss -Sln`)".into(),
                    });
                    continue;
                }
            };
            let every = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
            let (number, pick, bind) = if network_host {
                (Some(p.target), None, every)
            } else {
                let bind = p.host_ip.unwrap_or(every);
                match p.host {
                    HostPort::Any => (None, None, bind),
                    HostPort::Fixed(n) => (Some(n), None, bind),
                    HostPort::OneOf(r) => (None, Some(r), bind),
                }
            };
            let expose = if crate::ports::is_loopback(bind) {
                Expose::Local
            } else {
                Expose::Public
            };
            out.push(Port {
                name: name.clone(),
                number,
                protocol,
                bind,
                expose,
                purpose: None,
                path: ipath.to_owned(),
                number_path: number_path.clone(),
                target: Some(p.target),
                pick,
                docker: !network_host,
                container: None,
            });
        }
    }

    /// The long syntax: `target` (required), `published`, `host_ip`, `protocol`, `mode`, `name`.
    fn long(
        &mut self,
        ipath: &str,
        long: &serde_json::Map<String, Value>,
    ) -> Option<(Published, String, String)> {
        let field = |k: &str| join(ipath, k);
        let Some(target_v) = long.get("target") else {
            self.problem(
                ipath,
                "a port in the long syntax needs `target`, the container port".into(),
                "no target",
                "add `target: 80` (the port the container listens on)",
            );
            return None;
        };
        let tpath = field("target");
        let t = self.text(&tpath, target_v)?;
        let target = match ports::number(&t, "container port") {
            Ok(n) => n,
            Err(e) => {
                self.problem(
                    &tpath,
                    e.to_string(),
                    "bad port",
                    "write the container port, 1-65535",
                );
                return None;
            }
        };
        let mut host = HostPort::Any;
        if let Some(v) = long.get("published") {
            let ppath = field("published");
            let t = self.text(&ppath, v)?;
            if !t.trim().is_empty() {
                match ports::range(&t, "published port") {
                    Ok(r) if r.start == r.end => host = HostPort::Fixed(r.start),
                    Ok(r) => host = HostPort::OneOf(r),
                    Err(e) => {
                        self.problem(
                            &ppath,
                            e.to_string(),
                            "bad port",
                            "write a host port (1-65535) or a range `8000-8010`",
                        );
                        return None;
                    }
                }
            }
        }
        let mut host_ip = None;
        if let Some(v) = long.get("host_ip") {
            let hpath = field("host_ip");
            let t = self.text(&hpath, v)?;
            match crate::ports::unbracket(t.trim()).parse::<IpAddr>() {
                Ok(ip) => host_ip = Some(ip),
                Err(_) => {
                    self.problem(
                        &hpath,
                        format!("{t:?} is not an IP address"),
                        "not an address",
                        "use an address such as `127.0.0.1` or `::1`",
                    );
                    return None;
                }
            }
        }
        let mut protocol = "tcp".to_owned();
        if let Some(v) = long.get("protocol") {
            let ppath = field("protocol");
            let t = self.text(&ppath, v)?.to_ascii_lowercase();
            if let Err(e) = ports::protocol_ok(&t) {
                self.problem(
                    &ppath,
                    e.to_string(),
                    "bad protocol",
                    "use tcp, udp or sctp",
                );
                return None;
            }
            protocol = t;
        }
        for key in long.keys() {
            if let Some(why) = super::fields::unread(super::fields::PORT, key) {
                self.unread.push(crate::manifest::Unread {
                    path: field(key),
                    message: format!("`{key}` of a port is not read: {why}"),
                });
            }
        }
        let name = match long.get("name").and_then(scalar_text) {
            Some(n) => n,
            None => match host {
                HostPort::Fixed(n) => format!("{n}:{target}/{protocol}"),
                HostPort::OneOf(r) => format!("{}-{}:{target}/{protocol}", r.start, r.end),
                HostPort::Any => format!("{target}/{protocol}"),
            },
        };
        let number_path = if long.contains_key("published") {
            field("published")
        } else {
            tpath
        };
        Some((
            Published {
                host_ip,
                host,
                target,
                protocol,
            },
            name,
            number_path,
        ))
    }
}
