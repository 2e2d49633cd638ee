//! The HTTP surface: routes, the order of the checks, and the answers' shapes.
//!
//! This module owns the router. Each request is checked in the hosted service's order:
//! unknown path → 404 `{"detail": "Not Found"}`; other method → 405 `{"detail": "Method
//! Not Allowed"}`; missing or wrong `X-API-Key` → 401 `{"detail": "Invalid API key"}`
//! (the same answer for both, saying nothing more); a body over the size limit → 413;
//! then the body's rules (`wire.rs`) → 422 with a `detail` list.
//!
//! The request timeout bounds what a client controls: a body not received within it is
//! answered 408. A request that records (an evaluation, an outcome, memory) is never
//! abandoned once its body is read: it runs to its end even when the client leaves, and
//! is answered with what was recorded, or with the store's own refusal (503 once the
//! store's statement or connection timeout passes). Abandoning it instead would answer 503
//! for a decision recorded anyway, and a client retrying without an `Idempotency-Key`
//! would record the call again. Requests that only read (previews, listings) are answered
//! 503 when the store does not answer within the request timeout. Every error answer is
//! JSON with a `detail`, logged and counted. `/healthz` and `/metrics` never wait on the
//! store beyond their short bounds (`probe.rs`).
//!
//! `POST /slack/actions` is the one route that takes no API key (Slack cannot send one):
//! it exists only when [`ServerConfig::slack`] is set (404 otherwise), its body is held to
//! the same size limit, and Slack's signature is checked before anything else
//! (`notify/slack_actions.rs`).

use bighub_local::decision_logs::DecisionLogs;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use serde_json::{Map, Value, json};

use crate::auth::Auth;
use crate::backend::{ApprovalFilter, Backend, BackendError, Caller};
use crate::connections::ConnectionLimits;
use crate::console::Console;
use crate::metrics::Metrics;
use crate::notify::{self, SlackActions};
use crate::probe::Probe;
use crate::runs;
use crate::spans;
use crate::wire::{self, BodyEndpoint};

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// The header carrying a request's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// How long a store read of `/healthz` or `/metrics` is reused before another is made.
const PROBE_FRESH: Duration = Duration::from_secs(1);
/// How long `/metrics` waits for a fresh count of pending approvals before answering with
/// the last one.
const PENDING_WAIT: Duration = Duration::from_millis(500);

/// How a server answers: who may call it, and its limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The accepted API keys (or none, on loopback only).
    pub auth: Auth,
    /// The largest request body accepted (default 1 MiB); larger ones get 413.
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's body (default 30 s; slower: 408),
    /// and how long a request that only reads (a `dry_run` evaluation, a listing) waits for
    /// the store (then 503). A request that records is answered once the store has
    /// recorded or refused it, within the store's own timeouts, however long that takes.
    pub request_timeout: Duration,
    /// How long `/healthz` waits for the store (default 2 s) before answering 503.
    pub health_timeout: Duration,
    /// The most approvals `GET /approvals` lists (default 1000); `limit` asks for fewer.
    pub max_approvals_listed: usize,
    /// Timeouts and caps for connections ([`Server::serve`](crate::Server::serve) holds
    /// clients to them).
    pub connections: ConnectionLimits,
    /// How often [`Server::serve`](crate::Server::serve) marks the approvals whose time ran
    /// out expired, which announces them (default 15 s). Listing and answering treat an
    /// overdue approval as expired at once either way.
    pub expiry_sweep: Duration,
    /// Slack's Approve and Reject buttons (`POST /slack/actions`), when set; without it
    /// the route answers 404.
    pub slack: Option<Arc<SlackActions>>,
    /// The approvals console, served beside the API when set (default none: its paths
    /// answer 404).
    pub console: Option<Console>,
    /// The decision-log sink the engine was given
    /// ([`LocalEngineBuilder::decision_logs`](bighub_local::LocalEngineBuilder::decision_logs)),
    /// when there is one: `/metrics` shows its counts as
    /// `bighub_decision_log_records_total{result=...}` and `bighub_decision_log_pending`,
    /// and [`Server::serve`](crate::Server::serve) closes it on shutdown, giving what is
    /// queued a few seconds.
    pub decision_logs: Option<DecisionLogs>,
}

