//! Readers of the Windows networking state that holds ports without a socket of its own process:
//! HTTP.sys (`netsh http show servicestate`, `netsh http show urlacl`) and port proxies
//! (`netsh interface portproxy show all`). Plain functions over text, read by the shape of the lines
//! (URLs, numbers, addresses) wherever the labels are localized, so a capture pasted from a prompt,
//! a CI log or a forum post reads the same as a clean one.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::parse::{CaptureError, addr_port};
use crate::ports::PortRange;

/// A URL registered with HTTP.sys (`netsh http show servicestate`): requests to it go to a request
/// queue, served by the processes attached to that queue.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct HttpUrl {
    /// The URL prefix as registered (`HTTP://+:80/WSMAN/`).
    pub url: String,
    /// Its TCP port (80 or 443 when the URL names none).
    pub port: u16,
    /// The request queue's name (an IIS application pool such as `DefaultAppPool`); `None` for an
    /// unnamed queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The processes attached to the queue, when the capture says (`w3wp.exe`, a self-hosted service).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pids: Vec<u32>,
}

/// A URL reservation (`netsh http show urlacl`): who may register the URL with HTTP.sys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct UrlReservation {
    /// The reserved URL prefix (`http://+:80/Temporary_Listen_Addresses/`).
    pub url: String,
    /// Its TCP port.
    pub port: u16,
    /// The accounts it is reserved for (`NT AUTHORITY\NETWORK SERVICE`).
    pub users: Vec<String>,
}

/// A port proxy (`netsh interface portproxy`): the IP Helper service listens and forwards.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct PortProxy {
    /// The address it listens on (`0.0.0.0`; `*` is read as every address).
    pub listen_address: IpAddr,
    /// The port or ports it listens on.
    pub listen_ports: PortRange,
    /// Where it forwards (an address or a host name, as configured).
    pub connect_address: String,
    /// The port or ports it forwards to.
    pub connect_ports: PortRange,
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
}

/// The URL at the start of `s` (`HTTP://+:80/x/ **note**` → `HTTP://+:80/x/`), if `s` starts with one.
fn url_at(s: &str) -> Option<&str> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    s.split_whitespace().next()
}

/// The TCP port of an HTTP.sys URL prefix: `http://+:8080/` → 8080, `https://host/` → 443. HTTP.sys
/// also writes `HTTP://127.0.0.1:8000:127.0.0.1/` (an IP-bound registration): the first port counts.
pub fn url_port(url: &str) -> Option<u16> {
    let (scheme, rest) = url.split_once("://")?;
    let host_port = rest.split('/').next().unwrap_or("");
    let after_host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, r)| r),
        None => host_port.find(':').map_or("", |i| &host_port[i..]),
    };
    match after_host.strip_prefix(':') {
        Some(p) => p.split(':').next()?.parse().ok(),
        None if scheme.eq_ignore_ascii_case("https") => Some(443),
        None => Some(80),
    }
}

/// Whether the text has netsh's dashed rule under a heading: output of the right command that lists
/// nothing, rather than some other text.
fn has_rule(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        t.len() >= 5 && t.chars().all(|c| c == '-' || c == ' ')
    })
}

/// Whether a URL looks like an HTTP.sys prefix rather than a link: a `+` or `*` host, or a port.
fn is_prefix(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or("", |(_, r)| r.split('/').next().unwrap_or(""));
    host.starts_with('+')
        || host.starts_with('*')
        || host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
}

/// One request queue of the capture: its name, its processes and the URLs listed under it.
#[derive(Default)]
struct Queue {
    name: Option<String>,
    pids: Vec<u32>,
    urls: Vec<String>,
}

/// The value of a `Label: value` line, for a label read in English (the only language HTTP.sys
/// captures were found in); other lines are read by shape.
fn value_of<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    line.trim()
        .strip_prefix(label)
        .and_then(|r| r.trim_start().strip_prefix(':'))
        .map(str::trim)
}

/// A queue name as netsh prints it: `None` for "Request queue is unnamed."
fn queue_name(v: &str) -> Option<String> {
    (!v.to_ascii_lowercase().contains("unnamed")).then(|| v.to_owned())
}

