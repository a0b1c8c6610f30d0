//! `--format human`: miette diagnostics that underline the YAML value, then a summary.
//!
//! In a terminal (and without `NO_COLOR`) miette's graphical renderer draws the snippet; otherwise
//! [`super::plain`] writes rustc-style plain text without ANSI codes, which is what logs and snapshots want.

use std::fmt;
use std::io::{self, Write};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};

use crate::check::{Checked, Outcome};
use crate::document::{Document, LoadError, Problem};
use crate::finding::{Finding, Severity, Skipped, Summary};

use super::plain::{self, Label};
use super::source::{Source, named};

/// How to draw diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// miette's graphical renderer with colours (a terminal), wrapping at `width` columns.
    Graphical {
        /// The terminal's width in columns.
        width: usize,
    },
    /// Graphical, without colours (fixed width; for snapshots).
    GraphicalNoColor,
    /// Plain rustc-style text, no ANSI codes ([`super::plain`]).
    Plain,
}

impl Style {
    /// Graphical when `is_terminal` and `NO_COLOR` is unset, plain otherwise.
    pub fn detect(is_terminal: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if is_terminal && !no_color {
            Style::graphical()
        } else {
            Style::Plain
        }
    }

    /// The graphical style at the terminal's width: `COLUMNS` when set, else the width of the terminal
    /// on standard output, else 80.
    pub fn graphical() -> Self {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|w| *w >= 20)
            .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
            .unwrap_or(80);
        Style::Graphical { width }
    }
}

/// One diagnostic ready for miette: message, code, severity, help and labels into one source.
struct Diag<'a> {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    source: Option<&'a Source<'a>>,
}

impl fmt::Debug for Diag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Diag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag<'_> {}

impl Diagnostic for Diag<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

fn miette_severity(s: Severity) -> miette::Severity {
    match s {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Info => miette::Severity::Advice,
    }
}

fn label(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn finding_diag<'a>(f: &Finding, doc: &Document, source: &'a Source) -> Diag<'a> {
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        label(&f.label),
        doc.span(&f.path),
    )];
    for r in same_file(f, doc) {
        labels.push(LabeledSpan::new_with_span(
            label(&r.label),
            doc.span(&r.path),
        ));
    }
    Diag {
        message: f.message.to_string(),
        code: f.rule.to_string(),
        severity: miette_severity(f.severity),
        help: help_with_elsewhere(f, doc),
        labels,
        source: Some(source),
    }
}

/// The related places in the finding's own file (a snippet shows one file).
fn same_file<'f>(
    f: &'f Finding,
    doc: &Document,
) -> impl Iterator<Item = &'f crate::finding::Related> {
    let own = doc.file_index(&f.path);
    f.related
        .iter()
        .filter(move |r| doc.file_index(&r.path) == own)
}

/// The help, followed by the related places in other files as `label: FILE:LINE:COLUMN`.
fn help_with_elsewhere(f: &Finding, doc: &Document) -> Option<String> {
    let own = doc.file_index(&f.path);
    let elsewhere: Vec<String> = f
        .related
        .iter()
        .filter(|r| doc.file_index(&r.path) != own)
        .map(|r| {
            let (line, column, _, _) = doc.place(&r.path);
            format!("{}: {}:{line}:{column}", r.label, doc.file_of(&r.path))
        })
        .collect();
    match (&f.help, elsewhere.is_empty()) {
        (h, true) => h.as_deref().map(str::to_owned),
        (Some(h), false) => Some(format!("{h}\n{}", elsewhere.join("\n"))),
        (None, false) => Some(elsewhere.join("\n")),
    }
}

fn problem_diag<'a>(p: &Problem, code: &str, source: &'a Source) -> Diag<'a> {
    let mut labels = Vec::new();
    if let Some(span) = p.span {
        labels.push(LabeledSpan::new_primary_with_span(label(&p.label), span));
    }
    for (span, text) in &p.related {
        labels.push(LabeledSpan::new_with_span(label(text), *span));
    }
    Diag {
        message: p.message.clone(),
        code: code.to_owned(),
        severity: miette::Severity::Error,
        help: p.help.clone(),
        labels,
        source: Some(source),
    }
}

