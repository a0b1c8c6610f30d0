//! Reading the facts of the host preflight runs on (`--local`, `preflight facts`). Read-only.
//!
//! Sockets come from netstat2 (TCP and UDP, IPv4 and IPv6, with owning PIDs) and process names from the
//! OS. On Linux the port sysctls are read from `/proc/sys/net/ipv4/` of the network namespace preflight
//! runs in (they are per namespace), and the uid and effective capabilities from `/proc/self/status`.
//! On Windows the same sockets come from netstat2 and the ranges from `netsh`, read by the parsers in
//! [`super::parse`]. Text is parsed by those plain functions; only this module touches the host.
//!
//! The Linux owner lookup is hand-written: netstat2's own lookup (and `procfs`) reads every process's
//! whole fd table, while this walk looks only for the inodes of the sockets a check cares about and
//! stops once it has found them all. `benches/bench.sh local` measures it: 53 ms on a host with 20,005
//! TCP sockets, against 146 ms for `ss -tanp`.

use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};

use super::{Fact, Facts, FactsError, Socket, SocketState};
use crate::ports::Protocol;

/// Which sockets a check cares about: (protocol, port) pairs from the manifests. `None` keeps them all.
pub type Interest = std::collections::BTreeSet<(Protocol, u16)>;

/// Probes this host, keeping every listening, bound and TIME_WAIT socket.
pub fn probe() -> Result<Facts, FactsError> {
    probe_for(None)
}

/// Probes this host, keeping only sockets on the ports of `interest` (all when `None`).
///
/// Sockets are listed through netlink sock_diag (netstat2, without its owner lookup); owners are then
/// resolved for the kept listening and bound sockets alone, by reading `/proc/*/fd` on every core and
/// stopping as soon as each wanted inode is found. That is the work `ss -p` does for every socket, so
/// a check of a few ports stays fast on a host with tens of thousands of connections.
pub fn probe_for(interest: Option<&Interest>) -> Result<Facts, FactsError> {
    let mut facts = Facts::new();
    facts.host = hostname();
    facts.os = Some(std::env::consts::OS.to_owned());
    let (sockets, owners_visible) = sockets(interest)?;
    facts.sockets = Some(Fact::live(sockets, platform::SOCKET_SOURCE));
    facts.owners_visible = Some(owners_visible);
    platform::probe(&mut facts)?;
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
    let af = AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6;
    let proto = ProtocolFlags::TCP | ProtocolFlags::UDP;
    let infos = platform::list(af, proto)?;
    let mut out = Vec::new();
    let mut inodes = Vec::new();
    for info in infos {
        let (protocol, address, port, state) = match &info.protocol_socket_info {
            ProtocolSocketInfo::Tcp(t) => {
                let state = match t.state {
                    TcpState::Listen => SocketState::Listen,
                    TcpState::TimeWait => SocketState::TimeWait,
                    _ => continue,
                };
                (Protocol::Tcp, t.local_addr, t.local_port, state)
            }
            ProtocolSocketInfo::Udp(u) => (
                Protocol::Udp,
                u.local_addr,
                u.local_port,
                SocketState::Bound,
            ),
        };
        if interest.is_some_and(|i| !i.contains(&(protocol, port))) {
            continue;
        }
        // TIME_WAIT sockets belong to no process; only listeners and bound sockets have owners.
        let inode = inode(&info);
        let want = state != SocketState::TimeWait && inode != 0;
        inodes.push(if want { inode } else { 0 });
        out.push(Socket {
            protocol,
            address,
            port,
            state,
            // PID 0 (the System Idle Process on Windows, or an owner Wine can't tell) owns nothing.
            pid: info.associated_pids.first().copied().filter(|p| *p != 0),
            process: None,
            services: Vec::new(),
        });
    }
    let owners = platform::owners(&inodes);
    for (s, inode) in out.iter_mut().zip(&inodes) {
        if s.pid.is_none() {
            s.pid = owners.get(inode).copied();
        }
        s.process = s.pid.and_then(process_name);
        s.services = s.pid.map(platform::services_of).unwrap_or_default();
    }
    // Finding some PIDs (our own processes) does not mean seeing all: only root sees every owner.
    Ok((out, platform::sees_all_owners()))
}

