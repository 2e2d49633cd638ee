//! The server-sent event sequence of a streamed response, and its wire framing.
//!
//! Owns the order and shape of events: `response.created` (then `response.queued` for a
//! background response), `response.in_progress`, then per output item
//! `response.output_item.added`, its content events (text parts and deltas, function-call
//! argument deltas, custom-tool input deltas, reasoning summary parts and deltas; none for
//! the other client-side calls, nor for a raw item, announced and done exactly as given),
//! `response.output_item.done`, and
//! finally the terminal event of the turn's end:
//!
//! | turn ends | last event | its `response.status` |
//! |---|---|---|
//! | completed (default) | `response.completed` | `completed` |
//! | [`Turn::incomplete`](super::Turn::incomplete) | `response.incomplete` | `incomplete` |
//! | [`Turn::failed`](super::Turn::failed) | `response.failed` | `failed` |
//! | [`Turn::cancelled`](super::Turn::cancelled) | none: the stream closes cleanly | (`cancelled`) |
//!
//! Every event carries a `sequence_number`. Does not pace or send them (see the server).

use serde_json::{Value, json};

use super::response::{Phase, ResponseMeta, in_progress_item, output_text_part, response_json};
use super::script::{OutputSpec, Turn, TurnEnd};

/// The events of one streamed response.
#[derive(Debug, Clone)]
pub(crate) struct StreamPlan {
    /// Every event up to the last `response.output_item.done`.
    pub events: Vec<Value>,
    /// The terminal event (`response.completed`, `response.incomplete` or `response.failed`);
    /// none for a cancelled response, whose stream just ends.
    pub terminal: Option<Value>,
    /// The finished response object (also the terminal event's `response`).
    pub response: Value,
}

/// Builds every event of the stream, in order.
pub(crate) fn build_events(
    meta: &ResponseMeta,
    items: &[Value],
    turn: &Turn,
    delta_chunks: usize,
) -> StreamPlan {
    let end = turn.end();
    let mut seq = Sequencer::default();
    let created_phase = if meta.validated.background {
        Phase::Queued
    } else {
        Phase::InProgress
    };
    let mut events = vec![seq.event(
        "response.created",
        json!({"response": response_json(meta, created_phase, &[])}),
    )];
    if meta.validated.background {
        events.push(seq.event(
            "response.queued",
            json!({"response": response_json(meta, Phase::Queued, &[])}),
        ));
    }
    events.push(seq.event(
        "response.in_progress",
        json!({"response": response_json(meta, Phase::InProgress, &[])}),
    ));
    for (index, item) in items.iter().enumerate() {
        if let Some(OutputSpec::Raw(_)) = turn.items().get(index) {
            // Sent as given: announced and done, with nothing in between.
            for kind in ["response.output_item.added", "response.output_item.done"] {
                events.push(seq.event(kind, json!({"output_index": index, "item": item})));
            }
        } else {
            let streamed = turn.streamed_item(item);
            item_events(&mut seq, &mut events, index, &streamed, delta_chunks);
        }
    }
    let response = response_json(meta, Phase::Finished(end), items);
    let terminal = match end {
        TurnEnd::Completed => Some("response.completed"),
        TurnEnd::Incomplete { .. } => Some("response.incomplete"),
        TurnEnd::Failed { .. } => Some("response.failed"),
        TurnEnd::Cancelled => None,
    }
    .map(|kind| seq.event(kind, json!({"response": response})));
    StreamPlan {
        events,
        terminal,
        response,
    }
}

/// `event: <type>\ndata: <json>\n\n`.
pub(crate) fn frame(event: &Value) -> String {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    format!("event: {kind}\ndata: {event}\n\n")
}

#[derive(Default)]
struct Sequencer(u64);

impl Sequencer {
    fn event(&mut self, kind: &str, fields: Value) -> Value {
        let mut event = json!({"type": kind, "sequence_number": self.0});
        self.0 += 1;
        if let (Some(event), Value::Object(fields)) = (event.as_object_mut(), fields) {
            event.extend(fields);
        }
        event
    }
}

