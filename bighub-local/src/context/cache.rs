//! Reusing providers' answers: a TTL cache keyed by provider and action fields, where
//! concurrent decisions that need the same entry share one fetch.
//!
//! This module owns the entries and their lifetimes: an answer is reused for its
//! provider's TTL, a failure for at most [`FAILURE_TTL`]; a fetch in flight is shared by
//! every decision that asks for the same entry meanwhile (single flight). A fetch runs as
//! a task of its own, so that a decision that stops waiting neither cancels it for the
//! others nor leaves it unfinished. It does not fetch (the registry hands it the fetch).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, Shared};
use serde_json::Value;

use super::fetch_error::FetchError;
use super::provider::FAILURE_TTL;

/// Entries kept before expired ones are swept out.
const SWEEP_AT: usize = 4096;

/// One fetch's result: the document, or why there is none; when it was fetched; the
/// SHA-256 of the document's canonical JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fetched {
    pub(crate) result: Result<Arc<Value>, FetchError>,
    pub(crate) fetched_at_ms: i64,
    pub(crate) sha256: Option<String>,
}

impl Fetched {
    pub(crate) fn failed(error: FetchError, at_ms: i64) -> Self {
        Self {
            result: Err(error),
            fetched_at_ms: at_ms,
            sha256: None,
        }
    }
}

type SharedFetch = Shared<BoxFuture<'static, Arc<Fetched>>>;

enum Slot {
    Ready {
        fetched: Arc<Fetched>,
        until: Instant,
    },
    Pending {
        fetch: SharedFetch,
        id: u64,
    },
}

/// Which entry: the provider's position in its registry, and its cache key for the action.
pub(crate) type EntryKey = (usize, String);

/// The providers' answers, and the fetches in flight.
#[derive(Default)]
pub(crate) struct Cache {
    slots: Mutex<HashMap<EntryKey, Slot>>,
    next_id: AtomicU64,
}

impl Cache {
    fn slots(&self) -> MutexGuard<'_, HashMap<EntryKey, Slot>> {
        // A panic while the map was held leaves it consistent: every change is one insert
        // or remove.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry `key`: reused while fresh, joined while being fetched, else fetched with
    /// `start()` and kept for `ttl` (a failure for at most [`FAILURE_TTL`]).
    pub(crate) async fn get(
        self: &Arc<Self>,
        key: EntryKey,
        ttl: Duration,
        now_ms: impl Fn() -> i64 + Send + 'static,
        start: impl FnOnce() -> BoxFuture<'static, Fetched>,
    ) -> Arc<Fetched> {
        let fetch = {
            let mut slots = self.slots();
            match slots.get(&key) {
                Some(Slot::Ready { fetched, until }) if Instant::now() < *until => {
                    return fetched.clone();
                }
                Some(Slot::Pending { fetch, .. }) => fetch.clone(),
                _ => {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    let fetch = self.spawn(key.clone(), id, ttl, now_ms, start());
                    if slots.len() >= SWEEP_AT {
                        let now = Instant::now();
                        slots.retain(|_, s| match s {
                            Slot::Ready { until, .. } => now < *until,
                            Slot::Pending { .. } => true,
                        });
                    }
                    slots.insert(
                        key,
                        Slot::Pending {
                            fetch: fetch.clone(),
                            id,
                        },
                    );
                    fetch
                }
            }
        };
        fetch.await
    }

    /// Runs `work` as a task of its own (inline when there is no Tokio runtime), which
    /// settles the entry when done.
    fn spawn(
        self: &Arc<Self>,
        key: EntryKey,
        id: u64,
        ttl: Duration,
        now_ms: impl Fn() -> i64 + Send + 'static,
        work: BoxFuture<'static, Fetched>,
    ) -> SharedFetch {
        let cache = Arc::clone(self);
        let settled = (Arc::clone(self), key.clone());
        let task = async move {
            let fetched = Arc::new(work.await);
            cache.settle(&key, id, &fetched, ttl);
            fetched
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let handle = runtime.spawn(task);
                async move {
                    match handle.await {
                        Ok(fetched) => fetched,
                        // A provider that panicked: its failure is settled like any other,
                        // so the entry does not stay in flight.
                        Err(e) => {
                            let fetched = Arc::new(Fetched::failed(
                                FetchError::Other(format!("the provider stopped: {e}")),
                                now_ms(),
                            ));
                            let (cache, key) = settled;
                            cache.settle(&key, id, &fetched, ttl);
                            fetched
                        }
                    }
                }
                .boxed()
                .shared()
            }
            Err(_) => task.boxed().shared(),
        }
    }

    /// Replaces the fetch `id` of `key` (unless a newer one replaced it) by its result,
    /// kept while it is fresh.
    fn settle(&self, key: &EntryKey, id: u64, fetched: &Arc<Fetched>, ttl: Duration) {
        let ttl = if fetched.result.is_ok() {
            ttl
        } else {
            ttl.min(FAILURE_TTL)
        };
        let mut slots = self.slots();
        if !matches!(slots.get(key), Some(Slot::Pending { id: pending, .. }) if *pending == id) {
            return;
        }
        match Instant::now().checked_add(ttl).filter(|_| !ttl.is_zero()) {
            Some(until) => {
                slots.insert(
                    key.clone(),
                    Slot::Ready {
                        fetched: fetched.clone(),
                        until,
                    },
                );
            }
            None => {
                slots.remove(key);
            }
        }
    }
}
