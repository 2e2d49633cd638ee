//! The agent: [`BighubOpenAI`], its builder, and the public face of everything it does.
//!
//! This module owns the agent type and how it is assembled (`builder.rs`). Every method
//! here is a thin entry point: what a run, a decision, an approval or a resume does lives
//! in [`run`](crate::run) (the shared internals are its `Runner`). Settings are
//! [`config`](crate::config)'s; tools are [`tool`](crate::tool)'s.

mod builder;
mod durable;

use std::fmt;
use std::sync::Arc;

use bighub_core::DecisionEngine;
use serde_json::Value;

pub use builder::BighubOpenAIBuilder;
pub use durable::{ResumedRun, Resumptions};

use crate::run::{
    ApprovalLoop, ApprovalRequest, IntoInput, ReportStats, RunRequest, RunStream, Runner, ToolCheck,
};
use crate::{
    ApprovalAnswer, Error, RunResult, RunState,
    config::AgentConfig,
    tool::{ToolDefinition, ToolRegistry},
};

/// An OpenAI agent whose tool calls are decided before they run.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`: one agent serves many concurrent runs,
/// each with its own trajectory id.
///
/// ```no_run
/// use bighub_openai::{BighubOpenAI, ToolError};
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// struct Grant { user_id: String, group: String, duration: String }
///
/// /// Grant a user temporary membership in an Okta group.
/// #[bighub_openai::action(system = "okta", risk = "high", environment = "production", target = "group")]
/// async fn grant_access(user_id: String, group: String, duration: String) -> Result<Grant, ToolError> {
///     Ok(Grant { user_id, group, duration })
/// }
///
/// # async fn demo() -> Result<(), bighub_openai::Error> {
/// let agent = BighubOpenAI::from_env()   // OPENAI_API_KEY, BIGHUB_API_KEY, ...
///     .actor("ops-agent")
///     .action(GrantAccess)
///     .build()?;
/// let result = agent.run("Grant Alice temporary Okta admin access for 48h", "gpt-5.5").await?;
/// let last = result.last().expect("the model called the tool");
/// println!("{} {:?}", last.status, last.decision.as_ref().and_then(|d| d.mode));
/// agent.close().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BighubOpenAI {
    inner: Arc<Runner>,
    /// The MCP servers whose tools it offers; closed with the agent.
    #[cfg(feature = "mcp")]
    mcp: Arc<Vec<crate::mcp::McpConnection>>,
}

/// The Python adapter's name for the agent: the same type as [`BighubOpenAI`], kept so
/// that code ported from Python reads the same.
pub type GuardedOpenAI = BighubOpenAI;

impl fmt::Debug for BighubOpenAI {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("BighubOpenAI")
            .field("config", &inner.config)
            .field("tools", &inner.tools.names().collect::<Vec<_>>())
            .field("engine", &inner.engine)
            .field("provider", &inner.provider)
            .finish_non_exhaustive()
    }
}

impl BighubOpenAI {
    /// An empty builder.
    pub fn builder() -> BighubOpenAIBuilder {
        BighubOpenAIBuilder::new()
    }

    /// A builder filled from `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `BIGHUB_API_KEY` and
    /// `BIGHUB_BASE_URL`; register tools on it, then `build()`.
    pub fn from_env() -> BighubOpenAIBuilder {
        BighubOpenAIBuilder::from_env()
    }

    /// Runs a conversation: `input` is a string (one user message), [`Message`](crate::run::Message)s
    /// or raw Responses API items.
    ///
    /// When a call needs a human's approval and no answer is available, the run pauses at
    /// that round (the round's allowed calls still run): the result is
    /// [`paused`](RunResult::paused), [`pending_approvals`](RunResult::pending_approvals)
    /// says what waits, and [`resume`](Self::resume) finishes the run later. With
    /// [`pause_for_approval(false)`](BighubOpenAIBuilder::pause_for_approval) the model is
    /// told `approval_required` instead and the run goes on.
    ///
    /// Fails with [`Error::MaxToolRounds`] when the model still calls tools after
    /// `max_tool_rounds` rounds. That error, like every error after a tool ran, comes as
    /// [`Error::Interrupted`]: the cause with the execution events so far alongside
    /// ([`Error::events`]).
    pub async fn run(&self, input: impl IntoInput, model: &str) -> Result<RunResult, Error> {
        self.request(input, model).send().await
    }

