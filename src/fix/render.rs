//! Rendering fix intents and whole configs with minijinja templates embedded in the binary.
//!
//! The environment is strict: an undefined variable is an error, nothing is auto-escaped (the outputs
//! are scripts, not HTML), a fuel budget bounds every render, and trailing newlines are kept. Values reach
//! templates only through the quoting filters of [`super::quote`]: `sh`, `ps`, `cmd`, `yaml`, `nft`,
//! `dns1123`, `comment` and `cmdcomment`; a test checks that no template prints a value without one
//! (numbers aside).

use std::sync::OnceLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;

use super::quote;

/// Every template, by name (`DIALECT/KIND.j2`, `DIALECT/header.j2`, `gen/DIALECT.j2`).
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "common/manual.j2",
        include_str!("templates/common/manual.j2"),
    ),
    ("sh/header.j2", include_str!("templates/sh/header.j2")),
    (
        "sh/open-firewall.j2",
        include_str!("templates/sh/open-firewall.j2"),
    ),
    (
        "sh/reserve-from-ephemeral.j2",
        include_str!("templates/sh/reserve-from-ephemeral.j2"),
    ),
    (
        "sh/grant-bind-capability.j2",
        include_str!("templates/sh/grant-bind-capability.j2"),
    ),
    ("sh/free-port.j2", include_str!("templates/sh/free-port.j2")),
    (
        "powershell/header.j2",
        include_str!("templates/powershell/header.j2"),
    ),
    (
        "powershell/open-firewall.j2",
        include_str!("templates/powershell/open-firewall.j2"),
    ),
    (
        "powershell/reserve-from-ephemeral.j2",
        include_str!("templates/powershell/reserve-from-ephemeral.j2"),
    ),
    (
        "powershell/reset-winnat-exclusion.j2",
        include_str!("templates/powershell/reset-winnat-exclusion.j2"),
    ),
    (
        "powershell/free-port.j2",
        include_str!("templates/powershell/free-port.j2"),
    ),
    ("netsh/header.j2", include_str!("templates/netsh/header.j2")),
    (
        "netsh/open-firewall.j2",
        include_str!("templates/netsh/open-firewall.j2"),
    ),
    (
        "netsh/reserve-from-ephemeral.j2",
        include_str!("templates/netsh/reserve-from-ephemeral.j2"),
    ),
    (
        "netsh/reset-winnat-exclusion.j2",
        include_str!("templates/netsh/reset-winnat-exclusion.j2"),
    ),
    (
        "systemd/header.j2",
        include_str!("templates/systemd/header.j2"),
    ),
    (
        "systemd/grant-bind-capability.j2",
        include_str!("templates/systemd/grant-bind-capability.j2"),
    ),
    ("k8s/header.j2", include_str!("templates/k8s/header.j2")),
    (
        "k8s/grant-bind-capability.j2",
        include_str!("templates/k8s/grant-bind-capability.j2"),
    ),
    (
        "gen/powershell.j2",
        include_str!("templates/gen/powershell.j2"),
    ),
    ("gen/netsh.j2", include_str!("templates/gen/netsh.j2")),
    (
        "gen/firewalld.j2",
        include_str!("templates/gen/firewalld.j2"),
    ),
    ("gen/ufw.j2", include_str!("templates/gen/ufw.j2")),
    ("gen/iptables.j2", include_str!("templates/gen/iptables.j2")),
    ("gen/nft.j2", include_str!("templates/gen/nft.j2")),
    ("gen/k8s.j2", include_str!("templates/gen/k8s.j2")),
    (
        "gen/k8s-patch.j2",
        include_str!("templates/gen/k8s-patch.j2"),
    ),
];

/// Instruction budget of one render; a template can't run away.
pub const FUEL: u64 = 5_000_000;

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// The text of a filter's input; an undefined or none value is an error, never an empty string.
fn arg(v: &Value) -> Result<String, Error> {
    if v.is_undefined() || v.is_none() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "a quoting filter was given an undefined or none value",
        ));
    }
    Ok(text(v))
}

