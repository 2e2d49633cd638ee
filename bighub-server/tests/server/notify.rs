//! Approval webhooks: a local receiver gets each approval, signed, in a body Slack's
//! incoming webhooks accept, with nothing secret in it and every model-written value
//! escaped in the Slack fields; failed deliveries are retried, counted, or dropped when
//! the queue is full.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use bighub_local::LocalEngine;
use bighub_local::storage::{ApprovalRecord, ApprovalStatus};
use bighub_server::approval_events::ApprovalEventKind;
use bighub_server::notify::{NotifyConfig, RetryPolicy, SigningSecret};
use bighub_server::{LocalBackend, Server};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{self, KEY_A, TestServer};

const SECRET: &str = "whsec_test_5647382910abcdef";
const BREAK_GLASS: &str = "bg-code-5647382910";
const TOKEN: &str = "tok-value-1029384756";

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Received {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver on 127.0.0.1 answering the statuses of `answers` in turn (then 200),
/// each after `delay`.
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub(crate) async fn start(answers: Vec<u16>, delay: Duration) -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let answers = Arc::new(Mutex::new(answers.into_iter()));
        let seen = Arc::clone(&got);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (seen, answers) = (Arc::clone(&seen), Arc::clone(&answers));
                async move {
                    seen.lock().unwrap().push(Received { headers, body });
                    tokio::time::sleep(delay).await;
                    let status = answers.lock().unwrap().next().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/hook?token=receiver-query",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, got }
    }

    pub(crate) fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (10 s at most), and answers them.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} webhook requests, got {}", self.got().len());
    }
}