    /// Runs a conversation as a stream of [`StreamEvent`](crate::StreamEvent)s: the model's
    /// text and function-call arguments as they arrive, each call's decision as soon as it
    /// lands (decisions are requested while the model is still streaming), each execution
    /// event, and last a `final_response` with what [`run`](Self::run) returns.
    ///
    /// The run starts when the stream is first polled (inside a Tokio runtime) and stops
    /// when the stream is dropped: no tool starts after that. Use
    /// [`request(..).stream()`](RunRequest::stream) for the optional settings.
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), bighub_openai::Error> {
    /// use bighub_openai::StreamEvent;
    /// use futures::StreamExt;
    ///
    /// let mut events = agent.run_stream("Sync checkout-service in Argo CD production", "gpt-5.5");
    /// while let Some(event) = events.next().await {
    ///     match event? {
    ///         StreamEvent::LlmDelta { delta, .. } => print!("{delta}"),
    ///         StreamEvent::Decision { tool, verdict, .. } => println!("\n{tool}: {verdict}"),
    ///         StreamEvent::ExecutionEvent { event } => println!("{} {}", event.tool, event.status),
    ///         StreamEvent::FinalResponse { response } => println!("\n{}", response.output_text()),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn run_stream(&self, input: impl IntoInput, model: &str) -> RunStream {
        self.request(input, model).stream()
    }

    /// A run with optional settings (instructions, temperature, extra request fields).
    pub fn request(&self, input: impl IntoInput, model: impl Into<String>) -> RunRequest<'_> {
        RunRequest::new(&self.inner, input, model)
    }

    /// Previews the decision for a call of `tool` with `arguments`: runs nothing and
    /// records nothing (no decision row, no pending approval, so no approval can later run
    /// under it). Arguments that do not fit the tool's strict schema are an
    /// [`Error::InvalidArguments`]. Use [`decide_tool`](Self::decide_tool) to decide and
    /// record, for example to open an approval.
    ///
    /// A decision server is asked for a dry run (`dry_run: true`), which `bighub serve`
    /// honours. The hosted service's contract has no preview: it logs the evaluation like
    /// any other, and a review opens a pending approval there (see
    /// [`DecisionEngine::preview`]).
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), bighub_openai::Error> {
    /// use serde_json::json;
    /// let check = agent
    ///     .check_tool("grant_access", json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
    ///     .await?;
    /// println!("{} ({:?})", check.verdict, check.decision.reason);
    /// # Ok(()) }
    /// ```
    pub async fn check_tool(&self, tool: &str, arguments: Value) -> Result<ToolCheck, Error> {
        self.inner.check(tool, arguments, false).await
    }

    /// Decides a call of `tool` with `arguments` and records the decision, without running
    /// anything: a review opens an approval bound to this tool and these arguments, which
    /// [`resume_after_approval`](Self::resume_after_approval) can later run once.
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), bighub_openai::Error> {
    /// use bighub_openai::ApprovalAnswer;
    /// use serde_json::json;
    ///
    /// let args = json!({"user_id": "alice", "group": "okta-admins", "duration": "2h"});
    /// let decided = agent.decide_tool("grant_access", args.clone()).await?;
    /// if let Some(id) = &decided.decision.request_id {
    ///     let done = agent
    ///         .resume_after_approval("grant_access", args, id, ApprovalAnswer::approved("ok"))
    ///         .await?;
    ///     println!("{:?}", done.tool_output);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn decide_tool(&self, tool: &str, arguments: Value) -> Result<ToolCheck, Error> {
        self.inner.check(tool, arguments, true).await
    }

    /// The tool definitions sent to the model.
    pub fn list_tools(&self) -> Vec<ToolDefinition> {
        self.inner.tools.list_tools()
    }

    /// The registered tools.
    pub fn tools(&self) -> &ToolRegistry {
        &self.inner.tools
    }

    /// The settings.
    pub fn config(&self) -> &AgentConfig {
        &self.inner.config
    }

    /// The decision engine.
    pub fn engine(&self) -> &Arc<dyn DecisionEngine> {
        &self.inner.engine
    }

    /// Flushes queued outcome reports and memory batches (waiting at most `flush_timeout`),
    /// then closes the engine and the sessions of the MCP servers added with
    /// [`mcp_server`](BighubOpenAIBuilder::mcp_server). Runs still in flight keep working;
    /// their later reports are queued as usual, and their MCP calls fail as tool errors.
    pub async fn close(&self) -> Result<ReportStats, Error> {
        let stats = self
            .inner
            .reporter
            .flush(self.inner.config.flush_timeout)
            .await;
        #[cfg(feature = "mcp")]
        for server in self.mcp.iter() {
            server.close().await;
        }
        self.inner.engine.close().await?;
        Ok(stats)
    }
}

