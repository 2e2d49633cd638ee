//! The JSON bodies BIGHUB receives, built from the crate's types.
//!
//! This file owns the wire shape of every request body (and where each field of a
//! [`ProposedAction`] lands); sending them and reading answers is the client's.

use serde_json::{Map, Value, json};

use super::DecisionMode;
use crate::{ApprovalResolution, Error, MemoryBatch, OutcomeReport, ProposedAction};

/// The objective the service optimises for when the action names none.
pub const DEFAULT_OBJECTIVE: &str = "better_decision";
/// The model-selection hint sent when the action names none.
pub const DEFAULT_MODEL_SELECTION: &str = "auto";
/// The actor the service assumes when none is given.
pub const DEFAULT_ACTOR: &str = "AI_AGENT";

/// The `POST /actions/evaluate` body for `action` in `mode`.
///
/// # Errors
///
/// [`Error::InvalidConfig`] when the action's value is not a finite number.
///
/// `context` is built in this order, later steps winning on equal keys: the action's free
/// `metadata`; then `objective` and `model_selection` (the action's own values, else a
/// value already in the metadata, else the defaults); then the typed fields `system`,
/// `risk`, `environment`, `session_id`, `trajectory_id` when known; then `tool` (the
/// registered tool name) and `arguments` (the model's arguments, whole). Arguments travel
/// inside `context` because the service keeps `context` as free data and ignores unknown
/// top-level fields.
pub fn evaluate_body(action: &ProposedAction, mode: DecisionMode) -> Result<Value, Error> {
    let value = match action.value {
        Some(v) if !v.is_finite() => {
            return Err(Error::InvalidConfig(format!(
                "action `{}` has a non-finite value ({v}); BIGHUB needs a finite number or none",
                action.action
            )));
        }
        other => other,
    };
    let actor = if action.actor.trim().is_empty() {
        DEFAULT_ACTOR
    } else {
        action.actor.as_str()
    };

    let mut body = Map::new();
    body.insert("action".into(), json!(action.action));
    body.insert("actor".into(), json!(actor));
    match mode {
        DecisionMode::Submit => {
            if let Some(v) = value {
                body.insert("value".into(), json!(v));
            }
            if let Some(t) = &action.target {
                body.insert("target".into(), json!(t));
            }
            if let Some(d) = &action.domain {
                body.insert("domain".into(), json!(d));
            }
        }
        DecisionMode::SubmitPayload => {
            body.insert("value".into(), json!(value));
            body.insert("target".into(), json!(action.target));
            body.insert("domain".into(), json!(action.domain));
        }
    }
    body.insert("context".into(), Value::Object(context(action)));
    Ok(Value::Object(body))
}

fn context(action: &ProposedAction) -> Map<String, Value> {
    let ctx = &action.context;
    let mut out = ctx.metadata.clone();

    // Like a "set default": metadata may carry its own objective or routing hint.
    match &ctx.objective {
        Some(o) => {
            out.insert("objective".into(), json!(o));
        }
        None => {
            out.entry("objective")
                .or_insert_with(|| json!(DEFAULT_OBJECTIVE));
        }
    }
    match &ctx.model_selection {
        Some(m) => {
            out.insert("model_selection".into(), json!(m));
        }
        None => {
            out.entry("model_selection")
                .or_insert_with(|| json!(DEFAULT_MODEL_SELECTION));
        }
    }

    let typed = [
        ("system", action.system.as_deref()),
        ("risk", action.risk.map(|r| r.as_str())),
        ("environment", action.environment.as_deref()),
        ("session_id", ctx.session_id.as_deref()),
        ("trajectory_id", ctx.trajectory_id.as_deref()),
    ];
    for (key, value) in typed {
        if let Some(v) = value {
            out.insert(key.into(), json!(v));
        }
    }
    out.insert("tool".into(), json!(action.tool));
    // A secret never leaves the process.
    out.insert("arguments".into(), action.redacted_arguments());
    out
}

/// The `POST /outcomes/report` body.
pub fn outcome_body(report: &OutcomeReport) -> Value {
    let mut body = Map::new();
    body.insert("status".into(), json!(report.status.as_str()));
    if let Some(id) = &report.request_id {
        body.insert("request_id".into(), json!(id));
    }
    if let Some(d) = &report.description {
        body.insert("description".into(), json!(d));
    }
    body.insert("details".into(), Value::Object(report.details.clone()));
    body.insert("correction_needed".into(), json!(report.correction_needed));
    Value::Object(body)
}

