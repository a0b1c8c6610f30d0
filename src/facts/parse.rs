//! Parsers of command output, as people paste it: plain functions over text, platform-neutral, so the
//! Windows ones are tested on Linux with captured samples. They accept headers in any language (only the
//! numbers and addresses are read), blank lines, CRLF, `*` markers and IPv6 `[::]:80`; a line that looks
//! like data but can't be read is an error naming that line.

use std::net::{IpAddr, Ipv6Addr};

use super::{Exclusion, Socket, SocketState};
use crate::ports::PortRange;
use crate::ports::Protocol;

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, CaptureError> {
    Err(CaptureError {
        line,
        message: message.into(),
    })
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r').trim()))
}

/// The protocol a netsh header names (`Protocol tcp …`), in any language: the words `tcp`/`udp` survive.
fn header_protocol(text: &str) -> Option<Protocol> {
    for (_, l) in lines(text) {
        let lower = l.to_ascii_lowercase();
        let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        if words.contains(&"tcp") {
            return Some(Protocol::Tcp);
        }
        if words.contains(&"udp") {
            return Some(Protocol::Udp);
        }
    }
    None
}

/// `netsh interface ipv4 show excludedportrange protocol=tcp|udp`: rows of `START END` with an optional
/// `*` for administered exclusions. Returns the protocol named in the header, when there is one.
pub fn excludedportrange(text: &str) -> Result<(Option<Protocol>, Vec<Exclusion>), CaptureError> {
    let mut out = Vec::new();
    for (n, l) in lines(text) {
        let tokens: Vec<&str> = l.split_whitespace().collect();
        let numeric = tokens
            .first()
            .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()));
        if !numeric {
            continue; // header, dashes, blank, or the "* - Administered port exclusions." footnote
        }
        let (start, end, star) = match tokens.as_slice() {
            [a, b] => (*a, *b, false),
            [a, b, "*"] => (*a, *b, true),
            _ => {
                return err(
                    n,
                    format!("expected `START END` or `START END *`, found {l:?}"),
                );
            }
        };
        let (Ok(s), Ok(e)) = (start.parse::<u16>(), end.parse::<u16>()) else {
            return err(n, format!("port numbers must be 0-65535, found {l:?}"));
        };
        let Some(range) = PortRange::new(s, e) else {
            return err(n, format!("range {s}-{e} is backwards"));
        };
        out.push(Exclusion {
            range,
            administered: star,
        });
    }
    Ok((header_protocol(text), out))
}

/// One excluded-ranges listing: the protocol its heading names, and its ranges.
pub type Listing = (Option<Protocol>, Vec<Exclusion>);

/// `excludedportrange` over a capture that may hold several listings, as people paste `protocol=tcp`
/// and `protocol=udp` one after the other: split where a line that is no range names `tcp` or `udp`
/// (the command line or the localized heading), each part with the protocol it names.
pub fn excludedportrange_blocks(text: &str) -> Result<Vec<Listing>, CaptureError> {
    let all: Vec<&str> = text.split('\n').collect();
    let names_protocol = |l: &str| {
        let lower = l.to_ascii_lowercase();
        let starts_with_number = l.trim().bytes().next().is_some_and(|b| b.is_ascii_digit());
        !starts_with_number
            && lower
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == "tcp" || w == "udp")
    };
    let mut starts: Vec<usize> = vec![0];
    let mut last_protocol = None;
    for (i, l) in all.iter().enumerate() {
        if names_protocol(l) {
            let p = header_protocol(l);
            // A heading right after the command line that named the same protocol is the same listing.
            if p != last_protocol && i > 0 {
                starts.push(i);
            }
            last_protocol = p;
        }
    }
    starts.dedup();
    let mut out = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(all.len());
        let part = all[start..end].join("\n");
        let (protocol, ex) = excludedportrange(&part).map_err(|e| CaptureError {
            line: e.line + start,
            message: e.message,
        })?;
        if protocol.is_some() || !ex.is_empty() {
            out.push((protocol, ex));
        }
    }
    Ok(out)
}

