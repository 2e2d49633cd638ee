//! End to end: a call runs only under a decision made for exactly that call, and every call
//! that ran stays on the record — against a hostile model, a flaky network and odd answers.
//!
//! Each test is named after the behaviour it holds the runtime to.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{Runs, World, tool_output};
use bighub::engine::{ApprovalRefusal, ApprovalRefused};
use bighub::{
    ApprovalAnswer, BighubOpenAI, Error, ExecutionEvent, ExecutionStatus, RunState, State,
    StreamEvent, ToolError, ToolOptions, engine::FailMode, local::LocalEngine,
};
use bighub_testkit::fake_bighub::{Reply, decision};
use bighub_testkit::fake_openai::Turn;
use futures::StreamExt;
use serde_json::{Value, json};

const MODEL: &str = "gpt-test";
const SECRET: &str = "hunter2-vault-token";

fn grant() -> Value {
    json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"})
}

/// Revoke every grant of a user in an Okta group.
#[bighub::action(system = "okta", risk = "critical", environment = "production")]
async fn revoke_access(
    user_id: String,
    group: String,
    duration: String,
    runs: State<Runs>,
) -> Result<Value, ToolError> {
    runs.hit();
    Ok(json!({"revoked": user_id, "group": group, "duration": duration}))
}

/// Rotate a Vault secret with an operator token.
#[bighub::action(
    system = "vault",
    risk = "low",
    environment = "staging",
    secret = "token"
)]
fn rotate_secret(path: String, token: String) -> Result<Value, String> {
    if path == "fail" {
        return Err(format!("vault refused token {token}"));
    }
    Ok(json!({"rotated": path, "log": format!("used {token}")}))
}

/// Set a service's port, authenticated with a numeric PIN.
#[bighub::action(system = "k8s", risk = "low", environment = "staging", secret = "pin")]
fn set_port(port: u16, pin: u32) -> Value {
    json!({"port": port, "pin_set": pin > 0})
}

/// Check a cluster's health (it never answers).
#[bighub::action(
    system = "k8s",
    risk = "low",
    environment = "staging",
    timeout = "100ms"
)]
async fn hanging_check(cluster: String) -> Value {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    json!({"cluster": cluster})
}

/// Drain a node (takes a while).
#[bighub::action(system = "k8s", risk = "low", environment = "staging")]
async fn drain_node(node: String, runs: State<Runs>) -> Value {
    tokio::time::sleep(Duration::from_millis(300)).await;
    runs.hit();
    json!({"drained": node})
}

/// Export a big report.
#[bighub::action(system = "reports", risk = "low", environment = "staging")]
fn export_report(rows: u32) -> Value {
    json!({"rows": vec!["x".repeat(100); rows as usize]})
}

/// Decides by action: grants go to review, revocations are blocked, the rest runs.
fn policy(world: &World) {
    world.bighub.on_evaluate(|body| {
        let action = body["action"].as_str().unwrap_or_default();
        let mode = match action {
            "grant_access" => "review",
            "revoke_access" => "blocked",
            _ if body["target"] == "payments" => "blocked",
            _ => "autonomous",
        };
        Reply::ok(decision(mode, action))
    });
}

fn agent(world: &World) -> bighub::BighubOpenAIBuilder {
    world
        .agent()
        .action(RevokeAccess)
        .action(RotateSecret)
        .action(SetPort)
        .action(HangingCheck)
        .action(DrainNode)
        .action(ExportReport)
}

/// Everything the process sent out about its calls, and what it returns, as one text.
async fn everything_on_record(world: &World, result: Option<&bighub::RunResult>) -> String {
    let mut all = String::new();
    for path in [
        "/outcomes/report",
        "/actions/memory/ingest",
        "/actions/evaluate",
    ] {
        for body in world.bighub_bodies(path) {
            all.push_str(&body.to_string());
        }
    }
    if let Some(result) = result {
        all.push_str(&serde_json::to_string(result).unwrap());
        all.push_str(&format!("{result:?}"));
    }
    all
}

fn restart(deployment: &str) -> String {
    json!({"deployment": deployment, "namespace": "shop"}).to_string()
}

// --- Streaming: an early decision covers only the call it was made for -------------------

#[tokio::test]
async fn a_streamed_decision_is_not_used_for_another_tool_under_the_same_call_id() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::new()
            .call_with_id("revoke_access", grant().to_string(), "call_1")
            .streamed_as("call_1", "restart_deployment", restart("web")),
    );
    world.openai.push(Turn::text("done"));
    let agent = agent(&world).build().unwrap();

    let mut stream = agent.run_stream("Restart web", MODEL);
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item.unwrap());
    }
    let Some(StreamEvent::FinalResponse { response }) = last else {
        panic!("the stream ends with the final response");
    };
    assert_eq!(
        world.runs.count(),
        0,
        "revoke_access is blocked: it must not run"
    );
    let event = response.last().unwrap();
    assert_eq!(event.tool, "revoke_access");
    assert_eq!(event.status, ExecutionStatus::Blocked);
    // Decided twice: once as streamed, once as completed.
    let actions: Vec<Value> = world
        .bighub_bodies("/actions/evaluate")
        .into_iter()
        .map(|b| b["action"].clone())
        .collect();
    assert_eq!(
        actions,
        [json!("restart_deployment"), json!("revoke_access")]
    );
}

