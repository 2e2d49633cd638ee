//! The PostgreSQL store's approvals: reading them, answering one under its terms, expiring
//! the overdue ones, consuming an approved one once.
//!
//! A pending approval is written with its decision (`mod.rs`). This module owns the
//! statements that read, answer, expire and consume approvals: `UPDATE ... WHERE status =
//! 'pending' AND approver_count = $n` and `UPDATE ... WHERE status = 'approved' AND NOT
//! used`, so of any number of concurrent callers on any number of machines each answer is
//! counted once and one consumer succeeds; what an answer does and what each outcome means
//! is [`approval_rules`](crate::storage::approval_rules).

use deadpool_postgres::Object as Client;
use tokio_postgres::Row;

use crate::clock::format_rfc3339;
use crate::error::LocalError;
use crate::storage::approval_rules::{
    ANSWER_ATTEMPTS, Plan, consumed, expired, not_found, overtaken, parse_approvers,
    parse_arguments, plan,
};
use crate::storage::{Answer, ApprovalRecord, ApprovalStatus};

const APPROVAL_COLUMNS: &str = "request_id, created_at, tool, action, target, arguments_sha256,
    reason, status, comment, resolved_by, resolved_at, used, used_at, resolver, arguments,
    expires_at, requester, actor, separate_approver, required_approvals, approvers,
    arguments_change";

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

/// With `pending_at`: the approvals pending and not expired then, oldest first; without:
/// every approval, newest first. At most `limit`.
pub(super) async fn list(
    client: &Client,
    pending_at: Option<i64>,
    limit: usize,
) -> Result<Vec<ApprovalRecord>, LocalError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match pending_at {
        Some(now_ms) => {
            client
                .query(
                    &format!(
                        "SELECT {APPROVAL_COLUMNS} FROM approvals
                         WHERE status = 'pending' AND (expires_at IS NULL OR expires_at > $2)
                         ORDER BY created_at, request_id LIMIT $1"
                    ),
                    &[&limit, &now_ms],
                )
                .await?
        }
        None => {
            client
                .query(
                    &format!(
                        "SELECT {APPROVAL_COLUMNS} FROM approvals
                         ORDER BY created_at DESC, request_id DESC LIMIT $1"
                    ),
                    &[&limit],
                )
                .await?
        }
    };
    rows.iter().map(approval_from_row).collect()
}

/// How many approvals are pending and not expired at `now_ms` (a count, not the rows).
pub(super) async fn pending_count(client: &Client, now_ms: i64) -> Result<u64, LocalError> {
    let n: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM approvals
             WHERE status = 'pending' AND (expires_at IS NULL OR expires_at > $1)",
            &[&now_ms],
        )
        .await?
        .try_get(0)?;
    Ok(n.max(0) as u64)
}

/// Applies `answer` to the pending approval `request_id` under the lifecycle's rules.
pub(super) async fn resolve(
    client: &Client,
    request_id: &str,
    answer: &Answer<'_>,
) -> Result<ApprovalRecord, LocalError> {
    let mut current = get(client, request_id)
        .await?
        .ok_or_else(|| not_found(request_id))?;
    for _ in 0..ANSWER_ATTEMPTS {
        let update = match plan(&current, answer)? {
            Plan::Expire => {
                client
                    .execute(
                        "UPDATE approvals SET status = 'expired', resolved_at = $2
                         WHERE request_id = $1 AND status = 'pending'",
                        &[&request_id, &answer.now_ms],
                    )
                    .await?;
                return Err(expired(request_id));
            }
            Plan::Update(update) => update,
        };
        let count = i32::try_from(update.approver_count).unwrap_or(i32::MAX);
        let expected = i32::try_from(update.expected_count).unwrap_or(i32::MAX);
        let changed = client
            .execute(
                "UPDATE approvals SET status = $2, approvers = $3, approver_count = $4,
                     comment = $5, resolved_by = $6, resolver = $7, resolved_at = $8,
                     arguments = coalesce($9, arguments),
                     arguments_sha256 = coalesce($10, arguments_sha256),
                     arguments_change = coalesce($11, arguments_change)
                 WHERE request_id = $1 AND status = 'pending' AND approver_count = $12",
                &[
                    &request_id,
                    &update.status,
                    &update.approvers,
                    &count,
                    &update.comment,
                    &update.resolved_by,
                    &update.resolver,
                    &update.resolved_at,
                    &update.arguments,
                    &update.arguments_sha256,
                    &update.change,
                    &expected,
                ],
            )
            .await?;
        let after = get(client, request_id)
            .await?
            .ok_or_else(|| not_found(request_id))?;
        if changed > 0 {
            return Ok(after);
        }
        // Another answer came first: plan again on the approval as it now stands.
        current = after;
    }
    Err(overtaken(&current))
}

/// Marks at most `limit` overdue pending approvals expired and answers them; of several
/// servers sweeping at once, each row is returned to the one whose update took it.
pub(super) async fn expire_due(
    client: &Client,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<ApprovalRecord>, LocalError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query(
            &format!(
                "UPDATE approvals SET status = 'expired', resolved_at = $1
                 WHERE request_id IN (
                     SELECT request_id FROM approvals
                     WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1
                     ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                   AND status = 'pending'
                 RETURNING {APPROVAL_COLUMNS}"
            ),
            &[&now_ms, &limit],
        )
        .await?;
    rows.iter().map(approval_from_row).collect()
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
    let used: bool = r.try_get(11)?;
    let expires_at_ms: Option<i64> = r.try_get(15)?;
    Ok(ApprovalRecord {
        request_id: r.try_get(0)?,
        created_at: format_rfc3339(r.try_get(1)?),
        tool: r.try_get(2)?,
        action: r.try_get(3)?,
        target: r.try_get(4)?,
        arguments_sha256: r.try_get(5)?,
        reason: r.try_get(6)?,
        status: ApprovalStatus::from_row(&r.try_get::<_, String>(7)?, used),
        comment: r.try_get(8)?,
        resolved_by: r.try_get(9)?,
        resolved_at: r.try_get::<_, Option<i64>>(10)?.map(format_rfc3339),
        used,
        used_at: r.try_get::<_, Option<i64>>(12)?.map(format_rfc3339),
        resolver: r.try_get(13)?,
        arguments: parse_arguments(r.try_get(14)?),
        expires_at: expires_at_ms.map(format_rfc3339),
        requester: r.try_get(16)?,
        actor: r.try_get(17)?,
        separate_approver: r.try_get(18)?,
        required_approvals: u32::try_from(r.try_get::<_, i32>(19)?).unwrap_or(1).max(1),
        approvers: parse_approvers(r.try_get(20)?),
        change: parse_arguments(r.try_get(21)?),
    })
}
