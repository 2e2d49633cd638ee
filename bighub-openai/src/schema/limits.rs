//! The size limits of strict mode: total properties, nesting depth, enum values and the
//! characters of names and values. Run by the validator after the structural rules.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::error::SchemaError;
use super::pointer::{push, resolve_ref};
use super::rules::{
    LARGE_ENUM_VALUES, MAX_ENUM_VALUES, MAX_LARGE_ENUM_STRING_LENGTH, MAX_NESTING_DEPTH,
    MAX_OBJECT_PROPERTIES, MAX_TOTAL_STRING_LENGTH,
};

/// Checks every size limit of a structurally valid strict schema.
pub(crate) fn check(root: &Value) -> Result<(), SchemaError> {
    let mut totals = Totals::default();
    totals.visit(root, "")?;
    if totals.properties > MAX_OBJECT_PROPERTIES {
        return Err(SchemaError::TooManyProperties {
            count: totals.properties,
            limit: MAX_OBJECT_PROPERTIES,
        });
    }
    if totals.enum_values > MAX_ENUM_VALUES {
        return Err(SchemaError::TooManyEnumValues {
            count: totals.enum_values,
            limit: MAX_ENUM_VALUES,
        });
    }
    if totals.chars > MAX_TOTAL_STRING_LENGTH {
        return Err(SchemaError::TooManyCharacters {
            count: totals.chars,
            limit: MAX_TOTAL_STRING_LENGTH,
        });
    }
    Depth {
        root,
        active_refs: HashSet::new(),
    }
    .visit(root, "", 0)
}

/// The subschemas directly below a node, with their pointers.
pub(crate) fn children<'a>(map: &'a Map<String, Value>, path: &str) -> Vec<(String, &'a Value)> {
    let mut out = Vec::new();
    for keyword in ["properties", "$defs", "definitions"] {
        if let Some(Value::Object(entries)) = map.get(keyword) {
            let base = push(path, keyword);
            out.extend(entries.iter().map(|(name, s)| (push(&base, name), s)));
        }
    }
    if let Some(Value::Array(branches)) = map.get("anyOf") {
        let base = push(path, "anyOf");
        out.extend(
            branches
                .iter()
                .enumerate()
                .map(|(i, s)| (push(&base, &i.to_string()), s)),
        );
    }
    for keyword in ["items", "additionalProperties"] {
        if let Some(schema @ Value::Object(_)) = map.get(keyword) {
            out.push((push(path, keyword), schema));
        }
    }
    out
}

#[derive(Default)]
struct Totals {
    properties: usize,
    enum_values: usize,
    chars: usize,
}

impl Totals {
    fn visit(&mut self, node: &Value, path: &str) -> Result<(), SchemaError> {
        let Value::Object(map) = node else {
            return Ok(());
        };
        if let Some(Value::Object(properties)) = map.get("properties") {
            self.properties += properties.len();
            self.chars += properties.keys().map(|k| k.chars().count()).sum::<usize>();
        }
        for keyword in ["$defs", "definitions"] {
            if let Some(Value::Object(defs)) = map.get(keyword) {
                self.chars += defs.keys().map(|k| k.chars().count()).sum::<usize>();
            }
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            self.enum_values += values.len();
            let chars: usize = values.iter().map(string_len).sum();
            self.chars += chars;
            if values.len() > LARGE_ENUM_VALUES && chars > MAX_LARGE_ENUM_STRING_LENGTH {
                return Err(SchemaError::LargeEnumTooLong {
                    path: path.to_owned(),
                    chars,
                    limit: MAX_LARGE_ENUM_STRING_LENGTH,
                });
            }
        }
        if let Some(value) = map.get("const") {
            self.chars += string_len(value);
        }
        for (child_path, child) in children(map, path) {
            self.visit(child, &child_path)?;
        }
        Ok(())
    }
}

fn string_len(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// Object nesting, following `$ref`s except back into a definition already being visited
/// (recursion is allowed; its depth is the model's business, not the schema's).
struct Depth<'a> {
    root: &'a Value,
    active_refs: HashSet<String>,
}

impl Depth<'_> {
    fn visit(&mut self, node: &Value, path: &str, depth: usize) -> Result<(), SchemaError> {
        let Value::Object(map) = node else {
            return Ok(());
        };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            let Some((target, target_path)) = resolve_ref(self.root, reference) else {
                return Ok(());
            };
            if target_path.is_empty() || !self.active_refs.insert(target_path.clone()) {
                return Ok(());
            }
            let result = self.visit(target, &target_path, depth);
            self.active_refs.remove(&target_path);
            return result;
        }
        let depth = if map.contains_key("properties") {
            depth + 1
        } else {
            depth
        };
        if depth > MAX_NESTING_DEPTH {
            return Err(SchemaError::TooDeep {
                path: path.to_owned(),
                depth,
                limit: MAX_NESTING_DEPTH,
            });
        }
        for (child_path, child) in children(map, path) {
            // Definitions are measured where they are used, not where they are declared.
            if child_path.starts_with("/$defs/") && path.is_empty()
                || child_path.starts_with("/definitions/") && path.is_empty()
            {
                continue;
            }
            self.visit(child, &child_path, depth)?;
        }
        Ok(())
    }
}
