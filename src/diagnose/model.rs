//! What a diagnosis says: the error, the operation, and the ranked causes, as JSON prints them.

use serde::Serialize;

/// What the error says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// EADDRINUSE / WSAEADDRINUSE 10048.
    AddressInUse,
    /// EACCES / WSAEACCES 10013.
    AccessDenied,
    /// EADDRNOTAVAIL / WSAEADDRNOTAVAIL 10049.
    AddressNotAvailable,
    /// ENOBUFS / WSAENOBUFS 10055.
    NoBuffers,
    /// ECONNREFUSED / WSAECONNREFUSED 10061.
    ConnectionRefused,
    /// Nothing recognised.
    Unknown,
}

/// Which socket call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// The service's own `bind`/`listen`.
    Bind,
    /// An outbound `connect`/`dial`.
    Connect,
    /// Not said.
    Unknown,
}

/// One likely cause.
#[derive(Clone, Debug, Serialize)]
pub struct Cause {
    /// The rule that checks for it before a deploy (none where no rule can).
    pub rule: Option<&'static str>,
    /// `high`, `medium` or `low`.
    pub likelihood: &'static str,
    /// Why this is a likely cause.
    pub why: String,
    /// Commands that confirm it.
    pub confirm: Vec<String>,
    /// Commands or changes that fix it.
    pub fix: Vec<String>,
}

/// The diagnosis of one error text.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    /// The port, when the text names one.
    pub port: Option<u16>,
    /// The address, when the text names one.
    pub address: Option<String>,
    /// The error as named (`EADDRINUSE`, `WSAEACCES (10013)`), when recognised.
    pub errno: Option<String>,
    /// The kind of error.
    pub kind: ErrorKind,
    /// The failing operation.
    pub operation: Operation,
    /// The platform the text comes from, when it tells.
    pub platform: Option<&'static str>,
    /// Likely causes, most likely first.
    pub causes: Vec<Cause>,
}
