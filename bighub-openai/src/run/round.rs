//! One round of the loop, after its calls are decided: approvals (asked, paused, or
//! reported) -> the tools that may run (concurrently unless turned off) -> one execution
//! event per call, in the model's order, each reaching the hook, the outcome report and
//! decision memory.
//!
//! Each call travels as one [`PreparedCall`] (its decision and its approval) from the gate
//! to its record. Running and recording happen in a task of their own
//! ([`Runner::run_and_record`]): once a tool has started, its event is recorded even when
//! the caller stops waiting for the run. A cancelled run starts no further tool. This
//! module neither decides calls (`decide.rs`) nor talks to the model (`driver.rs`,
//! `stream.rs`).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bighub_core::action::TOOL_HINTS_KEY;
use bighub_core::{MemoryBatch, OutcomeReport, OutcomeStatus, Verdict};
use futures::FutureExt;
use futures::future::join_all;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tracing::Instrument;

use super::approval::{
    ApprovalAnswer, ApprovalLoop, ApprovalPolicy, ApprovalRecord, ApprovalRequest, now_rfc3339,
};
use super::caps::{cap_output, truncate_text};
use super::prepared::{ApprovalState, Gate, PreparedCall, scrub_text, scrub_value};
use super::recorded::RecordedCall;
use super::runner::{RunIds, Runner};
use super::spans;
use crate::config::SOURCE_VERSION;
use crate::{Error, ExecutionEvent, ExecutionStatus, ToolError};

/// One round's record: every call, and why the run must stop although they are recorded.
#[derive(Debug)]
pub(crate) struct RoundOutcome {
    /// One per call, in the model's order.
    pub(crate) calls: Vec<RecordedCall>,
    /// The approvals answered in this round.
    pub(crate) approvals: Vec<ApprovalLoop>,
    /// A failure after the calls were recorded (a required outcome report that failed):
    /// the run stops, with this round's record kept.
    pub(crate) failure: Option<Error>,
}

impl RoundOutcome {
    /// The round's events, in call order.
    pub(crate) fn events(&self) -> impl Iterator<Item = &ExecutionEvent> {
        self.calls.iter().map(|c| &c.event)
    }
}

