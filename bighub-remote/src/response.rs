//! Reading one HTTP answer from BIGHUB into a JSON value or a typed [`Error`].
//!
//! This file owns the status-to-error mapping and the readable summaries of error bodies;
//! whether to retry is decided with `retry.rs`, and the loop lives in `client.rs`.

use std::time::Duration;

use serde_json::Value;

use bighub_core::Error;
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};

use crate::retry::RetryPolicy;

/// How many characters of an error body [`Error::Status`] keeps.
pub(crate) const MAX_ERROR_BODY_CHARS: usize = 500;

/// The endpoint a request went to, as far as reading its answer is concerned.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op<'a> {
    /// `POST /actions/evaluate`: answers a decision object.
    Evaluate,
    /// `POST /outcomes/report`: the answer is not used.
    ReportOutcome,
    /// `POST /actions/memory/ingest`: the answer is not used.
    IngestMemory,
    /// `POST /approvals/{request_id}/resolve`: answers the resolution record.
    ResolveApproval {
        /// The approval's request id.
        request_id: &'a str,
    },
    /// `GET /approvals` or `GET /decisions`: answers a JSON array.
    List,
    /// `GET /approvals/{request_id}`: answers the approval, or null when the service has
    /// none to show (404).
    GetApproval,
    /// `POST /approvals/{request_id}/resolve` with a claim (`claim: true`, the tool and the
    /// arguments' digest): answers the approval as it now stands.
    ClaimApproval {
        /// The approval's request id.
        request_id: &'a str,
        /// The tool about to run.
        tool: &'a str,
    },
    /// `PUT /runs/{run_id}`: keeps a paused durable run.
    SaveRun,
    /// `POST /runs/claim`: answers `{"runs": [...]}`.
    ClaimRuns,
    /// `POST /runs/{run_id}/complete`: 409 means the lease no longer holds the run.
    CompleteRun {
        /// The run.
        run_id: &'a str,
    },
}

impl Op<'_> {
    /// Whether a success must carry a JSON object (the caller uses it).
    fn needs_object(self) -> bool {
        matches!(
            self,
            Op::Evaluate
                | Op::ResolveApproval { .. }
                | Op::ClaimApproval { .. }
                | Op::GetApproval
                | Op::ClaimRuns
        )
    }
}

/// What to do with one answer.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Final: the parsed body, or an error no retry can fix.
    Done(Result<Value, Error>),
    /// Transient: `error` is what the caller gets if no retry is left.
    Retry {
        /// The error for this attempt.
        error: Error,
        /// How long the service asked to wait, when it said.
        retry_after: Option<Duration>,
    },
}