#[tokio::test]
async fn a_streamed_decision_is_not_used_for_other_arguments_under_the_same_call_id() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::new()
            .call_with_id("restart_deployment", restart("payments"), "call_1")
            .streamed_as("call_1", "restart_deployment", restart("web")),
    );
    world.openai.push(Turn::text("done"));
    let agent = agent(&world).build().unwrap();

    let mut stream = agent.run_stream("Restart web", MODEL);
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        events.push(item.unwrap());
    }
    assert_eq!(world.runs.count(), 0, "the payments restart is blocked");
    let Some(StreamEvent::FinalResponse { response }) = events.last() else {
        panic!("the stream ends with the final response");
    };
    assert_eq!(response.last().unwrap().status, ExecutionStatus::Blocked);
    assert_eq!(response.last().unwrap().arguments["deployment"], "payments");
}

// --- Approvals: bound to request id, tool and arguments ----------------------------------

/// A run paused on a grant, as JSON, and its request id.
async fn paused_grant(world: &World, agent: &BighubOpenAI) -> (Value, String) {
    world
        .openai
        .push(Turn::new().call_with_id("grant_access", grant().to_string(), "call_g"));
    world.openai.push(Turn::text("done"));
    let result = agent.run("Grant Alice admin", MODEL).await.unwrap();
    let state = result.paused.expect("the grant waits for approval");
    let request_id = state.pending_approvals()[0].request_id.clone();
    (
        serde_json::from_str(&state.to_json().unwrap()).unwrap(),
        request_id,
    )
}

/// Names `tool` instead of `grant_access` in the paused call (and, when `consistently`, in
/// the model's own function_call item too).
fn rename_tool(state: &mut Value, tool: &str, consistently: bool) {
    state["calls"][0]["tool"] = json!(tool);
    state["calls"][0]["event"]["tool"] = json!(tool);
    if consistently {
        for item in state["conversation"]["items"].as_array_mut().unwrap() {
            if item["type"] == "function_call" {
                item["name"] = json!(tool);
            }
        }
    }
}

#[tokio::test]
async fn a_paused_state_edited_to_name_another_tool_runs_nothing() {
    let world = World::start().await;
    policy(&world);
    let agent = agent(&world).build().unwrap();
    let (json, request_id) = paused_grant(&world, &agent).await;

    for consistently in [false, true] {
        let mut edited = json.clone();
        rename_tool(&mut edited, "revoke_access", consistently);
        let state: RunState = serde_json::from_value(edited).unwrap();
        let error = agent
            .resume(
                state,
                [(request_id.clone(), ApprovalAnswer::approved("ok"))],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Approval(ApprovalRefused {
                    refusal: ApprovalRefusal::ToolChanged { .. },
                    ..
                })
            ),
            "consistently={consistently}: {error}"
        );
    }
    assert_eq!(
        world.runs.count(),
        0,
        "neither grant_access nor revoke_access ran"
    );

    // The untouched state still resumes, once.
    let state: RunState = serde_json::from_value(json).unwrap();
    agent
        .resume(state, [(request_id, ApprovalAnswer::approved("ok"))])
        .await
        .unwrap();
    assert_eq!(world.runs.count(), 1);
}

#[tokio::test]
async fn a_paused_state_edited_to_name_another_tool_is_refused_by_the_local_store_in_another_process()
 {
    let world = World::start().await;
    let db = tempfile::tempdir().unwrap();
    let path = db.path().join("bighub.db");
    let local = || LocalEngine::builder().db_path(&path).build().unwrap();
    let first = agent(&world).engine(local()).build().unwrap();
    let (json, request_id) = paused_grant(&world, &first).await;
    local()
        .resolve(
            &request_id,
            &bighub::engine::ApprovalResolution::approved(None),
        )
        .unwrap();

    let mut edited = json.clone();
    rename_tool(&mut edited, "revoke_access", true);
    // A fresh agent: only the store knows what the approval was for.
    let second = agent(&world).engine(local()).build().unwrap();
    let error = second
        .resume(
            serde_json::from_value(edited).unwrap(),
            [(request_id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::ToolChanged { .. },
                ..
            })
        ),
        "{error}"
    );
    assert_eq!(world.runs.count(), 0);
}

#[tokio::test]
async fn resume_after_approval_refuses_another_tool_with_the_same_arguments() {
    let world = World::start().await;
    policy(&world);
    for local in [false, true] {
        let db = tempfile::tempdir().unwrap();
        let mut builder = agent(&world);
        if local {
            builder = builder.engine(
                LocalEngine::builder()
                    .db_path(db.path().join("bighub.db"))
                    .build()
                    .unwrap(),
            );
        }
        let agent = builder.build().unwrap();
        let check = agent.decide_tool("grant_access", grant()).await.unwrap();
        let request_id = check.decision.request_id.clone().unwrap();
        let error = agent
            .resume_after_approval(
                "revoke_access",
                grant(),
                &request_id,
                ApprovalAnswer::approved("ok"),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Approval(ApprovalRefused { refusal: ApprovalRefusal::ToolChanged { approved, requested }, .. })
                if approved == "grant_access" && requested == "revoke_access"),
            "local={local}: {error}"
        );
        assert_eq!(world.runs.count(), 0, "local={local}");

        // The approval still runs the call it was granted for, once.
        let done = agent
            .resume_after_approval(
                "grant_access",
                grant(),
                &request_id,
                ApprovalAnswer::approved("ok"),
            )
            .await
            .unwrap();
        assert!(done.resumed);
        let again = agent
            .resume_after_approval(
                "grant_access",
                grant(),
                &request_id,
                ApprovalAnswer::approved("ok"),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                again,
                Error::Approval(ApprovalRefused {
                    refusal: ApprovalRefusal::AlreadyUsed,
                    ..
                })
            ),
            "{again}"
        );
        assert_eq!(world.runs.count(), 1, "local={local}");
        world.runs.reset();
    }
}

