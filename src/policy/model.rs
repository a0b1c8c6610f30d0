//! The policy file as written (`.preflight.yaml`): serde types, also the source of
//! `schemas/policy.schema.json`.

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// A policy: which rules run, at what severity, with which parameters, waivers and custom rules.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "preflight policy")]
pub struct PolicyFile {
    /// Version of the policy format. Only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Policies this one builds on: built-in packs (`baseline`, `windows-server`, `linux-host`,
    /// `kubernetes`, `strict`) or paths to other policy files, relative to this one. Later entries win.
    #[serde(default)]
    pub extends: Vec<String>,
    /// Per-rule settings: a level (`error`, `warning`, `info`, `off`) or an object with `severity` and the
    /// rule's parameters.
    #[serde(default)]
    pub rules: IndexMap<String, RuleConfig>,
    /// Findings accepted on purpose, each with a reason.
    #[serde(default)]
    pub waivers: Vec<WaiverSpec>,
    /// The team's own rules, as expressions over `service`, `port`, `target`, `facts` and `manifest`.
    #[serde(default)]
    pub custom: Vec<CustomSpec>,
}

/// A severity, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fails the run by default.
    Error,
    /// Fails with `--fail-on warning`.
    Warning,
    /// Reported, never fails by default.
    Info,
    /// The rule does not run.
    Off,
}

/// A rule's setting: just a level, or an object.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RuleConfig {
    /// `ephemeral-range: error`
    Level(Level),
    /// `well-known-port: { severity: warning, allow: [8080] }`
    Options(RuleOptions),
}

impl JsonSchema for RuleConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RuleConfig".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let options = generator.subschema_for::<RuleOptions>();
        let level = generator.subschema_for::<Level>();
        json_schema!({
            "description": "A level (error, warning, info, off), or an object with `severity` and the rule's parameters.",
            "if": { "type": "object" },
            "then": options,
            "else": level
        })
    }
}

/// A rule's options.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleOptions {
    /// The severity (or `off`).
    #[serde(default)]
    pub severity: Option<Level>,
    /// Ports the rule accepts without a finding (`well-known-port`, `ephemeral-range`).
    #[serde(default)]
    pub allow: Vec<u16>,
}

/// A waiver: a finding accepted on purpose.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverSpec {
    /// The rule it waives.
    pub rule: String,
    /// The manifest path it covers (`services.legacy.ports.http`); `*` matches one segment, and a path
    /// covers everything below it.
    pub path: String,
    /// Why it is accepted (required).
    #[schemars(length(min = 1))]
    pub reason: String,
    /// When it stops applying (`YYYY-MM-DD`); an expired waiver waives nothing and is itself a warning.
    #[serde(default)]
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub expires: Option<String>,
    /// The hosts it covers, as names or patterns where `*` matches any run of characters
    /// (`[web-*, db-01]`). When given, only findings of those hosts are waived; when absent, the waiver
    /// covers every host and the manifest's own findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// A custom rule.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomSpec {
    /// Its id (kebab-case, not a built-in id).
    #[schemars(regex(pattern = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"))]
    pub id: String,
    /// One line: what it checks.
    pub summary: String,
    /// Optional filter: the rule only looks at ports where this expression is true.
    #[serde(default)]
    pub when: Option<String>,
    /// The expression that must hold for every port (a finding where it is false).
    pub assert: String,
    /// The finding's message, a template over the same variables (`{{ service.name }}`).
    pub message: String,
    /// Severity of its findings (default error).
    #[serde(default)]
    pub severity: Option<Level>,
    /// How to fix it.
    #[serde(default)]
    pub help: Option<String>,
}

/// The JSON Schema of the policy file, as committed in `schemas/policy.schema.json`.
pub fn schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<PolicyFile>()
        .to_value()
}
