//! End to end: streamed runs against the validating fake Responses API (SSE) and the fake
//! BIGHUB service.

use crate::support::{World, tool_output};
use bighub::{ApprovalAnswer, Error, ExecutionStatus, RunResult, RunState, StreamEvent, Verdict};
use bighub_testkit::fake_bighub::{Reply, decision};
use bighub_testkit::fake_openai::{Gate, Reply as ModelReply, Turn};
use futures::StreamExt;
use serde_json::{Value, json};

const MODEL: &str = "gpt-test";

fn restart_args() -> String {
    json!({"deployment": "checkout", "namespace": "shop"}).to_string()
}

fn script(world: &World) {
    world
        .openai
        .push(Turn::new().reasoning(["restart it"]).call_with_id(
            "restart_deployment",
            restart_args(),
            "call_1",
        ));
    world.openai.push(Turn::text("Restarted checkout."));
}

/// Every item of a streamed run, until the end (errors included).
async fn collect(mut stream: bighub::run::RunStream) -> Vec<Result<StreamEvent, Error>> {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item);
    }
    items
}

/// The JSON of a result with the values that must differ between two runs masked.
fn without_ids(result: &RunResult) -> Value {
    fn mask(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if matches!(
                        key.as_str(),
                        "id" | "response_id"
                            | "event_id"
                            | "trace_id"
                            | "request_id"
                            | "trajectory_id"
                            | "encrypted_content"
                            | "created_at"
                            | "resolved_at"
                            | "used_at"
                    ) {
                        *item = json!("<masked>");
                    } else {
                        mask(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(mask),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(result).unwrap();
    mask(&mut value);
    value
}

#[tokio::test]
async fn a_streamed_run_relays_the_model_and_ends_with_what_run_returns() {
    let streamed_world = World::start().await;
    streamed_world.decide_all("autonomous");
    script(&streamed_world);
    let agent = streamed_world.agent().build().unwrap();

    let items = collect(agent.run_stream("Restart checkout in staging", MODEL)).await;
    let events: Vec<StreamEvent> = items.into_iter().map(Result::unwrap).collect();

    // Order: the model's events as they arrive; the decision after the call's arguments
    // are complete; the execution event once the response completed; the final response last.
    let kinds: Vec<&str> = events.iter().map(StreamEvent::kind).collect();
    let without_decision: Vec<&str> = kinds.iter().copied().filter(|k| *k != "decision").collect();
    assert_eq!(
        without_decision,
        [
            "output_item_added", // reasoning
            "output_item_added", // function call
            "function_call_args_delta",
            "function_call_args_delta",
            "function_call_args_delta",
            "function_call_args_done",
            "response_done",
            "execution_event",
            "output_item_added", // message
            "llm_delta",
            "llm_delta",
            "llm_delta",
            "llm_text_done",
            "response_done",
            "final_response",
        ]
    );
    let at = |kind: &str| kinds.iter().position(|k| *k == kind).unwrap();
    assert_eq!(kinds.iter().filter(|k| **k == "decision").count(), 1);
    assert!(at("function_call_args_done") < at("decision"));
    assert!(at("decision") < at("execution_event"));

    // Content.
    let mut text = String::new();
    let mut arguments = String::new();
    for event in &events {
        match event {
            StreamEvent::LlmDelta { delta, .. } => text.push_str(delta),
            StreamEvent::FunctionCallArgsDelta { delta, call_id, .. } => {
                assert_eq!(call_id.as_deref(), Some("call_1"));
                arguments.push_str(delta);
            }
            StreamEvent::FunctionCallArgsDone {
                name,
                arguments: done,
                call_id,
                ..
            } => {
                assert_eq!(name, "restart_deployment");
                assert_eq!(call_id.as_deref(), Some("call_1"));
                assert_eq!(*done, restart_args());
            }
            StreamEvent::Decision {
                tool,
                call_id,
                verdict,
                decision,
            } => {
                assert_eq!(
                    (tool.as_str(), call_id.as_str()),
                    ("restart_deployment", "call_1")
                );
                assert_eq!(*verdict, Verdict::Execute);
                assert!(decision.request_id.is_some());
            }
            StreamEvent::LlmTextDone { text: done, .. } => assert_eq!(done, "Restarted checkout."),
            _ => {}
        }
    }
    assert_eq!(text, "Restarted checkout.");
    assert_eq!(arguments, restart_args());
    let StreamEvent::ExecutionEvent { event } = &events[at("execution_event")] else {
        unreachable!()
    };
    assert_eq!(event.status, ExecutionStatus::Executed);
    let StreamEvent::FinalResponse { response: streamed } = events.last().unwrap() else {
        panic!("the last event is the final response")
    };
    assert_eq!(streamed.execution.events, vec![event.clone()]);
    assert_eq!(streamed_world.runs.count(), 1);

    // The requests asked for a stream, and the conversation went on statelessly.
    let requests = streamed_world.model_requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests
            .iter()
            .all(|r| r["stream"] == true && r["store"] == false)
    );
    assert_eq!(tool_output(&requests[1], "call_1")["status"], "executed");

    // The same script through `run` gives the same result, ids aside.
    let plain_world = World::start().await;
    plain_world.decide_all("autonomous");
    script(&plain_world);
    let plain = plain_world
        .agent()
        .build()
        .unwrap()
        .run("Restart checkout in staging", MODEL)
        .await
        .unwrap();
    assert_eq!(without_ids(streamed), without_ids(&plain));
    assert_eq!(streamed.output_text(), "Restarted checkout.");
    // And the model saw the same second request, ids aside.
    let plain_requests = plain_world.model_requests();
    let strip = |r: &Value| {
        let mut r = r.clone();
        r.as_object_mut().unwrap().remove("stream");
        let fake = RunResult {
            llm_response: bighub::run::LlmResponse {
                response_id: String::new(),
                output_text: String::new(),
                output: vec![r],
            },
            execution: Default::default(),
            approval_loop: None,
            approval_loops: Vec::new(),
            paused: None,
            mcp_tool_lists: Vec::new(),
        };
        without_ids(&fake)
    };
    assert_eq!(strip(&requests[1]), strip(&plain_requests[1]));
}

#[tokio::test]
async fn the_decision_is_requested_while_the_model_is_still_streaming() {
    let world = World::start().await;
    world.decide_all("autonomous");
    let gate = Gate::new();
    world.openai.push(
        Turn::new()
            .call_with_id("restart_deployment", restart_args(), "call_1")
            .message("Restarting now.")
            .hold_until(&gate),
    );
    world.openai.push(Turn::text("Done."));
    let agent = world.agent().build().unwrap();
    let mut stream = agent.run_stream("Restart checkout", MODEL);

    // The response is held open before `response.completed`: a decision can only land
    // now if it was requested while the model was still streaming.
    let mut seen = Vec::new();
    loop {
        let event = stream.next().await.unwrap().unwrap();
        let kind = event.kind();
        seen.push(kind);
        if kind == "decision" {
            break;
        }
    }
    assert!(!seen.contains(&"response_done"), "{seen:?}");
    assert!(!gate.is_released());
    assert_eq!(world.bighub.count("/actions/evaluate"), 1);
    assert_eq!(
        world.runs.count(),
        0,
        "tools run once the response is complete"
    );

    gate.release();
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item.unwrap());
    }
    let Some(StreamEvent::FinalResponse { response }) = last else {
        panic!("the run ends with its final response")
    };
    assert_eq!(response.output_text(), "Done.");
    assert_eq!(world.runs.count(), 1);
    assert_eq!(world.bighub.count("/actions/evaluate"), 1, "decided once");
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_run_and_no_tool_runs_afterwards() {
    let world = World::start().await;
    world.decide_all("autonomous");
    let gate = Gate::new();
    world.openai.push(
        Turn::new()
            .call_with_id("restart_deployment", restart_args(), "call_1")
            .hold_until(&gate),
    );
    world.openai.push(Turn::text("Done."));
    let agent = world.agent().build().unwrap();
    let mut stream = agent.run_stream("Restart checkout", MODEL);
    while stream.next().await.unwrap().unwrap().kind() != "decision" {}

    drop(stream);
    gate.release();
    // Give a (wrongly) surviving run every chance to go on.
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    assert_eq!(world.runs.count(), 0, "no tool starts after the drop");
    assert_eq!(world.model_requests().len(), 1, "no further model request");
    assert_eq!(world.bighub.count("/outcomes/report"), 0);
}

#[tokio::test]
async fn stream_failures_before_the_first_event_are_retried_and_later_ones_end_the_run() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.push(ModelReply::server_error());
    // Paced, so that the first events reach the client before the connection is cut.
    world.openai.push(
        Turn::text("Hello there, operator.")
            .event_delay(std::time::Duration::from_millis(5))
            .cut_stream_after(4),
    );
    let agent = world.agent().build().unwrap();

    let items = collect(agent.run_stream("hi", MODEL)).await;

    assert_eq!(
        world.openai.request_count(),
        2,
        "one retry, before any event"
    );
    let (last, before) = items.split_last().unwrap();
    assert!(before.iter().all(Result::is_ok));
    assert!(!before.is_empty(), "events before the cut are relayed");
    let error = last.as_ref().unwrap_err();
    assert!(
        matches!(error, Error::Provider { .. } | Error::ProviderResponse(_)),
        "{error}"
    );
    assert_eq!(
        world.openai.request_count(),
        2,
        "no retry after the first event"
    );
}

