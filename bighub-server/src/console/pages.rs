//! The console's pages: pending approvals, one approval, the decision log, one decision.
//!
//! This module owns reading what each page shows from the engine's store (on Tokio's
//! blocking pool, as the API's reads are) and rendering it; a request without a session is
//! sent to the sign-in page. It changes nothing.

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use bighub_local::storage::{ApprovalRecord, DecisionDetail};
use bighub_local::{LocalEngine, LocalError};

use super::Shared;
use super::access::{self, see_other};
use super::approval_view::ApprovalView;
use super::decision_view::{DecisionRow, DecisionView, Filters, MODES};
use super::views::{
    ApprovalPage, ChangeView, Chrome, DecisionPage, DecisionsPage, Notice, PendingFragment,
    PendingPage, message, render,
};

/// The most pending approvals one page lists (the oldest first).
const MAX_PENDING_LISTED: usize = 200;

/// Whether `id` can be a request id: 1 to 128 letters, digits, `_`, `-`, `.`, `:`.
/// Anything else is not looked up (and never reaches a URL or a header).
pub(crate) fn valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

/// Runs `f` on the engine off the runtime's threads; a store that fails is a 503 page.
pub(crate) async fn read<T, F>(state: &Shared, f: F) -> Result<T, Response>
where
    T: Send + 'static,
    F: FnOnce(&LocalEngine) -> Result<T, LocalError> + Send + 'static,
{
    let engine = state.backend.engine().clone();
    match tokio::task::spawn_blocking(move || f(&engine)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            tracing::warn!(error = ?e.to_string(), "console: the decision store failed");
            Err(message(
                StatusCode::SERVICE_UNAVAILABLE,
                "The decision store did not answer",
                "Try again in a moment.",
            ))
        }
        Err(e) => {
            tracing::error!(error = ?e.to_string(), "console: a store read failed");
            Err(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something failed",
                "The page could not be read.",
            ))
        }
    }
}

/// The pending approvals, oldest first, each explained by its decision.
async fn pending_views(state: &Shared) -> Result<Vec<ApprovalView>, Response> {
    let rows: Vec<(ApprovalRecord, Option<DecisionDetail>)> = read(state, |engine| {
        engine
            .oldest_pending_approvals(MAX_PENDING_LISTED)?
            .into_iter()
            .map(|a| {
                let detail = engine.decision_detail(&a.request_id)?;
                Ok((a, detail))
            })
            .collect()
    })
    .await?;
    Ok(rows
        .iter()
        .map(|(a, d)| ApprovalView::new(a, d.as_ref()))
        .collect())
}

/// `GET /`.
pub(crate) async fn pending(State(state): State<Shared>, request: Request) -> Response {
    let operator = match access::for_page(&state, request.headers(), request.extensions()) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let approvals = match pending_views(&state).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let page = PendingPage {
        chrome: Chrome::new(operator.name(), &operator.csrf(&state), "pending"),
        approvals,
    };
    operator.with_cookie(render(StatusCode::OK, &page))
}

/// `GET /console`: the pending approvals are the console's first page.
pub(crate) async fn to_pending() -> Response {
    see_other("/")
}

/// `GET /console/approvals/fragment`.
pub(crate) async fn fragment(State(state): State<Shared>, request: Request) -> Response {
    let operator = match access::for_read(&state, request.headers(), request.extensions()) {
        Ok(o) => o,
        Err(r) => return r,
    };
    match pending_views(&state).await {
        Ok(approvals) => {
            operator.with_cookie(render(StatusCode::OK, &PendingFragment { approvals }))
        }
        Err(r) => r,
    }
}

/// The page of approval `request_id`, with `notice` above it; 404 when there is none.
pub(crate) async fn approval_page(
    state: &Shared,
    operator: &access::Operator,
    request_id: String,
    status: StatusCode,
    notice: Option<Notice>,
) -> Response {
    approval_page_with(state, operator, request_id, status, notice, None).await
}

