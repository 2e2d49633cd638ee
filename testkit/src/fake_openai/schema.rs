//! The strict-mode (Structured Outputs) check of a function tool's `parameters` schema.
//!
//! Owns the subset of JSON Schema the real API accepts when a tool says `strict: true`: the
//! root is `type: "object"`; every object has `additionalProperties: false` and lists every
//! property in `required`; every subschema has a `type` (or is an `anyOf`/`$ref`/`enum`/
//! `const`); only supported keywords appear. Does not check limits on nesting depth or
//! property counts, and accepts any `format` string.

use serde_json::{Map, Value};

/// Keywords accepted in a strict schema node.
const SUPPORTED_KEYWORDS: &[&str] = &[
    "type",
    "description",
    "title",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "definitions",
    "pattern",
    "format",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "minItems",
    "maxItems",
];

const SUPPORTED_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// Checks `schema` against the strict-mode rules. The error text is what follows
/// `Invalid schema for function '<name>': ` in the real API's message.
pub(crate) fn check_strict(schema: &Value) -> Result<(), String> {
    let Some(root) = schema.as_object() else {
        return Err("schema must be a JSON object.".to_owned());
    };
    if root.contains_key("anyOf") {
        return Err(
            "In context=(), 'anyOf' is not permitted at the root of the schema; the root must \
             be of type 'object'."
                .to_owned(),
        );
    }
    match root.get("type") {
        Some(Value::String(t)) if t == "object" => {}
        Some(other) => {
            return Err(format!(
                "schema must be a JSON Schema of 'type: \"object\"', got 'type: {other}'."
            ));
        }
        None => {
            return Err("schema must be a JSON Schema of 'type: \"object\"', got no type.".into());
        }
    }
    let mut path = Vec::new();
    check_node(root, &mut path, true)
}

