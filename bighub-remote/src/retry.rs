//! When and how long to wait before sending a failed request again.
//!
//! This file owns the retry policy (which answers are transient, capped exponential
//! backoff with jitter, `Retry-After`); the request loop that applies it lives in
//! `client.rs`.

use std::time::Duration;

use bighub_core::backoff::Backoff;

/// Retry settings of one [`RemoteBighub`](crate::RemoteBighub).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt (so at most `1 + max_retries` requests).
    pub(crate) max_retries: u32,
    /// The backoff before the first retry.
    pub(crate) initial_backoff: Duration,
    /// The largest backoff between two attempts.
    pub(crate) max_backoff: Duration,
    /// The longest `Retry-After` the client waits for; beyond it the call fails at once.
    pub(crate) max_retry_after: Duration,
}

impl RetryPolicy {
    /// Whether an HTTP status is worth another attempt: 408, 409, 425, 429 and 5xx.
    pub(crate) fn is_retryable_status(status: u16) -> bool {
        matches!(status, 408 | 409 | 425 | 429 | 500..=599)
    }

    /// The wait before retry number `retry` (0 for the first retry): see [`Backoff`].
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        Backoff::new(self.initial_backoff, self.max_backoff).delay(retry)
    }
}

/// Reads a `Retry-After` value given in seconds (`"3"`); the HTTP-date form is ignored
/// (the regular backoff applies then).
pub(crate) use bighub_core::backoff::retry_after as parse_retry_after;

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        }
    }

    #[test]
    fn backoff_doubles_then_caps_and_stays_in_the_upper_half() {
        let p = policy();
        for _ in 0..200 {
            let first = p.backoff(0);
            assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(200));
            let third = p.backoff(2);
            assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(800));
            let late = p.backoff(30);
            assert!(late >= Duration::from_secs(1) && late <= Duration::from_secs(2));
        }
    }

    #[test]
    fn zero_backoff_is_zero() {
        let p = RetryPolicy {
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            ..policy()
        };
        assert_eq!(p.backoff(3), Duration::ZERO);
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 409, 425, 429, 500, 502, 503, 599] {
            assert!(RetryPolicy::is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 405, 422, 600] {
            assert!(!RetryPolicy::is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
