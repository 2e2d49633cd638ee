//! The rule on where the engine sends or fetches over HTTP, and how such a URL is shown.
//!
//! This module owns one rule, shared by every outgoing request of the crate (context
//! providers, security evidence, decision logs): `https://` anywhere, plain `http://` only
//! to this machine, because what crosses the network carries headers that may be secrets,
//! and what is fetched decides what may run. It does not send anything.

/// `url` when the engine may send to it or fetch it: https, or http to this machine only.
pub(crate) fn check_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => {
            Err("plain http is allowed only to localhost, 127.0.0.1 or ::1; use https".to_owned())
        }
        other => Err(format!("the scheme `{other}` is not used; use https")),
    }
}

/// A URL as it may be shown or recorded: without its query or fragment, which may carry
/// secrets (an API key in a query string).
pub(crate) fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_owned()
}

fn is_loopback(url: &reqwest::Url) -> bool {
    url.host_str()
        .is_some_and(bighub_core::loopback::is_loopback_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_http_only() {
        assert!(check_url("https://status.example.com/api").is_ok());
        assert!(check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(check_url("http://[::1]/x").is_ok());
        assert!(check_url("http://localhost/x").is_ok());
        assert!(check_url("http://status.example.com/x").is_err());
        assert!(check_url("ftp://status.example.com/x").is_err());
        assert_eq!(
            without_query("https://h.example.com/p?token=s#f"),
            "https://h.example.com/p"
        );
    }
}
