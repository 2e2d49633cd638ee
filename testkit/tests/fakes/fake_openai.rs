//! End-to-end checks of the fake OpenAI Responses API: every validation rule, stateless and
//! stored replay, wire shapes against async-openai 0.43's types, streaming, faults, hold-open.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::responses::{
    CreateResponseArgs, OutputItem, Response, ResponseStreamEvent, Status,
};
use bighub_testkit::fake_openai::{
    EXHAUSTED_REPLY_TEXT, FakeOpenAi, Gate, Reply, RequestView, Turn,
};
use futures::StreamExt;
use serde_json::{Value, json};

const MODEL: &str = "gpt-test";

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post_with_key(fake: &FakeOpenAi, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = http()
        .post(format!("{}/responses", fake.base_url()))
        .json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("request reaches the fake");
    let status = response.status().as_u16();
    let body = response.json().await.expect("JSON body");
    (status, body)
}

async fn post(fake: &FakeOpenAi, body: &Value) -> (u16, Value) {
    post_with_key(fake, Some(fake.api_key()), body).await
}

fn assert_error(reply: &(u16, Value), status: u16, code: Option<&str>, param: Option<&str>) {
    let (got_status, body) = reply;
    assert_eq!(*got_status, status, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"].as_str(), code, "{body}");
    assert_eq!(error["param"].as_str(), param, "{body}");
    assert!(error["message"].is_string(), "{body}");
    assert!(error["type"].is_string(), "{body}");
}

fn message(reply: &(u16, Value)) -> &str {
    reply.1["error"]["message"].as_str().unwrap_or_default()
}

fn strict_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"user": {"type": "string"}, "role": {"type": "string"}},
        "required": ["user", "role"],
        "additionalProperties": false
    })
}

fn grant_tool() -> Value {
    json!({
        "type": "function",
        "name": "grant_role",
        "description": "Grant a role",
        "parameters": strict_schema(),
        "strict": true
    })
}

/// Parses a complete SSE body into `(event name, data)` pairs.
fn parse_sse(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_owned();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            (
                name,
                serde_json::from_str(&data).expect("event data is JSON"),
            )
        })
        .collect()
}

async fn post_stream(fake: &FakeOpenAi, body: &Value) -> (String, Vec<(String, Value)>) {
    let response = http()
        .post(format!("{}/responses", fake.base_url()))
        .bearer_auth(fake.api_key())
        .json(body)
        .send()
        .await
        .expect("stream request");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("stream body");
    (content_type, parse_sse(&text))
}

// ---------------------------------------------------------------- authentication and body

#[tokio::test]
async fn wrong_or_missing_key_is_rejected_with_the_error_envelope() {
    let fake = FakeOpenAi::builder()
        .api_key("sk-right-key-0000")
        .start()
        .await
        .unwrap();
    let body = json!({"model": MODEL, "input": "hi"});

    let missing = post_with_key(&fake, None, &body).await;
    assert_error(&missing, 401, Some("invalid_api_key"), None);
    assert_eq!(missing.1["error"]["type"], "invalid_request_error");

    let wrong = post_with_key(&fake, Some("sk-wrong-secret-9999"), &body).await;
    assert_error(&wrong, 401, Some("invalid_api_key"), None);
    assert!(
        !message(&wrong).contains("wrong-secret"),
        "key echoed: {}",
        message(&wrong)
    );

    let right = post_with_key(&fake, Some("sk-right-key-0000"), &body).await;
    assert_eq!(right.0, 200, "{}", right.1);
    // Rejected requests are recorded too, and Debug never shows the key.
    assert_eq!(fake.request_count(), 3);
    let debug = format!("{fake:?} {:?}", fake.requests());
    assert!(!debug.contains("sk-right-key-0000") && !debug.contains("sk-wrong-secret-9999"));
}

#[tokio::test]
async fn body_shape_rules() {
    let fake = FakeOpenAi::start().await.unwrap();

    let no_model = post(&fake, &json!({"input": "hi"})).await;
    assert_error(
        &no_model,
        400,
        Some("missing_required_parameter"),
        Some("model"),
    );
    assert_eq!(message(&no_model), "Missing required parameter: 'model'.");

    let model_number = post(&fake, &json!({"model": 4, "input": "hi"})).await;
    assert_error(&model_number, 400, Some("invalid_type"), Some("model"));

    let no_input = post(&fake, &json!({"model": MODEL})).await;
    assert_error(
        &no_input,
        400,
        Some("missing_required_parameter"),
        Some("input"),
    );

    let unknown_item = post(
        &fake,
        &json!({"model": MODEL, "input": [{"type": "telepathy", "content": "x"}]}),
    )
    .await;
    assert_error(
        &unknown_item,
        400,
        Some("invalid_value"),
        Some("input[0].type"),
    );

    let bad_role = post(
        &fake,
        &json!({"model": MODEL, "input": [{"role": "robot", "content": "x"}]}),
    )
    .await;
    assert_error(&bad_role, 400, Some("invalid_value"), Some("input[0].role"));

    let call_without_name = post(
        &fake,
        &json!({"model": MODEL, "input": [
            {"type": "function_call", "call_id": "call_1", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "ok"}
        ]}),
    )
    .await;
    assert_error(
        &call_without_name,
        400,
        Some("missing_required_parameter"),
        Some("input[0].name"),
    );

    let bad_include = post(
        &fake,
        &json!({"model": MODEL, "input": "hi", "include": ["everything"]}),
    )
    .await;
    assert_error(&bad_include, 400, Some("invalid_value"), Some("include[0]"));

    let not_json = http()
        .post(format!("{}/responses", fake.base_url()))
        .bearer_auth(fake.api_key())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status().as_u16(), 400);

    // Every accepted input form: string, easy message, typed message with parts.
    let ok = post(
        &fake,
        &json!({"model": MODEL, "input": [
            {"role": "developer", "content": "be brief"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "message", "role": "assistant", "id": "msg_unknown_to_the_server",
             "content": [{"type": "output_text", "text": "hello"}]}
        ], "store": false}),
    )
    .await;
    assert_eq!(
        ok.0, 200,
        "replayed message ids must not be looked up: {}",
        ok.1
    );
}

#[tokio::test]
async fn unknown_routes_answer_404_in_the_envelope() {
    let fake = FakeOpenAi::start().await.unwrap();
    let response = http()
        .post(format!("{}/chat/completions", fake.base_url()))
        .bearer_auth(fake.api_key())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/chat/completions")
    );
}

// ---------------------------------------------------------------- tools

#[tokio::test]
async fn chat_completions_shaped_tools_are_rejected() {
    let fake = FakeOpenAi::start().await.unwrap();
    let reply = post(
        &fake,
        &json!({"model": MODEL, "input": "hi", "tools": [{
            "type": "function",
            "function": {"name": "grant_role", "parameters": strict_schema()}
        }]}),
    )
    .await;
    assert_error(
        &reply,
        400,
        Some("missing_required_parameter"),
        Some("tools[0].name"),
    );
    assert_eq!(
        message(&reply),
        "Missing required parameter: 'tools[0].name'."
    );
}

#[tokio::test]
async fn strict_tools_need_strict_compliant_schemas() {
    let fake = FakeOpenAi::start().await.unwrap();
    let loose = json!({
        "type": "object",
        "properties": {"user": {"type": "string"}, "role": {"type": "string"}},
        "required": ["user"]
    });
    let tool = |schema: &Value, strict: bool| {
        json!({"model": MODEL, "input": "hi", "tools": [{
            "type": "function", "name": "grant_role", "parameters": schema, "strict": strict
        }]})
    };

    let rejected = post(&fake, &tool(&loose, true)).await;
    assert_error(
        &rejected,
        400,
        Some("invalid_function_parameters"),
        Some("tools[0].parameters"),
    );
    assert!(
        message(&rejected).starts_with("Invalid schema for function 'grant_role': "),
        "{}",
        message(&rejected)
    );
    assert!(message(&rejected).contains("additionalProperties"));

    let missing_required = json!({
        "type": "object",
        "properties": {"user": {"type": "string"}, "role": {"type": "string"}},
        "required": ["user"],
        "additionalProperties": false
    });
    let rejected = post(&fake, &tool(&missing_required, true)).await;
    assert_error(
        &rejected,
        400,
        Some("invalid_function_parameters"),
        Some("tools[0].parameters"),
    );
    assert!(
        message(&rejected).contains("Missing 'role'"),
        "{}",
        message(&rejected)
    );

    // The same loose schema is fine when the tool is not strict.
    assert_eq!(post(&fake, &tool(&loose, false)).await.0, 200);
    assert_eq!(post(&fake, &tool(&strict_schema(), true)).await.0, 200);
}

