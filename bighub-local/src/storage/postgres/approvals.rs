//! The PostgreSQL store's approvals: reading them, resolving one once, consuming it once.
//!
//! A pending approval is written with its decision (`mod.rs`). This module owns the
//! statements that read, resolve and consume approvals: `UPDATE ... WHERE status =
//! 'pending'` and `UPDATE ... WHERE status = 'approved' AND NOT used`, so of any number of
//! concurrent callers on any number of machines exactly one succeeds; what their outcome
//! means is [`approval_rules`](crate::storage::approval_rules).

use deadpool_postgres::Object as Client;
use tokio_postgres::Row;

use bighub_core::ApprovalResolution;

use crate::clock::format_rfc3339;
use crate::error::LocalError;
use crate::storage::approval_rules::{consumed, parse_arguments, resolved};
use crate::storage::{ApprovalRecord, ApprovalStatus};

const APPROVAL_COLUMNS: &str = "request_id, created_at, tool, action, target, arguments_sha256,
    reason, status, comment, resolved_by, resolved_at, used, used_at, resolver, arguments";

pub(super) async fn get(
    client: &Client,
    request_id: &str,
) -> Result<Option<ApprovalRecord>, LocalError> {
    let row = client
        .query_opt(
            &format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE request_id = $1"),
            &[&request_id],
        )
        .await?;
    row.as_ref().map(approval_from_row).transpose()
}

pub(super) async fn list(
    client: &Client,
    pending: bool,
    limit: usize,
) -> Result<Vec<ApprovalRecord>, LocalError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = if pending {
        client
            .query(
                &format!(
                    "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE status = 'pending'
                     ORDER BY created_at, request_id LIMIT $1"
                ),
                &[&limit],
            )
            .await?
    } else {
        client
            .query(
                &format!(
                    "SELECT {APPROVAL_COLUMNS} FROM approvals
                     ORDER BY created_at DESC, request_id DESC LIMIT $1"
                ),
                &[&limit],
            )
            .await?
    };
    rows.iter().map(approval_from_row).collect()
}

/// How many approvals are pending (a count, not the rows).
pub(super) async fn pending_count(client: &Client) -> Result<u64, LocalError> {
    let n: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM approvals WHERE status = 'pending'",
            &[],
        )
        .await?
        .try_get(0)?;
    Ok(n.max(0) as u64)
}

pub(super) async fn resolve(
    client: &Client,
    request_id: &str,
    resolution: &ApprovalResolution,
    resolver: &str,
    now_ms: i64,
) -> Result<ApprovalRecord, LocalError> {
    let changed = client
        .execute(
            "UPDATE approvals SET status = $2, comment = $3, resolved_by = $4, resolved_at = $5,
                 resolver = $6
             WHERE request_id = $1 AND status = 'pending'",
            &[
                &request_id,
                &resolution.resolution.as_str(),
                &resolution.comment,
                &resolution.resolved_by,
                &now_ms,
                &resolver,
            ],
        )
        .await?;
    resolved(changed, get(client, request_id).await?, request_id)
}

pub(super) async fn consume(
    client: &Client,
    request_id: &str,
    now_ms: i64,
) -> Result<ApprovalRecord, LocalError> {
    let changed = client
        .execute(
            "UPDATE approvals SET used = true, used_at = $2
             WHERE request_id = $1 AND status = 'approved' AND NOT used",
            &[&request_id, &now_ms],
        )
        .await?;
    consumed(changed, get(client, request_id).await?, request_id)
}

fn approval_from_row(r: &Row) -> Result<ApprovalRecord, LocalError> {
    Ok(ApprovalRecord {
        request_id: r.try_get(0)?,
        created_at: format_rfc3339(r.try_get(1)?),
        tool: r.try_get(2)?,
        action: r.try_get(3)?,
        target: r.try_get(4)?,
        arguments_sha256: r.try_get(5)?,
        reason: r.try_get(6)?,
        status: ApprovalStatus::parse(&r.try_get::<_, String>(7)?),
        comment: r.try_get(8)?,
        resolved_by: r.try_get(9)?,
        resolved_at: r.try_get::<_, Option<i64>>(10)?.map(format_rfc3339),
        used: r.try_get(11)?,
        used_at: r.try_get::<_, Option<i64>>(12)?.map(format_rfc3339),
        resolver: r.try_get(13)?,
        arguments: parse_arguments(r.try_get(14)?),
    })
}
