//! Canonical JSON and its SHA-256: the fingerprint of decision inputs, policies, and the
//! arguments an approval is bound to (the same form in the local store and in a `RunState`).
//!
//! Canonical here means: object keys sorted by their UTF-8 bytes at every depth, no
//! whitespace, serde_json's number and string encoding. Two values that are equal as JSON
//! have the same canonical text whatever order their keys were built in.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical JSON text of `value` (keys sorted at every depth, no whitespace).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // A string always serializes.
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    out
}

/// SHA-256 of the canonical JSON of `value`.
///
/// ```
/// use bighub_openai::local::canonical_sha256;
/// use serde_json::json;
///
/// let a = canonical_sha256(&json!({"user": "alice", "duration": "2h"}));
/// let b = canonical_sha256(&json!({"duration": "2h", "user": "alice"}));
/// assert_eq!(a, b);
/// assert_ne!(a, canonical_sha256(&json!({"user": "alice", "duration": "48h"})));
/// ```
pub fn canonical_sha256(value: &Value) -> String {
    sha256_hex(canonical_json(value).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_at_every_depth() {
        let v = json!({"b": 1, "a": {"z": [3, {"y": true, "x": null}], "c": "s"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"s","z":[3,{"x":null,"y":true}]},"b":1}"#
        );
    }

    #[test]
    fn hashes_like_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
