//! The conversation sent to the Responses API, round after round.
//!
//! Stateless (`store: false`, the default): every request carries the whole conversation —
//! the original input, the model's output items, and one `function_call_output` per call
//! (an `mcp_approval_response` per hosted MCP approval request) —
//! and never a `previous_response_id`, which the API rejects for unstored responses.
//! Reasoning items go back as received, with their `encrypted_content`. Replayed messages
//! lose their server-side `id`, which means nothing to an API that stored nothing.
//!
//! Stored (`store: true`): each continuation names the previous response and carries only
//! the new tool outputs.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::call::{CallKind, FunctionCall};
use super::recorded::RecordedCall;

/// Serializable: a paused run keeps it in its [`RunState`](crate::RunState).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Conversation {
    store: bool,
    /// Everything so far, for stateless replay.
    items: Vec<Value>,
    /// Items added since the last response, for stored continuation.
    fresh: Vec<Value>,
    previous_response_id: Option<String>,
}

impl Conversation {
    pub(crate) fn new(input: Vec<Value>, store: bool) -> Self {
        Self {
            store,
            fresh: input.clone(),
            items: input,
            previous_response_id: None,
        }
    }

    /// Whether the API stores responses in this conversation.
    pub(crate) fn store(&self) -> bool {
        self.store
    }

    /// The `input` and `previous_response_id` of the next request.
    pub(crate) fn next_request(&self) -> (Vec<Value>, Option<String>) {
        if self.store && self.previous_response_id.is_some() {
            (self.fresh.clone(), self.previous_response_id.clone())
        } else {
            (self.items.clone(), None)
        }
    }

    /// Records a response's output items and id.
    pub(crate) fn record_response(&mut self, response_id: &str, output: &[Value]) {
        self.items.extend(output.iter().map(replayable));
        self.fresh.clear();
        self.previous_response_id = Some(response_id.to_owned());
    }

    /// The model's own call `call_id`, read from its `function_call` item (or the
    /// `mcp_approval_request` with that id), if it is in the conversation.
    pub(crate) fn call(&self, call_id: &str) -> Option<FunctionCall> {
        self.items.iter().rev().find_map(|item| {
            let field = |k: &str| item.get(k).and_then(Value::as_str);
            let kind = match field("type")? {
                "function_call" if field("call_id") == Some(call_id) => CallKind::Function,
                "mcp_approval_request" if field("id") == Some(call_id) => {
                    CallKind::HostedMcpApproval {
                        server_label: field("server_label").unwrap_or_default().to_owned(),
                    }
                }
                _ => return None,
            };
            Some(FunctionCall {
                call_id: call_id.to_owned(),
                name: field("name").unwrap_or_default().to_owned(),
                arguments: field("arguments").unwrap_or_default().to_owned(),
                kind,
            })
        })
    }

    /// Answers one recorded call: a `function_call_output`, or for a hosted MCP approval
    /// request an `mcp_approval_response` that approves only a call the agent let run.
    pub(crate) fn answer_call(&mut self, call: &RecordedCall) {
        let Some(answer) = call.mcp_approval() else {
            return self.add_tool_output(&call.event.call_id, &call.event.model_output());
        };
        let mut item = json!({
            "type": "mcp_approval_response",
            "approval_request_id": call.event.call_id,
            "approve": answer.approve,
        });
        if let Some(reason) = answer.reason {
            item["reason"] = json!(reason);
        }
        self.add_item(item);
    }

    /// How many items the conversation holds.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Replaces the argument text of function calls: `rewrite(tool, arguments)` returns the
    /// new text, or `None` to keep it.
    pub(crate) fn rewrite_function_call_arguments(
        &mut self,
        rewrite: impl Fn(&str, &str) -> Option<String>,
    ) {
        for item in self.items.iter_mut().chain(self.fresh.iter_mut()) {
            if item.get("type").and_then(Value::as_str) != Some("function_call") {
                continue;
            }
            let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
            let arguments = item
                .get("arguments")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(new) = rewrite(name, arguments) {
                item["arguments"] = Value::String(new);
            }
        }
    }

    /// Calls `visit(call_id, tool, arguments)` for each `function_call` item.
    pub(crate) fn each_function_call(&self, mut visit: impl FnMut(&str, &str, &str)) {
        for item in &self.items {
            if item.get("type").and_then(Value::as_str) != Some("function_call") {
                continue;
            }
            let field = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default();
            visit(field("call_id"), field("name"), field("arguments"));
        }
    }

    /// Sets the argument text of the `function_call` item `call_id` (a durable run's
    /// secret values, put back in the process that holds them).
    pub(crate) fn set_call_arguments(&mut self, call_id: &str, arguments: &str) {
        for item in self.items.iter_mut().chain(self.fresh.iter_mut()) {
            if item.get("type").and_then(Value::as_str) == Some("function_call")
                && item.get("call_id").and_then(Value::as_str) == Some(call_id)
            {
                item["arguments"] = Value::String(arguments.to_owned());
            }
        }
    }

    /// Adds an item the agent writes itself (the output of a client-side call).
    pub(crate) fn add_item(&mut self, item: Value) {
        self.items.push(item.clone());
        self.fresh.push(item);
    }

    /// Adds the output of one call.
    pub(crate) fn add_tool_output(&mut self, call_id: &str, output: &Value) {
        let item = json!({
            "type": "function_call_output",
            "call_id": call_id,
            "output": output.to_string(),
        });
        self.items.push(item.clone());
        self.fresh.push(item);
    }
}

fn replayable(item: &Value) -> Value {
    let mut item = item.clone();
    if item.get("type").and_then(Value::as_str) == Some("message")
        && let Some(object) = item.as_object_mut()
    {
        object.remove("id");
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stateless_replays_everything_without_previous_response_id() {
        let mut c = Conversation::new(vec![json!({"role": "user", "content": "hi"})], false);
        c.record_response(
            "resp_1",
            &[
                json!({"type": "reasoning", "id": "rs_1", "encrypted_content": "e", "summary": []}),
                json!({"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "t", "arguments": "{}"}),
            ],
        );
        c.add_tool_output("c1", &json!({"status": "executed"}));
        let (input, previous) = c.next_request();
        assert_eq!(previous, None);
        assert_eq!(input.len(), 4);
        assert_eq!(input[1]["encrypted_content"], "e");
        assert_eq!(input[3]["type"], "function_call_output");
        assert_eq!(input[3]["output"], r#"{"status":"executed"}"#);
    }

    #[test]
    fn stored_sends_only_new_outputs_with_previous_response_id() {
        let mut c = Conversation::new(vec![json!({"role": "user", "content": "hi"})], true);
        assert_eq!(c.next_request().1, None);
        c.record_response(
            "resp_1",
            &[json!({"type": "function_call", "call_id": "c1", "name": "t", "arguments": "{}"})],
        );
        c.add_tool_output("c1", &json!("ok"));
        let (input, previous) = c.next_request();
        assert_eq!(previous.as_deref(), Some("resp_1"));
        assert_eq!(input.len(), 1);
        assert_eq!(input[0]["call_id"], "c1");
    }

    #[test]
    fn replayed_messages_lose_their_server_ids() {
        let mut c = Conversation::new(vec![], false);
        c.record_response(
            "r",
            &[json!({"type": "message", "id": "msg_1", "role": "assistant", "content": []})],
        );
        assert!(c.next_request().0[0].get("id").is_none());
    }
}