#[tokio::test]
async fn an_approval_an_engine_cannot_bind_runs_only_in_the_agent_that_asked_for_it() {
    let world = World::start().await;
    policy(&world);
    let pauser = agent(&world).build().unwrap();
    let (json, request_id) = paused_grant(&world, &pauser).await;
    let state: RunState = serde_json::from_value(json).unwrap();
    // Another agent (another process, say) first: the hosted service cannot say which call
    // the approval was for, so nothing binds it there.
    let unbound = agent(&world)
        .build()
        .unwrap()
        .resume(
            state.clone(),
            [(request_id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            unbound,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::Untracked,
                ..
            })
        ),
        "{unbound}"
    );
    assert_eq!(world.runs.count(), 0);
    pauser
        .resume(
            state.clone(),
            [(request_id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap();
    // Neither the agent that ran it nor another runs it again.
    let again = pauser
        .resume(
            state.clone(),
            [(request_id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::AlreadyUsed,
                ..
            })
        ),
        "{again}"
    );
    let again = agent(&world)
        .build()
        .unwrap()
        .resume(state, [(request_id, ApprovalAnswer::approved("ok"))])
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::Untracked,
                ..
            })
        ),
        "{again}"
    );
    assert_eq!(world.runs.count(), 1);
}

// --- Only completed responses act --------------------------------------------------------

#[tokio::test]
async fn calls_of_an_incomplete_or_failed_response_never_run() {
    for (turn, status) in [
        (
            Turn::function_call("restart_deployment", restart("web"))
                .incomplete("max_output_tokens"),
            "incomplete",
        ),
        (
            Turn::function_call("restart_deployment", restart("web"))
                .failed("server_error", "boom"),
            "failed",
        ),
        (
            Turn::function_call("restart_deployment", restart("web")).cancelled(),
            "cancelled",
        ),
    ] {
        let world = World::start().await;
        policy(&world);
        world.openai.push(turn);
        let error = agent(&world)
            .build()
            .unwrap()
            .run("Restart web", MODEL)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::ResponseNotCompleted { status: s, .. } if s == status),
            "{status}: {error}"
        );
        assert_eq!(world.runs.count(), 0, "{status}");
        assert_eq!(
            world.bighub.count("/actions/evaluate"),
            0,
            "{status}: not even decided"
        );
    }
}

#[tokio::test]
async fn calls_of_a_streamed_incomplete_response_never_run() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::function_call("restart_deployment", r#"{"deployment": "we"#)
            .incomplete("max_output_tokens"),
    );
    let agent = agent(&world).build().unwrap();
    let items: Vec<_> = agent.run_stream("Restart web", MODEL).collect().await;
    let error = items
        .into_iter()
        .find_map(Result::err)
        .expect("the stream ends with an error");
    assert!(
        matches!(&error, Error::ResponseNotCompleted { status, reason, .. }
            if status == "incomplete" && reason == "max_output_tokens"),
        "{error}"
    );
    assert_eq!(world.runs.count(), 0);
}

#[tokio::test]
async fn a_background_response_is_polled_until_it_completes_then_acts() {
    let world = World::start().await;
    policy(&world);
    world
        .openai
        .push(Turn::function_call("restart_deployment", restart("web")).background_polls(2));
    world.openai.push(Turn::text("Restarted."));
    let agent = agent(&world)
        .store(true)
        .background_poll_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let result = agent
        .request("Restart web", MODEL)
        .extra("background", true)
        .send()
        .await
        .unwrap();
    assert_eq!(result.output_text(), "Restarted.");
    assert_eq!(world.runs.count(), 1);
    let first = world.openai.responses()[0].response_id.clone().unwrap();
    assert_eq!(
        world.openai.poll_count(&first),
        3,
        "queued, in_progress, then the finished response"
    );
}

// --- Client-side calls the agent does not execute ----------------------------------------

#[tokio::test]
async fn client_side_calls_are_answered_with_a_tool_error_and_recorded() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::new()
            .local_shell_call(["kubectl", "delete", "ns", "prod"])
            .shell_call(["terraform destroy -auto-approve"])
            .apply_patch_call(json!({"type": "delete_file", "path": "main.tf"}))
            .custom_tool_call("run_sql", "DROP TABLE users;"),
    );
    world.openai.push(Turn::text("I could not run those."));
    let result = agent(&world)
        .build()
        .unwrap()
        .run("Clean up", MODEL)
        .await
        .unwrap();
    assert_eq!(result.output_text(), "I could not run those.");
    let tools: Vec<&str> = result
        .execution
        .events
        .iter()
        .map(|e| e.tool.as_str())
        .collect();
    assert_eq!(tools, ["local_shell", "shell", "apply_patch", "run_sql"]);
    assert!(
        result
            .execution
            .events
            .iter()
            .all(|e| e.status == ExecutionStatus::ToolError
                && e.error.as_deref().unwrap().contains("not executed"))
    );
    // The fake accepts the next request only if every call has its output.
    let second = &world.model_requests()[1];
    let outputs: Vec<&str> = second["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["type"].as_str())
        .filter(|t| t.ends_with("_output"))
        .collect();
    assert_eq!(
        outputs,
        [
            "local_shell_call_output",
            "shell_call_output",
            "apply_patch_call_output",
            "custom_tool_call_output"
        ]
    );
}