fn context(path: &[String]) -> String {
    match path {
        [] => "()".to_owned(),
        [one] => format!("('{one}',)"),
        many => format!(
            "({})",
            many.iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn check_node(node: &Map<String, Value>, path: &mut Vec<String>, root: bool) -> Result<(), String> {
    for key in node.keys() {
        let allowed = SUPPORTED_KEYWORDS.contains(&key.as_str()) || (root && key == "$schema");
        if !allowed {
            return Err(format!(
                "In context={}, '{key}' is not permitted.",
                context(path)
            ));
        }
    }

    let types = declared_types(node, path)?;
    let typed_by_other_means = ["anyOf", "$ref", "enum", "const"]
        .iter()
        .any(|k| node.contains_key(*k));
    if types.is_empty() && !typed_by_other_means {
        return Err(format!(
            "In context={}, schema must have a 'type' key.",
            context(path)
        ));
    }

    if types.iter().any(|t| t == "object") || node.contains_key("properties") {
        check_object(node, path)?;
    }

    if let Some(items) = node.get("items") {
        path.push("items".to_owned());
        check_subschema(items, path)?;
        path.pop();
    }

    if let Some(any_of) = node.get("anyOf") {
        let Some(variants) = any_of.as_array() else {
            return Err(format!(
                "In context={}, 'anyOf' must be an array.",
                context(path)
            ));
        };
        for (i, variant) in variants.iter().enumerate() {
            path.push("anyOf".to_owned());
            path.push(i.to_string());
            check_subschema(variant, path)?;
            path.truncate(path.len() - 2);
        }
    }

    for defs_key in ["$defs", "definitions"] {
        if let Some(defs) = node.get(defs_key) {
            let Some(defs) = defs.as_object() else {
                return Err(format!(
                    "In context={}, '{defs_key}' must be an object.",
                    context(path)
                ));
            };
            for (name, def) in defs {
                path.push(defs_key.to_owned());
                path.push(name.clone());
                check_subschema(def, path)?;
                path.truncate(path.len() - 2);
            }
        }
    }
    Ok(())
}

fn check_subschema(schema: &Value, path: &mut Vec<String>) -> Result<(), String> {
    match schema.as_object() {
        Some(node) => check_node(node, path, false),
        None => Err(format!(
            "In context={}, schema must be a JSON object.",
            context(path)
        )),
    }
}

fn declared_types(node: &Map<String, Value>, path: &[String]) -> Result<Vec<String>, String> {
    let names: Vec<String> = match node.get("type") {
        None => return Ok(Vec::new()),
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .map(|t| t.as_str().map(str::to_owned).unwrap_or_default())
            .collect(),
        Some(other) => {
            return Err(format!(
                "In context={}, 'type' must be a string or an array of strings, got {other}.",
                context(path)
            ));
        }
    };
    for name in &names {
        if !SUPPORTED_TYPES.contains(&name.as_str()) {
            return Err(format!(
                "In context={}, type '{name}' is not supported.",
                context(path)
            ));
        }
    }
    Ok(names)
}

fn check_object(node: &Map<String, Value>, path: &mut Vec<String>) -> Result<(), String> {
    if node.get("additionalProperties") != Some(&Value::Bool(false)) {
        return Err(format!(
            "In context={}, 'additionalProperties' is required to be supplied and to be false.",
            context(path)
        ));
    }
    let empty = Map::new();
    let properties = match node.get("properties") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(format!(
                "In context={}, 'properties' must be an object.",
                context(path)
            ));
        }
    };
    let required: Vec<&str> = match node.get("required") {
        None => Vec::new(),
        Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
        Some(_) => {
            return Err(format!(
                "In context={}, 'required' is required to be supplied and to be an array \
                 including every key in properties.",
                context(path)
            ));
        }
    };
    for key in properties.keys() {
        if !required.contains(&key.as_str()) {
            return Err(format!(
                "In context={}, 'required' is required to be supplied and to be an array \
                 including every key in properties. Missing '{key}'.",
                context(path)
            ));
        }
    }
    for key in &required {
        if !properties.contains_key(*key) {
            return Err(format!(
                "In context={}, Extra required key '{key}' supplied.",
                context(path)
            ));
        }
    }
    for (name, sub) in properties {
        path.push("properties".to_owned());
        path.push(name.clone());
        check_subschema(sub, path)?;
        path.truncate(path.len() - 2);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_a_compliant_nested_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "user": {"type": "string", "description": "login"},
                "ttl": {"type": ["integer", "null"], "minimum": 0},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                "target": {"$ref": "#/$defs/target"}
            },
            "required": ["user", "ttl", "tags", "target"],
            "additionalProperties": false,
            "$defs": {
                "target": {
                    "type": "object",
                    "properties": {"env": {"type": "string"}},
                    "required": ["env"],
                    "additionalProperties": false
                }
            }
        });
        assert_eq!(check_strict(&schema), Ok(()));
    }

    #[test]
    fn names_the_missing_required_key_and_its_context() {
        let schema = json!({
            "type": "object",
            "properties": {"inner": {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "required": ["a"],
                "additionalProperties": false
            }},
            "required": ["inner"],
            "additionalProperties": false
        });
        let err = check_strict(&schema).unwrap_err();
        assert!(err.contains("context=('properties', 'inner')"), "{err}");
        assert!(err.contains("Missing 'b'"), "{err}");
    }

    #[test]
    fn rejects_unsupported_keywords_and_open_objects() {
        let with_default = json!({
            "type": "object",
            "properties": {"a": {"type": "string", "default": "x"}},
            "required": ["a"],
            "additionalProperties": false
        });
        assert!(
            check_strict(&with_default)
                .unwrap_err()
                .contains("'default' is not permitted")
        );

        let open = json!({"type": "object", "properties": {}, "required": []});
        assert!(
            check_strict(&open)
                .unwrap_err()
                .contains("additionalProperties")
        );

        let untyped = json!({
            "type": "object",
            "properties": {"a": {"description": "no type"}},
            "required": ["a"],
            "additionalProperties": false
        });
        assert!(
            check_strict(&untyped)
                .unwrap_err()
                .contains("must have a 'type' key")
        );

        let not_object_root = json!({"type": "string"});
        assert!(
            check_strict(&not_object_root)
                .unwrap_err()
                .contains("type: \"object\"")
        );
    }
}
