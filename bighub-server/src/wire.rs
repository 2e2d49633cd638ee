//! The hosted service's request bodies: what the server accepts, how it rejects the rest,
//! and how an accepted body becomes the engine's types.
//!
//! This module owns the body rules of each endpoint (field presence and JSON types,
//! checked as the hosted service, a FastAPI application, checks them, with the same 422
//! `detail` lists) and the mapping of an evaluate body onto a [`ProposedAction`]: the
//! inverse of what `bighub_core::wire` builds. Routing and auth live in `routes.rs`.

use bighub_core::{
    ActionContext, ApprovalResolution, MemoryBatch, OutcomeReport, OutcomeStatus, ProposedAction,
    Resolution, RiskLevel,
};
use serde_json::{Map, Value, json};

/// Outcome statuses the service knows; the first four map onto [`OutcomeStatus`].
pub const OUTCOME_STATUSES: [&str; 6] = [
    "SUCCESS",
    "FAILURE",
    "BLOCKED",
    "PARTIAL",
    "ESCALATION",
    "CORRECTION",
];

/// Approval resolutions the service knows.
pub const RESOLUTIONS: [&str; 2] = ["approved", "rejected"];

pub use bighub_core::wire::DEFAULT_ACTOR;

/// An endpoint that takes a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyEndpoint {
    /// `POST /actions/evaluate`
    Evaluate,
    /// `POST /outcomes/report`
    ReportOutcome,
    /// `POST /actions/memory/ingest`
    IngestMemory,
    /// `POST /approvals/{request_id}/resolve`
    ResolveApproval,
    /// `PUT /runs/{run_id}`: a paused durable run to keep.
    SaveRun,
    /// `POST /runs/claim`: claim answered durable runs.
    ClaimRuns,
    /// `POST /runs/{run_id}/complete`: how a claimed durable run ended.
    CompleteRun,
}

/// How a claimed durable run ended, as `POST /runs/{run_id}/complete` names it.
pub const RUN_COMPLETIONS: [&str; 3] = ["finished", "failed", "paused"];

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Number,
    Bool,
    Object,
    ArrayOfObjects,
    ArrayOfStrings,
    OneOf(&'static [&'static str]),
}

#[derive(Clone, Copy, PartialEq)]
enum Presence {
    /// Present and not null.
    Required,
    /// May be absent; not null when present.
    Defaulted,
    /// May be absent or null.
    Optional,
}

struct Field {
    name: &'static str,
    kind: Kind,
    presence: Presence,
}

const fn field(name: &'static str, kind: Kind, presence: Presence) -> Field {
    Field {
        name,
        kind,
        presence,
    }
}

use Kind::*;
use Presence::*;

const EVALUATE: &[Field] = &[
    field("action", Str, Required),
    field("actor", Str, Defaulted),
    field("value", Number, Optional),
    field("target", Str, Optional),
    field("domain", Str, Optional),
    field("context", Object, Optional),
    field("dry_run", Bool, Defaulted),
];

const REPORT_OUTCOME: &[Field] = &[
    field("status", OneOf(&OUTCOME_STATUSES), Required),
    field("request_id", Str, Required),
    field("description", Str, Optional),
    field("details", Object, Optional),
    field("correction_needed", Bool, Defaulted),
];

const INGEST_MEMORY: &[Field] = &[
    field("source", Str, Required),
    field("events", ArrayOfObjects, Required),
    field("source_version", Str, Optional),
    field("actor", Str, Optional),
    field("domain", Str, Optional),
    field("model", Str, Optional),
    field("trace_id", Str, Optional),
    field("redact", Bool, Defaulted),
    field("redaction_policy", Str, Defaulted),
];

