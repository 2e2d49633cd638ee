//! End to end: human approvals inside a run (a callback), and runs paused for approval then
//! resumed from their JSON state in a fresh agent, with the hosted-service fake and with the
//! embedded local engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{World, tool_output};
use bighub::engine::{ApprovalRefusal, ApprovalRefused};
use bighub::{
    ApprovalAnswer, Error, ExecutionStatus, RunState, engine::Resolution, local::LocalEngine,
};
use bighub_testkit::fake_bighub::{Reply, decision};
use bighub_testkit::fake_openai::Turn;
use serde_json::{Value, json};

const MODEL: &str = "gpt-test";

fn grant() -> Value {
    json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"})
}

/// Grants go to review; everything else runs.
fn review_grants(world: &World) {
    world.bighub.on_evaluate(|body| {
        let action = body["action"].as_str().unwrap_or_default();
        let mode = if action == "grant_access" {
            "review"
        } else {
            "autonomous"
        };
        Reply::ok(decision(mode, action))
    });
}

fn script(world: &World) {
    world
        .openai
        .push(Turn::new().call_with_id("grant_access", grant().to_string(), "call_g"));
    world.openai.push(Turn::text("Alice has her access."));
}

#[tokio::test]
async fn an_approved_call_runs_inside_the_run_and_the_model_sees_its_output() {
    let world = World::start().await;
    review_grants(&world);
    script(&world);
    let agent = world.agent().build().unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&asked);

    let result = agent
        .run_with_approval("Grant Alice admin for 48h", MODEL, move |request| {
            seen.fetch_add(1, Ordering::SeqCst);
            assert_eq!(request.tool, "grant_access");
            assert_eq!(request.arguments, grant());
            assert_eq!(
                request.decision.request_id.as_ref(),
                Some(&request.request_id)
            );
            async { Some(ApprovalAnswer::approved("approved by on-call")) }
        })
        .await
        .unwrap();

    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(world.runs.count(), 1);
    assert!(!result.is_paused());
    assert_eq!(result.output_text(), "Alice has her access.");
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::Executed);
    let approval = event.approval.as_ref().unwrap();
    assert_eq!(approval.resolution, Resolution::Approved);
    let approval_loop = result.approval_loop.as_ref().unwrap();
    assert!(approval_loop.required && approval_loop.resolved && approval_loop.resumed);
    assert_eq!(approval_loop.request_id, event.request_id);
    assert_eq!(approval_loop.tool_output.as_ref().unwrap()["ok"], true);
    assert_eq!(result.approval_loops.len(), 1);
    // The record says what ran: this approval, for this call, used.
    let record = approval_loop.approval.as_ref().unwrap();
    assert_eq!(Some(&record.request_id), event.request_id.as_ref());
    assert_eq!(
        (record.tool.as_str(), record.call_id.as_str()),
        ("grant_access", "call_g")
    );
    assert_eq!(record.resolution, Resolution::Approved);
    assert_eq!(record.comment.as_deref(), Some("approved by on-call"));
    assert!(record.used);
    assert!(record.resolved_at.ends_with('Z'));
    assert!(record.used_at.as_deref().unwrap() >= record.resolved_at.as_str());
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["approval_loop"]["approval"]["used"], true);
    assert_eq!(json["approval_loop"]["approval"]["resolution"], "approved");

    // The model received the real output, and went on.
    let requests = world.model_requests();
    assert_eq!(requests.len(), 2);
    let output = tool_output(&requests[1], "call_g");
    assert_eq!(output["status"], "executed");
    assert_eq!(output["output"]["group"], "okta-admins");

    // The resolution reached the service, for this request id, then the claim for exactly
    // this call (tool and the digest of its arguments).
    let id = event.request_id.clone().unwrap();
    let resolutions = world.bighub_bodies(&format!("/approvals/{id}/resolve"));
    assert_eq!(
        resolutions,
        [
            json!({"resolution": "approved", "comment": "approved by on-call"}),
            json!({
                "resolution": "approved",
                "claim": true,
                "tool": "grant_access",
                "arguments_sha256": bighub_core::digest::canonical_sha256(&grant()),
            })
        ]
    );
}

