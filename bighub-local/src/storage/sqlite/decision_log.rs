//! The SQLite store's decision log: a filtered page of decisions, newest first, and one
//! decision whole.
//!
//! This module owns the two reads behind [`DecisionQuery`] and [`DecisionDetail`]. Pages
//! are read by row key (time-ordered, see `schema.rs`): a time range is a key range and the
//! cursor is the last key read, so a page costs its rows, not the rows before it. It
//! writes nothing.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::approvals;
use super::schema::{KEY_SLOTS, first_key};
use crate::clock::format_rfc3339;
use crate::error::LocalError;
use crate::request_id::millis_of;
use crate::storage::{
    DecisionCursor, DecisionDetail, DecisionPage, DecisionQuery, DecisionRecord, OutcomeRecord,
    decision_used,
};

/// The columns [`record_from_row`] reads, after the row key.
pub(super) const COLUMNS: &str =
    "id, request_id, created_at, tool, action, target, system, environment,
    risk, actor, mode, risk_score, reason, arguments, caller, decision";

/// A decision row (its outcomes not yet attached) and its key.
pub(super) fn record_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, DecisionRecord, String)> {
    let arguments: String = r.get(13)?;
    let decision: String = r.get(15)?;
    let record = DecisionRecord {
        request_id: r.get(1)?,
        created_at: format_rfc3339(r.get(2)?),
        tool: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        system: r.get(6)?,
        environment: r.get(7)?,
        risk: r.get(8)?,
        actor: r.get(9)?,
        mode: r.get(10)?,
        risk_score: r.get(11)?,
        reason: r.get(12)?,
        arguments: serde_json::from_str(&arguments).unwrap_or(Value::Null),
        caller: r.get(14)?,
        outcomes: Vec::new(),
        used: decision_used(&decision),
    };
    Ok((r.get(0)?, record, decision))
}

/// The outcomes reported for `request_id`, oldest first.
pub(super) fn outcomes(
    conn: &Connection,
    request_id: &str,
) -> Result<Vec<OutcomeRecord>, LocalError> {
    Ok(conn
        .prepare_cached(
            "SELECT status, description, created_at FROM outcomes WHERE request_id = ?1
             ORDER BY created_at, id",
        )?
        .query_map(params![request_id], |r| {
            Ok(OutcomeRecord {
                status: r.get(0)?,
                description: r.get(1)?,
                created_at: format_rfc3339(r.get(2)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// The page of the log `query` selects.
pub(super) fn page(conn: &Connection, query: &DecisionQuery) -> Result<DecisionPage, LocalError> {
    let size = query.page_size();
    let low = first_key(query.from_ms.unwrap_or(0).max(0));
    let mut high = query.to_ms.map_or(i64::MAX, first_key);
    if let Some(DecisionCursor(after)) = query.after {
        high = high.min(after);
    }
    let mut rows = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM decisions
             WHERE id >= ?1 AND id < ?2
               AND (?3 IS NULL OR tool = ?3) AND (?4 IS NULL OR mode = ?4)
               AND (?5 IS NULL OR actor = ?5) AND (?6 IS NULL OR system = ?6)
               AND (?7 IS NULL OR environment = ?7)
             ORDER BY id DESC LIMIT ?8"
        ))?
        .query_map(
            params![
                low,
                high,
                query.tool,
                query.mode,
                query.actor,
                query.system,
                query.environment,
                (size + 1) as i64,
            ],
            record_from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    // One row past the page says whether another page follows.
    let more = rows.len() > size;
    rows.truncate(size);
    let next = more
        .then(|| rows.last().map(|(key, _, _)| DecisionCursor(*key)))
        .flatten();
    let mut decisions = Vec::with_capacity(rows.len());
    for (_, mut record, _) in rows {
        record.outcomes = outcomes(conn, &record.request_id)?;
        decisions.push(record);
    }
    Ok(DecisionPage { decisions, next })
}

/// The decision `request_id`, found by the key its id carries (rows from before keys by
/// time, by their own index), with its outcomes and approval.
pub(super) fn get(
    conn: &Connection,
    request_id: &str,
) -> Result<Option<DecisionDetail>, LocalError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM decisions
             WHERE id BETWEEN ?2 AND ?2 + ?3 - 1 AND request_id = ?1
             UNION ALL
             SELECT {COLUMNS} FROM decisions WHERE legacy IS NOT NULL AND request_id = ?1
             LIMIT 1"
        ))?
        .query_row(
            params![request_id, millis_of(request_id).map(first_key), KEY_SLOTS],
            record_from_row,
        )
        .optional()?;
    let Some((_, mut record, text)) = found else {
        return Ok(None);
    };
    record.outcomes = outcomes(conn, request_id)?;
    Ok(Some(DecisionDetail {
        record,
        decision: serde_json::from_str(&text).unwrap_or(Value::Null),
        approval: approvals::get(conn, request_id)?,
    }))
}
