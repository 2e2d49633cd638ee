//! The handle on a running decision-log sink: what the engine offers decisions to, and
//! what its owner reads counts from, flushes and closes.
//!
//! This module owns [`DecisionLogs`]: starting the sink's thread, the drop rules checked
//! on the deciding thread, the bounded queue's refusal when full (the record dropped and
//! counted, the decision never waits), flushing and closing within a bound. The thread's
//! work is `worker.rs`'s.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use super::config::DecisionLogConfig;
use super::destination::Destination;
use super::drop_rules::DropRules;
use super::record::Pending;
use super::stats::{Counters, DecisionLogStats};
use super::worker::{Shared, Worker};
use crate::error::LocalError;

/// How long past a close's deadline it waits for the sink's thread to count what it
/// abandoned.
const SETTLE: Duration = Duration::from_millis(100);

/// A running decision-log sink: one JSON record per decision, written to a file or
/// POSTed to an HTTP endpoint in batches, off the deciding thread.
///
/// Give a clone to [`LocalEngineBuilder::decision_logs`](crate::LocalEngineBuilder::decision_logs)
/// (or to several engines) and keep one to read [`stats`](Self::stats) and to
/// [`close`](Self::close) it on shutdown. Clones share the sink. When every clone is
/// dropped without a close, the sink keeps trying to send what is queued for
/// [`drop_grace`](DecisionLogConfig::drop_grace), then stops.
///
/// ```
/// use std::time::Duration;
/// use bighub_core::ProposedAction;
/// use bighub_local::LocalEngine;
/// use bighub_local::decision_logs::DecisionLogs;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("decisions.jsonl");
/// let logs = DecisionLogs::file(&path)?;
/// let engine = LocalEngine::builder().in_memory().decision_logs(logs.clone()).build()?;
///
/// let decision = engine.decide(&ProposedAction::new("restart_service").target("payments-api"))?;
/// assert!(logs.flush(Duration::from_secs(5)));
/// let line: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&path)?.trim())?;
/// assert_eq!(line["decision_id"], decision.request_id.as_deref().unwrap());
/// assert_eq!(line["path"], "bighub/policy/decision");
/// assert_eq!(logs.stats().sent, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DecisionLogs {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` once closed.
    queue: RwLock<Option<mpsc::Sender<Pending>>>,
    shared: Arc<Shared>,
    drop: DropRules,
    destination: String,
    drop_grace: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The queue closes with this; the thread sends what it holds, for a while.
        self.shared.give_up_at(Instant::now() + self.drop_grace);
    }
}

