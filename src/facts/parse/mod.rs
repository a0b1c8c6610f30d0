//! Parsers of command output, as people paste it: plain functions over text, platform-neutral, so the
//! Windows ones are tested on Linux with captured samples. They accept headers in any language (only the
//! numbers and addresses are read), blank lines, CRLF, `*` markers and IPv6 `[::]:80`; a line that looks
//! like data but can't be read is an error naming that line.
//!
//! One file per command: [`netsh`] (excluded and dynamic port ranges), [`ss`], [`netstat`] (Linux and
//! Windows) and [`sysctl`] (the `/proc/sys` range files); the shared helpers stay here.

use std::borrow::Cow;
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

/// The capture inside a CI log: when every line (blank lines and `#` notes aside) starts with a GitHub
/// Actions timestamp (`2024-05-01T10:00:00.1234567Z `), or with the same `NAME: ` that a tool puts
/// before each line it relays (Packer's `    vhd: ` and `==> vhd: `), those prefixes are taken off.
/// Lines stay where they are, so line numbers in errors still point into the file.
pub fn unprefixed(text: &str) -> Cow<'_, str> {
    let lines: Vec<&str> = text.split('\n').collect();
    fn counted(l: &str) -> bool {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    }
    if lines.iter().filter(|l| counted(l)).count() < 2 {
        return Cow::Borrowed(text);
    }
    let mut out: Vec<&str> = lines.clone();
    let mut changed = false;
    if lines
        .iter()
        .filter(|l| counted(l))
        .all(|l| timestamp_len(l).is_some())
    {
        for l in out.iter_mut().filter(|l| counted(l)) {
            *l = &l[timestamp_len(l).unwrap_or(0)..];
        }
        changed = true;
    }
    let names: Vec<Option<(&str, usize)>> = out
        .iter()
        .filter(|l| counted(l))
        .map(|l| relay_prefix(l))
        .collect();
    let shared = names.first().copied().flatten().map(|(n, _)| n);
    if let Some(name) = shared
        && names.iter().all(|p| p.is_some_and(|(n, _)| n == name))
    {
        for l in out.iter_mut().filter(|l| counted(l)) {
            *l = &l[relay_prefix(l).map_or(0, |(_, len)| len)..];
        }
        changed = true;
    }
    if changed {
        Cow::Owned(out.join("\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The length of a leading `YYYY-MM-DDTHH:MM:SS[.fraction]Z ` (GitHub Actions' raw logs).
fn timestamp_len(line: &str) -> Option<usize> {
    let stamp = line.split(' ').next()?;
    let b = stamp.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && stamp.ends_with('Z')
        && stamp[11..stamp.len() - 1]
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b':' || c == b'.');
    shape.then(|| (stamp.len() + 1).min(line.len()))
}

/// A relayed line's `<indent>NAME: ` or `==> NAME: ` (`NAME:` alone ends an empty line): the name and
/// the length of the prefix. NAME is one word (`vhd`, `hyperv-iso.vhd`), so `Start Port      : 1` has none.
fn relay_prefix(line: &str) -> Option<(&str, usize)> {
    let body = line.trim_end_matches('\r');
    let rest = body.trim_start();
    let rest = rest.strip_prefix("==> ").unwrap_or(rest);
    let colon = rest.find(':')?;
    let name = &rest[..colon];
    let word = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let after = &rest[colon + 1..];
    if !word || !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    let len = body.len() - after.len() + usize::from(after.starts_with(' '));
    Some((name, len))
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
    fn relay_prefixes_and_timestamps_come_off() {
        let plain = "\r\nProtocol tcp Dynamic Port Range\r\n-----\r\nStart Port      : 49152\r\nNumber of Ports : 16384\r\n";
        assert_eq!(unprefixed(plain), plain, "a plain capture is kept");
        let packer = "==> vhd: Provisioning with powershell script\n    vhd:\n    vhd: Protocol tcp Dynamic Port Range\n    vhd: Start Port      : 49152\n\n    vhd: Number of Ports : 16384\n";
        assert_eq!(
            unprefixed(packer),
            "Provisioning with powershell script\n\nProtocol tcp Dynamic Port Range\nStart Port      : 49152\n\nNumber of Ports : 16384\n"
        );
        let actions = "2024-05-01T10:00:00.1234567Z Start Port      : 49152\n2024-05-01T10:00:00.1234568Z Number of Ports : 16384\n";
        assert_eq!(
            unprefixed(actions),
            "Start Port      : 49152\nNumber of Ports : 16384\n"
        );
        let both = "# a note\n2024-05-01T10:00:00Z     hyperv-iso.vhd: Start Port      : 49152\n2024-05-01T10:00:01Z     hyperv-iso.vhd: Number of Ports : 16384\n";
        assert_eq!(
            unprefixed(both),
            "# a note\nStart Port      : 49152\nNumber of Ports : 16384\n"
        );
        // Different names, or a name on one line only: no prefix.
        let mixed = "    a: Start Port : 1\n    b: Number of Ports : 2\n";
        assert_eq!(unprefixed(mixed), mixed);
        assert_eq!(
            unprefixed("    vhd: Start Port : 1\n"),
            "    vhd: Start Port : 1\n"
        );
    }

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
