//! The hosted BIGHUB service over HTTPS: [`RemoteBighub`] and its configuration.
//!
//! This module owns the HTTP client of the service: settings (`builder.rs`), body shapes
//! (`wire.rs`, [`DecisionMode`]), the retry policy (`retry.rs`), reading answers
//! (`response.rs`) and the request loop (`client.rs`). It does not read a decision's
//! fields (that is [`Decision::from_backend_response`](crate::Decision::from_backend_response))
//! nor decide what to do with one (the gate).

mod builder;
mod client;
mod decision_mode;
mod response;
mod retry;
mod wire;

pub use builder::{
    DEFAULT_BASE_URL, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_AFTER, DEFAULT_TIMEOUT,
    ENV_API_KEY, ENV_BASE_URL, RemoteBighubBuilder,
};
pub use client::RemoteBighub;
pub use decision_mode::DecisionMode;