/// Approvals: asked during a run, answered later, or answered for one call.
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
        Fut: Future<Output = Option<ApprovalAnswer>> + Send + 'static,
    {
        self.request(input, model)
            .send_with_approval(on_approval_required)
            .await
    }

    /// Finishes a paused run: records each answer with the engine, runs the approved calls,
    /// reports the rejected ones to the model, and continues the conversation.
    ///
    /// `answers` pairs request ids (from [`RunState::pending_approvals`]) with answers; a
    /// call left without an answer keeps the run paused. The result holds one event per
    /// call: a resumed call's final event, carrying its approval, takes the place of the
    /// `approval_required` event it had while it waited. An answer recorded elsewhere
    /// before (by an operator with the CLI or a console) is claimed, not answered again.
    ///
    /// Works in another process or agent instance than the one that paused, given the same
    /// tools, when the engine keeps approvals (the embedded engine's store, `bighub
    /// serve`): the engine checks the tool and arguments the approval was granted for and
    /// lets it run once. The hosted service keeps no such record, so there only the agent
    /// that paused may resume ([`Error::Approval`], untracked, elsewhere).
    ///
    /// Refused, with nothing run: an answer for a request id the state does not wait for
    /// ([`Error::UnknownApproval`]); another tool or other arguments than those approved,
    /// an approval already acted on, one nothing can bind to this call, or one the engine
    /// refuses ([`Error::Approval`], with its
    /// [`ApprovalRefusal`](crate::engine::ApprovalRefusal)); an engine that cannot settle
    /// the answer ([`Error::ApprovalEngine`]).
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

    /// [`resume`](Self::resume), streamed: the same [`StreamEvent`](crate::StreamEvent)s as
    /// [`run_stream`](Self::run_stream). First an `execution_event` for each answered call
    /// (approved calls run, rejected ones are recorded `rejected`), then the continued
    /// conversation as it streams (the model's text, each new call's `decision` and
    /// `execution_event`), and last a `final_response` with what `resume` returns: a
    /// finished run, or a run paused again when calls still wait.
    ///
    /// Everything `resume` refuses, this refuses too, before anything runs: the stream's only
    /// item is then the error. The run starts when the stream is first polled and stops
    /// when it is dropped.
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI, state: bighub_openai::RunState) -> Result<(), bighub_openai::Error> {
    /// use bighub_openai::{ApprovalAnswer, StreamEvent};
    /// use futures::StreamExt;
    ///
    /// let answers: Vec<_> = state
    ///     .pending_approvals()
    ///     .into_iter()
    ///     .map(|p| (p.request_id, ApprovalAnswer::approved("approved by on-call")))
    ///     .collect();
    /// let mut events = agent.resume_stream(state, answers);
    /// while let Some(event) = events.next().await {
    ///     match event? {
    ///         StreamEvent::ExecutionEvent { event } => println!("{} {}", event.tool, event.status),
    ///         StreamEvent::LlmDelta { delta, .. } => print!("{delta}"),
    ///         StreamEvent::FinalResponse { response } => println!("\n{}", response.output_text()),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn resume_stream<I, K>(&self, state: RunState, answers: I) -> RunStream
    where
        I: IntoIterator<Item = (K, ApprovalAnswer)>,
        K: Into<String>,
    {
        let answers = answers.into_iter().map(|(k, a)| (k.into(), a)).collect();
        self.inner.resume_stream(state, answers)
    }

    /// Runs one approved tool call outside a conversation: records `answer` for
    /// `request_id` with the engine, claims it for exactly `tool` with exactly `arguments`,
    /// runs it when approved, and records it like any call (hook, outcome report, decision
    /// memory). The approval must have been asked for that tool and those arguments: this
    /// agent refuses another tool or other arguments for a review it decided, and so does an
    /// engine that keeps approvals (the embedded engine, `bighub serve`) for any review it
    /// decided, from any process. A review this agent did not decide, on an engine that
    /// cannot bind it (the hosted service), is refused with [`Error::Approval`] (untracked).
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
        self.inner
            .resume_one(tool, arguments, request_id, answer)
            .await
    }
}
