//! The strict-mode validator: checks any JSON schema (generated or written by hand) against
//! the OpenAI strict-mode rules and names the first offending node.
//!
//! It never changes a schema; making a generated schema strict is `strict.rs`'s job. Size
//! limits are checked by `limits.rs`.

use serde_json::{Map, Value};

use super::error::SchemaError;
use super::pointer::{kind_of, push, resolve_ref};
use super::{limits, rules};

const KNOWN_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// Checks that `schema` is accepted by OpenAI strict mode.
///
/// The rules: the root is an object schema; every object has `"additionalProperties": false`
/// and lists every property in `required` (optional values are required and nullable); only
/// supported keywords and formats appear; every `$ref` resolves locally and stands alone;
/// `$defs` sit at the root; and the size limits of [`rules`](super::rules) hold.
///
/// ```
/// use bighub_openai::schema::validate_strict;
/// use serde_json::json;
///
/// let schema = json!({
///     "type": "object",
///     "properties": {
///         "group": {"type": "string"},
///         "tags": {"type": "array", "items": {"type": "string"}}
///     },
///     "required": ["group"],
///     "additionalProperties": false
/// });
/// let err = validate_strict(&schema).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "(root): property \"tags\" is not listed in \"required\"; make it required and nullable (for example \"type\": [\"string\", \"null\"])"
/// );
/// ```
pub fn validate_strict(schema: &Value) -> Result<(), SchemaError> {
    check_root(schema)?;
    Validator { root: schema }.node(schema, "", true)?;
    limits::check(schema)
}

fn check_root(schema: &Value) -> Result<(), SchemaError> {
    let found = match schema {
        Value::Object(map) => {
            if map.contains_key("$ref") {
                "a \"$ref\"".to_owned()
            } else if map.contains_key("anyOf") || map.contains_key("oneOf") {
                "a union (\"anyOf\"/\"oneOf\")".to_owned()
            } else {
                match map.get("type") {
                    Some(Value::String(t)) if t == "object" => return Ok(()),
                    Some(t) => format!("\"type\": {t}"),
                    None => "a schema without \"type\"".to_owned(),
                }
            }
        }
        other => kind_of(other).to_owned(),
    };
    Err(SchemaError::RootNotObject { found })
}

struct Validator<'a> {
    root: &'a Value,
}

impl Validator<'_> {
    fn node(&self, node: &Value, path: &str, is_root: bool) -> Result<(), SchemaError> {
        let map = match node {
            Value::Object(map) => map,
            Value::Bool(value) => {
                return Err(SchemaError::BooleanSchema {
                    path: path.to_owned(),
                    value: *value,
                });
            }
            other => {
                return Err(SchemaError::NotASchema {
                    path: path.to_owned(),
                    found: kind_of(other).to_owned(),
                });
            }
        };

        if let Some(keyword) = map
            .keys()
            .find(|k| !rules::SUPPORTED_KEYWORDS.contains(&k.as_str()))
        {
            return Err(SchemaError::UnsupportedKeyword {
                path: path.to_owned(),
                keyword: keyword.clone(),
            });
        }

        self.definitions(map, path, is_root)?;

        if let Some(reference) = map.get("$ref") {
            return self.reference(map, reference, path);
        }

        let types = types_of(map, path)?;
        if types.is_empty()
            && !map.contains_key("anyOf")
            && !map.contains_key("enum")
            && !map.contains_key("const")
        {
            return Err(SchemaError::Untyped {
                path: path.to_owned(),
            });
        }

        check_scalar_keywords(map, path)?;

        if let Some(branches) = map.get("anyOf") {
            let branches = branches
                .as_array()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| invalid(path, "anyOf", "a non-empty array of schemas"))?;
            let any_of = push(path, "anyOf");
            for (i, branch) in branches.iter().enumerate() {
                self.node(branch, &push(&any_of, &i.to_string()), false)?;
            }
        }

        let is_object = types.contains(&"object")
            || ["properties", "additionalProperties", "required"]
                .iter()
                .any(|k| map.contains_key(*k));
        if is_object {
            self.object(map, path)?;
        }

        if types.contains(&"array") || map.contains_key("items") {
            match map.get("items") {
                None => {
                    return Err(SchemaError::ArrayWithoutItems {
                        path: path.to_owned(),
                    });
                }
                Some(Value::Array(_)) => {
                    return Err(invalid(
                        path,
                        "items",
                        "a single schema (tuples are not supported in strict mode)",
                    ));
                }
                Some(items) => self.node(items, &push(path, "items"), false)?,
            }
        }
        Ok(())
    }

    fn definitions(
        &self,
        map: &Map<String, Value>,
        path: &str,
        is_root: bool,
    ) -> Result<(), SchemaError> {
        for keyword in ["$defs", "definitions"] {
            let Some(defs) = map.get(keyword) else {
                continue;
            };
            if !is_root {
                return Err(SchemaError::MisplacedDefinitions {
                    path: path.to_owned(),
                    keyword: keyword.to_owned(),
                });
            }
            let defs = defs
                .as_object()
                .ok_or_else(|| invalid(path, keyword, "an object mapping names to schemas"))?;
            let defs_path = push(path, keyword);
            for (name, def) in defs {
                self.node(def, &push(&defs_path, name), false)?;
            }
        }
        Ok(())
    }

    fn reference(
        &self,
        map: &Map<String, Value>,
        reference: &Value,
        path: &str,
    ) -> Result<(), SchemaError> {
        let reference = reference
            .as_str()
            .ok_or_else(|| invalid(path, "$ref", "a string"))?;
        let siblings: Vec<String> = map.keys().filter(|k| *k != "$ref").cloned().collect();
        if !siblings.is_empty() {
            return Err(SchemaError::RefWithSiblings {
                path: path.to_owned(),
                keywords: siblings,
            });
        }
        match resolve_ref(self.root, reference) {
            // The target is validated where it is defined (or is the root itself).
            Some(_) => Ok(()),
            None => Err(SchemaError::UnresolvableRef {
                path: path.to_owned(),
                reference: reference.to_owned(),
            }),
        }
    }

    fn object(&self, map: &Map<String, Value>, path: &str) -> Result<(), SchemaError> {
        match map.get("additionalProperties") {
            Some(Value::Bool(false)) => {}
            None => {
                return Err(SchemaError::MissingAdditionalProperties {
                    path: path.to_owned(),
                });
            }
            Some(Value::Bool(true)) => {
                return Err(SchemaError::AdditionalPropertiesTrue {
                    path: path.to_owned(),
                });
            }
            Some(Value::Object(_)) => {
                return Err(SchemaError::MapNotSupported {
                    path: path.to_owned(),
                });
            }
            Some(_) => return Err(invalid(path, "additionalProperties", "false")),
        }
        let properties = match map.get("properties") {
            Some(Value::Object(properties)) => properties,
            Some(_) => {
                return Err(invalid(
                    path,
                    "properties",
                    "an object mapping names to schemas",
                ));
            }
            None => {
                return Err(SchemaError::FreeFormObject {
                    path: path.to_owned(),
                });
            }
        };
        let required = required_of(map, path)?;
        if let Some(property) = properties.keys().find(|p| !required.contains(&p.as_str())) {
            return Err(SchemaError::NotRequired {
                path: path.to_owned(),
                property: property.clone(),
            });
        }
        if let Some(property) = required.iter().find(|r| !properties.contains_key(**r)) {
            return Err(SchemaError::UnknownRequired {
                path: path.to_owned(),
                property: (*property).to_owned(),
            });
        }
        let properties_path = push(path, "properties");
        for (name, property) in properties {
            self.node(property, &push(&properties_path, name), false)?;
        }
        Ok(())
    }
}

