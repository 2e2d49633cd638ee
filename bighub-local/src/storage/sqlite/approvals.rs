//! The SQLite store's approvals: reading them, answering one under its terms, expiring the
//! overdue ones, consuming an approved one once.
//!
//! A pending approval is written with its decision (`store.rs`). This module owns the
//! statements that read, answer, expire and consume approvals, each a conditional update
//! that SQLite applies atomically, also across processes sharing the file (`UPDATE ...
//! WHERE status = 'pending' AND approver_count = ?`, `... WHERE used = 0`); what an answer
//! does and what each outcome means is [`approval_rules`](crate::storage::approval_rules).

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::clock::format_rfc3339;
use crate::error::LocalError;
use crate::storage::approval_rules::{
    ANSWER_ATTEMPTS, Plan, consumed, expired, not_found, overtaken, parse_approvers,
    parse_arguments, plan,
};
use crate::storage::{Answer, ApprovalRecord, ApprovalStatus};

const COLUMNS: &str = "request_id, created_at, tool, action, target, arguments_sha256, reason,
    status, comment, resolved_by, resolved_at, used, used_at, resolver, arguments, expires_at,
    requester, actor, separate_approver, required_approvals, approvers, arguments_change";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ApprovalRecord> {
    let used = r.get::<_, i64>(11)? != 0;
    let expires_at_ms: Option<i64> = r.get(15)?;
    Ok(ApprovalRecord {
        request_id: r.get(0)?,
        created_at: format_rfc3339(r.get(1)?),
        tool: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        arguments_sha256: r.get(5)?,
        reason: r.get(6)?,
        status: ApprovalStatus::from_row(&r.get::<_, String>(7)?, used),
        comment: r.get(8)?,
        resolved_by: r.get(9)?,
        resolved_at: r.get::<_, Option<i64>>(10)?.map(format_rfc3339),
        used,
        used_at: r.get::<_, Option<i64>>(12)?.map(format_rfc3339),
        resolver: r.get(13)?,
        arguments: parse_arguments(r.get(14)?),
        expires_at: expires_at_ms.map(format_rfc3339),
        requester: r.get(16)?,
        actor: r.get(17)?,
        separate_approver: r.get::<_, i64>(18)? != 0,
        required_approvals: u32::try_from(r.get::<_, i64>(19)?).unwrap_or(1).max(1),
        approvers: parse_approvers(r.get(20)?),
        change: parse_arguments(r.get(21)?),
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

/// Approvals pending and not expired at `now_ms`, oldest first, at most `limit` (limited
/// in the query).
pub(crate) fn pending(
    conn: &Connection,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<ApprovalRecord>, LocalError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM approvals
             WHERE status = 'pending' AND (expires_at IS NULL OR expires_at > ?2)
             ORDER BY created_at, request_id LIMIT ?1"
        ))?
        .query_map(
            params![limit.min(i64::MAX as usize) as i64, now_ms],
            from_row,
        )?
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

/// Applies `answer` to the pending approval `request_id` under the lifecycle's rules.
pub(crate) fn resolve(
    conn: &Connection,
    request_id: &str,
    answer: &Answer<'_>,
) -> Result<ApprovalRecord, LocalError> {
    let mut current = get(conn, request_id)?.ok_or_else(|| not_found(request_id))?;
    for _ in 0..ANSWER_ATTEMPTS {
        let update = match plan(&current, answer)? {
            Plan::Expire => {
                expire(conn, request_id, answer.now_ms)?;
                return Err(expired(request_id));
            }
            Plan::Update(update) => update,
        };
        let changed = conn
            .prepare_cached(
                "UPDATE approvals SET status = ?2, approvers = ?3, approver_count = ?4,
                     comment = ?5, resolved_by = ?6, resolver = ?7, resolved_at = ?8,
                     arguments = coalesce(?9, arguments),
                     arguments_sha256 = coalesce(?10, arguments_sha256),
                     arguments_change = coalesce(?11, arguments_change)
                 WHERE request_id = ?1 AND status = 'pending' AND approver_count = ?12",
            )?
            .execute(params![
                request_id,
                update.status,
                update.approvers,
                update.approver_count,
                update.comment,
                update.resolved_by,
                update.resolver,
                update.resolved_at,
                update.arguments,
                update.arguments_sha256,
                update.change,
                update.expected_count,
            ])?;
        let after = get(conn, request_id)?.ok_or_else(|| not_found(request_id))?;
        if changed > 0 {
            return Ok(after);
        }
        // Another answer came first: plan again on the approval as it now stands.
        current = after;
    }
    Err(overtaken(&current))
}

/// Marks `request_id` expired if it is still pending.
fn expire(conn: &Connection, request_id: &str, now_ms: i64) -> Result<(), LocalError> {
    conn.prepare_cached(
        "UPDATE approvals SET status = 'expired', resolved_at = ?2
         WHERE request_id = ?1 AND status = 'pending'",
    )?
    .execute(params![request_id, now_ms])?;
    Ok(())
}

/// Marks at most `limit` overdue pending approvals expired and answers them.
pub(crate) fn expire_due(
    conn: &Connection,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<ApprovalRecord>, LocalError> {
    let ids: Vec<String> = conn
        .prepare_cached(
            "UPDATE approvals SET status = 'expired', resolved_at = ?1
             WHERE request_id IN (
                 SELECT request_id FROM approvals
                 WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ?1
                 ORDER BY expires_at LIMIT ?2)
             RETURNING request_id",
        )?
        .query_map(params![now_ms, limit.min(i64::MAX as usize) as i64], |r| {
            r.get(0)
        })?
        .collect::<Result<_, _>>()?;
    let mut records = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(record) = get(conn, &id)? {
            records.push(record);
        }
    }
    Ok(records)
}

/// How many approvals are pending and not expired at `now_ms` (a count, not the rows).
pub(crate) fn pending_count(conn: &Connection, now_ms: i64) -> Result<u64, LocalError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM approvals
         WHERE status = 'pending' AND (expires_at IS NULL OR expires_at > ?1)",
        params![now_ms],
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
