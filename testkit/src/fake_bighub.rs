//! A validating fake of the hosted BIGHUB API, served on `127.0.0.1` for tests and benches.
//!
//! This module owns the server: routing, API-key check, body validation, scripted and
//! computed replies, latency, and the record of every request. It shares no types with
//! `bighub-core` (it speaks JSON only), so it checks the wire format a client really sends.
//!
//! # What it serves
//!
//! | endpoint | body rules (422 otherwise) | default answer |
//! |---|---|---|
//! | `POST /actions/evaluate` | `action` string; `actor` string if present; `value` number or null; `target`, `domain` string or null; `context` object or null; `dry_run` boolean | [`decision`]`("autonomous", action)` |
//! | `POST /outcomes/report` | `status` one of [`OUTCOME_STATUSES`]; `request_id` string; `description` string or null; `details` object or null; `correction_needed` boolean | `{"recorded": true, "request_id", "status"}` |
//! | `POST /actions/memory/ingest` | `source` string; `events` array of objects; `source_version`, `actor`, `domain`, `model`, `trace_id` string or null; `redact` boolean; `redaction_policy` string | `{"accepted": n, "rejected": 0, "source"}` |
//! | `POST /approvals/{request_id}/resolve` | `resolution` one of [`RESOLUTIONS`]; `comment`, `resolved_by` string or null | `{"request_id", "status", "resolution", "comment", "resolved_by"}`; a second resolution of one request id: 409 `{"detail": {"message", "resolution": <the first>}}` |
//!
//! Checks run in the service's order: unknown path → 404 `{"detail": "Not Found"}`; other
//! method → 405 `{"detail": "Method Not Allowed"}`; missing or wrong `X-API-Key` → 401
//! `{"detail": "Invalid API key"}`; then the body: a content type other than JSON, an
//! empty body, invalid JSON, a non-object, or a field breaking the rules → 422 with a
//! FastAPI `detail` list (`[{"loc": ["body", "action"], "msg": "field required", "type":
//! "value_error.missing"}]`). Only a request passing all checks gets a scripted reply
//! ([`FakeBighub::enqueue`], first in first out per endpoint) or, when none is queued, the
//! endpoint's responder ([`FakeBighub::on_evaluate`], [`FakeBighub::respond_with`]).
//!
//! A reply may be any JSON ([`Reply::json`], [`Reply::ok`], [`Reply::error`]) or any raw body
//! with any content type ([`Reply::text`]), late ([`Reply::delay`],
//! [`FakeBighub::set_latency`]) or never ([`Reply::drop_connection`]).
//!
//! Besides every request ([`FakeBighub::requests`]), the server counts client connections:
//! how many are open now ([`FakeBighub::open_connections`]), the most that were open at once
//! ([`FakeBighub::peak_open_connections`]) and how many it accepted
//! ([`FakeBighub::connections_accepted`]), so a test can check a client's connection pool.
//!
//! # Example
//!
//! ```
//! use bighub_testkit::fake_bighub::{decision, Endpoint, FakeBighub, Reply};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let fake = FakeBighub::start().await;
//! // Decide by action name.
//! fake.on_evaluate(|body| {
//!     let action = body["action"].as_str().unwrap_or_default();
//!     let mode = if action == "grant_access" { "review" } else { "autonomous" };
//!     Reply::ok(decision(mode, action))
//! });
//! // The next evaluation fails once with a 503, then the responder answers again.
//! fake.enqueue(Endpoint::Evaluate, Reply::status(503));
//!
//! let http = reqwest::Client::new();
//! let send = || {
//!     http.post(format!("{}/actions/evaluate", fake.base_url()))
//!         .header("X-API-Key", fake.api_key())
//!         .json(&json!({"action": "grant_access", "actor": "ops-agent", "context": {}}))
//!         .send()
//! };
//! assert_eq!(send().await.unwrap().status(), 503);
//! let answer: serde_json::Value = send().await.unwrap().json().await.unwrap();
//! assert_eq!(answer["mode"], "review");
//! assert_eq!(fake.count("/actions/evaluate"), 2);
//! # }
//! ```
//!
//! The server stops by itself when the [`FakeBighub`] is dropped (in-flight delayed replies
//! end by closing their connection) or when the runtime shuts down.

mod conn;
mod decisions;
mod endpoint;
mod record;
mod reply;
mod validate;

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use decisions::{decision, fresh_request_id};
pub use endpoint::{Endpoint, percent_decode};
pub use record::RecordedRequest;
pub use reply::Reply;
pub use validate::{OUTCOME_STATUSES, RESOLUTIONS};

