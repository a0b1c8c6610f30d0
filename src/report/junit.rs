//! `--format junit`: JUnit XML for CI dashboards (GitLab, Azure Pipelines, Jenkins).
//!
//! One `<testsuite>` per manifest; one `<testcase>` per (rule, place), where the places are the
//! manifest's ports plus anywhere else a finding points (a `port_plan` block, a waiver). A finding at or
//! above the fail level is a `<failure>`; below it the testcase passes and carries the finding in
//! `<system-out>`; rules that could not run are `<skipped>`; files that could not be checked get an
//! `<error>`. Passing checks appear as passing testcases, so dashboards show what was covered.

use std::collections::BTreeSet;
use std::io::{self, Write};

use super::json::place;
use crate::check::Outcome;
use crate::finding::Severity;
use crate::manifest::LoadError;
use crate::policy::Policy;

/// Escapes text for XML content and attributes; characters XML 1.0 forbids are dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

/// The place a finding belongs to: its port entry (`services.a.ports.http`) or its own path.
fn place_of(path: &str) -> String {
    let segs: Vec<&str> = path.split('.').collect();
    if segs.len() >= 4 && segs[0] == "services" && segs[2] == "ports" {
        segs[..4].join(".")
    } else {
        path.to_owned()
    }
}

/// Writes the JUnit report.
pub fn write(
    out: &mut dyn Write,
    outcomes: &[Outcome],
    policy: &Policy,
    fail_on: Option<Severity>,
) -> io::Result<()> {
    // Rules that check manifests: the catalog without the policy-level `waiver-expired`, which is
    // reported on the policy file, and without rules the policy turns off.
    let rule_ids: Vec<String> = crate::rules::catalog(policy)
        .into_iter()
        .map(|r| r.id().to_owned())
        .filter(|id| {
            id != crate::policy::WAIVER_EXPIRED.id
                && policy.setting(id) != Some(crate::policy::RuleSetting::Off)
        })
        .collect();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="preflight">"#)?;
    for o in outcomes {
        match o {
            Outcome::Checked(c) => {
                let mut places: BTreeSet<String> = c
                    .doc
                    .map
                    .paths_below("services")
                    .into_iter()
                    .filter(|p| p.split('.').count() == 4 && p.split('.').nth(2) == Some("ports"))
                    .collect();
                places.extend(c.findings.iter().map(|f| place_of(&f.path)));
                let mut cases = Vec::new();
                let (mut failures, mut skipped) = (0, 0);
                for rule in &rule_ids {
                    let skip = c.skipped.iter().find(|s| &s.rule == rule);
                    for spot in &places {
                        let name = format!("{rule}: {spot}");
                        let here: Vec<_> = c
                            .findings
                            .iter()
                            .filter(|f| &f.rule == rule && place_of(&f.path) == *spot)
                            .collect();
                        let mut case = format!(
                            r#"    <testcase classname="{}" name="{}">"#,
                            escape(&c.doc.name),
                            escape(&name)
                        );
                        let failing: Vec<_> = here
                            .iter()
                            .filter(|f| fail_on.is_some_and(|l| f.severity >= l))
                            .collect();
                        if !failing.is_empty() {
                            failures += 1;
                            for f in &failing {
                                let (line, col, _, _) = place(&c.doc, &f.path);
                                case.push_str(&format!(
                                    "\n      <failure type=\"{}\" message=\"{}\">{}:{line}:{col}: {}{}</failure>",
                                    f.severity,
                                    escape(&f.message),
                                    escape(&c.doc.name),
                                    escape(&f.message),
                                    f.help.as_ref().map(|h| format!("\nhelp: {}", escape(h))).unwrap_or_default()
                                ));
                            }
                        } else if here.is_empty() && skip.is_some() {
                            skipped += 1;
                            case.push_str(&format!(
                                "\n      <skipped message=\"{}\"/>",
                                escape(&skip.map(|s| s.reason.clone()).unwrap_or_default())
                            ));
                        } else if !here.is_empty() {
                            let text: Vec<String> = here
                                .iter()
                                .map(|f| format!("{}: {}", f.severity, f.message))
                                .collect();
                            case.push_str(&format!(
                                "\n      <system-out>{}</system-out>",
                                escape(&text.join("\n"))
                            ));
                        } else {
                            case.push_str("</testcase>");
                            cases.push(case);
                            continue;
                        }
                        case.push_str("\n    </testcase>");
                        cases.push(case);
                    }
                }
                writeln!(
                    out,
                    r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="{}" skipped="{skipped}">"#,
                    escape(&c.doc.name),
                    cases.len(),
                    c.errors.len()
                )?;
                for case in cases {
                    writeln!(out, "{case}")?;
                }
                for e in &c.errors {
                    writeln!(
                        out,
                        r#"    <testcase classname="{}" name="custom rules"><error message="{}"/></testcase>"#,
                        escape(&c.doc.name),
                        escape(e)
                    )?;
                }
                writeln!(out, "  </testsuite>")?;
            }
            Outcome::Failed(e) => {
                let name = match e {
                    LoadError::Invalid { doc, .. } => doc.name.clone(),
                    LoadError::Io { file, .. } | LoadError::TooLarge { file, .. } => file.clone(),
                };
                let detail = match e {
                    LoadError::Invalid { doc, problems, .. } => problems
                        .iter()
                        .map(|p| {
                            let lc = p.span.map(|s| doc.map.line_col(&doc.text, s.offset));
                            lc.map_or_else(
                                || p.message.clone(),
                                |lc| {
                                    format!("{}:{}:{}: {}", doc.name, lc.line, lc.column, p.message)
                                },
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                    other => other.to_string(),
                };
                writeln!(
                    out,
                    r#"  <testsuite name="{}" tests="1" failures="0" errors="1" skipped="0">"#,
                    escape(&name)
                )?;
                writeln!(
                    out,
                    r#"    <testcase classname="{}" name="load"><error message="{}">{}</error></testcase>"#,
                    escape(&name),
                    escape(&e.to_string()),
                    escape(&detail)
                )?;
                writeln!(out, "  </testsuite>")?;
            }
        }
    }
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_forbidden_characters() {
        assert_eq!(escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(
            place_of("services.a.ports.http.port"),
            "services.a.ports.http"
        );
        assert_eq!(place_of("port_plan.orders"), "port_plan.orders");
    }
}
