//! Execution events: the record of what happened to each tool call of a run.
//!
//! This module owns the event shape (which matches the Python adapter's, field for field)
//! and the compact output the model receives for each call. It does not decide anything.

use bighub_core::{ApprovalResolution, Decision, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// What happened to one tool call.
///
/// Each outcome has one spelling from the decision to the record. The decision's `mode` is
/// the engine's word (the hosted service's, kept as it sends it); the [`Verdict`] the gate
/// gives and the status of a call that does not run share one name, in Rust and in JSON:
///
/// | decision `mode` | [`Verdict`] (`verdict` in JSON, and in a stream's `decision` event) | `ExecutionStatus` (`status` in JSON) |
/// |---|---|---|
/// | `autonomous`, `constrained` | `Execute` (`execute`) | `Executed` (`executed`), or `ToolError` (`tool_error`) when the tool fails |
/// | `review` | `ApprovalRequired` (`approval_required`) | `ApprovalRequired` (`approval_required`) while it waits; then `Executed` / `ToolError` once approved, `Rejected` (`rejected`) once a person says no, `Expired` (`expired`) when nobody answered in time; an approved call decided again just before it runs that may not run now is `Blocked` / `NeedsContext`, carrying that decision and the approval |
/// | `needs_context` | `NeedsContext` (`needs_context`) | `NeedsContext` (`needs_context`) |
/// | `blocked`, `shadow`, `dry_run`, or no usable signal | `Blocked` (`blocked`) | `Blocked` (`blocked`) |
///
/// A call that is never decided (an unknown tool, arguments that are not a JSON object) is
/// a `ToolError` without a decision.
///
/// ```
/// use bighub_openai::{ExecutionStatus, Verdict};
///
/// for verdict in [Verdict::ApprovalRequired, Verdict::NeedsContext, Verdict::Blocked] {
///     let status = ExecutionStatus::for_verdict(verdict).unwrap();
///     assert_eq!(status.as_str(), verdict.as_str());
///     assert_eq!(serde_json::to_value(status).unwrap(), serde_json::to_value(verdict).unwrap());
/// }
/// assert_eq!(ExecutionStatus::for_verdict(Verdict::Execute), None);
/// ```
///
/// New statuses may be added (a `match` needs a `_` arm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExecutionStatus {
    /// The decision allowed the call and the tool ran successfully.
    Executed,
    /// The decision (or the fail-closed fallback) did not allow the call.
    Blocked,
    /// The call waits for a human's approval.
    ApprovalRequired,
    /// The decision asks for more context before the call may run.
    NeedsContext,
    /// The tool failed, panicked, is unknown, or got unusable arguments.
    ToolError,
    /// A human rejected the call it had to approve.
    Rejected,
    /// A hosted MCP call the decision (or a human) allowed: the agent approved it and the
    /// Responses API runs it; its `mcp_call` item is recorded as a call of its own.
    Approved,
    /// Nobody answered the call's approval before it expired; the call did not run. Not a
    /// rejection: nobody said no.
    Expired,
}

impl ExecutionStatus {
    /// The wire name (`executed`, `blocked`, `approval_required`, `needs_context`,
    /// `tool_error`, `rejected`, `approved`, `expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Executed => "executed",
            Self::Blocked => "blocked",
            Self::ApprovalRequired => "approval_required",
            Self::NeedsContext => "needs_context",
            Self::ToolError => "tool_error",
            Self::Rejected => "rejected",
            Self::Approved => "approved",
            Self::Expired => "expired",
        }
    }

    /// The status of a call that the gate did not let run.
    pub fn for_verdict(verdict: Verdict) -> Option<Self> {
        match verdict {
            Verdict::Execute => None,
            Verdict::ApprovalRequired => Some(Self::ApprovalRequired),
            Verdict::NeedsContext => Some(Self::NeedsContext),
            Verdict::Blocked => Some(Self::Blocked),
        }
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The record of one tool call: the decision, what ran, and what came out.
///
/// Serialized, it has the fields of the Python adapter's event: `tool`, `call_id`, `status`,
/// `decision`, `arguments`, `output`, `error`, `event_id`, `trace_id`, `request_id`, `seq`,
/// and the convenience fields `recommendation`, `risk_score`, `enforcement_mode`.
/// `decision` is `null` only for calls that were never evaluated (an unknown tool, or
/// arguments that are not a JSON object). Calls a human resolved also carry `approval`
/// (absent otherwise, so other events keep the adapter's shape exactly).
///
/// Events are made by the agent only; new fields may be added, so it cannot be built with
/// a struct literal outside this crate (read its fields, or deserialize one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExecutionEvent {
    /// The tool the model called.
    pub tool: String,
    /// The model's id for the call.
    pub call_id: String,
    /// What happened.
    pub status: ExecutionStatus,
    /// The decision, when the call was evaluated.
    pub decision: Option<Decision>,
    /// The arguments (as parsed; the raw string when they were not JSON).
    pub arguments: Value,
    /// The tool's output, when it ran.
    pub output: Option<Value>,
    /// The error text, for `tool_error`.
    pub error: Option<String>,
    /// A unique id for this event.
    pub event_id: String,
    /// The run's trace (trajectory) id.
    pub trace_id: String,
    /// The decision's request id, when it had one.
    pub request_id: Option<String>,
    /// The event's position in the run, from 0.
    pub seq: u64,
    /// Compatibility: the decision's recommendation.
    pub recommendation: Option<String>,
    /// Compatibility: the decision's risk score (falls back to `risk`).
    pub risk_score: Option<f64>,
    /// Compatibility: the decision's enforcement mode.
    pub enforcement_mode: Option<String>,
    /// The human resolution, for a call that needed an approval and got an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalResolution>,
    /// When the approver approved changed arguments (the decision's better action, or an
    /// edit), and the call ran with them: `{kind: "better_action" | "edited", reason,
    /// proposed}`, where `proposed` holds the arguments the model proposed (secret ones
    /// redacted) and [`arguments`](Self::arguments) those the call ran with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments_change: Option<Value>,
}

