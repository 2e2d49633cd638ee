//! The store behind the engine, and the records it hands out.
//!
//! Public here: the records the engine's methods answer ([`DecisionRecord`] with its
//! [`OutcomeRecord`]s, [`ApprovalRecord`] with its [`ApprovalStatus`]), the resolver name of
//! an in-process resolution ([`IN_PROCESS`]), the longest identifier a store accepts
//! ([`MAX_IDENTIFIER_BYTES`]), the PostgreSQL store's time limits ([`DatabaseTimeouts`]),
//! and the decision log's query, pages and whole decisions (`decision_log.rs`:
//! [`DecisionQuery`], [`DecisionPage`], [`DecisionDetail`]).
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

use bighub_core::{MemoryBatch, OutcomeReport};

use crate::error::LocalError;
use crate::input::History;
use history::HistoryRequest;

pub(crate) use approval_rules::{Answer, ArgumentChange, NewApproval};

pub(crate) mod approval_rules;
mod database_timeouts;
mod decision_log;
pub(crate) mod durable_runs;
pub(crate) mod history;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod shadow_log;
pub(crate) mod sqlite;
pub(crate) mod storable;

pub use database_timeouts::DatabaseTimeouts;
pub use decision_log::{
    DecisionCursor, DecisionDetail, DecisionPage, DecisionQuery, InvalidCursor, MAX_PAGE,
};
pub use shadow_log::ShadowDisagreement;
pub use storable::MAX_IDENTIFIER_BYTES;

/// What the engine reads and writes; see the [module documentation](self). Durable runs
/// are [`DurableRunStorage`](durable_runs::DurableRunStorage)'s.
pub(crate) trait Storage:
    durable_runs::DurableRunStorage + Send + Sync + fmt::Debug
{
    /// The history `request` asks for (the action on its target, the counts by dimension
    /// and window, the rate limits' counts, the target's last outcomes), and how many
    /// decisions precede it on that action and target (capped).
    fn history(&self, request: &HistoryRequest<'_>) -> Result<(History, u64), LocalError>;

    /// Writes a decision and, when `approval_reason` is given, its pending approval, in one
    /// transaction; with an idempotency claim, takes the key in the same transaction, and
    /// when another request holds it writes nothing and answers that request's decision.
    fn insert_decision(
        &self,
        decision: &NewDecision<'_>,
        approval: Option<&NewApproval<'_>>,
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

    /// One decision by its request id, whole, with its outcomes and its approval.
    fn decision(&self, request_id: &str) -> Result<Option<DecisionDetail>, LocalError>;

    /// A page of the decision log: the decisions `query` selects, newest first.
    fn decision_log(&self, query: &DecisionQuery) -> Result<DecisionPage, LocalError>;

    /// Up to `limit` decisions made at or after `since_ms` and keyed before `before`,
    /// newest first (pages for replaying).
    fn decisions_before(
        &self,
        since_ms: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredDecision>, LocalError>;

    /// The newest `limit` decisions whose shadow decision disagreed with them (or failed).
    fn shadow_disagreements(&self, limit: usize) -> Result<Vec<ShadowDisagreement>, LocalError>;

    /// The decision row of `request_id`, if any.
    fn stored_decision(&self, request_id: &str) -> Result<Option<StoredDecision>, LocalError>;

    /// The approval for `request_id`, if any.
    fn approval(&self, request_id: &str) -> Result<Option<ApprovalRecord>, LocalError>;

    /// Approvals pending and not expired at `now_ms`, oldest first, at most `limit`:
    /// limited in the query, so that the rows past it are never read.
    fn pending_approvals(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<ApprovalRecord>, LocalError>;

    /// Every approval, newest first, at most `limit`.
    fn all_approvals(&self, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError>;

    /// How many approvals are pending and not expired at `now_ms` (a count, not the rows:
    /// for gauges).
    fn pending_count(&self, now_ms: i64) -> Result<u64, LocalError>;

    /// Applies an answer to a pending approval under the lifecycle's rules
    /// (`approval_rules.rs`): once resolved it stays resolved; an expired one is marked
    /// expired and refused; the answer is written by a conditional update, so that of
    /// concurrent answers each is counted once.
    fn resolve(&self, request_id: &str, answer: &Answer<'_>) -> Result<ApprovalRecord, LocalError>;

    /// Marks the approvals still pending whose time ran out by `now_ms` expired (at most
    /// `limit`), and answers them; of several processes sweeping at once, each approval is
    /// answered to one.
    fn expire_due(&self, now_ms: i64, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError>;

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
    /// Who the action is done as.
    pub actor: String,
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

/// What an outcome without a request id is attributed to, from its details: `(action,
/// target, actor, system)`; the action (or tool) must be named.
pub(crate) fn outcome_subject_from_details(
    details: &Value,
) -> Result<(String, String, Option<String>, Option<String>), LocalError> {
    let s = |k: &str| details.get(k).and_then(Value::as_str).map(str::to_owned);
    let action = s("action").or_else(|| s("tool")).ok_or_else(|| {
        LocalError::DecisionNotFound(
            "(none: give the report a request_id, or details.action)".to_owned(),
        )
    })?;
    Ok((
        action,
        s("target").unwrap_or_default(),
        s("actor"),
        s("system"),
    ))
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
    /// The shadow set's mode (none when there is no shadow set, or it failed on the call).
    pub shadow_mode: Option<&'a str>,
    /// Whether the shadow set agreed (none when there is no shadow set).
    pub shadow_agrees: Option<bool>,
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
    /// Nobody answered it in time; its call does not run. Not a rejection.
    Expired,
    /// It was approved and its call ran under it (once).
    Used,
}

impl ApprovalStatus {
    /// The name (`pending`, `approved`, `rejected`, `expired`, `used`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Used => "used",
        }
    }

    /// The status of a stored row: its `status` column, and whether it was used.
    pub(crate) fn from_row(status: &str, used: bool) -> Self {
        match status {
            "approved" if used => Self::Used,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "expired" => Self::Expired,
            _ => Self::Pending,
        }
    }
}

/// One approval an approver gave (of the [`required_approvals`](ApprovalRecord::required_approvals)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Approver {
    /// Who, as authenticated (as [`ApprovalRecord::resolver`]).
    pub name: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Their comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
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
    /// Pending, approved, rejected, expired or used.
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
    /// When it expires unless answered (RFC 3339, UTC; `None` for approvals stored before
    /// approvals expired).
    pub expires_at: Option<String>,
    /// Who asked for it, as authenticated: the decision server's name for the agent's API
    /// key, `None` for a decision made in the engine's own process.
    pub requester: Option<String>,
    /// The actor the agent acts as, as the call declared it.
    pub actor: Option<String>,
    /// Whether whoever asked for it may not approve it.
    pub separate_approver: bool,
    /// How many distinct people must approve it.
    pub required_approvals: u32,
    /// The approvals given so far, oldest first (all of them once approved).
    pub approvers: Vec<Approver>,
    /// When an approver approved another call than the one asked for (the engine's better
    /// action, or edited arguments): `{kind: "better_action" | "edited", original_arguments,
    /// original_arguments_sha256, mode, reason}`; [`arguments`](Self::arguments) and
    /// [`arguments_sha256`](Self::arguments_sha256) are then the changed call's.
    pub change: Option<Value>,
}

/// The resolver recorded for a resolution made in the engine's own process (an agent's
/// approval callback, a program calling [`LocalEngine::resolve`](crate::LocalEngine::resolve)).
pub const IN_PROCESS: &str = "in-process";
