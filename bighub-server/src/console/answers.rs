//! Answering an approval from the console: approve (as asked, the engine's better
//! action, or edited arguments), or reject, with a comment the model sees.
//!
//! This module owns the answer form posts and the preview of edited arguments (the policy's
//! decision on them now, shown before the operator confirms; nothing is recorded). Each passes the checks of a state-changing request
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
use super::pages::{approval_page, approval_page_with, valid_request_id};
use super::views::{ChangeView, Notice, message};
use crate::backend::{Backend, BackendError, Caller};
use bighub_local::context::ContextSnapshot;
use serde_json::Value;

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

/// The operator and fields of a form posted about the approval `request_id`, once the
/// checks of a state-changing request pass; else the answer that refuses it.
async fn answer_form(
    state: &Shared,
    request_id: &str,
    request: Request,
) -> Result<(access::Operator, Vec<(String, String)>), Response> {
    let (parts, body) = request.into_parts();
    let Some(fields) = form_fields(body).await else {
        return Err(message(
            StatusCode::BAD_REQUEST,
            "Unreadable form",
            "Nothing was changed: the form could not be read.",
        ));
    };
    let operator = access::for_change(
        state,
        &parts.headers,
        &parts.extensions,
        field(&fields, csrf::FIELD),
    )?;
    if !valid_request_id(request_id) {
        return Err(message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such approval.",
        ));
    }
    Ok((operator, fields))
}

async fn answer(
    state: Shared,
    request_id: String,
    resolution: Resolution,
    request: Request,
) -> Response {
    let (operator, fields) = match answer_form(&state, &request_id, request).await {
        Ok(form) => form,
        Err(r) => return r,
    };
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
    let mut answer = ApprovalResolution {
        resolution,
        comment,
        resolved_by: Some(operator.name().to_owned()),
        arguments: None,
        better_action: false,
    };
    if resolution == Resolution::Approved {
        answer.better_action = field(&fields, "better_action") == Some("1");
        if let Some(text) = field(&fields, "arguments").filter(|t| !t.trim().is_empty()) {
            match edited_arguments(text) {
                Ok(arguments) => answer.arguments = Some(arguments),
                Err(why) => {
                    return approval_page(
                        &state,
                        &operator,
                        request_id,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Notice::error(format!("Nothing was changed: {why}")),
                    )
                    .await;
                }
            }
        }
    }
    let changed = answer.changes_call();
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
            let done = if changed {
                "changed"
            } else {
                resolution.as_str()
            };
            see_other(&format!("/console/approvals/{request_id}?done={done}"))
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
        BackendError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::EditRefused { mode, reason },
            ..
        }) => (
            StatusCode::CONFLICT,
            format!(
                "Nothing was changed: the policy does not let the changed call run ({mode}): {reason}"
            ),
        ),
        BackendError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::SeparateApproverRequired { .. },
            ..
        }) => (
            StatusCode::CONFLICT,
            "Nothing was changed: this approval must come from someone other than whoever asked for it.".to_owned(),
        ),
        BackendError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::AlreadyApprovedBy { .. },
            ..
        }) => (
            StatusCode::CONFLICT,
            "Nothing was changed: you already approved it; another approver must.".to_owned(),
        ),
        BackendError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::Expired,
            ..
        }) => (
            StatusCode::CONFLICT,
            "Nothing was changed: this approval expired before it was answered.".to_owned(),
        ),
        BackendError::Approval(refused) => (
            StatusCode::CONFLICT,
            format!(
                "Nothing was changed: {}.",
                refused.refusal.reason().replace('_', " ")
            ),
        ),
        BackendError::Conflict(m) => (StatusCode::CONFLICT, format!("Nothing was changed: {m}")),
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

/// Edited arguments as typed into the form: a JSON object.
fn edited_arguments(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(arguments @ Value::Object(_)) => Ok(arguments),
        Ok(_) => Err("the edited arguments must be a JSON object.".to_owned()),
        Err(e) => Err(format!("the edited arguments are not JSON ({e}).")),
    }
}

/// `POST /console/approvals/{request_id}/preview`: the policy's decision, now, on the
/// edited arguments of the form, shown on the approval's page with a form to confirm them
/// when the policy lets them run. Nothing is recorded.
pub(crate) async fn preview(
    State(state): State<Shared>,
    Path(request_id): Path<String>,
    request: Request,
) -> Response {
    let (operator, fields) = match answer_form(&state, &request_id, request).await {
        Ok(form) => form,
        Err(r) => return r,
    };
    let edited = match edited_arguments(field(&fields, "arguments").unwrap_or("")) {
        Ok(arguments) => arguments,
        Err(why) => {
            let notice = Notice::error(format!("Nothing was changed: {why}"));
            return approval_page(
                &state,
                &operator,
                request_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                notice,
            )
            .await;
        }
    };
    let answer = ApprovalResolution::approved(None).with_arguments(edited);
    let engine = state.backend.engine().clone();
    let (id, asked) = (request_id.clone(), answer.clone());
    let action = tokio::task::spawn_blocking(move || engine.changed_action(&id, &asked)).await;
    let context = match &action {
        Ok(Ok(Some(action))) => state.backend.engine().gather_context(action).await,
        _ => ContextSnapshot::default(),
    };
    let engine = state.backend.engine().clone();
    let id = request_id.clone();
    let previewed =
        tokio::task::spawn_blocking(move || engine.preview_change(&id, &answer, &context)).await;
    let (notice, view) = match previewed {
        Ok(Ok(Some(preview))) => {
            let mode = preview.decision.raw["mode"]
                .as_str()
                .unwrap_or("blocked")
                .to_owned();
            let allowed = matches!(mode.as_str(), "autonomous" | "constrained" | "review");
            let reason = preview.decision.raw["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let notice = if allowed {
                Notice::ok("The policy decided the edited call: confirm to approve it.")
            } else {
                Notice::error(format!(
                    "The policy does not let the edited call run ({mode}): nothing can be approved with these arguments."
                ))
            };
            let view = ChangeView {
                arguments: super::approval_view::pretty(&preview.arguments),
                arguments_json: preview.arguments.to_string(),
                mode,
                reason,
                allowed,
            };
            (notice, Some(view))
        }
        Ok(Ok(None)) => (
            Notice::error("These are the arguments asked for: approve the call as it is."),
            None,
        ),
        Ok(Err(e)) => {
            let (_, text) = refusal(&BackendError::from(e));
            (Notice::error(text), None)
        }
        Err(e) => {
            tracing::error!(error = ?e.to_string(), "console: a preview failed");
            (
                Notice::error("Nothing was changed: the preview failed."),
                None,
            )
        }
    };
    approval_page_with(&state, &operator, request_id, StatusCode::OK, notice, view).await
}
