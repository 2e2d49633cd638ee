//! The `http` kind: GET a JSON document, with headers that may read secrets from the
//! environment.
//!
//! This module owns the request: the URL built from the action's fields, the transport
//! rule (https, or http only to this machine), headers whose values never appear in
//! `Debug`, logs or errors, no redirects, a bounded body. It does not cache (the registry
//! does) and does not time out on its own beyond the timeout it is given.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bighub_core::ProposedAction;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::fetch_error::FetchError;
use super::provider::{ContextProvider, DEFAULT_TIMEOUT};
use super::template::{ActionField, UrlTemplate};
use crate::error::LocalError;
use crate::outbound_url::{check_url, without_query};

/// The largest answer read by default.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Where a header's value comes from.
#[derive(Clone, PartialEq, Eq)]
enum HeaderSource {
    /// Written in the configuration.
    Literal(String),
    /// Read from an environment variable at each fetch, after a fixed prefix
    /// (`Token token=`, `Bearer `).
    Env { var: String, prefix: String },
}

impl fmt::Debug for HeaderSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(_) => f.write_str("[REDACTED]"),
            Self::Env { var, .. } => write!(f, "env({var})"),
        }
    }
}

impl HeaderSource {
    /// The value to send: marked sensitive, so the HTTP stack never prints it either.
    fn value(&self) -> Result<HeaderValue, FetchError> {
        let text = match self {
            Self::Literal(v) => v.clone(),
            Self::Env { var, prefix } => {
                let secret = std::env::var(var)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| FetchError::MissingEnv(var.clone()))?;
                format!("{prefix}{secret}")
            }
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            FetchError::Other(match self {
                Self::Literal(_) => "a header value holds characters a header cannot".into(),
                Self::Env { var, .. } => {
                    format!("the environment variable {var} holds characters a header cannot")
                }
            })
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// GETs a JSON document over HTTPS (or plain HTTP to `localhost`, `127.0.0.1` or `::1`).
///
/// The URL may use the action's fields (`{system}`, `{environment}`, `{target}`, ...; see
/// [`ActionField`]), percent-encoded. Headers may read secrets from environment
/// variables at each fetch; their values are never logged, never in `Debug`, never in an
/// error, the input, the store or the decision. Redirects are not followed (a redirect
/// would carry the headers elsewhere): a 3xx answer is an error, as is any status other
/// than 2xx, and an answer larger than 4 MiB (see [`max_bytes`](Self::max_bytes)).
///
/// ```
/// use bighub_local::context::HttpProvider;
///
/// let incidents = HttpProvider::new("https://api.pagerduty.com/incidents?service_ids[]={system}")
///     .unwrap()
///     .header_from_env("Authorization", "PAGERDUTY_TOKEN", "Token token=")
///     .unwrap();
/// assert!(!format!("{incidents:?}").contains("Token token="));
/// ```
#[derive(Clone)]
pub struct HttpProvider {
    url: UrlTemplate,
    url_text: String,
    headers: Vec<(HeaderName, HeaderSource)>,
    timeout: Duration,
    max_bytes: u64,
    client: reqwest::Client,
}

impl fmt::Debug for HttpProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProvider")
            .field("url", &without_query(&self.url_text))
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

fn invalid(key: &str, message: impl Into<String>) -> LocalError {
    LocalError::ContextConfig {
        origin: "builder".into(),
        key: key.into(),
        message: message.into(),
    }
}

impl HttpProvider {
    /// GETs `url`, a template whose `{field}` placeholders take the action's fields. An
    /// unknown placeholder, a URL that does not parse, or plain `http` to another machine
    /// is [`LocalError::ContextConfig`].
    pub fn new(url: &str) -> Result<Self, LocalError> {
        let template = UrlTemplate::parse(url).map_err(|m| invalid("url", m))?;
        check_url(&template.sample()).map_err(|m| invalid("url", m))?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bighub-local/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid("url", format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            url: template,
            url_text: url.to_owned(),
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
            client,
        })
    }

    fn header_name(name: &str) -> Result<HeaderName, LocalError> {
        HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid("headers", format!("`{name}` is not a header name")))
    }

    /// Sends the header `name` with a fixed value (kept out of `Debug` all the same).
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, LocalError> {
        let name = Self::header_name(name)?;
        HeaderValue::from_str(value).map_err(|_| {
            invalid(
                "headers",
                format!("the value of {name} holds characters a header cannot"),
            )
        })?;
        self.headers
            .push((name, HeaderSource::Literal(value.to_owned())));
        Ok(self)
    }

    /// Sends the header `name` with `prefix` followed by the environment variable `var`,
    /// read at each fetch (a variable that is unset then fails that fetch, naming it).
    pub fn header_from_env(
        mut self,
        name: &str,
        var: &str,
        prefix: &str,
    ) -> Result<Self, LocalError> {
        let name = Self::header_name(name)?;
        if var.is_empty() {
            return Err(invalid("headers", format!("{name} names no variable")));
        }
        self.headers.push((
            name,
            HeaderSource::Env {
                var: var.to_owned(),
                prefix: prefix.to_owned(),
            },
        ));
        Ok(self)
    }

    /// The longest a request may take (also bounded by the provider's timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Refuses answers larger than `max_bytes`.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

#[async_trait]
impl ContextProvider for HttpProvider {
    fn kind(&self) -> &str {
        "http"
    }

    fn reads(&self) -> Vec<ActionField> {
        self.url.fields()
    }

    async fn fetch(&self, action: &ProposedAction) -> Result<Value, FetchError> {
        let url = check_url(&self.url.render(action)?).map_err(FetchError::Url)?;
        let body = self.get(url).await?;
        serde_json::from_slice(&body).map_err(|e| FetchError::Json(e.to_string()))
    }
}

impl HttpProvider {
    /// The URL as configured, placeholders unrendered.
    pub(crate) fn url_text(&self) -> &str {
        &self.url_text
    }

    /// GETs `url` (already checked by [`check_url`]) with this provider's headers,
    /// timeout and size bound; the body of a 2xx answer.
    pub(crate) async fn get(&self, url: reqwest::Url) -> Result<Vec<u8>, FetchError> {
        let mut request = self
            .client
            .get(url)
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, source) in &self.headers {
            request = request.header(name.clone(), source.value()?);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| FetchError::Request(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Request(e.without_url().to_string()))?
        {
            if (body.len() + chunk.len()) as u64 > self.max_bytes {
                return Err(FetchError::TooLarge(self.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_url_must_be_https_or_loopback_and_name_known_fields() {
        assert!(HttpProvider::new("http://example.com/{system}").is_err());
        assert!(HttpProvider::new("https://example.com/{sytem}").is_err());
    }

    #[test]
    fn debug_never_shows_a_query_string() {
        let p = HttpProvider::new("https://status.example.com/api/v2/summary.json?api_key=s3cr3t")
            .unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(
            shown.contains("https://status.example.com/api/v2/summary.json"),
            "{shown}"
        );
    }

    #[test]
    fn debug_never_shows_header_values() {
        let p = HttpProvider::new("https://example.com/")
            .unwrap()
            .header("X-Api-Key", "hunter2")
            .unwrap()
            .header_from_env("Authorization", "SOME_TOKEN", "Bearer ")
            .unwrap();
        let debug = format!("{p:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("Bearer"), "{debug}");
        assert!(debug.contains("env(SOME_TOKEN)"), "{debug}");
    }
}