#[tokio::test]
async fn duplicate_and_malformed_tool_names_are_rejected() {
    let fake = FakeOpenAi::start().await.unwrap();
    let duplicate = post(
        &fake,
        &json!({"model": MODEL, "input": "hi", "tools": [grant_tool(), grant_tool()]}),
    )
    .await;
    assert_error(&duplicate, 400, Some("duplicate_tool_name"), Some("tools"));
    assert!(message(&duplicate).contains("grant_role"));

    let bad_name = post(
        &fake,
        &json!({"model": MODEL, "input": "hi", "tools": [{"type": "function", "name": "grant role"}]}),
    )
    .await;
    assert_error(&bad_name, 400, Some("invalid_value"), Some("tools[0].name"));

    let unknown_choice = post(
        &fake,
        &json!({"model": MODEL, "input": "hi", "tools": [grant_tool()],
                "tool_choice": {"type": "function", "name": "deploy"}}),
    )
    .await;
    assert_error(&unknown_choice, 400, None, Some("tool_choice"));
}

// ---------------------------------------------------------------- stateless replay

#[tokio::test]
async fn stateless_multi_turn_replay_passes() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::new().reasoning(["need the grant tool"]).call_with_id(
        "grant_role",
        r#"{"user":"ana","role":"admin"}"#,
        "call_grant_1",
    ));
    fake.push(Turn::text("Granted."));

    let user = json!({"role": "user", "content": "make ana admin"});
    let first = post(
        &fake,
        &json!({"model": MODEL, "input": [user], "tools": [grant_tool()], "store": false,
                "include": ["reasoning.encrypted_content"]}),
    )
    .await;
    assert_eq!(first.0, 200, "{}", first.1);
    let output = first.1["output"].as_array().unwrap().clone();
    assert_eq!(output[0]["type"], "reasoning");
    assert!(output[0]["encrypted_content"].is_string());
    assert!(output[0]["id"].as_str().unwrap().starts_with("rs_"));
    assert_eq!(output[1]["type"], "function_call");
    assert!(output[1]["id"].as_str().unwrap().starts_with("fc_"));
    assert_eq!(output[1]["call_id"], "call_grant_1");
    assert_eq!(output[1]["status"], "completed");
    assert!(first.1["id"].as_str().unwrap().starts_with("resp_"));

    // Replay the whole conversation: input, the model's output items, the tool output.
    let mut input = vec![user];
    input.extend(output);
    input.push(
        json!({"type": "function_call_output", "call_id": "call_grant_1", "output": "granted"}),
    );
    let second = post(
        &fake,
        &json!({"model": MODEL, "input": input, "tools": [grant_tool()], "store": false,
                "include": ["reasoning.encrypted_content"]}),
    )
    .await;
    assert_eq!(second.0, 200, "{}", second.1);
    assert_eq!(second.1["output"][0]["content"][0]["text"], "Granted.");
    assert_eq!(second.1["store"], false);
    assert!(
        fake.stored_response_ids().is_empty(),
        "store:false must not store"
    );
}

#[tokio::test]
async fn every_call_needs_its_output_and_every_output_its_call() {
    let fake = FakeOpenAi::start().await.unwrap();
    let call = json!({"type": "function_call", "call_id": "call_a", "name": "grant_role", "arguments": "{}"});
    let output = |id: &str| json!({"type": "function_call_output", "call_id": id, "output": "ok"});

    let no_output = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": [{"role": "user", "content": "x"}, call]}),
    )
    .await;
    assert_error(&no_output, 400, None, Some("input"));
    assert_eq!(
        message(&no_output),
        "No tool output found for function call call_a."
    );

    let orphan = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": [call, output("call_a"), output("call_b")]}),
    )
    .await;
    assert_error(&orphan, 400, None, Some("input"));
    assert_eq!(
        message(&orphan),
        "No tool call found for function call output with call_id call_b."
    );
    // Invalid requests do not consume the script: the exhausted reply is still the default.
    assert_eq!(fake.pending_replies(), 0);
}

#[tokio::test]
async fn previous_response_id_works_only_for_stored_responses() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push_all([
        Turn::function_call("grant_role", r#"{"user":"ana","role":"admin"}"#),
        Turn::text("unstored"),
        Turn::text("Granted."),
    ]);

    // `store` absent: the real API's default is to store.
    let first = post(
        &fake,
        &json!({"model": MODEL, "input": "make ana admin", "tools": [grant_tool()]}),
    )
    .await;
    assert_eq!(first.0, 200);
    assert_eq!(first.1["store"], true);
    let first_id = first.1["id"].as_str().unwrap().to_owned();
    let call_id = first.1["output"][0]["call_id"].as_str().unwrap().to_owned();
    assert_eq!(fake.stored_response_ids(), vec![first_id.clone()]);

    let unstored = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "store": false}),
    )
    .await;
    assert_eq!(unstored.0, 200);
    let unstored_id = unstored.1["id"].as_str().unwrap();

    let against_unstored = post(
        &fake,
        &json!({"model": MODEL, "input": "more", "previous_response_id": unstored_id, "store": false}),
    )
    .await;
    assert_error(
        &against_unstored,
        400,
        Some("previous_response_not_found"),
        Some("previous_response_id"),
    );
    assert_eq!(
        message(&against_unstored),
        format!("Previous response with id '{unstored_id}' not found.")
    );

    // The stored context (with its function call) is prepended: the output alone is enough...
    let chained = post(
        &fake,
        &json!({"model": MODEL, "previous_response_id": first_id, "tools": [grant_tool()],
                "input": [{"type": "function_call_output", "call_id": call_id, "output": "done"}]}),
    )
    .await;
    assert_eq!(chained.0, 200, "{}", chained.1);
    assert_eq!(chained.1["previous_response_id"], first_id);
    let seen = fake.last_request().unwrap();
    assert_eq!(seen.path, "/v1/responses");
    // ...and omitting it is caught against the combined context.
    let missing = post(
        &fake,
        &json!({"model": MODEL, "previous_response_id": first_id, "input": "forgot the output"}),
    )
    .await;
    assert_error(&missing, 400, None, Some("input"));
    assert!(message(&missing).contains(&call_id));

    // A stored response can be retrieved.
    let retrieved = http()
        .get(format!("{}/responses/{first_id}", fake.base_url()))
        .bearer_auth(fake.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(retrieved.status().as_u16(), 200);
    let retrieved: Response = retrieved.json().await.unwrap();
    assert_eq!(retrieved.id, first_id);
}

#[tokio::test]
async fn reasoning_replay_needs_encrypted_content_under_store_false() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::new().reasoning(["thinking"]).message("hi"));
    fake.push(Turn::new().reasoning(["thinking"]).message("hi"));

    // Without `include`, no blob is issued.
    let plain = post(
        &fake,
        &json!({"model": MODEL, "input": "a", "store": false}),
    )
    .await;
    assert!(plain.1["output"][0].get("encrypted_content").is_none());
    let bare_reasoning = plain.1["output"][0].clone();
    let rs_id = bare_reasoning["id"].as_str().unwrap().to_owned();

    let replay_bare = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": [{"role": "user", "content": "a"}, bare_reasoning]}),
    )
    .await;
    assert_error(&replay_bare, 404, None, Some("input"));
    assert_eq!(
        message(&replay_bare),
        format!(
            "Item with id '{rs_id}' not found. Items are not persisted when `store` is set to \
             false. Try again with `store` set to true, or remove this item from your input."
        )
    );

    let with_blob = post(
        &fake,
        &json!({"model": MODEL, "input": "a", "store": false, "include": ["reasoning.encrypted_content"]}),
    )
    .await;
    let reasoning = with_blob.1["output"][0].clone();
    assert!(reasoning["encrypted_content"].is_string());
    let replay = post(
        &fake,
        &json!({"model": MODEL, "store": false, "include": ["reasoning.encrypted_content"],
                "input": [{"role": "user", "content": "a"}, reasoning.clone()]}),
    )
    .await;
    assert_eq!(replay.0, 200, "{}", replay.1);

    let mut forged = reasoning;
    forged["encrypted_content"] = json!("gAAAAB-not-issued");
    let forged_reply = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": [{"role": "user", "content": "a"}, forged]}),
    )
    .await;
    assert_error(
        &forged_reply,
        400,
        Some("invalid_encrypted_content"),
        Some("input[1].encrypted_content"),
    );
}

