//! Resuming: finishing a paused run once its approvals are answered, and running one
//! approved call outside a conversation.
//!
//! Every answered call is bound before anything runs: a resumed [`RunState`] must agree
//! with the model's own `function_call` item in its conversation (same tool, same argument
//! text, same digest), and each approval is settled (`settle.rs`) for exactly that call.
//!
//! The record keeps one event per call: a resumed call's final event (carrying its
//! approval) takes the place, and the position, of the event it had while it waited.
//!
//! With an engine that keeps no approvals (the hosted service, custom engines), a state
//! edited consistently by someone who can write it and resumed in another process is beyond
//! what the runtime alone can refuse: the engine's approval record is the authority there.

use std::collections::HashMap;
use std::sync::Arc;

use bighub_core::Decision;
use bighub_core::action::TOOL_HINTS_KEY;
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use serde_json::{Value, json};
use tracing::Instrument;

use super::approval::{ApprovalAnswer, ApprovalLoop};
use super::call::{CallKind, FunctionCall};
use super::ctx::{RunCtx, SecretArgs};
use super::driver::Step;
use super::hosted_mcp::mcp_approval_event;
use super::model_response::LlmResponse;
use super::prepared::PreparedCall;
use super::recorded::RecordedCall;
use super::result::RunResult;
use super::runner::{RunIds, Runner};
use super::spans;
use super::state::RunState;
use super::stream::{RunStream, Sender, emit};
use super::stream_event::StreamEvent;
use crate::Error;

/// A paused run being resumed: the run (its paused round's calls among it), the response
/// that proposed that round, and the answered calls, each bound to the model's own call.
pub(crate) struct Resumed {
    pub(crate) ctx: RunCtx,
    response: LlmResponse,
    secret_args: SecretArgs,
    answered: Vec<Answered>,
    /// How many answered calls were recorded so far: none means nothing ran.
    recorded: usize,
}

/// One answered call of a resumed round.
struct Answered {
    index: usize,
    request_id: String,
    answer: ApprovalAnswer,
    prepared: PreparedCall,
}

impl Runner {
    /// The prepared call of a paused call: the model's own `function_call` item, bound to
    /// the state's tool, digest and decision.
    fn paused_call(
        &self,
        ctx: &RunCtx,
        call: &RecordedCall,
        request_id: &str,
    ) -> Result<PreparedCall, Error> {
        let call_id = &call.call.call_id;
        let invalid =
            |why: String| Error::InvalidRunState(format!("the paused call {call_id}: {why}"));
        // Read from the conversation on purpose, not from the recorded call: the state may
        // have been edited, and an approval runs the model's own call or nothing.
        let model_call = ctx.conversation.call(call_id).ok_or_else(|| {
            invalid("the conversation has no function_call with this call id".to_owned())
        })?;
        let tool_name = &call.call.name;
        if model_call.name != *tool_name {
            let refusal = ApprovalRefusal::ToolChanged {
                approved: model_call.name,
                requested: tool_name.clone(),
            };
            return Err(ApprovalRefused::new(request_id, refusal).into());
        }
        let arguments = match serde_json::from_str::<Value>(&model_call.arguments) {
            Ok(arguments @ Value::Object(_)) => arguments,
            _ => {
                return Err(invalid(
                    "the model's arguments are not a JSON object".to_owned(),
                ));
            }
        };
        let changed = || -> Error {
            ApprovalRefused::new(request_id, ApprovalRefusal::ArgumentsChanged).into()
        };
        if model_call.arguments != call.call.arguments {
            return Err(changed());
        }
        let tool = match &model_call.kind {
            // An `mcp_approval_request` is answered by an approval, never run here.
            CallKind::HostedMcpApproval { server_label } => {
                self.hosted_tool(server_label, tool_name).ok_or_else(|| {
                    invalid(format!(
                        "it uses `{tool_name}` of the hosted MCP server `{server_label}`, which this agent does not offer"
                    ))
                })?
            }
            CallKind::Function => self.tools.get_shared(tool_name).ok_or_else(|| {
                invalid(format!(
                    "it uses the tool `{tool_name}`, which this agent does not register"
                ))
            })?,
        };
        let decision = call
            .event
            .decision
            .clone()
            .ok_or_else(|| invalid("it has no decision".to_owned()))?;
        let mut action = self.proposed_action(&tool, &arguments, &ctx.ids);
        // The call runs only against what it was decided on: an MCP tool whose server
        // changed its definition since is not forwarded.
        if let Some(hints) = &call.decided_hints {
            action
                .context
                .metadata
                .insert(TOOL_HINTS_KEY.to_owned(), hints.clone());
        }
        let prepared = PreparedCall::for_review(model_call, arguments, tool, action, decision);
        // The digest the approval was asked for, against the one of the model's arguments.
        if prepared.digest != call.digest {
            return Err(changed());
        }
        Ok(prepared)
    }

