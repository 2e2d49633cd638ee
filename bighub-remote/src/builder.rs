//! Configuration of a [`RemoteBighub`]: defaults, validation, and the environment.
//!
//! This file owns every setting and the checks made before the first request (API key
//! present, base URL safe to send a key to); the request loop lives in `client.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use tokio::sync::Semaphore;
use url::Url;

use bighub_core::Error;
use bighub_core::wire::DecisionMode;

use crate::client::{Inner, RemoteBighub};
use crate::retry::RetryPolicy;

/// The hosted BIGHUB service.
pub const DEFAULT_BASE_URL: &str = "https://api.bighub.io";
/// How long one attempt may take, connection to last byte, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries after the first attempt, unless configured.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// The backoff ceiling before the first retry, unless configured.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// The largest backoff between two attempts, unless configured.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The longest `Retry-After` the client waits for, unless configured.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// How many HTTP requests one client has in flight at most, unless configured.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;

/// The environment variable holding the API key.
pub const ENV_API_KEY: &str = "BIGHUB_API_KEY";
/// The environment variable overriding the base URL.
pub const ENV_BASE_URL: &str = "BIGHUB_BASE_URL";

/// Builds a [`RemoteBighub`].
///
/// Every setting has a default except the API key:
///
/// | setting | default |
/// |---|---|
/// | `base_url` | [`DEFAULT_BASE_URL`] (`https://api.bighub.io`) |
/// | `timeout` (per attempt) | 10 s |
/// | `max_retries` | 2 (so at most 3 requests) |
/// | `backoff` | 200 ms, doubling, capped at 2 s, with jitter |
/// | `max_retry_after` | 10 s |
/// | `max_concurrent_requests` | 64 |
/// | `decision_mode` | [`DecisionMode::Submit`] |
///
/// ```
/// use std::time::Duration;
/// use bighub_remote::{DecisionMode, RemoteBighub};
///
/// let bighub = RemoteBighub::builder()
///     .api_key("bh_live_example")
///     .timeout(Duration::from_secs(5))
///     .max_retries(3)
///     .backoff(Duration::from_millis(100), Duration::from_secs(1))
///     .max_concurrent_requests(16)
///     .decision_mode(DecisionMode::SubmitPayload)
///     .build()?;
/// assert_eq!(bighub.base_url(), "https://api.bighub.io");
/// assert_eq!(bighub.max_concurrent_requests(), 16);
/// assert!(!format!("{bighub:?}").contains("bh_live_example"));
///
/// // Plain http is refused except on this machine: the key would travel in clear.
/// let err = RemoteBighub::builder()
///     .api_key("bh_live_example")
///     .base_url("http://bighub.internal.example")
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("https://"));
/// # Ok::<(), bighub_core::Error>(())
/// ```
#[derive(Clone)]
pub struct RemoteBighubBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    max_concurrent_requests: usize,
    decision_mode: DecisionMode,
    user_agent: Option<String>,
}

impl Default for RemoteBighubBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy {
                max_retries: DEFAULT_MAX_RETRIES,
                initial_backoff: DEFAULT_INITIAL_BACKOFF,
                max_backoff: DEFAULT_MAX_BACKOFF,
                max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            },
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            decision_mode: DecisionMode::default(),
            user_agent: None,
        }
    }
}

impl fmt::Debug for RemoteBighubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteBighubBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| Redacted))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.retry.max_retries)
            .field("initial_backoff", &self.retry.initial_backoff)
            .field("max_backoff", &self.retry.max_backoff)
            .field("max_retry_after", &self.retry.max_retry_after)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("decision_mode", &self.decision_mode)
            .finish()
    }
}

