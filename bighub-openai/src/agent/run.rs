//! A whole run: ask the model, play each round of tool calls, continue the conversation,
//! until the model answers without calling a tool (or the round budget runs out).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use async_openai::types::responses::OutputItem;
use bighub_core::MemoryBatch;
use serde_json::{Map, Value, json};
use tracing::Instrument;

use super::conversation::Conversation;
use super::round::{FunctionCall, RunIds};
use super::{BighubOpenAI, Inner};
use crate::config::SOURCE_VERSION;
use crate::provider::ModelResponse;
use crate::{Error, Execution, ExecutionEvent, IntoInput, LlmResponse, RunResult};

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

    /// Runs the conversation to its end.
    pub async fn send(self) -> Result<RunResult, Error> {
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
        agent.inner.run(input, settings).await
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

impl Inner {
    pub(crate) async fn run(
        &self,
        input: Vec<Value>,
        settings: RunSettings,
    ) -> Result<RunResult, Error> {
        if let Some(field) = settings
            .extra
            .keys()
            .find(|k| MANAGED_FIELDS.contains(&k.as_str()))
        {
            return Err(Error::Config(format!(
                "`{field}` is managed by the agent and cannot be set as an extra request field"
            )));
        }
        let ids = RunIds {
            trace_id: uuid::Uuid::new_v4().to_string(),
        };
        let span =
            tracing::info_span!("bighub.run", trace_id = %ids.trace_id, model = %settings.model);
        let mut events: Vec<ExecutionEvent> = Vec::new();
        let outcome = self
            .run_rounds(input, &settings, &ids, &mut events)
            .instrument(span)
            .await;
        if self.config.memory_enabled && !events.is_empty() {
            self.reporter
                .memory(self.memory_batch(&events, &settings.model, &ids));
        }
        match outcome {
            Ok(llm_response) => Ok(RunResult {
                llm_response,
                execution: Execution::from_events(events),
            }),
            Err(error) => Err(error.with_events(events)),
        }
    }

    async fn run_rounds(
        &self,
        input: Vec<Value>,
        settings: &RunSettings,
        ids: &RunIds,
        events: &mut Vec<ExecutionEvent>,
    ) -> Result<LlmResponse, Error> {
        let provider = self.provider()?;
        let mut conversation = Conversation::new(input, self.config.store);
        let mut round: u32 = 0;
        loop {
            let request = self.request_body(&conversation, settings);
            let response = provider.create(&request).await?;
            let raw_output = response
                .raw
                .get("output")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let calls = function_calls(&response);
            if calls.is_empty() {
                return Ok(llm_response(&response, raw_output));
            }
            if round >= self.config.max_tool_rounds {
                return Err(Error::MaxToolRounds {
                    max_tool_rounds: self.config.max_tool_rounds,
                    events: Vec::new(),
                });
            }
            round += 1;
            conversation.record_response(&response.typed.id, &raw_output);
            let round_events = self.run_round(&calls, ids, events.len() as u64).await;
            let round_events = match round_events {
                Ok(round_events) => round_events,
                Err(error) => {
                    // Keep what this round already recorded: those tools ran.
                    if let Some(partial) = error.events() {
                        events.extend_from_slice(partial);
                    }
                    return Err(error);
                }
            };
            for event in &round_events {
                conversation.add_tool_output(&event.call_id, &event.model_output());
            }
            events.extend(round_events);
        }
    }

    fn request_body(&self, conversation: &Conversation, settings: &RunSettings) -> Value {
        let (input, previous_response_id) = conversation.next_request();
        let mut body = settings.extra.clone();
        body.insert("model".into(), json!(settings.model));
        body.insert("input".into(), Value::Array(input));
        body.insert("store".into(), json!(self.config.store));
        let tools: Vec<Value> = self.tools.list_tools().iter().map(|t| json!(t)).collect();
        if !tools.is_empty() {
            body.insert("tools".into(), Value::Array(tools));
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
        if !self.config.store {
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

    fn memory_batch(&self, events: &[ExecutionEvent], model: &str, ids: &RunIds) -> MemoryBatch {
        let events = events
            .iter()
            .map(|event| self.memory_event(event))
            .collect();
        let mut batch = MemoryBatch::new(self.config.memory_source.clone(), events);
        batch.source_version = Some(SOURCE_VERSION.to_owned());
        batch.actor = Some(self.config.actor.clone());
        batch.domain = Some(self.config.domain.clone());
        batch.model = Some(model.to_owned());
        batch.trace_id = Some(ids.trace_id.clone());
        batch
    }

    /// An event as stored in decision memory: arguments the tool marks secret are redacted.
    fn memory_event(&self, event: &ExecutionEvent) -> Value {
        let mut value = json!(event);
        let secrets = self
            .tools
            .get(&event.tool)
            .map(|t| t.metadata().secret_args.clone())
            .unwrap_or_default();
        if let Some(arguments) = value.get_mut("arguments").and_then(Value::as_object_mut) {
            for name in &secrets {
                if let Some(slot) = arguments.get_mut(name) {
                    *slot = json!("[REDACTED]");
                }
            }
        }
        value
    }
}

fn function_calls(response: &ModelResponse) -> Vec<FunctionCall> {
    response
        .typed
        .output
        .iter()
        .filter_map(|item| match item {
            OutputItem::FunctionCall(call) => Some(FunctionCall {
                name: call.name.clone(),
                call_id: call.call_id.clone(),
                arguments: call.arguments.clone(),
            }),
            _ => None,
        })
        .collect()
}

fn llm_response(response: &ModelResponse, output: Vec<Value>) -> LlmResponse {
    let output_text = response
        .raw
        .get("output_text")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| response.typed.output_text())
        .unwrap_or_default();
    LlmResponse {
        response_id: response.typed.id.clone(),
        output_text,
        output,
    }
}
