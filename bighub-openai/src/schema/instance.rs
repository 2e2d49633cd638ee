//! Whether a JSON value fits a strict schema, structurally: types, `enum`, `const`, object
//! keys and required properties, items, `anyOf` and `$ref`.
//!
//! The reshaper uses it to tell which `anyOf` branch the model's value took. It ignores
//! `pattern`, `format` and numeric bounds: those never decide between branches of the
//! schemas the normaliser makes, and the tool's deserializer checks the value anyway.

use serde_json::Value;

use super::pointer::{kind_of, resolve_ref};

/// Guards against `$ref` cycles that consume no part of the value (`A -> A`).
const MAX_REF_HOPS: usize = 64;

/// Where a value first departs from its schema, and what the schema expected there. It
/// names places and types, never the value (which may be a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Misfit {
    /// A JSON pointer to the place (`/duration`, `/members/2`; empty for the whole value).
    pub(crate) path: String,
    /// What was expected there.
    pub(crate) expected: String,
}

impl std::fmt::Display for Misfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Property names come from the schema's author; whoever prints this escapes it.
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "at {path}: {}", self.expected)
    }
}

/// Whether `value` fits `schema` (a node of the strict schema `root`).
pub(crate) fn fits(root: &Value, schema: &Value, value: &Value) -> bool {
    misfit(root, schema, value).is_none()
}

/// Where `value` first departs from `schema` (a node of the strict schema `root`), if it
/// does.
pub(crate) fn misfit(root: &Value, schema: &Value, value: &Value) -> Option<Misfit> {
    misfit_at(root, schema, value, 0, "")
}

fn at(path: &str, expected: impl Into<String>) -> Option<Misfit> {
    Some(Misfit {
        path: path.to_owned(),
        expected: expected.into(),
    })
}

/// `key` appended to the JSON pointer `path` (`~` and `/` escaped as RFC 6901 says).
fn child(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn misfit_at(
    root: &Value,
    schema: &Value,
    value: &Value,
    hops: usize,
    path: &str,
) -> Option<Misfit> {
    if hops > MAX_REF_HOPS {
        return at(path, "a schema that does not refer to itself without end");
    }
    let Value::Object(map) = schema else {
        return if schema.as_bool().unwrap_or(false) {
            None
        } else {
            at(path, "nothing (the schema accepts no value here)")
        };
    };
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        return match resolve_ref(root, reference) {
            Some((target, _)) => misfit_at(root, target, value, hops + 1, path),
            None => at(path, "a value of a schema that cannot be resolved"),
        };
    }
    if let Some(Value::Array(branches)) = map.get("anyOf")
        && !branches
            .iter()
            .any(|b| misfit_at(root, b, value, hops + 1, path).is_none())
    {
        let kinds: Vec<String> = branches.iter().filter_map(|b| type_name(root, b)).collect();
        return at(
            path,
            if kinds.is_empty() {
                "one of the schema's alternatives".to_owned()
            } else {
                format!("one of: {}", kinds.join(", "))
            },
        );
    }
    if map.get("const").is_some_and(|c| c != value) {
        return at(path, "the one value the schema allows");
    }
    if let Some(Value::Array(values)) = map.get("enum")
        && !values.contains(value)
    {
        return at(path, "one of the values the schema lists");
    }
    if let Some(types) = map.get("type")
        && !type_matches(types, value)
    {
        return at(
            path,
            format!("{}, not {}", types_text(types), kind_of(value)),
        );
    }
    match value {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                let closed = map.get("additionalProperties") == Some(&Value::Bool(false));
                if closed && let Some(extra) = object.keys().find(|k| !properties.contains_key(*k))
                {
                    return at(&child(path, extra), "no such property");
                }
                if let Some(Value::Array(required)) = map.get("required")
                    && let Some(missing) = required
                        .iter()
                        .filter_map(Value::as_str)
                        .find(|r| !object.contains_key(*r))
                {
                    let nullable = properties
                        .get(missing)
                        .is_some_and(|s| misfit_at(root, s, &Value::Null, 0, "").is_none());
                    return at(
                        &child(path, missing),
                        if nullable {
                            "a value, or null when there is none (strict mode sends every property)"
                        } else {
                            "a value (the property is required)"
                        },
                    );
                }
                return object.iter().find_map(|(key, item)| {
                    properties
                        .get(key)
                        .and_then(|s| misfit_at(root, s, item, 0, &child(path, key)))
                });
            }
            None
        }
        Value::Array(items) => match map.get("items") {
            Some(item_schema) => items.iter().enumerate().find_map(|(i, item)| {
                misfit_at(root, item_schema, item, 0, &format!("{path}/{i}"))
            }),
            None => None,
        },
        _ => None,
    }
}

