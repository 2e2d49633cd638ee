//! The policy configuration (`data.bighub.config`): its typed form, the shipped defaults,
//! merging, and checking at start-up.
//!
//! This module owns [`PolicyConfig`] and the path configuration takes into the Rego data:
//! the shipped defaults (`default_data.json`), then each source (a `.json` policy file,
//! builder data, builder config) merged over what came before, objects key by key. Each
//! source is checked on its own over the defaults, so that an unknown key or a wrong value
//! is reported naming the key and the source it came from; then the merged configuration
//! is written back in the forms the policy reads (a duration in seconds, freeze windows in
//! unix seconds, lower-cased names).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use bighub_core::Mode;

use super::LocalError;
use super::clock::parse_timestamp;
use super::duration::format_duration;
use super::duration::text as duration_text;
use super::history_config;
pub use super::history_config::{Dimension, MAX_COUNT, RateLimit, RequiredPrior};

/// The shipped configuration of the default policy, as Rego data.
pub const DEFAULT_DATA: &str = include_str!("default_data.json");

/// The configuration of the default policy: `data.bighub.config`, typed.
///
/// Every key the default policy reads, with its type; an unknown key, a value of the wrong
/// type or an invalid value is an error when the engine is built
/// ([`LocalError::InvalidConfig`]), naming the key, where it came from, and for a
/// misspelt key the closest known one. The keys, their types and defaults are listed in
/// [the crate docs](crate#configuring-it-with-data); [`Default`] gives the shipped values
/// ([`DEFAULT_DATA`]).
///
/// A source of configuration (builder config, builder data, a `.json` policy file) holds
/// only the keys it changes: it is merged over the defaults and the sources before it,
/// objects key by key (`{"risk_matrix": {"high": {"production": "blocked"}}}` changes one
/// cell), anything else replacing what was there (lists are replaced, not appended to).
///
/// ```
/// use std::time::Duration;
/// use bighub_local::PolicyConfig;
/// use serde_json::json;
///
/// let config = PolicyConfig::from_overrides(
///     json!({"max_privilege_duration": "4h", "kill_switch": {"systems": ["ArgoCD"]}}),
///     "example",
/// )
/// .unwrap();
/// assert_eq!(config.max_privilege_duration, Duration::from_secs(4 * 3600));
/// assert_eq!(config.kill_switch.systems, ["argocd"]);
/// assert_eq!(config.failure_threshold, PolicyConfig::default().failure_threshold);
///
/// let err = PolicyConfig::from_overrides(json!({"max_privelege_duration": "4h"}), "example")
///     .unwrap_err();
/// assert!(err.to_string().contains("did you mean `max_privilege_duration`?"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicyConfig {
    /// The longest privilege escalation that runs without review (`"2h"`; text such as
    /// `"4h"`, `"90m"`, `"2 days"`, `"PT4H"`, or whole seconds).
    #[serde(with = "duration_text")]
    pub max_privilege_duration: Duration,
    /// Verbs that make an action a read when they are its first word.
    pub read_only_verbs: Vec<String>,
    /// Verbs that make an action destructive (multi-word verbs such as `force-push` match
    /// inside the name).
    pub destructive_verbs: Vec<String>,
    /// Verbs of privilege escalation (`grant`, `assume`, `elevate`, ...).
    pub privilege_verbs: Vec<String>,
    /// Systems that hold identities and their privileges (`okta`, `iam`, `entra`, ...).
    pub identity_systems: Vec<String>,
    /// Fragments of admin group names (`admin`, `root`, ...), matched inside lower-cased
    /// group names and targets.
    pub admin_group_patterns: Vec<String>,
    /// Environment names that mean production.
    pub production_environments: Vec<String>,
    /// Environment names that mean the environment is not known.
    pub unknown_environments: Vec<String>,
    /// Windows in which no change runs (reads still do).
    #[serde(deserialize_with = "null_as_default")]
    pub freeze_windows: Vec<FreezeWindow>,
    /// The kill switch: everything, or the actions on some systems, blocked.
    pub kill_switch: KillSwitch,
    /// How many `FAILURE` outcomes in 24 hours, for the same action and target, send the
    /// next call to review (a positive whole number).
    pub failure_threshold: u64,
    /// The mode of a change by declared risk and environment.
    pub risk_matrix: RiskMatrix,
    /// The base risk score of a change by declared risk (0 to 1).
    pub risk_scores: RiskScores,
    /// The base risk score of a read (0 to 1).
    pub read_only_risk_score: f64,
    /// What each aggravating fact adds to the risk score (0 to 1 each; the score is capped
    /// at 1).
    pub risk_score_raise: RiskScoreRaise,
    /// For each system, the PagerDuty services (ids or names) whose active incidents
    /// concern it, besides a service named like the system or the action's target.
    #[serde(deserialize_with = "null_as_default")]
    pub incident_services: BTreeMap<String, Vec<String>>,
    /// The systems whose actions are Argo CD syncs, which Argo CD sync windows govern.
    pub argocd_systems: Vec<String>,
    /// The oldest security scan a deploy that needs one may rely on (`"24h"`; the same
    /// forms as `max_privilege_duration`).
    #[serde(with = "duration_text")]
    pub max_scan_age: Duration,
    /// How long a pending approval waits for an answer before it expires (`"24h"`; the same
    /// forms as `max_privilege_duration`); a finding may shorten it for its call.
    #[serde(with = "duration_text")]
    pub approval_ttl: Duration,
    /// The action families whose production calls, when reviewed, must be approved by
    /// someone other than who asked for them (separation of duties): for example
    /// `["privilege_escalation"]`. Empty by default, so that an application's own inline
    /// answer approves its calls; the decision server's `--separate-approver` requires it
    /// of every approval answered through its API.
    pub separate_approver_in_production: Vec<ActionFamily>,
    /// The windows `input.history.windows` counts decisions and outcomes over, by actor,
    /// system, action and target (`["1h", "24h"]`; each a duration).
    #[serde(with = "duration_list", default = "default_windows")]
    pub history_windows: Vec<Duration>,
    /// Rate limits: at most so many calls in a window, per actor, system, action or target.
    #[serde(default, deserialize_with = "null_as_default")]
    pub rate_limits: Vec<RateLimit>,
    /// Prerequisites: an action that needs a recent outcome of another on the same target.
    #[serde(default, deserialize_with = "null_as_default")]
    pub requires_prior: Vec<RequiredPrior>,
}