/// The socket's inode, which Linux uses to find its owner; other systems report owners directly (and
/// netstat2 has no `inode` there).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn inode(info: &netstat2::SocketInfo) -> u32 {
    info.inode
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn inode(_: &netstat2::SocketInfo) -> u32 {
    0
}

fn process_name(pid: u32) -> Option<String> {
    platform::process_name(pid)
}

#[cfg(target_os = "linux")]
mod platform {
    use std::collections::HashMap;
    use std::collections::hash_map::Entry;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use netstat2::{AddressFamilyFlags, ProtocolFlags, SocketInfo};

    use super::super::parse;
    use super::{Fact, Facts, FactsError};

    /// Where the socket table comes from, as the facts' `detail` says.
    pub const SOCKET_SOURCE: &str = "netlink sock_diag (socket table)";

    /// Linux has no service hosts sharing a process.
    pub fn services_of(_pid: u32) -> Vec<String> {
        Vec::new()
    }

    /// Every TCP and UDP socket from netlink sock_diag, without owners.
    pub fn list(
        af: AddressFamilyFlags,
        proto: ProtocolFlags,
    ) -> Result<Vec<SocketInfo>, FactsError> {
        netstat2::iterate_sockets_info_without_pids(af, proto)
            .map_err(|e| FactsError::Probe(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FactsError::Probe(e.to_string()))
    }

    /// The owning PID of each wanted socket inode (0 entries are ignored): `/proc/*/fd` is read on every
    /// core, and the walk stops once every inode is found.
    pub fn owners(inodes: &[u32]) -> HashMap<u32, u32> {
        let wanted: std::collections::HashSet<u32> =
            inodes.iter().copied().filter(|i| *i != 0).collect();
        let found = Mutex::new(HashMap::new());
        if wanted.is_empty() {
            return HashMap::new();
        }
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return HashMap::new();
        };
        let mut pids: Vec<u32> = dir
            .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        let remaining = AtomicUsize::new(wanted.len());
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        if remaining.load(Ordering::Relaxed) == 0 {
                            return;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(pid) = pids.get(i) else { return };
                        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                            continue;
                        };
                        for fd in fds.flatten() {
                            let Ok(link) = std::fs::read_link(fd.path()) else {
                                continue;
                            };
                            let Some(inode) = link
                                .to_str()
                                .and_then(|l| l.strip_prefix("socket:["))
                                .and_then(|l| l.strip_suffix(']'))
                                .and_then(|l| l.parse::<u32>().ok())
                            else {
                                continue;
                            };
                            if wanted.contains(&inode) {
                                let mut f = found.lock().unwrap_or_else(|e| e.into_inner());
                                // A socket shared by several processes (a forking server) is named by the
                                // lowest PID seen.
                                match f.entry(inode) {
                                    Entry::Vacant(v) => {
                                        v.insert(*pid);
                                        remaining.fetch_sub(1, Ordering::Relaxed);
                                    }
                                    Entry::Occupied(mut o) => {
                                        if *pid < *o.get() {
                                            o.insert(*pid);
                                        }
                                    }
                                }
                            }
                        }
                    }
                });
            }
        });
        found.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    const SYS: &str = "/proc/sys/net/ipv4";

    pub fn process_name(pid: u32) -> Option<String> {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()
            .map(|s| s.trim_end().to_owned())
    }

    pub fn sees_all_owners() -> bool {
        effective_uid() == Some(0)
    }

    fn read(name: &str) -> Option<String> {
        std::fs::read_to_string(format!("{SYS}/{name}")).ok()
    }

    pub fn probe(facts: &mut Facts) -> Result<(), FactsError> {
        let bad = |name: &str, e: parse::CaptureError| {
            FactsError::Probe(format!("{SYS}/{name}: {}", e.message))
        };
        if let Some(t) = read("ip_local_port_range") {
            let range = parse::two_numbers(&t).map_err(|e| bad("ip_local_port_range", e))?;
            // One sysctl governs TCP and UDP, IPv4 and IPv6.
            facts.ephemeral_tcp = Some(Fact::live(range, "net.ipv4.ip_local_port_range"));
            facts.ephemeral_udp = Some(Fact::live(range, "net.ipv4.ip_local_port_range"));
        }
        if let Some(t) = read("ip_local_reserved_ports") {
            let list = parse::port_list(&t).map_err(|e| bad("ip_local_reserved_ports", e))?;
            facts.reserved_ports = Some(Fact::live(list, "net.ipv4.ip_local_reserved_ports"));
        }
        if let Some(t) = read("ip_unprivileged_port_start") {
            let start = t.trim().parse::<u32>().map_err(|_| {
                FactsError::Probe(format!("{SYS}/ip_unprivileged_port_start: {:?}", t.trim()))
            })?;
            let start = u16::try_from(start.min(65535)).unwrap_or(u16::MAX);
            facts.unprivileged_port_start =
                Some(Fact::live(start, "net.ipv4.ip_unprivileged_port_start"));
        }
        facts.firewall = firewall();
        if let (Some(uid), Some(caps)) = (effective_uid(), effective_caps()) {
            facts.process = Some(super::super::ProcessFacts {
                uid,
                capabilities: caps,
            });
        }
        Ok(())
    }

    /// Runs a read-only command found on PATH; its stdout when it succeeds.
    fn run(cmd: &str, args: &[&str]) -> Option<String> {
        let path = which::which(cmd).ok()?;
        let out = std::process::Command::new(path)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Reads the firewall with `nft -j list ruleset`, `iptables-save`, `ip6tables-save` and `iptables -V`,
    /// and which manager (firewalld, ufw) is active. `None` when nothing could be read (usually: not root).
    fn firewall() -> Option<Fact<crate::facts::firewall::FirewallFacts>> {
        use crate::facts::firewall::FirewallFacts;
        let mut fw = FirewallFacts::default();
        let mut read_any = false;
        if let Some(out) = run("nft", &["-j", "list", "ruleset"]) {
            read_any = true;
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&out) {
                fw.nftables = Some(v);
            }
        }
        if let Some(v) = run("iptables", &["-V"]) {
            fw.iptables_variant = Some(
                if v.contains("legacy") {
                    "legacy"
                } else {
                    "nf_tables"
                }
                .to_owned(),
            );
        }
        // iptables-nft's rules also live in the nft ruleset; the save output is what makes them legible.
        for (cmd, slot) in [
            ("iptables-save", &mut fw.iptables_v4),
            ("ip6tables-save", &mut fw.iptables_v6),
        ] {
            if let Some(out) = run(cmd, &[]) {
                read_any = true;
                if out.contains("*filter") {
                    *slot = Some(out);
                }
            }
        }
        if run("firewall-cmd", &["--state"]).is_some_and(|s| s.trim() == "running") {
            fw.manager = Some("firewalld".into());
        } else if run("ufw", &["status"]).is_some_and(|s| s.contains("Status: active")) {
            fw.manager = Some("ufw".into());
        }
        read_any.then(|| Fact::live(fw, "nft -j list ruleset, iptables-save"))
    }

    fn status_field(name: &str) -> Option<String> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    }

    fn effective_uid() -> Option<u32> {
        // "Uid:\treal\teffective\tsaved\tfs"
        status_field("Uid:")?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    fn effective_caps() -> Option<Vec<String>> {
        let bits = u64::from_str_radix(&status_field("CapEff:")?, 16).ok()?;
        Some(
            CAPS.iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, n)| (*n).to_owned())
                .collect(),
        )
    }

    /// Linux capability names by bit number (include/uapi/linux/capability.h).
    const CAPS: [&str; 41] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
}

