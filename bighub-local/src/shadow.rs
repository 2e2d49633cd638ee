//! Shadow policies: a second policy set decided beside the enforced one, never enforced.
//!
//! This module owns what a shadow decision is: the shadow set evaluated on the very input
//! the enforced set decided, summarised as `decision_brain.shadow` (`mode`,
//! `deciding_rules`, `reason`, `policy_revision`, `agrees`, and `error` when the shadow set
//! failed on the call). A shadow decision never changes what the enforced one says, and a
//! shadow evaluation that fails never fails the call: it is recorded as a disagreement
//! with its error. It does not load the shadow set (`policy_reload.rs`) or store the
//! result (`storage/`).

use serde_json::{Value, json};

use crate::policy_reload::LoadedPolicy;

/// The shadow set's decision on `input`, beside the enforced `enforced_mode`.
///
/// `context_blocked`: the enforced call was blocked because required context could not be
/// fetched, without asking the policy; the shadow set is then not asked either, and agrees.
pub(crate) fn decide(
    shadow: &LoadedPolicy,
    input: &Value,
    enforced_mode: &str,
    enforced_rules: &Value,
    context_blocked: bool,
) -> Value {
    let revision = shadow.revision();
    if context_blocked {
        return json!({
            "mode": enforced_mode,
            "deciding_rules": enforced_rules,
            "reason": Value::Null,
            "policy_revision": revision,
            "agrees": true,
        });
    }
    match shadow.set.evaluate(input) {
        Ok(answer) => {
            let mode = answer["mode"].as_str().unwrap_or("blocked").to_owned();
            let rules = match &answer["deciding_rules"] {
                Value::Array(rules) => Value::Array(rules.clone()),
                _ => json!([]),
            };
            json!({
                "mode": mode,
                "deciding_rules": rules,
                "reason": answer.get("reason").cloned().unwrap_or(Value::Null),
                "policy_revision": revision,
                "agrees": mode == enforced_mode,
            })
        }
        Err(error) => json!({
            "mode": Value::Null,
            "deciding_rules": [],
            "reason": Value::Null,
            "policy_revision": revision,
            "agrees": false,
            "error": error.to_string(),
        }),
    }
}

/// What the store keeps of a shadow decision beside the enforced one: the shadow's mode
/// (none when it failed) and whether it agreed.
pub(crate) fn columns(shadow: &Value) -> (Option<&str>, Option<bool>) {
    if shadow.is_null() {
        return (None, None);
    }
    (
        shadow["mode"].as_str(),
        Some(shadow["agrees"].as_bool().unwrap_or(false)),
    )
}
