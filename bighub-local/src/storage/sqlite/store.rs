//! The SQLite store's rows: decisions, outcomes and memory events, and the reads the engine
//! needs.
//!
//! This module owns the writes of decisions (with their pending approval and idempotency
//! key, in one transaction), outcomes and memory events (always redacted first), and the
//! reads: the history of an action on a target (kept in the [recent cache](super::recent_cache)),
//! recent decisions for people, and pages of decisions for replaying. The tables and their
//! migrations live in `schema.rs`; resolving and consuming approvals in `approvals.rs`.
//!
//! Every statement is short (indexed lookups, single-row inserts in one transaction), so
//! the engine runs them inline under a mutex rather than on a blocking thread pool: a
//! hand-off to another thread would cost more than the work.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::{Value, json};

use bighub_core::{MemoryBatch, OutcomeReport};

use super::StoreLocation;
use super::checkpointer::{self, Checkpointer};
use super::decision_log;
use super::recent_cache::RecentCache;
use super::schema::{self, KEY_SLOTS, first_key};
use crate::clock::{format_rfc3339, now_millis};
use crate::error::LocalError;
use crate::input::History;
use crate::redact::redact_value;
use crate::request_id::millis_of;
use crate::storage::history::{
    self, CountRow, DAY_MS, HistoryRequest, MAX_PRECEDENTS, Param, Placeholders, RECENT_DECISIONS,
    RecentEntry, RecentOutcome, Statement, TargetOutcome, summarize,
};
use crate::storage::{
    DecisionRecord, IDEMPOTENCY_TTL_MS, IdempotencyClaim, IdempotentHit, NewApproval, NewDecision,
    StoredDecision,
};

/// The SQLite store. Not `Sync`: the engine keeps it behind a mutex.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) conn: Connection,
    /// Recent decisions per action and target, so that deciding reads them from memory.
    recent: RecentCache,
    /// Background WAL checkpoints for a file (none in memory, or when it could not start).
    checkpointer: Option<Checkpointer>,
    /// The text of the decision being written, reused from one decision to the next: a
    /// decision is a few kilobytes, and growing a fresh buffer to that size every time
    /// costs several reallocations.
    text: Vec<u8>,
}

