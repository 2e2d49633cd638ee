//! A consecutive-failure circuit breaker for the model provider.
//!
//! After `failures` failed attempts in a row the circuit opens and requests fail at once
//! for `reset_after`; then one request may try again (half-open), and its success closes
//! the circuit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct CircuitBreaker {
    failures: u32,
    reset_after: Duration,
    state: Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    consecutive_failures: u32,
    opened_at: Option<Instant>,
}

impl CircuitBreaker {
    pub(crate) fn new(failures: u32, reset_after: Duration) -> Self {
        Self {
            failures,
            reset_after,
            state: Mutex::new(BreakerState::default()),
        }
    }

    /// `Err(remaining)` while the circuit is open.
    pub(crate) fn check(&self) -> Result<(), Duration> {
        let state = self.lock();
        match state.opened_at {
            Some(opened) => {
                let elapsed = opened.elapsed();
                if elapsed >= self.reset_after {
                    Ok(())
                } else {
                    Err(self.reset_after - elapsed)
                }
            }
            None => Ok(()),
        }
    }

    pub(crate) fn record_success(&self) {
        let mut state = self.lock();
        state.consecutive_failures = 0;
        state.opened_at = None;
    }

    /// Records a failed attempt; returns whether the circuit is now open.
    pub(crate) fn record_failure(&self) -> bool {
        let mut state = self.lock();
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        if state.consecutive_failures >= self.failures {
            state.opened_at = Some(Instant::now());
            true
        } else {
            false
        }
    }

    #[cfg(test)]
    fn consecutive_failures(&self) -> u32 {
        self.lock().consecutive_failures
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        // The state is two plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_n_failures_and_closes_on_success() {
        let breaker = CircuitBreaker::new(2, Duration::from_secs(60));
        assert!(breaker.check().is_ok());
        assert!(!breaker.record_failure());
        assert!(breaker.check().is_ok());
        assert!(breaker.record_failure());
        assert!(breaker.check().is_err());
        breaker.record_success();
        assert!(breaker.check().is_ok());
        assert_eq!(breaker.consecutive_failures(), 0);
    }

    #[test]
    fn half_opens_after_the_reset_period() {
        let breaker = CircuitBreaker::new(1, Duration::ZERO);
        assert!(breaker.record_failure());
        assert!(
            breaker.check().is_ok(),
            "a zero reset period lets the next request try"
        );
    }
}
