//! The BIGHUB client itself: one retried HTTP request per engine call.
//!
//! This file owns [`RemoteBighub`], its [`DecisionEngine`] implementation and the request
//! loop (headers, idempotency, timeouts, retries, tracing). Body shapes live in `wire.rs`,
//! answer reading in `response.rs`, settings in `builder.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{ACCEPT, HeaderValue, RETRY_AFTER};
use serde_json::Value;
use tokio::sync::Semaphore;
use tracing::Instrument;
use url::Url;

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::wire::{self, DecisionMode};
use bighub_core::{
    ApprovalClaim, ApprovalResolution, Decision, DecisionEngine, Error, MemoryBatch, OutcomeReport,
    ProposedAction,
};

use crate::builder::{Redacted, RemoteBighubBuilder};
use crate::response::{Answer, Op, read_answer};
use crate::retry::{RetryPolicy, parse_retry_after};

const API_KEY_HEADER: &str = "x-api-key";
const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The hosted BIGHUB decision service, over HTTPS.
///
/// Every call is one logical request to the service, retried on transient failures
/// (connection errors, timeouts, HTTP 408, 409, 425, 429, 5xx) with capped exponential
/// backoff and jitter, honouring `Retry-After`. Each evaluation carries one
/// `Idempotency-Key`, the same on all its retries, so the service decides it once.
///
/// | call | endpoint |
/// |---|---|
/// | [`evaluate`](DecisionEngine::evaluate) | `POST /actions/evaluate` (body: see [`DecisionMode`]) |
/// | [`preview`](DecisionEngine::preview) | `POST /actions/evaluate` with `dry_run: true` |
/// | [`report_outcome`](DecisionEngine::report_outcome) | `POST /outcomes/report` |
/// | [`ingest_memory`](DecisionEngine::ingest_memory) | `POST /actions/memory/ingest` |
/// | [`resolve_approval`](DecisionEngine::resolve_approval) | `POST /approvals/{request_id}/resolve` |
/// | [`claim_approval`](DecisionEngine::claim_approval) | `POST /approvals/{request_id}/resolve` with `claim: true`, `tool`, `arguments_sha256` |
///
/// The evaluate body carries `action`, `actor` (default `AI_AGENT`), `value`, `target`,
/// `domain` and a `context` object holding: the action's free metadata; `objective`
/// (default `better_decision`) and `model_selection` (default `auto`); `system`, `risk`,
/// `environment`, `session_id`, `trajectory_id` when known; `tool`, the registered tool
/// name; and `arguments`, the model's arguments whole (the service keeps `context` as free
/// data). Typed fields win over same-named metadata keys.
///
/// Errors are typed: [`Error::Auth`] (401/403), [`Error::Validation`] (422, with the
/// service's `detail`), [`Error::RateLimited`] (429 after retries), [`Error::Timeout`],
/// [`Error::Network`], [`Error::Status`] (any other status, body cut to 500 characters),
/// [`Error::InvalidResponse`] (a 2xx answer that is not a JSON object). Resolving an
/// approval maps 404 and 409 to [`Error::Approval`] (not found, already resolved), neither
/// retried.
///
/// Claiming an approval is an extension of the resolve contract that a decision server
/// which keeps approvals (`bighub serve`) understands: it checks the tool and the
/// arguments' digest against the approval it stored, marks it used once, and answers the
/// approval, or refuses with 409 and a `reason` (`tool_changed`, `arguments_changed`,
/// `already_used`, `not_approved`). The client runs nothing on a server's word alone: a
/// success must name the same tool and digest, used. A service that answers a claim
/// without them (the hosted service reads it as a second resolution) keeps no approval
/// the agent can bind, so the claim is [`ApprovalClaim::NotTracked`]. Redirects are not followed (they
/// would carry the API key elsewhere): a 3xx answer is an [`Error::Status`].
///
/// At most [`max_concurrent_requests`](RemoteBighubBuilder::max_concurrent_requests)
/// requests (default 64) are in flight at once across the client and its clones; the rest
/// wait for a slot.
///
/// The client is cheap to clone (an [`Arc`] inside) and is meant to be shared. Its `Debug`
/// output and its `tracing` spans (`bighub.request`, with `method`, `path`, `attempt`)
/// never contain the API key.
///
/// ```no_run
/// use bighub_core::{DecisionEngine, ProposedAction, RiskLevel, Verdict};
/// use bighub_remote::RemoteBighub;
/// use serde_json::json;
///
/// # async fn run() -> Result<(), bighub_core::Error> {
/// let bighub = RemoteBighub::from_env()?; // BIGHUB_API_KEY, optional BIGHUB_BASE_URL
/// let action = ProposedAction::new("grant_access")
///     .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
///     .actor("ops-agent")
///     .domain("it_actions")
///     .system("okta")
///     .risk(RiskLevel::High)
///     .environment("production")
///     .target("okta-admins");
/// let decision = bighub.evaluate(&action).await?;
/// if decision.verdict() == Verdict::Execute {
///     // run the tool
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RemoteBighub {
    pub(crate) inner: Arc<Inner>,
}

