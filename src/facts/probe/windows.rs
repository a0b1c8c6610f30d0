//! Windows: sockets and their owning PIDs from the IP Helper socket tables (netstat2, which calls
//! `GetExtendedTcpTable`/`GetExtendedUdpTable`), process names from the PID
//! (`QueryFullProcessImageNameW`), the services each process hosts (`EnumServicesStatusExW`: a
//! shared `svchost.exe` runs several), and the port ranges from `netsh`, read by the same parsers as
//! `--import`. Each fact is probed on its own: a command that fails or prints something unexpected
//! leaves its fact absent (or at the Windows default, marked `default`) and is recorded in
//! `unavailable`; the rest of the facts stand.
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use super::netstat::{list, owners};

use crate::facts::firewall::windows::{NetworkProfile, connection_profiles};
use crate::facts::parse::{CaptureError, dynamicport, excludedportrange};
use crate::facts::windows_net::{portproxy, servicestate, urlacl};
use crate::facts::{Exclusion, Fact, Facts, FactsError, Unavailable};
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
        CloseServiceHandle, ENUM_SERVICE_STATUS_PROCESSW, EnumServicesStatusExW, OpenSCManagerW,
        SC_ENUM_PROCESS_INFO, SC_MANAGER_ENUMERATE_SERVICE, SERVICE_ACTIVE, SERVICE_WIN32,
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
fn netsh(args: &[&str], empty_ok: bool) -> Result<String, Failed> {
    let out = std::process::Command::new("netsh")
        .args(args)
        .output()
        .map_err(Failed::NotRun)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(Failed::Exit(out.status.code()));
    }
    if text.trim().is_empty() && !empty_ok {
        return Err(Failed::Empty);
    }
    Ok(text)
}

/// Why a command could not give a fact; recorded (as text) in the facts' `unavailable`.
#[derive(Debug, thiserror::Error)]
enum Failed {
    /// It could not be started.
    #[error("could not be run ({0})")]
    NotRun(std::io::Error),
    /// It exited with a failure code, or was stopped (`None`).
    #[error("{}", match .0 { Some(c) => format!("exited with code {c}"), None => "was stopped".to_owned() })]
    Exit(Option<i32>),
    /// It printed nothing.
    #[error("printed nothing")]
    Empty,
    /// Its output has no table of ranges.
    #[error("printed no table of ranges")]
    NoTable,
    /// Its output is not what the parser reads.
    #[error("printed something unexpected: {0}")]
    Unexpected(String),
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
    let read =
        netsh(args, empty_ok).and_then(|t| parse(&t).map_err(|e| Failed::Unexpected(e.message)));
    match read {
        Ok(v) => Some(Fact::live(v, command)),
        Err(reason) => {
            facts.unavailable.push(Unavailable {
                fact: fact.to_owned(),
                command,
                reason: reason.to_string(),
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
            .map_err(|e| Failed::Unexpected(e.message))
    });
    match read {
        Ok(range) => Fact::live(range, command),
        Err(reason) => {
            facts.unavailable.push(Unavailable {
                fact: format!("ephemeral_{p}"),
                command: command.clone(),
                reason: reason.to_string(),
            });
            let default = crate::facts::defaults::default_ephemeral_range(Platform::Windows);
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
            return Err(Failed::NoTable);
        }
        excludedportrange(&t)
            .map(|(_, ex)| ex)
            .map_err(|e| Failed::Unexpected(e.message))
    });
    match read {
        Ok(ex) => Some(Fact::live(ex, command)),
        Err(reason) => {
            facts.unavailable.push(Unavailable {
                fact: format!("excluded_{p}"),
                command,
                reason: reason.to_string(),
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
        .map_err(Failed::NotRun)
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if !out.status.success() {
                return Err(Failed::Exit(out.status.code()));
            }
            connection_profiles(&text).map_err(|e| Failed::Unexpected(e.message))
        });
    match read {
        Ok(profiles) => Some(Fact::live(profiles, command)),
        Err(reason) => {
            facts.unavailable.push(Unavailable {
                fact: "network_profiles".to_owned(),
                command: command.to_owned(),
                reason: reason.to_string(),
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
