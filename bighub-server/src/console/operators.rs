//! Who may sign in to the console: operator tokens, and the identity an authenticating
//! proxy vouches for.
//!
//! This module owns [`OperatorTokens`] (parsed from `BIGHUB_CONSOLE_TOKENS`, kept as
//! SHA-256 digests, compared in constant time, never printed) and [`ProxyAuth`] (a header
//! naming the operator, believed only from the configured proxy addresses). Agent API keys
//! are not operator tokens: a key that lets an agent ask for decisions does not let it
//! answer approvals. Sessions are `session.rs`'s.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderName};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest operator token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// The longest operator name (a token's name, or a proxy's identity header).
const MAX_OPERATOR_LEN: usize = 128;

/// Whether `name` can name an operator: 1 to 128 visible ASCII characters, none of which
/// would be read as a separator where the name is recorded (`console:<name>`) or carried
/// (the session cookie).
pub(crate) fn valid_operator(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_OPERATOR_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'|' | b'"' | b',' | b';' | b'\\'))
}

/// The operators who sign in with a token, each with a name.
///
/// ```
/// use bighub_server::console::OperatorTokens;
///
/// let tokens = OperatorTokens::parse("ana=op_ana_0123456789abcdef, ben=op_ben_0123456789abcdef").unwrap();
/// assert_eq!(tokens.names(), ["ana", "ben"]);
/// assert_eq!(tokens.check("op_ben_0123456789abcdef"), Some("ben"));
/// assert_eq!(tokens.check("op_ben_0123456789abcdeX"), None);
/// // Debug output names the operators, never their tokens.
/// assert!(!format!("{tokens:?}").contains("0123456789"));
/// ```
#[derive(Clone, Default)]
pub struct OperatorTokens {
    tokens: Vec<(String, [u8; 32])>,
}

impl fmt::Debug for OperatorTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorTokens")
            .field("names", &self.names())
            .finish()
    }
}