#[tokio::test]
async fn a_rejected_call_does_not_run_and_the_model_is_told_why() {
    let world = World::start().await;
    review_grants(&world);
    script(&world);
    let agent = world.agent().build().unwrap();

    let result = agent
        .run_with_approval("Grant Alice admin for 48h", MODEL, |_| async {
            Some(ApprovalAnswer::rejected("2h is enough"))
        })
        .await
        .unwrap();

    assert_eq!(world.runs.count(), 0);
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::Rejected);
    let approval_loop = result.approval_loop.as_ref().unwrap();
    assert!(approval_loop.resolved && !approval_loop.resumed);
    assert!(approval_loop.tool_output.is_none());
    let record = approval_loop.approval.as_ref().unwrap();
    assert_eq!(record.resolution, Resolution::Rejected);
    assert_eq!(record.comment.as_deref(), Some("2h is enough"));
    assert!(!record.used && record.used_at.is_none());
    let output = tool_output(&world.model_requests()[1], "call_g");
    assert_eq!(output["status"], "rejected");
    assert_eq!(output["comment"], "2h is enough");
    assert_eq!(output["request_id"], json!(event.request_id));
}

#[tokio::test]
async fn no_answer_pauses_and_the_agent_resumes_from_json() {
    let world = World::start().await;
    review_grants(&world);
    world.openai.push(
        Turn::new()
            .call_with_id("grant_access", grant().to_string(), "call_g")
            .call_with_id(
                "restart_deployment",
                json!({"deployment": "checkout", "namespace": "shop"}).to_string(),
                "call_r",
            ),
    );
    world.openai.push(Turn::text("Alice has her access."));
    let agent = world.agent().build().unwrap();

    let paused = agent
        .run_with_approval("Grant Alice admin, restart checkout", MODEL, |_| async {
            None
        })
        .await
        .unwrap();

    assert!(paused.is_paused());
    assert_eq!(world.runs.count(), 1, "the allowed call of the round ran");
    assert_eq!(world.model_requests().len(), 1);
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].tool, "grant_access");
    assert_eq!(pending[0].arguments, grant());
    let json = paused.paused.as_ref().unwrap().to_json().unwrap();

    // Another agent instance (as in another process) cannot finish the run: the hosted
    // service keeps no record of which call the approval was for, so nothing binds it.
    let fresh = world.agent().build().unwrap();
    let refused = fresh
        .resume(
            RunState::from_json(&json).unwrap(),
            [(
                pending[0].request_id.clone(),
                ApprovalAnswer::approved("ok"),
            )],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::Untracked,
                ..
            })
        ),
        "{refused}"
    );
    assert_eq!(world.runs.count(), 1, "nothing more ran");
    assert_eq!(world.model_requests().len(), 1);

    // The agent that paused finishes it from the saved JSON.
    let state = RunState::from_json(&json).unwrap();
    let result = agent
        .resume(
            state,
            [(
                pending[0].request_id.clone(),
                ApprovalAnswer::approved("ok"),
            )],
        )
        .await
        .unwrap();

    assert!(!result.is_paused());
    assert_eq!(result.output_text(), "Alice has her access.");
    assert_eq!(world.runs.count(), 2);
    // One event per call: the grant's final event replaced the one it had while waiting,
    // in its place, and carries the approval.
    let calls: Vec<_> = result
        .execution
        .events
        .iter()
        .map(|e| (e.call_id.as_str(), e.status, e.seq))
        .collect();
    assert_eq!(
        calls,
        [
            ("call_g", ExecutionStatus::Executed, 0),
            ("call_r", ExecutionStatus::Executed, 1)
        ]
    );
    let grant_event = &result.execution.events[0];
    assert_eq!(
        grant_event.approval.as_ref().map(|a| a.resolution),
        Some(Resolution::Approved)
    );
    assert_eq!(grant_event.request_id, pending[0].request_id.clone().into());
    assert_eq!(
        result.execution.events[0].trace_id,
        paused.last().unwrap().trace_id
    );
    let requests = world.model_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(tool_output(&requests[1], "call_g")["status"], "executed");
    assert_eq!(tool_output(&requests[1], "call_r")["status"], "executed");
    assert!(result.approval_loop.as_ref().unwrap().resumed);
    // Each agent resolved once and claimed once; the hosted service bound neither claim.
    let bodies = world.bighub_bodies(&format!("/approvals/{}/resolve", pending[0].request_id));
    assert_eq!(bodies.len(), 4);
    assert_eq!(bodies.iter().filter(|b| b["claim"] == true).count(), 2);
}

