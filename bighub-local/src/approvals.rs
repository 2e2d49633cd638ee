//! Local approvals: one human resolution, bound to the exact arguments, used at most once.
//!
//! A review decision creates a pending approval (in `store.rs`, in the same transaction as
//! the decision) bound to its request id and the SHA-256 of its canonical arguments. This
//! module owns what happens next: reading approvals, resolving one exactly once, verifying
//! that a call still has the approved arguments, and consuming it so it runs at most once,
//! also across processes (a conditional `UPDATE ... WHERE used = 0`).

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::Value;

use bighub_core::ApprovalResolution;
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};

use super::LocalError;
use super::clock::format_rfc3339;

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for a human.
    Pending,
    /// A human approved it.
    Approved,
    /// A human rejected it.
    Rejected,
}

impl ApprovalStatus {
    /// The stored name (`pending`, `approved`, `rejected`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            _ => Self::Pending,
        }
    }
}

/// An approval as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalRecord {
    /// The review decision's request id.
    pub request_id: String,
    /// When the decision asked for it (RFC 3339, UTC).
    pub created_at: String,
    /// The tool to run.
    pub tool: String,
    /// The action name.
    pub action: String,
    /// The target (empty when none).
    pub target: String,
    /// SHA-256 of the canonical JSON of the arguments it was asked for.
    pub arguments_sha256: String,
    /// The arguments it was asked for, redacted as the decision recorded them (`None` for
    /// approvals stored before the store kept them).
    pub arguments: Option<Value>,
    /// Why the decision asked for a review.
    pub reason: Option<String>,
    /// Pending, approved or rejected.
    pub status: ApprovalStatus,
    /// The resolver's comment.
    pub comment: Option<String>,
    /// Who resolved it, in their own words (the resolution's `resolved_by`): a note, not
    /// a fact; [`resolver`](Self::resolver) is the fact.
    pub resolved_by: Option<String>,
    /// Who resolved it, as authenticated: the decision server's name for the API key that
    /// resolved it, `operator:<user>` for the `bighub` CLI, [`IN_PROCESS`] for a resolution
    /// made in the engine's own process. `None` while pending (and for approvals resolved
    /// before the store recorded it).
    pub resolver: Option<String>,
    /// When it was resolved (RFC 3339, UTC).
    pub resolved_at: Option<String>,
    /// Whether the approved call has run (an approval runs its call at most once).
    pub used: bool,
    /// When it was used.
    pub used_at: Option<String>,
}

/// The resolver recorded for a resolution made in the engine's own process (an agent's
/// approval callback, a program calling [`LocalEngine::resolve`](crate::LocalEngine::resolve)).
pub const IN_PROCESS: &str = "in-process";

const COLUMNS: &str = "request_id, created_at, tool, action, target, arguments_sha256, reason,
    status, comment, resolved_by, resolved_at, used, used_at, resolver, arguments";

pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<ApprovalRecord> {
    Ok(ApprovalRecord {
        request_id: r.get(0)?,
        created_at: format_rfc3339(r.get(1)?),
        tool: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        arguments_sha256: r.get(5)?,
        reason: r.get(6)?,
        status: ApprovalStatus::parse(&r.get::<_, String>(7)?),
        comment: r.get(8)?,
        resolved_by: r.get(9)?,
        resolved_at: r.get::<_, Option<i64>>(10)?.map(format_rfc3339),
        used: r.get::<_, i64>(11)? != 0,
        used_at: r.get::<_, Option<i64>>(12)?.map(format_rfc3339),
        resolver: r.get(13)?,
        arguments: parse_arguments(r.get(14)?),
    })
}

/// The stored arguments' text as JSON (the store wrote it; unreadable text reads as none).
pub(crate) fn parse_arguments(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// The approval for `request_id`, if any.
pub(crate) fn get(
    conn: &Connection,
    request_id: &str,
) -> Result<Option<ApprovalRecord>, LocalError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM approvals WHERE request_id = ?1"
        ))?
        .query_row(params![request_id], from_row)
        .optional()?)
}

/// Pending approvals, oldest first, at most `limit` (limited in the query).
pub(crate) fn pending(conn: &Connection, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM approvals WHERE status = 'pending' ORDER BY created_at, request_id LIMIT ?1"
        ))?
        .query_map(params![limit.min(i64::MAX as usize) as i64], from_row)?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Every approval, pending or resolved, newest first, at most `limit`.
pub(crate) fn all(conn: &Connection, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM approvals ORDER BY created_at DESC, request_id DESC LIMIT ?1"
        ))?
        .query_map(params![limit.min(i64::MAX as usize) as i64], from_row)?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Resolves a pending approval once, recording `resolver`; a second resolution is refused.
pub(crate) fn resolve(
    conn: &Connection,
    request_id: &str,
    resolution: &ApprovalResolution,
    resolver: &str,
    now_ms: i64,
) -> Result<ApprovalRecord, LocalError> {
    let changed = conn
        .prepare_cached(
            "UPDATE approvals SET status = ?2, comment = ?3, resolved_by = ?4, resolved_at = ?5,
                 resolver = ?6
             WHERE request_id = ?1 AND status = 'pending'",
        )?
        .execute(params![
            request_id,
            resolution.resolution.as_str(),
            resolution.comment,
            resolution.resolved_by,
            now_ms,
            resolver,
        ])?;
    resolved(changed as u64, get(conn, request_id)?, request_id)
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

/// Marks an approved approval used. The conditional update is atomic in SQLite, so of two
/// processes consuming the same approval exactly one succeeds.
pub(crate) fn consume(
    conn: &Connection,
    request_id: &str,
    now_ms: i64,
) -> Result<ApprovalRecord, LocalError> {
    let changed = conn
        .prepare_cached(
            "UPDATE approvals SET used = 1, used_at = ?2
             WHERE request_id = ?1 AND status = 'approved' AND used = 0",
        )?
        .execute(params![request_id, now_ms])?;
    consumed(changed as u64, get(conn, request_id)?, request_id)
}
