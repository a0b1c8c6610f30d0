//! A small evaluator for chains of firewall rules, shared by the nftables and iptables readers.
//!
//! The question is always the same: does a *new* inbound TCP or UDP connection to port P, arriving from
//! another host (not on `lo`), get accepted? Conditions the packet decides (protocol, destination port,
//! `iif lo`, conntrack state `new`) evaluate to yes or no. Conditions it can't decide (source address,
//! named interface, rate limits, opaque `xt` matches) are unknown; the chains are then run twice — once
//! assuming every unknown condition goes the packet's way (the *best* case: some client gets in) and once
//! against it (the *worst* case: an arbitrary client) — and the two outcomes bound the truth. A rule never
//! claims open or blocked without a path through real rules or a real policy.
//!
//! This file holds the model (conditions, rules, chains, the ruleset and its decisions) and the mark
//! analysis the readers share; [`walk`] runs a packet through it.

use std::collections::BTreeMap;

mod walk;

use crate::ports::PortRange;
use crate::ports::Protocol;

/// IP version of the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// `IPv4` or `IPv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// The packet being decided: a new inbound connection from another host.
#[derive(Clone, Copy, Debug)]
pub struct Packet {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Destination port.
    pub port: u16,
    /// IP version.
    pub family: Family,
}

/// A three-valued match result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    /// The condition holds for the packet.
    Yes,
    /// It does not.
    No,
    /// It depends on something the packet does not fix (source address, interface, rate).
    Unknown,
}

impl Tri {
    fn from_bool(b: bool) -> Self {
        if b { Tri::Yes } else { Tri::No }
    }

    fn negate(self, neg: bool) -> Self {
        match (self, neg) {
            (Tri::Yes, true) => Tri::No,
            (Tri::No, true) => Tri::Yes,
            (t, _) => t,
        }
    }
}

/// One condition of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// The transport protocol is one of these.
    Protocol(Vec<Protocol>, bool),
    /// The destination port is in one of these ranges (the bool negates).
    DPort(Vec<PortRange>, bool),
    /// The input interface is one of these names (the bool negates); only `lo` is decidable.
    Iface(Vec<String>, bool),
    /// The conntrack state is one of these (`new`, `established`, `related`, `invalid`, `untracked`).
    CtState(Vec<String>, bool),
    /// The IP version.
    Family(Family),
    /// The packet mark: `(mark & mask) == value` (the bool negates), with its text for messages. A
    /// fresh packet from another host carries mark 0 unless a rule sets it on the way in, so this is
    /// decided when no rule of the ruleset can set a bit of `mask` (see [`Ruleset::mark_bits`]).
    Mark {
        /// The bits tested.
        mask: u32,
        /// What they must equal.
        value: u32,
        /// `!=` / `! --mark`.
        neg: bool,
        /// How the rule writes it (`-m mark --mark 0x8000/0x8000`).
        text: String,
    },
    /// Always true (comments, counters folded into conditions).
    Always,
    /// Never true for a new connection from another host (`ct status dnat`, `daddr 127.0.0.0/8`, icmp).
    Never,
    /// A condition the packet does not decide, with its text for messages.
    Unknown(String),
}

impl Cond {
    fn eval(&self, p: &Packet, mark_bits: u32) -> Tri {
        match self {
            Cond::Mark {
                mask, value, neg, ..
            } => {
                if mask & mark_bits == 0 {
                    Tri::from_bool(*value == 0).negate(*neg)
                } else {
                    Tri::Unknown
                }
            }
            Cond::Protocol(ps, neg) => Tri::from_bool(ps.contains(&p.protocol)).negate(*neg),
            Cond::DPort(rs, neg) => {
                Tri::from_bool(rs.iter().any(|r| r.contains(p.port))).negate(*neg)
            }
            Cond::Iface(names, neg) => {
                if names.iter().all(|n| n == "lo") {
                    Tri::No.negate(*neg)
                } else {
                    Tri::Unknown
                }
            }
            Cond::CtState(states, neg) => {
                Tri::from_bool(states.iter().any(|s| s == "new")).negate(*neg)
            }
            Cond::Family(f) => Tri::from_bool(*f == p.family),
            Cond::Always => Tri::Yes,
            Cond::Never => Tri::No,
            Cond::Unknown(_) => Tri::Unknown,
        }
    }
}

/// What a rule does when it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Accept the packet (final for this base chain).
    Accept,
    /// Drop it silently.
    Drop,
    /// Reject it (RST / ICMP unreachable).
    Reject,
    /// Run another chain, then continue here.
    Jump(String),
    /// Run another chain instead of the rest of this one.
    Goto(String),
    /// Return to the calling chain.
    Return,
    /// Nothing final (counter, log): go on with the next rule.
    Continue,
}

/// One rule: conditions, an action, and how to name it in messages.
#[derive(Clone, Debug)]
pub struct Rule {
    /// All must hold.
    pub conds: Vec<Cond>,
    /// What happens then.
    pub action: Action,
    /// How messages quote it (`inet filter input handle 7: tcp dport 22 accept`).
    pub desc: String,
}

/// A chain of rules.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    /// The rules in order.
    pub rules: Vec<Rule>,
}

/// A base chain on the input hook, with its policy.
#[derive(Clone, Debug)]
pub struct BaseChain {
    /// Name for messages (`inet filter input`, `iptables INPUT`).
    pub name: String,
    /// The chain's key in [`Ruleset::chains`].
    pub key: String,
    /// Priority: lower runs first.
    pub priority: i64,
    /// Which IP versions traverse it.
    pub families: Vec<Family>,
    /// The policy when no rule decides (`accept` or `drop`).
    pub policy_accept: bool,
}

/// A set of chains with the base chains that the input path traverses.
#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    /// All chains by key.
    pub chains: BTreeMap<String, Chain>,
    /// Input base chains.
    pub bases: Vec<BaseChain>,
    /// The packet-mark bits some rule of the dump (any table, any chain: raw and mangle PREROUTING,
    /// nat, the input chains themselves) may set. A rule's path is not traced, so this over-covers:
    /// a mark test on these bits is unknown, on any other bit it is decided with mark 0.
    pub mark_bits: u32,
}

/// The outcome of one evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the packet gets through.
    pub accepted: bool,
    /// The rule or policy that decided, quoted.
    pub by: String,
    /// Whether the decision was made by a policy (no rule matched) rather than a rule.
    pub by_policy: bool,
    /// Unknown conditions that were taken on the way, quoted ("ip saddr 10.0.0.0/8").
    pub assumed: Vec<String>,
    /// The base chain that decided (`inet filter input`, `iptables INPUT`).
    pub base: String,
}
/// Each chain's rules, each as (the chains it jumps or goes to, the mark bits it may set).
pub type MarkRules<K> = BTreeMap<K, Vec<(Vec<K>, u32)>>;

/// The mark bits a new inbound packet may carry at the input hook: those set by any rule of a chain
/// reachable, through jumps and gotos, from `starts` (the chains on the packet's way in). The rules'
/// conditions are not weighed: a rule that might run counts.
pub fn mark_bits_reached<K: Ord + Clone>(
    chains: &MarkRules<K>,
    starts: impl IntoIterator<Item = K>,
) -> u32 {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo: Vec<K> = starts.into_iter().collect();
    let mut bits = 0;
    while let Some(chain) = todo.pop() {
        if !seen.insert(chain.clone()) {
            continue;
        }
        for (targets, set) in chains.get(&chain).into_iter().flatten() {
            bits |= set;
            todo.extend(targets.iter().cloned());
        }
    }
    bits
}
