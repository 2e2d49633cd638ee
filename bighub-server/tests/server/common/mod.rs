//! A decision server on 127.0.0.1 for tests: started on a free port, stopped when dropped.
#![allow(dead_code)]

use std::sync::Arc;

use bighub_local::LocalEngine;
use bighub_remote::{DecisionMode, RemoteBighub};
use bighub_server::{ApiKeys, Auth, Backend, LocalBackend, Server, ServerConfig};
use tokio::sync::oneshot;

pub(crate) const KEY_A: &str = "bh_test_agent_a_0123456789";
pub(crate) const KEY_B: &str = "bh_test_agent_b_0123456789";

/// The defaults, with the keys `agent-a` and `agent-b`.
pub(crate) fn config() -> ServerConfig {
    let keys = ApiKeys::parse(&format!("agent-a={KEY_A},agent-b={KEY_B}")).unwrap();
    ServerConfig::new(Auth::Keys(keys))
}

pub(crate) struct TestServer {
    pub base_url: String,
    pub engine: Arc<LocalEngine>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Serves `engine` with the keys `agent-a` and `agent-b`.
    pub(crate) async fn start(engine: LocalEngine) -> Self {
        Self::with_config(engine, config()).await
    }

    /// Serves an in-memory engine with `config`.
    pub(crate) async fn start_with(config: ServerConfig) -> Self {
        Self::with_config(LocalEngine::builder().in_memory().build().unwrap(), config).await
    }

    pub(crate) async fn with_config(engine: LocalEngine, config: ServerConfig) -> Self {
        let engine = Arc::new(engine);
        Self::with_backend(engine.clone(), Arc::new(LocalBackend::new(engine)), config).await
    }

    /// Serves `backend`; `engine` is the store the test inspects.
    pub(crate) async fn with_backend(
        engine: Arc<LocalEngine>,
        backend: Arc<dyn Backend>,
        config: ServerConfig,
    ) -> Self {
        Self::serve(engine, Server::new(backend, config)).await
    }

    /// Serves `server`, built by the test; `engine` is the store the test inspects.
    pub(crate) async fn serve(engine: Arc<LocalEngine>, server: Server) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            base_url,
            engine,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub(crate) fn remote(&self, key: &str) -> RemoteBighub {
        self.remote_with(key, DecisionMode::Submit)
    }

    pub(crate) fn remote_with(&self, key: &str, mode: DecisionMode) -> RemoteBighub {
        RemoteBighub::builder()
            .api_key(key)
            .base_url(&self.base_url)
            .decision_mode(mode)
            .max_retries(0)
            .build()
            .unwrap()
    }

    /// The server's `host:port`.
    pub(crate) fn addr(&self) -> String {
        self.base_url.trim_start_matches("http://").to_owned()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the server, letting requests in flight finish.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The test database's URL, or `None` (after saying why) when PostgreSQL tests must skip;
/// under `CI=true` a missing database is a failure.
pub(crate) fn database_url() -> Option<String> {
    match std::env::var("BIGHUB_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "BIGHUB_TEST_DATABASE_URL is not set, and under CI=true the PostgreSQL tests must run; .ci/run sets it"
            )
        }
        _ => {
            // Past the harness's output capture, so the skip shows in `cargo test`'s output.
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!(
                    "skipped: BIGHUB_TEST_DATABASE_URL is not set. To run the PostgreSQL tests, start PostgreSQL and set it, e.g. BIGHUB_TEST_DATABASE_URL=postgres://bighub_test:bighub_test@127.0.0.1/bighub_test (see the README)\n"
                ),
            );
            None
        }
    }
}

/// A schema of its own for each test, so tests run in parallel on one database.
pub(crate) fn fresh_schema() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "s_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    )
}

/// An engine on the PostgreSQL store in `schema`.
pub(crate) fn pg_engine(url: &str, schema: &str) -> LocalEngine {
    LocalEngine::builder()
        .database_url(url)
        .database_schema(schema)
        .build()
        .unwrap()
}

