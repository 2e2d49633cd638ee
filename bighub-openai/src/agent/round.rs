//! One round of the loop: the model's function calls -> prepared calls (proposed action,
//! decision and verdict, all evaluated concurrently) -> approvals (asked, paused, or
//! reported) -> the tools that may run (concurrently unless turned off) -> one execution
//! event per call, in the model's order.
//!
//! Deciding ([`Inner::prepare`]) and playing the rest of the round ([`Inner::play_round`])
//! are separate steps so that a streamed run can start each decision as soon as the call's
//! arguments are complete. Running and recording happen in a task of their own
//! ([`Inner::run_and_record`]): once a tool has started, its event reaches the hook, the
//! outcome report and decision memory even when the caller stops waiting for the run. A
//! cancelled run starts no further tool. This module never talks to the model; `run.rs`
//! and `stream.rs` do.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bighub_core::{Decision, MemoryBatch, OutcomeReport, OutcomeStatus, Verdict};
use futures::FutureExt;
use futures::future::{BoxFuture, join_all};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tracing::Instrument;

use super::Inner;
use super::caps::{cap_decision, cap_output, truncate_text};
use super::prepared::{
    Decided, FunctionCall, Gate, PreparedCall, scrub_text, scrub_value, unusable_arguments,
};
use crate::config::SOURCE_VERSION;
use crate::{
    ApprovalAnswer, Error, ExecutionEvent, ExecutionStatus, ToolError,
    run::{ApprovalLoop, ApprovalRequest},
};
use bighub_core::digest::canonical_sha256;

/// Identifies the run a round belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RunIds {
    pub(crate) trace_id: String,
    /// The model of the run (empty outside a run).
    pub(crate) model: String,
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

/// Between two evaluations of one call: 50 ms doubling up to 1.6 s, with jitter.
const EVALUATE_BACKOFF: bighub_core::Backoff =
    bighub_core::Backoff::new(Duration::from_millis(50), Duration::from_millis(1600));

