//! The SQLite store, the default: one file (or memory), shared by the engine, the CLI and
//! any other process that opens it.
//!
//! This module owns [`StoreLocation`] and the [`Storage`] implementation over one
//! connection behind a mutex. Inside it, `schema.rs` owns the tables and their migrations,
//! `store.rs` the rows and their reads, `decision_log.rs` the log's pages and whole
//! decisions for people, `approvals.rs` resolving and consuming approvals,
//! `recent_cache.rs` the in-memory copy of each action's history (kept exact with `PRAGMA
//! data_version`), and `checkpointer.rs` the WAL checkpoints off the decision path.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bighub_core::durable::{ClaimedRun, PausedRun, RunCompletion};
use bighub_core::{MemoryBatch, OutcomeReport};

use crate::error::LocalError;
use crate::input::History;
use crate::storage::durable_runs::DurableRunStorage;
use crate::storage::history::HistoryRequest;
use crate::storage::{
    Answer, ApprovalRecord, DecisionDetail, DecisionPage, DecisionQuery, DecisionRecord,
    IdempotencyClaim, IdempotentHit, NewApproval, NewDecision, Storage, StoredDecision,
};

mod approvals;
mod checkpointer;
mod decision_log;
mod durable_runs;
mod recent_cache;
mod schema;
mod shadow_log;
mod store;

use store::Store;

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreLocation {
    /// A private in-memory database, gone when the engine is dropped (`:memory:`).
    Memory,
    /// A database file, created with its directory when missing.
    File(PathBuf),
}

impl StoreLocation {
    /// `:memory:` means [`StoreLocation::Memory`]; anything else is a file path.
    pub(crate) fn parse(text: &str) -> Self {
        if text.trim() == ":memory:" {
            Self::Memory
        } else {
            Self::File(PathBuf::from(text))
        }
    }

    /// The platform's data directory: `~/.local/share/bighub/decisions.db` on Linux,
    /// `~/Library/Application Support/bighub/decisions.db` on macOS,
    /// `%APPDATA%\bighub\decisions.db` on Windows.
    pub(crate) fn platform_default() -> Result<Self, LocalError> {
        let dir = dirs::data_dir().ok_or(LocalError::NoDataDir)?;
        Ok(Self::File(dir.join("bighub").join("decisions.db")))
    }
}

/// The file behind a location, for messages.
pub(crate) fn describe(location: &StoreLocation) -> String {
    match location {
        StoreLocation::Memory => ":memory:".to_owned(),
        StoreLocation::File(p) => Path::new(p).display().to_string(),
    }
}

/// The SQLite store behind a mutex.
#[derive(Debug)]
pub(crate) struct Sqlite(Mutex<Store>);

impl Sqlite {
    /// Opens (creating when missing) and migrates the store at `location`.
    pub(crate) fn open(location: &StoreLocation) -> Result<Self, LocalError> {
        Ok(Self(Mutex::new(Store::open(location)?)))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Store>, LocalError> {
        self.0.lock().map_err(|_| LocalError::Poisoned)
    }
}

impl DurableRunStorage for Sqlite {
    fn save_run(&self, owner: &str, run: &PausedRun, now_ms: i64) -> Result<(), LocalError> {
        durable_runs::save(&mut self.lock()?.conn, owner, run, now_ms)
    }

    fn claim_runs(
        &self,
        owner: &str,
        lease_id: &str,
        lease_until_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedRun>, LocalError> {
        let mut store = self.lock()?;
        durable_runs::claim(
            &mut store.conn,
            owner,
            lease_id,
            lease_until_ms,
            now_ms,
            limit,
        )
    }

    fn complete_run(
        &self,
        owner: &str,
        run_id: &str,
        lease_id: &str,
        completion: &RunCompletion,
        now_ms: i64,
    ) -> Result<(), LocalError> {
        let mut store = self.lock()?;
        durable_runs::complete(&mut store.conn, owner, run_id, lease_id, completion, now_ms)
    }
}

impl Storage for Sqlite {
    fn history(&self, request: &HistoryRequest<'_>) -> Result<(History, u64), LocalError> {
        self.lock()?.history(request)
    }

    fn insert_decision(
        &self,
        decision: &NewDecision<'_>,
        approval: Option<&NewApproval<'_>>,
        idempotency: Option<&IdempotencyClaim<'_>>,
    ) -> Result<Option<IdempotentHit>, LocalError> {
        self.lock()?
            .insert_decision(decision, approval, idempotency)
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

    fn decision(&self, request_id: &str) -> Result<Option<DecisionDetail>, LocalError> {
        decision_log::get(&self.lock()?.conn, request_id)
    }

    fn decision_log(&self, query: &DecisionQuery) -> Result<DecisionPage, LocalError> {
        decision_log::page(&self.lock()?.conn, query)
    }

    fn shadow_disagreements(
        &self,
        limit: usize,
    ) -> Result<Vec<crate::storage::ShadowDisagreement>, LocalError> {
        shadow_log::list(&self.lock()?.conn, limit)
    }

    fn decisions_before(
        &self,
        since_ms: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredDecision>, LocalError> {
        self.lock()?.decisions_before(since_ms, before, limit)
    }

    fn stored_decision(&self, request_id: &str) -> Result<Option<StoredDecision>, LocalError> {
        self.lock()?.stored_decision(request_id)
    }

    fn approval(&self, request_id: &str) -> Result<Option<ApprovalRecord>, LocalError> {
        approvals::get(&self.lock()?.conn, request_id)
    }

    fn pending_approvals(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<ApprovalRecord>, LocalError> {
        approvals::pending(&self.lock()?.conn, now_ms, limit)
    }

    fn all_approvals(&self, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError> {
        approvals::all(&self.lock()?.conn, limit)
    }

    fn pending_count(&self, now_ms: i64) -> Result<u64, LocalError> {
        approvals::pending_count(&self.lock()?.conn, now_ms)
    }

    fn resolve(&self, request_id: &str, answer: &Answer<'_>) -> Result<ApprovalRecord, LocalError> {
        approvals::resolve(&self.lock()?.conn, request_id, answer)
    }

    fn expire_due(&self, now_ms: i64, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError> {
        approvals::expire_due(&self.lock()?.conn, now_ms, limit)
    }

    fn consume(&self, request_id: &str, now_ms: i64) -> Result<ApprovalRecord, LocalError> {
        approvals::consume(&self.lock()?.conn, request_id, now_ms)
    }
}