/// Reads an answer with `status`, its `Retry-After` (already parsed) and `body`.
pub(crate) fn read_answer(
    op: Op<'_>,
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> Answer {
    if (200..300).contains(&status) {
        return Answer::Done(read_success(op, body));
    }
    let json: Option<Value> = serde_json::from_str(body).ok();
    let detail = json.as_ref().and_then(|j| j.get("detail")).cloned();

    let refused = |request_id: &str, refusal| {
        Answer::Done(Err(Error::Approval(ApprovalRefused::new(
            request_id, refusal,
        ))))
    };
    if let Op::ClaimApproval { request_id, tool } = op {
        match status {
            404 => return refused(request_id, ApprovalRefusal::NotFound),
            409 => return refused(request_id, claim_refusal(tool, detail.as_ref())),
            _ => {}
        }
    }
    if let Op::ResolveApproval { request_id } = op {
        match status {
            404 => return refused(request_id, ApprovalRefusal::NotFound),
            409 => {
                // An answer the approval's terms refuse names its reason (expired, a
                // separate approver required, ...); a second resolution names none.
                let named = detail
                    .as_ref()
                    .and_then(|d| d.get("reason").and_then(Value::as_str).map(|r| (r, d)))
                    .and_then(|(reason, d)| ApprovalRefusal::from_reason(reason, d, ""));
                let refusal = named.unwrap_or_else(|| ApprovalRefusal::AlreadyResolved {
                    resolution: earlier_resolution(detail.as_ref()),
                });
                return refused(request_id, refusal);
            }
            _ => {}
        }
    }
    if matches!(op, Op::GetApproval) && status == 404 {
        // The hosted service shows no single approval; `bighub serve` knows none by this id.
        return Answer::Done(Ok(Value::Null));
    }

    match (op, status) {
        (Op::CompleteRun { run_id }, 409) => {
            return Answer::Done(Err(Error::LeaseLost {
                run_id: run_id.to_owned(),
            }));
        }
        // A run id taken by another key or a live lease: an answer, not a transient state.
        (Op::SaveRun, 409) => {
            return Answer::Done(Err(Error::Status {
                status,
                body: truncate(body),
            }));
        }
        _ => {}
    }

    let error = match status {
        401 | 403 => Error::Auth {
            status,
            message: detail
                .as_ref()
                .map(detail_text)
                .unwrap_or_else(|| fallback_text(status, body)),
        },
        422 => {
            let detail = detail.unwrap_or_else(|| Value::String(truncate(body)));
            Error::Validation {
                message: summarize_detail(&detail),
                detail,
            }
        }
        429 => Error::RateLimited { retry_after },
        _ => Error::Status {
            status,
            body: truncate(body),
        },
    };
    if RetryPolicy::is_retryable_status(status) {
        Answer::Retry { error, retry_after }
    } else {
        Answer::Done(Err(error))
    }
}

fn read_success(op: Op<'_>, body: &str) -> Result<Value, Error> {
    if body.trim().is_empty() && !op.needs_object() {
        return Ok(Value::Null);
    }
    let value: Value = serde_json::from_str(body).map_err(|e| {
        Error::InvalidResponse(format!("body is not JSON ({e}): {}", truncate(body)))
    })?;
    if matches!(op, Op::List) && !value.is_array() {
        return Err(Error::InvalidResponse(format!(
            "expected a JSON array, got {}: {}",
            kind(&value),
            truncate(body)
        )));
    }
    if op.needs_object() && !value.is_object() {
        return Err(Error::InvalidResponse(format!(
            "expected a JSON object, got {}: {}",
            kind(&value),
            truncate(body)
        )));
    }
    Ok(value)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A one-line reading of a FastAPI `detail`: `"body.action: field required; ..."`.
pub(crate) fn summarize_detail(detail: &Value) -> String {
    match detail {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| {
                let loc = item.get("loc").and_then(Value::as_array).map(|parts| {
                    parts
                        .iter()
                        .map(|p| match p {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(".")
                });
                let msg = item
                    .get("msg")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| item.to_string());
                match loc {
                    Some(loc) if !loc.is_empty() => format!("{loc}: {msg}"),
                    _ => msg,
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => detail_text(other),
    }
}

/// A `detail` as text: strings as they are, anything else as compact JSON, cut short.
fn detail_text(detail: &Value) -> String {
    match detail {
        Value::String(s) => truncate(s),
        other => truncate(&other.to_string()),
    }
}

fn fallback_text(status: u16, body: &str) -> String {
    if body.trim().is_empty() {
        match status {
            401 => "unauthorized".to_owned(),
            403 => "forbidden".to_owned(),
            _ => format!("HTTP {status}"),
        }
    } else {
        truncate(body)
    }
}

/// The earlier resolution named in a 409 detail, else the detail itself.
fn earlier_resolution(detail: Option<&Value>) -> String {
    match detail {
        Some(Value::Object(map)) => ["resolution", "status"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str))
            .map(str::to_owned)
            .unwrap_or_else(|| truncate(&Value::Object(map.clone()).to_string())),
        Some(Value::String(s)) => truncate(s),
        _ => "unknown".to_owned(),
    }
}

/// A claim's 409: the refusal its `detail.reason` names, or, from a service that does not
/// know claims (it read the claim as a second resolution), already resolved.
fn claim_refusal(tool: &str, detail: Option<&Value>) -> ApprovalRefusal {
    let reason = detail.and_then(|d| d.get("reason")).and_then(Value::as_str);
    reason
        .and_then(|reason| ApprovalRefusal::from_reason(reason, detail?, tool))
        .unwrap_or_else(|| ApprovalRefusal::AlreadyResolved {
            resolution: earlier_resolution(detail),
        })
}

/// Cuts `text` to [`MAX_ERROR_BODY_CHARS`] characters, marking the cut.
pub(crate) fn truncate(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_ERROR_BODY_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fastapi_detail_reads_as_one_line() {
        let detail = json!([
            {"loc": ["body", "action"], "msg": "field required", "type": "value_error.missing"},
            {"loc": ["body", "events", 0], "msg": "value is not a valid dict", "type": "type_error.dict"}
        ]);
        assert_eq!(
            summarize_detail(&detail),
            "body.action: field required; body.events.0: value is not a valid dict"
        );
        assert_eq!(summarize_detail(&json!("bad input")), "bad input");
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(MAX_ERROR_BODY_CHARS + 10);
        let cut = truncate(&body);
        assert_eq!(cut.chars().count(), MAX_ERROR_BODY_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn evaluate_needs_an_object_but_reports_accept_an_empty_body() {
        assert!(matches!(
            read_answer(Op::Evaluate, 200, None, "[1]"),
            Answer::Done(Err(Error::InvalidResponse(_)))
        ));
        assert!(matches!(
            read_answer(Op::ReportOutcome, 204, None, ""),
            Answer::Done(Ok(Value::Null))
        ));
    }

    #[test]
    fn resolve_conflicts_name_the_earlier_resolution() {
        let answer = read_answer(
            Op::ResolveApproval {
                request_id: "req_1",
            },
            409,
            None,
            r#"{"detail": {"resolution": "rejected"}}"#,
        );
        match answer {
            Answer::Done(Err(Error::Approval(ApprovalRefused {
                request_id,
                refusal: ApprovalRefusal::AlreadyResolved { resolution },
                ..
            }))) => {
                assert_eq!(request_id, "req_1");
                assert_eq!(resolution, "rejected");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
