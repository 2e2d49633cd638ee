//! The script file `fake-openai` answers from: its format, and how it becomes turns.
//!
//! Owns reading the JSON list of model turns and rejecting what the format does not allow,
//! naming the turn. Does not serve anything (see `main`) nor decide wire JSON (the library's
//! `Turn` does).

use bighub_testkit::fake_openai::Turn;
use serde_json::{Map, Value};

/// The format, as `--help` and the README show it.
pub(crate) const FORMAT: &str = r#"SCRIPT.json is a JSON list of model turns, answered in order, one per request:

  [
    {"function_call": {"name": "list_pods", "arguments": {"namespace": "prod"}}},
    {"function_calls": [
      {"name": "restart_pod", "arguments": "{\"pod\":\"web-1\"}"},
      {"name": "restart_pod", "arguments": "{\"pod\":\"web-2\"}", "call_id": "call_w2"}
    ]},
    {"text": "Restarted web-1 and web-2."}
  ]

A turn holds "text" (an assistant message), "function_call" (one call), "function_calls"
(several calls in one response, as parallel tool calls come), or text with calls (the
message first). "arguments" is the JSON string the model sends, or a JSON object (sent
as its text); "call_id" is generated unless given. Any other key is an error."#;

/// The turns of a script file's JSON, or what is wrong with it.
pub(crate) fn turns(script: &Value) -> Result<Vec<Turn>, String> {
    let items = script
        .as_array()
        .ok_or("the script is a JSON list of turns")?;
    if items.is_empty() {
        return Err("the script has no turns".to_owned());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| turn(item).map_err(|e| format!("turn {}: {e}", i + 1)))
        .collect()
}

fn turn(item: &Value) -> Result<Turn, String> {
    let fields = item
        .as_object()
        .ok_or("expected an object with \"text\", \"function_call\" or \"function_calls\"")?;
    if let Some(key) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "text" | "function_call" | "function_calls"))
    {
        return Err(format!(
            "unknown key {key:?}: a turn holds \"text\", \"function_call\" or \"function_calls\""
        ));
    }
    let mut turn = Turn::new();
    let mut empty = true;
    if let Some(text) = fields.get("text") {
        let text = text.as_str().ok_or("\"text\" is a string")?;
        turn = turn.message(text);
        empty = false;
    }
    let mut calls: Vec<&Value> = Vec::new();
    if let Some(call) = fields.get("function_call") {
        calls.push(call);
    }
    if let Some(list) = fields.get("function_calls") {
        let list = list
            .as_array()
            .ok_or("\"function_calls\" is a list of calls")?;
        if list.is_empty() {
            return Err("\"function_calls\" is empty".to_owned());
        }
        calls.extend(list);
    }
    for (n, call) in calls.into_iter().enumerate() {
        let call = call
            .as_object()
            .ok_or_else(|| format!("call {}: expected {{\"name\", \"arguments\"}}", n + 1))?;
        turn = add_call(turn, call).map_err(|e| format!("call {}: {e}", n + 1))?;
        empty = false;
    }
    if empty {
        return Err(
            "expected \"text\", \"function_call\" or \"function_calls\" (an empty turn)".to_owned(),
        );
    }
    Ok(turn)
}

fn add_call(turn: Turn, call: &Map<String, Value>) -> Result<Turn, String> {
    if let Some(key) = call
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "arguments" | "call_id"))
    {
        return Err(format!(
            "unknown key {key:?}: a call holds \"name\", \"arguments\" and \"call_id\""
        ));
    }
    let name = call
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or("\"name\" is a non-empty string")?;
    let arguments = match call.get("arguments") {
        Some(Value::String(text)) => text.clone(),
        Some(object @ Value::Object(_)) => object.to_string(),
        None => return Err("\"arguments\" is missing (\"{}\" for none)".to_owned()),
        Some(_) => return Err("\"arguments\" is a JSON string or an object".to_owned()),
    };
    Ok(match call.get("call_id") {
        None => turn.call(name, arguments),
        Some(Value::String(id)) if !id.is_empty() => turn.call_with_id(name, arguments, id),
        Some(_) => return Err("\"call_id\" is a non-empty string".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bighub_testkit::fake_openai::OutputSpec;
    use serde_json::json;

    #[test]
    fn the_documented_example_reads_as_three_turns() {
        let example = FORMAT
            .split_once("\n\n")
            .and_then(|(_, rest)| rest.split_once("\n\n"))
            .map(|(block, _)| block)
            .unwrap();
        let turns = turns(&serde_json::from_str(example).unwrap()).unwrap();
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[1].items().len(), 2);
        let OutputSpec::FunctionCall { arguments, .. } = &turns[0].items()[0] else {
            panic!("a call");
        };
        assert_eq!(arguments, r#"{"namespace":"prod"}"#);
    }

    #[test]
    fn mistakes_name_the_turn() {
        for (script, error) in [
            (json!({}), "the script is a JSON list of turns"),
            (json!([]), "the script has no turns"),
            (json!([{"txt": "hi"}]), "turn 1: unknown key \"txt\""),
            (json!([{"text": "a"}, {}]), "turn 2: expected \"text\""),
            (
                json!([{"function_calls": [{"name": "a", "arguments": 1}]}]),
                "turn 1: call 1: \"arguments\" is a JSON string or an object",
            ),
            (
                json!([{"function_call": {"name": "a"}}]),
                "turn 1: call 1: \"arguments\" is missing",
            ),
        ] {
            let got = turns(&script).err().unwrap();
            assert!(got.starts_with(error), "{got}");
        }
    }
}
