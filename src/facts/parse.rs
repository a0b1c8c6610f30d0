//! Parsers of command output, as people paste it: plain functions over text, platform-neutral, so the
//! Windows ones are tested on Linux with captured samples. They accept headers in any language (only the
//! numbers and addresses are read), blank lines, CRLF, `*` markers and IPv6 `[::]:80`; a line that looks
//! like data but can't be read is an error naming that line.

use std::net::{IpAddr, Ipv6Addr};

use super::{Exclusion, Fact, Facts, Origin, Socket, SocketState};
use crate::ports::PortRange;
use crate::ports::Protocol;

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r').trim()))
}

/// The protocol a netsh header names (`Protocol tcp …`), in any language: the words `tcp`/`udp` survive.
fn header_protocol(text: &str) -> Option<Protocol> {
    for (_, l) in lines(text) {
        let lower = l.to_ascii_lowercase();
        let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        if words.contains(&"tcp") {
            return Some(Protocol::Tcp);
        }
        if words.contains(&"udp") {
            return Some(Protocol::Udp);
        }
    }
    None
}

/// `netsh interface ipv4 show excludedportrange protocol=tcp|udp`: rows of `START END` with an optional
/// `*` for administered exclusions. Returns the protocol named in the header, when there is one.
pub fn excludedportrange(text: &str) -> Result<(Option<Protocol>, Vec<Exclusion>), ParseError> {
    let mut out = Vec::new();
    for (n, l) in lines(text) {
        let tokens: Vec<&str> = l.split_whitespace().collect();
        let numeric = tokens
            .first()
            .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()));
        if !numeric {
            continue; // header, dashes, blank, or the "* - Administered port exclusions." footnote
        }
        let (start, end, star) = match tokens.as_slice() {
            [a, b] => (*a, *b, false),
            [a, b, "*"] => (*a, *b, true),
            _ => {
                return err(
                    n,
                    format!("expected `START END` or `START END *`, found {l:?}"),
                );
            }
        };
        let (Ok(s), Ok(e)) = (start.parse::<u16>(), end.parse::<u16>()) else {
            return err(n, format!("port numbers must be 0-65535, found {l:?}"));
        };
        let Some(range) = PortRange::new(s, e) else {
            return err(n, format!("range {s}-{e} is backwards"));
        };
        out.push(Exclusion {
            range,
            administered: star,
        });
    }
    Ok((header_protocol(text), out))
}

/// `netsh int ipv4 show dynamicport tcp|udp`: the first two numbers after a colon are the start port
/// and the number of ports, whatever the labels' language.
pub fn dynamicport(text: &str) -> Result<(Option<Protocol>, PortRange), ParseError> {
    let mut nums = Vec::new();
    let mut last_line = 0;
    for (n, l) in lines(text) {
        let Some((_, value)) = l.split_once(':') else {
            continue;
        };
        let v = value.trim();
        if v.is_empty() {
            continue;
        }
        match v.parse::<u32>() {
            Ok(x) => {
                nums.push((n, x));
                last_line = n;
            }
            Err(_) => continue,
        }
        if nums.len() == 2 {
            break;
        }
    }
    let [(ls, start), (_, count)] = nums.as_slice() else {
        return err(
            last_line.max(1),
            "expected `Start Port : N` and `Number of Ports : N`",
        );
    };
    let Ok(start16) = u16::try_from(*start) else {
        return err(*ls, format!("start port {start} is above 65535"));
    };
    match PortRange::from_start_count(start16, *count) {
        Some(r) => Ok((header_protocol(text), r)),
        None => err(
            *ls,
            format!("start {start} with {count} ports runs past 65535 or is empty"),
        ),
    }
}

/// Reads `ADDR:PORT` as `ss`, `netstat` and Windows print it: `0.0.0.0:80`, `[::]:80`, `*:80` (any,
/// dual-stack), `:::22` (Linux netstat IPv6), `127.0.0.53%lo:53`, `[fe80::1%eth0]:80`.
pub fn addr_port(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once("]:")?;
        (a, p)
    } else {
        s.rsplit_once(':')?
    };
    let port: u16 = port.parse().ok()?;
    let addr = addr.split('%').next().unwrap_or(addr);
    let ip = match addr {
        "*" | "" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        "::" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        a => a.parse().ok()?,
    };
    Some((ip, port))
}