use conn::{ConnectionCutter, ConnectionStats, CuttableListener};

/// Computes the reply to a valid request.
type Responder = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

/// A running fake BIGHUB server; see the [module documentation](self).
pub struct FakeBighub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct Shared {
    api_key: String,
    connections: Arc<ConnectionStats>,
    shutdown: watch::Receiver<bool>,
    state: Mutex<ServerState>,
}

#[derive(Default)]
struct ServerState {
    requests: Vec<RecordedRequest>,
    queues: HashMap<Endpoint, VecDeque<Reply>>,
    responders: HashMap<Endpoint, Responder>,
    latency: Duration,
    /// The resolution each approval got, by request id.
    resolved: HashMap<String, String>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, ServerState> {
        // A panicking responder must not take every later assertion down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for FakeBighub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBighub")
            .field("addr", &self.addr)
            .field("requests", &self.shared.state().requests.len())
            .finish_non_exhaustive()
    }
}

impl FakeBighub {
    /// The API key [`FakeBighub::start`] accepts.
    pub const DEFAULT_API_KEY: &'static str = "bh_test_fake_key";

    /// Starts a server on `127.0.0.1` (a free port) accepting [`Self::DEFAULT_API_KEY`].
    ///
    /// # Panics
    ///
    /// When no local port can be bound, or outside a Tokio runtime.
    pub async fn start() -> Self {
        Self::with_api_key(Self::DEFAULT_API_KEY).await
    }

