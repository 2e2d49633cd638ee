//! The one error type of bighub-openai.
//!
//! Tool calls that fail are not errors of the runtime: they become [`ToolError`](crate::ToolError)s
//! and the run goes on. This type is for setup and runtime failures, with the error types
//! of the layers below it ([`SchemaError`], [`ProviderError`]). Events travel in one
//! variant only, [`Error::Interrupted`], which a run builds once, when it ends, to return
//! its record alongside what stopped it.
//!
//! A message quotes what a model, an MCP server, a model provider or a decision service
//! chose (names, ids, statuses, bodies); every quoted text is escaped
//! ([`bighub_core::escape`]), so a message stays one line in a log or on a terminal. The
//! fields keep the text as it was.

use std::fmt;
use std::time::Duration;

use bighub_core::approval::ApprovalRefused;
use bighub_core::escape::escape;

use crate::ExecutionEvent;
use crate::schema::SchemaError;

/// Everything that can go wrong while setting up or running the SDK.
///
/// Its `Debug` form is the report a person reads, as `fn main() -> Result<(), bighub::Error>`
/// prints it: the message, then each cause on a line of its own. Match on the variants to
/// handle one.
///
/// ```
/// use bighub_openai::Error;
///
/// let error = Error::Config("no OpenAI credentials".into());
/// assert_eq!(format!("{error:?}"), "invalid configuration: no OpenAI credentials");
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tool name that the OpenAI API would reject.
    #[error("invalid tool name `{}`: {}; tool names must match ^[a-zA-Z0-9_-]{{1,64}}$", escape(.name), escape(.reason))]
    InvalidToolName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A second tool with a name already registered.
    #[error("a tool named `{}` is already registered; tool names must be unique", escape(.0))]
    DuplicateTool(String),

    /// A tool whose parameters schema is not (and could not be made) acceptable.
    #[error("tool `{}`: invalid parameters schema at {}", escape(.tool), escape(&.source.to_string()))]
    Schema {
        /// The tool.
        tool: String,
        /// The offending node and rule.
        source: SchemaError,
    },

    /// A tool reads a shared state that was never registered on the agent.
    #[error(
        "the tool `{}` needs the shared state `{state}`; register it on the builder with `.state(...)` or `.shared_state(...)`",
        escape(.tool)
    )]
    MissingState {
        /// The tool.
        tool: String,
        /// The state's type name.
        state: String,
    },

    /// A setting that cannot work; the message names each problem.
    #[error("invalid configuration: {}", escape(.0))]
    Config(String),

    /// Several settings given to the agent's builder cannot work: each is reported, in the
    /// order given (a single one is reported as itself).
    #[error("{} problems with the agent's settings: {}", .0.len(), numbered(.0))]
    Settings(Vec<Error>),

    /// `run` needs a model provider, and none is configured.
    #[error("{0}")]
    ProviderNotConfigured(String),

    /// The model provider failed (after `attempts` attempts when the failure was retryable).
    #[error("the model provider failed after {attempts} attempt(s): {source}")]
    Provider {
        /// How many requests were sent.
        attempts: u32,
        /// What the last attempt got.
        source: ProviderError,
    },

    /// The model provider answered with something that is not a Responses API response.
    #[error("unexpected answer from the model provider: {}", escape(.0))]
    ProviderResponse(String),

    /// A check inside bighub-openai failed: this is a bug in bighub-openai, not in the model
    /// provider's answer, the decision engine or the agent's settings.
    #[error(
        "internal error: {}; this is a bug in bighub-openai, please report it",
        escape(.0)
    )]
    Internal(String),

    /// The model's response did not complete (`incomplete`, `failed`, `cancelled`): none of
    /// its calls ran, since their arguments may be cut short.
    #[error(
        "the model's response {} ended `{}` ({}); none of its tool calls ran",
        escape(.response_id), escape(.status), escape(.reason)
    )]
    ResponseNotCompleted {
        /// The response id.
        response_id: String,
        /// Its status.
        status: String,
        /// Its error or incomplete reason.
        reason: String,
    },

    /// The model called a client-side tool whose call this agent can neither run nor answer
    /// with an error (a `computer_call` must be answered with a screenshot).
    #[error(
        "the model sent a `{}` item (call {}), which this agent does not execute and cannot answer; the run stops here",
        escape(.item_type), escape(.call_id)
    )]
    UnsupportedCall {
        /// The item type.
        item_type: String,
        /// The call id.
        call_id: String,
    },

    /// Arguments for `check_tool` or `resume_after_approval` that the tool cannot take.
    #[error("invalid arguments for the tool `{}`: {}", escape(.tool), escape(.message))]
    InvalidArguments {
        /// The tool.
        tool: String,
        /// What is wrong.
        message: String,
    },

    /// The provider circuit breaker is open after repeated failures.
    #[error("the model provider circuit is open after repeated failures; retry in {retry_in:?}")]
    CircuitOpen {
        /// How long until a request may try again.
        retry_in: Duration,
    },

    /// The model still called tools after `max_tool_rounds` rounds (inside
    /// [`Interrupted`](Self::Interrupted), with the calls on record, when any ran).
    #[error("the model still called tools after {max_tool_rounds} round(s)")]
    MaxToolRounds {
        /// The configured limit.
        max_tool_rounds: u32,
    },

    /// `check_tool` or `resume_after_approval` named a tool that is not registered.
    #[error("unknown tool `{}`; registered tools: {}", escape(.name), escape(&.available.join(", ")))]
    UnknownTool {
        /// The name asked for.
        name: String,
        /// The registered names.
        available: Vec<String>,
    },

    /// An outcome report failed while `outcome_reporting_required` is set (inside
    /// [`Interrupted`](Self::Interrupted), with the call it reported on record).
    #[error("outcome report failed (outcome_reporting_required is set): {source}")]
    OutcomeReport {
        /// Why the report failed.
        source: bighub_core::Error,
    },

    /// A run failed after some tool calls were already decided or executed: the cause,
    /// returned alongside the run's record. This is the only error that carries events; the
    /// run adds them once, when it ends, so what already ran is never lost.
    #[error("{source} ({} call(s) are on record)", events.len())]
    Interrupted {
        /// What stopped the run.
        source: Box<Error>,
        /// Every execution event of the run so far.
        events: Vec<ExecutionEvent>,
    },

    /// A streamed run stopped because its stream was dropped.
    #[error("the run was cancelled: its stream was dropped")]
    Cancelled,

    /// An MCP server could not be used: it did not start, its handshake or tool list
    /// failed or timed out, or its tools cannot be offered as configured.
    #[error("MCP server {}: {}", escape(.server), escape(.message))]
    Mcp {
        /// The server: its command, or its URL without credentials or query.
        server: String,
        /// What went wrong.
        message: String,
    },

    /// An MCP server's tool list went past a cap set on `McpServer` (pages, tools or bytes):
    /// the server is refused rather than read until memory or time runs out.
    #[error("MCP server {server}: its tools/list went past the cap of {cap}")]
    McpListingTooLarge {
        /// The server: its command, or its URL without credentials or query.
        server: String,
        /// The cap it went past.
        cap: crate::mcp::McpListingCap,
    },

    /// A run state that cannot be resumed (another format version, a tool this agent does
    /// not register, ...).
    #[error("cannot resume this run state: {}", escape(.0))]
    InvalidRunState(String),

    /// An answer names a request id the paused run does not wait for.
    #[error("the paused run does not wait for approval {}; it waits for: {}", escape(.request_id), if .pending.is_empty() { "nothing".to_owned() } else { escape(&.pending.join(", ")).into_owned() })]
    UnknownApproval {
        /// The request id answered.
        request_id: String,
        /// The request ids the run waits for.
        pending: Vec<String>,
    },

    /// The approval may not be used for this call (granted for another tool or other
    /// arguments, already used, not approved, unknown to the engine, or bound to no call);
    /// nothing ran.
    #[error("{}; nothing ran", escape(&.0.to_string()))]
    Approval(#[from] ApprovalRefused),

    /// The engine could not record the answer or release the approved call (it was
    /// unreachable, refused the request, ...); nothing ran.
    #[error("approval {} could not be settled with the decision engine: {source}", escape(.request_id))]
    ApprovalEngine {
        /// The decision's request id.
        request_id: String,
        /// What the engine said.
        source: Box<bighub_core::Error>,
    },

    /// A durable run could not be saved to, claimed from or recorded in its run store.
    #[error("durable run {}: the run store failed: {source}", escape(.run_id))]
    RunStore {
        /// The run (empty when claiming, before any run is known).
        run_id: String,
        /// What the store said.
        source: Box<bighub_core::Error>,
    },

    /// The embedded local engine could not start (policy errors name file and line).
    #[cfg(feature = "local")]
    #[error(transparent)]
    Local(#[from] crate::local::LocalError),

    /// An error of the decision layer (its approval refusals are [`Approval`](Self::Approval)).
    #[error(transparent)]
    Core(bighub_core::Error),
}

impl From<bighub_core::Error> for Error {
    fn from(error: bighub_core::Error) -> Self {
        match error {
            bighub_core::Error::Approval(refused) => Self::Approval(refused),
            other => Self::Core(other),
        }
    }
}

/// `1) ...; 2) ...`: each error's message, numbered.
fn numbered(errors: &[Error]) -> String {
    errors
        .iter()
        .enumerate()
        .map(|(i, error)| format!("{}) {error}", i + 1))
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        let mut shown = self.to_string();
        let mut first = true;
        while let Some(cause) = source {
            let text = cause.to_string();
            // A message that already quotes its cause does not repeat it.
            if !shown.contains(&text) {
                if first {
                    f.write_str("\n\nCaused by:")?;
                    first = false;
                }
                write!(f, "\n    {}", escape(&text))?;
                shown.push_str(&text);
            }
            source = cause.source();
        }
        Ok(())
    }
}

