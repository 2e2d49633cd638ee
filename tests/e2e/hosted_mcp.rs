//! End to end: hosted MCP tools of the Responses API. Every call the API proposes
//! (`mcp_approval_request`) is decided like a function call and answered with an
//! `mcp_approval_response` that approves only what the decision (or a reviewer) allowed; the
//! calls the API then made (`mcp_call`) are recorded.

use crate::support::World;
use bighub::engine::{ApprovalRefusal, ApprovalRefused};
use bighub::mcp::HostedMcp;
use bighub::tool::RiskLevel;
use bighub::{ApprovalAnswer, ExecutionStatus, RunState, StreamEvent};
use bighub_testkit::fake_bighub::{Reply, decision};
use bighub_testkit::fake_openai::Turn;
use futures::StreamExt;
use serde_json::{Value, json};

const MODEL: &str = "gpt-test";

fn deploys() -> HostedMcp {
    HostedMcp::new("deploys", "https://mcp.example.com/mcp")
        .header("Authorization", "Bearer mcp-token")
        .allowed_tools(["list_releases", "delete_release", "rollback_release"])
        .system("argocd")
        .environment("production")
}

/// Reads run, deletions are blocked, rollbacks go to review.
fn decide_by_action(world: &World) {
    world.bighub.on_evaluate(|body| {
        let action = body["action"].as_str().unwrap_or_default();
        let mode = match action {
            "list_releases" => "autonomous",
            "rollback_release" => "review",
            _ => "blocked",
        };
        Reply::ok(decision(mode, action))
    });
}

/// The `mcp_approval_response` items of a model request.
fn approval_responses(request: &Value) -> Vec<Value> {
    request["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "mcp_approval_response")
        .cloned()
        .collect()
}

#[tokio::test]
async fn every_request_carries_the_mcp_tool_with_approval_always_required() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.push(Turn::text("Nothing to do."));
    let agent = world.agent().hosted_mcp(deploys()).build().unwrap();

    agent.run("Anything?", MODEL).await.unwrap();

    let request = &world.model_requests()[0];
    let mcp: Vec<&Value> = request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["type"] == "mcp")
        .collect();
    assert_eq!(mcp.len(), 1);
    assert_eq!(mcp[0]["server_label"], "deploys");
    assert_eq!(mcp[0]["server_url"], "https://mcp.example.com/mcp");
    assert_eq!(mcp[0]["require_approval"], "always");
    assert_eq!(mcp[0]["headers"]["Authorization"], "Bearer mcp-token");
    assert_eq!(
        mcp[0]["allowed_tools"],
        json!(["list_releases", "delete_release", "rollback_release"])
    );
    assert!(!format!("{:?}", deploys()).contains("mcp-token"));
}

