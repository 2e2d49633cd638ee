//! What to decide when the decision service cannot answer.
//!
//! This module owns [`FailMode`] (parsing, display) and the synthetic decision that stands
//! in for a missing answer. It does not decide *when* the service is unreachable (the
//! engines do, after their retries) and it does not gate (`gate.rs` gates the synthetic
//! decision like any other).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Decision, Error, Mode};

/// Fail closed (block) or open (proceed) when the decision engine cannot answer.
///
/// Closed is the default: an unreachable service must not turn into an unguarded call.
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
/// assert_eq!(d.verdict(), Verdict::Block);
/// assert_eq!(
///     d.reason.as_deref(),
///     Some("decision service unavailable (connection refused); failing closed")
/// );
/// assert_eq!(d.fail_mode(), Some(FailMode::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Block the call (mode `blocked`, recommendation `do_not_proceed`).
    #[default]
    Closed,
    /// Let the call run (mode `autonomous`, recommendation `proceed`).
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

    /// The decision that stands in for the service's answer when it cannot be reached.
    ///
    /// Its `reason` says why; its `raw` is an object recording `fail_mode` and `error`
    /// (plus the mode, recommendation and reason), so normalising `raw` again gives the
    /// same decision and [`Decision::fail_mode`] recognises it.
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
        let raw = json!({
            "fail_mode": self.as_str(),
            "error": error,
            "mode": mode.as_str(),
            "recommendation": recommendation,
            "reason": reason,
        });
        let mut d = Decision {
            reason: Some(reason),
            recommendation: Some(recommendation.to_owned()),
            raw,
            ..Decision::default()
        };
        d.set_mode(Some(mode));
        d
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
    /// assert_eq!(d.verdict(), Verdict::Block);
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

    /// The fail mode that produced this decision, when it stands in for an unreachable
    /// service ([`FailMode::decision`]); `None` for a real answer.
    pub fn fail_mode(&self) -> Option<FailMode> {
        let raw = self.raw.as_object()?;
        raw.get("error")?.as_str()?;
        raw.get("fail_mode")?.as_str()?.parse().ok()
    }
}
