//! JSON builders for the `Response` object and its output items, in the real REST shape.
//!
//! Owns the item shapes (`message`, `function_call`, `reasoning`, the client-side calls
//! `computer_call`, `local_shell_call`, `shell_call`, `apply_patch_call`, `custom_tool_call`;
//! raw items pass through as given) and the response envelope (echoed request settings, `usage`, `status`, `error`,
//! `incomplete_details`). The real REST API does not send the SDK-only `output_text`
//! convenience field; it is added only when configured. A turn built with
//! [`Turn::omit_status`](super::Turn::omit_status) has no `status` field once finished.
//! Does not send anything (see the server and `sse`).
//!
//! | phase | `status` | `output` | `usage` | set only here |
//! |---|---|---|---|---|
//! | background, not started | `queued` | `[]` | null | |
//! | being generated | `in_progress` | `[]` | null | |
//! | finished, completed | `completed` | the turn's items | estimate | `completed_at` |
//! | finished, [`Turn::incomplete`](super::Turn::incomplete) | `incomplete` | the items, the last one `incomplete` | estimate | `incomplete_details.reason` |
//! | finished, [`Turn::failed`](super::Turn::failed) | `failed` | the turn's items | estimate | `error.code`, `error.message` |
//! | finished, [`Turn::cancelled`](super::Turn::cancelled) | `cancelled` | the turn's items | estimate | |

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::ids::{new_call_id, new_encrypted_content, new_id};
use super::script::{OutputSpec, Turn, TurnEnd};
use super::validate::Validated;

/// The fixed parts of one response: id, creation time, and what the request asked for.
#[derive(Debug, Clone)]
pub(crate) struct ResponseMeta {
    pub id: String,
    pub created_at: u64,
    pub body: Value,
    pub validated: Validated,
    pub include_output_text: bool,
    /// The finished response object has no `status` field.
    pub omit_status: bool,
}

impl ResponseMeta {
    pub(crate) fn new(
        body: Value,
        validated: Validated,
        include_output_text: bool,
        omit_status: bool,
    ) -> Self {
        Self {
            id: new_id("resp"),
            created_at: now_secs(),
            body,
            validated,
            include_output_text,
            omit_status,
        }
    }
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Completed output items for `turn` (one per [`OutputSpec`], in order; raw items as given),
/// and the encrypted blobs issued for them.
pub(crate) fn build_items(turn: &Turn, include_encrypted: bool) -> (Vec<Value>, Vec<String>) {
    let mut issued = Vec::new();
    let mut items: Vec<Value> = turn
        .items()
        .iter()
        .map(|spec| match spec {
            OutputSpec::Message { text } => json!({
                "type": "message",
                "id": new_id("msg"),
                "status": "completed",
                "role": "assistant",
                "content": [output_text_part(text)],
            }),
            OutputSpec::FunctionCall {
                name,
                arguments,
                call_id,
            } => json!({
                "type": "function_call",
                "id": new_id("fc"),
                "call_id": call_id.clone().unwrap_or_else(new_call_id),
                "name": name,
                "arguments": arguments,
                "status": "completed",
            }),
            OutputSpec::Reasoning { summary } => {
                let mut item = json!({
                    "type": "reasoning",
                    "id": new_id("rs"),
                    "summary": summary
                        .iter()
                        .map(|text| json!({"type": "summary_text", "text": text}))
                        .collect::<Vec<_>>(),
                });
                if include_encrypted {
                    let blob = new_encrypted_content();
                    item["encrypted_content"] = json!(blob);
                    issued.push(blob);
                }
                item
            }
            OutputSpec::ComputerCall { action, call_id } => json!({
                "type": "computer_call",
                "id": new_id("cu"),
                "call_id": call_id.clone().unwrap_or_else(new_call_id),
                "action": action,
                "pending_safety_checks": [],
                "status": "completed",
            }),
            OutputSpec::LocalShellCall { command, call_id } => json!({
                "type": "local_shell_call",
                "id": new_id("lsh"),
                "call_id": call_id.clone().unwrap_or_else(new_call_id),
                "action": {
                    "type": "exec",
                    "command": command,
                    "env": {},
                    "timeout_ms": null,
                    "user": null,
                    "working_directory": null,
                },
                "status": "completed",
            }),
            OutputSpec::ShellCall { commands, call_id } => json!({
                "type": "shell_call",
                "id": new_id("sh"),
                "call_id": call_id.clone().unwrap_or_else(new_call_id),
                "action": {"commands": commands, "timeout_ms": null, "max_output_length": null},
                "status": "completed",
                "environment": null,
            }),
            OutputSpec::ApplyPatchCall { operation, call_id } => json!({
                "type": "apply_patch_call",
                "id": new_id("apc"),
                "call_id": call_id.clone().unwrap_or_else(new_call_id),
                "status": "completed",
                "operation": operation,
            }),
            OutputSpec::CustomToolCall {
                name,
                input,
                call_id,
            } => json!({
                "type": "custom_tool_call",
                "id": new_id("ctc"),
                "call_id": call_id.clone().unwrap_or_else(new_call_id),
                "name": name,
                "input": input,
                "status": "completed",
            }),
            OutputSpec::Raw(item) => item.clone(),
        })
        .collect();
    // The item being generated when the response was cut off is itself unfinished:
    // `incomplete`, or `in_progress` for apply_patch_call, whose status has no `incomplete`.
    if matches!(turn.end(), TurnEnd::Incomplete { .. })
        && !matches!(turn.items().last(), Some(OutputSpec::Raw(_)))
        && let Some(last) = items.last_mut().and_then(Value::as_object_mut)
        && last.contains_key("status")
    {
        let unfinished = match last.get("type").and_then(Value::as_str) {
            Some("apply_patch_call") => "in_progress",
            _ => "incomplete",
        };
        last.insert("status".into(), json!(unfinished));
    }
    (items, issued)
}

pub(crate) fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// The item as first announced in a stream (`response.output_item.added`): in progress, with
/// empty text, arguments, input or summary.
pub(crate) fn in_progress_item(item: &Value) -> Value {
    let mut item = item.clone();
    match item.get("type").and_then(Value::as_str) {
        Some("message") => {
            item["status"] = json!("in_progress");
            item["content"] = json!([]);
        }
        Some("function_call") => {
            item["status"] = json!("in_progress");
            item["arguments"] = json!("");
        }
        Some("custom_tool_call") => {
            item["status"] = json!("in_progress");
            item["input"] = json!("");
        }
        Some("computer_call" | "local_shell_call" | "shell_call" | "apply_patch_call") => {
            item["status"] = json!("in_progress");
        }
        Some("reasoning") => {
            item["summary"] = json!([]);
            if let Some(obj) = item.as_object_mut() {
                obj.remove("encrypted_content");
            }
        }
        _ => {}
    }
    item
}

fn echo(body: &Value, field: &str, default: Value) -> Value {
    match body.get(field) {
        Some(v) if !v.is_null() => v.clone(),
        _ => default,
    }
}

/// Rough token count: a quarter of the JSON length, at least 1 when there is content.
fn estimate_tokens(items: &[Value]) -> u64 {
    let chars: usize = items.iter().map(|i| i.to_string().len()).sum();
    chars.div_ceil(4) as u64
}

/// Where a response is in its life, as one response object shows it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Phase<'a> {
    /// Accepted in background mode, not started: `queued`, no output, no usage.
    Queued,
    /// Being generated: `in_progress`, no usage.
    InProgress,
    /// Finished the way the turn ends.
    Finished(&'a TurnEnd),
}

impl Phase<'_> {
    fn status(&self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::InProgress => "in_progress",
            Phase::Finished(end) => end.status(),
        }
    }
}

