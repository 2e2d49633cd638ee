//! A validating local fake of the OpenAI Responses API (`POST /v1/responses`), for end-to-end
//! tests and benchmarks of code that talks to the real API through `async-openai`.
//!
//! The fake listens on `127.0.0.1:<random port>`, checks every request the way the real API
//! does (bearer key, body shape, Responses-shaped tools, strict schemas, stateless replay and
//! tool-call pairing), and answers from a script of model turns that the test writes — or from
//! a responder closure that looks at the request. It records every request and reply, and it
//! stops by itself when the handle is dropped.
//!
//! What this module owns: the public handle ([`FakeOpenAi`]) and its builder. The rest is
//! split by concept: `script` (turns, fault replies, gates), `validate`, `calls` and `schema`
//! (the rules; `calls` pairs every tool call with its output), `store` (what `store: true`
//! and background mode persist), `response` and `sse` (wire JSON and event sequence),
//! `server` and `listener` (HTTP), `record` and `view` (what tests inspect).
//! It does not model anything but function tools in depth (the client-side calls a model may
//! make — computer, local shell, shell, apply patch, custom tool — are emitted, and their
//! outputs validated and paired, but no such tool is checked in `tools`), nor token counts
//! precisely (`usage` is an estimate).
//!
//! Behaviour worth knowing:
//! - `store` defaults to `true`, as in the real API. A response is stored once it finishes
//!   completed or incomplete; `previous_response_id` then prepends its whole context (input
//!   and output items).
//! - Under `store: false`, `previous_response_id` fails with `previous_response_not_found`,
//!   and items replayed only by id (an `item_reference`, or a `reasoning` item without its
//!   `encrypted_content`) fail with 404. Reasoning items carry `encrypted_content` only when
//!   the request includes `reasoning.encrypted_content`; replayed blobs must be ones this fake
//!   issued.
//! - Models that do not reason (`gpt-4o*`, `gpt-4.1*`, `*-chat-latest`, ...) refuse
//!   `include: ["reasoning.encrypted_content"]` with 400 (param `include`), as the real API does.
//! - The real REST API does not send `output_text` (the Python and JavaScript SDKs compute
//!   it); the fake omits it unless [`FakeOpenAiBuilder::include_output_text`] is set.
//! - A turn ends `completed` unless it says [`Turn::incomplete`], [`Turn::failed`] or
//!   [`Turn::cancelled`]: that is the response's `status`, and when streaming its terminal
//!   event (`response.incomplete`, `response.failed`; a cancelled stream just ends). Failed
//!   and cancelled responses are not stored, as there is nothing to continue.
//! - `background: true` needs `store` true (400 otherwise, param `background`). The request
//!   is answered at once with the response `queued` and no output; `GET /v1/responses/{id}`
//!   then answers [`FakeOpenAiBuilder::background_polls`] polls as pending (the first
//!   `queued`, later ones `in_progress`), and every later poll the finished response, as the
//!   turn ends. [`FakeOpenAi::poll_count`] counts the polls. A background stream starts
//!   `queued` (`response.created`, `response.queued`) and is retrievable once finished. An
//!   unknown id answers 404.
//! - Every call in the replayed context — function calls and the client-side calls
//!   ([`Turn::computer_call`], [`Turn::local_shell_call`], [`Turn::shell_call`],
//!   [`Turn::apply_patch_call`], [`Turn::custom_tool_call`]) — needs its output item in the
//!   same request, and every output its call; output items are checked field by field.
//! - [`Turn::omit_status`] and [`Turn::raw_item`] make responses that are legal on the wire
//!   but that async-openai's typed `Response` cannot parse.
//! - An invalid request is answered with an error and does not consume a scripted reply.
//! - When the script is exhausted and no responder is set, the fake answers with one
//!   assistant message whose text is [`EXHAUSTED_REPLY_TEXT`]; with
//!   [`FakeOpenAiBuilder::repeat_script`] it starts over instead, and at each new
//!   conversation.
//!
//! # Example
//!
//! Start the fake, script two turns (a tool call, then a text answer) and drive them with
//! async-openai's own client, replaying the conversation statelessly as the agent loop does:
//!
//! ```
//! use async_openai::{Client, config::OpenAIConfig};
//! use async_openai::types::responses::{CreateResponseArgs, InputItem, OutputItem, OutputMessageContent};
//! use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let fake = FakeOpenAi::start().await?;
//! fake.push(Turn::function_call("grant_role", r#"{"user":"ana","role":"admin"}"#));
//! fake.push(Turn::text("Ana is now an admin."));
//!
//! let client = Client::with_config(
//!     OpenAIConfig::new().with_api_base(fake.base_url()).with_api_key(fake.api_key()),
//! );
//! let first = client
//!     .responses()
//!     .create(CreateResponseArgs::default().model("gpt-test").input("make ana admin").store(false).build()?)
//!     .await?;
//! let OutputItem::FunctionCall(call) = &first.output[0] else { panic!("expected a tool call") };
//!
//! // Second request: the whole context again, plus the tool output.
//! let input: Vec<InputItem> = serde_json::from_value(json!([
//!     {"role": "user", "content": "make ana admin"},
//!     serde_json::to_value(&first.output[0])?,
//!     {"type": "function_call_output", "call_id": call.call_id, "output": "granted"}
//! ]))?;
//! let second = client
//!     .responses()
//!     .create(CreateResponseArgs::default().model("gpt-test").input(input).store(false).build()?)
//!     .await?;
//! let OutputItem::Message(answer) = &second.output[0] else { panic!("expected a message") };
//! let OutputMessageContent::OutputText(text) = &answer.content[0] else { panic!("expected text") };
//! assert_eq!(text.text, "Ana is now an admin.");
//! assert_eq!(fake.request_count(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(()) })
//! # }
//! ```

