//! Compose's variable interpolation and its `.env` files, as the Compose specification defines them.
//!
//! Forms (compose-spec `interpolation.md`, compose-go's `template` package): `$VAR` and `${VAR}` (empty
//! when unset, with a warning), `${VAR:-default}` / `${VAR-default}` (default when unset or empty / when
//! unset), `${VAR:?message}` / `${VAR?message}` (an error when unset or empty / when unset),
//! `${VAR:+replacement}` / `${VAR+replacement}` (the replacement when set and non-empty / when set), and
//! `$$` for a literal `$`. Defaults and replacements may hold references themselves (`${A:-${B}}`).
//! A `$` followed by anything else is an error, as in Compose ("You may need to escape any $ with
//! another $").
//!
//! Values come from the process environment, which wins, then the `--env-file` files in order (a later
//! file wins), or `.env` in the project directory when no `--env-file` is given — Compose's precedence.

use std::collections::BTreeMap;

use crate::manifest::interpolate::{Interpolated, VarSource, VarUse, is_var_name};

/// The variables a Compose file sees, each with where it was defined.
#[derive(Debug, Default, Clone)]
pub struct ComposeVars {
    vars: BTreeMap<String, (String, VarSource)>,
}

impl ComposeVars {
    /// Adds (or overrides) a variable.
    pub fn set(&mut self, name: &str, value: String, source: VarSource) {
        self.vars.insert(name.to_owned(), (value, source));
    }

    /// Reads a `.env` file's text (`name` is how messages call it) and adds its variables; returns the
    /// lines that are not `KEY=VALUE`, `export KEY=VALUE`, `KEY`, blank or a comment. As in Compose's
    /// dotenv reader, a bare `KEY` takes its value from `env` (and is left unset without one), and an
    /// unquoted or double-quoted value expands `$VAR` / `${VAR…}` from `env`, then from the lines
    /// before it; a single-quoted value is literal.
    pub fn add_env_file(&mut self, name: &str, text: &str, env: &ComposeVars) -> Vec<usize> {
        let mut bad = Vec::new();
        for (i, line) in logical_lines(text) {
            let source = VarSource::File(format!("{name}:{}", i + 1));
            match parse_env_line(&line) {
                EnvLine::Skip => {}
                EnvLine::Bad => bad.push(i + 1),
                EnvLine::Bare(k) => {
                    if let Some(v) = env.get(&k) {
                        self.set(&k, v.to_owned(), source);
                    }
                }
                EnvLine::Var(k, v, literal) => {
                    let value = if literal || !v.contains('$') {
                        v
                    } else {
                        let mut scope = self.clone();
                        scope.extend(env);
                        match interpolate(&v, &scope) {
                            Ok(x) => x.text,
                            Err(_) => {
                                bad.push(i + 1);
                                continue;
                            }
                        }
                    };
                    self.set(&k, value, source);
                }
            }
        }
        bad
    }

    /// Adds every variable of `other`, which wins.
    pub fn extend(&mut self, other: &ComposeVars) {
        for (k, (v, s)) in &other.vars {
            self.set(k, v.clone(), s.clone());
        }
    }

    /// The value of a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|(v, _)| v.as_str())
    }

    fn lookup(&self, name: &str) -> Option<(&str, &VarSource)> {
        self.vars.get(name).map(|(v, s)| (v.as_str(), s))
    }
}

/// The lines of a `.env` file with their 0-based first line numbers, a double-quoted value that spans
/// lines joined into one (Compose's dotenv reads multi-line values in double quotes).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (i, line) in text.lines().enumerate() {
        if open {
            if let Some((_, l)) = out.last_mut() {
                l.push('\n');
                l.push_str(line);
            }
        } else {
            out.push((i, line.to_owned()));
        }
        let (_, current) = out.last().map_or((0, ""), |(n, l)| (*n, l.as_str()));
        open = unclosed_double_quote(current);
    }
    out
}

