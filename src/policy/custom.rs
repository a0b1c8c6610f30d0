//! Custom rules: minijinja expressions over `service`, `port`, `target`, `facts` and `manifest`.
//!
//! Expressions and message templates are compiled once, when the policy is loaded, in a strict
//! environment (an undefined name or attribute is an error, not a silent false) with a fuel budget, so a
//! hostile or runaway expression stops with an error instead of hanging the run.

use std::sync::OnceLock;

use super::Location;
use crate::finding::Severity;
use minijinja::{Environment, Expression, UndefinedBehavior};

/// Work one evaluation may do (instructions and data, see minijinja's fuel).
pub const FUEL: u64 = 50_000;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env
    })
}

/// A custom rule, compiled.
pub struct CustomRule {
    /// Its id.
    pub id: String,
    /// What it checks.
    pub summary: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// How to fix it.
    pub help: Option<String>,
    /// The filter, as written.
    pub when_src: Option<String>,
    /// The assertion, as written.
    pub assert_src: String,
    /// The message template, as written.
    pub message_src: String,
    when: Option<Expression<'static, 'static>>,
    assert: Expression<'static, 'static>,
    /// Whether `when`, `assert` or `message` reads `facts`: such a rule runs once per host of a fleet,
    /// the others once per manifest.
    pub uses_facts: bool,
    /// Where it was written.
    pub origin: Location,
}

impl std::fmt::Debug for CustomRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomRule")
            .field("id", &self.id)
            .field("assert", &self.assert_src)
            .finish()
    }
}

/// Which part of a custom rule failed to compile or evaluate.
#[derive(Debug)]
pub struct ExprError {
    /// `when`, `assert` or `message`.
    pub field: &'static str,
    /// minijinja's explanation.
    pub message: String,
}

impl CustomRule {
    /// Compiles a rule's expressions and checks its message template.
    #[allow(clippy::too_many_arguments)]
    pub fn compile(
        id: &str,
        summary: &str,
        severity: Severity,
        help: Option<String>,
        when: Option<&str>,
        assert: &str,
        message: &str,
        origin: Location,
    ) -> Result<CustomRule, ExprError> {
        let compile = |field: &'static str, src: &str| {
            env()
                .compile_expression_owned(src.to_owned())
                .map_err(|e| ExprError {
                    field,
                    message: describe(&e),
                })
        };
        let when_expr = when.map(|w| compile("when", w)).transpose()?;
        let assert_expr = compile("assert", assert)?;
        let template = env().template_from_str(message).map_err(|e| ExprError {
            field: "message",
            message: describe(&e),
        })?;
        let uses_facts = when_expr
            .iter()
            .chain([&assert_expr])
            .any(|e| e.undeclared_variables(false).contains("facts"))
            || template.undeclared_variables(false).contains("facts");
        Ok(CustomRule {
            id: id.to_owned(),
            summary: summary.to_owned(),
            severity,
            help,
            when_src: when.map(str::to_owned),
            assert_src: assert.to_owned(),
            message_src: message.to_owned(),
            when: when_expr,
            assert: assert_expr,
            uses_facts,
            origin,
        })
    }

    /// Evaluates the rule for one port: `Ok(Some(message))` when it fails, `Ok(None)` when it holds or
    /// does not apply.
    pub fn check(&self, value: &minijinja::Value) -> Result<Option<String>, ExprError> {
        let value = value.clone();
        if let Some(when) = &self.when {
            let v = when.eval(value.clone()).map_err(|e| ExprError {
                field: "when",
                message: describe(&e),
            })?;
            if !v.is_true() {
                return Ok(None);
            }
        }
        let ok = self.assert.eval(value.clone()).map_err(|e| ExprError {
            field: "assert",
            message: describe(&e),
        })?;
        if ok.is_true() {
            return Ok(None);
        }
        let message = env()
            .render_str(&self.message_src, value)
            .map_err(|e| ExprError {
                field: "message",
                message: describe(&e),
            })?;
        Ok(Some(message))
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut s = e.kind().to_string();
    if let Some(detail) = e.detail() {
        s.push_str(": ");
        s.push_str(detail);
    }
    if e.kind() == minijinja::ErrorKind::OutOfFuel {
        s.push_str(" (the expression does too much work; simplify it)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(j: serde_json::Value) -> minijinja::Value {
        minijinja::Value::from(minijinja::value::Serde(j))
    }

    fn rule(when: Option<&str>, assert: &str) -> Result<CustomRule, ExprError> {
        CustomRule::compile(
            "r",
            "s",
            Severity::Error,
            None,
            when,
            assert,
            "{{ port.number }} is bad",
            Location {
                doc: 0,
                file: ".preflight.yaml".into(),
                path: "custom.0".into(),
            },
        )
    }

    #[test]
    fn evaluates_and_renders() {
        let r = rule(
            Some("service.team == 'orders'"),
            "port.number >= 11000 and port.number <= 11999",
        )
        .unwrap();
        let cx = serde_json::json!({"service": {"team": "orders"}, "port": {"number": 8080}});
        assert_eq!(
            r.check(&v(cx.clone())).unwrap().as_deref(),
            Some("8080 is bad")
        );
        let cx = serde_json::json!({"service": {"team": "orders"}, "port": {"number": 11001}});
        assert_eq!(r.check(&v(cx.clone())).unwrap(), None);
        let cx = serde_json::json!({"service": {"team": "billing"}, "port": {"number": 8080}});
        assert_eq!(r.check(&v(cx.clone())).unwrap(), None);
    }

    #[test]
    fn knows_whether_it_reads_facts() {
        assert!(!rule(None, "port.number > 1024").unwrap().uses_facts);
        assert!(
            rule(None, "facts is none or port.number > 1")
                .unwrap()
                .uses_facts
        );
        assert!(
            rule(Some("facts.os == 'linux'"), "true")
                .unwrap()
                .uses_facts
        );
    }

    #[test]
    fn errors() {
        assert_eq!(rule(None, "port.number >=").unwrap_err().field, "assert");
        let r = rule(None, "port.nope > 1").unwrap();
        assert!(
            r.check(&v(serde_json::json!({"port": {"number": 1}})))
                .is_err(),
            "strict: undefined attribute"
        );
        let r = rule(None, "range(100000) | list | length > 0").unwrap();
        let e = r.check(&v(serde_json::json!({}))).unwrap_err();
        assert!(e.message.contains("fuel"), "{}", e.message);
    }
}
