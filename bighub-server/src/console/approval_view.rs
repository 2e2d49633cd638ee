//! What a person sees of an approval: the call, the engine's explanation, what the decision
//! was made on, and the approval's history, read out of the stored records.
//!
//! This module owns turning an [`ApprovalRecord`] and its [`DecisionDetail`] into plain
//! strings and lists for the templates. Everything here comes from the model or an agent,
//! so it stays text: the templates escape it, and nothing is marked safe. Arguments are
//! shown as the store keeps them (the tool's secret arguments already `[REDACTED]`).

use bighub_local::storage::{ApprovalRecord, DecisionDetail, DecisionRecord};
use serde_json::Value;

/// One approval, ready to show.
#[derive(Debug, Clone)]
pub(crate) struct ApprovalView {
    pub(crate) request_id: String,
    pub(crate) tool: String,
    pub(crate) action: String,
    pub(crate) target: String,
    pub(crate) actor: String,
    pub(crate) system: String,
    pub(crate) environment: String,
    pub(crate) arguments: String,
    pub(crate) risk_score: String,
    /// `low`, `medium`, `high` or `critical`, from the score, for the badge's colour.
    pub(crate) risk_class: &'static str,
    pub(crate) reason: String,
    pub(crate) better_action: String,
    pub(crate) salient_factors: Vec<String>,
    /// (heading, entries) for available, constrained, forbidden, information gathering.
    pub(crate) action_space: Vec<(&'static str, Vec<String>)>,
    pub(crate) context_used: String,
    pub(crate) evidence_used: String,
    pub(crate) requested_at: String,
    pub(crate) requested_by: String,
    pub(crate) expires_at: String,
    pub(crate) session_id: String,
    pub(crate) trajectory_id: String,
    pub(crate) status: String,
    pub(crate) resolver: String,
    pub(crate) resolved_at: String,
    pub(crate) comment: String,
    pub(crate) used_at: String,
}

impl ApprovalView {
    pub(crate) fn is_pending(&self) -> bool {
        self.status == "pending"
    }

    /// The view of `approval`, explained by its decision when the store has it.
    pub(crate) fn new(approval: &ApprovalRecord, detail: Option<&DecisionDetail>) -> Self {
        let decision = detail.map_or(&Value::Null, |d| &d.decision);
        let record: Option<&DecisionRecord> = detail.map(|d| &d.record);
        let packet = &decision["decision_packet"];
        let input_action = &packet["input"]["action"];
        let score = decision["risk"]
            .as_f64()
            .or_else(|| decision["risk_score"].as_f64())
            .or_else(|| record.and_then(|r| r.risk_score));
        // Fields the approval may carry beyond the ones this build knows (a deadline):
        // read from its serialized form, so that they show as soon as the store has them.
        let extra = serde_json::to_value(approval).unwrap_or(Value::Null);
        let arguments = approval
            .arguments
            .clone()
            .or_else(|| record.map(|r| r.arguments.clone()))
            .unwrap_or(Value::Null);
        let space = &decision["responsible_action_space"];
        Self {
            request_id: approval.request_id.clone(),
            tool: approval.tool.clone(),
            action: approval.action.clone(),
            target: approval.target.clone(),
            actor: record.map(|r| r.actor.clone()).unwrap_or_default(),
            system: record.and_then(|r| r.system.clone()).unwrap_or_default(),
            environment: record
                .and_then(|r| r.environment.clone())
                .unwrap_or_default(),
            arguments: pretty(&arguments),
            risk_score: score.map(|s| format!("{s:.2}")).unwrap_or_default(),
            risk_class: risk_class(score),
            reason: approval
                .reason
                .clone()
                .or_else(|| text(&decision["reason"]))
                .unwrap_or_default(),
            better_action: text(&decision["better_action"]).unwrap_or_default(),
            salient_factors: items(&decision["salient_factors"]),
            action_space: [
                ("Available", "available"),
                ("Constrained", "constrained"),
                ("Forbidden", "forbidden"),
                ("Information gathering", "information_gathering"),
            ]
            .into_iter()
            .map(|(heading, key)| (heading, items(&space[key])))
            .collect(),
            context_used: nonempty_pretty(&packet["context"]),
            evidence_used: nonempty_pretty(&packet["evidence"]),
            requested_at: approval.created_at.clone(),
            requested_by: record.and_then(|r| r.caller.clone()).unwrap_or_default(),
            expires_at: text(&extra["expires_at"]).unwrap_or_default(),
            session_id: text(&input_action["context"]["session_id"]).unwrap_or_default(),
            trajectory_id: text(&input_action["context"]["trajectory_id"]).unwrap_or_default(),
            status: approval.status.as_str().to_owned(),
            resolver: approval.resolver.clone().unwrap_or_default(),
            resolved_at: approval.resolved_at.clone().unwrap_or_default(),
            comment: approval.comment.clone().unwrap_or_default(),
            used_at: approval.used_at.clone().unwrap_or_default(),
        }
    }
}

/// The badge class of a risk score.
pub(crate) fn risk_class(score: Option<f64>) -> &'static str {
    match score {
        Some(s) if s >= 0.85 => "critical",
        Some(s) if s >= 0.6 => "high",
        Some(s) if s >= 0.3 => "medium",
        Some(_) => "low",
        None => "unknown",
    }
}

/// A string as itself; anything else but null as compact JSON.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Pretty JSON (text, escaped where shown).
pub(crate) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn nonempty_pretty(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Object(m) if m.is_empty() => String::new(),
        other => pretty(other),
    }
}

/// The entries of a list, each one line: a string as itself; an object as its `action`
/// (or `name`) followed by its other fields.
fn items(value: &Value) -> Vec<String> {
    let Some(list) = value.as_array() else {
        return Vec::new();
    };
    list.iter()
        .map(|item| match item {
            Value::String(s) => s.clone(),
            Value::Object(obj) => {
                let head_key = ["action", "name", "factor"]
                    .into_iter()
                    .find(|k| obj.get(*k).is_some_and(Value::is_string));
                let rest: Vec<String> = obj
                    .iter()
                    .filter(|(k, _)| Some(k.as_str()) != head_key)
                    .map(|(k, v)| format!("{k}: {}", text(v).unwrap_or_default()))
                    .collect();
                match head_key.and_then(|k| obj[k].as_str()) {
                    Some(head) if rest.is_empty() => head.to_owned(),
                    Some(head) => format!("{head} — {}", rest.join("; ")),
                    None => rest.join("; "),
                }
            }
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_entries_read_as_lines() {
        let entries = items(&json!([
            "excessive_duration",
            {"action": "grant_access", "arguments_patch": {"duration": "2h"}, "constraints": ["duration <= 2h"]},
            {"reason": "privilege for 48h"}
        ]));
        assert_eq!(
            entries,
            [
                "excessive_duration",
                "grant_access — arguments_patch: {\"duration\":\"2h\"}; constraints: [\"duration <= 2h\"]",
                "reason: privilege for 48h",
            ]
        );
        assert!(items(&json!(null)).is_empty());
    }

    #[test]
    fn risk_classes() {
        assert_eq!(risk_class(Some(0.9)), "critical");
        assert_eq!(risk_class(Some(0.75)), "high");
        assert_eq!(risk_class(Some(0.4)), "medium");
        assert_eq!(risk_class(Some(0.1)), "low");
        assert_eq!(risk_class(None), "unknown");
    }
}
