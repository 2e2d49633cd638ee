//! One round of the loop: the model's function calls -> proposed actions -> decisions
//! (all evaluated concurrently) -> the gate -> the tools that may run (concurrently unless
//! turned off) -> one execution event per call, in the model's order.
//!
//! This module never talks to the model; `run.rs` does.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use bighub_core::{Decision, OutcomeReport, OutcomeStatus, ProposedAction, Verdict};
use futures::FutureExt;
use futures::future::join_all;
use serde_json::{Map, Value, json};
use tracing::Instrument;

use super::Inner;
use crate::RegisteredTool;
use crate::{Error, ExecutionEvent, ExecutionStatus, ToolError};

/// A function call as the model proposed it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FunctionCall {
    pub(crate) name: String,
    pub(crate) call_id: String,
    pub(crate) arguments: String,
}

/// Identifies the run a round belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RunIds {
    pub(crate) trace_id: String,
}

/// A call after the gate, before (or instead of) execution.
enum Gated<'a> {
    /// Never evaluated: unknown tool or unusable arguments.
    Rejected { arguments: Value, error: String },
    /// Evaluated; `verdict` says whether it may run.
    Decided {
        tool: &'a RegisteredTool,
        arguments: Value,
        decision: Box<Decision>,
        verdict: Verdict,
    },
}

impl Inner {
    /// Runs one round; returns one event per call, in order, with `seq` from `first_seq`.
    pub(crate) async fn run_round(
        &self,
        calls: &[FunctionCall],
        ids: &RunIds,
        first_seq: u64,
    ) -> Result<Vec<ExecutionEvent>, Error> {
        // 1. Parse and decide every call concurrently.
        let gated = join_all(calls.iter().map(|call| self.decide_call(call, ids))).await;

        // 2. Run what may run.
        let results: Vec<Option<Result<Value, ToolError>>> = if self.config.parallel_tool_execution
        {
            join_all(
                gated
                    .iter()
                    .zip(calls)
                    .map(|(g, call)| self.execute_if_allowed(g, call)),
            )
            .await
        } else {
            let mut results = Vec::with_capacity(calls.len());
            for (g, call) in gated.iter().zip(calls) {
                results.push(self.execute_if_allowed(g, call).await);
            }
            results
        };

        // 3. Record.
        let mut events = Vec::with_capacity(calls.len());
        for (i, ((call, gated), result)) in calls.iter().zip(gated).zip(results).enumerate() {
            let event = self.event(call, gated, result, ids, first_seq + i as u64);
            self.after_event(&event)
                .await
                .map_err(|error| match error {
                    Error::OutcomeReport { source, .. } => {
                        let mut so_far = events.clone();
                        so_far.push(event.clone());
                        Error::OutcomeReport {
                            source,
                            events: so_far,
                        }
                    }
                    other => other,
                })?;
            events.push(event);
        }
        Ok(events)
    }

