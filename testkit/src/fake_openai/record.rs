//! What the fake remembers of each exchange: the requests it received and the replies it sent.
//!
//! Owns [`RecordedRequest`], [`RecordedResponse`] and [`Headers`] (whose `Debug` hides
//! credentials). Does not interpret requests (see `view`).

use std::fmt;

use serde_json::Value;

/// Request headers, names lowercased. `Debug` hides the values of credential headers.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

const SECRET_HEADERS: &[&str] = &["authorization", "x-api-key", "api-key", "cookie"];

impl Headers {
    pub(crate) fn from_http(map: &axum::http::HeaderMap) -> Self {
        Self(
            map.iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        )
    }

    /// The first value of header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All `(name, value)` pairs, names lowercased.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.0 {
            if SECRET_HEADERS.contains(&name.as_str()) {
                map.entry(name, &"<redacted>");
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

/// One request the fake received, valid or not.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path, e.g. `/v1/responses`.
    pub path: String,
    /// Request headers.
    pub headers: Headers,
    /// The body parsed as JSON; `None` when it is empty or not JSON.
    pub body: Option<Value>,
    /// The body as text (lossy UTF-8).
    pub raw_body: String,
}

/// One reply the fake sent (or chose not to send).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedResponse {
    /// Index of the request this answers, in [`crate::fake_openai::FakeOpenAi::requests`].
    pub request_index: usize,
    /// HTTP status sent (for a dropped connection: the status that was never sent, 0).
    pub status: u16,
    /// JSON body: the `Response` object (as `queued` for a background request, as it stood
    /// for a poll), or the error envelope. For a stream, the finished response object (from
    /// the terminal event, or the cancelled response once its stream closed) once it was sent.
    pub body: Option<Value>,
    /// The `response.*` id, when the reply is a model response.
    pub response_id: Option<String>,
    /// Whether the reply was streamed as server-sent events.
    pub streamed: bool,
    /// The stream events sent so far, in order (each with its `type` and `sequence_number`).
    pub events: Vec<Value>,
    /// Whether the connection was cut (scripted drop, or a stream cut mid-way).
    pub dropped: bool,
}
