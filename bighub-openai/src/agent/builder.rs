//! Assembling an agent: settings, credentials, engine, tools, shared state, hooks.
//!
//! The builder collects and checks them, then hands them to the run's shared internals
//! ([`Runner`]); it runs nothing itself.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bighub_core::durable::{DEFAULT_LEASE, RunStore};
use bighub_core::wire::DecisionMode;
use bighub_core::{DecisionEngine, FailMode};
use bighub_remote::RemoteBighub;

use super::BighubOpenAI;
use crate::provider::Provider;
use crate::run::{DecisionHook, DurableRuns, Runner};
use crate::{
    Action, Error, ExecutionEvent, ToolOptions,
    config::AgentConfig,
    tool::{ToolContextBuilder, ToolRegistry},
};

const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Builds a [`BighubOpenAI`]. Every setting has the Python adapter's name and default;
/// invalid settings are reported together by [`build`](Self::build).
pub struct BighubOpenAIBuilder {
    config: AgentConfig,
    openai_api_key: Option<String>,
    openai_base_url: Option<String>,
    bighub_api_key: Option<String>,
    bighub_base_url: Option<String>,
    engine: Option<Arc<dyn DecisionEngine>>,
    tools: ToolRegistry,
    #[cfg(feature = "mcp")]
    mcp: Vec<crate::mcp::McpConnection>,
    errors: Vec<Error>,
    hosted: Vec<crate::mcp::HostedMcp>,
    states: ToolContextBuilder,
    on_decision: Option<DecisionHook>,
    durable: Option<Arc<dyn RunStore>>,
    durable_lease: Duration,
}

