//! Masking in decision-log records: values at configured JSON pointers become `[MASKED]`.
//!
//! This module owns [`Masks`]: the pointers (RFC 6901, checked when configured) and their
//! application to one record, which lists the pointers it masked in its `masked` field.
//! The policy saw the masked values and may repeat them (a reason naming the user, the
//! derived subject of a grant, a better action): so each masked text of three characters
//! or more is also replaced wherever it appears in the record's other texts.
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
        let mut texts = Vec::new();
        for pointer in &self.pointers {
            if let Some(value) = record.pointer_mut(pointer) {
                collect_texts(value, &mut texts);
                *value = Value::String(MASKED.to_owned());
                masked.push(pointer.clone());
            }
        }
        texts.retain(|t| t.chars().count() >= MIN_REPEATED && t.as_str() != MASKED);
        // Longest first, so that a text containing another is replaced whole.
        texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
        texts.dedup();
        if !texts.is_empty() {
            scrub(record, &texts);
        }
        masked
    }
}

/// The shortest masked text also replaced where the record repeats it: shorter ones
/// (`"a"`, `"10"`) would mangle unrelated text.
const MIN_REPEATED: usize = 3;

/// Every text inside `value`.
fn collect_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_texts(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_texts(v, out)),
        _ => {}
    }
}

/// Replaces each of `texts` with [`MASKED`] in every string of `value`.
fn scrub(value: &mut Value, texts: &[String]) {
    match value {
        Value::String(s) if texts.iter().any(|t| s.contains(t.as_str())) => {
            for t in texts {
                *s = s.replace(t.as_str(), MASKED);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub(v, texts)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub(v, texts)),
        _ => {}
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

    #[test]
    fn a_masked_text_is_masked_where_the_record_repeats_it() {
        let mut masks = Masks::default();
        masks.add("/input/action/arguments/user").unwrap();
        masks.add("/input/action/arguments/n").unwrap();
        let mut record = json!({
            "input": {"action": {"arguments": {"user": "alice-customer", "n": "7"}},
                      "derived": {"subject": "alice-customer"}},
            "result": {"reason": "grants admin to alice-customer for 7 hours"}});
        masks.apply(&mut record);
        let text = record.to_string();
        assert!(!text.contains("alice-customer"), "{text}");
        assert_eq!(record["input"]["derived"]["subject"], MASKED);
        // Too short to look for elsewhere: only its own place is masked.
        assert_eq!(
            record["result"]["reason"],
            "grants admin to [MASKED] for 7 hours"
        );
    }
}
