//! End to end: the guarded Responses API loop against the validating fake OpenAI and fake
//! BIGHUB servers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{World, tool_output};
use bighub::{
    Error, ExecutionStatus, Verdict,
    engine::{FailMode, Mode, RemoteBighub},
};
use bighub_testkit::fake_bighub::{Endpoint, Reply, decision};
use bighub_testkit::fake_openai::{Reply as ModelReply, Turn};
use serde_json::{Value, json};

const MODEL: &str = "gpt-test";

fn grant_args() -> String {
    json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}).to_string()
}

fn restart_args() -> String {
    json!({"deployment": "checkout", "namespace": "shop"}).to_string()
}

#[tokio::test]
async fn an_allowed_call_executes_and_the_model_sees_its_output() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world
        .openai
        .push(Turn::new().call_with_id("restart_deployment", restart_args(), "call_1"));
    world.openai.push(Turn::text("Restarted checkout."));
    let agent = world.agent().build().unwrap();

    let result = agent
        .run("Restart checkout in staging", MODEL)
        .await
        .unwrap();

    assert_eq!(result.output_text(), "Restarted checkout.");
    let last = result.last().unwrap();
    assert_eq!(last.status, ExecutionStatus::Executed);
    assert_eq!(last.tool, "restart_deployment");
    assert_eq!(last.output.as_ref().unwrap()["restarted"], "checkout");
    assert_eq!(last.decision.as_ref().unwrap().mode, Some(Mode::Autonomous));
    assert_eq!(last.request_id, last.decision.as_ref().unwrap().request_id);
    assert_eq!(last.recommendation.as_deref(), Some("proceed"));
    assert_eq!(world.runs.count(), 1);

    let requests = world.model_requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first["store"], false);
    assert!(first.get("previous_response_id").is_none());
    assert_eq!(first["include"], json!(["reasoning.encrypted_content"]));
    assert!(
        first["tools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["type"] == "function" && t["name"].is_string())
    );
    let output = tool_output(&requests[1], "call_1");
    assert_eq!(output["status"], "executed");
    assert_eq!(output["output"]["namespace"], "shop");

    // The proposed action the service saw.
    let evaluations = world.bighub_bodies("/actions/evaluate");
    assert_eq!(evaluations.len(), 1);
    let body = &evaluations[0];
    assert_eq!(body["action"], "restart_deployment");
    assert_eq!(body["actor"], "ops-agent");
    assert_eq!(body["domain"], "it_actions");
    assert_eq!(body["target"], "checkout");
    assert!(
        body.get("value").is_none_or(Value::is_null),
        "no value is normal: {body}"
    );
    let context = &body["context"];
    assert_eq!(context["system"], "kubernetes");
    assert_eq!(context["environment"], "staging");
    assert_eq!(context["objective"], "better_decision");
    assert_eq!(context["model_selection"], "auto");
    assert_eq!(context["session_id"], agent.config().session_id.as_str());
    assert_eq!(context["trajectory_id"], last.trace_id.as_str());
}