    async fn decide_call<'a>(&'a self, call: &FunctionCall, ids: &RunIds) -> Gated<'a> {
        let Some(tool) = self.tools.get(&call.name) else {
            let mut available: Vec<&str> = self.tools.names().collect();
            available.sort_unstable();
            return Gated::Rejected {
                arguments: parse_or_raw(&call.arguments),
                error: format!(
                    "unknown tool `{}`; available tools: {}",
                    call.name,
                    if available.is_empty() {
                        "none".to_owned()
                    } else {
                        available.join(", ")
                    }
                ),
            };
        };
        let arguments = match serde_json::from_str::<Value>(&call.arguments) {
            Ok(Value::Object(map)) => Value::Object(map),
            Ok(other) => {
                return Gated::Rejected {
                    error: format!("arguments must be a JSON object, got {}", json_type(&other)),
                    arguments: other,
                };
            }
            Err(error) => {
                return Gated::Rejected {
                    arguments: Value::String(call.arguments.clone()),
                    error: format!("arguments are not valid JSON: {error}"),
                };
            }
        };
        let action = self.proposed_action(tool, &arguments, ids);
        let decision = self.evaluate(&action).await;
        let verdict = decision.verdict();
        Gated::Decided {
            tool,
            arguments,
            decision: Box::new(decision),
            verdict,
        }
    }

    /// The tool's proposed action, completed with the agent's defaults and the run's ids.
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

    /// Evaluates with retries; when the engine cannot answer, the fail-mode decision.
    pub(crate) async fn evaluate(&self, action: &ProposedAction) -> Decision {
        let span =
            tracing::info_span!("bighub.evaluate", tool = %action.tool, action = %action.action);
        async {
            let mut attempt = 0u32;
            loop {
                match self.engine.evaluate(action).await {
                    Ok(decision) => return decision,
                    Err(error) if error.is_retryable() && attempt < self.config.evaluate_retries => {
                        attempt += 1;
                        let delay = Duration::from_millis(50 * (1u64 << attempt.min(5)));
                        tracing::warn!(%error, attempt, "evaluation failed; retrying");
                        tokio::time::sleep(delay).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, fail_mode = %self.config.fail_mode, "evaluation failed; using the fail-mode decision");
                        return self.config.fail_mode.decision(&error);
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn execute_if_allowed(
        &self,
        gated: &Gated<'_>,
        call: &FunctionCall,
    ) -> Option<Result<Value, ToolError>> {
        let Gated::Decided {
            tool,
            arguments,
            verdict: Verdict::Execute,
            ..
        } = gated
        else {
            return None;
        };
        let span = tracing::info_span!("bighub.tool", tool = %call.name, call_id = %call.call_id);
        let future = tool.call(arguments.clone(), self.context.with_call_id(&call.call_id));
        let result = AssertUnwindSafe(future)
            .catch_unwind()
            .instrument(span)
            .await;
        Some(result.unwrap_or_else(|panic| Err(ToolError::panicked(panic_message(&panic)))))
    }

    fn event(
        &self,
        call: &FunctionCall,
        gated: Gated<'_>,
        result: Option<Result<Value, ToolError>>,
        ids: &RunIds,
        seq: u64,
    ) -> ExecutionEvent {
        let (status, decision, arguments, output, error) = match (gated, result) {
            (Gated::Rejected { arguments, error }, _) => (
                ExecutionStatus::ToolError,
                None,
                arguments,
                None,
                Some(error),
            ),
            (
                Gated::Decided {
                    arguments,
                    decision,
                    ..
                },
                Some(Ok(output)),
            ) => (
                ExecutionStatus::Executed,
                Some(*decision),
                arguments,
                Some(output),
                None,
            ),
            (
                Gated::Decided {
                    arguments,
                    decision,
                    ..
                },
                Some(Err(error)),
            ) => (
                ExecutionStatus::ToolError,
                Some(*decision),
                arguments,
                None,
                Some(error.to_string()),
            ),
            (
                Gated::Decided {
                    arguments,
                    decision,
                    verdict,
                    ..
                },
                None,
            ) => {
                let status =
                    ExecutionStatus::for_verdict(verdict).unwrap_or(ExecutionStatus::Blocked);
                (status, Some(*decision), arguments, None, None)
            }
        };
        let request_id = decision.as_ref().and_then(|d| d.request_id.clone());
        let recommendation = decision.as_ref().and_then(|d| d.recommendation.clone());
        let risk_score = decision.as_ref().and_then(|d| d.risk_score.or(d.risk));
        let enforcement_mode = decision.as_ref().and_then(|d| d.enforcement_mode.clone());
        ExecutionEvent {
            tool: call.name.clone(),
            call_id: call.call_id.clone(),
            status,
            decision,
            arguments,
            output,
            error,
            event_id: uuid::Uuid::new_v4().to_string(),
            trace_id: ids.trace_id.clone(),
            request_id,
            seq,
            recommendation,
            risk_score,
            enforcement_mode,
        }
    }

    /// The hook and the outcome report of one event.
    async fn after_event(&self, event: &ExecutionEvent) -> Result<(), Error> {
        if let Some(hook) = &self.on_decision
            && std::panic::catch_unwind(AssertUnwindSafe(|| hook(event))).is_err()
        {
            tracing::warn!(tool = %event.tool, "the on_decision hook panicked; ignored");
        }
        if !self.config.outcome_reporting || event.decision.is_none() {
            return Ok(());
        }
        let report = outcome_report(event);
        if self.config.outcome_reporting_required {
            self.engine
                .report_outcome(&report)
                .await
                .map_err(|source| Error::OutcomeReport {
                    source,
                    events: Vec::new(),
                })
        } else {
            self.reporter.outcome(report);
            Ok(())
        }
    }
}

fn outcome_report(event: &ExecutionEvent) -> OutcomeReport {
    let status = match event.status {
        ExecutionStatus::Executed => OutcomeStatus::Success,
        ExecutionStatus::ToolError => OutcomeStatus::Failure,
        _ => OutcomeStatus::Blocked,
    };
    let mut details = Map::new();
    details.insert("tool".into(), json!(event.tool));
    details.insert("call_id".into(), json!(event.call_id));
    details.insert("execution_status".into(), json!(event.status));
    details.insert("trace_id".into(), json!(event.trace_id));
    details.insert("recommendation".into(), json!(event.recommendation));
    details.insert("risk".into(), json!(event.risk_score));
    if let Some(error) = &event.error {
        details.insert("error".into(), json!(error));
    }
    let mut report = OutcomeReport::new(status);
    report.request_id = event.request_id.clone();
    report.description = Some(format!("{} {}", event.tool, event.status));
    report.details = details;
    report.correction_needed = status == OutcomeStatus::Failure;
    report
}

fn parse_or_raw(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_owned()))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "the tool panicked".to_owned()
    }
}