    /// Checks a paused run and its answers, and binds each answered call to the model's own
    /// call; nothing runs and nothing is recorded here.
    pub(crate) fn begin_resume(
        &self,
        state: RunState,
        mut answers: HashMap<String, ApprovalAnswer>,
    ) -> Result<Resumed, Error> {
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
        let (ctx, response, secret_args) = state.thaw(self.default_policy())?;
        // Every answered call is checked against its binding before any of them runs.
        let mut answered = Vec::new();
        for (index, call) in ctx.calls.iter().enumerate().filter(|(_, c)| c.pending) {
            let Some(request_id) = call.event.request_id.clone() else {
                continue;
            };
            let Some(answer) = answers.remove(&request_id) else {
                continue;
            };
            let prepared = self.paused_call(&ctx, call, &request_id)?;
            answered.push(Answered {
                index,
                request_id,
                answer,
                prepared,
            });
        }
        Ok(Resumed {
            recorded: 0,
            ctx,
            response,
            secret_args,
            answered,
        })
    }

    /// Settles and runs the answered calls of a resumed round; then either pauses again
    /// (some calls still wait) or hands every output of the round to the conversation.
    /// A streamed resume sends each new event to `tx` as it is recorded.
    pub(crate) async fn play_resumed(
        self: &Arc<Self>,
        resumed: &mut Resumed,
        tx: Option<&Sender>,
    ) -> Result<Option<Step>, Error> {
        let Resumed {
            ctx,
            response,
            secret_args,
            answered,
            recorded: recorded_calls,
        } = resumed;
        for Answered {
            index,
            request_id,
            answer,
            mut prepared,
        } in std::mem::take(answered)
        {
            prepared.approval = self
                .settle_approval(&request_id, &mut prepared, &answer)
                .await?;
            // The final event takes the paused one's place: one event per call.
            let paused = &ctx.calls[index].event;
            let (paused_id, seq) = (paused.event_id.clone(), paused.seq);
            let mut outcome = self.run_and_record(vec![prepared], &ctx.ids, seq).await?;
            ctx.approvals.append(&mut outcome.approvals);
            let recorded = outcome
                .calls
                .pop()
                .ok_or_else(|| Error::Internal("a resumed call left no record".to_owned()))?;
            *recorded_calls += 1;
            match ctx.events.iter_mut().find(|e| e.event_id == paused_id) {
                Some(slot) => *slot = recorded.event.clone(),
                None => ctx.events.push(recorded.event.clone()),
            }
            let call = &mut ctx.calls[index];
            call.event = recorded.event.clone();
            call.pending = false;
            if let Some(failure) = outcome.failure {
                return Err(failure);
            }
            if let Some(tx) = tx {
                let event = recorded.event;
                emit(tx, StreamEvent::ExecutionEvent { event }).await?;
            }
        }
        if ctx.is_paused() {
            // Some calls still wait: pause again, with what was resolved now.
            let state = ctx.freeze(response, secret_args.clone());
            return Ok(Some(Step::Paused(response.clone(), Box::new(state))));
        }
        for call in &ctx.calls {
            ctx.conversation.answer_call(call);
            if let Some(tx) = tx
                && let Some(answer) = mcp_approval_event(call)
            {
                emit(tx, answer).await?;
            }
        }
        Ok(None)
    }

