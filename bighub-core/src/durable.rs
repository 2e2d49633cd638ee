//! Durable runs: a paused agent run kept in a store beside the approvals it waits for, and
//! handed, once they are all answered, to exactly one of the agent processes polling the
//! store.
//!
//! This module owns the [`RunStore`] contract and the records that cross it: the run to
//! save ([`PausedRun`]), the run a process claimed ([`ClaimedRun`], with the state of each
//! of its approvals), and how a claimed run ended ([`RunCompletion`]). A store keeps the
//! run state as opaque JSON text; it never reads it. Stores live elsewhere (the embedded
//! engine's SQLite or PostgreSQL store in `bighub-local`, `bighub serve` through
//! `bighub-remote`); the runtime that pauses and resumes runs is `bighub-openai`.
//!
//! # Exactly once
//!
//! A claim takes a lease: the run is invisible to other claims until the lease ends. A
//! process that dies holding a lease leaves the run to be claimed again once it expires.
//! That is safe because resuming never runs a call on its own authority: every approved
//! call is claimed from the engine's approval record, which is consumed once, so a second
//! attempt at a run whose call already ran is refused and completes the run as failed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Error, Resolution};

/// How long a claim holds a run by default, before another process may claim it again.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);

/// A paused run to save: its id, its state (JSON text, secrets already removed) and the
/// request ids of the approvals it waits for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PausedRun {
    /// The run's id, unique in the store.
    pub run_id: String,
    /// The run state as JSON text; the store keeps it as it is.
    pub state: String,
    /// The approvals the run waits for: it is answered once none of them is pending.
    pub request_ids: Vec<String>,
}

impl fmt::Debug for PausedRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The state holds the conversation: its size only.
        f.debug_struct("PausedRun")
            .field("run_id", &self.run_id)
            .field("state_bytes", &self.state.len())
            .field("request_ids", &self.request_ids)
            .finish()
    }
}

/// Where one approval of a claimed run stands, as the store's approval record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunApproval {
    /// The review decision's request id.
    pub request_id: String,
    /// The approval's status as the engine names it (`approved`, `rejected`, or another
    /// status that is not an answer to run on).
    pub status: String,
    /// The resolver's comment, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl RunApproval {
    /// The answer this approval gives: approved or rejected; `None` for any other status.
    ///
    /// ```
    /// use bighub_core::Resolution;
    /// use bighub_core::durable::RunApproval;
    ///
    /// let approval = |status: &str| RunApproval {
    ///     request_id: "req_1".into(),
    ///     status: status.into(),
    ///     comment: None,
    /// };
    /// assert_eq!(approval("approved").resolution(), Some(Resolution::Approved));
    /// assert_eq!(approval("rejected").resolution(), Some(Resolution::Rejected));
    /// assert_eq!(approval("expired").resolution(), None);
    /// ```
    pub fn resolution(&self) -> Option<Resolution> {
        match self.status.as_str() {
            "approved" => Some(Resolution::Approved),
            "rejected" => Some(Resolution::Rejected),
            _ => None,
        }
    }
}

/// A run this process claimed: it holds the lease `lease_id` until it completes the run or
/// the lease expires.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedRun {
    /// The run's id.
    pub run_id: String,
    /// The run state as it was saved.
    pub state: String,
    /// Each approval the run waits for, as answered.
    pub approvals: Vec<RunApproval>,
    /// The lease this claim holds; completing the run names it.
    pub lease_id: String,
    /// How many times the run was claimed, this claim included (more than one: an earlier
    /// holder's lease expired).
    pub attempt: u32,
}

impl fmt::Debug for ClaimedRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimedRun")
            .field("run_id", &self.run_id)
            .field("state_bytes", &self.state.len())
            .field("approvals", &self.approvals)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// How a claimed run ended.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunCompletion {
    /// The run finished.
    Finished,
    /// The run could not go on; `message` says why.
    Failed {
        /// Why.
        message: String,
    },
    /// The run paused again, on other approvals: its new state and what it waits for.
    Paused {
        /// The new run state as JSON text.
        state: String,
        /// The approvals it now waits for.
        request_ids: Vec<String>,
    },
}

impl fmt::Debug for RunCompletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Finished => f.write_str("Finished"),
            Self::Failed { message } => f.debug_struct("Failed").field("message", message).finish(),
            Self::Paused { state, request_ids } => f
                .debug_struct("Paused")
                .field("state_bytes", &state.len())
                .field("request_ids", request_ids)
                .finish(),
        }
    }
}