fn owner_ss(process: &str) -> (Option<u32>, Option<String>) {
    // users:(("python3",pid=7706,fd=3),("python3",pid=7707,fd=3))
    let name = process
        .split("((\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(str::to_owned);
    let pid = process
        .split("pid=")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok());
    (pid, name)
}

fn tcp_state(word: &str) -> SocketState {
    match word.to_ascii_uppercase().replace('-', "_").as_str() {
        "LISTEN" | "LISTENING" | "ABHÖREN" => SocketState::Listen,
        "TIME_WAIT" | "TIMEWAIT" | "WARTEND" => SocketState::TimeWait,
        "ESTAB" | "ESTABLISHED" | "HERGESTELLT" => SocketState::Established,
        "UNCONN" => SocketState::Bound,
        _ => SocketState::Other,
    }
}

/// `ss` with `-p` and `-n`: `-tlnp`, `-tanp`, `-tulpn`, with or without the Netid column.
pub fn ss(text: &str) -> Result<Vec<Socket>, ParseError> {
    let mut out = Vec::new();
    for (n, l) in lines(text) {
        let tokens: Vec<&str> = l.split_whitespace().collect();
        let Some(first) = tokens.first() else {
            continue;
        };
        if first.eq_ignore_ascii_case("state") || first.eq_ignore_ascii_case("netid") {
            continue;
        }
        let (netid, rest) = match *first {
            "tcp" | "udp" | "raw" | "u_str" | "u_dgr" | "u_seq" | "nl" | "p_raw" | "p_dgr"
            | "v_str" | "v_dgr" | "icmp6" | "mptcp" | "sctp" => (Some(*first), &tokens[1..]),
            _ => (None, &tokens[..]),
        };
        let protocol = match netid {
            Some("tcp") => Protocol::Tcp,
            Some("udp") => Protocol::Udp,
            Some(_) => continue,
            None => {
                if rest
                    .first()
                    .is_some_and(|s| s.eq_ignore_ascii_case("UNCONN"))
                {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                }
            }
        };
        // State Recv-Q Send-Q Local Peer [Process]
        let [state, _rq, _sq, local, _peer, process @ ..] = rest else {
            return err(
                n,
                format!("expected `State Recv-Q Send-Q Local Peer Process`, found {l:?}"),
            );
        };
        let Some((address, port)) = addr_port(local) else {
            return err(
                n,
                format!(
                    "cannot read the local address {local:?}; capture with `ss -n` so ports are numbers"
                ),
            );
        };
        let state = match protocol {
            Protocol::Udp => SocketState::Bound,
            Protocol::Tcp => tcp_state(state),
        };
        let (pid, process) = owner_ss(&process.join(" "));
        out.push(Socket {
            protocol,
            address,
            port,
            state,
            pid,
            process,
        });
    }
    Ok(out)
}

/// Linux `netstat -tulpn` / `-tanp`: `Proto Recv-Q Send-Q Local Foreign [State] PID/Program`, with `-`
/// where the PID is hidden (not root).
pub fn netstat_linux(text: &str) -> Result<Vec<Socket>, ParseError> {
    let mut out = Vec::new();
    for (n, l) in lines(text) {
        let tokens: Vec<&str> = l.split_whitespace().collect();
        let protocol = match tokens.first().copied() {
            Some("tcp" | "tcp6") => Protocol::Tcp,
            Some("udp" | "udp6") => Protocol::Udp,
            _ => continue, // headers ("Active Internet connections", "Proto …"), unix sockets, blank
        };
        let (local, state, owner) = match (protocol, tokens.as_slice()) {
            (Protocol::Tcp, [_, _, _, local, _, state, owner, ..]) => {
                (*local, tcp_state(state), Some(*owner))
            }
            (Protocol::Tcp, [_, _, _, local, _, state]) => (*local, tcp_state(state), None),
            (Protocol::Udp, [_, _, _, local, _, rest @ ..]) => {
                // UDP rows may carry a state column (ESTABLISHED) before the owner; the owner is the first
                // `PID/name` or `-` token (the name itself may contain spaces: `900/nginx: master`).
                (
                    *local,
                    SocketState::Bound,
                    rest.iter().find(|t| t.contains('/') || **t == "-").copied(),
                )
            }
            _ => {
                return err(
                    n,
                    format!(
                        "expected `Proto Recv-Q Send-Q Local Foreign State PID/Program`, found {l:?}"
                    ),
                );
            }
        };
        let Some((address, port)) = addr_port(local) else {
            return err(
                n,
                format!("cannot read the local address {local:?}; capture with `netstat -n`"),
            );
        };
        let (pid, process) = match owner.and_then(|o| o.split_once('/')) {
            Some((p, name)) => (p.parse().ok(), Some(name.trim_end_matches(':').to_owned())),
            None => (None, None),
        };
        out.push(Socket {
            protocol,
            address,
            port,
            state,
            pid,
            process,
        });
    }
    Ok(out)
}

