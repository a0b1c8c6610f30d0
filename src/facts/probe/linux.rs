use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::sockdiag::{self, DiagSocket};
use super::table::{Interest, Listed, wanted};
use crate::facts::parse;
use crate::facts::{Fact, Facts, FactsError};
use crate::facts::{Socket, SocketState};
use crate::ports::Protocol;

/// Where the socket table comes from, as the facts' `detail` says.
pub const SOCKET_SOURCE: &str = "netlink sock_diag (socket table)";

/// Linux has no service hosts sharing a process.
pub fn services_of(_pid: u32) -> Vec<String> {
    Vec::new()
}

/// Listening and TIME_WAIT TCP sockets and every UDP socket on the ports of `interest` (all when
/// `None`), from netlink sock_diag, without owners: the kernel filters by state and port.
pub fn list(interest: Option<&Interest>) -> Result<Vec<Listed>, FactsError> {
    let ports: Option<Vec<(u16, u16)>> =
        interest.map(|i| i.iter().map(|&(_, port)| (port, port)).collect());
    let found = sockdiag::sockets(ports.as_deref())
        .map_err(|e| FactsError::Probe(format!("netlink sock_diag: {e}")))?;
    Ok(found
        .into_iter()
        .filter(|d| wanted(interest, d.protocol, d.port))
        .filter_map(listed)
        .collect())
}

/// A socket of the dump as the facts hold it: TCP listeners and TIME_WAIT, UDP sockets as bound.
fn listed(d: DiagSocket) -> Option<Listed> {
    let state = match (d.protocol, d.state) {
        (Protocol::Tcp, sockdiag::TCP_LISTEN) => SocketState::Listen,
        (Protocol::Tcp, sockdiag::TCP_TIME_WAIT) => SocketState::TimeWait,
        (Protocol::Tcp, _) => return None,
        _ => SocketState::Bound,
    };
    Some(Listed {
        socket: Socket {
            protocol: d.protocol,
            address: d.address,
            port: d.port,
            state,
            pid: None,
            process: None,
            services: Vec::new(),
        },
        inode: d.inode,
    })
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
    // Reading a directory of fds is cheap; reading each link is the cost. A process holding many
    // fds (a proxy's connections, a pool) is rarely the owner of a listener, so those are read
    // last, and only when the others did not own every wanted socket.
    let deferred = Mutex::new(Vec::new());
    let scan = |pid: u32, fds: &mut dyn Iterator<Item = std::path::PathBuf>| {
        for fd in fds {
            if remaining.load(Ordering::Relaxed) == 0 {
                return;
            }
            let Ok(link) = std::fs::read_link(fd) else {
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
                // A socket shared by several processes (a forking server) is named by the lowest
                // PID seen.
                match f.entry(inode) {
                    Entry::Vacant(v) => {
                        v.insert(pid);
                        remaining.fetch_sub(1, Ordering::Relaxed);
                    }
                    Entry::Occupied(mut o) => {
                        if pid < *o.get() {
                            o.insert(pid);
                        }
                    }
                }
            }
        }
    };
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    if remaining.load(Ordering::Relaxed) == 0 {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&pid) = pids.get(i) else { return };
                    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                        continue;
                    };
                    // Listed only up to the first fd past the limit: a process holding 5,000
                    // connections is put off without reading its whole directory.
                    let fds: Vec<_> = dir.flatten().take(MANY_FDS + 1).map(|e| e.path()).collect();
                    if fds.len() > MANY_FDS {
                        deferred.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
                    } else {
                        scan(pid, &mut fds.into_iter());
                    }
                }
            });
        }
    });
    let deferred = deferred.into_inner().unwrap_or_else(|e| e.into_inner());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(deferred.len()) {
            scope.spawn(|| {
                while remaining.load(Ordering::Relaxed) > 0 {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&pid) = deferred.get(i) else {
                        return;
                    };
                    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                        continue;
                    };
                    scan(pid, &mut dir.flatten().map(|e| e.path()));
                }
            });
        }
    });
    found.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Processes with more open fds than this are searched for owners after the others.
