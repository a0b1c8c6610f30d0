//! Compose's port syntaxes, read into one published port per host port.
//!
//! Short syntax `[HOST_IP:][HOST:]CONTAINER[/PROTOCOL]`, split the way Docker's `nat.ParsePortSpec`
//! splits it (the last part is the container port, the one before it the host port, everything before
//! that the address, brackets around IPv6 optional), with ranges on either side: equal-sized ranges
//! pair up one by one, a host range with one container port means "Docker picks one free port of the
//! range", and a container range without a host port publishes each on a port Docker picks. The long
//! syntax (`target`, `published`, `host_ip`, `protocol`, `mode`, `name`, `app_protocol`) is read by
//! [`super`] into the same [`Published`].

use std::net::IpAddr;

use crate::ports::PortRange;

/// The host side of one published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPort {
    /// No host port: Docker picks one from the ephemeral range.
    Any,
    /// This port.
    Fixed(u16),
    /// One free port of this range, picked by Docker (`"8000-9000:80"`).
    OneOf(PortRange),
}

/// One container port published (or not) on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The host address; `None` for every address (Docker opens `0.0.0.0` and `::`).
    pub host_ip: Option<IpAddr>,
    /// The host port.
    pub host: HostPort,
    /// The container port.
    pub target: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// Why a Compose port can't be read; the messages are the ones Compose users see after the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortSpecError {
    /// The address before the host port is no IP address.
    #[error("`{0}` is not an IP address: write `IP:HOST:CONTAINER` with an IPv4 or [IPv6] address")]
    Address(String),
    /// Nothing after the last `:`.
    #[error("no container port: write `[HOST_IP:][HOST:]CONTAINER[/PROTOCOL]`")]
    NoContainerPort,
    /// A host range and a container range of different sizes.
    #[error(
        "the host range {}-{} has {} ports and the container range {}-{} has {}: Docker refuses ranges of different sizes",
        host.start,
        host.end,
        host.len(),
        container.start,
        container.end,
        container.len()
    )]
    SizesDiffer {
        /// The host range.
        host: PortRange,
        /// The container range.
        container: PortRange,
    },
    /// `START-END` with END before START.
    #[error("the {what} range `{text}` ends before it starts")]
    Backwards {
        /// Which port (`container port`, `host port`, …).
        what: String,
        /// The range as written.
        text: String,
    },
    /// A number outside 1-65535.
    #[error("{what} {number} is out of range: ports are 1-65535")]
    OutOfRange {
        /// Which port.
        what: String,
        /// The number.
        number: u64,
    },
    /// Not a number.
    #[error("{what} `{text}` is not a port number")]
    NotANumber {
        /// Which port.
        what: String,
        /// The text as written.
        text: String,
    },
    /// A protocol Compose does not know.
    #[error("unknown protocol `{0}`: use tcp, udp or sctp")]
    Protocol(String),
}

/// Reads a short-syntax entry (after interpolation) into its published ports.
pub fn parse_short(text: &str) -> Result<Vec<Published>, PortSpecError> {
    let t = text.trim();
    // Docker's SplitProtoPort: an empty protocol (`"80/"`) is tcp.
    let (spec, protocol) = match t.rsplit_once('/') {
        Some((s, "")) => (s, "tcp".to_owned()),
        Some((s, p)) => (s, p.to_ascii_lowercase()),
        None => (t, "tcp".to_owned()),
    };
    protocol_ok(&protocol)?;
    let (ip, host, container) = split_parts(spec);
    let host_ip = match ip {
        "" => None,
        ip => Some(
            crate::ports::unbracket(ip)
                .parse::<IpAddr>()
                .map_err(|_| PortSpecError::Address(ip.to_owned()))?,
        ),
    };
    if container.is_empty() {
        return Err(PortSpecError::NoContainerPort);
    }
    let targets = range(container, "container port")?;
    let hosts = if host.is_empty() {
        None
    } else {
        Some(range(host, "host port")?)
    };
    let one = |target, host| Published {
        host_ip,
        host,
        target,
        protocol: protocol.clone(),
    };
    Ok(match hosts {
        None => (targets.start..=targets.end)
            .map(|t| one(t, HostPort::Any))
            .collect(),
        Some(h) if h.len() == targets.len() => (targets.start..=targets.end)
            .zip(h.start..=h.end)
            .map(|(t, p)| one(t, HostPort::Fixed(p)))
            .collect(),
        Some(h) if targets.len() == 1 => vec![one(targets.start, HostPort::OneOf(h))],
        Some(h) => {
            return Err(PortSpecError::SizesDiffer {
                host: h,
                container: targets,
            });
        }
    })
}