/// Windows `netstat -ano`: `Proto Local Foreign State PID`, UDP rows without a state. The state column
/// is localized, so a TCP row whose foreign address is `0.0.0.0:0` or `[::]:0` is taken as listening
/// whatever the word says.
pub fn netstat_ano(text: &str) -> Result<Vec<Socket>, ParseError> {
    let mut out = Vec::new();
    for (n, l) in lines(text) {
        let tokens: Vec<&str> = l.split_whitespace().collect();
        let protocol = match tokens.first().map(|t| t.to_ascii_uppercase()) {
            Some(t) if t == "TCP" => Protocol::Tcp,
            Some(t) if t == "UDP" => Protocol::Udp,
            _ => continue,
        };
        let (local, foreign, state, pid) = match (protocol, tokens.as_slice()) {
            (Protocol::Tcp, [_, local, foreign, state, pid]) => {
                (*local, *foreign, Some(*state), *pid)
            }
            (Protocol::Udp, [_, local, foreign, pid]) => (*local, *foreign, None, *pid),
            _ => {
                return err(
                    n,
                    format!("expected `Proto Local Foreign State PID`, found {l:?}"),
                );
            }
        };
        let Some((address, port)) = addr_port(local) else {
            return err(n, format!("cannot read the local address {local:?}"));
        };
        let Ok(pid) = pid.parse::<u32>() else {
            return err(
                n,
                format!("the PID column {pid:?} is not a number; capture with `netstat -ano`"),
            );
        };
        let state = match protocol {
            Protocol::Udp => SocketState::Bound,
            Protocol::Tcp => {
                let listening_peer = matches!(foreign, "0.0.0.0:0" | "[::]:0" | "*:*");
                match state.map(tcp_state) {
                    Some(SocketState::Other) | None if listening_peer => SocketState::Listen,
                    Some(s) => s,
                    None => SocketState::Other,
                }
            }
        };
        out.push(Socket {
            protocol,
            address,
            port,
            state,
            pid: Some(pid),
            process: None,
        });
    }
    Ok(out)
}

/// `/proc/sys/net/ipv4/ip_local_reserved_ports`: `8080,30000-32767` (empty: none).
pub fn port_list(text: &str) -> Result<Vec<PortRange>, ParseError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    t.split(',')
        .map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            match (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
                (Ok(a), Ok(b)) => PortRange::new(a, b).ok_or(()),
                _ => Err(()),
            }
            .or_else(|()| err(1, format!("{part:?} is not a port or range")))
        })
        .collect()
}

/// `/proc/sys/net/ipv4/ip_local_port_range`: two numbers separated by white space.
pub fn two_numbers(text: &str) -> Result<PortRange, ParseError> {
    let nums: Vec<u16> = text
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    match nums.as_slice() {
        [a, b] => {
            PortRange::new(*a, *b).map_or_else(|| err(1, format!("range {a}-{b} is backwards")), Ok)
        }
        _ => err(
            1,
            format!("expected two port numbers, found {:?}", text.trim()),
        ),
    }
}

