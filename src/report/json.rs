//! `--format json`: a stable, versioned document for pipelines.
//!
//! ```json
//! {"version":1,"findings":[{"rule","severity","message","file","path","line","column","related":[…],
//!   "help","fixes":[…],"evidence":{…},"host"}],"skipped":[{"rule","reason","host"}],"waived":[…],
//!   "errors":[…],"hosts":[{"name","source","findings","skipped"}],"summary":{…}}
//! ```
//! `line` and `column` are 1-based and point at the value itself. `errors` lists every problem of files
//! that could not be checked (exit code 2). `host` is present on findings that come from a host's facts
//! and absent on findings of the manifest alone, which hold on every host. `hosts` lists the hosts
//! checked (empty without facts) with the number of their own findings and skipped rules.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde::Serialize;

use crate::check::{Checked, Outcome};
use crate::document::LoadError;
use crate::finding::{Evidence, Finding, Fix};
use crate::finding::{Severity, Skipped, Summary};

/// Version of the JSON document's shape; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// Everything the report holds after `findings`, in order. `version` and `findings` come first and are
/// written by hand (see [`write`]): the findings are serialized in parallel.
#[derive(Serialize)]
struct Rest<'a> {
    skipped: Vec<&'a Skipped>,
    waived: Vec<JsonWaived<'a>>,
    errors: Vec<JsonError>,
    /// Files seen among the inputs but not checked, with why (never counted as passed).
    not_checked: Vec<&'a crate::manifest::discover::NotChecked>,
    /// With `--baseline`: how many findings it held back, and its entries that matched nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a crate::check::baseline::Applied>,
    hosts: Vec<JsonHost<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct JsonHost<'a> {
    name: &'a str,
    source: &'a str,
    findings: usize,
    skipped: usize,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    severity: Severity,
    message: &'a str,
    file: &'a str,
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    related: Vec<JsonRelated<'a>>,
    help: Option<&'a str>,
    fixes: &'a [Fix],
    #[serde(skip_serializing_if = "Evidence::is_empty")]
    evidence: &'a Evidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonWaived<'a> {
    rule: &'a str,
    message: &'a str,
    file: &'a str,
    path: &'a str,
    line: usize,
    column: usize,
    reason: &'a str,
    expires: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    /// `inline` (a `# preflight: ignore` comment or an annotation) or `policy` (a waiver).
    by: &'static str,
    /// For an inline ignore, where it is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore: Option<JsonPlace<'a>>,
}

/// A place in a file.
#[derive(Serialize)]
struct JsonPlace<'a> {
    file: &'a str,
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    /// The file, when it is not the finding's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    path: &'a str,
    line: usize,
    column: usize,
    label: &'a str,
}

#[derive(Serialize)]
struct JsonError {
    file: String,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
    help: Option<String>,
}

fn errors_of(e: &LoadError) -> Vec<JsonError> {
    match e {
        LoadError::Invalid { doc, problems, .. } => problems
            .iter()
            .map(|p| {
                let lc = p.span.map(|s| doc.map.line_col(&doc.text, s.offset));
                JsonError {
                    file: doc.name.clone(),
                    line: lc.map(|l| l.line),
                    column: lc.map(|l| l.column),
                    message: p.message.clone(),
                    help: p.help.clone(),
                }
            })
            .collect(),
        LoadError::Io { file, .. } | LoadError::TooLarge { file, .. } => vec![JsonError {
            file: file.clone(),
            line: None,
            column: None,
            message: e.to_string(),
            help: None,
        }],
    }
}

/// The hosts checked, with their own findings counted over every file and their skipped rules counted
/// in `skipped` (the report's list, where a rule skipped for a host in several files appears once).
fn hosts<'a>(outcomes: &'a [Outcome], skipped: &BTreeSet<&Skipped>) -> Vec<JsonHost<'a>> {
    let checked = || {
        outcomes.iter().filter_map(|o| match o {
            Outcome::Checked(c) => Some(c),
            Outcome::Failed(_) | Outcome::NotChecked(_) | Outcome::Baseline(_) => None,
        })
    };
    // Every file is checked against the same hosts; files without them (expired waivers) are skipped.
    let Some(listed) = checked().find(|c| !c.hosts.is_empty()) else {
        return Vec::new();
    };
    let mut counts: std::collections::HashMap<&str, (usize, usize)> =
        std::collections::HashMap::new();
    for host in checked()
        .flat_map(|c| c.findings.keys())
        .filter_map(|f| f.host)
    {
        counts.entry(host).or_default().0 += 1;
    }
    for host in skipped.iter().filter_map(|s| s.host.as_deref()) {
        counts.entry(host).or_default().1 += 1;
    }
    listed
        .hosts
        .iter()
        .map(|h| {
            let (findings, skipped) = counts.get(h.name.as_str()).copied().unwrap_or_default();
            JsonHost {
                name: &h.name,
                source: &h.source,
                findings,
                skipped,
            }
        })
        .collect()
}