/// The type a schema node names, for a message (`string`, `null`, ...).
fn type_name(root: &Value, schema: &Value) -> Option<String> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            resolve_ref(root, reference).and_then(|(t, _)| t.get("type").map(types_text))
        }
        None => schema.get("type").map(types_text),
    }
}

fn types_text(types: &Value) -> String {
    match types {
        Value::String(name) => name.clone(),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".to_owned(),
    }
}

fn type_matches(types: &Value, value: &Value) -> bool {
    let one = |name: &str| match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => false,
    };
    match types {
        Value::String(name) => one(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(one),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picks_branches_structurally() {
        let root = json!({
            "$defs": {"One": {"type": "object", "properties": {"kind": {"const": "one"}}, "required": ["kind"], "additionalProperties": false}},
            "anyOf": [{"$ref": "#/$defs/One"}, {"type": "null"}]
        });
        assert!(fits(&root, &root, &json!({"kind": "one"})));
        assert!(fits(&root, &root, &Value::Null));
        assert!(!fits(&root, &root, &json!({"kind": "two"})));
        assert!(!fits(&root, &root, &json!({"kind": "one", "extra": 1})));
        assert!(!fits(&root, &root, &json!({})));
    }

    #[test]
    fn a_misfit_names_the_place_and_the_expectation_never_the_value() {
        let root = json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "tail": {"type": ["integer", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["path", "tail", "tags"],
            "additionalProperties": false
        });
        let misfit = |v: Value| misfit(&root, &root, &v).map(|m| m.to_string());
        assert_eq!(
            misfit(json!({"path": "/etc", "tags": []})).unwrap(),
            "at /tail: a value, or null when there is none (strict mode sends every property)"
        );
        assert_eq!(
            misfit(json!({"path": 7, "tail": null, "tags": []})).unwrap(),
            "at /path: string, not a number"
        );
        assert_eq!(
            misfit(json!({"path": "x", "tail": null, "tags": ["a", 2]})).unwrap(),
            "at /tags/1: string, not a number"
        );
        assert_eq!(
            misfit(json!({"path": "x", "tail": null, "tags": [], "secret\nX": "hunter2"})).unwrap(),
            "at /secret\nX: no such property"
        );
        assert!(
            !misfit(json!({"path": "x", "tail": "hunter2", "tags": []}))
                .unwrap()
                .contains("hunter2")
        );
        assert_eq!(misfit(json!({"path": "x", "tail": 3, "tags": []})), None);
    }

    #[test]
    fn integers_and_cycles() {
        let root = json!({"$defs": {"A": {"$ref": "#/$defs/A"}}});
        assert!(!fits(&root, &json!({"$ref": "#/$defs/A"}), &json!(1)));
        assert!(fits(&root, &json!({"type": "integer"}), &json!(3.0)));
        assert!(!fits(&root, &json!({"type": "integer"}), &json!(3.5)));
        assert!(fits(
            &root,
            &json!({"type": ["string", "null"]}),
            &Value::Null
        ));
    }
}
