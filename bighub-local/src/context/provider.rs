//! What a context provider is: the [`ContextProvider`] trait, and the options every
//! registered provider has (timeout, cache, failure policy, shape).
//!
//! This module owns the trait and [`ProviderOptions`]. The built-in kinds live in
//! `file.rs`, `http.rs` and `command.rs`; running providers for a decision lives in
//! `providers.rs`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bighub_core::ProposedAction;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fetch_error::FetchError;
use super::shape::Shape;
use super::template::ActionField;

/// A source of what is true now (open incidents, freeze calendars, sync windows, a status
/// page): the proposed action in, a JSON document out.
///
/// Register one under a name with [`ContextProviders::register`](super::ContextProviders::register);
/// the policy reads its document as `input.context.<name>.data`. The registry bounds each
/// fetch by the provider's timeout and caches its answer, so `fetch` need do neither.
///
/// ```
/// use async_trait::async_trait;
/// use bighub_core::ProposedAction;
/// use bighub_local::context::{ContextProvider, FetchError};
/// use serde_json::{Value, json};
///
/// #[derive(Debug)]
/// struct OnCall;
///
/// #[async_trait]
/// impl ContextProvider for OnCall {
///     fn kind(&self) -> &str {
///         "on_call"
///     }
///     async fn fetch(&self, action: &ProposedAction) -> Result<Value, FetchError> {
///         Ok(json!({"system": action.system, "on_call": "alice"}))
///     }
/// }
/// ```
#[async_trait]
pub trait ContextProvider: Send + Sync + fmt::Debug + 'static {
    /// What kind of provider this is (`file`, `http`, `command`, or your own name); the
    /// policy sees it as `input.context.<name>.kind`.
    fn kind(&self) -> &str;

    /// The fields of the action the document depends on beyond the cache key configured
    /// for it (an HTTP provider's URL placeholders): they are added to the cache key, so
    /// one action's answer is never served for another's.
    fn reads(&self) -> Vec<ActionField> {
        Vec::new()
    }

    /// Fetches the document for `action`. An error is shown to the policy (or blocks the
    /// call, under [`OnFailure::FailClosed`]) as one escaped line.
    async fn fetch(&self, action: &ProposedAction) -> Result<Value, FetchError>;
}

/// What a decision does when a provider's document is missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The policy decides without it: it sees `input.context.<name>.error` and the name
    /// in `input.context_failed`.
    #[default]
    Absent,
    /// The call is blocked (rule `context_unavailable`, the provider named in the reason)
    /// without asking the policy.
    FailClosed,
}

impl OnFailure {
    /// The name configuration uses: `absent` or `fail_closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::FailClosed => "fail_closed",
        }
    }
}

/// The longest a provider may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a successful answer is reused by default (file providers default to no reuse:
/// a file is checked at every decision, which costs one `stat` when it has not changed).
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// The longest a failure is remembered, whatever the TTL: concurrent and quickly
/// following decisions share it instead of hammering an endpoint that is down, and a
/// recovered endpoint is asked again within a second.
pub const FAILURE_TTL: Duration = Duration::from_secs(1);

/// How a registered provider is run: its timeout, how long its answer is reused and for
/// which actions, what a failure does, and the shape its document has.
///
/// ```
/// use std::time::Duration;
/// use bighub_local::context::{ActionField, OnFailure, ProviderOptions};
///
/// let mut options = ProviderOptions::default();
/// options.timeout = Duration::from_millis(500);
/// options.key = vec![ActionField::System, ActionField::Environment];
/// options.on_failure = OnFailure::FailClosed;
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProviderOptions {
    /// The longest the provider may take; a decision waits at most the longest timeout of
    /// its providers, which run concurrently. Default [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// How long an answer is reused for actions with the same key; zero fetches for
    /// every decision (concurrent decisions still share one fetch). Default
    /// [`DEFAULT_TTL`]. Failures are reused for at most [`FAILURE_TTL`].
    pub ttl: Duration,
    /// The fields of the action whose values select a cache entry; none (the default)
    /// means one entry for every action.
    pub key: Vec<ActionField>,
    /// What a failure does. Default [`OnFailure::Absent`].
    pub on_failure: OnFailure,
    /// The shape the document has, read into the form the default policy reads; `None`
    /// (the default) hands the document to the policy as fetched.
    pub shape: Option<Shape>,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            ttl: DEFAULT_TTL,
            key: Vec::new(),
            on_failure: OnFailure::Absent,
            shape: None,
        }
    }
}
