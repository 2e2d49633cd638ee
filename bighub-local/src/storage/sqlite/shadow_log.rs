//! The SQLite store's list of shadow disagreements.
//!
//! This module owns the read behind
//! [`LocalEngine::shadow_disagreements`](crate::LocalEngine::shadow_disagreements): the
//! rows whose `shadow_agrees` is 0, newest first, through the partial index that holds
//! those rows only (`schema.rs`, version 8). It writes nothing.

use rusqlite::{Connection, params};

use crate::error::LocalError;
use crate::storage::shadow_log::{ShadowDisagreement, from_row};

/// The newest `limit` disagreements.
pub(super) fn list(conn: &Connection, limit: usize) -> Result<Vec<ShadowDisagreement>, LocalError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(conn
        .prepare_cached(
            "SELECT request_id, created_at, tool, action, target, mode, shadow_mode, decision
             FROM decisions INDEXED BY decisions_shadow_disagreements
             WHERE shadow_agrees = 0 ORDER BY id DESC LIMIT ?1",
        )?
        .query_map(params![limit], |r| {
            let decision: String = r.get(7)?;
            Ok(from_row(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                &decision,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?)
}