const RESOLVE_APPROVAL: &[Field] = &[
    field("resolution", OneOf(&RESOLUTIONS), Required),
    field("comment", Str, Optional),
    field("resolved_by", Str, Optional),
    // The claim extension: see [`claim`].
    field("claim", Bool, Defaulted),
    field("tool", Str, Optional),
    field("arguments_sha256", Str, Optional),
    // Approving a changed call: the decision's better action, or edited arguments.
    field("better_action", Bool, Defaulted),
    field("arguments", Object, Optional),
];

const SAVE_RUN: &[Field] = &[
    field("state", Str, Required),
    field("request_ids", ArrayOfStrings, Required),
];

const CLAIM_RUNS: &[Field] = &[
    field("lease_seconds", Number, Defaulted),
    field("limit", Number, Defaulted),
];

const COMPLETE_RUN: &[Field] = &[
    field("lease_id", Str, Required),
    field("status", OneOf(&RUN_COMPLETIONS), Required),
    field("message", Str, Optional),
    field("state", Str, Optional),
    field("request_ids", ArrayOfStrings, Optional),
];

fn rules(endpoint: BodyEndpoint) -> &'static [Field] {
    match endpoint {
        BodyEndpoint::Evaluate => EVALUATE,
        BodyEndpoint::ReportOutcome => REPORT_OUTCOME,
        BodyEndpoint::IngestMemory => INGEST_MEMORY,
        BodyEndpoint::ResolveApproval => RESOLVE_APPROVAL,
        BodyEndpoint::SaveRun => SAVE_RUN,
        BodyEndpoint::ClaimRuns => CLAIM_RUNS,
        BodyEndpoint::CompleteRun => COMPLETE_RUN,
    }
}

/// Checks a request body; `Err` holds the `detail` list of the 422 answer.
///
/// A content type other than JSON (absent is read as JSON), an empty body, invalid JSON,
/// a body that is not an object, and fields of the wrong type are all refused. Strings do
/// not accept numbers; unknown fields are ignored.
pub fn check_body(
    endpoint: BodyEndpoint,
    content_type: Option<&str>,
    raw: &[u8],
) -> Result<Map<String, Value>, Value> {
    if content_type.is_some_and(|ct| !is_json_content_type(ct)) {
        return Err(json!([error(
            &[],
            "value is not a valid dict",
            "type_error.dict"
        )]));
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(json!([error(&[], "field required", "value_error.missing")]));
    }
    let body: Value = serde_json::from_slice(raw).map_err(|e| {
        let pos = byte_offset(raw, e.line(), e.column());
        json!([{
            "loc": ["body", pos],
            "msg": format!("Expecting value: {e}"),
            "type": "value_error.jsondecode",
            "ctx": {"pos": pos, "lineno": e.line(), "colno": e.column()}
        }])
    })?;
    let Value::Object(object) = body else {
        return Err(json!([error(
            &[],
            "value is not a valid dict",
            "type_error.dict"
        )]));
    };
    let mut errors = Vec::new();
    for rule in rules(endpoint) {
        let loc = [json!(rule.name)];
        match object.get(rule.name) {
            None if rule.presence == Required => {
                errors.push(error(&loc, "field required", "value_error.missing"));
            }
            None => {}
            Some(Value::Null) if rule.presence == Optional => {}
            Some(Value::Null) => errors.push(error(
                &loc,
                "none is not an allowed value",
                "type_error.none.not_allowed",
            )),
            Some(value) => check_kind(rule.kind, value, &loc, &mut errors),
        }
    }
    if errors.is_empty() {
        Ok(object)
    } else {
        Err(Value::Array(errors))
    }
}

