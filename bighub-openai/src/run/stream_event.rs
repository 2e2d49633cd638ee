//! What a streamed run emits: the model's incremental output, each decision as it lands,
//! each execution event, and finally the same result `run` returns.
//!
//! This module owns the event vocabulary and its JSON form (a `type` tag with the Python
//! adapter's names). Producing the events is `stream.rs`'s job.

use bighub_core::{Decision, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::result::RunResult;
use crate::ExecutionEvent;

/// One event of [`BighubOpenAI::run_stream`](crate::BighubOpenAI::run_stream).
///
/// Serialized with a `type` tag: `llm_delta`, `llm_text_done`, `output_item_added`,
/// `function_call_args_delta`, `function_call_args_done`, `refusal_delta`, `decision`,
/// `response_done`, `response_failed`, `execution_event`, `mcp_approval`, and last
/// `final_response`. New events may be added (a `match` needs a `_` arm).
///
/// ```
/// use bighub_openai::StreamEvent;
/// use serde_json::json;
///
/// let event = StreamEvent::LlmDelta {
///     delta: "Sync".into(),
///     item_id: "msg_1".into(),
///     output_index: 0,
/// };
/// assert_eq!(
///     serde_json::to_value(&event).unwrap(),
///     json!({"type": "llm_delta", "delta": "Sync", "item_id": "msg_1", "output_index": 0})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
#[non_exhaustive]
pub enum StreamEvent {
    /// A piece of the model's text (`response.output_text.delta`).
    LlmDelta {
        /// The new text.
        delta: String,
        /// The message item it belongs to.
        item_id: String,
        /// The item's position in the response output.
        output_index: u32,
    },
    /// One text part is complete (`response.output_text.done`).
    LlmTextDone {
        /// The whole text of the part.
        text: String,
        /// The message item it belongs to.
        item_id: String,
        /// The item's position in the response output.
        output_index: u32,
    },
    /// The model started an output item (`response.output_item.added`).
    OutputItemAdded {
        /// The item as the API sent it (in progress).
        item: Value,
        /// Its position in the response output.
        output_index: u32,
    },
    /// A piece of a function call's arguments (`response.function_call_arguments.delta`).
    FunctionCallArgsDelta {
        /// The new text.
        delta: String,
        /// The function call item.
        item_id: String,
        /// The call id, when the item was announced.
        call_id: Option<String>,
        /// The item's position in the response output.
        output_index: u32,
    },
    /// A function call's arguments are complete (`response.function_call_arguments.done`);
    /// its decision is requested now, while the model goes on.
    FunctionCallArgsDone {
        /// The tool.
        name: String,
        /// The complete arguments, as the model wrote them.
        arguments: String,
        /// The function call item.
        item_id: String,
        /// The call id, when the item was announced.
        call_id: Option<String>,
        /// The item's position in the response output.
        output_index: u32,
    },
    /// A piece of a refusal (`response.refusal.delta`).
    RefusalDelta {
        /// The new text.
        delta: String,
        /// The message item it belongs to.
        item_id: String,
    },
    /// A call's decision landed (possibly before the response completed). The call runs,
    /// or not, once the response is complete; its `execution_event` says what happened.
    Decision {
        /// The tool.
        tool: String,
        /// The call id.
        call_id: String,
        /// What the gate will do.
        verdict: Verdict,
        /// The decision.
        decision: Box<Decision>,
    },
    /// The response is complete (`response.completed`).
    ResponseDone {
        /// The response object as the API sent it.
        response: Value,
    },
    /// The response failed or was cut short (`response.failed`, `response.incomplete`,
    /// `error`); the stream then ends with the error.
    ResponseFailed {
        /// The response object (or the error event) as the API sent it.
        response: Value,
    },
    /// The agent answered a hosted MCP server's `mcp_approval_request` (after the call's
    /// `execution_event`, in the request that carries the answer). The call the API then
    /// makes arrives as an `execution_event` of its own (status `executed` or `tool_error`).
    McpApproval {
        /// The hosted server's label.
        server_label: String,
        /// The MCP tool.
        tool: String,
        /// The `mcp_approval_request`'s id.
        approval_request_id: String,
        /// Whether the call was approved.
        approve: bool,
        /// Why not, when it was not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// What happened to one tool call: the same event as in `run`'s result.
    ExecutionEvent {
        /// The event.
        event: ExecutionEvent,
    },
    /// The last event: exactly what `run` returns for the same conversation.
    FinalResponse {
        /// The run's result.
        response: RunResult,
    },
}

impl StreamEvent {
    /// The `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LlmDelta { .. } => "llm_delta",
            Self::LlmTextDone { .. } => "llm_text_done",
            Self::OutputItemAdded { .. } => "output_item_added",
            Self::FunctionCallArgsDelta { .. } => "function_call_args_delta",
            Self::FunctionCallArgsDone { .. } => "function_call_args_done",
            Self::RefusalDelta { .. } => "refusal_delta",
            Self::Decision { .. } => "decision",
            Self::ResponseDone { .. } => "response_done",
            Self::ResponseFailed { .. } => "response_failed",
            Self::McpApproval { .. } => "mcp_approval",
            Self::ExecutionEvent { .. } => "execution_event",
            Self::FinalResponse { .. } => "final_response",
        }
    }
}
