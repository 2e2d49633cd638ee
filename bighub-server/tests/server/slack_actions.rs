//! Slack's Approve and Reject buttons: a click signed with the Slack signing secret, by a
//! user on the allow-list, answers the approval as `slack:<operator>`; a bad or old
//! signature, missing headers and unknown users change nothing, and a second click is
//! told the approval was already answered.

use std::sync::Arc;

use bighub_local::LocalEngine;
use bighub_local::storage::ApprovalStatus;
use std::time::Duration;

use bighub_server::notify::{SigningSecret, SlackActions};
use bighub_server::{LocalBackend, Server};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{self, TestServer};
use crate::notify::{Receiver, notify_config};

const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn slack_config() -> bighub_server::ServerConfig {
    let mut slack = SlackActions::new(SigningSecret::new(SLACK_SECRET).unwrap());
    slack.allow("U0ALICE=alice").unwrap();
    let mut config = common::config();
    config.slack = Some(Arc::new(slack));
    config
}

async fn start() -> TestServer {
    TestServer::start_with(slack_config()).await
}

async fn review(server: &TestServer) -> String {
    let grant = json!({"action": "grant_access", "target": "okta-admins",
        "context": {"system": "okta", "risk": "high", "environment": "production",
                    "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}});
    let (status, decision) = common::post(server, "/actions/evaluate", &grant).await;
    assert_eq!(
        (status, decision["mode"].as_str()),
        (200, Some("review")),
        "{decision}"
    );
    decision["request_id"].as_str().unwrap().to_owned()
}

/// The form body Slack sends for a click on `action_id` by `user`.
fn click(user: &str, action_id: &str, request_id: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0"},
        "team": {"id": "T0", "domain": "example"},
        "actions": [{"type": "button", "block_id": "bighub_approval",
                     "action_id": action_id, "value": request_id,
                     "action_ts": "1760000000.000100"}],
    });
    let mut body = String::from("payload=");
    for b in payload.to_string().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            body.push(char::from(b));
        } else {
            body.push_str(&format!("%{b:02X}"));
        }
    }
    body
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Slack's signature of `body` at `timestamp`, recomputed here from Slack's rule.
fn slack_signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let tag = mac.finalize().into_bytes();
    format!(
        "v0={}",
        tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

async fn send(
    server: &TestServer,
    body: &str,
    timestamp: Option<u64>,
    signature: Option<String>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(server.url("/slack/actions"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(timestamp) = timestamp {
        request = request.header("X-Slack-Request-Timestamp", timestamp.to_string());
    }
    if let Some(signature) = signature {
        request = request.header("X-Slack-Signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn signed(server: &TestServer, body: &str) -> (u16, Value) {
    let t = now();
    send(
        server,
        body,
        Some(t),
        Some(slack_signature(SLACK_SECRET, t, body)),
    )
    .await
}

fn status(server: &TestServer, id: &str) -> ApprovalStatus {
    server.engine.approval(id).unwrap().unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_user_approves_once_from_slack() {
    let server = start().await;
    let id = review(&server).await;
    let body = click("U0ALICE", "approve", &id);

    // Refused before anything is read: a wrong secret, a tampered body, a signature six
    // minutes old (or ahead), missing headers.
    let t = now();
    let refusals = [
        send(
            &server,
            &body,
            Some(t),
            Some(slack_signature("another-secret-0123456789", t, &body)),
        )
        .await,
        send(
            &server,
            &body,
            Some(t),
            Some(slack_signature(
                SLACK_SECRET,
                t,
                &click("U0ALICE", "reject", &id),
            )),
        )
        .await,
        send(
            &server,
            &body,
            Some(t - 360),
            Some(slack_signature(SLACK_SECRET, t - 360, &body)),
        )
        .await,
        send(
            &server,
            &body,
            Some(t + 360),
            Some(slack_signature(SLACK_SECRET, t + 360, &body)),
        )
        .await,
        send(
            &server,
            &body,
            None,
            Some(slack_signature(SLACK_SECRET, t, &body)),
        )
        .await,
        send(&server, &body, Some(t), None).await,
    ];
    for (status, answer) in refusals {
        assert_eq!(
            (status, answer),
            (401, json!({"detail": "invalid Slack signature"}))
        );
    }
    assert_eq!(status(&server, &id), ApprovalStatus::Pending);

    // A user not on the list: told so, nothing changes.
    let (code, answer) = signed(&server, &click("U0MALLORY", "approve", &id)).await;
    assert_eq!(code, 200);
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        answer["text"].as_str().unwrap().contains("not allowed"),
        "{answer}"
    );
    assert_eq!(status(&server, &id), ApprovalStatus::Pending);

    // Alice approves: recorded as answered by slack:alice.
    let (code, answer) = signed(&server, &body).await;
    assert_eq!(code, 200, "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .starts_with("Approved by alice"),
        "{answer}"
    );
    let stored = server.engine.approval(&id).unwrap().unwrap();
    assert_eq!(stored.status, ApprovalStatus::Approved);
    assert_eq!(stored.resolver.as_deref(), Some("slack:alice"));

    // A second click (reject this time) changes nothing and says so.
    let (code, answer) = signed(&server, &click("U0ALICE", "reject", &id)).await;
    assert_eq!(code, 200);
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("already approved"),
        "{answer}"
    );
    assert_eq!(status(&server, &id), ApprovalStatus::Approved);

    // The console's link button is acknowledged and does nothing.
    let (code, _) = signed(&server, &click("U0ALICE", "open_console", &id)).await;
    assert_eq!(code, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_from_slack_names_the_operator() {
    let server = start().await;
    let id = review(&server).await;
    let (code, answer) = signed(&server, &click("U0ALICE", "reject", &id)).await;
    assert_eq!(code, 200, "{answer}");
    let stored = server.engine.approval(&id).unwrap().unwrap();
    assert_eq!(stored.status, ApprovalStatus::Rejected);
    assert_eq!(stored.resolver.as_deref(), Some("slack:alice"));
    assert_eq!(
        stored.comment.as_deref(),
        Some("rejected in Slack by alice")
    );

    let (code, answer) = signed(&server, &click("U0ALICE", "approve", "no-such-request")).await;
    assert_eq!(code, 200);
    assert!(
        answer["text"].as_str().unwrap().contains("No approval"),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_signing_secret_the_route_does_not_exist() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let id = review(&server).await;
    let body = click("U0ALICE", "approve", &id);
    let (code, answer) = signed(&server, &body).await;
    assert_eq!((code, answer), (404, json!({"detail": "Not Found"})));
    assert_eq!(status(&server, &id), ApprovalStatus::Pending);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_limit_holds_for_slack() {
    let mut slack = SlackActions::new(SigningSecret::new(SLACK_SECRET).unwrap());
    slack.allow("U0ALICE=alice").unwrap();
    let mut config = common::config();
    config.slack = Some(Arc::new(slack));
    config.max_body_bytes = 1024;
    let server = TestServer::start_with(config).await;
    let body = format!("payload={}", "x".repeat(4096));
    let (code, _) = signed(&server, &body).await;
    assert_eq!(code, 413);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_from_slack_is_announced_with_its_operator() {
    let receiver = Receiver::start(vec![], Duration::ZERO).await;
    let engine = Arc::new(LocalEngine::builder().in_memory().build().unwrap());
    let backend = Arc::new(LocalBackend::new(Arc::clone(&engine)));
    let server = Server::new(backend.clone(), slack_config())
        .with_notifications(notify_config(&[&receiver.url]), backend.events())
        .unwrap();
    let server = TestServer::serve(engine, server).await;
    let id = review(&server).await;
    assert_eq!(
        receiver.wait_for(1).await[0].json()["type"],
        "approval.requested"
    );
    let (code, answer) = signed(&server, &click("U0ALICE", "approve", &id)).await;
    assert_eq!(code, 200, "{answer}");
    let got = receiver.wait_for(2).await;
    let answered = got[1].json();
    assert_eq!(answered["type"], "approval.answered");
    assert_eq!(answered["request_id"], id.as_str());
    assert_eq!(answered["status"], "approved");
    assert_eq!(answered["resolver"], "slack:alice");
    assert_eq!(answered["comment"], "approved in Slack by alice");
    server.stop().await;
}
