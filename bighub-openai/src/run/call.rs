//! A call the model proposed, as it proposed it: its kind, tool name, id and argument text.
//!
//! The kind is read once, when the response is parsed, and travels with the call to its
//! record and its answer; nothing downstream reads the conversation again to learn it.
//! This module decides, runs and records nothing.

use serde::{Deserialize, Serialize};

/// What kind of call the model made, and so how it is answered.
///
/// Every use matches each kind by name, so a new kind is a compile error wherever it must
/// be handled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum CallKind {
    /// A `function_call`: a tool this agent runs, answered by a `function_call_output`.
    #[default]
    Function,
    /// An `mcp_approval_request` (its id is the call id): the Responses API runs the call
    /// on the hosted server once approved; it never runs here, and its answer is an
    /// `mcp_approval_response`.
    HostedMcpApproval {
        /// The hosted server's label.
        server_label: String,
    },
}

impl CallKind {
    /// The hosted server's label, for a hosted MCP approval request.
    pub(crate) fn server_label(&self) -> Option<&str> {
        match self {
            Self::Function => None,
            Self::HostedMcpApproval { server_label } => Some(server_label),
        }
    }
}

/// A call as the model proposed it.
///
/// Serialized as a paused run stores it (`call_id`, `tool`, `raw_arguments`); the kind is
/// not stored there, because the model's own item in the stored conversation says it, and a
/// resumed run binds every call to that item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FunctionCall {
    pub(crate) call_id: String,
    #[serde(rename = "tool")]
    pub(crate) name: String,
    /// The argument text exactly as the model wrote it.
    #[serde(rename = "raw_arguments")]
    pub(crate) arguments: String,
    #[serde(skip)]
    pub(crate) kind: CallKind,
}

impl FunctionCall {
    /// A `function_call`.
    pub(crate) fn function(name: String, call_id: String, arguments: String) -> Self {
        Self {
            call_id,
            name,
            arguments,
            kind: CallKind::Function,
        }
    }

    /// Whether the API, not this agent, runs the call once it is approved.
    pub(crate) fn is_hosted(&self) -> bool {
        match self.kind {
            CallKind::Function => false,
            CallKind::HostedMcpApproval { .. } => true,
        }
    }
}