#[tokio::test]
async fn a_failed_response_is_relayed_then_ends_the_stream_with_an_error() {
    let world = World::start().await;
    world
        .openai
        .push(Turn::text("partial").failed("server_error", "the model crashed"));
    let agent = world.agent().build().unwrap();

    let items = collect(agent.run_stream("hi", MODEL)).await;

    let kinds: Vec<&str> = items
        .iter()
        .filter_map(|i| i.as_ref().ok())
        .map(StreamEvent::kind)
        .collect();
    assert_eq!(kinds.last(), Some(&"response_failed"));
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert!(error.to_string().contains("the model crashed"), "{error}");
}

#[tokio::test]
async fn a_streamed_run_pauses_for_approval_like_run() {
    let world = World::start().await;
    world.decide_all("review");
    world.openai.push(Turn::new().call_with_id(
        "grant_access",
        json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}).to_string(),
        "call_g",
    ));
    let agent = world.agent().build().unwrap();

    let items = collect(agent.run_stream("Grant Alice admin", MODEL)).await;
    let Some(Ok(StreamEvent::FinalResponse { response })) = items.last() else {
        panic!("ends with the final response")
    };

    assert!(response.is_paused());
    assert_eq!(response.pending_approvals()[0].call_id, "call_g");
    assert_eq!(
        response.last().unwrap().status,
        ExecutionStatus::ApprovalRequired
    );
    assert_eq!(world.runs.count(), 0);
}