/// Whether the value of a `KEY="…` line opens a double quote it doesn't close.
fn unclosed_double_quote(line: &str) -> bool {
    let Some((_, value)) = line.split_once('=') else {
        return false;
    };
    let Some(rest) = value.trim_start().strip_prefix('"') else {
        return false;
    };
    let mut escaped = false;
    for c in rest.chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return false,
            _ => {}
        }
    }
    true
}

enum EnvLine {
    Skip,
    Bad,
    /// `KEY` alone: the value comes from the environment.
    Bare(String),
    /// `KEY=VALUE`, and whether the value was single-quoted (literal).
    Var(String, String, bool),
}

/// One line of a `.env` file, as Compose reads it: `KEY=VALUE` with optional `export `, values in
/// single quotes (literal), double quotes (with `\n`, `\"`, `\\`) or bare (an inline comment starts at
/// ` #`); surrounding blanks trimmed.
fn parse_env_line(line: &str) -> EnvLine {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return EnvLine::Skip;
    }
    let t = t.strip_prefix("export ").map(str::trim_start).unwrap_or(t);
    let Some((key, raw)) = t.split_once('=') else {
        return if is_var_name(t) {
            EnvLine::Bare(t.to_owned())
        } else {
            EnvLine::Bad
        };
    };
    let key = key.trim();
    if !is_var_name(key)
        && !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return EnvLine::Bad;
    }
    let raw = raw.trim_start();
    let literal = raw.starts_with('\'');
    let value = if let Some(rest) = raw.strip_prefix('\'') {
        match rest.find('\'') {
            Some(end) => rest[..end].to_owned(),
            None => return EnvLine::Bad,
        }
    } else if let Some(rest) = raw.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        loop {
            match chars.next() {
                None => return EnvLine::Bad,
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(c) => out.push(c),
                    None => return EnvLine::Bad,
                },
                Some(c) => out.push(c),
            }
        }
        out
    } else {
        let end = raw.find(" #").unwrap_or(raw.len());
        raw[..end].trim_end().to_owned()
    };
    EnvLine::Var(key.to_owned(), value, literal)
}

/// Why a value can't be interpolated: Compose refuses the file for each of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeInterpolateError {
    /// `${` without its `}`.
    #[error("`${{` without a closing `}}` in {0:?}")]
    Unclosed(String),
    /// A `$` that starts no reference.
    #[error(
        "invalid interpolation format in {0:?}: a `$` must start `$VAR` or `${{VAR}}`; write `$$` for a literal `$`"
    )]
    Invalid(String),
    /// Not a variable name inside `${…}`.
    #[error("`{0}` is not a variable name: use letters, digits and `_`, not starting with a digit")]
    BadName(String),
    /// `${VAR:?message}` or `${VAR?message}` with the variable missing.
    #[error("required variable `{name}` is missing a value: {message}")]
    Required {
        /// The variable.
        name: String,
        /// The message the reference gives.
        message: String,
    },
}

/// Why a scalar can't be read as interpolated text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScalarError {
    /// A mapping, a list, a boolean or null where text belongs.
    #[error("expected a string")]
    NotText,
    /// The text can't be interpolated.
    #[error(transparent)]
    Interpolate(#[from] ComposeInterpolateError),
}

/// Why a project's env files can't be read.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    /// The file can't be read.
    #[error("can't read the env file {file}: {source}")]
    Read {
        /// The file as named.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line that is no assignment.
    #[error("{file}:{line}: not a `KEY=VALUE` line: write `KEY=VALUE` (comments start with `#`)")]
    Line {
        /// The file as named.
        file: String,
        /// The 1-based line.
        line: usize,
    },
}

/// Substitutes every reference in `input` the way Compose does.
pub fn interpolate(
    input: &str,
    vars: &ComposeVars,
) -> Result<Interpolated, ComposeInterpolateError> {
    let mut uses = Vec::new();
    let text = substitute(input, input, vars, &mut uses, 0)?;
    Ok(Interpolated { text, uses })
}

