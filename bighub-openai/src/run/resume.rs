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

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bighub_core::action::TOOL_HINTS_KEY;
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::{Decision, Verdict};
use serde_json::{Value, json};
use tracing::Instrument;

use super::driver::{RunCtx, RunSettings, Step};
use super::model_response::LlmResponse;
use super::prepared::{ApprovalState, Decided, FunctionCall, Gate, PreparedCall};
use super::runner::{RunIds, Runner};
use super::state::{PausedCall, RUN_STATE_VERSION};
use super::stream::{RunStream, Sender, emit};
use super::stream_event::StreamEvent;
use crate::{ApprovalAnswer, Error, RunResult, RunState, run::ApprovalLoop};
use bighub_core::digest::canonical_sha256;

/// A paused run being resumed: the run's state, the paused round's calls, and the answered
/// calls, each bound to the model's own call.
pub(crate) struct Resumed {
    pub(crate) ctx: RunCtx,
    calls: Vec<PausedCall>,
    response: LlmResponse,
    secret_args: BTreeMap<String, Vec<String>>,
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
        call: &PausedCall,
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
        // An `mcp_approval_request` is answered by an approval, never run here.
        let hosted = (item["type"] == "mcp_approval_request")
            .then(|| item["server_label"].as_str().unwrap_or_default().to_owned());
        let model_call = FunctionCall {
            name: item["name"].as_str().unwrap_or_default().to_owned(),
            call_id: call.call_id.clone(),
            arguments: item["arguments"].as_str().unwrap_or_default().to_owned(),
            hosted,
        };
        if model_call.name != call.tool {
            let refusal = ApprovalRefusal::ToolChanged {
                approved: model_call.name,
                requested: call.tool.clone(),
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
        let digest = canonical_sha256(&arguments);
        if digest != call.arguments_sha256 || model_call.arguments != call.raw_arguments {
            let refusal = ApprovalRefusal::ArgumentsChanged;
            return Err(ApprovalRefused::new(request_id, refusal).into());
        }
        let tool = match &model_call.hosted {
            Some(label) => self.hosted_tool(label, &call.tool).ok_or_else(|| {
                invalid(format!(
                    "it uses `{}` of the hosted MCP server `{label}`, which this agent does not offer",
                    call.tool
                ))
            })?,
            None => self.tools.get_shared(&call.tool).ok_or_else(|| {
                invalid(format!(
                    "it uses the tool `{}`, which this agent does not register",
                    call.tool
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
        Ok(PreparedCall {
            call: model_call,
            arguments,
            digest,
            gate: Gate::Decided(Box::new(Decided {
                tool,
                action,
                decision,
                verdict: Verdict::ApprovalRequired,
            })),
            approval: ApprovalState::None,
        })
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
        let RunState {
            trace_id,
            model,
            instructions,
            temperature,
            extra,
            round,
            conversation,
            response,
            calls,
            events,
            approval_loops,
            secret_args,
            mcp_tool_lists,
            used_mcp_approvals,
            ..
        } = state;
        let settings = RunSettings {
            model,
            instructions,
            temperature,
            extra,
        };
        settings.check()?;
        let ctx = RunCtx {
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
            mcp_tool_lists,
            used_mcp_approvals,
        };
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
            calls,
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
            calls,
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
            let record = self
                .settle_approval(&request_id, &prepared, &answer)
                .await?;
            prepared.approval = ApprovalState::Answered {
                answer,
                record: Box::new(record),
            };
            // The final event takes the paused one's place: one event per call.
            let paused = &calls[index].event;
            let (paused_id, seq) = (paused.event_id.clone(), paused.seq);
            let mut outcome = self.run_and_record(vec![prepared], &ctx.ids, seq).await?;
            ctx.approvals.append(&mut outcome.approvals);
            let recorded = outcome.calls.pop().ok_or_else(|| {
                Error::ProviderResponse("a resumed call left no record".to_owned())
            })?;
            *recorded_calls += 1;
            match ctx.events.iter_mut().find(|e| e.event_id == paused_id) {
                Some(slot) => *slot = recorded.event.clone(),
                None => ctx.events.push(recorded.event.clone()),
            }
            calls[index].event = recorded.event.clone();
            calls[index].pending = false;
            if let Some(failure) = outcome.failure {
                return Err(failure);
            }
            if let Some(tx) = tx {
                let event = recorded.event;
                emit(tx, StreamEvent::ExecutionEvent { event }).await?;
            }
        }
        if calls.iter().any(|c| c.pending) {
            // Some calls still wait: pause again, with what was resolved now.
            let state = RunState {
                version: RUN_STATE_VERSION,
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
                mcp_tool_lists: ctx.mcp_tool_lists.clone(),
                used_mcp_approvals: ctx.used_mcp_approvals.clone(),
            };
            return Ok(Some(Step::Paused(response.clone(), Box::new(state))));
        }
        for call in calls.iter() {
            ctx.conversation.answer_call(&call.event);
            if let Some(tx) = tx
                && let Some(answer) = ctx.conversation.mcp_approval_event(&call.call_id)
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
        let outcome = match self.play_resumed(&mut resumed, None).await {
            Ok(Some(step)) => Ok(step),
            Ok(None) => self.run_rounds(&mut resumed.ctx).await,
            Err(error) => Err(error),
        };
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
                let span = tracing::info_span!("bighub.resume_stream", trace_id = ?resumed.ctx.ids.trace_id, model = ?resumed.ctx.settings.model);
                let outcome = async {
                    match this.play_resumed(&mut resumed, Some(&tx)).await? {
                        Some(paused) => Ok(paused),
                        None => this.stream_rounds(&mut resumed.ctx, &tx).await,
                    }
                }
                .instrument(span)
                .await;
                if matches!(outcome, Err(Error::Cancelled)) {
                    return;
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
        let call = PreparedCall {
            call: FunctionCall {
                name: tool.to_owned(),
                call_id: request_id.to_owned(),
                arguments: arguments.to_string(),
                hosted: None,
            },
            digest: canonical_sha256(&arguments),
            arguments,
            gate: Gate::Decided(Box::new(Decided {
                tool: registered,
                action,
                decision,
                verdict: Verdict::ApprovalRequired,
            })),
            approval: ApprovalState::None,
        };
        let mut call = call;
        let record = inner.settle_approval(request_id, &call, &answer).await?;
        call.approval = ApprovalState::Answered {
            answer,
            record: Box::new(record),
        };
        let mut outcome = inner.run_and_record(vec![call], &ids, 0).await?;
        if let Some(failure) = outcome.failure.take() {
            let events = outcome.events().cloned().collect();
            return Err(failure.with_events(events));
        }
        outcome
            .approvals
            .pop()
            .ok_or_else(|| Error::ProviderResponse("the approved call left no record".to_owned()))
    }
}
