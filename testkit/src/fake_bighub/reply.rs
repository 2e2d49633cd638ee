//! What the fake BIGHUB answers to one request: a scripted or computed [`Reply`].
//!
//! This file owns the reply value and its conversion to an HTTP response; choosing which
//! reply a request gets lives in `fake_bighub.rs`.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One answer of the fake BIGHUB server.
///
/// ```
/// use std::time::Duration;
/// use bighub_testkit::fake_bighub::Reply;
/// use serde_json::json;
///
/// // A 429 asking the client to come back in one second.
/// let busy = Reply::error(429, "rate limit exceeded").retry_after(1);
/// // A decision delivered slowly.
/// let slow = Reply::ok(json!({"request_id": "req_1", "mode": "autonomous"}))
///     .delay(Duration::from_millis(300));
/// // No answer at all: the connection is closed.
/// let gone = Reply::drop_connection();
/// # let _ = (busy, slow, gone);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub(crate) body: ReplyBody,
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) delay: Duration,
}

/// The payload of a [`Reply`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReplyBody {
    /// A JSON body (`application/json`).
    Json(Value),
    /// A body sent as is, with its content type.
    Raw { content_type: String, text: String },
    /// Close the connection without answering.
    Drop,
}

impl Reply {
    /// A JSON answer with `status`.
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            body: ReplyBody::Json(body),
            status,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// A `200 OK` JSON answer.
    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    /// An error the way the service sends them: `{"detail": detail}` with `status`.
    pub fn error(status: u16, detail: impl Into<Value>) -> Self {
        Self::json(status, json!({ "detail": detail.into() }))
    }

    /// An error with the standard reason phrase as its detail (`500` → `"Internal Server Error"`).
    pub fn status(status: u16) -> Self {
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        Self::error(status, reason)
    }

    /// A body sent exactly as given with `content_type`: a page from a proxy, plain text,
    /// an empty body, or broken JSON labelled as JSON.
    ///
    /// ```
    /// use bighub_testkit::fake_bighub::Reply;
    ///
    /// // A captive portal answering 200 in place of the service.
    /// let portal = Reply::text(200, "text/html", "<html><body>Sign in</body></html>");
    /// // A success with nothing in it.
    /// let empty = Reply::text(200, "application/json", "");
    /// assert_eq!(portal.status_code(), 200);
    /// assert!(empty.json_body().is_none());
    /// ```
    pub fn text(status: u16, content_type: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            body: ReplyBody::Raw {
                content_type: content_type.into(),
                text: text.into(),
            },
            ..Self::json(status, Value::Null)
        }
    }

    /// No answer: the server closes the connection after reading the request.
    pub fn drop_connection() -> Self {
        Self {
            body: ReplyBody::Drop,
            ..Self::json(0, Value::Null)
        }
    }

    /// Adds a response header.
    ///
    /// # Panics
    ///
    /// When `name` or `value` is not valid in an HTTP header: a mistake in the test.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        assert!(
            HeaderName::from_bytes(name.as_bytes()).is_ok()
                && HeaderValue::from_str(&value).is_ok(),
            "invalid reply header `{name}: {value}`"
        );
        self.headers.push((name, value));
        self
    }

    /// Adds `Retry-After: <seconds>`.
    pub fn retry_after(self, seconds: u64) -> Self {
        self.header("retry-after", seconds.to_string())
    }

    /// Waits this long before answering (on top of the server's latency).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The HTTP status (0 for [`Reply::drop_connection`]).
    pub fn status_code(&self) -> u16 {
        self.status
    }

    /// The JSON body, when the reply has one.
    pub fn json_body(&self) -> Option<&Value> {
        match &self.body {
            ReplyBody::Json(v) => Some(v),
            _ => None,
        }
    }

    /// Whether this reply closes the connection instead of answering.
    pub fn is_drop(&self) -> bool {
        self.body == ReplyBody::Drop
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.body {
            ReplyBody::Json(v) => (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                v.to_string(),
            )
                .into_response(),
            ReplyBody::Raw { content_type, text } => {
                let mut r = (status, text).into_response();
                if let Ok(v) = HeaderValue::from_str(&content_type) {
                    r.headers_mut().insert(header::CONTENT_TYPE, v);
                }
                r
            }
            ReplyBody::Drop => status.into_response(),
        };
        for (name, value) in self.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                response.headers_mut().append(n, v);
            }
        }
        response
    }
}