/// [`approval_page`], with the policy's decision on edited arguments awaiting
/// confirmation.
pub(crate) async fn approval_page_with(
    state: &Shared,
    operator: &access::Operator,
    request_id: String,
    status: StatusCode,
    notice: Option<Notice>,
    preview: Option<ChangeView>,
) -> Response {
    if !valid_request_id(&request_id) {
        return no_such("approval");
    }
    let found = read(state, move |engine| {
        let Some(approval) = engine.approval(&request_id)? else {
            return Ok(None);
        };
        let detail = engine.decision_detail(&request_id)?;
        Ok(Some((approval, detail)))
    })
    .await;
    let (approval, detail) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return no_such("approval"),
        Err(r) => return r,
    };
    let page = ApprovalPage {
        chrome: Chrome::new(operator.name(), &operator.csrf(state), "pending"),
        notice,
        a: ApprovalView::new(&approval, detail.as_ref()),
        preview,
    };
    operator.with_cookie(render(status, &page))
}

/// `GET /console/approvals/{request_id}`.
pub(crate) async fn approval(
    State(state): State<Shared>,
    Path(request_id): Path<String>,
    request: Request,
) -> Response {
    let operator = match access::for_page(&state, request.headers(), request.extensions()) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let notice = match request.uri().query() {
        Some("done=approved") => Notice::ok("Approved. The agent may now run this call, once."),
        Some("done=rejected") => Notice::ok("Rejected. The agent sees your comment."),
        Some("done=changed") => Notice::ok(
            "Approved with changed arguments. The agent may now run the changed call, once; its model is told what changed and why.",
        ),
        _ => None,
    };
    approval_page(&state, &operator, request_id, StatusCode::OK, notice).await
}

/// `GET /console/decisions`.
pub(crate) async fn decisions(State(state): State<Shared>, uri: Uri, request: Request) -> Response {
    let operator = match access::for_page(&state, request.headers(), request.extensions()) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let filters = Filters::from_pairs(&crate::routes::query_pairs(uri.query().unwrap_or("")));
    let chrome = Chrome::new(operator.name(), &operator.csrf(&state), "decisions");
    let modes = mode_options(&filters.mode);
    let query = match filters.query() {
        Ok(q) => q,
        Err(e) => {
            let page = DecisionsPage {
                chrome,
                notice: Notice::error(e),
                filters,
                modes,
                rows: Vec::new(),
                older: None,
            };
            return operator.with_cookie(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let page = match read(&state, move |engine| engine.decision_log(&query)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let older = page.next.map(|next| filters.url_after(&next.to_string()));
    let page = DecisionsPage {
        chrome,
        notice: None,
        rows: page.decisions.iter().map(DecisionRow::new).collect(),
        filters,
        modes,
        older,
    };
    operator.with_cookie(render(StatusCode::OK, &page))
}

/// `GET /console/decisions/{request_id}`.
pub(crate) async fn decision(
    State(state): State<Shared>,
    Path(request_id): Path<String>,
    request: Request,
) -> Response {
    let operator = match access::for_page(&state, request.headers(), request.extensions()) {
        Ok(o) => o,
        Err(r) => return r,
    };
    if !valid_request_id(&request_id) {
        return no_such("decision");
    }
    let detail = match read(&state, move |engine| engine.decision_detail(&request_id)).await {
        Ok(Some(d)) => d,
        Ok(None) => return no_such("decision"),
        Err(r) => return r,
    };
    let page = DecisionPage {
        chrome: Chrome::new(operator.name(), &operator.csrf(&state), "decisions"),
        d: DecisionView::new(&detail),
    };
    operator.with_cookie(render(StatusCode::OK, &page))
}

/// The mode filter's choices, the chosen one marked.
fn mode_options(chosen: &str) -> Vec<(&'static str, bool)> {
    MODES.iter().map(|m| (*m, *m == chosen)).collect()
}

/// Any other path under `/console/`.
pub(crate) async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}

fn no_such(what: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("There is no such {what}."),
    )
}
