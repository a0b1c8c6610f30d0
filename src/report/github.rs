//! `--format github`: GitHub Actions workflow commands, which annotate the pull request's diff.
//!
//! `::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=RULE::MESSAGE` (warning and notice by
//! severity). The runner's escaping: in the message `%`, CR and LF become `%25`, `%0D`, `%0A`; in
//! properties `:` and `,` are escaped as well.

use std::io::{self, Write};

use crate::check::Outcome;
use crate::document::LoadError;
use crate::finding::Severity;

/// Escapes a workflow command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// Writes one workflow command per finding and per problem of files that could not be checked.
pub fn write(out: &mut dyn Write, outcomes: &[Outcome]) -> io::Result<()> {
    for o in outcomes {
        match o {
            Outcome::Checked(c) => {
                for f in c.findings.iter() {
                    let file = escape_property(&super::sarif::uri(c.doc.file_of(&f.path)));
                    let (line, col, end_line, end_col) = c.doc.place(&f.path);
                    let message = super::with_help(
                        &super::on_host(&f.message, f.host.as_deref()),
                        f.help.as_deref(),
                    );
                    writeln!(
                        out,
                        "::{} file={file},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}",
                        command(f.severity),
                        escape_property(&f.rule),
                        escape_data(&message)
                    )?;
                }
                for e in &c.errors {
                    writeln!(
                        out,
                        "::error file={},title=preflight::{}",
                        escape_property(&super::sarif::uri(&c.doc.name)),
                        escape_data(e)
                    )?;
                }
            }
            Outcome::Failed(LoadError::Invalid {
                kind,
                doc,
                problems,
            }) => {
                let file = escape_property(&super::sarif::uri(&doc.name));
                for p in problems {
                    let at = p.span.map(|s| doc.map.line_col(&doc.text, s.offset));
                    let loc = at
                        .map(|lc| format!(",line={},col={}", lc.line, lc.column))
                        .unwrap_or_default();
                    let message = super::with_help(&p.message, p.help.as_deref());
                    writeln!(
                        out,
                        "::error file={file}{loc},title=invalid-{kind}::{}",
                        escape_data(&message)
                    )?;
                }
            }
            Outcome::Failed(e) => writeln!(
                out,
                "::error title=preflight::{}",
                escape_data(&e.to_string())
            )?,
            Outcome::Baseline(b) => writeln!(
                out,
                "::notice title=baseline::{}",
                escape_data(&super::baseline_text(b))
            )?,
            Outcome::NotChecked(n) => writeln!(
                out,
                "::notice file={},title=not checked::{}",
                escape_property(&super::sarif::uri(&n.file)),
                escape_data(&format!(
                    "{}: not checked: {} ({})",
                    n.file, n.reason, n.help
                ))
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
