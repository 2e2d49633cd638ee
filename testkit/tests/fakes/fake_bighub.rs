//! The fake BIGHUB server rejects what the service rejects, and plays back its script.

use std::time::Duration;

use bighub_testkit::fake_bighub::{Endpoint, FakeBighub, Reply};
use serde_json::{Value, json};

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn post(fake: &FakeBighub, path: &str, key: Option<&str>, body: &Value) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url()))
        .json(body);
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    read(request.send().await.unwrap()).await
}

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

fn first_error(answer: &Answer) -> (&Value, &str) {
    let entry = &answer.body["detail"][0];
    (&entry["loc"], entry["type"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_method_and_key_are_checked_in_the_service_order() {
    let fake = FakeBighub::start().await;
    let key = Some(fake.api_key());

    let unknown = post(&fake, "/actions/submit/v3", key, &json!({})).await;
    assert_eq!(
        (unknown.status, &unknown.body),
        (404, &json!({"detail": "Not Found"}))
    );

    let get = reqwest::Client::new()
        .get(format!("{}/actions/evaluate", fake.base_url()))
        .header("X-API-Key", fake.api_key())
        .send()
        .await
        .unwrap();
    let get = read(get).await;
    assert_eq!(get.status, 405);
    assert_eq!(get.headers["allow"], "POST");

    for bad_key in [None, Some("bh_other")] {
        let answer = post(&fake, "/actions/evaluate", bad_key, &json!({"action": "a"})).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.body, json!({"detail": "Invalid API key"}));
    }
    // A bad key is refused before the body is looked at.
    let answer = post(&fake, "/actions/evaluate", Some("bh_other"), &json!([])).await;
    assert_eq!(answer.status, 401);

    assert_eq!(fake.requests().len(), 5, "every request is recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_are_validated_like_fastapi() {
    let fake = FakeBighub::start().await;
    let key = Some(fake.api_key());

    let missing = post(&fake, "/actions/evaluate", key, &json!({"actor": "ops"})).await;
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.body,
        json!({"detail": [{"loc": ["body", "action"], "msg": "field required",
                           "type": "value_error.missing"}]})
    );

    let cases = [
        (
            "/actions/evaluate",
            json!({"action": 1}),
            json!(["body", "action"]),
            "type_error.str",
        ),
        (
            "/actions/evaluate",
            json!({"action": "a", "value": "10"}),
            json!(["body", "value"]),
            "type_error.float",
        ),
        (
            "/actions/evaluate",
            json!({"action": "a", "context": "x"}),
            json!(["body", "context"]),
            "type_error.dict",
        ),
        (
            "/outcomes/report",
            json!({"status": "DONE", "request_id": "r"}),
            json!(["body", "status"]),
            "type_error.enum",
        ),
        (
            "/outcomes/report",
            json!({"status": "SUCCESS", "request_id": 7}),
            json!(["body", "request_id"]),
            "type_error.str",
        ),
        (
            "/actions/memory/ingest",
            json!({"source": "s", "events": {}}),
            json!(["body", "events"]),
            "type_error.list",
        ),
        (
            "/actions/memory/ingest",
            json!({"events": []}),
            json!(["body", "source"]),
            "value_error.missing",
        ),
        (
            "/approvals/req_1/resolve",
            json!({"resolution": "APPROVED"}),
            json!(["body", "resolution"]),
            "type_error.enum",
        ),
    ];
    for (path, body, loc, ty) in cases {
        let answer = post(&fake, path, key, &body).await;
        assert_eq!(answer.status, 422, "{path} {body}");
        assert_eq!(first_error(&answer), (&loc, ty), "{path} {body}");
    }

    let http = reqwest::Client::new();
    let url = format!("{}/actions/evaluate", fake.base_url());
    let not_json = http
        .post(&url)
        .header("X-API-Key", fake.api_key())
        .header("content-type", "application/json")
        .body("{\"action\": ")
        .send()
        .await
        .unwrap();
    let not_json = read(not_json).await;
    assert_eq!(not_json.status, 422);
    assert_eq!(first_error(&not_json).1, "value_error.jsondecode");

    let form = http
        .post(&url)
        .header("X-API-Key", fake.api_key())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=a")
        .send()
        .await
        .unwrap();
    let form = read(form).await;
    assert_eq!(form.status, 422);
    assert_eq!(first_error(&form), (&json!(["body"]), "type_error.dict"));

    // Valid bodies of every endpoint pass, nulls included where the service allows them.
    let valid = [
        (
            "/actions/evaluate",
            json!({"action": "a", "actor": "x", "value": null, "target": null, "domain": null, "context": {}}),
        ),
        (
            "/outcomes/report",
            json!({"status": "PARTIAL", "request_id": "r", "details": {}, "correction_needed": false}),
        ),
        (
            "/actions/memory/ingest",
            json!({"source": "s", "events": [{}], "trace_id": null, "redact": true}),
        ),
        (
            "/approvals/r/resolve",
            json!({"resolution": "rejected", "comment": null}),
        ),
    ];
    for (path, body) in valid {
        let answer = post(&fake, path, key, &body).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scripted_replies_come_first_in_order_then_the_responder() {
    let fake = FakeBighub::start().await;
    let key = Some(fake.api_key());
    fake.enqueue_many(
        Endpoint::Evaluate,
        [
            Reply::error(503, "maintenance").retry_after(7),
            Reply::ok(json!({"mode": "blocked"})),
        ],
    );
    assert_eq!(fake.pending(Endpoint::Evaluate), 2);

    // An invalid request does not consume the script.
    let invalid = post(&fake, "/actions/evaluate", key, &json!({})).await;
    assert_eq!(invalid.status, 422);
    assert_eq!(fake.pending(Endpoint::Evaluate), 2);

    let body = json!({"action": "deploy"});
    let first = post(&fake, "/actions/evaluate", key, &body).await;
    assert_eq!(first.status, 503);
    assert_eq!(first.headers["retry-after"], "7");
    assert_eq!(first.body, json!({"detail": "maintenance"}));
    let second = post(&fake, "/actions/evaluate", key, &body).await;
    assert_eq!(second.body, json!({"mode": "blocked"}));
    let third = post(&fake, "/actions/evaluate", key, &body).await;
    assert_eq!(third.status, 200);
    assert_eq!(third.body["mode"], "autonomous");
    assert_eq!(third.body["can_run"], true);
    assert!(
        third.body["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_fake_")
    );
    assert_eq!(fake.pending(Endpoint::Evaluate), 0);
    assert_eq!(fake.count("/actions/evaluate"), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn default_answers_echo_the_request() {
    let fake = FakeBighub::start().await;
    let key = Some(fake.api_key());
    let resolved = post(
        &fake,
        "/approvals/req%2F9/resolve",
        key,
        &json!({"resolution": "approved", "comment": "ok"}),
    )
    .await;
    assert_eq!(
        resolved.body,
        json!({"request_id": "req/9", "status": "approved", "resolution": "approved",
               "comment": "ok", "resolved_by": null})
    );
    let ingested = post(
        &fake,
        "/actions/memory/ingest",
        key,
        &json!({"source": "s", "events": [{}, {}]}),
    )
    .await;
    assert_eq!(ingested.body["accepted"], 2);
    let last = fake.last_request().unwrap();
    assert_eq!(last.endpoint, Some(Endpoint::IngestMemory));
    assert_eq!(
        fake.requests_for(Endpoint::ResolveApproval)[0]
            .path_id
            .as_deref(),
        Some("req/9")
    );
    fake.clear_requests();
    assert!(fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_and_delays_hold_answers_back() {
    let fake = FakeBighub::start().await;
    fake.set_latency(Duration::from_millis(30));
    fake.enqueue(
        Endpoint::Evaluate,
        Reply::ok(json!({})).delay(Duration::from_millis(50)),
    );
    let started = std::time::Instant::now();
    let answer = post(
        &fake,
        "/actions/evaluate",
        Some(fake.api_key()),
        &json!({"action": "a"}),
    )
    .await;
    assert_eq!(answer.status, 200);
    // A lower bound only: the server slept at least this long before answering.
    assert!(started.elapsed() >= Duration::from_millis(80));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_sends_no_answer() {
    let fake = FakeBighub::start().await;
    fake.enqueue(Endpoint::Evaluate, Reply::drop_connection());
    let err = reqwest::Client::new()
        .post(format!("{}/actions/evaluate", fake.base_url()))
        .header("X-API-Key", fake.api_key())
        .json(&json!({"action": "a"}))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(fake.count("/actions/evaluate"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_the_fake_stops_the_server() {
    let fake = FakeBighub::start().await;
    fake.enqueue(
        Endpoint::Evaluate,
        Reply::ok(json!({})).delay(Duration::from_secs(30)),
    );
    let url = format!("{}/actions/evaluate", fake.base_url());
    let key = fake.api_key().to_owned();
    let pending = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header("X-API-Key", key)
            .json(&json!({"action": "a"}))
            .send()
            .await
    });
    while fake.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let base = fake.base_url();
    drop(fake);
    // The delayed answer is abandoned: its connection closes instead of waiting 30 s.
    assert!(pending.await.unwrap().is_err());
    let refused = reqwest::Client::new()
        .post(format!("{base}/actions/evaluate"))
        .json(&json!({"action": "a"}))
        .send()
        .await;
    assert!(refused.is_err(), "server still answering after drop");
}

/// Waits (bounded) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..2_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_are_counted_now_at_their_peak_and_in_total() {
    let fake = FakeBighub::start().await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(tokio::net::TcpStream::connect(fake.addr()).await.unwrap());
    }
    eventually("3 open", || fake.open_connections() == 3).await;
    drop(sockets);
    eventually("all closed", || fake.open_connections() == 0).await;
    assert_eq!(fake.peak_open_connections(), 3);
    assert_eq!(fake.connections_accepted(), 3);

    // One more, after the others closed: counted in total, not above the peak.
    let _late = tokio::net::TcpStream::connect(fake.addr()).await.unwrap();
    eventually("1 open", || fake.open_connections() == 1).await;
    assert_eq!(fake.connections_accepted(), 4);
    assert_eq!(fake.peak_open_connections(), 3, "the peak is kept");
}
