//! Decision logs through the server: every decision an agent's evaluation records reaches
//! a local receiver once, in batches retried through 503s, with secrets redacted, masked
//! pointers masked and drop rules honoured; `/metrics` counts what was sent, dropped by
//! rule and dropped because the queue was full.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bighub_core::backoff::Backoff;
use bighub_local::LocalEngine;
use bighub_local::decision_logs::{DecisionLogConfig, DecisionLogs};
use bighub_server::{LocalBackend, Server};
use serde_json::{Value, json};

use crate::common::{self, TestServer};
use crate::notify::{Receiver, metric};

const PASSWORD: &str = "hunter2-server-decision-log";
const EMAIL: &str = "bob.customer@example.com";
const TOKEN: &str = "Bearer tok-server-decision-logs-1029384756";

/// The configuration `bighub serve --decision-log-url URL --decision-log-header
/// 'Authorization=…' --decision-log-mask /input/action/arguments/email
/// --decision-log-drop-mode autonomous` builds, with short waits for a test.
fn config(url: &str) -> DecisionLogConfig {
    let mut config = DecisionLogConfig::http(url)
        .unwrap()
        .header("Authorization", TOKEN)
        .unwrap()
        .mask("/input/action/arguments/email")
        .unwrap()
        .drop_mode("autonomous")
        .unwrap()
        .label("region", "eu-west-1");
    config.batch_size = 3;
    config.flush_interval = Duration::from_millis(50);
    config.retry_backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(80));
    config
}

async fn start(logs: &DecisionLogs) -> TestServer {
    let engine = Arc::new(
        LocalEngine::builder()
            .in_memory()
            .decision_logs(logs.clone())
            .build()
            .unwrap(),
    );
    let mut config = common::config();
    config.decision_logs = Some(logs.clone());
    let server = Server::new(Arc::new(LocalBackend::new(Arc::clone(&engine))), config);
    TestServer::serve(engine, server).await
}

fn reset_password(user: &str) -> Value {
    json!({"action": "reset_password", "actor": "agent-7", "target": user,
        "context": {"system": "okta", "risk": "high", "environment": "production",
            "arguments": {"user": user, "password": PASSWORD, "email": EMAIL}}})
}

fn restart(target: &str) -> Value {
    json!({"action": "restart_service", "target": target,
        "context": {"system": "kubernetes", "risk": "low", "environment": "staging"}})
}

async fn evaluate(server: &TestServer, body: &Value) -> Value {
    let (status, decision) = common::post(server, "/actions/evaluate", body).await;
    assert_eq!(status, 200, "{decision}");
    decision
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_reach_the_endpoint_once_through_503s_and_metrics_count_them() {
    let receiver = Receiver::start(vec![503, 503, 503], Duration::ZERO).await;
    let logs = DecisionLogs::new(config(&receiver.url)).unwrap();
    let server = start(&logs).await;

    let mut logged = Vec::new();
    for i in 0..7 {
        let d = evaluate(&server, &reset_password(&format!("user-{i}"))).await;
        assert_eq!(d["mode"], "review", "{d}");
        logged.push(d["request_id"].as_str().unwrap().to_owned());
    }
    for i in 0..4 {
        let d = evaluate(&server, &restart(&format!("svc-{i}"))).await;
        assert_eq!(d["mode"], "autonomous", "{d}");
    }
    let flusher = logs.clone();
    let flushed = tokio::task::spawn_blocking(move || flusher.flush(Duration::from_secs(15)))
        .await
        .unwrap();
    assert!(flushed, "{:?}", logs.stats());

    let got = receiver.got();
    // The first three tries were answered 503; what they carried came again.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for request in &got[3..] {
        for line in String::from_utf8_lossy(&request.body).lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            assert_eq!(
                record["input"]["action"]["arguments"]["password"],
                "[REDACTED]"
            );
            assert_eq!(record["input"]["action"]["arguments"]["email"], "[MASKED]");
            assert_eq!(record["labels"]["region"], "eu-west-1");
            assert_eq!(record["requested_by"], "agent-a");
            *counts
                .entry(record["decision_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(counts.len(), logged.len(), "{counts:?}");
    assert!(
        logged.iter().all(|id| counts.get(id) == Some(&1)),
        "{counts:?}"
    );
    for request in &got {
        let body = String::from_utf8_lossy(&request.body);
        for secret in [PASSWORD, EMAIL, TOKEN] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
        assert_eq!(request.headers["authorization"], TOKEN);
    }

    let sent = r#"bighub_decision_log_records_total{result="sent"}"#;
    let by_rule = r#"bighub_decision_log_records_total{result="dropped_rule"}"#;
    let overflow = r#"bighub_decision_log_records_total{result="dropped_overflow"}"#;
    assert_eq!(metric(&server, sent).await, 7);
    assert_eq!(metric(&server, by_rule).await, 4);
    assert_eq!(metric(&server, overflow).await, 0);
    assert_eq!(
        metric(&server, "bighub_decision_log_failed_attempts_total").await,
        3
    );
    assert_eq!(metric(&server, "bighub_decision_log_pending").await, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_records_without_failing_decisions_and_metrics_show_it() {
    let receiver = Receiver::start(vec![503; 1000], Duration::ZERO).await;
    let mut config = config(&receiver.url);
    config.queue_capacity = 1;
    config.batch_size = 1;
    let logs = DecisionLogs::new(config).unwrap();
    let server = start(&logs).await;

    for i in 0..6 {
        let d = evaluate(&server, &reset_password(&format!("user-{i}"))).await;
        assert_eq!(d["mode"], "review", "{d}");
    }
    let stats = logs.stats();
    // One in the queue, at most one more being retried by the sink.
    assert!((4..=5).contains(&stats.dropped_overflow), "{stats:?}");
    let overflow = r#"bighub_decision_log_records_total{result="dropped_overflow"}"#;
    assert_eq!(metric(&server, overflow).await, stats.dropped_overflow);
    assert_eq!(
        metric(&server, "bighub_decision_log_pending").await,
        6 - stats.dropped_overflow
    );
    let sent = r#"bighub_decision_log_records_total{result="sent"}"#;
    assert_eq!(metric(&server, sent).await, 0);
    // Stopping the server closes the sink within its grace; what it could not send is
    // abandoned and counted.
    server.stop().await;
    let stats = logs.stats();
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert_eq!(stats.abandoned + stats.dropped_overflow, 6, "{stats:?}");
}