fn default_windows() -> Vec<Duration> {
    vec![Duration::from_secs(3600), Duration::from_secs(24 * 3600)]
}

/// What kind of action a call is, as the default policy classifies it (`action_family`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActionFamily {
    /// A read.
    ReadOnly,
    /// A change that is neither destructive nor a privilege escalation.
    Change,
    /// A change with a destructive verb.
    DestructiveChange,
    /// A privilege escalation.
    PrivilegeEscalation,
}

/// A change freeze: no change runs from `start` to `end` on the systems and environments
/// it names (all when a list is empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FreezeWindow {
    /// Its name in reasons (`"window 1"`, `"window 2"`, ... when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When it starts (RFC 3339, e.g. `2026-12-20T00:00:00Z`).
    pub start: String,
    /// When it ends (RFC 3339), after `start`.
    pub end: String,
    /// The systems it applies to; empty: all.
    #[serde(default, deserialize_with = "null_as_default")]
    pub systems: Vec<String>,
    /// The environments it applies to; empty: all.
    #[serde(default, deserialize_with = "null_as_default")]
    pub environments: Vec<String>,
}

/// The kill switch: `true` or `false` for everything, or
/// `{"global": bool, "systems": [names]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct KillSwitch {
    /// Blocks every action, reads too.
    pub global: bool,
    /// Blocks every action on these systems, reads too.
    pub systems: Vec<String>,
}

/// The mode of a change for each declared risk (an undeclared risk counts as medium).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RiskMatrix {
    /// Low risk.
    pub low: RiskRow,
    /// Medium risk.
    pub medium: RiskRow,
    /// High risk.
    pub high: RiskRow,
    /// Critical risk.
    pub critical: RiskRow,
}

/// The modes of one risk tier: in production, and anywhere else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RiskRow {
    /// In a production environment (`production_environments`).
    pub production: Mode,
    /// Anywhere else, or where the environment is not known.
    pub other: Mode,
}

/// A risk score for each declared risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RiskScores {
    /// Low risk.
    pub low: f64,
    /// Medium risk (and undeclared).
    pub medium: f64,
    /// High risk.
    pub high: f64,
    /// Critical risk.
    pub critical: f64,
}

/// What each aggravating fact adds to the risk score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RiskScoreRaise {
    /// The action runs in production.
    pub production: f64,
    /// A privilege is asked for longer than `max_privilege_duration`.
    pub excess_duration: f64,
    /// `failure_threshold` failures or more in 24 hours.
    pub recent_failures: f64,
    /// The action is destructive.
    pub destructive: f64,
}

