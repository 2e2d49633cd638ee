//! The configuration of what the history counts: `history_windows`, `rate_limits` and
//! `requires_prior` in `data.bighub.config`, and the history request a decision makes from
//! them.
//!
//! This module owns the typed forms of those keys ([`RateLimit`], [`RequiredPrior`],
//! [`Dimension`]), their checks (a name given twice, a zero limit or window), the forms the
//! default policy reads them in (each window also in seconds, a production environment
//! name widened to every production name), and each dimension's value in a call. It does
//! not read the store (`storage/history.rs` makes a call's history request from them) and
//! decides nothing: whether a limit applies to a call, and what happens over it, is the
//! policy's.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use bighub_core::ProposedAction;

use crate::duration::format_duration;

/// The most decisions or outcomes one count of the history reads (and so the highest
/// `max` a rate limit may have): a count stops there, so that its cost never grows with
/// the log.
pub const MAX_COUNT: u64 = 10_000;

/// A dimension of a call that the history counts decisions by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Dimension {
    /// Who the action is done as (`ProposedAction::actor`: the agent).
    Actor,
    /// The system acted on (`okta`, `argocd`, ...).
    System,
    /// The action's name.
    Action,
    /// The target (a group, a service, a database).
    Target,
}

impl Dimension {
    /// Every dimension, in the order `input.history.windows` lists them.
    pub const ALL: [Dimension; 4] = [Self::Actor, Self::System, Self::Action, Self::Target];

    /// Its name (`actor`, `system`, `action`, `target`), which is also its column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actor => "actor",
            Self::System => "system",
            Self::Action => "action",
            Self::Target => "target",
        }
    }

    /// The call's value of this dimension, as the store records it; `None` when the call
    /// has none (no system, no target, an empty actor).
    pub(crate) fn value<'a>(self, action: &'a ProposedAction, name: &'a str) -> Option<&'a str> {
        let value = match self {
            Self::Actor => Some(action.actor.as_str()),
            Self::System => action.system.as_deref(),
            Self::Action => Some(name),
            Self::Target => action.target.as_deref(),
        };
        value.filter(|v| !v.is_empty())
    }
}

/// A rate limit: at most `max` calls in `window`, counted per value of `per`, for the calls
/// its filters select (`rate_limits`).
///
/// ```json
/// {"name": "prod-deploys", "max": 3, "window": "1h", "action": "deploy",
///  "environment": "production", "per": "actor"}
/// ```
///
/// A call the filters select (each filter given must equal the call's value, lower-cased;
/// `environment` may name any production environment to mean all of them) whose `per`
/// value already has `max` decisions in the window that were allowed to run or sent to
/// review (modes `autonomous`, `constrained`, `review`), on calls the same filters select,
/// is sent to review: the call itself would be one too many.
///
/// One engine decides the calls a limit may count one after the other, from reading the
/// count to recording the decision, so its threads never overrun a limit together. Across
/// processes (several servers on one database) a limit is checked, not reserved: calls
/// decided at the same moment may each see the count from before the others were recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimit {
    /// Its name, unique among the limits: in reasons, factors and
    /// `input.history.rate_limits`.
    pub name: String,
    /// How many calls the window allows (a whole number from 1 to [`MAX_COUNT`]).
    pub max: u64,
    /// How far back calls count (`"1h"`, `"24h"`, ...; the forms of
    /// `max_privilege_duration`).
    #[serde(with = "crate::duration::text")]
    pub window: Duration,
    /// Only calls made as this actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Only calls on this system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Only calls of this action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only calls in this environment (a production name means every production name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Which of the call's values the limit is counted for (`actor` by default): `actor`
    /// for "per agent", `target` for "to one group".
    #[serde(default = "default_per")]
    pub per: Dimension,
}

fn default_per() -> Dimension {
    Dimension::Actor
}

/// A prerequisite: `action` needs an outcome of `prior_action` with `status` on the same
/// target within `window` (`requires_prior`).
///
/// ```json
/// {"name": "backup-first", "action": "rotate_credential", "prior_action": "backup_database",
///  "window": "1h"}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequiredPrior {
    /// Its name, unique among the prerequisites, in reasons and factors.
    pub name: String,
    /// The action that needs the prerequisite.
    pub action: String,
    /// The action whose outcome must be recorded first, on the same target.
    pub prior_action: String,
    /// How recent that outcome must be.
    #[serde(with = "crate::duration::text")]
    pub window: Duration,
    /// The outcome's status (`SUCCESS` by default).
    #[serde(default = "default_status")]
    pub status: String,
}

