//! [`RequestView`]: a validated request as a responder sees it.
//!
//! Owns the read-only accessors a test uses to answer "based on what the client sent": the
//! tool outputs by call id, the declared tool names, the function calls in the context, the
//! last user text. Does not validate (see `validate`).

use serde_json::Value;

use super::record::Headers;
use super::validate::{INCLUDE_ENCRYPTED_REASONING, Validated};

/// A validated `POST /v1/responses` request, with its full conversation context.
#[derive(Debug, Clone)]
pub struct RequestView {
    body: Value,
    headers: Headers,
    validated: Validated,
}

/// A function call found in the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCallView {
    /// The call id that pairs it with its output.
    pub call_id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as the JSON string the model produced.
    pub arguments: String,
}

/// A `function_call_output` found in the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutputView {
    /// The call id it answers.
    pub call_id: String,
    /// The output text (text parts joined when the output is a content array).
    pub output: String,
}

impl RequestView {
    pub(crate) fn new(body: Value, headers: Headers, validated: Validated) -> Self {
        Self {
            body,
            headers,
            validated,
        }
    }

    pub(crate) fn validated(&self) -> &Validated {
        &self.validated
    }

    /// The request body as sent.
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// The request headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The `model` field.
    pub fn model(&self) -> &str {
        &self.validated.model
    }

    /// Whether the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.validated.stream
    }

    /// The effective `store` flag (the API's default, `true`, when absent).
    pub fn store(&self) -> bool {
        self.validated.store
    }

    /// Whether `include` asks for `reasoning.encrypted_content`.
    pub fn includes_encrypted_reasoning(&self) -> bool {
        self.includes(INCLUDE_ENCRYPTED_REASONING)
    }

    /// Whether `include` contains `value`.
    pub fn includes(&self, value: &str) -> bool {
        self.validated.include.iter().any(|v| v == value)
    }

    /// The `previous_response_id`, if any.
    pub fn previous_response_id(&self) -> Option<&str> {
        self.validated.previous_response_id.as_deref()
    }

    /// This request's input items (a string input appears as one user message).
    pub fn input(&self) -> &[Value] {
        &self.validated.input
    }

    /// The full context: the stored context of `previous_response_id`, then `input`.
    pub fn context(&self) -> &[Value] {
        &self.validated.context
    }

    /// The `tools` array as sent.
    pub fn tools(&self) -> &[Value] {
        &self.validated.tools
    }

    /// Names of the declared function tools, in order.
    pub fn tool_names(&self) -> Vec<&str> {
        self.validated
            .tools
            .iter()
            .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
            .filter_map(|t| t.get("name").and_then(Value::as_str))
            .collect()
    }

    /// Every function call in the context, in order.
    pub fn function_calls(&self) -> Vec<FunctionCallView> {
        self.items_of("function_call")
            .map(|item| FunctionCallView {
                call_id: str_field(item, "call_id"),
                name: str_field(item, "name"),
                arguments: str_field(item, "arguments"),
            })
            .collect()
    }

    /// Every tool output in the context, in order.
    pub fn tool_outputs(&self) -> Vec<ToolOutputView> {
        self.items_of("function_call_output")
            .map(|item| ToolOutputView {
                call_id: str_field(item, "call_id"),
                output: output_text(item.get("output")),
            })
            .collect()
    }

    /// The output sent for `call_id`, if any.
    pub fn tool_output(&self, call_id: &str) -> Option<String> {
        self.tool_outputs()
            .into_iter()
            .find(|o| o.call_id == call_id)
            .map(|o| o.output)
    }

    /// The text of the last user message in the context.
    pub fn last_user_text(&self) -> Option<String> {
        self.validated
            .context
            .iter()
            .rev()
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("message"))
            .find(|item| item.get("role").and_then(Value::as_str) == Some("user"))
            .map(|item| output_text(item.get("content")))
    }

    fn items_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.validated
            .context
            .iter()
            .filter(move |item| item.get("type").and_then(Value::as_str) == Some(kind))
    }
}

fn str_field(item: &Value, field: &str) -> String {
    item.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Text of a string or of a content-part array (the `text` of each part, joined).
fn output_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}