#[tokio::test]
async fn calls_that_may_not_run_are_reported_to_the_model_with_the_decision() {
    for (mode, status) in [
        ("blocked", ExecutionStatus::Blocked),
        ("review", ExecutionStatus::ApprovalRequired),
        ("needs_context", ExecutionStatus::NeedsContext),
    ] {
        let world = World::start().await;
        world.decide_all(mode);
        world
            .openai
            .push(Turn::new().call_with_id("grant_access", grant_args(), "call_g"));
        world.openai.push(Turn::text("I could not do that yet."));
        // What the model is told about a call that may not run. A review pauses the run by
        // default (it waits for a human, see the agent_approvals tests); with
        // `pause_for_approval(false)` it is reported to the model like the other verdicts.
        let agent = world.agent().pause_for_approval(false).build().unwrap();

        let result = agent
            .run("Grant Alice temporary Okta admin access for 48h", MODEL)
            .await
            .unwrap();

        let last = result.last().unwrap();
        assert_eq!(last.status, status, "{mode}");
        assert!(last.output.is_none());
        assert_eq!(world.runs.count(), 0, "{mode}: the tool must not run");
        let output = tool_output(&world.model_requests()[1], "call_g");
        assert_eq!(output["status"], status.as_str());
        assert_eq!(output["mode"], mode);
        assert!(
            output["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{output}"
        );
        assert_eq!(output["request_id"], json!(last.request_id));
        if mode == "needs_context" {
            assert!(
                output["needed"].as_array().is_some_and(|n| !n.is_empty()),
                "{output}"
            );
        }
    }
}

#[tokio::test]
async fn tool_failures_and_panics_are_tool_errors_and_the_run_goes_on() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.push(
        Turn::new()
            .call_with_id(
                "terraform_apply",
                json!({"workspace": "net"}).to_string(),
                "call_tf",
            )
            .call_with_id(
                "rotate_credentials",
                json!({"secret_path": "db/prod"}).to_string(),
                "call_rot",
            ),
    );
    world.openai.push(Turn::text("Both failed."));
    let agent = world.agent().build().unwrap();

    let result = agent.run("Apply and rotate", MODEL).await.unwrap();

    let events = &result.execution.events;
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| e.status == ExecutionStatus::ToolError)
    );
    assert_eq!(
        events[0].error.as_deref(),
        Some("terraform apply failed in net: state lock held")
    );
    assert!(
        events[1]
            .error
            .as_deref()
            .unwrap()
            .contains("vault client crashed"),
        "{:?}",
        events[1].error
    );
    assert_eq!(world.runs.count(), 2);
    let second = &world.model_requests()[1];
    assert_eq!(tool_output(second, "call_tf")["status"], "tool_error");
    assert!(
        tool_output(second, "call_rot")["error"]
            .as_str()
            .unwrap()
            .contains("panicked")
    );
}

#[tokio::test]
async fn unknown_tools_and_bad_arguments_are_reported_to_the_model() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.push(
        Turn::new()
            .call_with_id("delete_everything", "{}", "call_unknown")
            .call_with_id("restart_deployment", "{not json", "call_json")
            .call_with_id("restart_deployment", "[1, 2]", "call_array")
            .call_with_id(
                "restart_deployment",
                json!({"deployment": 7, "namespace": "x"}).to_string(),
                "call_type",
            ),
    );
    world.openai.push(Turn::text("Sorry."));
    let agent = world.agent().build().unwrap();

    let result = agent.run("Do things", MODEL).await.unwrap();

    let events = &result.execution.events;
    assert_eq!(events.len(), 4);
    assert!(
        events
            .iter()
            .all(|e| e.status == ExecutionStatus::ToolError),
        "{events:#?}"
    );
    assert!(
        events[0]
            .error
            .as_deref()
            .unwrap()
            .contains("unknown tool `delete_everything`")
    );
    assert!(events[0].decision.is_none());
    assert!(
        events[1]
            .error
            .as_deref()
            .unwrap()
            .contains("not valid JSON")
    );
    assert_eq!(events[1].arguments, json!("{not json"));
    assert!(
        events[2]
            .error
            .as_deref()
            .unwrap()
            .contains("must be a JSON object")
    );
    // Well-formed JSON of the wrong type is decided, then fails at the call, naming the field.
    assert!(events[3].decision.is_some());
    assert!(
        events[3].error.as_deref().unwrap().contains("deployment"),
        "{:?}",
        events[3].error
    );
    assert_eq!(world.runs.count(), 0);
    assert_eq!(
        world.bighub.count("/actions/evaluate"),
        1,
        "only the well-formed known call is evaluated"
    );
    let second = &world.model_requests()[1];
    assert!(
        tool_output(second, "call_unknown")["error"]
            .as_str()
            .unwrap()
            .contains("available tools")
    );
}

#[tokio::test]
async fn parallel_calls_of_one_round_are_all_decided_and_answered() {
    let world = World::start().await;
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
            .call_with_id("grant_access", grant_args(), "c1")
            .call_with_id("restart_deployment", restart_args(), "c2")
            .call_with_id(
                "restart_deployment",
                json!({"deployment": "cart", "namespace": "shop"}).to_string(),
                "c3",
            ),
    );
    world.openai.push(Turn::text("Done what I could."));
    let agent = world.agent().build().unwrap();

    // The review pauses the run at this round (the default: a human has not answered), but
    // the round's allowed calls still run; every call is decided and on record.
    let result = agent.run("Three things", MODEL).await.unwrap();
    assert!(result.is_paused());
    let pending = result.pending_approvals();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].call_id, "c1");

    let events = &result.execution.events;
    let statuses: Vec<_> = events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            ExecutionStatus::ApprovalRequired,
            ExecutionStatus::Executed,
            ExecutionStatus::Executed
        ]
    );
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(
        events
            .iter()
            .map(|e| e.call_id.as_str())
            .collect::<Vec<_>>(),
        ["c1", "c2", "c3"]
    );
    assert_eq!(world.bighub.count("/actions/evaluate"), 3);
    assert_eq!(world.runs.count(), 2);
    // Paused: the model is not asked again until the approval is answered (resume).
    assert_eq!(world.model_requests().len(), 1);
    assert_eq!(events[0].request_id.as_ref(), Some(&pending[0].request_id));
}

