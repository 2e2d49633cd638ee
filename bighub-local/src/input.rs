//! The input document a policy decides on.
//!
//! This module owns its shape: the proposed action (secrets redacted, names lower-cased
//! and split into words), what the engine read from the arguments (`input.derived`: a
//! requested duration in seconds, groups, the subject; version [`DERIVED_VERSION`]), the
//! user's declared request, the time, and the history of this action and target from the
//! store. Policies read it as `input`; the shape is documented in [the crate docs](crate).
//! Nothing here classifies the action (read-only, destructive, privileged, production):
//! the policy does, from its configuration.
//!
//! It does not read the store (the stores in `storage/` produce the [`History`]) and
//! decides nothing.

use serde_json::{Map, Value, json};

use bighub_core::ProposedAction;
use bighub_core::action::TOOL_HINTS_KEY;

use super::clock::format_rfc3339;
use super::convert::object;
use super::duration::parse_duration;
use super::redact::{redact_value, secret_args};

/// The version of `input.derived`'s shape, given as `input.derived.version`. It changes
/// when a field is removed or changes meaning, so a policy can tell which shape it reads.
pub const DERIVED_VERSION: u64 = 1;

/// What the store knows about earlier calls of the same action on the same target.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct History {
    /// The most recent decisions, newest first: `{request_id, mode, at}`.
    pub recent_decisions: Vec<Value>,
    /// Outcome counts by status (`SUCCESS`, `FAILURE`, ...) within the last 24 hours.
    pub outcomes_24h: Map<String, Value>,
    /// Failed outcomes within the last 24 hours.
    pub failures_24h: u64,
    /// The newest failure, when there is one: `{request_id, description, at}`.
    pub last_failure: Option<Value>,
    /// Per window label (`"1h"`), per dimension (`actor`, `system`, `action`, `target`):
    /// `{decisions, by_mode, outcomes, capped}` for the call's value, or `null`.
    pub windows: Map<String, Value>,
    /// Per rate limit name: `{decisions, by_mode, capped, per, per_value}`, or `null`.
    pub rate_limits: Map<String, Value>,
    /// The newest outcome of each action and status on the target, newest first:
    /// `{status, action, request_id, at, at_unix}`.
    pub last_outcomes: Vec<Value>,
}

/// Splits an action name into lower-case words: `grantAccess`, `grant-access`,
/// `grant_access` all give `["grant", "access"]`.
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn lower_opt(s: Option<&str>) -> Value {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Value::String(s.to_lowercase()),
        None => Value::Null,
    }
}

/// Whether an argument name holds a duration, and the unit of a bare number in it.
fn duration_unit(key: &str) -> Option<f64> {
    let k = key.to_ascii_lowercase();
    let hinted = |base: f64| {
        if k.contains("hour") {
            3600.0
        } else if k.contains("minute") || k.ends_with("_mins") {
            60.0
        } else if k.contains("day") {
            86_400.0
        } else {
            base
        }
    };
    let is_duration = [
        "duration",
        "ttl",
        "expire",
        "expiry",
        "lease",
        "valid_for",
        "time_limit",
    ]
    .iter()
    .any(|f| k.contains(f))
        || matches!(k.as_str(), "hours" | "minutes" | "days" | "for");
    is_duration.then(|| hinted(1.0))
}

/// The first duration-like argument: `{argument, text, seconds}`, or `{argument, text,
/// unreadable: true}` when its value cannot be read.
fn derive_duration(args: &Map<String, Value>) -> Value {
    for (key, value) in args {
        let Some(unit) = duration_unit(key) else {
            continue;
        };
        let (text, secs) = match value {
            Value::Number(n) => (
                n.to_string(),
                n.as_f64()
                    .map(|v| v * unit)
                    .filter(|v| v.is_finite() && *v >= 0.0),
            ),
            Value::String(s) => (
                s.clone(),
                match s.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() && v >= 0.0 => Some(v * unit),
                    _ => parse_duration(s).ok().map(|d| d.as_secs_f64()),
                },
            ),
            _ => continue,
        };
        return match secs {
            Some(s) => json!({"argument": key, "text": text, "seconds": s.round() as u64}),
            None => json!({"argument": key, "text": text, "unreadable": true}),
        };
    }
    Value::Null
}