/// Writes the JSON report of `outcomes`.
pub fn write(out: &mut dyn Write, outcomes: &[Outcome]) -> io::Result<()> {
    let mut findings = Vec::new();
    let mut skipped = BTreeSet::new();
    let mut errors = Vec::new();
    let mut waived = Vec::new();
    let mut not_checked = Vec::new();
    let mut baseline = None;
    for o in outcomes {
        match o {
            Outcome::Checked(c) => {
                for w in &c.waived {
                    let (line, column, _, _) = c.doc.place(&w.finding.path);
                    waived.push(JsonWaived {
                        rule: &w.finding.rule,
                        message: &w.finding.message,
                        file: c.doc.file_of(&w.finding.path),
                        path: &w.finding.path,
                        line,
                        column,
                        reason: &w.reason,
                        expires: w.expires.as_deref(),
                        host: w.finding.host.as_deref(),
                        by: if w.inline.is_some() {
                            "inline"
                        } else {
                            "policy"
                        },
                        ignore: w.inline.as_deref().map(|p| {
                            let (line, column, _, _) = c.doc.place(p);
                            JsonPlace {
                                file: c.doc.file_of(p),
                                line,
                                column,
                            }
                        }),
                    });
                }
                errors.extend(c.errors.iter().map(|e| JsonError {
                    file: c.doc.name.clone(),
                    line: None,
                    column: None,
                    message: e.clone(),
                    help: Some("fix the custom rule's expression in the policy file".into()),
                }));
                findings.extend((0..c.findings.len()).map(|i| (&**c, i)));
                skipped.extend(c.skipped.iter());
            }
            Outcome::Failed(e) => errors.extend(errors_of(e)),
            Outcome::NotChecked(n) => not_checked.push(n),
            Outcome::Baseline(b) => baseline = Some(b),
        }
    }
    let hosts = hosts(outcomes, &skipped);
    let rest = Rest {
        skipped: skipped.into_iter().collect(),
        waived,
        errors,
        not_checked,
        baseline,
        hosts,
        summary: crate::check::summary(outcomes),
    };
    write!(
        out,
        "{{\n  \"version\": {FORMAT_VERSION},\n  \"findings\": "
    )?;
    write_findings(out, &findings)?;
    // `rest` pretty-printed is `{\n  "skipped": …\n}`: its members continue this object.
    out.write_all(b",\n")?;
    serde_json::to_writer_pretty(
        SkipFirst {
            inner: &mut *out,
            skip: 2,
        },
        &rest,
    )?;
    writeln!(out)
}

/// Writes the `findings` array (each a file's finding, by index) as `serde_json`'s pretty printer
/// writes it at the second level of the report (tested against it below). Each finding is made whole
/// by the thread that writes it (see [`crate::check::Found`]).
fn write_findings(out: &mut dyn Write, findings: &[(&Checked, usize)]) -> io::Result<()> {
    super::write_pretty_array(out, findings.len(), 1, |n| {
        let (c, i) = findings[n];
        OwnedJson(c, c.findings.get(i))
    })
}

/// A finding made whole, serialized as the report shows it.
struct OwnedJson<'a>(&'a Checked, std::borrow::Cow<'a, Finding>);

impl Serialize for OwnedJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json_finding(self.0, &self.1).serialize(s)
    }
}

/// A finding as the report shows it.
fn json_finding<'a>(c: &'a Checked, f: &'a Finding) -> JsonFinding<'a> {
    let (line, column, end_line, end_column) = c.doc.place(&f.path);
    let related = f
        .related
        .iter()
        .map(|r| {
            let (line, column, _, _) = c.doc.place(&r.path);
            let file = c.doc.file_of(&r.path);
            JsonRelated {
                file: (file != c.doc.file_of(&f.path)).then_some(file),
                path: &r.path,
                line,
                column,
                label: &r.label,
            }
        })
        .collect();
    JsonFinding {
        rule: &f.rule,
        severity: f.severity,
        message: &f.message,
        file: c.doc.file_of(&f.path),
        path: &f.path,
        line,
        column,
        end_line,
        end_column,
        related,
        help: f.help.as_deref(),
        fixes: &f.fixes,
        evidence: &f.evidence,
        host: f.host.as_deref(),
    }
}

/// A writer that drops the first `skip` bytes written to it.
struct SkipFirst<'a> {
    inner: &'a mut dyn Write,
    skip: usize,
}

impl Write for SkipFirst<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(self.skip);
        self.skip -= n;
        if n == buf.len() {
            return Ok(n);
        }
        self.inner.write(&buf[n..]).map(|w| w + n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report as `serde_json` pretty-prints it in one piece: what [`write`] must equal byte for byte.
    #[derive(Serialize)]
    struct Whole<'a> {
        version: u32,
        findings: Vec<JsonFinding<'a>>,
        #[serde(flatten)]
        rest: Rest<'a>,
    }

    fn reference(outcomes: &[Outcome]) -> String {
        let whole: Vec<(&Checked, Vec<Finding>)> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Checked(c) => {
                    Some((&**c, c.findings.iter().map(|f| f.into_owned()).collect()))
                }
                _ => None,
            })
            .collect();
        let mut findings = Vec::new();
        for (c, fs) in &whole {
            findings.extend(fs.iter().map(|f| json_finding(c, f)));
        }
        let mut skipped = BTreeSet::new();
        for o in outcomes {
            if let Outcome::Checked(c) = o {
                skipped.extend(c.skipped.iter());
            }
        }
        let hosts = hosts(outcomes, &skipped);
        let whole = Whole {
            version: FORMAT_VERSION,
            findings,
            rest: Rest {
                skipped: skipped.into_iter().collect(),
                waived: Vec::new(),
                errors: Vec::new(),
                not_checked: Vec::new(),
                baseline: None,
                hosts,
                summary: crate::check::summary(outcomes),
            },
        };
        serde_json::to_string_pretty(&whole).unwrap() + "\n"
    }

    #[test]
    fn findings_written_in_parallel_equal_serde_json_pretty() {
        for services in [0, 1, 3, 2500] {
            let outcomes = super::super::checked_services(services, false);
            let n = outcomes[0].keys().count();
            if services == 2500 {
                // More than one batch and many chunks, so the joins are exercised.
                assert!(n > 4096 + 256, "{n} findings");
            }
            let mut out = Vec::new();
            write(&mut out, &outcomes).unwrap();
            let out = String::from_utf8(out).unwrap();
            assert!(
                out == reference(&outcomes),
                "{services} services, {n} findings differ"
            );
        }
    }
}
