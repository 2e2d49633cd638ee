//! What the server decides with: the [`Backend`] trait, and its two implementations.
//!
//! This module owns the seam between HTTP and the engine. [`LocalBackend`] runs the
//! embedded engine and its store (decisions recorded with the caller's key name,
//! idempotency keys, approvals listed); [`EngineBackend`] serves any
//! [`DecisionEngine`] (one that keeps no approvals and records no caller). Errors come back
//! as [`BackendError`], which `routes.rs` turns into the hosted service's status codes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::durable::{ClaimedRun, PausedRun, RunCompletion};
use bighub_core::{ApprovalResolution, DecisionEngine, MemoryBatch, OutcomeReport, ProposedAction};
use bighub_local::context::ContextSnapshot;
use bighub_local::{AnswerOrigin, LocalEngine, LocalError, RequestOrigin};
use serde_json::{Value, json};

use crate::approval_events::{ApprovalEventKind, ApprovalEvents};
use crate::wire::ClaimRequest;

/// How many overdue approvals one sweep marks expired.
const EXPIRY_BATCH: usize = 500;

/// Which approvals `GET /approvals` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalFilter {
    /// Waiting for a human (the default).
    Pending,
    /// All of them, newest first.
    All,
}

/// Why a backend could not answer; each maps to one status code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// 404: no such decision.
    #[error("{0}")]
    NotFound(String),
    /// 404 or 409: the approval may not be used as asked (not found, already resolved, a
    /// claim refused); `routes.rs` gives each refusal its status and `reason`.
    #[error(transparent)]
    Approval(#[from] ApprovalRefused),
    /// 422: the request cannot be honoured as sent (an idempotency key reused for another
    /// request, a value the store does not accept, named with its field, ...).
    #[error("{0}")]
    Invalid(String),
    /// 409: a durable run is taken (saved by another caller, held by a live lease) or no
    /// longer held under the lease named.
    #[error("{0}")]
    Conflict(String),
    /// 503: the store is unreachable or busy; clients retry.
    #[error("{0}")]
    Unavailable(String),
    /// 500: the engine failed (a policy rule that fails on this call, ...).
    #[error("{0}")]
    Internal(String),
}

