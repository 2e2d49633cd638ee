//! The history of an action on a target, as every store reads it and the policy sees it.
//!
//! This module owns what a store reads for `input.history` (the newest decisions on an
//! action and target, how many there are, capped, and the outcomes in the 24-hour window:
//! a [`RecentEntry`]), the limits of that read, and its summary for the policy, so that
//! SQLite and PostgreSQL report the same history from the same rows. It does not read a
//! database (each store does) or cache anything (the SQLite store's recent cache does).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::clock::format_rfc3339;
use crate::input::History;

/// Milliseconds in the failure window the history reports.
pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;

/// Precedents are counted up to this many, so the count stays cheap on busy actions.
pub(crate) const MAX_PRECEDENTS: i64 = 1000;

/// How many recent decisions the policy sees.
pub(crate) const RECENT_DECISIONS: i64 = 5;

/// One action and target's recent decisions, as the history queries would return them.
#[derive(Debug, Clone)]
pub(crate) struct RecentEntry {
    /// Newest first: `(created_at ms, {request_id, mode, at})`.
    pub recent: Vec<(i64, Value)>,
    /// Decisions on this action and target, capped at the store's precedent cap.
    pub count: i64,
    /// Every outcome of this action on this target created at or after `outcomes_since`,
    /// in insertion order.
    pub outcomes: Vec<RecentOutcome>,
    /// The start of the window the outcomes were read for (ms).
    pub outcomes_since: i64,
}

/// One outcome row, as the history needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecentOutcome {
    /// The row id (ties on `created_at` go to the higher id).
    pub id: i64,
    pub created_at: i64,
    pub status: String,
    pub request_id: Option<String>,
    pub description: Option<String>,
}

/// The history a policy sees, from the recent decisions and the outcomes in the window of
/// an action on a target; both stores read the same entry and summarise it here.
pub(crate) fn summarize(entry: &RecentEntry) -> (History, u64) {
    let recent_decisions = entry.recent.iter().map(|(_, v)| v.clone()).collect();
    let precedents = entry.count;

    // As `SELECT status, COUNT(*) ... GROUP BY status` returns them: sorted by status.
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    let mut last: Option<&RecentOutcome> = None;
    for o in &entry.outcomes {
        *counts.entry(o.status.as_str()).or_default() += 1;
        if o.status == "FAILURE" && last.is_none_or(|l| (o.created_at, o.id) > (l.created_at, l.id))
        {
            last = Some(o);
        }
    }
    let failures_24h = counts.get("FAILURE").map_or(0, |n| *n as u64);
    let outcomes_24h: Map<String, Value> = counts
        .into_iter()
        .map(|(s, n)| (s.to_owned(), json!(n)))
        .collect();
    let last_failure = last.map(|o| {
        json!({
            "request_id": o.request_id,
            "description": o.description,
            "at": format_rfc3339(o.created_at),
        })
    });
    (
        History {
            recent_decisions,
            outcomes_24h,
            failures_24h,
            last_failure,
        },
        precedents.max(0) as u64,
    )
}
