//! Replaying recorded decisions under the current policy set.
//!
//! This module owns the question "what would the policy I have now have decided about the
//! calls the store holds?": it reads recorded decisions page by page, rebuilds each call
//! from the input it was decided on (`decision_packet.input`: the proposed action with its
//! secrets redacted, its history and its time), decides it again without writing anything,
//! and reports what changed. It does not decide (the engine gives it the deciding step:
//! a call, its history, its precedents and its time in, the decision out) or print (the
//! CLI does).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

use bighub_core::ProposedAction;

use crate::clock::{format_rfc3339, now_millis};
use crate::error::LocalError;
use crate::input::{DecisionExtras, History};
use crate::storage::{Storage, StoredDecision};

/// Which recorded decisions [`LocalEngine::replay`](crate::LocalEngine::replay) decides again.
///
/// ```
/// use std::time::Duration;
/// use bighub_local::replay::ReplayOptions;
///
/// let last_week = ReplayOptions { since: Some(Duration::from_secs(7 * 86_400)), limit: Some(500) };
/// # let _ = last_week;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Only decisions made within this long before now; all when `None`.
    pub since: Option<Duration>,
    /// At most this many, the newest first; all when `None`.
    pub limit: Option<usize>,
}

/// What replaying recorded decisions under the current policy set found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReplayReport {
    /// How many recorded decisions were decided again (including those in `errors`).
    pub decided: usize,
    /// How many got another mode.
    pub changed: usize,
    /// The decisions whose mode changes, newest first.
    pub changes: Vec<ReplayChange>,
    /// The decisions the current policy set fails on (a call it would block, with an
    /// error); not counted in `changed`.
    pub errors: Vec<ReplayError>,
    /// How many decisions went from one mode to another, per pair of modes that differ.
    pub transitions: Vec<ModeTransition>,
    /// The rules that fire now and did not when the decision was made, and on how many of
    /// the decisions replayed (changed or not).
    pub newly_fired: Vec<RuleCount>,
}

/// A recorded decision whose mode changes under the current policy set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReplayChange {
    /// The recorded decision's request id.
    pub request_id: String,
    /// When it was decided (RFC 3339, UTC).
    pub decided_at: String,
    /// The tool called.
    pub tool: String,
    /// The action name.
    pub action: String,
    /// The target (empty when none).
    pub target: String,
    /// The mode recorded.
    pub mode_before: String,
    /// The mode the current policy set decides.
    pub mode_after: String,
    /// The rules that decide it now (the most restrictive findings); `override` when an
    /// override decided it.
    pub deciding_rules: Vec<String>,
    /// The rules that fire now and did not then.
    pub newly_fired: Vec<String>,
    /// The reason given now.
    pub reason: String,
}

/// A recorded decision the current policy set fails to decide.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReplayError {
    /// The recorded decision's request id.
    pub request_id: String,
    /// The tool called.
    pub tool: String,
    /// The mode recorded.
    pub mode_before: String,
    /// Why deciding it failed.
    pub message: String,
}

/// How many decisions went from `before` to `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ModeTransition {
    /// The mode recorded.
    pub before: String,
    /// The mode decided now.
    pub after: String,
    /// How many decisions.
    pub count: usize,
}

/// How many replayed decisions a rule newly fired on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RuleCount {
    /// The rule.
    pub rule: String,
    /// How many decisions.
    pub count: usize,
}

/// Rows read from the store at a time: the store is locked only while one page is read.
const PAGE: usize = 256;