/// The keys of each object of the configuration, for reporting an unknown key with the
/// known ones next to it. `shapes_match_the_types` keeps it in step with the types.
enum Shape {
    /// A value whose type the deserializer checks.
    Value,
    /// An object whose keys are names the user chooses, and whose values the deserializer
    /// checks.
    Map,
    /// An object with these keys.
    Fields(&'static [(&'static str, Shape)]),
    /// A list of these.
    Each(&'static Shape),
}

const ROW: Shape = Shape::Fields(&[("production", Shape::Value), ("other", Shape::Value)]);
const TIERS: Shape = Shape::Fields(&[
    ("low", Shape::Value),
    ("medium", Shape::Value),
    ("high", Shape::Value),
    ("critical", Shape::Value),
]);
const WINDOW: Shape = Shape::Fields(&[
    ("name", Shape::Value),
    ("start", Shape::Value),
    ("end", Shape::Value),
    ("systems", Shape::Value),
    ("environments", Shape::Value),
]);
const CONFIG: Shape = Shape::Fields(&[
    ("max_privilege_duration", Shape::Value),
    ("read_only_verbs", Shape::Value),
    ("destructive_verbs", Shape::Value),
    ("privilege_verbs", Shape::Value),
    ("identity_systems", Shape::Value),
    ("admin_group_patterns", Shape::Value),
    ("production_environments", Shape::Value),
    ("unknown_environments", Shape::Value),
    ("freeze_windows", Shape::Each(&WINDOW)),
    (
        "kill_switch",
        Shape::Fields(&[("global", Shape::Value), ("systems", Shape::Value)]),
    ),
    ("failure_threshold", Shape::Value),
    (
        "risk_matrix",
        Shape::Fields(&[
            ("low", ROW),
            ("medium", ROW),
            ("high", ROW),
            ("critical", ROW),
        ]),
    ),
    ("risk_scores", TIERS),
    ("read_only_risk_score", Shape::Value),
    (
        "risk_score_raise",
        Shape::Fields(&[
            ("production", Shape::Value),
            ("excess_duration", Shape::Value),
            ("recent_failures", Shape::Value),
            ("destructive", Shape::Value),
        ]),
    ),
    ("incident_services", Shape::Map),
    ("argocd_systems", Shape::Value),
    ("max_scan_age", Shape::Value),
    ("approval_ttl", Shape::Value),
    ("separate_approver_in_production", Shape::Value),
    ("history_windows", Shape::Value),
    ("rate_limits", Shape::Each(&RATE_LIMIT)),
    ("requires_prior", Shape::Each(&REQUIRED_PRIOR)),
]);
const RATE_LIMIT: Shape = Shape::Fields(&[
    ("name", Shape::Value),
    ("max", Shape::Value),
    ("window", Shape::Value),
    ("actor", Shape::Value),
    ("system", Shape::Value),
    ("action", Shape::Value),
    ("environment", Shape::Value),
    ("per", Shape::Value),
]);
const REQUIRED_PRIOR: Shape = Shape::Fields(&[
    ("name", Shape::Value),
    ("action", Shape::Value),
    ("prior_action", Shape::Value),
    ("window", Shape::Value),
    ("status", Shape::Value),
]);

/// Where configuration keys live in the Rego data.
const ROOT: &str = "data.bighub.config";

/// A problem with one key: its path under [`ROOT`] (`kill_switch.systems`,
/// `freeze_windows[0].start`; empty for the object itself) and what is wrong.
struct KeyError {
    path: String,
    message: String,
}

impl KeyError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    fn into_error(self, origin: &str) -> LocalError {
        let key = if self.path.is_empty() {
            ROOT.to_owned()
        } else {
            format!("{ROOT}.{}", self.path)
        };
        LocalError::InvalidConfig {
            origin: origin.to_owned(),
            key,
            message: self.message,
        }
    }
}

impl Default for PolicyConfig {
    /// The shipped configuration ([`DEFAULT_DATA`]).
    fn default() -> Self {
        // The file is part of the crate, and its test (`the_shipped_defaults_are_valid`)
        // keeps it valid.
        Self::checked(default_config(), "the shipped defaults")
            .unwrap_or_else(|e| panic!("the shipped policy configuration is invalid: {e}"))
    }
}