fn substitute(
    whole: &str,
    input: &str,
    vars: &ComposeVars,
    uses: &mut Vec<VarUse>,
    depth: usize,
) -> Result<String, ComposeInterpolateError> {
    let mut text = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            text.push('$');
            rest = r;
            continue;
        }
        if let Some(body_start) = after.strip_prefix('{') {
            let end = matching_brace(body_start)
                .ok_or_else(|| ComposeInterpolateError::Unclosed(whole.to_owned()))?;
            let body = &body_start[..end];
            rest = &body_start[end + 1..];
            text.push_str(&braced(whole, body, vars, uses, depth)?);
            continue;
        }
        let name_len = after
            .char_indices()
            .take_while(|&(j, c)| {
                c == '_' || c.is_ascii_alphabetic() || (j > 0 && c.is_ascii_digit())
            })
            .count();
        if name_len == 0 {
            return Err(ComposeInterpolateError::Invalid(whole.to_owned()));
        }
        let name = &after[..name_len];
        rest = &after[name_len..];
        text.push_str(&plain(name, vars, uses));
    }
    text.push_str(rest);
    Ok(text)
}

/// The index of the `}` closing a `${`, counting nested `${…}`.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn plain(name: &str, vars: &ComposeVars, uses: &mut Vec<VarUse>) -> String {
    let found = vars.lookup(name);
    uses.push(VarUse {
        name: name.to_owned(),
        source: found.map(|(_, s)| s.clone()),
    });
    found.map(|(v, _)| v.to_owned()).unwrap_or_default()
}

