//! End to end with the embedded local engine: the agent decides offline, reports outcomes
//! into the local store, and later decisions change because of them.

use std::sync::Arc;

use crate::support::{Runs, TerraformApply};
use bighub::{BighubOpenAI, ExecutionStatus, Verdict, engine::Mode, local::LocalEngine};
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use serde_json::json;

const MODEL: &str = "gpt-test";

fn agent(openai: &FakeOpenAi, engine: LocalEngine, runs: &Arc<Runs>) -> BighubOpenAI {
    BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(engine)
        .actor("ops-agent")
        .action(TerraformApply)
        .action(crate::support::GrantAccess)
        .shared_state(Arc::clone(runs))
        // Reports are written before the next call is decided.
        .outcome_reporting_required(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn three_failures_reported_through_the_agent_turn_the_next_call_to_review() {
    let openai = FakeOpenAi::start().await.unwrap();
    let runs = Arc::new(Runs::default());
    let agent = agent(
        &openai,
        LocalEngine::builder().in_memory().build().unwrap(),
        &runs,
    );
    let args = json!({"workspace": "network"});

    // High risk outside production: constrained, so it runs — and fails each time.
    for attempt in 0..3 {
        openai.push(Turn::new().call("terraform_apply", args.to_string()));
        openai.push(Turn::text("It failed."));
        let result = agent
            .run("Apply the network workspace", MODEL)
            .await
            .unwrap();
        let last = result.last().unwrap();
        assert_eq!(last.status, ExecutionStatus::ToolError, "attempt {attempt}");
        assert_eq!(
            last.decision.as_ref().unwrap().mode,
            Some(Mode::Constrained),
            "attempt {attempt}"
        );
    }
    assert_eq!(runs.count(), 3);

    let check = agent.check_tool("terraform_apply", args).await.unwrap();
    assert_eq!(check.verdict, Verdict::ApprovalRequired);
    assert_eq!(check.decision.mode, Some(Mode::Review));
    assert!(
        check
            .decision
            .salient_factors
            .iter()
            .any(|f| f.factor.as_deref() == Some("recent_failures")),
        "{:?}",
        check.decision.salient_factors
    );
}

#[tokio::test]
async fn the_seed_example_pauses_for_review_with_a_shorter_better_action() {
    let openai = FakeOpenAi::start().await.unwrap();
    let runs = Arc::new(Runs::default());
    let agent = agent(
        &openai,
        LocalEngine::builder().in_memory().build().unwrap(),
        &runs,
    );

    let check = agent
        .check_tool(
            "grant_access",
            json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}),
        )
        .await
        .unwrap();

    assert_eq!(check.decision.mode, Some(Mode::Review));
    assert_eq!(check.verdict, Verdict::ApprovalRequired);
    let better = check.decision.better_action.as_deref().unwrap();
    assert!(better.contains("2h") && better.contains("48h"), "{better}");
    assert!(
        check
            .decision
            .salient_factors
            .iter()
            .any(|f| f.factor.as_deref() == Some("excessive_duration"))
    );
    assert!(
        check
            .decision
            .request_id
            .as_deref()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(runs.count(), 0);
}

#[tokio::test]
async fn a_second_agent_on_the_same_store_sees_the_first_ones_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("decisions.db");
    let openai = FakeOpenAi::start().await.unwrap();
    let runs = Arc::new(Runs::default());
    let args = json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"});

    let first = agent(
        &openai,
        LocalEngine::builder().db_path(&db).build().unwrap(),
        &runs,
    );
    let before = first
        .decide_tool("grant_access", args.clone())
        .await
        .unwrap();
    first.close().await.unwrap();
    drop(first);

    let second = agent(
        &openai,
        LocalEngine::builder().db_path(&db).build().unwrap(),
        &runs,
    );
    let after = second.check_tool("grant_access", args).await.unwrap();

    let precedents =
        |d: &bighub::Decision| d.decision_brain().unwrap()["precedents"].as_u64().unwrap();
    assert_eq!(
        precedents(&after.decision),
        precedents(&before.decision) + 1
    );
}

