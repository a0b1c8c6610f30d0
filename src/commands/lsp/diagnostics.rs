//! Findings as LSP diagnostics, hovers and code actions.

use std::collections::HashMap;
use std::path::Path;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeDescription, Diagnostic,
    DiagnosticRelatedInformation, DiagnosticSeverity, Hover, HoverContents, Location,
    MarkupContent, MarkupKind, NumberOrString, Position, Range, TextEdit, Uri, WorkspaceEdit,
};
use serde_json::json;

use crate::check::{Checked, check_manifest};
use crate::document::{Document, LoadError};
use crate::finding::{Finding, Fix, Severity};
use crate::manifest::discover::load_buffer;
use crate::manifest::{LoadOptions, Manifest, Protocol};
use crate::policy::Policy;
use crate::policy::date::Date;
use crate::ports::PortRange;
use crate::suggest::lowest_passing;

/// Where each rule's documentation is published (`preflight explain ID` prints the same text).
const DOCS: &str = "https://github.com/preflight-deploy/preflight/blob/main/docs/rules";

/// The rules whose findings can be fixed by moving the port to the suggested free one.
const MOVABLE: [&str; 3] = ["port-conflict", "port-plan", "privileged-port"];

/// The LSP position of a 1-based line and 1-based column in characters of `text`.
fn position(text: &str, line: usize, column: usize) -> Position {
    let l = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let utf16: usize = l
        .chars()
        .take(column.saturating_sub(1))
        .map(char::len_utf16)
        .sum();
    Position::new(line.saturating_sub(1) as u32, utf16 as u32)
}

/// The range of a path of `doc` in the file it points into.
fn range(doc: &Document, path: &str) -> Range {
    let (file, _) = doc.locate(path);
    let (l, c, el, ec) = doc.place(path);
    Range::new(position(&file.text, l, c), position(&file.text, el, ec))
}

fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    }
}

/// The diagnostics of the buffer `text` of the file at `path`.
pub(super) fn check(path: &Path, text: &str, today: Date) -> Vec<Diagnostic> {
    let top = Range::new(Position::new(0, 0), Position::new(0, 0));
    let plain = |message: String| Diagnostic {
        range: top,
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some("preflight".into()),
        message,
        ..Diagnostic::default()
    };
    let policy = match super::super::inputs::policy_for(path, None) {
        Ok(p) => p,
        Err(e) => return vec![plain(format!("the policy can't be read: {e}"))],
    };
    let name = path.display().to_string();
    match load_buffer(path, text.to_owned(), &LoadOptions::default()) {
        Ok((m, doc)) => {
            let m = std::sync::Arc::new(m);
            let checked = check_manifest(m.clone(), doc, &policy.policy, &[], today, true);
            findings(&checked, &m, &policy.policy)
        }
        Err(LoadError::Invalid {
            kind,
            doc,
            problems,
        }) if doc.name == name => problems
            .iter()
            .map(|p| {
                let r = p.span.map_or(top, |s| {
                    let a = doc.map.line_col(&doc.text, s.offset);
                    let b = doc.map.line_col(&doc.text, s.offset + s.len);
                    Range::new(
                        position(&doc.text, a.line, a.column),
                        position(&doc.text, b.line, b.column),
                    )
                });
                Diagnostic {
                    range: r,
                    severity: Some(DiagnosticSeverity::ERROR),
                    code: Some(NumberOrString::String(format!("invalid-{kind}"))),
                    source: Some("preflight".into()),
                    message: match &p.help {
                        Some(h) => format!("{}\nhelp: {h}", p.message),
                        None => p.message.clone(),
                    },
                    ..Diagnostic::default()
                }
            })
            .collect(),
        Err(e) => vec![plain(format!("not checked: {e}"))],
    }
}

/// The diagnostics of the findings in the checked file itself.
fn findings(c: &Checked, m: &Manifest, policy: &Policy) -> Vec<Diagnostic> {
    c.findings
        .iter()
        .filter(|f| c.doc.file_index(&f.path) == 0)
        .map(|f| diagnostic(&c.doc, &f, m, policy))
        .collect()
}

/// The port a finding is about and its protocol, from its subject (`api 8080/tcp`).
fn port_of(f: &Finding) -> Option<(u16, Protocol)> {
    let (n, proto) = f.subject.rsplit(' ').next()?.split_once('/')?;
    let proto = match proto {
        "udp" => Protocol::Udp,
        _ => Protocol::Tcp,
    };
    Some((n.parse().ok()?, proto))
}

/// Where to move the port of a movable finding: the rule's own suggestion (the team's block), else
/// the lowest port that passes every rule above it (at 1024 or more), as `preflight suggest --range`
/// finds it.
fn suggestion(f: &Finding, m: &Manifest, policy: &Policy) -> Option<u16> {
    if !MOVABLE.contains(&&*f.rule) {
        return None;
    }
    let own = f.fixes.iter().find_map(|x| match x {
        Fix::ChoosePort { suggested, .. } => *suggested,
        _ => None,
    });
    if own.is_some() {
        return own;
    }
    let (port, protocol) = port_of(f)?;
    let start = port.saturating_add(1).max(1024);
    let range = PortRange {
        start,
        end: start.saturating_add(999),
    };
    lowest_passing(m, policy, &[], range, protocol, None).port
}

