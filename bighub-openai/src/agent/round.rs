//! One round of the loop: the model's function calls -> proposed actions -> decisions
//! (all evaluated concurrently) -> the gate -> approvals (asked, paused, or reported) -> the
//! tools that may run (concurrently unless turned off) -> one execution event per call, in
//! the model's order.
//!
//! Deciding ([`Inner::decide_call`]) and playing the rest of the round
//! ([`Inner::play_round`]) are separate steps so that a streamed run can start each decision
//! as soon as the call's arguments are complete. This module never talks to the model;
//! `run.rs` and `stream.rs` do.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bighub_core::{Decision, OutcomeReport, OutcomeStatus, ProposedAction, Verdict};
use futures::FutureExt;
use futures::future::{BoxFuture, join_all};
use serde_json::{Map, Value, json};
use tracing::Instrument;

use super::Inner;
use crate::RegisteredTool;
use crate::{
    ApprovalAnswer, ApprovalLoop, ApprovalRequest, Error, ExecutionEvent, ExecutionStatus,
    ToolError,
};

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

/// The answer source of `run_with_approval`.
pub(crate) type ApprovalCallback =
    Arc<dyn Fn(ApprovalRequest) -> BoxFuture<'static, Option<ApprovalAnswer>> + Send + Sync>;

/// What a round does with a call that needs an approval.
#[derive(Clone)]
pub(crate) enum ApprovalPolicy {
    /// Report `approval_required` to the model and go on (the pre-pause behaviour).
    Report,
    /// Stop the run at this round; it resumes with [`BighubOpenAI::resume`](super::BighubOpenAI::resume).
    Pause,
    /// Ask the callback; pause when it has no answer.
    Ask(ApprovalCallback),
}

/// A call after the gate, before (or instead of) execution.
#[derive(Debug, Clone)]
pub(crate) enum Gated {
    /// Never evaluated: unknown tool or unusable arguments.
    Rejected { arguments: Value, error: String },
    /// Evaluated; `verdict` says whether it may run.
    Decided {
        arguments: Value,
        decision: Box<Decision>,
        verdict: Verdict,
    },
}

impl Gated {
    pub(crate) fn verdict(&self) -> Option<Verdict> {
        match self {
            Self::Rejected { .. } => None,
            Self::Decided { verdict, .. } => Some(*verdict),
        }
    }

    pub(crate) fn decision(&self) -> Option<&Decision> {
        match self {
            Self::Rejected { .. } => None,
            Self::Decided { decision, .. } => Some(decision),
        }
    }

    pub(crate) fn arguments(&self) -> &Value {
        match self {
            Self::Rejected { arguments, .. } | Self::Decided { arguments, .. } => arguments,
        }
    }
}

/// Where a call stands with respect to a human approval.
#[derive(Debug, Clone)]
pub(crate) enum ApprovalState {
    /// No approval involved.
    None,
    /// It waits for an answer: the run pauses.
    Pending,
    /// A human answered and the engine recorded it.
    Answered {
        answer: ApprovalAnswer,
        record: Value,
    },
}

/// One round's record.
#[derive(Debug)]
pub(crate) struct RoundOutcome {
    /// One event per call, in the model's order; a pending call has an
    /// `approval_required` event.
    pub(crate) events: Vec<ExecutionEvent>,
    /// Which calls wait for an approval.
    pub(crate) pending: Vec<bool>,
    /// The approvals answered in this round.
    pub(crate) approvals: Vec<ApprovalLoop>,
}

impl RoundOutcome {
    pub(crate) fn is_paused(&self) -> bool {
        self.pending.iter().any(|p| *p)
    }
}

impl Inner {
    /// Everything after the decisions: approvals, execution, events, hooks, reports.
    pub(crate) async fn play_round(
        &self,
        calls: &[FunctionCall],
        gated: Vec<Gated>,
        ids: &RunIds,
        first_seq: u64,
        policy: &ApprovalPolicy,
    ) -> Result<RoundOutcome, Error> {
        // 1. Approvals: ask (one at a time: a person answers them), pause, or report.
        let mut approvals = Vec::with_capacity(calls.len());
        for (call, g) in calls.iter().zip(&gated) {
            approvals.push(self.approval_for(call, g, policy).await?);
        }

        // 2. Run what may run.
        let runnable: Vec<Option<&Value>> = gated
            .iter()
            .zip(&approvals)
            .map(|(g, approval)| may_run(g, approval).then(|| g.arguments()))
            .collect();
        let results: Vec<Option<Result<Value, ToolError>>> = if self.config.parallel_tool_execution
        {
            join_all(
                runnable
                    .iter()
                    .zip(calls)
                    .map(|(args, call)| self.execute_opt(call, *args)),
            )
            .await
        } else {
            let mut results = Vec::with_capacity(calls.len());
            for (args, call) in runnable.iter().zip(calls) {
                results.push(self.execute_opt(call, *args).await);
            }
            results
        };

        // 3. Record.
        let mut outcome = RoundOutcome {
            events: Vec::with_capacity(calls.len()),
            pending: Vec::with_capacity(calls.len()),
            approvals: Vec::new(),
        };
        for (i, (((call, gated), result), approval)) in calls
            .iter()
            .zip(gated)
            .zip(results)
            .zip(approvals)
            .enumerate()
        {
            let pending = matches!(approval, ApprovalState::Pending);
            if let ApprovalState::Answered { answer, record } = &approval {
                outcome.approvals.push(approval_loop(
                    gated.decision(),
                    answer,
                    record.clone(),
                    result.as_ref(),
                ));
            }
            let event = self.event(call, gated, result, &approval, ids, first_seq + i as u64);
            self.after_event(&event, !pending)
                .await
                .map_err(|error| match error {
                    Error::OutcomeReport { source, .. } => {
                        let mut so_far = outcome.events.clone();
                        so_far.push(event.clone());
                        Error::OutcomeReport {
                            source,
                            events: so_far,
                        }
                    }
                    other => other,
                })?;
            outcome.events.push(event);
            outcome.pending.push(pending);
        }
        Ok(outcome)
    }

