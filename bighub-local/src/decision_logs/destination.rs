//! Writing one batch of records to where they go, once: a file, or an HTTP endpoint.
//!
//! This module owns a single try and how it ended: accepted, worth another try (and
//! after how long, when the endpoint said), or refused for good. Retrying, batching and
//! counting are `worker.rs`'s. Logs and problems name the endpoint without its query and
//! never a header's value or a record.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::Duration;

use bighub_core::backoff::{DeliveryAnswer, delivery_answer};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};

use super::config::{DecisionLogConfig, Target};
use crate::error::LocalError;

/// How one try ended.
pub(crate) enum Attempt {
    /// The destination has the batch.
    Sent,
    /// Worth another try, after at least this long when the endpoint said so.
    Failed(Option<Duration>, String),
    /// Refused; the same batch would be refused again.
    Refused(String),
}

/// An open destination.
pub(crate) enum Destination {
    File(File),
    Http {
        client: reqwest::Client,
        url: reqwest::Url,
        headers: HeaderMap,
    },
}

impl Destination {
    /// Opens the file (created if missing, appended to) or builds the HTTP client.
    pub(crate) fn open(config: &DecisionLogConfig) -> Result<Self, LocalError> {
        match &config.target {
            Target::File(path) => OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map(Self::File)
                .map_err(|e| {
                    LocalError::DecisionLogs(format!("cannot open {}: {e}", path.display()))
                }),
            Target::Http { url, headers } => {
                let client = reqwest::Client::builder()
                    .timeout(config.request_timeout)
                    .connect_timeout(config.request_timeout)
                    .user_agent(concat!("bighub-local/", env!("CARGO_PKG_VERSION")))
                    // A redirect would carry the records and headers somewhere not configured.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| {
                        LocalError::DecisionLogs(format!(
                            "cannot build the HTTP client: {}",
                            e.without_url()
                        ))
                    })?;
                Ok(Self::Http {
                    client,
                    url: url.clone(),
                    headers: headers.clone(),
                })
            }
        }
    }

    /// Writes `body` (JSON lines) once.
    pub(crate) async fn send(&mut self, body: &[u8]) -> Attempt {
        match self {
            Self::File(file) => match file.write_all(body).and_then(|()| file.flush()) {
                Ok(()) => Attempt::Sent,
                Err(e) => Attempt::Failed(None, format!("cannot write: {e}")),
            },
            Self::Http {
                client,
                url,
                headers,
            } => {
                let sent = client
                    .post(url.clone())
                    .headers(headers.clone())
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-ndjson"),
                    )
                    .body(body.to_vec())
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
                        DeliveryAnswer::Accepted => Attempt::Sent,
                        DeliveryAnswer::Retry { after, problem } => Attempt::Failed(after, problem),
                        DeliveryAnswer::Refused { problem } => Attempt::Refused(problem),
                    },
                    // The error's own text would name the whole URL, query included.
                    Err(e) if e.is_builder() => Attempt::Refused(e.without_url().to_string()),
                    Err(e) => Attempt::Failed(None, e.without_url().to_string()),
                }
            }
        }
    }
}
