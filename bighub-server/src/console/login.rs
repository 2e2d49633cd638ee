//! Signing in to the console with an operator token, and signing out.
//!
//! This module owns the sign-in page and its post, and the sign-out post. The sign-in
//! form is protected like every other: it carries a token tied to a random value the page
//! sets in a short-lived cookie of its own (there is no session yet), and a cross-site post
//! is refused. A wrong operator token is answered 401, the same whichever part was wrong,
//! and logged without the token.

use axum::extract::{Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use super::Shared;
use super::access::{self, see_other};
use super::answers::{field, form_fields};
use super::csrf::{self, LOGIN_COOKIE};
use super::session::{Session, clear_cookie, cookie, hex, random_bytes};
use super::views::{LoginPage, Notice, message, render};

/// How long a sign-in form stays usable, in seconds.
const LOGIN_FORM_SECS: u64 = 3600;

fn login_cookie(nonce: &str, secure: bool) -> String {
    format!(
        "{LOGIN_COOKIE}={nonce}; Path=/console/login; Max-Age={LOGIN_FORM_SECS}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

fn clear_login_cookie(secure: bool) -> String {
    format!(
        "{LOGIN_COOKIE}=; Path=/console/login; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The sign-in page for the form value `nonce`, setting its cookie.
fn login_page(state: &Shared, nonce: &str, status: StatusCode, notice: Option<Notice>) -> Response {
    let settings = &state.settings;
    let mut page = LoginPage::new(
        csrf::login_token(&settings.session_key, nonce),
        !settings.tokens.is_empty(),
        settings
            .proxy
            .as_ref()
            .map(|p| p.header().to_string())
            .unwrap_or_default(),
    );
    page.notice = notice;
    let mut response = render(status, &page);
    if let Ok(value) = HeaderValue::from_str(&login_cookie(nonce, settings.secure_cookies)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

fn new_nonce() -> Result<String, Response> {
    random_bytes().map(|b| hex(&b[..16])).map_err(|e| {
        tracing::error!(error = ?e.to_string(), "console: no random value for the sign-in form");
        message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in unavailable",
            "The server could not prepare the sign-in form.",
        )
    })
}

/// `GET /console/login`.
pub(crate) async fn form(State(state): State<Shared>, request: Request) -> Response {
    if let Some(operator) = access::identify(
        &state,
        request.headers(),
        access::peer(request.extensions()),
    ) {
        return operator.with_cookie(see_other("/"));
    }
    match new_nonce() {
        Ok(nonce) => login_page(&state, &nonce, StatusCode::OK, None),
        Err(r) => r,
    }
}

/// `POST /console/login`.
pub(crate) async fn sign_in(State(state): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let settings = &state.settings;
    let Some(fields) = form_fields(body).await else {
        return message(
            StatusCode::BAD_REQUEST,
            "Unreadable form",
            "The form could not be read.",
        );
    };
    let nonce = cookie(&parts.headers, LOGIN_COOKIE).filter(|n| n.len() == 32);
    let expected = nonce
        .as_deref()
        .map(|n| csrf::login_token(&settings.session_key, n));
    let token_ok = expected
        .as_deref()
        .is_some_and(|e| csrf::matches(e, field(&fields, csrf::FIELD)));
    if !csrf::same_origin(&parts.headers) || !token_ok {
        tracing::warn!("console: a sign-in without its form token was refused");
        return message(
            StatusCode::FORBIDDEN,
            "Refused",
            "The sign-in form was not sent from this console's page, or it expired. Reload the page and try again.",
        );
    }
    let nonce = nonce.unwrap_or_default();
    if settings.tokens.is_empty() {
        return login_page(
            &state,
            &nonce,
            StatusCode::FORBIDDEN,
            Notice::error("Signing in with a token is off on this server."),
        );
    }
    let presented = field(&fields, "token").unwrap_or("").trim();
    let Some(operator) = settings.tokens.check(presented) else {
        tracing::warn!("console: a sign-in with an unknown operator token was refused");
        return login_page(
            &state,
            &nonce,
            StatusCode::UNAUTHORIZED,
            Notice::error("That token is not an operator token of this server."),
        );
    };
    let session = match Session::start(operator, settings.session_ttl) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = ?e.to_string(), "cannot start a console session");
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in unavailable",
                "The server could not start a session.",
            );
        }
    };
    tracing::info!(operator = ?operator, "operator signed in to the console");
    let mut response = see_other("/");
    for value in [
        session.set_cookie(&settings.session_key, settings.secure_cookies),
        clear_login_cookie(settings.secure_cookies),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// `POST /console/logout`.
pub(crate) async fn sign_out(State(state): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(fields) = form_fields(body).await else {
        return message(
            StatusCode::BAD_REQUEST,
            "Unreadable form",
            "The form could not be read.",
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
    tracing::info!(operator = ?operator.name(), "operator signed out of the console");
    let mut response = see_other("/console/login");
    if let Ok(value) = HeaderValue::from_str(&clear_cookie(state.settings.secure_cookies)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
