//! Masking in decision-log records: values at configured JSON pointers become `[MASKED]`.
//!
//! This module owns [`Masks`]: the pointers (RFC 6901, checked when configured) and their
//! application to one record, which lists the pointers it masked in its `masked` field.
//! Secret arguments are redacted before this, when the decision is made; masks are for
//! what a tool does not mark secret (an email, a customer id).

use serde_json::Value;

use crate::error::LocalError;

/// What a masked value becomes.
pub(crate) const MASKED: &str = "[MASKED]";

/// Fields every record needs; masking them would leave a record nobody can use.
const KEPT: [&str; 6] = [
    "decision_id",
    "path",
    "timestamp",
    "labels",
    "masked",
    "policy_revision",
];

/// The JSON pointers masked in every record.
#[derive(Debug, Clone, Default)]
pub(crate) struct Masks {
    pointers: Vec<String>,
}

impl Masks {
    /// Masks `pointer` from now on.
    pub(crate) fn add(&mut self, pointer: &str) -> Result<(), LocalError> {
        let pointer = pointer.trim();
        let refuse = |why: &str| {
            Err(LocalError::DecisionLogs(format!(
                "mask `{}`: {why}",
                pointer.escape_debug()
            )))
        };
        if !pointer.starts_with('/') || pointer.len() < 2 {
            return refuse(
                "a mask is a JSON pointer into the record, e.g. /input/action/arguments/email",
            );
        }
        let top = pointer[1..].split('/').next().unwrap_or_default();
        if KEPT.contains(&top) {
            return refuse("every record keeps this field");
        }
        if !self.pointers.iter().any(|p| p == pointer) {
            self.pointers.push(pointer.to_owned());
        }
        Ok(())
    }

    /// Masks `record` in place; answers the pointers it had a value at.
    pub(crate) fn apply(&self, record: &mut Value) -> Vec<String> {
        let mut masked = Vec::new();
        for pointer in &self.pointers {
            if let Some(value) = record.pointer_mut(pointer) {
                *value = Value::String(MASKED.to_owned());
                masked.push(pointer.clone());
            }
        }
        masked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_mask_where_the_record_has_a_value() {
        let mut masks = Masks::default();
        masks.add("/input/action/arguments/email").unwrap();
        masks.add("/input/missing").unwrap();
        masks.add("/result/a~1b").unwrap();
        assert!(masks.add("input/x").is_err());
        assert!(masks.add("/").is_err());
        assert!(masks.add("/decision_id").is_err());
        let mut record = json!({"input": {"action": {"arguments": {"email": "a@b.c", "n": 1}}},
                                "result": {"a/b": "x"}});
        let masked = masks.apply(&mut record);
        assert_eq!(masked, ["/input/action/arguments/email", "/result/a~1b"]);
        assert_eq!(record["input"]["action"]["arguments"]["email"], MASKED);
        assert_eq!(record["input"]["action"]["arguments"]["n"], 1);
        assert_eq!(record["result"]["a/b"], MASKED);
    }
}
