//! Reading the facts of the host preflight runs on (`--local`, `preflight facts`). Read-only.
//!
//! On Linux ([`linux`]) sockets come from netlink sock_diag, filtered in the kernel to the states and
//! ports a check reads ([`sockdiag`]); owners from `/proc/*/fd`, looked up only for the sockets kept;
//! the port sysctls from `/proc/sys/net/ipv4/` of the network namespace preflight runs in (they are
//! per namespace); the uid and effective capabilities from `/proc/self/status`; the firewall from
//! `nft` and `iptables-save`, run only when they have something to show. On Windows ([`windows`])
//! sockets and owners come from netstat2 (the IP Helper tables) and the ranges from `netsh`, read by
//! the parsers in [`super::parse`]. Text is parsed by those plain functions; only this module touches
//! the host.
//!
//! `benches/bench.sh local` measures `check --local` against `ss` on a host with 20,000 sockets.

use super::{Fact, Facts, FactsError, Socket, SocketState};

mod table;
pub use table::Interest;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as platform;
#[cfg(target_os = "linux")]
mod netlink;
#[cfg(target_os = "linux")]
mod nftables;
#[cfg(target_os = "linux")]
pub mod sockdiag;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

#[cfg(not(any(target_os = "linux", windows)))]
mod other;
#[cfg(not(any(target_os = "linux", windows)))]
use other as platform;

#[cfg(not(target_os = "linux"))]
mod netstat;

/// Probes this host, keeping every listening, bound and TIME_WAIT socket.
pub fn probe() -> Result<Facts, FactsError> {
    probe_for(None)
}

/// Probes this host, keeping only sockets on the ports of `interest` (all when `None`).
///
/// On Linux the kernel is asked for the sockets on those ports alone (sock_diag bytecode); owners are
/// then resolved for the kept listening and bound sockets alone, by reading `/proc/*/fd` on every core
/// and stopping as soon as each wanted inode is found. That is the work `ss -p` does for every socket,
/// so a check of a few ports stays fast on a host with tens of thousands of connections.
pub fn probe_for(interest: Option<&Interest>) -> Result<Facts, FactsError> {
    // The rest of the host (sysctls, firewall commands, netsh) is read on a thread of its own while
    // the socket table is read and its owners are looked up: the commands' start-up time is hidden.
    let (host, sockets) = std::thread::scope(|scope| {
        let host = scope.spawn(|| {
            let mut facts = Facts::new();
            platform::probe(&mut facts).map(|()| facts)
        });
        let sockets = sockets(interest);
        let host = host
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (host, sockets)
    });
    let mut facts = host?;
    let (sockets, owners_visible) = sockets?;
    facts.host = hostname();
    facts.os = Some(std::env::consts::OS.to_owned());
    facts.sockets = Some(Fact::live(sockets, platform::SOCKET_SOURCE));
    facts.owners_visible = Some(owners_visible);
    facts.normalize();
    Ok(facts)
}

/// This host's name: the kernel's on Linux, `COMPUTERNAME` on Windows.
fn hostname() -> Option<String> {
    #[cfg(windows)]
    let name = std::env::var("COMPUTERNAME").ok();
    #[cfg(not(windows))]
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned());
    name.filter(|s| !s.is_empty())
}

/// Listening and TIME_WAIT TCP sockets and bound UDP sockets, with owners where visible. The second
/// value says whether every owner can be seen (as non-root, Linux hides other users' PIDs).
fn sockets(interest: Option<&Interest>) -> Result<(Vec<Socket>, bool), FactsError> {
    let listed = platform::list(interest)?;
    // TIME_WAIT sockets belong to no process; only listeners and bound sockets have owners.
    let inodes: Vec<u32> = listed
        .iter()
        .map(|l| match l.socket.state {
            SocketState::TimeWait => 0,
            _ => l.inode,
        })
        .collect();
    let owners = platform::owners(&inodes);
    let mut out = Vec::with_capacity(listed.len());
    for (l, inode) in listed.into_iter().zip(&inodes) {
        let mut s = l.socket;
        if s.pid.is_none() {
            s.pid = owners.get(inode).copied();
        }
        s.process = s.pid.and_then(platform::process_name);
        s.services = s.pid.map(platform::services_of).unwrap_or_default();
        out.push(s);
    }
    // Finding some PIDs (our own processes) does not mean seeing all: only root sees every owner.
    Ok((out, platform::sees_all_owners()))
}
