//! Deciding a call: the model's function call -> its registered tool, parsed arguments and
//! their digest -> the proposed action -> the engine's decision (with retries, or the
//! fail-mode decision) -> the verdict, bound together in one [`PreparedCall`].
//!
//! Unknown tools and unusable arguments are rejected here without asking the engine. A
//! review enters the approval ledger as soon as it is decided. This module neither runs
//! tools nor asks a human.

use std::sync::Arc;
use std::time::Duration;

use bighub_core::digest::canonical_sha256;
use bighub_core::{Decision, ProposedAction, Verdict};
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use super::call::{CallKind, FunctionCall};
use super::caps::cap_decision;
use super::prepared::PreparedCall;
use super::runner::{RunIds, Runner};
use super::spans;
use crate::Error;
use crate::tool::RegisteredTool;

/// What the guard decides about a call, without running it: see [`BighubOpenAI::check_tool`](crate::BighubOpenAI::check_tool).
///
/// Its `Debug` and its JSON show the arguments the tool marks secret as `[REDACTED]` (see
/// [`ProposedAction`]); `action.arguments` keeps the real values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCheck {
    /// The proposed action that was evaluated.
    pub action: ProposedAction,
    /// The engine's decision (or the fail-mode decision when it could not answer).
    pub decision: Decision,
    /// What the gate would do.
    pub verdict: Verdict,
}

/// Between two evaluations of one call: 50 ms doubling up to 1.6 s, with jitter.
const EVALUATE_BACKOFF: bighub_core::backoff::Backoff =
    bighub_core::backoff::Backoff::new(Duration::from_millis(50), Duration::from_millis(1600));

impl Runner {
    /// A decision for `tool` with `arguments` outside a run: recorded (and entered in the
    /// approval ledger) or only previewed.
    pub(crate) async fn check(
        &self,
        tool: &str,
        arguments: Value,
        record: bool,
    ) -> Result<ToolCheck, Error> {
        let Some(registered) = self.tools.get_shared(tool) else {
            return Err(Error::UnknownTool {
                name: tool.to_owned(),
                available: self.tools.names().map(str::to_owned).collect(),
            });
        };
        let misfit = match &arguments {
            Value::Object(_) => registered.misfit(&arguments),
            _ => Some(crate::schema::Misfit {
                path: String::new(),
                expected: "a JSON object".to_owned(),
            }),
        };
        if let Some(misfit) = misfit {
            return Err(Error::InvalidArguments {
                tool: tool.to_owned(),
                message: format!("the arguments do not fit the tool's parameters schema {misfit}"),
            });
        }
        let ids = RunIds::new("");
        let action = self.proposed_action(&registered, &arguments, &ids);
        let decision = if record {
            let digest = canonical_sha256(&arguments);
            self.decide(&action, tool, &digest).await
        } else {
            self.preview(&action).await
        };
        Ok(ToolCheck {
            verdict: decision.verdict(),
            action,
            decision,
        })
    }

    /// Decides one call: finds its tool, parses its arguments, proposes the action and
    /// asks the engine. Unknown tools and unusable arguments are rejected without asking.
    pub(crate) async fn prepare(&self, call: FunctionCall, ids: &RunIds) -> PreparedCall {
        let tool = match &call.kind {
            CallKind::Function => match self.tools.get_shared(&call.name) {
                Some(tool) => tool,
                None => return self.unknown_tool(call),
            },
            // A hosted MCP approval request: never a registered function tool.
            CallKind::HostedMcpApproval { server_label } => {
                match self.hosted_tool(server_label, &call.name) {
                    Some(tool) => tool,
                    None => {
                        let error = format!(
                            "`{}` is not a tool of a hosted MCP server this agent offers",
                            call.name
                        );
                        return PreparedCall::unknown(call, error);
                    }
                }
            }
        };
        self.prepare_for(call, tool, ids).await
    }

    /// The tool a hosted MCP call is decided as, when `label` is a hosted server of this
    /// agent that offers `name`.
    pub(crate) fn hosted_tool(&self, label: &str, name: &str) -> Option<Arc<RegisteredTool>> {
        self.hosted
            .iter()
            .find(|h| h.label() == label && h.allows(name))
            .map(|h| h.decided_tool(name))
    }

