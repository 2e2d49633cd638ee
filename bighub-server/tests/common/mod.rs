//! A decision server on 127.0.0.1 for tests: started on a free port, stopped when dropped.
#![allow(dead_code)]

use std::sync::Arc;

use bighub_core::{DecisionMode, RemoteBighub};
use bighub_local::LocalEngine;
use bighub_server::{ApiKeys, Auth, Backend, LocalBackend, Server, ServerConfig};
use tokio::sync::oneshot;

pub const KEY_A: &str = "bh_test_agent_a_0123456789";
pub const KEY_B: &str = "bh_test_agent_b_0123456789";

/// The defaults, with the keys `agent-a` and `agent-b`.
pub fn config() -> ServerConfig {
    let keys = ApiKeys::parse(&format!("agent-a={KEY_A},agent-b={KEY_B}")).unwrap();
    ServerConfig::new(Auth::Keys(keys))
}

pub struct TestServer {
    pub base_url: String,
    pub engine: Arc<LocalEngine>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Serves `engine` with the keys `agent-a` and `agent-b`.
    pub async fn start(engine: LocalEngine) -> Self {
        Self::with_config(engine, config()).await
    }

    pub async fn with_config(engine: LocalEngine, config: ServerConfig) -> Self {
        let engine = Arc::new(engine);
        Self::with_backend(engine.clone(), Arc::new(LocalBackend::new(engine)), config).await
    }

    /// Serves `backend`; `engine` is the store the test inspects.
    pub async fn with_backend(
        engine: Arc<LocalEngine>,
        backend: Arc<dyn Backend>,
        config: ServerConfig,
    ) -> Self {
        let server = Server::new(backend, config);
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

    pub fn remote(&self, key: &str) -> RemoteBighub {
        self.remote_with(key, DecisionMode::Submit)
    }

    pub fn remote_with(&self, key: &str, mode: DecisionMode) -> RemoteBighub {
        RemoteBighub::builder()
            .api_key(key)
            .base_url(&self.base_url)
            .decision_mode(mode)
            .max_retries(0)
            .build()
            .unwrap()
    }

    /// The server's `host:port`.
    pub fn addr(&self) -> String {
        self.base_url.trim_start_matches("http://").to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the server, letting requests in flight finish.
    pub async fn stop(mut self) {
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
pub fn database_url() -> Option<String> {
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
pub fn fresh_schema() -> String {
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
pub fn pg_engine(url: &str, schema: &str) -> LocalEngine {
    LocalEngine::builder()
        .database_url(url)
        .database_schema(schema)
        .build()
        .unwrap()
}