/// `netsh int ipv4 show dynamicport tcp|udp`: the first two numbers after a colon are the start port
/// and the number of ports, whatever the labels' language.
pub fn dynamicport(text: &str) -> Result<(Option<Protocol>, PortRange), CaptureError> {
    let mut nums = Vec::new();
    let mut last_line = 0;
    for (n, l) in lines(text) {
        let Some((_, value)) = l.split_once(':') else {
            continue;
        };
        let v = value.trim();
        if v.is_empty() {
            continue;
        }
        match v.parse::<u32>() {
            Ok(x) => {
                nums.push((n, x));
                last_line = n;
            }
            Err(_) => continue,
        }
        if nums.len() == 2 {
            break;
        }
    }
    let [(ls, start), (_, count)] = nums.as_slice() else {
        return err(
            last_line.max(1),
            "expected `Start Port : N` and `Number of Ports : N`",
        );
    };
    let Ok(start16) = u16::try_from(*start) else {
        return err(*ls, format!("start port {start} is above 65535"));
    };
    match PortRange::from_start_count(start16, *count) {
        Some(r) => Ok((header_protocol(text), r)),
        None => err(
            *ls,
            format!("start {start} with {count} ports runs past 65535 or is empty"),
        ),
    }
}

/// Reads `ADDR:PORT` as `ss`, `netstat` and Windows print it: `0.0.0.0:80`, `[::]:80`, `*:80` (any,
/// dual-stack), `:::22` (Linux netstat IPv6), `127.0.0.53%lo:53`, `[fe80::1%eth0]:80`.
pub fn addr_port(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once("]:")?;
        (a, p)
    } else {
        s.rsplit_once(':')?
    };
    let port: u16 = port.parse().ok()?;
    let addr = addr.split('%').next().unwrap_or(addr);
    let ip = match addr {
        "*" | "" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        "::" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        a => a.parse().ok()?,
    };
    Some((ip, port))
}

fn owner_ss(process: &str) -> (Option<u32>, Option<String>) {
    // users:(("python3",pid=7706,fd=3),("python3",pid=7707,fd=3))
    let name = process
        .split("((\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(str::to_owned);
    let pid = process
        .split("pid=")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok());
    (pid, name)
}

fn tcp_state(word: &str) -> SocketState {
    match word.to_ascii_uppercase().replace('-', "_").as_str() {
        "LISTEN" | "LISTENING" | "ABHÖREN" => SocketState::Listen,
        "TIME_WAIT" | "TIMEWAIT" | "WARTEND" => SocketState::TimeWait,
        "ESTAB" | "ESTABLISHED" | "HERGESTELLT" => SocketState::Established,
        "UNCONN" => SocketState::Bound,
        _ => SocketState::Other,
    }
}

/// `ss` with `-p` and `-n`: `-tlnp`, `-tanp`, `-tulpn`, with or without the Netid column.
pub fn ss(text: &str) -> Result<Vec<Socket>, CaptureError> {
    ss_rows(text).map(|(rows, _)| rows)
}

/// The states `ss` prints in its first column (or second, after Netid).
const SS_STATES: &[&str] = &[
    "LISTEN",
    "UNCONN",
    "ESTAB",
    "TIME-WAIT",
    "SYN-SENT",
    "SYN-RECV",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "LAST-ACK",
    "CLOSING",
    "CLOSED",
];

/// The netids `ss` prints in its first column.
const SS_NETIDS: &[&str] = &[
    "tcp", "udp", "raw", "u_str", "u_dgr", "u_seq", "nl", "p_raw", "p_dgr", "v_str", "v_dgr",
    "icmp6", "mptcp", "sctp",
];

