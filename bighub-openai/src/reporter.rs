//! Background outcome reports and memory ingestion.
//!
//! Reports are queued on a bounded channel and sent by one background task, so the tool
//! loop never waits for them; when the queue is full a report is dropped and counted rather
//! than slowing the agent down. `flush` waits for everything queued so far, with a deadline.
//! This module sends what it is given; deciding what to report is the loop's job.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bighub_core::{DecisionEngine, MemoryBatch, OutcomeReport};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

const QUEUE_CAPACITY: usize = 1024;

enum Job {
    Outcome(OutcomeReport),
    Memory(MemoryBatch),
    Flush(oneshot::Sender<()>),
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
    /// Reports dropped because the queue was full.
    pub dropped: u64,
    /// Whether the flush deadline passed with reports still queued.
    pub flush_timed_out: bool,
}

#[derive(Default)]
struct Counters {
    outcomes_sent: AtomicU64,
    memory_batches_sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

pub(crate) struct Reporter {
    tx: mpsc::Sender<Job>,
    // Taken by the first call made inside a runtime, which starts the worker.
    rx: Mutex<Option<mpsc::Receiver<Job>>>,
    engine: Arc<dyn DecisionEngine>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("stats", &self.stats(false))
            .finish()
    }
}

impl Reporter {
    pub(crate) fn new(engine: Arc<dyn DecisionEngine>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            engine,
            counters: Arc::default(),
        }
    }

    pub(crate) fn outcome(&self, report: OutcomeReport) {
        self.enqueue(Job::Outcome(report));
    }

    pub(crate) fn memory(&self, batch: MemoryBatch) {
        self.enqueue(Job::Memory(batch));
    }

    /// Waits until everything queued before this call was sent, or the deadline passes.
    pub(crate) async fn flush(&self, deadline: Duration) -> ReportStats {
        self.start_worker();
        let (done_tx, done_rx) = oneshot::channel();
        let timed_out = match tokio::time::timeout(deadline, async {
            if self.tx.send(Job::Flush(done_tx)).await.is_ok() {
                let _ = done_rx.await;
            }
        })
        .await
        {
            Ok(()) => false,
            Err(_) => true,
        };
        self.stats(timed_out)
    }

    pub(crate) fn stats(&self, flush_timed_out: bool) -> ReportStats {
        let c = &self.counters;
        ReportStats {
            outcomes_sent: c.outcomes_sent.load(Ordering::Relaxed),
            memory_batches_sent: c.memory_batches_sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            flush_timed_out,
        }
    }

    fn enqueue(&self, job: Job) {
        self.start_worker();
        if self.tx.try_send(job).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("report queue full; dropping a report");
        }
    }

    fn start_worker(&self) {
        let Some(mut rx) = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let engine = Arc::clone(&self.engine);
        let counters = Arc::clone(&self.counters);
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                match job {
                    Job::Outcome(report) => match engine.report_outcome(&report).await {
                        Ok(()) => {
                            counters.outcomes_sent.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(error) => {
                            counters.failed.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%error, "outcome report failed");
                        }
                    },
                    Job::Memory(batch) => match engine.ingest_memory(&batch).await {
                        Ok(()) => {
                            counters.memory_batches_sent.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(error) => {
                            counters.failed.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%error, "memory ingestion failed");
                        }
                    },
                    Job::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
    }
}
