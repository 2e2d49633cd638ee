//! Human-in-the-loop approvals: what a person is asked, what they answer, and what the run
//! records about it.
//!
//! This module owns the public vocabulary ([`ApprovalRequest`], [`ApprovalAnswer`],
//! [`ApprovalLoop`], [`ApprovalRecord`]) and what a run does with a call that needs an
//! approval (`ApprovalPolicy`). Resolving approvals with the engine and running
//! the approved calls is `settle.rs`'s and `resume.rs`'s; pausing a run is
//! [`RunState`](crate::RunState)'s.

use std::sync::Arc;

use bighub_core::{ApprovalResolution, Decision, Resolution};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The answer source of `run_with_approval`.
pub(crate) type ApprovalCallback =
    Arc<dyn Fn(ApprovalRequest) -> BoxFuture<'static, Option<ApprovalAnswer>> + Send + Sync>;

/// What a round does with a call that needs an approval.
#[derive(Clone)]
pub(crate) enum ApprovalPolicy {
    /// Report `approval_required` to the model and go on.
    Report,
    /// Stop the run at this round; it resumes with [`BighubOpenAI::resume`](crate::BighubOpenAI::resume).
    Pause,
    /// Ask the callback; pause when it has no answer.
    Ask(ApprovalCallback),
}

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
/// An approval may change the call: [`with_better_action`](Self::with_better_action)
/// approves the decision's constrained alternative (the default policy's shorter grant),
/// [`with_arguments`](Self::with_arguments) edited arguments. The engine decides the
/// changed call first (it refuses one the policy blocks), the agent runs the changed call,
/// and the model is told it ran with changed arguments, and why.
///
/// ```
/// use bighub_openai::{ApprovalAnswer, engine::Resolution};
///
/// let yes = ApprovalAnswer::approved("approved by on-call");
/// assert_eq!(yes.resolution, Resolution::Approved);
/// let no = ApprovalAnswer::rejected("use a 2h grant instead");
/// assert_eq!(no.comment.as_deref(), Some("use a 2h grant instead"));
/// let shorter = ApprovalAnswer::approved("2h is enough").with_better_action();
/// assert!(shorter.better_action);
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
    /// Approves these arguments instead of the ones the model proposed (arguments the tool
    /// marks secret stay `[REDACTED]`: they keep the model's values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// Approves the decision's better action instead of the call proposed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub better_action: bool,
}

impl ApprovalAnswer {
    /// Run the call.
    pub fn approved(comment: impl Into<String>) -> Self {
        Self {
            resolution: Resolution::Approved,
            comment: Some(comment.into()).filter(|c| !c.is_empty()),
            resolved_by: None,
            arguments: None,
            better_action: false,
        }
    }

    /// Do not run the call.
    pub fn rejected(comment: impl Into<String>) -> Self {
        Self {
            resolution: Resolution::Rejected,
            comment: Some(comment.into()).filter(|c| !c.is_empty()),
            resolved_by: None,
            arguments: None,
            better_action: false,
        }
    }

    /// Approves the decision's better action (its constrained alternative) instead.
    pub fn with_better_action(mut self) -> Self {
        self.better_action = true;
        self
    }

    /// Approves `arguments` instead of the ones the model proposed.
    pub fn with_arguments(mut self, arguments: Value) -> Self {
        self.arguments = Some(arguments);
        self
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
            arguments: self.arguments.clone(),
            better_action: self.better_action,
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
    /// The record of the approval: what was answered, and whether its call ran (`null`
    /// while unresolved).
    pub approval: Option<ApprovalRecord>,
    /// What the tool returned (or its error), when it ran.
    pub tool_output: Option<Value>,
}

/// One answered approval as the run recorded it: the call it was for, the answer, and
/// whether the call ran under it, each with its time (RFC 3339, UTC).
///
/// It says what happened in this run, after the call: `used` is `true` once the approved
/// call ran (whatever its result), `false` for a rejection or an approved call that never
/// started.
///
/// ```
/// use bighub_openai::{engine::Resolution, run::ApprovalRecord};
/// use serde_json::json;
///
/// let record: ApprovalRecord = serde_json::from_value(json!({
///     "request_id": "req_abc123",
///     "tool": "grant_access",
///     "call_id": "call_1",
///     "resolution": "approved",
///     "comment": "approved by on-call",
///     "resolved_by": null,
///     "resolved_at": "2026-12-02T06:00:00.000Z",
///     "used": true,
///     "used_at": "2026-12-02T06:00:01.250Z"
/// }))
/// .unwrap();
/// assert_eq!(record.resolution, Resolution::Approved);
/// assert!(record.used);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// The decision's request id the approval is bound to.
    pub request_id: String,
    /// The tool it was asked for.
    pub tool: String,
    /// The model's id for the call.
    pub call_id: String,
    /// The answer: approved or rejected.
    pub resolution: Resolution,
    /// The answer's comment.
    pub comment: Option<String>,
    /// Who answered, when known.
    pub resolved_by: Option<String>,
    /// When the answer was recorded with the engine.
    pub resolved_at: String,
    /// Whether the approved call ran under this approval.
    pub used: bool,
    /// When it ran (recorded as the call finished).
    pub used_at: Option<String>,
}

impl ApprovalRecord {
    /// The record of `answer` for the call of `tool` with id `call_id`, before it runs.
    pub(crate) fn answered(
        request_id: &str,
        tool: &str,
        call_id: &str,
        answer: &ApprovalAnswer,
        resolved_at: String,
    ) -> Self {
        Self {
            request_id: request_id.to_owned(),
            tool: tool.to_owned(),
            call_id: call_id.to_owned(),
            resolution: answer.resolution,
            comment: answer.comment.clone(),
            resolved_by: answer.resolved_by.clone(),
            resolved_at,
            used: false,
            used_at: None,
        }
    }
}

/// Now, as RFC 3339 in UTC with milliseconds (`2026-12-02T06:00:00.000Z`).
pub(crate) fn now_rfc3339() -> String {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since.as_millis() as i64)
}

fn rfc3339(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_798_070_400_000), "2026-12-24T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
    }
}
