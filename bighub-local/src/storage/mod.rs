//! The store behind the engine, and the records it hands out.
//!
//! Public here: the records the engine's methods answer ([`DecisionRecord`] with its
//! [`OutcomeRecord`]s, [`ApprovalRecord`] with its [`ApprovalStatus`]), the resolver name of
//! an in-process resolution ([`IN_PROCESS`]), the longest identifier a store accepts
//! ([`MAX_IDENTIFIER_BYTES`]) and the PostgreSQL store's time limits ([`DatabaseTimeouts`]).
//!
//! Inside the crate, this module owns the `Storage` trait, the operations the engine needs,
//! with the semantics every back end keeps: decisions written with their approval (and
//! idempotency key) in one transaction; secrets redacted before any write; the history of
//! an action on a target over 24 hours (`history.rs`); an approval resolved once and
//! consumed once, by conditional updates in the database (never by a set in one process),
//! so that it holds across processes (`approval_rules.rs`); and the same inputs accepted by
//! every back end (`storable.rs`). Each back end, SQLite (`sqlite/`, the default) and
//! PostgreSQL (`postgres/`, feature `postgres`, for several processes or machines on one
//! database), owns its schema and migrations, its statements and its connections, and
//! neither uses the other. Storage decides nothing, builds no policy input, and redacts
//! through `redact.rs`.
//!
//! The methods are blocking. SQLite's statements are short and run inline under a mutex;
//! PostgreSQL's run on the store's own small runtime while the caller waits. Async callers
//! that must not block a runtime thread (the decision server) call the engine from a
//! blocking pool.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use bighub_core::{ApprovalResolution, MemoryBatch, OutcomeReport};

use crate::error::LocalError;
use crate::input::History;

mod approval_rules;
mod database_timeouts;
pub(crate) mod durable_runs;
mod history;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod sqlite;
pub(crate) mod storable;

pub use database_timeouts::DatabaseTimeouts;
pub use storable::MAX_IDENTIFIER_BYTES;

/// What the engine reads and writes; see the [module documentation](self). Durable runs
/// are [`DurableRunStorage`](durable_runs::DurableRunStorage)'s.
pub(crate) trait Storage:
    durable_runs::DurableRunStorage + Send + Sync + fmt::Debug
{
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

    /// Pending approvals, oldest first, at most `limit`: limited in the query, so that
    /// the rows past it are never read.
    fn pending_approvals(&self, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError>;

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
        approval_rules::check_claim(self.approval(request_id)?, request_id, tool, digest)
    }
}

/// How long an idempotency key keeps answering with its first decision.
pub(crate) const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

/// A decision as stored, with the outcomes reported for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    /// The decision's request id.
    pub request_id: String,
    /// When it was decided (RFC 3339, UTC).
    pub created_at: String,
    /// The tool called.
    pub tool: String,
    /// The action name.
    pub action: String,
    /// The target (empty when none).
    pub target: String,
    /// The system.
    pub system: Option<String>,
    /// The environment.
    pub environment: Option<String>,
    /// The declared risk.
    pub risk: Option<String>,
    /// The mode decided.
    pub mode: String,
    /// The risk score.
    pub risk_score: Option<f64>,
    /// The reason.
    pub reason: Option<String>,
    /// The arguments, redacted.
    pub arguments: Value,
    /// Who asked for it: the decision server's name for the API key, or none in-process.
    pub caller: Option<String>,
    /// The outcomes reported for it, oldest first.
    pub outcomes: Vec<OutcomeRecord>,
    /// What the decision was made on besides the call, as its `decision_packet` records
    /// it: `context` (per provider: when its answer was fetched, its age, digest and
    /// error) and `evidence` (the scan used); null when it used neither.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub used: Value,
}

/// The `used` of a decision record, from the stored decision's JSON text.
pub(crate) fn decision_used(decision: &str) -> Value {
    let Ok(decision) = serde_json::from_str::<Value>(decision) else {
        return Value::Null;
    };
    let packet = &decision["decision_packet"];
    let mut used = serde_json::Map::new();
    for part in ["context", "evidence"] {
        if let Some(value) = packet.get(part).filter(|v| !v.is_null()) {
            used.insert(part.to_owned(), value.clone());
        }
    }
    if used.is_empty() {
        Value::Null
    } else {
        Value::Object(used)
    }
}