/// The kinds `preflight facts --import KIND=FILE` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportKind {
    /// `netsh int ipv4 show excludedportrange protocol=tcp|udp`
    NetshExcludedPortRange,
    /// `netsh int ipv4 show dynamicport tcp|udp`
    NetshDynamicPort,
    /// Windows `netstat -ano`
    NetstatAno,
    /// `ss -tlnp` and friends (any listing with `-p -n`)
    Ss,
    /// Linux `netstat -tulpn` / `-tanp`
    Netstat,
    /// `nft -j list ruleset`
    NftJson,
    /// `iptables-save` (add `iptables -V` output's variant with the `iptables-version` kind)
    IptablesSave,
    /// `ip6tables-save`
    Ip6tablesSave,
    /// `iptables -V` (tells nf_tables from legacy)
    IptablesVersion,
    /// `netsh advfirewall firewall show rule name=all verbose`
    NetshFirewall,
    /// `netsh advfirewall show allprofiles`
    NetshAllProfiles,
    /// The PowerShell export of rules and profiles (see the README)
    PowershellFirewall,
}

impl ImportKind {
    /// Every kind with its name on the command line.
    pub const ALL: &'static [(&'static str, ImportKind)] = &[
        (
            "netsh-excludedportrange",
            ImportKind::NetshExcludedPortRange,
        ),
        ("netsh-dynamicport", ImportKind::NetshDynamicPort),
        ("netstat-ano", ImportKind::NetstatAno),
        ("ss", ImportKind::Ss),
        ("netstat", ImportKind::Netstat),
        ("nft-json", ImportKind::NftJson),
        ("iptables-save", ImportKind::IptablesSave),
        ("ip6tables-save", ImportKind::Ip6tablesSave),
        ("iptables-version", ImportKind::IptablesVersion),
        ("netsh-firewall", ImportKind::NetshFirewall),
        ("netsh-allprofiles", ImportKind::NetshAllProfiles),
        ("powershell-firewall", ImportKind::PowershellFirewall),
    ];

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(n, _)| n)
    }
}

fn captured<T>(value: T, detail: &str) -> Fact<T> {
    Fact {
        value,
        origin: Origin::Captured,
        detail: detail.to_owned(),
    }
}

/// The firewall part of `facts`, created on first use.
fn firewall<'a>(facts: &'a mut Facts, detail: &str) -> &'a mut super::firewall::FirewallFacts {
    &mut facts
        .firewall
        .get_or_insert_with(|| captured(Default::default(), detail))
        .value
}