    fn unknown_tool(&self, call: FunctionCall) -> PreparedCall {
        let mut available: Vec<&str> = self.tools.names().collect();
        available.sort_unstable();
        let error = format!(
            "unknown tool `{}`; available tools: {}",
            call.name,
            if available.is_empty() {
                "none".to_owned()
            } else {
                available.join(", ")
            }
        );
        PreparedCall::unknown(call, error)
    }

    async fn prepare_for(
        &self,
        call: FunctionCall,
        tool: Arc<RegisteredTool>,
        ids: &RunIds,
    ) -> PreparedCall {
        let arguments = match serde_json::from_str::<Value>(&call.arguments) {
            Ok(Value::Object(map)) => Value::Object(map),
            Ok(other) => {
                let error = format!(
                    "arguments must be a JSON object, got {}",
                    crate::tool::json_kind(&other)
                );
                return PreparedCall::misfit(call, tool, Some(other), error);
            }
            Err(error) => {
                // serde_json's message names a position, never the text around it.
                let error = format!("arguments are not valid JSON: {error}");
                return PreparedCall::misfit(call, tool, None, error);
            }
        };
        let digest = canonical_sha256(&arguments);
        let action = self.proposed_action(&tool, &arguments, ids);
        let span = spans::decision(&call.name, &call.call_id);
        let decision = self
            .decide(&action, &call.name, &digest)
            .instrument(span.clone())
            .await;
        spans::record_decision(&span, &decision);
        PreparedCall::with_decision(call, arguments, tool, action, decision)
    }

    /// Evaluates `action` (see [`evaluate`](Self::evaluate)), cuts what the decision may add
    /// to the record, and enters a review in the approval ledger.
    pub(crate) async fn decide(
        &self,
        action: &ProposedAction,
        tool: &str,
        digest: &str,
    ) -> Decision {
        let mut decision = self.evaluate(action).await;
        cap_decision(&mut decision, self.config.max_reason_bytes);
        if decision.verdict() == Verdict::ApprovalRequired
            && let Some(request_id) = &decision.request_id
        {
            self.ledger.asked(request_id, tool, digest);
        }
        decision
    }

    /// The engine's preview of `action` (nothing recorded, no ledger entry), cut like any
    /// decision; when the engine cannot answer, the fail-mode decision.
    pub(crate) async fn preview(&self, action: &ProposedAction) -> Decision {
        let mut decision = match self.engine.preview(action).await {
            Ok(decision) => decision,
            Err(error) => self.config.fail_mode.decision_for(&error),
        };
        cap_decision(&mut decision, self.config.max_reason_bytes);
        decision
    }

    /// Evaluates with retries; when the engine cannot answer, the fail-mode decision (which
    /// blocks, whatever the fail mode, unless the engine was merely unavailable).
    pub(crate) async fn evaluate(&self, action: &ProposedAction) -> Decision {
        let span =
            tracing::debug_span!("bighub.evaluate", tool = ?action.tool, action = ?action.action);
        async {
            let mut attempt = 0u32;
            loop {
                match self.engine.evaluate(action).await {
                    Ok(decision) => return decision,
                    Err(error) if error.is_retryable() && attempt < self.config.evaluate_retries => {
                        let delay = EVALUATE_BACKOFF.delay(attempt);
                        attempt += 1;
                        tracing::warn!(%error, attempt, "evaluation failed; retrying");
                        tokio::time::sleep(delay).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, fail_mode = %self.config.fail_mode, "evaluation failed; using the fail-mode decision");
                        return self.config.fail_mode.decision_for(&error);
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// The proposed action of a call of `tool`, completed with the agent's defaults and the
    /// run's ids.
    pub(crate) fn proposed_action(
        &self,
        tool: &RegisteredTool,
        arguments: &Value,
        ids: &RunIds,
    ) -> ProposedAction {
        let mut action = tool.proposed_action(arguments);
        if action.actor.trim().is_empty() {
            action.actor = self.config.actor.clone();
        }
        if action.domain.is_none() {
            action.domain = Some(self.config.domain.clone());
        }
        if action.decision_mode.is_none() {
            action.decision_mode = Some(self.config.decision_mode);
        }
        let context = &mut action.context;
        context
            .session_id
            .get_or_insert_with(|| self.config.session_id.clone());
        context
            .trajectory_id
            .get_or_insert_with(|| ids.trace_id.clone());
        context
            .objective
            .get_or_insert_with(|| self.config.decision_objective.clone());
        context
            .model_selection
            .get_or_insert_with(|| self.config.model_selection.clone());
        action
    }
}
