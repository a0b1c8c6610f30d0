//! Documented platform defaults, used when no host facts say otherwise (see shared/domain-facts.md).
//!
//! Each function returns `None` where no trustworthy default exists, so the calling rule reports itself
//! as skipped instead of guessing.

use super::{Fact, Facts};
use crate::ports::PortRange;
use crate::ports::{Platform, Protocol};

/// The ephemeral range for `protocol` on the target: the host's when facts have it, otherwise the
/// platform's documented default.
pub fn ephemeral_range(
    platform: Platform,
    facts: Option<&Facts>,
    protocol: Protocol,
) -> Option<Fact<PortRange>> {
    let from_facts = facts.and_then(|f| match protocol {
        Protocol::Tcp => f.ephemeral_tcp.clone(),
        Protocol::Udp => f.ephemeral_udp.clone(),
    });
    from_facts.or_else(|| default_ephemeral_range(platform))
}

/// The platform's default ephemeral range (every platform has one; `Option` for the callers that
/// chain it after host facts).
pub fn default_ephemeral_range(platform: Platform) -> Option<Fact<PortRange>> {
    Some(platform_ephemeral_range(platform))
}

/// The platform's default ephemeral range.
pub fn platform_ephemeral_range(platform: Platform) -> Fact<PortRange> {
    // Linux: net.ipv4.ip_local_port_range defaults to 32768-60999 since 4.6 (commit 07f4c90062f8); a new
    // network namespace (every Kubernetes pod) starts with the same default.
    // Windows Vista/Server 2008 and later: 49152-65535 (KB 929851).
    // macOS: 49152-65535 (net.inet.ip.portrange.first/last), the IANA dynamic range; not verified here,
    // hence "usually".
    let (start, end, detail) = match platform {
        Platform::Linux => (32768, 60999, "the Linux default ip_local_port_range"),
        Platform::Kubernetes => (
            32768,
            60999,
            "the Linux default ip_local_port_range of a pod's network namespace",
        ),
        Platform::Windows => (49152, 65535, "the Windows default dynamic port range"),
        Platform::Macos => (
            49152,
            65535,
            "the usual macOS default (net.inet.ip.portrange)",
        ),
    };
    Fact::default_of(PortRange { start, end }, detail)
}

/// The lowest port an unprivileged process may bind on a Linux kernel: the host's
/// `ip_unprivileged_port_start` when facts have it, otherwise the kernel default 1024.
pub fn unprivileged_port_start(facts: Option<&Facts>) -> Fact<u16> {
    facts
        .and_then(|f| f.unprivileged_port_start.clone())
        .unwrap_or_else(|| {
            Fact::default_of(
                1024,
                "the Linux default net.ipv4.ip_unprivileged_port_start",
            )
        })
}