/// Sets the flag when dropped: the run stopped waiting, so no further tool may start.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Inner {
    /// Decides one call: finds its tool, parses its arguments, proposes the action and
    /// asks the engine. Unknown tools and unusable arguments are rejected without asking.
    pub(crate) async fn prepare(&self, call: FunctionCall, ids: &RunIds) -> PreparedCall {
        let Some(tool) = self.tools.get_shared(&call.name) else {
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
            let arguments = unusable_arguments(
                &call.arguments,
                serde_json::from_str(&call.arguments).ok(),
                false,
            );
            return rejected(call, arguments, None, error);
        };
        let has_secrets = !tool.metadata().secret_args.is_empty();
        let arguments = match serde_json::from_str::<Value>(&call.arguments) {
            Ok(Value::Object(map)) => Value::Object(map),
            Ok(other) => {
                let error = format!(
                    "arguments must be a JSON object, got {}",
                    crate::tool_error::json_kind(&other)
                );
                let arguments = unusable_arguments(&call.arguments, Some(other), has_secrets);
                return rejected(call, arguments, Some(tool), error);
            }
            Err(error) => {
                // serde_json's message names a position, never the text around it.
                let error = format!("arguments are not valid JSON: {error}");
                let arguments = unusable_arguments(&call.arguments, None, has_secrets);
                return rejected(call, arguments, Some(tool), error);
            }
        };
        let digest = canonical_sha256(&arguments);
        let action = self.proposed_action(&tool, &arguments, ids);
        let decision = self.decide(&action, &call.name, &digest).await;
        let verdict = decision.verdict();
        PreparedCall {
            call,
            arguments,
            digest,
            gate: Gate::Decided(Box::new(Decided {
                tool,
                action,
                decision,
                verdict,
            })),
        }
    }

    /// Evaluates `action` (see [`evaluate`](Self::evaluate)), cuts what the decision may add
    /// to the record, and enters a review in the approval ledger.
    pub(crate) async fn decide(
        &self,
        action: &bighub_core::ProposedAction,
        tool: &str,
        digest: &str,
    ) -> Decision {
        let mut decision = self.evaluate(action).await;
        cap_decision(&mut decision, self.config.max_reason_bytes);
        if decision.verdict() == Verdict::RequireApproval
            && let Some(request_id) = &decision.request_id
        {
            self.ledger.asked(request_id, tool, digest);
        }
        decision
    }

    /// The engine's preview of `action` (nothing recorded, no ledger entry), cut like any
    /// decision; when the engine cannot answer, the fail-mode decision.
    pub(crate) async fn preview(&self, action: &bighub_core::ProposedAction) -> Decision {
        let mut decision = match self.engine.preview(action).await {
            Ok(decision) => decision,
            Err(error) => self.config.fail_mode.decision_for(&error),
        };
        cap_decision(&mut decision, self.config.max_reason_bytes);
        decision
    }

    /// Evaluates with retries; when the engine cannot answer, the fail-mode decision (which
    /// blocks, whatever the fail mode, unless the engine was merely unavailable).
    pub(crate) async fn evaluate(&self, action: &bighub_core::ProposedAction) -> Decision {
        let span =
            tracing::info_span!("bighub.evaluate", tool = %action.tool, action = %action.action);
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

    /// Everything after the decisions: approvals, then running and recording.
    pub(crate) async fn play_round(
        self: &Arc<Self>,
        calls: Vec<PreparedCall>,
        ids: &RunIds,
        first_seq: u64,
        policy: &ApprovalPolicy,
    ) -> Result<RoundOutcome, Error> {
        // Approvals: ask (one at a time: a person answers them), pause, or report.
        let mut approvals = Vec::with_capacity(calls.len());
        for call in &calls {
            approvals.push(self.approval_for(call, policy).await?);
        }
        self.run_and_record(calls, approvals, ids, first_seq).await
    }

    /// Runs the calls that may run and records every call, in a task of its own so that
    /// the record survives the caller giving up.
    pub(crate) async fn run_and_record(
        self: &Arc<Self>,
        calls: Vec<PreparedCall>,
        approvals: Vec<ApprovalState>,
        ids: &RunIds,
        first_seq: u64,
    ) -> Result<RoundOutcome, Error> {
        let cancelled = Arc::new(AtomicBool::new(false));
        let _cancel = CancelOnDrop(Arc::clone(&cancelled));
        let (tx, rx) = oneshot::channel();
        let this = Arc::clone(self);
        let ids = ids.clone();
        let span = tracing::Span::current();
        tokio::spawn(
            async move {
                let outcome = this
                    .execute_round(calls, approvals, &ids, first_seq, &cancelled)
                    .await;
                let _ = tx.send(outcome);
            }
            .instrument(span),
        );
        rx.await.unwrap_or_else(|_| {
            Err(Error::ProviderResponse(
                "the task running the round's tools stopped unexpectedly".to_owned(),
            ))
        })
    }

    async fn execute_round(
        &self,
        calls: Vec<PreparedCall>,
        approvals: Vec<ApprovalState>,
        ids: &RunIds,
        first_seq: u64,
        cancelled: &AtomicBool,
    ) -> Result<RoundOutcome, Error> {
        let results: Vec<Option<Result<Value, ToolError>>> = if self.config.parallel_tool_execution
        {
            join_all(
                calls
                    .iter()
                    .zip(&approvals)
                    .map(|(c, a)| self.run_one(c, a, cancelled)),
            )
            .await
        } else {
            let mut results = Vec::with_capacity(calls.len());
            for (call, approval) in calls.iter().zip(&approvals) {
                results.push(self.run_one(call, approval, cancelled).await);
            }
            results
        };

        let mut outcome = RoundOutcome {
            events: Vec::with_capacity(calls.len()),
            pending: Vec::with_capacity(calls.len()),
            approvals: Vec::new(),
        };
        let mut report_error = None;
        for (i, ((call, result), approval)) in
            calls.into_iter().zip(results).zip(approvals).enumerate()
        {
            let pending = matches!(approval, ApprovalState::Pending);
            let event = self.event(call, result, &approval, ids, first_seq + i as u64);
            if let ApprovalState::Answered { answer, record } = &approval {
                outcome
                    .approvals
                    .push(approval_loop(&event, answer, record.clone()));
            }
            if let Err(error) = self.after_event(&event, !pending).await {
                report_error.get_or_insert(error);
            }
            outcome.events.push(event);
            outcome.pending.push(pending);
        }
        self.remember(&outcome.events, ids).await;
        match report_error {
            Some(Error::OutcomeReport { source, .. }) => Err(Error::OutcomeReport {
                source,
                events: outcome.events,
            }),
            Some(other) => Err(other),
            None => Ok(outcome),
        }
    }

    /// Runs one call if it may run and the run was not cancelled; `None` when it may not.
    async fn run_one(
        &self,
        call: &PreparedCall,
        approval: &ApprovalState,
        cancelled: &AtomicBool,
    ) -> Option<Result<Value, ToolError>> {
        if !may_run(call, approval) {
            return None;
        }
        if cancelled.load(Ordering::SeqCst) {
            return Some(Err(ToolError::cancelled()));
        }
        Some(self.execute(call).await)
    }

    async fn approval_for(
        &self,
        call: &PreparedCall,
        policy: &ApprovalPolicy,
    ) -> Result<ApprovalState, Error> {
        let Some(decided) = call.decided() else {
            return Ok(ApprovalState::None);
        };
        if decided.verdict != Verdict::RequireApproval {
            return Ok(ApprovalState::None);
        }
        let callback = match policy {
            ApprovalPolicy::Report => return Ok(ApprovalState::None),
            ApprovalPolicy::Pause => return Ok(ApprovalState::Pending),
            ApprovalPolicy::Ask(callback) => callback,
        };
        let Some(request_id) = decided.decision.request_id.clone() else {
            // Without a request id there is nothing to bind an approval to.
            tracing::warn!(tool = %call.call.name, "approval required but the decision has no request id; reporting it");
            return Ok(ApprovalState::None);
        };
        let request = ApprovalRequest {
            request_id: request_id.clone(),
            tool: call.call.name.clone(),
            call_id: call.call.call_id.clone(),
            arguments: call.recorded_arguments(),
            decision: decided.decision.clone(),
        };
        let Some(answer) = callback(request).await else {
            return Ok(ApprovalState::Pending);
        };
        let record = self.settle_approval(&request_id, call, &answer).await?;
        Ok(ApprovalState::Answered { answer, record })
    }

    /// Runs the tool of a decided call, within its timeout; a panic becomes a tool error.
    pub(crate) async fn execute(&self, call: &PreparedCall) -> Result<Value, ToolError> {
        let Some(decided) = call.decided() else {
            return Err(ToolError::new(
                "this call was never decided, so it does not run",
            ));
        };
        let tool = &decided.tool;
        let timeout = tool.timeout().unwrap_or(self.config.tool_timeout);
        let span = tracing::info_span!("bighub.tool", tool = %call.call.name, call_id = %call.call.call_id);
        let future = tool.call(
            call.arguments.clone(),
            self.context.with_call_id(&call.call.call_id),
        );
        let guarded = AssertUnwindSafe(future).catch_unwind();
        match tokio::time::timeout(timeout, guarded)
            .instrument(span)
            .await
        {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(ToolError::panicked(panic_message(&panic))),
            Err(_) => Err(ToolError::timed_out(timeout)),
        }
    }

    /// The proposed action of a call of `tool`, completed with the agent's defaults and the
    /// run's ids.
    pub(crate) fn proposed_action(
        &self,
        tool: &crate::tool::RegisteredTool,
        arguments: &Value,
        ids: &RunIds,
    ) -> bighub_core::ProposedAction {
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

    /// The record of one call: secrets redacted and scrubbed, outputs and errors cut to the
    /// configured size.
    pub(crate) fn event(
        &self,
        call: PreparedCall,
        result: Option<Result<Value, ToolError>>,
        approval: &ApprovalState,
        ids: &RunIds,
        seq: u64,
    ) -> ExecutionEvent {
        let rejected_by_human = matches!(
            approval,
            ApprovalState::Answered { answer, .. } if !answer.is_approved()
        );
        let secrets = call.secret_values();
        let arguments = call.recorded_arguments();
        let (status, output, error) = match (&call.gate, result) {
            (Gate::Rejected { error, .. }, _) => {
                (ExecutionStatus::ToolError, None, Some(error.clone()))
            }
            (Gate::Decided(_), Some(Ok(output))) => (ExecutionStatus::Executed, Some(output), None),
            (Gate::Decided(_), Some(Err(error)))
                if error.kind() == crate::tool::ToolErrorKind::Cancelled =>
            {
                (ExecutionStatus::Blocked, None, Some(error.to_string()))
            }
            (Gate::Decided(_), Some(Err(error))) => {
                (ExecutionStatus::ToolError, None, Some(error.to_string()))
            }
            (Gate::Decided(decided), None) => {
                let status = if rejected_by_human {
                    ExecutionStatus::Rejected
                } else {
                    ExecutionStatus::for_verdict(decided.verdict)
                        .unwrap_or(ExecutionStatus::Blocked)
                };
                (status, None, None)
            }
        };
        let max = self.config.max_tool_output_bytes;
        let output = output.map(|mut output| {
            scrub_value(&mut output, &secrets);
            cap_output(output, max)
        });
        let error = error.map(|mut error| {
            scrub_text(&mut error, &secrets);
            truncate_text(&mut error, max);
            error
        });
        let decision = match call.gate {
            Gate::Decided(decided) => Some(decided.decision),
            Gate::Rejected { .. } => None,
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
            tool: call.call.name,
            call_id: call.call.call_id,
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
            self.reporter.outcome(report).await;
            Ok(())
        }
    }

    /// Sends `events` to decision memory (when enabled).
    pub(crate) async fn remember(&self, events: &[ExecutionEvent], ids: &RunIds) {
        if !self.config.memory_enabled || events.is_empty() {
            return;
        }
        self.reporter
            .memory(|| {
                let events = events.iter().map(|event| json!(event)).collect();
                let mut batch = MemoryBatch::new(self.config.memory_source.clone(), events);
                batch.source_version = Some(SOURCE_VERSION.to_owned());
                batch.actor = Some(self.config.actor.clone());
                batch.domain = Some(self.config.domain.clone());
                batch.model = Some(ids.model.clone()).filter(|m| !m.is_empty());
                batch.trace_id = Some(ids.trace_id.clone());
                batch
            })
            .await;
    }
}

fn rejected(
    call: FunctionCall,
    arguments: Value,
    tool: Option<Arc<crate::tool::RegisteredTool>>,
    error: String,
) -> PreparedCall {
    PreparedCall {
        call,
        digest: canonical_sha256(&arguments),
        arguments,
        gate: Gate::Rejected { tool, error },
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

fn may_run(call: &PreparedCall, approval: &ApprovalState) -> bool {
    match (call.verdict(), approval) {
        (Some(Verdict::Execute), _) => true,
        (Some(Verdict::RequireApproval), ApprovalState::Answered { answer, .. }) => {
            answer.is_approved()
        }
        _ => false,
    }
}

/// The `approval_loop` record of one answered approval, from the call's event.
pub(crate) fn approval_loop(
    event: &ExecutionEvent,
    answer: &ApprovalAnswer,
    record: Value,
) -> ApprovalLoop {
    let ran = matches!(
        event.status,
        ExecutionStatus::Executed | ExecutionStatus::ToolError
    ) && answer.is_approved();
    ApprovalLoop {
        required: true,
        resolved: true,
        resumed: ran,
        request_id: event.request_id.clone(),
        approval: Some(record),
        tool_output: ran.then(|| match (&event.output, &event.error) {
            (Some(output), _) => output.clone(),
            (None, error) => json!({"error": error}),
        }),
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
