//! The decision: what a decision engine answered about one proposed action, typed.
//!
//! This module owns the shape. Reading a raw service answer into it lives in
//! `normalize.rs`; turning it into a verdict lives in `gate.rs`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The execution mode a decision assigns to a proposed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Mode {
    /// Run now, unchanged.
    Autonomous,
    /// Run now, within the constraints the decision names.
    Constrained,
    /// Pause for a human review first.
    Review,
    /// Do not run.
    Blocked,
    /// Collect more information before deciding.
    NeedsContext,
    /// Decided for observation only; never executes.
    Shadow,
    /// A dry run; never executes.
    DryRun,
}

impl Mode {
    /// The wire name (`"autonomous"`, `"needs_context"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Autonomous => "autonomous",
            Self::Constrained => "constrained",
            Self::Review => "review",
            Self::Blocked => "blocked",
            Self::NeedsContext => "needs_context",
            Self::Shadow => "shadow",
            Self::DryRun => "dry_run",
        }
    }

    /// Parses a known wire name (trimmed, case-insensitive); aliases are not accepted here.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "autonomous" => Self::Autonomous,
            "constrained" => Self::Constrained,
            "review" => Self::Review,
            "blocked" => Self::Blocked,
            "needs_context" => Self::NeedsContext,
            "shadow" => Self::Shadow,
            "dry_run" => Self::DryRun,
            _ => return None,
        })
    }

    /// Whether a tool may run now in this mode (autonomous or constrained only).
    pub fn can_run(self) -> bool {
        matches!(self, Self::Autonomous | Self::Constrained)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Responsible options, grouped. Every group is always present (possibly empty).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponsibleActionSpace {
    /// Actions that may run as proposed.
    #[serde(default)]
    pub available: Vec<Map<String, Value>>,
    /// Actions that may run within limits.
    #[serde(default)]
    pub constrained: Vec<Map<String, Value>>,
    /// Actions that must not run.
    #[serde(default)]
    pub forbidden: Vec<Map<String, Value>>,
    /// Read-only steps that would gather the missing information.
    #[serde(default)]
    pub information_gathering: Vec<Map<String, Value>>,
}

impl ResponsibleActionSpace {
    /// Whether all four groups are empty.
    pub fn is_empty(&self) -> bool {
        self.available.is_empty()
            && self.constrained.is_empty()
            && self.forbidden.is_empty()
            && self.information_gathering.is_empty()
    }
}

/// A factor the engine found important for this call (for example `high_blast_radius`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SalientFactor {
    /// The factor's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<String>,
    /// How much it matters (`info`, `warning`, `critical`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Why it matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Any other fields the engine sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Declared versus inferred intent of the call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OperationalIntent {
    /// What the user asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
    /// What the engine inferred the call really does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inferred: Option<String>,
    /// Confidence in the inference, 0..=1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Whether declared and inferred intent disagree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<bool>,
    /// Any other fields the engine sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What the agent can touch, verify and roll back, and what needs a human.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentOperationalBody {
    /// Systems the agent can change.
    #[serde(default)]
    pub can_touch: Vec<String>,
    /// Checks the agent can run afterwards.
    #[serde(default)]
    pub can_verify: Vec<String>,
    /// Changes the agent can undo.
    #[serde(default)]
    pub can_rollback: Vec<String>,
    /// What the agent cannot see.
    #[serde(default)]
    pub cannot_observe: Vec<String>,
    /// Steps that need a person.
    #[serde(default)]
    pub requires_human: Vec<String>,
    /// Any other fields the engine sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The operational meaning of the raw call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActionInterpretationLayer {
    /// The call as proposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_action: Option<String>,
    /// What it means operationally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreted_action: Option<String>,
    /// Its family (for example `privilege_escalation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_family: Option<String>,
    /// Any other fields the engine sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A decision about one proposed action, in one shape whichever engine made it.
///
/// Build one from a raw service answer with [`Decision::from_backend_response`] (or
/// [`Decision::from_backend_value`] to move the answer in); ask the gate what to do with
/// [`Decision::verdict`] and why with [`Decision::votes`]. The flags `can_run`,
/// `needs_review`, `needs_more_context` and `should_not_run` are derived from `mode`
/// ([`Decision::set_mode`] keeps them consistent). When the engine fails,
/// [`FailMode::decision_for`](crate::FailMode::decision_for) stands in for its answer (the
/// fail mode for an outage, a block for anything else); [`Decision::fail_closed`] /
/// [`Decision::fail_open`] are its two outage decisions. The explanatory
/// fields (`responsible_action_space`, `salient_factors`, `operational_intent`,
/// `agent_operational_body`, `action_interpretation_layer`) never change the verdict.
///
/// Serialized, a decision is its typed fields plus `raw`, the service's answer kept whole;
/// it deserializes back to an equal value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Decision {
    /// The engine's id for this decision (used for outcome reports and approvals).
    pub request_id: Option<String>,
    /// A better alternative the engine proposes, when it has one.
    pub better_action: Option<String>,
    /// The execution mode; `None` when the answer carried no usable signal.
    pub mode: Option<Mode>,
    /// Whether the call may run now (autonomous or constrained).
    pub can_run: bool,
    /// Whether a human should review first.
    pub needs_review: bool,
    /// Whether the agent should gather more information first.
    pub needs_more_context: bool,
    /// Whether the call should not run.
    pub should_not_run: bool,
    /// Risk score, usually 0..=1.
    pub risk: Option<f64>,
    /// Human-readable reason.
    pub reason: Option<String>,
    /// Responsible options, grouped; always has its four groups.
    #[serde(default)]
    pub responsible_action_space: ResponsibleActionSpace,
    /// Factors the engine found important.
    #[serde(default)]
    pub salient_factors: Vec<SalientFactor>,
    /// Declared and inferred intent.
    pub operational_intent: Option<OperationalIntent>,
    /// What the agent can touch, verify, roll back.
    pub agent_operational_body: Option<AgentOperationalBody>,
    /// The operational meaning of the call.
    pub action_interpretation_layer: Option<ActionInterpretationLayer>,
    /// Compatibility: `proceed`, `proceed_with_caution`, `review_recommended`, `do_not_proceed`.
    pub recommendation: Option<String>,
    /// Compatibility: the legacy risk score.
    pub risk_score: Option<f64>,
    /// Compatibility: `enforced`, `review`, `advisory`, ...
    pub enforcement_mode: Option<String>,
    /// Compatibility: the legacy allow flag.
    pub allowed: Option<bool>,
    /// Compatibility: the legacy result (`allowed`, `blocked`, `requires_approval`, ...).
    pub result: Option<String>,
    /// Compatibility: the legacy approval flag.
    pub requires_approval: Option<bool>,
    /// The engine's answer, kept whole. [`Decision::decision_packet`] and
    /// [`Decision::decision_brain`] read their parts of it.
    #[serde(default)]
    pub raw: Value,
}

