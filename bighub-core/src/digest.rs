//! Canonical JSON and its SHA-256: the fingerprint of decision inputs, policies, and the
//! arguments an approval is bound to (the same form in every engine's store and in a paused
//! run's state).
//!
//! Canonical here means: object keys sorted by their UTF-8 bytes at every depth, no
//! whitespace, serde_json's number and string encoding. Two values that are equal as JSON
//! have the same canonical text whatever order their keys were built in.

use std::io::Write;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical JSON text of `value` (keys sorted at every depth, no whitespace).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // serde_json writes UTF-8, and so does everything else here.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the canonical text of `value` to `out`. Writing to a buffer or a hasher cannot
/// fail, so errors are ignored.
fn write_canonical<W: Write>(value: &Value, out: &mut W) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.write_all(b"{").ok();
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",").ok();
                }
                serde_json::to_writer(&mut *out, k).ok();
                out.write_all(b":").ok();
                write_canonical(v, out);
            }
            out.write_all(b"}").ok();
        }
        Value::Array(items) => {
            out.write_all(b"[").ok();
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",").ok();
                }
                write_canonical(v, out);
            }
            out.write_all(b"]").ok();
        }
        scalar => {
            serde_json::to_writer(&mut *out, scalar).ok();
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(2 * digest.len());
    for &b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    out
}

/// SHA-256 of the canonical JSON of `value`.
///
/// ```
/// use bighub_core::digest::canonical_sha256;
/// use serde_json::json;
///
/// let a = canonical_sha256(&json!({"user": "alice", "duration": "2h"}));
/// let b = canonical_sha256(&json!({"duration": "2h", "user": "alice"}));
/// assert_eq!(a, b);
/// assert_ne!(a, canonical_sha256(&json!({"user": "alice", "duration": "48h"})));
/// ```
pub fn canonical_sha256(value: &Value) -> String {
    // Streamed into the hasher through a small buffer rather than collected in a string
    // first: a decision's input, hashed for its packet, is a few kilobytes.
    let mut hasher = std::io::BufWriter::with_capacity(512, Sha256::new());
    write_canonical(value, &mut hasher);
    // What is still buffered goes in last (a hasher never fails a write).
    let (mut hasher, buffered) = hasher.into_parts();
    if let Ok(rest) = buffered {
        hasher.update(&rest);
    }
    hex(&hasher.finalize())
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
    fn the_streamed_hash_is_the_hash_of_the_canonical_text() {
        // Long enough to pass through the buffer several times.
        let v = json!({"z": "x".repeat(2000), "a": [1, 2.5, null, {"k": "é\"\n"}]});
        assert_eq!(
            canonical_sha256(&v),
            sha256_hex(canonical_json(&v).as_bytes())
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