#[tokio::test]
async fn item_references_resolve_only_stored_items() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::text("stored answer"));
    let stored = post(&fake, &json!({"model": MODEL, "input": "a", "store": true})).await;
    let msg_id = stored.1["output"][0]["id"].as_str().unwrap().to_owned();
    assert!(msg_id.starts_with("msg_"));

    let unknown = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": [{"type": "item_reference", "id": "msg_nowhere"}]}),
    )
    .await;
    assert_error(&unknown, 404, None, Some("input"));
    assert!(
        message(&unknown)
            .starts_with("Item with id 'msg_nowhere' not found. Items are not persisted")
    );

    let known = post(
        &fake,
        &json!({"model": MODEL, "input": [{"type": "item_reference", "id": msg_id}]}),
    )
    .await;
    assert_eq!(known.0, 200, "{}", known.1);
}

// ---------------------------------------------------------------- wire shapes

#[tokio::test]
async fn responses_deserialize_into_async_openai_types() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(
        Turn::new()
            .reasoning(["plan"])
            .call("grant_role", r#"{"user":"ana","role":"admin"}"#)
            .message("Working on it."),
    );
    let (status, body) = post(
        &fake,
        &json!({"model": MODEL, "input": "go", "tools": [grant_tool()], "store": false,
                "include": ["reasoning.encrypted_content"], "instructions": "be careful",
                "temperature": 0.2}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body.get("output_text").is_none(),
        "the REST API does not send output_text"
    );
    assert_eq!(body["object"], "response");
    assert_eq!(body["tools"][0]["name"], "grant_role");
    assert_eq!(body["instructions"], "be careful");

    let response: Response = serde_json::from_value(body).expect("async-openai Response");
    assert_eq!(response.model, MODEL);
    assert_eq!(response.output.len(), 3);
    assert!(
        matches!(&response.output[0], OutputItem::Reasoning(r) if r.encrypted_content.is_some())
    );
    match &response.output[1] {
        OutputItem::FunctionCall(call) => {
            assert_eq!(call.name, "grant_role");
            assert!(call.call_id.starts_with("call_"));
            assert!(call.id.as_deref().unwrap().starts_with("fc_"));
        }
        other => panic!("expected a function call, got {other:?}"),
    }
    assert!(matches!(&response.output[2], OutputItem::Message(_)));
    assert!(response.usage.unwrap().total_tokens > 0);

    let with_text = FakeOpenAi::builder()
        .include_output_text(true)
        .start()
        .await
        .unwrap();
    with_text.push(Turn::text("one").message("two"));
    let (_, body) = post(&with_text, &json!({"model": MODEL, "input": "x"})).await;
    assert_eq!(body["output_text"], "onetwo");
    let _: Response = serde_json::from_value(body).expect("still deserializes");
}

#[tokio::test]
async fn every_sse_event_deserializes_and_follows_the_real_sequence() {
    let fake = FakeOpenAi::builder().delta_chunks(4).start().await.unwrap();
    let args = r#"{"user":"ana","role":"admin"}"#;
    fake.push(
        Turn::new()
            .reasoning(["plan it"])
            .message("I will grant the role now.")
            .call("grant_role", args),
    );
    let (content_type, events) = post_stream(
        &fake,
        &json!({"model": MODEL, "input": "go", "stream": true, "tools": [grant_tool()],
                "include": ["reasoning.encrypted_content"], "store": false}),
    )
    .await;
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );

    let mut text = String::new();
    let mut arguments = String::new();
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"].as_str(), Some(name.as_str()));
        assert_eq!(data["sequence_number"], json!(i));
        let event: ResponseStreamEvent = serde_json::from_value(data.clone())
            .unwrap_or_else(|e| panic!("event {name} does not deserialize: {e}\n{data}"));
        match event {
            ResponseStreamEvent::ResponseOutputTextDelta(d) => text.push_str(&d.delta),
            ResponseStreamEvent::ResponseFunctionCallArgumentsDelta(d) => {
                arguments.push_str(&d.delta)
            }
            ResponseStreamEvent::ResponseFunctionCallArgumentsDone(d) => {
                assert_eq!(d.arguments, args);
                assert_eq!(d.name.as_deref(), Some("grant_role"));
            }
            _ => {}
        }
    }
    assert_eq!(text, "I will grant the role now.");
    assert_eq!(arguments, args);

    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[..2], ["response.created", "response.in_progress"]);
    assert_eq!(names.last(), Some(&"response.completed"));
    for expected in [
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.function_call_arguments.done",
    ] {
        assert!(names.contains(&expected), "missing {expected}");
    }
    let count = |n: &str| names.iter().filter(|x| **x == n).count();
    assert_eq!(count("response.output_item.added"), 3);
    assert_eq!(count("response.output_item.done"), 3);
    assert!(
        count("response.output_text.delta") > 1,
        "text must come in several deltas"
    );
    assert!(count("response.function_call_arguments.delta") > 1);

    let completed = &events.last().unwrap().1["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["output"].as_array().unwrap().len(), 3);
    assert!(completed["output"][0]["encrypted_content"].is_string());
    let recorded = fake.last_response().unwrap();
    assert!(recorded.streamed && recorded.events.len() == events.len());
    assert_eq!(recorded.body.as_ref(), Some(completed));
}

