//! Console sessions: a signed cookie naming the operator and when the session ends.
//!
//! This module owns [`SessionKey`] (HMAC-SHA256; from `BIGHUB_CONSOLE_SESSION_KEY`, so
//! that several servers accept each other's sessions, or random per process) and the
//! session cookie `bighub_console`: its value (`hex(payload).hex(mac)`, the payload holding
//! a random session id, the expiry and the operator), its attributes (HttpOnly,
//! `SameSite=Strict`, `Path=/`, `Secure` unless the server listens on loopback), and
//! reading it back. The server keeps no session state: a session is valid while its MAC
//! verifies and it has not expired. CSRF tokens derived from the session id are
//! `csrf.rs`'s.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "bighub_console";

/// The shortest `BIGHUB_CONSOLE_SESSION_KEY` accepted.
pub const MIN_SESSION_KEY_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The key sessions and CSRF tokens are signed with. `Debug` never shows it.
///
/// ```
/// use bighub_server::console::SessionKey;
///
/// let shared = SessionKey::from_secret("a secret of at least thirty-two characters").unwrap();
/// assert!(SessionKey::from_secret("short").is_err());
/// assert!(!format!("{shared:?}").contains("secret"));
/// let own = SessionKey::random().unwrap();
/// # let _ = own;
/// ```
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey([REDACTED])")
    }
}

impl SessionKey {
    /// The key derived from a shared secret (servers given the same secret accept each
    /// other's sessions).
    ///
    /// # Errors
    ///
    /// A secret shorter than [`MIN_SESSION_KEY_LEN`] characters.
    pub fn from_secret(secret: &str) -> Result<Self, String> {
        if secret.len() < MIN_SESSION_KEY_LEN {
            return Err(format!(
                "the console session key is shorter than {MIN_SESSION_KEY_LEN} characters"
            ));
        }
        Ok(Self(Sha256::digest(secret.as_bytes()).into()))
    }

    /// A random key: sessions end when the process does, and other servers do not accept
    /// them.
    ///
    /// # Errors
    ///
    /// The system's random source failed.
    pub fn random() -> Result<Self, String> {
        Ok(Self(random_bytes()?))
    }

    /// The MAC of `parts`, each prefixed by its length so that no two lists of parts
    /// sign the same bytes.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any size");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the MAC of `parts`, compared in constant time.
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any size");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.verify_slice(tag).is_ok()
    }
}

/// 32 bytes from the system's random source.
pub(crate) fn random_bytes() -> Result<[u8; 32], String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("the system's random source failed: {e}"))?;
    Ok(bytes)
}

/// A signed-in operator's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// Random, per sign-in; CSRF tokens are tied to it.
    pub(crate) id: String,
    /// The operator, as signed in.
    pub(crate) operator: String,
    /// Unix seconds after which the session is refused.
    pub(crate) expires: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Session {
    /// A new session for `operator`, lasting `ttl`.
    pub(crate) fn start(operator: &str, ttl: Duration) -> Result<Self, String> {
        Ok(Self {
            id: hex(&random_bytes()?[..16]),
            operator: operator.to_owned(),
            expires: now_secs().saturating_add(ttl.as_secs()),
        })
    }

    /// The cookie value: the payload and its MAC, hex-encoded.
    pub(crate) fn encode(&self, key: &SessionKey) -> String {
        let payload = format!("v1|{}|{}|{}", self.id, self.expires, self.operator);
        let tag = key.mac(&[b"session", payload.as_bytes()]);
        format!("{}.{}", hex(payload.as_bytes()), hex(&tag))
    }

    /// The session a cookie value carries, when its MAC verifies and it has not expired.
    pub(crate) fn decode(value: &str, key: &SessionKey) -> Option<Self> {
        let (payload, tag) = value.split_once('.')?;
        let payload = unhex(payload)?;
        let tag = unhex(tag)?;
        if !key.verify(&[b"session", &payload], &tag) {
            return None;
        }
        let payload = String::from_utf8(payload).ok()?;
        let mut parts = payload.splitn(4, '|');
        if parts.next()? != "v1" {
            return None;
        }
        let id = parts.next()?.to_owned();
        let expires: u64 = parts.next()?.parse().ok()?;
        let operator = parts.next()?.to_owned();
        (expires > now_secs()).then_some(Self {
            id,
            operator,
            expires,
        })
    }

    /// The session the request's cookie carries, if valid.
    pub(crate) fn from_headers(headers: &HeaderMap, key: &SessionKey) -> Option<Self> {
        cookie(headers, SESSION_COOKIE).and_then(|v| Self::decode(&v, key))
    }

    /// The `Set-Cookie` value that keeps this session in the browser.
    pub(crate) fn set_cookie(&self, key: &SessionKey, secure: bool) -> String {
        let max_age = self.expires.saturating_sub(now_secs());
        format!(
            "{SESSION_COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
            self.encode(key),
            if secure { "; Secure" } else { "" }
        )
    }
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The value of the cookie `name` among the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 4096 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_and_a_changed_one_is_refused() {
        let key = SessionKey::from_secret("0123456789abcdef0123456789abcdef").unwrap();
        let session = Session::start("ana", Duration::from_secs(60)).unwrap();
        let value = session.encode(&key);
        assert_eq!(Session::decode(&value, &key), Some(session.clone()));
        // Another server with the same secret accepts it; one with another key does not.
        let same = SessionKey::from_secret("0123456789abcdef0123456789abcdef").unwrap();
        assert!(Session::decode(&value, &same).is_some());
        assert!(Session::decode(&value, &SessionKey::random().unwrap()).is_none());
        // A payload changed to another operator no longer verifies.
        let (_, tag) = value.split_once('.').unwrap();
        let forged = format!("v1|{}|{}|admin", session.id, session.expires);
        assert!(Session::decode(&format!("{}.{tag}", hex(forged.as_bytes())), &key).is_none());
        assert!(Session::decode("zz.zz", &key).is_none());
        assert!(Session::decode("", &key).is_none());
    }

    #[test]
    fn an_expired_session_is_refused() {
        let key = SessionKey::random().unwrap();
        let mut session = Session::start("ana", Duration::from_secs(60)).unwrap();
        session.expires = now_secs() - 1;
        assert!(Session::decode(&session.encode(&key), &key).is_none());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_off_loopback() {
        let key = SessionKey::random().unwrap();
        let session = Session::start("ana", Duration::from_secs(3600)).unwrap();
        let set = session.set_cookie(&key, true);
        for attr in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Secure",
            "Max-Age=",
        ] {
            assert!(set.contains(attr), "{set}");
        }
        assert!(!session.set_cookie(&key, false).contains("Secure"));
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            format!("other=1; {SESSION_COOKIE}={}", session.encode(&key))
                .parse()
                .unwrap(),
        );
        assert_eq!(Session::from_headers(&headers, &key), Some(session));
    }
}
