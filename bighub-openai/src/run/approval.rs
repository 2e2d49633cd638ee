//! Human-in-the-loop approvals: what a person is asked, what they answer, and what the run
//! records about it.
//!
//! This module owns the public vocabulary ([`ApprovalRequest`], [`ApprovalAnswer`],
//! [`ApprovalLoop`]). Resolving approvals with the engine and running
//! the approved calls is `settle.rs`'s and `resume.rs`'s; pausing a run is
//! [`RunState`](crate::RunState)'s.

use bighub_core::{ApprovalResolution, Decision, Resolution};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A call that waits for a human: what the `on_approval_required` callback of
/// [`BighubOpenAI::run_with_approval`](crate::BighubOpenAI::run_with_approval) receives, and
/// what a paused run's [`pending_approvals`](crate::RunState::pending_approvals) lists.
///
/// Arguments the tool marks secret are redacted here: a person approves the call without
/// seeing them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// The decision's request id; the approval is bound to it.
    pub request_id: String,
    /// The tool the model called.
    pub tool: String,
    /// The model's id for the call.
    pub call_id: String,
    /// The exact arguments the approval is for.
    pub arguments: Value,
    /// The decision that asked for a review (reason, risk, better action, factors...).
    pub decision: Decision,
}

/// A human's answer to an [`ApprovalRequest`].
///
/// ```
/// use bighub_openai::{ApprovalAnswer, engine::Resolution};
///
/// let yes = ApprovalAnswer::approved("approved by on-call");
/// assert_eq!(yes.resolution, Resolution::Approved);
/// let no = ApprovalAnswer::rejected("use a 2h grant instead");
/// assert_eq!(no.comment.as_deref(), Some("use a 2h grant instead"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalAnswer {
    /// Approved or rejected.
    pub resolution: Resolution,
    /// Why; the model sees it when the call is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who answered, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
}

impl ApprovalAnswer {
    /// Run the call.
    pub fn approved(comment: impl Into<String>) -> Self {
        Self {
            resolution: Resolution::Approved,
            comment: Some(comment.into()).filter(|c| !c.is_empty()),
            resolved_by: None,
        }
    }

    /// Do not run the call.
    pub fn rejected(comment: impl Into<String>) -> Self {
        Self {
            resolution: Resolution::Rejected,
            comment: Some(comment.into()).filter(|c| !c.is_empty()),
            resolved_by: None,
        }
    }

    /// Records who answered.
    pub fn by(mut self, who: impl Into<String>) -> Self {
        self.resolved_by = Some(who.into());
        self
    }

    /// Whether the call may run.
    pub fn is_approved(&self) -> bool {
        self.resolution == Resolution::Approved
    }

    /// The body sent to the engine.
    pub(crate) fn to_resolution(&self) -> ApprovalResolution {
        ApprovalResolution {
            resolution: self.resolution,
            comment: self.comment.clone(),
            resolved_by: self.resolved_by.clone(),
        }
    }
}

/// What happened to one approval, with the Python adapter's `approval_loop` fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalLoop {
    /// An approval was required.
    pub required: bool,
    /// A human answered and the engine recorded the answer.
    pub resolved: bool,
    /// The approved call ran (whatever its result).
    pub resumed: bool,
    /// The decision's request id.
    pub request_id: Option<String>,
    /// The engine's record of the resolution (`null` while unresolved).
    pub approval: Option<Value>,
    /// What the tool returned (or its error), when it ran.
    pub tool_output: Option<Value>,
}
