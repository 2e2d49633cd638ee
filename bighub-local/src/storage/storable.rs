//! What the stores accept: the one check, run before any write, that makes SQLite and
//! PostgreSQL accept and refuse the same requests.
//!
//! This module owns the rules on the text a request brings to the store and the
//! [`LocalError::InvalidInput`] each refusal is:
//!
//! - no text holds a NUL character (U+0000): PostgreSQL cannot store one in a text
//!   column, and it has no place in an identifier, a comment or a tool argument; argument
//!   strings and keys are checked too, because a policy may quote them in its reason;
//! - identifiers (action, target, tool, actor, system, environment, domain, caller,
//!   request id, idempotency key) are at most [`MAX_IDENTIFIER_BYTES`] each: the stores
//!   index or key rows by most of them, and a B-tree entry must fit in about a third of a
//!   PostgreSQL page.
//!
//! JSON documents (arguments, details, memory events, decisions) are stored as their JSON
//! text, which escapes every control character, so only their strings' content matters.
//! It does not own how a store reports the database refusing a value anyway (a
//! PostgreSQL data exception, integrity or limit error, mapped in `postgres/error.rs`),
//! nor redaction (`redact.rs`).

use bighub_core::{ApprovalResolution, MemoryBatch, OutcomeReport, ProposedAction};
use serde_json::Value;

use crate::error::LocalError;
use crate::storage::{IdempotencyClaim, NewDecision};

/// The longest identifier a store accepts, in bytes of UTF-8: an action name, a target, a
/// tool name, an actor, a system, an environment, a domain, a caller, a request id, an
/// idempotency key, each at most 1024 bytes (an action and a target are indexed together,
/// and a PostgreSQL index entry holds about 2.7 KB). Longer ones are refused with [`LocalError::InvalidInput`] naming the field (the decision
/// server answers 422), by the SQLite and the PostgreSQL store alike.
///
/// ```
/// use bighub_core::ProposedAction;
/// use bighub_local::storage::MAX_IDENTIFIER_BYTES;
/// use bighub_local::{LocalEngine, LocalError};
///
/// let engine = LocalEngine::builder().in_memory().build().unwrap();
/// let long = "x".repeat(MAX_IDENTIFIER_BYTES + 1);
/// let err = engine.decide(&ProposedAction::new("restart_service").target(long)).unwrap_err();
/// assert!(matches!(err, LocalError::InvalidInput { ref field, .. } if field == "target"));
/// assert!(engine.recent_decisions(10).unwrap().is_empty());
/// ```
pub const MAX_IDENTIFIER_BYTES: usize = 1024;

/// How deep argument JSON is searched for NUL characters; deeper values are refused
/// (serde_json itself refuses documents nested deeper than 128).
const MAX_ARGUMENT_DEPTH: usize = 128;

fn invalid(field: impl Into<String>, message: impl Into<String>) -> LocalError {
    LocalError::InvalidInput {
        field: field.into(),
        message: message.into(),
    }
}

/// A free text: anything but a NUL character.
pub(crate) fn text(field: &str, value: &str) -> Result<(), LocalError> {
    if value.contains('\0') {
        return Err(invalid(
            field,
            "contains a NUL character (U+0000), which the store does not accept",
        ));
    }
    Ok(())
}

fn optional_text(field: &str, value: Option<&str>) -> Result<(), LocalError> {
    value.map_or(Ok(()), |v| text(field, v))
}

/// An identifier: a text of at most [`MAX_IDENTIFIER_BYTES`].
pub(crate) fn identifier(field: &str, value: &str) -> Result<(), LocalError> {
    text(field, value)?;
    if value.len() > MAX_IDENTIFIER_BYTES {
        return Err(invalid(
            field,
            format!(
                "is {} bytes long; the store accepts at most {MAX_IDENTIFIER_BYTES}",
                value.len()
            ),
        ));
    }
    Ok(())
}

fn optional_identifier(field: &str, value: Option<&str>) -> Result<(), LocalError> {
    value.map_or(Ok(()), |v| identifier(field, v))
}

/// Every string and key of a JSON value, named by its path under `field`.
fn json_text(field: &str, value: &Value, depth: usize) -> Result<(), LocalError> {
    if depth > MAX_ARGUMENT_DEPTH {
        return Err(invalid(field, "is nested too deeply"));
    }
    match value {
        Value::String(s) => text(field, s),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| json_text(&format!("{field}[{i}]"), v, depth + 1)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            // The key is named escaped: it is the request's text.
            let path = format!("{field}.{}", k.escape_debug());
            text(&path, k)?;
            json_text(&path, v, depth + 1)
        }),
        _ => Ok(()),
    }
}