/// The shared state behind every clone of a [`RemoteBighub`].
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: Url,
    pub(crate) base_url_text: String,
    pub(crate) api_key: HeaderValue,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    /// One permit per request in flight; see `max_concurrent_requests`.
    pub(crate) slots: Semaphore,
    pub(crate) max_concurrent_requests: usize,
    pub(crate) decision_mode: DecisionMode,
}

impl fmt::Debug for RemoteBighub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("RemoteBighub")
            .field("base_url", &inner.base_url_text)
            .field("api_key", &Redacted)
            .field("decision_mode", &inner.decision_mode)
            .field("timeout", &inner.timeout)
            .field("max_retries", &inner.retry.max_retries)
            .field("max_concurrent_requests", &inner.max_concurrent_requests)
            .finish()
    }
}

impl RemoteBighub {
    /// Starts configuring a client; see [`RemoteBighubBuilder`].
    pub fn builder() -> RemoteBighubBuilder {
        RemoteBighubBuilder::default()
    }

    /// A client configured from `BIGHUB_API_KEY` (required) and `BIGHUB_BASE_URL`
    /// (optional), with every other setting at its default.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the key is unset or empty, or the URL is refused.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().from_env()?.build()
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url_text
    }

    /// The body shape used for actions that do not choose one.
    pub fn decision_mode(&self) -> DecisionMode {
        self.inner.decision_mode
    }

    /// How long one attempt may take.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// How many times a transient failure is retried.
    pub fn max_retries(&self) -> u32 {
        self.inner.retry.max_retries
    }

    /// How many HTTP requests this client and its clones have in flight at most.
    pub fn max_concurrent_requests(&self) -> usize {
        self.inner.max_concurrent_requests
    }

    /// The URL of `segments` under the base URL; each segment is percent-encoded.
    pub(crate) fn url<'s>(&self, segments: impl IntoIterator<Item = &'s str>) -> Url {
        let mut url = self.inner.base_url.clone();
        // The base URL was checked to be a base at build time, so this cannot fail.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends `body` to `url`, retrying transient failures, and reads the answer.
    pub(crate) async fn post(
        &self,
        op: Op<'_>,
        url: Url,
        body: &Value,
        idempotency_key: Option<HeaderValue>,
    ) -> Result<Value, Error> {
        self.send(op, url, Some(body), idempotency_key).await
    }

    /// Sends a `GET` for `url` (a `POST` of `body` when there is one), retrying transient
    /// failures, and reads the answer.
    async fn send(
        &self,
        op: Op<'_>,
        url: Url,
        body: Option<&Value>,
        idempotency_key: Option<HeaderValue>,
    ) -> Result<Value, Error> {
        let method = match (body, op) {
            (Some(_), Op::SaveRun) => "PUT",
            (Some(_), _) => "POST",
            (None, _) => "GET",
        };
        let policy = self.inner.retry;
        let mut attempt: u32 = 0;
        loop {
            let span = tracing::debug_span!(
                "bighub.request",
                method,
                path = %url.path(),
                attempt = attempt + 1,
            );
            let answer = self
                .attempt(op, &url, body, idempotency_key.as_ref())
                .instrument(span)
                .await;
            let (error, retry_after) = match answer {
                Answer::Done(result) => return result,
                Answer::Retry { error, retry_after } => (error, retry_after),
            };
            if attempt >= policy.max_retries {
                tracing::debug!(path = %url.path(), attempts = attempt + 1, %error, "BIGHUB request failed; no retry left");
                return Err(error);
            }
            let backoff = policy.backoff(attempt);
            let wait = match retry_after {
                Some(asked) if asked > policy.max_retry_after => {
                    tracing::debug!(path = %url.path(), ?asked, "BIGHUB asked to wait longer than allowed; giving up");
                    return Err(error);
                }
                Some(asked) => asked.max(backoff),
                None => backoff,
            };
            tracing::debug!(path = %url.path(), attempt = attempt + 1, ?wait, %error, "retrying BIGHUB request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt: wait for a slot, send, then read the answer; the slot is given back
    /// when the attempt ends, so a retry's backoff holds none.
    async fn attempt(
        &self,
        op: Op<'_>,
        url: &Url,
        body: Option<&Value>,
        idempotency_key: Option<&HeaderValue>,
    ) -> Answer {
        let inner = &self.inner;
        let Ok(_slot) = inner.slots.acquire().await else {
            // The semaphore is never closed; this only keeps the code panic-free.
            return Answer::Done(Err(Error::Engine(
                "the BIGHUB client's request slots are closed".to_owned(),
            )));
        };
        let mut request = match (body, op) {
            (Some(body), Op::SaveRun) => inner.http.put(url.clone()).json(body),
            (Some(body), _) => inner.http.post(url.clone()).json(body),
            (None, _) => inner.http.get(url.clone()),
        }
        .header(API_KEY_HEADER, inner.api_key.clone())
        .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key.clone());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return self.transport_failure(&e),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => return self.transport_failure(&e),
        };
        tracing::debug!(status, "BIGHUB answered");
        read_answer(op, status, retry_after, &text)
    }

    /// A request that got no (complete) answer: a timeout or a network error, both transient.
    fn transport_failure(&self, e: &reqwest::Error) -> Answer {
        let error = if e.is_timeout() {
            Error::Timeout(self.inner.timeout)
        } else {
            Error::Network(bighub_core::escape::error_chain(e))
        };
        Answer::Retry {
            error,
            retry_after: None,
        }
    }
}

impl RemoteBighub {
    /// The approvals a decision server keeps (`GET /approvals?status=...&limit=N`): the
    /// pending ones, oldest first, or with `all` every one, newest first; at most `limit`
    /// (the server caps it too). Each is the server's record, as JSON: `request_id`,
    /// `tool`, `arguments` (redacted), `reason`, `status`, `resolver`, `used`, ...
    ///
    /// The hosted service's contract lists approvals too; `bighub serve` answers it.
    ///
    /// # Errors
    ///
    /// As for every request ([`Error::Auth`], [`Error::Status`], ...); an answer that is
    /// not a JSON array is [`Error::InvalidResponse`].
    pub async fn approvals(&self, all: bool, limit: usize) -> Result<Vec<Value>, Error> {
        let mut url = self.url(["approvals"]);
        url.query_pairs_mut()
            .append_pair("status", if all { "all" } else { "pending" })
            .append_pair("limit", &limit.to_string());
        self.list(url).await
    }

    /// The most recent decisions of a decision server, newest first, with their outcomes
    /// (`GET /decisions?limit=N`, an extension of the hosted contract that `bighub serve`
    /// answers).
    ///
    /// # Errors
    ///
    /// As for [`approvals`](Self::approvals).
    pub async fn decisions(&self, limit: usize) -> Result<Vec<Value>, Error> {
        let mut url = self.url(["decisions"]);
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string());
        self.list(url).await
    }

    async fn list(&self, url: Url) -> Result<Vec<Value>, Error> {
        match self.send(Op::List, url, None, None).await? {
            Value::Array(rows) => Ok(rows),
            _ => Err(Error::InvalidResponse("expected a JSON array".to_owned())),
        }
    }

    /// `POST /actions/evaluate`, with `dry_run: true` for a preview, and one
    /// `Idempotency-Key` for all attempts.
    async fn decide(&self, action: &ProposedAction, dry_run: bool) -> Result<Decision, Error> {
        let mode = action.decision_mode.unwrap_or(self.inner.decision_mode);
        let mut body = wire::evaluate_body(action, mode)?;
        if dry_run && let Some(object) = body.as_object_mut() {
            object.insert("dry_run".into(), Value::Bool(true));
        }
        let key = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .map_err(|e| Error::Engine(format!("cannot build the idempotency key: {e}")))?;
        let url = self.url(["actions", "evaluate"]);
        let answer = self.post(Op::Evaluate, url, &body, Some(key)).await?;
        Ok(Decision::from_backend_value(answer))
    }
}