/// Where the OS reports socket owners itself (Windows, macOS): netstat2's full listing.
#[cfg(not(target_os = "linux"))]
mod with_owners {
    use std::collections::HashMap;

    use netstat2::{AddressFamilyFlags, ProtocolFlags, SocketInfo};

    /// Every TCP and UDP socket, with owners where the OS gives them.
    pub fn list(
        af: AddressFamilyFlags,
        proto: ProtocolFlags,
    ) -> Result<Vec<SocketInfo>, super::FactsError> {
        netstat2::get_sockets_info(af, proto).map_err(|e| super::FactsError::Probe(e.to_string()))
    }

    /// Owners came with the sockets.
    pub fn owners(_: &[u32]) -> HashMap<u32, u32> {
        HashMap::new()
    }
}

#[cfg(windows)]
mod platform {
    //! Windows: sockets and their owning PIDs from the IP Helper socket tables (netstat2, which calls
    //! `GetExtendedTcpTable`/`GetExtendedUdpTable`), process names from the PID
    //! (`QueryFullProcessImageNameW`), the services each process hosts (`EnumServicesStatusExW`: a
    //! shared `svchost.exe` runs several), and the port ranges from `netsh`, read by the same parsers as
    //! `--import`. Each fact is probed on its own: a command that fails or prints something unexpected
    //! leaves its fact absent (or at the Windows default, marked `default`) and is recorded in
    //! `unavailable`; the rest of the facts stand.
    use std::collections::BTreeMap;
    use std::sync::OnceLock;

