//! Context providers behind the engine: timeouts and failure policies, the cache and its
//! single flight, files read again when they change, commands killed at their timeout,
//! secrets kept out of logs, `Debug`, the store and the decision, and replay on the
//! context recorded.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bighub_core::{DecisionEngine, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use bighub_local::context::{
    ActionField, CommandProvider, ContextProviders, FileProvider, HttpProvider, OnFailure,
    ProviderOptions,
};
use bighub_local::replay::ReplayOptions;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One route of the fake: status, body, how long to wait before answering.
#[derive(Clone)]
struct Route {
    status: u16,
    body: String,
    delay: Duration,
}

/// A JSON server on 127.0.0.1 that counts requests per path and keeps their heads; it
/// stops with the test's runtime.
#[derive(Clone)]
struct Fake {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Fake {
            addr: listener.local_addr().unwrap(),
            routes: Arc::default(),
            hits: Arc::default(),
            heads: Arc::default(),
        };
        let server = fake.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let path = path.split('?').next().unwrap_or("/").to_owned();
                    *server.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
                    server.heads.lock().unwrap().push(head);
                    let route = server.routes.lock().unwrap().get(&path).cloned();
                    let route = route.unwrap_or(Route {
                        status: 404,
                        body: "{}".into(),
                        delay: Duration::ZERO,
                    });
                    tokio::time::sleep(route.delay).await;
                    let answer = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                        route.status,
                        route.body.len(),
                        route.body
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        fake
    }

    fn route(&self, path: &str, status: u16, body: Value, delay: Duration) {
        self.routes.lock().unwrap().insert(
            path.into(),
            Route {
                status,
                body: body.to_string(),
                delay,
            },
        );
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn options(timeout_ms: u64, ttl_ms: u64, on_failure: OnFailure) -> ProviderOptions {
    let mut o = ProviderOptions::default();
    o.timeout = Duration::from_millis(timeout_ms);
    o.ttl = Duration::from_millis(ttl_ms);
    o.on_failure = on_failure;
    o
}

fn restart(target: &str) -> ProposedAction {
    ProposedAction::new("restart_service")
        .system("kubernetes")
        .risk(RiskLevel::Low)
        .environment("staging")
        .target(target)
}

/// Blocks a call while `input.context.status.data.state` is `red`.
const RED_BLOCKS: &str = r#"
package bighub.ext
import rego.v1
findings contains {"rule": "status_red", "mode": "blocked", "reason": "The status is red."} if {
    input.context.status.data.state == "red"
}
"#;

fn engine(providers: ContextProviders) -> LocalEngine {
    LocalEngine::builder()
        .in_memory()
        .policy("red.rego", RED_BLOCKS)
        .context(providers)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_blocks_under_fail_closed_and_is_seen_under_absent() {
    let fake = Fake::start().await;
    fake.route(
        "/slow",
        200,
        json!({"state": "green"}),
        Duration::from_secs(3),
    );
    let url = fake.url("/slow");

    let closed = ContextProviders::new()
        .register(
            "status",
            HttpProvider::new(&url).unwrap(),
            options(200, 0, OnFailure::FailClosed),
        )
        .unwrap();
    let started = Instant::now();
    let d = engine(closed).evaluate(&restart("payments")).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(d.raw["mode"], "blocked");
    assert_eq!(
        d.raw["decision_brain"]["deciding_rules"],
        json!(["context_unavailable"])
    );
    let reason = d.raw["reason"].as_str().unwrap();
    assert!(
        reason.contains("`status`") && reason.contains("timed out after 200ms"),
        "{reason}"
    );
    assert_eq!(
        d.raw["decision_packet"]["context"]["status"]["error"],
        "timed out after 200ms"
    );
    assert_eq!(
        d.raw["decision_packet"]["input"]["context_failed"],
        json!([])
    );

    let absent = ContextProviders::new()
        .register(
            "status",
            HttpProvider::new(&url).unwrap(),
            options(200, 0, OnFailure::Absent),
        )
        .unwrap();
    let d = engine(absent).evaluate(&restart("payments")).await.unwrap();
    assert_eq!(d.raw["mode"], "autonomous");
    let input = &d.raw["decision_packet"]["input"];
    assert_eq!(input["context_failed"], json!(["status"]));
    let seen = &input["context"]["status"];
    assert_eq!(seen["kind"], "http");
    assert_eq!(seen["data"], Value::Null);
    assert_eq!(seen["error"], "timed out after 200ms");
    assert_eq!(seen["fetched_at"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_serves_within_its_ttl_and_a_changed_answer_counts_after_it() {
    let fake = Fake::start().await;
    fake.route("/status", 200, json!({"state": "green"}), Duration::ZERO);
    let providers = ContextProviders::new()
        .register(
            "status",
            HttpProvider::new(&fake.url("/status")).unwrap(),
            options(1000, 1000, OnFailure::Absent),
        )
        .unwrap();
    let engine = engine(providers);

    let d = engine.evaluate(&restart("payments")).await.unwrap();
    assert_eq!(d.raw["mode"], "autonomous");
    let seen = &d.raw["decision_packet"]["input"]["context"]["status"];
    assert_eq!(seen["data"], json!({"state": "green"}));
    assert_eq!(seen["error"], Value::Null);
    assert_eq!(seen["sha256"].as_str().unwrap().len(), 64);
    assert!(seen["fetched_at"].is_string());
    let packet = &d.raw["decision_packet"]["context"]["status"];
    assert_eq!(packet["sha256"], seen["sha256"]);
    assert_eq!(fake.hits("/status"), 1);

    fake.route("/status", 200, json!({"state": "red"}), Duration::ZERO);
    let d = engine.evaluate(&restart("payments")).await.unwrap();
    assert_eq!(d.raw["mode"], "autonomous", "served from the cache");
    assert_eq!(fake.hits("/status"), 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let d = engine.evaluate(&restart("payments")).await.unwrap();
    assert_eq!(d.raw["mode"], "blocked");
    assert_eq!(
        d.raw["decision_brain"]["deciding_rules"],
        json!(["status_red"])
    );
    assert_eq!(fake.hits("/status"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_share_one_fetch_per_key() {
    let fake = Fake::start().await;
    fake.route(
        "/incidents",
        200,
        json!({"incidents": []}),
        Duration::from_millis(300),
    );
    let mut keyed = options(2000, 60_000, OnFailure::Absent);
    keyed.key = vec![ActionField::Target];
    let providers = ContextProviders::new()
        .register(
            "incidents",
            HttpProvider::new(&fake.url("/incidents")).unwrap(),
            keyed,
        )
        .unwrap();
    let engine = Arc::new(engine(providers));
    let calls = (0..100).map(|i| {
        let engine = engine.clone();
        tokio::spawn(async move {
            let target = if i % 2 == 0 { "payments" } else { "checkout" };
            engine.evaluate(&restart(target)).await.unwrap()
        })
    });
    for d in futures::future::join_all(calls).await {
        let d = d.unwrap();
        assert_eq!(
            d.raw["decision_packet"]["input"]["context"]["incidents"]["error"],
            Value::Null
        );
    }
    assert_eq!(fake.hits("/incidents"), 2, "one fetch per target");
    assert_eq!(engine.recent_decisions(200).unwrap().len(), 100);
}

#[tokio::test]
async fn a_file_provider_reads_a_changed_file_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.json");
    std::fs::write(&path, r#"{"state": "green"}"#).unwrap();
    let providers = ContextProviders::new()
        .register(
            "status",
            FileProvider::new(&path),
            options(1000, 0, OnFailure::Absent),
        )
        .unwrap();
    let engine = engine(providers);
    let d = engine.evaluate(&restart("payments")).await.unwrap();
    assert_eq!(d.raw["mode"], "autonomous");
    assert_eq!(
        d.raw["decision_packet"]["input"]["context"]["status"]["kind"],
        "file"
    );

    std::fs::write(&path, r#"{"state": "red"}"#).unwrap();
    let d = engine.evaluate(&restart("payments")).await.unwrap();
    assert_eq!(d.raw["mode"], "blocked");

    std::fs::remove_file(&path).unwrap();
    let d = engine.evaluate(&restart("payments")).await.unwrap();
    let error = d.raw["decision_packet"]["input"]["context"]["status"]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.starts_with("cannot read "), "{error}");
    assert_eq!(d.raw["mode"], "autonomous");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_command_is_killed_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("echo $$ > '{}'; exec sleep 30", pidfile.display());
    let command = CommandProvider::new(["sh", "-c", &script])
        .unwrap()
        .timeout(Duration::from_millis(300));
    let providers = ContextProviders::new()
        .register("windows", command, options(300, 0, OnFailure::FailClosed))
        .unwrap();
    let engine = engine(providers);
    let started = Instant::now();
    let d = engine.evaluate(&restart("payments")).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(d.raw["mode"], "blocked");
    assert!(
        d.raw["reason"]
            .as_str()
            .unwrap()
            .contains("timed out after 300ms")
    );

    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_owned();
    let proc = Path::new("/proc").join(&pid);
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!proc.exists(), "process {pid} still exists");
}

#[tokio::test]
async fn a_failing_command_reports_its_first_line_of_stderr_escaped() {
    let command =
        CommandProvider::new(["sh", "-c", "printf 'no \\033[31maccess\\nmore' >&2; exit 3"])
            .unwrap();
    let ok = CommandProvider::new(["sh", "-c", "echo '{\"state\": \"red\"}'"]).unwrap();
    let providers = ContextProviders::new()
        .register("broken", command, options(2000, 0, OnFailure::Absent))
        .unwrap()
        .register("status", ok, options(2000, 0, OnFailure::Absent))
        .unwrap();
    let d = engine(providers)
        .evaluate(&restart("payments"))
        .await
        .unwrap();
    let context = &d.raw["decision_packet"]["input"]["context"];
    assert_eq!(
        context["broken"]["error"],
        "sh exited with status 3: no \\u{1b}[31maccess"
    );
    assert_eq!(context["status"]["kind"], "command");
    assert_eq!(
        d.raw["mode"], "blocked",
        "the working provider still counts"
    );
}

/// A secret read from the environment for a header reaches the server and nowhere else:
/// not the logs (everything at TRACE), not `Debug`, not the store's file, not the decision.
#[tokio::test]
async fn a_secret_header_stays_out_of_logs_debug_store_and_decision() {
    const VAR: &str = "BIGHUB_CONTEXT_TEST_PAGER_TOKEN";
    const SECRET: &str = "pd-secret-4f9a1c77e2";
    // SAFETY: no other test in this binary reads or writes this variable.
    unsafe { std::env::set_var(VAR, SECRET) };

    // The process's subscriber, not a thread's: a thread's misses events whose callsites
    // other tests' threads registered first. Only this test of the binary installs one.
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || Sink(sink.clone()))
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let fake = Fake::start().await;
    fake.route("/incidents", 200, json!({"incidents": []}), Duration::ZERO);
    fake.route("/down", 503, json!({"error": "down"}), Duration::ZERO);
    let provider = |path: &str| {
        HttpProvider::new(&fake.url(path))
            .unwrap()
            .header_from_env("Authorization", VAR, "Token token=")
            .unwrap()
    };
    let providers = ContextProviders::new()
        .register(
            "pagerduty",
            provider("/incidents"),
            options(2000, 0, OnFailure::Absent),
        )
        .unwrap()
        .register(
            "pagerduty_down",
            provider("/down"),
            options(2000, 0, OnFailure::Absent),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("decisions.db");
    let engine = LocalEngine::builder()
        .db_path(&db)
        .context(providers.clone())
        .build()
        .unwrap();
    let d = engine.evaluate(&restart("payments")).await.unwrap();

    let heads = fake.heads.lock().unwrap().join("\n");
    assert!(
        heads.contains(&format!("Token token={SECRET}")),
        "the secret is sent"
    );
    let context = &d.raw["decision_packet"]["input"]["context"];
    assert_eq!(context["pagerduty"]["data"], json!({"incidents": []}));
    assert_eq!(
        context["pagerduty_down"]["error"],
        "the server answered HTTP 503"
    );

    let decision = serde_json::to_string(&d.raw).unwrap();
    assert!(!decision.contains(SECRET), "in the decision");
    for debug in [
        format!("{engine:?}"),
        format!("{providers:?}"),
        format!("{d:?}"),
    ] {
        assert!(
            !debug.contains(SECRET) && !debug.contains("Token token"),
            "in Debug: {debug}"
        );
    }
    drop(engine);
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(!stored.is_empty());
    assert!(!contains(&stored, SECRET.as_bytes()), "in the store");
    let logs = logs.lock().unwrap();
    assert!(
        contains(&logs, b"context provider failed"),
        "the failure is logged"
    );
    assert!(!contains(&logs, SECRET.as_bytes()), "in the logs");
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_synchronous_decide_reports_every_provider_unfetched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.json");
    std::fs::write(&path, r#"{"state": "green"}"#).unwrap();
    let absent = ContextProviders::new()
        .register(
            "status",
            FileProvider::new(&path),
            options(1000, 0, OnFailure::Absent),
        )
        .unwrap();
    let d = engine(absent.clone()).decide(&restart("payments")).unwrap();
    assert_eq!(d.raw["mode"], "autonomous");
    let input = &d.raw["decision_packet"]["input"];
    assert_eq!(
        input["context"]["status"]["error"],
        "not fetched: synchronous decide"
    );
    assert_eq!(input["context_failed"], json!(["status"]));

    let closed = absent
        .register(
            "freezes",
            FileProvider::new(&path),
            options(1000, 0, OnFailure::FailClosed),
        )
        .unwrap();
    let d = engine(closed).decide(&restart("payments")).unwrap();
    assert_eq!(d.raw["mode"], "blocked");
    assert!(d.raw["reason"].as_str().unwrap().contains("`freezes`"));
}

#[tokio::test]
async fn replay_decides_on_the_context_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status.json");
    let db = dir.path().join("decisions.db");
    std::fs::write(&status, r#"{"state": "red"}"#).unwrap();
    let config = dir.path().join("context.json");
    std::fs::write(
        &config,
        json!({"providers": [
            {"name": "status", "kind": "file", "path": "status.json"},
            {"name": "gate", "kind": "file", "path": "missing.json", "on_failure": "fail_closed"}
        ]})
        .to_string(),
    )
    .unwrap();
    let build = |with_gate: bool| {
        let b = LocalEngine::builder()
            .db_path(&db)
            .policy("red.rego", RED_BLOCKS);
        if with_gate {
            b.context_file(&config).build().unwrap()
        } else {
            b.build().unwrap()
        }
    };
    let recording = build(true);
    let d = recording.evaluate(&restart("payments")).await.unwrap();
    assert_eq!(d.raw["mode"], "blocked");
    assert_eq!(
        d.raw["decision_brain"]["deciding_rules"],
        json!(["context_unavailable"])
    );
    let recorded = &d.raw["decision_packet"]["input"]["context"];
    assert_eq!(recorded["status"]["data"], json!({"state": "red"}));
    assert!(
        recorded["gate"]["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot read ")
    );
    drop(recording);

    // The file is green now; replay reads what was recorded, and the gate still blocks.
    std::fs::write(&status, r#"{"state": "green"}"#).unwrap();
    let report = build(true).replay(&ReplayOptions::default()).unwrap();
    assert_eq!((report.decided, report.changed), (1, 0), "{report:?}");

    // Without the gate configured, the recorded red status decides.
    let report = build(false).replay(&ReplayOptions::default()).unwrap();
    assert_eq!((report.decided, report.changed), (1, 0), "{report:?}");
    assert!(report.errors.is_empty());

    // Asked to fetch afresh, the status is green now.
    let status_only = dir.path().join("status_only.json");
    std::fs::write(
        &status_only,
        json!({"providers": [{"name": "status", "kind": "file", "path": "status.json"}]})
            .to_string(),
    )
    .unwrap();
    let fresh = LocalEngine::builder()
        .db_path(&db)
        .policy("red.rego", RED_BLOCKS)
        .context_file(&status_only)
        .build()
        .unwrap();
    let report = fresh.replay(&ReplayOptions::default()).unwrap();
    assert_eq!(report.changed, 0, "{report:?}");
    let report = fresh
        .replay_with_fresh_context(&ReplayOptions::default())
        .unwrap();
    assert_eq!(report.changed, 1, "{report:?}");
    assert_eq!(report.changes[0].mode_after, "autonomous");
}

#[test]
fn a_context_file_with_a_misspelt_key_fails_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("context.toml");
    std::fs::write(
        &config,
        "[[providers]]\nname = \"freezes\"\nkind = \"file\"\npath = \"f.json\"\non_falure = \"absent\"\n",
    )
    .unwrap();
    let e = LocalEngine::builder()
        .in_memory()
        .context_file(&config)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("providers[0].on_falure: unknown key; did you mean `on_failure`?"),
        "{e}"
    );
}

/// A provider of the user's own that panics fails its fetch like any error; the next
/// decision asks it again rather than waiting on a fetch that never ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_panics_fails_its_fetch_and_is_asked_again() {
    #[derive(Debug, Default)]
    struct Flaky(std::sync::atomic::AtomicUsize);

    #[async_trait::async_trait]
    impl bighub_local::context::ContextProvider for Flaky {
        fn kind(&self) -> &str {
            "flaky"
        }
        async fn fetch(
            &self,
            _: &ProposedAction,
        ) -> Result<Value, bighub_local::context::FetchError> {
            if self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                panic!("first call fails");
            }
            Ok(json!({"state": "green"}))
        }
    }

    let providers = ContextProviders::new()
        .register(
            "status",
            Flaky::default(),
            options(1000, 0, OnFailure::Absent),
        )
        .unwrap();
    let engine = engine(providers);
    let d = engine.evaluate(&restart("payments")).await.unwrap();
    let seen = &d.raw["decision_packet"]["input"]["context"]["status"];
    assert!(
        seen["error"]
            .as_str()
            .unwrap()
            .starts_with("the provider stopped"),
        "{seen}"
    );
    assert_eq!(seen["kind"], "flaky");
    let d = engine.evaluate(&restart("payments")).await.unwrap();
    let seen = &d.raw["decision_packet"]["input"]["context"]["status"];
    assert_eq!(seen["data"], json!({"state": "green"}));
}