#[tokio::test]
async fn a_computer_call_ends_the_run_with_a_typed_error_on_record() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::new()
            .call_with_id("restart_deployment", restart("web"), "call_r")
            .computer_call(json!({"type": "click", "button": "left", "x": 1, "y": 2})),
    );
    let error = agent(&world)
        .build()
        .unwrap()
        .run("Restart web", MODEL)
        .await
        .unwrap_err();
    let Error::Interrupted { source, events } = &error else {
        panic!("{error}");
    };
    assert!(
        matches!(**source, Error::UnsupportedCall { ref item_type, .. } if item_type == "computer_call")
    );
    let statuses: Vec<(&str, ExecutionStatus)> =
        events.iter().map(|e| (e.tool.as_str(), e.status)).collect();
    assert_eq!(
        statuses,
        [
            ("restart_deployment", ExecutionStatus::Executed),
            ("computer", ExecutionStatus::ToolError)
        ]
    );
}

#[tokio::test]
async fn a_completed_event_the_typed_model_cannot_read_still_completes_the_stream() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::text("All done.")
            .raw_item(json!({"type": "mcp_approval_response", "id": "mcpr_1", "approval_request_id": "mcpa_1", "approve": false}))
            .omit_status(),
    );
    let agent = agent(&world).build().unwrap();
    let items: Vec<_> = agent.run_stream("Status?", MODEL).collect().await;
    let Some(Ok(StreamEvent::FinalResponse { response })) = items.last() else {
        panic!("{:?}", items.last());
    };
    assert_eq!(response.output_text(), "All done.");
}

// --- Secrets never leave the process ------------------------------------------------------

#[tokio::test]
async fn a_secret_in_unparsable_arguments_never_leaves_the_process() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(Turn::function_call(
        "rotate_secret",
        format!(r#"{{"path": "db", "token": "{SECRET}""#),
    ));
    world.openai.push(Turn::text("Rotation failed."));
    let agent = agent(&world).build().unwrap();
    let result = agent.run("Rotate db", MODEL).await.unwrap();
    agent.close().await.unwrap();
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::ToolError);
    assert_eq!(event.arguments, json!("[REDACTED]"));
    let all = everything_on_record(&world, Some(&result)).await;
    assert!(!all.contains(SECRET), "the secret left the process: {all}");
    assert!(world.bighub.count("/actions/memory/ingest") >= 1);
}

#[tokio::test]
async fn an_argument_type_error_never_echoes_the_value() {
    let world = World::start().await;
    policy(&world);
    // A strict schema would stop this model-side; a hostile or buggy model sends it anyway.
    world.openai.push(Turn::function_call(
        "set_port",
        json!({"port": 8443, "pin": SECRET}).to_string(),
    ));
    world.openai.push(Turn::text("Failed."));
    let agent = agent(&world).build().unwrap();
    let result = agent.run("Set the port", MODEL).await.unwrap();
    agent.close().await.unwrap();
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::ToolError);
    assert_eq!(
        event.error.as_deref(),
        Some("invalid argument `pin`: expected u32, got a string")
    );
    let model_saw = tool_output(&world.model_requests()[1], &event.call_id);
    assert!(!model_saw.to_string().contains(SECRET));
    let all = everything_on_record(&world, Some(&result)).await;
    assert!(!all.contains(SECRET), "the secret left the process: {all}");
}

#[tokio::test]
async fn secret_arguments_are_redacted_in_the_result_its_json_its_debug_and_tool_texts() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::new()
            .call_with_id(
                "rotate_secret",
                json!({"path": "db", "token": SECRET}).to_string(),
                "c1",
            )
            .call_with_id(
                "rotate_secret",
                json!({"path": "fail", "token": SECRET}).to_string(),
                "c2",
            ),
    );
    world.openai.push(Turn::text("Rotated."));
    let agent = agent(&world).build().unwrap();
    let result = agent.run("Rotate db", MODEL).await.unwrap();
    agent.close().await.unwrap();
    let events = &result.execution.events;
    assert_eq!(events[0].status, ExecutionStatus::Executed);
    assert_eq!(events[0].arguments["token"], "[REDACTED]");
    assert_eq!(events[0].output.as_ref().unwrap()["log"], "used [REDACTED]");
    assert_eq!(
        events[1].error.as_deref(),
        Some("vault refused token [REDACTED]")
    );
    let all = everything_on_record(&world, Some(&result)).await;
    assert!(!all.contains(SECRET), "the secret left the process: {all}");
}

#[tokio::test]
async fn a_paused_run_hides_secrets_in_debug_and_result_json_but_resumes_from_its_own_json() {
    let world = World::start().await;
    world
        .bighub
        .on_evaluate(|body| Reply::ok(decision("review", body["action"].as_str().unwrap())));
    world.openai.push(Turn::function_call(
        "rotate_secret",
        json!({"path": "db", "token": SECRET}).to_string(),
    ));
    world.openai.push(Turn::text("Rotated."));
    let agent = agent(&world).build().unwrap();
    let result = agent.run("Rotate db", MODEL).await.unwrap();
    let state = result.paused.clone().unwrap();
    let shown = format!(
        "{result:?}{state:?}{}",
        serde_json::to_string(&result).unwrap()
    );
    assert!(!shown.contains(SECRET), "{shown}");
    assert_eq!(
        state.pending_approvals()[0].arguments["token"],
        "[REDACTED]"
    );

    // The state's own JSON keeps the exact call, so the approved call runs as asked.
    let carried = RunState::from_json(&state.to_json().unwrap()).unwrap();
    let id = carried.pending_approvals()[0].request_id.clone();
    let done = agent
        .resume(carried, [(id, ApprovalAnswer::approved("ok"))])
        .await
        .unwrap();
    let ran = done
        .execution
        .with_status(ExecutionStatus::Executed)
        .next()
        .unwrap();
    assert_eq!(ran.output.as_ref().unwrap()["rotated"], "db");
}

