//! The fingerprint an approval is bound to: the SHA-256 of the canonical JSON of a call's
//! arguments (object keys sorted by their UTF-8 bytes at every depth, no whitespace), the
//! same form the local engine's store uses.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of the canonical JSON of `arguments`.
pub(crate) fn arguments_sha256(arguments: &Value) -> String {
    let mut text = String::new();
    write_canonical(arguments, &mut text);
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_matter_but_values_do() {
        let a = json!({"user": "alice", "grant": {"b": 1, "a": [1, 2]}});
        let b = json!({"grant": {"a": [1, 2], "b": 1}, "user": "alice"});
        assert_eq!(arguments_sha256(&a), arguments_sha256(&b));
        assert_ne!(
            arguments_sha256(&a),
            arguments_sha256(&json!({"user": "alice", "grant": {"b": 2, "a": [1, 2]}}))
        );
        assert_eq!(arguments_sha256(&a).len(), 64);
    }

    #[cfg(feature = "local")]
    #[test]
    fn it_is_the_local_store_fingerprint() {
        let a = json!({"z": "é", "a": [1.5, null, true], "m": {"y": 1, "x": "\n"}});
        assert_eq!(arguments_sha256(&a), crate::local::canonical_sha256(&a));
    }
}
