//! The fingerprint an approval is bound to: the SHA-256 of the canonical JSON of a call's
//! arguments (object keys sorted by their UTF-8 bytes at every depth, no whitespace), the
//! same form the local engine's store uses.

use serde_json::Value;

/// Lower-case hex SHA-256 of the canonical JSON of `arguments`.
pub(crate) fn arguments_sha256(arguments: &Value) -> String {
    crate::digest::canonical_sha256(arguments)
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
}
