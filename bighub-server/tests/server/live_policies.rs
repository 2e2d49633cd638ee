//! A running server whose policy files change under it: the next decision follows a
//! change, a broken file leaves decisions on the previous revision and `/healthz` and
//! `/metrics` report the error, mending it recovers; a shadow policy's disagreements are
//! counted in `/metrics` and never change what the caller is told.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bighub_local::LocalEngine;
use serde_json::{Value, json};

use crate::common::{TestServer, post};

const REVIEW_RESTARTS: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": "restarts_wait", "mode": "review",
                   "reason": "Restarts wait for a person."} if input.action.name == "restart_service"
"#;

const BLOCK_RESTARTS: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": "restarts_frozen", "mode": "blocked",
                   "reason": "Restarts are frozen."} if input.action.name == "restart_service"
"#;

fn restart() -> Value {
    json!({"action": "restart_service", "actor": "ops", "target": "payments-api",
           "context": {"system": "kubernetes", "risk": "low"}})
}

/// The mode and the revision the server decides a restart with.
async fn decide(server: &TestServer) -> (String, String) {
    let (status, body) = post(server, "/actions/evaluate", &restart()).await;
    assert_eq!(status, 200, "{body}");
    (
        body["mode"].as_str().unwrap().to_owned(),
        body["decision_brain"]["policy_revision"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

async fn get(server: &TestServer, path: &str) -> (u16, String) {
    let response = reqwest::get(server.url(path)).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn health(server: &TestServer) -> Value {
    let (status, text) = get(server, "/healthz").await;
    assert_eq!(status, 200, "a refused reload is no outage: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes the policy file whole (a hidden file renamed into place), as a deployment
/// should: a poll never sees it half written.
fn write(dir: &Path, text: &str) {
    let temporary = dir.join(".restarts.rego.tmp");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, dir.join("restarts.rego")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_changed_under_a_running_server_decides_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), REVIEW_RESTARTS);
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(dir.path())
        .build()
        .unwrap();
    let server = TestServer::start(engine).await;
    let engine: Arc<LocalEngine> = Arc::clone(&server.engine);
    let _watcher = engine.watch_policies(Duration::from_millis(25)).unwrap();

    let first = engine.policy_revision();
    assert_eq!(decide(&server).await, ("review".to_owned(), first.clone()));
    let (_, metrics) = get(&server, "/metrics").await;
    assert!(
        metrics.contains(&format!("bighub_policy_info{{revision=\"{first}\"}} 1")),
        "{metrics}"
    );
    assert!(metrics.contains("bighub_policy_reloads_total{result=\"ok\"} 0"));

    // Changed: the next decision follows.
    write(dir.path(), BLOCK_RESTARTS);
    wait_for("the change", || engine.policy_revision() != first).await;
    let second = engine.policy_revision();
    assert_eq!(
        decide(&server).await,
        ("blocked".to_owned(), second.clone())
    );
    assert_eq!(health(&server).await["policy"]["revision"], second.as_str());

    // Broken: decisions continue on the previous revision; the error is reported.
    write(
        dir.path(),
        "package bighub.ext\nfindings contains {\"rule\": ",
    );
    wait_for("the error", || {
        engine.policy_status().enforced.last_reload_error.is_some()
    })
    .await;
    assert_eq!(
        decide(&server).await,
        ("blocked".to_owned(), second.clone())
    );
    let h = health(&server).await;
    assert_eq!(h["status"], "ok");
    assert_eq!(h["policy"]["revision"], second.as_str());
    let error = &h["policy"]["last_reload_error"];
    assert!(
        error["message"].as_str().unwrap().contains("restarts.rego"),
        "{h}"
    );
    assert_eq!(error["kept_revision"], second.as_str());
    assert!(error["at"].is_string());
    let (_, metrics) = get(&server, "/metrics").await;
    assert!(
        metrics.contains("bighub_policy_reloads_total{result=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("bighub_policy_reloads_total{result=\"failed\"} 1"));
    assert!(metrics.contains("bighub_policy_last_reload_failed 1"));
    assert!(metrics.contains(&format!("bighub_policy_info{{revision=\"{second}\"}} 1")));

    // Mended: back in step, the error cleared.
    write(dir.path(), REVIEW_RESTARTS);
    wait_for("the mend", || {
        engine.policy_status().enforced.last_reload_error.is_none()
    })
    .await;
    assert_eq!(decide(&server).await, ("review".to_owned(), first.clone()));
    assert!(health(&server).await["policy"]["last_reload_error"].is_null());
    let (_, metrics) = get(&server, "/metrics").await;
    assert!(
        metrics.contains("bighub_policy_last_reload_failed 0"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_disagreement_is_counted_in_metrics_and_changes_nothing() {
    let shadow = tempfile::tempdir().unwrap();
    write(shadow.path(), BLOCK_RESTARTS);
    let engine = LocalEngine::builder()
        .in_memory()
        .shadow_policy(shadow.path())
        .build()
        .unwrap();
    let server = TestServer::start(engine).await;

    let (status, body) = post(&server, "/actions/evaluate", &restart()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["mode"], "autonomous",
        "the shadow never decides: {body}"
    );
    assert_eq!(body["can_run"], true);
    assert_eq!(body["decision_brain"]["shadow"]["mode"], "blocked");
    let read = json!({"action": "list_pods", "actor": "ops", "context": {"system": "kubernetes"}});
    let (status, _) = post(&server, "/actions/evaluate", &read).await;
    assert_eq!(status, 200);
    // A dry run is not counted.
    let mut dry = restart();
    dry["dry_run"] = json!(true);
    let (status, _) = post(&server, "/actions/evaluate", &dry).await;
    assert_eq!(status, 200);

    let (_, metrics) = get(&server, "/metrics").await;
    assert!(
        metrics.contains(
            "bighub_shadow_decisions_total{agreement=\"disagree\",rule=\"restarts_frozen\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("bighub_shadow_decisions_total{agreement=\"agree\","),
        "{metrics}"
    );
    let shadow_revision = server.engine.policy_status().shadow.unwrap().revision;
    assert!(metrics.contains(&format!(
        "bighub_shadow_policy_info{{revision=\"{shadow_revision}\"}} 1"
    )));
    assert_eq!(
        health(&server).await["policy"]["shadow"]["revision"],
        shadow_revision.as_str()
    );
    let listed = server.engine.shadow_disagreements(10).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].request_id, body["request_id"].as_str().unwrap());
    server.stop().await;
}
