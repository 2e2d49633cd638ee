//! The decision engine contract, and the records that flow back to an engine after a call.
//!
//! This module owns the trait and its payload types; the engines themselves live elsewhere
//! (the hosted service's client in `bighub-remote`, the embedded engine in `bighub-local`).

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Decision, Error, ProposedAction};

/// Something that decides proposed actions and learns from their outcomes.
///
/// Both built-in engines implement it, and so can you: an engine is `Send + Sync` and is
/// shared by every run of an agent.
///
/// ```
/// use async_trait::async_trait;
/// use bighub_core::{
///     ApprovalResolution, Decision, DecisionEngine, Error, MemoryBatch, OutcomeReport,
///     ProposedAction,
/// };
/// use serde_json::{json, Value};
///
/// /// Allows everything outside production.
/// #[derive(Debug)]
/// struct StagingOnly;
///
/// #[async_trait]
/// impl DecisionEngine for StagingOnly {
///     async fn evaluate(&self, action: &ProposedAction) -> Result<Decision, Error> {
///         let mode = if action.environment.as_deref() == Some("production") {
///             "blocked"
///         } else {
///             "autonomous"
///         };
///         Ok(Decision::from_backend_response(&json!({ "mode": mode })))
///     }
///     async fn report_outcome(&self, _: &OutcomeReport) -> Result<(), Error> { Ok(()) }
///     async fn ingest_memory(&self, _: &MemoryBatch) -> Result<(), Error> { Ok(()) }
///     async fn resolve_approval(&self, id: &str, _: &ApprovalResolution) -> Result<Value, Error> {
///         Err(Error::Engine(format!("no approvals here (request {id})")))
///     }
/// }
/// ```
#[async_trait]
pub trait DecisionEngine: Send + Sync + fmt::Debug {
    /// Decides one proposed action.
    async fn evaluate(&self, action: &ProposedAction) -> Result<Decision, Error>;

    /// Decides `action` as [`evaluate`](Self::evaluate) would, without acting on it: no
    /// decision is recorded and no approval is opened, so nothing can later run under it.
    /// For previews and policy what-ifs.
    ///
    /// The default calls `evaluate`, which is right for an engine that records nothing; an
    /// engine that keeps decisions and approvals overrides it (the local engine does).
    /// The hosted service's client (`bighub-remote`) sends the evaluation with `dry_run: true`,
    /// which `bighub serve` honours; the hosted service's contract has no preview, so it
    /// records that evaluation like any other.
    async fn preview(&self, action: &ProposedAction) -> Result<Decision, Error> {
        self.evaluate(action).await
    }

    /// Records what happened after a decision (executed, failed, blocked).
    async fn report_outcome(&self, report: &OutcomeReport) -> Result<(), Error>;

    /// Stores the events of a run in decision memory.
    async fn ingest_memory(&self, batch: &MemoryBatch) -> Result<(), Error>;

    /// Resolves a pending approval; returns the engine's record of the resolution.
    async fn resolve_approval(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
    ) -> Result<Value, Error>;

    /// Claims an approved approval for one execution of exactly this call: `action.tool`
    /// with exactly `action`'s arguments.
    ///
    /// Answering an approval ([`resolve_approval`](Self::resolve_approval)) and claiming it
    /// are two steps: whoever answers (the agent, the CLI, a console), the agent about to
    /// run the call claims it, once. An engine that keeps approvals checks that
    /// `request_id` was approved for this tool and these arguments (compared by
    /// [`ProposedAction::approval_digest`]) and was not used yet; then it marks it used
    /// (atomically, so that of two processes claiming it only one succeeds) and answers
    /// [`ApprovalClaim::Claimed`]. It refuses with [`Error::Approval`]: tool changed,
    /// arguments changed, already used or not approved
    /// ([`ApprovalRefusal`](crate::approval::ApprovalRefusal)).
    ///
    /// The default answers [`ApprovalClaim::NotTracked`]: the engine keeps no approval
    /// records it can bind, so only the agent that asked for the approval may run it (it
    /// remembers which call it asked about); any other refuses.
    async fn claim_approval(
        &self,
        request_id: &str,
        action: &ProposedAction,
    ) -> Result<ApprovalClaim, Error> {
        let _ = (request_id, action);
        Ok(ApprovalClaim::NotTracked)
    }

    /// The engine's record of the approval `request_id` as it now stands (its status, and
    /// the arguments it binds when an approver changed them), or `None` when the engine
    /// keeps no approvals it can show. The default answers `None`.
    async fn approval(&self, request_id: &str) -> Result<Option<Value>, Error> {
        let _ = request_id;
        Ok(None)
    }

