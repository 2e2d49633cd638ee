//! Durable runs over HTTP: `RemoteBighub` as a run store against the server. A run is seen
//! only by the API key that saved it, answered once its approvals are, claimed once under a
//! lease, completed only under that lease; bodies are checked like every other.

use std::time::Duration;

use bighub_core::durable::{PausedRun, RunCompletion, RunStore};
use bighub_core::{ApprovalResolution, DecisionEngine, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use serde_json::json;

use crate::common::{KEY_A, KEY_B, TestServer};

const LEASE: Duration = Duration::from_secs(60);

fn grant() -> ProposedAction {
    ProposedAction::new("grant_access")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target("okta-admins")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_kept_for_its_key_and_claimed_once_answered() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let (a, b) = (server.remote(KEY_A), server.remote(KEY_B));
    let request_id = a.evaluate(&grant()).await.unwrap().request_id.unwrap();
    let run = PausedRun {
        run_id: "run_http".into(),
        state: "{\"paused\":true}".into(),
        request_ids: vec![request_id.clone()],
    };
    a.save_run(&run).await.unwrap();
    // Another key cannot take the id over.
    let taken = b.save_run(&run).await.unwrap_err();
    assert!(
        matches!(taken, bighub_core::Error::Status { status: 409, .. }),
        "{taken}"
    );
    assert!(a.claim_answered_runs(LEASE, 10).await.unwrap().is_empty());

    // Answered by an operator (another key): the run is its saver's to claim.
    b.resolve_approval(
        &request_id,
        &ApprovalResolution::approved(Some("ok".into())),
    )
    .await
    .unwrap();
    assert!(b.claim_answered_runs(LEASE, 10).await.unwrap().is_empty());
    let claimed = a.claim_answered_runs(LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].state, run.state);
    assert_eq!(claimed[0].approvals[0].status, "approved");
    assert_eq!(claimed[0].approvals[0].comment.as_deref(), Some("ok"));
    assert!(a.claim_answered_runs(LEASE, 10).await.unwrap().is_empty());

    let lost = a
        .complete_run("run_http", "another-lease", &RunCompletion::Finished)
        .await
        .unwrap_err();
    assert!(
        matches!(lost, bighub_core::Error::LeaseLost { .. }),
        "{lost}"
    );
    let lost = b
        .complete_run("run_http", &claimed[0].lease_id, &RunCompletion::Finished)
        .await
        .unwrap_err();
    assert!(
        matches!(lost, bighub_core::Error::LeaseLost { .. }),
        "{lost}"
    );
    let failed = RunCompletion::Failed {
        message: "the tool is gone".into(),
    };
    a.complete_run("run_http", &claimed[0].lease_id, &failed)
        .await
        .unwrap();
    assert!(
        a.claim_answered_runs(Duration::from_secs(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_bodies_are_checked_and_keys_required() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let client = reqwest::Client::new();
    let put = |key: Option<&str>, body: serde_json::Value| {
        let mut request = client.put(server.url("/runs/run_x")).json(&body);
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        request.send()
    };
    let response = put(None, json!({"state": "{}", "request_ids": []}))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = put(Some(KEY_A), json!({"state": 1, "request_ids": ["a", 2]}))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let detail: serde_json::Value = response.json().await.unwrap();
    let locs: Vec<_> = detail["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [json!(["body", "state"]), json!(["body", "request_ids", 1])]
    );

    let (status, body) =
        crate::common::post(&server, "/runs/claim", &json!({"lease_seconds": 0})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = crate::common::post(
        &server,
        "/runs/run_x/complete",
        &json!({"lease_id": "l", "status": "paused"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = crate::common::post(
        &server,
        "/runs/run_x/complete",
        &json!({"lease_id": "l", "status": "done"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = crate::common::post(
        &server,
        "/runs/run_x/complete",
        &json!({"lease_id": "l", "status": "finished"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
}