impl ServerConfig {
    /// The defaults, with `auth`.
    pub fn new(auth: Auth) -> Self {
        Self {
            auth,
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            health_timeout: Duration::from_secs(2),
            max_approvals_listed: 1000,
            connections: ConnectionLimits::default(),
            expiry_sweep: Duration::from_secs(15),
            slack: None,
            console: None,
            decision_logs: None,
        }
    }
}

pub(crate) struct AppState {
    pub(crate) backend: Arc<dyn Backend>,
    config: ServerConfig,
    metrics: Arc<Metrics>,
    /// The store's last answer to a health check: `Err` says why it failed.
    health: Arc<Probe<Result<(), String>>>,
    /// The last count of pending approvals.
    pending: Arc<Probe<usize>>,
}

pub(crate) type Shared = Arc<AppState>;

/// The router serving the hosted service's contract over `backend`.
///
/// | route | answer |
/// |---|---|
/// | `POST /actions/evaluate` | the decision (`dry_run: true`: decided, not recorded) |
/// | `POST /outcomes/report` | `{"recorded": true, "request_id", "status"}` |
/// | `POST /actions/memory/ingest` | `{"accepted": n, "rejected": 0, "source"}` |
/// | `POST /approvals/{request_id}/resolve` | the approval as it now stands, with `resolution` and `resolver` (the API key's name); 404 unknown, 409 `{"detail": {"message", "resolution"}}` when already resolved |
/// | the same with `claim: true`, `tool`, `arguments_sha256` | the approval, now used, with `claimed: true`; 409 `{"detail": {"message", "reason"}}` (`tool_changed` with `approved_tool`, `arguments_changed`, `already_used`, `not_approved` with `status`, `untracked`) |
/// | `GET /approvals?status=pending\|all&limit=N` | a JSON array of approvals |
/// | `GET /approvals/{request_id}` | the approval as it now stands (an extension, read by agents to learn the call an approver approved); 404 unknown |
/// | `GET /decisions?limit=N` | a JSON array of the most recent decisions, newest first, with their outcomes (an extension of the hosted contract, for `bighub decisions --server`) |
/// | `PUT /runs/{run_id}`, `POST /runs/claim`, `POST /runs/{run_id}/complete` | durable runs, each visible only to the API key that saved it (an extension of the hosted contract; see `runs.rs`) |
/// | `GET /healthz` | `{"status": "ok"}`, or 503 `{"status": "unavailable", "detail"}` when the store fails or does not answer within the health timeout (no key needed); with the embedded engine also `policy`: `{revision, loaded_at, last_reload_error: null or {message, at, kept_revision}, shadow?: {...}}` (a refused reload is reported, not a 503) |
/// | `GET /metrics` | Prometheus text (no key needed; counts only); the pending approvals as last read, with their age; `bighub_policy_info{revision}`, `bighub_policy_reloads_total{result="ok\|failed"}`, `bighub_policy_last_reload_failed`, the same as `bighub_shadow_policy_*` for a shadow set, and `bighub_shadow_decisions_total{agreement="agree\|disagree",rule}` |
/// | `POST /slack/actions` | Slack's button clicks, signed with the Slack signing secret (no key; 404 unless [`ServerConfig::slack`] is set; 401 for a bad or old signature): 200 with a message for the person who clicked |
///
/// With [`ServerConfig::console`] set, the approvals console's pages are served beside
/// these (see [`console`](crate::console)).
///
/// The router alone enforces no connection limits: [`Server`](crate::Server) serves it
/// with them.
pub fn router(backend: Arc<dyn Backend>, config: ServerConfig) -> Router {
    build(backend, config, Arc::default())
}

/// The router, counting into `metrics`.
pub(crate) fn build(
    backend: Arc<dyn Backend>,
    config: ServerConfig,
    counters: Arc<Metrics>,
) -> Router {
    let console = config.console.as_ref().map(Console::router);
    let state: Shared = Arc::new(AppState {
        backend,
        config,
        metrics: counters,
        health: Arc::default(),
        pending: Arc::default(),
    });
    let api = Router::new()
        .route("/actions/evaluate", post(evaluate))
        .route("/outcomes/report", post(report_outcome))
        .route("/actions/memory/ingest", post(ingest_memory))
        .route("/approvals/{request_id}/resolve", post(resolve_approval))
        .route("/approvals", get(list_approvals))
        .route("/approvals/{request_id}", get(get_approval))
        .route("/decisions", get(list_decisions))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/slack/actions", post(slack_actions))
        .route("/runs/claim", post(runs::claim_runs))
        .route("/runs/{run_id}", put(runs::save_run))
        .route("/runs/{run_id}/complete", post(runs::complete_run))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    let router = match console {
        Some(console) => api.merge(console),
        None => api,
    };
    router.layer(axum::middleware::from_fn(spans::request))
}

