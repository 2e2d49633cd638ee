//! The background task that turns approval events into deliveries.
//!
//! This module owns the task's life: it listens to [`ApprovalEvents`] from when the server
//! is configured, drops repeats (an idempotent retry of an evaluation announces the same
//! approval again: one notification per request id, event kind and resolver), queues one
//! delivery per target in a bounded queue (full: dropped and counted), sends a few at
//! once, and stops with the server, giving queued deliveries a short grace. What a
//! delivery says and how it is sent are `payload.rs`'s and `delivery.rs`'s.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use axum::body::Bytes;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use super::config::NotifyConfig;
use super::delivery::{Delivery, deliver};
use super::{NotifyError, payload};
use crate::approval_events::{ApprovalEvent, ApprovalEvents, ApprovalSubscription, Received};
use crate::metrics::Metrics;

/// How many recent notifications are remembered to drop repeats.
const REMEMBERED: usize = 4096;

/// Notifications configured and listening, not yet sending.
pub(crate) struct Notifier {
    config: Arc<NotifyConfig>,
    client: reqwest::Client,
    subscription: ApprovalSubscription,
    metrics: Arc<Metrics>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Listens to `events` from now on, to notify as `config` says, counting into
    /// `metrics`.
    pub(crate) fn new(
        config: NotifyConfig,
        events: &ApprovalEvents,
        metrics: Arc<Metrics>,
    ) -> Result<Self, NotifyError> {
        config.check()?;
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .user_agent(concat!("bighub-server/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the signed body somewhere not configured.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NotifyError::Client(e.without_url().to_string()))?;
        Ok(Self {
            config: Arc::new(config),
            client,
            subscription: events.subscribe(),
            metrics,
        })
    }

    /// Starts sending, on the current Tokio runtime.
    pub(crate) fn start(self) -> Running {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(self.run(stopped));
        Running { stop, task }
    }

    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        let (queue, waiting) = mpsc::channel(self.config.queue_capacity);
        let mut sender = tokio::spawn(send_all(
            waiting,
            self.client.clone(),
            Arc::clone(&self.config),
            Arc::clone(&self.metrics),
        ));
        let mut seen = Seen::default();
        let targets = self.config.targets().len() as u64;
        loop {
            let received = tokio::select! {
                biased;
                _ = &mut stopped => break,
                received = self.subscription.next() => received,
            };
            match received {
                None => break,
                Some(Received::Missed(n)) => {
                    self.metrics.notification_dropped(n.saturating_mul(targets));
                    tracing::warn!(
                        missed = n,
                        "approval events came faster than notifications were queued; some were not sent"
                    );
                }
                Some(Received::Event(event)) => {
                    if seen.first(&event) {
                        self.enqueue(&queue, &event);
                    }
                }
            }
        }
        drop(queue);
        let grace = self.config.shutdown_grace;
        if tokio::time::timeout(grace, &mut sender).await.is_err() {
            sender.abort();
            tracing::warn!(
                ?grace,
                "notifications still queued when the server stopped were not sent"
            );
        }
    }

    /// Queues one delivery of `event` per target; counts those the full queue drops.
    fn enqueue(&self, queue: &mpsc::Sender<Delivery>, event: &ApprovalEvent) {
        let id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
        let link = self.config.link(&event.approval.request_id);
        let body = payload::body(event, &id, link.as_deref());
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        for target in self.config.targets() {
            let delivery = Delivery {
                id: Arc::clone(&id),
                kind: event.kind.as_str(),
                target: target.clone(),
                body: body.clone(),
            };
            if queue.try_send(delivery).is_err() {
                self.metrics.notification_dropped(1);
                tracing::warn!(
                    target_url = %target,
                    event = event.kind.as_str(),
                    delivery = %id,
                    "the notification queue is full; notification dropped"
                );
            }
        }
    }
}

/// Sends what is queued, a few at once, until the queue is closed and empty.
async fn send_all(
    mut waiting: mpsc::Receiver<Delivery>,
    client: reqwest::Client,
    config: Arc<NotifyConfig>,
    metrics: Arc<Metrics>,
) {
    let slots = Arc::new(Semaphore::new(config.max_in_flight));
    let mut in_flight = JoinSet::new();
    loop {
        // A slot first, then a delivery: deliveries wait in the bounded queue, not here.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        let Some(delivery) = waiting.recv().await else {
            break;
        };
        let (client, config, metrics) = (client.clone(), Arc::clone(&config), Arc::clone(&metrics));
        in_flight.spawn(async move {
            deliver(&client, &config, &metrics, delivery).await;
            drop(slot);
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

/// The notifier, sending; stopped with [`stop`](Self::stop).
pub(crate) struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stops listening, waits for queued deliveries within the grace, and returns.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = ?e, "the notification task failed");
        }
    }
}

/// The recent notifications, to drop repeats.
#[derive(Default)]
struct Seen {
    keys: HashSet<(String, &'static str, Option<String>)>,
    order: VecDeque<(String, &'static str, Option<String>)>,
}

impl Seen {
    /// Whether `event` is the first of its request id, kind and resolver (remembering it).
    fn first(&mut self, event: &ApprovalEvent) -> bool {
        let key = (
            event.approval.request_id.clone(),
            event.kind.as_str(),
            event.approval.resolver.clone(),
        );
        if !self.keys.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.keys.remove(&old);
        }
        true
    }
}
