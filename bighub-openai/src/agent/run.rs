//! A whole run: ask the model, play each round of tool calls, continue the conversation,
//! until the model answers without calling a tool (or the round budget runs out).

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use futures::future::join_all;
use serde_json::{Map, Value, json};
use tracing::Instrument;

use super::conversation::Conversation;
use super::model_response::ModelResponse;
use super::prepared::{FunctionCall, PreparedCall, redact_argument_text};
use super::round::{ApprovalCallback, ApprovalPolicy, RoundOutcome, RunIds};
use super::stream::RunStream;
use super::{BighubOpenAI, Inner};
use crate::run_state::{PausedCall, RUN_STATE_VERSION};
use crate::{
    ApprovalAnswer, Error, ExecutionEvent, RunResult, RunState,
    run::{ApprovalLoop, ApprovalRequest, Execution, IntoInput, LlmResponse},
};

/// One run, with its optional settings; `.send().await` (or `.await`) runs it.
///
/// ```no_run
/// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), bighub_openai::Error> {
/// let result = agent
///     .request("Rotate the staging database credentials", "gpt-5.5")
///     .instructions("Prefer the least privileged option.")
///     .temperature(0.2)
///     .extra("max_output_tokens", 800)
///     .await?;
/// println!("{}", result.output_text());
/// # Ok(()) }
/// ```
#[must_use = "a run request does nothing until it is sent"]
pub struct RunRequest<'a> {
    agent: &'a BighubOpenAI,
    input: Vec<Value>,
    model: String,
    instructions: Option<String>,
    temperature: Option<f64>,
    extra: Map<String, Value>,
}

impl std::fmt::Debug for RunRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunRequest")
            .field("model", &self.model)
            .field("input_items", &self.input.len())
            .field("instructions", &self.instructions)
            .field("temperature", &self.temperature)
            .field("extra", &self.extra)
            .finish()
    }
}

impl<'a> RunRequest<'a> {
    pub(crate) fn new(
        agent: &'a BighubOpenAI,
        input: impl IntoInput,
        model: impl Into<String>,
    ) -> Self {
        Self {
            agent,
            input: input.into_input(),
            model: model.into(),
            instructions: None,
            temperature: None,
            extra: Map::new(),
        }
    }

    /// System (developer) instructions for every request of the run.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Sampling temperature.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Any other Responses API request field (`max_output_tokens`, `reasoning`, `metadata`...).
    /// The fields the loop manages (`model`, `input`, `tools`, `store`,
    /// `previous_response_id`, `stream`) cannot be overridden.
    pub fn extra(mut self, field: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(field.into(), value.into());
        self
    }

    fn into_parts(self) -> (&'a BighubOpenAI, Vec<Value>, RunSettings) {
        let Self {
            agent,
            input,
            model,
            instructions,
            temperature,
            extra,
        } = self;
        let settings = RunSettings {
            model,
            instructions,
            temperature,
            extra,
        };
        (agent, input, settings)
    }

    /// Runs the conversation to its end, or until calls wait for approval (see
    /// [`BighubOpenAI::run`]).
    pub async fn send(self) -> Result<RunResult, Error> {
        let (agent, input, settings) = self.into_parts();
        let policy = agent.inner.default_policy();
        agent.inner.run(input, settings, policy).await
    }

    /// Runs the conversation, asking `on_approval_required` for each call that needs an
    /// approval (see [`BighubOpenAI::run_with_approval`]).
    pub async fn send_with_approval<F, Fut>(
        self,
        on_approval_required: F,
    ) -> Result<RunResult, Error>
    where
        F: Fn(ApprovalRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<ApprovalAnswer>> + Send + 'static,
    {
        let (agent, input, settings) = self.into_parts();
        let callback: ApprovalCallback =
            Arc::new(move |request| Box::pin(on_approval_required(request)));
        agent
            .inner
            .run(input, settings, ApprovalPolicy::Ask(callback))
            .await
    }

    /// Streams the run (see [`BighubOpenAI::run_stream`]).
    pub fn stream(self) -> RunStream {
        let (agent, input, settings) = self.into_parts();
        let policy = agent.inner.default_policy();
        RunStream::start(&agent.inner, input, settings, policy)
    }
}

impl<'a> IntoFuture for RunRequest<'a> {
    type Output = Result<RunResult, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The per-run request settings.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub(crate) model: String,
    pub(crate) instructions: Option<String>,
    pub(crate) temperature: Option<f64>,
    pub(crate) extra: Map<String, Value>,
}

const MANAGED_FIELDS: [&str; 6] = [
    "model",
    "input",
    "tools",
    "store",
    "previous_response_id",
    "stream",
];

/// A run in progress: what the loop carries from one round to the next. A paused run's
/// [`RunState`] is this, frozen.
pub(crate) struct RunCtx {
    pub(crate) settings: RunSettings,
    pub(crate) ids: RunIds,
    pub(crate) conversation: Conversation,
    pub(crate) round: u32,
    pub(crate) events: Vec<ExecutionEvent>,
    pub(crate) approvals: Vec<ApprovalLoop>,
    pub(crate) policy: ApprovalPolicy,
}

/// What the loop does after a response.
pub(crate) enum Step {
    /// Tools ran; ask the model again.
    Continue,
    /// The model answered without calling a tool.
    Finished(LlmResponse),
    /// Calls wait for approvals.
    Paused(LlmResponse, Box<RunState>),
}

impl RunSettings {
    /// Refuses extra fields that the loop manages itself.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Some(field) = self
            .extra
            .keys()
            .find(|k| MANAGED_FIELDS.contains(&k.as_str()))
        {
            return Err(Error::Config(format!(
                "`{field}` is managed by the agent and cannot be set as an extra request field"
            )));
        }
        Ok(())
    }
}

