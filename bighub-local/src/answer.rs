//! Completing a policy's answer: the explanation fields a policy may leave to the engine.
//!
//! A policy answers at least `mode`, one of [`MODES`]. The fields that only restate its findings or describe
//! the action are filled in here when the answer leaves them out:
//!
//! - from `findings` (the findings that counted, each `{rule, mode, reason, factor?,
//!   action_space?}`): `salient_factors` (their factors, in order), `responsible_action_space`
//!   (the call itself under `available` when the mode lets it run, then each finding's
//!   `available`, `constrained`, `forbidden` and `information_gathering` items), and
//!   `rules_fired` (their rule names, sorted);
//! - from `action_family` (`read_only`, `change`, `destructive_change`,
//!   `privilege_escalation`), `known_environment` (the environment as the policy
//!   classified it, `""` when unknown; when absent, the input's environment) and the input:
//!   `operational_intent` (the declared request, the inferred intent, and whether the
//!   request mentions the action at all), `agent_operational_body` (what the agent can
//!   touch, verify and roll back, what it cannot observe, what needs a human) and
//!   `action_interpretation_layer`.
//!
//! These restate what the policy decided: the policy classifies the action and names its
//! family; nothing here classifies anything. A field the policy answers itself is kept as
//! it is; `findings`, `action_family` and `known_environment` are removed from the decision
//! once used. The golden decisions (`tests/golden/`) pin the text.
//!
//! This module decides nothing and reads no store; `engine.rs` adds the other engine fields.

use serde_json::{Map, Value, json};

use crate::convert::object;

/// The modes a policy may answer.
pub(crate) const MODES: [&str; 5] = [
    "autonomous",
    "constrained",
    "review",
    "needs_context",
    "blocked",
];

/// Fills in the fields `answer` leaves out, from its `findings` and `action_family` and the
/// `input` it was decided on. `mode` is the answer's (already checked) mode.
pub(crate) fn complete(answer: &mut Map<String, Value>, mode: &str, input: &Value) {
    let action = &input["action"];
    if let Some(Value::Array(findings)) = answer.remove("findings") {
        from_findings(answer, mode, action, findings);
    }
    let known_environment = answer.remove("known_environment");
    if let Some(Value::String(family)) = answer.remove("action_family") {
        let environment = match &known_environment {
            Some(Value::String(e)) => Some(e.as_str()),
            Some(_) => None,
            None => action["environment"].as_str(),
        };
        Explained::new(input, environment.filter(|e| !e.is_empty()), &family).fill(answer, mode);
    }
}

/// The action-space groups, in the order they are listed.
const GROUPS: [&str; 4] = [
    "available",
    "constrained",
    "forbidden",
    "information_gathering",
];

/// Takes the factors, action-space items and rule names out of `findings` (which the
/// answer no longer holds), moving them rather than copying.
fn from_findings(
    answer: &mut Map<String, Value>,
    mode: &str,
    action: &Value,
    findings: Vec<Value>,
) {
    let want_factors = !answer.contains_key("salient_factors");
    let want_space = !answer.contains_key("responsible_action_space");
    let want_rules = !answer.contains_key("rules_fired");
    let mut factors = Vec::new();
    let mut groups: [Vec<Value>; 4] = Default::default();
    if want_space && matches!(mode, "autonomous" | "constrained") {
        groups[0].push(object([
            ("action", action["name"].clone()),
            ("target", action["target"].clone()),
            ("arguments", action["arguments"].clone()),
        ]));
    }
    let mut rules = Vec::new();
    for finding in findings {
        let Value::Object(mut f) = finding else {
            continue;
        };
        if want_factors && let Some(factor) = f.remove("factor").filter(Value::is_object) {
            factors.push(factor);
        }
        if want_space && let Some(Value::Object(mut space)) = f.remove("action_space") {
            for (group, items) in GROUPS.iter().zip(groups.iter_mut()) {
                match space.remove(*group) {
                    Some(Value::Array(list)) => items.extend(list),
                    Some(Value::Object(map)) => items.extend(map.into_values()),
                    _ => {}
                }
            }
        }
        if want_rules && let Some(Value::String(rule)) = f.remove("rule") {
            rules.push(rule);
        }
    }
    if want_factors {
        answer.insert("salient_factors".into(), Value::Array(factors));
    }
    if want_space {
        let mut space = Map::with_capacity(GROUPS.len());
        for (group, items) in GROUPS.iter().zip(groups) {
            space.insert((*group).into(), Value::Array(items));
        }
        answer.insert("responsible_action_space".into(), Value::Object(space));
    }
    if want_rules {
        rules.sort_unstable();
        rules.dedup();
        answer.insert(
            "rules_fired".into(),
            Value::Array(rules.into_iter().map(Value::String).collect()),
        );
    }
}

