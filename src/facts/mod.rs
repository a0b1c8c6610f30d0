//! Facts about the target host, each tagged with where it came from.
//!
//! A [`Facts`] value is what host rules read. It is filled from the live host (`--local`), from a file
//! captured on the target (`--facts`), or left empty; in the last case [`defaults`] supplies the documented
//! defaults of `target.platform` where one exists, and rules that need a fact nobody can supply report
//! themselves as skipped. This module only reads; it never changes the host.

pub mod defaults;

use serde::{Deserialize, Serialize};

use crate::ports::PortRange;

/// Where a fact came from; messages say it ("read from this host", "Windows default").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Probed on this host just now (`--local`).
    Live,
    /// Read from a facts file captured on the target (`--facts`).
    Captured,
    /// The platform's documented default; the real host may differ.
    Default,
}

/// A value with its origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
    /// A human description of the origin ("Linux default since 4.6", "net.ipv4.ip_local_port_range").
    pub detail: String,
}

impl<T> Fact<T> {
    /// A platform default.
    pub fn default_of(value: T, detail: impl Into<String>) -> Self {
        Fact {
            value,
            origin: Origin::Default,
            detail: detail.into(),
        }
    }

    /// How messages name the origin.
    pub fn describe(&self) -> String {
        match self.origin {
            Origin::Live => format!("{}, read from this host", self.detail),
            Origin::Captured => format!("{}, from the captured facts", self.detail),
            Origin::Default => self.detail.clone(),
        }
    }
}

/// Everything known about the target host. Empty until a source fills it (probing the live host and
/// reading captured facts arrive with the host-facts work; the rules already consult this type).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Facts {
    /// The dynamic (ephemeral) port range for TCP.
    pub ephemeral_tcp: Option<Fact<PortRange>>,
    /// The dynamic (ephemeral) port range for UDP.
    pub ephemeral_udp: Option<Fact<PortRange>>,
    /// Linux `net.ipv4.ip_unprivileged_port_start`.
    pub unprivileged_port_start: Option<Fact<u16>>,
}
