//! A value read from the backend off the request path: at most one read in flight, its
//! last answer kept with the time it was made.
//!
//! This module owns how `/healthz` and `/metrics` ask the store without waiting on it: a
//! request starts a read when the last one is older than the freshness window and none is
//! running, then waits a bounded time for it. A read that hangs stays the only one (no
//! pile-up of blocked store calls while the database is down); the last answer, and its
//! age, remain available. It does not own what is read (`routes.rs` says).

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// One answer and when it was made.
#[derive(Debug, Clone)]
pub(crate) struct Observed<T> {
    pub(crate) value: T,
    pub(crate) at: Instant,
}

#[derive(Debug)]
struct State<T> {
    latest: Option<Observed<T>>,
    running: bool,
}

/// A single-flight, cached read.
#[derive(Debug)]
pub(crate) struct Probe<T> {
    state: Mutex<State<T>>,
    done: Notify,
}

impl<T> Default for Probe<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                latest: None,
                running: false,
            }),
            done: Notify::new(),
        }
    }
}

impl<T: Clone + Send + 'static> Probe<T> {
    /// The last answer, however old.
    pub(crate) fn latest(&self) -> Option<Observed<T>> {
        self.lock().latest.clone()
    }

    /// Starts `read` when the last answer is older than `fresh` and no read is running, then
    /// waits at most `wait` for it; answers the latest answer either way (the caller judges
    /// it by its age). A read that yields `None` keeps the previous answer.
    pub(crate) async fn observe<F, Fut>(
        self: &Arc<Self>,
        fresh: Duration,
        wait: Duration,
        read: F,
    ) -> Option<Observed<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<T>> + Send + 'static,
    {
        let notified = self.done.notified();
        tokio::pin!(notified);
        // Registered before the read can finish, so its wake-up is not missed.
        notified.as_mut().enable();
        {
            let mut state = self.lock();
            let recent = state
                .latest
                .as_ref()
                .is_some_and(|o| o.at.elapsed() < fresh);
            if recent {
                return state.latest.clone();
            }
            if !state.running {
                state.running = true;
                let reading = read();
                let probe = Arc::clone(self);
                tokio::spawn(async move {
                    let running = Running(&probe);
                    let value = reading.await;
                    running.finish(value);
                });
            }
        }
        let _ = tokio::time::timeout(wait, notified).await;
        self.latest()
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Clears `running` even when the read panics, so the next request can try again.
struct Running<'a, T>(&'a Probe<T>);

impl<T> Running<'_, T> {
    fn finish(self, value: Option<T>) {
        if let Some(value) = value {
            let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.latest = Some(Observed {
                value,
                at: Instant::now(),
            });
        }
        // Drop clears `running` and wakes the waiters.
    }
}

impl<T> Drop for Running<'_, T> {
    fn drop(&mut self) {
        self.0
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .running = false;
        self.0.done.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_hanging_read_is_not_started_twice_and_the_last_answer_stays() {
        let probe = Arc::new(Probe::<u32>::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let first = probe
            .observe(Duration::ZERO, Duration::from_secs(1), || async { Some(7) })
            .await
            .unwrap();
        assert_eq!(first.value, 7);
        for _ in 0..3 {
            let reads = reads.clone();
            let seen = probe
                .observe(Duration::ZERO, Duration::from_millis(20), move || {
                    reads.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<Option<u32>>()
                })
                .await
                .unwrap();
            assert_eq!(seen.value, 7);
            assert_eq!(seen.at, first.at);
        }
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "one read in flight at most"
        );
    }

    #[tokio::test]
    async fn a_fresh_answer_is_reused() {
        let probe = Arc::new(Probe::<u32>::default());
        probe
            .observe(Duration::from_secs(60), Duration::from_secs(1), || async {
                Some(1)
            })
            .await;
        let seen = probe
            .observe(Duration::from_secs(60), Duration::from_secs(1), || async {
                Some(2)
            })
            .await
            .unwrap();
        assert_eq!(seen.value, 1);
    }
}