#[tokio::test]
async fn a_paused_or_held_call_has_one_spelling_from_verdict_to_status() {
    for (mode, spelling) in [
        ("review", "approval_required"),
        ("needs_context", "needs_context"),
        ("blocked", "blocked"),
    ] {
        let world = World::start().await;
        world.decide_all(mode);
        world
            .openai
            .push(Turn::new().call_with_id("restart_deployment", restart_args(), "call_1"));
        world.openai.push(Turn::text("Not now."));
        let agent = world.agent().pause_for_approval(false).build().unwrap();

        let items = collect(agent.run_stream("Restart checkout", MODEL)).await;
        let json: Vec<Value> = items
            .iter()
            .map(|item| serde_json::to_value(item.as_ref().unwrap()).unwrap())
            .collect();
        let decision = json.iter().find(|e| e["type"] == "decision").unwrap();
        let executed = json
            .iter()
            .find(|e| e["type"] == "execution_event")
            .unwrap();
        assert_eq!(decision["verdict"], spelling, "{mode}");
        assert_eq!(decision["decision"]["mode"], mode);
        assert_eq!(executed["event"]["status"], spelling, "{mode}");
        assert_eq!(
            tool_output(&world.model_requests()[1], "call_1")["status"],
            spelling
        );
        assert_eq!(world.runs.count(), 0);
    }
}