    pub use super::with_owners::{list, owners};

    use super::super::firewall::windows::{NetworkProfile, connection_profiles};
    use super::super::parse::{CaptureError, dynamicport, excludedportrange};
    use super::super::windows_net::{portproxy, servicestate, urlacl};
    use super::super::{Exclusion, Fact, Facts, FactsError, Unavailable};
    use crate::ports::{Platform, PortRange, Protocol};

    /// Where the socket table comes from, as the facts' `detail` says.
    pub const SOCKET_SOURCE: &str =
        "IP Helper socket tables (GetExtendedTcpTable, GetExtendedUdpTable)";

    /// The process's name: `System` for PID 4, else the file name of its image.
    pub fn process_name(pid: u32) -> Option<String> {
        match pid {
            0 => None,
            4 => Some("System".to_owned()),
            _ => image_name(pid),
        }
    }

    /// The file name of the process's executable, through `QueryFullProcessImageNameW` (which needs only
    /// `PROCESS_QUERY_LIMITED_INFORMATION`, so it works for other users' processes as an administrator).
    fn image_name(pid: u32) -> Option<String> {
        use windows_sys::Win32::Foundation::CloseHandle;
        use windows_sys::Win32::System::Threading::{
            OpenProcess, PROCESS_NAME_WIN32, PROCESS_QUERY_LIMITED_INFORMATION,
            QueryFullProcessImageNameW,
        };
        let mut buf = [0u16; 1024];
        let mut len = buf.len() as u32;
        // SAFETY: the handle is checked before use and closed once; the buffer and its length are ours
        // and QueryFullProcessImageNameW writes at most `len` units, updating `len` to what it wrote.
        let ok = unsafe {
            let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if h.is_null() {
                return None;
            }
            let ok = QueryFullProcessImageNameW(h, PROCESS_NAME_WIN32, buf.as_mut_ptr(), &mut len);
            CloseHandle(h);
            ok
        };
        if ok == 0 {
            return None;
        }
        let path = String::from_utf16_lossy(buf.get(..len as usize)?);
        path.rsplit(['\\', '/']).next().map(str::to_owned)
    }

    /// The Windows services running in `pid`, sorted (several for a shared `svchost.exe`).
    pub fn services_of(pid: u32) -> Vec<String> {
        static BY_PID: OnceLock<BTreeMap<u32, Vec<String>>> = OnceLock::new();
        BY_PID
            .get_or_init(running_services)
            .get(&pid)
            .cloned()
            .unwrap_or_default()
    }

    /// Every running Win32 service by PID, from the service control manager; empty when it can't be read.
    fn running_services() -> BTreeMap<u32, Vec<String>> {
        use windows_sys::Win32::System::Services::{
            CloseServiceHandle, ENUM_SERVICE_STATUS_PROCESSW, EnumServicesStatusExW,
            OpenSCManagerW, SC_ENUM_PROCESS_INFO, SC_MANAGER_ENUMERATE_SERVICE, SERVICE_ACTIVE,
            SERVICE_WIN32,
        };
        let mut out: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        // SAFETY: the manager handle is checked and closed; the buffer is u64-aligned (the entries hold
        // pointers), sized as the first call asks, and only the `returned` entries the API wrote are
        // read; their name pointers point into that same buffer, NUL-terminated.
        unsafe {
            let scm = OpenSCManagerW(
                std::ptr::null(),
                std::ptr::null(),
                SC_MANAGER_ENUMERATE_SERVICE,
            );
            if scm.is_null() {
                return out;
            }
            let (mut needed, mut returned, mut resume) = (0u32, 0u32, 0u32);
            let mut buf: Vec<u64> = Vec::new();
            for _ in 0..4 {
                let ok = EnumServicesStatusExW(
                    scm,
                    SC_ENUM_PROCESS_INFO,
                    SERVICE_WIN32,
                    SERVICE_ACTIVE,
                    buf.as_mut_ptr().cast(),
                    (buf.len() * 8) as u32,
                    &mut needed,
                    &mut returned,
                    &mut resume,
                    std::ptr::null(),
                );
                if ok != 0 {
                    let entries = std::slice::from_raw_parts(
                        buf.as_ptr().cast::<ENUM_SERVICE_STATUS_PROCESSW>(),
                        returned as usize,
                    );
                    for e in entries {
                        let name = wide(e.lpServiceName);
                        out.entry(e.ServiceStatusProcess.dwProcessId)
                            .or_default()
                            .push(name);
                    }
                    break;
                }
                // ERROR_MORE_DATA: grow to what it asked for and start over.
                resume = 0;
                buf = vec![0u64; (needed as usize).div_ceil(8) + 1];
            }
            CloseServiceHandle(scm);
        }
        for names in out.values_mut() {
            names.sort();
        }
        out
    }

