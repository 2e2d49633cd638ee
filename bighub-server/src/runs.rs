//! Durable runs over HTTP: agents keep paused runs on the server beside their approvals,
//! and claim them once answered (an extension of the hosted contract).
//!
//! This module owns the three endpoints and their answers; the rules (a run is visible
//! only to the API key name that saved it, answered once none of its approvals is pending,
//! claimed by exactly one caller under a lease, completed only under that lease) are the
//! store's (`bighub_local::durable`). Bodies are checked by `wire.rs`'s rules first.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `PUT /runs/{run_id}` | `state` (JSON text), `request_ids` | `{"run_id", "status": "paused"}`; 409 when another key saved that id or a live lease holds it |
//! | `POST /runs/claim` | `lease_seconds` (default 300, at most 86400), `limit` (default 10, at most 100) | `{"runs": [{"run_id", "state", "approvals": [{"request_id", "status", "comment"}], "lease_id", "attempt"}]}` |
//! | `POST /runs/{run_id}/complete` | `lease_id`, `status` (`finished`, `failed` with `message`, `paused` with `state` and `request_ids`) | `{"run_id", "status"}`; 409 when the lease no longer holds the run |

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use bighub_core::durable::{DEFAULT_LEASE, PausedRun, RunCompletion};
use serde_json::{Map, Value, json};

use crate::routes::{ApiError, Shared, accept, respond, to_completion};
use crate::wire::BodyEndpoint;

/// The longest lease a claim may ask for.
const MAX_LEASE_SECONDS: f64 = 86_400.0;
/// How many runs a claim hands out unless it asks for fewer, and at most.
const DEFAULT_CLAIM: usize = 10;
const MAX_CLAIM: usize = 100;

/// A 422 naming `field`, in the hosted service's `detail` shape.
fn invalid(field: &str, msg: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!([{"loc": ["body", field], "msg": msg, "type": "value_error"}]),
    )
}

fn text(body: &Map<String, Value>, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn texts(body: &Map<String, Value>, field: &str) -> Option<Vec<String>> {
    body.get(field).and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect()
    })
}

/// `PUT /runs/{run_id}`.
pub(crate) async fn save_run(
    State(state): State<Shared>,
    Path(run_id): Path<String>,
    request: Request,
) -> Response {
    let answer = async {
        let (caller, _, body) = accept(&state, BodyEndpoint::SaveRun, request).await?;
        let run = PausedRun {
            run_id: run_id.clone(),
            state: text(&body, "state").unwrap_or_default(),
            request_ids: texts(&body, "request_ids").unwrap_or_default(),
        };
        let backend = Arc::clone(&state.backend);
        let name = caller.key_name.clone();
        to_completion(async move { Ok(backend.save_run(run, &caller).await?) }).await?;
        tracing::info!(caller = ?name, run_id = ?run_id, "durable run saved");
        Ok(json!({"run_id": run_id, "status": "paused"}))
    }
    .await;
    respond(&state, "save_run", answer)
}

/// `POST /runs/claim`.
pub(crate) async fn claim_runs(State(state): State<Shared>, request: Request) -> Response {
    let answer = async {
        let (caller, _, body) = accept(&state, BodyEndpoint::ClaimRuns, request).await?;
        let lease = match body.get("lease_seconds").and_then(Value::as_f64) {
            None => DEFAULT_LEASE,
            Some(s) if s > 0.0 && s <= MAX_LEASE_SECONDS => Duration::from_secs_f64(s),
            Some(_) => {
                return Err(invalid(
                    "lease_seconds",
                    "ensure this value is greater than 0 and at most 86400",
                ));
            }
        };
        let limit = match body.get("limit").and_then(Value::as_f64) {
            None => DEFAULT_CLAIM,
            Some(n) if n >= 1.0 && n.fract() == 0.0 => (n as usize).min(MAX_CLAIM),
            Some(_) => {
                return Err(invalid(
                    "limit",
                    "ensure this value is a whole number of at least 1",
                ));
            }
        };
        let backend = Arc::clone(&state.backend);
        // A claim takes leases: it runs to its end even when the client leaves.
        let runs =
            to_completion(async move { Ok(backend.claim_runs(lease, limit, &caller).await?) })
                .await?;
        Ok(json!({ "runs": runs }))
    }
    .await;
    respond(&state, "claim_runs", answer)
}

/// `POST /runs/{run_id}/complete`.
pub(crate) async fn complete_run(
    State(state): State<Shared>,
    Path(run_id): Path<String>,
    request: Request,
) -> Response {
    let answer = async {
        let (caller, _, body) = accept(&state, BodyEndpoint::CompleteRun, request).await?;
        let lease_id = text(&body, "lease_id").unwrap_or_default();
        let completion = match body.get("status").and_then(Value::as_str) {
            Some("finished") => RunCompletion::Finished,
            Some("failed") => RunCompletion::Failed {
                message: text(&body, "message").unwrap_or_default(),
            },
            _ => RunCompletion::Paused {
                state: text(&body, "state")
                    .ok_or_else(|| invalid("state", "field required for a paused run"))?,
                request_ids: texts(&body, "request_ids")
                    .ok_or_else(|| invalid("request_ids", "field required for a paused run"))?,
            },
        };
        let status = completion.status();
        let backend = Arc::clone(&state.backend);
        let id = run_id.clone();
        to_completion(async move {
            Ok(backend
                .complete_run(id, lease_id, completion, &caller)
                .await?)
        })
        .await?;
        Ok(json!({"run_id": run_id, "status": status}))
    }
    .await;
    respond(&state, "complete_run", answer)
}