/// `ip`, `host`, `container` as Docker splits them on `:`.
fn split_parts(spec: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = spec.split(':').collect();
    let n = parts.len();
    match n {
        1 => ("", "", parts[0]),
        2 => ("", parts[0], parts[1]),
        _ => {
            let container_at = spec.len() - parts[n - 1].len();
            let host_at = container_at - 1 - parts[n - 2].len();
            (&spec[..host_at - 1], parts[n - 2], parts[n - 1])
        }
    }
}

/// A port or `START-END` range.
pub fn range(text: &str, what: &str) -> Result<PortRange, PortSpecError> {
    let t = text.trim();
    let (a, b) = t.split_once('-').unwrap_or((t, t));
    let start = number(a, what)?;
    let end = number(b, what)?;
    PortRange::new(start, end).ok_or_else(|| PortSpecError::Backwards {
        what: what.to_owned(),
        text: t.to_owned(),
    })
}

/// A port number 1-65535.
pub fn number(text: &str, what: &str) -> Result<u16, PortSpecError> {
    let t = text.trim();
    // Digits only, as Docker's ParseUint reads them (`+80` is refused).
    let parsed = if t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<u64>()
    } else {
        "x".parse::<u64>()
    };
    match parsed {
        Ok(n @ 1..=65535) => Ok(n as u16),
        Ok(number) => Err(PortSpecError::OutOfRange {
            what: what.to_owned(),
            number,
        }),
        Err(_) => Err(PortSpecError::NotANumber {
            what: what.to_owned(),
            text: t.to_owned(),
        }),
    }
}

/// Whether Compose accepts the protocol.
pub fn protocol_ok(p: &str) -> Result<(), PortSpecError> {
    match p {
        "tcp" | "udp" | "sctp" => Ok(()),
        other => Err(PortSpecError::Protocol(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(s: &str) -> Vec<(Option<String>, HostPort, u16, String)> {
        parse_short(s)
            .unwrap()
            .into_iter()
            .map(|p| {
                (
                    p.host_ip.map(|i| i.to_string()),
                    p.host,
                    p.target,
                    p.protocol,
                )
            })
            .collect()
    }

    fn fixed(n: u16) -> HostPort {
        HostPort::Fixed(n)
    }

    #[test]
    fn every_short_form_of_the_specification() {
        let tcp = || "tcp".to_owned();
        assert_eq!(hosts("3000"), [(None, HostPort::Any, 3000, tcp())]);
        assert_eq!(hosts("3000-3002").len(), 3);
        assert_eq!(
            hosts("9090-9091:8080-8081"),
            [
                (None, fixed(9090), 8080, tcp()),
                (None, fixed(9091), 8081, tcp())
            ]
        );
        let r = hosts("127.0.0.1:5000-5010:5000-5010");
        assert_eq!(r.len(), 11);
        assert_eq!(r[10], (Some("127.0.0.1".into()), fixed(5010), 5010, tcp()));
        assert_eq!(
            hosts("127.0.0.1::5000"),
            [(Some("127.0.0.1".into()), HostPort::Any, 5000, tcp())]
        );
        assert_eq!(
            hosts("[::1]:6001:6001"),
            [(Some("::1".into()), fixed(6001), 6001, tcp())]
        );
        assert_eq!(
            hosts("::1:6001:6001/tcp"),
            [(Some("::1".into()), fixed(6001), 6001, tcp())]
        );
        assert_eq!(hosts("80/"), [(None, HostPort::Any, 80, tcp())]);
        assert_eq!(
            hosts("6060:6060/udp"),
            [(None, fixed(6060), 6060, "udp".into())]
        );
        assert_eq!(
            hosts("8000-9000:80"),
            [(
                None,
                HostPort::OneOf(PortRange::new(8000, 9000).unwrap()),
                80,
                tcp()
            )]
        );
    }

    #[test]
    fn refusals_name_the_fault() {
        for (text, says) in [
            ("80:70000", "out of range"),
            ("abc", "not a port number"),
            ("8080:80/xtp", "unknown protocol"),
            ("1.2.3:80:80", "not an IP address"),
            ("9000-9001:80-82", "different sizes"),
            ("90-80:80", "ends before it starts"),
            ("127.0.0.1:80:", "no container port"),
            ("+80", "not a port number"),
        ] {
            let e = parse_short(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
