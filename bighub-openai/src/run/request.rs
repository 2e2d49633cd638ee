//! [`RunRequest`]: one run with its optional settings, sent whole or streamed.
//!
//! This module only gathers the settings and hands them to the loop (`driver.rs`) or the
//! streamed loop (`stream.rs`).

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::approval::ApprovalRequest;
use super::approval::{ApprovalCallback, ApprovalPolicy};
use super::ctx::RunSettings;
use super::input::IntoInput;
use super::runner::Runner;
use super::stream::RunStream;
use crate::{ApprovalAnswer, Error, RunResult};

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
    agent: &'a Arc<Runner>,
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
        agent: &'a Arc<Runner>,
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

    fn into_parts(self) -> (&'a Arc<Runner>, Vec<Value>, RunSettings) {
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
    /// [`BighubOpenAI::run`](crate::BighubOpenAI::run)).
    pub async fn send(self) -> Result<RunResult, Error> {
        let (agent, input, settings) = self.into_parts();
        let policy = agent.default_policy();
        let result = agent.run(input, settings, policy).await;
        save_if_durable(agent, result).await
    }

    /// Runs the conversation, asking `on_approval_required` for each call that needs an
    /// approval (see [`BighubOpenAI::run_with_approval`](crate::BighubOpenAI::run_with_approval)).
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
        let result = agent
            .run(input, settings, ApprovalPolicy::Ask(callback))
            .await;
        save_if_durable(agent, result).await
    }

    /// Streams the run (see [`BighubOpenAI::run_stream`](crate::BighubOpenAI::run_stream)).
    pub fn stream(self) -> RunStream {
        let (agent, input, settings) = self.into_parts();
        let policy = agent.default_policy();
        RunStream::start(agent, input, settings, policy)
    }
}

/// A durable agent's paused run goes to its run store before the caller sees it.
async fn save_if_durable(
    agent: &Runner,
    result: Result<RunResult, Error>,
) -> Result<RunResult, Error> {
    let mut result = result?;
    if let Some(durable) = &agent.durable {
        durable.save_paused(&mut result).await?;
    }
    Ok(result)
}

impl<'a> IntoFuture for RunRequest<'a> {
    type Output = Result<RunResult, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