impl Store {
    /// Opens (creating when missing) and migrates the store.
    pub(crate) fn open(location: &StoreLocation) -> Result<Self, LocalError> {
        let conn = match location {
            StoreLocation::Memory => Connection::open_in_memory()?,
            StoreLocation::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| LocalError::StoreDir {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                Connection::open(path)?
            }
        };
        // WAL lets the CLI read while an agent writes; NORMAL durability is what WAL is
        // designed for (a power cut may lose the last commits, never corrupt the file).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = Self {
            conn,
            recent: RecentCache::default(),
            checkpointer: None,
            text: Vec::new(),
        };
        schema::migrate(&mut store.conn)?;
        store.conn.execute(
            "DELETE FROM idempotency_keys WHERE created_at <= ?1",
            params![now_millis() - IDEMPOTENCY_TTL_MS],
        )?;
        if let StoreLocation::File(path) = location
            && let Some(c) = Checkpointer::start(path)
        {
            store.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            store
                .conn
                .pragma_update(None, "journal_size_limit", checkpointer::LOG_SIZE_LIMIT)?;
            store.checkpointer = Some(c);
        }
        Ok(store)
    }

    /// Counts a commit towards the next background checkpoint.
    fn committed(&mut self) -> Result<(), LocalError> {
        if let Some(c) = &mut self.checkpointer
            && !c.committed()
        {
            // The thread is gone: SQLite checkpoints inside commits again.
            self.checkpointer = None;
            self.conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
        }
        Ok(())
    }

    /// The history `request` asks for, and how many decisions precede it on its action
    /// and target.
    ///
    /// The action's recent decisions and outcomes come from the recent cache; the counts by
    /// dimension and window, the rate limits' counts and the target's last outcomes are
    /// read from SQLite each time (bounded, indexed reads), so that they are exact whoever
    /// wrote the rows.
    pub(crate) fn history(
        &mut self,
        request: &HistoryRequest<'_>,
    ) -> Result<(History, u64), LocalError> {
        let (action, target, now_ms) = (request.action, request.target, request.now_ms);
        let since = now_ms - DAY_MS;
        // Another connection's commit changes data_version and empties the cache.
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        self.recent.validate(version);
        let entry = match self.recent.get_mut(action, target) {
            Some(e) if e.outcomes_since <= since => e,
            _ => {
                // Missing, or the clock went back before the window it was read for.
                self.recent.forget(action, target);
                let entry = self.read_recent(action, target, since)?;
                self.recent.fill(action, target, entry)
            }
        };
        // The window moved forward: what fell out of it is never needed again.
        entry.outcomes.retain(|o| o.created_at >= since);
        entry.outcomes_since = since;
        let (mut history, precedents) = summarize(entry);
        let windows = self.counts(history::window_counts(request, Placeholders::Sqlite))?;
        let limits = self.counts(history::limit_counts(request, Placeholders::Sqlite))?;
        let outcomes = match history::target_outcomes(request, Placeholders::Sqlite) {
            Some(st) => self
                .conn
                .prepare_cached(&st.sql)?
                .query_map(params_from_iter(st.params.iter().map(bind)), |r| {
                    Ok(TargetOutcome {
                        id: r.get(0)?,
                        action: r.get(1)?,
                        status: r.get(2)?,
                        request_id: r.get(3)?,
                        created_at: r.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        history::add_counts(&mut history, request, &windows, &limits, outcomes);
        Ok((history, precedents))
    }

    /// The rows of a counting statement (none without one).
    fn counts(&self, statement: Option<Statement<'_>>) -> Result<Vec<CountRow>, LocalError> {
        let Some(st) = statement else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(&st.sql)?;
        let columns = stmt.column_count();
        let rows = stmt
            .query_map(params_from_iter(st.params.iter().map(bind)), |r| {
                Ok(CountRow {
                    part: r.get(0)?,
                    key: r.get(1)?,
                    counts: (2..columns)
                        .map(|i| r.get::<_, Option<i64>>(i).map(Option::unwrap_or_default))
                        .collect::<Result<_, _>>()?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The newest decisions on `action` and `target`, how many there are (capped), and the
    /// outcomes since `since`.
    fn read_recent(
        &self,
        action: &str,
        target: &str,
        since: i64,
    ) -> Result<RecentEntry, LocalError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT request_id, mode, created_at FROM decisions
             WHERE action = ?1 AND target = ?2 ORDER BY created_at DESC, rowid DESC LIMIT ?3",
        )?;
        let recent = stmt
            .query_map(params![action, target, RECENT_DECISIONS], |r| {
                let at: i64 = r.get(2)?;
                Ok((
                    at,
                    json!({
                        "request_id": r.get::<_, String>(0)?,
                        "mode": r.get::<_, String>(1)?,
                        "at": format_rfc3339(at),
                    }),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let count: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM (SELECT 1 FROM decisions WHERE action = ?1 AND target = ?2
                 LIMIT ?3)",
            )?
            .query_row(params![action, target, MAX_PRECEDENTS], |r| r.get(0))?;
        let outcomes = self
            .conn
            .prepare_cached(
                "SELECT id, created_at, status, request_id, description FROM outcomes
                 WHERE action = ?1 AND target = ?2 AND created_at >= ?3 ORDER BY id",
            )?
            .query_map(params![action, target, since], |r| {
                Ok(RecentOutcome {
                    id: r.get(0)?,
                    created_at: r.get(1)?,
                    status: r.get(2)?,
                    request_id: r.get(3)?,
                    description: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RecentEntry {
            recent,
            count,
            outcomes,
            outcomes_since: since,
        })
    }

    /// Writes a decision and, for a review, its pending approval, in one transaction.
    ///
    /// With an idempotency claim, the key is taken in the same transaction; when another
    /// request took it first, nothing is written and that request's decision is returned.
    pub(crate) fn insert_decision(
        &mut self,
        d: &NewDecision<'_>,
        approval: Option<&NewApproval<'_>>,
        idempotency: Option<&IdempotencyClaim<'_>>,
    ) -> Result<Option<IdempotentHit>, LocalError> {
        self.text.clear();
        serde_json::to_writer(&mut self.text, d.decision)?;
        // Bound as text as it is: serde_json writes UTF-8.
        let decision = ToSqlOutput::Borrowed(ValueRef::Text(&self.text));
        let tx = self.conn.transaction()?;
        if let Some(claim) = idempotency {
            let taken = tx
                .prepare_cached(
                    // An expired key is taken over; a live one stays with its request.
                    "INSERT INTO idempotency_keys (caller, key, action_sha256, request_id, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (caller, key) DO UPDATE SET action_sha256 = excluded.action_sha256,
                        request_id = excluded.request_id, created_at = excluded.created_at
                     WHERE idempotency_keys.created_at <= ?6",
                )?
                .execute(params![
                    claim.caller,
                    claim.key,
                    claim.action_sha256,
                    d.request_id,
                    d.created_at,
                    d.created_at - IDEMPOTENCY_TTL_MS,
                ])?;
            if taken == 0 {
                drop(tx);
                return self
                    .idempotent_hit(claim.caller, claim.key, d.created_at)?
                    .map(Some)
                    .ok_or_else(|| {
                        LocalError::Config(
                            "an idempotency key was taken and then expired during one request"
                                .to_owned(),
                        )
                    });
            }
        }
        tx.prepare_cached(
            // The next free key of the id's millisecond, taken inside the write.
            "INSERT INTO decisions (id, request_id, created_at, tool, action, target, system,
                environment, risk, actor, mode, risk_score, reason, arguments, arguments_sha256,
                decision, caller, shadow_mode, shadow_agrees)
             VALUES ((SELECT coalesce(max(id) + 1, ?16) FROM decisions
                      WHERE id BETWEEN ?16 AND ?16 + ?17 - 1),
                     ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?18,
                     ?19, ?20)",
        )?
        .execute(params![
            d.request_id,
            d.created_at,
            d.tool,
            d.action,
            d.target,
            d.system,
            d.environment,
            d.risk,
            d.actor,
            d.mode,
            d.risk_score,
            d.reason,
            serde_json::to_string(d.arguments)?,
            d.arguments_sha256,
            decision,
            first_key(millis_of(d.request_id).unwrap_or(d.created_at)),
            KEY_SLOTS,
            d.caller,
            d.shadow_mode,
            d.shadow_agrees,
        ])?;
        if let Some(approval) = approval {
            tx.prepare_cached(
                "INSERT INTO approvals (request_id, created_at, tool, action, target,
                    arguments_sha256, reason, arguments, expires_at, requester, actor,
                    separate_approver, required_approvals, approvers)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, '[]')",
            )?
            .execute(params![
                d.request_id,
                d.created_at,
                d.tool,
                d.action,
                d.target,
                d.arguments_sha256,
                approval.reason,
                d.arguments.to_string(),
                approval.expires_at,
                d.caller,
                d.actor,
                approval.separate_approver,
                approval.required_approvals,
            ])?;
        }
        tx.commit()?;
        self.committed()?;
        self.recent.record(
            d.action,
            d.target,
            d.request_id,
            d.mode,
            d.created_at,
            RECENT_DECISIONS as usize,
            MAX_PRECEDENTS,
        );
        Ok(None)
    }

    /// The decision an idempotency key of `caller` answers, if it was taken less than
    /// [`IDEMPOTENCY_TTL_MS`] before `now_ms`.
    pub(crate) fn idempotent_hit(
        &self,
        caller: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<IdempotentHit>, LocalError> {
        let found: Option<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT action_sha256, request_id FROM idempotency_keys
                 WHERE caller = ?1 AND key = ?2 AND created_at > ?3",
            )?
            .query_row(params![caller, key, now_ms - IDEMPOTENCY_TTL_MS], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((action_sha256, request_id)) = found else {
            return Ok(None);
        };
        let text: String = self
            .conn
            .prepare_cached(FIND_DECISION_TEXT)?
            .query_row(
                params![request_id, millis_of(&request_id).map(first_key), KEY_SLOTS],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| LocalError::DecisionNotFound(request_id.clone()))?;
        Ok(Some(IdempotentHit {
            action_sha256,
            decision: serde_json::from_str(&text)?,
        }))
    }

    /// Writes an outcome, attributed to its decision's action and target.
    pub(crate) fn insert_outcome(
        &mut self,
        report: &OutcomeReport,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<(), LocalError> {
        let details = redact_value(&Value::Object(report.details.clone()), &[]);
        let (action, target, actor, system) = match &report.request_id {
            Some(id) => self
                .conn
                .prepare_cached(FIND_DECISION)?
                .query_row(params![id, millis_of(id).map(first_key), KEY_SLOTS], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?
                .ok_or_else(|| LocalError::DecisionNotFound(id.clone()))?,
            // Without a request id, the details must say which action it was.
            None => crate::storage::outcome_subject_from_details(&details)?,
        };
        self.conn
            .prepare_cached(
                "INSERT INTO outcomes (request_id, action, target, status, description, details,
                    correction_needed, created_at, caller, actor, system)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                report.request_id,
                action,
                target,
                report.status.as_str(),
                report.description,
                details.to_string(),
                report.correction_needed,
                now_ms,
                caller,
                actor,
                system,
            ])?;
        let id = self.conn.last_insert_rowid();
        self.committed()?;
        self.recent.record_outcome(
            &action,
            &target,
            RecentOutcome {
                id,
                created_at: now_ms,
                status: report.status.as_str().to_owned(),
                request_id: report.request_id.clone(),
                description: report.description.clone(),
            },
        );
        Ok(())
    }

    /// Writes a batch of memory events (each redacted) in one transaction.
    pub(crate) fn insert_memory(
        &mut self,
        batch: &MemoryBatch,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<usize, LocalError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO memory_events (source, source_version, actor, domain, model,
                    trace_id, event, created_at, caller)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for event in &batch.events {
                stmt.execute(params![
                    batch.source,
                    batch.source_version,
                    batch.actor,
                    batch.domain,
                    batch.model,
                    batch.trace_id,
                    redact_value(event, &[]).to_string(),
                    now_ms,
                    caller,
                ])?;
            }
        }
        tx.commit()?;
        self.committed()?;
        Ok(batch.events.len())
    }

    /// The most recent decisions, newest first, with their outcomes (the decision log's
    /// rows, unfiltered).
    pub(crate) fn recent_decisions(&self, limit: usize) -> Result<Vec<DecisionRecord>, LocalError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM decisions ORDER BY id DESC LIMIT ?1",
            decision_log::COLUMNS
        ))?;
        let mut out = stmt
            .query_map(params![limit as i64], decision_log::record_from_row)?
            .map(|row| row.map(|(_, record, _)| record))
            .collect::<Result<Vec<_>, _>>()?;
        for d in &mut out {
            d.outcomes = decision_log::outcomes(&self.conn, &d.request_id)?;
        }
        Ok(out)
    }

    /// Up to `limit` decisions made at or after `since_ms` and keyed before `before` (all
    /// when `None`), newest first: pages of the store, read by key alone.
    pub(crate) fn decisions_before(
        &self,
        since_ms: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredDecision>, LocalError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, request_id, created_at, tool, action, target, system, environment, risk,
                    actor, mode, arguments, decision
             FROM decisions WHERE id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(
                params![
                    first_key(since_ms.max(0)),
                    before.unwrap_or(i64::MAX),
                    limit as i64
                ],
                stored_from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

impl Store {
    /// The decision row of `request_id`, found as [`FIND_DECISION`] finds it.
    pub(crate) fn stored_decision(
        &self,
        request_id: &str,
    ) -> Result<Option<StoredDecision>, LocalError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, request_id, created_at, tool, action, target, system, environment, risk,
                    actor, mode, arguments, decision
             FROM decisions WHERE id BETWEEN ?2 AND ?2 + ?3 - 1 AND request_id = ?1
             UNION ALL
             SELECT id, request_id, created_at, tool, action, target, system, environment, risk,
                    actor, mode, arguments, decision
             FROM decisions WHERE legacy IS NOT NULL AND request_id = ?1
             LIMIT 1",
        )?;
        Ok(stmt
            .query_row(
                params![request_id, millis_of(request_id).map(first_key), KEY_SLOTS],
                stored_from_row,
            )
            .optional()?)
    }
}

/// A decision row as `decisions_before` and `stored_decision` select it.
fn stored_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredDecision> {
    Ok(StoredDecision {
        key: r.get(0)?,
        request_id: r.get(1)?,
        created_at: r.get(2)?,
        tool: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        system: r.get(6)?,
        environment: r.get(7)?,
        risk: r.get(8)?,
        actor: r.get(9)?,
        mode: r.get(10)?,
        arguments: r.get(11)?,
        decision: r.get(12)?,
    })
}

/// The action, target, actor and system of the decision `?1`: by key, from the id's millisecond `?2` times
/// `?3` ([`KEY_SLOTS`]); rows from before version 3 by their own index.
const FIND_DECISION: &str = "SELECT action, target, actor, system FROM decisions
     WHERE id BETWEEN ?2 AND ?2 + ?3 - 1 AND request_id = ?1
     UNION ALL
     SELECT action, target, actor, system FROM decisions
     WHERE legacy IS NOT NULL AND request_id = ?1
     LIMIT 1";

/// The whole decision `?1`, found as [`FIND_DECISION`] finds it.
const FIND_DECISION_TEXT: &str = "SELECT decision FROM decisions
     WHERE id BETWEEN ?2 AND ?2 + ?3 - 1 AND request_id = ?1
     UNION ALL
     SELECT decision FROM decisions
     WHERE legacy IS NOT NULL AND request_id = ?1
     LIMIT 1";

/// A counting statement's parameter, as SQLite binds it.
fn bind<'a>(p: &'a Param<'a>) -> ToSqlOutput<'a> {
    match p {
        Param::Text(Some(t)) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        Param::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        Param::Int(n) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request_id::new_request_id;
    use crate::storage::sqlite::schema::{MIGRATE_V2, MIGRATE_V3, SCHEMA_V1};
    use serde_json::json;

    fn row<'a>(request_id: &'a str, at: i64, empty: &'a Value) -> NewDecision<'a> {
        NewDecision {
            request_id,
            created_at: at,
            tool: "restart_service",
            action: "restart_service",
            target: "payments-api",
            system: None,
            environment: None,
            risk: None,
            actor: "test",
            mode: "autonomous",
            risk_score: None,
            reason: None,
            arguments: empty,
            arguments_sha256: "abc",
            decision: empty,
            caller: None,
            shadow_mode: None,
            shadow_agrees: None,
        }
    }

    /// Decisions of one millisecond take its keys in turn; the next millisecond starts its
    /// own; each id finds its row.
    #[test]
    fn keys_follow_time_and_each_id_finds_its_row() {
        let mut store = Store::open(&StoreLocation::Memory).unwrap();
        let empty = json!({});
        let at = 1_790_000_000_000;
        let ids: Vec<String> = [at, at, at, at + 1, at - 1]
            .into_iter()
            .map(new_request_id)
            .collect();
        for (id, t) in ids.iter().zip([at, at, at, at + 1, at - 1]) {
            store
                .insert_decision(&row(id, t, &empty), None, None)
                .unwrap();
        }
        let keys: Vec<(i64, String)> = store
            .conn
            .prepare("SELECT id, request_id FROM decisions ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let k = first_key(at);
        assert_eq!(
            keys,
            [
                (k - KEY_SLOTS, ids[4].clone()),
                (k, ids[0].clone()),
                (k + 1, ids[1].clone()),
                (k + 2, ids[2].clone()),
                (k + KEY_SLOTS, ids[3].clone()),
            ]
        );
        for id in &ids {
            let mut report = OutcomeReport::new(bighub_core::OutcomeStatus::Success);
            report.request_id = Some(id.clone());
            store.insert_outcome(&report, None, at + 5).unwrap();
        }
        // Found by key and by the old rows' index, never by reading every row.
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {FIND_DECISION}"))
            .unwrap()
            .query_map(params!["x", 0, KEY_SLOTS], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("USING INTEGER PRIMARY KEY"))
                && plan
                    .iter()
                    .any(|p| p.contains("USING INDEX decisions_by_legacy_id"))
                && !plan.iter().any(|p| p.starts_with("SCAN")),
            "{plan:?}"
        );
        let mut unknown = OutcomeReport::new(bighub_core::OutcomeStatus::Success);
        unknown.request_id = Some(new_request_id(at));
        assert!(matches!(
            store.insert_outcome(&unknown, None, at + 5),
            Err(LocalError::DecisionNotFound(_))
        ));
    }

    /// Two processes open the same old store: the one that waited for the other's migration
    /// reads the version again and leaves the migrated store, and its new rows, as they are.
    #[test]
    fn a_store_migrated_meanwhile_is_not_migrated_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch(SCHEMA_V1).unwrap();
            conn.execute_batch(MIGRATE_V2).unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
        }
        // The other process holds the write lock while this one opens the store.
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let opening = std::thread::spawn({
            let path = path.clone();
            move || Store::open(&StoreLocation::File(path)).map(drop)
        });
        // Time for the opening to read version 2 and wait for the lock.
        std::thread::sleep(std::time::Duration::from_millis(300));
        other.execute_batch(MIGRATE_V3).unwrap();
        other
            .execute_batch(
                "INSERT INTO decisions (id, request_id, created_at, tool, action, target, actor,
                    mode, arguments, arguments_sha256, decision)
                 VALUES (1, 'loc_new', 0, 'tool', 'tool', '', 'test', 'autonomous', '{}',
                    'abc', '{}');
                 PRAGMA user_version = 3;
                 COMMIT;",
            )
            .unwrap();
        opening.join().unwrap().unwrap();
        let legacy: Option<i64> = other
            .query_row(
                "SELECT legacy FROM decisions WHERE request_id = 'loc_new'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(legacy, None, "the store was migrated a second time");
    }

    /// Every history count reads an index on (dimension, time), never the whole table.
    #[test]
    fn history_counts_read_only_their_indexes() {
        let store = Store::open(&StoreLocation::Memory).unwrap();
        let config = crate::PolicyConfig::from_overrides(
            json!({"history_windows": ["1h", "24h"],
                "rate_limits": [{"name": "l", "max": 3, "window": "1h", "action": "deploy",
                "environment": "production", "per": "target"}]}),
            "test",
        )
        .unwrap();
        let action = bighub_core::ProposedAction::new("deploy")
            .actor("bot")
            .system("argocd")
            .target("web");
        let request = HistoryRequest::for_call(&config, &action, "deploy", 1_790_000_000_000);
        let statements = [
            history::window_counts(&request, Placeholders::Sqlite).unwrap(),
            history::limit_counts(&request, Placeholders::Sqlite).unwrap(),
            history::target_outcomes(&request, Placeholders::Sqlite).unwrap(),
        ];
        for st in &statements {
            let plan: Vec<String> = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {}", st.sql))
                .unwrap()
                .query_map(params_from_iter(st.params.iter().map(bind)), |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let reads: Vec<&String> = plan
                .iter()
                .filter(|p| p.contains(" decisions ") || p.contains(" outcomes "))
                .collect();
            assert!(!reads.is_empty(), "{plan:#?}");
            for p in reads {
                assert!(
                    p.starts_with("SEARCH") && p.contains("_time") && p.contains("INDEX"),
                    "{}: {plan:#?}",
                    st.sql
                );
            }
        }
    }
}
