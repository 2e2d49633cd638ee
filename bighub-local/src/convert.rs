//! Conversions between `serde_json` values and regorus values, built directly.
//!
//! regorus converts through serde's data model (a deserializer over a cloned
//! `serde_json::Value`, and a serializer back); building the values directly avoids the
//! clone and the visitor machinery on every decision. The results are the ones regorus'
//! own conversions give: numbers go through the same `Number` types, objects serialize with
//! sorted keys, sets as sorted arrays (checked in the tests below).
//!
//! It also builds JSON objects from owned values ([`object`]): `serde_json::json!` turns
//! every interpolated value into JSON again through `to_value`, a deep copy of documents
//! that are already JSON, on every decision.
//!
//! This module owns only the conversions; `policy.rs` decides when to use them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A JSON object of `entries`, in order, taking the values as they are.
pub(crate) fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut map = Map::with_capacity(N);
    for (k, v) in entries {
        map.insert(k.to_owned(), v);
    }
    Value::Object(map)
}

/// `value` as a regorus value, as `regorus::Value::from(value.clone())` would give it.
pub(crate) fn to_regorus(value: &Value) -> regorus::Value {
    match value {
        Value::Null => regorus::Value::Null,
        Value::Bool(b) => regorus::Value::from(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                regorus::Value::from(u)
            } else if let Some(i) = n.as_i64() {
                regorus::Value::from(i)
            } else {
                // serde_json holds only finite floats.
                regorus::Value::from(n.as_f64().unwrap_or_default())
            }
        }
        Value::String(s) => regorus::Value::from(s.as_str()),
        Value::Array(items) => {
            regorus::Value::from(items.iter().map(to_regorus).collect::<Vec<_>>())
        }
        Value::Object(map) => regorus::Value::from(
            map.iter()
                .map(|(k, v)| (regorus::Value::from(k.as_str()), to_regorus(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// `value` as JSON, as `serde_json::to_value(&value)` would give it.
pub(crate) fn from_regorus(value: &regorus::Value) -> Result<Value, serde_json::Error> {
    Ok(match value {
        regorus::Value::Null => Value::Null,
        regorus::Value::Bool(b) => Value::Bool(*b),
        regorus::Value::String(s) => Value::String(s.to_string()),
        // Numbers keep regorus' own formatting (arbitrary precision, decimals).
        regorus::Value::Number(_) => serde_json::to_value(value)?,
        regorus::Value::Array(items) => Value::Array(
            items
                .iter()
                .map(from_regorus)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        regorus::Value::Set(items) => Value::Array(
            items
                .iter_sorted()
                .map(from_regorus)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        regorus::Value::Object(fields) => Value::Object(object_from_regorus(fields, 0)?),
        regorus::Value::Undefined => Value::String("<undefined>".to_owned()),
    })
}

/// A regorus object as a JSON object with room for `room` more entries.
pub(crate) fn object_from_regorus(
    fields: &regorus::value::Object,
    room: usize,
) -> Result<Map<String, Value>, serde_json::Error> {
    let mut map = Map::with_capacity(fields.len() + room);
    for (k, v) in fields.iter_sorted() {
        let key = match k {
            regorus::Value::String(s) => s.to_string(),
            other => serde_json::to_string(other)?,
        };
        map.insert(key, from_regorus(v)?);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agrees_with_regorus_own_conversions() {
        let v = json!({
            "b": [1, -2, 3.5, 1e300, 18446744073709551615u64, -9223372036854775808i64],
            "a": {"z": null, "y": true, "x": "text", "": []},
            "c": 0.1
        });
        let direct = to_regorus(&v);
        assert_eq!(direct, regorus::Value::from(v.clone()));
        let back = from_regorus(&direct).unwrap();
        let via_serde = serde_json::to_value(&direct).unwrap();
        assert_eq!(back, via_serde);
        // Same text, key order included.
        assert_eq!(back.to_string(), via_serde.to_string());

        let mut set = std::collections::BTreeSet::new();
        set.insert(regorus::Value::from("b"));
        set.insert(regorus::Value::from("a"));
        let mut obj = BTreeMap::new();
        obj.insert(regorus::Value::from(2u64), regorus::Value::from(set));
        obj.insert(regorus::Value::from("k"), regorus::Value::Undefined);
        let odd = regorus::Value::from(obj);
        assert_eq!(
            from_regorus(&odd).unwrap().to_string(),
            serde_json::to_value(&odd).unwrap().to_string()
        );
    }
}
