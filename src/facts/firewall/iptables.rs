//! Reads `iptables-save` / `ip6tables-save` output (the `*filter` table) into the evaluator's [`Ruleset`].
//!
//! Understood: chain policies (`:INPUT DROP [0:0]`), `-p`, `--dport`/`--dports` (`-m tcp`, `-m udp`,
//! `-m multiport`, ranges `A:B`), `-i lo`, `-m conntrack --ctstate` / `-m state --state`, `-m comment`,
//! `-m addrtype --dst-type LOCAL` (kube-proxy), `-m mark --mark V/M` (decided with mark 0 unless a
//! rule of any table — `MARK`, `CONNMARK --restore-mark`, `TPROXY` — can set those bits), negation with `!`, and the targets ACCEPT, DROP, REJECT,
//! RETURN, user chains (`-j`, `-g`); LOG and other non-final targets continue. Anything else (`-s`,
//! `-m recent`, `-m set`, …) is an unknown condition, quoted in messages.

use super::engine::{
    Action, BaseChain, Chain, Cond, Family, MarkRules, Rule, Ruleset, mark_bits_reached,
};
use crate::facts::parse::CaptureError;
use crate::ports::PortRange;
use crate::ports::Protocol;

/// Splits a line into words, keeping `"quoted strings"` whole (comments have spaces).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn port_ranges(spec: &str) -> Option<Vec<PortRange>> {
    spec.split(',')
        .map(|p| {
            let (a, b) = p.split_once(':').unwrap_or((p, p));
            let a = if a.is_empty() { 0 } else { a.parse().ok()? };
            let b = if b.is_empty() { 65535 } else { b.parse().ok()? };
            PortRange::new(a, b)
        })
        .collect()
}

/// `0x8000`, `32768`.
fn number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `--mark 0x8000/0x8000` as (value, mask); no mask tests every bit.
fn mark_spec(spec: &str) -> Option<(u32, u32)> {
    match spec.split_once('/') {
        Some((v, m)) => Some((number(v)?, number(m)?)),
        None => Some((number(spec)?, u32::MAX)),
    }
}

/// The packet-mark bits a rule may set. Starting from 0, `MARK --set-mark`/`--set-xmark`/`--or-mark`/
/// `--xor-mark V[/M]` and `TPROXY --tproxy-mark V[/M]` can only turn on bits of V; `--and-mark` none.
/// `CONNMARK --restore-mark` copies the connection's mark, and any other target option naming a mark
/// is not modelled: all bits.
fn mark_bits_set(w: &[String]) -> u32 {
    let Some(at) = w.iter().position(|x| x == "-j" || x == "--jump") else {
        return 0;
    };
    let target = w.get(at + 1).map_or("", String::as_str);
    let opts = &w[(at + 2).min(w.len())..];
    let value_of = |name: &str| {
        opts.iter()
            .position(|o| o == name)
            .and_then(|i| opts.get(i + 1))
            .map(|v| mark_spec(v).map_or(u32::MAX, |(v, _)| v))
    };
    match target {
        "MARK" => ["--set-mark", "--set-xmark", "--or-mark", "--xor-mark"]
            .iter()
            .filter_map(|o| value_of(o))
            .fold(0, |a, b| a | b),
        "TPROXY" => value_of("--tproxy-mark").unwrap_or(0),
        "CONNMARK" if opts.iter().any(|o| o == "--restore-mark") => u32::MAX,
        "CONNMARK" => 0,
        _ if opts.iter().any(|o| o.contains("mark")) => u32::MAX,
        _ => 0,
    }
}

fn protocol(spec: &str) -> Option<Protocol> {
    match spec {
        "tcp" | "6" => Some(Protocol::Tcp),
        "udp" | "17" => Some(Protocol::Udp),
        _ => None,
    }
}