fn check_kind(kind: Kind, value: &Value, loc: &[Value], errors: &mut Vec<Value>) {
    let ok = match kind {
        Str => value.is_string(),
        Number => value.is_number(),
        Bool => value.is_boolean(),
        Object => value.is_object(),
        OneOf(allowed) => value.as_str().is_some_and(|s| allowed.contains(&s)),
        ArrayOfObjects => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_object() {
                        let mut item_loc = loc.to_vec();
                        item_loc.push(json!(i));
                        errors.push(error(
                            &item_loc,
                            "value is not a valid dict",
                            "type_error.dict",
                        ));
                    }
                }
                true
            }
            None => false,
        },
        ArrayOfStrings => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_string() {
                        let mut item_loc = loc.to_vec();
                        item_loc.push(json!(i));
                        errors.push(error(&item_loc, "str type expected", "type_error.str"));
                    }
                }
                true
            }
            None => false,
        },
    };
    if ok {
        return;
    }
    let (msg, ty) = match kind {
        Str => ("str type expected".to_owned(), "type_error.str"),
        Number => ("value is not a valid float".to_owned(), "type_error.float"),
        Bool => (
            "value could not be parsed to a boolean".to_owned(),
            "type_error.bool",
        ),
        Object => ("value is not a valid dict".to_owned(), "type_error.dict"),
        ArrayOfObjects | ArrayOfStrings => {
            ("value is not a valid list".to_owned(), "type_error.list")
        }
        OneOf(allowed) => {
            let permitted = allowed
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ");
            (
                format!("value is not a valid enumeration member; permitted: {permitted}"),
                "type_error.enum",
            )
        }
    };
    errors.push(error(loc, &msg, ty));
}

/// One error entry located under `body`.
fn error(loc: &[Value], msg: &str, ty: &str) -> Value {
    let mut full = vec![json!("body")];
    full.extend_from_slice(loc);
    json!({"loc": full, "msg": msg, "type": ty})
}

/// One error entry located under `query`.
pub(crate) fn query_error(name: &str, msg: &str, ty: &str) -> Value {
    json!([{"loc": ["query", name], "msg": msg, "type": ty}])
}