/// A proposed action, as a request brings it: the fields the store keeps and indexes, and
/// the arguments' strings.
pub(crate) fn action(action: &ProposedAction, name: &str) -> Result<(), LocalError> {
    identifier("action", name)?;
    identifier("tool", &action.tool)?;
    optional_identifier("target", action.target.as_deref())?;
    identifier("actor", &action.actor)?;
    optional_identifier("system", action.system.as_deref())?;
    optional_identifier("environment", action.environment.as_deref())?;
    optional_identifier("domain", action.domain.as_deref())?;
    json_text("arguments", &action.arguments, 0)
}

/// Who sent a request, and its idempotency key.
pub(crate) fn origin(
    caller: Option<&str>,
    idempotency_key: Option<&str>,
) -> Result<(), LocalError> {
    optional_identifier("caller", caller)?;
    optional_identifier("idempotency_key", idempotency_key)
}

/// A decision row, whole, just before it is written: also what the policy made from the
/// request (its reason may quote the request's values).
pub(crate) fn decision(
    d: &NewDecision<'_>,
    approval_reason: Option<&str>,
    claim: Option<&IdempotencyClaim<'_>>,
) -> Result<(), LocalError> {
    identifier("request_id", d.request_id)?;
    identifier("tool", d.tool)?;
    identifier("action", d.action)?;
    identifier("target", d.target)?;
    optional_identifier("system", d.system)?;
    optional_identifier("environment", d.environment)?;
    optional_identifier("risk", d.risk)?;
    identifier("actor", d.actor)?;
    identifier("mode", d.mode)?;
    optional_text("reason", d.reason)?;
    optional_text("reason", approval_reason)?;
    identifier("arguments_sha256", d.arguments_sha256)?;
    optional_identifier("caller", d.caller)?;
    if let Some(claim) = claim {
        origin(Some(claim.caller), Some(claim.key))?;
    }
    Ok(())
}

/// An outcome report: its request id, description, and the action and target its details
/// name when it has no request id.
pub(crate) fn outcome(report: &OutcomeReport, caller: Option<&str>) -> Result<(), LocalError> {
    optional_identifier("request_id", report.request_id.as_deref())?;
    optional_text("description", report.description.as_deref())?;
    for key in ["action", "tool", "target"] {
        if let Some(v) = report.details.get(key).and_then(Value::as_str) {
            identifier(&format!("details.{key}"), v)?;
        }
    }
    optional_identifier("caller", caller)
}

/// A memory batch's fields (its events are JSON documents).
pub(crate) fn memory(batch: &MemoryBatch, caller: Option<&str>) -> Result<(), LocalError> {
    text("source", &batch.source)?;
    optional_text("source_version", batch.source_version.as_deref())?;
    optional_text("actor", batch.actor.as_deref())?;
    optional_text("domain", batch.domain.as_deref())?;
    optional_text("model", batch.model.as_deref())?;
    optional_text("trace_id", batch.trace_id.as_deref())?;
    optional_identifier("caller", caller)
}

/// A resolution of an approval.
pub(crate) fn resolution(
    request_id: &str,
    resolution: &ApprovalResolution,
) -> Result<(), LocalError> {
    identifier("request_id", request_id)?;
    optional_text("comment", resolution.comment.as_deref())?;
    optional_text("resolved_by", resolution.resolved_by.as_deref())?;
    match &resolution.arguments {
        Some(arguments) => json_text("arguments", arguments, 0),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(err: LocalError) -> String {
        match err {
            LocalError::InvalidInput { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nul_characters_are_found_wherever_they_hide() {
        let nul = ProposedAction::new("grant").arguments(json!({"user": ["a", "b\0"]}));
        assert_eq!(
            field(action(&nul, "grant").unwrap_err()),
            "arguments.user[1]"
        );
        let key = ProposedAction::new("grant").arguments(json!({"u\0": 1}));
        assert_eq!(field(action(&key, "grant").unwrap_err()), "arguments.u\\0");
        let ok = ProposedAction::new("grant").arguments(json!({"user": "alice", "n": 1}));
        assert!(action(&ok, "grant").is_ok());
    }

    #[test]
    fn identifiers_are_refused_past_the_limit_and_accepted_at_it() {
        let at = "é".repeat(MAX_IDENTIFIER_BYTES / 2);
        assert!(identifier("target", &at).is_ok());
        let past = format!("{at}x");
        let err = identifier("target", &past).unwrap_err();
        assert!(err.to_string().contains("1025 bytes"), "{err}");
        assert!(!err.to_string().contains(&past));
    }
}