/// Where an `ss` row starts in a line's tokens: a netid followed by a state, or a state. Whatever
/// stands before it (a CI log's `vhd:`, a timestamp, a `>` quote) is not part of the row; a line
/// without a row start (a prompt, the command, a heading) is no row at all.
fn ss_start(tokens: &[&str]) -> Option<usize> {
    let state = |t: &str| SS_STATES.iter().any(|s| s.eq_ignore_ascii_case(t));
    tokens.iter().enumerate().find_map(|(i, t)| {
        let netid = SS_NETIDS.contains(t) && tokens.get(i + 1).is_some_and(|n| state(n));
        (netid || state(t)).then_some(i)
    })
}

/// `ss` rows as people paste them: the sockets read, and each row that could not be read (skipped,
/// naming its line). Fails only when rows were there and none could be read.
pub fn ss_rows(text: &str) -> Result<(Vec<Socket>, Vec<CaptureError>), CaptureError> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (n, l) in lines(text) {
        let all: Vec<&str> = l.split_whitespace().collect();
        let Some(start) = ss_start(&all) else {
            continue;
        };
        let tokens = &all[start..];
        let first = tokens[0];
        let (netid, rest) = if SS_NETIDS.contains(&first) {
            (Some(first), &tokens[1..])
        } else {
            (None, tokens)
        };
        let protocol = match netid {
            Some("tcp") => Protocol::Tcp,
            Some("udp") => Protocol::Udp,
            Some(_) => continue,
            None => {
                if rest
                    .first()
                    .is_some_and(|s| s.eq_ignore_ascii_case("UNCONN"))
                {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                }
            }
        };
        // State Recv-Q Send-Q Local Peer [Process]
        let [state, _rq, _sq, local, _peer, process @ ..] = rest else {
            skipped.push(CaptureError {
                line: n,
                message: format!("expected `State Recv-Q Send-Q Local Peer Process`, found {l:?}"),
            });
            continue;
        };
        let Some((address, port)) = addr_port(local) else {
            skipped.push(CaptureError {
                line: n,
                message: format!(
                    "cannot read the local address {local:?}; capture with `ss -n` so ports are numbers"
                ),
            });
            continue;
        };
        let state = match protocol {
            Protocol::Udp => SocketState::Bound,
            Protocol::Tcp => tcp_state(state),
        };
        let (pid, process) = owner_ss(&process.join(" "));
        out.push(Socket {
            protocol,
            address,
            port,
            state,
            pid,
            process,
            services: Vec::new(),
        });
    }
    rows_or_first_error(out, skipped)
}

/// Whether one of the four tokens after `at` looks like `ADDRESS:PORT` (a colon and a digit), as in a
/// socket row and not in a prompt or a command line that names the protocol.
fn has_address_after(tokens: &[&str], at: usize) -> bool {
    tokens
        .iter()
        .skip(at + 1)
        .take(4)
        .any(|t| t.contains(':') && t.bytes().any(|b| b.is_ascii_digit()))
}

/// The rows read and the rows skipped; when rows were there and none could be read, the first
/// problem is the error.
fn rows_or_first_error(
    rows: Vec<Socket>,
    skipped: Vec<CaptureError>,
) -> Result<(Vec<Socket>, Vec<CaptureError>), CaptureError> {
    match (rows.is_empty(), skipped.first()) {
        (true, Some(first)) => Err(first.clone()),
        _ => Ok((rows, skipped)),
    }
}

/// Linux `netstat -tulpn` / `-tanp`: `Proto Recv-Q Send-Q Local Foreign [State] PID/Program`, with `-`
/// where the PID is hidden (not root).
pub fn netstat_linux(text: &str) -> Result<Vec<Socket>, CaptureError> {
    netstat_linux_rows(text).map(|(rows, _)| rows)
}