fn default_status() -> String {
    "SUCCESS".to_owned()
}

/// A problem with one of these keys: its path under `data.bighub.config` and the message.
pub(crate) type Problem = (String, String);

/// Checks what the types cannot: names given once, limits and windows above zero.
pub(crate) fn validate(
    windows: &[Duration],
    limits: &[RateLimit],
    priors: &[RequiredPrior],
) -> Result<(), Problem> {
    for (i, w) in windows.iter().enumerate() {
        if w.as_secs() == 0 {
            return Err((format!("history_windows[{i}]"), zero_window()));
        }
    }
    let mut names = BTreeSet::new();
    for (i, l) in limits.iter().enumerate() {
        if l.name.trim().is_empty() {
            return Err((format!("rate_limits[{i}].name"), "a name is needed".into()));
        }
        if !names.insert(l.name.as_str()) {
            return Err((
                format!("rate_limits[{i}].name"),
                format!("`{}` names another limit too", l.name.escape_debug()),
            ));
        }
        if l.max == 0 || l.max > MAX_COUNT {
            return Err((
                format!("rate_limits[{i}].max"),
                format!(
                    "expected a whole number from 1 to {MAX_COUNT}, found {}",
                    l.max
                ),
            ));
        }
        if l.window.as_secs() == 0 {
            return Err((format!("rate_limits[{i}].window"), zero_window()));
        }
    }
    let mut names = BTreeSet::new();
    for (i, p) in priors.iter().enumerate() {
        if p.name.trim().is_empty() {
            return Err((
                format!("requires_prior[{i}].name"),
                "a name is needed".into(),
            ));
        }
        if !names.insert(p.name.as_str()) {
            return Err((
                format!("requires_prior[{i}].name"),
                format!("`{}` names another prerequisite too", p.name.escape_debug()),
            ));
        }
        if p.window.as_secs() == 0 {
            return Err((format!("requires_prior[{i}].window"), zero_window()));
        }
        for (key, value) in [("action", &p.action), ("prior_action", &p.prior_action)] {
            if value.trim().is_empty() {
                return Err((
                    format!("requires_prior[{i}].{key}"),
                    "an action name is needed".into(),
                ));
            }
        }
    }
    Ok(())
}

fn zero_window() -> String {
    "expected a window longer than a second".to_owned()
}

/// Lower-cases the names the policy compares (statuses upper-cased), and sorts the windows.
pub(crate) fn normalize(
    windows: &mut Vec<Duration>,
    limits: &mut [RateLimit],
    priors: &mut [RequiredPrior],
) {
    let lower = |s: &mut Option<String>| {
        if let Some(s) = s {
            *s = s.trim().to_lowercase();
        }
    };
    windows.sort();
    windows.dedup();
    for l in limits {
        lower(&mut l.actor);
        lower(&mut l.system);
        lower(&mut l.action);
        lower(&mut l.environment);
    }
    for p in priors {
        p.action = p.action.trim().to_lowercase();
        p.prior_action = p.prior_action.trim().to_lowercase();
        p.status = p.status.trim().to_uppercase();
    }
}

impl RateLimit {
    /// The environments its `environment` stands for: every production name when it is
    /// one of them, else itself; none without one.
    pub(crate) fn environments(&self, production: &[String]) -> Vec<String> {
        match &self.environment {
            Some(e) if production.contains(e) => production.to_vec(),
            Some(e) => vec![e.clone()],
            None => Vec::new(),
        }
    }
}

/// Adds to the policy's data what it computes with: each window also in seconds and as
/// text, and each limit's `environments`.
pub(crate) fn to_data(
    data: &mut Value,
    windows: &[Duration],
    limits: &[RateLimit],
    priors: &[RequiredPrior],
    production: &[String],
) {
    data["history_windows"] = json!(
        windows
            .iter()
            .map(|w| format_duration(w.as_secs()))
            .collect::<Vec<_>>()
    );
    if let Some(list) = data["rate_limits"].as_array_mut() {
        for (l, out) in limits.iter().zip(list) {
            out["window_seconds"] = json!(l.window.as_secs());
            out["window_text"] = json!(format_duration(l.window.as_secs()));
            out["environments"] = json!(l.environments(production));
        }
    }
    if let Some(list) = data["requires_prior"].as_array_mut() {
        for (p, out) in priors.iter().zip(list) {
            out["window_seconds"] = json!(p.window.as_secs());
            out["window_text"] = json!(format_duration(p.window.as_secs()));
        }
    }
}
