//! `--format junit`: JUnit XML for CI dashboards (GitLab, Azure Pipelines, Jenkins).
//!
//! One `<testsuite>` per manifest; one `<testcase>` per (rule, place), where the places are the
//! manifest's ports plus anywhere else a finding points (a `port_plan` block, a waiver). A finding at or
//! above the fail level is a `<failure>`; below it the testcase passes and carries the finding in
//! `<system-out>`; rules that could not run are `<skipped>`; files that could not be checked get an
//! `<error>`. Passing checks appear as passing testcases, so dashboards show what was covered.
//!
//! The XML is written by [`quick-junit`](https://docs.rs/quick-junit) (nextest's JUnit writer), which
//! escapes text and drops what XML 1.0 forbids. Several failing findings of one rule at one place make
//! one `<failure>`: its message joins theirs and its text lists each with its line and column.

use std::collections::BTreeSet;
use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::check::Outcome;
use crate::document::LoadError;
use crate::finding::Severity;
use crate::policy::Policy;

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
    fn build(
        &self,
        c: &crate::check::Checked,
        places: &BTreeSet<String>,
        fail_on: Option<Severity>,
    ) -> TestSuite {
        // The part's findings made whole once: JUnit's report is built whole before it is written.
        let findings: Vec<_> = self
            .part
            .findings
            .iter()
            .map(|&i| c.findings.get(i))
            .collect();
        let at: Vec<String> = findings.iter().map(|f| place_of(&f.path)).collect();
        // Each case's findings, by rule and place, in their order: looked up per case rather than
        // sought among all of them (a 10 MB Compose file's 74,156 findings took 9 minutes so).
        let mut cases: std::collections::HashMap<(&str, &str), Vec<usize>> =
            std::collections::HashMap::new();
        for (i, f) in findings.iter().enumerate() {
            cases.entry((&*f.rule, &*at[i])).or_default().push(i);
        }
        let mut places = places.clone();
        places.extend(at.iter().cloned());
        let mut suite = TestSuite::new(self.name);
        for &rule in self.rule_ids {
            let skip = self.part.skipped.iter().find(|s| s.rule == rule);
            for spot in &places {
                if self.elsewhere.contains(&(rule, spot.clone())) {
                    continue;
                }
                let here: Vec<_> = cases
                    .get(&(rule, spot.as_str()))
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .map(|&i| &findings[i])
                    .collect();
                let failing: Vec<_> = here
                    .iter()
                    .filter(|f| fail_on.is_some_and(|l| f.severity >= l))
                    .collect();
                let mut out = None;
                let status = if let Some(worst) = failing.iter().map(|f| f.severity).max() {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let messages: Vec<&str> = failing.iter().map(|f| &*f.message).collect();
                    let text: Vec<String> = failing
                        .iter()
                        .map(|f| {
                            let (line, col, _, _) = c.doc.place(&f.path);
                            let help = f.help.as_ref().map(|h| format!("\nhelp: {h}"));
                            format!(
                                "{}:{line}:{col}: {}{}",
                                c.doc.file_of(&f.path),
                                f.message,
                                help.unwrap_or_default()
                            )
                        })
                        .collect();
                    status
                        .set_type(worst.as_str())
                        .set_message(messages.join("; "))
                        .set_description(text.join("\n"));
                    status
                } else if here.is_empty()
                    && let Some(s) = skip
                {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(s.reason.as_str());
                    status
                } else {
                    if !here.is_empty() {
                        let text: Vec<String> = here
                            .iter()
                            .map(|f| format!("{}: {}", f.severity, f.message))
                            .collect();
                        out = Some(text.join("\n"));
                    }
                    TestCaseStatus::success()
                };
                let mut case = TestCase::new(format!("{rule}: {spot}"), status);
                case.set_classname(self.name);
                if let Some(o) = out {
                    case.set_system_out(o);
                }
                suite.add_test_case(case);
            }
        }
        for e in self.errors {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(e.as_str());
            let mut case = TestCase::new("custom rules", status);
            case.set_classname(self.name);
            suite.add_test_case(case);
        }
        suite
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
    let mut report = Report::new("preflight");
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
                        c.hosts.is_empty()
                            || !facts
                            || own.findings.iter().any(|&i| c.findings.key(i).rule == id)
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
                report.add_test_suite(suite.build(c, &places, fail_on));
                if c.hosts.is_empty() {
                    continue;
                }
                let in_manifest_suite: BTreeSet<(&str, String)> = own
                    .findings
                    .iter()
                    .map(|&i| {
                        let f = c.findings.key(i);
                        (f.rule, place_of(&f.path))
                    })
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
                    report.add_test_suite(suite.build(c, &places, fail_on));
                }
            }
            Outcome::Baseline(_) => {}
            Outcome::NotChecked(n) => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(format!("not checked: {}", n.reason));
                status.set_description(n.help.clone());
                let mut case = TestCase::new("read", status);
                case.set_classname(n.file.as_str());
                let mut suite = TestSuite::new(n.file.as_str());
                suite.add_test_case(case);
                report.add_test_suite(suite);
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
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(e.to_string()).set_description(detail);
                let mut case = TestCase::new("load", status);
                case.set_classname(name.as_str());
                let mut suite = TestSuite::new(name);
                suite.add_test_case(case);
                report.add_test_suite(suite);
            }
        }
    }
    report.serialize(out).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_belong_to_their_port_entry() {
        assert_eq!(
            place_of("services.a.ports.http.port"),
            "services.a.ports.http"
        );
        assert_eq!(place_of("port_plan.orders"), "port_plan.orders");
    }
}