#[tokio::test]
async fn stateless_multi_round_conversations_replay_everything() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world
        .openai
        .push(Turn::new().reasoning(["Restart first."]).call_with_id(
            "restart_deployment",
            restart_args(),
            "r1",
        ));
    world
        .openai
        .push(Turn::new().reasoning(["Now the cart."]).call_with_id(
            "restart_deployment",
            json!({"deployment": "cart", "namespace": "shop"}).to_string(),
            "r2",
        ));
    world.openai.push(Turn::text("Both restarted."));
    let agent = world.agent().build().unwrap();

    let result = agent
        .run("Restart checkout, then cart", MODEL)
        .await
        .unwrap();

    assert_eq!(result.output_text(), "Both restarted.");
    assert_eq!(result.execution.events.len(), 2);
    let requests = world.model_requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request["store"], false);
        assert!(request.get("previous_response_id").is_none());
    }
    // The third request carries the whole conversation, reasoning with its encrypted content.
    let input = requests[2]["input"].as_array().unwrap();
    let types: Vec<&str> = input
        .iter()
        .map(|i| i["type"].as_str().unwrap_or("message"))
        .collect();
    assert_eq!(
        types,
        [
            "message",
            "reasoning",
            "function_call",
            "function_call_output",
            "reasoning",
            "function_call",
            "function_call_output"
        ]
    );
    assert!(
        input
            .iter()
            .filter(|i| i["type"] == "reasoning")
            .all(|i| i["encrypted_content"].is_string())
    );
    assert_eq!(
        result.llm_response.response_id,
        world
            .openai
            .responses()
            .last()
            .unwrap()
            .response_id
            .clone()
            .unwrap()
    );
}

#[tokio::test]
async fn stored_conversations_continue_with_previous_response_id() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world
        .openai
        .push(Turn::new().call_with_id("restart_deployment", restart_args(), "s1"));
    world
        .openai
        .push(Turn::new().call_with_id("restart_deployment", restart_args(), "s2"));
    world.openai.push(Turn::text("Twice."));
    let agent = world.agent().store(true).build().unwrap();

    let result = agent.run("Restart checkout twice", MODEL).await.unwrap();

    assert_eq!(result.output_text(), "Twice.");
    let requests = world.model_requests();
    let responses = world.openai.responses();
    assert_eq!(requests.len(), 3);
    assert!(requests[0].get("previous_response_id").is_none());
    assert!(requests[0].get("include").is_none());
    for i in 1..3 {
        assert_eq!(requests[i]["store"], true);
        assert_eq!(
            requests[i]["previous_response_id"],
            json!(responses[i - 1].response_id)
        );
        let input = requests[i]["input"].as_array().unwrap();
        assert_eq!(input.len(), 1, "only the new output: {input:?}");
        assert_eq!(input[0]["type"], "function_call_output");
    }
}

#[tokio::test]
async fn fail_closed_blocks_and_fail_open_proceeds_when_bighub_fails() {
    for (fail_mode, status, runs) in [
        (FailMode::Closed, ExecutionStatus::Blocked, 0),
        (FailMode::Open, ExecutionStatus::Executed, 1),
    ] {
        let world = World::start().await;
        world.bighub.on_evaluate(|_| Reply::status(500));
        world
            .openai
            .push(Turn::new().call_with_id("restart_deployment", restart_args(), "f1"));
        world.openai.push(Turn::text("ok"));
        let agent = world
            .agent()
            .fail_mode(fail_mode)
            .evaluate_retries(2)
            .build()
            .unwrap();

        let result = agent.run("Restart checkout", MODEL).await.unwrap();

        let last = result.last().unwrap();
        assert_eq!(last.status, status, "{fail_mode}");
        let decision = last.decision.as_ref().unwrap();
        assert_eq!(decision.fail_mode(), Some(fail_mode));
        assert!(
            decision.reason.as_deref().unwrap().contains("500"),
            "{:?}",
            decision.reason
        );
        assert_eq!(
            world.bighub.count("/actions/evaluate"),
            3,
            "1 try + 2 retries"
        );
        assert_eq!(world.runs.count(), runs);
    }
}