/// An error answer: a status and a `detail`.
pub(crate) struct ApiError {
    status: StatusCode,
    detail: Value,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, detail: impl Into<Value>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({ "detail": self.detail }))).into_response()
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, m),
            BackendError::Approval(refused) => refused.into(),
            BackendError::Invalid(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            BackendError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            BackendError::Unavailable(m) => {
                tracing::warn!(error = ?m, "decision store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "decision store unavailable",
                )
            }
            BackendError::Internal(m) => {
                tracing::error!(error = ?m, "engine error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        }
    }
}

/// The one answer of each approval refusal: 404 when there is no such approval, else 409
/// with a `detail` holding a message and, for a refused claim, the refusal's `reason` and
/// what it names ([`ApprovalRefusal::detail`]).
impl From<ApprovalRefused> for ApiError {
    fn from(refused: ApprovalRefused) -> Self {
        let ApprovalRefused {
            request_id,
            refusal,
            ..
        } = refused;
        let claim_message = match &refusal {
            ApprovalRefusal::NotFound => {
                let message = format!("no approval exists for request {request_id}");
                return Self::new(StatusCode::NOT_FOUND, message);
            }
            ApprovalRefusal::AlreadyResolved { resolution } => {
                return Self::new(
                    StatusCode::CONFLICT,
                    json!({"message": "approval already resolved", "resolution": resolution}),
                );
            }
            ApprovalRefusal::ToolChanged { approved, .. } => Some(format!(
                "the approval was granted for the tool {approved:?}"
            )),
            ApprovalRefusal::ArgumentsChanged => {
                Some("the approval was granted for other arguments".to_owned())
            }
            ApprovalRefusal::AlreadyUsed => Some("the approval already ran its call".to_owned()),
            ApprovalRefusal::NotApproved { status } => {
                Some(format!("the approval is {status}, not approved"))
            }
            ApprovalRefusal::Untracked => {
                Some("this server keeps no approvals it can bind".to_owned())
            }
            _ => None,
        };
        let message = match claim_message {
            // A claim refused: the message, then the refusal's `reason` and what it names.
            Some(message) => format!("claim refused: {message}"),
            // An answer refused by the approval's terms (expired, the requester approving
            // where a separate approver is required, an approver counted twice, a changed
            // call the policy does not let run).
            None => format!(
                "answer refused: {}",
                ApprovalRefused::new(request_id.as_str(), refusal.clone())
            ),
        };
        let mut detail = Map::new();
        detail.insert("message".into(), json!(message));
        detail.extend(refusal.detail());
        Self::new(StatusCode::CONFLICT, Value::Object(detail))
    }
}

/// `work`, or 503 when it takes longer than `limit`: for requests that only read, which
/// may be abandoned.
async fn within<T>(
    limit: Duration,
    what: &'static str,
    work: impl Future<Output = Result<T, BackendError>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(limit, work).await {
        Ok(answer) => Ok(answer?),
        Err(_) => {
            tracing::warn!(
                request = what,
                ?limit,
                "the decision store did not answer in time"
            );
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the decision store did not answer within {limit:?}"),
            ))
        }
    }
}

/// Runs `work` to its end even if the client leaves (the connection's task is then
/// dropped, this one is not): what it records is then also logged and counted.
pub(crate) async fn to_completion<T: Send + 'static>(
    work: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work).await.unwrap_or_else(|e| {
        tracing::error!(error = ?e, "a request's task failed");
        Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request's task failed",
        ))
    })
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// The caller named by the request's API key, or the 401.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let presented = headers.get(API_KEY_HEADER).map(HeaderValue::as_bytes);
    let Some(name) = state.config.auth.check(presented) else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Invalid API key"));
    };
    Ok(Caller {
        key_name: name.to_owned(),
        idempotency_key: None,
    })
}

