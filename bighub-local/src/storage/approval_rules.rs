//! The rules of an approval's lifecycle that every store keeps: resolved once, used once,
//! only for the call it was approved for.
//!
//! A review decision creates a pending approval bound to its request id, its tool and the
//! SHA-256 of its canonical arguments. Each store resolves and consumes it by a conditional
//! update in the database (never by a set in one process), and this module says what the
//! outcome of that update means: the approval as it now stands, or the refusal. It also
//! checks a claim (the tool and arguments a call brings) against the approval. It runs no
//! statement itself.

use serde_json::Value;

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};

use crate::error::LocalError;
use crate::storage::{ApprovalRecord, ApprovalStatus};

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

/// What a resolution that changed `changed` rows means, given the approval as read after
/// it: the record, or why it was refused.
pub(crate) fn resolved(
    changed: u64,
    record: Option<ApprovalRecord>,
    request_id: &str,
) -> Result<ApprovalRecord, LocalError> {
    let record = record.ok_or_else(|| refused(request_id, ApprovalRefusal::NotFound))?;
    if changed == 0 {
        let resolution = record.status.as_str().to_owned();
        return Err(refused(
            request_id,
            ApprovalRefusal::AlreadyResolved { resolution },
        ));
    }
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
    if record.status != ApprovalStatus::Approved {
        let status = record.status.as_str().to_owned();
        return Err(refused(
            &record.request_id,
            ApprovalRefusal::NotApproved { status },
        ));
    }
    if record.used {
        return Err(refused(&record.request_id, ApprovalRefusal::AlreadyUsed));
    }
    Ok(())
}