#[tokio::test]
async fn bighub_timeouts_and_dropped_connections_fail_closed() {
    let world = World::start().await;
    world.bighub.enqueue(
        Endpoint::Evaluate,
        Reply::ok(decision("autonomous", "x")).delay(Duration::from_secs(5)),
    );
    world
        .bighub
        .enqueue(Endpoint::Evaluate, Reply::drop_connection());
    world
        .openai
        .push(Turn::new().call_with_id("restart_deployment", restart_args(), "t1"));
    world.openai.push(Turn::text("ok"));
    let engine = RemoteBighub::builder()
        .api_key(world.bighub.api_key())
        .base_url(world.bighub.base_url())
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .build()
        .unwrap();
    let agent = world
        .agent()
        .engine(engine)
        .evaluate_retries(1)
        .build()
        .unwrap();

    let result = agent.run("Restart checkout", MODEL).await.unwrap();

    let last = result.last().unwrap();
    assert_eq!(last.status, ExecutionStatus::Blocked);
    assert_eq!(
        last.decision.as_ref().unwrap().fail_mode(),
        Some(FailMode::Closed)
    );
    assert_eq!(world.bighub.count("/actions/evaluate"), 2);
    assert_eq!(world.runs.count(), 0);
}

#[tokio::test]
async fn provider_errors_are_retried_then_succeed() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.push(ModelReply::server_error());
    world.openai.push(ModelReply::rate_limited(0));
    world.openai.push(Turn::text("Hello."));
    let agent = world.agent().provider_max_retries(2).build().unwrap();

    let result = agent.run("Hi", MODEL).await.unwrap();

    assert_eq!(result.output_text(), "Hello.");
    assert_eq!(world.openai.request_count(), 3);
    assert!(result.execution.events.is_empty());
}

#[tokio::test]
async fn provider_timeouts_and_dropped_connections_are_retried() {
    let world = World::start().await;
    world
        .openai
        .push(ModelReply::turn(Turn::text("late")).delayed(Duration::from_secs(5)));
    world.openai.push(ModelReply::drop_connection());
    world.openai.push(Turn::text("Hello."));
    let agent = world
        .agent()
        .provider_timeout(Duration::from_millis(300))
        .provider_max_retries(2)
        .build()
        .unwrap();

    let result = agent.run("Hi", MODEL).await.unwrap();

    assert_eq!(result.output_text(), "Hello.");
    assert_eq!(world.openai.request_count(), 3);
}

#[tokio::test]
async fn non_retryable_provider_errors_fail_at_once() {
    let world = World::start().await;
    let agent = world
        .agent()
        .openai_api_key("sk-wrong")
        .provider_max_retries(3)
        .build()
        .unwrap();

    let error = agent.run("Hi", MODEL).await.unwrap_err();

    match &error {
        Error::Provider { attempts, .. } => assert_eq!(*attempts, 1),
        other => panic!("expected a provider error, got {other:?}"),
    }
    assert!(error.to_string().contains("401"), "{error}");
    assert_eq!(world.openai.request_count(), 1);
}

#[tokio::test]
async fn the_circuit_breaker_opens_after_consecutive_failures() {
    let world = World::start().await;
    for _ in 0..4 {
        world.openai.push(ModelReply::server_error());
    }
    let agent = world
        .agent()
        .provider_max_retries(5)
        .provider_circuit_breaker(2, Duration::from_secs(60))
        .build()
        .unwrap();

    let first = agent.run("Hi", MODEL).await.unwrap_err();
    assert!(
        matches!(first, Error::Provider { attempts: 2, .. }),
        "{first:?}"
    );
    let second = agent.run("Hi", MODEL).await.unwrap_err();
    assert!(matches!(second, Error::CircuitOpen { .. }), "{second:?}");
    assert_eq!(
        world.openai.request_count(),
        2,
        "an open circuit sends nothing"
    );
}