/// An outcome as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeRecord {
    /// `SUCCESS`, `FAILURE`, `BLOCKED`, `PARTIAL`.
    pub status: String,
    /// The description reported.
    pub description: Option<String>,
    /// When it was reported (RFC 3339, UTC).
    pub created_at: String,
}

/// A decision row to write (already redacted).
pub(crate) struct NewDecision<'a> {
    pub request_id: &'a str,
    pub created_at: i64,
    pub tool: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub system: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub risk: Option<&'a str>,
    pub actor: &'a str,
    pub mode: &'a str,
    pub risk_score: Option<f64>,
    pub reason: Option<&'a str>,
    pub arguments: &'a Value,
    pub arguments_sha256: &'a str,
    pub decision: &'a Value,
    pub caller: Option<&'a str>,
}

/// An idempotency key to hold for a decision: a retry with the same key finds it.
pub(crate) struct IdempotencyClaim<'a> {
    pub caller: &'a str,
    pub key: &'a str,
    /// SHA-256 of the request, so that a key reused for another request is refused.
    pub action_sha256: &'a str,
}

/// What an idempotency key already answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IdempotentHit {
    pub action_sha256: String,
    /// The whole decision the first request got.
    pub decision: Value,
}

/// A decision row as [`Storage::decisions_before`] reads it, for replaying.
#[derive(Debug, Clone)]
pub(crate) struct StoredDecision {
    /// The row key (time-ordered).
    pub key: i64,
    pub request_id: String,
    pub created_at: i64,
    pub tool: String,
    pub action: String,
    pub target: String,
    pub system: Option<String>,
    pub environment: Option<String>,
    pub risk: Option<String>,
    pub actor: String,
    pub mode: String,
    /// The redacted arguments, as JSON text.
    pub arguments: String,
    /// The whole decision, as JSON text; its `decision_packet.input` is the input it was
    /// decided on.
    pub decision: String,
}

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ApprovalStatus {
    /// Waiting for a human.
    Pending,
    /// A human approved it.
    Approved,
    /// A human rejected it.
    Rejected,
}

impl ApprovalStatus {
    /// The stored name (`pending`, `approved`, `rejected`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            _ => Self::Pending,
        }
    }
}

/// An approval as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalRecord {
    /// The review decision's request id.
    pub request_id: String,
    /// When the decision asked for it (RFC 3339, UTC).
    pub created_at: String,
    /// The tool to run.
    pub tool: String,
    /// The action name.
    pub action: String,
    /// The target (empty when none).
    pub target: String,
    /// SHA-256 of the canonical JSON of the arguments it was asked for.
    pub arguments_sha256: String,
    /// The arguments it was asked for, redacted as the decision recorded them (`None` for
    /// approvals stored before the store kept them).
    pub arguments: Option<Value>,
    /// Why the decision asked for a review.
    pub reason: Option<String>,
    /// Pending, approved or rejected.
    pub status: ApprovalStatus,
    /// The resolver's comment.
    pub comment: Option<String>,
    /// Who resolved it, in their own words (the resolution's `resolved_by`): a note, not
    /// a fact; [`resolver`](Self::resolver) is the fact.
    pub resolved_by: Option<String>,
    /// Who resolved it, as authenticated: the decision server's name for the API key that
    /// resolved it, `operator:<user>` for the `bighub` CLI, [`IN_PROCESS`] for a resolution
    /// made in the engine's own process. `None` while pending (and for approvals resolved
    /// before the store recorded it).
    pub resolver: Option<String>,
    /// When it was resolved (RFC 3339, UTC).
    pub resolved_at: Option<String>,
    /// Whether the approved call has run (an approval runs its call at most once).
    pub used: bool,
    /// When it was used.
    pub used_at: Option<String>,
}

/// The resolver recorded for a resolution made in the engine's own process (an agent's
/// approval callback, a program calling [`LocalEngine::resolve`](crate::LocalEngine::resolve)).
pub const IN_PROCESS: &str = "in-process";
