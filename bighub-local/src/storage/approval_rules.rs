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
    let record = record.ok_or_else(|| LocalError::ApprovalNotFound(request_id.to_owned()))?;
    if record.tool != tool {
        return Err(LocalError::ApprovalToolChanged {
            request_id: request_id.to_owned(),
            approved: record.tool,
            requested: tool.to_owned(),
        });
    }
    if digest != record.arguments_sha256 {
        return Err(LocalError::ApprovalArgumentsChanged(request_id.to_owned()));
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
    let record = record.ok_or_else(|| LocalError::ApprovalNotFound(request_id.to_owned()))?;
    if changed == 0 {
        return Err(LocalError::ApprovalAlreadyResolved {
            request_id: request_id.to_owned(),
            resolution: record.status.as_str().to_owned(),
        });
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
    let record = record.ok_or_else(|| LocalError::ApprovalNotFound(request_id.to_owned()))?;
    if changed == 0 {
        check_usable(&record)?;
        // The row was usable when read, yet the update matched nothing: another consumer
        // took it in between.
        return Err(LocalError::ApprovalAlreadyUsed(request_id.to_owned()));
    }
    Ok(record)
}

pub(crate) fn check_usable(record: &ApprovalRecord) -> Result<(), LocalError> {
    if record.status != ApprovalStatus::Approved {
        return Err(LocalError::ApprovalNotApproved {
            request_id: record.request_id.clone(),
            status: record.status.as_str().to_owned(),
        });
    }
    if record.used {
        return Err(LocalError::ApprovalAlreadyUsed(record.request_id.clone()));
    }
    Ok(())
}