impl Inner {
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
        settings.check()?;
        Ok(RunCtx {
            ids: RunIds {
                trace_id: uuid::Uuid::new_v4().to_string(),
                model: settings.model.clone(),
            },
            settings,
            conversation: Conversation::new(input, self.config.store),
            round: 0,
            events: Vec::new(),
            approvals: Vec::new(),
            policy,
        })
    }

    pub(crate) async fn run(
        self: &Arc<Self>,
        input: Vec<Value>,
        settings: RunSettings,
        policy: ApprovalPolicy,
    ) -> Result<RunResult, Error> {
        let mut ctx = self.new_run(input, settings, policy)?;
        let span = tracing::info_span!("bighub.run", trace_id = %ctx.ids.trace_id, model = %ctx.settings.model);
        let outcome = self.run_rounds(&mut ctx).instrument(span).await;
        self.finish(ctx, outcome)
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
                return Err(Error::ProviderResponse(
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
        })
    }

    /// Asks the model and plays rounds until it answers without tools or the run pauses.
    pub(crate) async fn run_rounds(self: &Arc<Self>, ctx: &mut RunCtx) -> Result<Step, Error> {
        let provider = self.provider()?;
        loop {
            let request = self.request_body(&ctx.conversation, &ctx.settings, false);
            let mut response = match provider.create(&request).await {
                Err(error) if self.learn_plain_model(&error, &ctx.settings.model) => {
                    let request = self.request_body(&ctx.conversation, &ctx.settings, false);
                    provider.create(&request).await?
                }
                other => other?,
            };
            while response.is_pending() {
                // Background mode: the API works on it; ask again until it ends.
                tracing::debug!(response_id = %response.id, status = %response.status, "response not finished; polling");
                tokio::time::sleep(self.config.background_poll_interval).await;
                response = provider.retrieve(&response.id).await?;
            }
            match self.after_response(ctx, &response, Vec::new()).await? {
                Step::Continue => {}
                done => return Ok(done),
            }
        }
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
        if response.calls.is_empty() && response.client_calls.is_empty() {
            return Ok(Step::Finished(llm));
        }
        if ctx.round >= self.config.max_tool_rounds {
            return Err(Error::MaxToolRounds {
                max_tool_rounds: self.config.max_tool_rounds,
                events: Vec::new(),
            });
        }
        ctx.round += 1;
        ctx.conversation.record_response(&response.id, &raw_output);

        let reused: Vec<Option<PreparedCall>> = response
            .calls
            .iter()
            .map(|call| {
                let at = early.iter().position(|p| p.is_for(call))?;
                Some(early.swap_remove(at))
            })
            .collect();
        for stale in &early {
            tracing::warn!(call_id = %stale.call.call_id, tool = %stale.call.name,
                "a call decided while streaming is not in the completed response as streamed; it does not run");
        }
        let ids = &ctx.ids;
        let prepared: Vec<PreparedCall> = join_all(response.calls.iter().zip(reused).map(
            |(call, reused)| async move {
                match reused {
                    Some(prepared) => prepared,
                    None => self.prepare(call.clone(), ids).await,
                }
            },
        ))
        .await;

        let first_seq = ctx.events.len() as u64;
        let digests: Vec<String> = prepared.iter().map(|p| p.digest.clone()).collect();
        let outcome = match self
            .play_round(prepared, &ctx.ids, first_seq, &ctx.policy)
            .await
        {
            Ok(outcome) => outcome,
            Err(error) => {
                // Keep what this round already recorded: those tools ran.
                if let Some(partial) = error.events() {
                    ctx.events.extend_from_slice(partial);
                }
                return Err(error);
            }
        };
        ctx.approvals.extend(outcome.approvals.iter().cloned());
        if outcome.is_paused() {
            // A paused round's outputs are added when it resumes.
            ctx.events.extend(outcome.events.iter().cloned());
            self.answer_client_calls(ctx, response).await?;
            let state = paused_state(
                ctx,
                &llm,
                &response.calls,
                &digests,
                outcome,
                self.secret_args_by_tool(),
            );
            return Ok(Step::Paused(llm, Box::new(state)));
        }
        for event in &outcome.events {
            ctx.conversation
                .add_tool_output(&event.call_id, &event.model_output());
        }
        ctx.events.extend(outcome.events);
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
    fn secret_args_by_tool(&self) -> BTreeMap<String, Vec<String>> {
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

/// The state of a run paused at the round of `calls`.
pub(crate) fn paused_state(
    ctx: &RunCtx,
    llm: &LlmResponse,
    calls: &[FunctionCall],
    digests: &[String],
    outcome: RoundOutcome,
    secret_args: BTreeMap<String, Vec<String>>,
) -> RunState {
    let paused_calls = calls
        .iter()
        .zip(digests)
        .zip(outcome.events)
        .zip(outcome.pending)
        .map(|(((call, digest), event), pending)| PausedCall {
            call_id: call.call_id.clone(),
            tool: call.name.clone(),
            raw_arguments: call.arguments.clone(),
            arguments_sha256: digest.clone(),
            event,
            pending,
        })
        .collect();
    RunState {
        version: RUN_STATE_VERSION,
        trace_id: ctx.ids.trace_id.clone(),
        model: ctx.settings.model.clone(),
        instructions: ctx.settings.instructions.clone(),
        temperature: ctx.settings.temperature,
        extra: ctx.settings.extra.clone(),
        round: ctx.round,
        conversation: ctx.conversation.clone(),
        response: llm.clone(),
        calls: paused_calls,
        events: ctx.events.clone(),
        approval_loops: ctx.approvals.clone(),
        secret_args,
    }
}
