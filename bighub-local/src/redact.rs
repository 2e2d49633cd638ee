//! Redaction of secrets before anything reaches the policy input or the store.
//!
//! This module owns the rule for which values are secret: keys whose names look secret
//! (`password`, `token`, `secret`, `api_key`, `private_key`, `credential`, ...) at any depth,
//! plus the argument names a tool marks secret (`context.metadata.secret_args`). It does not
//! decide what gets stored; the stores (`storage/`) do, always through this module.

use serde_json::{Map, Value};

use bighub_core::redact::REDACTED;
pub(crate) use bighub_core::redact::secret_args;

/// Name fragments that make a key secret (compared on the lower-cased key without `-`/`_`).
const SECRET_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "apikey",
    "privatekey",
    "credential",
    "accesskey",
    "sessionkey",
    "signingkey",
    "encryptionkey",
    "clientsecret",
    "cookie",
    "bearer",
    "authorization",
];

/// Whether a key's name looks like it holds a secret.
pub(crate) fn looks_secret(key: &str) -> bool {
    let squashed: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-' && *c != '.' && *c != ' ')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_FRAGMENTS.iter().any(|f| squashed.contains(f))
}

/// A copy of `value` with every secret-looking key's value replaced, at any depth, and the
/// top-level keys named in `extra` replaced too.
pub(crate) fn redact_value(value: &Value, extra: &[String]) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                let secret = looks_secret(k) || extra.iter().any(|e| e == k);
                let v = if secret {
                    Value::String(REDACTED.to_owned())
                } else {
                    redact_value(v, &[])
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_value(v, &[])).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names_are_told_by_their_fragments() {
        assert!(looks_secret("password"));
        assert!(looks_secret("GITHUB_TOKEN"));
        assert!(looks_secret("api-key"));
        assert!(looks_secret("aws_secret_access_key"));
        assert!(!looks_secret("user_id"));
        assert!(!looks_secret("duration"));
    }

    #[test]
    fn redacts_nested_secret_keys_and_marked_arguments() {
        let args = json!({
            "user": "alice",
            "password": "hunter2",
            "opaque": "s3cr3t",
            "nested": {"apiKey": "k", "list": [{"client_secret": "c", "ok": 1}]}
        });
        let out = redact_value(&args, &["opaque".to_owned()]);
        assert_eq!(
            out,
            json!({
                "user": "alice",
                "password": REDACTED,
                "opaque": REDACTED,
                "nested": {"apiKey": REDACTED, "list": [{"client_secret": REDACTED, "ok": 1}]}
            })
        );
    }
}