impl OperatorTokens {
    /// Tokens from `name=token,name2=token2` (the form of `BIGHUB_CONSOLE_TOKENS`); blank
    /// entries are skipped.
    ///
    /// # Errors
    ///
    /// An entry without a name, a name that cannot name an operator, a token shorter than
    /// [`MIN_TOKEN_LEN`], or two entries with the same name or token. The message never
    /// contains a token.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut tokens = Self::default();
        for (i, entry) in list.split(',').enumerate() {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let Some((name, token)) = entry.split_once('=') else {
                return Err(format!(
                    "entry {} is not name=token: each operator token needs the operator's name",
                    i + 1
                ));
            };
            tokens.add(name.trim(), token.trim())?;
        }
        Ok(tokens)
    }

    /// Adds `token` for the operator `name`.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse).
    pub fn add(&mut self, name: &str, token: &str) -> Result<(), String> {
        if !valid_operator(name) {
            return Err(format!(
                "operator name `{}` is not allowed: use 1 to {MAX_OPERATOR_LEN} visible characters, without | \" , ; \\",
                name.escape_debug()
            ));
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "the token of operator `{name}` is shorter than {MIN_TOKEN_LEN} characters"
            ));
        }
        let digest = sha256(token.as_bytes());
        if self.tokens.iter().any(|(n, _)| n == name) {
            return Err(format!("two operator tokens are named `{name}`"));
        }
        if self.tokens.iter().any(|(_, d)| *d == digest) {
            return Err(format!("the token of operator `{name}` is listed twice"));
        }
        self.tokens.push((name.to_owned(), digest));
        Ok(())
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The operators' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.tokens.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The operator whose token `presented` is. Every token is compared, each in constant
    /// time, on the SHA-256 of the presented value.
    pub fn check(&self, presented: &str) -> Option<&str> {
        let digest = sha256(presented.as_bytes());
        let mut found = None;
        for (name, known) in &self.tokens {
            if bool::from(known.ct_eq(&digest)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Sign-in by an authenticating proxy in front of the server: the header it sets to the
/// signed-in person's identity (e.g. `X-Forwarded-Email`), believed only on connections
/// from one of the proxy's addresses. From anywhere else the header is ignored, since any
/// client can send it; so is it when the client's address is unknown (the routes nested in
/// an application that does not record it as axum's `ConnectInfo`).
///
/// ```
/// use bighub_server::console::ProxyAuth;
///
/// let proxy = ProxyAuth::new("X-Forwarded-Email", vec!["10.0.0.5".parse().unwrap()]).unwrap();
/// assert_eq!(proxy.header().as_str(), "x-forwarded-email");
/// assert!(ProxyAuth::new("X-Forwarded-Email", vec![]).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct ProxyAuth {
    header: HeaderName,
    trusted: Vec<IpAddr>,
}

impl ProxyAuth {
    /// Believes `header` from the addresses `trusted`.
    ///
    /// # Errors
    ///
    /// An invalid header name, or no trusted address (the header would then be believed
    /// from nobody, which is surely not what was meant).
    pub fn new(header: &str, trusted: Vec<IpAddr>) -> Result<Self, String> {
        let header = HeaderName::try_from(header.trim())
            .map_err(|_| format!("`{}` is not a header name", header.escape_debug()))?;
        if trusted.is_empty() {
            return Err(format!(
                "the identity header {header} needs the address of the proxy that sets it (--console-trusted-proxy)"
            ));
        }
        let trusted = trusted.into_iter().map(|ip| ip.to_canonical()).collect();
        Ok(Self { header, trusted })
    }

    /// The identity header.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// The operator the proxy names, when `peer` is one of its addresses and the header
    /// holds a valid operator name.
    pub(crate) fn identity(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<String> {
        let peer = peer?.ip().to_canonical();
        if !self.trusted.contains(&peer) {
            return None;
        }
        let value = headers.get(&self.header)?.to_str().ok()?.trim();
        valid_operator(value).then(|| value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_errors() {
        let tokens =
            OperatorTokens::parse(" ana=0123456789abcdef0 ,, ben@example.com=0123456789abcdef1")
                .unwrap();
        assert_eq!(tokens.names(), ["ana", "ben@example.com"]);
        assert_eq!(tokens.check("0123456789abcdef1"), Some("ben@example.com"));
        assert_eq!(tokens.check(""), None);
        let bare = OperatorTokens::parse("0123456789abcdef0").unwrap_err();
        assert!(
            bare.contains("name=token") && !bare.contains("0123"),
            "{bare}"
        );
        let short = OperatorTokens::parse("ana=short").unwrap_err();
        assert!(
            short.contains("shorter") && !short.contains("short,"),
            "{short}"
        );
        assert!(OperatorTokens::parse("a|b=0123456789abcdef0").is_err());
        let twice = OperatorTokens::parse("a=0123456789abcdef0,b=0123456789abcdef0").unwrap_err();
        assert!(
            twice.contains("listed twice") && !twice.contains("0123"),
            "{twice}"
        );
    }

    #[test]
    fn the_proxy_header_is_believed_from_the_proxy_only() {
        let proxy =
            ProxyAuth::new("X-Forwarded-Email", vec!["127.0.0.1".parse().unwrap()]).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-email", "ana@example.com".parse().unwrap());
        let from = |a: &str| Some(a.parse::<SocketAddr>().unwrap());
        assert_eq!(
            proxy.identity(from("127.0.0.1:5000"), &headers).as_deref(),
            Some("ana@example.com")
        );
        assert_eq!(
            proxy
                .identity(from("[::ffff:127.0.0.1]:5000"), &headers)
                .as_deref(),
            Some("ana@example.com")
        );
        assert_eq!(proxy.identity(from("10.1.1.1:5000"), &headers), None);
        assert_eq!(proxy.identity(None, &headers), None);
        headers.insert("x-forwarded-email", "a b".parse().unwrap());
        assert_eq!(proxy.identity(from("127.0.0.1:5000"), &headers), None);
    }
}
