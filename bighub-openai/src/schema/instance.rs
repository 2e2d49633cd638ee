//! Whether a JSON value fits a strict schema, structurally: types, `enum`, `const`, object
//! keys and required properties, items, `anyOf` and `$ref`.
//!
//! The reshaper uses it to tell which `anyOf` branch the model's value took. It ignores
//! `pattern`, `format` and numeric bounds: those never decide between branches of the
//! schemas the normaliser makes, and the tool's deserializer checks the value anyway.

use serde_json::Value;

use super::pointer::resolve_ref;

/// Guards against `$ref` cycles that consume no part of the value (`A -> A`).
const MAX_REF_HOPS: usize = 64;

/// Whether `value` fits `schema` (a node of the strict schema `root`).
pub(crate) fn fits(root: &Value, schema: &Value, value: &Value) -> bool {
    fits_at(root, schema, value, 0)
}

fn fits_at(root: &Value, schema: &Value, value: &Value, hops: usize) -> bool {
    if hops > MAX_REF_HOPS {
        return false;
    }
    let Value::Object(map) = schema else {
        return schema.as_bool().unwrap_or(false);
    };
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        return resolve_ref(root, reference)
            .is_some_and(|(target, _)| fits_at(root, target, value, hops + 1));
    }
    if let Some(Value::Array(branches)) = map.get("anyOf")
        && !branches.iter().any(|b| fits_at(root, b, value, hops + 1))
    {
        return false;
    }
    if map.get("const").is_some_and(|c| c != value) {
        return false;
    }
    if let Some(Value::Array(values)) = map.get("enum")
        && !values.contains(value)
    {
        return false;
    }
    if let Some(types) = map.get("type")
        && !type_matches(types, value)
    {
        return false;
    }
    match value {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                let closed = map.get("additionalProperties") == Some(&Value::Bool(false));
                if closed && object.keys().any(|k| !properties.contains_key(k)) {
                    return false;
                }
                if let Some(Value::Array(required)) = map.get("required")
                    && required
                        .iter()
                        .filter_map(Value::as_str)
                        .any(|r| !object.contains_key(r))
                {
                    return false;
                }
                return object.iter().all(|(key, item)| {
                    properties
                        .get(key)
                        .is_none_or(|s| fits_at(root, s, item, 0))
                });
            }
            true
        }
        Value::Array(items) => match map.get("items") {
            Some(item_schema) => items.iter().all(|item| fits_at(root, item_schema, item, 0)),
            None => true,
        },
        _ => true,
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
