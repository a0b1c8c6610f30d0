//! Port ranges and their arithmetic, and the address-overlap question that decides whether two binds clash.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An inclusive range of port numbers.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub struct PortRange {
    /// First port of the range.
    pub start: u16,
    /// Last port of the range (inclusive).
    pub end: u16,
}

impl PortRange {
    /// A range from `start` to `end` inclusive; `None` when `start > end`.
    pub fn new(start: u16, end: u16) -> Option<Self> {
        (start <= end).then_some(PortRange { start, end })
    }

    /// A range of `count` ports starting at `start` (the `netsh … dynamicport` form); `None` when empty
    /// or past 65535.
    pub fn from_start_count(start: u16, count: u32) -> Option<Self> {
        let end = u32::from(start).checked_add(count)?.checked_sub(1)?;
        PortRange::new(start, u16::try_from(end).ok()?)
    }

    /// Whether `port` lies in the range.
    pub fn contains(self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }

    /// The ports both ranges hold, if any.
    pub fn intersection(self, other: PortRange) -> Option<PortRange> {
        PortRange::new(self.start.max(other.start), self.end.min(other.end))
    }

    /// How many ports the range holds.
    pub fn len(self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }

    /// Always false: a range holds at least one port.
    pub fn is_empty(self) -> bool {
        false
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// Why a range could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError(pub String);

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PortRange {
    type Err = RangeError;

    /// Reads `START-END` (spaces allowed around the numbers) or a single port.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let num = |t: &str| -> Result<u16, RangeError> {
            let t = t.trim();
            match t.parse::<u32>() {
                Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
                Ok(n) => Err(RangeError(format!(
                    "port {n} is out of range: ports are 1-65535"
                ))),
                Err(_) => Err(RangeError(format!("`{t}` is not a port number"))),
            }
        };
        let (a, b) = match s.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let p = num(s)?;
                (p, p)
            }
        };
        PortRange::new(a, b).ok_or_else(|| {
            RangeError(format!(
                "range {a}-{b} is backwards: the first port must not be above the last"
            ))
        })
    }
}

/// Whether two bind addresses can't both hold the same port: equal addresses, or one is a wildcard that
/// covers the other. `0.0.0.0` covers every IPv4 address; `::` covers every IPv6 address and, since Linux
/// (`net.ipv6.bindv6only=0`), Go, Node and Java open dual-stack sockets for it, every IPv4 address too.
pub fn binds_overlap(a: IpAddr, b: IpAddr) -> bool {
    if a == b || a.is_unspecified() && b.is_unspecified() {
        return true;
    }
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => x.is_unspecified() || y.is_unspecified(),
        (IpAddr::V6(x), IpAddr::V6(y)) => x.is_unspecified() || y.is_unspecified(),
        (IpAddr::V6(x), IpAddr::V4(_)) => x.is_unspecified(),
        (IpAddr::V4(_), IpAddr::V6(y)) => y.is_unspecified(),
    }
}

/// An address as people write it for a port, the brackets of `[::1]` taken off: the text to parse as
/// an [`IpAddr`].
pub fn unbracket(text: &str) -> &str {
    text.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(text)
}

/// Whether `ip` is a loopback address (127.0.0.0/8, `::1`, or an IPv4-mapped loopback).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The operating system (or orchestrator) the services run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Windows (Server or client).
    Windows,
    /// Linux.
    Linux,
    /// macOS.
    Macos,
    /// Kubernetes pods (Linux containers, one network namespace per pod).
    Kubernetes,
}

impl Platform {
    /// The name as written in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Windows => "windows",
            Platform::Linux => "linux",
            Platform::Macos => "macos",
            Platform::Kubernetes => "kubernetes",
        }
    }

    /// The name as people write it in prose.
    pub fn display(self) -> &'static str {
        match self {
            Platform::Windows => "Windows",
            Platform::Linux => "Linux",
            Platform::Macos => "macOS",
            Platform::Kubernetes => "Kubernetes",
        }
    }
}

/// A transport protocol.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Deserialize,
    Serialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// A set of (protocol, port) pairs as two bitsets of 65,536 bits (16 KiB in all): filling it from a
