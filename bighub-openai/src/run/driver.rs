//! The loop of a run: ask the model, play each round of tool calls, continue the
//! conversation, until the model answers without calling a tool, the run pauses for an
//! approval, or the round budget runs out.
//!
//! This module owns the request sent to the model and what one response leads to
//! ([`Step`]); the run in progress it carries is [`RunCtx`]. It does not stream
//! (`stream.rs` drives the same steps from a response stream) and does not resume
//! (`resume.rs`).

use std::sync::Arc;

use futures::future::join_all;
use serde_json::{Value, json};
use tracing::Instrument;

use super::approval::ApprovalPolicy;
use super::conversation::Conversation;
use super::ctx::{RunCtx, RunSettings, SecretArgs};
use super::model_response::{LlmResponse, ModelResponse};
use super::prepared::{PreparedCall, redact_argument_text};
use super::result::{Execution, RunResult};
use super::runner::Runner;
use super::spans;
use super::state::RunState;
use crate::provider::Provider;
use crate::{Error, ExecutionEvent};

/// What the loop does after a response.
pub(crate) enum Step {
    /// Tools ran; ask the model again.
    Continue,
    /// The model answered without calling a tool.
    Finished(LlmResponse),
    /// Calls wait for approvals.
    Paused(LlmResponse, Box<RunState>),
}

impl Runner {
    /// The approval policy of a run without a callback.
    pub(crate) fn default_policy(&self) -> ApprovalPolicy {
        if self.config.pause_for_approval {
            ApprovalPolicy::Pause
        } else {
            ApprovalPolicy::Report
        }
    }

    /// A fresh run's state.
    pub(crate) fn new_run(
        &self,
        input: Vec<Value>,
        settings: RunSettings,
        policy: ApprovalPolicy,
    ) -> Result<RunCtx, Error> {
        RunCtx::new(input, settings, policy, self.config.store)
    }

    pub(crate) async fn run(
        self: &Arc<Self>,
        input: Vec<Value>,
        settings: RunSettings,
        policy: ApprovalPolicy,
    ) -> Result<RunResult, Error> {
        let mut ctx = self.new_run(input, settings, policy)?;
        let span = self.run_span(&ctx);
        let outcome = self.run_rounds(&mut ctx).instrument(span.clone()).await;
        if let Err(error) = &outcome {
            spans::record_error(&span, error);
        }
        self.finish(ctx, outcome)
    }

    /// The `invoke_agent` span of a run, fresh or resumed.
    pub(crate) fn run_span(&self, ctx: &RunCtx) -> tracing::Span {
        spans::run(
            &self.config.actor,
            &ctx.settings.model,
            &self.config.session_id,
            &ctx.ids.trace_id,
        )
    }

    /// Turns the loop's last step into the run's result (or error).
    pub(crate) fn finish(
        &self,
        ctx: RunCtx,
        outcome: Result<Step, Error>,
    ) -> Result<RunResult, Error> {
        let (llm_response, paused) = match outcome {
            Ok(Step::Finished(llm)) => (llm, None),
            Ok(Step::Paused(llm, state)) => (llm, Some(*state)),
            Ok(Step::Continue) => {
                return Err(Error::Internal(
                    "the run ended between two rounds".to_owned(),
                ));
            }
            Err(error) => return Err(error.with_events(ctx.events)),
        };
        Ok(RunResult {
            llm_response,
            execution: Execution::from_events(ctx.events),
            approval_loop: ctx.approvals.last().cloned(),
            approval_loops: ctx.approvals,
            paused,
            mcp_tool_lists: ctx.mcp_tool_lists,
        })
    }

    /// Asks the model and plays rounds until it answers without tools or the run pauses.
    pub(crate) async fn run_rounds(self: &Arc<Self>, ctx: &mut RunCtx) -> Result<Step, Error> {
        let provider = self.provider()?;
        loop {
            let span = spans::chat(&ctx.settings.model);
            let response = self.ask_model(provider, ctx).instrument(span.clone()).await;
            match &response {
                Ok(response) => spans::record_response(&span, &response.raw),
                Err(error) => spans::record_error(&span, error),
            }
            drop(span);
            match self.after_response(ctx, &response?, Vec::new()).await? {
                Step::Continue => {}
                done => return Ok(done),
            }
        }
    }