impl fmt::Debug for BighubOpenAIBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys are secrets: say whether they are set, never what they are.
        f.debug_struct("BighubOpenAIBuilder")
            .field("config", &self.config)
            .field(
                "openai_api_key",
                &self.openai_api_key.as_ref().map(|_| "<set>"),
            )
            .field("openai_base_url", &self.openai_base_url)
            .field(
                "bighub_api_key",
                &self.bighub_api_key.as_ref().map(|_| "<set>"),
            )
            .field("bighub_base_url", &self.bighub_base_url)
            .field("engine", &self.engine)
            .field("durable", &self.durable)
            .field("tools", &self.tools.names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for BighubOpenAIBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl BighubOpenAIBuilder {
    /// An empty builder with the default settings.
    pub fn new() -> Self {
        Self {
            config: AgentConfig::default(),
            openai_api_key: None,
            openai_base_url: None,
            bighub_api_key: None,
            bighub_base_url: None,
            engine: None,
            tools: ToolRegistry::new(),
            #[cfg(feature = "mcp")]
            mcp: Vec::new(),
            errors: Vec::new(),
            hosted: Vec::new(),
            states: ToolContextBuilder::default(),
            on_decision: None,
            durable: None,
            durable_lease: DEFAULT_LEASE,
        }
    }

    /// A builder with credentials and endpoints from `OPENAI_API_KEY`, `OPENAI_BASE_URL`,
    /// `BIGHUB_API_KEY` and `BIGHUB_BASE_URL` (empty variables count as unset).
    pub fn from_env() -> Self {
        let mut builder = Self::new();
        builder.openai_api_key = env("OPENAI_API_KEY");
        builder.openai_base_url = env("OPENAI_BASE_URL");
        builder.bighub_api_key = env("BIGHUB_API_KEY");
        builder.bighub_base_url = env("BIGHUB_BASE_URL");
        builder
    }

    /// The OpenAI API key.
    pub fn openai_api_key(mut self, key: impl Into<String>) -> Self {
        self.openai_api_key = Some(key.into());
        self
    }

    /// The Responses API base URL (default `https://api.openai.com/v1`); any
    /// OpenAI-compatible server works.
    pub fn openai_base_url(mut self, url: impl Into<String>) -> Self {
        self.openai_base_url = Some(url.into());
        self
    }

    /// The BIGHUB API key: decisions come from the hosted service.
    pub fn bighub_api_key(mut self, key: impl Into<String>) -> Self {
        self.bighub_api_key = Some(key.into());
        self
    }

    /// The BIGHUB base URL (default `https://api.bighub.io`).
    pub fn bighub_base_url(mut self, url: impl Into<String>) -> Self {
        self.bighub_base_url = Some(url.into());
        self
    }

    /// Decides with this engine instead of the one the keys select.
    pub fn engine(mut self, engine: impl DecisionEngine + 'static) -> Self {
        self.engine = Some(Arc::new(engine));
        self
    }

    /// Decides with an engine that is already shared.
    pub fn shared_engine(mut self, engine: Arc<dyn DecisionEngine>) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Keeps paused runs in `store` until their approvals are answered: the agent's runs
    /// become durable.
    ///
    /// When a run ([`run`](BighubOpenAI::run), [`request`](BighubOpenAI::request)`.send()`,
    /// [`run_with_approval`](BighubOpenAI::run_with_approval),
    /// [`run_stream`](BighubOpenAI::run_stream), before its final response) pauses on a
    /// review, its state is saved with the request ids it waits for, and
    /// [`RunResult::durable_run_id`](crate::RunResult::durable_run_id) names it. A person
    /// answers the approvals wherever they are answered (`bighub approvals approve`, the
    /// console, `POST /approvals/{id}/resolve`); then
    /// [`resume_answered`](BighubOpenAI::resume_answered) or
    /// [`serve_resumptions`](BighubOpenAI::serve_resumptions), in this process or any other
    /// agent process on the same store, finishes the run, exactly once.
    ///
    /// The store is the embedded engine (`Arc<LocalEngine>`, its SQLite file or PostgreSQL
    /// database), `bighub serve` through a [`RemoteBighub`], or any
    /// [`RunStore`]. Agents sharing a store should register the same tools: a run resumed
    /// by an agent without its tool fails. The stored state never holds a value of an
    /// argument a tool marks secret: those stay in the memory of the process that paused
    /// the run, and only that process runs such a call (elsewhere the model is asked to
    /// call the tool again).
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use bighub_openai::{BighubOpenAI, local::LocalEngine};
    ///
    /// let engine = Arc::new(LocalEngine::builder().db_path("decisions.db").build()?);
    /// let agent = BighubOpenAI::from_env()
    ///     .shared_engine(engine.clone())
    ///     .durable(engine)
    ///     .build()?;
    /// # let _ = agent; Ok(()) }
    /// ```
    pub fn durable(mut self, store: impl RunStore + 'static) -> Self {
        self.durable = Some(Arc::new(store));
        self
    }

    /// How long a claim of an answered run holds it before another process may claim it
    /// again (default 5 minutes): longer than a resumed run takes.
    pub fn durable_lease(mut self, lease: Duration) -> Self {
        self.durable_lease = lease;
        self
    }

    /// Registers a tool (for example one made by `#[bighub::action]`).
    pub fn action(self, action: impl Action) -> Self {
        self.action_with(action, ToolOptions::new())
    }

    /// Registers a tool with per-tool options.
    pub fn action_with(mut self, action: impl Action, options: ToolOptions) -> Self {
        if let Err(error) = self.tools.register_with(action, options) {
            self.errors.push(error);
        }
        self
    }

    /// Adds every tool of `tools` to those registered so far; a name registered twice is
    /// an error at [`build`](Self::build).
    pub fn tools(mut self, tools: ToolRegistry) -> Self {
        if let Err(error) = self.tools.merge(tools) {
            self.errors.push(error);
        }
        self
    }

    /// Adds the tools of a connected MCP server ([`McpServer::connect`]), guarded like the
    /// agent's own; a name already registered is an error at [`build`](Self::build). The
    /// agent keeps the connection: [`BighubOpenAI::close`] ends its session (and stops a
    /// stdio server's process).
    ///
    /// [`McpServer::connect`]: crate::mcp::McpServer::connect
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), bighub_openai::Error> {
    /// use bighub_openai::{BighubOpenAI, mcp::McpServer};
    ///
    /// let kube = McpServer::stdio("npx", ["-y", "mcp-server-kubernetes"])
    ///     .environment("production")
    ///     .connect()
    ///     .await?;
    /// let agent = BighubOpenAI::from_env().mcp_server(kube).build()?;
    /// // ... runs ...
    /// agent.close().await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "mcp")]
    pub fn mcp_server(mut self, server: crate::mcp::McpConnection) -> Self {
        if let Err(error) = server.register(&mut self.tools) {
            self.errors.push(error);
        }
        self.mcp.push(server);
        self
    }

    /// Offers a hosted MCP server: the Responses API calls it, and submits every call for
    /// approval first (`require_approval: "always"`, always). Each `mcp_approval_request` is
    /// decided like a function call (tool and action: the MCP tool's name; system,
    /// environment and risk: the [`HostedMcp`](crate::mcp::HostedMcp)'s), then answered
    /// `approve: true` only when the decision (or a reviewer) allows exactly that call.
    /// Two servers with one label are an error at [`build`](Self::build).
    ///
    /// ```no_run
    /// use bighub_openai::{BighubOpenAI, mcp::HostedMcp};
    ///
    /// # fn demo() -> Result<(), bighub_openai::Error> {
    /// let agent = BighubOpenAI::from_env()
    ///     .hosted_mcp(HostedMcp::new("deploys", "https://mcp.example.com/mcp").environment("production"))
    ///     .build()?;
    /// # let _ = agent; Ok(()) }
    /// ```
    pub fn hosted_mcp(mut self, server: crate::mcp::HostedMcp) -> Self {
        if self.hosted.iter().any(|h| h.label() == server.label()) {
            self.errors.push(Error::Config(format!(
                "two hosted MCP servers are labelled `{}`",
                server.label()
            )));
        }
        self.hosted.push(server);
        self
    }

    /// Shares a resource with every tool that takes a `State<T>` parameter.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states = self.states.state(value);
        self
    }

    /// Shares a resource that is already in an `Arc`.
    pub fn shared_state<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.states = self.states.shared_state(value);
        self
    }

    /// Called with each execution event as soon as it is recorded (a panic in the hook
    /// is logged and ignored).
    pub fn on_decision(mut self, hook: impl Fn(&ExecutionEvent) + Send + Sync + 'static) -> Self {
        self.on_decision = Some(Arc::new(hook));
        self
    }

    /// Who acts (default `AI_AGENT`).
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.config.actor = actor.into();
        self
    }

    /// The decision domain (default `it_actions`).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.config.domain = domain.into();
        self
    }

    /// `submit` (default) or `submit_payload`.
    pub fn decision_mode(mut self, mode: DecisionMode) -> Self {
        self.config.decision_mode = mode;
        self
    }

    /// `closed` (default: block when the engine cannot answer) or `open` (proceed).
    pub fn fail_mode(mut self, mode: FailMode) -> Self {
        self.config.fail_mode = mode;
        self
    }

    /// Most tool rounds per run (default 8, at least 1).
    pub fn max_tool_rounds(mut self, rounds: u32) -> Self {
        self.config.max_tool_rounds = rounds;
        self
    }

    /// Routing hint for the decision service (default `auto`).
    pub fn model_selection(mut self, selection: impl Into<String>) -> Self {
        self.config.model_selection = selection.into();
        self
    }

    /// What decisions optimise for (default `better_decision`).
    pub fn decision_objective(mut self, objective: impl Into<String>) -> Self {
        self.config.decision_objective = objective.into();
        self
    }

    /// How long the model provider may stay silent (default 30 s): to connect, or between two
    /// reads of its answer. A long streamed answer is not cut while it keeps streaming.
    pub fn provider_timeout(mut self, timeout: Duration) -> Self {
        self.config.provider.timeout = timeout;
        self
    }

    /// Retries for 429 / 5xx / timeouts / connection errors (default 2).
    pub fn provider_max_retries(mut self, retries: u32) -> Self {
        self.config.provider.max_retries = retries;
        self
    }

    /// Backoff between provider retries: first delay and cap (default 250 ms, 2 s), with
    /// jitter ([`Backoff`](bighub_core::backoff::Backoff): each wait in the upper half of its ceiling).
    pub fn provider_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.config.provider.backoff = initial;
        self.config.provider.max_backoff = max;
        self
    }

    /// Opens a circuit after `failures` consecutive failed provider attempts; it stays
    /// open for `reset_after` (off by default).
    pub fn provider_circuit_breaker(mut self, failures: u32, reset_after: Duration) -> Self {
        self.config.provider.circuit_breaker_failures = failures;
        self.config.provider.circuit_breaker_reset = reset_after;
        self
    }

    /// Most requests to the model provider in flight at once (default 64); more wait for a
    /// free connection, so a burst of runs cannot open connections without bound.
    pub fn provider_max_concurrent_requests(mut self, requests: usize) -> Self {
        self.config.provider.max_concurrent_requests = requests;
        self
    }

    /// Accepts a plain `http://` OpenAI base URL to a host other than this machine (default
    /// false: such a URL fails `build()`, since the API key would travel unencrypted). Only
    /// for a trusted gateway on a private network.
    pub fn allow_insecure_provider_http(mut self, allow: bool) -> Self {
        self.config.provider.allow_insecure_http = allow;
        self
    }

    /// Retries of a failed evaluation before the fail-mode decision (default 2).
    pub fn evaluate_retries(mut self, retries: u32) -> Self {
        self.config.evaluate_retries = retries;
        self
    }

    /// Report each call's outcome to the engine (default true).
    pub fn outcome_reporting(mut self, enabled: bool) -> Self {
        self.config.outcome_reporting = enabled;
        self
    }

    /// Make a failed outcome report an error of the run (default false).
    pub fn outcome_reporting_required(mut self, required: bool) -> Self {
        self.config.outcome_reporting_required = required;
        self
    }

    /// Send the events of each round to decision memory, one batch per round, as soon as
    /// the round is recorded (default true).
    pub fn memory_enabled(mut self, enabled: bool) -> Self {
        self.config.memory_enabled = enabled;
        self
    }

    /// The session id (generated when not set).
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.config.session_id = session_id.into();
        self
    }

    /// Let the API store responses (default false: stateless replay).
    pub fn store(mut self, store: bool) -> Self {
        self.config.store = store;
        self
    }

    /// Run the allowed tools of one round concurrently (default true).
    pub fn parallel_tool_execution(mut self, parallel: bool) -> Self {
        self.config.parallel_tool_execution = parallel;
        self
    }

    /// When a call needs an approval and no answer is available: pause the run and return
    /// the pending approvals with a [`RunState`](crate::RunState) (true, the default), or
    /// report `approval_required` to the model and go on (false).
    pub fn pause_for_approval(mut self, pause: bool) -> Self {
        self.config.pause_for_approval = pause;
        self
    }

    /// How long `close()` waits for queued reports (default 5 s).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.config.flush_timeout = timeout;
        self
    }

    /// How long one tool call may run unless the tool sets its own timeout (default 60 s).
    /// A call that takes longer is stopped and recorded as a `tool_error`; the model is told.
    pub fn tool_timeout(mut self, timeout: Duration) -> Self {
        self.config.tool_timeout = timeout;
        self
    }

    /// The most a decision's reason and better action may add to the conversation and the
    /// record, in bytes (default 4 KiB, at least 64); longer texts are cut with a marker.
    pub fn max_reason_bytes(mut self, bytes: usize) -> Self {
        self.config.max_reason_bytes = bytes;
        self
    }

    /// The most one tool output may add to the conversation and the record, in bytes of its
    /// JSON text (default 64 KiB, at least 64); a longer output is cut with a marker.
    pub fn max_tool_output_bytes(mut self, bytes: usize) -> Self {
        self.config.max_tool_output_bytes = bytes;
        self
    }

    /// How often a background response is polled until it finishes (default 1 s).
    pub fn background_poll_interval(mut self, interval: Duration) -> Self {
        self.config.background_poll_interval = interval;
        self
    }

    /// How many outcome reports and memory batches are sent to the engine at once
    /// (default 32, at least 1).
    pub fn report_concurrency(mut self, concurrency: usize) -> Self {
        self.config.report_concurrency = concurrency;
        self
    }

    /// Checks every setting and builds the agent.
    ///
    /// A setting that cannot work is an error here, whichever setter received it; several
    /// are reported together as [`Error::Settings`], one by one.
    ///
    /// The engine is the one given with [`engine`](Self::engine), else the hosted BIGHUB
    /// service when a BIGHUB API key is set, else the embedded [`LocalEngine`](crate::local::LocalEngine)
    /// (policies from `BIGHUB_POLICY`, store at `BIGHUB_DB` or the platform data directory).
    /// A BIGHUB base URL without a key is an [`Error::Config`] naming `BIGHUB_API_KEY`: the
    /// agent never decides locally when a decision server was asked for. Without OpenAI credentials (`OPENAI_API_KEY`
    /// or `OPENAI_BASE_URL`) the agent still builds, so that
    /// [`check_tool`](BighubOpenAI::check_tool) works; `run` then fails with
    /// [`Error::ProviderNotConfigured`].
    pub fn build(mut self) -> Result<BighubOpenAI, Error> {
        // Every problem is reported at once, so that one build shows all there is to fix.
        let mut problems = std::mem::take(&mut self.errors);
        let config_problems = self.config.problems();
        if !config_problems.is_empty() {
            problems.push(Error::Config(config_problems.join("; ")));
        }
        if self.durable_lease.is_zero() {
            problems.push(Error::Config(
                "durable_lease must be longer than zero".to_owned(),
            ));
        }
        let context = std::mem::take(&mut self.states).build();
        for tool in self.tools.iter() {
            if let Some(missing) = tool
                .required_states()
                .into_iter()
                .find(|s| !context.has(*s))
            {
                problems.push(Error::MissingState {
                    tool: tool.name().to_owned(),
                    state: missing.name().to_owned(),
                });
            }
        }
        if let Some(error) = reported(problems) {
            return Err(error);
        }
        let engine = match self.engine.take() {
            Some(engine) => engine,
            None => self.default_engine()?,
        };
        let provider = match (&self.openai_api_key, &self.openai_base_url) {
            (None, None) => Err("no OpenAI credentials: set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server)".to_owned()),
            (key, base) => Ok(Provider::new(
                key.as_deref().unwrap_or_default(),
                base.as_deref().unwrap_or(DEFAULT_OPENAI_BASE_URL),
                self.config.provider.clone(),
            )?),
        };
        let mut runner = Runner::new(
            self.config,
            self.tools,
            engine,
            provider,
            context,
            self.on_decision,
            self.hosted,
        );
        runner.durable = self
            .durable
            .map(|store| DurableRuns::new(store, self.durable_lease));
        Ok(BighubOpenAI {
            inner: Arc::new(runner),
            #[cfg(feature = "mcp")]
            mcp: Arc::new(self.mcp),
        })
    }

    /// The hosted service when a BIGHUB key is set, else the embedded local engine. A base
    /// URL without a key is an error: deciding locally would bypass the server it names.
    fn default_engine(&self) -> Result<Arc<dyn DecisionEngine>, Error> {
        let Some(key) = &self.bighub_api_key else {
            if let Some(url) = &self.bighub_base_url {
                return Err(Error::Config(format!(
                    "a BIGHUB base URL is set ({url:?}) but no BIGHUB API key: set BIGHUB_API_KEY (or .bighub_api_key(...)) to the key of that decision server, or unset BIGHUB_BASE_URL to decide with the embedded engine"
                )));
            }
            return Self::local_engine();
        };
        let mut remote = RemoteBighub::builder()
            .api_key(key.clone())
            .decision_mode(self.config.decision_mode)
            // The agent retries evaluations itself (`evaluate_retries`).
            .max_retries(0);
        if let Some(url) = &self.bighub_base_url {
            remote = remote.base_url(url.clone());
        }
        Ok(Arc::new(remote.build()?))
    }

    #[cfg(feature = "local")]
    fn local_engine() -> Result<Arc<dyn DecisionEngine>, Error> {
        Ok(Arc::new(crate::local::LocalEngine::from_env()?))
    }

    #[cfg(not(feature = "local"))]
    fn local_engine() -> Result<Arc<dyn DecisionEngine>, Error> {
        Err(Error::Config(
            "no decision engine: set BIGHUB_API_KEY for the hosted service, enable the `local` feature for the embedded engine, or pass one with .engine(...)".to_owned(),
        ))
    }
}

