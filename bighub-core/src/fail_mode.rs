//! What to decide when the decision service cannot answer.
//!
//! This module owns [`FailMode`] (parsing, display) and the synthetic decisions that stand
//! in for a missing answer: the fail-mode decision for an unavailable service, and the
//! blocked decision for every other engine error (fail-open is for availability only).
//! Which errors count as unavailability is [`Error::is_unavailable`]; retrying is the
//! engines' business, and gating the synthetic decision is `gate.rs`'s, like any other.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Decision, Error, Mode};

/// The prefix of every synthetic decision's `request_id`, followed by a UUID v4 (simple form).
const SYNTHETIC_ID_PREFIX: &str = "synthetic_";

/// Fail closed (block) or open (proceed) when the decision engine cannot answer.
///
/// Closed is the default: an unreachable service must not turn into an unguarded call.
/// Open applies to unavailability only ([`Error::is_unavailable`]): an engine that answers
/// with a refusal (a wrong API key, a rejected request) or with something unreadable blocks
/// whatever the fail mode ([`FailMode::decision_for`]).
///
/// ```
/// use bighub_core::{FailMode, Mode, Verdict};
///
/// let mode: FailMode = " Open ".parse().unwrap();
/// assert_eq!(mode, FailMode::Open);
/// assert_eq!(FailMode::default().to_string(), "closed");
/// assert!("sometimes".parse::<FailMode>().is_err());
///
/// let d = FailMode::Closed.decision(&"connection refused");
/// assert_eq!(d.mode, Some(Mode::Blocked));
/// assert_eq!(d.verdict(), Verdict::Blocked);
/// assert_eq!(
///     d.reason.as_deref(),
///     Some("decision service unavailable (connection refused); failing closed")
/// );
/// assert_eq!(d.fail_mode(), Some(FailMode::Closed));
/// // A synthetic decision still carries a request id, for its outcome report.
/// assert!(d.request_id.as_deref().unwrap().starts_with("synthetic_"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Block the call (mode `blocked`, recommendation `do_not_proceed`).
    #[default]
    Closed,
    /// Let the call run (mode `autonomous`, recommendation `proceed`) when the service is
    /// unavailable.
    Open,
}

impl FailMode {
    /// The wire name: `closed` or `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
        }
    }

    /// The decision that stands in for the service's answer when it cannot be reached,
    /// whatever the cause: prefer [`decision_for`](FailMode::decision_for), which applies
    /// this only to unavailability.
    ///
    /// Its `reason` says why; its `request_id` is `synthetic_` and a fresh UUID v4 (simple
    /// form), unique per decision, so its outcome can be reported; its `raw` is an object
    /// recording `request_id`, `fail_mode` and `error` (plus the mode, recommendation and
    /// reason), so normalising `raw` again gives the same decision and
    /// [`Decision::fail_mode`] recognises it.
    pub fn decision(self, cause: &dyn fmt::Display) -> Decision {
        let (mode, recommendation) = match self {
            Self::Closed => (Mode::Blocked, "do_not_proceed"),
            Self::Open => (Mode::Autonomous, "proceed"),
        };
        let error = cause.to_string();
        let reason = format!(
            "decision service unavailable ({error}); failing {}",
            self.as_str()
        );
        synthetic(Synthetic {
            fail_mode: self,
            mode,
            recommendation,
            error,
            reason,
            refusal: None,
        })
    }

    /// The decision that stands in for the engine's answer after `error`.
    ///
    /// When the service was unavailable ([`Error::is_unavailable`]: timeout, network, rate
    /// limit, HTTP 408, 429, 5xx), this is [`decision`](FailMode::decision): blocked when
    /// closed, autonomous when open. Any other error means the engine answered and the
    /// answer cannot be used (a wrong API key, a rejected request, an unreadable body, a
    /// broken configuration, an engine or approval error), so the call is blocked whatever
    /// the fail mode: the reason reads `"<cause> (<error>); blocking whatever the fail
    /// mode"` (for example `"the decision service rejected the API key (...); blocking
    /// whatever the fail mode"`), and `raw` records `fail_mode: "closed"`, the `error`, its
    /// `error_class` (`auth`, `rejected_request`, `invalid_response`, `invalid_config`,
    /// `engine` or `approval`) and the `configured_fail_mode`, so [`Decision::fail_mode`]
    /// gives `Some(FailMode::Closed)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bighub_core::{Error, FailMode, Verdict};
    ///
    /// // Open lets a call through an outage...
    /// let outage = FailMode::Open.decision_for(&Error::Timeout(Duration::from_secs(10)));
    /// assert_eq!(outage.verdict(), Verdict::Execute);
    /// assert_eq!(outage.fail_mode(), Some(FailMode::Open));
    ///
    /// // ...but never past a service that refused the key.
    /// let refused = FailMode::Open.decision_for(&Error::Auth {
    ///     status: 401,
    ///     message: "Invalid API key".into(),
    /// });
    /// assert_eq!(refused.verdict(), Verdict::Blocked);
    /// assert_eq!(refused.fail_mode(), Some(FailMode::Closed));
    /// assert_eq!(refused.raw["error_class"], "auth");
    /// assert_eq!(
    ///     refused.reason.as_deref(),
    ///     Some(
    ///         "the decision service rejected the API key (BIGHUB rejected the API key \
    ///          (HTTP 401): Invalid API key; check BIGHUB_API_KEY); blocking whatever the \
    ///          fail mode"
    ///     )
    /// );
    /// ```
    pub fn decision_for(self, error: &Error) -> Decision {
        if error.is_unavailable() {
            return self.decision(error);
        }
        let (class, cause) = refusal(error);
        let error = error.to_string();
        let reason = format!("{cause} ({error}); blocking whatever the fail mode");
        synthetic(Synthetic {
            fail_mode: Self::Closed,
            mode: Mode::Blocked,
            recommendation: "do_not_proceed",
            error,
            reason,
            refusal: Some((class, self)),
        })
    }
}

