//! What the loop needs from one Responses API answer: its id and status, its function calls
//! and hosted MCP approval requests, the hosted MCP calls and tool lists, the client-side
//! calls it cannot run, its text, and the raw JSON (replayed as sent).
//!
//! One lenient reader serves the non-streamed answer and the streamed `response.completed`:
//! it reads the JSON directly, so an OpenAI-compatible server that omits a field or adds an
//! item type is still understood. Only an answer without an `id` or an `output` list is an
//! error. A missing `status` reads as `completed` (the field is optional in the spec, and a
//! `response.completed` event says so itself).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::call::{CallKind, FunctionCall};
use crate::Error;

#[derive(Debug, Clone)]
pub(crate) struct ModelResponse {
    pub(crate) raw: Value,
    pub(crate) id: String,
    /// `completed`, `incomplete`, `failed`, `cancelled`, `queued` or `in_progress`.
    pub(crate) status: String,
    pub(crate) calls: Vec<FunctionCall>,
    /// Calls of tools the model runs on the client side (shell, apply_patch, ...) that this
    /// agent does not execute.
    pub(crate) client_calls: Vec<ClientCall>,
    /// The API's `output_text` when sent, else the output messages' text parts joined.
    pub(crate) output_text: Option<String>,
    /// Calls the API made to hosted MCP servers (after their approval).
    pub(crate) mcp_calls: Vec<McpCall>,
    /// Tool lists the API fetched from hosted MCP servers.
    pub(crate) mcp_tool_lists: Vec<McpToolList>,
}

/// An `mcp_call` item: a hosted MCP call the API made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct McpCall {
    pub(crate) id: String,
    pub(crate) server_label: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
    pub(crate) output: Option<String>,
    pub(crate) error: Option<String>,
    /// The approval request it ran under, when the API names it.
    pub(crate) approval_request_id: Option<String>,
}

/// The tools a hosted MCP server offered, from an `mcp_list_tools` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolList {
    /// The item's id.
    pub id: String,
    /// The server's label.
    pub server_label: String,
    /// The tools as the API listed them (`name`, `description`, `input_schema`, ...).
    pub tools: Vec<Value>,
    /// The error the API got listing them, if any.
    pub error: Option<String>,
}

/// A client-side call item this agent does not execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientCall {
    /// The item type, e.g. `local_shell_call`.
    pub(crate) item_type: String,
    /// The tool it names: a custom tool's name, else the kind of tool (`shell`, ...).
    pub(crate) tool: String,
    pub(crate) call_id: String,
}

/// Output item types that are not client-side calls: the API runs these tools itself (an
/// `mcp_approval_request` is a call to decide: see `from_raw`).
const HOSTED_ITEM_TYPES: &[&str] = &[
    "message",
    "reasoning",
    "function_call",
    "web_search_call",
    "file_search_call",
    "code_interpreter_call",
    "image_generation_call",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
    "compaction",
];

impl ClientCall {
    /// The output item that answers this call with `error`, so the conversation stays
    /// valid; `None` for calls whose output cannot carry an error (a computer call must
    /// answer with a screenshot) or whose output type is unknown.
    pub(crate) fn error_output(&self, error: &str) -> Option<Value> {
        let call_id = &self.call_id;
        Some(match self.item_type.as_str() {
            // `id` is the call's id too, as the API documents it; newer APIs link by `call_id`.
            "local_shell_call" => json!({
                "type": "local_shell_call_output",
                "id": call_id,
                "call_id": call_id,
                "output": json!({"error": error}).to_string(),
            }),
            "shell_call" => json!({
                "type": "shell_call_output",
                "call_id": call_id,
                "output": [{
                    "stdout": "",
                    "stderr": error,
                    "outcome": {"type": "exit", "exit_code": 1},
                }],
            }),
            "apply_patch_call" => json!({
                "type": "apply_patch_call_output",
                "call_id": call_id,
                "status": "failed",
                "output": error,
            }),
            "custom_tool_call" => json!({
                "type": "custom_tool_call_output",
                "call_id": call_id,
                "output": error,
            }),
            _ => return None,
        })
    }
}

