//! What the scripted model answers: turns of output items, fault replies, and the gate that
//! holds a reply open.
//!
//! Owns the test-facing vocabulary ([`Turn`], [`Reply`], [`Gate`]). Does not build wire JSON
//! (see `response` and `sse`) nor decide which reply a request gets (see the server).
//!
//! | [`Turn`] builder | output item | answered in the next request by |
//! |---|---|---|
//! | [`message`](Turn::message), [`text`](Turn::text) | `message` (assistant, one `output_text`) | |
//! | [`call`](Turn::call), [`call_json`](Turn::call_json), [`call_with_id`](Turn::call_with_id), [`function_call`](Turn::function_call) | `function_call` | `function_call_output` |
//! | [`reasoning`](Turn::reasoning) | `reasoning` | |
//! | [`computer_call`](Turn::computer_call) | `computer_call` | `computer_call_output` |
//! | [`local_shell_call`](Turn::local_shell_call) | `local_shell_call` | `local_shell_call_output` (or `function_call_output`) |
//! | [`shell_call`](Turn::shell_call) | `shell_call` | `shell_call_output` |
//! | [`apply_patch_call`](Turn::apply_patch_call) | `apply_patch_call` | `apply_patch_call_output` |
//! | [`custom_tool_call`](Turn::custom_tool_call) | `custom_tool_call` | `custom_tool_call_output` |
//! | [`mcp_approval_request`](Turn::mcp_approval_request), [`mcp_approval_request_with_id`](Turn::mcp_approval_request_with_id) | `mcp_approval_request` (hosted MCP) | `mcp_approval_response` with its `id` as `approval_request_id` |
//! | [`mcp_call`](Turn::mcp_call), [`mcp_call_error`](Turn::mcp_call_error) | `mcp_call` (hosted MCP, already run) | |
//! | [`mcp_list_tools`](Turn::mcp_list_tools) | `mcp_list_tools` | |
//! | [`raw_item`](Turn::raw_item) | the JSON given, as is | |
//!
//! [`with_call_id`](Turn::with_call_id) fixes the call id of the call added last. How the
//! response ends: completed by default, or [`incomplete`](Turn::incomplete),
//! [`failed`](Turn::failed), [`cancelled`](Turn::cancelled); [`omit_status`](Turn::omit_status)
//! leaves `status` out of the finished response.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::ids::new_id;
use tokio::sync::Notify;

/// Text of the message the fake answers with once the script is exhausted and no responder is
/// set.
pub const EXHAUSTED_REPLY_TEXT: &str = "(fake OpenAI: no scripted turn left)";

/// One output item the scripted model produces.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OutputSpec {
    /// An assistant message with one `output_text` part.
    Message {
        /// The text of the message.
        text: String,
    },
    /// A function call. The fake generates the item id (`fc_...`) and, when `call_id` is
    /// `None`, the call id (`call_...`).
    FunctionCall {
        /// Tool name.
        name: String,
        /// Arguments, as the JSON string the model emits.
        arguments: String,
        /// Call id to use instead of a generated one.
        call_id: Option<String>,
    },
    /// A reasoning item with these summary texts. It carries `encrypted_content` only when the
    /// request asked for `include: ["reasoning.encrypted_content"]`.
    Reasoning {
        /// Summary parts, one `summary_text` each.
        summary: Vec<String>,
    },
    /// A `computer_call` (computer use): the fake generates the item id (`cu_...`) and, when
    /// `call_id` is `None`, the call id; `pending_safety_checks` is empty.
    ComputerCall {
        /// The action, e.g. `{"type": "click", "button": "left", "x": 10, "y": 20}`.
        action: Value,
        /// Call id to use instead of a generated one.
        call_id: Option<String>,
    },
    /// A `local_shell_call` (item id `lsh_...`): an `exec` action running `command`, with an
    /// empty `env` and no timeout, user or working directory.
    LocalShellCall {
        /// The command and its arguments.
        command: Vec<String>,
        /// Call id to use instead of a generated one.
        call_id: Option<String>,
    },
    /// A `shell_call` (item id `sh_...`): an action of `commands`, with no timeout or output
    /// limit.
    ShellCall {
        /// The shell commands, in order.
        commands: Vec<String>,
        /// Call id to use instead of a generated one.
        call_id: Option<String>,
    },
    /// An `apply_patch_call` (item id `apc_...`).
    ApplyPatchCall {
        /// The operation, e.g. `{"type": "update_file", "path": "main.tf", "diff": "..."}`
        /// (`create_file` and `update_file` carry a diff, `delete_file` only a path).
        operation: Value,
        /// Call id to use instead of a generated one.
        call_id: Option<String>,
    },
    /// A `custom_tool_call` (item id `ctc_...`): free-form input to a custom tool.
    CustomToolCall {
        /// Tool name.
        name: String,
        /// The input, as the model wrote it.
        input: String,
        /// Call id to use instead of a generated one.
        call_id: Option<String>,
    },
    /// Any output item, sent exactly as given (in `response.output_item.added` and `.done`
    /// too), whether or not a typed client can parse it.
    Raw(Value),
}

