//! `preflight facts --import KIND=FILE`: the import kinds and the dispatcher that turns captured command
//! output into [`Facts`], above the leaf parsers of [`super::parse`] and [`super::firewall`].

use std::path::Path;

use super::parse::{
    CaptureError, dynamicport, excludedportrange_blocks, netstat_ano_rows, netstat_linux_rows,
    ss_rows,
};
use super::{Fact, Facts, FactsError, Origin, Socket, firewall, windows_net};
use crate::document::{decode, did_you_mean};
use crate::ports::Protocol;

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
    /// `Get-NetConnectionProfile`: which firewall profile each connected network uses
    NetConnectionProfile,
    /// `netsh http show servicestate`: URLs HTTP.sys serves, their request queues and processes
    NetshHttpServicestate,
    /// `netsh http show urlacl`: HTTP.sys URL reservations
    NetshHttpUrlacl,
    /// `netsh interface portproxy show all`: ports the IP Helper service proxies
    NetshPortproxy,
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
        ("netconnectionprofile", ImportKind::NetConnectionProfile),
        ("netsh-http-servicestate", ImportKind::NetshHttpServicestate),
        ("netsh-http-urlacl", ImportKind::NetshHttpUrlacl),
        ("netsh-portproxy", ImportKind::NetshPortproxy),
    ];

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    /// The command whose output it reads, for `facts --help`.
    pub fn command(self) -> &'static str {
        match self {
            ImportKind::NetshExcludedPortRange => {
                "netsh int ipv4 show excludedportrange protocol=tcp|udp"
            }
            ImportKind::NetshDynamicPort => "netsh int ipv4 show dynamicport tcp|udp",
            ImportKind::NetstatAno => "netstat -ano (Windows)",
            ImportKind::Ss => "ss -tlnp, ss -tanp, ss -tulpn (Linux)",
            ImportKind::Netstat => "netstat -tulpn, netstat -tanp (Linux)",
            ImportKind::NftJson => "nft -j list ruleset",
            ImportKind::IptablesSave => "iptables-save",
            ImportKind::Ip6tablesSave => "ip6tables-save",
            ImportKind::IptablesVersion => "iptables -V",
            ImportKind::NetshFirewall => "netsh advfirewall firewall show rule name=all verbose",
            ImportKind::NetshAllProfiles => "netsh advfirewall show allprofiles",
            ImportKind::PowershellFirewall => "the PowerShell firewall export (see the README)",
            ImportKind::NetConnectionProfile => "Get-NetConnectionProfile",
            ImportKind::NetshHttpServicestate => "netsh http show servicestate",
            ImportKind::NetshHttpUrlacl => "netsh http show urlacl",
            ImportKind::NetshPortproxy => "netsh interface portproxy show all",
        }
    }

    /// The long help of `facts --import`: every kind with the command it reads, from [`Self::ALL`].
    pub fn help() -> String {
        let mut s = String::from(
            "Build facts from captured command output instead of probing this host: KIND=FILE, \
             repeatable. Files may be UTF-8 or UTF-16 (PowerShell's `>`). Kinds:",
        );
        for (name, kind) in Self::ALL {
            s.push_str(&format!("\n  {name:<24} {}", kind.command()));
        }
        s
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
fn firewall_of<'a>(facts: &'a mut Facts, detail: &str) -> &'a mut firewall::FirewallFacts {
    &mut facts
        .firewall
        .get_or_insert_with(|| captured(Default::default(), detail))
        .value
}

/// Records the rows of a capture that could not be read and were skipped.
fn warn(facts: &mut Facts, kind: ImportKind, skipped: &[CaptureError]) {
    for e in skipped {
        facts.warnings.push(format!(
            "{} line {}: {}; the row was skipped",
            kind.name(),
            e.line,
            e.message
        ));
    }
}