// --- Tools that hang, runs that are dropped ----------------------------------------------

#[tokio::test]
async fn a_hanging_tool_is_stopped_at_its_timeout_and_the_run_goes_on() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::new()
            .call_with_id("hanging_check", json!({"cluster": "eu"}).to_string(), "c1")
            .call_with_id("restart_deployment", restart("web"), "c2")
            .call_with_id("slow_probe", json!({"host": "eu-1"}).to_string(), "c3"),
    );
    world.openai.push(Turn::text("eu did not answer."));
    let agent = agent(&world)
        .action_with(
            bighub::tool::FnTool::new(
                "slow_probe",
                "Probe a host (never answers).",
                |_: Probe| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<_, ToolError>(json!({}))
                },
            ),
            ToolOptions::new()
                .system("net")
                .timeout(Duration::from_millis(50)),
        )
        .build()
        .unwrap();
    let result = agent.run("Check eu", MODEL).await.unwrap();
    let events = &result.execution.events;
    assert_eq!(events[0].status, ExecutionStatus::ToolError);
    assert_eq!(
        events[0].error.as_deref(),
        Some("the tool did not finish within 100ms")
    );
    assert_eq!(events[1].status, ExecutionStatus::Executed);
    assert_eq!(
        agent.tools().get("slow_probe").unwrap().timeout(),
        Some(Duration::from_millis(50))
    );
    assert_eq!(agent.config().tool_timeout, Duration::from_secs(60));
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Probe {
    #[allow(dead_code)]
    host: String,
}

#[tokio::test]
async fn a_run_whose_caller_gives_up_still_records_every_call_that_ran() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(Turn::function_call(
        "drain_node",
        json!({"node": "n1"}).to_string(),
    ));
    world.openai.push(Turn::text("Drained."));
    let (tx, mut recorded) = tokio::sync::mpsc::unbounded_channel::<ExecutionEvent>();
    let agent = agent(&world)
        .on_decision(move |event| {
            let _ = tx.send(event.clone());
        })
        .build()
        .unwrap();

    // The caller stops waiting while the tool is running.
    let gave_up =
        tokio::time::timeout(Duration::from_millis(100), agent.run("Drain n1", MODEL)).await;
    assert!(gave_up.is_err());

    let event = recorded
        .recv()
        .await
        .expect("the call that ran is recorded");
    assert_eq!(event.status, ExecutionStatus::Executed);
    assert_eq!(world.runs.count(), 1);
    let stats = agent.close().await.unwrap();
    assert_eq!(stats.outcomes_sent, 1, "{stats:?}");
    assert_eq!(stats.memory_batches_sent, 1, "{stats:?}");
    let memory = world.bighub_bodies("/actions/memory/ingest");
    assert_eq!(memory[0]["events"][0]["call_id"], json!(event.call_id));
}

#[tokio::test]
async fn a_dropped_stream_starts_no_further_tool() {
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::new()
            .call_with_id("drain_node", json!({"node": "n1"}).to_string(), "c1")
            .call_with_id("drain_node", json!({"node": "n2"}).to_string(), "c2"),
    );
    world.openai.push(Turn::text("Drained."));
    let (tx, mut recorded) = tokio::sync::mpsc::unbounded_channel::<ExecutionEvent>();
    let agent = agent(&world)
        .parallel_tool_execution(false)
        .on_decision(move |event| {
            let _ = tx.send(event.clone());
        })
        .build()
        .unwrap();
    let mut stream = agent.run_stream("Drain", MODEL);
    // Read until the second decision landed, then wait a little into the first tool.
    let mut decisions = 0;
    while decisions < 2 {
        if let Some(Ok(StreamEvent::Decision { .. })) = stream.next().await {
            decisions += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stream);

    let first = recorded.recv().await.unwrap();
    let second = recorded.recv().await.unwrap();
    assert_eq!(
        first.status,
        ExecutionStatus::Executed,
        "the started tool finished"
    );
    assert_eq!(
        second.status,
        ExecutionStatus::Blocked,
        "the next one never started"
    );
    assert_eq!(
        second.error.as_deref(),
        Some("not started: the run was cancelled")
    );
    assert_eq!(world.runs.count(), 1);
}

// --- Reporting keeps up and tells the truth -----------------------------------------------

#[tokio::test]
async fn close_sends_every_report_of_many_concurrent_runs_and_counts_them_exactly() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.bighub.set_latency(Duration::from_millis(30));
    world.openai.respond_with(|request| {
        if request.tool_outputs().is_empty() {
            (0..4).fold(Turn::new(), |turn, i| {
                turn.call("restart_deployment", restart(&format!("svc-{i}")))
            })
        } else {
            Turn::text("done")
        }
    });
    let agent = world.agent().build().unwrap();
    let runs = (0..50).map(|i| {
        let agent = agent.clone();
        async move {
            agent
                .run(format!("restart batch {i}"), MODEL)
                .await
                .unwrap()
        }
    });
    futures::future::join_all(runs).await;
    let stats = agent.close().await.unwrap();
    assert_eq!(stats.outcomes_sent, 200, "{stats:?}");
    assert_eq!(stats.memory_batches_sent, 50, "{stats:?}");
    assert_eq!(
        (stats.failed, stats.dropped, stats.pending),
        (0, 0, 0),
        "{stats:?}"
    );
    assert!(!stats.flush_timed_out);
    assert_eq!(world.bighub.count("/outcomes/report"), 200);
}