/// `netsh http show servicestate` (the session view, or `view=requestq`): every registered URL with
/// its request queue and the processes attached to it. A URL the capture lists inside a request
/// queue's block gets that queue's processes; a URL of a URL group gets those of the queue it names,
/// when that queue is named (or is the only unnamed one with processes).
pub fn servicestate(text: &str) -> Result<Vec<HttpUrl>, CaptureError> {
    let all: Vec<(usize, &str)> = lines(text).collect();
    let next_label = |i: usize| {
        all[i + 1..]
            .iter()
            .map(|(_, l)| l.trim())
            .find(|l| !l.is_empty())
            .unwrap_or("")
    };
    let mut queues: Vec<Queue> = Vec::new();
    // The block being read: `Some(i)` inside request queue `i`, with that block's indentation.
    let mut current: Option<(usize, usize)> = None;
    // URL-group URLs with the queue their group names: (url, queue name, whether named).
    let mut grouped: Vec<(String, Option<String>)> = Vec::new();
    let mut group_queue: Option<String> = None;
    let mut in_pids = false;
    for (i, (_, line)) in all.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(v) = value_of(t, "Request queue name") {
            // A queue's own block starts with its name followed by `Version:`; a URL group only
            // names the queue it feeds.
            if next_label(i).starts_with("Version") {
                queues.push(Queue {
                    name: queue_name(v),
                    ..Queue::default()
                });
                current = Some((queues.len() - 1, indent));
            } else {
                group_queue = queue_name(v);
            }
            in_pids = false;
            continue;
        }
        if let Some((_, at)) = current
            && indent <= at
        {
            current = None; // a line back at the block's own level ends it
        }
        if t.starts_with("Server session ID") && current.is_none() {
            group_queue = None;
        }
        if t.starts_with("Process IDs") || t.starts_with("Processes") {
            in_pids = true;
            continue;
        }
        if let Some(u) = url_at(t) {
            in_pids = false;
            match current {
                Some((q, _)) => queues[q].urls.push(u.to_owned()),
                None => grouped.push((u.to_owned(), group_queue.clone())),
            }
            continue;
        }
        if let Some((q, _)) = current {
            // `5492`, or `37584 **a note pasted after it**`.
            let first = t.split_whitespace().next().unwrap_or("");
            let pid = if in_pids && first.bytes().all(|b| b.is_ascii_digit()) {
                first.parse().ok()
            } else {
                value_of(t, "ID").and_then(|v| v.split(',').next()?.trim().parse().ok())
            };
            if let Some(p) = pid {
                queues[q].pids.push(p);
                continue;
            }
        }
        in_pids = false;
    }
    let mut out: Vec<HttpUrl> = Vec::new();
    let unnamed_with_pids: Vec<&Queue> = queues
        .iter()
        .filter(|q| q.name.is_none() && !q.pids.is_empty() && q.urls.is_empty())
        .collect();
    let mut add = |url: &str, queue: Option<String>, pids: Vec<u32>| {
        let Some(port) = url_port(url) else { return };
        match out.iter_mut().find(|h| h.url.eq_ignore_ascii_case(url)) {
            Some(h) => {
                if h.pids.is_empty() {
                    h.pids = pids;
                }
                if h.queue.is_none() {
                    h.queue = queue;
                }
            }
            None => out.push(HttpUrl {
                url: url.to_owned(),
                port,
                queue,
                pids,
            }),
        }
    };
    for q in &queues {
        for u in &q.urls {
            add(u, q.name.clone(), q.pids.clone());
        }
    }
    for (u, name) in grouped {
        let pids = match &name {
            Some(n) => queues
                .iter()
                .filter(|q| q.name.as_deref() == Some(n))
                .flat_map(|q| q.pids.iter().copied())
                .collect(),
            None if unnamed_with_pids.len() == 1 => unnamed_with_pids[0].pids.clone(),
            None => Vec::new(),
        };
        add(&u, name, pids);
    }
    if out.is_empty() && queues.is_empty() && !has_rule(text) {
        return Err(CaptureError {
            line: 1,
            message: "no registered URL and no request queue: is this `netsh http show servicestate` output?".into(),
        });
    }
    for h in &mut out {
        h.pids.sort_unstable();
        h.pids.dedup();
    }
    out.sort();
    Ok(out)
}