/// Authenticates, reads the body within the limit and checks it against `endpoint`'s
/// rules.
pub(crate) async fn accept(
    state: &AppState,
    endpoint: BodyEndpoint,
    request: Request,
) -> Result<(Caller, HeaderMap, Map<String, Value>), ApiError> {
    let (parts, body) = request.into_parts();
    let caller = authenticate(state, &parts.headers)?;
    let bytes = read_body(state, &parts.headers, body, &caller.key_name).await?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let object = wire::check_body(endpoint, content_type.as_deref(), &bytes)
        .map_err(|detail| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail))?;
    Ok((caller, parts.headers, object))
}

/// Reads a body within the size limit (413) and the request timeout (408); `who` names
/// the caller in the log.
async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    who: &str,
) -> Result<Bytes, ApiError> {
    let limit = state.config.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let timeout = state.config.request_timeout;
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(read) => read.map_err(|_| too_large()),
        Err(_) => {
            tracing::warn!(caller = %who, ?timeout, "request body not received in time");
            Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("request body not received within {timeout:?}"),
            ))
        }
    }
}

pub(crate) fn respond(
    state: &AppState,
    endpoint: &'static str,
    answer: Result<Value, ApiError>,
) -> Response {
    let response = match answer {
        Ok(body) => (StatusCode::OK, axum::Json(body)).into_response(),
        Err(e) => e.into_response(),
    };
    let status = response.status().as_u16();
    // Refusals an operator looks for; server errors are logged where they arise.
    match status {
        401 => tracing::warn!(endpoint, status, "refused: missing or wrong API key"),
        409 => tracing::info!(
            endpoint,
            status,
            "refused: conflict with the approval's state"
        ),
        400..=499 => tracing::info!(endpoint, status, "refused"),
        _ => {}
    }
    state.metrics.request(endpoint, status);
    response
}

async fn evaluate(State(state): State<Shared>, request: Request) -> Response {
    let answer = evaluate_inner(&state, request).await;
    if let Ok(decision) = &answer {
        spans::record_decision(decision);
    }
    respond(&state, "evaluate", answer)
}

async fn evaluate_inner(state: &Shared, request: Request) -> Result<Value, ApiError> {
    let (mut caller, headers, body) = accept(state, BodyEndpoint::Evaluate, request).await?;
    if let Some(key) = headers.get(IDEMPOTENCY_KEY_HEADER) {
        let key = key
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_LEN)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!([{"loc": ["header", "Idempotency-Key"],
                            "msg": format!("expected 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"),
                            "type": "value_error"}]),
                )
            })?;
        caller.idempotency_key = Some(key.to_owned());
    }
    let (action, dry_run) = wire::evaluate_action(&body);
    spans::record_tool(&action.tool, dry_run);
    let started = Instant::now();
    if dry_run {
        let decision = within(
            state.config.request_timeout,
            "preview",
            state.backend.preview(action, &caller),
        )
        .await?;
        return Ok(decided(state, &caller, decision, true, started));
    }
    let state = Arc::clone(state);
    to_completion(async move {
        let decision = state.backend.evaluate(action, &caller).await?;
        Ok(decided(&state, &caller, decision, false, started))
    })
    .await
}

/// Counts and logs a decision made.
fn decided(
    state: &AppState,
    caller: &Caller,
    decision: Value,
    dry_run: bool,
    started: Instant,
) -> Value {
    let mode = decision["mode"].as_str().unwrap_or("other");
    state.metrics.decision(mode, started.elapsed());
    if !dry_run && let Some(shadow) = decision["decision_brain"].get("shadow") {
        state.metrics.shadow_decision(shadow);
    }
    // The request id and mode come from the engine (or, behind `EngineBackend`, from
    // another server): logged in their escaped form.
    tracing::info!(
        caller = %caller.key_name,
        request_id = ?decision["request_id"].as_str().unwrap_or_default(),
        mode = ?mode,
        dry_run,
        "decided"
    );
    decision
}

