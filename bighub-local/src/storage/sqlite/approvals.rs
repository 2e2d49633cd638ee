//! The SQLite store's approvals: reading them, resolving one once, consuming it once.
//!
//! A pending approval is written with its decision (`store.rs`). This module owns the
//! statements that read, resolve and consume approvals, each a conditional update that
//! SQLite applies atomically, also across processes sharing the file (`UPDATE ... WHERE
//! used = 0`); what their outcome means is [`approval_rules`](crate::storage::approval_rules).

use rusqlite::{Connection, OptionalExtension, Row, params};

use bighub_core::ApprovalResolution;

use crate::clock::format_rfc3339;
use crate::error::LocalError;
use crate::storage::approval_rules::{consumed, parse_arguments, resolved};
use crate::storage::{ApprovalRecord, ApprovalStatus};

const COLUMNS: &str = "request_id, created_at, tool, action, target, arguments_sha256, reason,
    status, comment, resolved_by, resolved_at, used, used_at, resolver, arguments";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ApprovalRecord> {
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

/// How many approvals are pending (a count, not the rows).
pub(crate) fn pending_count(conn: &Connection) -> Result<u64, LocalError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM approvals WHERE status = 'pending'",
        [],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
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
