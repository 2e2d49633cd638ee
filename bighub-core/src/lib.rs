//! # bighub-core
//!
//! What a decision is, where it comes from, and how it gates a tool call.
//!
//! An agent's tool call becomes a [`ProposedAction`]. A [`DecisionEngine`] (the hosted
//! [`RemoteBighub`] service, the embedded local engine of `bighub-openai`, or your own)
//! answers with a [`Decision`], and the gate turns that decision into a [`Verdict`]:
//! execute, require approval, ask for more context, or block.
//!
//! ```
//! use bighub_core::{Decision, Verdict};
//! use serde_json::json;
//!
//! let answer = json!({
//!     "request_id": "req_abc123",
//!     "mode": "review",
//!     "risk": 0.78,
//!     "reason": "Production admin access for 48h is broader than necessary.",
//!     "better_action": "Grant scoped Okta admin access for 2h instead of 48h"
//! });
//! let decision = Decision::from_backend_response(&answer);
//! assert!(decision.needs_review);
//! assert_eq!(decision.verdict(), Verdict::ApprovalRequired);
//! ```
//!
//! This crate owns no OpenAI code and runs no tools; `bighub-openai` does.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod action;
mod backoff;
mod decision;
pub mod digest;
mod engine;
mod error;
pub mod escape;
mod fail_mode;
mod gate;
mod normalize;
mod redact;
pub mod remote;

pub use action::{ActionContext, ProposedAction, RiskLevel, TOOL_HINTS_KEY};
pub use backoff::Backoff;
pub use decision::{
    ActionInterpretationLayer, AgentOperationalBody, Decision, Mode, OperationalIntent,
    ResponsibleActionSpace, SalientFactor,
};
pub use engine::{
    ApprovalClaim, ApprovalResolution, DecisionEngine, MemoryBatch, OutcomeReport, OutcomeStatus,
    Resolution,
};
pub use error::Error;
pub use fail_mode::FailMode;
pub use gate::{Verdict, Vote};
pub use redact::{REDACTED, SECRET_ARGS_KEY, redact_named, secret_args};
pub use remote::{DecisionMode, RemoteBighub, RemoteBighubBuilder};