impl Decision {
    /// The structured context the decision was made on: the answer's `decision_packet`
    /// object, read from [`raw`](Decision::raw) (`None` when absent or not an object).
    ///
    /// The packet is usually the largest part of an answer (the local engine puts the
    /// whole policy input in it), so it is read in place rather than kept twice.
    ///
    /// ```
    /// use bighub_core::Decision;
    /// use serde_json::json;
    ///
    /// let d = Decision::from_backend_response(&json!({
    ///     "mode": "review",
    ///     "decision_packet": {"system": "okta", "environment": "production"},
    ///     "decision_brain": "not an object"
    /// }));
    /// assert_eq!(d.decision_packet().unwrap()["system"], "okta");
    /// assert!(d.decision_brain().is_none());
    /// ```
    pub fn decision_packet(&self) -> Option<&Map<String, Value>> {
        self.raw.get("decision_packet").and_then(Value::as_object)
    }

    /// The engine's reasoning summary and related signals: the answer's `decision_brain`
    /// object, read from [`raw`](Decision::raw) (`None` when absent or not an object).
    ///
    /// ```
    /// use bighub_core::Decision;
    /// use serde_json::json;
    ///
    /// let d = Decision::from_backend_response(&json!({
    ///     "mode": "autonomous",
    ///     "decision_brain": {"rules_fired": ["read_only"], "precedents": 3}
    /// }));
    /// assert_eq!(d.decision_brain().unwrap()["precedents"], 3);
    /// ```
    pub fn decision_brain(&self) -> Option<&Map<String, Value>> {
        self.raw.get("decision_brain").and_then(Value::as_object)
    }
}