pub(crate) fn notify_config(urls: &[&str]) -> NotifyConfig {
    let mut config = NotifyConfig::new(SigningSecret::new(SECRET).unwrap());
    for url in urls {
        config.add_target(url).unwrap();
    }
    config.set_public_url("https://bighub.example.com").unwrap();
    config.retry = RetryPolicy {
        attempts: 3,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    config.request_timeout = Duration::from_secs(5);
    config
}

async fn start(notify: NotifyConfig) -> (TestServer, Arc<LocalBackend>) {
    let engine = Arc::new(LocalEngine::builder().in_memory().build().unwrap());
    let backend = Arc::new(LocalBackend::new(Arc::clone(&engine)));
    let server = Server::new(backend.clone(), common::config())
        .with_notifications(notify, backend.events())
        .unwrap();
    (TestServer::serve(engine, server).await, backend)
}

/// The signature recomputed here, from the documented rule alone.
fn expected_signature(timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(b"v1:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

fn grant_with_secrets() -> Value {
    json!({"action": "grant_access", "actor": "agent-7", "target": "okta-admins",
        "context": {"system": "okta", "risk": "high", "environment": "production",
            "secret_args": ["break_glass_code"],
            "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h",
                "break_glass_code": BREAK_GLASS, "api_token": TOKEN,
                "note": "<!channel> see <http://evil.example|click> & *now*\n<@U0ADMIN>"}}})
}

pub(crate) async fn metric(server: &TestServer, name: &str) -> u64 {
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_approval_is_announced_signed_escaped_and_without_secrets() {
    // The receiver fails the first try: the same delivery comes again.
    let receiver = Receiver::start(vec![500], Duration::ZERO).await;
    let (server, _) = start(notify_config(&[&receiver.url])).await;
    let http = reqwest::Client::new();
    let evaluate = || {
        http.post(server.url("/actions/evaluate"))
            .header("X-API-Key", KEY_A)
            .header("Idempotency-Key", "grant-1")
            .json(&grant_with_secrets())
            .send()
    };
    let decision: Value = evaluate().await.unwrap().json().await.unwrap();
    assert_eq!(decision["mode"], "review", "{decision}");
    let id = decision["request_id"].as_str().unwrap().to_owned();
    // An idempotent retry announces the same approval again inside the server: one
    // notification still.
    let again: Value = evaluate().await.unwrap().json().await.unwrap();
    assert_eq!(again["request_id"], id.as_str());

    let got = receiver.wait_for(2).await;
    assert_eq!(got[0].body, got[1].body, "a retry sends the same body");
    for request in &got {
        let timestamp = request.headers["x-bighub-timestamp"].to_str().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(timestamp.parse::<u64>().unwrap().abs_diff(now) < 60);
        assert_eq!(
            request.headers["x-bighub-signature"].to_str().unwrap(),
            expected_signature(timestamp, &request.body)
        );
        assert_eq!(request.headers["content-type"], "application/json");
    }
    let body = got[1].json();
    let link = format!("https://bighub.example.com/console/approvals/{id}");
    assert_eq!(body["type"], "approval.requested");
    assert_eq!(body["request_id"], id.as_str());
    assert_eq!(body["tool"], "grant_access");
    assert_eq!(body["target"], "okta-admins");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["link"], link.as_str());
    assert!(body["id"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(body["created_at"].as_str().is_some());
    assert_eq!(body["arguments"]["break_glass_code"], "[REDACTED]");
    assert_eq!(body["arguments"]["user_id"], "alice");

    // Slack's fields: a one-line summary, a section, the buttons.
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("grant_access") && !text.contains('\n'),
        "{text}"
    );
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "section");
    let actions = blocks.iter().find(|b| b["type"] == "actions").unwrap();
    let buttons = actions["elements"].as_array().unwrap();
    let button = |action_id: &str| {
        buttons
            .iter()
            .find(|b| b["action_id"] == action_id)
            .unwrap_or_else(|| panic!("no {action_id} button in {actions}"))
    };
    assert_eq!(button("approve")["value"], id.as_str());
    assert_eq!(button("reject")["value"], id.as_str());
    assert_eq!(button("open_console")["url"], link.as_str());

    // Nothing secret anywhere: not the redacted argument, not the token named like one,
    // not the signing secret, not the receiver's own query.
    let raw = String::from_utf8_lossy(&got[1].body);
    for secret in [BREAK_GLASS, TOKEN, SECRET, "receiver-query"] {
        assert!(!raw.contains(secret), "{secret} in {raw}");
    }
    // What a person reads in Slack cannot ping a channel or hide a link.
    let slack = format!("{}{}", body["text"], body["blocks"]);
    for injected in ["<!channel>", "<http://evil", "<@U0ADMIN>"] {
        assert!(!slack.contains(injected), "{injected} in {slack}");
    }
    assert!(slack.contains("&lt;!channel&gt;"), "{slack}");
    assert!(
        slack.contains("&lt;http://evil.example|click&gt; &amp;"),
        "{slack}"
    );

    // No third request: the repeat was dropped, the retry succeeded once.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.got().len(), 2);
    assert_eq!(metric(&server, "bighub_notifications_sent_total").await, 1);
    assert_eq!(
        metric(&server, "bighub_notifications_failed_total").await,
        0
    );
    assert_eq!(
        metric(&server, "bighub_notifications_dropped_total").await,
        0
    );

    // The answer is announced too, naming who answered.
    let answered = http
        .post(server.url(&format!("/approvals/{id}/resolve")))
        .header("X-API-Key", KEY_A)
        .json(&json!({"resolution": "rejected", "comment": "not <!here>"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    let got = receiver.wait_for(3).await;
    let body = got[2].json();
    assert_eq!(body["type"], "approval.answered");
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["resolver"], "agent-a");
    assert_ne!(body["id"], got[1].json()["id"]);
    assert!(
        !body["blocks"]
            .to_string()
            .contains("\"action_id\":\"approve\"")
    );
    assert!(!format!("{}{}", body["text"], body["blocks"]).contains("<!here>"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_give_up_after_their_attempts_and_refusals_are_not_retried() {
    let failing = Receiver::start(vec![503, 503, 503, 503], Duration::ZERO).await;
    let refusing = Receiver::start(vec![400, 400], Duration::ZERO).await;
    let (server, _) = start(notify_config(&[&failing.url, &refusing.url])).await;
    let (status, decision) =
        common::post(&server, "/actions/evaluate", &grant_with_secrets()).await;
    assert_eq!(status, 200, "{decision}");
    // Three attempts to the failing receiver, one to the refusing one.
    failing.wait_for(3).await;
    refusing.wait_for(1).await;
    for _ in 0..100 {
        if metric(&server, "bighub_notifications_failed_total").await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        metric(&server, "bighub_notifications_failed_total").await,
        2
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(failing.got().len(), 3);
    assert_eq!(refusing.got().len(), 1);
    assert_eq!(metric(&server, "bighub_notifications_sent_total").await, 0);
    server.stop().await;
}

fn record(request_id: &str) -> ApprovalRecord {
    ApprovalRecord {
        request_id: request_id.to_owned(),
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        tool: "deploy".to_owned(),
        action: "deploy".to_owned(),
        target: "payments".to_owned(),
        arguments_sha256: String::new(),
        arguments: None,
        reason: None,
        status: ApprovalStatus::Pending,
        comment: None,
        resolved_by: None,
        resolver: None,
        resolved_at: None,
        used: false,
        used_at: None,
        expires_at: None,
        requester: None,
        actor: None,
        separate_approver: false,
        required_approvals: 1,
        approvers: Vec::new(),
        change: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts() {
    // One delivery in flight at a time, one waiting: a slow receiver fills both.
    let receiver = Receiver::start(vec![], Duration::from_millis(1500)).await;
    let mut config = notify_config(&[&receiver.url]);
    config.queue_capacity = 1;
    config.max_in_flight = 1;
    let (server, backend) = start(config).await;
    backend
        .events()
        .publish(ApprovalEventKind::Requested, record("r-0"));
    receiver.wait_for(1).await;
    for i in 1..=4 {
        backend
            .events()
            .publish(ApprovalEventKind::Requested, record(&format!("r-{i}")));
    }
    for _ in 0..100 {
        if metric(&server, "bighub_notifications_dropped_total").await == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        metric(&server, "bighub_notifications_dropped_total").await,
        3
    );
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].json()["request_id"], "r-1");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_nobody_answered_is_announced_expired() {
    let receiver = Receiver::start(vec![], Duration::ZERO).await;
    let clock = bighub_local::clock::Clock::manual(1_798_070_400_000);
    let engine = Arc::new(
        LocalEngine::builder()
            .in_memory()
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    let backend = Arc::new(LocalBackend::new(Arc::clone(&engine)));
    let mut config = common::config();
    config.expiry_sweep = Duration::from_millis(50);
    let server = Server::new(backend.clone(), config)
        .with_notifications(notify_config(&[&receiver.url]), backend.events())
        .unwrap();
    let server = TestServer::serve(engine, server).await;
    let decision: Value = reqwest::Client::new()
        .post(server.url("/actions/evaluate"))
        .header("X-API-Key", KEY_A)
        .json(&grant_with_secrets())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = decision["request_id"].as_str().unwrap().to_owned();
    receiver.wait_for(1).await;

    // A day and a minute later, the server's sweep marks it expired and announces it.
    clock.advance(Duration::from_secs(24 * 3600 + 60));
    let got = receiver.wait_for(2).await;
    let body: Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(body["type"], "approval.expired", "{body}");
    assert_eq!(body["request_id"], id.as_str());
    assert_eq!(body["status"], "expired");
    assert!(body["text"].as_str().unwrap().contains("expired"), "{body}");
    let listed: Value = reqwest::Client::new()
        .get(server.url(&format!("/approvals/{id}")))
        .header("X-API-Key", KEY_A)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["status"], "expired");
    server.stop().await;
}
