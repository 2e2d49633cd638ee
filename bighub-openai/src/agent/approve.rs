//! Approvals inside and across runs: recording a human's answer with the engine, binding it
//! to the exact call, running the approved call at most once, and resuming a paused run.
//!
//! An approval binds three things: the decision's request id, the tool name and the SHA-256
//! of the call's canonical arguments. Every path checks all three before the tool runs:
//! - the agent's [ledger](super::ledger) knows every review it asked for and refuses another
//!   tool, other arguments, or a second use;
//! - an engine that keeps approvals (the local engine) verifies the same binding in its store
//!   and consumes the approval atomically, so it runs its call at most once across processes;
//! - a resumed [`RunState`] must agree with the model's own `function_call` item in its
//!   conversation (same tool, same argument text).
//!
//! With an engine that keeps no approvals (the hosted service, custom engines), a state
//! edited consistently by someone who can write it and resumed in another process is beyond
//! what the runtime alone can refuse: the engine's approval record is the authority there.

use std::collections::HashMap;
use std::sync::Arc;

use bighub_core::{ApprovalClaim, Decision, Verdict};
use serde_json::{Value, json};

use super::prepared::{Decided, FunctionCall, Gate, PreparedCall};
use super::round::{ApprovalState, RunIds};
use super::run::{RunCtx, RunSettings, Step};
use super::{BighubOpenAI, Inner};
use crate::{
    ApprovalAnswer, Error, RunResult, RunState,
    run::{ApprovalLoop, ApprovalRequest, IntoInput},
};
use bighub_core::digest::canonical_sha256;

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
    /// of exactly `call`. Returns the engine's record of the resolution.
    pub(crate) async fn settle_approval(
        &self,
        request_id: &str,
        call: &PreparedCall,
        answer: &ApprovalAnswer,
    ) -> Result<Value, Error> {
        let Some(decided) = call.decided() else {
            return Err(Error::InvalidRunState(format!(
                "the call {} was never decided, so no approval covers it",
                call.call.call_id
            )));
        };
        let tool = call.call.name.as_str();
        self.ledger.act_on(request_id, tool, &call.digest)?;
        let settled = async {
            let (record, resolved_before) = match self
                .engine
                .resolve_approval(request_id, &answer.to_resolution())
                .await
            {
                Ok(record) => (record, false),
                // Resolved earlier (by a person at a console, or by an earlier attempt) the
                // same way: the claim below decides whether the call may still run.
                Err(bighub_core::Error::ApprovalAlreadyResolved { resolution, .. })
                    if resolution == answer.resolution.as_str() =>
                {
                    let record = json!({"request_id": request_id, "status": resolution, "already_resolved": true});
                    (record, true)
                }
                Err(error) => return Err(refusal(request_id, error)),
            };
            if answer.is_approved() {
                // The engine saw the arguments in the tool's shape; bind to the same.
                let claim = self
                    .engine
                    .claim_approval(request_id, tool, &decided.action.arguments)
                    .await
                    .map_err(|error| refusal(request_id, error))?;
                if resolved_before && claim == ApprovalClaim::NotTracked {
                    // Resolved before, by an engine that cannot say whether that approval
                    // already ran its call: running it again could run it twice.
                    return Err(Error::ApprovalAlreadyUsed {
                        request_id: request_id.to_owned(),
                    });
                }
            }
            Ok(record)
        }
        .await;
        if settled.is_err() {
            // Nothing ran: a later attempt may try again.
            self.ledger.release(request_id);
        }
        settled
    }

    /// The prepared call of a paused call: the model's own `function_call` item, bound to
    /// the state's tool, digest and decision.
    fn paused_call(
        &self,
        ctx: &RunCtx,
        call: &crate::run_state::PausedCall,
        request_id: &str,
    ) -> Result<PreparedCall, Error> {
        let invalid = |why: String| {
            Error::InvalidRunState(format!("the paused call {}: {why}", call.call_id))
        };
        let item = ctx
            .conversation
            .function_call(&call.call_id)
            .ok_or_else(|| {
                invalid("the conversation has no function_call with this call id".to_owned())
            })?;
        let model_call = FunctionCall {
            name: item["name"].as_str().unwrap_or_default().to_owned(),
            call_id: call.call_id.clone(),
            arguments: item["arguments"].as_str().unwrap_or_default().to_owned(),
        };
        if model_call.name != call.tool {
            return Err(Error::ApprovalToolChanged {
                request_id: request_id.to_owned(),
                approved: model_call.name,
                requested: call.tool.clone(),
            });
        }
        let arguments = match serde_json::from_str::<Value>(&model_call.arguments) {
            Ok(arguments @ Value::Object(_)) => arguments,
            _ => {
                return Err(invalid(
                    "the model's arguments are not a JSON object".to_owned(),
                ));
            }
        };
        let digest = canonical_sha256(&arguments);
        if digest != call.arguments_sha256 || model_call.arguments != call.raw_arguments {
            return Err(Error::ApprovalArgumentsChanged {
                request_id: request_id.to_owned(),
            });
        }
        let tool = self.tools.get_shared(&call.tool).ok_or_else(|| {
            invalid(format!(
                "it uses the tool `{}`, which this agent does not register",
                call.tool
            ))
        })?;
        let decision = call
            .event
            .decision
            .clone()
            .ok_or_else(|| invalid("it has no decision".to_owned()))?;
        let action = self.proposed_action(&tool, &arguments, &ctx.ids);
        Ok(PreparedCall {
            call: model_call,
            arguments,
            digest,
            gate: Gate::Decided(Box::new(Decided {
                tool,
                action,
                decision,
                verdict: Verdict::RequireApproval,
            })),
        })
    }

    async fn resume(
        self: &Arc<Self>,
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
            secret_args,
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
            ids: RunIds {
                trace_id,
                model: settings.model.clone(),
            },
            settings,
            conversation,
            round,
            events,
            approvals: approval_loops,
            policy: self.default_policy(),
        };
        let events_before = ctx.events.len();

        let outcome = async {
            // Every answered call is checked against its binding before any of them runs.
            let mut answered = Vec::new();
            for (index, call) in calls.iter().enumerate().filter(|(_, c)| c.pending) {
                let Some(request_id) = call.event.request_id.clone() else {
                    continue;
                };
                let Some(answer) = answers.remove(&request_id) else {
                    continue;
                };
                let prepared = self.paused_call(&ctx, call, &request_id)?;
                answered.push((index, request_id, answer, prepared));
            }
            for (index, request_id, answer, prepared) in answered {
                let record = self
                    .settle_approval(&request_id, &prepared, &answer)
                    .await?;
                let approval = ApprovalState::Answered { answer, record };
                let seq = ctx.events.len() as u64;
                let mut outcome = self
                    .run_and_record(vec![prepared], vec![approval], &ctx.ids, seq)
                    .await?;
                ctx.approvals.append(&mut outcome.approvals);
                let event = outcome.events.pop().ok_or_else(|| {
                    Error::ProviderResponse("a resumed call left no record".to_owned())
                })?;
                ctx.events.push(event.clone());
                calls[index].event = event;
                calls[index].pending = false;
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
                    secret_args: secret_args.clone(),
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
            Err(error) if ctx.events.len() == events_before => {
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
    /// `request_id` with the engine, claims it for exactly `tool` with exactly `arguments`,
    /// runs it when approved, and records it like any call (hook, outcome report, decision
    /// memory). The approval must have been asked for that tool and those arguments: this
    /// agent refuses another tool or other arguments for a review it decided, and so does an
    /// engine that keeps approvals, for any review it decided.
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), bighub_openai::Error> {
    /// use bighub_openai::ApprovalAnswer;
    /// use serde_json::json;
    ///
    /// let args = json!({"user_id": "alice", "group": "okta-admins", "duration": "2h"});
    /// let check = agent.decide_tool("grant_access", args.clone()).await?;
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
        let Some(registered) = inner.tools.get_shared(tool) else {
            return Err(Error::UnknownTool {
                name: tool.to_owned(),
                available: inner.tools.names().map(str::to_owned).collect(),
            });
        };
        if !arguments.is_object() {
            return Err(Error::InvalidArguments {
                tool: tool.to_owned(),
                message: "arguments must be a JSON object".to_owned(),
            });
        }
        let ids = RunIds {
            trace_id: uuid::Uuid::new_v4().to_string(),
            model: String::new(),
        };
        let action = inner.proposed_action(&registered, &arguments, &ids);
        // The decision itself stays with the engine; the call carries what binds it.
        let decision =
            Decision::from_backend_response(&json!({"request_id": request_id, "mode": "review"}));
        let call = PreparedCall {
            call: FunctionCall {
                name: tool.to_owned(),
                call_id: request_id.to_owned(),
                arguments: arguments.to_string(),
            },
            digest: canonical_sha256(&arguments),
            arguments,
            gate: Gate::Decided(Box::new(Decided {
                tool: registered,
                action,
                decision,
                verdict: Verdict::RequireApproval,
            })),
        };
        let record = inner.settle_approval(request_id, &call, &answer).await?;
        let approval = ApprovalState::Answered { answer, record };
        let mut outcome = inner
            .run_and_record(vec![call], vec![approval], &ids, 0)
            .await?;
        outcome
            .approvals
            .pop()
            .ok_or_else(|| Error::ProviderResponse("the approved call left no record".to_owned()))
    }
}
