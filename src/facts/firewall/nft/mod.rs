//! Reads `nft -j list ruleset` into the evaluator's [`Ruleset`].
//!
//! Input base chains of the `inet`, `ip` and `ip6` families are kept with their priority and policy;
//! regular chains are reachable by `jump`/`goto`. Understood: `tcp`/`udp`/`th dport` against numbers,
//! ranges, anonymous and named sets; `meta l4proto`, `meta nfproto`, `iif`/`iifname`, `ct state`; verdict
//! maps on the destination port; `meta mark` tests (decided with mark 0 unless a chain reached from a
//! prerouting or input hook may set those bits); `accept`, `drop`, `reject`, `jump`, `goto`, `return`.
//! Anything else in a rule is an unknown condition, quoted in messages.
//!
//! The packet-mark analysis (which bits a chain on the way in may set, `meta mark` tests) is in
//! [`marks`].

use serde_json::Value;

mod marks;
mod names;

use super::engine::{Action, BaseChain, Cond, Family, Rule, Ruleset};
use crate::ports::PortRange;
use crate::ports::Protocol;
use marks::{mark_cond, marks_on_input_path};
use names::{key, str_of};

fn families(family: &str) -> Vec<Family> {
    match family {
        "ip" => vec![Family::V4],
        "ip6" => vec![Family::V6],
        "inet" => vec![Family::V4, Family::V6],
        _ => vec![],
    }
}

/// Whether a table is the compatibility table iptables-nft maintains (`ip filter` / `ip6 filter` with an
/// `INPUT` chain); its `xt` matches are opaque in JSON, so its rules are read from `iptables-save` instead.
pub fn is_iptables_compat(objects: &[Value], family: &str, table: &str) -> bool {
    matches!(family, "ip" | "ip6")
        && table == "filter"
        && objects.iter().any(|o| {
            o.get("chain").is_some_and(|c| {
                c["family"] == family
                    && c["table"] == table
                    && c["name"] == "INPUT"
                    && c.get("hook").is_some()
            })
        })
}

/// Why a JSON text is not an nftables ruleset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NftError {
    /// The JSON has no top-level `nftables` array.
    #[error("not `nft -j list ruleset` output: no top-level `nftables` array")]
    NotARuleset,
}

/// Builds the ruleset; `skip_compat` leaves out iptables-nft's tables (read from iptables-save instead).
pub fn ruleset(json: &Value, skip_compat: bool) -> Result<Ruleset, NftError> {
    let objects = json
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or(NftError::NotARuleset)?;
    let mut rs = Ruleset::default();
    let sets: Vec<&Value> = objects.iter().filter_map(|o| o.get("set")).collect();
    let skip =
        |family: &str, table: &str| skip_compat && is_iptables_compat(objects, family, table);
    for o in objects {
        if let Some(c) = o.get("chain") {
            let (family, table, name) =
                (str_of(c, "family"), str_of(c, "table"), str_of(c, "name"));
            if skip(family, table) || families(family).is_empty() {
                continue;
            }
            let k = key(family, table, name);
            rs.chains.entry(k.clone()).or_default();
            if c.get("hook").and_then(Value::as_str) == Some("input")
                && c.get("type").and_then(Value::as_str) == Some("filter")
            {
                rs.bases.push(BaseChain {
                    name: format!("{family} {table} {name}"),
                    key: k,
                    priority: c.get("prio").and_then(Value::as_i64).unwrap_or(0),
                    families: families(family),
                    policy_accept: c.get("policy").and_then(Value::as_str) != Some("drop"),
                });
            }
        }
    }
    rs.mark_bits = marks_on_input_path(objects);
    for o in objects {
        let Some(r) = o.get("rule") else { continue };
        let (family, table, chain) = (str_of(r, "family"), str_of(r, "table"), str_of(r, "chain"));
        if skip(family, table) || families(family).is_empty() {
            continue;
        }
        let handle = r.get("handle").and_then(Value::as_i64).unwrap_or(-1);
        let desc = format!("{family} {table} {chain} handle {handle}");
        let exprs = r
            .get("expr")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let ctx = Ctx {
            family,
            table,
            sets: &sets,
        };
        let rules = rule(&exprs, &desc, &ctx);
        rs.chains
            .entry(key(family, table, chain))
            .or_default()
            .rules
            .extend(rules);
    }
    Ok(rs)
}

struct Ctx<'a> {
    family: &'a str,
    table: &'a str,
    sets: &'a [&'a Value],
}

impl Ctx<'_> {
    fn named_set(&self, name: &str) -> Option<&Value> {
        self.sets
            .iter()
            .find(|s| s["name"] == name && s["table"] == self.table && s["family"] == self.family)
            .map(|s| s.get("elem").unwrap_or(&Value::Null))
    }

    fn target(&self, chain: &str) -> String {
        key(self.family, self.table, chain)
    }
}