    async fn approval_for(
        &self,
        call: &FunctionCall,
        gated: &Gated,
        policy: &ApprovalPolicy,
    ) -> Result<ApprovalState, Error> {
        let Gated::Decided {
            arguments,
            decision,
            verdict: Verdict::RequireApproval,
        } = gated
        else {
            return Ok(ApprovalState::None);
        };
        let callback = match policy {
            ApprovalPolicy::Report => return Ok(ApprovalState::None),
            ApprovalPolicy::Pause => return Ok(ApprovalState::Pending),
            ApprovalPolicy::Ask(callback) => callback,
        };
        let Some(request_id) = decision.request_id.clone() else {
            // Without a request id there is nothing to bind an approval to.
            tracing::warn!(tool = %call.name, "approval required but the decision has no request id; reporting it");
            return Ok(ApprovalState::None);
        };
        let request = ApprovalRequest {
            request_id: request_id.clone(),
            tool: call.name.clone(),
            call_id: call.call_id.clone(),
            arguments: arguments.clone(),
            decision: (**decision).clone(),
        };
        let Some(answer) = callback(request).await else {
            return Ok(ApprovalState::Pending);
        };
        let record = self
            .settle_approval(&request_id, &call.name, arguments, &answer)
            .await?;
        Ok(ApprovalState::Answered { answer, record })
    }

    async fn execute_opt(
        &self,
        call: &FunctionCall,
        arguments: Option<&Value>,
    ) -> Option<Result<Value, ToolError>> {
        let arguments = arguments?;
        Some(
            self.execute(&call.name, &call.call_id, arguments.clone())
                .await,
        )
    }

    /// Runs a tool; a panic becomes a tool error.
    pub(crate) async fn execute(
        &self,
        tool: &str,
        call_id: &str,
        arguments: Value,
    ) -> Result<Value, ToolError> {
        let Some(registered) = self.tools.get(tool) else {
            return Err(ToolError::new(format!("unknown tool `{tool}`")));
        };
        let span = tracing::info_span!("bighub.tool", tool = %tool, call_id = %call_id);
        let future = registered.call(arguments, self.context.with_call_id(call_id));
        let result = AssertUnwindSafe(future)
            .catch_unwind()
            .instrument(span)
            .await;
        result.unwrap_or_else(|panic| Err(ToolError::panicked(panic_message(&panic))))
    }

    pub(crate) async fn decide_call(&self, call: &FunctionCall, ids: &RunIds) -> Gated {
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

    pub(crate) fn event(
        &self,
        call: &FunctionCall,
        gated: Gated,
        result: Option<Result<Value, ToolError>>,
        approval: &ApprovalState,
        ids: &RunIds,
        seq: u64,
    ) -> ExecutionEvent {
        let rejected_by_human = matches!(
            approval,
            ApprovalState::Answered { answer, .. } if !answer.is_approved()
        );
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
                },
                None,
            ) => {
                let status = if rejected_by_human {
                    ExecutionStatus::Rejected
                } else {
                    ExecutionStatus::for_verdict(verdict).unwrap_or(ExecutionStatus::Blocked)
                };
                (status, Some(*decision), arguments, None, None)
            }
        };
        let request_id = decision.as_ref().and_then(|d| d.request_id.clone());
        let recommendation = decision.as_ref().and_then(|d| d.recommendation.clone());
        let risk_score = decision.as_ref().and_then(|d| d.risk_score.or(d.risk));
        let enforcement_mode = decision.as_ref().and_then(|d| d.enforcement_mode.clone());
        let approval = match approval {
            ApprovalState::Answered { answer, .. } => Some(answer.to_resolution()),
            _ => None,
        };
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
            approval,
        }
    }

    /// The hook and (unless the call still waits for an approval) the outcome report of
    /// one event.
    pub(crate) async fn after_event(
        &self,
        event: &ExecutionEvent,
        report: bool,
    ) -> Result<(), Error> {
        if let Some(hook) = &self.on_decision
            && std::panic::catch_unwind(AssertUnwindSafe(|| hook(event))).is_err()
        {
            tracing::warn!(tool = %event.tool, "the on_decision hook panicked; ignored");
        }
        if !report || !self.config.outcome_reporting || event.decision.is_none() {
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

fn may_run(gated: &Gated, approval: &ApprovalState) -> bool {
    match (gated.verdict(), approval) {
        (Some(Verdict::Execute), _) => true,
        (Some(Verdict::RequireApproval), ApprovalState::Answered { answer, .. }) => {
            answer.is_approved()
        }
        _ => false,
    }
}

/// The `approval_loop` record of one answered approval.
pub(crate) fn approval_loop(
    decision: Option<&Decision>,
    answer: &ApprovalAnswer,
    record: Value,
    result: Option<&Result<Value, ToolError>>,
) -> ApprovalLoop {
    ApprovalLoop {
        required: true,
        resolved: true,
        resumed: answer.is_approved() && result.is_some(),
        request_id: decision.and_then(|d| d.request_id.clone()),
        approval: Some(record),
        tool_output: result.map(|r| match r {
            Ok(output) => output.clone(),
            Err(error) => json!({"error": error.to_string()}),
        }),
    }
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
