//! `RemoteBighub` against the validating fake BIGHUB server: wire format, retries, errors.

use std::time::Duration;

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::{
    ActionContext, ApprovalClaim, ApprovalResolution, DecisionEngine, Error, MemoryBatch,
    OutcomeReport, OutcomeStatus, ProposedAction, RiskLevel,
};
use bighub_remote::{DecisionMode, RemoteBighub, RemoteBighubBuilder};
use bighub_testkit::fake_bighub::{Endpoint, FakeBighub, RecordedRequest, Reply, decision};
use serde_json::{Map, Value, json};

const EVALUATE: &str = "/actions/evaluate";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A client for `fake` with millisecond backoffs.
fn client_for(fake: &FakeBighub) -> RemoteBighubBuilder {
    RemoteBighub::builder()
        .api_key(fake.api_key())
        .base_url(fake.base_url())
        .timeout(Duration::from_secs(5))
        .backoff(ms(1), ms(4))
}

fn grant_access() -> ProposedAction {
    let mut metadata = Map::new();
    metadata.insert("app".into(), json!("payments"));
    ProposedAction::new("grant_access")
        .action_name("okta_grant_access")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
        .actor("ops-agent")
        .domain("it_actions")
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target("okta-admins")
        .context(ActionContext {
            session_id: Some("sess_42".into()),
            trajectory_id: Some("traj_7".into()),
            objective: None,
            model_selection: Some("fast".into()),
            metadata,
        })
}

