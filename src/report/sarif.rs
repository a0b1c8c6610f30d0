//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! The tool driver lists every rule (built-in, `waiver-expired` and the policy's custom rules) with short
//! and full descriptions and help from the same metadata as `preflight explain`; each result carries its
//! rule, level, message, the region of the YAML value (start and end), related locations and a partial
//! fingerprint (`preflight/v2`: rule, file, the service or object and port, host; see
//! `check::baseline`). A finding of a host names the host in its message (`[host web-01] …`), in
//! `properties.host` and in its fingerprint. Waived findings are results with `suppressions`
//! (`inSource` for an inline ignore, with its place; `external` for a policy waiver). Files that could
//! not be checked, and files seen but not checked, appear as tool execution notifications; the
//! invocation's `executionSuccessful` is false for the former.

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::{Value, json};

use crate::check::{Checked, Outcome, Waived};
use crate::document::LoadError;
use crate::finding::Severity;
use crate::policy::Policy;

/// The SARIF schema URI written in the document.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// An artifact URI as SARIF wants it: forward slashes, relative paths without `./`.
pub fn uri(file: &str) -> String {
    let f = file.replace('\\', "/");
    f.strip_prefix("./").map(str::to_owned).unwrap_or(f)
}

fn first_paragraph(docs: &str) -> String {
    docs.split("## Why is this bad?")
        .next()
        .unwrap_or("")
        .replace("## What it does", "")
        .trim()
        .to_owned()
}

/// The rules of the run, from the one catalog: (id, default severity, summary, full description, help).
fn rules(policy: &Policy) -> Vec<(String, Severity, String, String, String)> {
    crate::rules::catalog(policy)
        .into_iter()
        .map(|r| match r {
            crate::rules::Listed::BuiltIn(m) => (
                m.id.to_owned(),
                m.severity,
                m.summary.to_owned(),
                first_paragraph(m.docs),
                m.docs.to_owned(),
            ),
            crate::rules::Listed::Custom(c) => (
                c.id.clone(),
                c.severity,
                c.summary.clone(),
                format!("Custom rule: `{}`", c.assert_src),
                c.help.clone().unwrap_or_else(|| c.summary.clone()),
            ),
        })
        .collect()
}

/// A result of the log: a checked file's finding (by index) or a waived one.
#[derive(Clone, Copy)]
enum Item<'a> {
    Found(&'a Checked, usize),
    Waived(&'a Checked, &'a Waived),
}

/// The `results` member's placeholder in the log, replaced by the results as they are written.
const RESULTS: &str = "preflight: the results go here";

/// Writes the SARIF log of `outcomes`. The results are made (each finding made whole) and written in
/// parallel batches into the log's place for them, so a report of 74,156 findings is never held
/// whole as JSON values (827 MB peak RSS when it was).
pub fn write(out: &mut dyn Write, outcomes: &[Outcome], policy: &Policy) -> io::Result<()> {
    let rules = rules(policy);
    let rule_index = |id: &str| rules.iter().position(|r| r.0 == id);
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Checked(c) => {
                results.extend((0..c.findings.len()).map(|i| Item::Found(c, i)));
                results.extend(c.waived.iter().map(|w| Item::Waived(c, w)));
                for e in &c.errors {
                    notifications.push(json!({ "level": "error", "message": { "text": format!("{}: {e}", c.doc.name) } }));
                }
            }
            Outcome::Baseline(b) => notifications.push(json!({
                "level": "note",
                "descriptor": { "id": "baseline" },
                "message": { "text": super::baseline_text(b) },
            })),
            Outcome::NotChecked(n) => notifications.push(json!({
                "level": "note",
                "descriptor": { "id": "not-checked" },
                "message": { "text": format!("{}: not checked: {} ({})", n.file, n.reason, n.help) },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": uri(&n.file) } } }],
            })),
            Outcome::Failed(e) => {
                let (file, problems): (String, Vec<String>) = match e {
                    LoadError::Invalid { doc, problems, .. } => (
                        doc.name.clone(),
                        problems
                            .iter()
                            .map(|p| {
                                let at = p.span.map(|s| doc.map.line_col(&doc.text, s.offset));
                                match at {
                                    Some(lc) => format!(
                                        "{}:{}:{}: {}",
                                        doc.name, lc.line, lc.column, p.message
                                    ),
                                    None => format!("{}: {}", doc.name, p.message),
                                }
                            })
                            .collect(),
                    ),
                    other => (String::new(), vec![other.to_string()]),
                };
                for p in problems {
                    let mut n = json!({ "level": "error", "message": { "text": p } });
                    if !file.is_empty() {
                        n["locations"] = json!([{ "physicalLocation": { "artifactLocation": { "uri": uri(&file) } } }]);
                    }
                    notifications.push(n);
                }
            }
        }
    }
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|(id, sev, summary, full, help)| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": summary },
                "fullDescription": { "text": full },
                "help": { "text": help, "markdown": help },
                "defaultConfiguration": { "level": level(*sev) },
            })
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "preflight",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules_json,
            }},
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": RESULTS,
        }],
    });
    let text = serde_json::to_vec_pretty(&log)?;
    // The placeholder as the value of `results`: quotes inside a JSON string are escaped, so only
    // the run's own member reads so.
    let marker = format!("\"results\": \"{RESULTS}\"");
    let at = text
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .ok_or_else(|| io::Error::other("the SARIF log has no place for its results"))?;
    let value = at + marker.len() - RESULTS.len() - 2;
    out.write_all(&text[..value])?;
    // The run is the first element of `runs`: its members are three levels deep.
    super::write_pretty_array(out, results.len(), 3, |k| result(results[k], &rule_index))?;
    out.write_all(&text[at + marker.len()..])?;
    writeln!(out)
}

