//! The guarded agent: `BighubOpenAI` and what one of its runs does.
//!
//! `builder.rs` assembles an agent, `run.rs` drives a run, `stream.rs` drives a streamed
//! one, `round.rs` plays one round of tool calls, `prepared.rs` is one call bound to its
//! decision, `approve.rs` resolves approvals and resumes paused runs, `ledger.rs` remembers
//! which approvals the agent asked for and acted on, `caps.rs` bounds what decisions and
//! tools add to the record, `conversation.rs` keeps what is sent back to the model.
//! Decisions come from a [`DecisionEngine`]; tools from the [`ToolRegistry`].

mod approve;
mod builder;
mod caps;
mod conversation;
mod ledger;
mod model_response;
mod prepared;
mod round;
mod run;
mod stream;

use std::fmt;
use std::sync::Arc;

use bighub_core::{Decision, DecisionEngine, ProposedAction, Verdict};
use serde::Serialize;
use serde_json::Value;

pub use builder::BighubOpenAIBuilder;
pub(crate) use conversation::Conversation;
pub(crate) use model_response::ModelResponse;
pub(crate) use prepared::redact_argument_text;
pub use run::RunRequest;
pub use stream::RunStream;

use crate::provider::Provider;
use crate::reporter::{ReportStats, Reporter};
use crate::{
    Error, ExecutionEvent, RunResult,
    config::AgentConfig,
    run::IntoInput,
    tool::{ToolContext, ToolDefinition, ToolRegistry},
};

type DecisionHook = Arc<dyn Fn(&ExecutionEvent) + Send + Sync>;

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
    inner: Arc<Inner>,
}

/// The Python adapter's name for the agent: the same type as [`BighubOpenAI`], kept so
/// that code ported from Python reads the same.
pub type GuardedOpenAI = BighubOpenAI;

pub(crate) struct Inner {
    pub(crate) config: AgentConfig,
    pub(crate) tools: ToolRegistry,
    /// The tool list sent with every model request, serialized once.
    pub(crate) tool_list: Vec<Value>,
    pub(crate) engine: Arc<dyn DecisionEngine>,
    pub(crate) provider: Result<Provider, String>,
    pub(crate) reporter: Reporter,
    pub(crate) context: ToolContext,
    pub(crate) on_decision: Option<DecisionHook>,
    pub(crate) ledger: ledger::ApprovalLedger,
    /// Models that refused `include: ["reasoning.encrypted_content"]` (models that do not
    /// reason): asked without it from then on.
    pub(crate) plain_models: std::sync::Mutex<std::collections::HashSet<String>>,
}

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

/// What the guard decides about a call, without running it: see [`BighubOpenAI::check_tool`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCheck {
    /// The proposed action that was evaluated.
    pub action: ProposedAction,
    /// The engine's decision (or the fail-mode decision when it could not answer).
    pub decision: Decision,
    /// What the gate would do.
    pub verdict: Verdict,
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
    /// `max_tool_rounds` rounds; that error, like every error after a tool ran, carries the
    /// execution events so far ([`Error::events`]).
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
        RunRequest::new(self, input, model)
    }

    /// Previews the decision for a call of `tool` with `arguments`: runs nothing and
    /// records nothing (no decision row, no pending approval, so no approval can later run
    /// under it). Arguments that do not fit the tool's strict schema are an
    /// [`Error::InvalidArguments`]. Use [`decide_tool`](Self::decide_tool) to decide and
    /// record, for example to open an approval.
    ///
    /// With the hosted service there is no preview in the wire contract: the service logs
    /// the evaluation like any other (see [`DecisionEngine::preview`]).
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
    /// then closes the engine. Runs still in flight keep working; their later reports are
    /// queued as usual.
    pub async fn close(&self) -> Result<ReportStats, Error> {
        let stats = self
            .inner
            .reporter
            .flush(self.inner.config.flush_timeout)
            .await;
        self.inner.engine.close().await?;
        Ok(stats)
    }
}

impl Inner {
    /// A decision for `tool` with `arguments` outside a run: recorded (and entered in the
    /// approval ledger) or only previewed.
    async fn check(&self, tool: &str, arguments: Value, record: bool) -> Result<ToolCheck, Error> {
        let Some(registered) = self.tools.get_shared(tool) else {
            return Err(Error::UnknownTool {
                name: tool.to_owned(),
                available: self.tools.names().map(str::to_owned).collect(),
            });
        };
        if !arguments.is_object() || !registered.fits_schema(&arguments) {
            return Err(Error::InvalidArguments {
                tool: tool.to_owned(),
                message: "the arguments do not fit the tool's parameters schema".to_owned(),
            });
        }
        let ids = round::RunIds {
            trace_id: uuid::Uuid::new_v4().to_string(),
            model: String::new(),
        };
        let action = self.proposed_action(&registered, &arguments, &ids);
        let decision = if record {
            let digest = bighub_core::digest::canonical_sha256(&arguments);
            self.decide(&action, tool, &digest).await
        } else {
            self.preview(&action).await
        };
        Ok(ToolCheck {
            verdict: decision.verdict(),
            action,
            decision,
        })
    }

    pub(crate) fn provider(&self) -> Result<&Provider, Error> {
        self.provider
            .as_ref()
            .map_err(|why| Error::ProviderNotConfigured(why.clone()))
    }
}