fn is_json_content_type(ct: &str) -> bool {
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

fn byte_offset(raw: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = raw
        .split(|b| *b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + column.saturating_sub(1)).min(raw.len())
}

fn string(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// An accepted evaluate body as the engine's proposed action, and whether it asks for a
/// dry run (decide, record nothing).
///
/// `context` is free data; from it the server takes `tool` (the registered tool name,
/// default the action name), `arguments` (the call's arguments, an object), `system`,
/// `risk` (when it names a level), `environment`, `session_id`, `trajectory_id`,
/// `objective` and `model_selection` when they are strings; everything else stays in the
/// action's metadata (so `secret_args` keeps working). A client that sends no `arguments`
/// (the Python SDK sends the tool's metadata only) is decided on empty arguments.
pub fn evaluate_action(body: &Map<String, Value>) -> (ProposedAction, bool) {
    let action_name = string(body, "action").unwrap_or_default();
    let mut metadata = match body.get("context") {
        Some(Value::Object(ctx)) => ctx.clone(),
        _ => Map::new(),
    };
    let mut take = |key: &str| -> Option<String> {
        match metadata.get(key) {
            Some(Value::String(s)) => {
                let s = s.clone();
                metadata.remove(key);
                Some(s)
            }
            _ => None,
        }
    };
    let tool = take("tool").unwrap_or_else(|| action_name.clone());
    let system = take("system");
    let environment = take("environment");
    let session_id = take("session_id");
    let trajectory_id = take("trajectory_id");
    let objective = take("objective");
    let model_selection = take("model_selection");
    let risk = match metadata.get("risk").and_then(Value::as_str) {
        Some(text) => match text.parse::<RiskLevel>() {
            Ok(level) => {
                metadata.remove("risk");
                Some(level)
            }
            Err(_) => None,
        },
        None => None,
    };
    let arguments = match metadata.get("arguments") {
        Some(Value::Object(_)) => metadata.remove("arguments").unwrap_or_default(),
        _ => Value::Object(Map::new()),
    };
    let actor = string(body, "actor")
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ACTOR.to_owned());
    let action = ProposedAction {
        tool,
        action: action_name,
        arguments,
        actor,
        domain: string(body, "domain"),
        system,
        risk,
        environment,
        target: string(body, "target"),
        value: body.get("value").and_then(Value::as_f64),
        context: ActionContext {
            session_id,
            trajectory_id,
            objective,
            model_selection,
            metadata,
        },
        decision_mode: None,
    };
    let dry_run = body.get("dry_run").and_then(Value::as_bool) == Some(true);
    (action, dry_run)
}

/// An accepted outcome body as a report. The service's statuses beyond the four the
/// engine knows (`ESCALATION`, `CORRECTION`) are recorded as `PARTIAL` and `FAILURE`, with
/// the status sent kept in `details.reported_status`.
pub fn outcome_report(body: &Map<String, Value>) -> OutcomeReport {
    let sent = string(body, "status").unwrap_or_default();
    let status = match sent.as_str() {
        "SUCCESS" => OutcomeStatus::Success,
        "BLOCKED" => OutcomeStatus::Blocked,
        "PARTIAL" | "ESCALATION" => OutcomeStatus::Partial,
        _ => OutcomeStatus::Failure,
    };
    let mut details = match body.get("details") {
        Some(Value::Object(d)) => d.clone(),
        _ => Map::new(),
    };
    if status.as_str() != sent {
        details.insert("reported_status".into(), json!(sent));
    }
    OutcomeReport {
        status,
        request_id: string(body, "request_id"),
        description: string(body, "description"),
        details,
        correction_needed: body.get("correction_needed").and_then(Value::as_bool) == Some(true),
    }
}

/// An accepted memory body as a batch; redaction is on unless the body turns it off (the
/// store redacts secret-looking keys either way).
pub fn memory_batch(body: &Map<String, Value>) -> MemoryBatch {
    let events = body
        .get("events")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut batch = MemoryBatch::new(string(body, "source").unwrap_or_default(), events);
    batch.source_version = string(body, "source_version");
    batch.actor = string(body, "actor");
    batch.domain = string(body, "domain");
    batch.model = string(body, "model");
    batch.trace_id = string(body, "trace_id");
    batch.redact = body.get("redact").and_then(Value::as_bool) != Some(false);
    if let Some(policy) = string(body, "redaction_policy") {
        batch.redaction_policy = policy;
    }
    batch
}

/// An accepted resolve body as a resolution; `resolved_by` defaults to the caller. An
/// approval may carry `better_action: true` or edited `arguments` (extensions the hosted
/// service does not know), which the engine decides before the approval binds them.
pub fn resolution(body: &Map<String, Value>, caller: &str) -> ApprovalResolution {
    let resolution = if body.get("resolution").and_then(Value::as_str) == Some("approved") {
        Resolution::Approved
    } else {
        Resolution::Rejected
    };
    ApprovalResolution {
        resolution,
        comment: string(body, "comment"),
        resolved_by: string(body, "resolved_by").or_else(|| Some(format!("api-key:{caller}"))),
        arguments: body.get("arguments").filter(|a| a.is_object()).cloned(),
        better_action: body.get("better_action").and_then(Value::as_bool) == Some(true),
    }
}

/// A claim of an approved approval for one execution of one call: what the agent about to
/// run it says it will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The tool about to run.
    pub tool: String,
    /// The SHA-256 (64 lowercase hex digits) of the canonical JSON of its arguments, as
    /// `ProposedAction::approval_digest` computes it.
    pub arguments_sha256: String,
}

