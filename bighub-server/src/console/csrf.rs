//! Cross-site request forgery: the tokens every state-changing console form carries, and
//! the check of where a request comes from.
//!
//! This module owns the form token of a session (the HMAC of its id, so a token is good
//! for one session only and the server keeps nothing), the token of the sign-in form (the
//! HMAC of a random value kept in a short-lived cookie, since there is no session yet), and
//! the refusal of a request a browser says is cross-site (`Sec-Fetch-Site`) or whose
//! `Origin` is another site. A request that fails any of them changes nothing.

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use subtle::ConstantTimeEq;

use super::session::{SessionKey, hex};

/// The hidden form field that carries the token.
pub(crate) const FIELD: &str = "csrf";

/// The cookie holding the sign-in form's random value.
pub(crate) const LOGIN_COOKIE: &str = "bighub_console_login";

/// The token of forms posted in the session `session_id`.
pub(crate) fn session_token(key: &SessionKey, session_id: &str) -> String {
    hex(&key.mac(&[b"csrf", session_id.as_bytes()]))
}

/// The token of the sign-in form whose cookie holds `nonce`.
pub(crate) fn login_token(key: &SessionKey, nonce: &str) -> String {
    hex(&key.mac(&[b"login-csrf", nonce.as_bytes()]))
}

/// Whether `presented` is `expected`, compared in constant time.
pub(crate) fn matches(expected: &str, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    expected.len() == presented.len() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// Whether a request may change something as far as its origin goes. A browser's
/// `Sec-Fetch-Site` decides when sent: only `same-origin` passes. Without it, an `Origin`
/// must name the host the request was sent to; `Origin: null` (an opaque origin) is
/// refused then. (With `Referrer-Policy: no-referrer`, Chromium sends `Origin: null` on the
/// console's own form posts, beside `Sec-Fetch-Site: same-origin`.) A request carrying
/// neither header (an older browser, a script) is left to its token.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    host.is_some_and(|h| h.eq_ignore_ascii_case(authority.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn tokens_are_tied_to_their_session() {
        let key = SessionKey::random().unwrap();
        let token = session_token(&key, "s1");
        assert!(matches(&token, Some(&token)));
        assert!(!matches(&token, Some(&session_token(&key, "s2"))));
        assert!(!matches(&token, Some(&login_token(&key, "s1"))));
        assert!(!matches(&token, None));
        assert!(!matches(&token, Some("")));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let host = ("host", "127.0.0.1:8484");
        assert!(same_origin(&headers(&[host])));
        assert!(same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:8484"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(same_origin(&headers(&[
            host,
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:8484"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("sec-fetch-site", "same-site")
        ])));
    }
}
