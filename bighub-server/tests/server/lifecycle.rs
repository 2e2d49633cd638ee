//! The approval lifecycle through the server's API: `--separate-approver` refuses the agent
//! key that asked, an edit the policy blocks is refused with its reason, the better action
//! binds the shorter grant, and `GET /approvals/{id}` shows where an approval stands.

use std::sync::Arc;

use bighub_local::LocalEngine;
use bighub_server::LocalBackend;
use serde_json::{Value, json};

use crate::common::{self, KEY_A, KEY_B, TestServer};

fn grant() -> Value {
    json!({"action": "grant_access", "target": "okta-admins", "actor": "access-bot",
        "context": {"system": "okta", "risk": "high", "environment": "production",
            "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}})
}

async fn resolve(server: &TestServer, key: &str, id: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url(&format!("/approvals/{id}/resolve")))
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_separate_approver_better_actions_and_refused_edits_over_http() {
    let engine = Arc::new(
        LocalEngine::builder()
            .in_memory()
            .policy(
                "no_domain_admins.rego",
                r#"package bighub.ext
                import rego.v1
                findings contains {"rule": "no_domain_admins", "mode": "blocked",
                    "reason": "Nobody is granted domain-admins by an agent."} if {
                    input.action.arguments.group == "domain-admins"
                }"#,
            )
            .build()
            .unwrap(),
    );
    let backend = Arc::new(LocalBackend::new(Arc::clone(&engine)).separate_approver(true));
    let server = TestServer::with_backend(engine, backend, common::config()).await;
    let (status, decision) = common::post(&server, "/actions/evaluate", &grant()).await;
    assert_eq!(status, 200);
    let id = decision["request_id"].as_str().unwrap().to_owned();
    assert_eq!(decision["approval"]["required_approvals"], 1, "{decision}");

    // The key that asked may not approve; nothing changes.
    let (status, refused) = resolve(&server, KEY_A, &id, json!({"resolution": "approved"})).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["detail"]["reason"], "separate_approver_required");

    // An edit into what the policy blocks is refused, with the policy's reason.
    let edit = json!({"resolution": "approved",
        "arguments": {"user_id": "alice", "group": "domain-admins", "duration": "1h"}});
    let (status, refused) = resolve(&server, KEY_B, &id, edit).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["detail"]["reason"], "edit_refused");
    assert_eq!(refused["detail"]["mode"], "blocked");

    // Another key approves the better action: the shorter grant is bound.
    let (status, approved) = resolve(
        &server,
        KEY_B,
        &id,
        json!({"resolution": "approved", "better_action": true}),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["arguments"]["duration"], "2h");
    assert_eq!(approved["change"]["kind"], "better_action");

    let shown: Value = reqwest::Client::new()
        .get(server.url(&format!("/approvals/{id}")))
        .header("X-API-Key", KEY_A)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "approved");
    assert_eq!(shown["requester"], "agent-a");
    server.stop().await;
}