    /// Starts a server accepting `api_key` only.
    ///
    /// # Panics
    ///
    /// When no local port can be bound, or outside a Tokio runtime.
    pub async fn with_api_key(api_key: impl Into<String>) -> Self {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("fake BIGHUB: cannot bind a port on 127.0.0.1");
        let addr = listener
            .local_addr()
            .expect("fake BIGHUB: bound socket has no address");
        let (shutdown, shutdown_rx) = watch::channel(false);
        let connections = Arc::new(ConnectionStats::default());
        let shared = Arc::new(Shared {
            api_key: api_key.into(),
            connections: connections.clone(),
            shutdown: shutdown_rx,
            state: Mutex::new(ServerState::default()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<ConnectionCutter>();
            // Serving only ends when the task is aborted.
            let listener = CuttableListener {
                listener,
                stats: connections,
            };
            let _ = axum::serve(listener, service).await;
        });
        Self {
            addr,
            shared,
            shutdown,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`, the base URL to give a client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The one API key the server accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Answers valid evaluations with `f(body)` when no scripted reply is queued.
    pub fn on_evaluate(&self, f: impl Fn(&Value) -> Reply + Send + Sync + 'static) {
        self.respond_with(Endpoint::Evaluate, move |request| f(request.json()));
    }

    /// Answers valid requests to `endpoint` with `f(request)` when no scripted reply is
    /// queued (the request gives access to headers and the approval id, too).
    pub fn respond_with(
        &self,
        endpoint: Endpoint,
        f: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    ) {
        self.shared.state().responders.insert(endpoint, Arc::new(f));
    }

    /// Queues `reply` for the next valid request to `endpoint`; queued replies are used
    /// first in, first out, before the responder.
    pub fn enqueue(&self, endpoint: Endpoint, reply: Reply) {
        self.enqueue_many(endpoint, [reply]);
    }

    /// Queues several replies for `endpoint`, in order.
    pub fn enqueue_many(&self, endpoint: Endpoint, replies: impl IntoIterator<Item = Reply>) {
        self.shared
            .state()
            .queues
            .entry(endpoint)
            .or_default()
            .extend(replies);
    }

    /// How many scripted replies for `endpoint` are still queued.
    pub fn pending(&self, endpoint: Endpoint) -> usize {
        self.shared
            .state()
            .queues
            .get(&endpoint)
            .map_or(0, VecDeque::len)
    }

    /// Delays every answer (errors included) by `latency`, on top of a reply's own delay.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.state().latency = latency;
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// The requests whose raw path is `path`, or whose endpoint pattern is `path` (so
    /// `"/approvals/{request_id}/resolve"` matches every resolution).
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .state()
            .requests
            .iter()
            .filter(|r| matches_path(r, path))
            .cloned()
            .collect()
    }

    /// The requests routed to `endpoint`, whatever their method or validity.
    pub fn requests_for(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        self.shared
            .state()
            .requests
            .iter()
            .filter(|r| r.endpoint == Some(endpoint))
            .cloned()
            .collect()
    }

    /// How many requests [`requests_to`](Self::requests_to) would return.
    pub fn count(&self, path: &str) -> usize {
        self.shared
            .state()
            .requests
            .iter()
            .filter(|r| matches_path(r, path))
            .count()
    }

    /// The latest request, if any.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.shared.state().requests.last().cloned()
    }

    /// How many client connections are open right now.
    pub fn open_connections(&self) -> usize {
        self.shared.connections.open()
    }

    /// The most client connections that were open at the same time since the start: how
    /// far a client's connection pool really went.
    pub fn peak_open_connections(&self) -> usize {
        self.shared.connections.peak()
    }

    /// How many client connections the server accepted since the start.
    pub fn connections_accepted(&self) -> usize {
        self.shared.connections.accepted()
    }

    /// Forgets the recorded requests (queues and responders stay).
    pub fn clear_requests(&self) {
        self.shared.state().requests.clear();
    }
}

impl Drop for FakeBighub {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
    }
}

fn matches_path(request: &RecordedRequest, path: &str) -> bool {
    request.path == path || request.endpoint.is_some_and(|e| e.path_pattern() == path)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(cutter): ConnectInfo<ConnectionCutter>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = Endpoint::route(uri.path());
    let record = RecordedRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        endpoint: route.as_ref().map(|(e, _)| *e),
        path_id: route.and_then(|(_, id)| id),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(&body).ok(),
        raw_body: String::from_utf8_lossy(&body).into_owned(),
        received_at: Instant::now(),
    };
    let latency = {
        let mut state = shared.state();
        state.requests.push(record.clone());
        state.latency
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let reply = choose_reply(&shared, &record, content_type.as_deref(), &body);

    let wait = latency + reply.delay;
    if !wait.is_zero() {
        let mut stop = shared.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|stopped| *stopped) => {
                cutter.cut();
                return Reply::drop_connection().into_response();
            }
        }
    }
    if reply.is_drop() {
        cutter.cut();
    }
    reply.into_response()
}

/// The reply to `record`: the service's checks first, then scripted, then computed.
fn choose_reply(
    shared: &Shared,
    record: &RecordedRequest,
    content_type: Option<&str>,
    raw_body: &[u8],
) -> Reply {
    let Some(endpoint) = record.endpoint else {
        return Reply::error(404, "Not Found");
    };
    if record.method != Method::POST.as_str() {
        return Reply::error(405, "Method Not Allowed").header("allow", "POST");
    }
    if record.header("x-api-key") != Some(shared.api_key.as_str()) {
        return Reply::error(401, "Invalid API key");
    }
    if let Err(detail) = validate::check_body(endpoint, content_type, raw_body) {
        return Reply::json(422, json!({ "detail": detail }));
    }
    let responder = {
        let mut state = shared.state();
        if let Some(reply) = state
            .queues
            .get_mut(&endpoint)
            .and_then(VecDeque::pop_front)
        {
            return reply;
        }
        state.responders.get(&endpoint).cloned()
    };
    // Called without the lock: a responder may take its time.
    match responder {
        Some(f) => f(record),
        None if endpoint == Endpoint::ResolveApproval => resolve_once(shared, record),
        None => default_reply(endpoint, record),
    }
}

/// An approval resolves once: a second resolution is a 409 naming the first.
fn resolve_once(shared: &Shared, record: &RecordedRequest) -> Reply {
    let id = record.path_id.clone().unwrap_or_default();
    let resolution = record.json()["resolution"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let earlier = shared.state().resolved.get(&id).cloned();
    match earlier {
        Some(earlier) => Reply::json(
            409,
            json!({"detail": {"message": "approval already resolved", "resolution": earlier}}),
        ),
        None => {
            shared.state().resolved.insert(id, resolution);
            default_reply(Endpoint::ResolveApproval, record)
        }
    }
}

fn default_reply(endpoint: Endpoint, record: &RecordedRequest) -> Reply {
    let body = record.json();
    match endpoint {
        Endpoint::Evaluate => Reply::ok(decision(
            "autonomous",
            body["action"].as_str().unwrap_or_default(),
        )),
        Endpoint::ReportOutcome => Reply::ok(json!({
            "recorded": true,
            "request_id": body["request_id"],
            "status": body["status"],
        })),
        Endpoint::IngestMemory => Reply::ok(json!({
            "accepted": body["events"].as_array().map_or(0, Vec::len),
            "rejected": 0,
            "source": body["source"],
        })),
        Endpoint::ResolveApproval => Reply::ok(json!({
            "request_id": record.path_id,
            "status": body["resolution"],
            "resolution": body["resolution"],
            "comment": body.get("comment").cloned().unwrap_or(Value::Null),
            "resolved_by": body.get("resolved_by").cloned().unwrap_or(Value::Null),
        })),
    }
}