/// The `Response` object in `phase`, with these output items. A finished response carries
/// `usage`, `error` (failed) or `incomplete_details` (incomplete), and `completed_at`
/// (completed); it has no `status` field at all when the turn says so.
pub(crate) fn response_json(meta: &ResponseMeta, phase: Phase<'_>, output: &[Value]) -> Value {
    let body = &meta.body;
    let status = phase.status();
    let end = match phase {
        Phase::Finished(end) => Some(end),
        Phase::Queued | Phase::InProgress => None,
    };
    let usage = if end.is_some() {
        let input_tokens = estimate_tokens(&meta.validated.context);
        let output_tokens = estimate_tokens(output);
        let reasoning_tokens = output
            .iter()
            .filter(|i| i.get("type").and_then(Value::as_str) == Some("reasoning"))
            .count() as u64
            * 16;
        json!({
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens + reasoning_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens + reasoning_tokens,
        })
    } else {
        Value::Null
    };
    let mut obj = Map::new();
    obj.insert("id".into(), json!(meta.id));
    obj.insert("object".into(), json!("response"));
    obj.insert("created_at".into(), json!(meta.created_at));
    if !(end.is_some() && meta.omit_status) {
        obj.insert("status".into(), json!(status));
    }
    obj.insert("background".into(), json!(meta.validated.background));
    obj.insert(
        "completed_at".into(),
        if status == "completed" {
            json!(now_secs())
        } else {
            Value::Null
        },
    );
    obj.insert(
        "error".into(),
        match end {
            Some(TurnEnd::Failed { code, message }) => json!({"code": code, "message": message}),
            _ => Value::Null,
        },
    );
    obj.insert(
        "incomplete_details".into(),
        match end {
            Some(TurnEnd::Incomplete { reason }) => json!({"reason": reason}),
            _ => Value::Null,
        },
    );
    obj.insert(
        "instructions".into(),
        echo(body, "instructions", Value::Null),
    );
    obj.insert(
        "max_output_tokens".into(),
        echo(body, "max_output_tokens", Value::Null),
    );
    obj.insert("model".into(), json!(meta.validated.model));
    obj.insert("output".into(), json!(output));
    obj.insert(
        "parallel_tool_calls".into(),
        echo(body, "parallel_tool_calls", json!(true)),
    );
    obj.insert(
        "previous_response_id".into(),
        json!(meta.validated.previous_response_id),
    );
    obj.insert(
        "reasoning".into(),
        echo(body, "reasoning", json!({"effort": null, "summary": null})),
    );
    obj.insert("service_tier".into(), json!("default"));
    obj.insert("store".into(), json!(meta.validated.store));
    obj.insert("temperature".into(), echo(body, "temperature", json!(1.0)));
    obj.insert(
        "text".into(),
        echo(body, "text", json!({"format": {"type": "text"}})),
    );
    obj.insert(
        "tool_choice".into(),
        echo(body, "tool_choice", json!("auto")),
    );
    obj.insert("tools".into(), json!(meta.validated.tools));
    obj.insert("top_p".into(), echo(body, "top_p", json!(1.0)));
    obj.insert(
        "truncation".into(),
        echo(body, "truncation", json!("disabled")),
    );
    obj.insert("usage".into(), usage);
    obj.insert("user".into(), echo(body, "user", Value::Null));
    obj.insert("metadata".into(), echo(body, "metadata", json!({})));
    if meta.include_output_text {
        obj.insert("output_text".into(), json!(aggregate_text(output)));
    }
    Value::Object(obj)
}

/// The concatenated `output_text` parts of all messages (what SDKs expose as `output_text`).
pub(crate) fn aggregate_text(output: &[Value]) -> String {
    output
        .iter()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("message"))
        .flat_map(|i| {
            i.get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("output_text"))
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect()
}
