//! A paused run, as data: everything needed to finish it later, in another process if need
//! be.
//!
//! This module owns [`RunState`] and its JSON form. Freezing a run into it and thawing it
//! back is `ctx.rs`'s; it does not resume anything: see
//! [`BighubOpenAI::resume`](crate::BighubOpenAI::resume).

use std::collections::BTreeMap;
use std::fmt;

use bighub_core::redact::redact_named;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::approval::{ApprovalLoop, ApprovalRequest};
use super::conversation::Conversation;
use super::model_response::{LlmResponse, McpToolList};
use super::prepared::redact_argument_text;
use super::recorded::RecordedCall;
use crate::{Decision, Error, ExecutionEvent};

/// The version of the [`RunState`] JSON format this crate writes and reads.
pub const RUN_STATE_VERSION: u32 = 2;

/// Where a paused run stopped: the conversation so far, the round whose calls wait for
/// approval (with their decisions, and the outputs of the calls that already ran), the
/// events, the model and the request settings.
///
/// It serializes to JSON, so a run paused by one process can be resumed by another (with an
/// agent that has the same tools). Each pending call is bound to its decision's request id,
/// its tool and the SHA-256 of its exact arguments: resuming with another tool or changed
/// arguments is refused.
///
/// The state holds the whole conversation, including any argument a tool marks secret that
/// the model wrote (resuming needs the exact call): store it like a credential. Its `Debug`
/// shows no conversation text, and the JSON of a [`RunResult`](crate::RunResult) carries
/// the state with secret arguments redacted (a state read back from there cannot resume a
/// call with secret arguments; use [`to_json`](Self::to_json) to carry a paused run).
///
/// ```no_run
/// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), Box<dyn std::error::Error>> {
/// use bighub_openai::{ApprovalAnswer, RunState};
///
/// let result = agent.run("Grant Alice temporary Okta admin access for 48h", "gpt-5.5").await?;
/// if let Some(state) = &result.paused {
///     std::fs::write("paused-run.json", state.to_json()?)?;
/// }
///
/// // Later, anywhere:
/// let state = RunState::from_json(&std::fs::read_to_string("paused-run.json")?)?;
/// let answers = state
///     .pending_approvals()
///     .into_iter()
///     .map(|p| (p.request_id, ApprovalAnswer::approved("approved by on-call")));
/// let result = agent.resume(state, answers).await?;
/// println!("{}", result.output_text());
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub(crate) version: u32,
    pub(crate) trace_id: String,
    pub(crate) model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub(crate) extra: Map<String, Value>,
    /// Tool rounds played so far (the paused one included).
    pub(crate) round: u32,
    pub(crate) conversation: Conversation,
    /// The response that proposed the paused round's calls.
    pub(crate) response: LlmResponse,
    pub(crate) calls: Vec<RecordedCall>,
    /// Every event of the run so far (a pending call's `approval_required` event included).
    pub(crate) events: Vec<ExecutionEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) approval_loops: Vec<ApprovalLoop>,
    /// The secret arguments of the conversation's tools, by tool name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) secret_args: BTreeMap<String, Vec<String>>,
    /// The run's `mcp_list_tools` items so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) mcp_tool_lists: Vec<McpToolList>,
    /// The hosted MCP approvals already used by a call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) used_mcp_approvals: Vec<String>,
    /// The durable run this state is, when a run store keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) run_id: Option<String>,
}

impl fmt::Debug for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let calls: Vec<_> = self
            .calls
            .iter()
            .map(|c| (c.call.call_id.as_str(), c.call.name.as_str(), c.pending))
            .collect();
        f.debug_struct("RunState")
            .field("version", &self.version)
            .field("trace_id", &self.trace_id)
            .field("model", &self.model)
            .field("round", &self.round)
            .field("run_id", &self.run_id)
            .field("calls (call_id, tool, pending)", &calls)
            .field("events", &self.events.len())
            .field("conversation_items", &self.conversation.len())
            .finish_non_exhaustive()
    }
}

