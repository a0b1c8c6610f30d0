//! `port-plan`: a service listens outside its team's block of the port plan.

use super::{Context, suggest_port};
use crate::document::did_you_mean;
use crate::facts::defaults;
use crate::finding::Fix;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};
use crate::ports::{PortRange, Protocol};

/// Metadata of `port-plan`.
pub const META: RuleMeta = RuleMeta {
    id: "port-plan",
    severity: Severity::Error,
    summary: "a service listens outside its team's port block",
    facts: &[],
    docs: r#"## What it does
When the manifest has a `port_plan`, reports every port of a service with a `team` that lies outside the
team's block, every service whose team has no block, and team blocks that overlap each other. Manifests
without a `port_plan` are not checked.

## Why is this bad?
A port plan is how teams avoid picking the same numbers: a port outside the block will sooner or later
collide with another team's service on a shared host, and the collision surfaces at deploy time.

## Example
```yaml
port_plan:
  orders: 11000-11999
services:
  orders-api:
    team: orders
    ports:
      http: 8080      # outside 11000-11999
```

## Fix
Move the port into the team's block (`preflight` suggests the lowest free one), or add the team's block
to `port_plan`.
"#,
};

/// A block for a new team: the size most blocks of the plan have (the larger on a tie), overlapping no
/// block and not the target's ephemeral range, as low as possible above the existing blocks (or, when
/// nothing fits there, anywhere from 1024 up). Starts are multiples of the size where the size is a
/// round number, as plans are usually written.
fn free_block(cx: &Context<'_>) -> Option<PortRange> {
    let blocks: Vec<PortRange> = cx.manifest.port_plan.iter().map(|b| b.range).collect();
    let mut sizes: Vec<u32> = blocks.iter().map(|b| b.len()).collect();
    sizes.sort_unstable();
    let size = sizes
        .chunk_by(|a, b| a == b)
        .max_by_key(|run| (run.len(), run[0]))
        .map(|run| run[0])?;
    let ephemeral: Vec<PortRange> = [Protocol::Tcp, Protocol::Udp]
        .into_iter()
        .filter_map(|p| defaults::ephemeral_range(cx.manifest.target.platform, cx.facts, p))
        .map(|f| f.value)
        .collect();
    let step = if size % 100 == 0 { size } else { 1 };
    let fits = |start: u32| -> Option<PortRange> {
        let end = start.checked_add(size - 1)?;
        let r = PortRange::new(u16::try_from(start).ok()?, u16::try_from(end).ok()?)?;
        let clear = blocks
            .iter()
            .chain(&ephemeral)
            .all(|b| b.intersection(r).is_none());
        clear.then_some(r)
    };
    let above = blocks
        .iter()
        .map(|b| u32::from(b.end) + 1)
        .max()
        .unwrap_or(1024);
    let first = above.div_ceil(step) * step;
    (0..)
        .map(|i| first + i * step)
        .take_while(|s| *s <= 65535)
        .find_map(fits)
        .or_else(|| {
            (0..)
                .map(|i| 1024u32.div_ceil(step) * step + i * step)
                .take_while(|s| *s <= 65535)
                .find_map(fits)
        })
}

/// Reports ports outside their team's block, teams without a block and overlapping blocks.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let m = cx.manifest;
    if m.port_plan.is_empty() {
        return;
    }
    for (i, block) in m.port_plan.iter().enumerate() {
        if let Some(other) = m.port_plan[..i]
            .iter()
            .find(|b| b.range.intersection(block.range).is_some())
        {
            out.push(
                Finding::new(
                    &META,
                    block.path.clone(),
                    format!(
                        "block {} of team `{}` overlaps block {} of team `{}`",
                        block.range, block.team, other.range, other.team
                    ),
                )
                .label("overlapping block")
                .related(other.path.clone(), format!("`{}`'s block", other.team))
                .help("give every team a block of its own"),
            );
        }
    }
    for svc in &m.services {
        let Some(team) = &svc.team else { continue };
        let Some(block) = m.plan_block(team) else {
            let mut help = match free_block(cx) {
                Some(b) => {
                    format!("add a block for `{team}` to `port_plan`: `{team}: {b}` is free")
                }
                None => format!("add a block for `{team}` to `port_plan`"),
            };
            if let Some(s) = did_you_mean(team, m.port_plan.iter().map(|b| b.team.as_str())) {
                help = format!("did you mean team `{s}`? Or {help}");
            }
            out.push(
                Finding::new(
                    &META,
                    format!("{}.team", svc.path),
                    format!(
                        "team `{team}` of `{}` has no block in `port_plan`",
                        svc.name
                    ),
                )
                .label("no block")
                .help(help),
            );
            continue;
        };
        for port in &svc.ports {
            // A plan hands out the host's ports: a pod's own ports are not in it.
            let Some((n, at)) = port.node(svc) else {
                continue;
            };
            if block.range.contains(n) {
                continue;
            }
            let suggested = suggest_port(cx, svc, port.protocol);
            let mut help = format!("move it into {}", block.range);
            if let Some(s) = suggested {
                help.push_str(&format!(": {s} is the lowest free port there"));
            }
            out.push(
                Finding::new(
                    &META,
                    at,
                    format!(
                        "port {n}/{} of `{}` is outside team `{team}`'s block {}",
                        port.protocol.as_str(),
                        svc.name,
                        block.range
                    ),
                )
                .label("outside the block")
                .related(block.path.clone(), format!("`{team}`'s block"))
                .help(help)
                .fix(Fix::ChoosePort {
                    service: svc.name.clone(),
                    port: port.name.clone(),
                    suggested,
                    within: Some(block.range),
                }),
            );
        }
    }
}