#[tokio::test]
async fn a_scripted_failure_ends_the_stream_with_response_failed() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::text("partial").failed("server_error", "model crashed"));
    fake.push(Turn::text("partial").failed("server_error", "model crashed"));
    let (_, events) = post_stream(
        &fake,
        &json!({"model": MODEL, "input": "x", "stream": true}),
    )
    .await;
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "response.failed");
    let event: ResponseStreamEvent = serde_json::from_value(data.clone()).unwrap();
    let ResponseStreamEvent::ResponseFailed(failed) = event else {
        panic!("expected response.failed")
    };
    assert_eq!(failed.response.error.unwrap().message, "model crashed");

    let (status, body) = post(&fake, &json!({"model": MODEL, "input": "x"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "failed");
    assert!(
        fake.stored_response_ids().is_empty(),
        "failed responses are not stored"
    );
}

#[tokio::test]
async fn an_incomplete_turn_answers_status_incomplete_with_its_truncated_call() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(
        Turn::new()
            .message("Looking the user up.")
            .call("lookup_user", r#"{"user_id": "al"#)
            .incomplete("max_output_tokens"),
    );
    let (status, body) = post(
        &fake,
        &json!({"model": MODEL, "input": "who is al?", "max_output_tokens": 16}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "incomplete");
    assert_eq!(
        body["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert!(body["error"].is_null() && body["completed_at"].is_null());
    assert_eq!(body["output"][0]["status"], "completed");
    let call = &body["output"][1];
    assert_eq!(call["arguments"], r#"{"user_id": "al"#);
    assert_eq!(
        call["status"], "incomplete",
        "the item cut off is incomplete"
    );
    let response: Response = serde_json::from_value(body.clone()).expect("async-openai Response");
    assert_eq!(response.status, Status::Incomplete);
    assert_eq!(
        response.incomplete_details.unwrap().reason,
        "max_output_tokens"
    );
    // An incomplete response is stored and can be continued.
    assert_eq!(
        fake.stored_response_ids(),
        vec![body["id"].as_str().unwrap().to_owned()]
    );
}

#[tokio::test]
async fn an_incomplete_stream_ends_with_response_incomplete() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(
        Turn::function_call("lookup_user", r#"{"user_id": "al"#).incomplete("max_output_tokens"),
    );
    let (_, events) = post_stream(
        &fake,
        &json!({"model": MODEL, "input": "x", "stream": true, "store": false}),
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert!(!names.contains(&"response.completed"), "{names:?}");
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "response.incomplete");
    let event: ResponseStreamEvent = serde_json::from_value(data.clone()).unwrap();
    let ResponseStreamEvent::ResponseIncomplete(incomplete) = event else {
        panic!("expected response.incomplete")
    };
    assert_eq!(incomplete.response.status, Status::Incomplete);
    assert_eq!(
        incomplete.response.incomplete_details.unwrap().reason,
        "max_output_tokens"
    );
    let done = events
        .iter()
        .find(|(n, _)| n == "response.function_call_arguments.done")
        .unwrap();
    assert_eq!(done.1["arguments"], r#"{"user_id": "al"#);
    assert_eq!(
        fake.last_response().unwrap().body.unwrap()["status"],
        "incomplete"
    );
}

#[tokio::test]
async fn a_cancelled_turn_answers_status_cancelled_and_its_stream_has_no_terminal_event() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::text("Starting the deploy").cancelled());
    fake.push(Turn::text("Starting the deploy").cancelled());

    let (status, body) = post(&fake, &json!({"model": MODEL, "input": "x"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "cancelled");
    assert_eq!(
        body["output"][0]["content"][0]["text"],
        "Starting the deploy"
    );
    let response: Response = serde_json::from_value(body).unwrap();
    assert_eq!(response.status, Status::Cancelled);

    // The streaming API has no `response.cancelled` event: the stream just ends, cleanly.
    let (_, events) = post_stream(
        &fake,
        &json!({"model": MODEL, "input": "x", "stream": true}),
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names.last(),
        Some(&"response.output_item.done"),
        "{names:?}"
    );
    for (_, data) in &events {
        let _: ResponseStreamEvent = serde_json::from_value(data.clone()).unwrap();
    }
    let recorded = fake.last_response().unwrap();
    assert!(!recorded.dropped);
    assert_eq!(recorded.body.unwrap()["status"], "cancelled");
    assert!(
        fake.stored_response_ids().is_empty(),
        "cancelled responses are not continued"
    );
}

#[tokio::test]
async fn a_response_can_come_without_status() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::text("Done.").omit_status());
    fake.push(Turn::text("Done.").omit_status());

    let (status, body) = post(&fake, &json!({"model": MODEL, "input": "x"})).await;
    assert_eq!(status, 200);
    assert!(body.get("status").is_none(), "{body}");
    assert_eq!(body["output"][0]["content"][0]["text"], "Done.");
    assert!(body["usage"].is_object());
    let parsed = serde_json::from_value::<Response>(body);
    assert!(
        parsed.unwrap_err().to_string().contains("status"),
        "async-openai requires status"
    );

    let (_, events) = post_stream(
        &fake,
        &json!({"model": MODEL, "input": "x", "stream": true}),
    )
    .await;
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "response.completed");
    assert!(data["response"].get("status").is_none(), "{data}");
    assert!(serde_json::from_value::<ResponseStreamEvent>(data.clone()).is_err());
    // Only the finished response lacks it.
    assert_eq!(events[0].1["response"]["status"], "in_progress");
}

#[tokio::test]
async fn raw_output_items_are_sent_as_given() {
    let fake = FakeOpenAi::start().await.unwrap();
    let raw = json!({"type": "telemetry_blip", "id": "tb_1", "status": "completed", "level": 3});
    fake.push(Turn::new().raw_item(raw.clone()).message("Done."));
    fake.push(Turn::new().raw_item(raw.clone()).message("Done."));

    let (status, body) = post(&fake, &json!({"model": MODEL, "input": "x"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["output"][0], raw);
    assert_eq!(body["output"][1]["type"], "message");
    assert!(
        serde_json::from_value::<Response>(body).is_err(),
        "async-openai's typed Response cannot parse an unknown item type"
    );

    let (_, events) = post_stream(
        &fake,
        &json!({"model": MODEL, "input": "x", "stream": true}),
    )
    .await;
    let for_raw: Vec<&(String, Value)> = events
        .iter()
        .filter(|(_, data)| data["output_index"] == 0)
        .collect();
    assert_eq!(for_raw.len(), 2, "{for_raw:?}");
    assert_eq!(for_raw[0].0, "response.output_item.added");
    assert_eq!(for_raw[1].0, "response.output_item.done");
    assert_eq!(for_raw[0].1["item"], raw);
    assert_eq!(for_raw[1].1["item"], raw);
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "response.completed");
    assert_eq!(data["response"]["output"][0], raw);
}

#[tokio::test]
async fn async_openai_client_talks_to_the_fake() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::text("Hello from the fake."));
    fake.push(Turn::function_call(
        "grant_role",
        r#"{"user":"ana","role":"admin"}"#,
    ));
    let client = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(fake.base_url())
            .with_api_key(fake.api_key()),
    );

    let request = CreateResponseArgs::default()
        .model(MODEL)
        .input("hello")
        .store(false)
        .build()
        .unwrap();
    let response = client.responses().create(request).await.expect("create");
    match &response.output[0] {
        OutputItem::Message(m) => assert_eq!(m.content.len(), 1),
        other => panic!("expected a message, got {other:?}"),
    }
    let sent = fake.last_request().unwrap();
    assert_eq!(sent.body.unwrap()["store"], false);

    // With async-openai's `byot` feature (enabled in this workspace) `create_stream` does
    // not set `stream: true` itself, so the request says it.
    let request = CreateResponseArgs::default()
        .model(MODEL)
        .input("grant")
        .stream(true)
        .build()
        .unwrap();
    let mut stream = client
        .responses()
        .create_stream(request)
        .await
        .expect("create_stream");
    let mut kinds = Vec::new();
    while let Some(event) = stream.next().await {
        let event = event.expect("every event parses in the client");
        kinds.push(match event {
            ResponseStreamEvent::ResponseCompleted(_) => "completed",
            ResponseStreamEvent::ResponseFunctionCallArgumentsDone(_) => "args_done",
            _ => "other",
        });
    }
    assert_eq!(kinds.last(), Some(&"completed"));
    assert!(kinds.contains(&"args_done"));

    let wrong_key = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(fake.base_url())
            .with_api_key("sk-not-the-key"),
    );
    let request = CreateResponseArgs::default()
        .model(MODEL)
        .input("x")
        .build()
        .unwrap();
    let error = wrong_key.responses().create(request).await.unwrap_err();
    assert!(error.to_string().contains("invalid_api_key"), "{error}");
}

// ---------------------------------------------------------------- client-side calls

fn client_side_turn() -> Turn {
    Turn::new()
        .computer_call(json!({"type": "click", "button": "left", "x": 10, "y": 20}))
        .local_shell_call(["kubectl", "delete", "ns", "prod"])
        .shell_call(["terraform apply -auto-approve"])
        .with_call_id("call_shell")
        .apply_patch_call(json!({"type": "update_file", "path": "main.tf", "diff": "-a\n+b\n"}))
        .custom_tool_call("run_sql", "DROP TABLE users;")
}