/// manifest's 30,000 ports and asking it are a shift and a mask each, where a hash set hashed every
/// pair (1.5-2 ms of a 10,000-service check went into building one).
#[derive(Clone)]
pub struct PortSet {
    bits: Box<[u64]>,
}

impl Default for PortSet {
    fn default() -> Self {
        PortSet {
            bits: vec![0; 2 * 1024].into_boxed_slice(),
        }
    }
}

impl fmt::Debug for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n: u32 = self.bits.iter().map(|w| w.count_ones()).sum();
        f.debug_struct("PortSet").field("len", &n).finish()
    }
}

impl PortSet {
    fn slot(protocol: Protocol, port: u16) -> (usize, u64) {
        let i = usize::from(protocol == Protocol::Udp) << 16 | usize::from(port);
        (i / 64, 1 << (i % 64))
    }

    /// Adds a pair.
    pub fn insert(&mut self, protocol: Protocol, port: u16) {
        let (word, bit) = Self::slot(protocol, port);
        self.bits[word] |= bit;
    }

    /// Whether the pair is in the set.
    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        let (word, bit) = Self::slot(protocol, port);
        self.bits[word] & bit != 0
    }
}

impl FromIterator<(Protocol, u16)> for PortSet {
    fn from_iter<I: IntoIterator<Item = (Protocol, u16)>>(pairs: I) -> Self {
        let mut set = PortSet::default();
        for (protocol, port) in pairs {
            set.insert(protocol, port);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_set_keeps_protocols_apart() {
        let set: PortSet = [
            (Protocol::Tcp, 0),
            (Protocol::Tcp, 8080),
            (Protocol::Udp, 65535),
        ]
        .into_iter()
        .collect();
        assert!(set.contains(Protocol::Tcp, 0));
        assert!(set.contains(Protocol::Tcp, 8080));
        assert!(set.contains(Protocol::Udp, 65535));
        assert!(!set.contains(Protocol::Udp, 8080));
        assert!(!set.contains(Protocol::Tcp, 65535));
        assert!(!set.contains(Protocol::Tcp, 8081));
    }

    #[test]
    fn parse_ranges() {
        assert_eq!(
            "11000-11999".parse(),
            Ok(PortRange {
                start: 11000,
                end: 11999
            })
        );
        assert_eq!(" 80 - 81 ".parse(), Ok(PortRange { start: 80, end: 81 }));
        assert_eq!("80".parse(), Ok(PortRange { start: 80, end: 80 }));
        assert!("2-1".parse::<PortRange>().is_err());
        assert!("0-10".parse::<PortRange>().is_err());
        assert!("1-70000".parse::<PortRange>().is_err());
        assert!("a-b".parse::<PortRange>().is_err());
    }

    #[test]
    fn arithmetic() {
        let r = PortRange::new(49152, 65535).unwrap();
        assert_eq!(r.len(), 16384);
        assert_eq!(PortRange::from_start_count(49152, 16384), Some(r));
        assert_eq!(PortRange::from_start_count(65535, 2), None);
        assert_eq!(PortRange::from_start_count(1, 0), None);
        assert_eq!(
            r.intersection(PortRange::new(60000, 60010).unwrap()),
            PortRange::new(60000, 60010)
        );
        assert_eq!(r.intersection(PortRange::new(1, 2).unwrap()), None);
    }

    #[test]
    fn overlap() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(binds_overlap(ip("0.0.0.0"), ip("127.0.0.1")));
        assert!(binds_overlap(ip("::"), ip("127.0.0.1")));
        assert!(binds_overlap(ip("::"), ip("0.0.0.0")));
        assert!(binds_overlap(ip("::1"), ip("::")));
        assert!(!binds_overlap(ip("127.0.0.1"), ip("127.0.0.2")));
        assert!(!binds_overlap(ip("127.0.0.1"), ip("::1")));
        assert!(!binds_overlap(ip("0.0.0.0"), ip("::1")));
        assert!(is_loopback(ip("127.1.2.3")));
        assert!(is_loopback(ip("::ffff:127.0.0.1")));
        assert!(!is_loopback(ip("0.0.0.0")));
    }
}