/// Builds the ruleset of the `*filter` table for `family`; `label` names it in messages
/// (`iptables`, `ip6tables`).
pub fn ruleset(text: &str, family: Family, label: &str) -> Result<Ruleset, CaptureError> {
    let mut rs = Ruleset::default();
    let mut in_filter = false;
    let mut table = String::new();
    let mut marks = MarkGraph::default();
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            in_filter = name == "filter";
            name.clone_into(&mut table);
            continue;
        }
        if line == "COMMIT" || (!in_filter && !line.starts_with("-A")) {
            continue;
        }
        if let Some(decl) = line.strip_prefix(':') {
            let w: Vec<&str> = decl.split_whitespace().collect();
            let (Some(name), Some(policy)) = (w.first(), w.get(1)) else {
                return Err(CaptureError {
                    line: n,
                    message: format!("expected `:CHAIN POLICY [p:b]`, found {line:?}"),
                });
            };
            rs.chains.entry((*name).to_owned()).or_default();
            if *name == "INPUT" {
                rs.bases.push(BaseChain {
                    name: format!("{label} INPUT"),
                    key: "INPUT".into(),
                    priority: 0,
                    families: vec![family],
                    policy_accept: *policy != "DROP" && *policy != "REJECT",
                });
            }
            continue;
        }
        let w = words(line);
        if line.starts_with("-A") {
            // Marks are set in raw, mangle and nat as well as filter: note every table's setters.
            marks.add(&table, &w);
        }
        if !in_filter {
            continue;
        }
        let (chain, rule) = parse_rule(&w, label).map_err(|e| CaptureError {
            line: n,
            message: e.to_string(),
        })?;
        rs.chains
            .entry(chain)
            .or_insert_with(Chain::default)
            .rules
            .push(rule);
    }
    rs.mark_bits = marks.on_input_path();
    Ok(rs)
}

/// Per table and chain, each rule's jump or goto target and the mark bits it may set: enough to
/// tell, with [`mark_bits_reached`], the bits a new inbound packet can carry at filter INPUT.
#[derive(Default)]
struct MarkGraph {
    /// (table, chain) → its rules, each as ([target in the same table], bits set).
    chains: MarkRules<(String, String)>,
}

impl MarkGraph {
    fn add(&mut self, table: &str, w: &[String]) {
        let Some(chain) = w.iter().position(|x| x == "-A").and_then(|i| w.get(i + 1)) else {
            return;
        };
        let target = w
            .iter()
            .position(|x| matches!(x.as_str(), "-j" | "--jump" | "-g" | "--goto"))
            .and_then(|i| w.get(i + 1))
            .map(|t| (table.to_owned(), t.clone()));
        self.chains
            .entry((table.to_owned(), chain.clone()))
            .or_default()
            .push((target.into_iter().collect(), mark_bits_set(w)));
    }

    /// The bits set on the chains a new inbound packet traverses up to and including filter INPUT
    /// (raw and mangle PREROUTING, nat PREROUTING, mangle INPUT, filter INPUT) and what they jump to.
    fn on_input_path(&self) -> u32 {
        let starts = [
            ("raw", "PREROUTING"),
            ("mangle", "PREROUTING"),
            ("nat", "PREROUTING"),
            ("mangle", "INPUT"),
            ("filter", "INPUT"),
        ];
        mark_bits_reached(
            &self.chains,
            starts.map(|(t, c)| (t.to_owned(), c.to_owned())),
        )
    }
}

/// Why one `-A` line of a save dump can't be read.
#[derive(Debug, thiserror::Error)]
enum RuleError {
    /// An option without its value.
    #[error("`{0}` needs a value")]
    MissingValue(String),
    /// A port list that isn't one.
    #[error("cannot read ports {0:?}")]
    BadPorts(String),
    /// A line that names no chain.
    #[error("a rule line must start with `-A CHAIN`")]
    NoChain,
}