#[tokio::test]
async fn client_side_calls_come_in_the_real_shapes() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(client_side_turn());
    let (status, body) = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "store": false}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let output = body["output"].as_array().unwrap();
    let expected = [
        ("computer_call", "cu_"),
        ("local_shell_call", "lsh_"),
        ("shell_call", "sh_"),
        ("apply_patch_call", "apc_"),
        ("custom_tool_call", "ctc_"),
    ];
    assert_eq!(output.len(), expected.len());
    for (item, (kind, prefix)) in output.iter().zip(expected) {
        assert_eq!(item["type"], kind);
        assert!(item["id"].as_str().unwrap().starts_with(prefix), "{item}");
        assert!(
            item["call_id"].as_str().unwrap().starts_with("call_"),
            "{item}"
        );
        assert_eq!(item["status"], "completed");
    }
    assert_eq!(output[0]["action"]["type"], "click");
    assert_eq!(output[0]["pending_safety_checks"], json!([]));
    assert_eq!(output[1]["action"]["type"], "exec");
    assert_eq!(
        output[1]["action"]["command"],
        json!(["kubectl", "delete", "ns", "prod"])
    );
    assert_eq!(output[2]["call_id"], "call_shell");
    assert_eq!(
        output[2]["action"]["commands"],
        json!(["terraform apply -auto-approve"])
    );
    assert_eq!(output[3]["operation"]["path"], "main.tf");
    assert_eq!(output[4]["name"], "run_sql");
    assert_eq!(output[4]["input"], "DROP TABLE users;");

    let response: Response = serde_json::from_value(body.clone()).expect("async-openai Response");
    assert!(matches!(&response.output[0], OutputItem::ComputerCall(_)));
    assert!(
        matches!(&response.output[1], OutputItem::LocalShellCall(c) if c.action.command.len() == 4)
    );
    assert!(matches!(&response.output[2], OutputItem::ShellCall(c) if c.call_id == "call_shell"));
    assert!(matches!(&response.output[3], OutputItem::ApplyPatchCall(_)));
    assert!(matches!(&response.output[4], OutputItem::CustomToolCall(c) if c.name == "run_sql"));

    // Cut off mid-call: an apply_patch_call has no `incomplete` status, so it stays in progress.
    fake.push(
        Turn::new()
            .apply_patch_call(json!({"type": "delete_file", "path": "main.tf"}))
            .incomplete("max_output_tokens"),
    );
    let (_, body) = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "store": false}),
    )
    .await;
    assert_eq!(body["output"][0]["status"], "in_progress");
    let response: Response = serde_json::from_value(body).expect("async-openai Response");
    assert!(matches!(&response.output[0], OutputItem::ApplyPatchCall(_)));
}

#[tokio::test]
async fn client_side_calls_stream_as_items_added_and_done() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(client_side_turn());
    let (_, events) = post_stream(
        &fake,
        &json!({"model": MODEL, "input": "x", "stream": true, "store": false}),
    )
    .await;
    let mut input = String::new();
    for (name, data) in &events {
        let event: ResponseStreamEvent = serde_json::from_value(data.clone())
            .unwrap_or_else(|e| panic!("event {name} does not deserialize: {e}\n{data}"));
        match event {
            ResponseStreamEvent::ResponseCustomToolCallInputDelta(d) => input.push_str(&d.delta),
            ResponseStreamEvent::ResponseCustomToolCallInputDone(d) => {
                assert_eq!(d.input, "DROP TABLE users;");
                assert_eq!(d.output_index, 4);
            }
            _ => {}
        }
    }
    assert_eq!(input, "DROP TABLE users;");
    let added: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "response.output_item.added")
        .map(|(_, d)| &d["item"])
        .collect();
    let done: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "response.output_item.done")
        .map(|(_, d)| &d["item"])
        .collect();
    assert_eq!(added.len(), 5);
    assert_eq!(done.len(), 5);
    for (added, done) in added.iter().zip(&done) {
        assert_eq!(added["status"], "in_progress");
        assert_eq!(done["status"], "completed");
        assert_eq!(added["id"], done["id"]);
        assert_eq!(added["call_id"], done["call_id"]);
    }
    assert_eq!(added[4]["input"], "");
    let completed = &events.last().unwrap().1["response"];
    assert_eq!(completed["output"].as_array().unwrap().len(), 5);
}

/// An output item of `kind` answering `call_id`, in a shape the real API accepts.
fn output_for(kind: &str, call_id: &str) -> Value {
    match kind {
        "computer_call" => json!({"type": "computer_call_output", "call_id": call_id,
            "output": {"type": "computer_screenshot", "image_url": "data:image/png;base64,AAAA"},
            "acknowledged_safety_checks": []}),
        "local_shell_call" => json!({"type": "local_shell_call_output", "id": call_id,
            "call_id": call_id, "output": "{\"stdout\": \"\", \"exit_code\": 1}"}),
        "shell_call" => json!({"type": "shell_call_output", "call_id": call_id,
            "output": [{"stdout": "", "stderr": "blocked", "outcome": {"type": "exit", "exit_code": 1}},
                       {"stdout": "", "stderr": "", "outcome": {"type": "timeout"}}],
            "max_output_length": 4096}),
        "apply_patch_call" => json!({"type": "apply_patch_call_output", "call_id": call_id,
            "status": "failed", "output": "not applied: blocked by policy"}),
        "custom_tool_call" => json!({"type": "custom_tool_call_output", "call_id": call_id,
            "output": [{"type": "input_text", "text": "blocked by policy"}]}),
        _ => json!({"type": "function_call_output", "call_id": call_id, "output": "ok"}),
    }
}

#[tokio::test]
async fn client_side_calls_replay_statelessly_with_their_outputs() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(client_side_turn());
    let first = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "store": false}),
    )
    .await;
    let calls = first.1["output"].as_array().unwrap().clone();

    let mut input = vec![json!({"role": "user", "content": "x"})];
    for call in &calls {
        input.push(call.clone());
        input.push(output_for(
            call["type"].as_str().unwrap(),
            call["call_id"].as_str().unwrap(),
        ));
    }
    let replay = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": input}),
    )
    .await;
    assert_eq!(replay.0, 200, "{}", replay.1);

    // A local shell call may also be answered by a function_call_output.
    let shell = calls[1].clone();
    let answered_as_function = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": [
            shell, output_for("function_call", shell["call_id"].as_str().unwrap())
        ]}),
    )
    .await;
    assert_eq!(answered_as_function.0, 200, "{}", answered_as_function.1);
}

#[tokio::test]
async fn every_client_side_call_needs_its_output_and_every_output_its_call() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(client_side_turn().with_call_id("call_sql"));
    let first = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "store": false}),
    )
    .await;
    let calls = first.1["output"].as_array().unwrap().clone();
    let spelled = [
        ("computer call", "computer call output"),
        ("local shell call", "local shell call output"),
        ("shell call", "shell call output"),
        ("apply patch call", "apply patch call output"),
        ("custom tool call", "custom tool call output"),
    ];
    for (call, (call_noun, output_noun)) in calls.iter().zip(spelled) {
        let kind = call["type"].as_str().unwrap();
        let call_id = call["call_id"].as_str().unwrap();

        let unanswered = post(
            &fake,
            &json!({"model": MODEL, "store": false, "input": [{"role": "user", "content": "x"}, call]}),
        )
        .await;
        assert_error(&unanswered, 400, None, Some("input"));
        assert_eq!(
            message(&unanswered),
            format!("No tool output found for {call_noun} {call_id}.")
        );

        let orphan = post(
            &fake,
            &json!({"model": MODEL, "store": false, "input": [output_for(kind, "call_nowhere")]}),
        )
        .await;
        assert_error(&orphan, 400, None, Some("input"));
        assert_eq!(
            message(&orphan),
            format!("No tool call found for {output_noun} with call_id call_nowhere.")
        );
    }

    // An output of another type does not answer a call: the call is reported first.
    let wrong_type = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": [
            calls[4], output_for("function_call", "call_sql")
        ]}),
    )
    .await;
    assert_error(&wrong_type, 400, None, Some("input"));
    assert_eq!(
        message(&wrong_type),
        "No tool output found for custom tool call call_sql."
    );

    // The rule holds over the stored context of previous_response_id too.
    fake.push(Turn::new().shell_call(["ls"]).with_call_id("call_ls"));
    let stored = post(&fake, &json!({"model": MODEL, "input": "x"})).await;
    let id = stored.1["id"].as_str().unwrap();
    let forgot = post(
        &fake,
        &json!({"model": MODEL, "previous_response_id": id, "input": "and?"}),
    )
    .await;
    assert_eq!(
        message(&forgot),
        "No tool output found for shell call call_ls."
    );
    let answered = post(
        &fake,
        &json!({"model": MODEL, "previous_response_id": id, "input": [output_for("shell_call", "call_ls")]}),
    )
    .await;
    assert_eq!(answered.0, 200, "{}", answered.1);
}

