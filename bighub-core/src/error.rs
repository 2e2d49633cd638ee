//! The one error type of bighub-core.
//!
//! Its messages quote what a decision service, a store or a caller chose (bodies, request
//! ids, resolutions); every quoted text is [escaped](crate::escape::escape), so a message
//! is one line that a log or a terminal shows as written. The fields keep the text as it
//! was.

use std::time::Duration;

use serde_json::Value;

use crate::approval::ApprovalRefused;
use crate::escape::escape;

/// Everything that can go wrong while asking a decision engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is invalid; the message says which and why.
    #[error("invalid configuration: {}", escape(.0))]
    InvalidConfig(String),

    /// The service refused the API key (401) or its permissions (403).
    #[error("BIGHUB rejected the API key (HTTP {status}): {}; check BIGHUB_API_KEY", escape(.message))]
    Auth {
        /// 401 or 403.
        status: u16,
        /// The service's message.
        message: String,
    },

    /// The service rejected the request body (422); `detail` is its validation detail.
    #[error("BIGHUB rejected the request (HTTP 422): {}", escape(.message))]
    Validation {
        /// A one-line summary of the detail.
        message: String,
        /// The service's `detail`, whole.
        detail: Value,
    },

    /// Too many requests (429), after all retries.
    #[error("BIGHUB rate limit reached (HTTP 429){}", retry_after_hint(.retry_after))]
    RateLimited {
        /// How long the service asked to wait, when it said.
        retry_after: Option<Duration>,
    },

    /// Any other non-success status, after all retries where it was retryable.
    #[error("BIGHUB answered HTTP {status}: {}", escape(.body))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The body, cut to a readable length.
        body: String,
    },

    /// No answer within the request timeout, after all retries.
    #[error("BIGHUB did not answer within {0:?}")]
    Timeout(Duration),

    /// The connection failed (DNS, refused, reset), after all retries.
    #[error("could not reach BIGHUB: {}", escape(.0))]
    Network(String),

    /// The service answered 2xx with a body that is not a JSON object.
    #[error("BIGHUB sent an unreadable answer: {}", escape(.0))]
    InvalidResponse(String),

    /// An approval may not be used for the call at hand.
    #[error("{}", escape(&.0.to_string()))]
    Approval(#[from] ApprovalRefused),

    /// An error from another engine (local or user-defined).
    #[error("decision engine error: {}", escape(.0))]
    Engine(String),

    /// A durable run's lease is no longer this caller's (it expired and another process
    /// claimed the run, or the run was completed): what this caller did is not recorded.
    #[error("the lease on durable run {} is no longer held", escape(.run_id))]
    LeaseLost {
        /// The run.
        run_id: String,
    },
}

fn retry_after_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("; retry after {}s", d.as_secs_f64()),
        None => String::new(),
    }
}

impl Error {
    /// Whether the same request may succeed if sent again.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Network(_) | Self::RateLimited { .. } => true,
            Self::Status { status, .. } => matches!(status, 408 | 409 | 425 | 429 | 500..=599),
            _ => false,
        }
    }

    /// Whether the service could not answer at all: a timeout, a network failure, a rate
    /// limit, or HTTP 408, 429 or 5xx (each after the client's retries).
    ///
    /// Only these may turn into an open [`FailMode`](crate::FailMode) decision
    /// ([`FailMode::decision_for`](crate::FailMode::decision_for)): a service that answered
    /// and said no, or said something unreadable, is not unavailable, so a wrong key or a
    /// broken proxy never lets calls through.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bighub_core::Error;
    ///
    /// assert!(Error::Timeout(Duration::from_secs(5)).is_unavailable());
    /// assert!(Error::Status { status: 503, body: "overloaded".into() }.is_unavailable());
    /// assert!(!Error::Auth { status: 401, message: "Invalid API key".into() }.is_unavailable());
    /// assert!(!Error::InvalidResponse("<html>".into()).is_unavailable());
    /// // Retried, but a conflict is an answer, not an outage.
    /// assert!(!Error::Status { status: 409, body: "conflict".into() }.is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Network(_) | Self::RateLimited { .. } => true,
            Self::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::needs_escape;

    #[test]
    fn a_quoted_answer_is_escaped_in_the_message() {
        let forged = "down\r\n2026-01-01T00:00:00Z  INFO bighub: approved\u{1b}[2K\u{202e}";
        for error in [
            Error::Status {
                status: 503,
                body: forged.into(),
            },
            Error::Auth {
                status: 401,
                message: forged.into(),
            },
            Error::InvalidResponse(forged.into()),
            Error::Approval(ApprovalRefused::new(
                forged,
                crate::approval::ApprovalRefusal::NotApproved {
                    status: forged.into(),
                },
            )),
        ] {
            let message = error.to_string();
            assert!(!message.chars().any(needs_escape), "{message:?}");
            assert!(
                message.contains(
                    r"down\r\n2026-01-01T00:00:00Z  INFO bighub: approved\x1b[2K\u{202e}"
                ),
                "{message}"
            );
        }
    }
}