impl ModelResponse {
    pub(crate) fn from_raw(raw: Value) -> Result<Self, Error> {
        let id = raw
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::ProviderResponse("the answer has no response `id`".to_owned()))?
            .to_owned();
        let output = raw
            .get("output")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::ProviderResponse("the answer has no `output` list".to_owned()))?;
        let status = raw
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("completed")
            .to_owned();
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut calls = Vec::new();
        let mut client_calls = Vec::new();
        let (mut mcp_calls, mut mcp_tool_lists) = (Vec::new(), Vec::new());
        for item in output {
            let item_type = item.get("type").and_then(Value::as_str).unwrap_or_default();
            if item_type == "function_call" {
                calls.push(FunctionCall::function(
                    text(item, "name").unwrap_or_default(),
                    text(item, "call_id").unwrap_or_default(),
                    text(item, "arguments").unwrap_or_default(),
                ));
            } else if item_type == "mcp_approval_request" {
                // Decided like a function call; its answer is an `mcp_approval_response`.
                calls.push(FunctionCall {
                    name: text(item, "name").unwrap_or_default(),
                    call_id: text(item, "id").unwrap_or_default(),
                    arguments: text(item, "arguments").unwrap_or_default(),
                    kind: CallKind::HostedMcpApproval {
                        server_label: text(item, "server_label").unwrap_or_default(),
                    },
                });
            } else if item_type == "mcp_call" {
                mcp_calls.push(McpCall {
                    id: text(item, "id").unwrap_or_default(),
                    server_label: text(item, "server_label").unwrap_or_default(),
                    name: text(item, "name").unwrap_or_default(),
                    arguments: text(item, "arguments").unwrap_or_default(),
                    output: text(item, "output"),
                    error: item.get("error").filter(|e| !e.is_null()).map(|e| match e {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }),
                    approval_request_id: text(item, "approval_request_id"),
                });
            } else if item_type == "mcp_list_tools" {
                mcp_tool_lists.push(McpToolList {
                    id: text(item, "id").unwrap_or_default(),
                    server_label: text(item, "server_label").unwrap_or_default(),
                    tools: item
                        .get("tools")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    error: text(item, "error"),
                });
            } else if !HOSTED_ITEM_TYPES.contains(&item_type)
                && let Some(call_id) = text(item, "call_id")
            {
                let tool = text(item, "name").unwrap_or_else(|| {
                    item_type
                        .strip_suffix("_call")
                        .unwrap_or(item_type)
                        .to_owned()
                });
                client_calls.push(ClientCall {
                    item_type: item_type.to_owned(),
                    tool,
                    call_id,
                });
            }
        }
        let joined: String = output
            .iter()
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("message"))
            .filter_map(|item| item.get("content").and_then(Value::as_array))
            .flatten()
            .filter(|part| part.get("type").and_then(Value::as_str) == Some("output_text"))
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect();
        let output_text = raw
            .get("output_text")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or((!joined.is_empty()).then_some(joined));
        Ok(Self {
            id,
            status,
            calls,
            client_calls,
            output_text,
            mcp_calls,
            mcp_tool_lists,
            raw,
        })
    }

    /// Whether the API is still working on it (background mode).
    pub(crate) fn is_pending(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "in_progress")
    }

    /// Why a response that is not `completed` ended: its error or incomplete reason.
    pub(crate) fn end_reason(&self) -> String {
        let raw = &self.raw;
        let error = &raw["error"];
        if let Some(message) = error["message"].as_str() {
            return match error["code"].as_str() {
                Some(code) => format!("{code}: {message}"),
                None => message.to_owned(),
            };
        }
        match raw["incomplete_details"]["reason"].as_str() {
            Some(reason) => reason.to_owned(),
            None => "no details".to_owned(),
        }
    }
}

/// The model's final answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmResponse {
    /// The id of the last Responses API response.
    pub response_id: String,
    /// The final text: the API's `output_text` when it sent one, else the concatenated
    /// `output_text` parts of the output messages.
    pub output_text: String,
    /// The last response's output items, as the API sent them.
    pub output: Vec<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_with_unknown_items_and_no_status_is_read() {
        let raw = json!({
            "id": "resp_1",
            "output": [
                {"type": "vendor_trace", "data": 1},
                {"type": "local_shell_call_output", "id": "x", "output": "{}"},
                {"type": "function_call", "call_id": "c1", "name": "grant_access", "arguments": "{}"},
                {"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Hello "}, {"type": "output_text", "text": "there"}
                ]}
            ]
        });
        let response = ModelResponse::from_raw(raw).unwrap();
        assert_eq!(response.id, "resp_1");
        assert_eq!(response.status, "completed");
        assert_eq!(response.calls.len(), 1);
        assert_eq!(response.calls[0].name, "grant_access");
        assert!(response.client_calls.is_empty());
        assert_eq!(response.output_text.as_deref(), Some("Hello there"));
    }

    #[test]
    fn client_side_calls_are_collected_with_their_tool() {
        let raw = json!({
            "id": "resp_1",
            "status": "completed",
            "output": [
                {"type": "local_shell_call", "id": "ls_1", "call_id": "c1", "status": "completed",
                 "action": {"type": "exec", "command": ["rm", "-rf", "/"], "env": {}}},
                {"type": "custom_tool_call", "id": "ct_1", "call_id": "c2", "name": "sql", "input": "DROP TABLE"},
                {"type": "mcp_call", "id": "mcp_1", "name": "x", "server_label": "s", "arguments": "{}"},
                {"type": "web_search_call", "id": "ws_1", "status": "completed"}
            ]
        });
        let response = ModelResponse::from_raw(raw).unwrap();
        let tools: Vec<_> = response
            .client_calls
            .iter()
            .map(|c| c.tool.as_str())
            .collect();
        assert_eq!(tools, ["local_shell", "sql"]);
        let out = response.client_calls[0].error_output("not run").unwrap();
        assert_eq!(out["type"], "local_shell_call_output");
        assert_eq!(out["id"], "c1");
    }

    #[test]
    fn an_answer_without_id_or_output_is_an_error() {
        assert!(ModelResponse::from_raw(json!({"output": []})).is_err());
        assert!(ModelResponse::from_raw(json!({"id": "resp_1"})).is_err());
        assert!(ModelResponse::from_raw(json!("nonsense")).is_err());
    }

    #[test]
    fn the_sent_output_text_wins() {
        let raw = json!({"id": "r", "output": [], "output_text": "from the API"});
        assert_eq!(
            ModelResponse::from_raw(raw).unwrap().output_text.as_deref(),
            Some("from the API")
        );
    }

    #[test]
    fn the_end_reason_names_the_error_or_the_incomplete_reason() {
        let failed = json!({"id": "r", "status": "failed", "output": [],
            "error": {"code": "server_error", "message": "boom"}});
        assert_eq!(
            ModelResponse::from_raw(failed).unwrap().end_reason(),
            "server_error: boom"
        );
        let incomplete = json!({"id": "r", "status": "incomplete", "output": [],
            "incomplete_details": {"reason": "max_output_tokens"}});
        assert_eq!(
            ModelResponse::from_raw(incomplete).unwrap().end_reason(),
            "max_output_tokens"
        );
    }
}