#[tokio::test]
async fn client_side_call_items_are_validated_as_the_api_does() {
    let fake = FakeOpenAi::start().await.unwrap();
    let call = |kind: &str| -> Value {
        match kind {
            "computer_call" => json!({"type": "computer_call", "id": "cu_1", "call_id": "call_1",
                "action": {"type": "screenshot"}, "pending_safety_checks": [], "status": "completed"}),
            "local_shell_call" => {
                json!({"type": "local_shell_call", "id": "lsh_1", "call_id": "call_1",
                "action": {"type": "exec", "command": ["ls"], "env": {}}, "status": "completed"})
            }
            "shell_call" => json!({"type": "shell_call", "id": "sh_1", "call_id": "call_1",
                "action": {"commands": ["ls"]}, "status": "completed"}),
            "apply_patch_call" => {
                json!({"type": "apply_patch_call", "id": "apc_1", "call_id": "call_1",
                "status": "completed", "operation": {"type": "delete_file", "path": "main.tf"}})
            }
            _ => json!({"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_1",
                "name": "run_sql", "input": "SELECT 1"}),
        }
    };
    let with = |mut item: Value, field: &str, value: Value| {
        match value {
            Value::Null => {
                item.as_object_mut().unwrap().remove(field);
            }
            value => item[field] = value,
        }
        item
    };
    // (call type, output item, expected code, expected param)
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "computer_call",
            with(
                output_for("computer_call", "call_1"),
                "output",
                json!("png"),
            ),
            "invalid_type",
            "input[1].output",
        ),
        (
            "computer_call",
            with(
                output_for("computer_call", "call_1"),
                "output",
                json!({"type": "screenshot", "image_url": "data:,"}),
            ),
            "invalid_value",
            "input[1].output.type",
        ),
        (
            "computer_call",
            with(output_for("computer_call", "call_1"), "output", Value::Null),
            "missing_required_parameter",
            "input[1].output",
        ),
        (
            "computer_call",
            with(
                output_for("computer_call", "call_1"),
                "acknowledged_safety_checks",
                json!([{"code": "malicious_instructions"}]),
            ),
            "missing_required_parameter",
            "input[1].acknowledged_safety_checks[0].id",
        ),
        (
            "local_shell_call",
            with(
                output_for("local_shell_call", "call_1"),
                "output",
                json!({"stdout": ""}),
            ),
            "invalid_type",
            "input[1].output",
        ),
        (
            "local_shell_call",
            with(
                output_for("local_shell_call", "call_1"),
                "call_id",
                Value::Null,
            ),
            "missing_required_parameter",
            "input[1].call_id",
        ),
        (
            "local_shell_call",
            with(output_for("local_shell_call", "call_1"), "id", Value::Null),
            "missing_required_parameter",
            "input[1].id",
        ),
        (
            "shell_call",
            with(output_for("shell_call", "call_1"), "output", json!("done")),
            "invalid_type",
            "input[1].output",
        ),
        (
            "shell_call",
            with(
                output_for("shell_call", "call_1"),
                "output",
                json!([{"stdout": "", "outcome": {"type": "exit", "exit_code": 0}}]),
            ),
            "missing_required_parameter",
            "input[1].output[0].stderr",
        ),
        (
            "shell_call",
            with(
                output_for("shell_call", "call_1"),
                "output",
                json!([{"stdout": "", "stderr": "", "outcome": {"type": "crashed"}}]),
            ),
            "invalid_value",
            "input[1].output[0].outcome.type",
        ),
        (
            "shell_call",
            with(
                output_for("shell_call", "call_1"),
                "output",
                json!([{"stdout": "", "stderr": "", "outcome": {"type": "exit"}}]),
            ),
            "missing_required_parameter",
            "input[1].output[0].outcome.exit_code",
        ),
        (
            "apply_patch_call",
            with(
                output_for("apply_patch_call", "call_1"),
                "status",
                json!("done"),
            ),
            "invalid_value",
            "input[1].status",
        ),
        (
            "apply_patch_call",
            with(
                output_for("apply_patch_call", "call_1"),
                "status",
                Value::Null,
            ),
            "missing_required_parameter",
            "input[1].status",
        ),
        (
            "apply_patch_call",
            with(
                output_for("apply_patch_call", "call_1"),
                "output",
                json!(["log"]),
            ),
            "invalid_type",
            "input[1].output",
        ),
        (
            "custom_tool_call",
            with(output_for("custom_tool_call", "call_1"), "output", json!(7)),
            "invalid_type",
            "input[1].output",
        ),
        (
            "custom_tool_call",
            with(
                output_for("custom_tool_call", "call_1"),
                "output",
                json!([{"type": "output_text", "text": "x"}]),
            ),
            "invalid_value",
            "input[1].output[0].type",
        ),
    ];
    for (kind, output, code, param) in cases {
        let reply = post(
            &fake,
            &json!({"model": MODEL, "store": false, "input": [call(kind), output]}),
        )
        .await;
        assert_error(&reply, 400, Some(code), Some(param));
    }
    let apply_patch_without_diff = json!({"type": "apply_patch_call", "call_id": "call_1",
        "status": "completed", "operation": {"type": "update_file", "path": "main.tf"}});
    let bad_calls: Vec<(Value, &str, &str)> = vec![
        (
            with(call("shell_call"), "action", Value::Null),
            "missing_required_parameter",
            "input[0].action",
        ),
        (
            with(call("shell_call"), "action", json!({"commands": [1]})),
            "invalid_type",
            "input[0].action.commands[0]",
        ),
        (
            with(call("computer_call"), "pending_safety_checks", Value::Null),
            "missing_required_parameter",
            "input[0].pending_safety_checks",
        ),
        (
            with(call("custom_tool_call"), "input", json!({"sql": "x"})),
            "invalid_type",
            "input[0].input",
        ),
        (
            apply_patch_without_diff,
            "missing_required_parameter",
            "input[0].operation.diff",
        ),
        (
            with(call("local_shell_call"), "call_id", json!(1)),
            "invalid_type",
            "input[0].call_id",
        ),
    ];
    for (bad, code, param) in bad_calls {
        let kind = bad["type"].as_str().unwrap().to_owned();
        let reply = post(
            &fake,
            &json!({"model": MODEL, "store": false, "input": [bad, output_for(&kind, "call_1")]}),
        )
        .await;
        assert_error(&reply, 400, Some(code), Some(param));
    }
    // The good shapes pass, every one.
    for kind in [
        "computer_call",
        "local_shell_call",
        "shell_call",
        "apply_patch_call",
        "custom_tool_call",
    ] {
        let reply = post(
            &fake,
            &json!({"model": MODEL, "store": false, "input": [call(kind), output_for(kind, "call_1")]}),
        )
        .await;
        assert_eq!(reply.0, 200, "{kind}: {}", reply.1);
    }
    assert_eq!(fake.pending_replies(), 0);
}

// ---------------------------------------------------------------- background mode

async fn get_response(fake: &FakeOpenAi, id: &str) -> (u16, Value) {
    let response = http()
        .get(format!("{}/responses/{id}", fake.base_url()))
        .bearer_auth(fake.api_key())
        .send()
        .await
        .expect("request reaches the fake");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test]
async fn background_mode_needs_store() {
    let fake = FakeOpenAi::start().await.unwrap();
    let refused = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "background": true, "store": false}),
    )
    .await;
    assert_error(&refused, 400, None, Some("background"));
    assert_eq!(
        message(&refused),
        "Background mode requires `store` to be true."
    );
    let not_bool = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "background": "yes"}),
    )
    .await;
    assert_error(&not_bool, 400, Some("invalid_type"), Some("background"));
    // `store` defaults to true, so background alone is fine.
    let accepted = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "background": true}),
    )
    .await;
    assert_eq!(accepted.0, 200, "{}", accepted.1);
}

#[tokio::test]
async fn a_background_response_is_queued_then_polled_to_its_end() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::function_call(
        "grant_role",
        r#"{"user":"ana","role":"admin"}"#,
    ));
    let (status, queued) = post(
        &fake,
        &json!({"model": MODEL, "input": "make ana admin", "background": true, "tools": [grant_tool()]}),
    )
    .await;
    assert_eq!(status, 200, "{queued}");
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["background"], true);
    assert_eq!(queued["output"], json!([]));
    assert!(queued["usage"].is_null());
    let id = queued["id"].as_str().unwrap().to_owned();
    assert_eq!(
        serde_json::from_value::<Response>(queued).unwrap().status,
        Status::Queued
    );
    assert!(
        fake.stored_response_ids().is_empty(),
        "not continuable before it finishes"
    );

    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, body) = get_response(&fake, &id).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], id.as_str());
        let response: Response = serde_json::from_value(body.clone()).unwrap();
        let completed = response.status == Status::Completed;
        statuses.push(response.status);
        if !completed {
            assert_eq!(body["output"], json!([]));
        } else {
            assert_eq!(body["output"][0]["type"], "function_call");
            assert_eq!(body["output"][0]["name"], "grant_role");
            assert!(body["usage"].is_object());
        }
    }
    assert_eq!(
        statuses,
        [
            Status::Queued,
            Status::InProgress,
            Status::Completed,
            Status::Completed
        ]
    );
    assert_eq!(fake.poll_count(&id), 4);
    assert_eq!(fake.poll_count("resp_other"), 0);
    let polls: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(polls.len(), 4);
    assert_eq!(polls[0].path, format!("/v1/responses/{id}"));
    // Finished and stored: it can be continued now.
    assert_eq!(fake.stored_response_ids(), vec![id]);
}