#[tokio::test]
async fn a_fail_closed_decision_is_reported_with_a_request_id() {
    let world = World::start().await;
    world.bighub.on_evaluate(|_| Reply::status(503));
    world
        .openai
        .push(Turn::function_call("restart_deployment", restart("web")));
    world.openai.push(Turn::text("blocked"));
    let agent = world.agent().evaluate_retries(0).build().unwrap();
    let result = agent.run("Restart", MODEL).await.unwrap();
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Blocked);
    let stats = agent.close().await.unwrap();
    assert_eq!((stats.outcomes_sent, stats.failed), (1, 0), "{stats:?}");
    let report = &world.bighub_bodies("/outcomes/report")[0];
    assert!(
        report["request_id"]
            .as_str()
            .unwrap()
            .starts_with("synthetic_"),
        "{report}"
    );
    assert_eq!(report["status"], "BLOCKED");
}

// --- Fail-open is for availability only; odd answers stop --------------------------------

/// One restart call against a decision service that answers `reply` first.
async fn restart_failing_open(reply: Reply) -> (World, bighub::RunResult) {
    let world = World::start().await;
    world.bighub.on_evaluate(move |_| reply.clone());
    world
        .openai
        .push(Turn::function_call("restart_deployment", restart("web")));
    world.openai.push(Turn::text("ok"));
    let agent = world
        .agent()
        .fail_mode(FailMode::Open)
        .evaluate_retries(0)
        .build()
        .unwrap();
    let result = agent.run("Restart", MODEL).await.unwrap();
    (world, result)
}

#[tokio::test]
async fn failing_open_never_runs_a_call_on_a_refused_key_or_an_unreadable_answer() {
    let refusals = [
        Reply::json(401, json!({"detail": "Invalid API key"})),
        Reply::json(403, json!({"detail": "Forbidden"})),
        Reply::text(200, "text/html", "<html><body>Sign in</body></html>"),
        Reply::json(200, json!([])),
    ];
    for reply in refusals {
        let status = reply.status_code();
        let (world, result) = restart_failing_open(reply).await;
        let event = result.last().unwrap();
        assert_eq!(event.status, ExecutionStatus::Blocked, "HTTP {status}");
        let reason = event.decision.as_ref().and_then(|d| d.reason.clone());
        assert!(
            reason
                .as_deref()
                .is_some_and(|r| r.contains("whatever the fail mode")),
            "HTTP {status}: {reason:?}"
        );
        assert_eq!(world.runs.count(), 0, "HTTP {status}");
    }

    // Unavailable: fail-open proceeds, as configured.
    let (world, result) = restart_failing_open(Reply::status(503)).await;
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Executed);
    assert_eq!(world.runs.count(), 1);
}

#[tokio::test]
async fn a_stop_signal_sent_as_a_string_stops_the_call() {
    for (flag, value) in [
        ("should_not_run", json!("true")),
        ("can_run", json!("false")),
        ("allowed", json!("false")),
        ("requires_approval", json!("true")),
        ("needs_review", json!("true")),
    ] {
        let world = World::start().await;
        world.bighub.on_evaluate(move |body| {
            let mut answer = decision("autonomous", body["action"].as_str().unwrap());
            answer[flag] = value.clone();
            Reply::ok(answer)
        });
        world
            .openai
            .push(Turn::function_call("restart_deployment", restart("web")));
        world.openai.push(Turn::text("ok"));
        let result = world
            .agent()
            .build()
            .unwrap()
            .run("Restart", MODEL)
            .await
            .unwrap();
        assert_eq!(
            result.last().unwrap().status,
            ExecutionStatus::Blocked,
            "{flag}"
        );
        assert_eq!(world.runs.count(), 0, "{flag}");
    }
}

// --- Wire hygiene -------------------------------------------------------------------------

#[tokio::test]
async fn plain_http_to_a_model_provider_off_this_machine_is_refused() {
    let build = |url: &str, allow: bool| {
        BighubOpenAI::builder()
            .openai_api_key("sk-test")
            .openai_base_url(url)
            .engine(LocalEngine::builder().in_memory().build().unwrap())
            .allow_insecure_provider_http(allow)
            .build()
    };
    let error = build("http://10.1.2.3:8080/v1", false).unwrap_err();
    assert!(error.to_string().contains("unencrypted"), "{error}");
    assert!(build("http://gateway.internal/v1", false).is_err());
    assert!(build("ftp://api.openai.com/v1", true).is_err());
    for ok in [
        "https://api.openai.com/v1",
        "http://127.0.0.1:9/v1",
        "http://localhost:9/v1",
        "http://[::1]:9/v1",
    ] {
        assert!(build(ok, false).is_ok(), "{ok}");
    }
    assert!(build("http://gateway.internal/v1", true).is_ok());
}

#[tokio::test]
async fn a_huge_decision_reason_and_tool_output_are_cut_with_a_marker() {
    let world = World::start().await;
    let long_reason = "r".repeat(2 * 1024 * 1024);
    world.bighub.on_evaluate(move |body| {
        let mut answer = decision("autonomous", body["action"].as_str().unwrap());
        if body["action"] == "restart_deployment" {
            answer["mode"] = json!("blocked");
        }
        answer["reason"] = json!(long_reason);
        Reply::ok(answer)
    });
    world.openai.push(
        Turn::new()
            .call_with_id("restart_deployment", restart("web"), "c1")
            .call_with_id("export_report", json!({"rows": 200_000}).to_string(), "c2"),
    );
    world.openai.push(Turn::text("ok"));
    let agent = agent(&world).build().unwrap();
    let result = agent.run("Restart and export", MODEL).await.unwrap();
    agent.close().await.unwrap();

    let second = &world.model_requests()[1];
    let blocked = tool_output(second, "c1");
    let reason = blocked["reason"].as_str().unwrap();
    assert!(
        reason.len() < 4 * 1024 + 100 && reason.ends_with("bytes, limit 4096]"),
        "{}",
        reason.len()
    );
    let exported = tool_output(second, "c2");
    let output = exported["output"].as_str().unwrap();
    assert!(
        output.len() < 64 * 1024 + 100 && output.ends_with("limit 65536]"),
        "{}",
        output.len()
    );
    assert_eq!(
        result.execution.events[1].output.as_ref().unwrap().as_str(),
        Some(output)
    );
    for body in world.bighub_bodies("/actions/memory/ingest") {
        assert!(
            body.to_string().len() < 200 * 1024,
            "memory carries the cut texts only"
        );
    }
}

