//! The PostgreSQL store's list of shadow disagreements.
//!
//! This module owns the read behind
//! [`LocalEngine::shadow_disagreements`](crate::LocalEngine::shadow_disagreements): the
//! rows whose `shadow_agrees` is false, newest first, through the partial index that holds
//! those rows only (`schema.rs`, version 5): the same rows, in the same order, as the
//! SQLite store's. It writes nothing.

use deadpool_postgres::Object as Client;

use crate::error::LocalError;
use crate::storage::shadow_log::{ShadowDisagreement, from_row};

/// The newest `limit` disagreements.
pub(super) async fn list(
    client: &Client,
    limit: usize,
) -> Result<Vec<ShadowDisagreement>, LocalError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "SELECT request_id, created_at, tool, action, target, mode, shadow_mode, decision
             FROM decisions WHERE shadow_agrees = false ORDER BY id DESC LIMIT $1",
            &[&limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let decision: String = r.try_get(7)?;
            Ok(from_row(
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
                &decision,
            ))
        })
        .collect()
}
