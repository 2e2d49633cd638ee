//! One tool call from the moment it is decided to the moment it is recorded.
//!
//! A [`PreparedCall`] binds the call exactly as the model sent it (name, call id, argument
//! text) to what was decided for it: the registered tool, the parsed arguments and their
//! canonical digest, the proposed action, the decision and the verdict. Execution takes only
//! a prepared call, so nothing between the decision and the tool can swap the tool or the
//! arguments; the call's approval travels with it. This module also owns the one redaction
//! rule for what a call leaves on the record (events, memory, results): arguments the tool
//! marks secret are replaced, an argument text that cannot be parsed is replaced whole, and
//! secret values are scrubbed from error texts and outputs. It decides and runs nothing.

use std::sync::Arc;

use bighub_core::digest::canonical_sha256;
use bighub_core::redact::{REDACTED, redact_named};
use bighub_core::{Decision, ProposedAction, Verdict};
use serde_json::Value;

use super::approval::{ApprovalAnswer, ApprovalRecord};
use super::call::FunctionCall;
use crate::tool::RegisteredTool;

/// A call after the gate, before (or instead of) execution.
#[derive(Debug, Clone)]
pub(crate) struct PreparedCall {
    /// The call exactly as the model sent it.
    pub(crate) call: FunctionCall,
    /// The parsed arguments (for a call that was never evaluated: what could be read of
    /// them, already redacted when the tool has secret arguments).
    pub(crate) arguments: Value,
    /// Lower-case hex SHA-256 of the canonical JSON of `arguments`.
    pub(crate) digest: String,
    pub(crate) gate: Gate,
    /// Where the call stands with respect to a human approval.
    pub(crate) approval: ApprovalState,
}

/// Where a call stands with respect to a human approval.
#[derive(Debug, Clone)]
pub(crate) enum ApprovalState {
    /// No approval involved (or not asked yet).
    None,
    /// It waits for an answer: the run pauses.
    Pending,
    /// A human answered and the engine recorded it; with `change` when the approver
    /// approved changed arguments, which the call now carries.
    Answered {
        answer: ApprovalAnswer,
        record: Box<ApprovalRecord>,
        change: Option<Box<Value>>,
    },
    /// Nobody answered before the approval expired: the call does not run.
    Expired,
    /// Approved, but decided again just before it would run, and `decision` does not let
    /// it run now; the approval was not used.
    Redecided {
        answer: ApprovalAnswer,
        record: Box<ApprovalRecord>,
        decision: Box<Decision>,
    },
}

/// What the gate made of a call.
#[derive(Debug, Clone)]
pub(crate) enum Gate {
    /// Never evaluated: an unknown tool or unusable arguments. Nothing runs.
    Rejected {
        /// The tool, when the name is registered (its secrets still apply).
        tool: Option<Arc<RegisteredTool>>,
        error: String,
    },
    /// Evaluated; `verdict` says whether it may run.
    Decided(Box<Decided>),
}

/// The decision a call is bound to.
#[derive(Debug, Clone)]
pub(crate) struct Decided {
    pub(crate) tool: Arc<RegisteredTool>,
    pub(crate) action: ProposedAction,
    pub(crate) decision: Decision,
    pub(crate) verdict: Verdict,
}

impl PreparedCall {
    /// A call the engine decided for `tool`, with its parsed `arguments` (a JSON object).
    pub(crate) fn with_decision(
        call: FunctionCall,
        arguments: Value,
        tool: Arc<RegisteredTool>,
        action: ProposedAction,
        decision: Decision,
    ) -> Self {
        let verdict = decision.verdict();
        Self::bound(call, arguments, tool, action, decision, verdict)
    }

    /// A call under review, to run once its approval is settled: a paused call being
    /// resumed, or an approved call outside a conversation. Its verdict is the review's,
    /// whatever the decision it carries says.
    pub(crate) fn for_review(
        call: FunctionCall,
        arguments: Value,
        tool: Arc<RegisteredTool>,
        action: ProposedAction,
        decision: Decision,
    ) -> Self {
        let verdict = Verdict::ApprovalRequired;
        Self::bound(call, arguments, tool, action, decision, verdict)
    }

    fn bound(
        call: FunctionCall,
        arguments: Value,
        tool: Arc<RegisteredTool>,
        action: ProposedAction,
        decision: Decision,
        verdict: Verdict,
    ) -> Self {
        Self {
            call,
            digest: canonical_sha256(&arguments),
            arguments,
            gate: Gate::Decided(Box::new(Decided {
                tool,
                action,
                decision,
                verdict,
            })),
            approval: ApprovalState::None,
        }
    }

    /// A call of no tool this agent offers: never evaluated, its arguments kept as they
    /// could be read (no tool, so nothing is secret).
    pub(crate) fn unknown(call: FunctionCall, error: String) -> Self {
        let parsed = serde_json::from_str(&call.arguments).ok();
        let arguments = unusable_arguments(&call.arguments, parsed, false);
        Self::rejected(call, arguments, None, error)
    }

    /// A call of `tool` whose argument text is not a JSON object (`parsed`: what could be
    /// read of it): never evaluated; the tool's secrets decide what is kept.
    pub(crate) fn misfit(
        call: FunctionCall,
        tool: Arc<RegisteredTool>,
        parsed: Option<Value>,
        error: String,
    ) -> Self {
        let has_secrets = !tool.metadata().secret_args.is_empty();
        let arguments = unusable_arguments(&call.arguments, parsed, has_secrets);
        Self::rejected(call, arguments, Some(tool), error)
    }