#[tokio::test]
async fn an_allowed_call_is_approved_and_the_call_the_api_made_is_recorded() {
    let world = World::start().await;
    decide_by_action(&world);
    let arguments = r#"{"app":"checkout"}"#;
    world.openai.push(
        Turn::new()
            .mcp_list_tools(
                "deploys",
                vec![json!({"name": "list_releases", "input_schema": {"type": "object"}})],
            )
            .mcp_approval_request_with_id("mcpr_list", "deploys", "list_releases", arguments),
    );
    world.openai.push(
        Turn::new()
            .mcp_call("deploys", "list_releases", arguments, r#"["v41","v42"]"#)
            .message("checkout runs v42."),
    );
    let agent = world.agent().hosted_mcp(deploys()).build().unwrap();

    let result = agent
        .run("Which checkout release runs?", MODEL)
        .await
        .unwrap();

    assert_eq!(result.output_text(), "checkout runs v42.");
    // Decided as a call of the MCP tool, described by the HostedMcp.
    let evaluated = world.bighub_bodies("/actions/evaluate");
    assert_eq!(evaluated.len(), 1);
    assert_eq!(evaluated[0]["action"], "list_releases");
    assert_eq!(evaluated[0]["context"]["system"], "argocd");
    assert_eq!(evaluated[0]["context"]["environment"], "production");
    assert_eq!(evaluated[0]["context"]["risk"], "high");
    // Answered approve: true, for exactly that request.
    let requests = world.model_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        approval_responses(&requests[1]),
        vec![
            json!({"type": "mcp_approval_response", "approval_request_id": "mcpr_list", "approve": true})
        ]
    );
    let statuses: Vec<_> = result
        .execution
        .events
        .iter()
        .map(|e| (e.tool.as_str(), e.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("list_releases", ExecutionStatus::Approved),
            ("list_releases", ExecutionStatus::Executed)
        ]
    );
    let call = result.last().unwrap();
    assert_eq!(call.output, Some(json!(r#"["v41","v42"]"#)));
    assert_eq!(call.arguments, json!({"app": "checkout"}));
    assert_eq!(call.request_id, result.execution.events[0].request_id);
    assert_eq!(result.mcp_tool_lists.len(), 1);
    assert_eq!(result.mcp_tool_lists[0].server_label, "deploys");
    assert_eq!(result.mcp_tool_lists[0].tools[0]["name"], "list_releases");
    // No local tool ran.
    assert_eq!(world.runs.count(), 0);
}

#[tokio::test]
async fn a_destructive_call_in_production_is_refused_with_the_reason() {
    let world = World::start().await;
    decide_by_action(&world);
    world.openai.push(Turn::new().mcp_approval_request_with_id(
        "mcpr_del",
        "deploys",
        "delete_release",
        r#"{"app":"checkout","release":"v41"}"#,
    ));
    world
        .openai
        .push(Turn::text("I was not allowed to delete it."));
    let agent = world.agent().hosted_mcp(deploys()).build().unwrap();

    let result = agent.run("Delete checkout v41", MODEL).await.unwrap();

    let answers = approval_responses(&world.model_requests()[1]);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["approval_request_id"], "mcpr_del");
    assert_eq!(answers[0]["approve"], false);
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::Blocked);
    let reason = event.decision.as_ref().unwrap().reason.clone().unwrap();
    assert_eq!(answers[0]["reason"], reason.as_str());
    assert_eq!(result.execution.events.len(), 1);
}

#[tokio::test]
async fn a_review_pauses_and_resume_approves_exactly_that_call() {
    let world = World::start().await;
    decide_by_action(&world);
    let arguments = r#"{"app":"checkout","to":"v41"}"#;
    world.openai.push(Turn::new().mcp_approval_request_with_id(
        "mcpr_rb",
        "deploys",
        "rollback_release",
        arguments,
    ));
    world.openai.push(
        Turn::new()
            .mcp_call("deploys", "rollback_release", arguments, "rolled back")
            .message("checkout is back on v41."),
    );
    let agent = world
        .agent()
        .hosted_mcp(deploys())
        .pause_for_approval(true)
        .build()
        .unwrap();

    let paused = agent.run("Roll checkout back to v41", MODEL).await.unwrap();

    assert!(paused.is_paused());
    assert_eq!(
        world.model_requests().len(),
        1,
        "nothing is answered while it waits"
    );
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].tool, "rollback_release");
    assert_eq!(pending[0].call_id, "mcpr_rb");
    assert_eq!(
        pending[0].arguments,
        json!({"app": "checkout", "to": "v41"})
    );
    let json = paused.paused.as_ref().unwrap().to_json().unwrap();

    // The hosted decision service cannot bind the approval: the agent that paused resumes.
    let result = agent
        .resume(
            RunState::from_json(&json).unwrap(),
            [(
                pending[0].request_id.clone(),
                ApprovalAnswer::approved("go"),
            )],
        )
        .await
        .unwrap();

    assert!(!result.is_paused());
    assert_eq!(result.output_text(), "checkout is back on v41.");
    let requests = world.model_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        approval_responses(&requests[1]),
        vec![
            json!({"type": "mcp_approval_response", "approval_request_id": "mcpr_rb", "approve": true})
        ]
    );
    let statuses: Vec<_> = result.execution.events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [ExecutionStatus::Approved, ExecutionStatus::Executed]
    );
    assert_eq!(result.last().unwrap().output, Some(json!("rolled back")));
    assert_eq!(world.runs.count(), 0);
}