impl ExecutionEvent {
    /// The record of a call that was never evaluated and did not run.
    pub(crate) fn not_run(
        tool: &str,
        call_id: &str,
        error: String,
        trace_id: &str,
        seq: u64,
    ) -> Self {
        Self {
            tool: tool.to_owned(),
            call_id: call_id.to_owned(),
            status: ExecutionStatus::ToolError,
            decision: None,
            arguments: Value::Null,
            output: None,
            error: Some(error),
            event_id: uuid::Uuid::new_v4().to_string(),
            trace_id: trace_id.to_owned(),
            request_id: None,
            seq,
            recommendation: None,
            risk_score: None,
            enforcement_mode: None,
            approval: None,
            arguments_change: None,
        }
    }

    /// The verdict the gate gave, when the call was evaluated.
    pub fn verdict(&self) -> Option<Verdict> {
        self.decision.as_ref().map(Decision::verdict)
    }

    /// The compact JSON the model receives as this call's `function_call_output`.
    ///
    /// Executed calls carry their output; failed calls their error; calls that did not run
    /// carry the mode, the reason, the better action and what is needed, so the model can
    /// explain the pause or propose the safer alternative.
    pub fn model_output(&self) -> Value {
        let mut out = Map::new();
        out.insert("status".into(), json!(self.status));
        if let Some(change) = &self.arguments_change {
            out.insert(
                "arguments_changed".into(),
                json!({
                    "note": "A person approved this call with changed arguments; it ran with `ran_with`, not with what you proposed.",
                    "kind": change["kind"],
                    "reason": change["reason"],
                    "proposed": change["proposed"],
                    "ran_with": self.arguments,
                }),
            );
        }
        match self.status {
            ExecutionStatus::Executed => {
                out.insert("output".into(), self.output.clone().unwrap_or(Value::Null));
            }
            ExecutionStatus::ToolError => {
                out.insert("error".into(), json!(self.error));
            }
            ExecutionStatus::Expired => {
                out.insert(
                    "reason".into(),
                    json!("The approval request expired before anyone answered it, so the call did not run. Nobody rejected it; ask for it again if it is still needed."),
                );
                if let Some(id) = &self.request_id {
                    out.insert("request_id".into(), json!(id));
                }
            }
            ExecutionStatus::Rejected => {
                let decision = self.decision.as_ref();
                out.insert(
                    "reason".into(),
                    json!(decision.and_then(|d| d.reason.clone())),
                );
                out.insert(
                    "better_action".into(),
                    json!(decision.and_then(|d| d.better_action.clone())),
                );
                let comment = self.approval.as_ref().and_then(|a| a.comment.clone());
                out.insert("comment".into(), json!(comment));
                if let Some(id) = &self.request_id {
                    out.insert("request_id".into(), json!(id));
                }
            }
            _ => {
                if let Some(decision) = &self.decision {
                    out.insert("mode".into(), json!(decision.mode));
                    out.insert("reason".into(), json!(decision.reason));
                    out.insert("better_action".into(), json!(decision.better_action));
                    let needed: Vec<&Map<String, Value>> = decision
                        .responsible_action_space
                        .information_gathering
                        .iter()
                        .collect();
                    if !needed.is_empty() {
                        out.insert("needed".into(), json!(needed));
                    }
                    if let Some(id) = &decision.request_id {
                        out.insert("request_id".into(), json!(id));
                    }
                }
                if self
                    .approval
                    .as_ref()
                    .is_some_and(|a| a.resolution == bighub_core::Resolution::Approved)
                {
                    out.insert(
                        "note".into(),
                        json!("A person approved this call, but it was decided again just before it would run, and it may not run now; the approval was not used."),
                    );
                }
            }
        }
        Value::Object(out)
    }
}
