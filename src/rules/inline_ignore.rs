//! `inline-ignore`: an inline ignore that can't do what it says.

use super::Context;
use crate::finding::RuleMeta;
use crate::finding::{Finding, Findings, Severity};

/// Metadata of `inline-ignore`.
pub const META: RuleMeta = RuleMeta {
    id: "inline-ignore",
    severity: Severity::Warning,
    summary: "an inline ignore names no known rule, gives no reason, or ignores nothing",
    facts: &[],
    docs: r#"## What it does
Checks the inline ignores (`# preflight: ignore[rule-id, …] reason` at the end of a line or alone on
the line above, `# preflight: ignore-file[rule-id] reason`, and the Kubernetes annotation
`ignore.preflight/<rule-id>: "<reason>"`):

- a rule id that no rule has: an error, with the closest id;
- a comment that starts `# preflight:` but can't be read: an error;
- an ignore without a reason: a warning (say why, for the next reader);
- an ignore that matched no finding in this run: a warning, like ruff's `RUF100` (rules that were
  skipped for want of host facts are not judged).

## Why is this bad?
A misspelt id ignores nothing and hides nothing, so the finding it was meant for comes back; an
unused ignore outlives its reason and will hide the next real finding on that line; an ignore
without a reason can't be reviewed.

## Example
```yaml
services:
  api:
    ports: { http: 8080 }   # preflight: ignore[port-conflit] shared with the sidecar
```

## Fix
Name the rule as `preflight rules` lists it, give a reason after the bracket, and delete ignores that
no longer match anything. `--no-inline-ignores` shows what the ignores hide.
"#,
};

/// Reports malformed ignores, unknown rule ids and missing reasons; unused ignores are reported by
/// the check stage, which sees every finding.
pub fn check(cx: &Context<'_>, out: &mut Findings) {
    let known: Vec<&str> = super::ids()
        .into_iter()
        .chain(cx.policy.custom.iter().map(|c| c.id.as_str()))
        .collect();
    for i in &cx.manifest.ignores {
        if let Some(m) = &i.malformed {
            out.push(
                Finding::new(&META, i.path.clone(), format!("this ignore can't be read: {m}"))
                    .severity(Severity::Error)
                    .label("not an ignore")
                    .help("write `# preflight: ignore[rule-id, …] reason` at the end of the line, or alone on the line above"),
            );
            continue;
        }
        for r in i.rules.iter().filter(|r| !known.contains(&r.as_str())) {
            let mut help = "use a rule id that `preflight rules` lists".to_owned();
            if let Some(s) = crate::document::did_you_mean(r, known.iter().copied()) {
                help = format!("did you mean `{s}`? {help}");
            }
            out.push(
                Finding::new(
                    &META,
                    i.path.clone(),
                    format!("`{r}` is no rule, so this ignore ignores nothing"),
                )
                .severity(Severity::Error)
                .label("unknown rule")
                .help(help),
            );
        }
        if i.reason.is_none() {
            out.push(
                Finding::new(&META, i.path.clone(), format!("the ignore of {} gives no reason", names(&i.rules)))
                    .label("no reason")
                    .help("say why after the bracket: `# preflight: ignore[port-conflict] the sidecar shares it`"),
            );
        }
    }
}

/// `port-conflict`, or `port-conflict, port-plan`, quoted.
pub fn names(rules: &[String]) -> String {
    rules
        .iter()
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