#[tokio::test]
async fn background_polls_are_configurable_and_end_as_the_turn_ends() {
    let fake = FakeOpenAi::builder()
        .background_polls(0)
        .start()
        .await
        .unwrap();
    fake.push(Turn::text("partial").failed("server_error", "The model crashed."));
    fake.push(
        Turn::function_call("lookup_user", r#"{"user_id": "al"#)
            .incomplete("max_output_tokens")
            .background_polls(1),
    );
    fake.push(Turn::text("stopped").cancelled());
    let body = json!({"model": MODEL, "input": "x", "background": true});

    let failed = post(&fake, &body).await.1;
    let (_, polled) = get_response(&fake, failed["id"].as_str().unwrap()).await;
    assert_eq!(
        polled["status"], "failed",
        "no pending poll: finished at once"
    );
    assert_eq!(polled["error"]["message"], "The model crashed.");

    let incomplete = post(&fake, &body).await.1;
    let id = incomplete["id"].as_str().unwrap();
    assert_eq!(get_response(&fake, id).await.1["status"], "queued");
    let (_, polled) = get_response(&fake, id).await;
    assert_eq!(polled["status"], "incomplete");
    assert_eq!(polled["incomplete_details"]["reason"], "max_output_tokens");
    assert_eq!(polled["output"][0]["arguments"], r#"{"user_id": "al"#);

    fake.set_background_polls(3);
    let cancelled = post(&fake, &body).await.1;
    let id = cancelled["id"].as_str().unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(get_response(&fake, id).await.1["status"].clone());
    }
    assert_eq!(
        seen,
        [
            json!("queued"),
            json!("in_progress"),
            json!("in_progress"),
            json!("cancelled")
        ]
    );
    assert_eq!(fake.poll_count(id), 4);
    // Of the three, only the incomplete one can be continued.
    assert_eq!(
        fake.stored_response_ids(),
        vec![incomplete["id"].as_str().unwrap().to_owned()]
    );
}

#[tokio::test]
async fn a_background_stream_starts_queued_and_stays_retrievable() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::text("streamed in the background"));
    let (_, events) = post_stream(
        &fake,
        &json!({"model": MODEL, "input": "x", "stream": true, "background": true}),
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names[..3],
        [
            "response.created",
            "response.queued",
            "response.in_progress"
        ]
    );
    assert_eq!(events[0].1["response"]["status"], "queued");
    assert_eq!(events[0].1["response"]["background"], true);
    for (_, data) in &events {
        let _: ResponseStreamEvent = serde_json::from_value(data.clone()).unwrap();
    }
    let id = events[0].1["response"]["id"].as_str().unwrap();
    let (status, body) = get_response(&fake, id).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "completed");
    assert_eq!(
        body["output"][0]["content"][0]["text"],
        "streamed in the background"
    );
}

#[tokio::test]
async fn retrieving_an_unknown_response_answers_404() {
    let fake = FakeOpenAi::start().await.unwrap();
    let unknown = get_response(&fake, "resp_nowhere").await;
    assert_error(&unknown, 404, None, None);
    assert_eq!(
        message(&unknown),
        "Response with id 'resp_nowhere' not found."
    );
    assert_eq!(unknown.1["error"]["type"], "invalid_request_error");

    // Same auth as creating one.
    let no_key = http()
        .get(format!("{}/responses/resp_nowhere", fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status().as_u16(), 401);
    assert_eq!(fake.poll_count("resp_nowhere"), 2);
}

// ---------------------------------------------------------------- script and responder

#[tokio::test]
async fn responder_answers_from_what_the_client_sent() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::new().call_with_id("grant_role", r#"{"user":"ana","role":"admin"}"#, "call_1"));
    fake.respond_with(|request: &RequestView| {
        assert_eq!(request.tool_names(), vec!["grant_role"]);
        match request.tool_output("call_1") {
            Some(output) => Turn::text(format!("tool said {output}")),
            None => Turn::text("no output yet"),
        }
    });

    let first = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "tools": [grant_tool()], "store": false}),
    )
    .await;
    let call = first.1["output"][0].clone();
    let second = post(
        &fake,
        &json!({"model": MODEL, "store": false, "tools": [grant_tool()], "input": [
            {"role": "user", "content": "x"}, call,
            {"type": "function_call_output", "call_id": "call_1", "output": "BLOCKED by policy"}
        ]}),
    )
    .await;
    assert_eq!(
        second.1["output"][0]["content"][0]["text"],
        "tool said BLOCKED by policy"
    );

    fake.clear_responder();
    let exhausted = post(&fake, &json!({"model": MODEL, "input": "again"})).await;
    assert_eq!(
        exhausted.1["output"][0]["content"][0]["text"],
        EXHAUSTED_REPLY_TEXT
    );
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn scripted_status_faults_use_the_envelope_and_retry_after() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Reply::rate_limited(7));
    fake.push(Reply::server_error());
    fake.push(Reply::unavailable().with_message("overloaded"));
    fake.push(Turn::text("finally"));
    let body = json!({"model": MODEL, "input": "x"});

    let response = http()
        .post(format!("{}/responses", fake.base_url()))
        .bearer_auth(fake.api_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let envelope: Value = response.json().await.unwrap();
    assert_eq!(envelope["error"]["code"], "rate_limit_exceeded");

    let server_error = post(&fake, &body).await;
    assert_error(&server_error, 500, None, None);
    assert_eq!(server_error.1["error"]["type"], "server_error");
    let unavailable = post(&fake, &body).await;
    assert_eq!(unavailable.0, 503);
    assert_eq!(message(&unavailable), "overloaded");
    let ok = post(&fake, &body).await;
    assert_eq!(ok.1["output"][0]["content"][0]["text"], "finally");
    let statuses: Vec<u16> = fake.responses().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 500, 503, 200]);
}

#[tokio::test]
async fn dropped_connections_and_delays_reach_the_client_as_errors() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Reply::drop_connection());
    fake.push(Reply::turn(Turn::text("too late")).delayed(Duration::from_secs(30)));
    fake.push(Turn::text("fine"));
    let body = json!({"model": MODEL, "input": "x"});

    let dropped = http()
        .post(format!("{}/responses", fake.base_url()))
        .bearer_auth(fake.api_key())
        .json(&body)
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "a dropped connection yields no response: {dropped:?}"
    );
    assert!(fake.last_response().unwrap().dropped);

    let timed_out = http()
        .post(format!("{}/responses", fake.base_url()))
        .bearer_auth(fake.api_key())
        .timeout(Duration::from_millis(200))
        .json(&body)
        .send()
        .await
        .unwrap_err();
    assert!(timed_out.is_timeout(), "{timed_out}");

    // The server keeps serving afterwards.
    let ok = post(&fake, &body).await;
    assert_eq!(ok.1["output"][0]["content"][0]["text"], "fine");
}

