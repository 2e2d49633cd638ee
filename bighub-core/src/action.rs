//! The proposed action: what an agent wants to do, with the context a decision needs.
//!
//! This module owns the shape of a proposed action only; turning it into a wire request
//! is the job of each [`DecisionEngine`](crate::DecisionEngine).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::wire::DecisionMode;

/// How risky a tool is, as declared by its author.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// Reads, or changes nothing that matters.
    Low,
    /// The default: a change with limited blast radius.
    #[default]
    Medium,
    /// A change to production state or to access.
    High,
    /// A change that can cause an outage or a breach.
    Critical,
}

impl RiskLevel {
    /// All levels, from least to most risky.
    pub const ALL: [RiskLevel; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// The lower-case name used on the wire (`"low"`, `"medium"`, `"high"`, `"critical"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RiskLevel {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            "critical" => Ok(Self::Critical),
            other => Err(crate::Error::InvalidConfig(format!(
                "unknown risk level `{other}`: expected one of low, medium, high, critical"
            ))),
        }
    }
}

/// The key of [`ActionContext::metadata`] under which a tool's own description of its
/// behaviour travels: `{"read_only": bool?, "destructive": bool?, "idempotent": bool?,
/// "open_world": bool?}` (an MCP server's tool annotations, for example). A decision
/// engine may weigh them; they are the tool's claims, not facts it checked.
pub const TOOL_HINTS_KEY: &str = "tool_hints";

/// Free context that travels with a proposed action.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActionContext {
    /// The agent session this action belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The run (trajectory) inside the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trajectory_id: Option<String>,
    /// What the decision optimises for; the service's default is `better_decision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    /// Routing hint for the decision service's model selection; default `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_selection: Option<String>,
    /// Any other metadata (from the tool's options or `metadata_from_args`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

/// A tool call the model proposed, described for a decision engine.
///
/// ```
/// use bighub_core::{ProposedAction, RiskLevel};
/// use serde_json::json;
///
/// let action = ProposedAction::new("grant_access")
///     .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
///     .actor("ops-agent")
///     .system("okta")
///     .risk(RiskLevel::High)
///     .environment("production")
///     .target("okta-admins");
/// assert_eq!(action.action, "grant_access");
/// ```
///
/// Its `Debug` and its JSON (`Serialize`) show the arguments the tool marks secret
/// ([`SECRET_ARGS_KEY`](crate::redact::SECRET_ARGS_KEY)) as [`REDACTED`](crate::redact::REDACTED), so a
/// printed or logged action never carries them; the [`arguments`](Self::arguments) field
/// and [`unredacted`](Self::unredacted) keep the real values for code that decides on
/// them. JSON read back from the redacted form has the redacted values.
#[derive(Clone, PartialEq, Default, Deserialize)]
pub struct ProposedAction {
    /// The registered tool name the model called.
    pub tool: String,
    /// The action name sent to the decision engine (defaults to the tool name).
    pub action: String,
    /// The model's arguments, as a JSON object.
    #[serde(default)]
    pub arguments: Value,
    /// Who acts (for example `ops-agent`).
    #[serde(default)]
    pub actor: String,
    /// The decision domain (for example `it_actions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The system touched (for example `okta`, `terraform`, `argocd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The risk the tool's author declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskLevel>,
    /// The environment touched (for example `production`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The resource acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A numeric value (cost, amount) when the action has one; most actions have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Session, trajectory, objective, model selection and free metadata.
    #[serde(default)]
    pub context: ActionContext,
    /// How to submit this action to a remote engine; `None` uses the engine's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_mode: Option<DecisionMode>,
}

impl ProposedAction {
    /// A proposed call of `tool`, with the action name set to the tool name.
    pub fn new(tool: impl Into<String>) -> Self {
        let tool = tool.into();
        Self {
            action: tool.clone(),
            tool,
            arguments: Value::Object(Map::new()),
            ..Self::default()
        }
    }

    /// Sets the action name sent to the engine.
    pub fn action_name(mut self, action: impl Into<String>) -> Self {
        self.action = action.into();
        self
    }

    /// Sets the arguments.
    pub fn arguments(mut self, arguments: Value) -> Self {
        self.arguments = arguments;
        self
    }

    /// Sets the actor.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    /// Sets the domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Sets the system.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Sets the declared risk.
    pub fn risk(mut self, risk: RiskLevel) -> Self {
        self.risk = Some(risk);
        self
    }

    /// Sets the environment.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Sets the target.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Sets the numeric value.
    pub fn value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }

    /// Replaces the context.
    pub fn context(mut self, context: ActionContext) -> Self {
        self.context = context;
        self
    }

    /// Sets how a remote engine receives this action.
    pub fn decision_mode(mut self, mode: DecisionMode) -> Self {
        self.decision_mode = Some(mode);
        self
    }
}