/// Strings from arguments naming groups, roles or permission sets.
fn derive_groups(args: &Map<String, Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for (key, value) in args {
        let k = key.to_ascii_lowercase();
        if ![
            "group",
            "role",
            "permission_set",
            "permission",
            "entitlement",
            "policy",
        ]
        .iter()
        .any(|f| k.contains(f))
        {
            continue;
        }
        match value {
            Value::String(s) => out.push(Value::String(s.to_lowercase())),
            Value::Array(items) => out.extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| Value::String(s.to_lowercase())),
            ),
            _ => {}
        }
    }
    out
}

/// The person or principal the call acts on (`user`, `user_id`, `principal`, ...).
fn derive_subject(args: &Map<String, Value>) -> Value {
    for key in [
        "user",
        "user_id",
        "username",
        "principal",
        "email",
        "member",
        "subject",
        "account",
    ] {
        if let Some(Value::String(s)) = args.get(key) {
            return Value::String(s.clone());
        }
    }
    Value::Null
}

/// The tool's claims about itself (`context.metadata.tool_hints`), each a boolean or
/// `null`: only the four known hints, so a policy reads one shape whatever the tool sent;
/// then whether they are trusted and whether the tool's definition changed (booleans,
/// false unless said) and which parts changed (the strings among `changed`).
fn tool_hints(action: &ProposedAction) -> Value {
    let hints = action.context.metadata.get(TOOL_HINTS_KEY);
    let hint = |name: &str| {
        hints
            .and_then(|h| h.get(name))
            .and_then(Value::as_bool)
            .map_or(Value::Null, Value::Bool)
    };
    let flag = |name: &str| {
        Value::Bool(hints.and_then(|h| h.get(name)).and_then(Value::as_bool) == Some(true))
    };
    let changed = hints
        .and_then(|h| h.get("changed"))
        .and_then(Value::as_array)
        .map(|parts| parts.iter().filter(|p| p.is_string()).cloned().collect())
        .unwrap_or_default();
    object([
        ("read_only", hint("read_only")),
        ("destructive", hint("destructive")),
        ("idempotent", hint("idempotent")),
        ("open_world", hint("open_world")),
        ("trusted", flag("trusted")),
        ("definition_changed", flag("definition_changed")),
        ("changed", Value::Array(changed)),
    ])
}

/// What a decision is made on besides the call and the store's history: the context its
/// providers fetched and the security evidence found for it. Each part reaches the policy
/// only when there is something to show, so a policy set without providers or evidence
/// sees the input it always saw.
///
/// ```
/// use bighub_local::DecisionExtras;
/// use serde_json::json;
///
/// let mut extras = DecisionExtras::default();
/// extras.context.insert("freezes".into(), json!({"kind": "file", "data": {"windows": []}}));
/// assert!(extras.evidence.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionExtras {
    /// `input.context`: per provider name, what it fetched (`kind`, `shape`, `data`,
    /// `error`, `fetched_at`, `age_seconds`, `sha256`).
    pub context: Map<String, Value>,
    /// `input.context_failed`: the providers whose fetch failed and whose failure the
    /// policy decides on.
    pub context_failed: Vec<String>,
    /// `input.evidence`: the deployed digest and the scan found for it.
    pub evidence: Option<Value>,
}

