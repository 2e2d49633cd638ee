//! Arguments a tool marks secret, and how they are hidden before they leave the process or
//! are stored.
//!
//! This module owns the marker (`context.metadata.secret_args`), the replacement text, and
//! the printable forms of a [`ProposedAction`] (its `Debug` and its JSON), which hide the
//! marked arguments. Which other keys count as secret (names that merely look secret) is
//! the local store's stricter rule, built on these.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::digest::canonical_sha256;
use crate::wire::DecisionMode;
use crate::{ActionContext, ProposedAction, RiskLevel};

/// The key of [`ActionContext::metadata`](crate::ActionContext::metadata) that lists the
/// tool's secret arguments (an array of argument names, or one name).
pub const SECRET_ARGS_KEY: &str = "secret_args";

/// The text that replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The argument names listed under [`SECRET_ARGS_KEY`] in `metadata`.
///
/// ```
/// use bighub_core::redact::secret_args;
/// use serde_json::json;
///
/// let metadata = json!({"secret_args": ["token", "password"]});
/// assert_eq!(secret_args(metadata.as_object().unwrap()), ["token", "password"]);
/// ```
pub fn secret_args(metadata: &Map<String, Value>) -> Vec<String> {
    match metadata.get(SECRET_ARGS_KEY) {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(name)) => vec![name.clone()],
        _ => Vec::new(),
    }
}

/// Replaces the top-level values of `arguments` named in `names` with [`REDACTED`].
pub fn redact_named(arguments: &mut Value, names: &[String]) {
    if let Some(object) = arguments.as_object_mut() {
        for name in names {
            if let Some(slot) = object.get_mut(name) {
                *slot = Value::String(REDACTED.to_owned());
            }
        }
    }
}

impl ProposedAction {
    /// The arguments with those the tool marks secret replaced by [`REDACTED`].
    pub fn redacted_arguments(&self) -> Value {
        let mut arguments = self.arguments.clone();
        redact_named(&mut arguments, &secret_args(&self.context.metadata));
        arguments
    }

    /// The fingerprint an approval of this action is bound to, in every engine: the
    /// SHA-256 of the canonical JSON of [`redacted_arguments`](Self::redacted_arguments).
    ///
    /// It covers the redacted arguments because it is stored and sent: a digest of a
    /// short secret would give the secret away to anyone who can guess candidates. The
    /// agent that asked for an approval also binds the secret values, in its own memory.
    ///
    /// ```
    /// use bighub_core::ProposedAction;
    /// use serde_json::json;
    ///
    /// let rotate = |secret: &str| {
    ///     let mut action = ProposedAction::new("rotate_key")
    ///         .arguments(json!({"key_id": "k1", "new_secret": secret}));
    ///     action.context.metadata.insert("secret_args".into(), json!(["new_secret"]));
    ///     action
    /// };
    /// assert_eq!(rotate("hunter2").approval_digest(), rotate("swordfish").approval_digest());
    /// assert_ne!(
    ///     rotate("hunter2").approval_digest(),
    ///     rotate("hunter2").arguments(json!({"key_id": "k2", "new_secret": "hunter2"})).approval_digest()
    /// );
    /// ```
    pub fn approval_digest(&self) -> String {
        canonical_sha256(&self.redacted_arguments())
    }

    /// The action serializable with its real arguments, secret ones included: for code that
    /// must keep them (a digest over the whole action, a copy handed to another engine).
    /// Never print or log it.
    ///
    /// ```
    /// use bighub_core::ProposedAction;
    /// use serde_json::json;
    ///
    /// let mut action = ProposedAction::new("rotate").arguments(json!({"token": "s3cr3t"}));
    /// action.context.metadata.insert("secret_args".into(), json!(["token"]));
    /// assert!(!serde_json::to_string(&action).unwrap().contains("s3cr3t"));
    /// assert!(!format!("{action:?}").contains("s3cr3t"));
    /// assert!(serde_json::to_string(&action.unredacted()).unwrap().contains("s3cr3t"));
    /// ```
    pub fn unredacted(&self) -> impl Serialize + '_ {
        Fields::of(self, &self.arguments)
    }
}

/// A proposed action's fields as they serialize, with the arguments to show.
#[derive(Serialize)]
struct Fields<'a> {
    tool: &'a str,
    action: &'a str,
    arguments: &'a Value,
    actor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    risk: Option<RiskLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
    context: &'a ActionContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision_mode: Option<DecisionMode>,
}

impl<'a> Fields<'a> {
    fn of(action: &'a ProposedAction, arguments: &'a Value) -> Self {
        Self {
            tool: &action.tool,
            action: &action.action,
            arguments,
            actor: &action.actor,
            domain: action.domain.as_ref(),
            system: action.system.as_ref(),
            risk: action.risk,
            environment: action.environment.as_ref(),
            target: action.target.as_ref(),
            value: action.value,
            context: &action.context,
            decision_mode: action.decision_mode,
        }
    }
}

impl Serialize for ProposedAction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Fields::of(self, &self.redacted_arguments()).serialize(serializer)
    }
}

impl fmt::Debug for ProposedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProposedAction")
            .field("tool", &self.tool)
            .field("action", &self.action)
            .field("arguments", &self.redacted_arguments())
            .field("actor", &self.actor)
            .field("domain", &self.domain)
            .field("system", &self.system)
            .field("risk", &self.risk)
            .field("environment", &self.environment)
            .field("target", &self.target)
            .field("value", &self.value)
            .field("context", &self.context)
            .field("decision_mode", &self.decision_mode)
            .finish()
    }
}

/// The arguments an approver approved (`approved`, as the store shows them: secret values
/// replaced by [`REDACTED`]) with each redacted value put back from the call the agent
/// asked about (`original`, its real arguments), at the same place: what the agent runs
/// when an approver changed a call's arguments. An approver sees no secret and cannot set
/// one, so every secret the changed call carries is one the original call carried.
///
/// # Errors
///
/// The path (`arguments.token`, `arguments.items[2]`) of a redacted value the original
/// call has no value for.
///
/// ```
/// use bighub_core::redact::restore_redacted;
/// use serde_json::json;
///
/// let approved = json!({"key_id": "k2", "ttl": "2h", "token": "[REDACTED]"});
/// let original = json!({"key_id": "k1", "ttl": "48h", "token": "s3cr3t"});
/// assert_eq!(
///     restore_redacted(&approved, &original).unwrap(),
///     json!({"key_id": "k2", "ttl": "2h", "token": "s3cr3t"})
/// );
/// assert!(restore_redacted(&json!({"password": "[REDACTED]"}), &json!({})).is_err());
/// ```
pub fn restore_redacted(approved: &Value, original: &Value) -> Result<Value, String> {
    fn walk(
        approved: &Value,
        original: Option<&Value>,
        path: &mut String,
    ) -> Result<Value, String> {
        match approved {
            Value::String(s) if s == REDACTED => original
                .filter(|o| !matches!(o, Value::String(s) if s == REDACTED))
                .cloned()
                .ok_or_else(|| path.clone()),
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (key, value) in map {
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    let inner = original.and_then(|o| o.get(key));
                    out.insert(key.clone(), walk(value, inner, path)?);
                    path.truncate(len);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, value) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    let inner = original.and_then(|o| o.get(i));
                    out.push(walk(value, inner, path)?);
                    path.truncate(len);
                }
                Ok(Value::Array(out))
            }
            other => Ok(other.clone()),
        }
    }
    let mut path = String::from("arguments");
    walk(approved, Some(original), &mut path)
}
