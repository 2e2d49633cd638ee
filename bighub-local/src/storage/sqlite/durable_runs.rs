//! The SQLite store's durable runs: saving, claiming and completing them.
//!
//! Each operation is one `BEGIN IMMEDIATE` transaction: SQLite lets one writer at a time
//! into a file, so reading the answered runs and taking their leases happen together, also
//! across processes sharing the file, and no two claimers get one run. The rules are
//! [`durable_runs`](crate::storage::durable_runs)'s.

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use bighub_core::durable::{ClaimedRun, PausedRun, RunApproval, RunCompletion};

use crate::error::LocalError;
use crate::storage::durable_runs::PAUSED;

/// Saves or replaces a paused run of `owner`.
pub(crate) fn save(
    conn: &mut Connection,
    owner: &str,
    run: &PausedRun,
    now_ms: i64,
) -> Result<(), LocalError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = tx.execute(
        "INSERT INTO durable_runs (run_id, owner, status, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, state = excluded.state,
             message = NULL, lease_id = NULL, lease_until = NULL, updated_at = excluded.updated_at
         WHERE durable_runs.owner = excluded.owner
             AND (durable_runs.lease_until IS NULL OR durable_runs.lease_until <= ?5)",
        params![run.run_id, owner, PAUSED, run.state, now_ms],
    )?;
    if changed == 0 {
        return Err(LocalError::RunUnavailable {
            run_id: run.run_id.clone(),
        });
    }
    link_approvals(&tx, &run.run_id, &run.request_ids)?;
    tx.commit()?;
    Ok(())
}

/// Replaces the approvals a run waits for.
fn link_approvals(
    tx: &Transaction<'_>,
    run_id: &str,
    request_ids: &[String],
) -> Result<(), LocalError> {
    tx.execute(
        "DELETE FROM durable_run_approvals WHERE run_id = ?1",
        params![run_id],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO durable_run_approvals (run_id, request_id, position)
         VALUES (?1, ?2, ?3)",
    )?;
    for (position, request_id) in request_ids.iter().enumerate() {
        insert.execute(params![run_id, request_id, position as i64])?;
    }
    Ok(())
}

/// Claims up to `limit` answered runs of `owner` under `lease_id`.
pub(crate) fn claim(
    conn: &mut Connection,
    owner: &str,
    lease_id: &str,
    lease_until_ms: i64,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<ClaimedRun>, LocalError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let answered: Vec<(String, String, i64)> = tx
        .prepare_cached(
            // Answered: every approval exists and none is pending.
            "SELECT r.run_id, r.state, r.attempts FROM durable_runs r
             WHERE r.owner = ?1 AND r.status = 'paused'
                 AND (r.lease_until IS NULL OR r.lease_until <= ?2)
                 AND NOT EXISTS (
                     SELECT 1 FROM durable_run_approvals ra
                     LEFT JOIN approvals a ON a.request_id = ra.request_id
                     WHERE ra.run_id = r.run_id AND (a.request_id IS NULL OR a.status = 'pending'))
             ORDER BY r.updated_at, r.run_id
             LIMIT ?3",
        )?
        .query_map(
            params![owner, now_ms, limit.min(i64::MAX as usize) as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<Result<_, _>>()?;
    let mut claimed = Vec::with_capacity(answered.len());
    for (run_id, state, attempts) in answered {
        tx.execute(
            "UPDATE durable_runs SET lease_id = ?2, lease_until = ?3, attempts = attempts + 1
             WHERE run_id = ?1",
            params![run_id, lease_id, lease_until_ms],
        )?;
        let approvals = approvals_of(&tx, &run_id)?;
        claimed.push(ClaimedRun {
            run_id,
            state,
            approvals,
            lease_id: lease_id.to_owned(),
            attempt: u32::try_from(attempts + 1).unwrap_or(u32::MAX),
        });
    }
    tx.commit()?;
    Ok(claimed)
}

/// The approvals a run waits for, in the order it saved them.
fn approvals_of(tx: &Transaction<'_>, run_id: &str) -> Result<Vec<RunApproval>, LocalError> {
    Ok(tx
        .prepare_cached(
            "SELECT ra.request_id, a.status, a.comment FROM durable_run_approvals ra
             JOIN approvals a ON a.request_id = ra.request_id
             WHERE ra.run_id = ?1 ORDER BY ra.position",
        )?
        .query_map(params![run_id], |r| {
            Ok(RunApproval {
                request_id: r.get(0)?,
                status: r.get(1)?,
                comment: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Records how a run held under `lease_id` ended.
pub(crate) fn complete(
    conn: &mut Connection,
    owner: &str,
    run_id: &str,
    lease_id: &str,
    completion: &RunCompletion,
    now_ms: i64,
) -> Result<(), LocalError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (state, message, request_ids) = match completion {
        RunCompletion::Paused { state, request_ids } => (Some(state), None, Some(request_ids)),
        RunCompletion::Failed { message } => (None, Some(message), None),
        _ => (None, None, None),
    };
    let changed = tx.execute(
        "UPDATE durable_runs SET status = ?4, state = COALESCE(?5, state), message = ?6,
             lease_id = NULL, lease_until = NULL, updated_at = ?7
         WHERE run_id = ?1 AND owner = ?2 AND lease_id = ?3 AND status = 'paused'",
        params![
            run_id,
            owner,
            lease_id,
            completion.status(),
            state,
            message,
            now_ms
        ],
    )?;
    if changed == 0 {
        return Err(LocalError::LeaseLost {
            run_id: run_id.to_owned(),
        });
    }
    if let Some(request_ids) = request_ids {
        link_approvals(&tx, run_id, request_ids)?;
    }
    tx.commit()?;
    Ok(())
}
