//! Background outcome reports and memory ingestion.
//!
//! Reports go through a bounded queue to one background worker that sends up to
//! `report_concurrency` of them at once, so the tool loop never waits for the engine's
//! latency. When the queue is full the caller waits for room (backpressure) instead of
//! losing the report. `flush` waits until everything queued before it has been handled, with
//! a deadline; the counts say exactly what was sent, what failed, what was dropped (only when
//! the worker is gone, for example after its runtime shut down) and what is still pending.
//! This module sends what it is given; deciding what to report is the loop's job.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bighub_core::{DecisionEngine, MemoryBatch, OutcomeReport};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::{Notify, mpsc};

const QUEUE_CAPACITY: usize = 1024;

enum Job {
    Outcome(OutcomeReport),
    Memory(MemoryBatch),
}

/// Counts of what the background reporter did, returned by
/// [`BighubOpenAI::close`](crate::BighubOpenAI::close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ReportStats {
    /// Outcome reports delivered.
    pub outcomes_sent: u64,
    /// Memory batches delivered.
    pub memory_batches_sent: u64,
    /// Deliveries that failed (logged, not retried).
    pub failed: u64,
    /// Reports discarded without an attempt, because the reporter's worker was gone.
    pub dropped: u64,
    /// Reports queued or in flight when the counts were taken; they are still being sent.
    pub pending: u64,
    /// Whether the flush deadline passed with reports still pending.
    pub flush_timed_out: bool,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    outcomes_sent: AtomicU64,
    memory_batches_sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    /// Woken each time a report is handled.
    handled: Notify,
}

impl Counters {
    fn handled_count(&self) -> u64 {
        self.outcomes_sent.load(Ordering::SeqCst)
            + self.memory_batches_sent.load(Ordering::SeqCst)
            + self.failed.load(Ordering::SeqCst)
            + self.dropped.load(Ordering::SeqCst)
    }

    fn count(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
        self.handled.notify_waiters();
    }
}

pub(crate) struct Reporter {
    tx: mpsc::Sender<Job>,
    // Taken by the first call made inside a runtime, which starts the worker.
    rx: Mutex<Option<mpsc::Receiver<Job>>>,
    engine: Arc<dyn DecisionEngine>,
    concurrency: usize,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("concurrency", &self.concurrency)
            .field("stats", &self.stats(false))
            .finish()
    }
}

impl Reporter {
    pub(crate) fn new(engine: Arc<dyn DecisionEngine>, concurrency: usize) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            engine,
            concurrency: concurrency.max(1),
            counters: Arc::default(),
        }
    }

    /// Queues an outcome report, waiting for room when the queue is full.
    pub(crate) async fn outcome(&self, report: OutcomeReport) {
        self.enqueue(|| Job::Outcome(report)).await;
    }

    /// Queues the memory batch `build` makes, waiting for room when the queue is full. The
    /// batch is built only once there is room, so a caller waiting for room holds no copy.
    pub(crate) async fn memory(&self, build: impl FnOnce() -> MemoryBatch) {
        self.enqueue(|| Job::Memory(build())).await;
    }

    /// Waits until everything queued before this call was handled, or the deadline passes.
    pub(crate) async fn flush(&self, deadline: Duration) -> ReportStats {
        self.start_worker();
        let target = self.counters.queued.load(Ordering::SeqCst);
        let counters = &self.counters;
        let drained = async {
            loop {
                let handled = counters.handled.notified();
                tokio::pin!(handled);
                handled.as_mut().enable();
                if counters.handled_count() >= target {
                    return;
                }
                handled.await;
            }
        };
        let timed_out = tokio::time::timeout(deadline, drained).await.is_err();
        self.stats(timed_out)
    }

    pub(crate) fn stats(&self, flush_timed_out: bool) -> ReportStats {
        let c = &self.counters;
        let handled = c.handled_count();
        ReportStats {
            outcomes_sent: c.outcomes_sent.load(Ordering::SeqCst),
            memory_batches_sent: c.memory_batches_sent.load(Ordering::SeqCst),
            failed: c.failed.load(Ordering::SeqCst),
            dropped: c.dropped.load(Ordering::SeqCst),
            pending: c.queued.load(Ordering::SeqCst).saturating_sub(handled),
            flush_timed_out,
        }
    }

    async fn enqueue(&self, job: impl FnOnce() -> Job) {
        self.start_worker();
        self.counters.queued.fetch_add(1, Ordering::SeqCst);
        match self.tx.reserve().await {
            Ok(slot) => slot.send(job()),
            Err(_) => {
                self.counters.count(&self.counters.dropped);
                tracing::warn!("the report worker is gone; dropping a report");
            }
        }
    }

    fn start_worker(&self) {
        let Some(rx) = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let engine = Arc::clone(&self.engine);
        let counters = Arc::clone(&self.counters);
        let jobs =
            futures::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|job| (job, rx)) },
            );
        tokio::spawn(jobs.for_each_concurrent(self.concurrency, move |job| {
            let engine = Arc::clone(&engine);
            let counters = Arc::clone(&counters);
            async move {
                let (sent, what) = match &job {
                    Job::Outcome(report) => {
                        (engine.report_outcome(report).await, &counters.outcomes_sent)
                    }
                    Job::Memory(batch) => (
                        engine.ingest_memory(batch).await,
                        &counters.memory_batches_sent,
                    ),
                };
                match sent {
                    Ok(()) => counters.count(what),
                    Err(error) => {
                        counters.count(&counters.failed);
                        tracing::warn!(%error, "sending a report failed");
                    }
                }
            }
        }));
    }
}