#[tokio::test]
async fn running_out_of_rounds_keeps_every_event() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world
        .openai
        .push(Turn::new().call_with_id("restart_deployment", restart_args(), "m1"));
    world
        .openai
        .push(Turn::new().call_with_id("restart_deployment", restart_args(), "m2"));
    let agent = world.agent().max_tool_rounds(1).build().unwrap();

    let error = agent.run("Loop forever", MODEL).await.unwrap_err();

    let Error::Interrupted { source, events } = &error else {
        panic!("{error:?}")
    };
    let Error::MaxToolRounds { max_tool_rounds } = **source else {
        panic!("{source:?}")
    };
    assert_eq!(max_tool_rounds, 1);
    assert!(matches!(error.cause(), Error::MaxToolRounds { .. }));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].status, ExecutionStatus::Executed);
    assert_eq!(error.events().unwrap().len(), 1);
    assert_eq!(world.runs.count(), 1, "the second round's call never ran");
}

#[tokio::test]
async fn a_provider_failure_after_tools_ran_keeps_their_events() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world
        .openai
        .push(Turn::new().call_with_id("restart_deployment", restart_args(), "p1"));
    world
        .openai
        .push(ModelReply::status(400).with_message("context too long"));
    let agent = world.agent().build().unwrap();

    let error = agent.run("Restart", MODEL).await.unwrap_err();

    let Error::Interrupted { events, source } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].status, ExecutionStatus::Executed);
    assert!(matches!(**source, Error::Provider { .. }));
}

#[tokio::test]
async fn outcomes_and_memory_reach_bighub() {
    let world = World::start().await;
    world.bighub.on_evaluate(|body| {
        let action = body["action"].as_str().unwrap_or_default();
        let mode = if action == "grant_access" {
            "blocked"
        } else {
            "autonomous"
        };
        Reply::ok(decision(mode, action))
    });
    world.openai.push(
        Turn::new()
            .call_with_id("restart_deployment", restart_args(), "o1")
            .call_with_id("grant_access", grant_args(), "o2")
            .call_with_id(
                "terraform_apply",
                json!({"workspace": "net"}).to_string(),
                "o3",
            ),
    );
    world.openai.push(Turn::text("done"));
    let agent = world.agent().build().unwrap();

    let result = agent.run("Three", MODEL).await.unwrap();
    let stats = agent.close().await.unwrap();

    assert_eq!(stats.outcomes_sent, 3);
    assert_eq!(stats.memory_batches_sent, 1);
    assert_eq!(stats.failed + stats.dropped, 0);
    let reports = world.bighub_bodies("/outcomes/report");
    let statuses: Vec<&str> = reports
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["SUCCESS", "BLOCKED", "FAILURE"]);
    for (report, event) in reports.iter().zip(&result.execution.events) {
        assert_eq!(report["request_id"], json!(event.request_id));
        assert_eq!(report["details"]["tool"], event.tool.as_str());
        assert!(report["details"].get("recommendation").is_some());
        assert!(report["details"].get("risk").is_some());
    }
    assert!(
        reports[2]["details"]["error"]
            .as_str()
            .unwrap()
            .contains("state lock")
    );
    let memory = world.bighub_bodies("/actions/memory/ingest");
    assert_eq!(memory.len(), 1);
    let batch = &memory[0];
    assert_eq!(batch["events"].as_array().unwrap().len(), 3);
    assert_eq!(
        batch["trace_id"],
        result.execution.events[0].trace_id.as_str()
    );
    assert_eq!(batch["model"], MODEL);
    assert_eq!(batch["redact"], true);
    assert_eq!(batch["source"], "openai_adapter");
    assert!(
        batch["source_version"]
            .as_str()
            .unwrap()
            .starts_with("bighub-openai-rs@")
    );
}

#[tokio::test]
async fn a_required_outcome_report_that_fails_is_an_error_with_the_events() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world
        .bighub
        .respond_with(Endpoint::ReportOutcome, |_| Reply::status(500));
    world
        .openai
        .push(Turn::new().call_with_id("restart_deployment", restart_args(), "q1"));
    world.openai.push(Turn::text("done"));
    let agent = world
        .agent()
        .outcome_reporting_required(true)
        .build()
        .unwrap();

    let error = agent.run("Restart", MODEL).await.unwrap_err();

    let Error::Interrupted { source, events } = &error else {
        panic!("{error:?}")
    };
    assert!(
        matches!(**source, Error::OutcomeReport { .. }),
        "{source:?}"
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].status, ExecutionStatus::Executed);
}