#[async_trait]
impl DecisionEngine for RemoteBighub {
    /// `POST /actions/evaluate` with one `Idempotency-Key` for all attempts.
    async fn evaluate(&self, action: &ProposedAction) -> Result<Decision, Error> {
        self.decide(action, false).await
    }

    /// `POST /actions/evaluate` with `dry_run: true`: a decision server that supports it
    /// (`bighub serve`) decides without recording the decision or opening an approval. The
    /// hosted service's contract has no preview: it ignores the field and records the
    /// evaluation like any other (a review opens a pending approval there).
    async fn preview(&self, action: &ProposedAction) -> Result<Decision, Error> {
        self.decide(action, true).await
    }

    /// `POST /outcomes/report`.
    async fn report_outcome(&self, report: &OutcomeReport) -> Result<(), Error> {
        let url = self.url(["outcomes", "report"]);
        self.post(Op::ReportOutcome, url, &wire::outcome_body(report), None)
            .await
            .map(drop)
    }

    /// `POST /actions/memory/ingest`.
    async fn ingest_memory(&self, batch: &MemoryBatch) -> Result<(), Error> {
        let url = self.url(["actions", "memory", "ingest"]);
        self.post(Op::IngestMemory, url, &wire::ingest_body(batch), None)
            .await
            .map(drop)
    }

