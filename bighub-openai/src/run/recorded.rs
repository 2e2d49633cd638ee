//! One call as a round recorded it: the model's call (with its kind), the digest of its exact
//! arguments, its event, and whether it waits for an approval.
//!
//! The same record is what a round produces, what the next response's hosted MCP calls are
//! matched against, what answers the call in the conversation, and what a paused run stores
//! (its JSON is the paused call of [`RunState`](crate::RunState)). This module only holds
//! the record and what follows from it alone; it runs and decides nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::call::{CallKind, FunctionCall};
use crate::{ExecutionEvent, ExecutionStatus};

/// One call of a round, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecordedCall {
    /// The call exactly as the model sent it.
    #[serde(flatten)]
    pub(crate) call: FunctionCall,
    /// Lower-case hex SHA-256 of the canonical JSON of the exact (unredacted) parsed
    /// arguments: the approval binding, computed once when the call was prepared.
    #[serde(rename = "arguments_sha256")]
    pub(crate) digest: String,
    /// The final event of a call that is done; the `approval_required` event of one that
    /// waits.
    pub(crate) event: ExecutionEvent,
    /// Whether it waits for an approval.
    pub(crate) pending: bool,
    /// The tool hints its decision was made on (an MCP tool's definition fingerprint
    /// among them), so that a resumed call runs only against that definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) decided_hints: Option<Value>,
}

/// The agent's answer to a hosted MCP approval request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct McpApprovalAnswer<'a> {
    pub(crate) server_label: &'a str,
    /// Only a call the agent let run is approved.
    pub(crate) approve: bool,
    /// Why not, when it is not approved.
    pub(crate) reason: Option<String>,
}

impl RecordedCall {
    /// The answer to this call when it is a hosted MCP approval request.
    pub(crate) fn mcp_approval(&self) -> Option<McpApprovalAnswer<'_>> {
        let server_label = match &self.call.kind {
            CallKind::Function => return None,
            CallKind::HostedMcpApproval { server_label } => server_label,
        };
        let event = &self.event;
        let approve = event.status == ExecutionStatus::Approved;
        let reason = (!approve).then(|| {
            let comment = event.approval.as_ref().and_then(|a| a.comment.clone());
            match event.status {
                ExecutionStatus::Rejected => {
                    comment.unwrap_or_else(|| "rejected by a reviewer".to_owned())
                }
                _ => event
                    .error
                    .clone()
                    .or_else(|| event.decision.as_ref().and_then(|d| d.reason.clone()))
                    .unwrap_or_else(|| format!("not allowed ({})", event.status)),
            }
        });
        Some(McpApprovalAnswer {
            server_label,
            approve,
            reason,
        })
    }
}
