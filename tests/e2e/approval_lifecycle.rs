//! End to end, with the embedded engine on a clock the test moves: an approved call is
//! decided again when it runs (a freeze that began while it waited stops it, and its
//! approval stays unused), an approval nobody answered in time expires (the model is told,
//! not that it was rejected), and an approver's better action or edit runs instead of the
//! call proposed (the model is told it ran with changed arguments, and why).

use std::sync::Arc;
use std::time::Duration;

use crate::support::{World, tool_output};
use bighub::engine::{ApprovalRefusal, ApprovalRefused, DecisionEngine};
use bighub::local::LocalEngine;
use bighub::{ApprovalAnswer, Error, ExecutionStatus, RunState};
use bighub_local::clock::Clock;
use bighub_local::storage::ApprovalStatus;
use bighub_testkit::fake_openai::Turn;
use serde_json::{Value, json};

const MODEL: &str = "gpt-test";
/// 2026-12-24T00:00:00Z.
const CHRISTMAS_EVE_MS: i64 = 1_798_070_400_000;

fn grant() -> Value {
    json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"})
}

fn script(world: &World) {
    world
        .openai
        .push(Turn::new().call_with_id("grant_access", grant().to_string(), "call_g"));
    world.openai.push(Turn::text("Done."));
}

/// An engine on `clock`, with a change freeze from 01:00 to 06:00 on Christmas Eve, and a
/// rule that blocks grants to `domain-admins`.
fn engine(clock: &Clock) -> Arc<LocalEngine> {
    let engine = LocalEngine::builder()
        .in_memory()
        .clock(clock.clone())
        .config(json!({"freeze_windows": [{
            "name": "Christmas Eve freeze",
            "start": "2026-12-24T01:00:00Z",
            "end": "2026-12-24T06:00:00Z",
        }]}))
        .policy(
            "no_domain_admins.rego",
            r#"
            package bighub.ext
            import rego.v1
            findings contains {"rule": "no_domain_admins", "mode": "blocked",
                               "reason": "Nobody is granted domain-admins by an agent."} if {
                input.action.arguments.group == "domain-admins"
            }
            "#,
        )
        .build()
        .unwrap();
    Arc::new(engine)
}

/// An agent deciding with `engine`.
fn agent(world: &World, engine: &Arc<LocalEngine>) -> bighub::BighubOpenAI {
    world
        .agent()
        .shared_engine(Arc::clone(engine) as Arc<dyn DecisionEngine>)
        .build()
        .unwrap()
}

