//! Deferred findings: a finding of a rule that reads the manifest alone, held as the few numbers it is
//! made from (which rule, which ports, the port suggested) and made whole only when it is written.
//!
//! A 10 MB Compose file of 84,840 services has 74,156 such findings (`port-conflict` and
//! `ephemeral-range`), a 10 MB Kubernetes stream 61,186 (`service-target-port`: Services that select
//! no pod). Whole, each took about 650 bytes (the 200-byte [`Finding`](super::Finding), its
//! message, help, fixes, related place and evidence): 60 MiB on top of the 76 MiB the read file holds,
//! against a goal of 10 times the file's size for the whole run. Deferred, each takes the 24 bytes
//! below (and, once checked, its fingerprint and subject). `rules::render` makes one whole, through
//! the same function the rule calls when it does not defer, so a deferred finding reads exactly as
//! the finding the rule would have pushed.

use super::Severity;

/// The rules whose findings can be deferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeferredRule {
    /// `port-conflict`: `port` clashes with `other`, an earlier port.
    PortConflict,
    /// `ephemeral-range` without host facts: `port` is inside the platform's default ephemeral range
    /// for its protocol.
    EphemeralRange,
    /// `service-target-port`: the selector of the Kubernetes Service `service` (an index into
    /// `Manifest::kube_services`) selects no pod of the inputs.
    NoPodSelected,
}

/// A finding held as the ports it concerns, by index into the manifest's services and their ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deferred {
    /// The rule that found it.
    pub rule: DeferredRule,
    /// Its severity after policy.
    pub severity: Severity,
    /// The free port of the service's team block the fix suggests, if any.
    pub suggested: Option<u16>,
    /// The service's index in `Manifest::services` (for `NoPodSelected`, in `Manifest::kube_services`).
    pub service: u32,
    /// The port's index in the service's ports (zero for `NoPodSelected`).
    pub port: u32,
    /// For `port-conflict`, the earlier port's service and port indices (else both zero).
    pub other: (u32, u32),
}

/// An index into the manifest as a deferred finding holds it. A manifest holds at most
/// `max_services` (100,000 by default) services, and a service fewer ports than that, so every index
/// fits; `None` where one does not, and the rule then pushes the finding whole.
pub fn index(i: usize) -> Option<u32> {
    u32::try_from(i).ok()
}
