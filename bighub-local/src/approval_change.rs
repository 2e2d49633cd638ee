//! An approval that changes the call it approves: the engine's better action, or
//! arguments an approver edited.
//!
//! This module owns how the changed arguments are made from an answer and checked: the
//! better action is the `arguments_patch` of the decision's constrained alternative laid
//! over the arguments asked for; an edit is taken as given, except that every value the
//! store redacted (a secret) stays redacted where it was, and no new one appears, since an
//! approver sees no secret and may not set one. The result is redacted as the store keeps
//! arguments. It does not decide the changed call (the engine does, `approvals.rs`) nor
//! bind it (the store's approval rules do).

use serde_json::{Map, Value, json};

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::redact::REDACTED;
use bighub_core::{ApprovalResolution, ProposedAction, RiskLevel};

use crate::error::LocalError;
use crate::redact::redact_value;
use crate::storage::StoredDecision;

/// What kind of change an approver approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// The decision's constrained alternative.
    BetterAction,
    /// Arguments the approver edited.
    Edited,
}

impl ChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::BetterAction => "better_action",
            Self::Edited => "edited",
        }
    }
}

/// A changed call, before it is decided.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) kind: ChangeKind,
    /// The changed arguments, redacted as the store keeps them.
    pub(crate) arguments: Value,
    /// The arguments asked for, as the store keeps them.
    pub(crate) original: Value,
    /// Their digest, which the approval was asked with.
    pub(crate) original_sha256: String,
    /// Why the call changed, for the model and the record.
    pub(crate) reason: String,
    /// The changed call, as the engine decides it.
    pub(crate) action: ProposedAction,
}

impl Change {
    /// The record's `change`: what changed, from what, and what the policy said of it.
    pub(crate) fn to_json(&self, mode: &str) -> Value {
        json!({
            "kind": self.kind.as_str(),
            "original_arguments": self.original,
            "original_arguments_sha256": self.original_sha256,
            "reason": self.reason,
            "mode": mode,
        })
    }
}

/// The change `resolution` asks for on the call `decision` (as stored) decided, whose
/// arguments the store kept as `original` (of digest `original_sha256`); `None` when it
/// approves the call as asked.
pub(crate) fn change_for(
    decision: &StoredDecision,
    original: &Value,
    original_sha256: &str,
    resolution: &ApprovalResolution,
) -> Result<Option<Change>, LocalError> {
    if !resolution.changes_call() {
        return Ok(None);
    }
    let id = &decision.request_id;
    let (kind, arguments, reason) = if let Some(edited) = &resolution.arguments {
        let arguments = checked_edit(original, edited)?;
        let reason = resolution
            .comment
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "the approver edited the arguments".to_owned());
        (ChangeKind::Edited, arguments, reason)
    } else {
        let stored: Value = serde_json::from_str(&decision.decision)?;
        let patch = better_patch(&stored, &decision.action)
            .ok_or_else(|| ApprovalRefused::new(id, ApprovalRefusal::NoBetterAction))?;
        let mut arguments = original.clone();
        if let Value::Object(args) = &mut arguments {
            for (key, value) in patch {
                args.insert(key.clone(), value.clone());
            }
        }
        let reason = stored["better_action"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| "the approver approved the decision's better action".to_owned());
        (
            ChangeKind::BetterAction,
            redact_value(&arguments, &[]),
            reason,
        )
    };
    if arguments == *original {
        return Ok(None);
    }
    let mut action = ProposedAction::new(decision.tool.clone())
        .action_name(decision.action.clone())
        .arguments(arguments.clone())
        .actor(decision.actor.clone());
    if !decision.target.is_empty() {
        action = action.target(decision.target.clone());
    }
    if let Some(system) = &decision.system {
        action = action.system(system.clone());
    }
    if let Some(environment) = &decision.environment {
        action = action.environment(environment.clone());
    }
    if let Some(risk) = decision
        .risk
        .as_deref()
        .and_then(|r| r.parse::<RiskLevel>().ok())
    {
        action = action.risk(risk);
    }
    Ok(Some(Change {
        kind,
        arguments,
        original: original.clone(),
        original_sha256: original_sha256.to_owned(),
        reason,
        action,
    }))
}

/// The `arguments_patch` of the first constrained alternative the decision offers for its
/// own action.
fn better_patch<'a>(decision: &'a Value, action: &str) -> Option<&'a Map<String, Value>> {
    decision["responsible_action_space"]["constrained"]
        .as_array()?
        .iter()
        .filter(|item| item["action"].as_str().is_none_or(|a| a == action))
        .find_map(|item| item["arguments_patch"].as_object())
        .filter(|patch| !patch.is_empty())
}

/// `edited` as the store keeps arguments, when it keeps every redacted value of
/// `original` where it was and adds none.
fn checked_edit(original: &Value, edited: &Value) -> Result<Value, LocalError> {
    if !edited.is_object() {
        return Err(invalid(
            "arguments",
            "edited arguments must be a JSON object",
        ));
    }
    let redacted = redact_value(edited, &[]);
    let mut kept = Vec::new();
    let mut now = Vec::new();
    redacted_paths(original, &mut String::from("arguments"), &mut kept);
    redacted_paths(&redacted, &mut String::from("arguments"), &mut now);
    if let Some(path) = kept.iter().find(|p| !now.contains(p)) {
        return Err(invalid(
            path,
            "a secret value cannot be changed or removed by an approver; leave it as [REDACTED]",
        ));
    }
    if let Some(path) = now.iter().find(|p| !kept.contains(p)) {
        return Err(invalid(
            path,
            "a secret value cannot be added by an approver",
        ));
    }
    Ok(redacted)
}

/// The paths of the redacted values in `value`.
fn redacted_paths(value: &Value, path: &mut String, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s == REDACTED => out.push(path.clone()),
        Value::Object(map) => {
            for (key, inner) in map {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                redacted_paths(inner, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                redacted_paths(inner, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn invalid(field: &str, message: &str) -> LocalError {
    LocalError::InvalidInput {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_keeps_every_secret_where_it_was_and_adds_none() {
        let original = json!({"key_id": "k1", "token": REDACTED});
        let ok = checked_edit(&original, &json!({"key_id": "k2", "token": REDACTED})).unwrap();
        assert_eq!(ok["key_id"], "k2");
        // A value typed for a secret-looking key is redacted again: the secret stays.
        let typed = checked_edit(&original, &json!({"key_id": "k2", "token": "mine"})).unwrap();
        assert_eq!(typed["token"], REDACTED);
        let marked = json!({"key_id": "k1", "otp": REDACTED});
        let set = checked_edit(&marked, &json!({"key_id": "k1", "otp": "123456"}));
        assert!(set.is_err(), "a secret the tool marked cannot be set");
        let removed = checked_edit(&original, &json!({"key_id": "k2"})).unwrap_err();
        assert!(removed.to_string().contains("arguments.token"), "{removed}");
        let added = checked_edit(&json!({"a": 1}), &json!({"a": 1, "b": REDACTED})).unwrap_err();
        assert!(added.to_string().contains("cannot be added"), "{added}");
        assert!(checked_edit(&original, &json!("x")).is_err());
    }
}
