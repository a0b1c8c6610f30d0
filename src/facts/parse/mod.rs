//! Parsers of command output, as people paste it: plain functions over text, platform-neutral, so the
//! Windows ones are tested on Linux with captured samples. They accept headers in any language (only the
//! numbers and addresses are read), blank lines, CRLF, `*` markers and IPv6 `[::]:80`; a line that looks
//! like data but can't be read is an error naming that line.
//!
//! One file per command: [`netsh`] (excluded and dynamic port ranges), [`ss`], [`netstat`] (Linux and
//! Windows) and [`sysctl`] (the `/proc/sys` range files); the shared helpers stay here.

use std::net::{IpAddr, Ipv6Addr};

use super::{Socket, SocketState};

mod netsh;
mod netstat;
mod ss;
mod sysctl;

pub use netsh::{Listing, dynamicport, excludedportrange, excludedportrange_blocks};
pub use netstat::{netstat_ano, netstat_ano_rows, netstat_linux, netstat_linux_rows};
pub use ss::{ss, ss_rows};
pub use sysctl::{port_list, two_numbers};

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
fn tcp_state(word: &str) -> SocketState {
    match word.to_ascii_uppercase().replace('-', "_").as_str() {
        "LISTEN" | "LISTENING" | "ABHÖREN" => SocketState::Listen,
        "TIME_WAIT" | "TIMEWAIT" | "WARTEND" => SocketState::TimeWait,
        "ESTAB" | "ESTABLISHED" | "HERGESTELLT" => SocketState::Established,
        "UNCONN" => SocketState::Bound,
        _ => SocketState::Other,
    }
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
}