/// `netstat -tulpn` / `-tanp` rows as people paste them (see [`ss_rows`]): a row starts at its
/// `tcp`/`tcp6`/`udp`/`udp6` column wherever that stands in the line.
pub fn netstat_linux_rows(text: &str) -> Result<(Vec<Socket>, Vec<CaptureError>), CaptureError> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (n, l) in lines(text) {
        let all: Vec<&str> = l.split_whitespace().collect();
        // A row's protocol column is followed, a few columns on, by an address with a port; a
        // prompt that names the protocol (`netstat -tulpn | grep udp`) is no row.
        let start = all
            .iter()
            .position(|t| matches!(*t, "tcp" | "tcp6" | "udp" | "udp6"));
        let Some(start) = start.filter(|&i| has_address_after(&all, i)) else {
            continue;
        };
        let tokens = &all[start..];
        let protocol = match tokens.first().copied() {
            Some("tcp" | "tcp6") => Protocol::Tcp,
            Some("udp" | "udp6") => Protocol::Udp,
            _ => continue, // headers ("Active Internet connections", "Proto …"), unix sockets, blank
        };
        let (local, state, owner) = match (protocol, tokens) {
            (Protocol::Tcp, [_, _, _, local, _, state, owner, ..]) => {
                (*local, tcp_state(state), Some(*owner))
            }
            (Protocol::Tcp, [_, _, _, local, _, state]) => (*local, tcp_state(state), None),
            (Protocol::Udp, [_, _, _, local, _, rest @ ..]) => {
                // UDP rows may carry a state column (ESTABLISHED) before the owner; the owner is the first
                // `PID/name` or `-` token (the name itself may contain spaces: `900/nginx: master`).
                (
                    *local,
                    SocketState::Bound,
                    rest.iter().find(|t| t.contains('/') || **t == "-").copied(),
                )
            }
            _ => {
                skipped.push(CaptureError {
                    line: n,
                    message: format!(
                        "expected `Proto Recv-Q Send-Q Local Foreign State PID/Program`, found {l:?}"
                    ),
                });
                continue;
            }
        };
        let Some((address, port)) = addr_port(local) else {
            skipped.push(CaptureError {
                line: n,
                message: format!(
                    "cannot read the local address {local:?}; capture with `netstat -n`"
                ),
            });
            continue;
        };
        let (pid, process) = match owner.and_then(|o| o.split_once('/')) {
            Some((p, name)) => (p.parse().ok(), Some(name.trim_end_matches(':').to_owned())),
            None => (None, None),
        };
        out.push(Socket {
            protocol,
            address,
            port,
            state,
            pid,
            process,
            services: Vec::new(),
        });
    }
    rows_or_first_error(out, skipped)
}

/// Windows `netstat -ano`: `Proto Local Foreign State PID`, UDP rows without a state. The state column
/// is localized, so a TCP row whose foreign address is `0.0.0.0:0` or `[::]:0` is taken as listening
/// whatever the word says.
pub fn netstat_ano(text: &str) -> Result<Vec<Socket>, CaptureError> {
    netstat_ano_rows(text).map(|(rows, _)| rows)
}

