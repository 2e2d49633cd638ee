//! # bighub-remote
//!
//! The hosted BIGHUB decision service over HTTPS: [`RemoteBighub`], a
//! [`DecisionEngine`](bighub_core::DecisionEngine), and its configuration.
//!
//! This crate owns the HTTP client of the service: settings (`builder.rs`), the retry
//! policy (`retry.rs`), reading answers (`response.rs`) and the request loop
//! (`client.rs`). The request bodies and their shapes are the wire contract of
//! `bighub_core::wire`; reading a decision's fields is
//! [`Decision::from_backend_response`](bighub_core::Decision::from_backend_response), and
//! deciding what to do with one is the gate's (`bighub_core::gate`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod client;
mod response;
mod retry;
mod runs;

pub use bighub_core::wire::DecisionMode;
pub use builder::{
    DEFAULT_BASE_URL, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_AFTER, DEFAULT_TIMEOUT,
    ENV_API_KEY, ENV_BASE_URL, RemoteBighubBuilder,
};
pub use client::RemoteBighub;
