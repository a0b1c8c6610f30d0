//! `${VAR}` and `${VAR:-default}` interpolation, as in Docker Compose.
//!
//! Forms: `${VAR}` (error when unset), `${VAR:-default}` (default when unset or empty), `${VAR-default}`
//! (default when unset), and `$$` for a literal `$`. Variables come from the manifest's `environment:` and,
//! only when the user asks with `--env`, from the process environment (which then wins, as in Compose).

use std::collections::BTreeMap;

/// Where a variable's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarSource {
    /// The manifest's `environment:` map; holds the path of the definition (`environment.ORDERS_PORT`).
    Manifest(String),
    /// The process environment (`--env`).
    Process,
    /// The `${VAR:-default}` default in the reference itself.
    Default,
    /// A Compose `.env` or `--env-file` file: `FILE:LINE` of the definition.
    File(String),
}

/// One variable reference found in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarUse {
    /// The variable's name.
    pub name: String,
    /// Where its value came from; `None` when it has none (an unresolved reference).
    pub source: Option<VarSource>,
}

/// The outcome of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    /// The text after substitution (unresolved references become empty).
    pub text: String,
    /// Every reference, in order.
    pub uses: Vec<VarUse>,
}

impl Interpolated {
    /// The names of references that had no value and no default.
    pub fn unresolved(&self) -> impl Iterator<Item = &str> {
        self.uses
            .iter()
            .filter(|u| u.source.is_none())
            .map(|u| u.name.as_str())
    }
}

/// The variables a manifest can see.
#[derive(Debug, Default)]
pub struct Variables {
    /// `environment:` of the manifest: name → (value, path of the definition).
    pub manifest: BTreeMap<String, (String, String)>,
    /// The process environment, when `--env` was given.
    pub process: Option<BTreeMap<String, String>>,
}

impl Variables {
    fn lookup(&self, name: &str) -> Option<(String, VarSource)> {
        if let Some(v) = self.process.as_ref().and_then(|p| p.get(name)) {
            return Some((v.clone(), VarSource::Process));
        }
        self.manifest
            .get(name)
            .map(|(v, path)| (v.clone(), VarSource::Manifest(path.clone())))
    }
}

/// A `${…}` reference that can't be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolateError {
    /// `${` without its `}`; holds the whole value.
    #[error("`${{` without a closing `}}` in {0:?}")]
    Unclosed(String),
    /// A form other than `${VAR}`, `${VAR:-default}` and `${VAR-default}`; holds what is inside `${…}`.
    #[error(
        "unsupported form `${{{0}}}`: use `${{VAR}}`, `${{VAR:-default}}` or `${{VAR-default}}`"
    )]
    Unsupported(String),
    /// Not a variable name.
    #[error("`{0}` is not a variable name: use letters, digits and `_`, not starting with a digit")]
    BadName(String),
}

/// Substitutes the references in `input`. Fails only on malformed syntax (an unclosed `${`, an empty or
/// invalid name); unset variables are reported through [`Interpolated::unresolved`].
pub fn interpolate(input: &str, vars: &Variables) -> Result<Interpolated, InterpolateError> {
    let mut text = String::with_capacity(input.len());
    let mut uses = Vec::new();
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            text.push('$');
            rest = r;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            text.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body_start.find('}') else {
            return Err(InterpolateError::Unclosed(input.to_owned()));
        };
        let body = &body_start[..end];
        rest = &body_start[end + 1..];
        let (name, default) = match body.find([':', '-']) {
            Some(j) if body[j..].starts_with(":-") => (&body[..j], Some((&body[j + 2..], true))),
            Some(j) if body[j..].starts_with('-') => (&body[..j], Some((&body[j + 1..], false))),
            Some(_) => {
                return Err(InterpolateError::Unsupported(body.to_owned()));
            }
            None => (body, None),
        };
        if !is_var_name(name) {
            return Err(InterpolateError::BadName(name.to_owned()));
        }
        let found = vars.lookup(name);
        let (value, source) = match (found, default) {
            (Some((v, _)), Some((d, true))) if v.is_empty() => {
                (d.to_owned(), Some(VarSource::Default))
            }
            (Some((v, s)), _) => (v, Some(s)),
            (None, Some((d, _))) => (d.to_owned(), Some(VarSource::Default)),
            (None, None) => (String::new(), None),
        };
        text.push_str(&value);
        uses.push(VarUse {
            name: name.to_owned(),
            source,
        });
    }
    text.push_str(rest);
    Ok(Interpolated { text, uses })
}

/// Whether `s` is a valid variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Variables {
        let mut v = Variables::default();
        v.manifest
            .insert("P".into(), ("8080".into(), "environment.P".into()));
        v.manifest
            .insert("EMPTY".into(), (String::new(), "environment.EMPTY".into()));
        v
    }

    #[test]
    fn forms() {
        let v = vars();
        assert_eq!(interpolate("${P}", &v).unwrap().text, "8080");
        assert_eq!(interpolate("${Q:-9}", &v).unwrap().text, "9");
        assert_eq!(interpolate("${EMPTY:-9}", &v).unwrap().text, "9");
        assert_eq!(interpolate("${EMPTY-9}", &v).unwrap().text, "");
        assert_eq!(interpolate("a$$b$c", &v).unwrap().text, "a$b$c");
        let i = interpolate("${NOPE}", &v).unwrap();
        assert_eq!(i.unresolved().collect::<Vec<_>>(), ["NOPE"]);
        assert_eq!(
            interpolate("${P}", &v).unwrap().uses[0].source,
            Some(VarSource::Manifest("environment.P".into()))
        );
    }

    #[test]
    fn process_environment_wins_when_enabled() {
        let mut v = vars();
        v.process = Some([("P".to_owned(), "1".to_owned())].into());
        let i = interpolate("${P}", &v).unwrap();
        assert_eq!(i.text, "1");
        assert_eq!(i.uses[0].source, Some(VarSource::Process));
    }

    #[test]
    fn malformed() {
        let v = vars();
        assert!(interpolate("${P", &v).is_err());
        assert!(interpolate("${}", &v).is_err());
        assert!(interpolate("${1X}", &v).is_err());
        assert!(interpolate("${P:?err}", &v).is_err());
    }
}