/// Builds the input document for one proposed action.
pub(crate) fn build_input(
    action: &ProposedAction,
    history: History,
    now_ms: i64,
    extras: &DecisionExtras,
) -> Value {
    let secrets = secret_args(&action.context.metadata);
    let arguments = redact_value(&action.arguments, &secrets);
    let empty = Map::new();
    let args = arguments.as_object().unwrap_or(&empty);
    let name = if action.action.is_empty() {
        &action.tool
    } else {
        &action.action
    };
    let tokens = words(name);
    let declared = action
        .context
        .metadata
        .get("declared_request")
        .cloned()
        .unwrap_or(Value::Null);
    let metadata = redact_value(&Value::Object(action.context.metadata.clone()), &[]);
    let system = lower_opt(action.system.as_deref());
    let environment = lower_opt(action.environment.as_deref());
    let groups = derive_groups(args);
    let duration = derive_duration(args);
    let subject = derive_subject(args);
    let context = object([
        ("session_id", json!(action.context.session_id)),
        ("trajectory_id", json!(action.context.trajectory_id)),
        ("objective", json!(action.context.objective)),
        ("model_selection", json!(action.context.model_selection)),
        ("metadata", metadata),
    ]);
    let normalized_name = tokens.join("_");
    let tokens = tokens.into_iter().map(Value::String).collect();
    let mut input = object([
        (
            "action",
            object([
                ("tool", json!(action.tool)),
                ("name", json!(name)),
                ("tokens", Value::Array(tokens)),
                ("normalized_name", Value::String(normalized_name)),
                ("system", system),
                ("risk", json!(action.risk.map(|r| r.as_str()))),
                ("environment", environment),
                ("actor", json!(action.actor)),
                ("domain", json!(action.domain)),
                ("target", json!(action.target)),
                ("value", json!(action.value)),
                ("arguments", arguments),
                ("hints", tool_hints(action)),
                ("context", context),
            ]),
        ),
        ("declared_request", declared),
        (
            "derived",
            object([
                ("version", json!(DERIVED_VERSION)),
                ("duration", duration),
                ("groups", Value::Array(groups)),
                ("subject", subject),
            ]),
        ),
        (
            "now",
            json!({"rfc3339": format_rfc3339(now_ms), "unix": now_ms.div_euclid(1000)}),
        ),
        (
            "history",
            object([
                ("recent_decisions", Value::Array(history.recent_decisions)),
                ("outcomes_24h", Value::Object(history.outcomes_24h)),
                ("failures_24h", json!(history.failures_24h)),
                ("last_failure", history.last_failure.unwrap_or(Value::Null)),
                ("windows", Value::Object(history.windows)),
                ("rate_limits", Value::Object(history.rate_limits)),
                ("last_outcomes", Value::Array(history.last_outcomes)),
            ]),
        ),
    ]);
    if let Value::Object(fields) = &mut input {
        if !extras.context.is_empty() || !extras.context_failed.is_empty() {
            fields.insert("context".into(), Value::Object(extras.context.clone()));
            fields.insert("context_failed".into(), json!(extras.context_failed));
        }
        if let Some(evidence) = &extras.evidence {
            fields.insert("evidence".into(), evidence.clone());
        }
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;
    use bighub_core::RiskLevel;

    #[test]
    fn splits_names_into_words() {
        assert_eq!(words("grant_access"), ["grant", "access"]);
        assert_eq!(words("forcePush"), ["force", "push"]);
        assert_eq!(words("force-push main"), ["force", "push", "main"]);
        assert_eq!(words("S3DeleteBucket"), ["s3", "delete", "bucket"]);
    }

    #[test]
    fn derives_duration_groups_and_subject() {
        let action = ProposedAction::new("grant_access")
            .arguments(json!({"user_id": "alice", "group": "Okta-Admins", "duration": "48h", "token": "t"}))
            .system("Okta")
            .risk(RiskLevel::High)
            .environment("Production");
        let input = build_input(&action, History::default(), 0, &DecisionExtras::default());
        assert_eq!(input["action"]["system"], "okta");
        assert_eq!(input["action"]["environment"], "production");
        assert_eq!(input["action"]["arguments"]["token"], "[REDACTED]");
        assert_eq!(input["derived"]["duration"]["seconds"], 172_800);
        assert_eq!(input["derived"]["groups"], json!(["okta-admins"]));
        assert_eq!(input["derived"]["subject"], "alice");
    }

    #[test]
    fn numeric_durations_take_the_unit_from_the_name() {
        let args = json!({"duration_hours": 3});
        assert_eq!(
            derive_duration(args.as_object().unwrap())["seconds"],
            10_800
        );
        let args = json!({"ttl": "whenever"});
        assert_eq!(
            derive_duration(args.as_object().unwrap())["unreadable"],
            true
        );
    }
}
