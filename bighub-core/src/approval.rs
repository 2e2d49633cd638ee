//! Why an approval may not be used: one vocabulary for every engine and layer.
//!
//! This module owns [`ApprovalRefusal`] (what is wrong with the approval), its `reason`
//! names and the fields a decision server's 409 answer carries for it, and
//! [`ApprovalRefused`] (a refusal with the request id it is about, and its message). It
//! does not decide when an approval is refused (the engines and the runtime do) nor which
//! HTTP status a refusal gets (the decision server does).

use std::fmt;

use serde_json::{Map, Value};

/// The `detail` field naming the tool an approval was granted for.
const APPROVED_TOOL: &str = "approved_tool";
/// The `detail` field naming the approval's state.
const STATUS: &str = "status";
/// The `detail` field naming the approval's resolution.
const RESOLUTION: &str = "resolution";
/// The `detail` field naming who answered.
const ANSWERER: &str = "answerer";
/// The `detail` field naming the mode a changed call was decided.
const MODE: &str = "mode";
/// The `detail` field carrying the policy's reason for a changed call.
const POLICY_REASON: &str = "policy_reason";

/// What is wrong with an approval that a call wanted to run under.
///
/// ```
/// use bighub_core::approval::ApprovalRefusal;
///
/// let refusal = ApprovalRefusal::ToolChanged {
///     approved: "grant_access".into(),
///     requested: "delete_user".into(),
/// };
/// assert_eq!(refusal.reason(), "tool_changed");
/// let detail = serde_json::Value::Object(refusal.detail());
/// assert_eq!(detail["approved_tool"], "grant_access");
/// assert_eq!(
///     ApprovalRefusal::from_reason("tool_changed", &detail, "delete_user"),
///     Some(refusal)
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApprovalRefusal {
    /// No approval has this request id.
    NotFound,
    /// The approval was already resolved; one approval is answered once.
    AlreadyResolved {
        /// The earlier resolution.
        resolution: String,
    },
    /// The approval is not (or not yet) approved, so its call may not run.
    NotApproved {
        /// `pending` or `rejected`.
        status: String,
    },
    /// The call's arguments differ from those the approval was granted for.
    ArgumentsChanged,
    /// The approval was granted for another tool than the one about to run.
    ToolChanged {
        /// The tool the approval was granted for.
        approved: String,
        /// The tool that was about to run.
        requested: String,
    },
    /// The approval already ran its call; one approval runs its call at most once.
    AlreadyUsed,
    /// The engine keeps no record of which call the approval was granted for, and nothing
    /// else binds it to the call about to run.
    Untracked,
    /// Nobody answered the approval before its time ran out; its call does not run. Not a
    /// rejection: nobody said no.
    Expired,
    /// The approval must be answered by someone other than whoever asked for it (a policy
    /// finding, or the decision server's `--separate-approver`), and this answerer asked.
    SeparateApproverRequired {
        /// Who answered.
        answerer: String,
    },
    /// Several approvers are required and this one already approved it; another person
    /// must.
    AlreadyApprovedBy {
        /// Who answered twice.
        answerer: String,
    },
    /// The approver approved changed arguments (edited, or the engine's better action),
    /// and the policy, deciding the changed call, does not let it run.
    EditRefused {
        /// The changed call's mode (`blocked`, `needs_context`).
        mode: String,
        /// The policy's reason.
        reason: String,
    },
    /// "Approve the better action" was asked, and the decision offers no constrained
    /// alternative with changed arguments.
    NoBetterAction,
}

