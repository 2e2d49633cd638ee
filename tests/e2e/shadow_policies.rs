//! End to end with a shadow policy: the agent's engine also decides every call with a
//! shadow set that would block it; the tool runs as the enforced policy says, and the
//! disagreement is recorded for review.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bighub::{BighubOpenAI, ExecutionStatus, State, engine::Mode, local::LocalEngine};
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use serde_json::json;

const MODEL: &str = "gpt-test";

const BLOCK_SCALING: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": "scaling_frozen", "mode": "blocked",
                   "reason": "Scaling is frozen."} if input.action.name == "scale_service"
"#;

/// How many times the tool really ran.
#[derive(Default)]
struct Ran(AtomicUsize);

/// Scale a service in staging.
#[bighub::action(
    system = "kubernetes",
    risk = "low",
    environment = "staging",
    target = "service"
)]
fn scale_service(service: String, replicas: u32, ran: State<Ran>) -> serde_json::Value {
    ran.0.0.fetch_add(1, Ordering::SeqCst);
    json!({"service": service, "replicas": replicas})
}

#[tokio::test]
async fn a_shadow_policy_that_blocks_does_not_stop_the_tool() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("decisions.db");
    let shadow = dir.path().join("shadow");
    std::fs::create_dir_all(&shadow).unwrap();
    std::fs::write(shadow.join("scaling.rego"), BLOCK_SCALING).unwrap();
    let openai = FakeOpenAi::start().await.unwrap();
    let ran = Arc::new(Ran::default());
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(
            LocalEngine::builder()
                .db_path(&db)
                .shadow_policy(&shadow)
                .build()
                .unwrap(),
        )
        .actor("ops-agent")
        .action(ScaleService)
        .shared_state(Arc::clone(&ran))
        .build()
        .unwrap();
    openai.push(Turn::new().call(
        "scale_service",
        json!({"service": "payments", "replicas": 3}).to_string(),
    ));
    openai.push(Turn::text("Scaled."));

    let result = agent.run("Scale payments to 3", MODEL).await.unwrap();
    let last = result.last().unwrap();
    assert_eq!(last.status, ExecutionStatus::Executed);
    assert_eq!(ran.0.load(Ordering::SeqCst), 1, "the tool ran once");
    let decision = last.decision.as_ref().unwrap();
    assert_eq!(decision.mode, Some(Mode::Autonomous));
    let shadow_said = &decision.raw["decision_brain"]["shadow"];
    assert_eq!(shadow_said["mode"], "blocked", "{shadow_said}");
    assert_eq!(shadow_said["agrees"], false);

    // The disagreement is in the store, for `bighub decisions --shadow`.
    let reader = LocalEngine::builder().db_path(&db).build().unwrap();
    let listed = reader.shadow_disagreements(10).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].tool, "scale_service");
    assert_eq!(listed[0].mode, "autonomous");
    assert_eq!(listed[0].shadow_mode.as_deref(), Some("blocked"));
    assert_eq!(listed[0].shadow_deciding_rules, ["scaling_frozen"]);
    assert_eq!(Some(&listed[0].request_id), decision.request_id.as_ref());
}
