//! What the fake BIGHUB saw: one [`RecordedRequest`] per request, kept for assertions.
//!
//! This file owns the record's shape; recording happens in `fake_bighub.rs`.

use std::time::Instant;

use serde_json::Value;

use super::Endpoint;

/// One request as the fake BIGHUB received it, recorded before it is answered (so a
/// request the client gave up on is still there).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The HTTP method (`POST`).
    pub method: String,
    /// The path exactly as sent, percent-encoding included.
    pub path: String,
    /// The query string, when there was one.
    pub query: Option<String>,
    /// The endpoint the path names, when it names one.
    pub endpoint: Option<Endpoint>,
    /// The decoded `{request_id}` of an approval path.
    pub path_id: Option<String>,
    /// Every header, names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, when it is JSON.
    pub body: Option<Value>,
    /// The body as text (lossy UTF-8).
    pub raw_body: String,
    /// When the request arrived.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body, or `null` when the body was not JSON.
    pub fn json(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.body.as_ref().unwrap_or(&NULL)
    }
}
