//! The HTTP side of the fake: routes, authentication, choosing the reply, pacing and sending
//! it (JSON or server-sent events), recording the exchange.
//!
//! Owns the request pipeline `record -> auth -> parse -> validate -> next reply -> latency ->
//! answer`. Validation failures do not consume a scripted reply. Does not define the rules
//! (see `validate`), the JSON shapes (see `response`, `sse`) or the public handle (see the
//! module root).
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/responses` | the next reply: a fault status, a dropped connection, or the turn as JSON (finished), as events (`stream: true`), or `queued` at once (`background: true`) |
//! | `GET /v1/responses/{id}` | what the store answers for `id` (pending or finished background response, stored response), else 404 |
//! | anything else | 404 `Invalid URL (<method> <path>)` |
//!
//! Every request is recorded first; the two API routes then need the bearer key (401 otherwise).

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::error::ApiError;
use super::ids::new_id;
use super::listener::ConnKill;
use super::record::{Headers, RecordedRequest, RecordedResponse};
use super::response::{Phase, ResponseMeta, build_items, response_json};
use super::script::{EXHAUSTED_REPLY_TEXT, Reply, ReplyAction, Turn};
use super::sse::{StreamPlan, build_events, frame};
use super::store::{BackgroundResponse, Store};
use super::validate::{INCLUDE_ENCRYPTED_REASONING, validate};
use super::view::RequestView;

/// A closure that picks the reply from the request.
pub(crate) type Responder = Arc<dyn Fn(&RequestView) -> Reply + Send + Sync>;

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub api_key: String,
    pub include_output_text: bool,
    pub delta_chunks: usize,
}

/// Mutable state behind one lock, never held across an `.await`.
#[derive(Default)]
pub(crate) struct ServerState {
    pub store: Store,
    pub script: VecDeque<Reply>,
    /// The script to start over from, for each new conversation and once it is used up.
    pub replay: Option<Vec<Reply>>,
    pub responder: Option<Responder>,
    pub requests: Vec<RecordedRequest>,
    pub responses: Vec<RecordedResponse>,
    pub latency: Duration,
    pub event_delay: Duration,
    /// Polls a background response answers as pending, unless its turn says otherwise.
    pub background_polls: usize,
    pub stream_tasks: Vec<AbortHandle>,
}

pub(crate) struct Shared {
    pub settings: Settings,
    pub state: Mutex<ServerState>,
    /// Non-streamed `POST /v1/responses` being answered now, and the most at once.
    pub in_flight: InFlight,
}

/// A count of requests being answered, with its peak.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    now: std::sync::atomic::AtomicUsize,
    pub peak: std::sync::atomic::AtomicUsize,
}

/// Counts one request as being answered until dropped.
struct Answering(Arc<Shared>);

impl Answering {
    fn new(shared: &Arc<Shared>) -> Self {
        use std::sync::atomic::Ordering::SeqCst;
        let now = shared.in_flight.now.fetch_add(1, SeqCst) + 1;
        shared.in_flight.peak.fetch_max(now, SeqCst);
        Self(Arc::clone(shared))
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let in_flight = &self.0.in_flight;
        in_flight
            .now
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, ServerState> {
        // A panicking test thread must not make every later call panic too.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record_request(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> usize {
        let mut state = self.lock();
        state.requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            headers: Headers::from_http(headers),
            body: serde_json::from_slice(body).ok(),
            raw_body: String::from_utf8_lossy(body).into_owned(),
        });
        state.requests.len() - 1
    }

    fn record_response(&self, response: RecordedResponse) -> usize {
        let mut state = self.lock();
        state.responses.push(response);
        state.responses.len() - 1
    }

    fn error_reply(
        &self,
        request_index: usize,
        error: ApiError,
        retry_after: Option<u64>,
    ) -> Response {
        let body = error.to_json();
        self.record_response(RecordedResponse {
            request_index,
            status: error.status,
            body: Some(body.clone()),
            response_id: None,
            streamed: false,
            events: Vec::new(),
            dropped: false,
        });
        let mut response = json_response(error.status_code(), &body);
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }

    /// The next scripted reply, else the responder's, else the exhausted-script text.
    fn next_reply(&self, view: &RequestView) -> Reply {
        let responder = {
            let mut state = self.lock();
            let rewind = state.script.is_empty() || starts_conversation(view);
            if let Some(full) = state.replay.as_ref().filter(|_| rewind) {
                state.script = full.iter().cloned().collect();
            }
            if let Some(reply) = state.script.pop_front() {
                return reply;
            }
            state.responder.clone()
        };
        match responder {
            Some(responder) => responder(view),
            None => Reply::turn(Turn::text(EXHAUSTED_REPLY_TEXT)),
        }
    }
}

/// Whether the request opens a conversation: its whole context (stored context included)
/// holds only messages of the user, system or developer, nothing the model produced.
fn starts_conversation(view: &RequestView) -> bool {
    view.context().iter().all(|item| {
        matches!(
            item.get("type").and_then(Value::as_str),
            None | Some("message")
        ) && matches!(
            item.get("role").and_then(Value::as_str),
            Some("user" | "system" | "developer")
        )
    })
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/responses", post(create_response))
        .route("/v1/responses/{id}", get(retrieve_response))
        .fallback(unknown_route)
        // Benchmarks replay long conversations: no 2 MB cap on bodies.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(shared)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(id) = HeaderValue::from_str(&new_id("req")) {
        headers.insert("x-request-id", id);
    }
    response
}

fn check_auth(headers: &HeaderMap, api_key: &str) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::invalid_api_key(None));
    };
    let value = String::from_utf8_lossy(value.as_bytes());
    match value.strip_prefix("Bearer ") {
        Some(token) if token == api_key => Ok(()),
        Some(token) => Err(ApiError::invalid_api_key(Some(token))),
        None => Err(ApiError::invalid_api_key(None)),
    }
}

async fn unknown_route(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = shared.record_request(&method, &uri, &headers, &body);
    let error = ApiError::invalid_request(
        404,
        format!("Invalid URL ({method} {})", uri.path()),
        None,
        None,
    );
    shared.error_reply(index, error, None)
}

async fn retrieve_response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let index = shared.record_request(&method, &uri, &headers, &[]);
    if let Err(error) = check_auth(&headers, &shared.settings.api_key) {
        return shared.error_reply(index, error, None);
    }
    let answer = shared.lock().store.retrieve(&id);
    match answer {
        Some(body) => {
            shared.record_response(RecordedResponse {
                request_index: index,
                status: 200,
                body: Some(body.clone()),
                response_id: Some(id),
                streamed: false,
                events: Vec::new(),
                dropped: false,
            });
            json_response(StatusCode::OK, &body)
        }
        None => {
            let error = ApiError::invalid_request(
                404,
                format!("Response with id '{id}' not found."),
                None,
                None,
            );
            shared.error_reply(index, error, None)
        }
    }
}

async fn create_response(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnKill>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = shared.record_request(&method, &uri, &headers, &body);
    let _answering = Answering::new(&shared);
    if let Err(error) = check_auth(&headers, &shared.settings.api_key) {
        return shared.error_reply(index, error, None);
    }
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        let error = ApiError::invalid_request(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you \
             aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
            None,
            None,
        );
        return shared.error_reply(index, error, None);
    };
    let validated = validate(&parsed, &shared.lock().store);
    let validated = match validated {
        Ok(validated) => validated,
        Err(error) => return shared.error_reply(index, error, None),
    };
    let view = RequestView::new(parsed, Headers::from_http(&headers), validated);
    let reply = shared.next_reply(&view);

    let wait = shared.lock().latency + reply.delay;
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }

    match reply.action {
        ReplyAction::Status {
            status,
            retry_after,
            message,
        } => shared.error_reply(
            index,
            ApiError::scripted(status, message.as_deref()),
            retry_after,
        ),
        ReplyAction::Drop => {
            conn.kill();
            shared.record_response(RecordedResponse {
                request_index: index,
                status: 0,
                body: None,
                response_id: None,
                streamed: view.is_stream(),
                events: Vec::new(),
                dropped: true,
            });
            // Never written: the connection is cut before the status line.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        ReplyAction::Turn(turn) if view.is_stream() => stream_turn(shared, conn, index, view, turn),
        ReplyAction::Turn(turn) if view.validated().background => {
            background_turn(&shared, index, &view, &turn)
        }
        ReplyAction::Turn(turn) => json_turn(shared, index, view, turn).await,
    }
}

/// Output items for `turn`, with their encrypted blobs registered as issued.
fn prepare(shared: &Shared, view: &RequestView, turn: &Turn) -> (ResponseMeta, Vec<Value>) {
    let validated = view.validated();
    let include_encrypted = validated
        .include
        .iter()
        .any(|v| v == INCLUDE_ENCRYPTED_REASONING);
    let (items, issued) = build_items(turn, include_encrypted);
    let mut state = shared.lock();
    for blob in issued {
        state.store.remember_encrypted(blob);
    }
    drop(state);
    let meta = ResponseMeta::new(
        view.body().clone(),
        validated.clone(),
        shared.settings.include_output_text,
        turn.omits_status(),
    );
    (meta, items)
}

/// Stores a completed response when the request asked for it.
fn store_if_asked(shared: &Shared, meta: &ResponseMeta, items: &[Value], body: &Value) {
    if !meta.validated.store {
        return;
    }
    let mut context = meta.validated.context.clone();
    context.extend(items.iter().cloned());
    shared
        .lock()
        .store
        .insert(meta.id.clone(), context, body.clone());
}

/// Holds a streamed response at its end, then stores it when it may be continued; a
/// background one stays retrievable whatever its end.
async fn finish(shared: &Shared, meta: &ResponseMeta, turn: &Turn, items: &[Value], body: &Value) {
    if let Some(hold) = turn.hold() {
        hold.wait().await;
    }
    if turn.end().is_continuable() {
        store_if_asked(shared, meta, items, body);
    }
    if meta.validated.background {
        let response = BackgroundResponse {
            pending_polls: 0,
            queued: Value::Null,
            in_progress: Value::Null,
            finished: body.clone(),
            context: None,
            served: 0,
        };
        shared
            .lock()
            .store
            .insert_background(meta.id.clone(), response);
    }
}

/// Answers a background request at once with the response `queued`; polls finish it.
fn background_turn(shared: &Shared, index: usize, view: &RequestView, turn: &Turn) -> Response {
    let (meta, items) = prepare(shared, view, turn);
    let queued = response_json(&meta, Phase::Queued, &[]);
    let finished = response_json(&meta, Phase::Finished(turn.end()), &items);
    // `store` is true here: validation refuses background mode without it.
    let context = turn.end().is_continuable().then(|| {
        let mut context = meta.validated.context.clone();
        context.extend(items.iter().cloned());
        context
    });
    {
        let mut state = shared.lock();
        let pending_polls = turn
            .background_polls_override()
            .unwrap_or(state.background_polls);
        let response = BackgroundResponse {
            pending_polls,
            queued: queued.clone(),
            in_progress: response_json(&meta, Phase::InProgress, &[]),
            finished,
            context,
            served: 0,
        };
        state.store.insert_background(meta.id.clone(), response);
    }
    shared.record_response(RecordedResponse {
        request_index: index,
        status: 200,
        body: Some(queued.clone()),
        response_id: Some(meta.id.clone()),
        streamed: false,
        events: Vec::new(),
        dropped: false,
    });
    json_response(StatusCode::OK, &queued)
}

async fn json_turn(shared: Arc<Shared>, index: usize, view: RequestView, turn: Turn) -> Response {
    let (meta, items) = prepare(&shared, &view, &turn);
    if let Some(hold) = turn.hold() {
        hold.wait().await;
    }
    let body = response_json(&meta, Phase::Finished(turn.end()), &items);
    if turn.end().is_continuable() {
        store_if_asked(&shared, &meta, &items, &body);
    }
    shared.record_response(RecordedResponse {
        request_index: index,
        status: 200,
        body: Some(body.clone()),
        response_id: Some(meta.id.clone()),
        streamed: false,
        events: Vec::new(),
        dropped: false,
    });
    json_response(StatusCode::OK, &body)
}

fn stream_turn(
    shared: Arc<Shared>,
    conn: ConnKill,
    index: usize,
    view: RequestView,
    turn: Turn,
) -> Response {
    let (meta, items) = prepare(&shared, &view, &turn);
    let plan = build_events(&meta, &items, &turn, shared.settings.delta_chunks);
    let record = shared.record_response(RecordedResponse {
        request_index: index,
        status: 200,
        body: None,
        response_id: Some(meta.id.clone()),
        streamed: true,
        events: Vec::new(),
        dropped: false,
    });
    let delay = turn
        .event_delay_override()
        .unwrap_or_else(|| shared.lock().event_delay);

    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(16);
    let task_shared = Arc::clone(&shared);
    let task = tokio::spawn(async move {
        let shared = task_shared;
        let StreamPlan {
            events,
            terminal,
            response,
        } = plan;
        let cut = async |sent: usize| {
            if turn.cut_after() != Some(sent) {
                return false;
            }
            conn.kill();
            shared.lock().responses[record].dropped = true;
            let _ = tx
                .send(Err(io::Error::other("stream cut by the fake")))
                .await;
            true
        };
        let finish_at = events.len();
        let has_terminal = terminal.is_some();
        for (i, event) in events.into_iter().chain(terminal).enumerate() {
            if cut(i).await {
                return;
            }
            if i == finish_at {
                // Every item is out: the response finishes before its terminal event.
                finish(&shared, &meta, &turn, &items, &response).await;
            }
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if tx.send(Ok(Bytes::from(frame(&event)))).await.is_err() {
                // The client went away; nothing left to send to.
                return;
            }
            shared.lock().responses[record].events.push(event);
        }
        if !has_terminal {
            // A cancelled response has no terminal event: the stream just ends.
            if cut(finish_at).await {
                return;
            }
            finish(&shared, &meta, &turn, &items, &response).await;
        }
        shared.lock().responses[record].body = Some(response);
    });
    {
        let mut state = shared.lock();
        state.stream_tasks.retain(|t| !t.is_finished());
        state.stream_tasks.push(task.abort_handle());
    }

    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(id) = HeaderValue::from_str(&new_id("req")) {
        headers.insert("x-request-id", id);
    }
    response
}