/// A world whose grants go to review, and a run of it paused at a round of a grant and a
/// restart (the restart ran); the state's JSON and the pending request id.
/// Pauses a grant; the agent that paused (the one that may resume it with the hosted
/// service's fake), the state's JSON and the request id.
async fn paused_grant(world: &World) -> (bighub::BighubOpenAI, String, String) {
    world.bighub.on_evaluate(|body| {
        let action = body["action"].as_str().unwrap_or_default();
        let mode = if action == "grant_access" {
            "review"
        } else {
            "autonomous"
        };
        Reply::ok(decision(mode, action))
    });
    world.openai.push(
        Turn::new()
            .call_with_id(
                "grant_access",
                json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}).to_string(),
                "call_g",
            )
            .call_with_id("restart_deployment", restart_args(), "call_r"),
    );
    world.openai.push(Turn::text("Alice has her access."));
    let agent = world.agent().build().unwrap();
    let paused = agent
        .run("Grant Alice admin, restart checkout", MODEL)
        .await
        .unwrap();
    let request_id = paused.pending_approvals()[0].request_id.clone();
    (agent, paused.paused.unwrap().to_json().unwrap(), request_id)
}

#[tokio::test]
async fn a_streamed_resume_relays_the_resumed_call_then_the_conversation_like_resume() {
    let streamed = World::start().await;
    let (agent, json, request_id) = paused_grant(&streamed).await;
    let state = RunState::from_json(&json).unwrap();
    let answer = ApprovalAnswer::approved("approved by on-call");

    let items = collect(agent.resume_stream(state, [(request_id.clone(), answer.clone())])).await;
    let events: Vec<StreamEvent> = items.into_iter().map(Result::unwrap).collect();

    let kinds: Vec<&str> = events.iter().map(StreamEvent::kind).collect();
    assert_eq!(
        kinds,
        [
            "execution_event", // the approved grant, run now
            "output_item_added",
            "llm_delta",
            "llm_delta",
            "llm_delta",
            "llm_text_done",
            "response_done",
            "final_response",
        ]
    );
    let StreamEvent::ExecutionEvent { event } = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        (event.call_id.as_str(), event.status),
        ("call_g", ExecutionStatus::Executed)
    );
    assert_eq!(event.request_id.as_deref(), Some(request_id.as_str()));
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::LlmDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Alice has her access.");
    let Some(StreamEvent::FinalResponse {
        response: streamed_result,
    }) = events.last()
    else {
        unreachable!()
    };
    assert!(!streamed_result.is_paused());
    assert_eq!(
        streamed.runs.count(),
        2,
        "the restart before the pause, the grant now"
    );
    let requests = streamed.model_requests();
    assert_eq!(tool_output(&requests[1], "call_g")["status"], "executed");
    assert_eq!(tool_output(&requests[1], "call_r")["status"], "executed");

    // The same paused run resumed without streaming ends the same way.
    let plain = World::start().await;
    let (agent, json, request_id) = paused_grant(&plain).await;
    let result = agent
        .resume(RunState::from_json(&json).unwrap(), [(request_id, answer)])
        .await
        .unwrap();
    assert_eq!(without_ids(streamed_result), without_ids(&result));
}