impl fmt::Debug for DecisionLogs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecisionLogs")
            .field("destination", &self.inner.destination)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl DecisionLogs {
    /// Starts a sink as `config` says, on a thread of its own.
    ///
    /// ```
    /// use bighub_local::decision_logs::{DecisionLogConfig, DecisionLogs};
    ///
    /// let config = DecisionLogConfig::http("https://logs.example.com/v1/decisions")?
    ///     .header("Authorization", "Bearer s3cr3t-token")?
    ///     .mask("/input/action/arguments/email")?
    ///     .drop_mode("autonomous")?;
    /// let logs = DecisionLogs::new(config)?;
    /// assert_eq!(logs.destination(), "https://logs.example.com/v1/decisions");
    /// assert!(!format!("{logs:?}").contains("s3cr3t"));
    /// # Ok::<(), bighub_local::LocalError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`LocalError::DecisionLogs`]: limits that cannot work (a zero batch size, queue,
    /// flush interval or timeout), a file that cannot be opened for appending, an HTTP
    /// client or a thread that cannot be started.
    pub fn new(config: DecisionLogConfig) -> Result<Self, LocalError> {
        config.check()?;
        let destination = Destination::open(&config)?;
        let (queue, waiting) = mpsc::channel(config.queue_capacity);
        let shared = Arc::new(Shared::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                LocalError::DecisionLogs(format!("cannot start the sink's runtime: {e}"))
            })?;
        let inner = Inner {
            queue: RwLock::new(Some(queue)),
            shared: Arc::clone(&shared),
            drop: config.drop.clone(),
            destination: config.destination(),
            drop_grace: config.drop_grace,
        };
        let worker = Worker {
            queue: waiting,
            destination,
            config,
            shared,
        };
        std::thread::Builder::new()
            .name("bighub-decision-logs".to_owned())
            .spawn(move || runtime.block_on(worker.run()))
            .map_err(|e| {
                LocalError::DecisionLogs(format!("cannot start the sink's thread: {e}"))
            })?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// A sink appending to the file at `path` with the default options
    /// ([`DecisionLogConfig::file`]).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new): the file cannot be opened for appending.
    pub fn file(path: impl Into<PathBuf>) -> Result<Self, LocalError> {
        Self::new(DecisionLogConfig::file(path))
    }

    /// A sink POSTing to `url` with the default options ([`DecisionLogConfig::http`]);
    /// headers, masks and drop rules need [`new`](Self::new) with a configuration.
    ///
    /// # Errors
    ///
    /// As [`DecisionLogConfig::http`] and [`new`](Self::new).
    pub fn http(url: &str) -> Result<Self, LocalError> {
        Self::new(DecisionLogConfig::http(url)?)
    }

    /// Where records go, as it may be shown: a file's path, or the endpoint without its
    /// query.
    pub fn destination(&self) -> &str {
        &self.inner.destination
    }

    /// The counts since the sink started.
    pub fn stats(&self) -> DecisionLogStats {
        self.inner.shared.counters.snapshot()
    }

    /// Sends what is queued now without waiting for batches to fill, and waits until
    /// nothing is pending or `timeout` passes; answers whether nothing is pending. It
    /// blocks the calling thread: an async caller runs it with `spawn_blocking`.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.inner.shared.flush_until(Instant::now() + timeout)
    }

    /// Stops taking records (decisions made afterwards count as
    /// [`dropped_overflow`](DecisionLogStats::dropped_overflow)), sends what is queued
    /// within `timeout`, and answers the final counts: what could not be sent in time
    /// (a try still in flight at the deadline included) is
    /// [`abandoned`](DecisionLogStats::abandoned). It returns at most a moment (100 ms)
    /// after `timeout`, for the sink to count what it abandoned. Blocks the calling thread, as
    /// [`flush`](Self::flush) does. Closing again changes nothing.
    pub fn close(&self, timeout: Duration) -> DecisionLogStats {
        let deadline = Instant::now() + timeout;
        let queue = self
            .inner
            .queue
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if queue.is_some() {
            self.inner.shared.give_up_at(deadline);
        }
        drop(queue);
        // The thread counts what it abandons at the deadline; a moment more lets it.
        self.inner.shared.flush_until(deadline + SETTLE);
        self.stats()
    }

    /// Offers the decision just recorded: dropped when a rule says so, else queued
    /// without waiting (dropped and counted when the queue is full).
    pub(crate) fn offer(
        &self,
        decision: &Value,
        tool: &str,
        caller: Option<&str>,
        at_ms: i64,
        path: &Arc<str>,
    ) {
        let shared = &self.inner.shared;
        let mode = decision["mode"].as_str().unwrap_or_default();
        if self.inner.drop.drops(mode, tool) {
            Counters::add(&shared.counters.dropped_rule, 1);
            return;
        }
        let queue = self
            .inner
            .queue
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let queued = queue.as_ref().is_some_and(|queue| {
            // Full: not worth copying the decision.
            if queue.capacity() == 0 {
                return false;
            }
            shared.queued(1);
            let pending = Pending {
                decision: decision.clone(),
                caller: caller.map(str::to_owned),
                at_ms,
                path: Arc::clone(path),
            };
            if queue.try_send(pending).is_ok() {
                return true;
            }
            shared.settle(1);
            false
        });
        drop(queue);
        if !queued {
            let dropped = shared
                .counters
                .dropped_overflow
                .fetch_add(1, Ordering::Relaxed)
                + 1;
            // Logged at 1, 2, 4, 8, ... drops: a stuck endpoint must not flood the log.
            if dropped.is_power_of_two() {
                tracing::warn!(destination = %self.inner.destination, dropped, "the decision-log queue is full or closed; records dropped");
            }
        }
    }
}