impl PolicyConfig {
    /// The shipped defaults with `overrides` (the keys of `data.bighub.config` to change)
    /// merged over them, checked: an unknown key, a wrong type or an invalid value is
    /// [`LocalError::InvalidConfig`], naming the key and `origin` (where the overrides
    /// came from, for the message).
    pub fn from_overrides(overrides: Value, origin: &str) -> Result<Self, LocalError> {
        let mut config = default_config();
        check_keys(&overrides, origin)?;
        deep_merge(&mut config, overrides);
        Self::checked(config, origin)
    }

    /// Reads a whole configuration object, checks it and normalises it (lower-cased
    /// names, freeze windows named).
    fn checked(config: Value, origin: &str) -> Result<Self, LocalError> {
        check_keys(&config, origin)?;
        let mut parsed: Self = serde_path_to_error::deserialize(config).map_err(|e| {
            let path = match e.path().to_string() {
                p if p == "." => String::new(),
                p => p,
            };
            KeyError::new(path, e.into_inner().to_string()).into_error(origin)
        })?;
        parsed.validate().map_err(|e| e.into_error(origin))?;
        parsed.normalize();
        Ok(parsed)
    }

    /// The checks types cannot express.
    fn validate(&self) -> Result<(), KeyError> {
        for (i, p) in self.admin_group_patterns.iter().enumerate() {
            if p.trim().is_empty() {
                return Err(KeyError::new(
                    format!("admin_group_patterns[{i}]"),
                    "an empty fragment would match every group",
                ));
            }
        }
        if self.failure_threshold == 0 {
            return Err(KeyError::new(
                "failure_threshold",
                "expected a positive whole number, found 0",
            ));
        }
        for (i, w) in self.freeze_windows.iter().enumerate() {
            let start = parse_timestamp(&w.start)
                .map_err(|e| KeyError::new(format!("freeze_windows[{i}].start"), e.to_string()))?;
            let end = parse_timestamp(&w.end)
                .map_err(|e| KeyError::new(format!("freeze_windows[{i}].end"), e.to_string()))?;
            if end <= start {
                return Err(KeyError::new(
                    format!("freeze_windows[{i}]"),
                    format!("ends ({}) before it starts ({})", w.end, w.start),
                ));
            }
        }
        let m = &self.risk_matrix;
        for (tier, row) in [
            ("low", &m.low),
            ("medium", &m.medium),
            ("high", &m.high),
            ("critical", &m.critical),
        ] {
            for (env, mode) in [("production", row.production), ("other", row.other)] {
                if matches!(mode, Mode::Shadow | Mode::DryRun) {
                    return Err(KeyError::new(
                        format!("risk_matrix.{tier}.{env}"),
                        format!(
                            "`{mode}` is not a mode the policy decides; use autonomous, \
                             constrained, review, needs_context or blocked"
                        ),
                    ));
                }
            }
        }
        history_config::validate(
            &self.history_windows,
            &self.rate_limits,
            &self.requires_prior,
        )
        .map_err(|(path, message)| KeyError::new(path, message))?;
        let (s, r) = (&self.risk_scores, &self.risk_score_raise);
        for (key, score) in [
            ("risk_scores.low", s.low),
            ("risk_scores.medium", s.medium),
            ("risk_scores.high", s.high),
            ("risk_scores.critical", s.critical),
            ("read_only_risk_score", self.read_only_risk_score),
            ("risk_score_raise.production", r.production),
            ("risk_score_raise.excess_duration", r.excess_duration),
            ("risk_score_raise.recent_failures", r.recent_failures),
            ("risk_score_raise.destructive", r.destructive),
        ] {
            if !(0.0..=1.0).contains(&score) {
                return Err(KeyError::new(
                    key,
                    format!("expected a number from 0 to 1, found {score}"),
                ));
            }
        }
        Ok(())
    }

    /// Names are compared lower-cased and trimmed, as the engine lower-cases what it
    /// compares them with.
    fn normalize(&mut self) {
        let lower = |list: &mut Vec<String>| {
            for s in list.iter_mut() {
                *s = s.trim().to_lowercase();
            }
        };
        for list in [
            &mut self.read_only_verbs,
            &mut self.destructive_verbs,
            &mut self.privilege_verbs,
            &mut self.identity_systems,
            &mut self.admin_group_patterns,
            &mut self.production_environments,
            &mut self.unknown_environments,
            &mut self.kill_switch.systems,
            &mut self.argocd_systems,
        ] {
            lower(list);
        }
        self.incident_services = std::mem::take(&mut self.incident_services)
            .into_iter()
            .map(|(system, mut services)| {
                lower(&mut services);
                (system.trim().to_lowercase(), services)
            })
            .collect();
        history_config::normalize(
            &mut self.history_windows,
            &mut self.rate_limits,
            &mut self.requires_prior,
        );
        for (i, w) in self.freeze_windows.iter_mut().enumerate() {
            lower(&mut w.systems);
            lower(&mut w.environments);
            w.name.get_or_insert_with(|| format!("window {}", i + 1));
        }
    }