#[tokio::test]
async fn concurrent_runs_on_one_agent_keep_separate_trajectories() {
    let world = World::start().await;
    world.decide_all("autonomous");
    // Answer from what each request carries, since runs interleave.
    world.openai.respond_with(|request| {
        if request.tool_outputs().is_empty() {
            Turn::new().call(
                "restart_deployment",
                json!({"deployment": "checkout", "namespace": "shop"}).to_string(),
            )
        } else {
            Turn::text("done")
        }
    });
    let agent = Arc::new(world.agent().build().unwrap());

    let runs: Vec<_> = (0..6)
        .map(|i| {
            let agent = Arc::clone(&agent);
            tokio::spawn(async move { agent.run(format!("Restart {i}"), MODEL).await })
        })
        .collect();
    let mut traces = Vec::new();
    for run in runs {
        let result = run.await.unwrap().unwrap();
        assert_eq!(result.execution.events.len(), 1);
        traces.push(result.execution.events[0].trace_id.clone());
    }
    traces.sort();
    traces.dedup();
    assert_eq!(traces.len(), 6, "one trajectory per run");
    let trajectories: std::collections::HashSet<String> = world
        .bighub_bodies("/actions/evaluate")
        .iter()
        .map(|b| b["context"]["trajectory_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(trajectories.len(), 6);
    assert_eq!(world.runs.count(), 6);
}

#[tokio::test]
async fn the_decision_hook_sees_every_event() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.push(
        Turn::new()
            .call("restart_deployment", restart_args())
            .call("grant_access", grant_args()),
    );
    world.openai.push(Turn::text("ok"));
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let agent = world
        .agent()
        .on_decision(move |event| {
            assert!(event.decision.is_some());
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();

    agent.run("Two", MODEL).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn check_tool_decides_without_running() {
    let world = World::start().await;
    world.decide_all("review");
    let agent = world.agent().build().unwrap();

    let check = agent
        .check_tool(
            "grant_access",
            json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}),
        )
        .await
        .unwrap();

    assert_eq!(check.verdict, Verdict::ApprovalRequired);
    assert_eq!(check.decision.mode, Some(Mode::Review));
    assert_eq!(check.action.target.as_deref(), Some("okta-admins"));
    assert_eq!(check.action.system.as_deref(), Some("okta"));
    assert_eq!(world.runs.count(), 0);
    assert_eq!(world.openai.request_count(), 0);
    let unknown = agent.check_tool("nope", json!({})).await.unwrap_err();
    assert!(matches!(unknown, Error::UnknownTool { .. }), "{unknown:?}");
}

#[tokio::test]
async fn the_result_serializes_to_the_python_adapter_shape() {
    let world = World::start().await;
    world.decide_all("review");
    world
        .openai
        .push(Turn::new().call("grant_access", grant_args()));
    world.openai.push(Turn::text("Needs review."));
    // The adapter's shape of a finished run: the review is reported to the model instead of
    // pausing the run (the default), so the run ends with the model's answer.
    let agent = world.agent().pause_for_approval(false).build().unwrap();

    let result = agent
        .run("Grant Alice temporary Okta admin access for 48h", MODEL)
        .await
        .unwrap();
    let value = serde_json::to_value(&result).unwrap();
    for absent in ["approval_loop", "approval_loops", "paused"] {
        assert!(value.get(absent).is_none(), "{absent} in {value}");
    }
    assert!(value["execution"]["last"].get("approval").is_none());

    assert_eq!(value["llm_response"]["output_text"], "Needs review.");
    assert!(
        value["llm_response"]["response_id"]
            .as_str()
            .unwrap()
            .starts_with("resp_")
    );
    assert!(value["llm_response"]["output"].is_array());
    let last = &value["execution"]["last"];
    for field in [
        "tool",
        "call_id",
        "status",
        "decision",
        "arguments",
        "output",
        "error",
        "event_id",
        "trace_id",
        "request_id",
        "seq",
        "recommendation",
        "risk_score",
        "enforcement_mode",
    ] {
        assert!(last.get(field).is_some(), "missing {field} in {last}");
    }
    assert_eq!(last["status"], "approval_required");
    assert_eq!(last["decision"]["mode"], "review");
    assert_eq!(last["decision"]["needs_review"], true);
    assert_eq!(value["execution"]["events"][0], *last);
    let back: bighub::RunResult = serde_json::from_value(value).unwrap();
    assert_eq!(back, result);
}

#[tokio::test]
async fn invalid_settings_are_errors_at_build_time() {
    let world = World::start().await;
    let error = world
        .agent()
        .max_tool_rounds(0)
        .domain(" ")
        .build()
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("max_tool_rounds must be at least 1"),
        "{message}"
    );
    assert!(message.contains("domain must not be empty"), "{message}");
    let duplicate = world
        .agent()
        .action(crate::support::GrantAccess)
        .build()
        .unwrap_err();
    assert!(
        matches!(duplicate, Error::DuplicateTool(ref name) if name == "grant_access"),
        "{duplicate:?}"
    );
    let insecure = world
        .agent()
        .bighub_base_url("http://bighub.example.com")
        .build()
        .unwrap_err();
    assert!(insecure.to_string().contains("http"), "{insecure}");
}

#[tokio::test]
async fn without_openai_credentials_run_says_what_is_missing_and_check_tool_works() {
    let world = World::start().await;
    world.decide_all("autonomous");
    let agent = bighub::BighubOpenAI::builder()
        .bighub_api_key(world.bighub.api_key())
        .bighub_base_url(world.bighub.base_url())
        .action(crate::support::RestartDeployment)
        .shared_state(Arc::clone(&world.runs))
        .build()
        .unwrap();
    let error = agent.run("Hi", MODEL).await.unwrap_err();
    assert!(matches!(error, Error::ProviderNotConfigured(_)));
    assert!(error.to_string().contains("OPENAI_API_KEY"), "{error}");
    let check = agent
        .check_tool(
            "restart_deployment",
            serde_json::from_str(&restart_args()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(check.verdict, Verdict::Execute);
}

#[test]
fn the_blocking_agent_runs_without_an_async_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let world = runtime.block_on(World::start());
    world.decide_all("autonomous");
    world
        .openai
        .push(Turn::new().call("restart_deployment", restart_args()));
    world.openai.push(Turn::text("Restarted."));
    let builder = world.agent();

    let agent = bighub::blocking::BighubOpenAI::new(builder).unwrap();
    let result = agent.run("Restart checkout", MODEL).unwrap();
    let stats = agent.close().unwrap();

    assert_eq!(result.output_text(), "Restarted.");
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Executed);
    assert_eq!(stats.outcomes_sent, 1);
    drop(agent);
    drop(world);
    drop(runtime);
}

#[test]
fn agents_and_results_cross_threads() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<bighub::BighubOpenAI>();
    send_sync::<bighub::RunResult>();
    send_sync::<Error>();
    send_sync::<bighub::blocking::BighubOpenAI>();
}