fn braced(
    whole: &str,
    body: &str,
    vars: &ComposeVars,
    uses: &mut Vec<VarUse>,
    depth: usize,
) -> Result<String, ComposeInterpolateError> {
    let split = body.find([':', '-', '?', '+']);
    let (name, op, arg) = match split {
        None => (body, "", ""),
        Some(j) => {
            let rest = &body[j..];
            let Some(op) = [":-", ":?", ":+", "-", "?", "+"]
                .into_iter()
                .find(|op| rest.starts_with(op))
            else {
                return Err(ComposeInterpolateError::Invalid(whole.to_owned()));
            };
            (&body[..j], op, &rest[op.len()..])
        }
    };
    if !is_var_name(name) {
        return Err(ComposeInterpolateError::BadName(name.to_owned()));
    }
    if depth > 16 {
        return Err(ComposeInterpolateError::Invalid(whole.to_owned()));
    }
    let found = vars.lookup(name);
    let set = found.is_some();
    let non_empty = found.is_some_and(|(v, _)| !v.is_empty());
    let nested = |arg: &str, uses: &mut Vec<VarUse>| substitute(whole, arg, vars, uses, depth + 1);
    let own = |uses: &mut Vec<VarUse>, source: Option<VarSource>| {
        uses.push(VarUse {
            name: name.to_owned(),
            source,
        });
    };
    let value = found.map(|(v, _)| v.to_owned()).unwrap_or_default();
    let source = found.map(|(_, s)| s.clone());
    Ok(match op {
        "" => {
            own(uses, source);
            value
        }
        ":-" | "-" if (op == ":-" && non_empty) || (op == "-" && set) => {
            own(uses, source);
            value
        }
        ":-" | "-" => {
            own(uses, Some(VarSource::Default));
            nested(arg, uses)?
        }
        ":?" | "?" if (op == ":?" && non_empty) || (op == "?" && set) => {
            own(uses, source);
            value
        }
        ":?" | "?" => {
            return Err(ComposeInterpolateError::Required {
                name: name.to_owned(),
                message: nested(arg, uses)?,
            });
        }
        _ if (op == ":+" && non_empty) || (op == "+" && set) => {
            own(uses, source);
            nested(arg, uses)?
        }
        _ => {
            // `${VAR:+x}` with VAR unset is empty on purpose: not an unresolved reference.
            own(uses, Some(VarSource::Default));
            String::new()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> ComposeVars {
        let mut v = ComposeVars::default();
        v.set("P", "8080".into(), VarSource::Process);
        v.set("EMPTY", String::new(), VarSource::Process);
        v
    }

    fn text(s: &str) -> String {
        interpolate(s, &vars()).unwrap().text
    }

    #[test]
    fn every_form() {
        assert_eq!(text("$P"), "8080");
        assert_eq!(text("${P}:80"), "8080:80");
        assert_eq!(text("$P/udp"), "8080/udp");
        assert_eq!(text("${Q:-9}"), "9");
        assert_eq!(text("${EMPTY:-9}"), "9");
        assert_eq!(text("${EMPTY-9}"), "");
        assert_eq!(text("${Q-9}"), "9");
        assert_eq!(text("${P:+1}"), "1");
        assert_eq!(text("${EMPTY:+1}"), "");
        assert_eq!(text("${EMPTY+1}"), "1");
        assert_eq!(text("${Q+1}"), "");
        assert_eq!(text("${P:?need P}"), "8080");
        assert_eq!(text("${EMPTY?x}"), "");
        assert_eq!(text("a$$b"), "a$b");
        assert_eq!(text("${Q:-${P}}"), "8080");
        assert_eq!(text("${Q:-${R:-7}0}"), "70");
        let i = interpolate("${NOPE}", &vars()).unwrap();
        assert_eq!(i.text, "");
        assert_eq!(i.unresolved().collect::<Vec<_>>(), ["NOPE"]);
    }

    #[test]
    fn refusals() {
        let e = |s: &str| interpolate(s, &vars()).unwrap_err();
        assert!(
            matches!(e("${EMPTY:?set it}"), ComposeInterpolateError::Required { message, .. } if message == "set it")
        );
        assert!(matches!(
            e("${Q?}"),
            ComposeInterpolateError::Required { .. }
        ));
        assert!(matches!(e("${P"), ComposeInterpolateError::Unclosed(_)));
        assert!(matches!(e("$ 1"), ComposeInterpolateError::Invalid(_)));
        assert!(matches!(e("${1X}"), ComposeInterpolateError::BadName(_)));
        assert!(matches!(e("${P:=1}"), ComposeInterpolateError::Invalid(_)));
        assert!(matches!(e("${P:é}"), ComposeInterpolateError::Invalid(_)));
        assert!(matches!(e("${P:}"), ComposeInterpolateError::Invalid(_)));
    }

    #[test]
    fn env_file_lines() {
        let mut v = ComposeVars::default();
        let mut env = ComposeVars::default();
        env.set("HOME_PORT", "7000".into(), VarSource::Process);
        let bad = v.add_env_file(
            ".env",
            "# c\nA=1\nexport B = 2 \nC='x # y'\nD=\"q\\\"\"\nE=v # note\nnot a line\nF=\nG=${A}0\nH='${A}'\nHOME_PORT\nNOWHERE\nI=\"$HOME_PORT\"\n",
            &env,
        );
        assert_eq!(bad, [7]);
        let mut m = ComposeVars::default();
        let bad = m.add_env_file(".env", "CERT=\"line one\nline two\"\nNEXT=1\n", &env);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(m.get("CERT"), Some("line one\nline two"));
        assert_eq!(m.get("NEXT"), Some("1"));
        assert_eq!(v.get("G"), Some("10"));
        assert_eq!(v.get("H"), Some("${A}"));
        assert_eq!(v.get("HOME_PORT"), Some("7000"));
        assert_eq!(v.get("NOWHERE"), None);
        assert_eq!(v.get("I"), Some("7000"));
        assert_eq!(v.get("A"), Some("1"));
        assert_eq!(v.get("B"), Some("2"));
        assert_eq!(v.get("C"), Some("x # y"));
        assert_eq!(v.get("D"), Some("q\""));
        assert_eq!(v.get("E"), Some("v"));
        assert_eq!(v.get("F"), Some(""));
    }
}