/// The port ranges a right-hand side denotes, or `None` when it is not a port value.
fn ports(right: &Value, ctx: &Ctx<'_>) -> Option<Vec<PortRange>> {
    match right {
        Value::Number(n) => {
            let p = u16::try_from(n.as_u64()?).ok()?;
            Some(vec![PortRange::new(p, p)?])
        }
        Value::String(s) if s.starts_with('@') => ports(ctx.named_set(&s[1..])?, ctx),
        Value::Object(o) if o.contains_key("set") => ports(&o["set"], ctx),
        Value::Object(o) if o.contains_key("range") => {
            let r = o["range"].as_array()?;
            let a = u16::try_from(r.first()?.as_u64()?).ok()?;
            let b = u16::try_from(r.get(1)?.as_u64()?).ok()?;
            Some(vec![PortRange::new(a, b)?])
        }
        Value::Array(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(ports(i, ctx)?);
            }
            Some(out)
        }
        Value::Null => Some(vec![]),
        _ => None,
    }
}

fn strings(right: &Value) -> Vec<String> {
    match right {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(o) if o.contains_key("set") => strings(&o["set"]),
        _ => vec![],
    }
}

fn protocols(right: &Value) -> Option<Vec<Protocol>> {
    let mut out = Vec::new();
    for s in strings(right) {
        match s.as_str() {
            "tcp" => out.push(Protocol::Tcp),
            "udp" => out.push(Protocol::Udp),
            _ => {}
        }
    }
    match right.as_u64() {
        Some(6) => out.push(Protocol::Tcp),
        Some(17) => out.push(Protocol::Udp),
        _ => {}
    }
    Some(out)
}

/// An nft JSON value the way `nft list ruleset` prints it: `10.0.0.0/8`, `{ 80, 443 }`, `8000-8010`.
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => a.iter().map(render).collect::<Vec<_>>().join(","),
        Value::Object(o) => {
            if let Some(p) = o.get("prefix") {
                format!("{}/{}", render(&p["addr"]), render(&p["len"]))
            } else if let Some(r) = o.get("range") {
                format!("{}-{}", render(&r[0]), render(&r[1]))
            } else if let Some(set) = o.get("set") {
                format!(
                    "{{ {} }}",
                    match set {
                        Value::Array(a) => a.iter().map(render).collect::<Vec<_>>().join(", "),
                        other => render(other),
                    }
                )
            } else if let Some(p) = o.get("payload") {
                format!("{} {}", render(&p["protocol"]), render(&p["field"]))
            } else if let Some(m) = o.get("meta") {
                format!("meta {}", render(&m["key"]))
            } else if let Some(c) = o.get("ct") {
                format!("ct {}", render(&c["key"]))
            } else {
                v.to_string()
            }
        }
        other => other.to_string(),
    }
}

