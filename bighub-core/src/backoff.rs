//! How long to wait before trying again: capped exponential backoff with jitter.
//!
//! One rule for every retry of the SDK (the BIGHUB client, the model provider, the agent's
//! evaluation retries). This module owns the arithmetic, and the rule for outgoing
//! deliveries (webhooks, decision logs) on which HTTP answers are worth another attempt
//! and how long a `Retry-After` asks to wait; the BIGHUB client's own retry rule is
//! [`Error::is_retryable`](crate::Error::is_retryable).

use std::time::Duration;

/// Capped exponential backoff with "equal jitter": the ceiling doubles from `initial` up
/// to `max`, and each wait is drawn uniformly from the upper half of the ceiling, so
/// concurrent clients spread out while each still waits at least half of it.
///
/// ```
/// use std::time::Duration;
/// use bighub_core::backoff::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
/// let first = backoff.delay(0);
/// assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(200));
/// let late = backoff.delay(10);
/// assert!(late >= Duration::from_secs(1) && late <= Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// A backoff starting at `initial` and never above `max`.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The first ceiling.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The largest wait.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The wait before retry number `retry` (0 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.min(20);
        let ceiling = self.initial.saturating_mul(factor).min(self.max);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(fastrand::u64(0..=spread))
    }
}

/// Whether an HTTP answer with `status` is worth sending the same delivery again: a
/// timeout (408), a rate limit (429) or a server error (5xx). Any other refusal would only
/// be repeated.
///
/// ```
/// use bighub_core::backoff::is_transient_status;
///
/// assert!(is_transient_status(503) && is_transient_status(429) && is_transient_status(408));
/// assert!(!is_transient_status(400) && !is_transient_status(401) && !is_transient_status(200));
/// ```
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// The wait a `Retry-After` header asks for, when it holds whole seconds (its date form
/// is not read: a receiver's clock is not this machine's).
///
/// ```
/// use std::time::Duration;
/// use bighub_core::backoff::retry_after;
///
/// assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
/// assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
/// ```
pub fn retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// What an HTTP answer to a delivery (a webhook, a batch of decision logs) means for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryAnswer {
    /// Accepted (2xx).
    Accepted,
    /// Worth sending again ([`is_transient_status`]), after `after` when the receiver's
    /// `Retry-After` said how long.
    Retry {
        /// The wait the receiver asked for, if any.
        after: Option<Duration>,
        /// What went wrong, for logs: `answered 503`.
        problem: String,
    },
    /// Refused for good: sending it again would be refused again.
    Refused {
        /// What went wrong, for logs: `answered 400`.
        problem: String,
    },
}

/// What an answer with `status` and `Retry-After` header value `retry_after_header` means
/// for a delivery.
///
/// ```
/// use std::time::Duration;
/// use bighub_core::backoff::{DeliveryAnswer, delivery_answer};
///
/// assert_eq!(delivery_answer(204, None), DeliveryAnswer::Accepted);
/// assert_eq!(
///     delivery_answer(429, Some("2")),
///     DeliveryAnswer::Retry { after: Some(Duration::from_secs(2)), problem: "answered 429".into() }
/// );
/// assert!(matches!(delivery_answer(400, None), DeliveryAnswer::Refused { .. }));
/// ```
pub fn delivery_answer(status: u16, retry_after_header: Option<&str>) -> DeliveryAnswer {
    if (200..300).contains(&status) {
        return DeliveryAnswer::Accepted;
    }
    let problem = format!("answered {status}");
    if is_transient_status(status) {
        DeliveryAnswer::Retry {
            after: retry_after_header.and_then(retry_after),
            problem,
        }
    } else {
        DeliveryAnswer::Refused { problem }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_then_caps_and_the_wait_stays_in_its_upper_half() {
        let b = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
        for _ in 0..200 {
            let third = b.delay(2);
            assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(800));
            let late = b.delay(30);
            assert!(late >= Duration::from_secs(1) && late <= Duration::from_secs(2));
        }
        assert_eq!(
            Backoff::new(Duration::ZERO, Duration::ZERO).delay(3),
            Duration::ZERO
        );
    }
}
