//! Approvals inside and across runs: recording a human's answer with the engine, binding it
//! to the exact call, running the approved call at most once, and resuming a paused run.
//!
//! Binding, per engine:
//! - an engine that keeps approvals (the local engine) verifies the request id, the SHA-256
//!   of the exact arguments and the "not used yet" flag, and consumes the approval
//!   atomically in its store, so an approval runs its call at most once across processes;
//! - for other engines (the hosted service, custom ones) the binding is the SHA-256 of the
//!   arguments kept in the [`RunState`] (and the model's own `function_call` item in its
//!   conversation), and a request id is resumed at most once per process. A state edited
//!   consistently by someone who can write it, or resumed by two processes, is beyond what
//!   the runtime alone can refuse: the engine's approval record is the authority there.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};

use bighub_core::{OutcomeReport, OutcomeStatus, Verdict};
use serde_json::{Map, Value, json};

use super::binding::arguments_sha256;
use super::round::{ApprovalState, FunctionCall, Gated, RunIds, approval_loop};
use super::run::{RunCtx, RunSettings, Step};
use super::{BighubOpenAI, Inner};
use crate::{ApprovalAnswer, ApprovalLoop, ApprovalRequest, Error, IntoInput, RunResult, RunState};

/// Request ids whose approval this process has already acted on.
static ACTED_ON: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

fn mark_acted_on(request_id: &str) -> bool {
    ACTED_ON
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(request_id.to_owned())
}

fn unmark_acted_on(request_id: &str) {
    ACTED_ON
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(request_id);
}

fn refusal(request_id: &str, error: bighub_core::Error) -> Error {
    match error {
        bighub_core::Error::ApprovalArgumentsChanged(_) => Error::ApprovalArgumentsChanged {
            request_id: request_id.to_owned(),
        },
        bighub_core::Error::ApprovalToolChanged {
            approved,
            requested,
            ..
        } => Error::ApprovalToolChanged {
            request_id: request_id.to_owned(),
            approved,
            requested,
        },
        bighub_core::Error::ApprovalAlreadyUsed(_) => Error::ApprovalAlreadyUsed {
            request_id: request_id.to_owned(),
        },
        source => Error::ApprovalRefused {
            request_id: request_id.to_owned(),
            source: Box::new(source),
        },
    }
}

impl Inner {
    /// Records `answer` with the engine and, for an approval, claims it for one execution
    /// of `tool` with `arguments`. Returns the engine's record of the resolution.
    pub(crate) async fn settle_approval(
        &self,
        request_id: &str,
        tool: &str,
        arguments: &Value,
        answer: &ApprovalAnswer,
    ) -> Result<Value, Error> {
        if !mark_acted_on(request_id) {
            return Err(Error::ApprovalAlreadyUsed {
                request_id: request_id.to_owned(),
            });
        }
        let settled = async {
            let record = match self
                .engine
                .resolve_approval(request_id, &answer.to_resolution())
                .await
            {
                Ok(record) => record,
                // Resolved earlier (by a person at a console, or by an earlier attempt) the
                // same way: the claim below decides whether the call may still run.
                Err(bighub_core::Error::ApprovalAlreadyResolved { resolution, .. })
                    if resolution == answer.resolution.as_str() =>
                {
                    json!({"request_id": request_id, "status": resolution, "already_resolved": true})
                }
                Err(error) => return Err(refusal(request_id, error)),
            };
            if answer.is_approved() {
                // The engine saw the arguments in the tool's shape; bind to the same.
                let bound = self
                    .tools
                    .get(tool)
                    .map(|t| t.tool_arguments(arguments.clone()))
                    .unwrap_or_else(|| arguments.clone());
                self.engine
                    .claim_approval(request_id, tool, &bound)
                    .await
                    .map_err(|error| refusal(request_id, error))?;
            }
            Ok(record)
        }
        .await;
        if settled.is_err() {
            // Nothing ran: a later attempt may try again.
            unmark_acted_on(request_id);
        }
        settled
    }