    /// One model request, until its response ends (a background response is polled).
    async fn ask_model(&self, provider: &Provider, ctx: &RunCtx) -> Result<ModelResponse, Error> {
        let request = self.request_body(&ctx.conversation, &ctx.settings, false);
        let raw = match provider.create(&request).await {
            Err(error) if self.learn_plain_model(&error, &ctx.settings.model) => {
                let request = self.request_body(&ctx.conversation, &ctx.settings, false);
                provider.create(&request).await?
            }
            other => other?,
        };
        let mut response = ModelResponse::from_raw(raw)?;
        while response.is_pending() {
            // Background mode: the API works on it; ask again until it ends.
            tracing::debug!(response_id = ?response.id, status = ?response.status, "response not finished; polling");
            tokio::time::sleep(self.config.background_poll_interval).await;
            response = ModelResponse::from_raw(provider.retrieve(&response.id).await?)?;
        }
        Ok(response)
    }

    /// One response: the final answer, or a round of tool calls (with the calls already
    /// prepared in `early` while the response streamed; a call is used from there only when
    /// the completed response holds exactly that call, else it is decided again).
    pub(crate) async fn after_response(
        self: &Arc<Self>,
        ctx: &mut RunCtx,
        response: &ModelResponse,
        mut early: Vec<PreparedCall>,
    ) -> Result<Step, Error> {
        if response.status != "completed" {
            // Calls of an unfinished response may be cut short: none of them runs.
            return Err(Error::ResponseNotCompleted {
                response_id: response.id.clone(),
                status: response.status.clone(),
                reason: response.end_reason(),
            });
        }
        let raw_output = response
            .raw
            .get("output")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let llm = self.llm_response(response, raw_output.clone());
        // What the API already did on hosted MCP servers is recorded before anything else.
        ctx.mcp_tool_lists
            .extend(response.mcp_tool_lists.iter().cloned());
        self.record_mcp_calls(ctx, response).await?;
        if response.calls.is_empty() && response.client_calls.is_empty() {
            return Ok(Step::Finished(llm));
        }
        if ctx.round >= self.config.max_tool_rounds {
            return Err(Error::MaxToolRounds {
                max_tool_rounds: self.config.max_tool_rounds,
            });
        }
        ctx.round += 1;
        ctx.conversation.record_response(&response.id, &raw_output);

        let ids = &ctx.ids;
        let prepared: Vec<PreparedCall> = join_all(response.calls.iter().map(|call| {
            // A call decided while streaming is used only when it is exactly this call.
            let reused = early
                .iter()
                .position(|p| p.is_for(call))
                .map(|at| early.swap_remove(at));
            async move {
                match reused {
                    Some(prepared) => prepared,
                    None => self.prepare(call.clone(), ids).await,
                }
            }
        }))
        .await;
        for stale in &early {
            tracing::warn!(call_id = ?stale.call.call_id, tool = ?stale.call.name,
                "a call decided while streaming is not in the completed response as streamed; it does not run");
        }

        let first_seq = ctx.events.len() as u64;
        let outcome = self
            .play_round(prepared, &ctx.ids, first_seq, &ctx.policy)
            .await?;
        // Kept even when the run stops here: those tools ran.
        ctx.approvals.extend(outcome.approvals);
        ctx.events
            .extend(outcome.calls.iter().map(|c| c.event.clone()));
        ctx.calls = outcome.calls;
        if let Some(failure) = outcome.failure {
            return Err(failure);
        }
        if ctx.is_paused() {
            // A paused round's outputs are added when it resumes.
            self.answer_client_calls(ctx, response).await?;
            let state = ctx.freeze(&llm, self.secret_args_by_tool());
            return Ok(Step::Paused(llm, Box::new(state)));
        }
        for call in &ctx.calls {
            ctx.conversation.answer_call(call);
        }
        self.answer_client_calls(ctx, response).await?;
        Ok(Step::Continue)
    }

