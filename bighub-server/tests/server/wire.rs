//! The server against the hosted contract, on the SQLite store: `RemoteBighub` gets the
//! embedded engine's decisions; every endpoint's answers and errors; keys; idempotency;
//! malformed and oversized bodies, rejected as the validating fake of the hosted service
//! rejects them.

use crate::common::{KEY_A, KEY_B, TestServer};
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::wire::DecisionMode;
use bighub_core::{
    ApprovalResolution, DecisionEngine, Error, MemoryBatch, OutcomeReport, OutcomeStatus,
    ProposedAction, RiskLevel, Verdict,
};
use bighub_local::LocalEngine;
use bighub_testkit::fake_bighub::FakeBighub;
use serde_json::{Value, json};

fn actions() -> Vec<ProposedAction> {
    vec![
        ProposedAction::new("grant_access")
            .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
            .actor("ops-agent")
            .domain("it_actions")
            .system("okta")
            .risk(RiskLevel::High)
            .environment("production")
            .target("okta-admins"),
        ProposedAction::new("grant_access")
            .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "1h"}))
            .system("okta")
            .risk(RiskLevel::High)
            .environment("production")
            .target("okta-admins"),
        ProposedAction::new("list_users")
            .system("okta")
            .risk(RiskLevel::Low),
        ProposedAction::new("delete_bucket")
            .arguments(json!({"bucket": "logs"}))
            .system("aws")
            .risk(RiskLevel::Critical)
            .environment("production")
            .target("logs"),
        ProposedAction::new("deploy_service")
            .action_name("deploy")
            .arguments(json!({"service": "checkout", "version": "1.2.3"}))
            .system("argocd")
            .risk(RiskLevel::High)
            .target("checkout"),
        ProposedAction::new("restart_service")
            .arguments(json!({"service": "payments-api"}))
            .system("kubernetes")
            .risk(RiskLevel::Medium)
            .environment("staging")
            .target("payments-api")
            .value(3.0),
    ]
}