fn diagnostic(doc: &Document, f: &Finding, m: &Manifest, policy: &Policy) -> Diagnostic {
    let related = f
        .related
        .iter()
        .filter_map(|r| {
            let file = doc.file_of(&r.path);
            let abs = std::fs::canonicalize(file)
                .map_or_else(|_| file.to_owned(), |p| p.display().to_string());
            Some(DiagnosticRelatedInformation {
                location: Location::new(super::uri_of(&abs)?, range(doc, &r.path)),
                message: r.label.clone(),
            })
        })
        .collect::<Vec<_>>();
    let suggested = suggestion(f, m, policy);
    let port = port_of(f).map(|(n, _)| n);
    Diagnostic {
        range: range(doc, &f.path),
        severity: Some(severity(f.severity)),
        code: Some(NumberOrString::String(f.rule.to_string())),
        code_description: format!("{DOCS}/{}.md", f.rule)
            .parse()
            .ok()
            .map(|href| CodeDescription { href }),
        source: Some("preflight".into()),
        message: match &f.help {
            Some(h) => format!("{}\nhelp: {h}", f.message),
            None => f.message.to_string(),
        },
        related_information: (!related.is_empty()).then_some(related),
        data: Some(json!({ "rule": f.rule, "suggested": suggested, "port": port })),
        ..Diagnostic::default()
    }
}

/// `preflight explain` of each rule with a finding under `pos`, if any.
pub(super) fn hover(diagnostics: &[Diagnostic], pos: Position) -> Option<Hover> {
    let under: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.range.start <= pos && pos <= d.range.end)
        .collect();
    let mut ids: Vec<&str> = under
        .iter()
        .filter_map(|d| match &d.code {
            Some(NumberOrString::String(id)) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    ids.dedup();
    let mut parts = Vec::new();
    for id in ids {
        let mut text = Vec::new();
        if super::super::rules::explain(id, None, &mut text).is_ok() {
            parts.push(String::from_utf8_lossy(&text).into_owned());
        }
    }
    let first = under.first()?;
    (!parts.is_empty()).then(|| Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: parts.join("\n---\n\n"),
        }),
        range: Some(first.range),
    })
}

/// The code actions for the diagnostics of a request: an inline ignore for each, and for a finding
/// whose port can move, the edit to the suggested port.
pub(super) fn actions(
    uri: &Uri,
    text: &str,
    diagnostics: &[Diagnostic],
) -> Vec<CodeActionOrCommand> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for d in diagnostics {
        let Some(data) = &d.data else { continue };
        let Some(rule) = data["rule"].as_str() else {
            continue;
        };
        let line = d.range.start.line as usize;
        let Some(content) = lines.get(line) else {
            continue;
        };
        // At the end of the line, or alone above it where the line has a comment already.
        let edit = if content.contains('#') {
            let indent: String = content.chars().take_while(|c| c.is_whitespace()).collect();
            TextEdit::new(
                Range::new(Position::new(line as u32, 0), Position::new(line as u32, 0)),
                format!("{indent}# preflight: ignore[{rule}] because …\n"),
            )
        } else {
            let end = Position::new(line as u32, content.encode_utf16().count() as u32);
            TextEdit::new(
                Range::new(end, end),
                format!("  # preflight: ignore[{rule}] because …"),
            )
        };
        out.push(action(
            format!("Ignore `{rule}` here (say why)"),
            uri,
            edit,
            d,
            false,
        ));
        let (Some(new), Some(old)) = (data["suggested"].as_u64(), data["port"].as_u64()) else {
            continue;
        };
        if !MOVABLE.contains(&rule) || d.range.start.line != d.range.end.line {
            continue;
        }
        // The old number inside the underlined text (`11001`, `"8080:80"`: the host port).
        let under: String = content
            .encode_utf16()
            .skip(d.range.start.character as usize)
            .take((d.range.end.character - d.range.start.character) as usize)
            .collect::<Vec<u16>>()
            .pipe(|u| String::from_utf16_lossy(&u));
        let old = old.to_string();
        let Some(at) = find_number(&under, &old) else {
            continue;
        };
        let start = d.range.start.character + under[..at].encode_utf16().count() as u32;
        let edit = TextEdit::new(
            Range::new(
                Position::new(line as u32, start),
                Position::new(line as u32, start + old.len() as u32),
            ),
            new.to_string(),
        );
        out.push(action(
            format!("Move to port {new} (free, passes every rule)"),
            uri,
            edit,
            d,
            true,
        ));
    }
    out
}

/// The byte offset of `n` as a whole number in `s`.
fn find_number(s: &str, n: &str) -> Option<usize> {
    s.match_indices(n).map(|(i, _)| i).find(|&i| {
        let before = s[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_digit());
        let after = s[i + n.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_digit());
        before && after
    })
}

fn action(
    title: String,
    uri: &Uri,
    edit: TextEdit,
    d: &Diagnostic,
    preferred: bool,
) -> CodeActionOrCommand {
    let mut changes = HashMap::new();
    changes.insert(uri.clone(), vec![edit]);
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![d.clone()]),
        edit: Some(WorkspaceEdit::new(changes)),
        is_preferred: Some(preferred),
        ..CodeAction::default()
    })
}

/// `x.pipe(f)`: `f(x)`, to keep a chain readable.
trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}

impl<T> Pipe for T {}