fn parse_rule(w: &[String], label: &str) -> Result<(String, Rule), RuleError> {
    let mut chain = None;
    let mut conds = Vec::new();
    let mut action = Action::Continue;
    let mut neg = false;
    let mut proto: Option<Protocol> = None;
    let mut module = String::new();
    let mut i = 0;
    let arg = |i: usize| {
        w.get(i + 1)
            .map(String::as_str)
            .ok_or_else(|| RuleError::MissingValue(w[i].clone()))
    };
    while i < w.len() {
        let opt = w[i].as_str();
        match opt {
            "!" => {
                neg = true;
                i += 1;
                continue;
            }
            "-A" | "--append" => {
                chain = Some(arg(i)?.to_owned());
                i += 2;
            }
            "-p" | "--protocol" => {
                let p = arg(i)?;
                match protocol(p) {
                    Some(pr) => {
                        proto = Some(pr);
                        conds.push(Cond::Protocol(vec![pr], neg));
                    }
                    None if p == "all" => {}
                    None => conds.push(if neg { Cond::Always } else { Cond::Never }), // icmp etc.: never our packet
                }
                i += 2;
            }
            "-m" | "--match" => {
                module = arg(i)?.to_owned();
                if !matches!(
                    module.as_str(),
                    "tcp"
                        | "udp"
                        | "multiport"
                        | "conntrack"
                        | "state"
                        | "comment"
                        | "addrtype"
                        | "mark"
                ) {
                    conds.push(Cond::Unknown(format!("-m {module}")));
                }
                i += 2;
            }
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                let spec = arg(i)?;
                let ranges =
                    port_ranges(spec).ok_or_else(|| RuleError::BadPorts(spec.to_owned()))?;
                if proto.is_none() {
                    conds.push(Cond::Unknown(format!("{opt} {spec} without -p")));
                }
                conds.push(Cond::DPort(ranges, neg));
                i += 2;
            }
            "-i" | "--in-interface" => {
                conds.push(Cond::Iface(vec![arg(i)?.to_owned()], neg));
                i += 2;
            }
            "--ctstate" | "--state" => {
                let states = arg(i)?.split(',').map(|s| s.to_ascii_lowercase()).collect();
                conds.push(Cond::CtState(states, neg));
                i += 2;
            }
            "--comment" => i += 2,
            "--mark" if module == "mark" => {
                let spec = arg(i)?;
                let text = format!("{}-m mark --mark {spec}", if neg { "! " } else { "" });
                conds.push(match mark_spec(spec) {
                    Some((value, mask)) => Cond::Mark {
                        mask,
                        value,
                        neg,
                        text,
                    },
                    None => Cond::Unknown(text),
                });
                i += 2;
            }
            "--dst-type" if module == "addrtype" => {
                let t = arg(i)?;
                conds.push(if t == "LOCAL" && !neg {
                    Cond::Always
                } else {
                    Cond::Unknown(format!("--dst-type {t}"))
                });
                i += 2;
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                let t = arg(i)?;
                action = match t {
                    "ACCEPT" => Action::Accept,
                    "DROP" => Action::Drop,
                    "REJECT" => Action::Reject,
                    "RETURN" => Action::Return,
                    "LOG" | "NFLOG" | "ULOG" | "MARK" | "CONNMARK" | "TRACE" | "AUDIT" | "CT"
                    | "NOTRACK" => Action::Continue,
                    // A user chain; a target that is no chain of the table falls through harmlessly.
                    chain if opt == "-g" || opt == "--goto" => Action::Goto(chain.to_owned()),
                    chain => Action::Jump(chain.to_owned()),
                };
                // Options of the target (e.g. --reject-with) follow; skip them.
                i = w.len();
            }
            "-d" | "--destination" if arg(i)?.starts_with("127.") => {
                // A new connection from another host is never addressed to 127.0.0.0/8.
                conds.push(if neg { Cond::Always } else { Cond::Never });
                i += 2;
            }
            _ if opt.starts_with('-') => {
                // An option this reader does not decide (-s, -d, --sport, --limit, …), with its value.
                let value = w
                    .get(i + 1)
                    .filter(|v| !v.starts_with('-'))
                    .map(String::as_str)
                    .unwrap_or("");
                conds.push(Cond::Unknown(
                    format!("{}{opt} {value}", if neg { "! " } else { "" })
                        .trim()
                        .to_owned(),
                ));
                i += if value.is_empty() { 1 } else { 2 };
            }
            _ => i += 1,
        }
        neg = false;
    }
    let chain = chain.ok_or(RuleError::NoChain)?;
    let desc = format!("{label} rule `{}`", w.join(" "));
    Ok((
        chain,
        Rule {
            conds,
            action,
            desc,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::super::engine::Packet;
    use super::*;

    fn open(rs: &Ruleset, proto: Protocol, port: u16) -> (bool, bool) {
        let (b, w) = rs
            .decide(&Packet {
                protocol: proto,
                port,
                family: Family::V4,
            })
            .unwrap();
        (b.accepted, w.accepted)
    }

    #[test]
    fn kube_like_ruleset() {
        let rs = ruleset(
            include_str!("../../../tests/fixtures/firewall/iptables-kube.v4"),
            Family::V4,
            "iptables",
        )
        .unwrap();
        assert_eq!(open(&rs, Protocol::Tcp, 22), (true, true));
        assert_eq!(open(&rs, Protocol::Tcp, 8005), (true, true));
        assert_eq!(open(&rs, Protocol::Tcp, 30080), (true, true));
        assert_eq!(open(&rs, Protocol::Tcp, 5432), (true, false));
        assert_eq!(open(&rs, Protocol::Tcp, 8080), (false, false));
        assert_eq!(open(&rs, Protocol::Udp, 22), (false, false));
    }

    #[test]
    fn packet_marks_are_zero_unless_a_rule_on_the_way_in_sets_them() {
        let dump = include_str!("../../../tests/fixtures/firewall/kubelet-mark.v4");
        // KUBE-MARK-DROP sets 0x8000 but no chain a packet traverses jumps to it.
        let rs = ruleset(dump, Family::V4, "iptables").unwrap();
        assert_eq!(rs.mark_bits, 0);
        assert_eq!(open(&rs, Protocol::Tcp, 8080), (true, true));
        // Reached from nat PREROUTING (through a user chain), it makes the mark test undecided.
        let reached = dump.replace(
            "-A KUBE-SERVICES -m addrtype",
            "-A KUBE-SERVICES -s 10.0.0.0/8 -j KUBE-FIREWALL\n-A KUBE-SERVICES -m addrtype",
        );
        let rs = ruleset(&reached, Family::V4, "iptables").unwrap();
        assert_eq!(rs.mark_bits, 0x8000);
        assert_eq!(open(&rs, Protocol::Tcp, 8080), (true, false));
    }

    #[test]
    fn mark_bits_each_target_may_set() {
        let bits = |rule: &str| mark_bits_set(&words(rule));
        assert_eq!(bits("-A X -j MARK --set-xmark 0x4000/0x4000"), 0x4000);
        assert_eq!(bits("-A X -j MARK --set-mark 5"), 5);
        assert_eq!(bits("-A X -j MARK --or-mark 0x10"), 0x10);
        assert_eq!(bits("-A X -j MARK --and-mark 0x10"), 0);
        assert_eq!(bits("-A X -j CONNMARK --restore-mark"), u32::MAX);
        assert_eq!(bits("-A X -j CONNMARK --save-mark"), 0);
        assert_eq!(
            bits("-A X -p tcp -j TPROXY --on-port 1 --tproxy-mark 0x1/0x1"),
            1
        );
        assert_eq!(bits("-A X -j ACCEPT"), 0);
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            words(r#"-A INPUT -m comment --comment "a b" -j ACCEPT"#),
            [
                "-A",
                "INPUT",
                "-m",
                "comment",
                "--comment",
                "a b",
                "-j",
                "ACCEPT"
            ]
        );
    }

    #[test]
    fn bad_lines_name_their_line() {
        let e = ruleset(
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport x -j ACCEPT\nCOMMIT\n",
            Family::V4,
            "iptables",
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
    }
}