/// Pauses a grant with `agent` and returns the state's JSON and the pending request id.
async fn paused_grant(agent: &bighub::BighubOpenAI) -> (Value, String) {
    let paused = agent.run("Grant Alice admin for 48h", MODEL).await.unwrap();
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 1, "{paused:?}");
    let json: Value = serde_json::from_str(&paused.paused.unwrap().to_json().unwrap()).unwrap();
    (json, pending[0].request_id.clone())
}

/// Changes the duration of the paused grant everywhere it appears in the state; with
/// `consistently`, also recomputes the state's own fingerprint.
fn tamper(state: &mut Value, consistently: bool) {
    let changed = json!({"user_id": "alice", "group": "okta-admins", "duration": "480h"});
    fn walk(value: &mut Value, changed: &Value) {
        match value {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("function_call") {
                    map.insert("arguments".into(), json!(changed.to_string()));
                }
                for item in map.values_mut() {
                    walk(item, changed);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, changed)),
            _ => {}
        }
    }
    let call = &mut state["calls"][0];
    call["event"]["arguments"] = changed.clone();
    call["raw_arguments"] = json!(changed.to_string());
    if consistently {
        call["arguments_sha256"] = json!(bighub_core::digest::canonical_sha256(&changed));
        walk(&mut state["conversation"], &changed);
    }
}