#[tokio::test]
async fn a_stream_can_be_cut_mid_way() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(Turn::text("a long answer that never finishes").cut_stream_after(3));
    let response = http()
        .post(format!("{}/responses", fake.base_url()))
        .bearer_auth(fake.api_key())
        .json(&json!({"model": MODEL, "input": "x", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.text().await.is_err(),
        "the body must end in an error"
    );
    let recorded = fake.last_response().unwrap();
    assert!(recorded.dropped);
    assert_eq!(recorded.events.len(), 3);
}

// ---------------------------------------------------------------- hold-open

#[tokio::test]
async fn a_held_stream_delivers_the_tool_call_before_completing() {
    let fake = FakeOpenAi::start().await.unwrap();
    let gate = Gate::new();
    fake.push(
        Turn::function_call("grant_role", r#"{"user":"ana","role":"admin"}"#).hold_until(&gate),
    );

    let mut response = http()
        .post(format!("{}/responses", fake.base_url()))
        .bearer_auth(fake.api_key())
        .json(&json!({"model": MODEL, "input": "x", "stream": true, "tools": [grant_tool()]}))
        .send()
        .await
        .unwrap();

    // Read until the arguments are complete; the stream is still open then.
    let mut buffer = String::new();
    while !buffer.contains("response.output_item.done") {
        let chunk = response.chunk().await.unwrap().expect("stream still open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
    gate.reached().await;
    assert!(buffer.contains("response.function_call_arguments.done"));
    assert!(!buffer.contains("response.completed"));
    let recorded = fake.last_response().unwrap();
    assert!(recorded.body.is_none(), "not completed while held");
    assert!(!gate.is_released());

    gate.release();
    while let Some(chunk) = response.chunk().await.unwrap() {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events = parse_sse(&buffer);
    assert_eq!(events.last().unwrap().0, "response.completed");
    assert_eq!(
        fake.last_response().unwrap().body.unwrap()["status"],
        "completed"
    );
}

#[tokio::test]
async fn a_held_json_reply_waits_for_the_gate() {
    let fake = FakeOpenAi::start().await.unwrap();
    let gate = Gate::new();
    fake.push(Turn::text("held").hold_until(&gate));
    let url = format!("{}/responses", fake.base_url());
    let key = fake.api_key().to_owned();
    let pending = tokio::spawn(async move {
        http()
            .post(url)
            .bearer_auth(key)
            .json(&json!({"model": MODEL, "input": "x"}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    gate.reached().await;
    assert!(fake.responses().is_empty(), "nothing answered while held");
    gate.release();
    let body = pending.await.unwrap();
    assert_eq!(body["output"][0]["content"][0]["text"], "held");
}

// ---------------------------------------------------------------- lifecycle

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let fake = FakeOpenAi::start().await.unwrap();
    let url = format!("{}/responses", fake.base_url());
    drop(fake);
    let mut refused = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if http().post(&url).send().await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the server still answers after drop");
}

#[tokio::test]
async fn models_that_do_not_reason_refuse_encrypted_reasoning() {
    let fake = FakeOpenAi::start().await.unwrap();
    for model in ["gpt-4o", "gpt-4.1-mini", "gpt-5-chat-latest"] {
        let refused = post(
            &fake,
            &json!({"model": model, "input": "hi", "store": false,
                    "include": ["reasoning.encrypted_content"]}),
        )
        .await;
        assert_eq!(refused.0, 400, "{model}: {}", refused.1);
        assert_eq!(refused.1["error"]["param"], "include");
        assert_eq!(
            refused.1["error"]["message"],
            "Encrypted content is not supported with this model."
        );
        let plain = post(
            &fake,
            &json!({"model": model, "input": "hi", "store": false}),
        )
        .await;
        assert_eq!(plain.0, 200, "{model}: {}", plain.1);
    }
    let reasoning = post(
        &fake,
        &json!({"model": "gpt-5.5", "input": "hi", "store": false,
                "include": ["reasoning.encrypted_content"]}),
    )
    .await;
    assert_eq!(reasoning.0, 200, "{}", reasoning.1);
}

#[tokio::test]
async fn mcp_tools_are_checked_like_the_api_checks_them() {
    let fake = FakeOpenAi::start().await.unwrap();
    let with_tool =
        |tool: Value| json!({"model": MODEL, "input": "x", "store": false, "tools": [tool]});
    let good = json!({"type": "mcp", "server_label": "ops", "server_url": "https://mcp.example.com",
        "headers": {"Authorization": "Bearer t"}, "allowed_tools": ["read"], "require_approval": "always"});
    fake.push(Turn::text("ok"));
    assert_eq!(post(&fake, &with_tool(good)).await.0, 200);

    let no_label = post(
        &fake,
        &with_tool(json!({"type": "mcp", "server_url": "https://m"})),
    )
    .await;
    assert_error(
        &no_label,
        400,
        Some("missing_required_parameter"),
        Some("tools[0].server_label"),
    );
    let no_url = post(
        &fake,
        &with_tool(json!({"type": "mcp", "server_label": "ops"})),
    )
    .await;
    assert_error(
        &no_url,
        400,
        Some("missing_required_parameter"),
        Some("tools[0].server_url"),
    );
    let bad_setting = post(
        &fake,
        &with_tool(json!({"type": "mcp", "server_label": "ops", "server_url": "https://m", "require_approval": "sometimes"})),
    )
    .await;
    assert_error(
        &bad_setting,
        400,
        Some("invalid_value"),
        Some("tools[0].require_approval"),
    );
    let bad_filter = post(
        &fake,
        &with_tool(json!({"type": "mcp", "server_label": "ops", "server_url": "https://m", "require_approval": {"maybe": {}}})),
    )
    .await;
    assert_error(
        &bad_filter,
        400,
        Some("invalid_value"),
        Some("tools[0].require_approval.maybe"),
    );
    let bad_headers = post(
        &fake,
        &with_tool(json!({"type": "mcp", "server_label": "ops", "server_url": "https://m", "headers": {"X": 1}})),
    )
    .await;
    assert_error(
        &bad_headers,
        400,
        Some("invalid_type"),
        Some("tools[0].headers.X"),
    );
}

#[tokio::test]
async fn an_mcp_approval_request_needs_its_response_in_the_next_request() {
    let fake = FakeOpenAi::start().await.unwrap();
    fake.push(
        Turn::new()
            .mcp_list_tools(
                "ops",
                vec![json!({"name": "read", "input_schema": {"type": "object"}})],
            )
            .mcp_approval_request_with_id("mcpr_1", "ops", "read", r#"{"path":"/"}"#),
    );
    let first = post(
        &fake,
        &json!({"model": MODEL, "input": "x", "store": false}),
    )
    .await;
    assert_eq!(first.0, 200, "{}", first.1);
    let output = first.1["output"].as_array().unwrap().clone();
    assert_eq!(output[0]["type"], "mcp_list_tools");
    assert_eq!(output[1]["type"], "mcp_approval_request");
    assert_eq!(output[1]["id"], "mcpr_1");

    let mut input = vec![json!({"role": "user", "content": "x"})];
    input.extend(output);
    let unanswered = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": input}),
    )
    .await;
    assert_error(&unanswered, 400, None, Some("input"));
    assert_eq!(
        message(&unanswered),
        "No tool output found for mcp approval request mcpr_1."
    );

    let answer = |id: &str| json!({"type": "mcp_approval_response", "approval_request_id": id, "approve": true});
    let mut wrong = input.clone();
    wrong.push(answer("mcpr_2"));
    let wrong = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": wrong}),
    )
    .await;
    assert_error(&wrong, 400, None, Some("input"));

    let mut not_bool = input.clone();
    not_bool.push(
        json!({"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": "yes"}),
    );
    let not_bool = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": not_bool}),
    )
    .await;
    assert_error(
        &not_bool,
        400,
        Some("invalid_type"),
        Some("input[3].approve"),
    );

    fake.push(
        Turn::new()
            .mcp_call("ops", "read", r#"{"path":"/"}"#, "[]")
            .message("Empty."),
    );
    let mut answered = input.clone();
    answered.push(answer("mcpr_1"));
    let done = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": answered.clone()}),
    )
    .await;
    assert_eq!(done.0, 200, "{}", done.1);
    assert_eq!(done.1["output"][0]["type"], "mcp_call");
    assert_eq!(done.1["output"][0]["output"], "[]");
    assert!(done.1["output"][0]["error"].is_null());

    // The call replays as given in a later request.
    answered.extend(done.1["output"].as_array().unwrap().iter().cloned());
    fake.push(Turn::text("ok"));
    let later = post(
        &fake,
        &json!({"model": MODEL, "store": false, "input": answered}),
    )
    .await;
    assert_eq!(later.0, 200, "{}", later.1);
}
