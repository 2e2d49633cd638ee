//! A decision server as a store of durable runs: the client of `bighub serve`'s
//! `PUT /runs/{run_id}`, `POST /runs/claim` and `POST /runs/{run_id}/complete`.
//!
//! This module owns [`RemoteBighub`]'s [`RunStore`] implementation. The server keeps each
//! run under the API key that saved it, so agents sharing a key share their runs. The
//! hosted service's contract has no durable runs; there these calls fail with its 404.

use std::time::Duration;

use async_trait::async_trait;
use bighub_core::Error;
use bighub_core::durable::{ClaimedRun, PausedRun, RunCompletion, RunStore};
use serde_json::{Value, json};

use crate::client::RemoteBighub;
use crate::response::Op;

/// A run id the server's paths can carry as one segment.
fn checked_run_id(run_id: &str) -> Result<&str, Error> {
    if matches!(run_id.trim(), "" | "." | ".." | "claim") {
        return Err(Error::InvalidConfig(format!(
            "`{run_id}` cannot name a durable run"
        )));
    }
    Ok(run_id)
}

#[async_trait]
impl RunStore for RemoteBighub {
    /// `PUT /runs/{run_id}` with the state and the request ids it waits for.
    async fn save_run(&self, run: &PausedRun) -> Result<(), Error> {
        let url = self.url(["runs", checked_run_id(&run.run_id)?]);
        let body = json!({"state": run.state, "request_ids": run.request_ids});
        self.post(Op::SaveRun, url, &body, None).await?;
        Ok(())
    }

    /// `POST /runs/claim` for `lease` (whole seconds, at least one) and `limit` runs.
    async fn claim_answered_runs(
        &self,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedRun>, Error> {
        let url = self.url(["runs", "claim"]);
        let body = json!({
            "lease_seconds": lease.as_secs().max(1),
            "limit": limit.max(1),
        });
        let answer = self.post(Op::ClaimRuns, url, &body, None).await?;
        let runs = answer.get("runs").cloned().unwrap_or(Value::Null);
        serde_json::from_value(runs)
            .map_err(|e| Error::InvalidResponse(format!("the claimed runs are not readable: {e}")))
    }

    /// `POST /runs/{run_id}/complete` under `lease_id`; [`Error::LeaseLost`] on 409.
    async fn complete_run(
        &self,
        run_id: &str,
        lease_id: &str,
        completion: &RunCompletion,
    ) -> Result<(), Error> {
        let url = self.url(["runs", checked_run_id(run_id)?, "complete"]);
        let mut body = serde_json::to_value(completion)
            .map_err(|e| Error::InvalidConfig(format!("unencodable completion: {e}")))?;
        body["lease_id"] = json!(lease_id);
        self.post(Op::CompleteRun { run_id }, url, &body, None)
            .await?;
        Ok(())
    }
}