mod calls;
mod error;
mod ids;
mod listener;
mod record;
mod response;
mod schema;
mod script;
mod server;
mod sse;
mod store;
mod validate;
mod view;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use error::{ApiError, FakeOpenAiError};
pub use record::{Headers, RecordedRequest, RecordedResponse};
pub use script::{EXHAUSTED_REPLY_TEXT, Gate, Hold, OutputSpec, Reply, Turn};
pub use view::{FunctionCallView, RequestView, ToolOutputView};

use listener::{ConnKill, KillableListener};
use server::{ServerState, Settings, Shared};

/// The API key the fake accepts unless another is configured.
pub const DEFAULT_API_KEY: &str = "sk-fake-openai-test-key";

/// Polls a background response answers as pending (`queued`, then `in_progress`) before its
/// finished response, unless configured otherwise.
pub const DEFAULT_BACKGROUND_POLLS: usize = 2;

/// A running fake OpenAI Responses API server.
///
/// Dropping the handle stops the server and every stream it is still sending.
///
/// ```no_run
/// use bighub_testkit::fake_openai::{FakeOpenAi, Reply, Turn};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let fake = FakeOpenAi::builder().api_key("sk-test").start().await?;
/// fake.push(Reply::rate_limited(1)); // first request: 429 with retry-after: 1
/// fake.push(Turn::text("hello")); // second request: a text answer
/// // ...run the code under test against fake.base_url()...
/// assert_eq!(fake.request_count(), 0);
/// # Ok(()) }
/// ```
pub struct FakeOpenAi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl FakeOpenAi {
    /// Starts a fake with default settings (key [`DEFAULT_API_KEY`], no latency).
    ///
    /// Must be called inside a Tokio runtime.
    pub async fn start() -> Result<Self, FakeOpenAiError> {
        Self::builder().start().await
    }

    /// A builder for a configured fake.
    pub fn builder() -> FakeOpenAiBuilder {
        FakeOpenAiBuilder::default()
    }

    /// The base URL to configure the client with: `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The socket address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key the fake accepts (as `Authorization: Bearer <key>`).
    pub fn api_key(&self) -> &str {
        &self.shared.settings.api_key
    }

    /// Appends a reply (a [`Turn`] or a fault [`Reply`]) to the script.
    pub fn push(&self, reply: impl Into<Reply>) -> &Self {
        self.shared.lock().script.push_back(reply.into());
        self
    }

    /// Appends several replies to the script, in order.
    pub fn push_all<I, R>(&self, replies: I) -> &Self
    where
        I: IntoIterator<Item = R>,
        R: Into<Reply>,
    {
        self.shared
            .lock()
            .script
            .extend(replies.into_iter().map(Into::into));
        self
    }

    /// Number of scripted replies not used yet.
    pub fn pending_replies(&self) -> usize {
        self.shared.lock().script.len()
    }