/// How a turn's response ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum TurnEnd {
    /// `completed`.
    #[default]
    Completed,
    /// `incomplete`, with `incomplete_details.reason`.
    Incomplete { reason: String },
    /// `failed`, with `error.code` and `error.message`.
    Failed { code: String, message: String },
    /// `cancelled`.
    Cancelled,
}

impl TurnEnd {
    /// The response's `status`.
    pub(crate) fn status(&self) -> &'static str {
        match self {
            TurnEnd::Completed => "completed",
            TurnEnd::Incomplete { .. } => "incomplete",
            TurnEnd::Failed { .. } => "failed",
            TurnEnd::Cancelled => "cancelled",
        }
    }

    /// Whether `store: true` keeps the response for `previous_response_id` (failed and
    /// cancelled responses cannot be continued).
    pub(crate) fn is_continuable(&self) -> bool {
        matches!(self, TurnEnd::Completed | TurnEnd::Incomplete { .. })
    }
}

/// How long the reply is held before it completes (before `response.completed` when
/// streaming, before the body when not).
#[derive(Debug, Clone)]
pub enum Hold {
    /// Until the test releases the gate.
    Gate(Gate),
    /// For a fixed duration.
    For(Duration),
}

/// One scripted model turn: the output items of one response.
///
/// ```
/// use bighub_testkit::fake_openai::Turn;
///
/// let turn = Turn::new()
///     .reasoning(["checking the request"])
///     .call("grant_role", r#"{"user":"ana","role":"admin"}"#)
///     .message("Requested the grant.");
/// assert_eq!(turn.items().len(), 3);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Turn {
    items: Vec<OutputSpec>,
    /// Calls streamed otherwise than completed: call id -> (name, arguments).
    streamed_as: Vec<(String, String, String)>,
    end: TurnEnd,
    omit_status: bool,
    background_polls: Option<usize>,
    hold: Option<Hold>,
    event_delay: Option<Duration>,
    cut_stream_after: Option<usize>,
}

impl Turn {
    /// An empty turn (a response with no output items).
    pub fn new() -> Self {
        Self::default()
    }