impl RunCompletion {
    /// The stored status this completion leaves: `finished`, `failed` or `paused`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Failed { .. } => "failed",
            Self::Paused { .. } => "paused",
        }
    }
}

/// Where paused runs wait for their approvals, and from where answered runs are claimed.
///
/// Implementations: the embedded engine's store (`bighub_local::LocalEngine`, SQLite or
/// PostgreSQL), `bighub serve` through `bighub_remote::RemoteBighub`, or your own. A store
/// must keep these rules across every process that shares it:
/// - a run is *answered* when none of its approvals is pending (each exists and was
///   approved, rejected or otherwise settled);
/// - [`claim_answered_runs`](Self::claim_answered_runs) hands each answered run to exactly
///   one caller, with a lease; a run whose lease expired may be claimed again;
/// - [`complete_run`](Self::complete_run) succeeds only for the holder of the current lease
///   ([`Error::LeaseLost`] otherwise).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use async_trait::async_trait;
/// use bighub_core::Error;
/// use bighub_core::durable::{ClaimedRun, PausedRun, RunCompletion, RunStore};
///
/// /// A store that keeps nothing: every run is lost.
/// #[derive(Debug)]
/// struct Nowhere;
///
/// #[async_trait]
/// impl RunStore for Nowhere {
///     async fn save_run(&self, _: &PausedRun) -> Result<(), Error> { Ok(()) }
///     async fn claim_answered_runs(&self, _: Duration, _: usize) -> Result<Vec<ClaimedRun>, Error> {
///         Ok(Vec::new())
///     }
///     async fn complete_run(&self, run_id: &str, _: &str, _: &RunCompletion) -> Result<(), Error> {
///         Err(Error::LeaseLost { run_id: run_id.to_owned() })
///     }
/// }
/// // An `Arc` of a store is a store too.
/// let shared: Arc<Nowhere> = Arc::new(Nowhere);
/// fn takes(_: impl RunStore) {}
/// takes(shared);
/// ```
#[async_trait]
pub trait RunStore: Send + Sync + fmt::Debug {
    /// Saves a paused run. Saving a run id again replaces its state and approvals, unless
    /// a live lease holds it (an error then).
    async fn save_run(&self, run: &PausedRun) -> Result<(), Error>;

    /// Claims up to `limit` answered runs, oldest first, each for `lease`; of several
    /// callers at once, exactly one gets each run.
    async fn claim_answered_runs(
        &self,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedRun>, Error>;

    /// Records how the run `run_id`, claimed under `lease_id`, ended, and releases it.
    async fn complete_run(
        &self,
        run_id: &str,
        lease_id: &str,
        completion: &RunCompletion,
    ) -> Result<(), Error>;
}

#[async_trait]
impl<T: RunStore + ?Sized> RunStore for Arc<T> {
    async fn save_run(&self, run: &PausedRun) -> Result<(), Error> {
        (**self).save_run(run).await
    }

    async fn claim_answered_runs(
        &self,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedRun>, Error> {
        (**self).claim_answered_runs(lease, limit).await
    }

    async fn complete_run(
        &self,
        run_id: &str,
        lease_id: &str,
        completion: &RunCompletion,
    ) -> Result<(), Error> {
        (**self).complete_run(run_id, lease_id, completion).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_run_state() {
        let secret = "conversation text";
        let run = PausedRun {
            run_id: "run_1".into(),
            state: secret.into(),
            request_ids: vec!["req_1".into()],
        };
        assert!(!format!("{run:?}").contains(secret));
        let claimed = ClaimedRun {
            run_id: "run_1".into(),
            state: secret.into(),
            approvals: Vec::new(),
            lease_id: "lease".into(),
            attempt: 1,
        };
        assert!(!format!("{claimed:?}").contains(secret));
        let paused = RunCompletion::Paused {
            state: secret.into(),
            request_ids: Vec::new(),
        };
        assert!(!format!("{paused:?}").contains(secret));
    }

    #[test]
    fn completions_serialize_with_their_status() {
        let failed = RunCompletion::Failed {
            message: "boom".into(),
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            serde_json::json!({"status": "failed", "message": "boom"})
        );
        assert_eq!(failed.status(), "failed");
        let back: RunCompletion =
            serde_json::from_value(serde_json::json!({"status": "finished"})).unwrap();
        assert_eq!(back, RunCompletion::Finished);
    }
}
