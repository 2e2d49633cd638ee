//! The PostgreSQL store's decision log: a filtered page of decisions, newest first, and
//! one decision whole.
//!
//! This module owns the two reads behind [`DecisionQuery`] and [`DecisionDetail`]: the
//! same rows, in the same order, as the SQLite store's. Pages go by row id (newest first),
//! and the cursor is the last id read, so a page costs its rows, not the rows before it.
//! It writes nothing.

use deadpool_postgres::Object as Client;
use serde_json::Value;
use tokio_postgres::Row;

use super::approvals;
use crate::clock::format_rfc3339;
use crate::error::LocalError;
use crate::storage::{
    DecisionCursor, DecisionDetail, DecisionPage, DecisionQuery, DecisionRecord, OutcomeRecord,
    decision_used,
};

/// The columns [`record_from_row`] reads, after the row id.
pub(super) const COLUMNS: &str =
    "id, request_id, created_at, tool, action, target, system, environment,
    risk, actor, mode, risk_score, reason, arguments, caller, decision";

/// A decision row (its outcomes not yet attached), its id and its decision's text.
pub(super) fn record_from_row(r: &Row) -> Result<(i64, DecisionRecord, String), LocalError> {
    let arguments: String = r.try_get(13)?;
    let decision: String = r.try_get(15)?;
    let record = DecisionRecord {
        request_id: r.try_get(1)?,
        created_at: format_rfc3339(r.try_get(2)?),
        tool: r.try_get(3)?,
        action: r.try_get(4)?,
        target: r.try_get(5)?,
        system: r.try_get(6)?,
        environment: r.try_get(7)?,
        risk: r.try_get(8)?,
        actor: r.try_get(9)?,
        mode: r.try_get(10)?,
        risk_score: r.try_get(11)?,
        reason: r.try_get(12)?,
        arguments: serde_json::from_str(&arguments).unwrap_or(Value::Null),
        caller: r.try_get(14)?,
        outcomes: Vec::new(),
        used: decision_used(&decision),
    };
    Ok((r.try_get(0)?, record, decision))
}

/// Attaches to each record the outcomes reported for it, oldest first.
pub(super) async fn attach_outcomes(
    client: &Client,
    records: &mut [DecisionRecord],
) -> Result<(), LocalError> {
    if records.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = records.iter().map(|d| d.request_id.as_str()).collect();
    let rows = client
        .query(
            "SELECT request_id, status, description, created_at FROM outcomes
             WHERE request_id = ANY($1) ORDER BY created_at, id",
            &[&ids],
        )
        .await?;
    for row in &rows {
        let id: String = row.try_get(0)?;
        let outcome = OutcomeRecord {
            status: row.try_get(1)?,
            description: row.try_get(2)?,
            created_at: format_rfc3339(row.try_get(3)?),
        };
        if let Some(d) = records.iter_mut().find(|d| d.request_id == id) {
            d.outcomes.push(outcome);
        }
    }
    Ok(())
}

/// The page of the log `query` selects.
pub(super) async fn page(
    client: &Client,
    query: &DecisionQuery,
) -> Result<DecisionPage, LocalError> {
    let size = query.page_size();
    let after = query.after.map(|DecisionCursor(id)| id);
    let fetch = i64::try_from(size + 1).unwrap_or(i64::MAX);
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM decisions
                 WHERE ($1::BIGINT IS NULL OR created_at >= $1)
                   AND ($2::BIGINT IS NULL OR created_at < $2)
                   AND ($3::BIGINT IS NULL OR id < $3)
                   AND ($4::TEXT IS NULL OR tool = $4) AND ($5::TEXT IS NULL OR mode = $5)
                   AND ($6::TEXT IS NULL OR actor = $6) AND ($7::TEXT IS NULL OR system = $7)
                   AND ($8::TEXT IS NULL OR environment = $8)
                 ORDER BY id DESC LIMIT $9"
            ),
            &[
                &query.from_ms,
                &query.to_ms,
                &after,
                &query.tool,
                &query.mode,
                &query.actor,
                &query.system,
                &query.environment,
                &fetch,
            ],
        )
        .await?;
    let mut rows = rows
        .iter()
        .map(record_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    // One row past the page says whether another page follows.
    let more = rows.len() > size;
    rows.truncate(size);
    let next = more
        .then(|| rows.last().map(|(id, _, _)| DecisionCursor(*id)))
        .flatten();
    let mut decisions: Vec<DecisionRecord> = rows.into_iter().map(|(_, r, _)| r).collect();
    attach_outcomes(client, &mut decisions).await?;
    Ok(DecisionPage { decisions, next })
}

/// The decision `request_id`, with its outcomes and approval.
pub(super) async fn get(
    client: &Client,
    request_id: &str,
) -> Result<Option<DecisionDetail>, LocalError> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM decisions WHERE request_id = $1"),
            &[&request_id],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (_, record, text) = record_from_row(&row)?;
    let mut records = [record];
    attach_outcomes(client, &mut records).await?;
    let [record] = records;
    Ok(Some(DecisionDetail {
        record,
        decision: serde_json::from_str(&text).unwrap_or(Value::Null),
        approval: approvals::get(client, request_id).await?,
    }))
}