/// The `type` names of a node (empty when it has none).
pub(crate) fn types_of<'a>(
    map: &'a Map<String, Value>,
    path: &str,
) -> Result<Vec<&'a str>, SchemaError> {
    let names: Vec<&Value> = match map.get("type") {
        None => return Ok(Vec::new()),
        Some(Value::Array(names)) if !names.is_empty() => names.iter().collect(),
        Some(single @ Value::String(_)) => vec![single],
        Some(_) => {
            return Err(invalid(
                path,
                "type",
                "a type name or a non-empty array of type names",
            ));
        }
    };
    names
        .into_iter()
        .map(|name| match name {
            Value::String(name) if KNOWN_TYPES.contains(&name.as_str()) => Ok(name.as_str()),
            other => Err(SchemaError::UnknownType {
                path: path.to_owned(),
                found: other.to_string(),
            }),
        })
        .collect()
}

fn required_of<'a>(map: &'a Map<String, Value>, path: &str) -> Result<Vec<&'a str>, SchemaError> {
    match map.get("required") {
        None => Ok(Vec::new()),
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| {
                n.as_str()
                    .ok_or_else(|| invalid(path, "required", "an array of property names"))
            })
            .collect(),
        Some(_) => Err(invalid(path, "required", "an array of property names")),
    }
}

fn check_scalar_keywords(map: &Map<String, Value>, path: &str) -> Result<(), SchemaError> {
    for keyword in ["description", "title", "pattern"] {
        if map.get(keyword).is_some_and(|v| !v.is_string()) {
            return Err(invalid(path, keyword, "a string"));
        }
    }
    if let Some(format) = map.get("format") {
        let format = format
            .as_str()
            .ok_or_else(|| invalid(path, "format", "a string"))?;
        if !rules::SUPPORTED_FORMATS.contains(&format) {
            return Err(SchemaError::UnsupportedFormat {
                path: path.to_owned(),
                format: format.to_owned(),
            });
        }
    }
    for keyword in [
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ] {
        if map.get(keyword).is_some_and(|v| !v.is_number()) {
            return Err(invalid(path, keyword, "a number"));
        }
    }
    for keyword in ["minItems", "maxItems"] {
        if map.get(keyword).is_some_and(|v| !v.is_u64()) {
            return Err(invalid(path, keyword, "a non-negative integer"));
        }
    }
    if map
        .get("enum")
        .is_some_and(|v| v.as_array().is_none_or(|values| values.is_empty()))
    {
        return Err(invalid(path, "enum", "a non-empty array"));
    }
    Ok(())
}

pub(crate) fn invalid(path: &str, keyword: &str, expected: &'static str) -> SchemaError {
    SchemaError::InvalidKeywordValue {
        path: path.to_owned(),
        keyword: keyword.to_owned(),
        expected,
    }
}
