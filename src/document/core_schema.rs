//! Plain scalars as the YAML 1.2 core schema types them (`off`, `yes` and `0755` stay strings, as
//! serde_yaml and serde-saphyr read them), and the tags that change it.

use serde_json::{Number, Value};

use super::events::ScalarStyle;

/// A plain scalar as the YAML 1.2 core schema reads it; quoted and block scalars are strings.
pub(super) fn scalar(text: String, style: ScalarStyle, str_tag: bool) -> Value {
    if style != ScalarStyle::Plain || str_tag {
        return Value::String(text);
    }
    core_schema(&text).unwrap_or(Value::String(text))
}

/// The null, boolean or number a plain scalar stands for, or `None` when it is text.
fn core_schema(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // `0755` stays text: a leading zero is not a number a manifest means.
        if digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::Number(i.into()));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(Value::Number(u.into()));
        }
        return None;
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(u) = u64::from_str_radix(hex, 16)
    {
        return Some(Value::Number(u.into()));
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(u) = u64::from_str_radix(oct, 8)
    {
        return Some(Value::Number(u.into()));
    }
    let float_like = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if float_like {
        return text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number);
    }
    None
}

/// The local tag's name (`reset` for `!reset`): a tag with the primary handle `!`, which libyaml
/// leaves as written (`!!str` becomes `tag:yaml.org,2002:str`).
pub(super) fn local_tag(tag: &str) -> Option<&str> {
    tag.strip_prefix('!').filter(|t| !t.is_empty())
}

/// Whether a tag makes a scalar text (`!!str`, or `!str` as the parser under serde-saphyr reads it).
pub(super) fn str_tag(tag: &str) -> bool {
    matches!(tag, "tag:yaml.org,2002:str" | "!str")
}