    /// The Rego data the default policy reads: these values, plus the forms it computes
    /// with (`max_privilege_duration_seconds` and `_text`, `max_scan_age_seconds` and
    /// `_text`, `approval_ttl_seconds`, each window's `start_unix` and `end_unix`).
    fn to_data(&self) -> Value {
        let mut data = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        let secs = self.max_privilege_duration.as_secs();
        data["max_privilege_duration_seconds"] = json!(secs);
        data["max_privilege_duration_text"] = json!(format_duration(secs));
        let scan_age = self.max_scan_age.as_secs();
        data["max_scan_age_seconds"] = json!(scan_age);
        data["max_scan_age_text"] = json!(format_duration(scan_age));
        data["approval_ttl_seconds"] = json!(self.approval_ttl.as_secs());
        history_config::to_data(
            &mut data,
            &self.history_windows,
            &self.rate_limits,
            &self.requires_prior,
            &self.production_environments,
        );
        if let Some(windows) = data["freeze_windows"].as_array_mut() {
            for w in windows {
                for (field, unix) in [("start", "start_unix"), ("end", "end_unix")] {
                    // Validated when the configuration was read.
                    let at = w[field].as_str().and_then(|t| parse_timestamp(t).ok());
                    w[unix] = json!(at);
                }
            }
        }
        data
    }
}

/// Checks that every key of `config` (the object at `data.bighub.config`) is known.
fn check_keys(config: &Value, origin: &str) -> Result<(), LocalError> {
    if !config.is_object() {
        return Err(KeyError::new(
            "",
            format!("expected an object of settings, found {}", kind(config)),
        )
        .into_error(origin));
    }
    walk(config, &CONFIG, &mut String::new()).map_err(|e| e.into_error(origin))
}

