//! What the loop needs from one Responses API answer: its id, its function calls, its text,
//! and the raw JSON (replayed as sent).
//!
//! The answer is read through async-openai's typed `Response` first. A server that is
//! OpenAI-compatible but omits a field the typed model requires (or adds an item type it
//! does not know) is still usable: the same three facts are then read from the JSON
//! directly, and a warning says so. Only an answer without an `id` or an `output` list is
//! an error.

use async_openai::types::responses::{OutputItem, Response};
use serde_json::Value;

use super::round::FunctionCall;
use crate::Error;

#[derive(Debug, Clone)]
pub(crate) struct ModelResponse {
    pub(crate) raw: Value,
    pub(crate) id: String,
    pub(crate) calls: Vec<FunctionCall>,
    /// The API's `output_text` when sent, else the output messages' text parts joined.
    pub(crate) output_text: Option<String>,
}

impl ModelResponse {
    pub(crate) fn from_raw(raw: Value) -> Result<Self, Error> {
        match serde_json::from_value::<Response>(raw.clone()) {
            Ok(typed) => Ok(Self::from_typed(raw, typed)),
            Err(error) => {
                tracing::warn!(%error, "the Responses API answer does not fit the typed model; reading it leniently");
                Self::lenient(raw)
            }
        }
    }

    pub(crate) fn from_typed(raw: Value, typed: Response) -> Self {
        let calls = typed
            .output
            .iter()
            .filter_map(|item| match item {
                OutputItem::FunctionCall(call) => Some(FunctionCall {
                    name: call.name.clone(),
                    call_id: call.call_id.clone(),
                    arguments: call.arguments.clone(),
                }),
                _ => None,
            })
            .collect();
        let output_text = sent_output_text(&raw).or_else(|| typed.output_text());
        Self {
            id: typed.id,
            calls,
            output_text,
            raw,
        }
    }

    fn lenient(raw: Value) -> Result<Self, Error> {
        let id = raw
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::ProviderResponse("the answer has no response `id`".to_owned()))?
            .to_owned();
        let output = raw
            .get("output")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::ProviderResponse("the answer has no `output` list".to_owned()))?;
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let calls = output
            .iter()
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("function_call"))
            .map(|item| FunctionCall {
                name: text(item, "name").unwrap_or_default(),
                call_id: text(item, "call_id").unwrap_or_default(),
                arguments: text(item, "arguments").unwrap_or_default(),
            })
            .collect();
        let joined: String = output
            .iter()
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("message"))
            .filter_map(|item| item.get("content").and_then(Value::as_array))
            .flatten()
            .filter(|part| part.get("type").and_then(Value::as_str) == Some("output_text"))
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect();
        let output_text = sent_output_text(&raw).or((!joined.is_empty()).then_some(joined));
        Ok(Self {
            id,
            calls,
            output_text,
            raw,
        })
    }
}

fn sent_output_text(raw: &Value) -> Option<String> {
    raw.get("output_text")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_response_the_typed_model_rejects_is_read_leniently() {
        // No `created_at`, `model` or `object`, and an item type unknown to the typed model.
        let raw = json!({
            "id": "resp_1",
            "output": [
                {"type": "vendor_trace", "data": 1},
                {"type": "function_call", "call_id": "c1", "name": "grant_access", "arguments": "{}"},
                {"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Hello "}, {"type": "output_text", "text": "there"}
                ]}
            ]
        });
        let response = ModelResponse::from_raw(raw).unwrap();
        assert_eq!(response.id, "resp_1");
        assert_eq!(response.calls.len(), 1);
        assert_eq!(response.calls[0].name, "grant_access");
        assert_eq!(response.output_text.as_deref(), Some("Hello there"));
    }

    #[test]
    fn an_answer_without_id_or_output_is_an_error() {
        assert!(ModelResponse::from_raw(json!({"output": []})).is_err());
        assert!(ModelResponse::from_raw(json!({"id": "resp_1"})).is_err());
        assert!(ModelResponse::from_raw(json!("nonsense")).is_err());
    }

    #[test]
    fn the_sent_output_text_wins() {
        let raw = json!({"id": "r", "output": [], "output_text": "from the API"});
        assert_eq!(
            ModelResponse::from_raw(raw).unwrap().output_text.as_deref(),
            Some("from the API")
        );
    }
}