fn short(v: &Value) -> String {
    let s = render(v);
    if s.len() > 80 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(80).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

/// Conditions of one `match` expression.
fn match_conds(m: &Value, ctx: &Ctx<'_>) -> Vec<Cond> {
    let neg = m.get("op").and_then(Value::as_str) == Some("!=");
    let left = &m["left"];
    let right = &m["right"];
    let unknown = || {
        let op = match m["op"].as_str() {
            Some("!=") => "!= ",
            _ => "",
        };
        vec![Cond::Unknown(format!(
            "{} {op}{}",
            short(left),
            short(right)
        ))]
    };
    if let Some(c) = mark_cond(left, right, neg) {
        return vec![c];
    }
    if let Some(p) = left.get("payload") {
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("");
        let field = p.get("field").and_then(Value::as_str).unwrap_or("");
        if field == "dport" {
            let Some(rs) = ports(right, ctx) else {
                return unknown();
            };
            let mut conds = Vec::new();
            match proto {
                "tcp" => conds.push(Cond::Protocol(vec![Protocol::Tcp], false)),
                "udp" => conds.push(Cond::Protocol(vec![Protocol::Udp], false)),
                "th" => {}
                _ => return unknown(),
            }
            conds.push(Cond::DPort(rs, neg));
            return conds;
        }
        if matches!((proto, field), ("ip", "protocol") | ("ip6", "nexthdr")) {
            return protocols(right).map_or_else(unknown, |ps| vec![Cond::Protocol(ps, neg)]);
        }
        if matches!(field, "saddr" | "sport") {
            return vec![Cond::Unknown(format!(
                "{proto} {field} {}{}",
                if neg { "!= " } else { "" },
                short(right)
            ))];
        }
        if field == "daddr" && render(right).starts_with("127.") {
            // A new connection from another host is never addressed to 127.0.0.0/8.
            return vec![if neg { Cond::Always } else { Cond::Never }];
        }
        if matches!(field, "daddr") {
            // The destination is one of the host's own addresses; which one, the packet does not fix.
            return vec![Cond::Unknown(format!("{proto} daddr {}", short(right)))];
        }
        return unknown();
    }
    if let Some(meta) = left.get("meta") {
        return match meta.get("key").and_then(Value::as_str) {
            Some("l4proto") => {
                protocols(right).map_or_else(unknown, |ps| vec![Cond::Protocol(ps, neg)])
            }
            Some("iif" | "iifname") => vec![Cond::Iface(strings(right), neg)],
            Some("nfproto") => match strings(right).as_slice() {
                [f] if f == "ipv4" && !neg => vec![Cond::Family(Family::V4)],
                [f] if f == "ipv6" && !neg => vec![Cond::Family(Family::V6)],
                [f] if f == "ipv4" => vec![Cond::Family(Family::V6)],
                [f] if f == "ipv6" => vec![Cond::Family(Family::V4)],
                _ => unknown(),
            },
            _ => unknown(),
        };
    }
    match left
        .get("ct")
        .and_then(|c| c.get("key"))
        .and_then(Value::as_str)
    {
        Some("state") => return vec![Cond::CtState(strings(right), neg)],
        // A new, direct connection has no conntrack status bits yet (not dnat, snat, confirmed, …).
        Some("status") => return vec![if neg { Cond::Always } else { Cond::Never }],
        _ => {}
    }
    if left.get("fib").is_some() && strings(right).iter().any(|s| s == "local") {
        // `fib daddr type local`: the packet is addressed to this host.
        return vec![Cond::Always];
    }
    unknown()
}

fn verdict(e: &Value, ctx: &Ctx<'_>) -> Option<Action> {
    let obj = e.as_object()?;
    let (k, v) = obj.iter().next()?;
    Some(match k.as_str() {
        "accept" => Action::Accept,
        "drop" => Action::Drop,
        "reject" => Action::Reject,
        "return" => Action::Return,
        "jump" => Action::Jump(ctx.target(v.get("target")?.as_str()?)),
        "goto" => Action::Goto(ctx.target(v.get("target")?.as_str()?)),
        _ => return None,
    })
}

/// The rules one nft rule becomes (a verdict map becomes one rule per entry).
fn rule(exprs: &[Value], desc: &str, ctx: &Ctx<'_>) -> Vec<Rule> {
    let mut conds = Vec::new();
    let mut action = Action::Continue;
    let mut text = Vec::new();
    for e in exprs {
        if let Some(m) = e.get("match") {
            conds.extend(match_conds(m, ctx));
            text.push(short(m));
        } else if let Some(a) = verdict(e, ctx) {
            action = a;
        } else if let Some(vm) = e.get("vmap") {
            let mut out = Vec::new();
            let entries = vm["data"]["set"].as_array().cloned().unwrap_or_default();
            for entry in entries {
                let (Some(k), Some(v)) = (entry.get(0), entry.get(1)) else {
                    continue;
                };
                let Some(a) = verdict(v, ctx) else { continue };
                let mut c = conds.clone();
                let m = serde_json::json!({"op": "==", "left": vm["key"], "right": k});
                c.extend(match_conds(&m, ctx));
                out.push(Rule {
                    conds: c,
                    action: a,
                    desc: format!("{desc} (verdict map {})", short(k)),
                });
            }
            return out;
        } else if let Some(x) = e.get("xt") {
            let name = x.get("name").and_then(Value::as_str).unwrap_or("?");
            if name != "comment" {
                conds.push(Cond::Unknown(format!("iptables match `{name}`")));
            }
        } else if e.get("limit").is_some() {
            conds.push(Cond::Unknown("rate limit".into()));
        } else if e.get("queue").is_some() {
            conds.push(Cond::Unknown("queue to user space".into()));
        }
        // counter, log, meta set, ct mark set, …: no effect on the verdict
    }
    vec![Rule {
        conds,
        action,
        desc: desc.to_owned(),
    }]
}

#[cfg(test)]
mod tests {
    use super::super::engine::Packet;
    use super::*;

    #[test]
    fn reads_a_ruleset_with_sets_ranges_vmaps_and_chains() {
        let j: Value = serde_json::from_str(include_str!(
            "../../../../tests/fixtures/firewall/nft-policy-drop.json"
        ))
        .unwrap();
        let rs = ruleset(&j, false).unwrap();
        let open = |port| {
            let (b, _) = rs
                .decide(&Packet {
                    protocol: Protocol::Tcp,
                    port,
                    family: Family::V4,
                })
                .unwrap();
            b.accepted
        };
        for p in [22, 80, 443, 10000, 10050, 8005, 9000, 7000, 6000] {
            assert!(open(p), "{p} should be open");
        }
        for p in [21, 8080, 7001, 10101] {
            assert!(!open(p), "{p} should be closed");
        }
    }
}