/// The parts of a decision that must agree between engines (ids and times differ).
fn essence(raw: &Value) -> Value {
    json!({
        "mode": raw["mode"],
        "reason": raw["reason"],
        "better_action": raw["better_action"],
        "risk": raw["risk"],
        "can_run": raw["can_run"],
        "needs_review": raw["needs_review"],
        "should_not_run": raw["should_not_run"],
        "needs_more_context": raw["needs_more_context"],
        "salient_factors": raw["salient_factors"],
        "responsible_action_space": raw["responsible_action_space"],
        "deciding_rules": raw["decision_brain"]["deciding_rules"],
        "precedents": raw["decision_brain"]["precedents"],
        "arguments": raw["decision_packet"]["input"]["action"]["arguments"],
        "system": raw["decision_packet"]["input"]["action"]["system"],
        "tool": raw["decision_packet"]["input"]["action"]["tool"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_bighub_gets_the_embedded_engines_decisions() {
    for mode in [DecisionMode::Submit, DecisionMode::SubmitPayload] {
        let embedded = LocalEngine::builder().in_memory().build().unwrap();
        let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
        let remote = server.remote_with(KEY_A, mode);
        for action in actions() {
            let here = embedded.evaluate(&action).await.unwrap();
            let there = remote.evaluate(&action).await.unwrap();
            assert_eq!(
                essence(&there.raw),
                essence(&here.raw),
                "{mode:?} {}",
                action.tool
            );
            assert_eq!(there.verdict(), here.verdict());
            assert!(there.request_id.as_deref().unwrap().starts_with("loc_"));
        }
        let grant = remote.evaluate(&actions()[0]).await.unwrap();
        assert_eq!(grant.verdict(), Verdict::ApprovalRequired);
        assert!(
            grant
                .better_action
                .as_deref()
                .unwrap()
                .contains("2h instead of 48h")
        );
        // Each decision was recorded once, under the key's name.
        let rows = server.engine.recent_decisions(100).unwrap();
        assert_eq!(rows.len(), actions().len() + 1);
        assert!(rows.iter().all(|r| r.caller.as_deref() == Some("agent-a")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_memory_and_approvals_round_trip() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let remote = server.remote(KEY_A);
    let grant = remote.evaluate(&actions()[0]).await.unwrap();
    let id = grant.request_id.clone().unwrap();

    // The approval is listed while pending.
    let http = reqwest::Client::new();
    let list = |status: &'static str| {
        http.get(server.url(&format!("/approvals?status={status}")))
            .header("X-API-Key", KEY_B)
            .send()
    };
    let pending: Value = list("pending").await.unwrap().json().await.unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(pending[0]["request_id"], id.as_str());
    assert_eq!(pending[0]["status"], "pending");
    assert_eq!(pending[0]["tool"], "grant_access");

    // Resolved once, by another agent's key; the second resolution is refused.
    let record = remote
        .resolve_approval(&id, &ApprovalResolution::approved("2h is fine".to_owned()))
        .await
        .unwrap();
    assert_eq!(record["status"], "approved");
    assert_eq!(record["resolution"], "approved");
    assert_eq!(record["resolved_by"], "api-key:agent-a");
    let again = remote
        .resolve_approval(&id, &ApprovalResolution::rejected(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&again, Error::Approval(ApprovalRefused { refusal: ApprovalRefusal::AlreadyResolved { resolution }, .. }) if resolution == "approved"),
        "{again:?}"
    );
    let unknown = remote
        .resolve_approval("loc_nope", &ApprovalResolution::approved(None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            unknown,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::NotFound,
                ..
            })
        ),
        "{unknown:?}"
    );

    let pending: Value = list("pending").await.unwrap().json().await.unwrap();
    assert_eq!(pending, json!([]));
    let all: Value = list("all").await.unwrap().json().await.unwrap();
    assert_eq!(all[0]["status"], "approved");
    // The claim still binds the tool and arguments, on the engine behind the server.
    let args = &actions()[0].arguments;
    assert!(
        server
            .engine
            .verify_approval(&id, "grant_access", &json!({"duration": "2h"}))
            .is_err()
    );
    server
        .engine
        .verify_approval(&id, "grant_access", args)
        .unwrap();
    // Who resolved it is the key that did, beside what the resolution said of itself.
    assert_eq!(record["resolver"], "agent-a");
    assert_eq!(
        server
            .engine
            .approval(&id)
            .unwrap()
            .unwrap()
            .resolver
            .as_deref(),
        Some("agent-a")
    );

    // Claims over the wire: another call is refused, the exact call is claimed once.
    let other_args = actions()[0]
        .clone()
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "4800h"}));
    let refused = remote.claim_approval(&id, &other_args).await.unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::ArgumentsChanged,
                ..
            })
        ),
        "{refused:?}"
    );
    let mut other_tool = actions()[0].clone();
    other_tool.tool = "delete_user".into();
    let refused = remote.claim_approval(&id, &other_tool).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Approval(ApprovalRefused { refusal: ApprovalRefusal::ToolChanged { approved, requested }, .. })
            if approved == "grant_access" && requested == "delete_user"),
        "{refused:?}"
    );
    let claim_body = |tool: &str, digest: &str| json!({"resolution": "approved", "claim": true, "tool": tool, "arguments_sha256": digest});
    let answer = http
        .post(server.url(&format!("/approvals/{id}/resolve")))
        .header("X-API-Key", KEY_B)
        .json(&claim_body("grant_access", &other_args.approval_digest()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 409);
    let detail: Value = answer.json().await.unwrap();
    assert_eq!(detail["detail"]["reason"], "arguments_changed");
    for bad in [
        json!({"resolution": "approved", "claim": true, "tool": "grant_access"}),
        json!({"resolution": "rejected", "claim": true, "tool": "grant_access",
               "arguments_sha256": actions()[0].approval_digest()}),
        claim_body("grant_access", "not-a-digest"),
        claim_body("", &actions()[0].approval_digest()),
    ] {
        let answer = http
            .post(server.url(&format!("/approvals/{id}/resolve")))
            .header("X-API-Key", KEY_B)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 422, "{bad}");
    }
    assert!(!server.engine.approval(&id).unwrap().unwrap().used);
    assert_eq!(
        remote.claim_approval(&id, &actions()[0]).await.unwrap(),
        bighub_core::ApprovalClaim::Claimed
    );
    assert!(server.engine.approval(&id).unwrap().unwrap().used);
    let again = remote.claim_approval(&id, &actions()[0]).await.unwrap_err();
    assert!(
        matches!(
            again,
            Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::AlreadyUsed,
                ..
            })
        ),
        "{again:?}"
    );

    // Outcomes and memory.
    let mut report = OutcomeReport::new(OutcomeStatus::Success);
    report.request_id = Some(id.clone());
    remote.report_outcome(&report).await.unwrap();
    let mut unknown = OutcomeReport::new(OutcomeStatus::Failure);
    unknown.request_id = Some("loc_0000".into());
    let err = remote.report_outcome(&unknown).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err:?}");
    remote
        .ingest_memory(&MemoryBatch::new(
            "openai_adapter",
            vec![json!({"tool": "grant_access", "password": "hunter2-hunter2"})],
        ))
        .await
        .unwrap();
    let rows = server.engine.recent_decisions(1).unwrap();
    assert_eq!(rows[0].outcomes[0].status, "SUCCESS");

    let answer: Value = http
        .post(server.url("/actions/memory/ingest"))
        .header("X-API-Key", KEY_A)
        .json(&json!({"source": "s", "events": [{}, {}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer, json!({"accepted": 2, "rejected": 0, "source": "s"}));
    let answer: Value = http
        .post(server.url("/outcomes/report"))
        .header("X-API-Key", KEY_A)
        .json(&json!({"status": "ESCALATION", "request_id": id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"recorded": true, "request_id": id, "status": "ESCALATION"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_key_is_401_with_nothing_more() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let http = reqwest::Client::new();
    let requests = [
        ("POST", "/actions/evaluate"),
        ("POST", "/outcomes/report"),
        ("POST", "/actions/memory/ingest"),
        ("POST", "/approvals/loc_x/resolve"),
        ("GET", "/approvals"),
    ];
    for (method, path) in requests {
        for key in [
            None,
            Some("bh_wrong_key_0123456789"),
            Some(""),
            Some(&KEY_A[1..]),
        ] {
            let mut request = http
                .request(method.parse().unwrap(), server.url(path))
                .json(&json!({"action": "deploy"}));
            if let Some(key) = key {
                request = request.header("X-API-Key", key);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} {key:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body, json!({"detail": "Invalid API key"}));
        }
    }
    let err = server
        .remote("bh_wrong_key_0123456789")
        .evaluate(&actions()[0])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth { status: 401, .. }), "{err:?}");
    assert!(server.engine.recent_decisions(10).unwrap().is_empty());
    // Health and metrics need no key.
    let health = http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let health = health.json::<Value>().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(
        health["policy"]["revision"],
        server.engine.policy_revision().as_str()
    );
    assert!(health["policy"]["last_reload_error"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_evaluation_gets_the_first_decision_and_one_row() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let http = reqwest::Client::new();
    let body = json!({"action": "grant_access", "actor": "ops", "target": "okta-admins",
        "context": {"system": "okta", "risk": "high", "environment": "production",
                    "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}});
    let send = |key: &'static str, idem: &'static str, body: Value| {
        http.post(server.url("/actions/evaluate"))
            .header("X-API-Key", key)
            .header("Idempotency-Key", idem)
            .json(&body)
            .send()
    };
    // Concurrent attempts, as a client retrying a slow request makes.
    let (first, second) = tokio::join!(
        send(KEY_A, "k-1", body.clone()),
        send(KEY_A, "k-1", body.clone())
    );
    let first: Value = first.unwrap().json().await.unwrap();
    let second: Value = second.unwrap().json().await.unwrap();
    let third: Value = send(KEY_A, "k-1", body.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["request_id"], second["request_id"]);
    assert_eq!(first, third);
    assert_eq!(server.engine.recent_decisions(10).unwrap().len(), 1);
    assert_eq!(server.engine.pending_approvals().unwrap().len(), 1);

    // Another key's idempotency keys are its own.
    let other: Value = send(KEY_B, "k-1", body.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(other["request_id"], first["request_id"]);
    // The same key for another request is refused.
    let mut changed = body.clone();
    changed["context"]["arguments"]["duration"] = json!("1h");
    let refused = send(KEY_A, "k-1", changed).await.unwrap();
    assert_eq!(refused.status(), 422);
    let detail: Value = refused.json().await.unwrap();
    assert!(
        detail["detail"]
            .as_str()
            .unwrap()
            .contains("different request")
    );
    assert_eq!(server.engine.recent_decisions(10).unwrap().len(), 2);

    // RemoteBighub sends one key per evaluation: two evaluations are two decisions.
    let remote = server.remote(KEY_A);
    remote.evaluate(&actions()[2]).await.unwrap();
    remote.evaluate(&actions()[2]).await.unwrap();
    assert_eq!(server.engine.recent_decisions(10).unwrap().len(), 4);
}

/// Sends the same request to the server and to the validating fake of the hosted API.
async fn both(
    server: &TestServer,
    fake: &FakeBighub,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> ((u16, Value), (u16, Value)) {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for (base, key) in [
        (server.base_url.clone(), KEY_A),
        (fake.base_url(), fake.api_key()),
    ] {
        let mut request = http
            .post(format!("{base}{path}"))
            .header("X-API-Key", key)
            .body(body.to_owned());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let json: Value = response.json().await.unwrap_or(Value::Null);
        out.push((status, json));
    }
    let fake_answer = out.pop().unwrap();
    (out.pop().unwrap(), fake_answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_refused_as_the_hosted_service_refuses_them() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let fake = FakeBighub::start().await;
    let json_ct = Some("application/json");
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("/actions/evaluate", json_ct, ""),
        ("/actions/evaluate", json_ct, "   "),
        ("/actions/evaluate", json_ct, "{\"action\": "),
        ("/actions/evaluate", json_ct, "[]"),
        ("/actions/evaluate", json_ct, "\"text\""),
        (
            "/actions/evaluate",
            Some("text/plain"),
            "{\"action\": \"deploy\"}",
        ),
        ("/actions/evaluate", json_ct, "{}"),
        ("/actions/evaluate", json_ct, r#"{"action": 3}"#),
        (
            "/actions/evaluate",
            json_ct,
            r#"{"action": "a", "actor": null, "value": "3", "context": []}"#,
        ),
        (
            "/actions/evaluate",
            json_ct,
            r#"{"action": "a", "dry_run": "yes"}"#,
        ),
        (
            "/actions/evaluate",
            json_ct,
            r#"{"action": "a", "target": 7, "domain": false}"#,
        ),
        ("/outcomes/report", json_ct, "{}"),
        (
            "/outcomes/report",
            json_ct,
            r#"{"status": "success", "request_id": "r"}"#,
        ),
        (
            "/outcomes/report",
            json_ct,
            r#"{"status": "SUCCESS", "request_id": 1, "details": []}"#,
        ),
        (
            "/outcomes/report",
            json_ct,
            r#"{"status": "SUCCESS", "request_id": "r", "correction_needed": null}"#,
        ),
        (
            "/actions/memory/ingest",
            json_ct,
            r#"{"source": "s", "events": [{}, 3]}"#,
        ),
        (
            "/actions/memory/ingest",
            json_ct,
            r#"{"source": "s", "events": {}}"#,
        ),
        (
            "/actions/memory/ingest",
            json_ct,
            r#"{"events": [], "redact": null, "redaction_policy": 1}"#,
        ),
        (
            "/approvals/loc_x/resolve",
            json_ct,
            r#"{"resolution": "maybe"}"#,
        ),
        ("/approvals/loc_x/resolve", json_ct, r#"{"comment": 5}"#),
        ("/approvals/loc_x/resolve", None, "not json"),
    ];
    for (path, ct, body) in cases {
        let (ours, theirs) = both(&server, &fake, path, *ct, body).await;
        assert_eq!(ours, theirs, "{path} {ct:?} {body}");
        assert_eq!(ours.0, 422, "{path} {body}");
    }
    // What the fake accepts, the server accepts (whatever it then decides).
    let accepted: &[(&str, &str)] = &[
        ("/actions/evaluate", r#"{"action": "a"}"#),
        (
            "/actions/evaluate",
            r#"{"action": "a", "value": null, "target": null, "domain": null, "context": null, "dry_run": true}"#,
        ),
        (
            "/actions/memory/ingest",
            r#"{"source": "s", "events": [], "source_version": null, "model": "m"}"#,
        ),
    ];
    for (path, body) in accepted {
        let ((ours, _), (theirs, _)) = both(&server, &fake, path, json_ct, body).await;
        assert_eq!((ours, theirs), (200, 200), "{path} {body}");
    }
    // The dry run recorded nothing.
    assert_eq!(server.engine.recent_decisions(10).unwrap().len(), 1);

    // Unknown paths and methods, before the key is looked at.
    let http = reqwest::Client::new();
    let r = http.get(server.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Not Found"})
    );
    let r = http
        .get(server.url("/actions/evaluate"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Method Not Allowed"})
    );
    let r = http
        .get(server.url("/approvals?status=later"))
        .header("X-API-Key", KEY_A)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"][0]["loc"],
        json!(["query", "status"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413_and_not_read() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let big = json!({"action": "deploy", "context": {"blob": "x".repeat(2 << 20)}});
    // A declared length over the limit is refused from the headers, before any body is
    // sent (a client writing the body meanwhile may see the connection close under it).
    let (status, body) = sized_post(&server, 2 << 20).await;
    assert_eq!(status, 413);
    let detail: Value = serde_json::from_str(&body).unwrap();
    assert!(
        detail["detail"].as_str().unwrap().contains("larger than"),
        "{detail}"
    );
    // Without a length up front (chunked), the limit holds too.
    let status = chunked_post(&server, &big.to_string()).await;
    assert_eq!(status, 413);
    assert!(server.engine.recent_decisions(10).unwrap().is_empty());
}

/// Sends the head of a `/actions/evaluate` request declaring `length` bytes and no body;
/// answers the status code and the response body.
async fn sized_post(server: &TestServer, length: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base_url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /actions/evaluate HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {KEY_A}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (code, body)
}

/// Posts `body` to `/actions/evaluate` in chunks, with no `Content-Length`; answers the
/// status line's code.
async fn chunked_post(server: &TestServer, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base_url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /actions/evaluate HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {KEY_A}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.as_bytes().chunks(64 * 1024) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            break; // the server answered and closed early
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("decisions.db");
    let server = TestServer::start(LocalEngine::builder().db_path(&db).build().unwrap()).await;
    let http = reqwest::Client::new();
    let body = json!({"action": "rotate_credentials", "target": "ci",
        "context": {"system": "vault", "secret_args": ["otp"],
                    "arguments": {"otp": "otp-value-91827364", "api_token": "tok-value-5647382910"}}});
    let r = http
        .post(server.url("/actions/evaluate"))
        .header("X-API-Key", KEY_A)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let decision: Value = r.json().await.unwrap();
    assert!(!decision.to_string().contains("otp-value"));
    assert!(!decision.to_string().contains("tok-value"));
    http.post(server.url("/actions/memory/ingest"))
        .header("X-API-Key", KEY_A)
        .json(&json!({"source": "s", "events": [{"password": "pw-value-1029384756"}]}))
        .send()
        .await
        .unwrap();
    server.stop().await;
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let stored = String::from_utf8_lossy(&stored);
    for secret in ["otp-value", "tok-value", "pw-value", KEY_A] {
        assert!(!stored.contains(secret), "{secret} reached the store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_of_a_call_with_a_secret_is_bound_without_the_secret() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let remote = server.remote(KEY_A);
    let mut grant = actions()[0].clone().arguments(json!({
        "user_id": "alice", "group": "okta-admins", "duration": "48h",
        "break_glass_code": "bg-code-5647382910"
    }));
    grant
        .context
        .metadata
        .insert("secret_args".into(), json!(["break_glass_code"]));
    let id = remote.evaluate(&grant).await.unwrap().request_id.unwrap();
    let stored = server.engine.approval(&id).unwrap().unwrap();
    // The store keeps the digest of what it was sent (the secret redacted), never a digest
    // of the secret itself.
    assert_eq!(stored.arguments_sha256, grant.approval_digest());
    assert_ne!(
        stored.arguments_sha256,
        bighub_core::digest::canonical_sha256(&grant.arguments)
    );
    remote
        .resolve_approval(&id, &ApprovalResolution::approved(None))
        .await
        .unwrap();
    assert_eq!(
        remote.claim_approval(&id, &grant).await.unwrap(),
        bighub_core::ApprovalClaim::Claimed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_decisions_by_mode() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let remote = server.remote(KEY_A);
    for action in actions() {
        remote.evaluate(&action).await.unwrap();
    }
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("bighub_decisions_total{mode=\"review\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("bighub_decisions_total{mode=\"blocked\"} 1"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "bighub_decision_duration_seconds_count {}",
        actions().len()
    )));
    assert!(text.contains("bighub_pending_approvals 2"), "{text}");
    assert!(text.contains("bighub_http_requests_total{endpoint=\"evaluate\",status=\"200\"} 6"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_finishes_when_the_server_stops() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    let addr = server.base_url.trim_start_matches("http://").to_owned();
    let engine = server.engine.clone();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = r#"{"action": "list_users", "context": {"system": "okta"}}"#;
    let (head, tail) = body.split_at(10);
    let request = format!(
        "POST /actions/evaluate HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {KEY_A}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{head}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        !stopping.is_finished(),
        "the server stopped with a request in flight"
    );
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stopping.await.unwrap();
    assert_eq!(engine.recent_decisions(10).unwrap().len(), 1);
    // Nothing listens any more.
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
}

/// An engine that takes its time, for the request timeout: a slow evaluation, and a
/// preview that never ends.
#[derive(Debug)]
struct Slow;

#[async_trait::async_trait]
impl DecisionEngine for Slow {
    async fn evaluate(&self, action: &ProposedAction) -> Result<bighub_core::Decision, Error> {
        if action.tool == "slow" {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        Ok(bighub_core::Decision::from_backend_response(
            &json!({"mode": "autonomous", "request_id": "own_1"}),
        ))
    }
    async fn preview(&self, _: &ProposedAction) -> Result<bighub_core::Decision, Error> {
        std::future::pending().await
    }
    async fn report_outcome(&self, _: &OutcomeReport) -> Result<(), Error> {
        Ok(())
    }
    async fn ingest_memory(&self, _: &MemoryBatch) -> Result<(), Error> {
        Ok(())
    }
    async fn resolve_approval(&self, id: &str, _: &ApprovalResolution) -> Result<Value, Error> {
        Err(ApprovalRefused::new(id, ApprovalRefusal::NotFound).into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_engine_can_be_served_and_slow_requests_time_out() {
    use std::sync::Arc;
    let keys = bighub_server::ApiKeys::parse(&format!("a={KEY_A}")).unwrap();
    let mut config = bighub_server::ServerConfig::new(bighub_server::Auth::Keys(keys));
    config.request_timeout = std::time::Duration::from_millis(300);
    let app = bighub_server::Server::new(Arc::new(bighub_server::EngineBackend::new(Slow)), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    let remote = bighub_remote::RemoteBighub::builder()
        .api_key(KEY_A)
        .base_url(&base)
        .max_retries(0)
        .build()
        .unwrap();
    let fast = remote.evaluate(&ProposedAction::new("fast")).await.unwrap();
    assert_eq!(fast.request_id.as_deref(), Some("own_1"));
    // An evaluation past the request timeout is not abandoned: it gets its decision.
    let slow = reqwest::Client::new()
        .post(format!("{base}/actions/evaluate"))
        .header("X-API-Key", KEY_A)
        .json(&json!({"action": "slow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), 200);
    assert_eq!(slow.json::<Value>().await.unwrap()["request_id"], "own_1");
    // A preview records nothing, so it is abandoned: 503, with a body saying why.
    let started = std::time::Instant::now();
    let preview = reqwest::Client::new()
        .post(format!("{base}/actions/evaluate"))
        .header("X-API-Key", KEY_A)
        .json(&json!({"action": "slow", "dry_run": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let detail = preview.json::<Value>().await.unwrap();
    assert_eq!(
        detail["detail"], "the decision store did not answer within 300ms",
        "{detail}"
    );
    let err = remote
        .resolve_approval("x", &ApprovalResolution::approved(None))
        .await
        .unwrap_err();
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
    // This engine lists no approvals.
    let listed = reqwest::Client::new()
        .get(format!("{base}/approvals"))
        .header("X-API-Key", KEY_A)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 404);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_no_store_accepts_are_a_422_naming_the_field() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    crate::common::values_no_store_accepts_are_refused_by_field(&server).await;
}