async fn report_outcome(State(state): State<Shared>, request: Request) -> Response {
    let answer = async {
        let (caller, _, body) = accept(&state, BodyEndpoint::ReportOutcome, request).await?;
        let report = wire::outcome_report(&body);
        let request_id = report.request_id.clone();
        let backend = Arc::clone(&state.backend);
        to_completion(async move { Ok(backend.report_outcome(report, &caller).await?) }).await?;
        Ok(json!({"recorded": true, "request_id": request_id, "status": body["status"]}))
    }
    .await;
    respond(&state, "report_outcome", answer)
}

async fn ingest_memory(State(state): State<Shared>, request: Request) -> Response {
    let answer = async {
        let (caller, _, body) = accept(&state, BodyEndpoint::IngestMemory, request).await?;
        let batch = wire::memory_batch(&body);
        let source = batch.source.clone();
        let backend = Arc::clone(&state.backend);
        let accepted =
            to_completion(async move { Ok(backend.ingest_memory(batch, &caller).await?) }).await?;
        Ok(json!({"accepted": accepted, "rejected": 0, "source": source}))
    }
    .await;
    respond(&state, "ingest_memory", answer)
}

async fn resolve_approval(
    State(state): State<Shared>,
    Path(request_id): Path<String>,
    request: Request,
) -> Response {
    let answer = async {
        let (caller, _, body) = accept(&state, BodyEndpoint::ResolveApproval, request).await?;
        let claim = wire::claim(&body)
            .map_err(|detail| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail))?;
        let mut record = match claim {
            Some(claim) => {
                let tool = claim.tool.clone();
                let claimed = state
                    .backend
                    .claim_approval(request_id.clone(), claim, &caller)
                    .await;
                match &claimed {
                    Ok(_) => tracing::info!(caller = ?caller.key_name, request_id = ?request_id, tool = ?tool, "approval claimed"),
                    Err(e) => tracing::info!(caller = ?caller.key_name, request_id = ?request_id, tool = ?tool, refusal = ?e.to_string(), "approval claim refused"),
                }
                let mut record = claimed?;
                record["claimed"] = json!(true);
                record
            }
            None => {
                let resolution = wire::resolution(&body, &caller.key_name);
                let answer = resolution.resolution;
                let record = state
                    .backend
                    .resolve_approval(request_id.clone(), resolution, &caller)
                    .await?;
                tracing::info!(caller = ?caller.key_name, request_id = ?request_id, resolution = answer.as_str(), "approval resolved");
                record
            }
        };
        if let Some(obj) = record.as_object_mut() {
            // The hosted answer names the resolution beside the status.
            let status = obj.get("status").cloned().unwrap_or(Value::Null);
            obj.entry("resolution").or_insert(status);
        }
        Ok(record)
    }
    .await;
    respond(&state, "resolve_approval", answer)
}

async fn get_approval(
    State(state): State<Shared>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let caller = authenticate(&state, &headers)?;
        within(
            state.config.request_timeout,
            "get_approval",
            state.backend.approval(request_id, &caller),
        )
        .await
    }
    .await;
    respond(&state, "get_approval", answer)
}

async fn list_approvals(State(state): State<Shared>, headers: HeaderMap, uri: Uri) -> Response {
    let answer = async {
        let caller = authenticate(&state, &headers)?;
        let mut filter = ApprovalFilter::Pending;
        let mut limit = state.config.max_approvals_listed;
        for (name, value) in query_pairs(uri.query().unwrap_or("")) {
            match name.as_str() {
                "status" => {
                    filter = match value.as_str() {
                        "pending" => ApprovalFilter::Pending,
                        "all" => ApprovalFilter::All,
                        _ => {
                            return Err(ApiError::new(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                wire::query_error(
                                    "status",
                                    "value is not a valid enumeration member; permitted: 'pending', 'all'",
                                    "type_error.enum",
                                ),
                            ));
                        }
                    }
                }
                "limit" => limit = limit_param(&state.config, &value)?,
                _ => {}
            }
        }
        let rows = within(
            state.config.request_timeout,
            "list_approvals",
            state.backend.approvals(filter, limit),
        )
        .await?;
        tracing::debug!(caller = ?caller.key_name, n = rows.len(), "listed approvals");
        Ok(Value::Array(rows))
    }
    .await;
    respond(&state, "list_approvals", answer)
}