const MANY_FDS: usize = 256;

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
        facts.process = Some(crate::facts::ProcessFacts {
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

/// Reads the firewall: `nft -j list ruleset`, and `iptables-save`/`ip6tables-save` where they have
/// rules to show, and which manager (firewalld, ufw) is active. `None` when nothing could be read
/// (usually: not root).
///
/// Each command costs a process, so none runs without a reason:
/// - the iptables variant comes from what the `iptables` command resolves to (`xtables-nft-multi`,
///   `xtables-legacy-multi`, Debian's alternatives), with `iptables -V` only when the name can't tell;
/// - iptables-nft keeps its rules in nftables tables (`ip filter`, `ip6 filter`), so with the nft
///   variant a save runs only when the ruleset has that table; iptables-legacy-save dumps the tables
///   the kernel lists in `/proc/net/ip_tables_names` (`ip6_tables_names`), so with the legacy variant
///   it runs only when `filter` is listed there (or the list can't be read);
/// - `firewall-cmd --state` runs only when the rules carry firewalld's marks (its `firewalld` nftables
///   table, or its `INPUT_ZONES`/`INPUT_direct` chains), `ufw status` only when they carry ufw's
///   chains (`ufw-…`): a host without them has no such manager running.
fn firewall() -> Option<Fact<crate::facts::firewall::FirewallFacts>> {
    use crate::facts::firewall::FirewallFacts;
    let mut fw = FirewallFacts::default();
    let mut read_any = false;
    let mut marks = String::new();
    // No table in the kernel: the ruleset is empty, known without running `nft` (its JSON would
    // hold only its `metainfo`). A kernel that can't be asked is asked through `nft`.
    let nft = match super::nftables::has_tables() {
        Ok(false) if which::which("nft").is_ok() => Some(r#"{"nftables": []}"#.to_owned()),
        _ => run("nft", &["-j", "list", "ruleset"]),
    };
    if let Some(out) = &nft {
        read_any = true;
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(out) {
            fw.nftables = Some(v);
        }
    }
    let variant = iptables_variant();
    fw.iptables_variant = variant.map(str::to_owned);
    let has_table = |family: &str| {
        fw.nftables.as_ref().is_some_and(|v| {
            v.get("nftables")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
                .filter_map(|o| o.get("table"))
                .any(|t| t["family"] == family && t["name"] == "filter")
        })
    };
    let saves = [
        ("iptables-save", "ip", "/proc/net/ip_tables_names"),
        ("ip6tables-save", "ip6", "/proc/net/ip6_tables_names"),
    ];
    let mut outs = [None, None];
    for (i, (cmd, family, names)) in saves.into_iter().enumerate() {
        let needed = match variant {
            Some("nf_tables") if fw.nftables.is_some() => has_table(family),
            Some("legacy") => std::fs::read_to_string(names)
                .map_or(true, |t| t.lines().any(|l| l.trim() == "filter")),
            _ => true,
        };
        if needed {
            outs[i] = run(cmd, &[]);
        }
    }
    // iptables-nft's rules also live in the nft ruleset; the save output is what makes them legible.
    let [v4, v6] = outs;
    for (out, slot) in [(v4, &mut fw.iptables_v4), (v6, &mut fw.iptables_v6)] {
        if let Some(out) = out {
            read_any = true;
            marks.push_str(&out);
            if out.contains("*filter") {
                *slot = Some(out);
            }
        }
    }
    let nft_text = nft.as_deref().unwrap_or_default();
    let firewalld = nft_text.contains("\"firewalld\"")
        || marks.contains("INPUT_ZONES")
        || marks.contains("INPUT_direct");
    let ufw = nft_text.contains("\"ufw-") || marks.contains(":ufw-") || marks.contains(":ufw6-");
    if firewalld && run("firewall-cmd", &["--state"]).is_some_and(|s| s.trim() == "running") {
        fw.manager = Some("firewalld".into());
    } else if ufw && run("ufw", &["status"]).is_some_and(|s| s.contains("Status: active")) {
        fw.manager = Some("ufw".into());
    }
    read_any.then(|| Fact::live(fw, "nft -j list ruleset, iptables-save"))
}

/// `nf_tables` or `legacy`: what the `iptables` command on PATH is. iptables 1.8 installs one
/// multi-call binary per variant (`xtables-nft-multi`, `xtables-legacy-multi`) and names the
/// commands by symlinks (through `/etc/alternatives` on Debian); before 1.8 there was only legacy.
/// `iptables -V` (which prints the variant from 1.8 on) runs only when the resolved name says neither.
fn iptables_variant() -> Option<&'static str> {
    let path = which::which("iptables").ok()?;
    let real = std::fs::canonicalize(&path).unwrap_or(path);
    let name = real.file_name()?.to_string_lossy().into_owned();
    if name.contains("nft") {
        return Some("nf_tables");
    }
    if name.contains("legacy") {
        return Some("legacy");
    }
    // iptables before 1.8 prints no variant: it only had the legacy one.
    let v = run("iptables", &["-V"])?;
    Some(if v.contains("nf_tables") {
        "nf_tables"
    } else {
        "legacy"
    })
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
