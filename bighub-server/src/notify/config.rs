//! What outgoing approval notifications need: where to send them, the secret that signs
//! them, the console's address for links, and how hard to try.
//!
//! This module owns [`NotifyConfig`], [`WebhookTarget`] (the rule on target URLs:
//! `https://` anywhere, plain `http://` only to this machine) and [`RetryPolicy`]. It
//! does not send anything (`notifier.rs`, `delivery.rs`).

use std::fmt;
use std::time::Duration;

use bighub_core::loopback::is_loopback_host;
use reqwest::Url;

use super::{NotifyError, SigningSecret};

/// One URL notifications are POSTed to.
///
/// Logs and `Debug` show its origin only: a Slack incoming-webhook URL carries its token in
/// the path, other receivers in the query.
///
/// ```
/// use bighub_server::notify::WebhookTarget;
///
/// let slack = WebhookTarget::parse("https://hooks.slack.com/services/T0/B0/xyz").unwrap();
/// assert_eq!(slack.to_string(), "https://hooks.slack.com/…");
/// assert!(WebhookTarget::parse("http://127.0.0.1:9000/hook").is_ok());
/// assert!(WebhookTarget::parse("http://hooks.example.com/hook").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    url: Url,
}

impl WebhookTarget {
    /// `url`, if notifications may be sent there.
    ///
    /// # Errors
    ///
    /// Not an absolute URL, a scheme other than `https` or `http`, or `http` to a host that
    /// is not this machine (the body and its signature would cross a network in clear).
    pub fn parse(url: &str) -> Result<Self, NotifyError> {
        let refuse = |reason: &str| NotifyError::TargetUrl {
            url: without_query(url),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(url.trim()).map_err(|e| refuse(&e.to_string()))?;
        let host = parsed.host_str().unwrap_or_default();
        if host.is_empty() {
            return Err(refuse("it names no host"));
        }
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback_host(host) => {}
            "http" => {
                return Err(refuse(
                    "plain http:// is allowed only to this machine (localhost, 127.0.0.1, [::1]); use https://",
                ));
            }
            _ => return Err(refuse("use an https:// URL")),
        }
        Ok(Self { url: parsed })
    }

    /// The URL to send to, whole.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }
}

impl fmt::Display for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url.origin().ascii_serialization())?;
        if self.url.path() != "/" || self.url.query().is_some() {
            f.write_str("/…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookTarget({self})")
    }
}

/// How a delivery is retried: after a connection error, a timeout, a 408, a 429 or a 5xx,
/// up to `attempts` tries in all, waiting `initial_backoff`, then twice as long each time,
/// at most `max_backoff` (a 429's `Retry-After` is honoured within that bound). Other
/// answers (a 4xx) are not retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (default 5).
    pub attempts: u32,
    /// The wait before the second try (default 1 s).
    pub initial_backoff: Duration,
    /// The longest wait between tries (default 60 s).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait after try number `attempt` (from 1) failed.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Outgoing approval notifications: signed JSON POSTed to each target for every approval
/// requested, answered or expired, in a body a Slack incoming webhook also accepts.
///
/// ```
/// use bighub_server::notify::{NotifyConfig, SigningSecret};
///
/// let secret = SigningSecret::new("whsec_0123456789abcdef").unwrap();
/// let mut config = NotifyConfig::new(secret);
/// config.add_target("https://hooks.slack.com/services/T0/B0/xyz").unwrap();
/// config.set_public_url("https://bighub.example.com/").unwrap();
/// assert_eq!(
///     config.link("req-1").as_deref(),
///     Some("https://bighub.example.com/console/approvals/req-1")
/// );
/// // Debug shows neither the secret nor the webhook's token.
/// let shown = format!("{config:?}");
/// assert!(!shown.contains("whsec_") && !shown.contains("xyz"));
/// ```
#[derive(Clone)]
pub struct NotifyConfig {
    targets: Vec<WebhookTarget>,
    secret: SigningSecret,
    public_url: Option<String>,
    /// How failed deliveries are retried.
    pub retry: RetryPolicy,
    /// How long one try may take, connecting included (default 10 s).
    pub request_timeout: Duration,
    /// How many deliveries may wait to be sent (default 1024); more are dropped and
    /// counted (`bighub_notifications_dropped_total`).
    pub queue_capacity: usize,
    /// How many deliveries are sent at once (default 4).
    pub max_in_flight: usize,
    /// How long a stopping server waits for deliveries still queued (default 5 s).
    pub shutdown_grace: Duration,
}