/// Sets the flag when dropped: the run stopped waiting, so no further tool may start.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Runner {
    /// Everything after the decisions: approvals, then running and recording. An error
    /// means nothing of this round ran.
    pub(crate) async fn play_round(
        self: &Arc<Self>,
        mut calls: Vec<PreparedCall>,
        ids: &RunIds,
        first_seq: u64,
        policy: &ApprovalPolicy,
    ) -> Result<RoundOutcome, Error> {
        // Approvals: ask (one at a time: a person answers them), pause, or report.
        for call in &mut calls {
            call.approval = self.approval_for(call, policy).await?;
        }
        self.run_and_record(calls, ids, first_seq).await
    }

    /// Runs the calls that may run and records every call, in a task of its own so that
    /// the record survives the caller giving up.
    pub(crate) async fn run_and_record(
        self: &Arc<Self>,
        calls: Vec<PreparedCall>,
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
                let outcome = this.execute_round(calls, &ids, first_seq, &cancelled).await;
                let _ = tx.send(outcome);
            }
            .instrument(span),
        );
        rx.await.map_err(|_| {
            Error::Internal("the task running the round's tools stopped unexpectedly".to_owned())
        })
    }

    async fn execute_round(
        &self,
        calls: Vec<PreparedCall>,
        ids: &RunIds,
        first_seq: u64,
        cancelled: &AtomicBool,
    ) -> RoundOutcome {
        let run = |call: PreparedCall| async move {
            let result = self.run_one(&call, cancelled).await;
            (call, result)
        };
        let ran: Vec<(PreparedCall, Option<Result<Value, ToolError>>)> =
            if self.config.parallel_tool_execution {
                join_all(calls.into_iter().map(run)).await
            } else {
                let mut ran = Vec::with_capacity(calls.len());
                for call in calls {
                    ran.push(run(call).await);
                }
                ran
            };

        let mut outcome = RoundOutcome {
            calls: Vec::with_capacity(ran.len()),
            approvals: Vec::new(),
            failure: None,
        };
        for (i, (call, result)) in ran.into_iter().enumerate() {
            let pending = matches!(call.approval, ApprovalState::Pending);
            let (function_call, digest) = (call.call.clone(), call.digest.clone());
            let decided_hints = call
                .decided()
                .and_then(|d| d.action.context.metadata.get(TOOL_HINTS_KEY).cloned());
            let answered = match &call.approval {
                ApprovalState::Answered { answer, record, .. }
                | ApprovalState::Redecided { answer, record, .. } => {
                    Some(Some((answer.clone(), (**record).clone())))
                }
                ApprovalState::Expired => Some(None),
                ApprovalState::None | ApprovalState::Pending => None,
            };
            let event = self.event(call, result, ids, first_seq + i as u64);
            match answered {
                Some(Some((answer, record))) => {
                    outcome
                        .approvals
                        .push(approval_loop(&event, &answer, record));
                }
                Some(None) => outcome.approvals.push(expired_loop(&event)),
                None => {}
            }
            // An approved hosted call is reported when its `mcp_call` comes back.
            let report = !pending && event.status != ExecutionStatus::Approved;
            if let Err(error) = self.after_event(&event, report).await {
                outcome.failure.get_or_insert(error);
            }
            outcome.calls.push(RecordedCall {
                call: function_call,
                digest,
                event,
                pending,
                decided_hints,
            });
        }
        let events: Vec<ExecutionEvent> = outcome.events().cloned().collect();
        self.remember(&events, ids).await;
        outcome
    }

    /// Runs one call if it may run and the run was not cancelled; `None` when it may not.
    async fn run_one(
        &self,
        call: &PreparedCall,
        cancelled: &AtomicBool,
    ) -> Option<Result<Value, ToolError>> {
        // Hosted MCP calls never run here: the API runs them once approved.
        if !may_run(call) || call.call.is_hosted() {
            return None;
        }
        if cancelled.load(Ordering::SeqCst) {
            return Some(Err(ToolError::cancelled()));
        }
        Some(self.execute(call).await)
    }

    async fn approval_for(
        &self,
        call: &mut PreparedCall,
        policy: &ApprovalPolicy,
    ) -> Result<ApprovalState, Error> {
        let Some(decided) = call.decided() else {
            return Ok(ApprovalState::None);
        };
        if decided.verdict != Verdict::ApprovalRequired {
            return Ok(ApprovalState::None);
        }
        let callback = match policy {
            ApprovalPolicy::Report => return Ok(ApprovalState::None),
            ApprovalPolicy::Pause => return Ok(ApprovalState::Pending),
            ApprovalPolicy::Ask(callback) => callback,
        };
        let Some(request_id) = decided.decision.request_id.clone() else {
            // Without a request id there is nothing to bind an approval to.
            tracing::warn!(tool = ?call.call.name, "approval required but the decision has no request id; reporting it");
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
        self.settle_approval(&request_id, call, &answer).await
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
        let span = spans::execute_tool(&call.call.name, &call.call.call_id);
        let future = tool.call(
            call.arguments.clone(),
            self.context
                .with_call_id(&call.call.call_id)
                .with_decided(&decided.action, &decided.decision),
        );
        let guarded = AssertUnwindSafe(future).catch_unwind();
        let result = match tokio::time::timeout(timeout, guarded)
            .instrument(span.clone())
            .await
        {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(ToolError::panicked(panic_message(&panic))),
            Err(_) => Err(ToolError::timed_out(timeout)),
        };
        if let Err(error) = &result {
            spans::record_tool_error(&span, error);
        }
        result
    }

    /// The record of one call: secrets redacted and scrubbed, outputs and errors cut to the
    /// configured size.
    pub(crate) fn event(
        &self,
        call: PreparedCall,
        result: Option<Result<Value, ToolError>>,
        ids: &RunIds,
        seq: u64,
    ) -> ExecutionEvent {
        // A hosted MCP call allowed here is answered `approve: true`; the API runs it.
        let hosted_approved = call.call.is_hosted() && may_run(&call);
        let rejected_by_human = matches!(
            &call.approval,
            ApprovalState::Answered { answer, .. } if !answer.is_approved()
        );
        let expired = matches!(call.approval, ApprovalState::Expired);
        let redecided = match &call.approval {
            ApprovalState::Redecided { decision, .. } => Some(decision.verdict()),
            _ => None,
        };
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
                let status = if hosted_approved {
                    ExecutionStatus::Approved
                } else if rejected_by_human {
                    ExecutionStatus::Rejected
                } else if expired {
                    ExecutionStatus::Expired
                } else if let Some(now) = redecided {
                    ExecutionStatus::for_verdict(now).unwrap_or(ExecutionStatus::Blocked)
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
        // A call decided again and stopped carries the decision that stopped it, under the
        // request id its approval was asked with.
        let decision = match &call.approval {
            ApprovalState::Redecided { decision, .. } => Some((**decision).clone()),
            _ => decision,
        };
        let recommendation = decision.as_ref().and_then(|d| d.recommendation.clone());
        let risk_score = decision.as_ref().and_then(|d| d.risk_score.or(d.risk));
        let enforcement_mode = decision.as_ref().and_then(|d| d.enforcement_mode.clone());
        let approval = match &call.approval {
            ApprovalState::Answered { answer, .. } | ApprovalState::Redecided { answer, .. } => {
                Some(answer.to_resolution())
            }
            _ => None,
        };
        let arguments_change = match &call.approval {
            ApprovalState::Answered {
                change: Some(change),
                ..
            } => Some((**change).clone()),
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
            arguments_change,
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
            tracing::warn!(tool = ?event.tool, "the on_decision hook panicked; ignored");
        }
        if !report || !self.config.outcome_reporting || event.decision.is_none() {
            return Ok(());
        }
        let report = outcome_report(event);
        if self.config.outcome_reporting_required {
            self.engine
                .report_outcome(&report)
                .await
                .map_err(|source| Error::OutcomeReport { source })
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

fn may_run(call: &PreparedCall) -> bool {
    match (call.verdict(), &call.approval) {
        (Some(Verdict::Execute), _) => true,
        (Some(Verdict::ApprovalRequired), ApprovalState::Answered { answer, .. }) => {
            answer.is_approved()
        }
        _ => false,
    }
}

/// The `approval_loop` record of one answered approval, from the call's event: the record
/// says whether the approved call ran under it.
pub(crate) fn approval_loop(
    event: &ExecutionEvent,
    answer: &ApprovalAnswer,
    mut record: ApprovalRecord,
) -> ApprovalLoop {
    let ran = matches!(
        event.status,
        ExecutionStatus::Executed | ExecutionStatus::ToolError | ExecutionStatus::Approved
    ) && answer.is_approved();
    let handed_over = event.status == ExecutionStatus::Approved;
    record.used = ran;
    record.used_at = ran.then(now_rfc3339);
    ApprovalLoop {
        required: true,
        resolved: true,
        resumed: ran,
        request_id: event.request_id.clone(),
        approval: Some(record),
        tool_output: (ran && !handed_over).then(|| match (&event.output, &event.error) {
            (Some(output), _) => output.clone(),
            (None, error) => json!({"error": error}),
        }),
    }
}

/// The `approval_loop` record of an approval that expired before anyone answered it.
fn expired_loop(event: &ExecutionEvent) -> ApprovalLoop {
    ApprovalLoop {
        required: true,
        resolved: false,
        resumed: false,
        request_id: event.request_id.clone(),
        approval: None,
        tool_output: None,
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