fn walk(value: &Value, shape: &Shape, path: &mut String) -> Result<(), KeyError> {
    match (shape, value) {
        (Shape::Fields(fields), Value::Object(map)) => {
            for (key, v) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                let Some((_, inner)) = fields.iter().find(|(name, _)| name == key) else {
                    let known: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
                    return Err(KeyError::new(path.clone(), unknown_key(key, &known)));
                };
                walk(v, inner, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        (Shape::Each(inner), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(v, inner, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        // Other types are the deserializer's to report, with what it expected.
        _ => Ok(()),
    }
}

/// "unknown key", and the known key it most likely meant, or the known keys.
fn unknown_key(key: &str, known: &[&str]) -> String {
    match closest(key, known) {
        Some(k) => format!("unknown key; did you mean `{k}`?"),
        None => {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!("unknown key; the known keys here are {}", list.join(", "))
        }
    }
}

/// The candidate nearest to `word` by edit distance, when it is near enough to be a
/// misspelling of it (a third of the longer word's letters, at least two).
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(&word, &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= (word.chars().count().max(c.chars().count()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `null` reads as the empty value, as it did before the configuration was typed.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// A list of durations, each as `duration_text` reads and writes it.
mod duration_list {
    use super::*;

    pub(super) fn serialize<S: Serializer>(list: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(|d| format_duration(d.as_secs())))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Item(#[serde(with = "crate::duration::text")] Duration);
        let items = Option::<Vec<Item>>::deserialize(d)?.unwrap_or_default();
        Ok(items.into_iter().map(|Item(d)| d).collect())
    }
}

/// The fields of a kill switch written as an object.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KillSwitchFields {
    #[serde(default, deserialize_with = "null_as_default")]
    global: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    systems: Vec<String>,
}

impl<'de> Deserialize<'de> for KillSwitch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KillSwitch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false, or {\"global\": true|false, \"systems\": [names]}")
            }
            fn visit_bool<E: de::Error>(self, global: bool) -> Result<KillSwitch, E> {
                Ok(KillSwitch {
                    global,
                    systems: Vec::new(),
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<KillSwitch, E> {
                Ok(KillSwitch::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<KillSwitch, A::Error> {
                let f = KillSwitchFields::deserialize(MapAccessDeserializer::new(map))?;
                Ok(KillSwitch {
                    global: f.global,
                    systems: f.systems,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// The shipped defaults, parsed: `{"bighub": {"config": {...}}}`.
pub(crate) fn default_data() -> Value {
    // The file is part of the crate and checked by the tests.
    serde_json::from_str(DEFAULT_DATA).unwrap_or_else(|_| json!({"bighub": {"config": {}}}))
}

/// The shipped `data.bighub.config` object.
fn default_config() -> Value {
    default_data()["bighub"]["config"].take()
}

/// Merges `over` into `base`: objects merge key by key, anything else replaces.
pub(crate) fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Merges Rego data documents over the shipped defaults, in order, each named by where it
/// came from (a file path, `builder data`, `builder config`); returns the data with its
/// configuration in the form the policy reads, and the configuration.
///
/// Each document's `bighub.config` is checked on its own over the defaults, so an error
/// names the document it is in.
pub(crate) fn resolve(
    sources: impl IntoIterator<Item = (String, Value)>,
) -> Result<(Value, PolicyConfig), LocalError> {
    let mut data = default_data();
    let defaults = default_config();
    for (origin, doc) in sources {
        if let Some(bighub) = doc.get("bighub") {
            let Some(bighub) = bighub.as_object() else {
                return Err(LocalError::InvalidConfig {
                    origin,
                    key: "data.bighub".to_owned(),
                    message: format!(
                        "expected an object holding `config`, found {}",
                        kind(bighub)
                    ),
                });
            };
            if let Some(config) = bighub.get("config") {
                check_keys(config, &origin)?;
                let mut merged = defaults.clone();
                deep_merge(&mut merged, config.clone());
                PolicyConfig::checked(merged, &origin)?;
            }
        }
        deep_merge(&mut data, doc);
    }
    let config =
        PolicyConfig::checked(data["bighub"]["config"].take(), "the merged configuration")?;
    data["bighub"]["config"] = config.to_data();
    Ok((data, config))
}

/// Checks and normalises `data.bighub.config` in place.
#[cfg(test)]
pub(crate) fn normalize(data: &mut Value) -> Result<(), LocalError> {
    let config = PolicyConfig::checked(data["bighub"]["config"].take(), "policy data")?;
    data["bighub"]["config"] = config.to_data();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_defaults_are_valid() {
        let config = PolicyConfig::checked(default_config(), "defaults").unwrap();
        assert_eq!(config, PolicyConfig::default());
        assert_eq!(config.max_privilege_duration, Duration::from_secs(7200));
        let mut data = default_data();
        normalize(&mut data).unwrap();
        assert_eq!(
            data["bighub"]["config"]["max_privilege_duration_seconds"],
            7200
        );
        assert_eq!(
            data["bighub"]["config"]["max_privilege_duration_text"],
            "2h"
        );
    }

    /// The keys the checker knows are exactly the fields of the types.
    #[test]
    fn shapes_match_the_types() {
        let mut config = PolicyConfig::default();
        config.freeze_windows.push(FreezeWindow {
            name: Some("w".into()),
            start: "2026-12-20T00:00:00Z".into(),
            end: "2027-01-04T00:00:00Z".into(),
            systems: vec![],
            environments: vec![],
        });
        config.rate_limits.push(RateLimit {
            name: "l".into(),
            max: 1,
            window: Duration::from_secs(3600),
            actor: Some("a".into()),
            system: Some("s".into()),
            action: Some("deploy".into()),
            environment: Some("production".into()),
            per: Dimension::Target,
        });
        config.requires_prior.push(RequiredPrior {
            name: "p".into(),
            action: "a".into(),
            prior_action: "b".into(),
            window: Duration::from_secs(3600),
            status: "SUCCESS".into(),
        });
        fn same(value: &Value, shape: &Shape, path: &str) {
            match (shape, value) {
                (Shape::Fields(fields), Value::Object(map)) => {
                    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                    assert_eq!(keys, names, "at {path}");
                    for (name, inner) in *fields {
                        same(&map[*name], inner, &format!("{path}.{name}"));
                    }
                }
                (Shape::Each(inner), Value::Array(items)) => {
                    for v in items {
                        same(v, inner, &format!("{path}[]"));
                    }
                }
                (Shape::Value, v) => assert!(!v.is_object(), "{path} is an object"),
                (Shape::Map, v) => assert!(v.is_object(), "{path} is not an object"),
                (_, v) => panic!("{path}: {v}"),
            }
        }
        same(&serde_json::to_value(&config).unwrap(), &CONFIG, ROOT);
    }

    #[test]
    fn user_values_merge_over_defaults() {
        let mut data = default_data();
        deep_merge(
            &mut data,
            json!({"bighub": {"config": {"max_privilege_duration": "PT4H", "kill_switch": {"systems": ["ArgoCD"]}}}}),
        );
        normalize(&mut data).unwrap();
        let cfg = &data["bighub"]["config"];
        assert_eq!(cfg["max_privilege_duration_text"], "4h");
        assert_eq!(cfg["kill_switch"]["systems"], json!(["argocd"]));
        assert_eq!(cfg["failure_threshold"], 3);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (over, key) in [
            (
                json!({"max_privilege_duration": "forever"}),
                "data.bighub.config.max_privilege_duration",
            ),
            (
                json!({"failure_threshold": 0}),
                "data.bighub.config.failure_threshold",
            ),
            (
                json!({"failure_threshold": "3"}),
                "data.bighub.config.failure_threshold",
            ),
            (
                json!({"freeze_windows": [{"start": "2026-12-24", "end": "soon"}]}),
                "data.bighub.config.freeze_windows[0].end",
            ),
            (
                json!({"freeze_windows": [{"start": "2026-12-24", "end": "2026-12-01"}]}),
                "data.bighub.config.freeze_windows[0]",
            ),
            (
                json!({"freeze_windows": [{"end": "2026-12-01"}]}),
                "data.bighub.config.freeze_windows[0]",
            ),
            (
                json!({"kill_switch": "on"}),
                "data.bighub.config.kill_switch",
            ),
            (
                json!({"kill_switch": {"systems": "argocd"}}),
                "data.bighub.config.kill_switch.systems",
            ),
            (
                json!({"risk_matrix": {"high": {"production": "reviw"}}}),
                "data.bighub.config.risk_matrix.high.production",
            ),
            (
                json!({"risk_matrix": {"high": {"production": "shadow"}}}),
                "data.bighub.config.risk_matrix.high.production",
            ),
            (
                json!({"risk_scores": {"high": 2}}),
                "data.bighub.config.risk_scores.high",
            ),
            (
                json!({"admin_group_patterns": ["admin", " "]}),
                "data.bighub.config.admin_group_patterns[1]",
            ),
            (json!([]), "data.bighub.config"),
        ] {
            let err = PolicyConfig::from_overrides(over.clone(), "test").unwrap_err();
            let LocalError::InvalidConfig { key: got, .. } = &err else {
                panic!("{over}: {err}");
            };
            assert_eq!(got, key, "{over}: {err}");
        }
    }

    #[test]
    fn unknown_keys_suggest_the_closest_known_key() {
        for (over, key, hint) in [
            (
                json!({"max_privelege_duration": "24h"}),
                "data.bighub.config.max_privelege_duration",
                "did you mean `max_privilege_duration`?",
            ),
            (
                json!({"kill_switch": {"sytems": ["argocd"]}}),
                "data.bighub.config.kill_switch.sytems",
                "did you mean `systems`?",
            ),
            (
                json!({"freeze_windows": [{"start": "2026-12-24", "end": "2026-12-25", "enviroments": []}]}),
                "data.bighub.config.freeze_windows[0].enviroments",
                "did you mean `environments`?",
            ),
            (
                json!({"risk_matrix": {"hihg": {}}}),
                "data.bighub.config.risk_matrix.hihg",
                "did you mean `high`?",
            ),
            (
                json!({"max_privilege_duration_seconds": 60}),
                "data.bighub.config.max_privilege_duration_seconds",
                "did you mean `max_privilege_duration`?",
            ),
            (
                json!({"kill_switch": {"everything": true}}),
                "data.bighub.config.kill_switch.everything",
                "the known keys here are `global`, `systems`",
            ),
        ] {
            let err = PolicyConfig::from_overrides(over.clone(), "test").unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("invalid policy configuration in test: {key}: ")),
                "{text}"
            );
            assert!(text.ends_with(hint), "{text}");
        }
    }

    #[test]
    fn context_and_evidence_keys_are_typed() {
        let c = PolicyConfig::from_overrides(
            json!({"incident_services": {" Payments ": ["PIJ90N7", "Checkout API"]},
                   "argocd_systems": ["ArgoCD"], "max_scan_age": "PT12H"}),
            "test",
        )
        .unwrap();
        assert_eq!(
            c.incident_services["payments"],
            ["pij90n7".to_owned(), "checkout api".to_owned()]
        );
        assert_eq!(c.argocd_systems, ["argocd"]);
        assert_eq!(c.max_scan_age, Duration::from_secs(12 * 3600));
        let data = c.to_data();
        assert_eq!(data["max_scan_age_seconds"], 43_200);
        assert_eq!(data["max_scan_age_text"], "12h");
        let d = PolicyConfig::default();
        assert!(d.incident_services.is_empty());
        assert_eq!(d.argocd_systems, ["argocd", "argo-cd", "argo_cd"]);
        assert_eq!(d.max_scan_age, Duration::from_secs(24 * 3600));
        for (over, key, hint) in [
            (
                json!({"incident_service": {}}),
                "data.bighub.config.incident_service",
                "did you mean `incident_services`?",
            ),
            (
                json!({"max_scan_ages": "1h"}),
                "data.bighub.config.max_scan_ages",
                "did you mean `max_scan_age`?",
            ),
            (
                json!({"argocd_system": []}),
                "data.bighub.config.argocd_system",
                "did you mean `argocd_systems`?",
            ),
        ] {
            let text = PolicyConfig::from_overrides(over, "test")
                .unwrap_err()
                .to_string();
            assert!(text.contains(key) && text.ends_with(hint), "{text}");
        }
        for (over, key) in [
            (
                json!({"incident_services": {"payments": "PIJ90N7"}}),
                "data.bighub.config.incident_services.payments",
            ),
            (
                json!({"max_scan_age": "a while"}),
                "data.bighub.config.max_scan_age",
            ),
        ] {
            let err = PolicyConfig::from_overrides(over.clone(), "test").unwrap_err();
            let LocalError::InvalidConfig { key: got, .. } = &err else {
                panic!("{over}: {err}");
            };
            assert_eq!(got, key, "{over}: {err}");
        }
    }

    #[test]
    fn each_source_is_checked_on_its_own_and_named() {
        let err = resolve([
            (
                "first.json".to_owned(),
                json!({"bighub": {"config": {"failure_threshold": 4}}}),
            ),
            (
                "second.json".to_owned(),
                json!({"bighub": {"config": {"failure_treshold": 4}}}),
            ),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid policy configuration in second.json: \
             data.bighub.config.failure_treshold: unknown key; did you mean `failure_threshold`?"
        );
        // Documents without a configuration, or with other data, pass through.
        let (data, config) = resolve([
            ("a.json".to_owned(), json!({"allowlist": ["x"]})),
            (
                "b.json".to_owned(),
                json!({"bighub": {"ext": {"teams": ["sre"]}, "config": {"failure_threshold": 4}}}),
            ),
        ])
        .unwrap();
        assert_eq!(config.failure_threshold, 4);
        assert_eq!(data["allowlist"], json!(["x"]));
        assert_eq!(data["bighub"]["ext"]["teams"], json!(["sre"]));
        let err = resolve([("c.json".to_owned(), json!({"bighub": []}))]).unwrap_err();
        assert!(
            err.to_string().contains("data.bighub: expected an object"),
            "{err}"
        );
    }

    #[test]
    fn kill_switch_forms_and_nulls_read_as_before() {
        for (over, global, systems) in [
            (json!({"kill_switch": true}), true, vec![]),
            (json!({"kill_switch": null}), false, vec![]),
            (
                json!({"kill_switch": {"global": null, "systems": ["Jenkins"]}}),
                false,
                vec!["jenkins".to_owned()],
            ),
        ] {
            let c = PolicyConfig::from_overrides(over, "test").unwrap();
            assert_eq!(c.kill_switch.global, global);
            assert_eq!(c.kill_switch.systems, systems);
        }
        let c = PolicyConfig::from_overrides(
            json!({"max_privilege_duration": 5400, "freeze_windows": [
                {"start": "2026-12-24T00:00:00Z", "end": "2026-12-26T00:00:00Z", "systems": null}]}),
            "test",
        )
        .unwrap();
        assert_eq!(c.max_privilege_duration, Duration::from_secs(5400));
        assert_eq!(c.freeze_windows[0].name.as_deref(), Some("window 1"));
        let data = c.to_data();
        assert_eq!(data["max_privilege_duration_text"], "1h30m");
        assert_eq!(data["freeze_windows"][0]["start_unix"], 1_798_070_400);
    }
}
