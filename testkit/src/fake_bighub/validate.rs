//! What the fake BIGHUB accepts: request bodies checked field by field, rejected the way
//! the service (FastAPI) rejects them.
//!
//! This file owns the body rules of each endpoint and the 422 `detail` it produces; auth,
//! routing and scripted replies live in `fake_bighub.rs`.
//!
//! The rules are stricter than the service on one point: a string field does not accept a
//! number (the service would coerce it), so a client sending the wrong JSON type is caught.
//! Unknown fields are ignored, as the service does.

use serde_json::{Value, json};

use super::Endpoint;

/// Outcome statuses the service knows.
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

/// The JSON type a field must have.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Number,
    Bool,
    Object,
    ArrayOfObjects,
    OneOf(&'static [&'static str]),
}

/// Whether a field must be present, and whether `null` is accepted.
#[derive(Clone, Copy, PartialEq)]
enum Presence {
    /// Must be present and not null.
    Required,
    /// May be absent; not null when present (a field with a non-null default).
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
];

fn rules(endpoint: Endpoint) -> &'static [Field] {
    match endpoint {
        Endpoint::Evaluate => EVALUATE,
        Endpoint::ReportOutcome => REPORT_OUTCOME,
        Endpoint::IngestMemory => INGEST_MEMORY,
        Endpoint::ResolveApproval => RESOLVE_APPROVAL,
    }
}

/// Checks a request body; `Err` holds the FastAPI-style `detail` array of a 422.
pub(crate) fn check_body(
    endpoint: Endpoint,
    content_type: Option<&str>,
    raw: &[u8],
) -> Result<Value, Value> {
    // FastAPI parses the body as JSON when the content type is absent or JSON; any other
    // content type leaves raw bytes, which fail the model.
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
    let Some(object) = body.as_object() else {
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
            Some(Value::Null) => {
                errors.push(error(
                    &loc,
                    "none is not an allowed value",
                    "type_error.none.not_allowed",
                ));
            }
            Some(value) => check_kind(rule.kind, value, &loc, &mut errors),
        }
    }
    if errors.is_empty() {
        Ok(body)
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
        ArrayOfObjects => ("value is not a valid list".to_owned(), "type_error.list"),
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

/// One FastAPI error entry located under `body`.
fn error(loc: &[Value], msg: &str, ty: &str) -> Value {
    let mut full = vec![json!("body")];
    full.extend_from_slice(loc);
    json!({"loc": full, "msg": msg, "type": ty})
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

/// The byte offset of a 1-based line and column, as the service reports JSON errors.
fn byte_offset(raw: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = raw
        .split(|b| *b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + column.saturating_sub(1)).min(raw.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(endpoint: Endpoint, body: &str) -> Value {
        check_body(endpoint, Some("application/json"), body.as_bytes()).unwrap_err()
    }

    #[test]
    fn evaluate_rules() {
        assert!(check_body(Endpoint::Evaluate, None, br#"{"action":"a"}"#).is_ok());
        assert!(
            check_body(
                Endpoint::Evaluate,
                Some("application/json; charset=utf-8"),
                br#"{"action":"a","value":null,"target":null,"domain":null,"context":{}}"#
            )
            .is_ok()
        );
        let d = detail(
            Endpoint::Evaluate,
            r#"{"actor": null, "value": "3", "context": []}"#,
        );
        let locs: Vec<String> = d
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["loc"][1].as_str().unwrap(),
                    e["type"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            locs,
            [
                "action:value_error.missing",
                "actor:type_error.none.not_allowed",
                "value:type_error.float",
                "context:type_error.dict"
            ]
        );
    }

    #[test]
    fn body_level_errors() {
        let wrong_type = check_body(Endpoint::Evaluate, Some("text/plain"), b"{}").unwrap_err();
        assert_eq!(wrong_type[0]["type"], "type_error.dict");
        let not_json = detail(Endpoint::Evaluate, "{\"action\": ");
        assert_eq!(not_json[0]["type"], "value_error.jsondecode");
        let empty = detail(Endpoint::Evaluate, "");
        assert_eq!(empty[0]["loc"], json!(["body"]));
        let array = detail(Endpoint::Evaluate, "[]");
        assert_eq!(array[0]["type"], "type_error.dict");
    }

    #[test]
    fn ingest_events_must_be_objects() {
        let d = detail(
            Endpoint::IngestMemory,
            r#"{"source": "s", "events": [{}, 3]}"#,
        );
        assert_eq!(d[0]["loc"], json!(["body", "events", 1]));
    }

    #[test]
    fn enums() {
        let d = detail(Endpoint::ResolveApproval, r#"{"resolution": "maybe"}"#);
        assert_eq!(d[0]["type"], "type_error.enum");
        let d = detail(
            Endpoint::ReportOutcome,
            r#"{"status": "success", "request_id": "r"}"#,
        );
        assert_eq!(d[0]["loc"], json!(["body", "status"]));
    }
}