/// The claim an accepted resolve body makes, if any (`claim: true`); `Err` holds the
/// `detail` list of the 422 answer.
///
/// A claim is `{"resolution": "approved", "claim": true, "tool": ..., "arguments_sha256": ...}`:
/// an extension of the resolve contract (extra fields, which the hosted service ignores).
/// `tool` and `arguments_sha256` are required with it, and only an approval can be claimed.
pub fn claim(body: &Map<String, Value>) -> Result<Option<ClaimRequest>, Value> {
    if body.get("claim").and_then(Value::as_bool) != Some(true) {
        return Ok(None);
    }
    let mut errors = Vec::new();
    if body.get("resolution").and_then(Value::as_str) != Some("approved") {
        errors.push(error(
            &[json!("resolution")],
            "a claim is made for an approval: resolution must be 'approved'",
            "value_error",
        ));
    }
    let tool = string(body, "tool").filter(|t| !t.is_empty());
    if tool.is_none() {
        errors.push(error(
            &[json!("tool")],
            "field required with claim",
            "value_error.missing",
        ));
    }
    let digest = string(body, "arguments_sha256")
        .filter(|d| d.len() == 64 && d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if digest.is_none() {
        errors.push(error(
            &[json!("arguments_sha256")],
            "expected 64 lowercase hexadecimal digits with claim",
            "value_error",
        ));
    }
    match (tool, digest) {
        (Some(tool), Some(arguments_sha256)) if errors.is_empty() => Ok(Some(ClaimRequest {
            tool,
            arguments_sha256,
        })),
        _ => Err(Value::Array(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(endpoint: BodyEndpoint, body: &str) -> Map<String, Value> {
        check_body(endpoint, Some("application/json"), body.as_bytes()).unwrap()
    }

    #[test]
    fn evaluate_body_becomes_the_action_remote_bighub_described() {
        let body = ok(
            BodyEndpoint::Evaluate,
            r#"{"action": "okta_grant", "actor": "ops", "target": "okta-admins",
                "context": {"tool": "grant_access", "arguments": {"duration": "48h"},
                "system": "okta", "risk": "high", "environment": "production",
                "objective": "better_decision", "app": "payments", "secret_args": ["token"]}}"#,
        );
        let (action, dry_run) = evaluate_action(&body);
        assert!(!dry_run);
        assert_eq!(action.tool, "grant_access");
        assert_eq!(action.action, "okta_grant");
        assert_eq!(action.arguments, json!({"duration": "48h"}));
        assert_eq!(action.risk, Some(RiskLevel::High));
        assert_eq!(action.system.as_deref(), Some("okta"));
        assert_eq!(action.context.objective.as_deref(), Some("better_decision"));
        assert_eq!(
            Value::Object(action.context.metadata),
            json!({"app": "payments", "secret_args": ["token"]})
        );
    }

    #[test]
    fn a_bare_body_gets_the_defaults() {
        let (action, _) = evaluate_action(&ok(BodyEndpoint::Evaluate, r#"{"action": "deploy"}"#));
        assert_eq!(action.tool, "deploy");
        assert_eq!(action.actor, DEFAULT_ACTOR);
        assert_eq!(action.arguments, json!({}));
        let (action, dry) = evaluate_action(&ok(
            BodyEndpoint::Evaluate,
            r#"{"action": "deploy", "dry_run": true, "context": {"risk": "extreme"}}"#,
        ));
        assert!(dry);
        assert_eq!(action.risk, None);
        assert_eq!(action.context.metadata["risk"], "extreme");
    }

    #[test]
    fn outcome_statuses_beyond_the_engine_are_kept() {
        let report = outcome_report(&ok(
            BodyEndpoint::ReportOutcome,
            r#"{"status": "ESCALATION", "request_id": "r"}"#,
        ));
        assert_eq!(report.status, OutcomeStatus::Partial);
        assert_eq!(report.details["reported_status"], "ESCALATION");
    }

    #[test]
    fn rejections() {
        let d = check_body(BodyEndpoint::Evaluate, Some("text/plain"), b"{}").unwrap_err();
        assert_eq!(d[0]["type"], "type_error.dict");
        let d = check_body(
            BodyEndpoint::IngestMemory,
            None,
            br#"{"source":"s","events":[1]}"#,
        )
        .unwrap_err();
        assert_eq!(d[0]["loc"], json!(["body", "events", 0]));
    }
}