#[tokio::test]
async fn check_tool_previews_and_records_nothing_while_decide_tool_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("decisions.db");
    let openai = FakeOpenAi::start().await.unwrap();
    let runs = Arc::new(Runs::default());
    let agent = agent(
        &openai,
        LocalEngine::builder().db_path(&db).build().unwrap(),
        &runs,
    );
    let args = json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"});
    let store = LocalEngine::builder().db_path(&db).build().unwrap();

    let check = agent
        .check_tool("grant_access", args.clone())
        .await
        .unwrap();
    assert_eq!(check.verdict, Verdict::ApprovalRequired);
    assert!(store.pending_approvals().unwrap().is_empty());
    assert!(store.recent_decisions(10).unwrap().is_empty());

    let missing = agent
        .check_tool("grant_access", json!({"user_id": "alice"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, bighub::Error::InvalidArguments { tool, .. } if tool == "grant_access"),
        "{missing}"
    );
    // The refusal names the field and what was expected, never a value.
    let text = missing.to_string();
    assert!(text.contains("at /group: a value"), "{text}");
    let mistyped = agent
        .check_tool(
            "grant_access",
            json!({"user_id": "alice", "group": 7, "duration": "hunter2-48h"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        mistyped.contains("at /group: string, not a number"),
        "{mistyped}"
    );
    assert!(!mistyped.contains("hunter2"), "{mistyped}");

    let decided = agent.decide_tool("grant_access", args).await.unwrap();
    assert_eq!(decided.verdict, Verdict::ApprovalRequired);
    let pending = store.pending_approvals().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        Some(&pending[0].request_id),
        decided.decision.request_id.as_ref()
    );
    assert_eq!(store.recent_decisions(10).unwrap().len(), 1);
    assert_eq!(runs.count(), 0);
}

/// What a tool saw of its constraints, as its output.
fn seen(context: &bighub::tool::ToolContext) -> serde_json::Value {
    match context.constraints() {
        Some(constraints) => json!({
            "constraints": constraints.texts().collect::<Vec<_>>(),
            "actions": constraints.actions().iter().map(|a| a.action()).collect::<Vec<_>>(),
            "better_action": constraints.better_action(),
        }),
        None => json!(null),
    }
}

/// Deploy a service to staging.
#[bighub::action(
    system = "argocd",
    risk = "high",
    environment = "staging",
    target = "service"
)]
fn deploy_service(service: String, context: bighub::tool::ToolContext) -> serde_json::Value {
    json!({"service": service, "seen": seen(&context)})
}

#[tokio::test]
async fn an_action_run_under_a_constrained_decision_reads_its_constraints_from_its_context() {
    let openai = FakeOpenAi::start().await.unwrap();
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .actor("ops-agent")
        .action(DeployService)
        .build()
        .unwrap();
    openai.push(Turn::new().call("deploy_service", json!({"service": "payments"}).to_string()));
    openai.push(Turn::text("Deployed."));

    let result = agent
        .run("Deploy payments to staging", MODEL)
        .await
        .unwrap();
    let last = result.last().unwrap();
    assert_eq!(last.status, ExecutionStatus::Executed);
    assert_eq!(
        last.decision.as_ref().unwrap().mode,
        Some(Mode::Constrained)
    );
    let output = last.output.as_ref().unwrap();
    assert_eq!(
        output["seen"]["constraints"],
        json!([
            "environment = staging",
            "no production",
            "target = payments"
        ]),
        "{output}"
    );
    assert_eq!(output["seen"]["actions"], json!(["deploy_service"]));
}

#[tokio::test]
async fn a_closure_reads_constraints_under_a_constrained_decision_and_none_under_an_autonomous_one()
{
    use bighub::tool::{ActionMetadata, FnToolWithContext, RiskLevel, ToolContext};

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Restart {
        deployment: String,
    }
    let restart = |risk: RiskLevel, name: &str| {
        FnToolWithContext::new(
            name,
            "Restart a deployment.",
            |args: Restart, context: ToolContext| async move {
                Ok::<_, bighub::ToolError>(
                    json!({"deployment": args.deployment, "seen": seen(&context)}),
                )
            },
        )
        .with_metadata(
            ActionMetadata::new("kubernetes")
                .risk(risk)
                .environment("staging"),
        )
    };
    let openai = FakeOpenAi::start().await.unwrap();
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .actor("ops-agent")
        // High risk outside production is constrained; low risk anywhere is autonomous.
        .action(restart(RiskLevel::High, "restart_deployment"))
        .action(restart(RiskLevel::Low, "restart_pod"))
        .build()
        .unwrap();
    let args = json!({"deployment": "api"}).to_string();
    openai.push(
        Turn::new()
            .call("restart_deployment", args.clone())
            .call("restart_pod", args),
    );
    openai.push(Turn::text("Restarted."));

    let result = agent.run("Restart the api", MODEL).await.unwrap();
    let events = &result.execution.events;
    assert_eq!(events.len(), 2);
    let (constrained, autonomous) = (&events[0], &events[1]);
    assert_eq!(
        constrained.decision.as_ref().unwrap().mode,
        Some(Mode::Constrained)
    );
    assert_eq!(
        constrained.output.as_ref().unwrap()["seen"]["constraints"],
        json!(["environment = staging", "no production"])
    );
    assert_eq!(
        autonomous.decision.as_ref().unwrap().mode,
        Some(Mode::Autonomous)
    );
    assert_eq!(autonomous.output.as_ref().unwrap()["seen"], json!(null));
}
