//! The store behind the engine, as one trait with two implementations: SQLite (`store.rs`,
//! the default) and PostgreSQL (`postgres.rs`, feature `postgres`, for several processes
//! or machines on one database).
//!
//! This module owns [`Storage`], the operations the engine needs, with the semantics both
//! implementations keep: decisions written with their approval (and idempotency key) in
//! one transaction; secrets redacted before any write; history of an action on a target
//! over 24 hours; an approval resolved once and consumed once, by conditional updates in
//! the database (never by a set in one process), so that it holds across processes.
//!
//! The methods are blocking. SQLite's statements are short and run inline under a mutex;
//! PostgreSQL's run on the store's own small runtime while the caller waits (see
//! `postgres.rs`). Async callers that must not block a runtime thread (the decision server)
//! call the engine from a blocking pool.

use std::fmt;
use std::sync::Mutex;

use bighub_core::{ApprovalResolution, MemoryBatch, OutcomeReport};

use super::LocalError;
use super::approvals::{self, ApprovalRecord};
use super::input::History;
use super::store::{
    DecisionRecord, IdempotencyClaim, IdempotentHit, NewDecision, Store, StoredDecision,
};

/// What the engine reads and writes; see the [module documentation](self).
pub(crate) trait Storage: Send + Sync + fmt::Debug {
    /// The history of `action` on `target` as of `now_ms`, and how many decisions precede
    /// it (capped).
    fn history(
        &self,
        action: &str,
        target: &str,
        now_ms: i64,
    ) -> Result<(History, u64), LocalError>;

    /// Writes a decision and, when `approval_reason` is given, its pending approval, in one
    /// transaction; with an idempotency claim, takes the key in the same transaction, and
    /// when another request holds it writes nothing and answers that request's decision.
    fn insert_decision(
        &self,
        decision: &NewDecision<'_>,
        approval_reason: Option<&str>,
        idempotency: Option<&IdempotencyClaim<'_>>,
    ) -> Result<Option<IdempotentHit>, LocalError>;

    /// The decision an idempotency key of `caller` answers, if it is still live.
    fn idempotent_hit(
        &self,
        caller: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<IdempotentHit>, LocalError>;

    /// Writes an outcome (details redacted), attributed to its decision's action and target.
    fn insert_outcome(
        &self,
        report: &OutcomeReport,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<(), LocalError>;

    /// Writes memory events (each redacted); answers how many.
    fn insert_memory(
        &self,
        batch: &MemoryBatch,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<usize, LocalError>;

    /// The most recent decisions, newest first, with their outcomes.
    fn recent_decisions(&self, limit: usize) -> Result<Vec<DecisionRecord>, LocalError>;

    /// Up to `limit` decisions made at or after `since_ms` and keyed before `before`,
    /// newest first (pages for replaying).
    fn decisions_before(
        &self,
        since_ms: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredDecision>, LocalError>;

    /// The approval for `request_id`, if any.
    fn approval(&self, request_id: &str) -> Result<Option<ApprovalRecord>, LocalError>;

    /// Pending approvals, oldest first.
    fn pending_approvals(&self) -> Result<Vec<ApprovalRecord>, LocalError>;

    /// Every approval, newest first, at most `limit`.
    fn all_approvals(&self, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError>;

    /// How many approvals are pending (a count, not the rows: for gauges).
    fn pending_count(&self) -> Result<u64, LocalError>;

    /// Resolves a pending approval once, recording who did (`resolver`, as authenticated);
    /// a second resolution is refused.
    fn resolve(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
        resolver: &str,
        now_ms: i64,
    ) -> Result<ApprovalRecord, LocalError>;

    /// Marks an approved, unused approval used; of any number of concurrent consumers, in
    /// any number of processes, exactly one succeeds.
    fn consume(&self, request_id: &str, now_ms: i64) -> Result<ApprovalRecord, LocalError>;

    /// Checks that `request_id` is approved, unused, and was approved for exactly this tool
    /// and arguments of this digest.
    fn verify(
        &self,
        request_id: &str,
        tool: &str,
        digest: &str,
    ) -> Result<ApprovalRecord, LocalError> {
        approvals::check_claim(self.approval(request_id)?, request_id, tool, digest)
    }
}

/// The SQLite store behind a mutex.
#[derive(Debug)]
pub(crate) struct Sqlite(pub(crate) Mutex<Store>);

impl Sqlite {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Store>, LocalError> {
        self.0.lock().map_err(|_| LocalError::Poisoned)
    }
}

impl Storage for Sqlite {
    fn history(
        &self,
        action: &str,
        target: &str,
        now_ms: i64,
    ) -> Result<(History, u64), LocalError> {
        self.lock()?.history(action, target, now_ms)
    }

    fn insert_decision(
        &self,
        decision: &NewDecision<'_>,
        approval_reason: Option<&str>,
        idempotency: Option<&IdempotencyClaim<'_>>,
    ) -> Result<Option<IdempotentHit>, LocalError> {
        self.lock()?
            .insert_decision(decision, approval_reason, idempotency)
    }

    fn idempotent_hit(
        &self,
        caller: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<IdempotentHit>, LocalError> {
        self.lock()?.idempotent_hit(caller, key, now_ms)
    }

    fn insert_outcome(
        &self,
        report: &OutcomeReport,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<(), LocalError> {
        self.lock()?.insert_outcome(report, caller, now_ms)
    }

    fn insert_memory(
        &self,
        batch: &MemoryBatch,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<usize, LocalError> {
        self.lock()?.insert_memory(batch, caller, now_ms)
    }

    fn recent_decisions(&self, limit: usize) -> Result<Vec<DecisionRecord>, LocalError> {
        self.lock()?.recent_decisions(limit)
    }

    fn decisions_before(
        &self,
        since_ms: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredDecision>, LocalError> {
        self.lock()?.decisions_before(since_ms, before, limit)
    }

    fn approval(&self, request_id: &str) -> Result<Option<ApprovalRecord>, LocalError> {
        approvals::get(&self.lock()?.conn, request_id)
    }

    fn pending_approvals(&self) -> Result<Vec<ApprovalRecord>, LocalError> {
        approvals::pending(&self.lock()?.conn)
    }

    fn all_approvals(&self, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError> {
        approvals::all(&self.lock()?.conn, limit)
    }

    fn pending_count(&self) -> Result<u64, LocalError> {
        let n: i64 = self.lock()?.conn.query_row(
            "SELECT COUNT(*) FROM approvals WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    fn resolve(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
        resolver: &str,
        now_ms: i64,
    ) -> Result<ApprovalRecord, LocalError> {
        approvals::resolve(&self.lock()?.conn, request_id, resolution, resolver, now_ms)
    }

    fn consume(&self, request_id: &str, now_ms: i64) -> Result<ApprovalRecord, LocalError> {
        approvals::consume(&self.lock()?.conn, request_id, now_ms)
    }
}
