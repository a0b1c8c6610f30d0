//! Running a packet through a [`Ruleset`]: base chains by priority, jumps, gotos and returns, once in
//! the best case and once in the worst (see [`super`]).

use super::{Action, BaseChain, Cond, Decision, Packet, Ruleset, Tri};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Best,
    Worst,
}

const MAX_DEPTH: usize = 64;

impl Ruleset {
    /// Whether the ruleset has any input base chain.
    pub fn is_empty(&self) -> bool {
        self.bases.is_empty()
    }

    /// Decides the packet in the best case (unknowns go its way) and the worst case (they go against it).
    /// `None` when no base chain applies to the packet's family (the ruleset does not filter it).
    pub fn decide(&self, p: &Packet) -> Option<(Decision, Decision)> {
        let best = self.run(p, Case::Best)?;
        let worst = self.run(p, Case::Worst)?;
        Some((best, worst))
    }

    fn run(&self, p: &Packet, case: Case) -> Option<Decision> {
        let mut bases: Vec<&BaseChain> = self
            .bases
            .iter()
            .filter(|b| b.families.contains(&p.family))
            .collect();
        if bases.is_empty() {
            return None;
        }
        bases.sort_by_key(|b| b.priority);
        let mut last_accept: Option<Decision> = None;
        for b in bases {
            let mut assumed = Vec::new();
            let d = match self.chain(&b.key, p, case, 0, &mut assumed) {
                Some((accepted, by)) => Decision {
                    accepted,
                    by,
                    by_policy: false,
                    assumed,
                    base: b.name.clone(),
                },
                None => Decision {
                    accepted: b.policy_accept,
                    by: format!(
                        "{} policy {}",
                        b.name,
                        if b.policy_accept { "accept" } else { "drop" }
                    ),
                    by_policy: true,
                    assumed,
                    base: b.name.clone(),
                },
            };
            if !d.accepted {
                return Some(d); // a drop in any base chain is final
            }
            // An accept by a rule names the rule; keep the most specific accept for messages.
            if last_accept
                .as_ref()
                .is_none_or(|l| l.by_policy && !d.by_policy)
            {
                last_accept = Some(d);
            }
        }
        last_accept
    }

