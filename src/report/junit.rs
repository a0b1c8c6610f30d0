//! `--format junit`: JUnit XML for CI dashboards (GitLab, Azure Pipelines, Jenkins).
//!
//! One `<testsuite>` per manifest; one `<testcase>` per (rule, place), where the places are the
//! manifest's ports plus anywhere else a finding points (a `port_plan` block, a waiver). A finding at or
//! above the fail level is a `<failure>`; below it the testcase passes and carries the finding in
//! `<system-out>`; rules that could not run are `<skipped>`; files that could not be checked get an
//! `<error>`. Passing checks appear as passing testcases, so dashboards show what was covered.

use std::collections::BTreeSet;
use std::io::{self, Write};

use crate::check::Outcome;
use crate::document::LoadError;
use crate::finding::Severity;
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

/// One `<testsuite>`: a test case per rule and place.
struct Suite<'a> {
    /// The suite's name (and the test cases' class name).
    name: &'a str,
    /// The rules it covers.
    rule_ids: &'a [&'a str],
    /// The findings and skipped rules it reports.
    part: &'a super::HostPart<'a>,
    /// Custom rules that failed.
    errors: &'a [String],
    /// `(rule, place)` cases reported in another suite: a host rule's finding that holds on every host
    /// is the manifest suite's case, not a passing case of each host.
    elsewhere: &'a BTreeSet<(&'a str, String)>,
}

impl Suite<'_> {
    fn write(
        &self,
        out: &mut dyn Write,
        c: &crate::check::Checked,
        places: &BTreeSet<String>,
        fail_on: Option<Severity>,
    ) -> io::Result<()> {
        let mut places = places.clone();
        places.extend(self.part.findings.iter().map(|f| place_of(&f.path)));
        let mut cases = Vec::new();
        let (mut failures, mut skipped) = (0, 0);
        for &rule in self.rule_ids {
            let skip = self.part.skipped.iter().find(|s| s.rule == rule);
            for spot in &places {
                if self.elsewhere.contains(&(rule, spot.clone())) {
                    continue;
                }
                let name = format!("{rule}: {spot}");
                let here: Vec<_> = self
                    .part
                    .findings
                    .iter()
                    .filter(|f| f.rule == rule && place_of(&f.path) == *spot)
                    .collect();
                let mut case = format!(
                    r#"    <testcase classname="{}" name="{}">"#,
                    escape(self.name),
                    escape(&name)
                );
                let failing: Vec<_> = here
                    .iter()
                    .filter(|f| fail_on.is_some_and(|l| f.severity >= l))
                    .collect();
                if !failing.is_empty() {
                    failures += 1;
                    for f in &failing {
                        let (line, col, _, _) = c.doc.place(&f.path);
                        case.push_str(&format!(
                            "\n      <failure type=\"{}\" message=\"{}\">{}:{line}:{col}: {}{}</failure>",
                            f.severity,
                            escape(&f.message),
                            escape(&c.doc.name),
                            escape(&f.message),
                            f.help
                                .as_ref()
                                .map(|h| format!("\nhelp: {}", escape(h)))
                                .unwrap_or_default()
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
            escape(self.name),
            cases.len(),
            self.errors.len()
        )?;
        for case in cases {
            writeln!(out, "{case}")?;
        }
        for e in self.errors {
            writeln!(
                out,
                r#"    <testcase classname="{}" name="custom rules"><error message="{}"/></testcase>"#,
                escape(self.name),
                escape(e)
            )?;
        }
        writeln!(out, "  </testsuite>")
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
    // Every rule that runs, and whether it reads host facts.
    let rules: Vec<(String, bool)> = crate::rules::catalog(policy)
        .into_iter()
        .map(|r| (r.id().to_owned(), r.reads_facts()))
        .filter(|(id, _)| {
            id != crate::rules::waiver_expired::META.id
                && policy.setting(id) != Some(crate::policy::RuleSetting::Off)
        })
        .collect();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="preflight">"#)?;
    for o in outcomes {
        match o {
            Outcome::Checked(c) => {
                let places: BTreeSet<String> = c
                    .doc
                    .map
                    .paths_below("services")
                    .into_iter()
                    .filter(|p| p.split('.').count() == 4 && p.split('.').nth(2) == Some("ports"))
                    .collect();
                let (own, hosts) = super::by_host(c);
                // Without hosts, every rule; with hosts, the manifest's own rules (and host rules whose
                // finding holds on every host), then one suite per host with the rules that read its facts.
                let ids: Vec<&str> = rules
                    .iter()
                    .filter(|(id, facts)| {
                        c.hosts.is_empty() || !facts || own.findings.iter().any(|f| &f.rule == id)
                    })
                    .map(|(id, _)| id.as_str())
                    .collect();
                let suite = Suite {
                    name: &c.doc.name,
                    rule_ids: &ids,
                    part: &own,
                    errors: &c.errors,
                    elsewhere: &BTreeSet::new(),
                };
                suite.write(out, c, &places, fail_on)?;
                if c.hosts.is_empty() {
                    continue;
                }
                let in_manifest_suite: BTreeSet<(&str, String)> = own
                    .findings
                    .iter()
                    .map(|f| (f.rule.as_str(), place_of(&f.path)))
                    .collect();
                let ids: Vec<&str> = rules
                    .iter()
                    .filter(|(_, facts)| *facts)
                    .map(|(id, _)| id.as_str())
                    .collect();
                for (h, part) in c.hosts.iter().zip(&hosts) {
                    let suite = Suite {
                        name: &format!("{} on host {}", c.doc.name, h.name),
                        rule_ids: &ids,
                        part,
                        errors: &[],
                        elsewhere: &in_manifest_suite,
                    };
                    suite.write(out, c, &places, fail_on)?;
                }
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
