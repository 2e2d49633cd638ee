//! One decision as a decision-log record, in the shape OPA's decision logs use.
//!
//! This module owns the record's fields: `decision_id` (the decision's request id),
//! `path` (the policy's entry point, as OPA writes it: `bighub/policy/decision`), `input`
//! (the decision packet's input, secrets already `[REDACTED]`), `result` (the decision
//! without that input), `policy_revision`, `timestamp` (RFC 3339), `labels`,
//! `requested_by` (the caller, when known) and `masked`. Which records are made is the
//! handle's business (`handle.rs`); masking is `mask.rs`'s.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::mask::Masks;
use crate::clock::format_rfc3339;

/// A decision waiting to become a record: taken on the deciding thread, turned into a
/// record on the sink's own.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The decision, whole, as the engine answered it.
    pub(crate) decision: Value,
    /// The API key's name or other caller that asked, when known.
    pub(crate) caller: Option<String>,
    /// When it was decided, in unix milliseconds.
    pub(crate) at_ms: i64,
    /// The policy's entry point, as a path (`bighub/policy/decision`).
    pub(crate) path: Arc<str>,
}

/// The entry point `data.bighub.policy.decision` as OPA's decision logs write a path.
pub(crate) fn entrypoint_path(entrypoint: &str) -> Arc<str> {
    let rule = entrypoint.strip_prefix("data.").unwrap_or(entrypoint);
    rule.replace('.', "/").into()
}

/// The record of `pending`, labelled with `labels` and masked by `masks`.
pub(crate) fn record(pending: Pending, labels: &BTreeMap<String, String>, masks: &Masks) -> Value {
    let mut result = pending.decision;
    let input = result
        .get_mut("decision_packet")
        .and_then(Value::as_object_mut)
        .and_then(|packet| packet.remove("input"))
        .unwrap_or(Value::Null);
    let brain = &result["decision_brain"];
    let revision = brain["policy_revision"]
        .as_str()
        .or_else(|| brain["policy_sha256"].as_str())
        .map_or(Value::Null, |r| json!(r));
    let mut record = Map::new();
    record.insert("decision_id".into(), result["request_id"].clone());
    record.insert("path".into(), json!(&*pending.path));
    record.insert("input".into(), input);
    record.insert("policy_revision".into(), revision);
    record.insert("timestamp".into(), json!(format_rfc3339(pending.at_ms)));
    record.insert("labels".into(), json!(labels));
    if let Some(caller) = pending.caller {
        record.insert("requested_by".into(), json!(caller));
    }
    record.insert("result".into(), result);
    let mut record = Value::Object(record);
    let masked = masks.apply(&mut record);
    if !masked.is_empty() {
        record["masked"] = json!(masked);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(decision: Value) -> Pending {
        Pending {
            decision,
            caller: Some("agent-a".into()),
            at_ms: 1_800_000_000_123,
            path: entrypoint_path("data.bighub.policy.decision"),
        }
    }

    #[test]
    fn the_record_has_opas_fields_and_no_second_copy_of_the_input() {
        let decision = json!({
            "request_id": "req-1", "mode": "review",
            "decision_packet": {"input": {"action": {"tool": "deploy"}}, "input_sha256": "ab"},
            "decision_brain": {"policy_sha256": "cafe"}
        });
        let r = record(pending(decision), &BTreeMap::new(), &Masks::default());
        assert_eq!(r["decision_id"], "req-1");
        assert_eq!(r["path"], "bighub/policy/decision");
        assert_eq!(r["input"]["action"]["tool"], "deploy");
        assert_eq!(r["result"]["mode"], "review");
        assert!(r["result"]["decision_packet"].get("input").is_none());
        assert_eq!(r["result"]["decision_packet"]["input_sha256"], "ab");
        assert_eq!(r["policy_revision"], "cafe");
        assert_eq!(r["timestamp"], "2027-01-15T08:00:00.123Z");
        assert_eq!(r["requested_by"], "agent-a");
        assert!(r.get("masked").is_none());
    }

    #[test]
    fn a_policy_revision_wins_over_the_policys_digest() {
        let decision = json!({"request_id": "r",
            "decision_brain": {"policy_sha256": "cafe", "policy_revision": "v42"}});
        let r = record(pending(decision), &BTreeMap::new(), &Masks::default());
        assert_eq!(r["policy_revision"], "v42");
    }
}
