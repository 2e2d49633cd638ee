//! What a decision-log sink is told: where records go, which are kept, what is masked in
//! them, how they are labelled, batched, queued and retried.
//!
//! This module owns [`DecisionLogConfig`] and the checks on it (a URL the engine may send
//! to, header names and values, JSON pointers, modes, limits). It sends nothing
//! (`worker.rs`, `destination.rs`) and builds no record (`record.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bighub_core::backoff::Backoff;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::drop_rules::DropRules;
use super::mask::Masks;
use crate::error::LocalError;
use crate::outbound_url::{check_url, without_query};

/// Where records are written.
#[derive(Clone)]
pub(crate) enum Target {
    /// Appended to a file, one JSON line per record.
    File(PathBuf),
    /// POSTed, one JSON line per record, in batches.
    Http {
        url: reqwest::Url,
        /// Marked sensitive: never printed.
        headers: HeaderMap,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "file {}", path.display()),
            // The query may carry a token.
            Self::Http { url, .. } => f.write_str(&without_query(url.as_str())),
        }
    }
}

/// How a decision-log sink is set up: its destination (a file or an HTTP endpoint), the
/// headers sent to an endpoint, the labels every record carries, the JSON pointers masked
/// in records, the rules that drop decisions before they are queued, and the batching,
/// queueing and retry limits. Started with [`DecisionLogs::new`](super::DecisionLogs::new).
///
/// `Debug` and logs show the endpoint without its query and the header names, never a
/// header's value.
///
/// ```
/// use std::time::Duration;
/// use bighub_local::decision_logs::DecisionLogConfig;
///
/// let mut config = DecisionLogConfig::http("https://logs.example.com/v1/decisions?tenant=t1")?
///     .header("Authorization", "Bearer s3cr3t-token")?
///     .mask("/input/action/arguments/email")?
///     .drop_mode("autonomous")?
///     .drop_tool("list_*")?
///     .label("team", "platform");
/// config.batch_size = 50;
/// config.flush_interval = Duration::from_millis(500);
/// let shown = format!("{config:?}");
/// assert!(shown.contains("authorization") && !shown.contains("s3cr3t") && !shown.contains("tenant"));
/// # Ok::<(), bighub_local::LocalError>(())
/// ```
#[derive(Clone)]
pub struct DecisionLogConfig {
    pub(crate) target: Target,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) masks: Masks,
    pub(crate) drop: DropRules,
    /// The most records in one write or request (default 100).
    pub batch_size: usize,
    /// The longest a record waits for its batch to fill before the batch is sent anyway
    /// (default 1 s).
    pub flush_interval: Duration,
    /// How many records may wait to be sent (default 10 000). When the queue is full, a
    /// decision's record is dropped, not waited for, and counted
    /// ([`DecisionLogStats::dropped_overflow`](super::DecisionLogStats::dropped_overflow)).
    pub queue_capacity: usize,
    /// The wait between tries of a batch that failed (a connection error, a timeout, a
    /// 408, a 429, a 5xx, a failed write): doubling from its initial wait up to its
    /// largest, with jitter (default 500 ms up to 30 s). A batch is tried until it is
    /// accepted, while the queue keeps what comes meanwhile; a 429's or 503's
    /// `Retry-After` is honoured up to the largest wait.
    pub retry_backoff: Backoff,
    /// How long one request may take, connecting included (default 10 s).
    pub request_timeout: Duration,
    /// How long a sink whose every handle was dropped without
    /// [`close`](super::DecisionLogs::close) keeps trying to send what is queued
    /// (default 5 s).
    pub drop_grace: Duration,
}