/// Prints in place of a secret.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl RemoteBighubBuilder {
    /// Sets the API key (required), sent as `X-API-Key`.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// Sets the service's base URL; a path prefix (`https://host/bighub`) is kept.
    ///
    /// `https://` is required, except `http://` for `localhost`, `127.0.0.1` and `[::1]`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Sets how long one attempt may take, from connecting to the last byte of the answer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how many times a transient failure is retried (0 disables retries).
    ///
    /// Transient: connection errors, timeouts, and HTTP 408, 409, 425, 429, 5xx.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.retry.max_retries = max_retries;
        self
    }

    /// Sets the backoff: the ceiling starts at `initial`, doubles per retry, and stops at
    /// `max`; each wait is drawn from the upper half of the ceiling.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.retry.initial_backoff = initial;
        self.retry.max_backoff = max;
        self
    }

    /// Sets the longest `Retry-After` worth waiting for.
    ///
    /// A transient answer whose `Retry-After` (in seconds) is within this limit is retried
    /// no sooner than asked; one asking for longer ends the call at once with its error
    /// (for 429, [`Error::RateLimited`] carrying the requested wait), so an agent is never
    /// stalled for minutes inside one decision.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.retry.max_retry_after = max;
        self
    }

    /// Sets how many HTTP requests this client (and its clones) has in flight at most;
    /// further requests wait for a slot, so a burst of tool calls cannot open a connection
    /// each and overrun the service or the machine's sockets.
    ///
    /// A slot is held for one attempt, from sending to the last byte of the answer, and
    /// given back during the backoff before a retry. Time spent waiting for a slot does not
    /// count toward the [`timeout`](Self::timeout). At most this many idle connections are
    /// kept for reuse. Must be at least 1.
    pub fn max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = n;
        self
    }

    /// Sets the default body shape for actions that do not choose one.
    pub fn decision_mode(mut self, mode: DecisionMode) -> Self {
        self.decision_mode = mode;
        self
    }

    /// Replaces the `User-Agent` header (default `bighub-core/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the API key is missing, empty or not a valid header
    /// value, the base URL is not a usable `https://` URL (or a local `http://` one), the
    /// timeout is zero, the backoff's initial value exceeds its maximum, or
    /// `max_concurrent_requests` is zero (or beyond what a semaphore can count).
    pub fn build(self) -> Result<RemoteBighub, Error> {
        let key = self.api_key.as_deref().map(str::trim).unwrap_or_default();
        if key.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "the BIGHUB API key is missing or empty; pass it to `api_key(..)` or set \
                 {ENV_API_KEY}"
            )));
        }
        let mut api_key = HeaderValue::from_str(key).map_err(|_| {
            Error::InvalidConfig(
                "the BIGHUB API key contains characters not allowed in an HTTP header \
                 (control characters or non-ASCII); check for a stray newline"
                    .to_owned(),
            )
        })?;
        // Keeps the value out of HTTP-level debug output.
        api_key.set_sensitive(true);

        let base_url = parse_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        if self.timeout.is_zero() {
            return Err(Error::InvalidConfig(
                "the BIGHUB timeout must be greater than zero".to_owned(),
            ));
        }
        if self.retry.initial_backoff > self.retry.max_backoff {
            return Err(Error::InvalidConfig(format!(
                "the BIGHUB backoff starts at {:?}, above its maximum {:?}",
                self.retry.initial_backoff, self.retry.max_backoff
            )));
        }

        if self.max_concurrent_requests == 0 {
            return Err(Error::InvalidConfig(
                "BIGHUB max_concurrent_requests must be at least 1 (0 would never send a \
                 request)"
                    .to_owned(),
            ));
        }
        if self.max_concurrent_requests > Semaphore::MAX_PERMITS {
            return Err(Error::InvalidConfig(format!(
                "BIGHUB max_concurrent_requests is {}, above the largest supported value {}",
                self.max_concurrent_requests,
                Semaphore::MAX_PERMITS
            )));
        }

        let user_agent = self
            .user_agent
            // The service knows the SDK by its core's name and version.
            .unwrap_or_else(|| concat!("bighub-core/", env!("CARGO_PKG_VERSION")).to_owned());
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .user_agent(user_agent)
            // A redirect would re-send `X-API-Key` to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            // Idle connections beyond the in-flight limit would never be reused at once.
            .pool_max_idle_per_host(self.max_concurrent_requests)
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot build the HTTP client: {e}")))?;

        let base_url_text = base_url.as_str().trim_end_matches('/').to_owned();
        Ok(RemoteBighub {
            inner: Arc::new(Inner {
                http,
                base_url,
                base_url_text,
                api_key,
                timeout: self.timeout,
                retry: self.retry,
                slots: Semaphore::new(self.max_concurrent_requests),
                max_concurrent_requests: self.max_concurrent_requests,
                decision_mode: self.decision_mode,
            }),
        })
    }

    /// Reads [`ENV_API_KEY`] (required) and [`ENV_BASE_URL`] (optional) into this builder.
    ///
    /// An empty `BIGHUB_BASE_URL` counts as unset.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `BIGHUB_API_KEY` is unset, empty or not Unicode, or
    /// `BIGHUB_BASE_URL` is not Unicode.
    pub fn from_env(mut self) -> Result<Self, Error> {
        let key = std::env::var(ENV_API_KEY).map_err(|e| {
            Error::InvalidConfig(format!(
                "{ENV_API_KEY} {}; set it to your BIGHUB API key",
                env_problem(&e)
            ))
        })?;
        if key.trim().is_empty() {
            return Err(Error::InvalidConfig(format!(
                "{ENV_API_KEY} is empty; set it to your BIGHUB API key"
            )));
        }
        self.api_key = Some(key);
        match std::env::var(ENV_BASE_URL) {
            Ok(url) if !url.trim().is_empty() => self.base_url = Some(url.trim().to_owned()),
            Ok(_) | Err(std::env::VarError::NotPresent) => {}
            Err(e) => {
                return Err(Error::InvalidConfig(format!(
                    "{ENV_BASE_URL} {}",
                    env_problem(&e)
                )));
            }
        }
        Ok(self)
    }
}