    /// `POST /approvals/{request_id}/resolve`, the id percent-encoded as one path segment.
    ///
    /// An empty id, `.` or `..` cannot name an approval in a URL path and fails with
    /// [`Error::Approval`] (not found) without a request.
    async fn resolve_approval(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
    ) -> Result<Value, Error> {
        if matches!(request_id.trim(), "" | "." | "..") {
            return Err(refused(request_id, ApprovalRefusal::NotFound));
        }
        let url = self.url(["approvals", request_id, "resolve"]);
        self.post(
            Op::ResolveApproval { request_id },
            url,
            &wire::resolve_body(resolution),
            None,
        )
        .await
    }

    /// `GET /approvals/{request_id}` (an extension `bighub serve` answers): the approval as
    /// it stands, to learn the call an approver approved; `None` from a service that
    /// shows none.
    async fn approval(&self, request_id: &str) -> Result<Option<Value>, Error> {
        if matches!(request_id.trim(), "" | "." | "..") {
            return Ok(None);
        }
        let url = self.url(["approvals", request_id]);
        match self.send(Op::GetApproval, url, None, None).await? {
            Value::Null => Ok(None),
            record => Ok(Some(record)),
        }
    }

    /// `POST /approvals/{request_id}/resolve` with the claim's extra fields; see the
    /// [type's documentation](RemoteBighub) for what the answer must say.
    async fn claim_approval(
        &self,
        request_id: &str,
        action: &ProposedAction,
    ) -> Result<ApprovalClaim, Error> {
        if matches!(request_id.trim(), "" | "." | "..") {
            return Err(refused(request_id, ApprovalRefusal::NotFound));
        }
        let url = self.url(["approvals", request_id, "resolve"]);
        let op = Op::ClaimApproval {
            request_id,
            tool: &action.tool,
        };
        match self.post(op, url, &wire::claim_body(action), None).await {
            Ok(answer) => read_claim(request_id, action, &answer),
            // A service that does not know claims (the approval was resolved, and it
            // cannot say for which call), or one that keeps no approvals it can bind.
            Err(Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::AlreadyResolved { .. } | ApprovalRefusal::Untracked,
                ..
            })) => Ok(ApprovalClaim::NotTracked),
            Err(error) => Err(error),
        }
    }
}

/// What a successful claim answer means: claimed when it names this tool and digest and
/// says the approval is now used; not tracked when it names neither; refused otherwise.
fn read_claim(
    request_id: &str,
    action: &ProposedAction,
    answer: &Value,
) -> Result<ApprovalClaim, Error> {
    let tool = answer.get("tool").and_then(Value::as_str);
    let digest = answer.get("arguments_sha256").and_then(Value::as_str);
    let (Some(tool), Some(digest)) = (tool, digest) else {
        return Ok(ApprovalClaim::NotTracked);
    };
    if tool != action.tool {
        return Err(refused(
            request_id,
            ApprovalRefusal::ToolChanged {
                approved: tool.to_owned(),
                requested: action.tool.clone(),
            },
        ));
    }
    if digest != action.approval_digest() {
        return Err(refused(request_id, ApprovalRefusal::ArgumentsChanged));
    }
    // A claimed approval reads `used` (or, from a server that keeps the resolution as its
    // status, `approved` with `used: true`).
    if !matches!(
        answer.get("status").and_then(Value::as_str),
        Some("used" | "approved")
    ) {
        let status = answer.get("status").and_then(Value::as_str);
        let status = status.unwrap_or("unknown").to_owned();
        return Err(refused(request_id, ApprovalRefusal::NotApproved { status }));
    }
    if answer.get("used").and_then(Value::as_bool) != Some(true) {
        return Err(Error::InvalidResponse(format!(
            "the claim of approval {request_id:?} was answered without marking it used"
        )));
    }
    Ok(ApprovalClaim::Claimed)
}

/// The approval `request_id` refused with `refusal`.
fn refused(request_id: &str, refusal: ApprovalRefusal) -> Error {
    Error::Approval(ApprovalRefused::new(request_id, refusal))
}
