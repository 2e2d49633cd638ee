//! The server under slow and hostile clients and a store that hangs: half-sent headers are
//! closed by the header-read timeout while agents are answered; connections over the cap
//! per address are refused with a 503 body; a request past its timeout answers the
//! decision it recorded; a slow body is 408; `/metrics` and `/healthz` answer while the
//! store does not.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{KEY_A, TestServer};
use async_trait::async_trait;
use bighub_core::{ApprovalResolution, DecisionEngine, MemoryBatch, OutcomeReport, ProposedAction};
use bighub_local::LocalEngine;
use bighub_server::{ApprovalFilter, Backend, BackendError, Caller, LocalBackend};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A second loopback address: a client that is not the one the cap per address counts.
const OTHER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

const GRANT: &str = r#"{"action": "grant_access", "target": "okta-admins", "context": {"system": "okta",
    "risk": "high", "environment": "production",
    "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}}"#;

fn client_from(ip: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn connect_from(ip: IpAddr, server: &TestServer) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(ip, 0)).unwrap();
    socket
        .connect(server.addr().parse().unwrap())
        .await
        .unwrap()
}

/// Reads until the server closes; `None` when it has not within `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut answer = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

async fn metrics_text(server: &TestServer) -> String {
    client_from(OTHER_CLIENT)
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_closed_while_an_agent_is_answered() {
    let mut config = crate::common::config();
    config.connections.header_read_timeout = Duration::from_secs(2);
    config.connections.max_connections_per_address = None;
    let server =
        TestServer::with_config(LocalEngine::builder().in_memory().build().unwrap(), config).await;
    let addr = server.addr();
    let mut slow = Vec::new();
    for _ in 0..150 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(
                format!("POST /actions/evaluate HTTP/1.1\r\nhost: {addr}\r\nx-api").as_bytes(),
            )
            .await
            .unwrap();
        slow.push(stream);
    }
    // Meanwhile an agent is answered.
    let started = Instant::now();
    let answer = server
        .remote(KEY_A)
        .evaluate(&ProposedAction::new("list_users").system("okta"))
        .await
        .unwrap();
    assert!(answer.request_id.is_some());
    assert!(started.elapsed() < Duration::from_secs(2));
    // Every slow client is closed by the header-read timeout, nothing answered to it.
    let mut closing = tokio::task::JoinSet::new();
    for mut stream in slow {
        closing.spawn(async move { read_until_closed(&mut stream, Duration::from_secs(5)).await });
    }
    while let Some(closed) = closing.join_next().await {
        let answer = closed
            .unwrap()
            .expect("a half-sent header held its connection");
        assert!(!answer.contains(" 200 "), "{answer}");
    }
    let text = metrics_text(&server).await;
    assert!(
        text.contains("bighub_connections_closed_total{reason=\"header_read_timeout\"} 150"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_per_address_are_refused_with_a_503_body() {
    let mut config = crate::common::config();
    config.connections.max_connections_per_address = Some(4);
    config.connections.idle_timeout = Duration::from_secs(30);
    let server =
        TestServer::with_config(LocalEngine::builder().in_memory().build().unwrap(), config).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from(Ipv4Addr::LOCALHOST.into(), &server).await);
    }
    // Held: the server has them open.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !metrics_text(&server)
        .await
        .contains("bighub_connections_open 5")
    {
        assert!(Instant::now() < deadline, "{}", metrics_text(&server).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut extra = connect_from(Ipv4Addr::LOCALHOST.into(), &server).await;
    let refused = read_until_closed(&mut extra, Duration::from_secs(2))
        .await
        .expect("the extra connection was kept");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.ends_with(r#"{"detail":"too many connections"}"#),
        "{refused}"
    );
    // Another client is served meanwhile.
    let answered = client_from(OTHER_CLIENT)
        .post(server.url("/actions/evaluate"))
        .header("x-api-key", KEY_A)
        .header("content-type", "application/json")
        .body(GRANT)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    // A place freed is a place again.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect_from(Ipv4Addr::LOCALHOST.into(), &server).await;
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut again, Duration::from_secs(2))
            .await
            .unwrap();
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "{answer}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = metrics_text(&server).await;
    assert!(
        text.contains("bighub_connections_refused_total{reason=\"max_connections_per_address\"}"),
        "{text}"
    );
}

/// The embedded engine behind a delay, its work detached from the request as
/// `LocalBackend`'s is (the store's calls run on the blocking pool and finish whether or
/// not anyone waits).
#[derive(Debug)]
struct Delayed {
    inner: Arc<LocalBackend>,
    delay: Duration,
}

#[async_trait]
impl Backend for Delayed {
    async fn evaluate(
        &self,
        action: ProposedAction,
        caller: &Caller,
    ) -> Result<Value, BackendError> {
        let (inner, caller, delay) = (self.inner.clone(), caller.clone(), self.delay);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            inner.evaluate(action, &caller).await
        })
        .await
        .unwrap()
    }
    async fn preview(
        &self,
        action: ProposedAction,
        caller: &Caller,
    ) -> Result<Value, BackendError> {
        self.inner.preview(action, caller).await
    }
    async fn report_outcome(
        &self,
        report: OutcomeReport,
        caller: &Caller,
    ) -> Result<(), BackendError> {
        self.inner.report_outcome(report, caller).await
    }
    async fn ingest_memory(
        &self,
        batch: MemoryBatch,
        caller: &Caller,
    ) -> Result<usize, BackendError> {
        self.inner.ingest_memory(batch, caller).await
    }
    async fn resolve_approval(
        &self,
        request_id: String,
        resolution: ApprovalResolution,
        caller: &Caller,
    ) -> Result<Value, BackendError> {
        self.inner
            .resolve_approval(request_id, resolution, caller)
            .await
    }
    async fn approvals(
        &self,
        filter: ApprovalFilter,
        limit: usize,
    ) -> Result<Vec<Value>, BackendError> {
        self.inner.approvals(filter, limit).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_past_the_request_timeout_answers_the_decision_it_recorded() {
    let engine = Arc::new(LocalEngine::builder().in_memory().build().unwrap());
    let backend = Delayed {
        inner: Arc::new(LocalBackend::new(engine.clone())),
        delay: Duration::from_millis(900),
    };
    let mut config = crate::common::config();
    config.request_timeout = Duration::from_millis(200);
    let server = TestServer::with_backend(engine.clone(), Arc::new(backend), config).await;
    // As the Python SDK sends it: no Idempotency-Key.
    let answer = client_from(Ipv4Addr::LOCALHOST.into())
        .post(server.url("/actions/evaluate"))
        .header("x-api-key", KEY_A)
        .header("content-type", "application/json")
        .body(GRANT)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let decision: Value = answer.json().await.unwrap();
    let rows = engine.recent_decisions(10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(decision["request_id"], json!(rows[0].request_id));
    let text = metrics_text(&server).await;
    assert!(text.contains("bighub_http_requests_total{endpoint=\"evaluate\",status=\"200\"} 1"));
    assert!(!text.contains("status=\"503\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_408_with_a_body_and_records_nothing() {
    let mut config = crate::common::config();
    config.request_timeout = Duration::from_millis(300);
    let server =
        TestServer::with_config(LocalEngine::builder().in_memory().build().unwrap(), config).await;
    let mut stream = connect_from(Ipv4Addr::LOCALHOST.into(), &server).await;
    stream
        .write_all(
            format!(
                "POST /actions/evaluate HTTP/1.1\r\nhost: x\r\nx-api-key: {KEY_A}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
                GRANT.len(),
                &GRANT[..20]
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(3))
        .await
        .expect("the slow body held its connection");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["detail"], "request body not received within 300ms");
    assert!(server.engine.recent_decisions(10).unwrap().is_empty());
    let text = metrics_text(&server).await;
    assert!(
        text.contains("bighub_http_requests_total{endpoint=\"evaluate\",status=\"408\"} 1"),
        "{text}"
    );
}

/// The embedded engine, whose store stops answering `/metrics` and `/healthz` on demand.
#[derive(Debug)]
struct Hanging {
    inner: LocalBackend,
    hang: AtomicBool,
    health_checks: AtomicUsize,
}

#[async_trait]
impl Backend for Hanging {
    async fn evaluate(
        &self,
        action: ProposedAction,
        caller: &Caller,
    ) -> Result<Value, BackendError> {
        self.inner.evaluate(action, caller).await
    }
    async fn preview(
        &self,
        action: ProposedAction,
        caller: &Caller,
    ) -> Result<Value, BackendError> {
        self.inner.preview(action, caller).await
    }
    async fn report_outcome(
        &self,
        report: OutcomeReport,
        caller: &Caller,
    ) -> Result<(), BackendError> {
        self.inner.report_outcome(report, caller).await
    }
    async fn ingest_memory(
        &self,
        batch: MemoryBatch,
        caller: &Caller,
    ) -> Result<usize, BackendError> {
        self.inner.ingest_memory(batch, caller).await
    }
    async fn resolve_approval(
        &self,
        request_id: String,
        resolution: ApprovalResolution,
        caller: &Caller,
    ) -> Result<Value, BackendError> {
        self.inner
            .resolve_approval(request_id, resolution, caller)
            .await
    }
    async fn approvals(
        &self,
        filter: ApprovalFilter,
        limit: usize,
    ) -> Result<Vec<Value>, BackendError> {
        self.inner.approvals(filter, limit).await
    }
    async fn pending_approvals(&self) -> Result<Option<usize>, BackendError> {
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.pending_approvals().await
    }
    async fn health(&self) -> Result<(), BackendError> {
        self.health_checks.fetch_add(1, Ordering::SeqCst);
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.health().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_healthz_answer_while_the_store_hangs() {
    let engine = Arc::new(LocalEngine::builder().in_memory().build().unwrap());
    let backend = Arc::new(Hanging {
        inner: LocalBackend::new(engine.clone()),
        hang: AtomicBool::new(false),
        health_checks: AtomicUsize::new(0),
    });
    let mut config = crate::common::config();
    config.health_timeout = Duration::from_millis(300);
    let server = TestServer::with_backend(engine, backend.clone(), config).await;
    let client = client_from(Ipv4Addr::LOCALHOST.into());
    let granted = client
        .post(server.url("/actions/evaluate"))
        .header("x-api-key", KEY_A)
        .header("content-type", "application/json")
        .body(GRANT)
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    assert!(
        metrics_text(&server)
            .await
            .contains("bighub_pending_approvals 1\n")
    );

    backend.hang.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = Instant::now();
    let text = metrics_text(&server).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    // The last count, and how old it is.
    assert!(text.contains("bighub_pending_approvals 1\n"), "{text}");
    let age: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("bighub_pending_approvals_age_seconds "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(age >= 1.0, "{text}");

    for _ in 0..3 {
        let started = Instant::now();
        let health = client.get(server.url("/healthz")).send().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(health.status(), 503);
        let body: Value = health.json().await.unwrap();
        assert_eq!(
            body,
            json!({"status": "unavailable", "detail": "the decision store did not answer within 300ms"})
        );
    }
    // One check hangs; the others did not pile up behind it.
    assert_eq!(backend.health_checks.load(Ordering::SeqCst), 1);
    assert!(
        metrics_text(&server)
            .await
            .contains("bighub_http_requests_total{endpoint=\"healthz\",status=\"503\"} 3")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_its_answers_is_dropped() {
    let mut config = crate::common::config();
    config.connections.idle_timeout = Duration::from_millis(300);
    let server =
        TestServer::with_config(LocalEngine::builder().in_memory().build().unwrap(), config).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket
        .connect(server.addr().parse().unwrap())
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // Pipelined requests whose answers (megabytes of metrics text) are never read.
    const REQUESTS: usize = 10_000;
    let sending = tokio::spawn(async move {
        let request = b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n".repeat(REQUESTS);
        let _ = writer.write_all(&request).await;
        writer
    });
    // Dropped by the server while the client still has not read: only the connection
    // asking for the metrics is open.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = metrics_text(&server).await;
        if text.contains("bighub_connections_open 1\n") {
            assert!(
                text.contains("bighub_connections_closed_total{reason=\"idle_timeout\"} 1"),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the connection was kept: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut answers = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut answers)).await;
    let answered = String::from_utf8_lossy(&answers)
        .matches("HTTP/1.1 200")
        .count();
    assert!(answered < REQUESTS, "every answer was written");
    drop(sending);
}