    /// A turn with one assistant text message.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new().message(text)
    }

    /// A turn with one function call (generated call id).
    pub fn function_call(name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self::new().call(name, arguments)
    }

    /// Adds an assistant text message.
    pub fn message(mut self, text: impl Into<String>) -> Self {
        self.items.push(OutputSpec::Message { text: text.into() });
        self
    }

    /// Adds a function call with a generated call id.
    pub fn call(mut self, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        self.items.push(OutputSpec::FunctionCall {
            name: name.into(),
            arguments: arguments.into(),
            call_id: None,
        });
        self
    }

    /// Adds a function call whose arguments are given as a JSON value.
    pub fn call_json(self, name: impl Into<String>, arguments: &Value) -> Self {
        self.call(name, arguments.to_string())
    }

    /// Adds a function call with the given call id.
    pub fn call_with_id(
        mut self,
        name: impl Into<String>,
        arguments: impl Into<String>,
        call_id: impl Into<String>,
    ) -> Self {
        self.items.push(OutputSpec::FunctionCall {
            name: name.into(),
            arguments: arguments.into(),
            call_id: Some(call_id.into()),
        });
        self
    }

    /// Adds a reasoning item with these summary texts.
    pub fn reasoning<I, S>(mut self, summary: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.items.push(OutputSpec::Reasoning {
            summary: summary.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Makes the response fail with this error code and message: status `failed` in the JSON
    /// body, and `response.failed` instead of `response.completed` when streaming. The items
    /// already added are still produced first.
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// let turn = Turn::text("partial").failed("server_error", "The model crashed.");
    /// # let _ = turn;
    /// ```
    pub fn failed(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.end = TurnEnd::Failed {
            code: code.into(),
            message: message.into(),
        };
        self
    }

    /// Makes the response end as `incomplete` with `incomplete_details.reason` set to
    /// `reason` (the real API says `max_output_tokens` or `content_filter`): status
    /// `incomplete` in the JSON body, and `response.incomplete` instead of
    /// `response.completed` when streaming. The items already added are produced first, and
    /// the last of them, being cut off, has status `incomplete`; give a function call
    /// truncated arguments to model a call cut mid-way.
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// // The model ran out of output tokens in the middle of the arguments.
    /// let turn = Turn::function_call("lookup_user", r#"{"user_id": "al"#).incomplete("max_output_tokens");
    /// # let _ = turn;
    /// ```
    pub fn incomplete(mut self, reason: impl Into<String>) -> Self {
        self.end = TurnEnd::Incomplete {
            reason: reason.into(),
        };
        self
    }

    /// Streams the function call `call_id` as a call of `name` with `arguments`, while the
    /// completed response keeps the turn's own call: a server whose stream disagrees with
    /// its `response.completed` (the real API streams what it completes; a hostile or broken
    /// gateway need not).
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// let turn = Turn::new()
    ///     .call_with_id("delete_user", r#"{"user_id": "alice"}"#, "call_1")
    ///     .streamed_as("call_1", "lookup_user", r#"{"user_id": "alice"}"#);
    /// assert_eq!(turn.items().len(), 1);
    /// ```
    pub fn streamed_as(
        mut self,
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        self.streamed_as
            .push((call_id.into(), name.into(), arguments.into()));
        self
    }

    /// The item as streamed: `item` itself unless [`streamed_as`](Self::streamed_as) names
    /// its call id.
    pub(crate) fn streamed_item(&self, item: &Value) -> Value {
        let mut item = item.clone();
        if let Some((_, name, arguments)) = self
            .streamed_as
            .iter()
            .find(|(id, _, _)| item.get("call_id").and_then(Value::as_str) == Some(id))
        {
            item["name"] = Value::String(name.clone());
            item["arguments"] = Value::String(arguments.clone());
        }
        item
    }

    /// Makes the response end as `cancelled`: status `cancelled` in the JSON body (and in the
    /// background poll that finishes it). The streaming API has no event for a cancelled
    /// response (`response.cancelled` exists only as a webhook), so a streamed cancelled turn
    /// sends its items and then closes the stream cleanly with no terminal event.
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// let turn = Turn::text("Starting the deploy").cancelled();
    /// # let _ = turn;
    /// ```
    pub fn cancelled(mut self) -> Self {
        self.end = TurnEnd::Cancelled;
        self
    }

    /// Adds a `computer_call` with this action (a client-side call: the client is to perform
    /// it and answer with a `computer_call_output` holding a screenshot).
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    /// use serde_json::json;
    ///
    /// let turn = Turn::new().computer_call(json!({"type": "click", "button": "left", "x": 10, "y": 20}));
    /// # let _ = turn;
    /// ```
    pub fn computer_call(mut self, action: Value) -> Self {
        self.items.push(OutputSpec::ComputerCall {
            action,
            call_id: None,
        });
        self
    }

    /// Adds a `local_shell_call` running `command` (answered with a
    /// `local_shell_call_output`).
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// let turn = Turn::new().local_shell_call(["kubectl", "delete", "ns", "prod"]);
    /// # let _ = turn;
    /// ```
    pub fn local_shell_call<I, S>(mut self, command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.items.push(OutputSpec::LocalShellCall {
            command: command.into_iter().map(Into::into).collect(),
            call_id: None,
        });
        self
    }

    /// Adds a `shell_call` running these commands (answered with a `shell_call_output`).
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// let turn = Turn::new().shell_call(["terraform apply -auto-approve"]);
    /// # let _ = turn;
    /// ```
    pub fn shell_call<I, S>(mut self, commands: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.items.push(OutputSpec::ShellCall {
            commands: commands.into_iter().map(Into::into).collect(),
            call_id: None,
        });
        self
    }

    /// Adds an `apply_patch_call` with this operation (answered with an
    /// `apply_patch_call_output`).
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    /// use serde_json::json;
    ///
    /// let turn = Turn::new().apply_patch_call(json!({
    ///     "type": "update_file", "path": "main.tf", "diff": "@@\n-count = 1\n+count = 0\n"
    /// }));
    /// # let _ = turn;
    /// ```
    pub fn apply_patch_call(mut self, operation: Value) -> Self {
        self.items.push(OutputSpec::ApplyPatchCall {
            operation,
            call_id: None,
        });
        self
    }

    /// Adds a `custom_tool_call` of tool `name` with free-form `input` (answered with a
    /// `custom_tool_call_output`).
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// let turn = Turn::new().custom_tool_call("run_sql", "DROP TABLE users;");
    /// # let _ = turn;
    /// ```
    pub fn custom_tool_call(mut self, name: impl Into<String>, input: impl Into<String>) -> Self {
        self.items.push(OutputSpec::CustomToolCall {
            name: name.into(),
            input: input.into(),
            call_id: None,
        });
        self
    }

    /// Gives the call added last (a function call or any client-side call) this call id
    /// instead of a generated one; no effect when the last item is not a call.
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// let turn = Turn::new().shell_call(["ls"]).with_call_id("call_ls");
    /// # let _ = turn;
    /// ```
    pub fn with_call_id(mut self, id: impl Into<String>) -> Self {
        if let Some(
            OutputSpec::FunctionCall { call_id, .. }
            | OutputSpec::ComputerCall { call_id, .. }
            | OutputSpec::LocalShellCall { call_id, .. }
            | OutputSpec::ShellCall { call_id, .. }
            | OutputSpec::ApplyPatchCall { call_id, .. }
            | OutputSpec::CustomToolCall { call_id, .. },
        ) = self.items.last_mut()
        {
            *call_id = Some(id.into());
        }
        self
    }

    /// Adds an output item sent exactly as given, e.g. one of a type the client does not know,
    /// or one missing fields its typed model requires (async-openai's `Response` then fails
    /// to parse the whole response).
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    /// use serde_json::json;
    ///
    /// let turn = Turn::new()
    ///     .raw_item(json!({"type": "telemetry_blip", "id": "tb_1", "status": "completed"}))
    ///     .message("Done.");
    /// assert_eq!(turn.items().len(), 2);
    /// ```
    pub fn raw_item(mut self, item: Value) -> Self {
        self.items.push(OutputSpec::Raw(item));
        self
    }

    /// An `mcp_approval_request` (item id `mcpr_...`): the API asks to call `name` on the
    /// hosted MCP server `server_label` with `arguments` (a JSON string), and waits for an
    /// `mcp_approval_response` in the next request.
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// let turn = Turn::new().mcp_approval_request("deploys", "list_releases", r#"{"app":"web"}"#);
    /// assert_eq!(turn.items().len(), 1);
    /// ```
    pub fn mcp_approval_request(
        self,
        server_label: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        self.mcp_approval_request_with_id(new_id("mcpr"), server_label, name, arguments)
    }

    /// [`mcp_approval_request`](Self::mcp_approval_request) with the item id `id`.
    pub fn mcp_approval_request_with_id(
        self,
        id: impl Into<String>,
        server_label: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        self.raw_item(json!({
            "type": "mcp_approval_request",
            "id": id.into(),
            "server_label": server_label.into(),
            "name": name.into(),
            "arguments": arguments.into(),
        }))
    }

    /// An `mcp_call` (item id `mcp_...`) the API made to a hosted MCP server, with its
    /// `output` and no error.
    pub fn mcp_call(
        self,
        server_label: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
        output: impl Into<String>,
    ) -> Self {
        self.mcp_call_item(server_label, name, arguments, Ok(output.into()))
    }

    /// An `mcp_call` that failed with `error` (and has no output).
    pub fn mcp_call_error(
        self,
        server_label: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
        error: impl Into<String>,
    ) -> Self {
        self.mcp_call_item(server_label, name, arguments, Err(error.into()))
    }

    fn mcp_call_item(
        self,
        server_label: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
        result: Result<String, String>,
    ) -> Self {
        let (output, error, status) = match result {
            Ok(output) => (Value::String(output), Value::Null, "completed"),
            Err(error) => (Value::Null, Value::String(error), "failed"),
        };
        self.raw_item(json!({
            "type": "mcp_call",
            "id": new_id("mcp"),
            "server_label": server_label.into(),
            "name": name.into(),
            "arguments": arguments.into(),
            "output": output,
            "error": error,
            "status": status,
        }))
    }

    /// An `mcp_list_tools` item (item id `mcpl_...`): the tools `server_label` offers.
    pub fn mcp_list_tools(self, server_label: impl Into<String>, tools: Vec<Value>) -> Self {
        self.raw_item(json!({
            "type": "mcp_list_tools",
            "id": new_id("mcpl"),
            "server_label": server_label.into(),
            "tools": tools,
        }))
    }

    /// Leaves the `status` field out of the finished response object: the non-streamed body,
    /// the terminal event's `response`, the background poll that finishes it. Everything
    /// else is as usual; a client that requires `status` (async-openai's `Response` does)
    /// fails to parse it.
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// let turn = Turn::text("Done.").omit_status();
    /// # let _ = turn;
    /// ```
    pub fn omit_status(mut self) -> Self {
        self.omit_status = true;
        self
    }

    /// When the request asks for `background: true`, `GET /v1/responses/{id}` answers this
    /// many polls as still pending (the first `queued`, later ones `in_progress`) before the
    /// finished response; overrides [`FakeOpenAiBuilder::background_polls`](super::FakeOpenAiBuilder::background_polls).
    /// No effect on other requests.
    ///
    /// ```
    /// use bighub_testkit::fake_openai::Turn;
    ///
    /// // Polled: queued, in_progress, in_progress, then the completed text.
    /// let turn = Turn::text("Report ready.").background_polls(3);
    /// # let _ = turn;
    /// ```
    pub fn background_polls(mut self, polls: usize) -> Self {
        self.background_polls = Some(polls);
        self
    }

    /// Holds the reply until `gate` is released. (A background request is answered `queued` at
    /// once; its polls are not held.)
    pub fn hold_until(mut self, gate: &Gate) -> Self {
        self.hold = Some(Hold::Gate(gate.clone()));
        self
    }

    /// Holds the reply for `duration` before it completes.
    pub fn hold_for(mut self, duration: Duration) -> Self {
        self.hold = Some(Hold::For(duration));
        self
    }

    /// Waits this long between stream events (overrides the server-wide setting).
    pub fn event_delay(mut self, delay: Duration) -> Self {
        self.event_delay = Some(delay);
        self
    }

    /// When streaming, aborts the connection after `events` events instead of finishing.
    pub fn cut_stream_after(mut self, events: usize) -> Self {
        self.cut_stream_after = Some(events);
        self
    }

    /// The output items of this turn.
    pub fn items(&self) -> &[OutputSpec] {
        &self.items
    }

    pub(crate) fn end(&self) -> &TurnEnd {
        &self.end
    }

    pub(crate) fn omits_status(&self) -> bool {
        self.omit_status
    }

    pub(crate) fn background_polls_override(&self) -> Option<usize> {
        self.background_polls
    }

    pub(crate) fn hold(&self) -> Option<&Hold> {
        self.hold.as_ref()
    }

    pub(crate) fn event_delay_override(&self) -> Option<Duration> {
        self.event_delay
    }

    pub(crate) fn cut_after(&self) -> Option<usize> {
        self.cut_stream_after
    }
}

/// What the fake does with one (valid, authenticated) request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub(crate) delay: Duration,
    pub(crate) action: ReplyAction,
}

#[derive(Debug, Clone)]
pub(crate) enum ReplyAction {
    Turn(Turn),
    Status {
        status: u16,
        retry_after: Option<u64>,
        message: Option<String>,
    },
    Drop,
}

impl Reply {
    /// Answer with this model turn.
    pub fn turn(turn: Turn) -> Self {
        Self {
            delay: Duration::ZERO,
            action: ReplyAction::Turn(turn),
        }
    }

    /// Answer with an HTTP error status and the OpenAI error envelope.
    pub fn status(status: u16) -> Self {
        Self {
            delay: Duration::ZERO,
            action: ReplyAction::Status {
                status,
                retry_after: None,
                message: None,
            },
        }
    }

    /// 429 `rate_limit_exceeded` with a `retry-after` header of `seconds`.
    pub fn rate_limited(seconds: u64) -> Self {
        Self::status(429).retry_after(seconds)
    }

    /// 500 `server_error`.
    pub fn server_error() -> Self {
        Self::status(500)
    }

    /// 503 (service unavailable).
    pub fn unavailable() -> Self {
        Self::status(503)
    }

    /// Close the connection without sending any answer.
    pub fn drop_connection() -> Self {
        Self {
            delay: Duration::ZERO,
            action: ReplyAction::Drop,
        }
    }

    /// Sets the `retry-after` header (seconds) of a status reply; no effect on other replies.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        if let ReplyAction::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(seconds);
        }
        self
    }

    /// Sets the error message of a status reply; no effect on other replies.
    pub fn with_message(mut self, text: impl Into<String>) -> Self {
        if let ReplyAction::Status { message, .. } = &mut self.action {
            *message = Some(text.into());
        }
        self
    }

    /// Waits `delay` before acting (on top of the server-wide latency), e.g. to provoke a
    /// client timeout.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl From<Turn> for Reply {
    fn from(turn: Turn) -> Self {
        Self::turn(turn)
    }
}