async fn paused(world: &World, engine: &Arc<LocalEngine>) -> (RunState, String) {
    let result = agent(world, engine)
        .run("Grant Alice admin for 48h", MODEL)
        .await
        .unwrap();
    let id = result.pending_approvals()[0].request_id.clone();
    (result.paused.unwrap(), id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_given_before_a_freeze_does_not_run_its_call_during_it() {
    let world = World::start().await;
    script(&world);
    let clock = Clock::manual(CHRISTMAS_EVE_MS);
    let engine = engine(&clock);
    let (state, id) = paused(&world, &engine).await;

    // The approval comes at 02:00: the freeze began while it waited.
    clock.advance(Duration::from_secs(2 * 3600));
    let agent = agent(&world, &engine);
    let result = agent
        .resume(state, [(id.clone(), ApprovalAnswer::approved("go ahead"))])
        .await
        .unwrap();
    assert_eq!(world.runs.count(), 0, "nothing ran during the freeze");
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::Blocked);
    assert_eq!(event.request_id.as_deref(), Some(id.as_str()));
    let reason = event.decision.as_ref().unwrap().reason.clone().unwrap();
    assert!(reason.contains("Christmas Eve freeze"), "{reason}");

    // The model was told why, and that the approval was not used.
    let requests = world.model_requests();
    let output = tool_output(requests.last().unwrap(), "call_g");
    assert_eq!(output["status"], "blocked");
    assert!(output["note"].as_str().unwrap().contains("decided again"));

    // The approval stands, unused.
    let record = engine.approval(&id).unwrap().unwrap();
    assert_eq!(record.status, ApprovalStatus::Approved);
    assert!(!record.used);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_nobody_answered_in_time_expires_and_the_model_is_told() {
    let world = World::start().await;
    script(&world);
    // Well after the freeze: only the expiry stops the call.
    let clock = Clock::manual(CHRISTMAS_EVE_MS + 7 * 3600 * 1000);
    let engine = engine(&clock);
    let (state, id) = paused(&world, &engine).await;

    clock.advance(Duration::from_secs(25 * 3600));
    let agent = agent(&world, &engine);
    let result = agent
        .resume(
            state,
            [(id.clone(), ApprovalAnswer::approved("sorry, late"))],
        )
        .await
        .unwrap();
    assert_eq!(world.runs.count(), 0);
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::Expired);
    let approval_loop = result.approval_loop.as_ref().unwrap();
    assert!(approval_loop.required && !approval_loop.resolved && !approval_loop.resumed);

    let requests = world.model_requests();
    let output = tool_output(requests.last().unwrap(), "call_g");
    assert_eq!(output["status"], "expired");
    let reason = output["reason"].as_str().unwrap();
    assert!(
        reason.contains("expired") && reason.contains("Nobody rejected it"),
        "{reason}"
    );

    let record = engine.approval(&id).unwrap().unwrap();
    assert_eq!(record.status, ApprovalStatus::Expired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_better_action_runs_with_the_shorter_duration_and_the_model_is_told() {
    let world = World::start().await;
    script(&world);
    let clock = Clock::manual(CHRISTMAS_EVE_MS + 7 * 3600 * 1000);
    let engine = engine(&clock);
    let agent = agent(&world, &engine);
    let result = agent
        .run_with_approval("Grant Alice admin for 48h", MODEL, |_| async {
            Some(ApprovalAnswer::approved("2h is enough").with_better_action())
        })
        .await
        .unwrap();
    assert_eq!(world.runs.count(), 1);
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::Executed);
    assert_eq!(event.output.as_ref().unwrap()["duration"], "2h");
    assert_eq!(event.arguments["duration"], "2h");
    let change = event.arguments_change.as_ref().unwrap();
    assert_eq!(change["kind"], "better_action");
    assert_eq!(change["proposed"]["duration"], "48h");

    let requests = world.model_requests();
    let output = tool_output(requests.last().unwrap(), "call_g");
    assert_eq!(output["status"], "executed");
    let changed = &output["arguments_changed"];
    assert_eq!(changed["proposed"]["duration"], "48h");
    assert_eq!(changed["ran_with"]["duration"], "2h");
    assert!(
        changed["reason"]
            .as_str()
            .unwrap()
            .contains("2h instead of 48h"),
        "{changed}"
    );

    let id = event.request_id.clone().unwrap();
    let record = engine.approval(&id).unwrap().unwrap();
    assert_eq!(record.status, ApprovalStatus::Used);
    assert_eq!(record.arguments.unwrap()["duration"], "2h");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_the_policy_blocks_is_refused_and_nothing_runs() {
    let world = World::start().await;
    script(&world);
    let clock = Clock::manual(CHRISTMAS_EVE_MS + 7 * 3600 * 1000);
    let engine = engine(&clock);
    let (state, id) = paused(&world, &engine).await;
    let agent = agent(&world, &engine);
    let edited = ApprovalAnswer::approved("bigger group")
        .with_arguments(json!({"user_id": "alice", "group": "domain-admins", "duration": "1h"}));
    let error = agent
        .resume(state.clone(), [(id.clone(), edited)])
        .await
        .unwrap_err();
    match &error {
        Error::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::EditRefused { mode, .. },
            ..
        }) => assert_eq!(mode, "blocked"),
        other => panic!("{other}"),
    }
    assert_eq!(world.runs.count(), 0);
    assert_eq!(
        engine.approval(&id).unwrap().unwrap().status,
        ApprovalStatus::Pending
    );

    // The same state resumed with an edit the policy lets run: the edited call runs.
    let edited = ApprovalAnswer::approved("one hour, to the support group")
        .with_arguments(json!({"user_id": "alice", "group": "okta-support", "duration": "1h"}));
    let result = agent.resume(state, [(id.clone(), edited)]).await.unwrap();
    assert_eq!(world.runs.count(), 1);
    let event = result.last().unwrap();
    assert_eq!(event.output.as_ref().unwrap()["group"], "okta-support");
    let output = tool_output(world.model_requests().last().unwrap(), "call_g");
    assert_eq!(
        output["arguments_changed"]["reason"],
        "one hour, to the support group"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_run_whose_approval_expired_is_finished_with_the_model_told() {
    let world = World::start().await;
    script(&world);
    let clock = Clock::manual(CHRISTMAS_EVE_MS + 7 * 3600 * 1000);
    let engine = engine(&clock);
    let durable = || {
        world
            .agent()
            .shared_engine(Arc::clone(&engine) as Arc<dyn DecisionEngine>)
            .durable(Arc::clone(&engine))
            .build()
            .unwrap()
    };
    let paused = durable()
        .run("Grant Alice admin for 48h", MODEL)
        .await
        .unwrap();
    let id = paused.pending_approvals()[0].request_id.clone();
    assert!(paused.durable_run_id().is_some());
    let agent = durable();
    assert!(
        agent.resume_answered().await.unwrap().is_empty(),
        "still pending"
    );

    // Nobody answered: a day later the run is finished, the model told, nothing ran.
    clock.advance(Duration::from_secs(25 * 3600));
    let resumed = agent.resume_answered().await.unwrap();
    assert_eq!(resumed.len(), 1);
    let result = resumed[0].1.as_ref().unwrap();
    assert_eq!(result.output_text(), "Done.");
    assert_eq!(world.runs.count(), 0);
    let output = tool_output(world.model_requests().last().unwrap(), "call_g");
    assert_eq!(output["status"], "expired");
    assert_eq!(
        engine.approval(&id).unwrap().unwrap().status,
        ApprovalStatus::Expired
    );
    assert!(agent.resume_answered().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_better_action_the_decision_never_offered_does_not_run() {
    use bighub_testkit::fake_bighub::{Endpoint, Reply, decision};

    let world = World::start().await;
    script(&world);
    // The service reviews the grant and offers the 2h grant as its better action ...
    world.bighub.on_evaluate(|body| {
        let mut answer = decision("review", body["action"].as_str().unwrap_or_default());
        answer["responsible_action_space"] = json!({"constrained": [{
            "action": "grant_access", "arguments_patch": {"duration": "2h"}}]});
        Reply::ok(answer)
    });
    // ... then says an approver approved "the better action" with another group.
    world
        .bighub
        .respond_with(Endpoint::ResolveApproval, |request| {
            let id = request
                .path
                .rsplit('/')
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            Reply::ok(json!({
                "request_id": id, "status": "approved", "tool": "grant_access",
                "arguments": {"user_id": "alice", "group": "domain-admins", "duration": "2h"},
                "change": {"kind": "better_action", "reason": "shorter"},
            }))
        });
    let agent = world.agent().build().unwrap();
    let result = agent
        .run_with_approval("Grant Alice admin for 48h", MODEL, |_| async {
            Some(ApprovalAnswer::approved("2h").with_better_action())
        })
        .await
        .unwrap();
    assert_eq!(world.runs.count(), 0, "the server's substitute did not run");
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::Blocked);
    let reason = event.decision.as_ref().unwrap().reason.clone().unwrap();
    assert!(
        reason.contains("not the alternative the decision offered"),
        "{reason}"
    );
}