impl From<LocalError> for BackendError {
    fn from(e: LocalError) -> Self {
        // A value the store refuses is the request's fault, whichever store refused it:
        // answered 422 naming the field, never "unavailable" (a client would retry it,
        // then apply its fail mode).
        if e.is_invalid_input() {
            return Self::Invalid(e.to_string());
        }
        if e.is_unavailable() {
            return Self::Unavailable(e.to_string());
        }
        match e {
            LocalError::Approval(refused) => Self::Approval(refused),
            LocalError::DecisionNotFound(_) => Self::NotFound(e.to_string()),
            LocalError::RunUnavailable { .. } | LocalError::LeaseLost { .. } => {
                Self::Conflict(e.to_string())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<bighub_core::Error> for BackendError {
    fn from(e: bighub_core::Error) -> Self {
        use bighub_core::Error as E;
        match e {
            E::Approval(refused) => Self::Approval(refused),
            E::Validation { .. } => Self::Invalid(e.to_string()),
            E::LeaseLost { .. } => Self::Conflict(e.to_string()),
            other if other.is_unavailable() => Self::Unavailable(other.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Who made a request: the name of its API key (never the key), and its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The API key's name (`anonymous` when the server runs without keys).
    pub key_name: String,
    /// The request's `Idempotency-Key`, when it sent one.
    pub idempotency_key: Option<String>,
}

/// What the server's endpoints call. Every method gets the [`Caller`].
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// Decides `action` (recording it) and answers the whole decision.
    async fn evaluate(
        &self,
        action: ProposedAction,
        caller: &Caller,
    ) -> Result<Value, BackendError>;
    /// Decides `action` without recording anything (`dry_run: true`).
    async fn preview(&self, action: ProposedAction, caller: &Caller)
    -> Result<Value, BackendError>;
    /// Records an outcome.
    async fn report_outcome(
        &self,
        report: OutcomeReport,
        caller: &Caller,
    ) -> Result<(), BackendError>;
    /// Stores memory events; answers how many.
    async fn ingest_memory(
        &self,
        batch: MemoryBatch,
        caller: &Caller,
    ) -> Result<usize, BackendError>;
    /// Resolves a pending approval once, recording the caller's key name as who resolved
    /// it; answers the approval as it now stands.
    async fn resolve_approval(
        &self,
        request_id: String,
        resolution: ApprovalResolution,
        caller: &Caller,
    ) -> Result<Value, BackendError>;
    /// Claims an approved approval for one execution of exactly the call `claim` names
    /// (its tool and arguments digest): refuses another call, a second use, or an
    /// approval not approved; answers the approval as it now stands (used).
    ///
    /// The default refuses with [`ApprovalRefusal::Untracked`]: a backend that keeps no
    /// approvals cannot bind one, and its clients then run only what they asked for
    /// themselves.
    async fn claim_approval(
        &self,
        request_id: String,
        claim: ClaimRequest,
        caller: &Caller,
    ) -> Result<Value, BackendError> {
        let _ = (claim, caller);
        Err(ApprovalRefused::new(request_id, ApprovalRefusal::Untracked).into())
    }
    /// The approval `request_id` as it now stands (an extension of the hosted contract:
    /// `GET /approvals/{request_id}`, which agents read to learn the call an approver
    /// approved). The default answers 404.
    async fn approval(&self, request_id: String, caller: &Caller) -> Result<Value, BackendError> {
        let _ = caller;
        Err(ApprovalRefused::new(request_id, ApprovalRefusal::NotFound).into())
    }
    /// Marks the approvals whose time ran out expired; answers how many. Called by the
    /// server now and then. The default does nothing.
    async fn expire_due(&self) -> Result<usize, BackendError> {
        Ok(0)
    }
    /// Lists approvals, at most `limit`.
    async fn approvals(
        &self,
        filter: ApprovalFilter,
        limit: usize,
    ) -> Result<Vec<Value>, BackendError>;
    /// The most recent decisions, newest first, at most `limit`, with their outcomes.
    ///
    /// The default answers 404: a backend that records no decisions has none to list.
    async fn decisions(&self, limit: usize) -> Result<Vec<Value>, BackendError> {
        let _ = limit;
        Err(BackendError::NotFound(
            "this server's engine keeps no decisions to list".to_owned(),
        ))
    }
    /// How many approvals are pending, for `/metrics` (`None` when not tracked). Called
    /// off the scrape's path, one call at a time: a call that never returns leaves
    /// `/metrics` answering with the last count and its age.
    async fn pending_approvals(&self) -> Result<Option<usize>, BackendError> {
        Ok(None)
    }
    /// Whether the backend can serve (its store answers), for `/healthz`. One call at a
    /// time; `/healthz` answers 503 when it takes longer than the health timeout.
    async fn health(&self) -> Result<(), BackendError> {
        Ok(())
    }
    /// Where the policy sets stand (revision, reloads, last reload error), for
    /// `/healthz` and `/metrics`; `None` for a backend without policies of its own. Read
    /// from memory: it never waits on the store.
    fn policy_status(&self) -> Option<bighub_local::live_policies::PolicyStatus> {
        None
    }
    /// Keeps a paused durable run of the caller (`PUT /runs/{run_id}`).
    ///
    /// The default answers 404: a backend without a store keeps no runs.
    async fn save_run(&self, run: PausedRun, caller: &Caller) -> Result<(), BackendError> {
        let _ = (run, caller);
        Err(no_runs())
    }
    /// Claims up to `limit` of the caller's answered durable runs for `lease`
    /// (`POST /runs/claim`).
    async fn claim_runs(
        &self,
        lease: Duration,
        limit: usize,
        caller: &Caller,
    ) -> Result<Vec<ClaimedRun>, BackendError> {
        let _ = (lease, limit, caller);
        Err(no_runs())
    }
    /// Records how the caller's durable run, claimed under `lease_id`, ended
    /// (`POST /runs/{run_id}/complete`).
    async fn complete_run(
        &self,
        run_id: String,
        lease_id: String,
        completion: RunCompletion,
        caller: &Caller,
    ) -> Result<(), BackendError> {
        let _ = (run_id, lease_id, completion, caller);
        Err(no_runs())
    }
}

fn no_runs() -> BackendError {
    BackendError::NotFound("this server's engine keeps no durable runs".to_owned())
}

/// The embedded engine and its store, behind the server.
///
/// The engine's store calls block (SQLite behind a mutex, with a busy timeout when another
/// process writes; PostgreSQL waiting for its statements), so each request runs them on
/// Tokio's blocking pool rather than on the threads that serve connections. The engine's
/// context providers are fetched first, on the runtime.
///
/// ```
/// use std::sync::Arc;
/// use bighub_local::LocalEngine;
/// use bighub_server::LocalBackend;
///
/// let engine = LocalEngine::builder().in_memory().build().unwrap();
/// let backend = LocalBackend::new(Arc::new(engine));
/// # let _ = backend;
/// ```
#[derive(Debug, Clone)]
pub struct LocalBackend {
    engine: Arc<LocalEngine>,
    events: ApprovalEvents,
    separate_approver: bool,
}

impl LocalBackend {
    /// Serves `engine`.
    pub fn new(engine: Arc<LocalEngine>) -> Self {
        Self {
            engine,
            events: ApprovalEvents::default(),
            separate_approver: false,
        }
    }

    /// Requires, for every approval answered through this backend, that whoever answers
    /// is not whoever asked for it (the API key that made the decision, or its actor),
    /// whatever the decision says (`bighub serve --separate-approver`). A rejection is
    /// still anyone's to give.
    pub fn separate_approver(mut self, required: bool) -> Self {
        self.separate_approver = required;
        self
    }

    /// The engine served.
    pub fn engine(&self) -> &Arc<LocalEngine> {
        &self.engine
    }

    /// The approval events this backend publishes: a review decision it records, an
    /// answer it records, an approval it finds expired.
    pub fn events(&self) -> &ApprovalEvents {
        &self.events
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&LocalEngine) -> Result<T, LocalError> + Send + 'static,
    {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(|e| BackendError::Internal(format!("the engine task failed: {e}")))?
            .map_err(BackendError::from)
    }
}

#[async_trait]
impl Backend for LocalBackend {
    async fn evaluate(
        &self,
        action: ProposedAction,
        caller: &Caller,
    ) -> Result<Value, BackendError> {
        let caller = caller.clone();
        // Fetched here, on the runtime, before the engine's blocking work: the store is
        // not held while providers answer.
        let context = self.engine.gather_context(&action).await;
        let (decision, opened) = self
            .blocking(move |engine| {
                let origin = RequestOrigin {
                    caller: Some(&caller.key_name),
                    idempotency_key: caller.idempotency_key.as_deref(),
                };
                let decision = engine.decide_in_context(&action, origin, &context)?.raw;
                let opened = match decision["request_id"].as_str() {
                    Some(id) if decision["mode"] == "review" => engine.approval(id)?,
                    _ => None,
                };
                Ok((decision, opened))
            })
            .await?;
        if let Some(approval) = opened {
            self.events.publish(ApprovalEventKind::Requested, approval);
        }
        Ok(decision)
    }

    async fn preview(&self, action: ProposedAction, _: &Caller) -> Result<Value, BackendError> {
        let context = self.engine.gather_context(&action).await;
        self.blocking(move |engine| {
            Ok(engine
                .decide_without_recording_in_context(&action, &context)?
                .raw)
        })
        .await
    }

    async fn report_outcome(
        &self,
        report: OutcomeReport,
        caller: &Caller,
    ) -> Result<(), BackendError> {
        let name = caller.key_name.clone();
        self.blocking(move |engine| engine.record_outcome_as(&report, Some(&name)))
            .await
    }

    async fn ingest_memory(
        &self,
        batch: MemoryBatch,
        caller: &Caller,
    ) -> Result<usize, BackendError> {
        let name = caller.key_name.clone();
        self.blocking(move |engine| engine.record_memory_as(&batch, Some(&name)))
            .await
    }

    async fn resolve_approval(
        &self,
        request_id: String,
        resolution: ApprovalResolution,
        caller: &Caller,
    ) -> Result<Value, BackendError> {
        let resolver = caller.key_name.clone();
        let separate_approver = self.separate_approver;
        // A changed call (the better action, edited arguments) is decided on the context
        // fetched for it, here on the runtime, before the store is touched again.
        let (id, asked) = (request_id.clone(), resolution.clone());
        let changed = self
            .blocking(move |engine| engine.changed_action(&id, &asked))
            .await?;
        let context = match &changed {
            Some(action) => self.engine.gather_context(action).await,
            None => ContextSnapshot::default(),
        };
        let record = self
            .blocking(move |engine| {
                let origin = AnswerOrigin {
                    resolver: &resolver,
                    separate_approver,
                };
                engine.answer_in_context(&request_id, &resolution, origin, &context)
            })
            .await?;
        let answer = serde_json::to_value(&record).map_err(LocalError::from)?;
        self.events.publish(ApprovalEventKind::Answered, record);
        Ok(answer)
    }

    async fn approval(&self, request_id: String, _: &Caller) -> Result<Value, BackendError> {
        self.blocking(move |engine| {
            let record = engine
                .approval(&request_id)?
                .ok_or_else(|| ApprovalRefused::new(request_id, ApprovalRefusal::NotFound))?;
            Ok(serde_json::to_value(record)?)
        })
        .await
    }

    async fn expire_due(&self) -> Result<usize, BackendError> {
        let expired = self
            .blocking(|engine| engine.expire_due_approvals(EXPIRY_BATCH))
            .await?;
        let n = expired.len();
        for record in expired {
            tracing::info!(request_id = ?record.request_id, tool = ?record.tool, "approval expired");
            self.events.publish(ApprovalEventKind::Expired, record);
        }
        Ok(n)
    }

    async fn claim_approval(
        &self,
        request_id: String,
        claim: ClaimRequest,
        _: &Caller,
    ) -> Result<Value, BackendError> {
        self.blocking(move |engine| {
            let record = engine.claim_digest(&request_id, &claim.tool, &claim.arguments_sha256)?;
            Ok(serde_json::to_value(record)?)
        })
        .await
    }

    async fn approvals(
        &self,
        filter: ApprovalFilter,
        limit: usize,
    ) -> Result<Vec<Value>, BackendError> {
        self.blocking(move |engine| {
            let rows = match filter {
                ApprovalFilter::Pending => engine.oldest_pending_approvals(limit)?,
                ApprovalFilter::All => engine.all_approvals(limit)?,
            };
            rows.into_iter()
                .map(|r| serde_json::to_value(r).map_err(LocalError::from))
                .collect()
        })
        .await
    }

    async fn decisions(&self, limit: usize) -> Result<Vec<Value>, BackendError> {
        self.blocking(move |engine| {
            engine
                .recent_decisions(limit)?
                .into_iter()
                .map(|r| serde_json::to_value(r).map_err(LocalError::from))
                .collect()
        })
        .await
    }

    async fn pending_approvals(&self) -> Result<Option<usize>, BackendError> {
        self.blocking(|engine| {
            let n = engine.pending_approval_count()?;
            Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)))
        })
        .await
    }

    async fn health(&self) -> Result<(), BackendError> {
        self.blocking(|engine| engine.recent_decisions(1).map(drop))
            .await
    }

    fn policy_status(&self) -> Option<bighub_local::live_policies::PolicyStatus> {
        Some(self.engine.policy_status())
    }

    async fn save_run(&self, run: PausedRun, caller: &Caller) -> Result<(), BackendError> {
        let owner = caller.key_name.clone();
        self.blocking(move |engine| engine.save_run_as(&owner, &run))
            .await
    }

    async fn claim_runs(
        &self,
        lease: Duration,
        limit: usize,
        caller: &Caller,
    ) -> Result<Vec<ClaimedRun>, BackendError> {
        let owner = caller.key_name.clone();
        self.blocking(move |engine| engine.claim_answered_runs_as(&owner, lease, limit))
            .await
    }

    async fn complete_run(
        &self,
        run_id: String,
        lease_id: String,
        completion: RunCompletion,
        caller: &Caller,
    ) -> Result<(), BackendError> {
        let owner = caller.key_name.clone();
        self.blocking(move |engine| engine.complete_run_as(&owner, &run_id, &lease_id, &completion))
            .await
    }
}

/// Any [`DecisionEngine`] behind the server: evaluations, outcomes, memory and
/// resolutions go to the engine; it records no caller, keeps no idempotency keys of the
/// server's, and lists no approvals (`GET /approvals` answers 404).
#[derive(Debug)]
pub struct EngineBackend<E> {
    engine: E,
}

impl<E: DecisionEngine + 'static> EngineBackend<E> {
    /// Serves `engine`.
    pub fn new(engine: E) -> Self {
        Self { engine }
    }
}

#[async_trait]
impl<E: DecisionEngine + 'static> Backend for EngineBackend<E> {
    async fn evaluate(&self, action: ProposedAction, _: &Caller) -> Result<Value, BackendError> {
        Ok(self.engine.evaluate(&action).await?.raw)
    }

    async fn preview(&self, action: ProposedAction, _: &Caller) -> Result<Value, BackendError> {
        Ok(self.engine.preview(&action).await?.raw)
    }

    async fn report_outcome(&self, report: OutcomeReport, _: &Caller) -> Result<(), BackendError> {
        Ok(self.engine.report_outcome(&report).await?)
    }

    async fn ingest_memory(&self, batch: MemoryBatch, _: &Caller) -> Result<usize, BackendError> {
        self.engine.ingest_memory(&batch).await?;
        Ok(batch.events.len())
    }

    async fn resolve_approval(
        &self,
        request_id: String,
        resolution: ApprovalResolution,
        _: &Caller,
    ) -> Result<Value, BackendError> {
        let answer = self
            .engine
            .resolve_approval(&request_id, &resolution)
            .await?;
        Ok(match answer {
            Value::Object(_) => answer,
            other => {
                json!({"request_id": request_id, "status": resolution.resolution.as_str(), "engine": other})
            }
        })
    }

    async fn approvals(&self, _: ApprovalFilter, _: usize) -> Result<Vec<Value>, BackendError> {
        Err(BackendError::NotFound(
            "this server's engine keeps no approvals to list".to_owned(),
        ))
    }
}
