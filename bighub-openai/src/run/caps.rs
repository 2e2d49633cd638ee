//! What a decision and a tool may add to the conversation and to the record.
//!
//! A decision's reason and better action reach the model, the result and the stores; so does
//! a tool's output. Both are model- or server-controlled and may be of any size, so each is
//! cut to a configured number of bytes with a marker that says how much there was. This
//! module owns the cutting; the limits are [`AgentConfig`](crate::config::AgentConfig) settings.

use bighub_core::Decision;
use serde_json::Value;

/// Cuts `text` to at most `max` bytes (on a character boundary) and appends a marker with the
/// original size; unchanged when it fits.
pub(crate) fn truncate_text(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let original = text.len();
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("…[truncated: {original} bytes, limit {max}]"));
}

/// Cuts the decision's reason and better action, and every string of its raw answer, to
/// `max` bytes each.
pub(crate) fn cap_decision(decision: &mut Decision, max: usize) {
    for text in [&mut decision.reason, &mut decision.better_action]
        .into_iter()
        .flatten()
    {
        truncate_text(text, max);
    }
    cap_strings(&mut decision.raw, max);
}

fn cap_strings(value: &mut Value, max: usize) {
    match value {
        Value::String(s) => truncate_text(s, max),
        Value::Array(items) => items.iter_mut().for_each(|v| cap_strings(v, max)),
        Value::Object(map) => map.values_mut().for_each(|v| cap_strings(v, max)),
        Value::Bool(_) | Value::Null | Value::Number(_) => {}
    }
}

/// A tool output that serializes to more than `max` bytes becomes a string: the start of its
/// JSON text and the marker.
pub(crate) fn cap_output(output: Value, max: usize) -> Value {
    let text = match &output {
        Value::String(s) if s.len() <= max => return output,
        Value::String(s) => s.clone(),
        other => {
            let text = other.to_string();
            if text.len() <= max {
                return output;
            }
            text
        }
    };
    let mut text = text;
    truncate_text(&mut text, max);
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary_with_a_marker() {
        let mut text = "é".repeat(10); // 20 bytes
        truncate_text(&mut text, 5);
        assert_eq!(text, "éé…[truncated: 20 bytes, limit 5]");
        let mut short = "ok".to_owned();
        truncate_text(&mut short, 5);
        assert_eq!(short, "ok");
    }

    #[test]
    fn a_large_output_becomes_its_cut_json_text() {
        let big = json!({"rows": vec!["x"; 1000]});
        let capped = cap_output(big, 32);
        let text = capped.as_str().unwrap();
        assert!(text.starts_with(r#"{"rows":["x","x""#), "{text}");
        assert!(text.ends_with("limit 32]"), "{text}");
        assert_eq!(cap_output(json!({"a": 1}), 32), json!({"a": 1}));
    }

    #[test]
    fn a_decision_reason_is_cut_in_the_typed_field_and_in_raw() {
        let long = "x".repeat(100);
        let mut d = Decision::from_backend_response(&json!({
            "mode": "review", "reason": long, "better_action": long,
            "decision_brain": {"review_reason": long}
        }));
        cap_decision(&mut d, 10);
        assert!(d.reason.as_deref().unwrap().starts_with("xxxxxxxxxx…"));
        assert!(d.better_action.as_deref().unwrap().len() < 60);
        assert!(
            d.raw["decision_brain"]["review_reason"]
                .as_str()
                .unwrap()
                .len()
                < 60
        );
    }
}