/// A gate a test releases to let held replies complete.
///
/// ```
/// use bighub_testkit::fake_openai::{Gate, Turn};
///
/// let gate = Gate::new();
/// let turn = Turn::function_call("deploy", "{}").hold_until(&gate);
/// assert!(!gate.is_released());
/// gate.release();
/// assert!(gate.is_released());
/// # let _ = turn;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Gate {
    inner: Arc<GateInner>,
}

#[derive(Debug, Default)]
struct GateInner {
    released: AtomicBool,
    reached: AtomicBool,
    notify: Notify,
    reached_notify: Notify,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the gate; every reply held on it (now or later) proceeds.
    pub fn release(&self) {
        self.inner.released.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`Gate::release`] was called.
    pub fn is_released(&self) -> bool {
        self.inner.released.load(Ordering::SeqCst)
    }

    /// Whether a reply has reached this gate and is (or was) waiting on it.
    pub fn is_reached(&self) -> bool {
        self.inner.reached.load(Ordering::SeqCst)
    }

    /// Resolves once a reply has reached this gate (everything before the hold point was sent).
    pub async fn reached(&self) {
        loop {
            let notified = self.inner.reached_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_reached() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) async fn wait(&self) {
        self.inner.reached.store(true, Ordering::SeqCst);
        self.inner.reached_notify.notify_waiters();
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_released() {
                return;
            }
            notified.await;
        }
    }
}

impl Hold {
    pub(crate) async fn wait(&self) {
        match self {
            Hold::Gate(gate) => gate.wait().await,
            Hold::For(duration) => tokio::time::sleep(*duration).await,
        }
    }
}