/// What a synthetic decision is made of.
struct Synthetic {
    /// The fail mode applied (closed for refusals, whatever was configured).
    fail_mode: FailMode,
    mode: Mode,
    recommendation: &'static str,
    error: String,
    reason: String,
    /// For an error that is not unavailability: its class and the configured fail mode.
    refusal: Option<(&'static str, FailMode)>,
}

fn synthetic(s: Synthetic) -> Decision {
    let request_id = format!("{SYNTHETIC_ID_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let mut raw = Map::new();
    raw.insert("request_id".into(), Value::from(request_id.as_str()));
    raw.insert("fail_mode".into(), Value::from(s.fail_mode.as_str()));
    raw.insert("error".into(), Value::from(s.error));
    if let Some((class, configured)) = s.refusal {
        raw.insert("error_class".into(), Value::from(class));
        raw.insert(
            "configured_fail_mode".into(),
            Value::from(configured.as_str()),
        );
    }
    raw.insert("mode".into(), Value::from(s.mode.as_str()));
    raw.insert("recommendation".into(), Value::from(s.recommendation));
    raw.insert("reason".into(), Value::from(s.reason.as_str()));
    let mut d = Decision {
        request_id: Some(request_id),
        reason: Some(s.reason),
        recommendation: Some(s.recommendation.to_owned()),
        raw: Value::Object(raw),
        ..Decision::default()
    };
    d.set_mode(Some(s.mode));
    d
}

/// The class and the plain-words cause of an error that is not unavailability.
fn refusal(error: &Error) -> (&'static str, &'static str) {
    match error {
        Error::Auth { .. } => ("auth", "the decision service rejected the API key"),
        Error::Validation { .. } | Error::Status { .. } => (
            "rejected_request",
            "the decision service rejected the request",
        ),
        Error::InvalidResponse(_) => (
            "invalid_response",
            "the decision service sent an unreadable answer",
        ),
        Error::InvalidConfig(_) => ("invalid_config", "the decision engine is misconfigured"),
        Error::Engine(_) => ("engine", "the decision engine failed"),
        Error::Approval(_) => ("approval", "the approval cannot be used"),
        Error::LeaseLost { .. } => ("engine", "the decision engine failed"),
        // Only reached if `is_unavailable` and this list ever disagree; still a block.
        Error::Timeout(_) | Error::Network(_) | Error::RateLimited { .. } => {
            ("unavailable", "the decision service is unavailable")
        }
    }
}

impl fmt::Display for FailMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FailMode {
    type Err = Error;

    /// Parses `closed` or `open` (trimmed, case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("closed") {
            Ok(Self::Closed)
        } else if t.eq_ignore_ascii_case("open") {
            Ok(Self::Open)
        } else {
            Err(Error::InvalidConfig(format!(
                "fail mode {s:?} is not supported; use \"closed\" or \"open\""
            )))
        }
    }
}

impl Decision {
    /// The decision used when the service cannot be reached and the fail mode is closed:
    /// blocked, recommendation `do_not_proceed`. See [`FailMode::decision`].
    ///
    /// ```
    /// use bighub_core::{Decision, Verdict};
    ///
    /// let d = Decision::fail_closed(&"timed out after 5s");
    /// assert!(d.should_not_run);
    /// assert_eq!(d.verdict(), Verdict::Blocked);
    /// ```
    pub fn fail_closed(cause: &dyn fmt::Display) -> Decision {
        FailMode::Closed.decision(cause)
    }

    /// The decision used when the service cannot be reached and the fail mode is open:
    /// autonomous, recommendation `proceed`. See [`FailMode::decision`].
    ///
    /// ```
    /// use bighub_core::{Decision, Verdict};
    ///
    /// let d = Decision::fail_open(&"timed out after 5s");
    /// assert!(d.can_run);
    /// assert_eq!(d.verdict(), Verdict::Execute);
    /// ```
    pub fn fail_open(cause: &dyn fmt::Display) -> Decision {
        FailMode::Open.decision(cause)
    }

    /// The fail mode that produced this decision, when it stands in for an engine's answer
    /// ([`FailMode::decision`], [`FailMode::decision_for`]); `None` for a real answer. A
    /// decision made for an error that is not unavailability gives `Some(FailMode::Closed)`,
    /// whatever the configured fail mode.
    pub fn fail_mode(&self) -> Option<FailMode> {
        let raw = self.raw.as_object()?;
        raw.get("error")?.as_str()?;
        raw.get("fail_mode")?.as_str()?.parse().ok()
    }
}