    async fn resume(
        &self,
        state: RunState,
        mut answers: HashMap<String, ApprovalAnswer>,
    ) -> Result<RunResult, Error> {
        state.check_version()?;
        let pending: Vec<String> = state
            .pending_approvals()
            .into_iter()
            .map(|p| p.request_id)
            .collect();
        if let Some(unknown) = answers.keys().find(|id| !pending.contains(id)) {
            return Err(Error::UnknownApproval {
                request_id: unknown.clone(),
                pending,
            });
        }
        let RunState {
            trace_id,
            model,
            instructions,
            temperature,
            extra,
            round,
            conversation,
            response,
            mut calls,
            events,
            approval_loops,
            ..
        } = state;
        let settings = RunSettings {
            model,
            instructions,
            temperature,
            extra,
        };
        settings.check()?;
        let mut ctx = RunCtx {
            settings,
            ids: RunIds { trace_id },
            conversation,
            round,
            first_new_event: events.len(),
            events,
            approvals: approval_loops,
            policy: self.default_policy(),
        };

        let outcome = async {
            for call in calls.iter_mut().filter(|c| c.pending) {
                let Some(request_id) = call.event.request_id.clone() else {
                    continue;
                };
                let Some(answer) = answers.remove(&request_id) else {
                    continue;
                };
                let arguments = call.event.arguments.clone();
                let bound_to_model = ctx
                    .conversation
                    .function_call(&call.call_id)
                    .and_then(|item| item["arguments"].as_str())
                    .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
                    .map(|args| arguments_sha256(&args));
                let sha = arguments_sha256(&arguments);
                if sha != call.arguments_sha256
                    || bound_to_model
                        .as_ref()
                        .is_some_and(|model_sha| *model_sha != sha)
                {
                    return Err(Error::ApprovalArgumentsChanged { request_id });
                }
                if self.tools.get(&call.tool).is_none() {
                    return Err(Error::InvalidRunState(format!(
                        "the paused call {} uses the tool `{}`, which this agent does not register",
                        call.call_id, call.tool
                    )));
                }
                let decision = call.event.decision.clone().ok_or_else(|| {
                    Error::InvalidRunState(format!(
                        "the paused call {} has no decision",
                        call.call_id
                    ))
                })?;
                let record = self
                    .settle_approval(&request_id, &call.tool, &arguments, &answer)
                    .await?;
                let result = if answer.is_approved() {
                    Some(
                        self.execute(&call.tool, &call.call_id, arguments.clone())
                            .await,
                    )
                } else {
                    None
                };
                ctx.approvals.push(approval_loop(
                    Some(&decision),
                    &answer,
                    record.clone(),
                    result.as_ref(),
                ));
                let function_call = FunctionCall {
                    name: call.tool.clone(),
                    call_id: call.call_id.clone(),
                    arguments: call.raw_arguments.clone(),
                };
                let gated = Gated::Decided {
                    arguments,
                    decision: Box::new(decision),
                    verdict: Verdict::RequireApproval,
                };
                let approval = ApprovalState::Answered { answer, record };
                let seq = ctx.events.len() as u64;
                let event = self.event(&function_call, gated, result, &approval, &ctx.ids, seq);
                ctx.events.push(event.clone());
                self.after_event(&event, true).await?;
                call.event = event;
                call.pending = false;
            }
            if calls.iter().any(|c| c.pending) {
                // Some calls still wait: pause again, with what was resolved now.
                let state = RunState {
                    version: crate::run_state::RUN_STATE_VERSION,
                    trace_id: ctx.ids.trace_id.clone(),
                    model: ctx.settings.model.clone(),
                    instructions: ctx.settings.instructions.clone(),
                    temperature: ctx.settings.temperature,
                    extra: ctx.settings.extra.clone(),
                    round: ctx.round,
                    conversation: ctx.conversation.clone(),
                    response: response.clone(),
                    calls: calls.clone(),
                    events: ctx.events.clone(),
                    approval_loops: ctx.approvals.clone(),
                };
                return Ok(Step::Paused(response.clone(), Box::new(state)));
            }
            for call in &calls {
                ctx.conversation
                    .add_tool_output(&call.call_id, &call.event.model_output());
            }
            self.run_rounds(&mut ctx).await
        }
        .await;
        match outcome {
            // Refused before anything ran: the typed refusal, not an interrupted run.
            Err(error) if ctx.events.len() == ctx.first_new_event => {
                tracing::warn!(%error, "resume refused");
                Err(error)
            }
            outcome => self.finish(ctx, outcome),
        }
    }
}

