//! The embedded engine as a store of durable runs: paused agent runs kept beside the
//! approvals they wait for, in the engine's own SQLite or PostgreSQL store.
//!
//! This module owns the engine's [`RunStore`] implementation and the methods a decision
//! server uses to keep each caller's runs apart (`*_as`). What the store guarantees is
//! [`storage::durable_runs`](crate::storage)'s: a run is answered once none of its approvals
//! is pending, each answered run is claimed by exactly one process (with a lease that a
//! crashed holder lets expire), and only the lease holder completes it. It neither reads
//! nor resumes run states; the runtime (`bighub-openai`) does.

use std::time::Duration;

use async_trait::async_trait;
use bighub_core::durable::{ClaimedRun, PausedRun, RunCompletion, RunStore};

use crate::LocalEngine;
use crate::error::LocalError;
use crate::storage::IN_PROCESS;
use crate::storage::storable;

/// The most runs one claim hands out.
pub const MAX_CLAIM: usize = 100;

impl LocalEngine {
    /// Saves a paused run for `owner` (the decision server passes its name for the API key;
    /// [`RunStore`] uses [`IN_PROCESS`]). Saving the same run id again replaces its state
    /// and approvals, unless another owner saved it or a live lease holds it
    /// ([`LocalError::RunUnavailable`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use bighub_core::durable::{PausedRun, RunCompletion};
    /// use bighub_core::{ApprovalResolution, ProposedAction};
    /// use bighub_local::LocalEngine;
    /// use serde_json::json;
    ///
    /// let engine = LocalEngine::builder().in_memory().build().unwrap();
    /// let grant = ProposedAction::new("grant_access")
    ///     .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
    ///     .system("okta")
    ///     .environment("production")
    ///     .target("okta-admins");
    /// let id = engine.decide(&grant).unwrap().request_id.unwrap();
    /// let run = PausedRun { run_id: "run_1".into(), state: "{}".into(), request_ids: vec![id.clone()] };
    /// engine.save_run_as("agents", &run).unwrap();
    ///
    /// // Nothing to resume while the approval is pending.
    /// let lease = Duration::from_secs(60);
    /// assert!(engine.claim_answered_runs_as("agents", lease, 10).unwrap().is_empty());
    /// engine.resolve_as(&id, &ApprovalResolution::approved(None), "operator:bob").unwrap();
    /// let claimed = engine.claim_answered_runs_as("agents", lease, 10).unwrap();
    /// assert_eq!(claimed.len(), 1);
    /// assert_eq!(claimed[0].approvals[0].status, "approved");
    /// // Claimed once: a second claim finds nothing while the lease holds.
    /// assert!(engine.claim_answered_runs_as("agents", lease, 10).unwrap().is_empty());
    /// engine
    ///     .complete_run_as("agents", "run_1", &claimed[0].lease_id, &RunCompletion::Finished)
    ///     .unwrap();
    /// ```
    pub fn save_run_as(&self, owner: &str, run: &PausedRun) -> Result<(), LocalError> {
        storable::identifier("run_id", &run.run_id)?;
        storable::identifier("owner", owner)?;
        storable::text("state", &run.state)?;
        for request_id in &run.request_ids {
            storable::identifier("request_ids", request_id)?;
        }
        self.store()?.save_run(owner, run, self.now())
    }

    /// Claims up to `limit` (at most [`MAX_CLAIM`]) of `owner`'s answered runs for `lease`,
    /// oldest first: of any number of processes claiming at once, exactly one gets each.
    pub fn claim_answered_runs_as(
        &self,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedRun>, LocalError> {
        storable::identifier("owner", owner)?;
        // An approval whose time ran out is an answer (expired): mark the overdue ones so,
        // so that the runs waiting for them are resumed and their models told.
        self.expire_due_approvals(MAX_CLAIM.saturating_mul(8))?;
        let now = self.now();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let lease_id = uuid::Uuid::new_v4().to_string();
        self.store()?.claim_runs(
            owner,
            &lease_id,
            now.saturating_add(lease_ms),
            now,
            limit.min(MAX_CLAIM),
        )
    }

    /// Records how `owner`'s run `run_id`, claimed under `lease_id`, ended; refuses with
    /// [`LocalError::LeaseLost`] when that lease no longer holds it.
    pub fn complete_run_as(
        &self,
        owner: &str,
        run_id: &str,
        lease_id: &str,
        completion: &RunCompletion,
    ) -> Result<(), LocalError> {
        storable::identifier("run_id", run_id)?;
        storable::identifier("owner", owner)?;
        storable::identifier("lease_id", lease_id)?;
        match completion {
            RunCompletion::Paused { state, request_ids } => {
                storable::text("state", state)?;
                for request_id in request_ids {
                    storable::identifier("request_ids", request_id)?;
                }
            }
            RunCompletion::Failed { message } => storable::text("message", message)?,
            _ => {}
        }
        self.store()?
            .complete_run(owner, run_id, lease_id, completion, self.now())
    }
}

/// The engine's store keeps the runs of its own process's agents, as [`IN_PROCESS`].
#[async_trait]
impl RunStore for LocalEngine {
    async fn save_run(&self, run: &PausedRun) -> Result<(), bighub_core::Error> {
        Ok(self.save_run_as(IN_PROCESS, run)?)
    }

    async fn claim_answered_runs(
        &self,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedRun>, bighub_core::Error> {
        Ok(self.claim_answered_runs_as(IN_PROCESS, lease, limit)?)
    }

    async fn complete_run(
        &self,
        run_id: &str,
        lease_id: &str,
        completion: &RunCompletion,
    ) -> Result<(), bighub_core::Error> {
        Ok(self.complete_run_as(IN_PROCESS, run_id, lease_id, completion)?)
    }
}
