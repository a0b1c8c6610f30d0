//! What the platform listings share: the ports a check asks about and a socket before its owner.

use crate::facts::Socket;
use crate::ports::Protocol;

/// Which sockets a check cares about: (protocol, port) pairs from the manifests. `None` keeps them all.
pub type Interest = std::collections::BTreeSet<(Protocol, u16)>;

/// A socket of the OS table, before its owner is named.
pub struct Listed {
    /// The socket; `pid` set where the OS table gives it (Windows).
    pub socket: Socket,
    /// Its inode where owners are found through them (Linux), else 0.
    pub inode: u32,
}

/// Whether `interest` (all sockets when `None`) covers a socket of `protocol` on `port`.
pub fn wanted(interest: Option<&Interest>, protocol: Protocol, port: u16) -> bool {
    interest.is_none_or(|i| i.contains(&(protocol, port)))
}