/// `netstat -ano` rows as people paste them (see [`ss_rows`]): a row starts at its `TCP`/`UDP`
/// column wherever that stands in the line.
pub fn netstat_ano_rows(text: &str) -> Result<(Vec<Socket>, Vec<CaptureError>), CaptureError> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (n, l) in lines(text) {
        let all: Vec<&str> = l.split_whitespace().collect();
        let Some(start) = all
            .iter()
            .position(|t| t.eq_ignore_ascii_case("TCP") || t.eq_ignore_ascii_case("UDP"))
            .filter(|&i| has_address_after(&all, i))
        else {
            continue;
        };
        let tokens = &all[start..];
        let protocol = if tokens[0].eq_ignore_ascii_case("TCP") {
            Protocol::Tcp
        } else {
            Protocol::Udp
        };
        let (local, foreign, state, pid) = match (protocol, tokens) {
            (Protocol::Tcp, [_, local, foreign, state, pid]) => {
                (*local, *foreign, Some(*state), *pid)
            }
            (Protocol::Udp, [_, local, foreign, pid]) => (*local, *foreign, None, *pid),
            _ => {
                skipped.push(CaptureError {
                    line: n,
                    message: format!("expected `Proto Local Foreign State PID`, found {l:?}"),
                });
                continue;
            }
        };
        let Some((address, port)) = addr_port(local) else {
            skipped.push(CaptureError {
                line: n,
                message: format!("cannot read the local address {local:?}"),
            });
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            skipped.push(CaptureError {
                line: n,
                message: format!(
                    "the PID column {pid:?} is not a number; capture with `netstat -ano`"
                ),
            });
            continue;
        };
        let state = match protocol {
            Protocol::Udp => SocketState::Bound,
            Protocol::Tcp => {
                let listening_peer = matches!(foreign, "0.0.0.0:0" | "[::]:0" | "*:*");
                match state.map(tcp_state) {
                    Some(SocketState::Other) | None if listening_peer => SocketState::Listen,
                    Some(s) => s,
                    None => SocketState::Other,
                }
            }
        };
        out.push(Socket {
            protocol,
            address,
            port,
            state,
            // PID 0 is the System Idle Process, which owns TIME_WAIT sockets: never an owner.
            pid: Some(pid).filter(|p| *p != 0),
            process: None,
            services: Vec::new(),
        });
    }
    rows_or_first_error(out, skipped)
}

/// `/proc/sys/net/ipv4/ip_local_reserved_ports`: `8080,30000-32767` (empty: none).
pub fn port_list(text: &str) -> Result<Vec<PortRange>, CaptureError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    t.split(',')
        .map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            match (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
                (Ok(a), Ok(b)) => PortRange::new(a, b).ok_or(()),
                _ => Err(()),
            }
            .or_else(|()| err(1, format!("{part:?} is not a port or range")))
        })
        .collect()
}

/// `/proc/sys/net/ipv4/ip_local_port_range`: two numbers separated by white space.
pub fn two_numbers(text: &str) -> Result<PortRange, CaptureError> {
    let nums: Vec<u16> = text
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    match nums.as_slice() {
        [a, b] => {
            PortRange::new(*a, *b).map_or_else(|| err(1, format!("range {a}-{b} is backwards")), Ok)
        }
        _ => err(
            1,
            format!("expected two port numbers, found {:?}", text.trim()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(addr_port("0.0.0.0:80"), Some((ip("0.0.0.0"), 80)));
        assert_eq!(addr_port("[::]:80"), Some((ip("::"), 80)));
        assert_eq!(addr_port("*:8081"), Some((ip("::"), 8081)));
        assert_eq!(addr_port(":::22"), Some((ip("::"), 22)));
        assert_eq!(addr_port("127.0.0.53%lo:53"), Some((ip("127.0.0.53"), 53)));
        assert_eq!(addr_port("[fe80::1%eth0]:80"), Some((ip("fe80::1"), 80)));
        assert_eq!(
            addr_port("[::ffff:127.0.0.1]:80"),
            Some((ip("::ffff:127.0.0.1"), 80))
        );
        assert_eq!(addr_port("0.0.0.0:http"), None);
        assert_eq!(addr_port("0.0.0.0:70000"), None);
    }

    #[test]
    fn lists() {
        assert_eq!(port_list("").unwrap(), vec![]);
        assert_eq!(
            port_list("8080,30000-32767\n").unwrap(),
            vec![
                PortRange::new(8080, 8080).unwrap(),
                PortRange::new(30000, 32767).unwrap()
            ]
        );
        assert!(port_list("8080,x").is_err());
        assert_eq!(
            two_numbers("32768\t60999\n").unwrap(),
            PortRange::new(32768, 60999).unwrap()
        );
        assert!(two_numbers("1").is_err());
    }
}