    /// Answers with `responder` once the script is exhausted (the script always goes first).
    ///
    /// The responder runs inside the server; if it panics (a failed `assert!` in it, say),
    /// the connection is dropped without an answer and the client sees a transport error.
    ///
    /// ```no_run
    /// use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
    ///
    /// # async fn demo(fake: FakeOpenAi) {
    /// fake.respond_with(|request| match request.tool_outputs().last() {
    ///     Some(out) => Turn::text(format!("the tool said: {}", out.output)),
    ///     None => Turn::function_call("lookup", "{}"),
    /// });
    /// # }
    /// ```
    pub fn respond_with<F, R>(&self, responder: F) -> &Self
    where
        F: Fn(&RequestView) -> R + Send + Sync + 'static,
        R: Into<Reply>,
    {
        self.shared.lock().responder = Some(Arc::new(move |view| responder(view).into()));
        self
    }

    /// Removes the responder.
    pub fn clear_responder(&self) -> &Self {
        self.shared.lock().responder = None;
        self
    }

    /// Waits this long before answering any request (added to a reply's own delay).
    pub fn set_latency(&self, latency: Duration) -> &Self {
        self.shared.lock().latency = latency;
        self
    }

    /// Waits this long between stream events (a turn's own setting wins).
    pub fn set_event_delay(&self, delay: Duration) -> &Self {
        self.shared.lock().event_delay = delay;
        self
    }

    /// How many polls a background response answers as pending before its finished response,
    /// from now on (a turn's own [`Turn::background_polls`] wins).
    pub fn set_background_polls(&self, polls: usize) -> &Self {
        self.shared.lock().background_polls = polls;
        self
    }

    /// Number of `GET /v1/responses/{response_id}` requests received so far (answered or
    /// refused), e.g. to count how often a client polled a background response.
    ///
    /// ```no_run
    /// # async fn demo(fake: bighub_testkit::fake_openai::FakeOpenAi) {
    /// // ...after the client created a background response and polled it to its end...
    /// let id = fake.last_response().unwrap().response_id.unwrap();
    /// assert_eq!(fake.poll_count(&id), 3); // queued, in_progress, completed
    /// # }
    /// ```
    pub fn poll_count(&self, response_id: &str) -> usize {
        let path = format!("/v1/responses/{response_id}");
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// The most non-streamed `POST /v1/responses` requests that were being answered at
    /// once (latency included): how many connections a client kept busy in parallel.
    pub fn peak_concurrent_requests(&self) -> usize {
        self.shared
            .in_flight
            .peak
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The most recent request.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.shared.lock().requests.last().cloned()
    }

    /// Every reply sent (or withheld) so far, in order of decision.
    pub fn responses(&self) -> Vec<RecordedResponse> {
        self.shared.lock().responses.clone()
    }

    /// The most recent reply.
    pub fn last_response(&self) -> Option<RecordedResponse> {
        self.shared.lock().responses.last().cloned()
    }

    /// Ids of the responses stored so far (`store: true`), oldest first.
    pub fn stored_response_ids(&self) -> Vec<String> {
        self.shared.lock().store.ids()
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.server.abort();
        for task in self.shared.lock().stream_tasks.drain(..) {
            task.abort();
        }
    }
}

impl fmt::Debug for FakeOpenAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeOpenAi")
            .field("base_url", &self.base_url())
            .field("api_key", &"<redacted>")
            .field("requests", &self.request_count())
            .finish()
    }
}

/// Configuration of a [`FakeOpenAi`].
///
/// ```no_run
/// use std::time::Duration;
/// use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let fake = FakeOpenAi::builder()
///     .api_key("sk-test")
///     .latency(Duration::from_millis(5))
///     .event_delay(Duration::from_millis(1))
///     .script([Turn::text("hi")])
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FakeOpenAiBuilder {
    api_key: String,
    latency: Duration,
    event_delay: Duration,
    include_output_text: bool,
    delta_chunks: usize,
    background_polls: usize,
    script: Vec<Reply>,
    repeat_script: bool,
    port: u16,
}

impl Default for FakeOpenAiBuilder {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.to_owned(),
            latency: Duration::ZERO,
            event_delay: Duration::ZERO,
            include_output_text: false,
            delta_chunks: 3,
            background_polls: DEFAULT_BACKGROUND_POLLS,
            script: Vec::new(),
            repeat_script: false,
            port: 0,
        }
    }
}

