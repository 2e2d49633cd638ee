//! Reshaping the model's arguments back into what the tool's deserializer expects.
//!
//! Strict mode forces two changes on a generated schema that the tool's types do not know
//! about, so the normaliser records them here, keyed by the JSON pointer of the schema node:
//!
//! - **maps**: strict mode cannot express free-form keys, so a map becomes an array of
//!   `{"key": ..., "value": ...}` entries; the reshaper turns that array back into an object
//!   (a repeated key keeps its last value).
//! - **optional fields**: every property must be required, so a property that was optional
//!   and not nullable (`#[serde(default)] replicas: u32`) becomes required and nullable; the
//!   reshaper removes such a property when the model sends `null`, so the field's default
//!   applies instead of a type error.
//!
//! It owns the plan and its application; deciding what goes into the plan is `strict.rs`'s.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::instance::fits;
use super::pointer::{push, resolve_ref};

/// The argument reshaping a strict schema needs; empty for most schemas.
///
/// Apply it with [`StrictSchema::to_tool_arguments`](super::StrictSchema::to_tool_arguments).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reshape {
    /// Pointers of schema nodes that are maps encoded as entry arrays.
    maps: BTreeSet<String>,
    /// Pointers of object nodes, with the properties to drop when they are `null`.
    drop_null: BTreeMap<String, BTreeSet<String>>,
}

/// Guards against `$ref` cycles that consume no part of the value.
const MAX_REF_HOPS: usize = 64;

impl Reshape {
    /// Whether arguments pass through unchanged.
    pub fn is_identity(&self) -> bool {
        self.maps.is_empty() && self.drop_null.is_empty()
    }

    /// Pointers of the schema nodes encoded as `{"key", "value"}` entry arrays.
    pub fn map_paths(&self) -> impl Iterator<Item = &str> {
        self.maps.iter().map(String::as_str)
    }

    /// Properties of the object at `path` that are removed when the model sends `null`.
    pub fn nulls_dropped_at(&self, path: &str) -> impl Iterator<Item = &str> {
        self.drop_null
            .get(path)
            .into_iter()
            .flat_map(|names| names.iter().map(String::as_str))
    }

    pub(crate) fn add_map(&mut self, path: &str) {
        self.maps.insert(path.to_owned());
    }

    pub(crate) fn add_drop_null(&mut self, object_path: &str, property: &str) {
        self.drop_null
            .entry(object_path.to_owned())
            .or_default()
            .insert(property.to_owned());
    }

    /// Reshapes `value`, an instance of the strict schema `root`.
    pub(crate) fn apply(&self, root: &Value, value: Value) -> Value {
        if self.is_identity() {
            return value;
        }
        self.walk(root, root, "", value, 0)
    }

    fn walk(&self, root: &Value, node: &Value, path: &str, value: Value, hops: usize) -> Value {
        let Value::Object(schema) = node else {
            return value;
        };
        if hops > MAX_REF_HOPS {
            return value;
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            return match resolve_ref(root, reference) {
                Some((target, target_path)) => {
                    self.walk(root, target, &target_path, value, hops + 1)
                }
                None => value,
            };
        }
        if let Some(Value::Array(branches)) = schema.get("anyOf") {
            let any_of = push(path, "anyOf");
            return match branches.iter().position(|b| fits(root, b, &value)) {
                Some(i) => self.walk(
                    root,
                    &branches[i],
                    &push(&any_of, &i.to_string()),
                    value,
                    hops + 1,
                ),
                None => value,
            };
        }
        match value {
            Value::Array(entries) if self.maps.contains(path) => {
                self.map_from_entries(root, schema, path, entries)
            }
            Value::Array(items) => match schema.get("items") {
                Some(item_schema) => {
                    let items_path = push(path, "items");
                    Value::Array(
                        items
                            .into_iter()
                            .map(|item| self.walk(root, item_schema, &items_path, item, 0))
                            .collect(),
                    )
                }
                None => Value::Array(items),
            },
            Value::Object(object) => Value::Object(self.object(root, schema, path, object)),
            other => other,
        }
    }

    fn object(
        &self,
        root: &Value,
        schema: &Map<String, Value>,
        path: &str,
        object: Map<String, Value>,
    ) -> Map<String, Value> {
        let properties = schema.get("properties").and_then(Value::as_object);
        let drop = self.drop_null.get(path);
        let properties_path = push(path, "properties");
        object
            .into_iter()
            .filter(|(key, item)| !(item.is_null() && drop.is_some_and(|d| d.contains(key))))
            .map(|(key, item)| {
                let item = match properties.and_then(|p| p.get(&key)) {
                    Some(property) => {
                        self.walk(root, property, &push(&properties_path, &key), item, 0)
                    }
                    None => item,
                };
                (key, item)
            })
            .collect()
    }

    fn map_from_entries(
        &self,
        root: &Value,
        schema: &Map<String, Value>,
        path: &str,
        entries: Vec<Value>,
    ) -> Value {
        let well_formed = entries.iter().all(|e| {
            e.as_object().is_some_and(|e| {
                e.get("key").is_some_and(Value::is_string) && e.contains_key("value")
            })
        });
        if !well_formed {
            // Leave it as sent: the tool's deserializer reports the bad argument precisely.
            return Value::Array(entries);
        }
        let value_schema = schema
            .get("items")
            .and_then(|items| items.pointer("/properties/value"));
        let value_path = push(&push(&push(path, "items"), "properties"), "value");
        let mut object = Map::new();
        for entry in entries {
            let Value::Object(mut entry) = entry else {
                continue;
            };
            let (Some(Value::String(key)), Some(item)) =
                (entry.remove("key"), entry.remove("value"))
            else {
                continue;
            };
            let item = match value_schema {
                Some(value_schema) => self.walk(root, value_schema, &value_path, item, 0),
                None => item,
            };
            object.insert(key, item);
        }
        Value::Object(object)
    }
}
