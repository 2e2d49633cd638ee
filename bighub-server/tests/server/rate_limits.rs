//! Rate limits across decision servers: two servers on one PostgreSQL schema count the
//! same calls, so a limit holds for the agent whichever server each call reaches.
//!
//! Needs `BIGHUB_TEST_DATABASE_URL` (`.ci/run` sets it); skipped with a message without it,
//! failed under `CI=true`.

use crate::common::{KEY_A, KEY_B, TestServer, database_url, fresh_schema};
use bighub_core::{DecisionEngine, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use serde_json::json;

/// An engine on the shared schema with "3 production deploys an hour per agent".
fn limited_engine(url: &str, schema: &str) -> LocalEngine {
    LocalEngine::builder()
        .database_url(url)
        .database_schema(schema)
        .config(
            json!({"rate_limits": [{"name": "prod-deploys", "max": 3, "window": "1h",
            "action": "deploy", "environment": "production", "per": "actor"}]}),
        )
        .build()
        .unwrap()
}

fn deploy(actor: &str, target: &str) -> ProposedAction {
    ProposedAction::new("deploy")
        .actor(actor)
        .system("argocd")
        .risk(RiskLevel::Low)
        .environment("production")
        .target(target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_enforce_one_rate_limit() {
    let Some(url) = database_url() else { return };
    let schema = fresh_schema();
    let a = TestServer::start(limited_engine(&url, &schema)).await;
    let b = TestServer::start(limited_engine(&url, &schema)).await;
    let (ra, rb) = (a.remote(KEY_A), b.remote(KEY_B));

    // Two deploys through A and one through B: all within the limit.
    for (remote, target) in [(&ra, "web"), (&rb, "api"), (&ra, "worker")] {
        let d = remote
            .evaluate(&deploy("deploy-bot", target))
            .await
            .unwrap();
        assert_eq!(d.raw["mode"], "autonomous", "{}", d.raw["reason"]);
    }
    // The fourth is over it, through either server.
    for remote in [&rb, &ra] {
        let d = remote
            .evaluate(&deploy("deploy-bot", "cron"))
            .await
            .unwrap();
        assert_eq!(d.raw["mode"], "review", "{}", d.raw["reason"]);
        assert_eq!(
            d.raw["decision_brain"]["deciding_rules"],
            json!(["rate_limit"])
        );
        let factor = d
            .salient_factors
            .iter()
            .find(|f| f.factor.as_deref() == Some("rate_limit"))
            .expect("a rate_limit factor");
        assert_eq!(factor.extra["limit"], "prod-deploys");
        assert_eq!(factor.extra["window"], "1h");
        assert!(factor.extra["count"].as_u64().unwrap() >= 4, "{factor:?}");
    }
    // Another agent has its own count.
    let d = rb.evaluate(&deploy("other-bot", "web")).await.unwrap();
    assert_eq!(d.raw["mode"], "autonomous", "{}", d.raw["reason"]);
}
