//! The sink's own thread: it takes records from the bounded queue, batches them, turns
//! them into JSON lines and writes each batch until its destination has it.
//!
//! This module owns the thread's life and the state it shares with the handles
//! ([`Shared`]: the counters, the wake-up for a flush or a close, the deadline a close
//! sets). A batch waits at most the flush interval to fill; a failed try is retried
//! with the configured backoff (a `Retry-After` honoured up to its largest wait) for as
//! long as the sink is open, while the queue keeps what comes meanwhile; once a close's
//! deadline passes, what is left is counted as abandoned. The thread runs a small Tokio
//! runtime of its own, so the engine needs none and a decision never waits for a write.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::{Notify, mpsc};

use super::config::DecisionLogConfig;
use super::destination::{Attempt, Destination};
use super::mask::Masks;
use super::record::{Pending, record};
use super::stats::Counters;

/// What the handles and the sink's thread share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) counters: Counters,
    /// Wakes the thread: a flush was asked for, or the sink is closing.
    wake: Notify,
    /// How many callers are waiting in a flush: batches go out without waiting to fill.
    flushing: AtomicUsize,
    /// When the sink stops trying, once closed.
    give_up_at: Mutex<Option<Instant>>,
    /// Signalled whenever records stop being pending.
    settled: Condvar,
    settled_lock: Mutex<()>,
}

impl Shared {
    /// Counts `n` records queued.
    pub(crate) fn queued(&self, n: u64) {
        self.counters.pending.fetch_add(n, Ordering::AcqRel);
    }

    /// Counts `n` records no longer pending, and wakes whoever waits for that.
    pub(crate) fn settle(&self, n: u64) {
        self.counters.pending.fetch_sub(n, Ordering::AcqRel);
        let _guard = lock(&self.settled_lock);
        self.settled.notify_all();
    }

    /// Sends what is queued now, and waits until nothing is pending or `deadline`
    /// passes; answers whether nothing is pending.
    pub(crate) fn flush_until(&self, deadline: Instant) -> bool {
        self.flushing.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_one();
        let mut guard = lock(&self.settled_lock);
        let done = loop {
            if self.counters.pending.load(Ordering::Acquire) == 0 {
                break true;
            }
            let now = Instant::now();
            if now >= deadline {
                break false;
            }
            guard = self
                .settled
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        drop(guard);
        self.flushing.fetch_sub(1, Ordering::AcqRel);
        done
    }

    /// Stops trying at `deadline` (the earliest deadline given wins).
    pub(crate) fn give_up_at(&self, deadline: Instant) {
        let mut at = lock(&self.give_up_at);
        *at = Some(at.map_or(deadline, |a| a.min(deadline)));
        drop(at);
        self.wake.notify_one();
    }

    fn deadline(&self) -> Option<Instant> {
        *lock(&self.give_up_at)
    }

    fn flushing(&self) -> bool {
        self.flushing.load(Ordering::Acquire) > 0
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything the thread needs.
pub(crate) struct Worker {
    pub(crate) queue: mpsc::Receiver<Pending>,
    pub(crate) destination: Destination,
    pub(crate) config: DecisionLogConfig,
    pub(crate) shared: std::sync::Arc<Shared>,
}

impl Worker {
    /// Sends batches until the queue is closed and empty.
    pub(crate) async fn run(mut self) {
        let shown = self.config.destination();
        // Once the queue is closed, `recv` still answers what it holds, then `None`.
        while let Some(first) = self.queue.recv().await {
            let mut batch = vec![first];
            self.fill(&mut batch).await;
            self.deliver(batch, &shown).await;
        }
    }

    /// Adds to `batch` until it is full, the flush interval passes, the queue closes, or
    /// (when a flush or a close asks) the queue has nothing more at once.
    async fn fill(&mut self, batch: &mut Vec<Pending>) {
        let deadline = tokio::time::Instant::now() + self.config.flush_interval;
        while batch.len() < self.config.batch_size {
            if self.shared.flushing() || self.shared.deadline().is_some() {
                match self.queue.try_recv() {
                    Ok(pending) => {
                        batch.push(pending);
                        continue;
                    }
                    Err(_) => return,
                }
            }
            tokio::select! {
                got = self.queue.recv() => match got {
                    Some(pending) => batch.push(pending),
                    None => return,
                },
                () = tokio::time::sleep_until(deadline) => return,
                () = self.shared.wake.notified() => {}
            }
        }
    }

    /// Writes `batch` until the destination has it, it is refused, or the sink gives up.
    async fn deliver(&mut self, batch: Vec<Pending>, shown: &str) {
        let n = batch.len() as u64;
        let body = body(batch, &self.config);
        let counters = &self.shared.counters;
        let mut retry = 0;
        loop {
            if self
                .shared
                .deadline()
                .is_some_and(|at| Instant::now() >= at)
            {
                Counters::add(&counters.abandoned, n);
                self.shared.settle(n);
                tracing::error!(destination = %shown, records = n, "decision-log records still unsent when the sink closed were abandoned");
                return;
            }
            let send = self.destination.send(&body);
            tokio::pin!(send);
            let attempt = loop {
                tokio::select! {
                    attempt = &mut send => break Some(attempt),
                    () = until(self.shared.deadline()) => break None,
                    // A close may have just set a deadline.
                    () = self.shared.wake.notified() => {}
                }
            };
            let Some(attempt) = attempt else {
                continue;
            };
            let problem = match attempt {
                Attempt::Sent => {
                    Counters::add(&counters.sent, n);
                    self.shared.settle(n);
                    tracing::debug!(destination = %shown, records = n, "decision-log records sent");
                    return;
                }
                Attempt::Refused(problem) => {
                    Counters::add(&counters.rejected, n);
                    self.shared.settle(n);
                    tracing::error!(destination = %shown, records = n, problem = %problem, "decision-log records refused by their destination; not retried");
                    return;
                }
                Attempt::Failed(after, problem) => {
                    Counters::add(&counters.failed_attempts, 1);
                    let backoff = self.config.retry_backoff;
                    let wait = backoff
                        .delay(retry)
                        .max(after.unwrap_or_default().min(backoff.max()));
                    (wait, problem)
                }
            };
            let (mut wait, problem) = problem;
            retry = retry.saturating_add(1);
            if let Some(at) = self.shared.deadline() {
                wait = wait.min(at.saturating_duration_since(Instant::now()));
            }
            tracing::warn!(destination = %shown, records = n, attempt = retry, problem = %problem, ?wait, "decision-log records not sent; retrying");
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                // A flush tries again now; a close sets the deadline checked above.
                () = self.shared.wake.notified() => {}
            }
        }
    }
}

/// Completes at `deadline`, never without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The JSON lines of `batch`.
fn body(batch: Vec<Pending>, config: &DecisionLogConfig) -> Vec<u8> {
    let masks: &Masks = &config.masks;
    let mut body = Vec::with_capacity(batch.len() * 2048);
    for pending in batch {
        let line = record(pending, &config.labels, masks);
        // A `Value` always serializes.
        let _ = serde_json::to_writer(&mut body, &line);
        body.push(b'\n');
    }
    body
}