impl fmt::Debug for DecisionLogConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = match &self.target {
            Target::File(_) => Vec::new(),
            Target::Http { headers, .. } => headers.keys().map(HeaderName::as_str).collect(),
        };
        f.debug_struct("DecisionLogConfig")
            .field("target", &self.target.to_string())
            .field("headers", &headers)
            .field("labels", &self.labels)
            .field("masks", &self.masks)
            .field("drop", &self.drop)
            .field("batch_size", &self.batch_size)
            .field("flush_interval", &self.flush_interval)
            .field("queue_capacity", &self.queue_capacity)
            .field("retry_backoff", &self.retry_backoff)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl DecisionLogConfig {
    fn with_target(target: Target) -> Self {
        let labels = BTreeMap::from([
            ("app".to_owned(), "bighub".to_owned()),
            ("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            ("id".to_owned(), uuid::Uuid::new_v4().to_string()),
        ]);
        Self {
            target,
            labels,
            masks: Masks::default(),
            drop: DropRules::default(),
            batch_size: 100,
            flush_interval: Duration::from_secs(1),
            queue_capacity: 10_000,
            retry_backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
            request_timeout: Duration::from_secs(10),
            drop_grace: Duration::from_secs(5),
        }
    }

    /// Records appended to the file at `path` (created if missing), one JSON line each.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::with_target(Target::File(path.into()))
    }

    /// Records POSTed to `url` in batches, one JSON line each
    /// (`Content-Type: application/x-ndjson`).
    ///
    /// # Errors
    ///
    /// [`LocalError::DecisionLogs`]: not a URL, or not one the engine sends to: `https://`
    /// anywhere, plain `http://` only to this machine (records and headers would cross a
    /// network in clear).
    pub fn http(url: &str) -> Result<Self, LocalError> {
        let url = check_url(url.trim()).map_err(|reason| {
            LocalError::DecisionLogs(format!("URL {}: {reason}", without_query(url)))
        })?;
        Ok(Self::with_target(Target::Http {
            url,
            headers: HeaderMap::new(),
        }))
    }

    /// Sends the header `name: value` with every request, e.g. `Authorization` with
    /// `Bearer <token>`. The value is never shown in `Debug`, logs or errors.
    ///
    /// # Errors
    ///
    /// [`LocalError::DecisionLogs`]: a file destination, a name that is not a header
    /// name, or a value with characters a header cannot hold.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, LocalError> {
        let Target::Http { headers, .. } = &mut self.target else {
            return Err(LocalError::DecisionLogs(
                "headers are sent to an HTTP destination; this one is a file".to_owned(),
            ));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            LocalError::DecisionLogs(format!("`{}` is not a header name", name.escape_debug()))
        })?;
        let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
            LocalError::DecisionLogs(format!(
                "the value of header {name} holds characters a header cannot"
            ))
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
        Ok(self)
    }

    /// Adds (or replaces) the label `key` every record carries. The defaults are
    /// `app: bighub`, `version: <this crate's version>` and `id: <a UUID for this sink>`
    /// (the instance that wrote the record).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Replaces the value at the JSON pointer `pointer` of every record with `"[MASKED]"`,
    /// where the record has one, and lists the pointer in the record's `masked`, e.g.
    /// `/input/action/arguments/email` (the record's fields are `decision_id`, `path`,
    /// `input`, `result`, ...). The policy saw the value and may repeat it (in a reason,
    /// a better action, a derived value): each masked text of three characters or more is
    /// replaced wherever else the record holds it, too. Arguments a tool marks secret are
    /// already `[REDACTED]` in `input` without a mask, and never reach the policy.
    ///
    /// # Errors
    ///
    /// [`LocalError::DecisionLogs`]: a pointer that does not start with `/` or that names
    /// a field every record needs (`/decision_id`, `/timestamp`, ...).
    pub fn mask(mut self, pointer: &str) -> Result<Self, LocalError> {
        self.masks.add(pointer)?;
        Ok(self)
    }

    /// Drops the decisions of `mode` before they are queued (e.g. `autonomous`, to keep
    /// only what was constrained, reviewed or blocked); counted as
    /// [`dropped_rule`](super::DecisionLogStats::dropped_rule).
    ///
    /// # Errors
    ///
    /// [`LocalError::DecisionLogs`]: not a mode a decision has (`autonomous`,
    /// `constrained`, `review`, `needs_context`, `blocked`, `shadow`, `dry_run`).
    pub fn drop_mode(mut self, mode: &str) -> Result<Self, LocalError> {
        self.drop.add_mode(mode)?;
        Ok(self)
    }

    /// Drops the decisions about tools whose name matches `glob` (`*` matches any run of
    /// characters, e.g. `list_*`) before they are queued; counted as
    /// [`dropped_rule`](super::DecisionLogStats::dropped_rule).
    ///
    /// # Errors
    ///
    /// [`LocalError::DecisionLogs`]: an empty pattern.
    pub fn drop_tool(mut self, glob: &str) -> Result<Self, LocalError> {
        self.drop.add_tool(glob)?;
        Ok(self)
    }

    /// Where records go, as it may be shown: a file's path, or the endpoint without its
    /// query.
    pub fn destination(&self) -> String {
        self.target.to_string()
    }

    /// Limits that cannot work.
    pub(crate) fn check(&self) -> Result<(), LocalError> {
        let refuse = |what: &str| Err(LocalError::DecisionLogs(format!("{what} must be above 0")));
        if self.batch_size == 0 {
            return refuse("the batch size");
        }
        if self.queue_capacity == 0 {
            return refuse("the queue capacity");
        }
        if self.flush_interval.is_zero() {
            return refuse("the flush interval");
        }
        if self.request_timeout.is_zero() {
            return refuse("the request timeout");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_and_no_header_value_in_errors() {
        assert!(DecisionLogConfig::http("https://logs.example.com/x").is_ok());
        assert!(DecisionLogConfig::http("http://127.0.0.1:9/x").is_ok());
        let err = DecisionLogConfig::http("http://logs.example.com/x?token=t0k3n").unwrap_err();
        assert!(!err.to_string().contains("t0k3n"), "{err}");
        let err = DecisionLogConfig::http("https://logs.example.com/")
            .unwrap()
            .header("Authorization", "Bearer abc\ndef")
            .unwrap_err();
        assert!(!err.to_string().contains("abc"), "{err}");
        assert!(
            DecisionLogConfig::file("/tmp/x.jsonl")
                .header("Authorization", "Bearer abc")
                .is_err()
        );
    }

    #[test]
    fn limits_that_cannot_work_are_refused() {
        let mut c = DecisionLogConfig::file("/tmp/x.jsonl");
        assert!(c.check().is_ok());
        c.queue_capacity = 0;
        assert!(c.check().is_err());
    }

    #[test]
    fn default_labels_name_the_app_version_and_instance() {
        let c = DecisionLogConfig::file("/tmp/x.jsonl").label("team", "sre");
        assert_eq!(c.labels["app"], "bighub");
        assert_eq!(c.labels["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(c.labels["team"], "sre");
        assert_eq!(c.labels["id"].len(), 36);
    }
}