/// What the explanations are worded from.
struct Explained<'a> {
    name: &'a str,
    family: &'a str,
    /// `" on <target>"`, or empty without a target.
    on_target: String,
    target: Option<&'a str>,
    /// The system, or empty.
    system: &'a str,
    /// The environment, unless missing or one of the names that mean "unknown".
    environment: Option<&'a str>,
    input: &'a Value,
}

impl<'a> Explained<'a> {
    fn new(input: &'a Value, environment: Option<&'a str>, family: &'a str) -> Self {
        let action = &input["action"];
        let target = action["target"].as_str();
        Self {
            name: action["name"].as_str().unwrap_or_default(),
            family,
            on_target: target.map(|t| format!(" on {t}")).unwrap_or_default(),
            target,
            system: action["system"].as_str().unwrap_or_default(),
            environment,
            input,
        }
    }

    fn fill(&self, answer: &mut Map<String, Value>, mode: &str) {
        let label = self.family.replace('_', " ");
        if !answer.contains_key("operational_intent") {
            let declared = &self.input["declared_request"];
            let mismatch = declared.as_str().map(|d| !self.mentioned_in(d));
            let confidence = match mismatch {
                Some(false) => 0.9,
                Some(true) => 0.4,
                None => 0.5,
            };
            answer.insert(
                "operational_intent".into(),
                object([
                    ("declared", declared.clone()),
                    (
                        "inferred",
                        Value::String(format!("{label}: {}{}", self.name, self.on_target)),
                    ),
                    ("confidence", json!(confidence)),
                    ("mismatch", json!(mismatch)),
                ]),
            );
        }
        if !answer.contains_key("agent_operational_body") {
            let rollback = match self.family {
                "privilege_escalation" => vec!["revoke the grant"],
                "change" => vec!["re-apply the previous state"],
                _ => vec![],
            };
            let human = match mode {
                "review" => vec![format!("approve {}{}", self.name, self.on_target)],
                "blocked" => vec![format!(
                    "decide whether {}{} may run at all",
                    self.name, self.on_target
                )],
                _ => vec![],
            };
            answer.insert(
                "agent_operational_body".into(),
                json!({
                    "can_touch": if self.system.is_empty() { vec![] } else { vec![self.system] },
                    "can_verify": self
                        .target
                        .map(|t| vec![format!("read back {t} after the change")])
                        .unwrap_or_default(),
                    "can_rollback": rollback,
                    "cannot_observe": if self.environment.is_some() {
                        vec![]
                    } else {
                        vec!["which environment the call touches"]
                    },
                    "requires_human": human,
                }),
            );
        }
        if !answer.contains_key("action_interpretation_layer") {
            answer.insert(
                "action_interpretation_layer".into(),
                json!({
                    "raw_action": self.name,
                    "interpreted_action": format!(
                        "{label}{} in {}",
                        self.on_target,
                        self.environment.unwrap_or("an unknown environment")
                    ),
                    "action_family": self.family,
                }),
            );
        }
    }

