//! The console's pages as askama templates (`templates/console/`), and rendering them.
//!
//! This module owns the values each template is rendered from and the answer a rendered
//! page becomes. Templates escape every value (HTML auto-escaping); none is marked safe,
//! so text from the model, an agent or a proxy shows as the text it is.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::approval_view::ApprovalView;
use super::assets::{CSS_URL, JS_URL};
use super::decision_view::{DecisionRow, DecisionView, Filters};

/// What every signed-in page shows around its content.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub(crate) operator: String,
    /// The session's form token (the sign-out form carries it).
    pub(crate) csrf: String,
    pub(crate) css: &'static str,
    pub(crate) js: &'static str,
    /// Which navigation entry is the current page.
    pub(crate) active: &'static str,
}

impl Chrome {
    pub(crate) fn new(operator: &str, csrf: &str, active: &'static str) -> Self {
        Self {
            operator: operator.to_owned(),
            csrf: csrf.to_owned(),
            css: CSS_URL.as_str(),
            js: JS_URL.as_str(),
            active,
        }
    }
}

/// A message shown above a page's content.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notice {
    /// `ok` or `error` (its class).
    pub(crate) kind: &'static str,
    pub(crate) text: String,
}

impl Notice {
    pub(crate) fn ok(text: impl Into<String>) -> Option<Self> {
        Some(Self {
            kind: "ok",
            text: text.into(),
        })
    }

    pub(crate) fn error(text: impl Into<String>) -> Option<Self> {
        Some(Self {
            kind: "error",
            text: text.into(),
        })
    }
}

/// `GET /`: the approvals waiting for a person.
#[derive(Template)]
#[template(path = "console/pending.html")]
pub(crate) struct PendingPage {
    pub(crate) chrome: Chrome,
    pub(crate) approvals: Vec<ApprovalView>,
}

/// `GET /console/approvals/fragment`: the list alone, for live updates.
#[derive(Template)]
#[template(path = "console/pending_list.html")]
pub(crate) struct PendingFragment {
    pub(crate) approvals: Vec<ApprovalView>,
}

/// `GET /console/approvals/{id}`: one approval and its answer forms.
#[derive(Template)]
#[template(path = "console/approval.html")]
pub(crate) struct ApprovalPage {
    pub(crate) chrome: Chrome,
    pub(crate) notice: Option<Notice>,
    pub(crate) a: ApprovalView,
    /// The policy's decision on edited arguments, shown before the operator confirms.
    pub(crate) preview: Option<ChangeView>,
}

/// Edited arguments as the policy decides them now, before an operator confirms them.
#[derive(Debug, Clone)]
pub(crate) struct ChangeView {
    /// The changed arguments as the store would keep them (secrets redacted), shown.
    pub(crate) arguments: String,
    /// The same, compact, for the confirming form's hidden field.
    pub(crate) arguments_json: String,
    /// The changed call's mode, and the policy's reason.
    pub(crate) mode: String,
    pub(crate) reason: String,
    /// Whether the policy lets the changed call run once approved (not blocked, not
    /// asking for context).
    pub(crate) allowed: bool,
}

/// `GET /console/decisions`: the decision log.
#[derive(Template)]
#[template(path = "console/decisions.html")]
pub(crate) struct DecisionsPage {
    pub(crate) chrome: Chrome,
    pub(crate) notice: Option<Notice>,
    pub(crate) filters: Filters,
    /// The modes one can filter by, and whether each is the one chosen.
    pub(crate) modes: Vec<(&'static str, bool)>,
    pub(crate) rows: Vec<DecisionRow>,
    /// The next page's URL, when there is one.
    pub(crate) older: Option<String>,
}

/// `GET /console/decisions/{id}`: one decision whole.
#[derive(Template)]
#[template(path = "console/decision.html")]
pub(crate) struct DecisionPage {
    pub(crate) chrome: Chrome,
    pub(crate) d: DecisionView,
}

/// `GET /console/login`.
#[derive(Template)]
#[template(path = "console/login.html")]
pub(crate) struct LoginPage {
    pub(crate) css: &'static str,
    pub(crate) csrf: String,
    pub(crate) tokens: bool,
    pub(crate) proxy_header: String,
    pub(crate) notice: Option<Notice>,
}

impl LoginPage {
    pub(crate) fn new(csrf: String, tokens: bool, proxy_header: String) -> Self {
        Self {
            css: CSS_URL.as_str(),
            csrf,
            tokens,
            proxy_header,
            notice: None,
        }
    }
}

/// A page that only says something (not found, refused).
#[derive(Template)]
#[template(path = "console/message.html")]
pub(crate) struct MessagePage {
    pub(crate) css: &'static str,
    pub(crate) title: String,
    pub(crate) text: String,
}

/// `status` with `page` rendered, or a plain 500 when it cannot be.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = ?e.to_string(), "a console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// A message page with `status`.
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render(
        status,
        &MessagePage {
            css: CSS_URL.as_str(),
            title: title.to_owned(),
            text: text.to_owned(),
        },
    )
}