fn render(style: Style, diag: &Diag<'_>) -> String {
    // Source lines wider than the terminal are cut around the labels (see `super::window`).
    let width = match style {
        Style::Graphical { width } => width,
        _ => 100,
    };
    let windowed = diag.source.and_then(|s| s.windowed(&diag.labels, width));
    let fitted;
    let diag = match windowed {
        Some((ref source, ref labels)) => {
            fitted = Diag {
                message: diag.message.clone(),
                code: diag.code.clone(),
                severity: diag.severity,
                help: diag.help.clone(),
                labels: labels.clone(),
                source: Some(source),
            };
            &fitted
        }
        None => diag,
    };
    let mut s = String::new();
    let result = match style {
        // Wrapped at the terminal's width, and never inside a word ("Portaine|r").
        Style::Graphical { width } => GraphicalReportHandler::new_themed(GraphicalTheme::unicode())
            .with_width(width)
            .with_break_words(false)
            .with_links(false)
            .render_report(&mut s, diag),
        Style::GraphicalNoColor => {
            GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
                .with_width(100)
                .with_break_words(false)
                .with_links(false)
                .render_report(&mut s, diag)
        }
        // Plain output never goes through miette (see `super::plain`); keep the match total.
        Style::Plain => Err(fmt::Error),
    };
    if result.is_err() {
        // Rendering into a String only fails on a formatter error; fall back to the bare message.
        s = format!("{}: {}\n", diag.code, diag.message);
    }
    s
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// "2 errors, 1 warning, 0 info".
pub fn summary_text(s: Summary) -> String {
    format!(
        "{}, {}, {} info",
        plural(s.error, "error"),
        plural(s.warning, "warning"),
        s.info
    )
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// A finding rendered with a snippet of the file its path points into (`doc` or one of its parts).
fn render_finding(style: Style, f: &Finding, doc: &Document, sources: &[Source]) -> String {
    let index = doc.file_index(&f.path);
    let file = doc.locate(&f.path).0;
    if style != Style::Plain {
        return render(style, &finding_diag(f, doc, &sources[index]));
    }
    let related: Vec<Label<'_>> = same_file(f, doc)
        .map(|r| Label {
            span: doc.span(&r.path),
            text: &r.label,
        })
        .collect();
    let help = help_with_elsewhere(f, doc);
    plain::render(
        severity_word(f.severity),
        &f.rule,
        &f.message,
        file,
        Some(Label {
            span: doc.span(&f.path),
            text: &f.label,
        }),
        &related,
        help.as_deref(),
    )
}

fn render_problem(
    style: Style,
    code: &str,
    p: &Problem,
    doc: &Document,
    source: &Source,
) -> String {
    if style != Style::Plain {
        return render(style, &problem_diag(p, code, source));
    }
    let related: Vec<Label<'_>> = p
        .related
        .iter()
        .map(|(span, text)| Label { span: *span, text })
        .collect();
    plain::render(
        "error",
        code,
        &p.message,
        doc,
        p.span.map(|span| Label {
            span,
            text: &p.label,
        }),
        &related,
        p.help.as_deref(),
    )
}

/// One line per reason: "FILE: skipped port-occupied, time-wait: no host facts: …".
fn write_skipped(
    out: &mut dyn Write,
    file: &str,
    host: Option<&str>,
    skipped: &[&Skipped],
) -> io::Result<()> {
    let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in skipped {
        match by_reason.iter_mut().find(|(r, _)| *r == s.reason) {
            Some((_, rules)) => rules.push(&s.rule),
            None => by_reason.push((&s.reason, vec![&s.rule])),
        }
    }
    let on = host.map(|h| format!(" on host {h},")).unwrap_or_default();
    for (reason, rules) in by_reason {
        writeln!(out, "{file}:{on} skipped {}: {reason}", rules.join(", "))?;
    }
    Ok(())
}

/// A checked file: the manifest's own findings, then each host's under a `== host NAME ==` heading,
/// then the summary: one line for the file and, with hosts, one line per host.
fn write_checked(out: &mut dyn Write, c: &Checked, style: Style) -> io::Result<()> {
    let sources: Vec<Source> = std::iter::once(&c.doc)
        .chain(&c.doc.parts)
        .map(named)
        .collect();
    let (own, hosts) = super::by_host(c);
    for &i in &own.findings {
        let f = c.findings.get(i);
        write!(out, "{}", render_finding(style, &f, &c.doc, &sources))?;
        writeln!(out)?;
    }
    write_skipped(out, &c.doc.name, None, &own.skipped)?;
    for e in &c.errors {
        // The error names the policy file that holds the failing rule; the manifest is the context.
        writeln!(out, "error: {e} (checking {})", c.doc.name)?;
    }
    for (h, part) in c.hosts.iter().zip(&hosts) {
        if part.findings.is_empty() && part.skipped.is_empty() {
            continue;
        }
        writeln!(out, "== host {} (facts: {}) ==", h.name, h.source)?;
        for &i in &part.findings {
            let f = c.findings.get(i);
            write!(out, "{}", render_finding(style, &f, &c.doc, &sources))?;
            writeln!(out)?;
        }
        write_skipped(out, &c.doc.name, Some(&h.name), &part.skipped)?;
    }
    let waived = if c.waived.is_empty() {
        String::new()
    } else {
        format!(", {} waived", c.waived.len())
    };
    writeln!(
        out,
        "{}: {}{waived}",
        c.doc.name,
        summary_text(Summary::of(c.findings.keys().map(|k| k.severity)))
    )?;
    if c.hosts.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  the manifest itself: {}",
        summary_text(Summary::of(severities(c, &own)))
    )?;
    for (h, part) in c.hosts.iter().zip(&hosts) {
        let skipped = if part.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", plural(part.skipped.len(), "rule"))
        };
        writeln!(
            out,
            "  host {}: {}{skipped}",
            h.name,
            summary_text(Summary::of(severities(c, part)))
        )?;
    }
    Ok(())
}

