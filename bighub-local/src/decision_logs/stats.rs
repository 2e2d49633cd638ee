//! What a decision-log sink counts, and the snapshot a caller reads.
//!
//! This module owns the counters (shared by the deciding threads and the sink's thread,
//! lock-free) and [`DecisionLogStats`]. It does not decide what is counted when
//! (`handle.rs`, `worker.rs`).

use std::sync::atomic::{AtomicU64, Ordering};

/// The counts of a decision-log sink since it started, read with
/// [`DecisionLogs::stats`](super::DecisionLogs::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecisionLogStats {
    /// Records the destination accepted (written to the file, or answered 2xx).
    pub sent: u64,
    /// Tries of a batch that failed and were retried (a connection error, a timeout, a
    /// 408, a 429, a 5xx, a failed write): a count of tries, not of records.
    pub failed_attempts: u64,
    /// Records dropped because the queue was full (or the sink closed) when the decision
    /// was made.
    pub dropped_overflow: u64,
    /// Decisions a drop rule kept out of the log.
    pub dropped_rule: u64,
    /// Records the endpoint refused with an answer a retry cannot change (a 4xx other
    /// than 408 and 429); logged, not retried.
    pub rejected: u64,
    /// Records still unsent when the sink was closed and its time ran out.
    pub abandoned: u64,
    /// Records queued or being sent now.
    pub pending: u64,
}

/// The live counters behind [`DecisionLogStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) failed_attempts: AtomicU64,
    pub(crate) dropped_overflow: AtomicU64,
    pub(crate) dropped_rule: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) abandoned: AtomicU64,
    pub(crate) pending: AtomicU64,
}

impl Counters {
    /// Adds `n` to `counter`.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A snapshot of every counter.
    pub(crate) fn snapshot(&self) -> DecisionLogStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DecisionLogStats {
            sent: read(&self.sent),
            failed_attempts: read(&self.failed_attempts),
            dropped_overflow: read(&self.dropped_overflow),
            dropped_rule: read(&self.dropped_rule),
            rejected: read(&self.rejected),
            abandoned: read(&self.abandoned),
            pending: self.pending.load(Ordering::Acquire),
        }
    }
}
