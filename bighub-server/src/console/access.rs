//! Who a console request is from, and whether it may do what it asks.
//!
//! This module owns identifying the operator of a request (a trusted proxy's identity
//! header, else the session cookie), what happens without one (pages redirect to the
//! sign-in page; anything else is refused 401), and the checks every state-changing
//! request passes before it changes anything: same origin, a session, and the session's
//! form token (403 otherwise).

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Inner;
use super::csrf;
use super::session::Session;
use super::views::message;

/// A signed-in operator.
#[derive(Debug, Clone)]
pub(crate) struct Operator {
    pub(crate) session: Session,
    /// The cookie of a session this request started (a proxy named a new operator).
    pub(crate) set_cookie: Option<String>,
}

impl Operator {
    pub(crate) fn name(&self) -> &str {
        &self.session.operator
    }

    /// The session's form token.
    pub(crate) fn csrf(&self, inner: &Inner) -> String {
        csrf::session_token(&inner.settings.session_key, &self.session.id)
    }

    /// The caller name an answer is recorded with.
    pub(crate) fn caller_name(&self) -> String {
        format!("console:{}", self.session.operator)
    }

    /// `response`, setting the session cookie when this request started the session.
    pub(crate) fn with_cookie(&self, mut response: Response) -> Response {
        if let Some(cookie) = &self.set_cookie
            && let Ok(value) = HeaderValue::from_str(cookie)
        {
            response.headers_mut().append(SET_COOKIE, value);
        }
        response
    }
}

/// The client's address, when the server that accepted the connection says.
pub(crate) fn peer(extensions: &Extensions) -> Option<SocketAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

/// The operator a request is from: the identity a trusted proxy names (keeping the
/// session cookie when it names the same operator, starting one otherwise), else the
/// session cookie's.
pub(crate) fn identify(
    inner: &Inner,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Option<Operator> {
    let settings = &inner.settings;
    let session = Session::from_headers(headers, &settings.session_key);
    if let Some(name) = settings
        .proxy
        .as_ref()
        .and_then(|p| p.identity(peer, headers))
    {
        return match session {
            Some(session) if session.operator == name => Some(Operator {
                session,
                set_cookie: None,
            }),
            _ => {
                let session = Session::start(&name, settings.session_ttl)
                    .map_err(|e| tracing::error!(error = ?e.to_string(), "cannot start a console session"))
                    .ok()?;
                let cookie = session.set_cookie(&settings.session_key, settings.secure_cookies);
                Some(Operator {
                    session,
                    set_cookie: Some(cookie),
                })
            }
        };
    }
    session.map(|session| Operator {
        session,
        set_cookie: None,
    })
}

/// The operator of a page request, or the redirect to the sign-in page.
pub(crate) fn for_page(
    inner: &Inner,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<Operator, Response> {
    identify(inner, headers, peer(extensions)).ok_or_else(to_login)
}

/// The operator of a request that only reads but is not a page (a fragment, the event
/// stream), or 401.
pub(crate) fn for_read(
    inner: &Inner,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<Operator, Response> {
    identify(inner, headers, peer(extensions)).ok_or_else(|| {
        message(
            StatusCode::UNAUTHORIZED,
            "Sign in first",
            "This needs a console session.",
        )
    })
}

/// The operator of a state-changing request that carries `token`, once the request is
/// same-origin, has a session, and carries that session's form token; otherwise the
/// refusal (401 without a session, 403 for the rest), and nothing may change.
pub(crate) fn for_change(
    inner: &Inner,
    headers: &HeaderMap,
    extensions: &Extensions,
    token: Option<&str>,
) -> Result<Operator, Response> {
    if !csrf::same_origin(headers) {
        tracing::warn!("console: a cross-site request was refused");
        return Err(forbidden());
    }
    let Some(operator) = identify(inner, headers, peer(extensions)) else {
        return Err(message(
            StatusCode::UNAUTHORIZED,
            "Sign in first",
            "Nothing was changed: this needs a console session.",
        ));
    };
    // A session started by this very request has no form the token could come from.
    if operator.set_cookie.is_some() || !csrf::matches(&operator.csrf(inner), token) {
        tracing::warn!(operator = ?operator.name(), "console: a request without its form token was refused");
        return Err(operator.with_cookie(forbidden()));
    }
    Ok(operator)
}

fn forbidden() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Refused",
        "Nothing was changed: the form was not sent from this console's page, or it expired. Reload the page and try again.",
    )
}

/// 303 to the sign-in page.
pub(crate) fn to_login() -> Response {
    see_other("/console/login")
}

/// 303 to `location` (a path of the console).
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}
