//! The HTTP surface: routes, the order of the checks, and the answers' shapes.
//!
//! This module owns the router. Each request is checked in the hosted service's order:
//! unknown path → 404 `{"detail": "Not Found"}`; other method → 405 `{"detail": "Method
//! Not Allowed"}`; missing or wrong `X-API-Key` → 401 `{"detail": "Invalid API key"}`
//! (the same answer for both, saying nothing more); a body over the size limit → 413;
//! then the body's rules (`wire.rs`) → 422 with a `detail` list. A request that takes
//! longer than the request timeout is answered 503 (clients retry; an evaluation's retry
//! with the same `Idempotency-Key` gets the decision the first attempt recorded).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use tower_http::timeout::TimeoutLayer;

use crate::auth::Auth;
use crate::backend::{ApprovalFilter, Backend, BackendError, Caller, ClaimRefusal};
use crate::metrics::Metrics;
use crate::wire::{self, BodyEndpoint};

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// The header carrying a request's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// How a server answers: who may call it, and its limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The accepted API keys (or none, on loopback only).
    pub auth: Auth,
    /// The largest request body accepted (default 1 MiB); larger ones get 413.
    pub max_body_bytes: usize,
    /// How long one request may take (default 30 s); slower ones get 503.
    pub request_timeout: Duration,
    /// The most approvals `GET /approvals` lists (default 1000); `limit` asks for fewer.
    pub max_approvals_listed: usize,
}

impl ServerConfig {
    /// The defaults, with `auth`.
    pub fn new(auth: Auth) -> Self {
        Self {
            auth,
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            max_approvals_listed: 1000,
        }
    }
}

struct AppState {
    backend: Arc<dyn Backend>,
    config: ServerConfig,
    metrics: Metrics,
}

type Shared = Arc<AppState>;

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
/// | `GET /decisions?limit=N` | a JSON array of the most recent decisions, newest first, with their outcomes (an extension of the hosted contract, for `bighub decisions --server`) |
/// | `GET /healthz` | `{"status": "ok"}`, or 503 when the store does not answer (no key needed) |
/// | `GET /metrics` | Prometheus text (no key needed; counts only) |
pub fn router(backend: Arc<dyn Backend>, config: ServerConfig) -> Router {
    let timeout = config.request_timeout;
    let state: Shared = Arc::new(AppState {
        backend,
        config,
        metrics: Metrics::default(),
    });
    Router::new()
        .route("/actions/evaluate", post(evaluate))
        .route("/outcomes/report", post(report_outcome))
        .route("/actions/memory/ingest", post(ingest_memory))
        .route("/approvals/{request_id}/resolve", post(resolve_approval))
        .route("/approvals", get(list_approvals))
        .route("/decisions", get(list_decisions))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .with_state(state)
}

/// An error answer: a status and a `detail`.
struct ApiError {
    status: StatusCode,
    detail: Value,
}

impl ApiError {
    fn new(status: StatusCode, detail: impl Into<Value>) -> Self {
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
            BackendError::AlreadyResolved { resolution } => Self::new(
                StatusCode::CONFLICT,
                json!({"message": "approval already resolved", "resolution": resolution}),
            ),
            BackendError::ClaimRefused(refusal) => {
                let mut detail = json!({
                    "message": format!("claim refused: {refusal}"),
                    "reason": refusal.reason(),
                });
                match &refusal {
                    ClaimRefusal::ToolChanged { approved_tool } => {
                        detail["approved_tool"] = json!(approved_tool);
                    }
                    ClaimRefusal::NotApproved { status } => {
                        detail["status"] = json!(status);
                        detail["resolution"] = json!(status);
                    }
                    _ => {}
                }
                Self::new(StatusCode::CONFLICT, detail)
            }
            BackendError::Invalid(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            BackendError::Unavailable(m) => {
                tracing::warn!(error = %m, "decision store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "decision store unavailable",
                )
            }
            BackendError::Internal(m) => {
                tracing::error!(error = %m, "engine error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        }
    }
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
async fn accept(
    state: &AppState,
    endpoint: BodyEndpoint,
    request: Request,
) -> Result<(Caller, HeaderMap, Map<String, Value>), ApiError> {
    let (parts, body) = request.into_parts();
    let caller = authenticate(state, &parts.headers)?;
    let limit = state.config.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {limit} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let object = wire::check_body(endpoint, content_type.as_deref(), &bytes)
        .map_err(|detail| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail))?;
    Ok((caller, parts.headers, object))
}

fn respond(state: &AppState, endpoint: &'static str, answer: Result<Value, ApiError>) -> Response {
    let response = match answer {
        Ok(body) => (StatusCode::OK, axum::Json(body)).into_response(),
        Err(e) => e.into_response(),
    };
    state.metrics.request(endpoint, response.status().as_u16());
    response
}

async fn evaluate(State(state): State<Shared>, request: Request) -> Response {
    let answer = evaluate_inner(&state, request).await;
    respond(&state, "evaluate", answer)
}

async fn evaluate_inner(state: &AppState, request: Request) -> Result<Value, ApiError> {
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
    let started = Instant::now();
    let decision = if dry_run {
        state.backend.preview(action, &caller).await?
    } else {
        state.backend.evaluate(action, &caller).await?
    };
    let mode = decision["mode"].as_str().unwrap_or("other");
    state.metrics.decision(mode, started.elapsed());
    tracing::info!(
        caller = %caller.key_name,
        request_id = decision["request_id"].as_str().unwrap_or_default(),
        mode,
        dry_run,
        "decided"
    );
    Ok(decision)
}

async fn report_outcome(State(state): State<Shared>, request: Request) -> Response {
    let answer = async {
        let (caller, _, body) = accept(&state, BodyEndpoint::ReportOutcome, request).await?;
        let report = wire::outcome_report(&body);
        let request_id = report.request_id.clone();
        state.backend.report_outcome(report, &caller).await?;
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
        let accepted = state.backend.ingest_memory(batch, &caller).await?;
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
                "limit" => {
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
                    limit = n.min(state.config.max_approvals_listed);
                }
                _ => {}
            }
        }
        let rows = state.backend.approvals(filter, limit).await?;
        tracing::debug!(caller = %caller.key_name, n = rows.len(), "listed approvals");
        Ok(Value::Array(rows))
    }
    .await;
    respond(&state, "list_approvals", answer)
}

async fn list_decisions(State(state): State<Shared>, headers: HeaderMap, uri: Uri) -> Response {
    let answer = async {
        let caller = authenticate(&state, &headers)?;
        let mut limit = 20;
        for (name, value) in query_pairs(uri.query().unwrap_or("")) {
            if name == "limit" {
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
                limit = n.min(state.config.max_approvals_listed);
            }
        }
        let rows = state.backend.decisions(limit).await?;
        tracing::debug!(caller = ?caller.key_name, n = rows.len(), "listed decisions");
        Ok(Value::Array(rows))
    }
    .await;
    respond(&state, "list_decisions", answer)
}

async fn healthz(State(state): State<Shared>) -> Response {
    match state.backend.health().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<Shared>) -> Response {
    let pending = state.backend.pending_approvals().await.ok().flatten();
    let text = state.metrics.render(pending);
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `a=1&b=x%20y` as decoded pairs (`+` is a space).
fn query_pairs(query: &str) -> Vec<(String, String)> {
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
