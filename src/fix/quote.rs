//! Quoting for every dialect a template writes. Each function turns arbitrary text into something the
//! target language reads back as exactly that text (or, where the language can't, a safe subset with the
//! loss reported). Templates pass every value through one of these; none interpolates raw text.
//!
//! Hand-written on purpose: shell-quoting crates (`shell-escape`, `shlex`) cover POSIX shells only, and
//! no crate quotes for PowerShell (with its typographic quotes), `cmd.exe`, nftables comments, YAML
//! scalars and DNS-1123 names together. `tests/properties.rs` checks each against its reader (a real
//! `sh` for the POSIX quoting) on generated text.

/// POSIX shell: a single-quoted word. `'` becomes `'\''`; nothing inside single quotes is special.
pub fn sh(s: &str) -> String {
    format!("'{}'", strip_nul(s).replace('\'', r"'\''"))
}

/// PowerShell: a single-quoted (verbatim) string. PowerShell ends such a string at `'` and at the
/// typographic single quotes U+2018, U+2019, U+201A and U+201B alike; each is escaped by doubling it.
pub fn ps(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in strip_nul(s).chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Characters `cmd.exe` can carry inside a double-quoted argument without any meaning: no `"`, `%`, `^`,
/// `!`, `&`, `|`, `<`, `>`, control characters or line breaks.
fn cmd_safe(c: char) -> bool {
    c.is_alphanumeric() || " _-.,:;/()+@#=[]{}~$'*?".contains(c)
}

/// cmd / netsh: a double-quoted argument with every character cmd can't quote safely removed. Use
/// [`cmd_lossy`] to tell the reader something was removed.
pub fn cmd(s: &str) -> String {
    let kept: String = s
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| cmd_safe(*c))
        .collect();
    format!("\"{}\"", kept.trim())
}

/// Whether [`cmd`] had to remove characters from `s`.
pub fn cmd_lossy(s: &str) -> bool {
    s.chars().any(|c| !(cmd_safe(c) || c == ' '))
}

/// YAML: a double-quoted scalar (a JSON string is one), so `: `, `#`, `{`, newlines and the like stay text.
pub fn yaml(s: &str) -> String {
    serde_json::Value::String(strip_nul(s)).to_string()
}

/// A Kubernetes DNS-1123 label: lowercase `a-z0-9-`, at most 63, starting and ending alphanumeric.
/// `None` when nothing usable remains.
pub fn dns1123(s: &str) -> Option<String> {
    let mapped: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut out = String::new();
    for c in mapped.chars() {
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(63);
    let out = out.trim_end_matches('-').to_owned();
    (!out.is_empty()).then_some(out)
}

/// A one-line comment body: line breaks and other control characters become spaces, so the text can't
/// end the comment. For cmd (`REM`), `%`, `!` and `^` are also removed: cmd expands or continues on them
/// even in comments.
pub fn comment(s: &str, cmd: bool) -> String {
    s.chars()
        .filter(|c| !(cmd && matches!(c, '%' | '!' | '^')))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// nftables: a double-quoted string for `comment "…"`. nft has no escape for `"` inside strings, and
/// the comment is at most 128 bytes: `"` and control characters are removed, the rest cut to fit.
pub fn nft(s: &str) -> String {
    let mut kept: String = s
        .chars()
        .filter(|c| *c != '"' && *c != '\\')
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    while kept.len() > 120 {
        kept.pop();
    }
    format!("\"{kept}\"")
}

fn strip_nul(s: &str) -> String {
    s.replace('\0', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell() {
        assert_eq!(sh("it's $(rm -rf /)"), r"'it'\''s $(rm -rf /)'");
        assert_eq!(sh(""), "''");
    }

    #[test]
    fn powershell_doubles_every_single_quote() {
        assert_eq!(ps("it's"), "'it''s'");
        assert_eq!(ps("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(ps("$(x) `n"), "'$(x) `n'");
    }

    #[test]
    fn cmd_removes_what_it_cannot_quote() {
        assert_eq!(
            cmd("a \"b\" %PATH% & c | d ^ e > f\nx"),
            "\"a b PATH  c  d  e  f x\""
        );
        assert!(cmd_lossy("100%"));
        assert!(!cmd_lossy("Orders API (v2)"));
    }

    #[test]
    fn yaml_and_dns() {
        assert_eq!(yaml("a: b # c\nd"), r#""a: b # c\nd""#);
        assert_eq!(dns1123("Orders_API--v2-").as_deref(), Some("orders-api-v2"));
        assert_eq!(dns1123("___"), None);
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("a\nrm -rf /\r", false), "a rm -rf / ");
        assert_eq!(comment("50% ^ !x!", true), "50  x");
    }
}
