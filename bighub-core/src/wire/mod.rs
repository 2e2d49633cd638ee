//! The hosted service's wire contract, as types and JSON bodies: what a client sends.
//!
//! This module owns the request bodies of every endpoint (`body.rs`: where each field of a
//! [`ProposedAction`](crate::ProposedAction) lands, the defaults the service assumes) and
//! the choice of evaluate body shape ([`DecisionMode`]). It holds no network code: sending
//! the bodies and reading answers is the client's (`bighub-remote`); reading an answer
//! into a decision is [`Decision::from_backend_response`](crate::Decision::from_backend_response).

mod body;
mod decision_mode;

pub use body::{
    DEFAULT_ACTOR, DEFAULT_MODEL_SELECTION, DEFAULT_OBJECTIVE, claim_body, evaluate_body,
    ingest_body, outcome_body, resolve_body,
};
pub use decision_mode::DecisionMode;
