//! Decision logs out: every recorded decision reaches a local receiver (or a file)
//! exactly once, as a JSON line, with secrets redacted, masked pointers masked and drop
//! rules honoured; a receiver that fails or is down is retried without losing a queued
//! record, and a tiny queue's overflow is dropped and counted.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bighub_core::backoff::Backoff;
use bighub_core::{ProposedAction, RiskLevel};
use bighub_local::decision_logs::{DecisionLogConfig, DecisionLogs};
use bighub_local::{LocalEngine, RequestOrigin};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PASSWORD: &str = "hunter2-decision-log-password";
const OPAQUE: &str = "marked-secret-opaque-value";
const EMAIL: &str = "ana.customer@example.com";
const TOKEN: &str = "Bearer tok-decision-logs-5647382910";

/// One request the receiver got, and the status it answered.
#[derive(Debug, Clone)]
struct Got {
    head: String,
    body: String,
    status: u16,
}

/// An HTTP receiver on 127.0.0.1 answering the statuses of `answers` in turn (then 200);
/// it stops with the test's runtime.
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    async fn start(answers: Vec<u16>) -> Self {
        Self::on(TcpListener::bind("127.0.0.1:0").await.unwrap(), answers)
    }

    fn on(listener: TcpListener, answers: Vec<u16>) -> Self {
        let receiver = Receiver {
            addr: listener.local_addr().unwrap(),
            got: Arc::default(),
        };
        let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
        let got = Arc::clone(&receiver.got);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (got, answers) = (Arc::clone(&got), Arc::clone(&answers));
                tokio::spawn(async move {
                    let mut data = Vec::new();
                    let mut buf = [0u8; 8192];
                    let (head, body_at) = loop {
                        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                            break (String::from_utf8_lossy(&data[..at]).into_owned(), at + 4);
                        }
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => data.extend_from_slice(&buf[..n]),
                        }
                    };
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while data.len() < body_at + length {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => data.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body =
                        String::from_utf8_lossy(&data[body_at..body_at + length]).into_owned();
                    let status = answers.lock().unwrap().pop_front().unwrap_or(200);
                    got.lock().unwrap().push(Got { head, body, status });
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        receiver
    }

    fn url(&self) -> String {
        format!("http://{}/v1/decisions?tenant=t1", self.addr)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// The records of the requests answered 2xx.
    fn accepted(&self) -> Vec<Value> {
        self.got()
            .iter()
            .filter(|g| (200..300).contains(&g.status))
            .flat_map(|g| lines(&g.body))
            .collect()
    }
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("every line is one JSON record"))
        .collect()
}