impl RunState {
    /// The approvals this run waits for, in call order.
    ///
    /// Each shows the call an approval runs: the tool and arguments of the model's own call
    /// in the conversation (the ones whose digest resuming checks), with secret arguments
    /// redacted, never a copy kept beside it. A state edited so that its copies disagree
    /// with that call still shows the call (and resuming it is refused); a pending call
    /// with no such call in the conversation, or whose arguments are not a JSON object,
    /// cannot run and is not listed.
    pub fn pending_approvals(&self) -> Vec<ApprovalRequest> {
        self.calls
            .iter()
            .filter(|c| c.pending)
            .filter_map(|c| {
                let (tool, mut arguments) = self.bound_call(&c.call.call_id)?;
                if let Some(names) = self.secret_args.get(&tool) {
                    redact_named(&mut arguments, names);
                }
                Some(ApprovalRequest {
                    request_id: c.event.request_id.clone()?,
                    tool,
                    call_id: c.call.call_id.clone(),
                    arguments,
                    decision: c.event.decision.clone()?,
                })
            })
            .collect()
    }

    /// The tool and parsed arguments of the model's call `call_id` in the conversation,
    /// when its arguments are a JSON object.
    ///
    /// Read from the conversation on purpose, not from the recorded call: the state may
    /// have been edited, and what an approval runs is the model's own call.
    fn bound_call(&self, call_id: &str) -> Option<(String, Value)> {
        let call = self.conversation.call(call_id)?;
        match serde_json::from_str(&call.arguments) {
            Ok(arguments @ Value::Object(_)) => Some((call.name, arguments)),
            _ => None,
        }
    }

    /// The decisions of the paused round's calls, in call order (`None` for calls never
    /// evaluated).
    pub fn decisions(&self) -> Vec<Option<&Decision>> {
        self.calls
            .iter()
            .map(|c| c.event.decision.as_ref())
            .collect()
    }

    /// Every execution event of the run so far.
    pub fn events(&self) -> &[ExecutionEvent] {
        &self.events
    }

    /// The run's trace (trajectory) id; the resumed run keeps it.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The model the run uses.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The durable run id, when the agent's run store keeps this run (see
    /// [`BighubOpenAIBuilder::durable`](crate::BighubOpenAIBuilder::durable)).
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// The state as JSON.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string(self)
            .map_err(|e| Error::InvalidRunState(format!("could not encode the run state: {e}")))
    }

    /// A state read back from [`to_json`](Self::to_json); refuses other format versions.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let state: Self = serde_json::from_str(json).map_err(|e| {
            Error::InvalidRunState(format!("not a run state this version can read: {e}"))
        })?;
        state.check_version()?;
        Ok(state)
    }

    /// This state with every secret argument of the conversation's function calls redacted
    /// (an argument text that cannot be parsed is replaced whole).
    pub(crate) fn redacted(&self) -> Self {
        let mut state = self.clone();
        if state.secret_args.is_empty() {
            return state;
        }
        let secrets = &self.secret_args;
        state
            .conversation
            .rewrite_function_call_arguments(|tool, arguments| {
                secrets
                    .get(tool)
                    .map(|names| redact_argument_text(arguments, names))
            });
        for recorded in &mut state.calls {
            let call = &mut recorded.call;
            if let Some(names) = secrets.get(&call.name) {
                call.arguments = redact_argument_text(&call.arguments, names);
            }
        }
        state
    }

    pub(crate) fn check_version(&self) -> Result<(), Error> {
        if self.version != RUN_STATE_VERSION {
            return Err(Error::InvalidRunState(format!(
                "run state format version {} is not supported (this version reads {RUN_STATE_VERSION})",
                self.version
            )));
        }
        Ok(())
    }
}

/// Serializes a result's paused state with its secret arguments redacted.
pub(crate) fn serialize_redacted<S: serde::Serializer>(
    state: &Option<RunState>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    state.as_ref().map(RunState::redacted).serialize(serializer)
}
