//! What the Responses API ran on hosted MCP servers: each `mcp_call` item becomes an
//! execution event, bound to the approval this agent gave for exactly that call; and the
//! stream event of each approval answer.
//!
//! The agent answers an `mcp_approval_request` `approve: true` only when its decision (or a
//! reviewer) allowed that tool with those arguments (`round.rs` records it as
//! [`Approved`](crate::ExecutionStatus::Approved)). An `mcp_call` is matched to one such
//! approval of the round before, unused so far, of the same server, tool and argument
//! digest (the digest recorded when the request was decided, over its exact arguments); it
//! then carries that approval's decision and is reported as the call's outcome. A call that
//! matches no approval (the API ran something the agent never allowed) is recorded as a
//! tool error and logged: nothing here can undo it, but nothing hides it either.

use bighub_core::digest::canonical_sha256;
use serde_json::Value;

use super::caps::{cap_output, truncate_text};
use super::ctx::RunCtx;
use super::model_response::{McpCall, ModelResponse};
use super::recorded::RecordedCall;
use super::runner::Runner;
use super::stream_event::StreamEvent;
use crate::{Error, ExecutionEvent, ExecutionStatus};

impl Runner {
    /// Records the response's `mcp_call` items (see the module docs). A required outcome
    /// report that fails is the error, once every call is recorded.
    pub(crate) async fn record_mcp_calls(
        &self,
        ctx: &mut RunCtx,
        response: &ModelResponse,
    ) -> Result<(), Error> {
        let mut recorded = Vec::new();
        let mut failure = None;
        for call in &response.mcp_calls {
            let event = self.mcp_call_event(ctx, call);
            if let Err(error) = self.after_event(&event, true).await {
                failure.get_or_insert(error);
            }
            recorded.push(event.clone());
            ctx.events.push(event);
        }
        self.remember(&recorded, &ctx.ids).await;
        failure.map_or(Ok(()), Err)
    }

    fn mcp_call_event(&self, ctx: &mut RunCtx, call: &McpCall) -> ExecutionEvent {
        let seq = ctx.events.len() as u64;
        let max = self.config.max_tool_output_bytes;
        let Some(approval) = matching_approval(ctx, call) else {
            tracing::error!(server = ?call.server_label, tool = ?call.name, id = ?call.id,
                "the API ran a hosted MCP call this agent did not approve");
            let mut error = format!(
                "the Responses API ran `{}` on the hosted MCP server `{}` without an approval \
                 from this agent for these arguments",
                call.name, call.server_label
            );
            truncate_text(&mut error, max);
            return ExecutionEvent::not_run(&call.name, &call.id, error, &ctx.ids.trace_id, seq);
        };
        let mut event = approval.event.clone();
        // One approval, one call.
        ctx.used_mcp_approvals.push(approval.call.call_id.clone());
        event.call_id = call.id.clone();
        event.event_id = uuid::Uuid::new_v4().to_string();
        event.seq = seq;
        match &call.error {
            Some(error) => {
                let mut error = error.clone();
                truncate_text(&mut error, max);
                event.status = ExecutionStatus::ToolError;
                event.output = None;
                event.error = Some(error);
            }
            None => {
                let output = Value::String(call.output.clone().unwrap_or_default());
                event.status = ExecutionStatus::Executed;
                event.output = Some(cap_output(output, max));
                event.error = None;
            }
        }
        event
    }
}

/// The approval `call` ran under: a call of the latest round that asked for an
/// `mcp_approval_request` of the same server, tool and argument digest (the one the API
/// names, when it names one), which the agent approved and no earlier `mcp_call` used.
fn matching_approval<'c>(ctx: &'c RunCtx, call: &McpCall) -> Option<&'c RecordedCall> {
    let arguments = match serde_json::from_str::<Value>(&call.arguments) {
        Ok(arguments @ Value::Object(_)) => arguments,
        _ => return None,
    };
    let digest = canonical_sha256(&arguments);
    ctx.calls.iter().find(|approval| {
        let id = &approval.call.call_id;
        approval.call.kind.server_label() == Some(call.server_label.as_str())
            && approval.call.name == call.name
            && approval.event.status == ExecutionStatus::Approved
            && call
                .approval_request_id
                .as_deref()
                .is_none_or(|named| named == id)
            && approval.digest == digest
            && !ctx.used_mcp_approvals.contains(id)
    })
}

/// The stream event of the agent's answer to `call`, when it is a hosted MCP approval
/// request.
pub(crate) fn mcp_approval_event(call: &RecordedCall) -> Option<StreamEvent> {
    let answer = call.mcp_approval()?;
    Some(StreamEvent::McpApproval {
        server_label: answer.server_label.to_owned(),
        tool: call.call.name.clone(),
        approval_request_id: call.call.call_id.clone(),
        approve: answer.approve,
        reason: answer.reason,
    })
}