impl fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("targets", &self.targets)
            .field("secret", &self.secret)
            .field("public_url", &self.public_url)
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("queue_capacity", &self.queue_capacity)
            .field("max_in_flight", &self.max_in_flight)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

impl NotifyConfig {
    /// No targets yet, signing with `secret`, the defaults otherwise.
    pub fn new(secret: SigningSecret) -> Self {
        Self {
            targets: Vec::new(),
            secret,
            public_url: None,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(10),
            queue_capacity: 1024,
            max_in_flight: 4,
            shutdown_grace: Duration::from_secs(5),
        }
    }

    /// Sends notifications to `url` too.
    ///
    /// # Errors
    ///
    /// As [`WebhookTarget::parse`].
    pub fn add_target(&mut self, url: &str) -> Result<(), NotifyError> {
        self.targets.push(WebhookTarget::parse(url)?);
        Ok(())
    }

    /// Links each notification to its approval's page at `url` (the console's public
    /// address, e.g. `https://bighub.example.com`): `{url}/console/approvals/{request_id}`.
    ///
    /// # Errors
    ///
    /// Not an absolute `http://` or `https://` URL, or one with a query or fragment.
    pub fn set_public_url(&mut self, url: &str) -> Result<(), NotifyError> {
        self.public_url = Some(public_base(url)?);
        Ok(())
    }

    /// The targets.
    pub fn targets(&self) -> &[WebhookTarget] {
        &self.targets
    }

    /// The signing secret.
    pub(crate) fn secret(&self) -> &SigningSecret {
        &self.secret
    }

    /// The console page of the approval of `request_id`, when a public URL is set.
    pub fn link(&self, request_id: &str) -> Option<String> {
        let base = self.public_url.as_deref()?;
        Some(format!(
            "{base}/console/approvals/{}",
            path_segment(request_id)
        ))
    }

    /// Checks the limits before the server starts.
    pub(crate) fn check(&self) -> Result<(), NotifyError> {
        if self.targets.is_empty() {
            return Err(NotifyError::Limits(
                "notifications need at least one webhook URL".to_owned(),
            ));
        }
        if self.retry.attempts == 0 {
            return Err(NotifyError::Limits(
                "a retry policy needs at least one attempt".to_owned(),
            ));
        }
        if self.queue_capacity == 0 || self.max_in_flight == 0 {
            return Err(NotifyError::Limits(
                "the notification queue and the deliveries in flight need room for one".to_owned(),
            ));
        }
        Ok(())
    }
}

/// `url` as a base for links: absolute, `http(s)`, no query or fragment, no trailing `/`.
fn public_base(url: &str) -> Result<String, NotifyError> {
    let refuse = |reason: &str| NotifyError::PublicUrl {
        url: without_query(url),
        reason: reason.to_owned(),
    };
    let parsed = Url::parse(url.trim()).map_err(|e| refuse(&e.to_string()))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(refuse("use an absolute https:// URL"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(refuse("a base URL takes no query or fragment"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// `text` percent-encoded for one path segment: only unreserved characters stay, so the
/// link can sit in Slack's `<url|label>` and in HTML without further meaning.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` without its query and fragment, for messages.
fn without_query(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_the_loopback_rule() {
        for ok in [
            "https://hooks.slack.com/services/T/B/x",
            "http://localhost:8080/h",
            "http://127.0.0.1/h",
            "http://[::1]:9/h",
        ] {
            assert!(WebhookTarget::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/h",
            "ftp://example.com/h",
            "not a url",
            "http://localhost.example.com/h",
        ] {
            assert!(WebhookTarget::parse(bad).is_err(), "{bad}");
        }
        let e = WebhookTarget::parse("http://example.com/h?token=abc").unwrap_err();
        assert!(!e.to_string().contains("abc"), "{e}");
    }

    #[test]
    fn links_encode_the_request_id() {
        let mut c = NotifyConfig::new(SigningSecret::new("0123456789abcdef").unwrap());
        assert_eq!(c.link("r"), None);
        c.set_public_url("https://h.example.com/base/").unwrap();
        assert_eq!(
            c.link("a b|<x>").unwrap(),
            "https://h.example.com/base/console/approvals/a%20b%7C%3Cx%3E"
        );
        assert!(c.set_public_url("https://h.example.com/?x=1").is_err());
        assert!(c.set_public_url("/relative").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 9,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
        };
        let waits: Vec<u64> = (1..=5).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
        assert_eq!(p.backoff(100), Duration::from_secs(5));
    }
}
