//! `ss` with `-p` and `-n`.

use super::{CaptureError, addr_port, lines, rows_or_first_error, tcp_state};
use crate::facts::{Socket, SocketState};
use crate::ports::Protocol;

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