/// Adds what one captured output says to `facts`. Sockets from several captures are merged.
pub fn import(kind: ImportKind, text: &str, facts: &mut Facts) -> Result<(), CaptureError> {
    let add_sockets = |facts: &mut Facts, mut s: Vec<Socket>, detail: &str, os: &str| {
        match &mut facts.sockets {
            Some(f) => f.value.append(&mut s),
            None => facts.sockets = Some(captured(s, detail)),
        }
        facts.os.get_or_insert_with(|| os.to_owned());
    };
    match kind {
        ImportKind::NftJson => {
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| CaptureError {
                line: e.line(),
                message: format!("not JSON: {e}"),
            })?;
            // Validate now, so a bad capture fails at import rather than at check time.
            firewall::nft::ruleset(&v, false).map_err(|e| CaptureError {
                line: 1,
                message: e.to_string(),
            })?;
            firewall_of(facts, "nft -j list ruleset").nftables = Some(v);
            facts.os.get_or_insert_with(|| "linux".to_owned());
        }
        ImportKind::IptablesSave | ImportKind::Ip6tablesSave => {
            let (family, label) = match kind {
                ImportKind::IptablesSave => (firewall::engine::Family::V4, "iptables"),
                _ => (firewall::engine::Family::V6, "ip6tables"),
            };
            firewall::iptables::ruleset(text, family, label)?;
            let fw = firewall_of(facts, "iptables-save");
            match family {
                firewall::engine::Family::V4 => fw.iptables_v4 = Some(text.to_owned()),
                firewall::engine::Family::V6 => fw.iptables_v6 = Some(text.to_owned()),
            }
            facts.os.get_or_insert_with(|| "linux".to_owned());
        }
        ImportKind::IptablesVersion => {
            let variant = if text.contains("nf_tables") {
                "nf_tables"
            } else if text.contains("legacy") {
                "legacy"
            } else {
                return Err(CaptureError {
                    line: 1,
                    message: "expected `iptables v1.8.9 (nf_tables)` or `(legacy)`".into(),
                });
            };
            firewall_of(facts, "iptables -V").iptables_variant = Some(variant.to_owned());
        }
        ImportKind::NetshFirewall => {
            let rules = firewall::windows::netsh_rules(text)?;
            firewall_of(
                facts,
                "netsh advfirewall firewall show rule name=all verbose",
            )
            .windows_rules = Some(rules);
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetshAllProfiles => {
            let profiles = firewall::windows::netsh_profiles(text)?;
            firewall_of(facts, "netsh advfirewall show allprofiles").windows_profiles =
                Some(profiles);
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::PowershellFirewall => {
            let (rules, profiles) = firewall::windows::powershell(text)?;
            let fw = firewall_of(facts, "Get-NetFirewallRule / Get-NetFirewallProfile");
            fw.windows_rules = Some(rules);
            if !profiles.is_empty() {
                fw.windows_profiles = Some(profiles);
            }
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetshHttpServicestate => {
            let urls = windows_net::servicestate(text)?;
            facts.http_urls = Some(captured(urls, "netsh http show servicestate"));
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetshHttpUrlacl => {
            let r = windows_net::urlacl(text)?;
            facts.url_reservations = Some(captured(r, "netsh http show urlacl"));
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetshPortproxy => {
            // netsh prints nothing at all when no proxy is configured.
            let p = if text.trim().is_empty() {
                Vec::new()
            } else {
                windows_net::portproxy(text)?
            };
            facts.port_proxies = Some(captured(p, "netsh interface portproxy show all"));
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetConnectionProfile => {
            let profiles = firewall::windows::connection_profiles(text)?;
            facts.network_profiles = Some(captured(profiles, "Get-NetConnectionProfile"));
            facts.os.get_or_insert_with(|| "windows".to_owned());
        }
        ImportKind::NetshExcludedPortRange => {
            // A paste may hold the tcp and the udp listing one after the other: each block goes to
            // the protocol its heading names (tcp when none does).
            for (proto, ex) in excludedportrange_blocks(text)? {
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
            let (s, skipped) = netstat_ano_rows(text)?;
            warn(facts, kind, &skipped);
            add_sockets(facts, s, "netstat -ano", "windows");
            facts.owners_visible = Some(true);
        }
        ImportKind::Ss => {
            let (s, skipped) = ss_rows(text)?;
            warn(facts, kind, &skipped);
            let visible = s.iter().any(|x| x.pid.is_some());
            add_sockets(facts, s, "ss", "linux");
            facts.owners_visible = Some(facts.owners_visible.unwrap_or(false) || visible);
        }
        ImportKind::Netstat => {
            let (s, skipped) = netstat_linux_rows(text)?;
            warn(facts, kind, &skipped);
            let visible = s.iter().any(|x| x.pid.is_some());
            add_sockets(facts, s, "netstat", "linux");
            facts.owners_visible = Some(facts.owners_visible.unwrap_or(false) || visible);
        }
    }
    Ok(())
}

/// Builds facts from `KIND=FILE` specs, in order; the first one that can't be used stops the import.
/// Files may be UTF-8 or UTF-16 (PowerShell's `>` redirect).
pub fn import_files(specs: &[String]) -> Result<Facts, FactsError> {
    let mut facts = Facts::new();
    for spec in specs {
        let Some((kind, file)) = spec.split_once('=') else {
            return Err(FactsError::Usage(format!(
                "--import takes KIND=FILE, got {spec:?}"
            )));
        };
        let Some(k) = ImportKind::from_name(kind) else {
            let names: Vec<&str> = ImportKind::ALL.iter().map(|(n, _)| *n).collect();
            let hint = did_you_mean(kind, names.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(FactsError::Usage(format!(
                "unknown import kind `{kind}`: {hint}kinds are {}",
                names.join(", ")
            )));
        };
        let bytes = crate::document::read_up_to(Path::new(file), super::MAX_FACTS_BYTES).map_err(
            |source| FactsError::Io {
                file: file.to_owned(),
                source,
            },
        )?;
        if bytes.len() as u64 > super::MAX_FACTS_BYTES {
            return Err(FactsError::Invalid {
                file: file.to_owned(),
                message: format!("over the limit of {} bytes", super::MAX_FACTS_BYTES),
            });
        }
        let text = decode(&bytes);
        let before = facts.warnings.len();
        import(k, &text, &mut facts).map_err(|e| FactsError::Parse {
            file: file.to_owned(),
            kind: kind.to_owned(),
            line: e.line,
            message: e.message,
        })?;
        for w in &mut facts.warnings[before..] {
            *w = format!("{file}: {w}");
        }
    }
    facts.normalize();
    Ok(facts)
}

/// Reads a facts file (see [`super::load`]) and imports the raw captures it carries (`captures`,
/// written by the PowerShell collector) through the same readers as `--import`. A capture of an
/// unknown kind, or one that can't be read, makes the file invalid, naming the kind and line.
pub fn load(path: &Path) -> Result<Facts, FactsError> {
    with_captures(&path.display().to_string(), super::load(path)?)
}

/// [`load`] on a facts file's text (`file` is what messages call it).
pub fn from_text(file: &str, text: &str) -> Result<Facts, FactsError> {
    with_captures(file, super::from_text(file, text)?)
}

/// The facts with the raw captures they carry imported.
fn with_captures(file: &str, mut facts: Facts) -> Result<Facts, FactsError> {
    let captures = std::mem::take(&mut facts.captures);
    for (kind, text) in &captures {
        let file = file.to_owned();
        let Some(k) = ImportKind::from_name(kind) else {
            return Err(FactsError::Invalid {
                file,
                message: format!("`captures` has an unknown kind `{kind}`"),
            });
        };
        import(k, text, &mut facts).map_err(|e| FactsError::Parse {
            file,
            kind: format!("captures.{kind}"),
            line: e.line,
            message: e.message,
        })?;
    }
    if !captures.is_empty() {
        facts.mark_captured();
        facts.normalize();
    }
    Ok(facts)
}
