//! Answering an approval from the console: approve or reject, with a comment the model
//! sees.
//!
//! This module owns the two form posts. Each passes the checks of a state-changing request
//! first (`access.rs`: same origin, a session, its form token); then it goes through
//! [`Backend::resolve_approval`](crate::Backend::resolve_approval) as the caller
//! `console:<operator>`, so the store records who answered and the server publishes the
//! answer. The store's refusal (already answered, no such approval) is shown on the
//! approval's page, which then says where it stands.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::{ApprovalResolution, Resolution};

use super::Shared;
use super::access::{self, see_other};
use super::csrf;
use super::pages::{approval_page, valid_request_id};
use super::views::{Notice, message};
use crate::backend::{Backend, BackendError, Caller};

/// The longest form body read.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// The longest comment accepted, in characters.
const MAX_COMMENT_CHARS: usize = 4000;

/// `POST /console/approvals/{request_id}/approve`.
pub(crate) async fn approve(
    State(state): State<Shared>,
    Path(request_id): Path<String>,
    request: Request,
) -> Response {
    answer(state, request_id, Resolution::Approved, request).await
}

/// `POST /console/approvals/{request_id}/reject`.
pub(crate) async fn reject(
    State(state): State<Shared>,
    Path(request_id): Path<String>,
    request: Request,
) -> Response {
    answer(state, request_id, Resolution::Rejected, request).await
}

/// A form body's fields, decoded.
pub(crate) async fn form_fields(body: axum::body::Body) -> Option<Vec<(String, String)>> {
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    Some(crate::routes::query_pairs(text))
}

/// The value of the field `name`.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn answer(
    state: Shared,
    request_id: String,
    resolution: Resolution,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Some(fields) = form_fields(body).await else {
        return message(
            StatusCode::BAD_REQUEST,
            "Unreadable form",
            "Nothing was changed: the form could not be read.",
        );
    };
    let operator = match access::for_change(
        &state,
        &parts.headers,
        &parts.extensions,
        field(&fields, csrf::FIELD),
    ) {
        Ok(o) => o,
        Err(r) => return r,
    };
    if !valid_request_id(&request_id) {
        return message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such approval.",
        );
    }
    let comment = field(&fields, "comment")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        let notice = Notice::error(format!(
            "Nothing was changed: a comment holds at most {MAX_COMMENT_CHARS} characters."
        ));
        return approval_page(
            &state,
            &operator,
            request_id,
            StatusCode::UNPROCESSABLE_ENTITY,
            notice,
        )
        .await;
    }
    let caller = Caller {
        key_name: operator.caller_name(),
        idempotency_key: None,
    };
    let answer = ApprovalResolution {
        resolution,
        comment,
        resolved_by: Some(operator.name().to_owned()),
    };
    let backend = state.backend.clone();
    let resolved = backend
        .resolve_approval(request_id.clone(), answer, &caller)
        .await;
    match resolved {
        Ok(_) => {
            tracing::info!(
                operator = ?operator.name(),
                request_id = ?request_id,
                resolution = resolution.as_str(),
                "approval answered in the console"
            );
            see_other(&format!(
                "/console/approvals/{request_id}?done={}",
                resolution.as_str()
            ))
        }
        Err(e) => {
            let (status, text) = refusal(&e);
            tracing::info!(operator = ?operator.name(), request_id = ?request_id, refusal = ?e.to_string(), "console answer refused");
            approval_page(&state, &operator, request_id, status, Notice::error(text)).await
        }
    }
}

/// The status and message of a refused answer.
fn refusal(e: &BackendError) -> (StatusCode, String) {
    match e {
        BackendError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::NotFound,
            ..
        })
        | BackendError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            "There is no such approval.".to_owned(),
        ),
        BackendError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::AlreadyResolved { resolution },
            ..
        }) => (
            StatusCode::CONFLICT,
            format!("Nothing was changed: this approval was already {resolution}."),
        ),
        BackendError::Approval(refused) => (
            StatusCode::CONFLICT,
            format!(
                "Nothing was changed: {}.",
                refused.refusal.reason().replace('_', " ")
            ),
        ),
        BackendError::Invalid(m) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Nothing was changed: {m}"),
        ),
        BackendError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Nothing was changed: the decision store did not answer. Try again.".to_owned(),
        ),
        BackendError::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Nothing was changed: the engine failed.".to_owned(),
        ),
    }
}
