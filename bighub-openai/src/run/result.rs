//! The result of a run, shaped like the Python adapter's `run()` answer: the model's final
//! answer, every execution event, the approvals and, for a paused run, its state. Making it
//! is the loop's job (`driver.rs`), not this module's.

use serde::{Deserialize, Serialize};

use super::approval::{ApprovalLoop, ApprovalRequest};
use super::model_response::{LlmResponse, McpToolList};
use super::state::RunState;
use crate::{ExecutionEvent, ExecutionStatus};

/// Every tool call of a run, in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Execution {
    /// One event per tool call.
    pub events: Vec<ExecutionEvent>,
    /// The last event, when there was one.
    pub last: Option<ExecutionEvent>,
}

impl Execution {
    pub(crate) fn from_events(events: Vec<ExecutionEvent>) -> Self {
        let last = events.last().cloned();
        Self { events, last }
    }

    /// The events with this status.
    pub fn with_status(&self, status: ExecutionStatus) -> impl Iterator<Item = &ExecutionEvent> {
        self.events.iter().filter(move |e| e.status == status)
    }
}

/// What [`BighubOpenAI::run`](crate::BighubOpenAI::run) returns.
///
/// `serde_json::to_value(&result)` has the Python adapter's shape:
/// `{"llm_response": {...}, "execution": {"events": [...], "last": {...}}}`, plus
/// `approval_loop` / `approval_loops` when a human resolved an approval and `paused` when
/// the run waits for one (each absent otherwise).
///
/// A paused run ([`is_paused`](Self::is_paused)) stopped at a round whose calls wait for
/// approval: `llm_response` is the response that proposed them, and
/// [`pending_approvals`](Self::pending_approvals) says what to answer in
/// [`resume`](crate::BighubOpenAI::resume).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The model's final answer (the last response, for a paused run).
    pub llm_response: LlmResponse,
    /// What happened to each tool call.
    pub execution: Execution,
    /// The last approval a human resolved in this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_loop: Option<ApprovalLoop>,
    /// Every approval resolved in this run, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approval_loops: Vec<ApprovalLoop>,
    /// Where the run stopped, when it waits for approvals; pass it to
    /// [`resume`](crate::BighubOpenAI::resume). In this result's JSON its secret arguments
    /// are redacted: carry a paused run with [`RunState::to_json`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::state::serialize_redacted"
    )]
    pub paused: Option<RunState>,
    /// The tools hosted MCP servers offered during the run (the `mcp_list_tools` items of
    /// its responses, in order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_tool_lists: Vec<McpToolList>,
}

impl RunResult {
    /// The final text.
    pub fn output_text(&self) -> &str {
        &self.llm_response.output_text
    }

    /// The last tool call's event.
    pub fn last(&self) -> Option<&ExecutionEvent> {
        self.execution.last.as_ref()
    }

    /// The durable run id of a paused run that the agent's run store keeps (see
    /// [`BighubOpenAIBuilder::durable`](crate::BighubOpenAIBuilder::durable)): the run
    /// resumes by itself once its approvals are answered.
    pub fn durable_run_id(&self) -> Option<&str> {
        self.paused.as_ref().and_then(RunState::run_id)
    }

    /// Whether the run waits for approvals.
    pub fn is_paused(&self) -> bool {
        self.paused.is_some()
    }

    /// The approvals the paused run waits for (none when it finished).
    pub fn pending_approvals(&self) -> Vec<ApprovalRequest> {
        self.paused
            .as_ref()
            .map(RunState::pending_approvals)
            .unwrap_or_default()
    }
}