/// Sends `body` to `path` with agent A's key; answers the status and the body.
pub(crate) async fn post(
    server: &TestServer,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .header("X-API-Key", KEY_A)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// Values no store accepts (NUL characters, 10 KB identifiers) in every field that reaches
/// the store: each is a 422 whose detail names the field, on whichever store the server
/// has, and nothing is recorded. Both stores' wire tests run this, so they answer alike.
pub(crate) async fn values_no_store_accepts_are_refused_by_field(server: &TestServer) {
    use serde_json::json;
    let nul = "restart\0service";
    let long = "t".repeat(10 * 1024);
    let evaluate = |action: &str, target: &str, args: serde_json::Value| {
        json!({"action": action, "target": target,
               "context": {"system": "kubernetes", "risk": "medium", "arguments": args}})
    };
    let nul_msg = "contains a NUL character (U+0000), which the store does not accept";
    let long_msg = "is 10240 bytes long; the store accepts at most 1024";
    let cases = [
        (
            evaluate(nul, "payments-api", json!({})),
            format!("invalid action: {nul_msg}"),
        ),
        (
            evaluate("restart_service", nul, json!({})),
            format!("invalid target: {nul_msg}"),
        ),
        (
            evaluate(&long, "payments-api", json!({})),
            format!("invalid action: {long_msg}"),
        ),
        (
            evaluate("restart_service", &long, json!({})),
            format!("invalid target: {long_msg}"),
        ),
        (
            evaluate("restart_service", "payments-api", json!({"service": nul})),
            format!("invalid arguments.service: {nul_msg}"),
        ),
    ];
    for dry_run in [false, true] {
        for (body, detail) in &cases {
            let mut body = body.clone();
            body["dry_run"] = json!(dry_run);
            let (status, answer) = post(server, "/actions/evaluate", &body).await;
            assert_eq!(
                (status, &answer),
                (422, &json!({"detail": detail})),
                "dry_run={dry_run}"
            );
        }
    }
    assert!(server.engine.recent_decisions(10).unwrap().is_empty());

    // A review, then an outcome and a resolution carrying NUL characters: refused, and
    // neither is recorded.
    let grant = json!({"action": "grant_access", "target": "okta-admins",
        "context": {"system": "okta", "risk": "high", "environment": "production",
                    "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}});
    let (status, decision) = post(server, "/actions/evaluate", &grant).await;
    assert_eq!(status, 200, "{decision}");
    let id = decision["request_id"].as_str().unwrap().to_owned();
    let (status, answer) = post(
        server,
        "/outcomes/report",
        &json!({"status": "FAILURE", "request_id": id, "description": "failed\0"}),
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            422,
            json!({"detail": format!("invalid description: {nul_msg}")})
        )
    );
    let (status, answer) = post(
        server,
        &format!("/approvals/{id}/resolve"),
        &json!({"resolution": "approved", "comment": "ok\0"}),
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            422,
            json!({"detail": format!("invalid comment: {nul_msg}")})
        )
    );
    let (status, answer) = post(
        server,
        "/actions/memory/ingest",
        &json!({"source": "adapter\0", "events": [{}]}),
    )
    .await;
    assert_eq!(
        (status, answer),
        (422, json!({"detail": format!("invalid source: {nul_msg}")}))
    );
    let rows = server.engine.recent_decisions(10).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].outcomes.is_empty());
    let approval = server.engine.approval(&id).unwrap().unwrap();
    assert_eq!(
        approval.status,
        bighub_local::storage::ApprovalStatus::Pending
    );

    // At the limit, both indexed identifiers at once, in text that does not compress:
    // accepted and recorded by either store.
    let at_limit = |seed: u64| -> String {
        let mut x = seed;
        (0..bighub_local::storage::MAX_IDENTIFIER_BYTES)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'!' + ((x >> 33) % 94) as u8)
            })
            .collect()
    };
    let (action, target) = (at_limit(1), at_limit(2));
    let (status, answer) = post(
        server,
        "/actions/evaluate",
        &evaluate(&action, &target, json!({})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let rows = server.engine.recent_decisions(10).unwrap();
    assert_eq!(
        (rows.len(), &rows[0].action, &rows[0].target),
        (2, &action, &target)
    );
}