/// A listing's `limit` query parameter, capped at the most a listing answers.
fn limit_param(config: &ServerConfig, value: &str) -> Result<usize, ApiError> {
    let n = value.parse::<usize>().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            wire::query_error(
                "limit",
                "value is not a valid integer",
                "type_error.integer",
            ),
        )
    })?;
    Ok(n.min(config.max_approvals_listed))
}

async fn list_decisions(State(state): State<Shared>, headers: HeaderMap, uri: Uri) -> Response {
    let answer = async {
        let caller = authenticate(&state, &headers)?;
        let mut limit = 20;
        for (name, value) in query_pairs(uri.query().unwrap_or("")) {
            if name == "limit" {
                limit = limit_param(&state.config, &value)?;
            }
        }
        let rows = within(
            state.config.request_timeout,
            "list_decisions",
            state.backend.decisions(limit),
        )
        .await?;
        tracing::debug!(caller = ?caller.key_name, n = rows.len(), "listed decisions");
        Ok(Value::Array(rows))
    }
    .await;
    respond(&state, "list_decisions", answer)
}

async fn slack_actions(State(state): State<Shared>, request: Request) -> Response {
    let Some(slack) = state.config.slack.clone() else {
        return not_found().await.into_response();
    };
    let answer = async {
        let (parts, body) = request.into_parts();
        let bytes = read_body(&state, &parts.headers, body, "slack").await?;
        let backend = Arc::clone(&state.backend);
        // An answer is recorded even if Slack stops waiting.
        to_completion(async move {
            Ok(notify::answer_slack(backend, slack, parts.headers, bytes).await)
        })
        .await
    }
    .await;
    let response = match answer {
        Ok(notify::SlackAnswer { status, body }) => match body {
            Some(body) => (status, axum::Json(body)).into_response(),
            None => status.into_response(),
        },
        Err(e) => e.into_response(),
    };
    state
        .metrics
        .request("slack_actions", response.status().as_u16());
    response
}

async fn healthz(State(state): State<Shared>) -> Response {
    let asked = Instant::now();
    let timeout = state.config.health_timeout;
    let backend = Arc::clone(&state.backend);
    let seen = state
        .health
        .observe(PROBE_FRESH, timeout, move || async move {
            Some(backend.health().await.map_err(|e| e.to_string()))
        })
        .await
        .filter(|o| asked.saturating_duration_since(o.at) < PROBE_FRESH);
    let failure = match seen {
        Some(o) => match o.value {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(error = ?e, "health check failed");
                Some("decision store unavailable".to_owned())
            }
        },
        None => {
            tracing::warn!(
                ?timeout,
                "health check: the decision store did not answer in time"
            );
            Some(format!(
                "the decision store did not answer within {timeout:?}"
            ))
        }
    };
    // A refused policy reload leaves the server deciding on the revision in force: it is
    // reported here, and is no reason to take the server out of service.
    let policy = state
        .backend
        .policy_status()
        .map(|s| crate::policy_metrics::health_json(&s));
    let mut body = match &failure {
        None => json!({"status": "ok"}),
        Some(detail) => json!({"status": "unavailable", "detail": detail}),
    };
    if let Some(policy) = policy {
        body["policy"] = policy;
    }
    let status = if failure.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let response = (status, axum::Json(body)).into_response();
    state.metrics.request("healthz", response.status().as_u16());
    response
}

async fn metrics(State(state): State<Shared>) -> Response {
    let backend = Arc::clone(&state.backend);
    let pending = state
        .pending
        .observe(PROBE_FRESH, PENDING_WAIT, move || async move {
            match backend.pending_approvals().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = ?e, "cannot count pending approvals");
                    None
                }
            }
        })
        .await;
    let mut text = state
        .metrics
        .render(pending.map(|o| (o.value, o.at.elapsed())));
    if let Some(status) = state.backend.policy_status() {
        crate::policy_metrics::render_status(&status, &mut text);
    }
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `a=1&b=x%20y` as decoded pairs (`+` is a space); also a form body's fields.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            query_pairs("status=all&limit=5&x=a%20b+c&bad=%zz&end=%4"),
            [
                ("status".to_owned(), "all".to_owned()),
                ("limit".to_owned(), "5".to_owned()),
                ("x".to_owned(), "a b c".to_owned()),
                ("bad".to_owned(), "%zz".to_owned()),
                ("end".to_owned(), "%4".to_owned()),
            ]
        );
    }
}