#[tokio::test]
async fn debug_output_never_shows_keys() {
    let world = World::start().await;
    let builder = world
        .agent()
        .openai_api_key("sk-live-do-not-print")
        .bighub_api_key("bh_live_do_not_print");
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains("do-not-print") && !shown.contains("do_not_print"),
        "{shown}"
    );
    let agent = builder.build().unwrap();
    let shown = format!("{agent:?}");
    assert!(
        !shown.contains("do-not-print") && !shown.contains("do_not_print"),
        "{shown}"
    );
}

#[tokio::test]
async fn models_that_do_not_reason_are_asked_without_encrypted_reasoning() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world
        .openai
        .push(Turn::new().call("restart_deployment", restart_args()));
    world.openai.push(Turn::text("Restarted."));
    world.openai.push(Turn::text("Hello again."));
    let agent = world.agent().build().unwrap();

    let first = agent.run("Restart checkout", "gpt-4o").await.unwrap();
    let second = agent.run("Hi", "gpt-4o").await.unwrap();

    assert_eq!(first.output_text(), "Restarted.");
    assert_eq!(second.output_text(), "Hello again.");
    let requests = world.model_requests();
    // The first request is refused (400, param `include`); every later one goes without it.
    assert_eq!(requests.len(), 4);
    assert_eq!(
        requests[0]["include"],
        json!(["reasoning.encrypted_content"])
    );
    assert!(
        requests[1..].iter().all(|r| r.get("include").is_none()),
        "{requests:#?}"
    );
    assert_eq!(world.openai.responses()[0].status, 400);
}