    /// Releases resources; the default does nothing.
    async fn close(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// What [`DecisionEngine::claim_approval`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApprovalClaim {
    /// The engine verified the approval against the tool and arguments and marked it used.
    Claimed,
    /// The engine cannot tell which call the approval was for; only the agent that asked
    /// for it can bind it.
    NotTracked,
}

/// How a decided call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum OutcomeStatus {
    /// The call ran and did what it should.
    Success,
    /// The call ran and failed.
    Failure,
    /// The call was not run.
    Blocked,
    /// The call ran and did part of what it should.
    Partial,
}

impl OutcomeStatus {
    /// The wire name (`SUCCESS`, `FAILURE`, `BLOCKED`, `PARTIAL`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Failure => "FAILURE",
            Self::Blocked => "BLOCKED",
            Self::Partial => "PARTIAL",
        }
    }
}

/// An outcome report (`POST /outcomes/report`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeReport {
    /// How the call ended.
    pub status: OutcomeStatus,
    /// The decision's request id, when the decision had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// A short human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tool name, recommendation, risk, error and anything else worth keeping.
    #[serde(default)]
    pub details: Map<String, Value>,
    /// Whether the decision should be corrected (the call failed although allowed, ...).
    #[serde(default)]
    pub correction_needed: bool,
}

impl OutcomeReport {
    /// A report with the given status and nothing else.
    pub fn new(status: OutcomeStatus) -> Self {
        Self {
            status,
            request_id: None,
            description: None,
            details: Map::new(),
            correction_needed: false,
        }
    }
}

/// A batch of decision-memory events (`POST /actions/memory/ingest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryBatch {
    /// Who produced the events (for example `openai_adapter`).
    pub source: String,
    /// The producer's version (for example `bighub-openai@0.1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// The events, one per tool call.
    pub events: Vec<Value>,
    /// The acting agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The decision domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The model that proposed the calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The run's trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Whether the service should redact secrets (default true).
    pub redact: bool,
    /// Which redaction policy to apply (default `default`).
    pub redaction_policy: String,
}

impl MemoryBatch {
    /// A batch from `source` with redaction on and the default policy.
    pub fn new(source: impl Into<String>, events: Vec<Value>) -> Self {
        Self {
            source: source.into(),
            source_version: None,
            events,
            actor: None,
            domain: None,
            model: None,
            trace_id: None,
            redact: true,
            redaction_policy: "default".to_owned(),
        }
    }
}

/// The answer to an approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Resolution {
    /// Run the call.
    Approved,
    /// Do not run the call.
    Rejected,
}

impl Resolution {
    /// The wire name (`approved`, `rejected`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
}

/// A human's resolution of a pending approval (`POST /approvals/{request_id}/resolve`).
///
/// An approval may change the call it approves: `better_action` approves the constrained
/// alternative the decision offered (the default policy's shorter grant), `arguments`
/// approves edited arguments. Either way the engine decides the changed call before the
/// approval binds it (it is refused when the policy blocks it or asks for context), and
/// the agent runs the changed call. These two fields are extensions of the hosted
/// contract that `bighub serve` and the embedded engine honour.
///
/// ```
/// use bighub_core::ApprovalResolution;
/// use serde_json::json;
///
/// let better = ApprovalResolution::approved(None).with_better_action();
/// assert_eq!(serde_json::to_value(&better).unwrap(), json!({"resolution": "approved", "better_action": true}));
/// let edited = ApprovalResolution::approved(Some("2h is enough".into()))
///     .with_arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "2h"}));
/// assert_eq!(edited.arguments.unwrap()["duration"], "2h");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalResolution {
    /// Approved or rejected.
    pub resolution: Resolution,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who resolved it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    /// Approves these arguments instead of the ones asked for (a JSON object; arguments the
    /// tool marks secret stay as the store shows them, `[REDACTED]`, and keep their values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// Approves the decision's better action: its constrained alternative's changed
    /// arguments.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub better_action: bool,
}

impl ApprovalResolution {
    /// An approval with an optional comment.
    pub fn approved(comment: impl Into<Option<String>>) -> Self {
        Self {
            resolution: Resolution::Approved,
            comment: comment.into(),
            resolved_by: None,
            arguments: None,
            better_action: false,
        }
    }

    /// A rejection with an optional comment.
    pub fn rejected(comment: impl Into<Option<String>>) -> Self {
        Self {
            resolution: Resolution::Rejected,
            comment: comment.into(),
            resolved_by: None,
            arguments: None,
            better_action: false,
        }
    }

    /// Approves `arguments` instead of the ones asked for.
    pub fn with_arguments(mut self, arguments: Value) -> Self {
        self.arguments = Some(arguments);
        self
    }

    /// Approves the decision's better action instead of the call asked for.
    pub fn with_better_action(mut self) -> Self {
        self.better_action = true;
        self
    }

    /// Whether it approves another call than the one asked for.
    pub fn changes_call(&self) -> bool {
        self.resolution == Resolution::Approved && (self.better_action || self.arguments.is_some())
    }
}