#[tokio::test]
async fn a_streamed_resume_refuses_what_resume_refuses_before_anything_runs() {
    let world = World::start().await;
    let (agent, json, _) = paused_grant(&world).await;

    let items = collect(agent.resume_stream(
        RunState::from_json(&json).unwrap(),
        [("req_unknown", ApprovalAnswer::approved("ok"))],
    ))
    .await;

    assert_eq!(items.len(), 1);
    assert!(
        matches!(&items[0], Err(Error::UnknownApproval { request_id, .. }) if request_id == "req_unknown"),
        "{items:?}"
    );
    assert_eq!(
        world.runs.count(),
        1,
        "only the restart before the pause ran"
    );
    assert_eq!(world.model_requests().len(), 1);
}

#[tokio::test]
async fn a_streamed_resume_that_leaves_a_call_waiting_ends_paused_again() {
    let world = World::start().await;
    world.decide_all("review");
    world.openai.push(
        Turn::new()
            .call_with_id(
                "grant_access",
                json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}).to_string(),
                "call_g",
            )
            .call_with_id("restart_deployment", restart_args(), "call_r"),
    );
    let paused = world
        .agent()
        .build()
        .unwrap()
        .run("Both", MODEL)
        .await
        .unwrap();
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 2);
    let agent = world.agent().build().unwrap();

    let items = collect(agent.resume_stream(
        paused.paused.clone().unwrap(),
        [(
            pending[1].request_id.clone(),
            ApprovalAnswer::rejected("not now"),
        )],
    ))
    .await;
    let events: Vec<StreamEvent> = items.into_iter().map(Result::unwrap).collect();

    let kinds: Vec<&str> = events.iter().map(StreamEvent::kind).collect();
    assert_eq!(kinds, ["execution_event", "final_response"]);
    let StreamEvent::ExecutionEvent { event } = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        (event.call_id.as_str(), event.status),
        ("call_r", ExecutionStatus::Rejected)
    );
    let StreamEvent::FinalResponse { response } = &events[1] else {
        unreachable!()
    };
    assert!(response.is_paused());
    assert_eq!(response.pending_approvals()[0].call_id, "call_g");
    assert_eq!(world.runs.count(), 0);
    assert_eq!(
        world.model_requests().len(),
        1,
        "the model waits for both answers"
    );
}

#[test]
fn stream_events_serialize_with_the_adapter_type_tags() {
    let event = StreamEvent::FunctionCallArgsDone {
        name: "grant_access".into(),
        arguments: "{}".into(),
        item_id: "fc_1".into(),
        call_id: Some("call_1".into()),
        output_index: 0,
    };
    let value = serde_json::to_value(&event).unwrap();
    assert_eq!(value["type"], "function_call_args_done");
    assert_eq!(value["call_id"], "call_1");
    let back: StreamEvent = serde_json::from_value(value).unwrap();
    assert_eq!(back, event);
}

#[tokio::test]
async fn a_stream_longer_than_the_provider_timeout_is_not_cut_while_it_flows() {
    let world = World::start().await;
    // About a dozen events, 100 ms apart: more than a second in all, never silent for 300 ms.
    world.openai.push(
        Turn::text("A long, slowly streamed answer.")
            .event_delay(std::time::Duration::from_millis(100)),
    );
    let agent = world
        .agent()
        .provider_timeout(std::time::Duration::from_millis(300))
        .provider_max_retries(0)
        .build()
        .unwrap();

    let mut stream = agent.run_stream("Tell me slowly", "gpt-test");
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event.expect("the stream is not cut"));
    }

    let Some(StreamEvent::FinalResponse { response }) = last else {
        panic!("no final response")
    };
    assert_eq!(response.output_text(), "A long, slowly streamed answer.");
    assert_eq!(world.openai.request_count(), 1);
}