impl ApprovalRefusal {
    /// The refusal's name: the `reason` of a decision server's 409 answer (`tool_changed`,
    /// `arguments_changed`, `already_used`, `not_approved`, `untracked` for a claim;
    /// `expired`, `separate_approver_required`, `already_approved_by`, `edit_refused`,
    /// `no_better_action` for an answer); `not_found` and `already_resolved` are answered
    /// without one (404, and the 409 of a second resolution).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::AlreadyResolved { .. } => "already_resolved",
            Self::NotApproved { .. } => "not_approved",
            Self::ArgumentsChanged => "arguments_changed",
            Self::ToolChanged { .. } => "tool_changed",
            Self::AlreadyUsed => "already_used",
            Self::Untracked => "untracked",
            Self::Expired => "expired",
            Self::SeparateApproverRequired { .. } => "separate_approver_required",
            Self::AlreadyApprovedBy { .. } => "already_approved_by",
            Self::EditRefused { .. } => "edit_refused",
            Self::NoBetterAction => "no_better_action",
        }
    }

    /// The fields of a 409 `detail` that describe this refusal: `reason`, then
    /// `approved_tool` (tool changed), `status` and `resolution` (not approved), or
    /// `resolution` (already resolved).
    pub fn detail(&self) -> Map<String, Value> {
        let mut detail = Map::new();
        detail.insert("reason".into(), Value::from(self.reason()));
        match self {
            Self::ToolChanged { approved, .. } => {
                detail.insert(APPROVED_TOOL.into(), Value::from(approved.as_str()));
            }
            Self::NotApproved { status } => {
                detail.insert(STATUS.into(), Value::from(status.as_str()));
                detail.insert(RESOLUTION.into(), Value::from(status.as_str()));
            }
            Self::AlreadyResolved { resolution } => {
                detail.insert(RESOLUTION.into(), Value::from(resolution.as_str()));
            }
            Self::SeparateApproverRequired { answerer } | Self::AlreadyApprovedBy { answerer } => {
                detail.insert(ANSWERER.into(), Value::from(answerer.as_str()));
            }
            Self::EditRefused { mode, reason } => {
                detail.insert(MODE.into(), Value::from(mode.as_str()));
                detail.insert(POLICY_REASON.into(), Value::from(reason.as_str()));
            }
            Self::NotFound
            | Self::ArgumentsChanged
            | Self::AlreadyUsed
            | Self::Untracked
            | Self::Expired
            | Self::NoBetterAction => {}
        }
        detail
    }

    /// The refusal `reason` names, with what `detail` (a 409's `detail`) says about it;
    /// `requested` is the tool the refused call was for. `None` for a reason this
    /// vocabulary does not know. Fields `detail` lacks are read as `another tool` (the tool
    /// granted), `unknown` (the earlier resolution) or `not approved` (the status).
    pub fn from_reason(reason: &str, detail: &Value, requested: &str) -> Option<Self> {
        let field = |name: &str| detail.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(match reason {
            "not_found" => Self::NotFound,
            "already_resolved" => Self::AlreadyResolved {
                resolution: field(RESOLUTION)
                    .or_else(|| field(STATUS))
                    .unwrap_or_else(|| "unknown".to_owned()),
            },
            "not_approved" => Self::NotApproved {
                status: field(STATUS)
                    .or_else(|| field(RESOLUTION))
                    .unwrap_or_else(|| "not approved".to_owned()),
            },
            "arguments_changed" => Self::ArgumentsChanged,
            "tool_changed" => Self::ToolChanged {
                approved: field(APPROVED_TOOL).unwrap_or_else(|| "another tool".to_owned()),
                requested: requested.to_owned(),
            },
            "already_used" => Self::AlreadyUsed,
            "untracked" => Self::Untracked,
            "expired" => Self::Expired,
            "separate_approver_required" => Self::SeparateApproverRequired {
                answerer: field(ANSWERER).unwrap_or_else(|| "the requester".to_owned()),
            },
            "already_approved_by" => Self::AlreadyApprovedBy {
                answerer: field(ANSWERER).unwrap_or_else(|| "this approver".to_owned()),
            },
            "edit_refused" => Self::EditRefused {
                mode: field(MODE).unwrap_or_else(|| "blocked".to_owned()),
                reason: field(POLICY_REASON).unwrap_or_default(),
            },
            "no_better_action" => Self::NoBetterAction,
            _ => return None,
        })
    }
}

/// An approval refused for one request id: the error every layer carries.
///
/// Its message quotes the request id and what the engine recorded as they are; a layer
/// whose messages are one line in a log or on a terminal escapes it whole
/// ([`Error::Approval`](crate::Error::Approval) does, with
/// [`escape`](crate::escape::escape)).
///
/// ```
/// use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
///
/// let refused = ApprovalRefused::new("req_1", ApprovalRefusal::AlreadyUsed);
/// assert_eq!(refused.to_string(), "approval req_1 was already used");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub struct ApprovalRefused {
    /// The decision's request id.
    pub request_id: String,
    /// What is wrong with the approval.
    pub refusal: ApprovalRefusal,
}

impl ApprovalRefused {
    /// `refusal` for the approval of `request_id`.
    pub fn new(request_id: impl Into<String>, refusal: ApprovalRefusal) -> Self {
        Self {
            request_id: request_id.into(),
            refusal,
        }
    }
}

