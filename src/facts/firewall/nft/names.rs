//! How the reader names nft objects: a chain by family, table and name, and a string field.

use serde_json::Value;

/// The key of a chain: `FAMILY TABLE CHAIN`.
pub(super) fn key(family: &str, table: &str, chain: &str) -> String {
    format!("{family} {table} {chain}")
}

/// A string field of an nft object, empty when absent.
pub(super) fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}
