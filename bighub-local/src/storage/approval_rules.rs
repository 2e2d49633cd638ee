//! The rules of an approval's lifecycle that every store keeps: answered before it
//! expires, by the people its terms allow, resolved once, used once, only for the call it
//! was approved for.
//!
//! A review decision creates a pending approval bound to its request id, its tool and the
//! SHA-256 of its canonical arguments, with its terms (when it expires, whether its
//! requester may approve it, how many people must). An answer is planned here from the
//! approval as read ([`plan`]): expire it, refuse the answer, or the update to write. Each
//! store writes that update by a conditional update in the database (`WHERE status =
//! 'pending' AND approver_count = <as read>`, never by a set in one process), so that of
//! concurrent answers each is counted once, and this module says what the outcome means.
//! It also checks a claim (the tool and arguments a call brings) against the approval. It
//! runs no statement itself.
//!
//! Pending → approved (once `required_approvals` distinct people approved) / rejected (one
//! rejection) / expired (its time ran out first) → used (approved, and its call ran).
//! Who asked is the API key's name that made the decision (`in-process` without one) and
//! the call's actor; a person's name is what follows `console:`, `slack:` or `operator:`
//! in an answerer's name. Where a separate approver is required, an answerer who is the
//! requester or the actor may reject but not approve. An approval of changed arguments
//! (the better action, or an edit) binds the new arguments and starts the count of
//! approvals again.

use serde_json::Value;

use bighub_core::ApprovalResolution;
use bighub_core::Resolution;
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};

use crate::clock::format_rfc3339;
use crate::error::LocalError;
use crate::storage::{ApprovalRecord, ApprovalStatus, Approver, IN_PROCESS};

/// A pending approval to write with its review decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewApproval<'a> {
    /// Why the decision asked for a review.
    pub reason: &'a str,
    /// When it expires (unix milliseconds).
    pub expires_at: i64,
    /// Whoever asked may not approve it.
    pub separate_approver: bool,
    /// How many distinct people must approve it.
    pub required_approvals: u32,
}

/// Changed arguments an approver approves, as the engine decided them.
#[derive(Debug, Clone)]
pub(crate) struct ArgumentChange {
    /// The changed arguments, redacted as the store keeps arguments.
    pub arguments: Value,
    /// Their digest ([`ProposedAction::approval_digest`](bighub_core::ProposedAction::approval_digest)).
    pub arguments_sha256: String,
    /// What changed and why: the record's [`change`](ApprovalRecord::change).
    pub change: Value,
}

/// An answer to apply to a pending approval.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer<'a> {
    pub resolution: &'a ApprovalResolution,
    /// Who answers, as authenticated.
    pub resolver: &'a str,
    pub now_ms: i64,
    /// Whether the answer came through a decision server that requires a separate
    /// approver for every approval (`--separate-approver`).
    pub separate_approver: bool,
    /// The changed call, when the answer approves another call than the one asked for.
    pub change: Option<&'a ArgumentChange>,
}

/// What to do with an answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    /// The approval's time ran out: mark it expired (then refuse the answer).
    Expire,
    /// Write this.
    Update(Box<Update>),
}

/// The columns an answer writes, and the count of approvals it expects to find.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Update {
    /// `pending` (more approvals needed), `approved` or `rejected`.
    pub status: &'static str,
    /// The approvers after this answer, as stored (JSON).
    pub approvers: String,
    pub approver_count: i64,
    /// The count read before the answer: the update applies only if it still holds.
    pub expected_count: i64,
    /// Set once the approval is resolved.
    pub comment: Option<String>,
    pub resolved_by: Option<String>,
    pub resolver: Option<String>,
    pub resolved_at: Option<i64>,
    /// Set when the answer approves changed arguments.
    pub arguments: Option<String>,
    pub arguments_sha256: Option<String>,
    pub change: Option<String>,
}

/// The person an answerer's name or a requester names: what follows a `console:`,
/// `slack:` or `operator:` prefix, lower-cased.
fn person(name: &str) -> String {
    let bare = ["console:", "slack:", "operator:"]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name);
    bare.trim().to_lowercase()
}

/// Whether `answerer` is whoever asked for `record`: its requester (the API key's name, or
/// `in-process`) or its actor.
fn is_requester(record: &ApprovalRecord, answerer: &str) -> bool {
    let requester = record.requester.as_deref().unwrap_or(IN_PROCESS);
    let who = person(answerer);
    answerer == requester
        || who == person(requester)
        || record
            .actor
            .as_deref()
            .is_some_and(|actor| !actor.trim().is_empty() && who == actor.trim().to_lowercase())
}

