//! Packet marks in `nft -j` output: the bits a new inbound packet may carry at the input hook, and
//! `meta mark` tests read into [`Cond::Mark`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::names::{key, str_of};
use crate::facts::firewall::engine::{Cond, MarkRules, mark_bits_reached};

/// The packet-mark bits a new inbound packet may carry when it reaches the input hook, by
/// [`mark_bits_reached`] from every base chain on the prerouting, input or ingress hook of any table
/// (iptables-nft's own tables included), through jumps and gotos (verdict maps included).
pub(super) fn marks_on_input_path(objects: &[Value]) -> u32 {
    fn targets(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if let ("jump" | "goto", Some(t)) =
                        (k.as_str(), x.get("target").and_then(Value::as_str))
                    {
                        out.push(t.to_owned());
                    }
                    targets(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| targets(x, out)),
            _ => {}
        }
    }
    let chain_key =
        |o: &Value, name: &str| key(str_of(o, "family"), str_of(o, "table"), str_of(o, name));
    let mut chains: MarkRules<String> = BTreeMap::new();
    let mut starts = Vec::new();
    for o in objects {
        if let Some(c) = o.get("chain") {
            let hook = c.get("hook").and_then(Value::as_str);
            if matches!(hook, Some("prerouting" | "input" | "ingress")) {
                starts.push(chain_key(c, "name"));
            }
        }
        if let Some(r) = o.get("rule") {
            let bits = r
                .get("expr")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(mark_bits_set)
                .fold(0, |a, b| a | b);
            let mut ts = Vec::new();
            targets(&r["expr"], &mut ts);
            let (family, table) = (str_of(r, "family"), str_of(r, "table"));
            let ts = ts.iter().map(|t| key(family, table, t)).collect();
            chains
                .entry(chain_key(r, "chain"))
                .or_default()
                .push((ts, bits));
        }
    }
    mark_bits_reached(&chains, starts)
}

/// Whether `v` is `meta mark`.
fn is_meta_mark(v: &Value) -> bool {
    v.get("meta")
        .and_then(|k| k.get("key"))
        .and_then(Value::as_str)
        == Some("mark")
}

/// A JSON number that fits a mark.
fn mark_number(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// The packet-mark bits one statement may set: `meta mark set 0x4000` only those of its value;
/// `meta mark set meta mark | 0x4000` (or `^`) those of the constant; any other value (`ct mark`,
/// a map, arithmetic) and iptables `xt` targets, all bits.
fn mark_bits_set(e: &Value) -> u32 {
    if let Some(x) = e.get("xt") {
        let is_target = x.get("type").and_then(Value::as_str) == Some("target");
        let name = x.get("name").and_then(Value::as_str).unwrap_or("");
        return if is_target && name.to_ascii_uppercase().contains("MARK") {
            u32::MAX
        } else {
            0
        };
    }
    let Some(m) = e.get("mangle") else { return 0 };
    if !is_meta_mark(&m["key"]) {
        return 0;
    }
    let value = &m["value"];
    if let Some(n) = mark_number(value) {
        return n;
    }
    for op in ["|", "^"] {
        if let Some([_, c]) = value.get(op).and_then(Value::as_array).map(Vec::as_slice)
            && let Some(n) = mark_number(c)
        {
            return n;
        }
    }
    u32::MAX
}

/// `meta mark 0x1` or `meta mark & 0x8000 == 0x8000` as a [`Cond::Mark`].
pub(super) fn mark_cond(left: &Value, right: &Value, neg: bool) -> Option<Cond> {
    let mask = if is_meta_mark(left) {
        u32::MAX
    } else {
        match left.get("&").and_then(Value::as_array).map(Vec::as_slice) {
            Some([l, m]) if is_meta_mark(l) => mark_number(m)?,
            _ => return None,
        }
    };
    let value = mark_number(right)?;
    let text = if mask == u32::MAX {
        format!("meta mark {}{value:#x}", if neg { "!= " } else { "" })
    } else {
        format!(
            "meta mark & {mask:#x} {} {value:#x}",
            if neg { "!=" } else { "==" }
        )
    };
    Some(Cond::Mark {
        mask,
        value,
        neg,
        text,
    })
}