    /// Whether the user's request names one of the action's words (longer than two
    /// letters, counted as Rego's `count` does: UTF-16 units), its target, its system
    /// (likewise) or its subject.
    fn mentioned_in(&self, declared: &str) -> bool {
        let declared = declared.to_lowercase();
        let action = &self.input["action"];
        let word = action["tokens"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|t| t.encode_utf16().count() > 2 && declared.contains(t));
        word || self
            .target
            .is_some_and(|t| declared.contains(&t.to_lowercase()))
            || (self.system.encode_utf16().count() > 2 && declared.contains(self.system))
            || self.input["derived"]["subject"]
                .as_str()
                .is_some_and(|s| declared.contains(&s.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(target: Option<&str>, environment: Option<&str>, declared: Option<&str>) -> Value {
        json!({
            "action": {"name": "grant_access", "tokens": ["grant", "access"], "system": "okta",
                       "environment": environment, "target": target,
                       "arguments": {"user_id": "alice"}},
            "declared_request": declared,
            "derived": {"subject": "alice"},
        })
    }

    #[test]
    fn lists_factors_action_space_and_rules_from_findings() {
        let mut answer = Map::new();
        let findings = json!([
            {"rule": "risk_tier", "mode": "constrained", "reason": "r",
             "factor": {"factor": "risk_tier"}},
            {"rule": "custom", "mode": "constrained", "reason": "r", "factor": "not an object",
             "action_space": {"constrained": [{"action": "dry_run"}],
                              "available": {"b": {"action": "plan"}}}},
        ]);
        answer.insert("findings".into(), findings);
        complete(
            &mut answer,
            "constrained",
            &input(Some("okta-admins"), None, None),
        );
        assert!(!answer.contains_key("findings"));
        assert_eq!(answer["salient_factors"], json!([{"factor": "risk_tier"}]));
        assert_eq!(answer["rules_fired"], json!(["custom", "risk_tier"]));
        let space = &answer["responsible_action_space"];
        assert_eq!(space["available"][0]["target"], "okta-admins");
        assert_eq!(space["available"][1], json!({"action": "plan"}));
        assert_eq!(space["constrained"], json!([{"action": "dry_run"}]));
        assert_eq!(space["forbidden"], json!([]));
    }

    #[test]
    fn words_the_explanations_from_the_family() {
        let mut answer = Map::new();
        answer.insert("action_family".into(), json!("privilege_escalation"));
        // The policy classified "tbd" as an unknown environment.
        answer.insert("known_environment".into(), json!(""));
        let input = input(
            Some("okta-admins"),
            Some("tbd"),
            Some("Please give ALICE access"),
        );
        complete(&mut answer, "review", &input);
        assert!(!answer.contains_key("action_family"));
        assert!(!answer.contains_key("known_environment"));
        assert_eq!(
            answer["operational_intent"]["inferred"],
            "privilege escalation: grant_access on okta-admins"
        );
        assert_eq!(answer["operational_intent"]["mismatch"], false);
        assert_eq!(answer["operational_intent"]["confidence"], 0.9);
        let body = &answer["agent_operational_body"];
        assert_eq!(body["can_rollback"], json!(["revoke the grant"]));
        assert_eq!(
            body["cannot_observe"],
            json!(["which environment the call touches"])
        );
        assert_eq!(
            body["requires_human"],
            json!(["approve grant_access on okta-admins"])
        );
        assert_eq!(
            answer["action_interpretation_layer"]["interpreted_action"],
            "privilege escalation on okta-admins in an unknown environment"
        );
    }

    #[test]
    fn keeps_what_the_policy_answered() {
        let mut answer = Map::new();
        answer.insert("action_family".into(), json!("change"));
        answer.insert("findings".into(), json!([]));
        answer.insert("operational_intent".into(), json!({"inferred": "mine"}));
        answer.insert("rules_fired".into(), json!(["mine"]));
        complete(
            &mut answer,
            "blocked",
            &input(None, Some("production"), Some("x")),
        );
        assert_eq!(answer["operational_intent"], json!({"inferred": "mine"}));
        assert_eq!(answer["rules_fired"], json!(["mine"]));
        assert_eq!(
            answer["agent_operational_body"]["requires_human"],
            json!(["decide whether grant_access may run at all"])
        );
        assert_eq!(answer["responsible_action_space"]["available"], json!([]));
    }
}