/// The error `build` reports for `problems`: none, the one, or all of them together.
fn reported(mut problems: Vec<Error>) -> Option<Error> {
    match problems.len() {
        0 => None,
        1 => problems.pop(),
        _ => Some(Error::Settings(problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolError;
    use crate::mcp::HostedMcp;
    use crate::tool::FnTool;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Args {
        #[allow(dead_code)]
        service: String,
    }

    #[test]
    fn build_reports_every_setting_that_cannot_work() {
        let badly_named = FnTool::new("restart service", "Restart a service.", |_: Args| async {
            Ok::<_, ToolError>("restarted")
        });
        let error = BighubOpenAIBuilder::new()
            .action(badly_named)
            .hosted_mcp(HostedMcp::new("ops", "https://a.example.com"))
            .hosted_mcp(HostedMcp::new("ops", "https://b.example.com"))
            .build()
            .unwrap_err();
        let Error::Settings(problems) = &error else {
            panic!("not every problem was reported: {error:?}");
        };
        assert_eq!(problems.len(), 2, "{error}");
        assert!(
            matches!(&problems[0], Error::InvalidToolName { name, .. } if name == "restart service"),
            "{error}"
        );
        assert!(matches!(&problems[1], Error::Config(_)), "{error}");
        let message = error.to_string();
        assert!(
            message.starts_with("2 problems with the agent's settings: 1) invalid tool name"),
            "{message}"
        );
        assert!(
            message.contains("2) invalid configuration: two hosted MCP servers are labelled `ops`"),
            "{message}"
        );
    }
}