#[tokio::test]
async fn a_rejected_review_is_answered_approve_false() {
    let world = World::start().await;
    decide_by_action(&world);
    world.openai.push(Turn::new().mcp_approval_request_with_id(
        "mcpr_rb",
        "deploys",
        "rollback_release",
        r#"{"app":"checkout","to":"v41"}"#,
    ));
    world.openai.push(Turn::text("The rollback was refused."));
    let agent = world.agent().hosted_mcp(deploys()).build().unwrap();

    let result = agent
        .run_with_approval("Roll checkout back", MODEL, |_| async {
            Some(ApprovalAnswer::rejected("not during the sale"))
        })
        .await
        .unwrap();

    let answers = approval_responses(&world.model_requests()[1]);
    assert_eq!(answers[0]["approve"], false);
    assert_eq!(answers[0]["reason"], "not during the sale");
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Rejected);
}

#[tokio::test]
async fn malformed_or_unoffered_calls_are_refused_without_a_decision() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.push(
        Turn::new()
            .mcp_approval_request_with_id("mcpr_bad", "deploys", "list_releases", r#"{"app": "#)
            .mcp_approval_request_with_id("mcpr_arr", "deploys", "list_releases", "[1]")
            .mcp_approval_request_with_id("mcpr_other", "deploys", "drop_cluster", "{}")
            .mcp_approval_request_with_id("mcpr_label", "elsewhere", "list_releases", "{}"),
    );
    world.openai.push(Turn::text("Done."));
    let agent = world
        .agent()
        .hosted_mcp(deploys().risk(RiskLevel::Low))
        .build()
        .unwrap();

    let result = agent.run("List releases", MODEL).await.unwrap();

    assert!(world.bighub_bodies("/actions/evaluate").is_empty());
    let answers = approval_responses(&world.model_requests()[1]);
    assert_eq!(answers.len(), 4);
    for answer in &answers {
        assert_eq!(answer["approve"], false, "{answer}");
        assert!(answer["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    assert!(
        answers[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(
        result
            .execution
            .events
            .iter()
            .all(|e| e.status == ExecutionStatus::ToolError)
    );
}

#[tokio::test]
async fn an_mcp_call_without_this_agents_approval_is_recorded_as_such() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.push(
        Turn::new()
            .mcp_call(
                "deploys",
                "delete_release",
                r#"{"release":"v1"}"#,
                "deleted",
            )
            .message("Deleted."),
    );
    let agent = world.agent().hosted_mcp(deploys()).build().unwrap();

    let result = agent.run("Delete v1", MODEL).await.unwrap();

    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::ToolError);
    assert!(event.decision.is_none());
    assert!(
        event
            .error
            .as_ref()
            .unwrap()
            .contains("without an approval")
    );
}

#[tokio::test]
async fn a_stream_shows_the_answer_and_the_call_the_api_made() {
    let world = World::start().await;
    decide_by_action(&world);
    let arguments = r#"{"app":"checkout"}"#;
    world.openai.push(
        Turn::new()
            .mcp_approval_request_with_id("mcpr_list", "deploys", "list_releases", arguments)
            .mcp_approval_request_with_id("mcpr_del", "deploys", "delete_release", arguments),
    );
    world.openai.push(
        Turn::new()
            .mcp_call("deploys", "list_releases", arguments, "[]")
            .message("No releases."),
    );
    let agent = world.agent().hosted_mcp(deploys()).build().unwrap();

    let mut stream = agent.run_stream("List and delete", MODEL);
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap());
    }

    let answers: Vec<(String, bool)> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::McpApproval {
                approval_request_id,
                approve,
                server_label,
                ..
            } => {
                assert_eq!(server_label, "deploys");
                Some((approval_request_id.clone(), *approve))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        answers,
        [
            ("mcpr_list".to_owned(), true),
            ("mcpr_del".to_owned(), false)
        ]
    );
    let executed: Vec<ExecutionStatus> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ExecutionEvent { event } => Some(event.status),
            _ => None,
        })
        .collect();
    assert_eq!(
        executed,
        [
            ExecutionStatus::Approved,
            ExecutionStatus::Blocked,
            ExecutionStatus::Executed
        ]
    );
    let StreamEvent::FinalResponse { response: result } = events.last().unwrap() else {
        panic!("the stream ends with the result");
    };
    assert_eq!(result.output_text(), "No releases.");
}

