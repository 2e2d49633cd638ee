//! Which hosts are this machine. Every HTTP client of the workspace (the hosted service's,
//! the model provider's, context providers') sends plain `http://` only to these, so a
//! secret in a header never crosses a network unencrypted. This module owns that rule, not
//! the clients or their other checks.

use std::net::IpAddr;

/// Whether `host` (a URL's host as written, IPv6 in brackets) is this machine: `localhost`,
/// an IPv4 loopback address (`127.0.0.0/8`) or `::1`.
///
/// ```
/// use bighub_core::loopback::is_loopback_host;
///
/// assert!(is_loopback_host("localhost"));
/// assert!(is_loopback_host("127.0.0.1"));
/// assert!(is_loopback_host("[::1]"));
/// assert!(!is_loopback_host("10.0.0.1"));
/// assert!(!is_loopback_host("localhost.example.com"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    literal.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
