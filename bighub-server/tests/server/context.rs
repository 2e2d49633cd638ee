//! Context providers behind the server: each evaluation fetches them before the engine
//! decides, a `fail_closed` provider that fails blocks the call naming it, and the
//! decision records what it was made on.

use bighub_local::LocalEngine;
use bighub_local::context::ContextProviders;
use serde_json::{Value, json};

use crate::common::{TestServer, post};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_fetch_context_and_a_failed_required_provider_blocks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("oncall.json"), r#"{"primary": "alice"}"#).unwrap();
    let config = dir.path().join("context.json");
    std::fs::write(
        &config,
        json!({"providers": [
            {"name": "oncall", "kind": "file", "path": "oncall.json"},
            {"name": "freezes", "kind": "file", "path": "freezes.json", "on_failure": "fail_closed"}
        ]})
        .to_string(),
    )
    .unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .context(ContextProviders::from_file(&config).unwrap())
        .build()
        .unwrap();
    let server = TestServer::start(engine).await;
    let body = json!({"action": "restart_service", "actor": "ops-agent", "target": "payments-api",
                      "context": {"system": "kubernetes", "risk": "low", "environment": "staging"}});

    let (status, decision) = post(&server, "/actions/evaluate", &body).await;
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["mode"], "blocked");
    assert_eq!(decision["allowed"], false);
    let reason = decision["reason"].as_str().unwrap();
    assert!(reason.contains("`freezes`"), "{reason}");
    assert_eq!(
        decision["decision_brain"]["deciding_rules"],
        json!(["context_unavailable"])
    );
    let context = &decision["decision_packet"]["input"]["context"];
    assert_eq!(context["oncall"]["data"], json!({"primary": "alice"}));
    assert_eq!(
        decision["decision_packet"]["context"]["oncall"]["error"],
        Value::Null
    );
    let rows = server.engine.recent_decisions(5).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].caller.as_deref(), Some("agent-a"));

    std::fs::write(dir.path().join("freezes.json"), r#"{"windows": []}"#).unwrap();
    let (status, decision) = post(&server, "/actions/evaluate", &body).await;
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["mode"], "autonomous", "{decision}");
    assert_eq!(
        decision["decision_packet"]["input"]["context_failed"],
        json!([])
    );
}
