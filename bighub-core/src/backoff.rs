//! How long to wait before trying again: capped exponential backoff with jitter.
//!
//! One rule for every retry of the SDK (the BIGHUB client, the model provider, the agent's
//! evaluation retries). This module owns the arithmetic only; which failures are worth
//! another attempt is decided by each caller.

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