/// How many times each decision id arrived.
fn counts(records: &[Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in records {
        *counts
            .entry(r["decision_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

fn fast(mut config: DecisionLogConfig) -> DecisionLogConfig {
    config.batch_size = 4;
    config.flush_interval = Duration::from_millis(50);
    config.retry_backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(80));
    config.request_timeout = Duration::from_secs(2);
    config
}

/// A password change whose `password` argument is secret by name and `opaque` by the
/// tool's word, with an email only a mask hides.
fn reset_password(user: &str) -> ProposedAction {
    let mut action = ProposedAction::new("reset_password")
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target(user)
        .arguments(json!({"user": user, "password": PASSWORD, "opaque": OPAQUE, "email": EMAIL}));
    action
        .context
        .metadata
        .insert("secret_args".into(), json!(["opaque"]));
    action
}

fn read_pods() -> ProposedAction {
    ProposedAction::new("list_pods")
        .system("kubernetes")
        .environment("production")
        .target("payments")
}

fn restart(target: &str) -> ProposedAction {
    ProposedAction::new("restart_service")
        .system("kubernetes")
        .risk(RiskLevel::Low)
        .environment("staging")
        .target(target)
}

fn no_secret_in(text: &str) {
    for secret in [PASSWORD, OPAQUE, EMAIL, TOKEN, "tok-decision-logs"] {
        assert!(!text.contains(secret), "{secret} leaked into: {text}");
    }
}

async fn flush(logs: &DecisionLogs, secs: u64) -> bool {
    let logs = logs.clone();
    tokio::task::spawn_blocking(move || logs.flush(Duration::from_secs(secs)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_arrives_once_with_secrets_masked_and_drop_rules_honoured() {
    let receiver = Receiver::start(vec![]).await;
    let config = fast(DecisionLogConfig::http(&receiver.url()).unwrap())
        .header("Authorization", TOKEN)
        .unwrap()
        .mask("/input/action/arguments/email")
        .unwrap()
        .drop_tool("list_*")
        .unwrap()
        .label("team", "identity");
    let logs = DecisionLogs::new(config).unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .decision_logs(logs.clone())
        .build()
        .unwrap();

    let mut logged = Vec::new();
    for i in 0..9 {
        let origin = RequestOrigin {
            caller: Some("agent-a"),
            idempotency_key: None,
        };
        let d = engine
            .decide_as(&reset_password(&format!("user-{i}")), origin)
            .unwrap();
        logged.push(d.request_id.unwrap());
    }
    for i in 0..3 {
        logged.push(
            engine
                .decide(&restart(&format!("svc-{i}")))
                .unwrap()
                .request_id
                .unwrap(),
        );
    }
    let dropped = engine.decide(&read_pods()).unwrap().request_id.unwrap();
    // An idempotent retry is the same decision: logged once.
    let origin = RequestOrigin {
        caller: Some("agent-b"),
        idempotency_key: Some("k-1"),
    };
    let first = engine.decide_as(&restart("svc-idem"), origin).unwrap();
    let again = engine.decide_as(&restart("svc-idem"), origin).unwrap();
    assert_eq!(first.request_id, again.request_id);
    logged.push(first.request_id.unwrap());
    // A preview is not recorded, so not logged.
    engine
        .decide_without_recording(&restart("svc-preview"))
        .unwrap();

    assert!(flush(&logs, 10).await, "{:?}", logs.stats());
    let records = receiver.accepted();
    let counts = counts(&records);
    assert_eq!(counts.len(), logged.len(), "{counts:?}");
    for id in &logged {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "{id} arrived {:?} times",
            counts.get(id)
        );
    }
    assert!(!counts.contains_key(&dropped));

    let stats = logs.stats();
    assert_eq!(stats.sent, logged.len() as u64);
    assert_eq!(stats.dropped_rule, 1);
    assert_eq!(
        (stats.dropped_overflow, stats.pending, stats.failed_attempts),
        (0, 0, 0)
    );

    for got in receiver.got() {
        assert!(got.head.contains(TOKEN), "the header is sent");
        assert!(
            got.head
                .to_ascii_lowercase()
                .contains("content-type: application/x-ndjson"),
            "{}",
            got.head
        );
        assert!(
            got.head.starts_with("POST /v1/decisions?tenant=t1 "),
            "{}",
            got.head
        );
        no_secret_in(&got.body);
    }
    let reset = records
        .iter()
        .find(|r| r["input"]["action"]["tool"] == "reset_password")
        .unwrap();
    let args = &reset["input"]["action"]["arguments"];
    assert_eq!(args["password"], "[REDACTED]");
    assert_eq!(args["opaque"], "[REDACTED]");
    assert_eq!(args["email"], "[MASKED]");
    assert_eq!(reset["masked"], json!(["/input/action/arguments/email"]));
    assert_eq!(reset["path"], "bighub/policy/decision");
    assert_eq!(reset["requested_by"], "agent-a");
    assert_eq!(reset["labels"]["app"], "bighub");
    assert_eq!(reset["labels"]["team"], "identity");
    assert_eq!(reset["labels"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(reset["policy_revision"], engine.policy_sha256());
    assert_eq!(reset["result"]["mode"], "review");
    assert!(reset["result"]["decision_packet"].get("input").is_none());
    assert!(reset["timestamp"].as_str().unwrap().ends_with('Z'));
    // A record without a masked pointer's value lists nothing masked.
    let restart_record = records
        .iter()
        .find(|r| r["input"]["action"]["tool"] == "restart_service")
        .unwrap();
    assert!(restart_record.get("masked").is_none());

    let shown = format!("{logs:?} {engine:?}");
    no_secret_in(&shown);
    assert!(!shown.contains("tenant"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_503_is_retried_and_nothing_queued_is_lost() {
    let receiver = Receiver::start(vec![503, 503, 429, 500, 503]).await;
    let logs = DecisionLogs::new(fast(DecisionLogConfig::http(&receiver.url()).unwrap())).unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .decision_logs(logs.clone())
        .build()
        .unwrap();
    let ids: Vec<String> = (0..20)
        .map(|i| {
            engine
                .decide(&restart(&format!("svc-{i}")))
                .unwrap()
                .request_id
                .unwrap()
        })
        .collect();

    assert!(flush(&logs, 20).await, "{:?}", logs.stats());
    let counts = counts(&receiver.accepted());
    assert_eq!(counts.len(), ids.len());
    assert!(
        ids.iter().all(|id| counts.get(id) == Some(&1)),
        "{counts:?}"
    );
    let stats = logs.stats();
    assert_eq!(stats.sent, 20);
    assert_eq!(stats.failed_attempts, 5);
    assert_eq!(
        (stats.dropped_overflow, stats.rejected, stats.pending),
        (0, 0, 0)
    );
    // The refused tries carried the same records again.
    assert_eq!(
        receiver.got().len(),
        receiver.got().iter().filter(|g| g.status == 200).count() + 5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_gets_everything_once_it_is_up() {
    // A port nobody listens on: connections are refused.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = port.local_addr().unwrap();
    drop(port);
    let url = format!("http://{addr}/v1/decisions");
    let logs = DecisionLogs::new(fast(DecisionLogConfig::http(&url).unwrap())).unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .decision_logs(logs.clone())
        .build()
        .unwrap();
    let ids: Vec<String> = (0..10)
        .map(|i| {
            engine
                .decide(&restart(&format!("svc-{i}")))
                .unwrap()
                .request_id
                .unwrap()
        })
        .collect();
    for _ in 0..200 {
        if logs.stats().failed_attempts >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(logs.stats().failed_attempts >= 2, "{:?}", logs.stats());
    assert_eq!(logs.stats().pending, 10);

    let receiver = Receiver::on(TcpListener::bind(addr).await.unwrap(), vec![]);
    assert!(flush(&logs, 10).await, "{:?}", logs.stats());
    let counts = counts(&receiver.accepted());
    assert_eq!(counts.len(), 10);
    assert!(
        ids.iter().all(|id| counts.get(id) == Some(&1)),
        "{counts:?}"
    );
    assert_eq!(logs.stats().sent, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_queue_drops_and_counts_what_does_not_fit_and_close_is_bounded() {
    let receiver = Receiver::start(vec![503; 1000]).await;
    let mut config = fast(DecisionLogConfig::http(&receiver.url()).unwrap());
    config.queue_capacity = 2;
    config.batch_size = 1;
    let logs = DecisionLogs::new(config).unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .decision_logs(logs.clone())
        .build()
        .unwrap();
    for i in 0..10 {
        engine.decide(&restart(&format!("svc-{i}"))).unwrap();
    }
    let stats = logs.stats();
    // The queue holds two; the sink's thread may hold one more, being retried.
    assert!((7..=8).contains(&stats.dropped_overflow), "{stats:?}");
    assert_eq!(stats.dropped_overflow + stats.pending, 10, "{stats:?}");

    let started = std::time::Instant::now();
    let closer = logs.clone();
    let closed = tokio::task::spawn_blocking(move || closer.close(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(closed.sent, 0);
    assert_eq!(closed.pending, 0, "{closed:?}");
    assert_eq!(closed.abandoned + closed.dropped_overflow, 10, "{closed:?}");
    assert!(closed.failed_attempts >= 1);
    assert!(receiver.accepted().is_empty());
    // After a close, decisions are still made; their records are dropped and counted.
    engine.decide(&restart("svc-late")).unwrap();
    assert_eq!(logs.stats().dropped_overflow, closed.dropped_overflow + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_sink_writes_one_parseable_json_line_per_decision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let config = fast(DecisionLogConfig::file(&path))
        .drop_mode("autonomous")
        .unwrap()
        .mask("/input/action/arguments/email")
        .unwrap();
    let logs = DecisionLogs::new(config).unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .decision_logs(logs.clone())
        .build()
        .unwrap();
    let mut kept = Vec::new();
    for i in 0..5 {
        kept.push(engine.decide(&reset_password(&format!("u{i}"))).unwrap());
    }
    for i in 0..4 {
        let d = engine.decide(&restart(&format!("svc-{i}"))).unwrap();
        assert_eq!(d.raw["mode"], "autonomous");
    }
    assert!(flush(&logs, 10).await, "{:?}", logs.stats());

    let text = std::fs::read_to_string(&path).unwrap();
    no_secret_in(&text);
    assert!(text.ends_with('\n'));
    let records = lines(&text);
    assert_eq!(records.len(), kept.len());
    for (record, decision) in records.iter().zip(&kept) {
        assert_eq!(
            record["decision_id"],
            decision.request_id.as_deref().unwrap()
        );
        assert_ne!(record["result"]["mode"], "autonomous");
    }
    let stats = logs.stats();
    assert_eq!((stats.sent, stats.dropped_rule), (5, 4));
    assert_eq!(logs.close(Duration::from_secs(1)).pending, 0);
}