fn item_events(
    seq: &mut Sequencer,
    events: &mut Vec<Value>,
    index: usize,
    item: &Value,
    delta_chunks: usize,
) {
    let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
    events.push(seq.event(
        "response.output_item.added",
        json!({"output_index": index, "item": in_progress_item(item)}),
    ));
    match item.get("type").and_then(Value::as_str) {
        Some("message") => {
            let text = item["content"][0]["text"].as_str().unwrap_or_default();
            let at = json!({"item_id": id, "output_index": index, "content_index": 0});
            events.push(seq.event(
                "response.content_part.added",
                merge(&at, json!({"part": output_text_part("")})),
            ));
            for delta in split(text, delta_chunks) {
                events.push(seq.event(
                    "response.output_text.delta",
                    merge(&at, json!({"delta": delta, "logprobs": []})),
                ));
            }
            events.push(seq.event(
                "response.output_text.done",
                merge(&at, json!({"text": text, "logprobs": []})),
            ));
            events.push(seq.event(
                "response.content_part.done",
                merge(&at, json!({"part": output_text_part(text)})),
            ));
        }
        Some("function_call") => {
            let arguments = item["arguments"].as_str().unwrap_or_default();
            let at = json!({"item_id": id, "output_index": index});
            for delta in split(arguments, delta_chunks) {
                events.push(seq.event(
                    "response.function_call_arguments.delta",
                    merge(&at, json!({"delta": delta})),
                ));
            }
            events.push(seq.event(
                "response.function_call_arguments.done",
                merge(&at, json!({"arguments": arguments, "name": item["name"]})),
            ));
        }
        Some("custom_tool_call") => {
            let input = item["input"].as_str().unwrap_or_default();
            let at = json!({"item_id": id, "output_index": index});
            for delta in split(input, delta_chunks) {
                events.push(seq.event(
                    "response.custom_tool_call_input.delta",
                    merge(&at, json!({"delta": delta})),
                ));
            }
            events.push(seq.event(
                "response.custom_tool_call_input.done",
                merge(&at, json!({"input": input})),
            ));
        }
        Some("reasoning") => {
            let parts = item["summary"].as_array().cloned().unwrap_or_default();
            for (summary_index, part) in parts.iter().enumerate() {
                let text = part["text"].as_str().unwrap_or_default();
                let at = json!({
                    "item_id": id,
                    "output_index": index,
                    "summary_index": summary_index,
                });
                events.push(seq.event(
                    "response.reasoning_summary_part.added",
                    merge(&at, json!({"part": {"type": "summary_text", "text": ""}})),
                ));
                for delta in split(text, delta_chunks) {
                    events.push(seq.event(
                        "response.reasoning_summary_text.delta",
                        merge(&at, json!({"delta": delta})),
                    ));
                }
                events.push(seq.event(
                    "response.reasoning_summary_text.done",
                    merge(&at, json!({"text": text})),
                ));
                events.push(seq.event(
                    "response.reasoning_summary_part.done",
                    merge(&at, json!({"part": {"type": "summary_text", "text": text}})),
                ));
            }
        }
        _ => {}
    }
    events.push(seq.event(
        "response.output_item.done",
        json!({"output_index": index, "item": item}),
    ));
}

fn merge(base: &Value, extra: Value) -> Value {
    let mut merged = base.clone();
    if let (Some(merged), Value::Object(extra)) = (merged.as_object_mut(), extra) {
        merged.extend(extra);
    }
    merged
}

/// Splits `text` into up to `chunks` non-empty pieces on character boundaries (one empty
/// piece for empty text, so a delta event is always sent).
pub(crate) fn split(text: &str, chunks: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    let size = chars.len().div_ceil(chunks.max(1));
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_every_character_in_order() {
        let pieces = split("héllo wörld", 3);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.concat(), "héllo wörld");
        assert_eq!(split("", 3), vec![String::new()]);
        assert_eq!(split("ab", 5), vec!["a".to_owned(), "b".to_owned()]);
    }
}