impl fmt::Debug for FakeOpenAiBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeOpenAiBuilder")
            .field("api_key", &"<redacted>")
            .field("latency", &self.latency)
            .field("event_delay", &self.event_delay)
            .field("include_output_text", &self.include_output_text)
            .field("delta_chunks", &self.delta_chunks)
            .field("background_polls", &self.background_polls)
            .field("script", &self.script.len())
            .field("repeat_script", &self.repeat_script)
            .field("port", &self.port)
            .finish()
    }
}

impl FakeOpenAiBuilder {
    /// The key the fake accepts (default [`DEFAULT_API_KEY`]).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    /// Latency added before every answer (default none).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Delay between stream events (default none).
    pub fn event_delay(mut self, delay: Duration) -> Self {
        self.event_delay = delay;
        self
    }

    /// Adds the SDK-style `output_text` field to response objects (default off, as the real
    /// REST API does not send it).
    pub fn include_output_text(mut self, include: bool) -> Self {
        self.include_output_text = include;
        self
    }

    /// Into how many delta events texts and arguments are split when streaming (default 3,
    /// at least 1).
    pub fn delta_chunks(mut self, chunks: usize) -> Self {
        self.delta_chunks = chunks.max(1);
        self
    }

    /// How many polls (`GET /v1/responses/{id}`) a background response answers as pending —
    /// the first `queued`, later ones `in_progress` — before its finished response (default
    /// [`DEFAULT_BACKGROUND_POLLS`]; a turn's own [`Turn::background_polls`] wins).
    ///
    /// ```no_run
    /// use bighub_testkit::fake_openai::FakeOpenAi;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// // The first poll already answers the finished response.
    /// let fake = FakeOpenAi::builder().background_polls(0).start().await?;
    /// # Ok(()) }
    /// ```
    pub fn background_polls(mut self, polls: usize) -> Self {
        self.background_polls = polls;
        self
    }

    /// Initial script of replies.
    pub fn script<I, R>(mut self, replies: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<Reply>,
    {
        self.script.extend(replies.into_iter().map(Into::into));
        self
    }

    /// Replays the builder's [`script`](Self::script) as one conversation: a request that
    /// opens a conversation (its context holds only user, system or developer messages)
    /// gets the first reply again, and so does the request after the last reply. So a
    /// script written for one conversation answers every conversation the same way, even
    /// one that ended early (a paused run, say), as long as they come one at a time.
    /// Replies pushed after start are used until the next rewind. Default off: a used
    /// reply is gone.
    ///
    /// ```
    /// use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = FakeOpenAi::builder()
    ///     .script([Turn::function_call("list_pods", "{}"), Turn::text("Two pods.")])
    ///     .repeat_script(true)
    ///     .start()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(fake.pending_replies(), 2);
    /// # });
    /// ```
    pub fn repeat_script(mut self, repeat: bool) -> Self {
        self.repeat_script = repeat;
        self
    }

    /// The port to listen on, on 127.0.0.1 (default 0: any free port; see
    /// [`FakeOpenAi::base_url`]).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds `127.0.0.1` (on [`port`](Self::port), any free port by default) and starts
    /// serving. Must be called inside a Tokio runtime.
    pub async fn start(self) -> Result<FakeOpenAi, FakeOpenAiError> {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .map_err(FakeOpenAiError::Bind)?;
        let addr = listener.local_addr().map_err(FakeOpenAiError::Bind)?;
        let state = ServerState {
            script: self.script.clone().into(),
            replay: self.repeat_script.then(|| self.script.clone()),
            latency: self.latency,
            event_delay: self.event_delay,
            background_polls: self.background_polls,
            ..ServerState::default()
        };
        let shared = Arc::new(Shared {
            settings: Settings {
                api_key: self.api_key,
                include_output_text: self.include_output_text,
                delta_chunks: self.delta_chunks,
            },
            state: Mutex::new(state),
            in_flight: Default::default(),
        });
        let app =
            server::router(Arc::clone(&shared)).into_make_service_with_connect_info::<ConnKill>();
        let server = tokio::spawn(async move {
            // Serving only ends when the task is aborted on drop.
            let _ = axum::serve(KillableListener::new(listener), app).await;
        });
        Ok(FakeOpenAi {
            shared,
            addr,
            server,
        })
    }
}