fn env_problem(e: &std::env::VarError) -> &'static str {
    match e {
        std::env::VarError::NotPresent => "is not set",
        std::env::VarError::NotUnicode(_) => "is not valid Unicode",
    }
}

/// Parses and vets a base URL: `https://`, or `http://` on the local machine only.
fn parse_base_url(text: &str) -> Result<Url, Error> {
    let text = text.trim();
    let url = Url::parse(text).map_err(|e| {
        Error::InvalidConfig(format!("BIGHUB base URL `{text}` is not a valid URL: {e}"))
    })?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(Error::InvalidConfig(format!(
            "BIGHUB base URL `{text}` has no host; expected e.g. {DEFAULT_BASE_URL}"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::InvalidConfig(format!(
            "BIGHUB base URL `{}` must not contain credentials; pass the API key with \
             `api_key(..)`",
            url.host_str().unwrap_or_default()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::InvalidConfig(format!(
            "BIGHUB base URL `{text}` must not have a query or fragment"
        )));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_local(&url) => Ok(url),
        "http" => Err(Error::InvalidConfig(format!(
            "BIGHUB base URL `{text}` uses plain http:// for a remote host, which would send \
             the API key unencrypted; use https:// (http:// is accepted only for localhost, \
             127.0.0.1 and [::1])"
        ))),
        other => Err(Error::InvalidConfig(format!(
            "BIGHUB base URL `{text}` has scheme `{other}`; expected https://"
        ))),
    }
}

fn is_local(url: &Url) -> bool {
    url.host_str()
        .is_some_and(bighub_core::loopback::is_loopback_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        for ok in [
            "https://api.bighub.io",
            "https://api.bighub.io/prefix/",
            "http://localhost:8080",
            "http://127.0.0.1:1",
            "http://[::1]:9000",
        ] {
            assert!(parse_base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.bighub.io",
            "http://10.0.0.1",
            "ftp://api.bighub.io",
            "api.bighub.io",
            "https://user:pw@api.bighub.io",
            "https://api.bighub.io/?x=1",
            "mailto:ops@example.com",
        ] {
            assert!(
                matches!(parse_base_url(bad), Err(Error::InvalidConfig(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn missing_or_bad_keys_are_config_errors() {
        for builder in [
            RemoteBighub::builder(),
            RemoteBighub::builder().api_key("  "),
            RemoteBighub::builder().api_key("bh_\nkey"),
        ] {
            assert!(matches!(builder.build(), Err(Error::InvalidConfig(_))));
        }
    }

    #[test]
    fn zero_concurrent_requests_is_refused() {
        let b = RemoteBighub::builder().api_key("k");
        match b.clone().max_concurrent_requests(0).build() {
            Err(Error::InvalidConfig(m)) => assert!(m.contains("max_concurrent_requests"), "{m}"),
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
        assert!(
            b.clone()
                .max_concurrent_requests(usize::MAX)
                .build()
                .is_err()
        );
        assert_eq!(
            b.max_concurrent_requests(1)
                .build()
                .unwrap()
                .max_concurrent_requests(),
            1
        );
    }

    #[test]
    fn zero_timeout_and_inverted_backoff_are_refused() {
        let b = RemoteBighub::builder().api_key("k");
        assert!(b.clone().timeout(Duration::ZERO).build().is_err());
        assert!(
            b.backoff(Duration::from_secs(3), Duration::from_secs(1))
                .build()
                .is_err()
        );
    }
}