#[tokio::test]
async fn connections_to_the_decision_service_stay_bounded_under_a_burst() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.bighub.set_latency(Duration::from_millis(30));
    let agent = world.agent().build().unwrap();
    let checks = (0..300).map(|i| {
        let agent = agent.clone();
        async move {
            agent
                .check_tool(
                    "restart_deployment",
                    json!({"deployment": format!("d{i}"), "namespace": "x"}),
                )
                .await
                .unwrap()
        }
    });
    futures::future::join_all(checks).await;
    assert_eq!(world.bighub.count("/actions/evaluate"), 300);
    assert!(
        world.bighub.peak_open_connections() <= 64,
        "{}",
        world.bighub.peak_open_connections()
    );
}

#[tokio::test]
async fn requests_to_the_model_provider_stay_bounded_under_a_burst() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.set_latency(Duration::from_millis(20));
    world.openai.respond_with(|_| Turn::text("ok"));
    let agent = world
        .agent()
        .provider_max_concurrent_requests(4)
        .build()
        .unwrap();
    let runs = (0..40).map(|i| {
        let agent = agent.clone();
        async move { agent.run(format!("hello {i}"), MODEL).await.unwrap() }
    });
    futures::future::join_all(runs).await;
    assert_eq!(world.openai.request_count(), 40);
    assert!(
        world.openai.peak_concurrent_requests() <= 4,
        "{}",
        world.openai.peak_concurrent_requests()
    );
    assert!(
        world.openai.peak_concurrent_requests() >= 2,
        "the runs did overlap"
    );
}

#[tokio::test]
async fn a_tool_with_the_same_name_twice_in_a_round_is_decided_per_call() {
    // Two calls of one tool in one round, one allowed and one not: each runs under its own.
    let world = World::start().await;
    policy(&world);
    world.openai.push(
        Turn::new()
            .call_with_id("restart_deployment", restart("web"), "a")
            .call_with_id("restart_deployment", restart("payments"), "b"),
    );
    world.openai.push(Turn::text("ok"));
    let result = agent(&world)
        .build()
        .unwrap()
        .run("Restart", MODEL)
        .await
        .unwrap();
    let statuses: Vec<_> = result.execution.events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [ExecutionStatus::Executed, ExecutionStatus::Blocked]
    );
    assert_eq!(world.runs.count(), 1);
    let _ = Arc::clone(&world.runs);
}

// --- Logs carry no forged line; printed values carry no secret; approvers see what runs --

/// A line an attacker would like the operator's log to show, as the fmt layer writes one.
const FORGED: &str = "2026-12-07T04:00:00.000000Z  INFO bighub_openai: approved by security";

/// What the fmt subscriber wrote for this thread's events while it was installed.
///
/// One global subscriber (bighub targets, every level, spans as they open) writes each
/// event to the buffer of the thread that emitted it: scoped subscribers on parallel test
/// threads can miss events, since tracing caches each callsite's interest process-wide.
/// A `#[tokio::test]` runs its tasks on its own thread.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<LogBuffer>> = const { std::cell::RefCell::new(None) };
}

/// Stops capturing this thread's logs when dropped.
struct Capturing;

impl Drop for Capturing {
    fn drop(&mut self) {
        CAPTURE.with(|c| c.borrow_mut().take());
    }
}

impl LogBuffer {
    /// Captures this thread's logs until the guard is dropped.
    fn install() -> (Self, Capturing) {
        static SUBSCRIBER: std::sync::Once = std::sync::Once::new();
        SUBSCRIBER.call_once(|| {
            use tracing_subscriber::filter::{LevelFilter, Targets};
            use tracing_subscriber::fmt::format::FmtSpan;
            use tracing_subscriber::prelude::*;
            let targets = Targets::new()
                .with_target("bighub_openai", LevelFilter::TRACE)
                .with_target("bighub_core", LevelFilter::TRACE);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(|| ThreadWriter)
                .with_ansi(false)
                .with_span_events(FmtSpan::NEW)
                .with_filter(targets);
            tracing_subscriber::registry().with(layer).init();
        });
        let logs = Self::default();
        CAPTURE.with(|c| *c.borrow_mut() = Some(logs.clone()));
        (logs, Capturing)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The log, after checking that no line of it is forged and no character in it moves
    /// the cursor or reorders text; `escaped` must appear, to show the text was logged.
    fn assert_unforged(&self, escaped: &str) -> String {
        let text = self.text();
        assert!(
            !text.lines().any(|line| line.starts_with(FORGED)),
            "a forged line reached the log:\n{text}"
        );
        assert!(
            !text.contains(['\r', '\u{1b}', '\u{202e}']),
            "a raw control reached the log: {text:?}"
        );
        assert!(
            text.contains(escaped),
            "{escaped} is not in the log:\n{text}"
        );
        text
    }
}

/// Writes to the capturing buffer of the current thread, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(logs) = &*c.borrow() {
                logs.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_call_id_chosen_by_the_model_cannot_forge_a_log_line() {
    let (logs, _guard) = LogBuffer::install();
    let world = World::start().await;
    world.decide_all("autonomous");
    let call_id = format!("call_1\n{FORGED}");
    world
        .openai
        .push(Turn::new().call_with_id("restart_deployment", restart("web"), &call_id));
    world.openai.push(Turn::text("Restarted."));
    let agent = world.agent().build().unwrap();
    let result = agent.run("Restart web", MODEL).await.unwrap();
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Executed);
    let text = logs.assert_unforged(&format!("gen_ai.tool.call.id=\"call_1\\n{FORGED}\""));
    assert!(text.contains("execute_tool{"), "{text}");
}

