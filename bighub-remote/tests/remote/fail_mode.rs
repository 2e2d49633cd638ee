//! Fail modes end to end: `RemoteBighub` against the fake service, failing open only
//! when the service is unavailable.

use std::time::Duration;

use bighub_core::{Decision, DecisionEngine, FailMode, ProposedAction, Verdict};
use bighub_remote::RemoteBighub;
use bighub_testkit::fake_bighub::{Endpoint, FakeBighub, Reply};
use serde_json::{Value, json};

fn client(fake: &FakeBighub, key: &str) -> RemoteBighub {
    RemoteBighub::builder()
        .api_key(key)
        .base_url(fake.base_url())
        .timeout(Duration::from_secs(5))
        .max_retries(1)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap()
}

/// What failing open decides for one evaluation against `fake`.
async fn fail_open_decision(bighub: &RemoteBighub) -> Decision {
    let error = bighub
        .evaluate(&ProposedAction::new("restart_deployment"))
        .await
        .expect_err("the fake is scripted to fail");
    FailMode::Open.decision_for(&error)
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_open_never_runs_a_call_the_service_refused_the_key_for() {
    let fake = FakeBighub::start().await;
    let d = fail_open_decision(&client(&fake, "bh_wrong_key")).await;
    assert_eq!(d.verdict(), Verdict::Blocked);
    assert_eq!(d.fail_mode(), Some(FailMode::Closed));
    assert_eq!(d.raw["error_class"], "auth");
    assert!(d.reason.unwrap().contains("HTTP 401"));

    fake.enqueue(Endpoint::Evaluate, Reply::error(403, "missing scope"));
    let d = fail_open_decision(&client(&fake, fake.api_key())).await;
    assert_eq!(d.verdict(), Verdict::Blocked);
    assert_eq!(d.raw["error_class"], "auth");
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_open_never_runs_a_call_on_an_unreadable_answer() {
    let fake = FakeBighub::start().await;
    let bighub = client(&fake, fake.api_key());
    let bodies = [
        Reply::text(
            200,
            "text/html",
            "<html><body>Sign in to the proxy</body></html>",
        ),
        Reply::ok(json!([])),
        Reply::ok(json!("autonomous")),
        Reply::ok(Value::Null),
        Reply::text(200, "application/json", ""),
    ];
    for reply in bodies {
        let shown = format!("{reply:?}");
        fake.enqueue(Endpoint::Evaluate, reply);
        let d = fail_open_decision(&bighub).await;
        assert_eq!(d.verdict(), Verdict::Blocked, "{shown}");
        assert_eq!(d.raw["error_class"], "invalid_response", "{shown}");
        assert_eq!(d.fail_mode(), Some(FailMode::Closed));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_open_still_runs_a_call_when_the_service_is_down() {
    let fake = FakeBighub::start().await;
    fake.on_evaluate(|_| Reply::status(503));
    let d = fail_open_decision(&client(&fake, fake.api_key())).await;
    assert_eq!(d.verdict(), Verdict::Execute);
    assert_eq!(d.fail_mode(), Some(FailMode::Open));
    assert!(
        d.reason
            .unwrap()
            .starts_with("decision service unavailable (")
    );
    assert_eq!(fake.count("/actions/evaluate"), 2, "1 try + 1 retry");
}