impl Error {
    /// The execution events of the run this error ended, when any call was on record
    /// ([`Interrupted`](Self::Interrupted)): what already ran is never lost.
    pub fn events(&self) -> Option<&[ExecutionEvent]> {
        match self {
            Self::Interrupted { events, .. } => Some(events),
            _ => None,
        }
    }

    /// The error with the run's record alongside (no change when nothing is on record).
    pub(crate) fn with_events(self, run_events: Vec<ExecutionEvent>) -> Self {
        match self {
            _ if run_events.is_empty() => self,
            Self::Interrupted { source, .. } => Self::Interrupted {
                source,
                events: run_events,
            },
            other => Self::Interrupted {
                source: Box::new(other),
                events: run_events,
            },
        }
    }

    /// What stopped the run: the cause inside [`Interrupted`](Self::Interrupted), else
    /// this error itself.
    pub fn cause(&self) -> &Error {
        match self {
            Self::Interrupted { source, .. } => source.cause(),
            other => other,
        }
    }
}

/// What the model provider answered, or why it could not be reached: the source of
/// [`Error::Provider`].
///
/// ```
/// use bighub_openai::run::ProviderError;
///
/// let refused = ProviderError::api(400, Some("invalid_request_error"), Some("include"), None, "not supported");
/// assert_eq!(refused.status, Some(400));
/// assert_eq!(refused.to_string(), "HTTP 400 invalid_request_error (param `include`): not supported");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderError {
    /// The HTTP status, when the provider answered.
    pub status: Option<u16>,
    /// The API's error `type` (`invalid_request_error`, `insufficient_quota`, ...).
    pub error_type: Option<String>,
    /// The request parameter the API named.
    pub param: Option<String>,
    /// The API's error `code`.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl ProviderError {
    /// An error answer of the API.
    pub fn api(
        status: u16,
        error_type: Option<&str>,
        param: Option<&str>,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status: Some(status),
            error_type: error_type.map(str::to_owned),
            param: param.map(str::to_owned),
            code: code.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A failure without an answer (connection, timeout, broken stream, unreadable body).
    pub fn transport(message: impl Into<String>) -> Self {
        Self {
            status: None,
            error_type: None,
            param: None,
            code: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            write!(f, "HTTP {status} ")?;
        }
        if let Some(kind) = &self.error_type {
            write!(f, "{} ", escape(kind))?;
        }
        if let Some(param) = &self.param {
            write!(f, "(param `{}`)", escape(param))?;
        }
        if self.error_type.is_some() || self.param.is_some() {
            f.write_str(": ")?;
        }
        f.write_str(&escape(&self.message))?;
        if let Some(code) = &self.code {
            write!(f, " (code `{}`)", escape(code))?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}