    /// The result of a resumed run, from how it went on.
    pub(crate) fn finish_resumed(
        &self,
        resumed: Resumed,
        outcome: Result<Step, Error>,
    ) -> Result<RunResult, Error> {
        match outcome {
            // Refused before anything ran: the typed refusal, not an interrupted run.
            Err(error) if resumed.recorded == 0 => {
                tracing::warn!(%error, "resume refused");
                Err(error)
            }
            outcome => self.finish(resumed.ctx, outcome),
        }
    }

    pub(crate) async fn resume(
        self: &Arc<Self>,
        state: RunState,
        answers: HashMap<String, ApprovalAnswer>,
    ) -> Result<RunResult, Error> {
        let mut resumed = self.begin_resume(state, answers)?;
        let span = self.run_span(&resumed.ctx);
        let outcome = async {
            match self.play_resumed(&mut resumed, None).await {
                Ok(Some(step)) => Ok(step),
                Ok(None) => self.run_rounds(&mut resumed.ctx).await,
                Err(error) => Err(error),
            }
        }
        .instrument(span.clone())
        .await;
        if let Err(error) = &outcome {
            spans::record_error(&span, error);
        }
        self.finish_resumed(resumed, outcome)
    }

    /// A resumed run, streamed (see
    /// [`BighubOpenAI::resume_stream`](crate::BighubOpenAI::resume_stream)).
    pub(crate) fn resume_stream(
        self: &Arc<Self>,
        state: RunState,
        answers: HashMap<String, ApprovalAnswer>,
    ) -> RunStream {
        let this = Arc::clone(self);
        RunStream::spawn(move |tx| {
            Box::pin(async move {
                let mut resumed = match this.begin_resume(state, answers) {
                    Ok(resumed) => resumed,
                    Err(error) => {
                        tracing::warn!(%error, "resume refused");
                        let _ = tx.send(Err(error)).await;
                        return;
                    }
                };
                let span = this.run_span(&resumed.ctx);
                let outcome = async {
                    match this.play_resumed(&mut resumed, Some(&tx)).await? {
                        Some(paused) => Ok(paused),
                        None => this.stream_rounds(&mut resumed.ctx, &tx).await,
                    }
                }
                .instrument(span.clone())
                .await;
                if matches!(outcome, Err(Error::Cancelled)) {
                    return;
                }
                if let Err(error) = &outcome {
                    spans::record_error(&span, error);
                }
                let last = this
                    .finish_resumed(resumed, outcome)
                    .map(|response| StreamEvent::FinalResponse { response });
                let _ = tx.send(last).await;
            })
        })
    }

    /// One approved call outside a conversation (see
    /// [`BighubOpenAI::resume_after_approval`](crate::BighubOpenAI::resume_after_approval)).
    pub(crate) async fn resume_one(
        self: &Arc<Self>,
        tool: &str,
        arguments: Value,
        request_id: &str,
        answer: ApprovalAnswer,
    ) -> Result<ApprovalLoop, Error> {
        let inner = self;
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
        let ids = RunIds::new("");
        let action = inner.proposed_action(&registered, &arguments, &ids);
        // The decision itself stays with the engine; the call carries what binds it.
        let decision =
            Decision::from_backend_response(&json!({"request_id": request_id, "mode": "review"}));
        let call = FunctionCall::function(
            tool.to_owned(),
            request_id.to_owned(),
            arguments.to_string(),
        );
        let mut call = PreparedCall::for_review(call, arguments, registered, action, decision);
        call.approval = inner
            .settle_approval(request_id, &mut call, &answer)
            .await?;
        let mut outcome = inner.run_and_record(vec![call], &ids, 0).await?;
        if let Some(failure) = outcome.failure.take() {
            let events = outcome.events().cloned().collect();
            return Err(failure.with_events(events));
        }
        outcome
            .approvals
            .pop()
            .ok_or_else(|| Error::Internal("the approved call left no record".to_owned()))
    }
}