#[tokio::test]
async fn the_remote_engine_refuses_tampered_arguments_and_a_second_resume() {
    let world = World::start().await;
    review_grants(&world);
    script(&world);
    let pauser = world.agent().build().unwrap();
    let (json, request_id) = paused_grant(&pauser).await;

    let mut tampered = json.clone();
    tamper(&mut tampered, false);
    let error = world
        .agent()
        .build()
        .unwrap()
        .resume(
            serde_json::from_value(tampered).unwrap(),
            [(request_id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Approval(ApprovalRefused { request_id: id, refusal: ApprovalRefusal::ArgumentsChanged, .. }) if *id == request_id),
        "{error}"
    );
    assert_eq!(world.runs.count(), 0);
    assert_eq!(
        world
            .bighub
            .count(&format!("/approvals/{request_id}/resolve")),
        0
    );

    let state: RunState = serde_json::from_value(json).unwrap();
    let agent = pauser;
    agent
        .resume(
            state.clone(),
            [(request_id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap();
    assert_eq!(world.runs.count(), 1);
    let again = world
        .agent()
        .build()
        .unwrap()
        .resume(
            state,
            [(request_id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap_err();
    // The hosted service cannot say which call an approval was for: only the agent that
    // asked for it runs it.
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
    assert_eq!(
        world.runs.count(),
        1,
        "one approval runs its call at most once"
    );

    // An answer for a request the run does not wait for is refused too.
    world
        .openai
        .push(Turn::new().call_with_id("grant_access", grant().to_string(), "call_3"));
    let (json, _) = paused_grant(&agent).await;
    let unknown = agent
        .resume(
            serde_json::from_value(json).unwrap(),
            [("req_unknown", ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, Error::UnknownApproval { .. }),
        "{unknown}"
    );
}

fn local_engine(path: &std::path::Path) -> LocalEngine {
    LocalEngine::builder().db_path(path).build().unwrap()
}

#[tokio::test]
async fn with_the_local_engine_approvals_are_bound_and_used_once_in_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bighub.db");
    let world = World::start().await;
    script(&world);
    world
        .openai
        .push(Turn::new().call_with_id("grant_access", grant().to_string(), "call_2"));

    // Process 1 pauses the run (the default policy reviews a 48h admin grant).
    let first = world.agent().engine(local_engine(&db)).build().unwrap();
    let (json, request_id) = paused_grant(&first).await;
    assert!(request_id.starts_with("loc_"));
    assert_eq!(
        world.bighub.count("/actions/evaluate"),
        0,
        "decided locally"
    );

    // A consistent edit of the state passes the state's own checks; the store refuses it.
    let mut tampered = json.clone();
    tamper(&mut tampered, true);
    let second = world.agent().engine(local_engine(&db)).build().unwrap();
    let error = second
        .resume(
            serde_json::from_value(tampered).unwrap(),
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

    // Process 2 resumes the untouched state in a fresh agent.
    let third = world.agent().engine(local_engine(&db)).build().unwrap();
    let result = third
        .resume(
            RunState::from_json(&json.to_string()).unwrap(),
            [(request_id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap();
    assert_eq!(world.runs.count(), 1);
    assert_eq!(result.output_text(), "Alice has her access.");
    let store = local_engine(&db);
    let record = store.approval(&request_id).unwrap().unwrap();
    assert!(record.used, "{record:?}");
    // Any process sharing the store now refuses to run it again.
    assert!(
        store
            .verify_approval(&request_id, "grant_access", &grant())
            .is_err()
    );
    assert!(store.consume_approval(&request_id).is_err());

    // A second resume is refused, and nothing runs.
    let again = world
        .agent()
        .engine(local_engine(&db))
        .build()
        .unwrap()
        .resume(
            RunState::from_json(&json.to_string()).unwrap(),
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
    assert_eq!(world.runs.count(), 1);
}

#[tokio::test]
async fn with_the_local_engine_inline_answers_are_recorded_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bighub.db");
    let world = World::start().await;
    script(&world);
    let agent = world.agent().engine(local_engine(&db)).build().unwrap();

    let result = agent
        .run_with_approval("Grant Alice admin for 48h", MODEL, |_| async {
            Some(ApprovalAnswer::rejected("too long").by("oncall@example.com"))
        })
        .await
        .unwrap();

    assert_eq!(world.runs.count(), 0);
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::Rejected);
    let record = local_engine(&db)
        .approval(event.request_id.as_deref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(record.status.as_str(), "rejected");
    assert_eq!(record.comment.as_deref(), Some("too long"));
    assert_eq!(record.resolved_by.as_deref(), Some("oncall@example.com"));
    assert!(!record.used);
    assert_eq!(
        tool_output(&world.model_requests()[1], "call_g")["comment"],
        "too long"
    );
}

#[tokio::test]
async fn with_the_local_engine_the_result_says_the_approval_was_used_once_its_call_ran() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bighub.db");
    let world = World::start().await;
    script(&world);
    let agent = world.agent().engine(local_engine(&db)).build().unwrap();

    let result = agent
        .run_with_approval("Grant Alice admin for 48h", MODEL, |_| async {
            Some(ApprovalAnswer::approved("ok").by("oncall@example.com"))
        })
        .await
        .unwrap();

    assert_eq!(world.runs.count(), 1);
    let record = result
        .approval_loop
        .as_ref()
        .unwrap()
        .approval
        .as_ref()
        .unwrap();
    assert!(record.used, "the call ran under it: {record:?}");
    assert!(record.used_at.is_some());
    assert_eq!(record.resolved_by.as_deref(), Some("oncall@example.com"));
    // The same truth as the store's, taken after the call ran.
    let stored = local_engine(&db)
        .approval(&record.request_id)
        .unwrap()
        .unwrap();
    assert!(stored.used);
    assert_eq!(
        stored.resolved_at.as_deref(),
        Some(record.resolved_at.as_str())
    );
    assert_eq!(stored.tool, record.tool);
}

#[tokio::test]
async fn a_run_resumed_in_two_steps_keeps_one_final_event_per_call() {
    let world = World::start().await;
    world.decide_all("review");
    world.openai.push(
        Turn::new()
            .call_with_id("grant_access", grant().to_string(), "call_g")
            .call_with_id(
                "restart_deployment",
                json!({"deployment": "checkout", "namespace": "shop"}).to_string(),
                "call_r",
            ),
    );
    world.openai.push(Turn::text("Done."));
    let agent = world.agent().build().unwrap();
    let paused = agent.run("Grant and restart", MODEL).await.unwrap();
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 2);

    // First answer: the run pauses again, the answered call already final in its place.
    let again = agent
        .resume(
            paused.paused.clone().unwrap(),
            [(
                pending[0].request_id.clone(),
                ApprovalAnswer::rejected("no"),
            )],
        )
        .await
        .unwrap();
    assert!(again.is_paused());
    let state = again.paused.clone().unwrap();
    let on_record: Vec<_> = state
        .events()
        .iter()
        .map(|e| (e.call_id.as_str(), e.status))
        .collect();
    assert_eq!(
        on_record,
        [
            ("call_g", ExecutionStatus::Rejected),
            ("call_r", ExecutionStatus::ApprovalRequired)
        ]
    );

    // Second answer: the run finishes with exactly one event per call, each the final one.
    let done = agent
        .resume(
            state,
            [(
                pending[1].request_id.clone(),
                ApprovalAnswer::approved("ok"),
            )],
        )
        .await
        .unwrap();
    assert!(!done.is_paused());
    let events: Vec<_> = done
        .execution
        .events
        .iter()
        .map(|e| (e.call_id.as_str(), e.status, e.seq, e.approval.is_some()))
        .collect();
    assert_eq!(
        events,
        [
            ("call_g", ExecutionStatus::Rejected, 0, true),
            ("call_r", ExecutionStatus::Executed, 1, true)
        ]
    );
    assert_eq!(done.last().unwrap().call_id, "call_r");
    assert_eq!(done.approval_loops.len(), 2);
    assert_eq!(world.runs.count(), 1);
}

#[tokio::test]
async fn resume_after_approval_runs_one_approved_call_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bighub.db");
    let world = World::start().await;
    let agent = world.agent().engine(local_engine(&db)).build().unwrap();
    let check = agent.decide_tool("grant_access", grant()).await.unwrap();
    let id = check.decision.request_id.clone().unwrap();

    let done = agent
        .resume_after_approval("grant_access", grant(), &id, ApprovalAnswer::approved("ok"))
        .await
        .unwrap();
    assert!(done.resolved && done.resumed);
    let record = done.approval.as_ref().unwrap();
    assert_eq!(
        (record.request_id.as_str(), record.tool.as_str()),
        (id.as_str(), "grant_access")
    );
    assert!(record.used);
    assert_eq!(done.tool_output.unwrap()["duration"], "48h");
    assert_eq!(world.runs.count(), 1);

    let again = agent
        .resume_after_approval("grant_access", grant(), &id, ApprovalAnswer::approved("ok"))
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
    assert_eq!(world.runs.count(), 1);
}

/// `bighub serve` on 127.0.0.1 over a SQLite store, with the keys `agent` and `operator`;
/// stopped when the test's runtime ends.
struct Served {
    base_url: String,
    engine: Arc<LocalEngine>,
    _dir: tempfile::TempDir,
}

const AGENT_KEY: &str = "bh_test_agent_0123456789abcdef";
const OPERATOR_KEY: &str = "bh_test_operator_0123456789abcd";

impl Served {
    async fn start() -> Self {
        use bighub_server::{ApiKeys, Auth, LocalBackend, Server, ServerConfig};
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(local_engine(&dir.path().join("server.db")));
        let keys = ApiKeys::parse(&format!("agent={AGENT_KEY},operator={OPERATOR_KEY}")).unwrap();
        let server = Server::new(
            Arc::new(LocalBackend::new(engine.clone())),
            ServerConfig::new(Auth::Keys(keys)),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, std::future::pending()));
        Self {
            base_url,
            engine,
            _dir: dir,
        }
    }

    /// An agent wired to the fake model and to this server, as a separate process would be.
    fn agent(&self, world: &World) -> bighub::BighubOpenAI {
        world
            .agent()
            .bighub_api_key(AGENT_KEY)
            .bighub_base_url(&self.base_url)
            .build()
            .unwrap()
    }

    /// The server as an operator's client (a console, the CLI) sees it.
    fn operator(&self) -> bighub::engine::RemoteBighub {
        bighub::engine::RemoteBighub::builder()
            .api_key(OPERATOR_KEY)
            .base_url(&self.base_url)
            .max_retries(0)
            .build()
            .unwrap()
    }
}

/// An agent that pauses on the server's review of a 48h grant: its state and request id.
async fn paused_on_server(served: &Served, world: &World) -> (RunState, String) {
    world
        .openai
        .push(Turn::new().call_with_id("grant_access", grant().to_string(), "call_g"));
    world.openai.push(Turn::text("Alice has her access."));
    let agent = served.agent(world);
    let paused = agent.run("Grant Alice admin for 48h", MODEL).await.unwrap();
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 1, "{paused:?}");
    assert_eq!(pending[0].decision.mode, Some(bighub::engine::Mode::Review));
    (paused.paused.unwrap(), pending[0].request_id.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_bighub_serve_an_approval_runs_only_the_call_it_was_asked_for() {
    let served = Served::start().await;
    let world = World::start().await;
    let (_state, id) = paused_on_server(&served, &world).await;

    // Another agent process answers the review with other arguments, then another tool:
    // the server refuses both claims and nothing runs.
    let other = served.agent(&world);
    let longer = json!({"user_id": "alice", "group": "okta-admins", "duration": "4800h"});
    let refused = other
        .resume_after_approval("grant_access", longer, &id, ApprovalAnswer::approved("ok"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::ArgumentsChanged,
                ..
            })
        ),
        "{refused}"
    );
    let refused = other
        .resume_after_approval(
            "restart_deployment",
            json!({"deployment": "payments", "namespace": "prod"}),
            &id,
            ApprovalAnswer::approved("ok"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Approval(ApprovalRefused { refusal: ApprovalRefusal::ToolChanged { approved, .. }, .. }) if approved == "grant_access"),
        "{refused}"
    );
    assert_eq!(world.runs.count(), 0);
    let stored = served.engine.approval(&id).unwrap().unwrap();
    assert!(!stored.used);

    // The exact call runs once, from a fresh agent too; a second claim is refused.
    let fresh = served.agent(&world);
    let done = fresh
        .resume_after_approval("grant_access", grant(), &id, ApprovalAnswer::approved("ok"))
        .await
        .unwrap();
    assert!(done.resumed);
    assert_eq!(world.runs.count(), 1);
    let again = served
        .agent(&world)
        .resume_after_approval("grant_access", grant(), &id, ApprovalAnswer::approved("ok"))
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
    assert_eq!(world.runs.count(), 1);
    let stored = served.engine.approval(&id).unwrap().unwrap();
    assert!(stored.used);
    // Who resolved it is the key that did, whatever the resolution said of itself.
    assert_eq!(stored.resolver.as_deref(), Some("agent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_answered_by_an_operator_is_claimed_once_by_the_paused_agent() {
    use bighub_core::{ApprovalResolution, DecisionEngine};
    let served = Served::start().await;
    let world = World::start().await;
    let (state, id) = paused_on_server(&served, &world).await;

    // An operator approves through the server, claiming to be someone else.
    let mut answer = ApprovalResolution::approved(Some("ok for 48h".to_owned()));
    answer.resolved_by = Some("alice@security".to_owned());
    let record = served
        .operator()
        .resolve_approval(&id, &answer)
        .await
        .unwrap();
    assert_eq!(record["resolver"], "operator");
    assert_eq!(record["resolved_by"], "alice@security");
    assert_eq!(world.runs.count(), 0);

    // The agent, in another process, resumes the saved state: the call runs once.
    let saved = state.to_json().unwrap();
    let result = served
        .agent(&world)
        .resume(
            RunState::from_json(&saved).unwrap(),
            [(id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap();
    assert_eq!(result.output_text(), "Alice has her access.");
    assert_eq!(world.runs.count(), 1);
    let stored = served.engine.approval(&id).unwrap().unwrap();
    assert!(stored.used);
    assert_eq!(stored.resolver.as_deref(), Some("operator"));

    // The same state resumed again runs nothing.
    let again = served
        .agent(&world)
        .resume(
            RunState::from_json(&saved).unwrap(),
            [(id.clone(), ApprovalAnswer::approved("ok"))],
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
    assert_eq!(world.runs.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_tool_through_bighub_serve_records_nothing_and_opens_no_approval() {
    let served = Served::start().await;
    let world = World::start().await;
    let agent = served.agent(&world);
    let check = agent.check_tool("grant_access", grant()).await.unwrap();
    assert_eq!(check.decision.mode, Some(bighub_core::Mode::Review));
    assert!(served.engine.recent_decisions(10).unwrap().is_empty());
    assert!(served.engine.pending_approvals().unwrap().is_empty());

    // decide_tool records, and opens the approval a later resume can claim.
    let decided = agent.decide_tool("grant_access", grant()).await.unwrap();
    assert_eq!(served.engine.recent_decisions(10).unwrap().len(), 1);
    assert_eq!(
        served.engine.pending_approvals().unwrap()[0].request_id,
        decided.decision.request_id.unwrap()
    );
}

#[tokio::test]
async fn check_tool_asks_the_service_for_a_dry_run() {
    let world = World::start().await;
    review_grants(&world);
    let agent = world.agent().build().unwrap();
    agent.check_tool("grant_access", grant()).await.unwrap();
    agent.decide_tool("grant_access", grant()).await.unwrap();
    let bodies = world.bighub_bodies("/actions/evaluate");
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["dry_run"], true);
    assert!(bodies[1].get("dry_run").is_none(), "{}", bodies[1]);
}
