//! The PostgreSQL store's durable runs: saving, claiming and completing them.
//!
//! A claim is one statement: it picks the answered runs `FOR UPDATE SKIP LOCKED` and takes
//! their leases, so concurrent claimers on any number of machines skip each other's rows
//! and never get one run twice; the lease condition is checked again on the locked row.
//! The rules are [`durable_runs`](crate::storage::durable_runs)'s.

use std::collections::HashMap;

use deadpool_postgres::Object as Client;
use deadpool_postgres::Transaction;

use bighub_core::durable::{ClaimedRun, PausedRun, RunApproval, RunCompletion};

use crate::error::LocalError;
use crate::storage::durable_runs::PAUSED;

/// Saves or replaces a paused run of `owner`.
pub(super) async fn save(
    client: &mut Client,
    owner: &str,
    run: &PausedRun,
    now_ms: i64,
) -> Result<(), LocalError> {
    let tx = client.transaction().await?;
    let changed = tx
        .execute(
            "INSERT INTO durable_runs (run_id, owner, status, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (run_id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
                 message = NULL, lease_id = NULL, lease_until = NULL,
                 updated_at = EXCLUDED.updated_at
             WHERE durable_runs.owner = EXCLUDED.owner
                 AND (durable_runs.lease_until IS NULL OR durable_runs.lease_until <= $5)",
            &[&run.run_id, &owner, &PAUSED, &run.state, &now_ms],
        )
        .await?;
    if changed == 0 {
        return Err(LocalError::RunUnavailable {
            run_id: run.run_id.clone(),
        });
    }
    link_approvals(&tx, &run.run_id, &run.request_ids).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the approvals a run waits for.
async fn link_approvals(
    tx: &Transaction<'_>,
    run_id: &str,
    request_ids: &[String],
) -> Result<(), LocalError> {
    tx.execute(
        "DELETE FROM durable_run_approvals WHERE run_id = $1",
        &[&run_id],
    )
    .await?;
    let positions: Vec<i32> = (0..request_ids.len())
        .map(|p| i32::try_from(p).unwrap_or(i32::MAX))
        .collect();
    tx.execute(
        "INSERT INTO durable_run_approvals (run_id, request_id, position)
         SELECT $1, r.request_id, r.position FROM unnest($2::text[], $3::int[])
             AS r (request_id, position)
         ON CONFLICT DO NOTHING",
        &[&run_id, &request_ids, &positions],
    )
    .await?;
    Ok(())
}

/// Claims up to `limit` answered runs of `owner` under `lease_id`.
pub(super) async fn claim(
    client: &Client,
    owner: &str,
    lease_id: &str,
    lease_until_ms: i64,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<ClaimedRun>, LocalError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query(
            // Answered: every approval exists and none is pending.
            "WITH picked AS (
                 SELECT r.run_id FROM durable_runs r
                 WHERE r.owner = $1 AND r.status = 'paused'
                     AND (r.lease_until IS NULL OR r.lease_until <= $2)
                     AND NOT EXISTS (
                         SELECT 1 FROM durable_run_approvals ra
                         LEFT JOIN approvals a ON a.request_id = ra.request_id
                         WHERE ra.run_id = r.run_id
                             AND (a.request_id IS NULL OR a.status = 'pending'))
                 ORDER BY r.updated_at, r.run_id
                 LIMIT $3
                 FOR UPDATE OF r SKIP LOCKED
             )
             UPDATE durable_runs d SET lease_id = $4, lease_until = $5, attempts = d.attempts + 1
             FROM picked
             WHERE d.run_id = picked.run_id AND d.status = 'paused'
                 AND (d.lease_until IS NULL OR d.lease_until <= $2)
             RETURNING d.run_id, d.state, d.attempts, d.updated_at",
            &[&owner, &now_ms, &limit, &lease_id, &lease_until_ms],
        )
        .await?;
    let mut runs: Vec<(i64, ClaimedRun)> = Vec::with_capacity(rows.len());
    for row in &rows {
        let attempts: i32 = row.try_get(2)?;
        runs.push((
            row.try_get(3)?,
            ClaimedRun {
                run_id: row.try_get(0)?,
                state: row.try_get(1)?,
                approvals: Vec::new(),
                lease_id: lease_id.to_owned(),
                attempt: u32::try_from(attempts).unwrap_or(0),
            },
        ));
    }
    runs.sort_by(|a, b| (a.0, &a.1.run_id).cmp(&(b.0, &b.1.run_id)));
    let ids: Vec<&str> = runs.iter().map(|(_, r)| r.run_id.as_str()).collect();
    let mut approvals: HashMap<String, Vec<RunApproval>> = HashMap::new();
    if !ids.is_empty() {
        let rows = client
            .query(
                "SELECT ra.run_id, ra.request_id, a.status, a.comment
                 FROM durable_run_approvals ra
                 JOIN approvals a ON a.request_id = ra.request_id
                 WHERE ra.run_id = ANY($1)
                 ORDER BY ra.run_id, ra.position",
                &[&ids],
            )
            .await?;
        for row in &rows {
            approvals
                .entry(row.try_get(0)?)
                .or_default()
                .push(RunApproval {
                    request_id: row.try_get(1)?,
                    status: row.try_get(2)?,
                    comment: row.try_get(3)?,
                });
        }
    }
    Ok(runs
        .into_iter()
        .map(|(_, mut run)| {
            run.approvals = approvals.remove(&run.run_id).unwrap_or_default();
            run
        })
        .collect())
}

/// Records how a run held under `lease_id` ended.
pub(super) async fn complete(
    client: &mut Client,
    owner: &str,
    run_id: &str,
    lease_id: &str,
    completion: &RunCompletion,
    now_ms: i64,
) -> Result<(), LocalError> {
    let (state, message, request_ids) = match completion {
        RunCompletion::Paused { state, request_ids } => (Some(state), None, Some(request_ids)),
        RunCompletion::Failed { message } => (None, Some(message), None),
        _ => (None, None, None),
    };
    let tx = client.transaction().await?;
    let changed = tx
        .execute(
            "UPDATE durable_runs SET status = $4, state = COALESCE($5, state), message = $6,
                 lease_id = NULL, lease_until = NULL, updated_at = $7
             WHERE run_id = $1 AND owner = $2 AND lease_id = $3 AND status = 'paused'",
            &[
                &run_id,
                &owner,
                &lease_id,
                &completion.status(),
                &state,
                &message,
                &now_ms,
            ],
        )
        .await?;
    if changed == 0 {
        return Err(LocalError::LeaseLost {
            run_id: run_id.to_owned(),
        });
    }
    if let Some(request_ids) = request_ids {
        link_approvals(&tx, run_id, request_ids).await?;
    }
    tx.commit().await?;
    Ok(())
}