/// The severities of a part's findings.
fn severities<'a>(
    c: &'a Checked,
    part: &'a super::HostPart<'_>,
) -> impl Iterator<Item = crate::finding::Severity> + 'a {
    part.findings.iter().map(|&i| c.findings.key(i).severity)
}

/// Writes the human report of `outcomes`.
pub fn write(out: &mut dyn Write, outcomes: &[Outcome], style: Style) -> io::Result<()> {
    for o in outcomes {
        match o {
            Outcome::Checked(c) => write_checked(out, c, style)?,
            Outcome::Failed(LoadError::Invalid {
                kind,
                doc,
                problems,
            }) => {
                let source = named(doc);
                for p in problems {
                    write!(
                        out,
                        "{}",
                        render_problem(style, &format!("invalid-{kind}"), p, doc, &source)
                    )?;
                    writeln!(out)?;
                }
                writeln!(
                    out,
                    "{}: could not be checked ({})",
                    doc.name,
                    plural(problems.len(), "problem")
                )?;
            }
            Outcome::Baseline(b) => {
                writeln!(out, "note: {}", super::baseline_text(b))?;
                for e in &b.fixed {
                    writeln!(
                        out,
                        "  fixed: {} {} {} ({})",
                        e.file, e.rule, e.subject, e.fingerprint
                    )?;
                }
            }
            Outcome::NotChecked(n) => {
                writeln!(out, "note: {}: not checked: {}", n.file, n.reason)?;
                writeln!(out, "  help: {}", n.help)?;
            }
            Outcome::Failed(e) => {
                writeln!(out, "error: {e}")?;
                if let LoadError::TooLarge { .. } = e {
                    writeln!(
                        out,
                        "  help: a manifest this large is not a hand-written deploy file; split it, or check the path"
                    )?;
                }
            }
        }
    }
    Ok(())
}
