//! `preflight fix`: one script that fixes the findings of `check`, in a dialect.

use serde::Serialize;

use super::quote;
use super::render::{FixError, has_template, render};
use crate::check::Outcome;
use crate::facts::Facts;
use crate::finding::Fix;
use crate::fleet::Host;

/// The languages `fix` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// Windows PowerShell (firewall cmdlets, netsh for ranges).
    Powershell,
    /// cmd with netsh.
    Netsh,
    /// POSIX shell for Linux: sysctl, setcap, and the firewall tool the facts found (default nftables).
    Sh,
    /// POSIX shell using firewalld for firewall fixes.
    Firewalld,
    /// POSIX shell using ufw for firewall fixes.
    Ufw,
    /// POSIX shell using nft for firewall fixes.
    Nft,
    /// POSIX shell using iptables for firewall fixes.
    Iptables,
    /// systemd unit drop-ins.
    Systemd,
    /// Kubernetes patches.
    K8s,
}

impl Dialect {
    /// Template directory, comment leader and file extension.
    pub fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Dialect::Powershell => ("powershell", "#", "ps1"),
            Dialect::Netsh => ("netsh", "REM", "cmd"),
            Dialect::Sh | Dialect::Firewalld | Dialect::Ufw | Dialect::Nft | Dialect::Iptables => {
                ("sh", "#", "sh")
            }
            Dialect::Systemd => ("systemd", "#", "conf"),
            Dialect::K8s => ("k8s", "#", "yaml"),
        }
    }

    /// The dialect that fits a host: PowerShell on Windows, `sh` elsewhere (which then uses the
    /// firewall tool the facts show).
    pub fn for_host(facts: &Facts) -> Dialect {
        if facts.is_windows() {
            Dialect::Powershell
        } else {
            Dialect::Sh
        }
    }

    /// The firewall tool a shell dialect uses; for `sh`, the one the facts found.
    fn tool(self, facts: Option<&Facts>, chain: Option<&str>) -> &'static str {
        match self {
            Dialect::Firewalld => "firewalld",
            Dialect::Ufw => "ufw",
            Dialect::Iptables => "iptables",
            Dialect::Nft => "nft",
            _ => {
                let manager = facts
                    .and_then(|f| f.firewall.as_ref())
                    .and_then(|f| f.value.manager.as_deref());
                match manager {
                    Some("firewalld") => "firewalld",
                    Some("ufw") => "ufw",
                    _ if chain.is_some_and(|c| {
                        c.starts_with("iptables") || c.starts_with("ip6tables")
                    }) =>
                    {
                        "iptables"
                    }
                    _ => "nft",
                }
            }
        }
    }
}

#[derive(Serialize)]
struct Header<'a> {
    title: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct Item<'a> {
    fix: &'a Fix,
    tool: &'a str,
    /// The nft base chain that drops the port, as `[family, table, chain]` (default `inet filter input`).
    chain: Vec<String>,
    help: String,
    c: &'a str,
}

/// Renders the fixes of every finding in `outcomes` as one script. Each fix is preceded by a comment that
/// names the finding it fixes; fixes that need a person's choice are printed as comments.
///
/// With a `host`, the script is that host's: the manifest's own findings and the host's findings, with
/// the host's facts choosing the tools (findings of other hosts are left out).
pub fn fix_script(
    dialect: Dialect,
    outcomes: &[Outcome],
    host: Option<&Host>,
) -> Result<String, FixError> {
    let facts: Option<&Facts> = host.map(|h| &h.facts);
    let host_name = host.map(|h| h.name.as_str());
    let (dir, c, _) = dialect.parts();
    let cmd = dialect == Dialect::Netsh;
    let files: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Checked(c) => Some(c.doc.name.as_str()),
            Outcome::Failed(_) | Outcome::NotChecked(_) | Outcome::Baseline(_) => None,
        })
        .collect();
    let title = match host_name {
        Some(h) => format!("fixes for {} on host {h}", files.join(", ")),
        None => format!("fixes for {}", files.join(", ")),
    };
    let mut out = render(
        &format!("{dir}/header.j2"),
        &Header {
            title: &title,
            version: env!("CARGO_PKG_VERSION"),
        },
    )?;
    let mut count = 0;
    for o in outcomes {
        let Outcome::Checked(checked) = o else {
            continue;
        };
        for f in checked.findings.iter() {
            if f.fixes.is_empty() || (f.host.is_some() && f.host.as_deref() != host_name) {
                continue;
            }
            let (line, column, _, _) = checked.doc.place(&f.path);
            out.push('\n');
            out.push_str(&format!(
                "{c} [{}] {} ({}:{line}:{column})\n",
                f.rule,
                quote::comment(&f.message, cmd),
                quote::comment(&checked.doc.name, cmd)
            ));
            for fix in &f.fixes {
                let chain = match fix {
                    Fix::OpenFirewall { chain, .. } => chain.as_deref(),
                    _ => None,
                };
                let name = format!("{dir}/{}.j2", fix.kind());
                let template = if has_template(&name) {
                    name
                } else {
                    "common/manual.j2".to_owned()
                };
                let nft_chain: Vec<String> = chain
                    .map(|c| c.split(' ').map(str::to_owned).collect::<Vec<_>>())
                    .filter(|parts| parts.len() == 3)
                    .unwrap_or_else(|| vec!["inet".into(), "filter".into(), "input".into()]);
                let item = Item {
                    fix,
                    tool: dialect.tool(facts, chain),
                    chain: nft_chain,
                    help: fix.describe(),
                    c,
                };
                out.push_str(&render(&template, &item)?);
                count += 1;
            }
        }
    }
    if count == 0 {
        out.push_str(&format!("\n{c} nothing to fix: no finding has a fix\n"));
    }
    Ok(out)
}