/// The `POST /actions/memory/ingest` body.
pub fn ingest_body(batch: &MemoryBatch) -> Value {
    let mut body = Map::new();
    body.insert("source".into(), json!(batch.source));
    body.insert("events".into(), Value::Array(batch.events.clone()));
    let optional = [
        ("source_version", &batch.source_version),
        ("actor", &batch.actor),
        ("domain", &batch.domain),
        ("model", &batch.model),
        ("trace_id", &batch.trace_id),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            body.insert(key.into(), json!(v));
        }
    }
    body.insert("redact".into(), json!(batch.redact));
    body.insert("redaction_policy".into(), json!(batch.redaction_policy));
    Value::Object(body)
}

/// The `POST /approvals/{request_id}/resolve` body.
pub fn resolve_body(resolution: &ApprovalResolution) -> Value {
    let mut body = Map::new();
    body.insert("resolution".into(), json!(resolution.resolution.as_str()));
    if let Some(c) = &resolution.comment {
        body.insert("comment".into(), json!(c));
    }
    if let Some(by) = &resolution.resolved_by {
        body.insert("resolved_by".into(), json!(by));
    }
    // Extensions for a changed call, sent only when used.
    if let Some(arguments) = &resolution.arguments {
        body.insert("arguments".into(), arguments.clone());
    }
    if resolution.better_action {
        body.insert("better_action".into(), json!(true));
    }
    Value::Object(body)
}

/// The claim body: an approved resolution (what a service that does not know claims reads
/// it as) with `claim: true`, the tool about to run and the digest of its arguments
/// ([`ProposedAction::approval_digest`]), extra fields the hosted contract tolerates.
pub fn claim_body(action: &ProposedAction) -> Value {
    json!({
        "resolution": "approved",
        "claim": true,
        "tool": action.tool,
        "arguments_sha256": action.approval_digest(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActionContext, RiskLevel};

    fn grant() -> ProposedAction {
        let mut metadata = Map::new();
        metadata.insert("app".into(), json!("payments"));
        metadata.insert("system".into(), json!("overridden"));
        metadata.insert("objective".into(), json!("least_privilege"));
        ProposedAction::new("grant_access")
            .action_name("okta_grant")
            .arguments(json!({"user_id": "alice", "duration": "48h"}))
            .system("okta")
            .risk(RiskLevel::High)
            .environment("production")
            .target("okta-admins")
            .context(ActionContext {
                session_id: Some("sess_1".into()),
                trajectory_id: None,
                objective: None,
                model_selection: None,
                metadata,
            })
    }

    #[test]
    fn submit_leaves_unknown_fields_out_and_defaults_the_actor() {
        let body = evaluate_body(&grant(), DecisionMode::Submit).unwrap();
        assert_eq!(body["action"], "okta_grant");
        assert_eq!(body["actor"], DEFAULT_ACTOR);
        assert_eq!(body["target"], "okta-admins");
        assert!(body.get("value").is_none());
        assert!(body.get("domain").is_none());
        let ctx = &body["context"];
        assert_eq!(ctx["system"], "okta", "typed fields win over metadata");
        assert_eq!(
            ctx["objective"], "least_privilege",
            "metadata objective is kept"
        );
        assert_eq!(ctx["model_selection"], DEFAULT_MODEL_SELECTION);
        assert_eq!(ctx["risk"], "high");
        assert_eq!(ctx["session_id"], "sess_1");
        assert!(ctx.get("trajectory_id").is_none());
        assert_eq!(ctx["tool"], "grant_access");
        assert_eq!(ctx["arguments"]["user_id"], "alice");
        assert_eq!(ctx["app"], "payments");
    }

    #[test]
    fn secret_arguments_never_leave_the_process() {
        let mut action = grant();
        action.arguments = json!({"user_id": "alice", "token": "s3cr3t"});
        action
            .context
            .metadata
            .insert("secret_args".into(), json!(["token"]));
        let body = evaluate_body(&action, DecisionMode::Submit).unwrap();
        assert_eq!(body["context"]["arguments"]["token"], "[REDACTED]");
        assert_eq!(body["context"]["arguments"]["user_id"], "alice");
        assert!(!body.to_string().contains("s3cr3t"));
    }

    #[test]
    fn submit_payload_sends_every_field() {
        let body = evaluate_body(&grant(), DecisionMode::SubmitPayload).unwrap();
        let obj = body.as_object().unwrap();
        for key in ["action", "actor", "value", "target", "domain", "context"] {
            assert!(obj.contains_key(key), "missing {key}");
        }
        assert_eq!(body["value"], Value::Null);
        assert_eq!(body["domain"], Value::Null);
    }

    #[test]
    fn non_finite_values_are_refused() {
        let action = grant().value(f64::NAN);
        let err = evaluate_body(&action, DecisionMode::Submit).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(ref m) if m.contains("non-finite")));
    }
}