fn env() -> &'static Result<Environment<'static>, Error> {
    static ENV: OnceLock<Result<Environment<'static>, Error>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_fuel(Some(FUEL));
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
        env.set_syntax(syntax);
        env.add_filter("sh", |v: Value| arg(&v).map(|t| quote::sh(&t)));
        env.add_filter("ps", |v: Value| arg(&v).map(|t| quote::ps(&t)));
        env.add_filter("cmd", |v: Value| arg(&v).map(|t| quote::cmd(&t)));
        env.add_filter("yaml", |v: Value| arg(&v).map(|t| quote::yaml(&t)));
        env.add_filter("nft", |v: Value| arg(&v).map(|t| quote::nft(&t)));
        env.add_filter("comment", |v: Value| {
            arg(&v).map(|t| quote::comment(&t, false))
        });
        // Not a quoting filter: folds line breaks before one, for single-line fields such as descriptions.
        env.add_filter("oneline", |v: Value| {
            arg(&v).map(|t| quote::comment(&t, false))
        });
        env.add_filter("cmdcomment", |v: Value| {
            arg(&v).map(|t| quote::comment(&t, true))
        });
        env.add_filter("dns1123", |v: Value| -> Result<String, Error> {
            quote::dns1123(&arg(&v)?).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("{:?} cannot be made a DNS-1123 name", text(&v)),
                )
            })
        });
        env.add_test("cmd_lossy", |v: Value| quote::cmd_lossy(&text(&v)));
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(env)
    })
}

/// Whether a template exists.
pub fn has_template(name: &str) -> bool {
    TEMPLATES.iter().any(|(n, _)| *n == name)
}

/// Why a fix or a config could not be rendered (exit code 2). Every one is a bug of preflight's own
/// templates or a value no quoting can make safe, never a problem of the user's system.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    /// The embedded templates did not compile.
    #[error("templates failed to load: {0}")]
    Load(String),
    /// No template has this name.
    #[error(transparent)]
    Missing(Error),
    /// A template failed while rendering (an undefined value, a name that can't be quoted, out of fuel).
    #[error("{template}: {source}")]
    Render {
        /// The template.
        template: String,
        /// minijinja's error, with the template's line.
        source: Error,
    },
}

/// Renders a template with a serializable context.
pub fn render<S: Serialize>(name: &str, ctx: &S) -> Result<String, FixError> {
    let env = env().as_ref().map_err(|e| FixError::Load(e.to_string()))?;
    let t = env.get_template(name).map_err(FixError::Missing)?;
    t.render(minijinja::value::Serde(ctx))
        .map_err(|source| FixError::Render {
            template: name.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        assert!(env().is_ok(), "{:?}", env().as_ref().err());
    }

    #[test]
    fn templates_print_nothing_unquoted() {
        // `{{ expr }}` must end in a quoting filter, unless it prints a number or an enum the code controls.
        let numeric = [
            "fix.port",
            "p.number",
            "fix.pid",
            "c",
            "family",
            "p.protocol",
        ];
        // `chain[0]`-style items are checked like any other expression (they carry `| sh`).
        let filters = [
            "sh",
            "ps",
            "cmd",
            "yaml",
            "nft",
            "comment",
            "cmdcomment",
            "dns1123",
        ];
        for (name, source) in TEMPLATES {
            let mut rest = *source;
            while let Some(i) = rest.find("{{") {
                let j = rest[i..].find("}}").expect("closed") + i;
                let expr = rest[i + 2..j].trim();
                let last = expr.rsplit('|').next().unwrap_or("").trim();
                let ok = (expr.contains('|') && filters.contains(&last)) || numeric.contains(&expr);
                assert!(
                    ok,
                    "{name}: `{{{{ {expr} }}}}` prints a value without a quoting filter"
                );
                rest = &rest[j + 2..];
            }
        }
    }

    #[test]
    fn strict_undefined_and_fuel() {
        let env = env().as_ref().unwrap();
        let t = env.template_from_str("{{ nope | sh }}").unwrap();
        assert!(t.render(Value::from(())).is_err());
        let t = env
            .template_from_str(
                "{% for i in range(100000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}",
            )
            .unwrap();
        let err = t.render(Value::from(())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfFuel);
    }
}