/// One result of the log: the finding made whole, its places, and for a waived one its suppression.
fn result(item: Item<'_>, rule_index: &dyn Fn(&str) -> Option<usize>) -> Value {
    let (c, f, w) = match item {
        Item::Found(c, i) => (c, c.findings.get(i), None),
        Item::Waived(c, w) => (c, Cow::Borrowed(&w.finding), Some(w)),
    };
    let (line, column, end_line, end_column) = c.doc.place(&f.path);
    let location = |file: &str, line, column, end_line, end_column| {
        json!({ "physicalLocation": {
            "artifactLocation": { "uri": uri(file) },
            "region": { "startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column }
        }})
    };
    let related: Vec<Value> = f
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (l, col, el, ec) = c.doc.place(&r.path);
            let mut loc = location(c.doc.file_of(&r.path), l, col, el, ec);
            loc["id"] = json!(i);
            loc["message"] = json!({ "text": r.label });
            loc
        })
        .collect();
    let message = super::with_help(
        &super::on_host(&f.message, f.host.as_deref()),
        f.help.as_deref(),
    );
    let mut result = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": { "text": message },
        "locations": [location(c.doc.file_of(&f.path), line, column, end_line, end_column)],
        "partialFingerprints": { "preflight/v2": f.fingerprint.map(|x| x.to_string()).unwrap_or_default() },
        "properties": { "path": f.path },
    });
    if let Some(i) = rule_index(&f.rule) {
        result["ruleIndex"] = json!(i);
    }
    if !related.is_empty() {
        result["relatedLocations"] = json!(related);
    }
    if !f.evidence.is_empty() {
        result["properties"]["evidence"] = json!(f.evidence);
    }
    if let Some(h) = &f.host {
        result["properties"]["host"] = json!(h);
    }
    // A waived finding is a suppressed result: `inSource` for an inline ignore
    // (with the ignore's place), `external` for a policy waiver.
    if let Some(w) = w {
        let mut s = json!({ "justification": w.reason });
        match &w.inline {
            Some(p) => {
                let (l, col, el, ec) = c.doc.place(p);
                s["kind"] = json!("inSource");
                s["location"] = location(c.doc.file_of(p), l, col, el, ec);
            }
            None => s["kind"] = json!("external"),
        }
        result["suppressions"] = json!([s]);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_written_in_batches_read_as_serde_json_pretty_writes_them() {
        // The log as written must be what serde_json pretty-prints for the same value, byte for
        // byte: parsed (key order kept) and printed again, it is unchanged.
        for services in [0, 1, 3, 2500] {
            let outcomes = super::super::checked_services(services, true);
            let Outcome::Checked(c) = &outcomes[0] else {
                panic!("not checked")
            };
            let mut out = Vec::new();
            write(&mut out, &outcomes, &Policy::default()).unwrap();
            let text = String::from_utf8(out).unwrap();
            let log: Value = serde_json::from_str(&text).unwrap();
            assert!(
                text == serde_json::to_string_pretty(&log).unwrap() + "\n",
                "{services} services: the log differs from serde_json's"
            );
            let results = log["runs"][0]["results"].as_array().unwrap();
            assert_eq!(results.len(), c.findings.len() + c.waived.len());
            if services == 2500 {
                assert!(results.len() > 4096 + 256, "{} results", results.len());
            }
            if services > 0 {
                assert_eq!(c.waived.len(), 1);
                let suppressed: Vec<&Value> = results
                    .iter()
                    .filter(|r| r.get("suppressions").is_some())
                    .collect();
                assert_eq!(suppressed.len(), 1);
                assert_eq!(suppressed[0]["ruleId"], "ephemeral-range");
            }
        }
    }
}
