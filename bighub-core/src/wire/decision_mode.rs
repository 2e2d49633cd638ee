//! How a proposed action is shaped for `POST /actions/evaluate`.
//!
//! This file owns the choice between the two body shapes and its parsing; building the
//! bodies lives in `body.rs`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// How an action is submitted to `POST /actions/evaluate`.
///
/// Both modes send the same information to the same endpoint; they differ in how the body
/// treats fields the action does not know:
///
/// - [`Submit`](Self::Submit) (the default) sends keyword-style fields: `action`, `actor`
///   and `context` always, and `value`, `target`, `domain` only when the action has them.
///
///   ```json
///   {"action": "grant_access", "actor": "ops-agent", "target": "okta-admins",
///    "domain": "it_actions", "context": {"objective": "better_decision", "...": "..."}}
///   ```
///
/// - [`SubmitPayload`](Self::SubmitPayload) sends one complete payload object in which
///   every action field is present, `null` when unknown, for services or proxies that
///   expect a fixed record shape.
///
///   ```json
///   {"action": "grant_access", "actor": "ops-agent", "value": null,
///    "target": "okta-admins", "domain": "it_actions", "context": {"...": "..."}}
///   ```
///
/// Parse one from configuration with [`FromStr`]:
///
/// ```
/// use bighub_core::wire::DecisionMode;
///
/// let mode: DecisionMode = "submit_payload".parse()?;
/// assert_eq!(mode, DecisionMode::SubmitPayload);
/// assert_eq!(mode.to_string(), "submit_payload");
/// assert!("payload".parse::<DecisionMode>().is_err());
/// # Ok::<(), bighub_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DecisionMode {
    /// Keyword-style fields; unknown optional fields are left out.
    #[default]
    Submit,
    /// One complete payload object; unknown fields are sent as `null`.
    SubmitPayload,
}

impl DecisionMode {
    /// The configuration name (`submit`, `submit_payload`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::SubmitPayload => "submit_payload",
        }
    }
}

impl fmt::Display for DecisionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DecisionMode {
    type Err = Error;

    /// Accepts `submit` or `submit_payload` (trimmed, case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "submit" => Ok(Self::Submit),
            "submit_payload" => Ok(Self::SubmitPayload),
            other => Err(Error::InvalidConfig(format!(
                "unknown decision mode `{other}`: expected `submit` or `submit_payload`"
            ))),
        }
    }
}