/// What `answer` does to the approval `record` (as read); a refusal when the answer may
/// not be given.
pub(crate) fn plan(record: &ApprovalRecord, answer: &Answer<'_>) -> Result<Plan, LocalError> {
    let id = &record.request_id;
    match record.status {
        ApprovalStatus::Pending => {}
        ApprovalStatus::Expired => return Err(refused(id, ApprovalRefusal::Expired)),
        status => {
            let resolution = status.as_str().to_owned();
            return Err(refused(id, ApprovalRefusal::AlreadyResolved { resolution }));
        }
    }
    if record
        .expires_at
        .as_deref()
        .and_then(|at| at.parse::<jiff::Timestamp>().ok())
        .is_some_and(|expires| expires.as_millisecond() <= answer.now_ms)
    {
        return Ok(Plan::Expire);
    }
    let expected_count = record.approvers.len() as i64;
    let resolution = answer.resolution;
    let resolved = |status: &'static str, approvers: &[Approver]| Update {
        status,
        approvers: serde_json::to_string(approvers).unwrap_or_else(|_| "[]".to_owned()),
        approver_count: approvers.len() as i64,
        expected_count,
        comment: resolution.comment.clone(),
        resolved_by: resolution.resolved_by.clone(),
        resolver: Some(answer.resolver.to_owned()),
        resolved_at: Some(answer.now_ms),
        arguments: None,
        arguments_sha256: None,
        change: None,
    };
    if resolution.resolution == Resolution::Rejected {
        // Anyone allowed to answer may say no, whoever asked included.
        return Ok(Plan::Update(Box::new(resolved(
            "rejected",
            &record.approvers,
        ))));
    }
    if (record.separate_approver || answer.separate_approver)
        && is_requester(record, answer.resolver)
    {
        let refusal = ApprovalRefusal::SeparateApproverRequired {
            answerer: answer.resolver.to_owned(),
        };
        return Err(refused(id, refusal));
    }
    let me = Approver {
        name: answer.resolver.to_owned(),
        at: format_rfc3339(answer.now_ms),
        comment: resolution.comment.clone(),
    };
    let mut approvers = match answer.change {
        // Changed arguments are another call: the approvals of the old one do not count.
        Some(_) => Vec::new(),
        None => {
            let who = person(answer.resolver);
            if record.approvers.iter().any(|a| person(&a.name) == who) {
                let refusal = ApprovalRefusal::AlreadyApprovedBy {
                    answerer: answer.resolver.to_owned(),
                };
                return Err(refused(id, refusal));
            }
            record.approvers.clone()
        }
    };
    approvers.push(me);
    let enough = approvers.len() >= record.required_approvals.max(1) as usize;
    let mut update = resolved(if enough { "approved" } else { "pending" }, &approvers);
    if !enough {
        update.comment = None;
        update.resolved_by = None;
        update.resolver = None;
        update.resolved_at = None;
    }
    if let Some(change) = answer.change {
        update.arguments = Some(change.arguments.to_string());
        update.arguments_sha256 = Some(change.arguments_sha256.clone());
        update.change = Some(change.change.to_string());
    }
    Ok(Plan::Update(Box::new(update)))
}

/// The refusal of an answer to an approval that does not exist.
pub(crate) fn not_found(request_id: &str) -> LocalError {
    refused(request_id, ApprovalRefusal::NotFound)
}

/// How many times an answer is planned again when other answers keep coming first.
pub(crate) const ANSWER_ATTEMPTS: usize = 4;

/// The refusal of an approval that expired when it was answered.
pub(crate) fn expired(request_id: &str) -> LocalError {
    refused(request_id, ApprovalRefusal::Expired)
}

/// The refusal of an answer that other answers kept overtaking.
pub(crate) fn overtaken(record: &ApprovalRecord) -> LocalError {
    let resolution = record.status.as_str().to_owned();
    refused(
        &record.request_id,
        ApprovalRefusal::AlreadyResolved { resolution },
    )
}

/// The approvers as stored (JSON text; unreadable text reads as none).
pub(crate) fn parse_approvers(text: Option<String>) -> Vec<Approver> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The stored arguments' text as JSON (the store wrote it; unreadable text reads as none).
pub(crate) fn parse_arguments(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// Checks that the approval `record` (as read for `request_id`) is approved, unused, and
/// was approved for exactly this `tool` and arguments of this `digest`
/// ([`ProposedAction::approval_digest`](bighub_core::ProposedAction::approval_digest)).
pub(crate) fn check_claim(
    record: Option<ApprovalRecord>,
    request_id: &str,
    tool: &str,
    digest: &str,
) -> Result<ApprovalRecord, LocalError> {
    let record = record.ok_or_else(|| refused(request_id, ApprovalRefusal::NotFound))?;
    if record.tool != tool {
        let refusal = ApprovalRefusal::ToolChanged {
            approved: record.tool,
            requested: tool.to_owned(),
        };
        return Err(refused(request_id, refusal));
    }
    if digest != record.arguments_sha256 {
        return Err(refused(request_id, ApprovalRefusal::ArgumentsChanged));
    }
    check_usable(&record)?;
    Ok(record)
}

/// What a consumption that changed `changed` rows means, given the approval as read after
/// it.
pub(crate) fn consumed(
    changed: u64,
    record: Option<ApprovalRecord>,
    request_id: &str,
) -> Result<ApprovalRecord, LocalError> {
    let record = record.ok_or_else(|| refused(request_id, ApprovalRefusal::NotFound))?;
    if changed == 0 {
        check_usable(&record)?;
        // The row was usable when read, yet the update matched nothing: another consumer
        // took it in between.
        return Err(refused(request_id, ApprovalRefusal::AlreadyUsed));
    }
    Ok(record)
}

/// The approval `request_id` refused with `refusal`.
fn refused(request_id: &str, refusal: ApprovalRefusal) -> LocalError {
    ApprovalRefused::new(request_id, refusal).into()
}

pub(crate) fn check_usable(record: &ApprovalRecord) -> Result<(), LocalError> {
    if record.used || record.status == ApprovalStatus::Used {
        return Err(refused(&record.request_id, ApprovalRefusal::AlreadyUsed));
    }
    if record.status == ApprovalStatus::Expired {
        return Err(refused(&record.request_id, ApprovalRefusal::Expired));
    }
    if record.status != ApprovalStatus::Approved {
        let status = record.status.as_str().to_owned();
        return Err(refused(
            &record.request_id,
            ApprovalRefusal::NotApproved { status },
        ));
    }
    Ok(())
}