    fn rejected(
        call: FunctionCall,
        arguments: Value,
        tool: Option<Arc<RegisteredTool>>,
        error: String,
    ) -> Self {
        Self {
            call,
            digest: canonical_sha256(&arguments),
            arguments,
            gate: Gate::Rejected { tool, error },
            approval: ApprovalState::None,
        }
    }

    /// Binds the call to the changed `arguments` an approver approved, and the action
    /// decided for them: what runs from now on.
    pub(crate) fn rebind(&mut self, arguments: Value, action: ProposedAction) {
        self.digest = canonical_sha256(&arguments);
        self.arguments = arguments;
        if let Gate::Decided(decided) = &mut self.gate {
            decided.action = action;
        }
    }

    pub(crate) fn decided(&self) -> Option<&Decided> {
        match &self.gate {
            Gate::Decided(decided) => Some(decided),
            Gate::Rejected { .. } => None,
        }
    }

    pub(crate) fn verdict(&self) -> Option<Verdict> {
        self.decided().map(|d| d.verdict)
    }

    /// Whether this was prepared for exactly `call`: same id, tool name and argument text.
    pub(crate) fn is_for(&self, call: &FunctionCall) -> bool {
        self.call == *call
    }

    fn tool(&self) -> Option<&RegisteredTool> {
        match &self.gate {
            Gate::Decided(decided) => Some(&decided.tool),
            Gate::Rejected { tool, .. } => tool.as_deref(),
        }
    }

    /// The names of the arguments the tool marks secret.
    pub(crate) fn secret_names(&self) -> &[String] {
        self.tool()
            .map(|t| t.metadata().secret_args.as_slice())
            .unwrap_or_default()
    }

    /// The arguments as they may be recorded: secret ones replaced by [`REDACTED`].
    pub(crate) fn recorded_arguments(&self) -> Value {
        let mut arguments = self.arguments.clone();
        redact_named(&mut arguments, self.secret_names());
        arguments
    }

    /// The values of the secret arguments, to scrub from texts the tool produces.
    pub(crate) fn secret_values(&self) -> Vec<String> {
        let mut values = Vec::new();
        for name in self.secret_names() {
            if let Some(value) = self.arguments.get(name) {
                collect_strings(value, &mut values);
            }
        }
        values.retain(|v| v.chars().count() >= MIN_SCRUBBED_LEN);
        // Longest first, so a secret that contains another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values
    }
}

/// Secret values shorter than this are not scrubbed from texts: they would mangle ordinary
/// words and carry too little to be worth hiding.
const MIN_SCRUBBED_LEN: usize = 4;

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// Replaces every occurrence of each of `secrets` in `text` with [`REDACTED`].
pub(crate) fn scrub_text(text: &mut String, secrets: &[String]) {
    for secret in secrets {
        if text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), REDACTED);
        }
    }
}

/// [`scrub_text`] on every string inside `value` (keys included).
pub(crate) fn scrub_value(value: &mut Value, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    match value {
        Value::String(s) => scrub_text(s, secrets),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_value(v, secrets)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (mut key, mut v) in entries {
                scrub_text(&mut key, secrets);
                scrub_value(&mut v, secrets);
                map.insert(key, v);
            }
        }
        Value::Bool(_) | Value::Null | Value::Number(_) => {}
    }
}

/// What is kept of argument text that is not a JSON object: nothing at all when the tool
/// has secret arguments (the secret may be anywhere in it), else what could be parsed, or
/// the text itself.
fn unusable_arguments(raw: &str, parsed: Option<Value>, has_secrets: bool) -> Value {
    if has_secrets {
        return Value::String(REDACTED.to_owned());
    }
    parsed.unwrap_or_else(|| Value::String(raw.to_owned()))
}

/// Argument text as the model wrote it, with the named arguments redacted; replaced whole
/// when it is not a JSON object (the secret may be anywhere in it).
pub(crate) fn redact_argument_text(arguments: &str, names: &[String]) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(mut value @ Value::Object(_)) => {
            redact_named(&mut value, names);
            value.to_string()
        }
        _ => REDACTED.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scrubbing_replaces_every_occurrence_and_longest_first() {
        let secrets = vec!["hunter2-long".to_owned(), "hunter2".to_owned()];
        let mut text = "auth failed for hunter2-long (hunter2)".to_owned();
        scrub_text(&mut text, &secrets);
        assert_eq!(text, "auth failed for [REDACTED] ([REDACTED])");

        let mut value = json!({"log": ["token hunter2 rejected"], "hunter2": 1});
        scrub_value(&mut value, &secrets);
        assert_eq!(
            value,
            json!({"log": ["token [REDACTED] rejected"], "[REDACTED]": 1})
        );
    }

    #[test]
    fn unusable_text_of_a_tool_with_secrets_is_replaced_whole() {
        assert_eq!(
            unusable_arguments("{\"token\": \"abc", None, true),
            json!(REDACTED)
        );
        assert_eq!(
            unusable_arguments("not json", None, false),
            json!("not json")
        );
        assert_eq!(
            unusable_arguments("[1]", Some(json!([1])), false),
            json!([1])
        );
    }
}