impl BighubOpenAI {
    /// Runs a conversation and asks `on_approval_required` about each call that needs a
    /// human's approval.
    ///
    /// The callback gets the call's [`ApprovalRequest`] (request id, tool, exact arguments,
    /// decision) and answers `Some(`[`ApprovalAnswer`]`)` or `None` to leave it pending.
    /// The answer is recorded with the engine (`POST /approvals/{id}/resolve` with the hosted
    /// service, the local store otherwise). An approved call runs inside this run and the
    /// model receives its real output; a rejected one is reported to the model as
    /// `rejected`, with the comment. With no answer, the run pauses as
    /// [`run`](Self::run) does. The result's `approval_loop` says what happened.
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), bighub_openai::Error> {
    /// use bighub_openai::ApprovalAnswer;
    ///
    /// let result = agent
    ///     .run_with_approval(
    ///         "Grant temporary Okta admin access for 48h",
    ///         "gpt-5.5",
    ///         |request| async move {
    ///             println!("{} wants approval: {:?}", request.tool, request.decision.reason);
    ///             Some(ApprovalAnswer::approved("approved by on-call"))
    ///         },
    ///     )
    ///     .await?;
    /// let approval = result.approval_loop.as_ref().expect("an approval was required");
    /// assert!(approval.resolved);
    /// println!("{} / tool output: {:?}", result.output_text(), approval.tool_output);
    /// # Ok(()) }
    /// ```
    pub async fn run_with_approval<F, Fut>(
        &self,
        input: impl IntoInput,
        model: &str,
        on_approval_required: F,
    ) -> Result<RunResult, Error>
    where
        F: Fn(ApprovalRequest) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Option<ApprovalAnswer>> + Send + 'static,
    {
        self.request(input, model)
            .send_with_approval(on_approval_required)
            .await
    }

    /// Finishes a paused run: records each answer with the engine, runs the approved calls,
    /// reports the rejected ones to the model, and continues the conversation.
    ///
    /// `answers` pairs request ids (from [`RunState::pending_approvals`]) with answers; a
    /// call left without an answer keeps the run paused. Works in another process or agent
    /// instance than the one that paused, given the same tools.
    ///
    /// Refused, with nothing run: an answer for a request id the state does not wait for
    /// ([`Error::UnknownApproval`]); arguments that differ from those approved
    /// ([`Error::ApprovalArgumentsChanged`]); an approval already acted on
    /// ([`Error::ApprovalAlreadyUsed`] — once per process, and across processes with the
    /// local engine's store); an engine that refuses the resolution
    /// ([`Error::ApprovalRefused`]).
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), bighub_openai::Error> {
    /// use bighub_openai::ApprovalAnswer;
    ///
    /// let result = agent.run("Grant Alice temporary Okta admin access for 48h", "gpt-5.5").await?;
    /// if let Some(state) = result.paused.clone() {
    ///     let answers: Vec<_> = result
    ///         .pending_approvals()
    ///         .into_iter()
    ///         .map(|p| (p.request_id, ApprovalAnswer::rejected("2h is enough")))
    ///         .collect();
    ///     let finished = agent.resume(state, answers).await?;
    ///     println!("{}", finished.output_text());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resume<I, K>(&self, state: RunState, answers: I) -> Result<RunResult, Error>
    where
        I: IntoIterator<Item = (K, ApprovalAnswer)>,
        K: Into<String>,
    {
        let answers = answers.into_iter().map(|(k, a)| (k.into(), a)).collect();
        self.inner.resume(state, answers).await
    }

    /// Runs one approved tool call outside a conversation: records `answer` for
    /// `request_id` with the engine, claims it for exactly `arguments`, runs `tool` when
    /// approved, and reports the outcome. The same bindings as [`resume`](Self::resume)
    /// apply, except that without a run state the arguments are checked only by an engine
    /// that keeps approvals.
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), bighub_openai::Error> {
    /// use bighub_openai::ApprovalAnswer;
    /// use serde_json::json;
    ///
    /// let args = json!({"user_id": "alice", "group": "okta-admins", "duration": "2h"});
    /// let check = agent.check_tool("grant_access", args.clone()).await?;
    /// if let Some(id) = &check.decision.request_id {
    ///     let done = agent
    ///         .resume_after_approval("grant_access", args, id, ApprovalAnswer::approved("ok"))
    ///         .await?;
    ///     println!("{:?}", done.tool_output);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resume_after_approval(
        &self,
        tool: &str,
        arguments: Value,
        request_id: &str,
        answer: ApprovalAnswer,
    ) -> Result<ApprovalLoop, Error> {
        let inner = &self.inner;
        if inner.tools.get(tool).is_none() {
            return Err(Error::UnknownTool {
                name: tool.to_owned(),
                available: inner.tools.names().map(str::to_owned).collect(),
            });
        }
        let record = inner
            .settle_approval(request_id, tool, &arguments, &answer)
            .await?;
        let result = if answer.is_approved() {
            Some(inner.execute(tool, request_id, arguments).await)
        } else {
            None
        };
        let mut approval = approval_loop(None, &answer, record, result.as_ref());
        approval.request_id = Some(request_id.to_owned());
        if inner.config.outcome_reporting {
            let status = match &result {
                Some(Ok(_)) => OutcomeStatus::Success,
                Some(Err(_)) => OutcomeStatus::Failure,
                None => OutcomeStatus::Blocked,
            };
            let mut report = OutcomeReport::new(status);
            report.request_id = Some(request_id.to_owned());
            report.description = Some(format!("{tool} {}", answer.resolution.as_str()));
            let mut details = Map::new();
            details.insert("tool".into(), json!(tool));
            details.insert("resolution".into(), json!(answer.resolution));
            if let Some(Err(error)) = &result {
                details.insert("error".into(), json!(error.to_string()));
            }
            report.details = details;
            report.correction_needed = status == OutcomeStatus::Failure;
            if inner.config.outcome_reporting_required {
                inner
                    .engine
                    .report_outcome(&report)
                    .await
                    .map_err(|source| Error::OutcomeReport {
                        source,
                        events: Vec::new(),
                    })?;
            } else {
                inner.reporter.outcome(report);
            }
        }
        Ok(approval)
    }
}
