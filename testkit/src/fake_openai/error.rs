//! Errors of the fake: the OpenAI error envelope it answers with, and the typed error of
//! starting it.
//!
//! Owns the wire shape `{"error":{"message","type","param","code"}}` and the constructors for
//! the rejections the fake knows. Does not decide *when* to reject (see `validate`).

use axum::http::StatusCode;
use serde_json::{Value, json};

/// Error returned when the fake server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum FakeOpenAiError {
    /// Binding its port on `127.0.0.1` failed (the port is taken, no free port, or sockets
    /// are forbidden).
    #[error("cannot bind the fake OpenAI server on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
}

/// One OpenAI API error: the HTTP status and the body of the error envelope.
///
/// The fake answers every rejection with this shape, as the real API does:
/// `{"error":{"message":"...","type":"invalid_request_error","param":null,"code":"..."}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status of the reply.
    pub status: u16,
    /// Human-readable message, worded like the real API's.
    pub message: String,
    /// Error type (`invalid_request_error`, `server_error`, ...).
    pub kind: String,
    /// The request parameter at fault, e.g. `tools[0].name`.
    pub param: Option<String>,
    /// Machine-readable code, e.g. `previous_response_not_found`.
    pub code: Option<String>,
}

impl ApiError {
    /// An error of type `invalid_request_error`.
    pub fn invalid_request(
        status: u16,
        message: impl Into<String>,
        param: Option<&str>,
        code: Option<&str>,
    ) -> Self {
        Self {
            status,
            message: message.into(),
            kind: "invalid_request_error".to_owned(),
            param: param.map(str::to_owned),
            code: code.map(str::to_owned),
        }
    }

    /// 400 `missing_required_parameter` for `param`.
    pub fn missing(param: &str) -> Self {
        Self::invalid_request(
            400,
            format!("Missing required parameter: '{param}'."),
            Some(param),
            Some("missing_required_parameter"),
        )
    }

    /// 400 `invalid_type` for `param`.
    pub fn invalid_type(param: &str, expected: &str, got: &Value) -> Self {
        Self::invalid_request(
            400,
            format!(
                "Invalid type for '{param}': expected {expected}, but got {} instead.",
                json_type_name(got)
            ),
            Some(param),
            Some("invalid_type"),
        )
    }

    /// 400 `invalid_value` for `param`, listing the supported values.
    pub fn invalid_value(param: &str, value: &str, supported: &[&str]) -> Self {
        let supported = supported
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        Self::invalid_request(
            400,
            format!("Invalid value: '{value}'. Supported values are: {supported}."),
            Some(param),
            Some("invalid_value"),
        )
    }

    /// 404 for an item that the server does not hold (replayed by id under `store: false`).
    pub fn item_not_found(id: &str, param: &str, store: bool) -> Self {
        let mut message = format!("Item with id '{id}' not found.");
        if !store {
            message.push_str(
                " Items are not persisted when `store` is set to false. Try again with `store` \
                 set to true, or remove this item from your input.",
            );
        }
        Self::invalid_request(404, message, Some(param), None)
    }

    /// 401 for a missing or wrong bearer key. The key itself is never echoed whole.
    pub fn invalid_api_key(provided: Option<&str>) -> Self {
        let message = match provided {
            None => "You didn't provide an API key. You need to provide your API key in an \
                     Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                .to_owned(),
            Some(key) => format!("Incorrect API key provided: {}.", mask_key(key)),
        };
        Self::invalid_request(401, message, None, Some("invalid_api_key"))
    }

    /// A scripted fault reply (429, 500, 503, ...), typed as the real API types them.
    pub fn scripted(status: u16, message: Option<&str>) -> Self {
        let (kind, code, default_message) = match status {
            429 => (
                "requests",
                Some("rate_limit_exceeded"),
                "Rate limit reached for requests. Please try again later.",
            ),
            500..=599 => (
                "server_error",
                None,
                "The server had an error while processing your request. Sorry about that!",
            ),
            _ => ("invalid_request_error", None, "Scripted error."),
        };
        Self {
            status,
            message: message.unwrap_or(default_message).to_owned(),
            kind: kind.to_owned(),
            param: None,
            code: code.map(str::to_owned),
        }
    }

    /// The HTTP status as an axum status code (500 if the number is not a valid status).
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The error envelope as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

/// JSON type names as the real API words them in `invalid_type` messages.
pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a decimal",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `sk-abc...wxyz` style masking: enough to recognise a key, never the whole secret.
fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_never_reveals_the_middle_of_a_key() {
        let masked = mask_key("sk-secret-value-1234");
        assert!(masked.starts_with("sk-"));
        assert!(masked.ends_with("1234"));
        assert!(!masked.contains("secret"));
        assert_eq!(mask_key("short"), "*****");
    }
}
