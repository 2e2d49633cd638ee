//! Durable runs in the store: paused runs beside the approvals they wait for.
//!
//! This module owns the operations every back end provides for them, with the semantics
//! each keeps: a run belongs to the caller that saved it (`owner`: the decision server's
//! name for the API key, [`IN_PROCESS`](crate::storage::IN_PROCESS) in-process) and no
//! other caller sees or changes it; a run is answered when each of its approvals exists and
//! none is pending (an indexed query over `durable_run_approvals`); a claim takes a lease by
//! a conditional update, so that of any number of claimers in any number of processes
//! exactly one gets each run, and an expired lease lets the run be claimed again;
//! completing a run requires the lease the claim took. The statements live with each back
//! end (`sqlite/durable_runs.rs`, `postgres/durable_runs.rs`). The run state is stored as
//! the caller gives it (the runtime removes secrets before it saves); nothing here reads it.

use bighub_core::durable::{ClaimedRun, PausedRun, RunCompletion};

use crate::error::LocalError;

/// The durable-run statements of a back end; see the [module documentation](self).
pub(crate) trait DurableRunStorage {
    /// Saves (or replaces, when `owner` saved it and no live lease holds it) a paused run.
    fn save_run(&self, owner: &str, run: &PausedRun, now_ms: i64) -> Result<(), LocalError>;

    /// Claims up to `limit` answered runs of `owner`, oldest first, under `lease_id` until
    /// `lease_until_ms`.
    fn claim_runs(
        &self,
        owner: &str,
        lease_id: &str,
        lease_until_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedRun>, LocalError>;

    /// Records how the run ended, when `owner` holds it under `lease_id`; refuses with
    /// [`LocalError::LeaseLost`] otherwise.
    fn complete_run(
        &self,
        owner: &str,
        run_id: &str,
        lease_id: &str,
        completion: &RunCompletion,
        now_ms: i64,
    ) -> Result<(), LocalError>;
}

/// The stored name of a paused run's status.
pub(crate) const PAUSED: &str = "paused";