/// Replays the decisions of `store` that `options` select, deciding each again with
/// `decide(action, history, precedents, decided_at_ms, extras)`: each on the context and
/// evidence recorded with it.
pub(crate) fn run(
    store: &dyn Storage,
    options: &ReplayOptions,
    decide: impl Fn(&ProposedAction, History, u64, i64, &DecisionExtras) -> Result<Value, LocalError>,
) -> Result<ReplayReport, LocalError> {
    let since_ms = options.since.map_or(0, |d| {
        now_millis().saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    });
    let mut left = options.limit.unwrap_or(usize::MAX);
    let mut before = None;
    let mut report = ReplayReport::default();
    let mut transitions: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut newly: BTreeMap<String, usize> = BTreeMap::new();
    while left > 0 {
        let rows = store.decisions_before(since_ms, before, left.min(PAGE))?;
        let Some(last) = rows.last() else { break };
        before = Some(last.key);
        left -= rows.len();
        for row in rows {
            report.decided += 1;
            let recorded: Value = serde_json::from_str(&row.decision).unwrap_or(Value::Null);
            let (action, history, precedents) = recorded_call(&row, &recorded);
            let extras = recorded_extras(&recorded);
            let now = match decide(&action, history, precedents, row.created_at, &extras) {
                Ok(now) => now,
                Err(e) => {
                    report.errors.push(ReplayError {
                        request_id: row.request_id,
                        tool: row.tool,
                        mode_before: row.mode,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let fired_then = strings(&recorded["decision_brain"]["rules_fired"]);
            let fired_now = strings(&now["decision_brain"]["rules_fired"]);
            let new_rules: Vec<String> = fired_now
                .into_iter()
                .filter(|r| !fired_then.contains(r))
                .collect();
            for r in &new_rules {
                *newly.entry(r.clone()).or_default() += 1;
            }
            let mode_after = now["mode"].as_str().unwrap_or("blocked").to_owned();
            if mode_after == row.mode {
                continue;
            }
            report.changed += 1;
            *transitions
                .entry((row.mode.clone(), mode_after.clone()))
                .or_default() += 1;
            let deciding_rules = if now["decision_brain"]["overridden"] == json!(true) {
                vec!["override".to_owned()]
            } else {
                strings(&now["decision_brain"]["deciding_rules"])
            };
            report.changes.push(ReplayChange {
                request_id: row.request_id,
                decided_at: format_rfc3339(row.created_at),
                tool: row.tool,
                action: row.action,
                target: row.target,
                mode_before: row.mode,
                mode_after,
                deciding_rules,
                newly_fired: new_rules,
                reason: now["reason"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    report.transitions = transitions
        .into_iter()
        .map(|((before, after), count)| ModeTransition {
            before,
            after,
            count,
        })
        .collect();
    report.newly_fired = newly
        .into_iter()
        .map(|(rule, count)| RuleCount { rule, count })
        .collect();
    Ok(report)
}

/// The call a recorded decision was made on: from the input it was decided on when the
/// decision holds it, else from the row's columns with no history.
fn recorded_call(row: &StoredDecision, recorded: &Value) -> (ProposedAction, History, u64) {
    let input = &recorded["decision_packet"]["input"];
    let precedents = recorded["decision_brain"]["precedents"]
        .as_u64()
        .unwrap_or(0);
    let a = &input["action"];
    let from_input = a.is_object().then(|| {
        json!({
            "tool": a["tool"], "action": a["name"], "arguments": a["arguments"],
            "actor": a["actor"], "domain": a["domain"], "system": a["system"],
            "risk": a["risk"], "environment": a["environment"], "target": a["target"],
            "value": a["value"], "context": a["context"],
        })
    });
    if let Some(action) = from_input.and_then(|v| serde_json::from_value(v).ok()) {
        let h = &input["history"];
        let history = History {
            recent_decisions: h["recent_decisions"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            outcomes_24h: h["outcomes_24h"].as_object().cloned().unwrap_or_default(),
            failures_24h: h["failures_24h"].as_u64().unwrap_or(0),
            last_failure: Some(h["last_failure"].clone()).filter(|v| !v.is_null()),
            windows: h["windows"].as_object().cloned().unwrap_or_default(),
            rate_limits: h["rate_limits"].as_object().cloned().unwrap_or_default(),
            last_outcomes: h["last_outcomes"].as_array().cloned().unwrap_or_default(),
        };
        return (action, history, precedents);
    }
    let mut action = ProposedAction::new(&row.tool)
        .action_name(&row.action)
        .arguments(
            serde_json::from_str(&row.arguments).unwrap_or_else(|_| Value::Object(Map::new())),
        )
        .actor(&row.actor);
    action.system = row.system.clone();
    action.environment = row.environment.clone();
    action.risk = row.risk.as_deref().and_then(|r| r.parse().ok());
    action.target = Some(row.target.clone()).filter(|t| !t.is_empty());
    (action, History::default(), precedents)
}

/// The context and evidence a recorded decision was made on, as its input holds them.
fn recorded_extras(recorded: &Value) -> DecisionExtras {
    let input = &recorded["decision_packet"]["input"];
    DecisionExtras {
        context: input["context"].as_object().cloned().unwrap_or_default(),
        context_failed: strings(&input["context_failed"]),
        evidence: Some(input["evidence"].clone()).filter(|v| !v.is_null()),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