    /// A NUL-terminated UTF-16 string.
    ///
    /// # Safety
    /// `p` is null or points to a NUL-terminated UTF-16 string.
    unsafe fn wide(p: *const u16) -> String {
        if p.is_null() {
            return String::new();
        }
        let mut n = 0;
        // SAFETY: the caller promises a terminating NUL.
        unsafe {
            while *p.add(n) != 0 {
                n += 1;
            }
            String::from_utf16_lossy(std::slice::from_raw_parts(p, n))
        }
    }

    pub fn sees_all_owners() -> bool {
        true
    }

    /// Runs `netsh ARGS`; its output, or why it can't be used. netsh writes in the console's OEM code
    /// page, so non-ASCII labels may come out garbled: the parsers read numbers and layout, not words.
    /// `empty_ok`: printing nothing is a valid answer (no port proxies).
    fn netsh(args: &[&str], empty_ok: bool) -> Result<String, String> {
        let out = std::process::Command::new("netsh")
            .args(args)
            .output()
            .map_err(|e| format!("could not be run ({e})"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(match out.status.code() {
                Some(c) => format!("exited with code {c}"),
                None => "was stopped".to_owned(),
            });
        }
        if text.trim().is_empty() && !empty_ok {
            return Err("printed nothing".to_owned());
        }
        Ok(text)
    }

    /// A fact read from `netsh ARGS` by `parse`, or `None` with the failure recorded as `fact`.
    fn netsh_fact<T>(
        facts: &mut Facts,
        fact: &str,
        args: &[&str],
        empty_ok: bool,
        parse: impl Fn(&str) -> Result<T, CaptureError>,
    ) -> Option<Fact<T>> {
        let command = format!("netsh {}", args.join(" "));
        let read = netsh(args, empty_ok).and_then(|t| {
            parse(&t).map_err(|e| format!("printed something unexpected: {}", e.message))
        });
        match read {
            Ok(v) => Some(Fact::live(v, command)),
            Err(reason) => {
                facts.unavailable.push(Unavailable {
                    fact: fact.to_owned(),
                    command,
                    reason,
                });
                None
            }
        }
    }

    /// The dynamic port range of `protocol`: netsh's, or the Windows default marked `default` (with the
    /// failure recorded) when netsh can't tell.
    fn dynamic_range(protocol: Protocol, facts: &mut Facts) -> Fact<PortRange> {
        let p = protocol.as_str();
        let command = format!("netsh int ipv4 show dynamicport {p}");
        let read = netsh(&["int", "ipv4", "show", "dynamicport", p], false).and_then(|t| {
            dynamicport(&t)
                .map(|(_, r)| r)
                .map_err(|e| format!("printed something unexpected: {}", e.message))
        });
        match read {
            Ok(range) => Fact::live(range, command),
            Err(reason) => {
                facts.unavailable.push(Unavailable {
                    fact: format!("ephemeral_{p}"),
                    command: command.clone(),
                    reason: reason.clone(),
                });
                let default = super::super::defaults::default_ephemeral_range(Platform::Windows);
                let range = default.map_or(
                    PortRange {
                        start: 49152,
                        end: 65535,
                    },
                    |d| d.value,
                );
                Fact::default_of(
                    range,
                    format!("the Windows default dynamic port range; `{command}` {reason}"),
                )
            }
        }
    }

    /// The excluded ranges of `protocol`, or `None` (with the failure recorded) when netsh can't tell.
    /// Output without netsh's dashed table rule is not taken as "no exclusions".
    fn excluded(protocol: Protocol, facts: &mut Facts) -> Option<Fact<Vec<Exclusion>>> {
        let p = protocol.as_str();
        let command = format!("netsh int ipv4 show excludedportrange protocol={p}");
        let protocol_arg = format!("protocol={p}");
        let read = netsh(
            &["int", "ipv4", "show", "excludedportrange", &protocol_arg],
            false,
        )
        .and_then(|t| {
            let ruled = t.lines().any(|l| {
                let l = l.trim();
                l.len() >= 5 && l.chars().all(|c| c == '-' || c == ' ')
            });
            if !ruled {
                return Err("printed no table of ranges".to_owned());
            }
            excludedportrange(&t)
                .map(|(_, ex)| ex)
                .map_err(|e| format!("printed something unexpected: {}", e.message))
        });
        match read {
            Ok(ex) => Some(Fact::live(ex, command)),
            Err(reason) => {
                facts.unavailable.push(Unavailable {
                    fact: format!("excluded_{p}"),
                    command,
                    reason,
                });
                None
            }
        }
    }

    /// The connected networks and the firewall profile each uses, from `Get-NetConnectionProfile`
    /// (read by the same parser as `--import netconnectionprofile`); `None` with the failure recorded.
    fn network_profiles(facts: &mut Facts) -> Option<Fact<Vec<NetworkProfile>>> {
        let command = "Get-NetConnectionProfile";
        let read = std::process::Command::new("powershell.exe")
            .args([
                "-NoProfile",
                "-NonInteractive",
                "-Command",
                "Get-NetConnectionProfile | Format-List InterfaceAlias,NetworkCategory",
            ])
            .output()
            .map_err(|e| format!("could not be run ({e})"))
            .and_then(|out| {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                if !out.status.success() {
                    return Err(format!("exited with {}", out.status));
                }
                connection_profiles(&text)
                    .map_err(|e| format!("printed something unexpected: {}", e.message))
            });
        match read {
            Ok(profiles) => Some(Fact::live(profiles, command)),
            Err(reason) => {
                facts.unavailable.push(Unavailable {
                    fact: "network_profiles".to_owned(),
                    command: command.to_owned(),
                    reason,
                });
                None
            }
        }
    }

    /// Reads the port ranges and the connected networks' profiles, each on its own; never fails as a
    /// whole.
    pub fn probe(facts: &mut Facts) -> Result<(), FactsError> {
        facts.ephemeral_tcp = Some(dynamic_range(Protocol::Tcp, facts));
        facts.ephemeral_udp = Some(dynamic_range(Protocol::Udp, facts));
        facts.excluded_tcp = excluded(Protocol::Tcp, facts);
        facts.excluded_udp = excluded(Protocol::Udp, facts);
        facts.network_profiles = network_profiles(facts);
        facts.http_urls = netsh_fact(
            facts,
            "http_urls",
            &["http", "show", "servicestate"],
            false,
            servicestate,
        );
        facts.url_reservations = netsh_fact(
            facts,
            "url_reservations",
            &["http", "show", "urlacl"],
            false,
            urlacl,
        );
        // netsh prints nothing at all when no proxy is configured.
        facts.port_proxies = netsh_fact(
            facts,
            "port_proxies",
            &["interface", "portproxy", "show", "all"],
            true,
            |t| {
                if t.trim().is_empty() {
                    Ok(Vec::new())
                } else {
                    portproxy(t)
                }
            },
        );
        Ok(())
    }
}

#[cfg(not(any(target_os = "linux", windows)))]
mod platform {
    pub use super::with_owners::{list, owners};

    use super::{Facts, FactsError};

    /// Where the socket table comes from, as the facts' `detail` says.
    pub const SOCKET_SOURCE: &str = "the OS socket tables";

    pub fn services_of(_pid: u32) -> Vec<String> {
        Vec::new()
    }

    pub fn process_name(_pid: u32) -> Option<String> {
        None
    }

    pub fn sees_all_owners() -> bool {
        false
    }

    pub fn probe(_facts: &mut Facts) -> Result<(), FactsError> {
        Ok(())
    }
}