impl fmt::Display for ApprovalRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = &self.request_id;
        match &self.refusal {
            ApprovalRefusal::NotFound => write!(f, "no approval is pending for request {id}"),
            ApprovalRefusal::AlreadyResolved { resolution } => {
                write!(f, "approval {id} was already resolved ({resolution})")
            }
            ApprovalRefusal::NotApproved { status } => {
                write!(f, "approval {id} is {status}, not approved")
            }
            ApprovalRefusal::ArgumentsChanged => write!(
                f,
                "approval {id} was granted for different arguments; ask for a new approval for \
                 the changed call"
            ),
            ApprovalRefusal::ToolChanged {
                approved,
                requested,
            } => write!(
                f,
                "approval {id} was granted for the tool `{approved}`, not `{requested}`; ask \
                 for a new approval for this call"
            ),
            ApprovalRefusal::AlreadyUsed => write!(f, "approval {id} was already used"),
            ApprovalRefusal::Untracked => write!(
                f,
                "approval {id} cannot be bound to this call: the decision engine keeps no \
                 record of which call it was granted for, and it was not asked for here; \
                 resume where it was asked for, or decide with an engine that keeps approvals \
                 (the embedded engine or `bighub serve`)"
            ),
            ApprovalRefusal::Expired => write!(
                f,
                "approval {id} expired before anyone answered it; ask for a new approval"
            ),
            ApprovalRefusal::SeparateApproverRequired { answerer } => write!(
                f,
                "approval {id} must be answered by someone other than who asked for it, and \
                 {answerer} asked"
            ),
            ApprovalRefusal::AlreadyApprovedBy { answerer } => write!(
                f,
                "approval {id} needs another approver: {answerer} already approved it"
            ),
            ApprovalRefusal::EditRefused { mode, reason } => write!(
                f,
                "approval {id} cannot bind the changed arguments: the policy decides the \
                 changed call {mode}: {reason}"
            ),
            ApprovalRefusal::NoBetterAction => write!(
                f,
                "approval {id}: the decision offers no better action with changed arguments \
                 to approve"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_refusal() -> Vec<ApprovalRefusal> {
        vec![
            ApprovalRefusal::NotFound,
            ApprovalRefusal::AlreadyResolved {
                resolution: "rejected".into(),
            },
            ApprovalRefusal::NotApproved {
                status: "pending".into(),
            },
            ApprovalRefusal::ArgumentsChanged,
            ApprovalRefusal::ToolChanged {
                approved: "grant_access".into(),
                requested: "delete_user".into(),
            },
            ApprovalRefusal::AlreadyUsed,
            ApprovalRefusal::Untracked,
            ApprovalRefusal::Expired,
            ApprovalRefusal::SeparateApproverRequired {
                answerer: "agent-a".into(),
            },
            ApprovalRefusal::AlreadyApprovedBy {
                answerer: "console:alice".into(),
            },
            ApprovalRefusal::EditRefused {
                mode: "blocked".into(),
                reason: "change freeze".into(),
            },
            ApprovalRefusal::NoBetterAction,
        ]
    }

    #[test]
    fn every_reason_round_trips_through_from_reason() {
        let refusals = every_refusal();
        for refusal in &refusals {
            let detail = Value::Object(refusal.detail());
            assert_eq!(detail["reason"], refusal.reason());
            assert_eq!(
                ApprovalRefusal::from_reason(refusal.reason(), &detail, "delete_user").as_ref(),
                Some(refusal),
                "{refusal:?}"
            );
        }
        let mut reasons: Vec<_> = refusals.iter().map(ApprovalRefusal::reason).collect();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), refusals.len(), "one reason per refusal");
        assert_eq!(
            ApprovalRefusal::from_reason("withdrawn", &Value::Null, "t"),
            None
        );
    }

    #[test]
    fn the_claim_reasons_are_the_wire_names() {
        let names: Vec<_> = every_refusal()
            .iter()
            .map(ApprovalRefusal::reason)
            .collect();
        for wire in [
            "tool_changed",
            "arguments_changed",
            "already_used",
            "not_approved",
            "untracked",
        ] {
            assert!(names.contains(&wire), "{wire}");
        }
    }

    #[test]
    fn a_quoted_value_is_escaped_in_the_core_error_message() {
        let refused = ApprovalRefused::new(
            "req\n1",
            ApprovalRefusal::ToolChanged {
                approved: "a\u{1b}[2K".into(),
                requested: "b".into(),
            },
        );
        assert!(refused.to_string().contains('\u{1b}'), "quoted as it is");
        let message = crate::Error::Approval(refused).to_string();
        assert!(
            !message.chars().any(crate::escape::needs_escape),
            "{message:?}"
        );
        assert!(message.starts_with(r"approval req\n1 was granted for the tool `a\x1b[2K`"));
    }
}
