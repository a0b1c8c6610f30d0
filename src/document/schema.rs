//! Validating a parsed document against a JSON Schema, with errors that point into the YAML.
//!
//! Shared by the manifest and the policy loaders. Each `jsonschema` error becomes a [`Problem`] at the
//! span of the offending value (or key, for unknown fields), worded for the user: "unknown field `proto`
//! … did you mean `protocol`?", "`windoze` is not a valid value for `platform`", "port 70000 is out of
//! range", with the field's documentation as help where the schema has it.

use serde_json::Value;

use super::Problem;
use super::source_map::{SourceMap, join, pointer_to_path};
use super::suggest::did_you_mean;

/// A JSON Schema of a file preflight reads, with its compiled validator.
#[derive(Debug)]
pub struct Schema {
    what: &'static str,
    value: Value,
    validator: Option<jsonschema::Validator>,
}

impl Schema {
    /// Compiles `text` (a committed schema); `what` names the file kind in messages.
    pub fn new(what: &'static str, text: &str) -> Self {
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Bool(false));
        let validator = jsonschema::validator_for(&value).ok();
        Schema {
            what,
            value,
            validator,
        }
    }

    /// What kind of file the schema describes (`manifest`, `policy`).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Validates a document and turns each error into a located [`Problem`], with "did you mean" for
    /// unknown fields and values. One problem per place and message, in file order.
    pub fn validate(&self, value: &Value, map: &SourceMap) -> Vec<Problem> {
        let Some(validator) = &self.validator else {
            return vec![Problem {
                message: format!(
                    "internal error: the built-in {} schema does not compile",
                    self.what
                ),
                span: None,
                label: String::new(),
                help: None,
                related: Vec::new(),
                path: None,
            }];
        };
        let mut problems: Vec<(String, Problem)> = Vec::new();
        for err in validator.iter_errors(value) {
            let path = pointer_to_path(err.instance_path().as_str());
            for (p, problem) in schema_problem(&self.value, &err, &path, value, map) {
                problems.push((p, problem));
            }
        }
        problems.sort_by_key(|(_, p)| (p.span, p.message.clone()));
        problems.dedup_by(|a, b| a.1.span == b.1.span && a.1.message == b.1.message);
        problems
            .into_iter()
            .map(|(path, p)| p.at_path(path))
            .collect()
    }
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn schema_problem(
    schema: &Value,
    err: &jsonschema::ValidationError<'_>,
    path: &str,
    root: &Value,
    map: &SourceMap,
) -> Vec<(String, Problem)> {
    use jsonschema::error::ValidationErrorKind as K;
    let here = map.span(path);
    let node = schema_node(schema, root, path);
    let description = node
        .and_then(|n| n.get("description"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let instance = err.instance();
    let is_port = path.ends_with(".port")
        || path.split('.').nth(2) == Some("ports") && path.split('.').count() == 4;
    let one = |p: Problem| vec![(path.to_owned(), p)];
    match err.kind() {
        K::AdditionalProperties { unexpected } => {
            let expected = node.map(property_names).unwrap_or_default();
            unexpected
                .iter()
                .map(|key| {
                    let key_path = join(path, key);
                    let span = map.key_span(&key_path).unwrap_or(here);
                    let where_ = if path.is_empty() { "at the top level".to_owned() } else { format!("in `{path}`") };
                    let mut help = match did_you_mean(key, expected.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`? "),
                        None => String::new(),
                    };
                    help.push_str(&format!("expected one of: {}", expected.join(", ")));
                    (key_path, Problem::at(span, format!("unknown field `{key}` {where_}"), "unknown field").help(help))
                })
                .collect()
        }
        K::Required { property } => {
            let prop = property.as_str().unwrap_or_default();
            let where_ = if path.is_empty() { "at the top level".to_owned() } else { format!("in `{path}`") };
            let help = schema_node(schema, root, &join(path, prop))
                .and_then(|n| n.get("description"))
                .and_then(Value::as_str)
                .map(|d| format!("add `{prop}:` — {d}"))
                .unwrap_or_else(|| format!("add `{prop}:`"));
            one(Problem::at(here, format!("missing field `{prop}` {where_}"), format!("`{prop}` missing here")).help(help))
        }
        K::Enum { .. } | K::OneOfNotValid { .. } | K::AnyOf { .. } if !node.map(enum_options).unwrap_or_default().is_empty() => {
            let opts = node.map(enum_options).unwrap_or_default();
            let got = instance.as_str().map_or_else(|| shown(instance), str::to_owned);
            let mut help = match did_you_mean(&got, opts.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            help.push_str(&format!("expected one of: {}", opts.join(", ")));
            one(Problem::at(here, format!("`{got}` is not a valid value for `{}`", last(path)), "unknown value").help(help))
        }
        K::Maximum { .. } | K::Minimum { .. } if is_port => one(
            Problem::at(here, format!("port {} is out of range: ports are 1-65535", shown(instance)), "out of range")
                .help("use a port number from 1 to 65535"),
        ),
        K::Pattern { .. } if is_port => one(
            Problem::at(here, format!("{} is not a port number", shown(instance)), "not a port")
                .help("use a number from 1 to 65535, or a `${VAR}` / `${VAR:-default}` reference"),
        ),
        K::Type { .. } if is_port => one(
            Problem::at(here, format!("{} is not a port number", shown(instance)), "not a port")
                .help("use a number from 1 to 65535, or a `${VAR}` / `${VAR:-default}` reference"),
        ),
        K::PropertyNames { error } => {
            let key = error.instance().as_str().unwrap_or_default().to_owned();
            let key_path = join(path, &key);
            let span = map.key_span(&key_path).unwrap_or(here);
            let what = match path {
                "services" => "a service name: use a lowercase DNS label (a-z, 0-9, `-`, at most 63, not starting or ending with `-`)",
                "environment" => "a variable name: use letters, digits and `_`, not starting with a digit",
                "port_plan" => "a team name: use letters, digits, `-` and `_`",
                _ if path.ends_with(".ports") => "a port name: use at most 15 of a-z, 0-9 and `-` (IANA service-name rules)",
                _ => "a valid name here",
            };
            vec![(key_path, Problem::at(span, format!("`{key}` is not {}", what.split(':').next().unwrap_or(what)), "invalid name").help(what.to_owned()))]
        }
        K::Type { .. } if path.is_empty() && instance.is_null() => one(
            Problem::at(here, "the manifest is empty", "empty")
                .help("a manifest needs at least `version: 1`, `target:` and `services:`; see examples/deploy.yaml"),
        ),
        K::Type { .. } => {
            let expected: Vec<&str> = match node.and_then(|n| n.get("type")) {
                Some(Value::String(t)) => vec![yaml_type(t)],
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(yaml_type).collect(),
                _ => Vec::new(),
            };
            let found = match &**instance {
                Value::Null => "nothing (null)",
                Value::Bool(_) => "a boolean",
                Value::Number(n) if n.is_f64() => "a fractional number",
                Value::Number(_) => "a whole number",
                Value::String(_) => "a string",
                Value::Array(_) => "a sequence",
                Value::Object(_) => "a mapping",
            };
            let what = if path.is_empty() { "the manifest".to_owned() } else { format!("`{}`", last(path)) };
            let mut p = Problem::at(here, format!("{what} must be {}, found {found}", expected.join(" or ")), "wrong type");
            if let Some(d) = description {
                p = p.help(d);
            }
            one(p)
        }
        K::Maximum { .. } | K::Minimum { .. } if path == "version" => one(
            Problem::at(here, format!("manifest version {} is not supported", shown(instance)), "unsupported version")
                .help("this preflight reads `version: 1`; upgrade preflight for newer manifests"),
        ),
        _ => {
            let mut p = Problem::at(here, format!("{} (at `{}`)", err, if path.is_empty() { "top level" } else { path }), "invalid value");
            if let Some(d) = description {
                p = p.help(format!("`{}`: {d}", last(path)));
            }
            one(p)
        }
    }
}

/// JSON Schema type names in the words of YAML.
fn yaml_type(t: &str) -> &'static str {
    match t {
        "object" => "a mapping",
        "array" => "a sequence",
        "string" => "a string",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        _ => "a value of another type",
    }
}

fn last(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// The schema node that describes the instance at `path` (following `$ref`, `if/then/else` and
/// `additionalProperties`), to read its `properties` and `description`.
fn schema_node<'a>(root: &'a Value, instance: &Value, path: &str) -> Option<&'a Value> {
    let deref = |mut n: &'a Value, inst: Option<&Value>| -> Option<&'a Value> {
        for _ in 0..16 {
            if let Some(r) = n.get("$ref").and_then(Value::as_str) {
                n = root.pointer(r.strip_prefix('#')?)?;
            } else if n.get("if").is_some() {
                let is_obj = inst.is_some_and(Value::is_object);
                n = n.get(if is_obj { "then" } else { "else" })?;
            } else {
                return Some(n);
            }
        }
        None
    };
    let mut inst = Some(instance);
    let mut node = deref(root, inst)?;
    if path.is_empty() {
        return Some(node);
    }
    for seg in path.split('.') {
        inst = inst.and_then(|i| match i {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|n| a.get(n)),
            _ => None,
        });
        let next = node
            .get("properties")
            .and_then(|p| p.get(seg))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
            .or_else(|| node.get("items"))?;
        node = deref(next, inst)?;
    }
    Some(node)
}

/// The allowed values of an enumeration: `enum`, or `oneOf`/`anyOf` of `const`s (how schemars writes an
/// enum whose variants have docs).
fn enum_options(node: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    if let Some(e) = node.get("enum").and_then(Value::as_array) {
        return e.iter().map(text).collect();
    }
    ["oneOf", "anyOf"]
        .iter()
        .filter_map(|k| node.get(*k).and_then(Value::as_array))
        .flat_map(|alts| alts.iter().filter_map(|a| a.get("const").map(text)))
        .collect()
}

fn property_names(node: &Value) -> Vec<String> {
    node.get("properties")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}
