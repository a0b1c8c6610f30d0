//! `netstat`: Linux `-tulpn` / `-tanp` and Windows `-ano`.

use super::{CaptureError, addr_port, has_address_after, lines, rows_or_first_error, tcp_state};
use crate::facts::{Socket, SocketState};
use crate::ports::Protocol;

/// Linux `netstat -tulpn` / `-tanp`: `Proto Recv-Q Send-Q Local Foreign [State] PID/Program`, with `-`
/// where the PID is hidden (not root).
pub fn netstat_linux(text: &str) -> Result<Vec<Socket>, CaptureError> {
    netstat_linux_rows(text).map(|(rows, _)| rows)
}

/// `netstat -tulpn` / `-tanp` rows as people paste them (see [`super::ss::ss_rows`]): a row starts at its
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

/// `netstat -ano` rows as people paste them (see [`super::ss::ss_rows`]): a row starts at its `TCP`/`UDP`
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