fn idempotency_key(request: &RecordedRequest) -> String {
    request
        .header("idempotency-key")
        .expect("evaluate carries an Idempotency-Key")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn evaluate_sends_the_documented_body_and_headers() {
    let fake = FakeBighub::start().await;
    let bighub = client_for(&fake).build().unwrap();

    let decision = bighub.evaluate(&grant_access()).await.unwrap();
    assert_eq!(decision.raw["mode"], "autonomous");
    assert!(
        decision.raw["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_fake_")
    );

    let requests = fake.requests_to(EVALUATE);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("x-api-key"), Some(fake.api_key()));
    assert!(
        request
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let key = idempotency_key(request);
    assert!(uuid::Uuid::parse_str(&key).is_ok(), "not a UUID: {key}");
    assert!(
        request
            .header("user-agent")
            .unwrap()
            .starts_with("bighub-core/")
    );

    assert_eq!(
        request.json(),
        &json!({
            "action": "okta_grant_access",
            "actor": "ops-agent",
            "target": "okta-admins",
            "domain": "it_actions",
            "context": {
                "app": "payments",
                "objective": "better_decision",
                "model_selection": "fast",
                "system": "okta",
                "risk": "high",
                "environment": "production",
                "session_id": "sess_42",
                "trajectory_id": "traj_7",
                "tool": "grant_access",
                "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}
            }
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn decision_modes_shape_the_body_per_engine_and_per_action() {
    let fake = FakeBighub::start().await;
    let submit = client_for(&fake).build().unwrap();
    let payload = client_for(&fake)
        .decision_mode(DecisionMode::SubmitPayload)
        .build()
        .unwrap();
    assert_eq!(submit.decision_mode(), DecisionMode::Submit);
    assert_eq!(payload.decision_mode(), DecisionMode::SubmitPayload);

    let bare = ProposedAction::new("restart_pod");
    submit.evaluate(&bare).await.unwrap();
    payload.evaluate(&bare).await.unwrap();
    submit
        .evaluate(&bare.clone().decision_mode(DecisionMode::SubmitPayload))
        .await
        .unwrap();
    payload
        .evaluate(&bare.clone().decision_mode(DecisionMode::Submit))
        .await
        .unwrap();

    let bodies: Vec<Value> = fake
        .requests_to(EVALUATE)
        .iter()
        .map(|r| r.json().clone())
        .collect();
    let has_nulls = |b: &Value| {
        ["value", "target", "domain"]
            .iter()
            .all(|k| b.get(*k) == Some(&Value::Null))
    };
    let omits = |b: &Value| {
        ["value", "target", "domain"]
            .iter()
            .all(|k| b.get(*k).is_none())
    };
    assert!(omits(&bodies[0]), "submit: {}", bodies[0]);
    assert!(has_nulls(&bodies[1]), "submit_payload: {}", bodies[1]);
    assert!(
        has_nulls(&bodies[2]),
        "action override to payload: {}",
        bodies[2]
    );
    assert!(
        omits(&bodies[3]),
        "action override to submit: {}",
        bodies[3]
    );
    for body in &bodies {
        assert_eq!(body["action"], "restart_pod");
        assert_eq!(body["actor"], "AI_AGENT");
        assert_eq!(body["context"]["objective"], "better_decision");
        assert_eq!(body["context"]["model_selection"], "auto");
        assert_eq!(body["context"]["tool"], "restart_pod");
    }

    // One key per logical evaluation.
    let mut keys: Vec<String> = fake
        .requests_to(EVALUATE)
        .iter()
        .map(idempotency_key)
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fake_decides_by_action_name() {
    let fake = FakeBighub::start().await;
    fake.on_evaluate(|body| {
        let action = body["action"].as_str().unwrap_or_default();
        let mode = if action.starts_with("okta_") {
            "review"
        } else {
            "autonomous"
        };
        Reply::ok(decision(mode, action))
    });
    let bighub = client_for(&fake).build().unwrap();
    let risky = bighub.evaluate(&grant_access()).await.unwrap();
    let safe = bighub
        .evaluate(&ProposedAction::new("list_pods"))
        .await
        .unwrap();
    assert_eq!(risky.raw["mode"], "review");
    assert_eq!(risky.raw["needs_review"], true);
    assert_eq!(safe.raw["mode"], "autonomous");
    assert_ne!(risky.raw["request_id"], safe.raw["request_id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_an_auth_error_without_retry() {
    let fake = FakeBighub::start().await;
    let bighub = client_for(&fake).api_key("bh_wrong").build().unwrap();
    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    match err {
        Error::Auth { status, message } => {
            assert_eq!(status, 401);
            assert_eq!(message, "Invalid API key");
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    assert_eq!(fake.count(EVALUATE), 1);
    assert_eq!(fake.requests()[0].header("x-api-key"), Some("bh_wrong"));
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_is_an_auth_error_without_retry() {
    let fake = FakeBighub::start().await;
    fake.enqueue(
        Endpoint::Evaluate,
        Reply::error(403, "Key lacks the actions:evaluate scope"),
    );
    let bighub = client_for(&fake).build().unwrap();
    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    assert!(
        matches!(err, Error::Auth { status: 403, ref message } if message.contains("scope")),
        "{err:?}"
    );
    assert!(err.to_string().contains("BIGHUB_API_KEY"));
    assert_eq!(fake.count(EVALUATE), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_validation_detail_is_kept_whole_and_summarised() {
    let fake = FakeBighub::start().await;
    let bighub = client_for(&fake).build().unwrap();

    // An outcome without a request id breaks the service's model: a real 422 from the fake.
    let err = bighub
        .report_outcome(&OutcomeReport::new(OutcomeStatus::Success))
        .await
        .unwrap_err();
    match &err {
        Error::Validation { message, detail } => {
            assert_eq!(message, "body.request_id: field required");
            assert_eq!(
                detail,
                &json!([{"loc": ["body", "request_id"], "msg": "field required",
                         "type": "value_error.missing"}])
            );
        }
        other => panic!("expected Validation, got {other:?}"),
    }
    assert!(err.to_string().contains("body.request_id: field required"));
    assert_eq!(fake.count("/outcomes/report"), 1);

    // A scripted 422 with several entries reads as one line.
    fake.enqueue(
        Endpoint::Evaluate,
        Reply::error(
            422,
            json!([
                {"loc": ["body", "context", "risk"], "msg": "unexpected value", "type": "value_error"},
                {"loc": ["body", "value"], "msg": "ensure this value is greater than 0", "type": "value_error"}
            ]),
        ),
    );
    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Validation { message, .. }
            if message == "body.context.risk: unexpected value; body.value: ensure this value is greater than 0"),
        "{err:?}"
    );
    assert_eq!(fake.count(EVALUATE), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_wait_as_asked_then_give_up() {
    let fake = FakeBighub::start().await;
    fake.enqueue_many(
        Endpoint::Evaluate,
        [
            Reply::error(429, "slow down").retry_after(1),
            Reply::error(429, "slow down").retry_after(1),
        ],
    );
    let bighub = client_for(&fake).max_retries(1).build().unwrap();
    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(1)),
        "{err:?}"
    );
    let requests = fake.requests_to(EVALUATE);
    assert_eq!(requests.len(), 2);
    // The retry came no sooner than the service asked (a lower bound, set by the client's sleep).
    let gap = requests[1].received_at - requests[0].received_at;
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert_eq!(idempotency_key(&requests[0]), idempotency_key(&requests[1]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_beyond_the_cap_fails_at_once() {
    let fake = FakeBighub::start().await;
    fake.enqueue(
        Endpoint::Evaluate,
        Reply::error(429, "quota").retry_after(120),
    );
    let bighub = client_for(&fake)
        .max_retries(3)
        .max_retry_after(Duration::from_secs(2))
        .build()
        .unwrap();
    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(120)),
        "{err:?}"
    );
    assert_eq!(fake.count(EVALUATE), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_until_exhausted() {
    for max_retries in [0u32, 1, 2, 4] {
        let fake = FakeBighub::start().await;
        fake.respond_with(Endpoint::Evaluate, |_| Reply::status(500));
        let bighub = client_for(&fake).max_retries(max_retries).build().unwrap();
        assert_eq!(bighub.max_retries(), max_retries);
        let err = bighub.evaluate(&grant_access()).await.unwrap_err();
        assert!(
            matches!(&err, Error::Status { status: 500, body } if body.contains("Internal Server Error")),
            "{err:?}"
        );
        let requests = fake.requests_to(EVALUATE);
        assert_eq!(requests.len() as u32, 1 + max_retries);
        let first = idempotency_key(&requests[0]);
        assert!(requests.iter().all(|r| idempotency_key(r) == first));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn client_errors_fail_at_once() {
    let fake = FakeBighub::start().await;
    let long = "x".repeat(2_000);
    fake.enqueue_many(
        Endpoint::Evaluate,
        [
            Reply::error(400, long.clone()),
            Reply::error(404, "Not Found"),
        ],
    );
    let bighub = client_for(&fake).max_retries(3).build().unwrap();

    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    match &err {
        Error::Status { status: 400, body } => {
            assert!(
                body.chars().count() <= 501,
                "body not cut: {} chars",
                body.len()
            );
            assert!(body.ends_with('…'));
        }
        other => panic!("expected Status 400, got {other:?}"),
    }
    assert_eq!(fake.count(EVALUATE), 1);

    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err:?}");
    assert_eq!(fake.count(EVALUATE), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_not_followed() {
    let fake = FakeBighub::start().await;
    let elsewhere = FakeBighub::start().await;
    fake.enqueue(
        Endpoint::Evaluate,
        Reply::error(307, "moved")
            .header("location", format!("{}{EVALUATE}", elsewhere.base_url())),
    );
    let bighub = client_for(&fake).build().unwrap();
    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 307, .. }), "{err:?}");
    assert_eq!(fake.count(EVALUATE), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "the key went to the redirect target"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transient_failure_then_success_keeps_the_idempotency_key() {
    let fake = FakeBighub::start().await;
    fake.enqueue(Endpoint::Evaluate, Reply::status(500));
    let bighub = client_for(&fake).build().unwrap();
    let decision = bighub.evaluate(&grant_access()).await.unwrap();
    assert_eq!(decision.raw["mode"], "autonomous");
    let requests = fake.requests_to(EVALUATE);
    assert_eq!(requests.len(), 2);
    assert_eq!(idempotency_key(&requests[0]), idempotency_key(&requests[1]));
    assert_eq!(requests[0].json(), requests[1].json());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_service_times_out_after_retries() {
    let fake = FakeBighub::start().await;
    fake.respond_with(Endpoint::Evaluate, |_| {
        Reply::ok(json!({"mode": "autonomous"})).delay(Duration::from_secs(5))
    });
    let bighub = client_for(&fake)
        .timeout(ms(150))
        .max_retries(1)
        .build()
        .unwrap();
    assert_eq!(bighub.timeout(), ms(150));
    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(d) if d == ms(150)), "{err:?}");
    assert_eq!(fake.count(EVALUATE), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_is_retried() {
    let fake = FakeBighub::start().await;
    fake.enqueue(
        Endpoint::Evaluate,
        Reply::ok(json!({"mode": "blocked"})).delay(Duration::from_secs(5)),
    );
    // Roomy enough that the second, prompt answer never times out on a busy machine.
    let bighub = client_for(&fake).timeout(ms(1_000)).build().unwrap();
    let decision = bighub.evaluate(&grant_access()).await.unwrap();
    assert_eq!(
        decision.raw["mode"], "autonomous",
        "the slow answer was not used"
    );
    assert_eq!(fake.count(EVALUATE), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_is_a_network_error_after_retries() {
    let fake = FakeBighub::start().await;
    fake.respond_with(Endpoint::Evaluate, |_| Reply::drop_connection());
    let bighub = client_for(&fake).max_retries(2).build().unwrap();
    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    assert_eq!(fake.count(EVALUATE), 3);

    // Once the service answers again, the same client recovers within one call.
    fake.on_evaluate(|b| {
        Reply::ok(decision(
            "autonomous",
            b["action"].as_str().unwrap_or_default(),
        ))
    });
    fake.enqueue(Endpoint::Evaluate, Reply::drop_connection());
    bighub.evaluate(&grant_access()).await.unwrap();
    assert_eq!(fake.count(EVALUATE), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_is_a_network_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let bighub = RemoteBighub::builder()
        .api_key("bh_test")
        .base_url(format!("http://127.0.0.1:{port}"))
        .backoff(ms(1), ms(2))
        .max_retries(1)
        .build()
        .unwrap();
    let err = bighub.evaluate(&grant_access()).await.unwrap_err();
    match err {
        Error::Network(message) => assert!(message.contains(&port.to_string()), "{message}"),
        other => panic!("expected Network, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_success_that_is_not_an_object_is_an_invalid_response() {
    let fake = FakeBighub::start().await;
    // A decision is only ever read from a JSON object; none of these may become one.
    let replies = [
        Reply::text(200, "text/html", "<html>maintenance</html>"),
        Reply::text(200, "application/json", "<!DOCTYPE html><p>Sign in</p>"),
        Reply::ok(json!(["not", "an", "object"])),
        Reply::ok(json!([])),
        Reply::ok(json!("autonomous")),
        Reply::ok(json!(true)),
        Reply::ok(json!(1)),
        Reply::ok(Value::Null),
        Reply::text(200, "application/json", ""),
        Reply::text(200, "application/json", "  \n"),
        Reply::text(204, "application/json", ""),
        Reply::text(
            200,
            "application/json",
            r#"{"mode": "autonomous"} trailing"#,
        ),
    ];
    let n = replies.len();
    fake.enqueue_many(Endpoint::Evaluate, replies);
    let bighub = client_for(&fake).build().unwrap();
    for i in 0..n {
        let err = bighub.evaluate(&grant_access()).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidResponse(_)),
            "reply {i}: {err:?}"
        );
    }
    assert_eq!(
        fake.count(EVALUATE),
        n,
        "an unreadable answer is not retried"
    );
}

#[test]
fn plain_http_is_refused_for_a_remote_host() {
    let err = RemoteBighub::builder()
        .api_key("bh_test")
        .base_url("http://api.bighub.io")
        .build()
        .unwrap_err();
    match err {
        Error::InvalidConfig(message) => {
            assert!(message.contains("unencrypted"), "{message}");
            assert!(message.contains("https://"), "{message}");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    for local in [
        "http://localhost:8080",
        "http://127.0.0.1:1",
        "http://[::1]:9",
    ] {
        let bighub = RemoteBighub::builder()
            .api_key("bh_test")
            .base_url(local)
            .build()
            .unwrap();
        assert_eq!(bighub.base_url(), local);
    }
    let default = RemoteBighub::builder().api_key("bh_test").build().unwrap();
    assert_eq!(default.base_url(), "https://api.bighub.io");
    assert_eq!(default.decision_mode(), DecisionMode::Submit);
}

/// The only test touching `BIGHUB_*` variables, so no other test of this binary races it.
#[tokio::test(flavor = "multi_thread")]
async fn from_env_reads_the_key_and_base_url() {
    fn set(name: &str, value: Option<&str>) {
        // SAFETY: no other test in this binary reads or writes BIGHUB_* variables.
        unsafe {
            match value {
                Some(v) => std::env::set_var(name, v),
                None => std::env::remove_var(name),
            }
        }
    }
    let fake = FakeBighub::start().await;

    set("BIGHUB_API_KEY", None);
    set("BIGHUB_BASE_URL", None);
    let err = RemoteBighub::from_env().unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig(m) if m.contains("BIGHUB_API_KEY is not set")),
        "{err:?}"
    );

    set("BIGHUB_API_KEY", Some("   "));
    let err = RemoteBighub::from_env().unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig(m) if m.contains("empty")),
        "{err:?}"
    );

    set("BIGHUB_API_KEY", Some(fake.api_key()));
    let default = RemoteBighub::from_env().unwrap();
    assert_eq!(default.base_url(), "https://api.bighub.io");

    set("BIGHUB_BASE_URL", Some("http://bighub.example.com"));
    assert!(matches!(
        RemoteBighub::from_env(),
        Err(Error::InvalidConfig(_))
    ));

    set("BIGHUB_BASE_URL", Some(&fake.base_url()));
    let bighub = RemoteBighub::from_env().unwrap();
    assert_eq!(bighub.base_url(), fake.base_url());
    bighub.evaluate(&grant_access()).await.unwrap();
    assert_eq!(
        fake.requests_to(EVALUATE)[0].header("x-api-key"),
        Some(fake.api_key())
    );

    set("BIGHUB_API_KEY", None);
    set("BIGHUB_BASE_URL", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn outcome_ingest_and_resolve_send_their_documented_bodies() {
    let fake = FakeBighub::start().await;
    let bighub = client_for(&fake).build().unwrap();

    let mut report = OutcomeReport::new(OutcomeStatus::Failure);
    report.request_id = Some("req_1".into());
    report.description = Some("Tool deploy_service raised: timeout".into());
    report
        .details
        .insert("tool".into(), json!("deploy_service"));
    report.correction_needed = true;
    bighub.report_outcome(&report).await.unwrap();

    let mut batch = MemoryBatch::new(
        "openai_adapter",
        vec![json!({"tool": "deploy_service", "status": "tool_error", "seq": 0})],
    );
    batch.source_version = Some("bighub-openai@0.1.0".into());
    batch.model = Some("gpt-5".into());
    batch.trace_id = Some("trace_9".into());
    bighub.ingest_memory(&batch).await.unwrap();

    let id = "req/1 ?#%é";
    let mut resolution = ApprovalResolution::approved(Some("change CHG-12 approved".to_owned()));
    resolution.resolved_by = Some("alice@example.com".into());
    let record = bighub.resolve_approval(id, &resolution).await.unwrap();
    assert_eq!(record["request_id"], id);
    assert_eq!(record["status"], "approved");

    assert_eq!(
        fake.requests_to("/outcomes/report")[0].json(),
        &json!({
            "status": "FAILURE",
            "request_id": "req_1",
            "description": "Tool deploy_service raised: timeout",
            "details": {"tool": "deploy_service"},
            "correction_needed": true
        })
    );
    assert_eq!(
        fake.requests_to("/actions/memory/ingest")[0].json(),
        &json!({
            "source": "openai_adapter",
            "events": [{"tool": "deploy_service", "status": "tool_error", "seq": 0}],
            "source_version": "bighub-openai@0.1.0",
            "model": "gpt-5",
            "trace_id": "trace_9",
            "redact": true,
            "redaction_policy": "default"
        })
    );
    let resolves = fake.requests_to("/approvals/{request_id}/resolve");
    assert_eq!(resolves.len(), 1);
    assert_eq!(
        resolves[0].path,
        "/approvals/req%2F1%20%3F%23%25%C3%A9/resolve"
    );
    assert_eq!(resolves[0].path_id.as_deref(), Some(id));
    assert_eq!(
        resolves[0].json(),
        &json!({
            "resolution": "approved",
            "comment": "change CHG-12 approved",
            "resolved_by": "alice@example.com"
        })
    );
    // Only evaluations carry an idempotency key.
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.header("idempotency-key").is_none())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approval_errors_are_typed_and_not_retried() {
    let fake = FakeBighub::start().await;
    fake.enqueue_many(
        Endpoint::ResolveApproval,
        [
            Reply::error(404, "Approval not found"),
            Reply::error(
                409,
                json!({"message": "already resolved", "resolution": "rejected"}),
            ),
        ],
    );
    let bighub = client_for(&fake).max_retries(3).build().unwrap();
    let approve = ApprovalResolution::approved(None);

    let err = bighub
        .resolve_approval("req_404", &approve)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Approval(ApprovalRefused { request_id: id, refusal: ApprovalRefusal::NotFound, .. }) if id == "req_404"),
        "{err:?}"
    );

    let err = bighub
        .resolve_approval("req_409", &approve)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Approval(ApprovalRefused { request_id, refusal: ApprovalRefusal::AlreadyResolved { resolution }, .. })
            if request_id == "req_409" && resolution == "rejected"),
        "{err:?}"
    );
    assert_eq!(fake.count("/approvals/{request_id}/resolve"), 2);

    // An id that cannot be a path segment never leaves the process.
    for bad in ["", "..", "."] {
        let err = bighub.resolve_approval(bad, &approve).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Approval(ApprovalRefused {
                    refusal: ApprovalRefusal::NotFound,
                    ..
                })
            ),
            "{err:?}"
        );
    }
    assert_eq!(fake.requests().len(), 2);
}

/// A claim is trusted only as far as the answer binds it: the same tool and digest, used.
#[tokio::test]
async fn a_claim_is_claimed_only_when_the_answer_binds_this_call() {
    let fake = FakeBighub::start().await;
    let grant = ProposedAction::new("grant_access")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}));
    let digest = grant.approval_digest();
    let bound = |tool: &str, digest: &str, status: &str, used: bool| {
        Reply::ok(
            json!({"request_id": "req_1", "tool": tool, "arguments_sha256": digest,
                         "status": status, "used": used, "claimed": true}),
        )
    };
    fake.enqueue_many(
        Endpoint::ResolveApproval,
        [
            // The hosted service reads a claim as a second resolution.
            Reply::error(
                409,
                json!({"message": "already resolved", "resolution": "approved"}),
            ),
            // A service that answers without the approval's binding.
            Reply::ok(json!({"request_id": "req_1", "status": "approved"})),
            bound("grant_access", &digest, "approved", true),
            bound("delete_user", &digest, "approved", true),
            bound("grant_access", &"0".repeat(64), "approved", true),
            bound("grant_access", &digest, "approved", false),
            Reply::error(
                409,
                json!({"message": "claim refused", "reason": "tool_changed", "approved_tool": "list_users"}),
            ),
            Reply::error(409, json!({"message": "claim refused", "reason": "already_used"})),
            Reply::error(
                409,
                json!({"message": "claim refused", "reason": "not_approved", "status": "rejected"}),
            ),
        ],
    );
    let bighub = client_for(&fake).max_retries(3).build().unwrap();
    let claim = || bighub.claim_approval("req_1", &grant);
    assert_eq!(claim().await.unwrap(), ApprovalClaim::NotTracked);
    assert_eq!(claim().await.unwrap(), ApprovalClaim::NotTracked);
    assert_eq!(claim().await.unwrap(), ApprovalClaim::Claimed);
    let err = claim().await.unwrap_err();
    assert!(
        matches!(&err, Error::Approval(ApprovalRefused { refusal: ApprovalRefusal::ToolChanged { approved, .. }, .. }) if approved == "delete_user"),
        "{err:?}"
    );
    let err = claim().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::ArgumentsChanged,
                ..
            })
        ),
        "{err:?}"
    );
    let err = claim().await.unwrap_err();
    assert!(matches!(err, Error::InvalidResponse(_)), "{err:?}");
    let err = claim().await.unwrap_err();
    assert!(
        matches!(&err, Error::Approval(ApprovalRefused { refusal: ApprovalRefusal::ToolChanged { approved, requested }, .. })
            if approved == "list_users" && requested == "grant_access"),
        "{err:?}"
    );
    let err = claim().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::AlreadyUsed,
                ..
            })
        ),
        "{err:?}"
    );
    let err = claim().await.unwrap_err();
    assert!(
        matches!(&err, Error::Approval(ApprovalRefused { refusal: ApprovalRefusal::NotApproved { status }, .. }) if status == "rejected"),
        "{err:?}"
    );

    // Every claim carried the tool and the digest of the arguments, never the arguments.
    let bodies: Vec<Value> = fake.requests().into_iter().filter_map(|r| r.body).collect();
    assert_eq!(bodies.len(), 9, "a 409 is an answer, not retried");
    for body in bodies {
        assert_eq!(
            body,
            json!({"resolution": "approved", "claim": true, "tool": "grant_access",
                   "arguments_sha256": digest})
        );
    }
}

#[test]
fn debug_never_shows_the_api_key() {
    let key = "bh_live_s3cr3t_value_123";
    let builder = RemoteBighub::builder().api_key(key);
    let builder_debug = format!("{builder:?}");
    let bighub = builder.build().unwrap();
    let client_debug = format!("{bighub:?}");
    for text in [
        &builder_debug,
        &client_debug,
        &format!("{:?}", bighub.clone()),
    ] {
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
    assert!(client_debug.contains("https://api.bighub.io"));
    for text in [&builder_debug, &client_debug] {
        assert!(text.contains("max_concurrent_requests: 64"), "{text}");
    }
}

#[test]
fn decision_modes_parse_from_configuration() {
    assert_eq!(
        "submit".parse::<DecisionMode>().unwrap(),
        DecisionMode::Submit
    );
    assert_eq!(
        " Submit_Payload ".parse::<DecisionMode>().unwrap(),
        DecisionMode::SubmitPayload
    );
    let err = "payload".parse::<DecisionMode>().unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig(m) if m.contains("submit_payload")),
        "{err:?}"
    );
    assert_eq!(
        serde_json::to_value(DecisionMode::SubmitPayload).unwrap(),
        json!("submit_payload")
    );
    assert_eq!(
        serde_json::from_value::<DecisionMode>(json!("submit")).unwrap(),
        DecisionMode::Submit
    );
    assert_eq!(DecisionMode::default(), DecisionMode::Submit);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_evaluations_never_opens_more_connections_than_allowed() {
    let fake = FakeBighub::start().await;
    fake.set_latency(ms(50));
    let bighub = client_for(&fake)
        .max_concurrent_requests(8)
        .build()
        .unwrap();
    assert_eq!(bighub.max_concurrent_requests(), 8);

    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200 {
        let bighub = bighub.clone();
        calls.spawn(async move {
            let action = ProposedAction::new("restart_pod").target(format!("pod-{i}"));
            bighub.evaluate(&action).await
        });
    }
    let mut decided = 0;
    while let Some(done) = calls.join_next().await {
        let decision = done.unwrap().unwrap();
        assert_eq!(decision.raw["mode"], "autonomous");
        decided += 1;
    }
    assert_eq!(decided, 200);
    assert_eq!(fake.count(EVALUATE), 200, "no call was retried or lost");
    assert!(
        fake.peak_open_connections() <= 8,
        "{} connections were open at once",
        fake.peak_open_connections()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_backoff_gives_its_slot_to_a_waiting_call() {
    let fake = FakeBighub::start().await;
    fake.enqueue(Endpoint::Evaluate, Reply::status(503));
    // One slot, and a backoff long enough that the waiting call goes first unless the
    // backing-off call keeps the slot while it sleeps.
    let bighub = client_for(&fake)
        .max_concurrent_requests(1)
        .backoff(Duration::from_secs(30), Duration::from_secs(30))
        .build()
        .unwrap();

    let mut first = tokio::spawn({
        let bighub = bighub.clone();
        async move {
            bighub
                .evaluate(&ProposedAction::new("restart_pod").target("first"))
                .await
        }
    });
    let mut polls = 0;
    while fake.count(EVALUATE) == 0 {
        polls += 1;
        assert!(polls < 2_000, "the first call never reached the service");
        tokio::time::sleep(ms(5)).await;
    }

    let action = ProposedAction::new("restart_pod").target("second");
    let second = bighub.evaluate(&action);
    tokio::select! {
        decided = second => assert_eq!(decided.unwrap().raw["mode"], "autonomous"),
        _ = &mut first => panic!("the first call's retry ran before the waiting call got the slot"),
    }
    let targets: Vec<Value> = fake
        .requests_to(EVALUATE)
        .iter()
        .map(|r| r.json()["target"].clone())
        .collect();
    assert_eq!(targets, [json!("first"), json!("second")]);
    first.abort();
}
