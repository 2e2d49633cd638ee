//! The limits a `constrained` decision puts on the call it lets run, as a tool reads them.
//!
//! A decision in mode `constrained` lets the call run *within* what it names: the entries of
//! its `responsible_action_space.constrained` group (an action, the argument values to use
//! instead, and the constraints as text such as `"duration <= 2h"` or
//! `"environment = staging"`) and its `better_action`. This module owns that typed view and
//! when a call has one; the runtime hands it to the tool through
//! [`ToolContext::constraints`](crate::tool::ToolContext::constraints). It does not enforce
//! anything: only the tool knows how to honour a constraint on its own arguments.

use bighub_core::{Decision, Mode};
use serde_json::{Map, Value};

/// What a `constrained` decision asks of the call it lets run.
///
/// Present in a [`ToolContext`](crate::tool::ToolContext) only when the decision the call
/// runs under is [`Mode::Constrained`]; an `autonomous` decision, or a review a person
/// approved as proposed, sets no constraints. A constrained decision that names nothing
/// still yields a (empty) value, so a tool can tell "run carefully" from "run".
///
/// ```
/// use bighub_openai::tool::Constraints;
/// use bighub_openai::Decision;
/// use serde_json::json;
///
/// let decision = Decision::from_backend_response(&json!({
///     "mode": "constrained",
///     "better_action": "Deploy payments to staging only",
///     "responsible_action_space": {"constrained": [{
///         "action": "deploy_service",
///         "arguments_patch": {"environment": "staging"},
///         "constraints": ["environment = staging", "no production"]
///     }]}
/// }));
/// let constraints = Constraints::of(&decision).expect("a constrained decision");
/// assert_eq!(constraints.better_action(), Some("Deploy payments to staging only"));
/// assert!(constraints.texts().any(|c| c == "no production"));
/// assert_eq!(constraints.arguments_patch()["environment"], "staging");
///
/// let autonomous = Decision::from_backend_response(&json!({"mode": "autonomous"}));
/// assert!(Constraints::of(&autonomous).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Constraints {
    better_action: Option<String>,
    actions: Vec<ConstrainedAction>,
}

impl Constraints {
    /// The constraints of `decision`, when its mode is `constrained`; `None` otherwise.
    pub fn of(decision: &Decision) -> Option<Self> {
        if decision.mode != Some(Mode::Constrained) {
            return None;
        }
        Some(Self {
            better_action: decision.better_action.clone(),
            actions: decision
                .responsible_action_space
                .constrained
                .iter()
                .map(ConstrainedAction::from_entry)
                .collect(),
        })
    }

    /// The safer alternative the decision names, when it names one.
    pub fn better_action(&self) -> Option<&str> {
        self.better_action.as_deref()
    }

    /// The decision's `responsible_action_space.constrained` entries, in its order.
    pub fn actions(&self) -> &[ConstrainedAction] {
        &self.actions
    }

    /// Every constraint's text, across all entries, in order.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.actions
            .iter()
            .flat_map(|action| action.constraints.iter().map(String::as_str))
    }

    /// The argument values the entries ask for instead of the model's, merged (a later
    /// entry's value for the same argument wins).
    pub fn arguments_patch(&self) -> Map<String, Value> {
        let mut patch = Map::new();
        for action in &self.actions {
            for (name, value) in &action.arguments_patch {
                patch.insert(name.clone(), value.clone());
            }
        }
        patch
    }

    /// Whether the decision named no constraint, no argument value and no better action.
    pub fn is_empty(&self) -> bool {
        self.better_action.is_none()
            && self
                .actions
                .iter()
                .all(|a| a.constraints.is_empty() && a.arguments_patch.is_empty())
    }
}

/// One entry of a decision's `responsible_action_space.constrained` group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConstrainedAction {
    action: Option<String>,
    target: Option<String>,
    arguments_patch: Map<String, Value>,
    constraints: Vec<String>,
}

impl ConstrainedAction {
    /// Reads one entry; a field of the wrong type reads as absent, and a constraint that is
    /// not text is kept as its JSON text, so that no constraint disappears unread.
    fn from_entry(entry: &Map<String, Value>) -> Self {
        let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
        let constraints = match entry.get("constraints") {
            Some(Value::Array(items)) => items.iter().map(constraint_text).collect(),
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![constraint_text(other)],
        };
        Self {
            action: text("action"),
            target: text("target"),
            arguments_patch: entry
                .get("arguments_patch")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            constraints,
        }
    }

    /// The action the entry is about (usually the call's own action name).
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }

    /// The target the entry is limited to, when it names one.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Argument values to use instead of the model's (`{"duration": "2h"}`).
    pub fn arguments_patch(&self) -> &Map<String, Value> {
        &self.arguments_patch
    }

    /// The constraints, as the engine wrote them (`"duration <= 2h"`, `"no production"`).
    pub fn constraints(&self) -> &[String] {
        &self.constraints
    }
}

fn constraint_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_constrained_decision_has_constraints() {
        for mode in ["autonomous", "review", "blocked", "needs_context"] {
            let decision = Decision::from_backend_response(&json!({
                "mode": mode,
                "responsible_action_space": {"constrained": [{"constraints": ["x"]}]}
            }));
            assert_eq!(Constraints::of(&decision), None, "{mode}");
        }
        let bare = Decision::from_backend_response(&json!({"mode": "constrained"}));
        let constraints = Constraints::of(&bare).expect("constrained");
        assert!(constraints.is_empty());
    }

    #[test]
    fn entries_of_any_shape_keep_every_constraint() {
        let decision = Decision::from_backend_response(&json!({
            "mode": "constrained",
            "responsible_action_space": {"constrained": [
                {"action": "grant", "target": "okta-admins",
                 "arguments_patch": {"duration": "2h"}, "constraints": ["duration <= 2h", {"max": 2}]},
                {"action": 7, "arguments_patch": "not an object", "constraints": "no production"},
                {"arguments_patch": {"duration": "1h"}}
            ]}
        }));
        let constraints = Constraints::of(&decision).unwrap();
        assert_eq!(constraints.actions().len(), 3);
        assert_eq!(constraints.actions()[0].action(), Some("grant"));
        assert_eq!(constraints.actions()[0].target(), Some("okta-admins"));
        assert_eq!(constraints.actions()[1].action(), None);
        assert!(constraints.actions()[1].arguments_patch().is_empty());
        assert_eq!(
            constraints.texts().collect::<Vec<_>>(),
            ["duration <= 2h", r#"{"max":2}"#, "no production"]
        );
        assert_eq!(constraints.arguments_patch()["duration"], "1h");
        assert!(!constraints.is_empty());
    }
}
