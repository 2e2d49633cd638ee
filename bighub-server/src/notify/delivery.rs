//! One notification to one target: signed, sent, retried as the policy says, and counted.
//!
//! This module owns a delivery's tries. Each try is signed afresh (its own timestamp) over
//! the same body; a connection error, a timeout, a 408, a 429 or a 5xx is retried after
//! the policy's backoff, any other answer ends the delivery. Logs name the target by its
//! origin, the event and the delivery id, never the body, the secret or the URL's path and
//! query. It does not choose what is delivered or when (`notifier.rs`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use bighub_core::backoff::{DeliveryAnswer, delivery_answer};
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};

use super::config::{NotifyConfig, WebhookTarget};
use super::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use crate::metrics::Metrics;

/// A notification waiting to be sent to one target.
pub(crate) struct Delivery {
    /// The delivery's id (the body's `id`), for logs.
    pub(crate) id: Arc<str>,
    /// The event's name, for logs.
    pub(crate) kind: &'static str,
    /// Where to.
    pub(crate) target: WebhookTarget,
    /// The JSON body, exactly as signed.
    pub(crate) body: Bytes,
}

/// How one try ended.
enum Try {
    Sent,
    /// Worth another try, after at least this long when the receiver said so.
    Retry(Option<Duration>, String),
    GiveUp(String),
}

/// Sends `delivery` until it is accepted or the retry policy gives up; counts the result.
pub(crate) async fn deliver(
    client: &reqwest::Client,
    config: &NotifyConfig,
    metrics: &Metrics,
    delivery: Delivery,
) {
    let policy = config.retry;
    for attempt in 1..=policy.attempts {
        let problem = match send_once(client, config, &delivery).await {
            Try::Sent => {
                metrics.notification_sent();
                tracing::debug!(target_url = %delivery.target, event = delivery.kind, delivery = %delivery.id, attempt, "notification delivered");
                return;
            }
            Try::GiveUp(problem) => {
                metrics.notification_failed();
                tracing::warn!(target_url = %delivery.target, event = delivery.kind, delivery = %delivery.id, attempt, problem = %problem, "notification refused by its receiver; not retried");
                return;
            }
            Try::Retry(after, problem) => {
                if attempt < policy.attempts {
                    let wait = policy
                        .backoff(attempt)
                        .max(after.unwrap_or_default().min(policy.max_backoff));
                    tracing::warn!(target_url = %delivery.target, event = delivery.kind, delivery = %delivery.id, attempt, problem = %problem, ?wait, "notification not delivered; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                problem
            }
        };
        metrics.notification_failed();
        tracing::error!(target_url = %delivery.target, event = delivery.kind, delivery = %delivery.id, attempts = attempt, problem = %problem, "notification not delivered; giving up");
    }
}

async fn send_once(client: &reqwest::Client, config: &NotifyConfig, delivery: &Delivery) -> Try {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let signature = sign(config.secret(), timestamp, &delivery.body);
    let sent = client
        .post(delivery.target.url().clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(delivery.body.clone())
        .send()
        .await;
    match sent {
        Ok(response) => match delivery_answer(
            response.status().as_u16(),
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        ) {
            DeliveryAnswer::Accepted => Try::Sent,
            DeliveryAnswer::Retry { after, problem } => Try::Retry(after, problem),
            DeliveryAnswer::Refused { problem } => Try::GiveUp(problem),
        },
        // The error's own text would name the whole URL, token included.
        Err(e) => {
            let fatal = e.is_builder() || e.is_redirect();
            let problem = e.without_url().to_string();
            if fatal {
                Try::GiveUp(problem)
            } else {
                Try::Retry(None, problem)
            }
        }
    }
}