    /// The model's final answer as the result keeps it: function calls of tools with secret
    /// arguments have them redacted.
    fn llm_response(&self, response: &ModelResponse, mut output: Vec<Value>) -> LlmResponse {
        let secrets = self.secret_args_by_tool();
        for item in &mut output {
            if item.get("type").and_then(Value::as_str) != Some("function_call") {
                continue;
            }
            let names = item
                .get("name")
                .and_then(Value::as_str)
                .and_then(|name| secrets.get(name));
            let arguments = item.get("arguments").and_then(Value::as_str);
            if let (Some(names), Some(arguments)) = (names, arguments) {
                item["arguments"] = Value::String(redact_argument_text(arguments, names));
            }
        }
        LlmResponse {
            response_id: response.id.clone(),
            output_text: response.output_text.clone().unwrap_or_default(),
            output,
        }
    }

    /// The secret argument names of the tools that have any, by tool.
    fn secret_args_by_tool(&self) -> SecretArgs {
        self.tools
            .names()
            .filter_map(|name| {
                let secrets = &self.tools.get(name)?.metadata().secret_args;
                (!secrets.is_empty()).then(|| (name.to_owned(), secrets.clone()))
            })
            .collect()
    }

    /// Records each client-side call the agent does not execute and answers it with an
    /// error, so the model learns it did not run and the conversation stays valid. A call
    /// whose output cannot carry an error ends the run.
    async fn answer_client_calls(
        &self,
        ctx: &mut RunCtx,
        response: &ModelResponse,
    ) -> Result<(), Error> {
        let mut unanswerable = None;
        let mut recorded = Vec::new();
        for call in &response.client_calls {
            let error = format!(
                "`{}` calls are not executed by this agent: only its registered function tools run",
                call.item_type
            );
            let event = ExecutionEvent::not_run(
                &call.tool,
                &call.call_id,
                error.clone(),
                &ctx.ids.trace_id,
                ctx.events.len() as u64,
            );
            self.after_event(&event, false).await?;
            match call.error_output(&error) {
                Some(item) => ctx.conversation.add_item(item),
                None => {
                    unanswerable.get_or_insert_with(|| call.clone());
                }
            }
            recorded.push(event.clone());
            ctx.events.push(event);
        }
        self.remember(&recorded, &ctx.ids).await;
        match unanswerable {
            Some(call) => Err(Error::UnsupportedCall {
                item_type: call.item_type,
                call_id: call.call_id,
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn request_body(
        &self,
        conversation: &Conversation,
        settings: &RunSettings,
        stream: bool,
    ) -> Value {
        let (input, previous_response_id) = conversation.next_request();
        let mut body = settings.extra.clone();
        body.insert("model".into(), json!(settings.model));
        body.insert("input".into(), Value::Array(input));
        body.insert("store".into(), json!(conversation.store()));
        if !self.tool_list.is_empty() {
            body.insert("tools".into(), Value::Array(self.tool_list.clone()));
        }
        if let Some(instructions) = &settings.instructions {
            body.insert("instructions".into(), json!(instructions));
        }
        if let Some(temperature) = settings.temperature {
            body.insert("temperature".into(), json!(temperature));
        }
        if let Some(previous) = previous_response_id {
            body.insert("previous_response_id".into(), json!(previous));
        }
        if stream {
            // async-openai's byot streaming does not set it.
            body.insert("stream".into(), json!(true));
        }
        if !conversation.store() && !self.is_plain_model(&settings.model) {
            // Reasoning items can only be replayed statelessly with their encrypted content.
            let include = body.entry("include").or_insert_with(|| json!([]));
            if let Some(list) = include.as_array_mut()
                && !list.iter().any(|v| v == "reasoning.encrypted_content")
            {
                list.push(json!("reasoning.encrypted_content"));
            }
        }
        Value::Object(body)
    }

    fn is_plain_model(&self, model: &str) -> bool {
        self.plain_models
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(model)
    }

    /// Whether `error` is the API refusing encrypted reasoning for a model that does not
    /// reason (400, param `include`); if so, remembers the model so the request can be sent
    /// again without it.
    pub(crate) fn learn_plain_model(&self, error: &Error, model: &str) -> bool {
        let Error::Provider { source, .. } = error else {
            return false;
        };
        let refused = source.status == Some(400)
            && source.param.as_deref() == Some("include")
            && !self.is_plain_model(model);
        if refused {
            tracing::info!(
                model,
                "the model does not reason; asking without encrypted reasoning"
            );
            self.plain_models
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(model.to_owned());
        }
        refused
    }
}