#[tokio::test]
async fn a_paused_state_whose_arguments_were_changed_does_not_resume() {
    let world = World::start().await;
    decide_by_action(&world);
    world.openai.push(Turn::new().mcp_approval_request_with_id(
        "mcpr_rb",
        "deploys",
        "rollback_release",
        r#"{"app":"checkout","to":"v41"}"#,
    ));
    let agent = world
        .agent()
        .hosted_mcp(deploys())
        .pause_for_approval(true)
        .build()
        .unwrap();
    let paused = agent.run("Roll checkout back", MODEL).await.unwrap();
    let request_id = paused.pending_approvals()[0].request_id.clone();
    let json = paused.paused.as_ref().unwrap().to_json().unwrap();
    let tampered = json.replace("v41", "v1");
    assert_ne!(tampered, json);

    let error = agent
        .resume(
            RunState::from_json(&tampered).unwrap(),
            [(request_id, ApprovalAnswer::approved("go"))],
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            bighub::Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::ArgumentsChanged,
                ..
            })
        ),
        "{error:?}"
    );
    assert_eq!(world.model_requests().len(), 1, "nothing was answered");
}

#[tokio::test]
async fn one_approval_covers_one_call_of_that_tool_with_those_arguments() {
    let world = World::start().await;
    world.decide_all("autonomous");
    let arguments = r#"{"app":"checkout"}"#;
    world.openai.push(Turn::new().mcp_approval_request_with_id(
        "mcpr_list",
        "deploys",
        "list_releases",
        arguments,
    ));
    world.openai.push(
        Turn::new()
            .mcp_call("deploys", "list_releases", arguments, "[]")
            .mcp_call("deploys", "list_releases", arguments, "[]")
            .mcp_call("deploys", "list_releases", r#"{"app":"billing"}"#, "[]")
            .message("Listed."),
    );
    let agent = world.agent().hosted_mcp(deploys()).build().unwrap();

    let result = agent.run("List releases", MODEL).await.unwrap();

    let statuses: Vec<ExecutionStatus> = result.execution.events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            ExecutionStatus::Approved,
            ExecutionStatus::Executed,
            ExecutionStatus::ToolError,
            ExecutionStatus::ToolError
        ]
    );
    assert!(result.execution.events[2].decision.is_none());
    assert!(result.execution.events[3].decision.is_none());
}

#[tokio::test]
async fn a_hosted_call_named_like_a_local_tool_never_runs_the_local_tool() {
    let world = World::start().await;
    world.decide_all("autonomous");
    let grant = json!({"user_id": "alice", "group": "okta-admins", "duration": "1h"}).to_string();
    let hosted = HostedMcp::new("okta", "https://mcp.example.com/okta");
    world.openai.push(Turn::new().mcp_approval_request_with_id(
        "mcpr_g",
        "okta",
        "grant_access",
        grant,
    ));
    world.openai.push(Turn::text("Done."));
    let agent = world.agent().hosted_mcp(hosted).build().unwrap();

    let result = agent.run("Grant Alice", MODEL).await.unwrap();

    assert_eq!(world.runs.count(), 0, "the local grant_access did not run");
    let evaluated = world.bighub_bodies("/actions/evaluate");
    assert_eq!(evaluated[0]["context"]["system"], "okta");
    assert_eq!(evaluated[0]["context"]["risk"], "high");
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Approved);
    let answers = approval_responses(&world.model_requests()[1]);
    assert_eq!(answers[0]["approve"], true);
}

#[test]
fn two_hosted_servers_with_one_label_are_an_error_at_build() {
    let error = bighub::BighubOpenAI::builder()
        .hosted_mcp(HostedMcp::new("ops", "https://a.example.com"))
        .hosted_mcp(HostedMcp::new("ops", "https://b.example.com"))
        .build()
        .unwrap_err();
    assert!(matches!(error, bighub::Error::Config(_)), "{error:?}");
}