    /// Runs a chain: `Some((accepted, rule))` when a rule decides, `None` when the chain falls through
    /// (or returns).
    fn chain(
        &self,
        key: &str,
        p: &Packet,
        case: Case,
        depth: usize,
        assumed: &mut Vec<String>,
    ) -> Option<(bool, String)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let chain = self.chains.get(key)?;
        for rule in &chain.rules {
            let mut result = Tri::Yes;
            let mut unknowns = Vec::new();
            for c in &rule.conds {
                match c.eval(p, self.mark_bits) {
                    Tri::No => {
                        result = Tri::No;
                        break;
                    }
                    Tri::Unknown => {
                        result = Tri::Unknown;
                        unknowns.push(match c {
                            Cond::Unknown(t) => t.clone(),
                            Cond::Mark { text, .. } => {
                                format!("{text} (a rule sets mark bits {:#x})", self.mark_bits)
                            }
                            Cond::Iface(n, neg) => {
                                format!("iifname {}{}", if *neg { "!= " } else { "" }, n.join(","))
                            }
                            other => format!("{other:?}"),
                        });
                    }
                    Tri::Yes => {}
                }
            }
            let matches = match result {
                Tri::Yes => true,
                Tri::No => false,
                // Unknown: in the best case the condition lets the packet in, in the worst it keeps it out;
                // jumps are followed either way.
                Tri::Unknown => matches!(
                    (&rule.action, case),
                    (Action::Accept, Case::Best)
                        | (Action::Drop | Action::Reject, Case::Worst)
                        | (Action::Jump(_) | Action::Goto(_), _)
                ),
            };
            if !matches {
                continue;
            }
            if result == Tri::Unknown {
                assumed.extend(unknowns);
            }
            match &rule.action {
                Action::Accept => return Some((true, rule.desc.clone())),
                Action::Drop | Action::Reject => return Some((false, rule.desc.clone())),
                Action::Return => return None,
                Action::Continue => {}
                Action::Jump(target) => {
                    if let Some(v) = self.chain(target, p, case, depth + 1, assumed) {
                        return Some(v);
                    }
                }
                Action::Goto(target) => return self.chain(target, p, case, depth + 1, assumed),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    fn rule(conds: Vec<Cond>, action: Action, desc: &str) -> Rule {
        Rule {
            conds,
            action,
            desc: desc.into(),
        }
    }

    fn ruleset(rules: Vec<Rule>, policy_accept: bool) -> Ruleset {
        let mut r = Ruleset::default();
        r.chains.insert("in".into(), Chain { rules });
        r.bases.push(BaseChain {
            name: "t in".into(),
            key: "in".into(),
            priority: 0,
            families: vec![Family::V4, Family::V6],
            policy_accept,
        });
        r
    }

    fn pkt(port: u16) -> Packet {
        Packet {
            protocol: Protocol::Tcp,
            port,
            family: Family::V4,
        }
    }

    fn dport(p: u16) -> Cond {
        Cond::DPort(vec![PortRange::new(p, p).unwrap()], false)
    }

    #[test]
    fn policy_drop_with_accepts() {
        let r = ruleset(
            vec![
                rule(
                    vec![Cond::CtState(
                        vec!["established".into(), "related".into()],
                        false,
                    )],
                    Action::Accept,
                    "ct",
                ),
                rule(
                    vec![Cond::Iface(vec!["lo".into()], false)],
                    Action::Accept,
                    "lo",
                ),
                rule(
                    vec![Cond::Protocol(vec![Protocol::Tcp], false), dport(22)],
                    Action::Accept,
                    "ssh",
                ),
                rule(
                    vec![Cond::Unknown("ip saddr 10.0.0.0/8".into()), dport(5432)],
                    Action::Accept,
                    "pg",
                ),
            ],
            false,
        );
        let (b, w) = r.decide(&pkt(22)).unwrap();
        assert!(b.accepted && w.accepted && b.by == "ssh");
        let (b, w) = r.decide(&pkt(80)).unwrap();
        assert!(!b.accepted && !w.accepted && b.by_policy);
        let (b, w) = r.decide(&pkt(5432)).unwrap();
        assert!(b.accepted && !w.accepted);
        assert_eq!(b.assumed, ["ip saddr 10.0.0.0/8"]);
    }

    #[test]
    fn jumps_returns_and_later_base_chains() {
        let mut r = ruleset(
            vec![rule(vec![], Action::Jump("sub".into()), "jump sub")],
            true,
        );
        r.chains.insert(
            "sub".into(),
            Chain {
                rules: vec![
                    rule(vec![dport(81)], Action::Return, "ret"),
                    rule(vec![], Action::Drop, "sub drop"),
                ],
            },
        );
        assert!(r.decide(&pkt(81)).unwrap().0.accepted);
        assert_eq!(r.decide(&pkt(80)).unwrap().0.by, "sub drop");
        // A second base chain at a later priority that drops wins over the first one's accept.
        r.chains.insert(
            "late".into(),
            Chain {
                rules: vec![rule(vec![dport(81)], Action::Reject, "late reject")],
            },
        );
        r.bases.push(BaseChain {
            name: "t late".into(),
            key: "late".into(),
            priority: 10,
            families: vec![Family::V4],
            policy_accept: true,
        });
        assert_eq!(r.decide(&pkt(81)).unwrap().0.by, "late reject");
        // Families: the late chain does not see IPv6.
        let v6 = Packet {
            family: Family::V6,
            ..pkt(81)
        };
        assert!(r.decide(&v6).unwrap().0.accepted);
    }

    #[test]
    fn loops_terminate() {
        let mut r = ruleset(vec![rule(vec![], Action::Jump("in".into()), "self")], false);
        r.chains.insert("x".into(), Chain::default());
        assert!(!r.decide(&pkt(1)).unwrap().0.accepted);
    }
}