#[tokio::test]
async fn an_error_body_of_the_decision_service_cannot_forge_a_log_line() {
    let (logs, _guard) = LogBuffer::install();
    let world = World::start().await;
    let body = format!("bad request\r\n{FORGED}\u{1b}[2K\u{202e}");
    world
        .bighub
        .on_evaluate(move |_| Reply::text(400, "text/plain", body.clone()));
    world
        .openai
        .push(Turn::function_call("restart_deployment", restart("web")));
    world.openai.push(Turn::text("Blocked."));
    let agent = world.agent().build().unwrap();
    let result = agent.run("Restart web", MODEL).await.unwrap();
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Blocked);
    logs.assert_unforged(&format!(
        "BIGHUB answered HTTP 400: bad request\\r\\n{FORGED}\\x1b[2K\\u{{202e}}"
    ));
}

#[tokio::test]
async fn a_hosted_mcp_server_label_cannot_forge_a_log_line() {
    let (logs, _guard) = LogBuffer::install();
    let world = World::start().await;
    world.decide_all("autonomous");
    let label = format!("deploys\n{FORGED}");
    world.openai.push(
        Turn::new()
            .mcp_call(&label, "delete_release", r#"{"release":"v1"}"#, "deleted")
            .message("Deleted."),
    );
    let agent = world
        .agent()
        .hosted_mcp(bighub::mcp::HostedMcp::new(
            "deploys",
            "https://mcp.example.com/mcp",
        ))
        .build()
        .unwrap();
    let result = agent.run("Delete v1", MODEL).await.unwrap();
    assert_eq!(result.last().unwrap().status, ExecutionStatus::ToolError);
    let text = logs.assert_unforged(&format!("server=\"deploys\\n{FORGED}\""));
    assert!(text.contains("did not approve"), "{text}");
}

#[tokio::test]
async fn a_checked_or_decided_call_prints_no_secret_on_a_local_engine() {
    let world = World::start().await;
    let agent = agent(&world)
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .build()
        .unwrap();
    let arguments = json!({"path": "db", "token": SECRET});
    let checked = agent
        .check_tool("rotate_secret", arguments.clone())
        .await
        .unwrap();
    let decided = agent.decide_tool("rotate_secret", arguments).await.unwrap();
    for check in [&checked, &decided] {
        for shown in [
            format!("{check:?}"),
            serde_json::to_string(check).unwrap(),
            format!("{:?}", check.action),
            serde_json::to_string(&check.action).unwrap(),
        ] {
            assert!(!shown.contains(SECRET), "the secret is shown: {shown}");
            assert!(shown.contains("[REDACTED]"), "{shown}");
        }
        // What engines decide on keeps the real value.
        assert_eq!(check.action.arguments["token"], SECRET);
    }
}

#[tokio::test]
async fn pending_approvals_show_the_arguments_that_run_not_an_edited_copy() {
    let world = World::start().await;
    policy(&world);
    let agent = agent(&world).build().unwrap();
    let (json, request_id) = paused_grant(&world, &agent).await;
    let edit_copy = |state: &mut Value| {
        state["calls"][0]["event"]["arguments"]["duration"] = json!("1h");
        for event in state["events"].as_array_mut().unwrap() {
            event["arguments"]["duration"] = json!("1h");
        }
    };

    // Only the shown copy edited: the approver sees 48h, and 48h is what runs.
    let mut edited = json.clone();
    edit_copy(&mut edited);
    let state: RunState = serde_json::from_value(edited).unwrap();
    let pending = state.pending_approvals();
    assert_eq!(pending[0].arguments, grant());
    assert_eq!(pending[0].tool, "grant_access");

    // Every copy beside the model's call edited to 1h: still 48h shown, and nothing runs.
    let mut edited = json.clone();
    edit_copy(&mut edited);
    let one_hour = json!({"user_id": "alice", "group": "okta-admins", "duration": "1h"});
    edited["calls"][0]["raw_arguments"] = json!(one_hour.to_string());
    edited["calls"][0]["arguments_sha256"] =
        json!(bighub_core::digest::canonical_sha256(&one_hour));
    let state: RunState = serde_json::from_value(edited).unwrap();
    assert_eq!(state.pending_approvals()[0].arguments, grant());
    let error = agent
        .resume(
            state,
            [(request_id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::ArgumentsChanged,
                ..
            })
        ),
        "{error}"
    );
    assert_eq!(world.runs.count(), 0);

    // The state with only the shown copy edited runs the call as shown.
    let mut edited = json;
    edit_copy(&mut edited);
    let done = agent
        .resume(
            serde_json::from_value(edited).unwrap(),
            [(request_id, ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap();
    let ran = done
        .execution
        .with_status(ExecutionStatus::Executed)
        .next()
        .unwrap();
    assert_eq!(ran.output.as_ref().unwrap()["duration"], "48h");
    assert_eq!(world.runs.count(), 1);
}
