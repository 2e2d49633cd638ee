//! # bighub-core
//!
//! What a decision is, where it comes from, and how it gates a tool call.
//!
//! An agent's tool call becomes a [`ProposedAction`]. A [`DecisionEngine`] (the hosted
//! service's client in `bighub-remote`, the embedded engine of `bighub-local`, or your
//! own) answers with a [`Decision`], and the [gate] turns that decision into a
//! [`Verdict`]: execute, require approval, ask for more context, or block.
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
//! The root holds what a user meets first; the rest lives in named modules: the
//! decision's parts ([`decision`]), the gate's votes ([`gate`]), approval refusals
//! ([`approval`]), durable runs kept beside their approvals ([`durable`]), the hosted service's request bodies ([`wire`]), secret arguments
//! ([`redact`]), retry waits ([`backoff`]), digests and escaping.
//!
//! This crate owns no network code, no OpenAI code and runs no tools: the hosted service's
//! HTTP client is `bighub-remote`, the runtime is `bighub-openai`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod action;
pub mod approval;
pub mod backoff;
pub mod decision;
pub mod digest;
pub mod durable;
mod engine;
mod error;
pub mod escape;
mod fail_mode;
pub mod gate;
pub mod loopback;
mod normalize;
pub mod redact;
pub mod wire;

pub use action::{ActionContext, ProposedAction, RiskLevel};
pub use decision::{Decision, Mode};
pub use engine::{
    ApprovalClaim, ApprovalResolution, DecisionEngine, MemoryBatch, OutcomeReport, OutcomeStatus,
    Resolution,
};
pub use error::Error;
pub use fail_mode::FailMode;
pub use gate::Verdict;