/// Adds what one captured output says to `facts`. Sockets from several captures are merged.
pub fn import(kind: ImportKind, text: &str, facts: &mut Facts) -> Result<(), ParseError> {
    let add_sockets = |facts: &mut Facts, mut s: Vec<Socket>, detail: &str, os: &str| {
        match &mut facts.sockets {
            Some(f) => f.value.append(&mut s),
            None => facts.sockets = Some(captured(s, detail)),
        }
        facts.os.get_or_insert_with(|| os.to_owned());
    };
    match kind {
        ImportKind::NftJson => {
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError {
                line: e.line(),
                message: format!("not JSON: {e}"),
            })?;
            // Validate now, so a bad capture fails at import rather than at check time.
            super::firewall::nft::ruleset(&v, false)
                .map_err(|message| ParseError { line: 1, message })?;
            firewall(facts, "nft -j list ruleset").nftables = Some(v);
            facts.os.get_or_insert_with(|| "linux".to_owned());
        }
        ImportKind::IptablesSave | ImportKind::Ip6tablesSave => {
            let (family, label) = match kind {
                ImportKind::IptablesSave => (super::firewall::engine::Family::V4, "iptables"),
                _ => (super::firewall::engine::Family::V6, "ip6tables"),
            };
            super::firewall::iptables::ruleset(text, family, label)?;
            let fw = firewall(facts, "iptables-save");
            match family {
                super::firewall::engine::Family::V4 => fw.iptables_v4 = Some(text.to_owned()),
                super::firewall::engine::Family::V6 => fw.iptables_v6 = Some(text.to_owned()),
            }
            facts.os.get_or_insert_with(|| "linux".to_owned());
        }
        ImportKind::IptablesVersion => {
            let variant = if text.contains("nf_tables") {
                "nf_tables"
            } else if text.contains("legacy") {
                "legacy"
            } else {
                return err(1, "expected `iptables v1.8.9 (nf_tables)` or `(legacy)`");
            };
            firewall(facts, "iptables -V").iptables_variant = Some(variant.to_owned());
        }
        ImportKind::NetshFirewall => {
            let rules = super::firewall::windows::netsh_rules(text)?;
            firewall(
                facts,
                "netsh advfirewall firewall show rule name=all verbose",
            )
            .windows_rules = Some(rules);
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetshAllProfiles => {
            let profiles = super::firewall::windows::netsh_profiles(text)?;
            firewall(facts, "netsh advfirewall show allprofiles").windows_profiles = Some(profiles);
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::PowershellFirewall => {
            let (rules, profiles) = super::firewall::windows::powershell(text)?;
            let fw = firewall(facts, "Get-NetFirewallRule / Get-NetFirewallProfile");
            fw.windows_rules = Some(rules);
            if !profiles.is_empty() {
                fw.windows_profiles = Some(profiles);
            }
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetshExcludedPortRange => {
            let (proto, ex) = excludedportrange(text)?;
            let proto = proto.unwrap_or(Protocol::Tcp);
            let detail = format!(
                "netsh int ipv4 show excludedportrange protocol={}",
                proto.as_str()
            );
            let slot = match proto {
                Protocol::Tcp => &mut facts.excluded_tcp,
                Protocol::Udp => &mut facts.excluded_udp,
            };
            match slot {
                Some(f) => f.value.extend(ex),
                None => *slot = Some(captured(ex, &detail)),
            }
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetshDynamicPort => {
            let (proto, range) = dynamicport(text)?;
            let proto = proto.unwrap_or(Protocol::Tcp);
            let detail = format!("netsh int ipv4 show dynamicport {}", proto.as_str());
            match proto {
                Protocol::Tcp => facts.ephemeral_tcp = Some(captured(range, &detail)),
                Protocol::Udp => facts.ephemeral_udp = Some(captured(range, &detail)),
            }
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetstatAno => {
            let s = netstat_ano(text)?;
            add_sockets(facts, s, "netstat -ano", "windows");
            facts.owners_visible = Some(true);
        }
        ImportKind::Ss => {
            let s = ss(text)?;
            let visible = s.iter().any(|x| x.pid.is_some());
            add_sockets(facts, s, "ss", "linux");
            facts.owners_visible = Some(facts.owners_visible.unwrap_or(false) || visible);
        }
        ImportKind::Netstat => {
            let s = netstat_linux(text)?;
            let visible = s.iter().any(|x| x.pid.is_some());
            add_sockets(facts, s, "netstat", "linux");
            facts.owners_visible = Some(facts.owners_visible.unwrap_or(false) || visible);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(addr_port("0.0.0.0:80"), Some((ip("0.0.0.0"), 80)));
        assert_eq!(addr_port("[::]:80"), Some((ip("::"), 80)));
        assert_eq!(addr_port("*:8081"), Some((ip("::"), 8081)));
        assert_eq!(addr_port(":::22"), Some((ip("::"), 22)));
        assert_eq!(addr_port("127.0.0.53%lo:53"), Some((ip("127.0.0.53"), 53)));
        assert_eq!(addr_port("[fe80::1%eth0]:80"), Some((ip("fe80::1"), 80)));
        assert_eq!(
            addr_port("[::ffff:127.0.0.1]:80"),
            Some((ip("::ffff:127.0.0.1"), 80))
        );
        assert_eq!(addr_port("0.0.0.0:http"), None);
        assert_eq!(addr_port("0.0.0.0:70000"), None);
    }

    #[test]
    fn lists() {
        assert_eq!(port_list("").unwrap(), vec![]);
        assert_eq!(
            port_list("8080,30000-32767\n").unwrap(),
            vec![
                PortRange::new(8080, 8080).unwrap(),
                PortRange::new(30000, 32767).unwrap()
            ]
        );
        assert!(port_list("8080,x").is_err());
        assert_eq!(
            two_numbers("32768\t60999\n").unwrap(),
            PortRange::new(32768, 60999).unwrap()
        );
        assert!(two_numbers("1").is_err());
    }
}
