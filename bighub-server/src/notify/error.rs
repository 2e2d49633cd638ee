//! Why notifications or Slack actions cannot be configured as asked.
//!
//! This module owns [`NotifyError`]: the refusals of a configuration, found before the
//! server starts. Failures to deliver a notification are not errors of this kind: they
//! are retried, counted and logged by the delivery task.

/// A notification or Slack configuration the server refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// A webhook target that is not a URL, or not one the server sends to: `https://`
    /// anywhere, plain `http://` only to this machine. The URL is named without its query,
    /// which may carry a token.
    #[error("webhook URL {url}: {reason}")]
    TargetUrl {
        /// The URL, without its query and fragment.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The console's public base URL is not an absolute `http(s)://` URL.
    #[error("public URL {url}: {reason}")]
    PublicUrl {
        /// The URL as given, without its query.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A signing secret that is empty or too short to resist guessing.
    #[error("the {what} is {reason}")]
    Secret {
        /// Which secret (`notification signing secret`, `Slack signing secret`).
        what: &'static str,
        /// What is wrong with it (never its value).
        reason: String,
    },
    /// A Slack user entry that is not `USERID=operator`.
    #[error("Slack user entry `{entry}`: {reason}")]
    SlackUser {
        /// The entry, escaped.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A retry policy or limit that cannot work (no attempt, a zero-capacity queue).
    #[error("{0}")]
    Limits(String),
    /// The HTTP client could not be built (its TLS configuration).
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
}