/// `netsh http show urlacl`: each reserved URL (the first URL on a `label : URL` line, whatever the
/// label's language) with the accounts named on the `User:` lines below it (the first `label: value`
/// line after the URL and each one at the same indentation).
pub fn urlacl(text: &str) -> Result<Vec<UrlReservation>, CaptureError> {
    let mut out: Vec<UrlReservation> = Vec::new();
    let mut user_indent: Option<usize> = None;
    for (n, line) in lines(text) {
        let t = line.trim();
        let indent = line.len() - line.trim_start().len();
        let Some((label, value)) = t.split_once(':') else {
            continue;
        };
        let value = value.trim();
        // `Reserved URL : http://+:80/` (the URL's own colons come after the label's). A reservation
        // names a wildcard host or a port; a link pasted around the capture (`https://github.com/…`)
        // does neither.
        if let Some(u) = url_at(value).filter(|u| is_prefix(u)) {
            let Some(port) = url_port(u) else {
                return Err(CaptureError {
                    line: n,
                    message: format!("cannot read the port of {u:?}"),
                });
            };
            out.push(UrlReservation {
                url: u.to_owned(),
                port,
                users: Vec::new(),
            });
            user_indent = None;
            continue;
        }
        let Some(r) = out.last_mut() else { continue };
        let first = user_indent.is_none();
        if first || user_indent == Some(indent) {
            if first {
                user_indent = Some(indent);
            }
            if !label.trim().eq_ignore_ascii_case("SDDL") && !value.is_empty() {
                r.users.push(value.to_owned());
            }
        }
    }
    if out.is_empty() && !has_rule(text) {
        return Err(CaptureError {
            line: 1,
            message: "no reserved URL: is this `netsh http show urlacl` output?".into(),
        });
    }
    Ok(out)
}

/// A port or a port range as netsh prints it (`8080`, `30000-50000`).
fn ports(s: &str) -> Option<PortRange> {
    match s.split_once('-') {
        Some((a, b)) => PortRange::new(a.parse().ok()?, b.parse().ok()?),
        None => s.parse().ok().map(|p| PortRange { start: p, end: p }),
    }
}

/// `netsh interface portproxy show all` (or `show v4tov4` …): rows of listen address, listen port,
/// connect address, connect port below the dashed rule. `*` listens on every address.
pub fn portproxy(text: &str) -> Result<Vec<PortProxy>, CaptureError> {
    let mut out = Vec::new();
    let mut ruled = false;
    for (n, line) in lines(text) {
        let t = line.trim();
        if has_rule(t) {
            ruled = true;
            continue;
        }
        let tokens: Vec<&str> = t.split_whitespace().collect();
        let [listen, lport, connect, cport] = tokens.as_slice() else {
            continue; // headings, prompts, blank lines
        };
        let (Some(lp), Some(cp)) = (ports(lport), ports(cport)) else {
            if ruled {
                return Err(CaptureError {
                    line: n,
                    message: format!("expected `ADDRESS PORT ADDRESS PORT`, found {t:?}"),
                });
            }
            continue;
        };
        let listen_address = if *listen == "*" {
            IpAddr::from([0, 0, 0, 0])
        } else {
            match listen.parse::<IpAddr>() {
                Ok(a) => a,
                Err(_) => match addr_port(&format!("{listen}:0")) {
                    Some((a, _)) => a,
                    None => {
                        return Err(CaptureError {
                            line: n,
                            message: format!("cannot read the listen address {listen:?}"),
                        });
                    }
                },
            }
        };
        out.push(PortProxy {
            listen_address,
            listen_ports: lp,
            connect_address: (*connect).to_owned(),
            connect_ports: cp,
        });
    }
    if !ruled {
        return Err(CaptureError {
            line: 1,
            message: "no `----` rule under the column headings: is this `netsh interface portproxy show all` output?".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_ports() {
        assert_eq!(url_port("HTTP://+:5985/WSMAN/"), Some(5985));
        assert_eq!(url_port("http://*:80/"), Some(80));
        assert_eq!(url_port("https://+/x/"), Some(443));
        assert_eq!(url_port("http://host/"), Some(80));
        assert_eq!(url_port("HTTP://127.0.0.1:8000:127.0.0.1/"), Some(8000));
        assert_eq!(url_port("http://[::1]:9000/"), Some(9000));
    }
}
