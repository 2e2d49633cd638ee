//! The PostgreSQL store against a real server: the same decisions, history and redaction
//! as SQLite, and approvals and idempotency keys that hold across engines (each engine
//! has its own pool, as separate processes do).
//!
//! Needs `BIGHUB_TEST_DATABASE_URL` (`.ci/run` starts PostgreSQL and sets it; see the
//! README to run them locally). Without it the tests say they were skipped, except under
//! `CI=true`, where a missing database fails them.
#![cfg(feature = "postgres")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::{
    ApprovalResolution, DecisionEngine, MemoryBatch, OutcomeReport, OutcomeStatus, ProposedAction,
    RiskLevel,
};
use bighub_local::replay::ReplayOptions;
use bighub_local::{LocalEngine, LocalError, RequestOrigin};
use serde_json::{Value, json};

/// The test database's URL, or `None` (after saying why) when the tests must skip.
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
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    )
}

fn engine(url: &str, schema: &str) -> LocalEngine {
    LocalEngine::builder()
        .database_url(url)
        .database_schema(schema)
        .build()
        .unwrap()
}

fn grant(duration: &str) -> ProposedAction {
    ProposedAction::new("grant_access")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": duration}))
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target("okta-admins")
}

fn restart() -> ProposedAction {
    ProposedAction::new("restart_service")
        .arguments(json!({"service": "payments-api"}))
        .system("kubernetes")
        .risk(RiskLevel::Medium)
        .environment("staging")
        .target("payments-api")
}

fn essence(raw: &Value) -> Value {
    json!({
        "mode": raw["mode"], "reason": raw["reason"], "better_action": raw["better_action"],
        "risk": raw["risk"], "salient_factors": raw["salient_factors"],
        "deciding_rules": raw["decision_brain"]["deciding_rules"],
        "precedents": raw["decision_brain"]["precedents"],
        "history": raw["decision_packet"]["input"]["history"]["outcomes_24h"],
        "failures": raw["decision_packet"]["input"]["history"]["failures_24h"],
        "recent": raw["decision_packet"]["input"]["history"]["recent_decisions"].as_array().map(Vec::len),
    })
}

fn failure(id: &str) -> OutcomeReport {
    let mut r = OutcomeReport::new(OutcomeStatus::Failure);
    r.request_id = Some(id.to_owned());
    r.description = Some("pod crash-looped".into());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_and_history_match_the_sqlite_store() {
    let Some(url) = database_url() else { return };
    let pg = engine(&url, &fresh_schema());
    let sqlite = LocalEngine::builder().in_memory().build().unwrap();
    let mut answers: Vec<Vec<Value>> = vec![Vec::new(), Vec::new()];
    for (i, e) in [&pg, &sqlite].into_iter().enumerate() {
        answers[i].push(essence(&e.evaluate(&grant("48h")).await.unwrap().raw));
        answers[i].push(essence(&e.evaluate(&grant("1h")).await.unwrap().raw));
        // Three failures of the same action and target send the next call to review.
        for _ in 0..3 {
            let d = e.evaluate(&restart()).await.unwrap();
            answers[i].push(essence(&d.raw));
            e.report_outcome(&failure(d.request_id.as_deref().unwrap()))
                .await
                .unwrap();
        }
        let after = e.evaluate(&restart()).await.unwrap();
        assert_eq!(after.raw["mode"], "review");
        answers[i].push(essence(&after.raw));
        // An outcome for an unknown decision is refused on both.
        let err = e.record_outcome(&failure("loc_unknown")).unwrap_err();
        assert!(matches!(err, LocalError::DecisionNotFound(_)), "{err:?}");
    }
    assert_eq!(answers[0], answers[1]);

    let rows = pg.recent_decisions(10).unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[1].outcomes.len(), 1);
    assert_eq!(rows[1].outcomes[0].status, "FAILURE");
    // Replay reads the PostgreSQL store too.
    let report = pg.replay(&ReplayOptions::default()).unwrap();
    assert_eq!((report.decided, report.changed), (6, 0));
    assert!(format!("{pg:?}").contains("postgres://"));
    assert!(!format!("{pg:?}").contains("bighub_test:bighub_test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_resolves_once_and_runs_once_across_engines() {
    let Some(url) = database_url() else { return };
    let schema = fresh_schema();
    let a = Arc::new(engine(&url, &schema));
    let b = Arc::new(engine(&url, &schema));
    let d = a.evaluate(&grant("48h")).await.unwrap();
    let id = d.request_id.clone().unwrap();

    let pending = b.pending_approvals().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(b.pending_approval_count().unwrap(), 1);
    assert_eq!(pending[0].request_id, id);
    // Not approved yet: no claim.
    let args = grant("48h").arguments;
    assert!(matches!(
        a.claim_approval(&id, &grant("48h")).await,
        Err(bighub_core::Error::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::NotApproved { .. },
            ..
        }))
    ));

    let record = b
        .resolve_as(
            &id,
            &ApprovalResolution::approved("ok for 2h".to_owned()),
            "ops-key",
        )
        .unwrap();
    // Who resolved it is recorded as authenticated, beside the resolution's own note.
    assert_eq!(record.resolver.as_deref(), Some("ops-key"));
    assert_eq!(
        b.approval(&id).unwrap().unwrap().resolver.as_deref(),
        Some("ops-key")
    );
    let again = a
        .resolve(&id, &ApprovalResolution::rejected(None))
        .unwrap_err();
    assert!(
        matches!(&again, LocalError::Approval(ApprovalRefused { refusal: ApprovalRefusal::AlreadyResolved { resolution }, .. }) if resolution == "approved"),
        "{again:?}"
    );
    assert!(b.pending_approvals().unwrap().is_empty());
    assert_eq!(a.all_approvals(10).unwrap()[0].status.as_str(), "approved");

    // Bound to the tool and the exact arguments.
    assert!(matches!(
        a.verify_approval(&id, "grant_access", &grant("2h").arguments),
        Err(LocalError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::ArgumentsChanged,
            ..
        }))
    ));
    assert!(matches!(
        a.verify_approval(&id, "revoke_access", &args),
        Err(LocalError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::ToolChanged { .. },
            ..
        }))
    ));

    // Sixteen claims at once, from two engines: exactly one runs.
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let engine = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (barrier, id, args) = (barrier.clone(), id.clone(), args.clone());
            std::thread::spawn(move || {
                barrier.wait();
                engine
                    .verify_approval(&id, "grant_access", &args)
                    .and_then(|_| engine.consume_approval(&id))
                    .is_ok()
            })
        })
        .collect();
    let wins = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(wins, 1);
    assert!(matches!(
        b.claim_approval(&id, &grant("48h")).await,
        Err(bighub_core::Error::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::AlreadyUsed,
            ..
        }))
    ));
    let record = a.approval(&id).unwrap().unwrap();
    assert!(record.used && record.used_at.is_some());
    // A rejected approval never runs.
    let d = a.evaluate(&grant("72h")).await.unwrap();
    let rejected = d.request_id.unwrap();
    b.resolve(&rejected, &ApprovalResolution::rejected(None))
        .unwrap();
    assert!(a.claim_approval(&rejected, &grant("72h")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_decides_once_across_engines() {
    let Some(url) = database_url() else { return };
    let schema = fresh_schema();
    let a = Arc::new(engine(&url, &schema));
    let b = Arc::new(engine(&url, &schema));
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let engine = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let origin = RequestOrigin {
                    caller: Some("agent-a"),
                    idempotency_key: Some("retry-1"),
                };
                engine.decide_as(&grant("48h"), origin).unwrap().request_id
            })
        })
        .collect();
    let ids: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(a.recent_decisions(10).unwrap().len(), 1);
    assert_eq!(b.pending_approvals().unwrap().len(), 1);
    assert_eq!(
        a.recent_decisions(1).unwrap()[0].caller.as_deref(),
        Some("agent-a")
    );
    // The same key for another action is refused; another caller's key is its own.
    let reused = a.decide_as(
        &grant("1h"),
        RequestOrigin {
            caller: Some("agent-a"),
            idempotency_key: Some("retry-1"),
        },
    );
    assert!(matches!(reused, Err(LocalError::IdempotencyKeyReused(_))));
    let other = b
        .decide_as(
            &grant("48h"),
            RequestOrigin {
                caller: Some("agent-b"),
                idempotency_key: Some("retry-1"),
            },
        )
        .unwrap();
    assert_ne!(other.request_id, ids[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_database() {
    let Some(url) = database_url() else { return };
    let schema = fresh_schema();
    let e = engine(&url, &schema);
    let mut metadata = serde_json::Map::new();
    metadata.insert("secret_args".into(), json!(["otp"]));
    let action = ProposedAction::new("rotate_credentials")
        .arguments(json!({"otp": "otp-value-5647382910", "api_token": "tok-value-0192837465"}))
        .system("vault")
        .target("ci")
        .context(bighub_core::ActionContext {
            metadata,
            ..Default::default()
        });
    let d = e.evaluate(&action).await.unwrap();
    let mut report = OutcomeReport::new(OutcomeStatus::Success);
    report.request_id = d.request_id.clone();
    report
        .details
        .insert("password".into(), json!("pw-value-1122334455"));
    e.report_outcome(&report).await.unwrap();
    e.ingest_memory(&MemoryBatch::new(
        "openai_adapter",
        vec![json!({"client_secret": "cs-value-9988776655"})],
    ))
    .await
    .unwrap();
    drop(e);

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut dump = String::new();
    for table in ["decisions", "outcomes", "memory_events", "approvals"] {
        let row = client
            .query_one(
                &format!("SELECT coalesce(string_agg(t::text, ' '), '') FROM {schema}.{table} t"),
                &[],
            )
            .await
            .unwrap();
        dump.push_str(&row.get::<_, String>(0));
    }
    assert!(dump.contains("rotate_credentials"));
    for secret in ["otp-value", "tok-value", "pw-value", "cs-value"] {
        assert!(!dump.contains(secret), "{secret} reached the database");
    }
}

/// A plain connection to the test database, in `schema`, for arranging rows.
async fn raw_client(url: &str, schema: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("SET search_path = {schema}"))
        .await
        .unwrap();
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_pending_approvals_are_read_and_no_more() {
    let Some(url) = database_url() else { return };
    let schema = fresh_schema();
    let pg = engine(&url, &schema);
    let mut ids = Vec::new();
    for _ in 0..5 {
        // Each in its own millisecond, so that age alone orders them.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        ids.push(pg.decide(&grant("48h")).unwrap().request_id.unwrap());
    }
    // The newest approval is made unreadable (a NULL tool): a listing that reads every
    // pending row fails on it, one that stops at its limit in the query never sees it.
    let raw = raw_client(&url, &schema).await;
    raw.batch_execute("ALTER TABLE approvals ALTER COLUMN tool DROP NOT NULL")
        .await
        .unwrap();
    raw.execute(
        "UPDATE approvals SET tool = NULL WHERE request_id = $1",
        &[&ids[4]],
    )
    .await
    .unwrap();
    assert!(pg.pending_approvals().is_err());
    let page = pg.oldest_pending_approvals(2).unwrap();
    let listed: Vec<&str> = page.iter().map(|a| a.request_id.as_str()).collect();
    assert_eq!(listed, [ids[0].as_str(), ids[1].as_str()]);
    let page = pg.oldest_pending_approvals(4).unwrap();
    let listed: Vec<&str> = page.iter().map(|a| a.request_id.as_str()).collect();
    assert_eq!(
        listed,
        ids[..4].iter().map(String::as_str).collect::<Vec<_>>()
    );
}

/// The CA that signed the test cluster's server certificate, or `None` (after saying why)
/// when the TLS tests must skip; under `CI=true` a missing CA is a failure.
fn tls_ca() -> Option<std::path::PathBuf> {
    match std::env::var("BIGHUB_TEST_PG_TLS_CA") {
        Ok(path) if !path.trim().is_empty() => Some(path.into()),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "BIGHUB_TEST_PG_TLS_CA is not set, and under CI=true the PostgreSQL TLS tests must run; .ci/run sets it"
            )
        }
        _ => {
            // Past the harness's output capture, so the skip shows in `cargo test`'s output.
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!(
                    "skipped: BIGHUB_TEST_PG_TLS_CA is not set. To run the PostgreSQL TLS tests, run .ci/run as root once (it turns TLS on in the machine's cluster with a test CA) and set BIGHUB_TEST_PG_TLS_CA=/var/lib/postgresql/bighub-test-tls/ca.pem\n"
                ),
            );
            None
        }
    }
}

/// `url` with more query parameters.
fn with_params(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// Whether the connections named `application` (as the pool keeps them) are encrypted.
async fn encrypted_connections(url: &str, application: &str) -> Vec<bool> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = $1",
            &[&application],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_used_and_verified_as_sslmode_says() {
    let Some(url) = database_url() else { return };
    let Some(ca) = tls_ca() else { return };
    let other = ca.with_file_name("other-ca.pem");
    assert!(
        other.exists(),
        "{} is missing (.ci/run makes it)",
        other.display()
    );
    let schema = fresh_schema();
    let build = |params: String| {
        LocalEngine::builder()
            .database_url(with_params(&url, &params))
            .database_schema(&schema)
            .build()
    };

    // verify-full with the CA: encrypted, and it works.
    let app = format!("full_{schema}");
    let full = build(format!(
        "sslmode=verify-full&sslrootcert={}&application_name={app}",
        ca.display()
    ))
    .unwrap();
    full.decide(&restart()).unwrap();
    let seen = encrypted_connections(&url, &app).await;
    assert!(!seen.is_empty() && seen.iter().all(|ssl| *ssl), "{seen:?}");

    // require without a CA: encrypted, not verified, and the password exchange bound to
    // the TLS session (`channel_binding=require` refuses to connect otherwise).
    let app = format!("req_{schema}");
    let required = build(format!(
        "sslmode=require&channel_binding=require&application_name={app}"
    ))
    .unwrap();
    required.decide(&restart()).unwrap();
    let seen = encrypted_connections(&url, &app).await;
    assert!(!seen.is_empty() && seen.iter().all(|ssl| *ssl), "{seen:?}");

    // The wrong CA fails closed, whatever the mode that verifies: no plain-TCP fallback.
    for mode in ["verify-full", "verify-ca", "require"] {
        let err = build(format!("sslmode={mode}&sslrootcert={}", other.display())).unwrap_err();
        assert!(
            matches!(err, LocalError::Database(ref m) if m.contains("certificate")),
            "{mode}: {err}"
        );
    }

    // A host name the certificate does not name: verify-full refuses, verify-ca (chain
    // only) accepts. `hostaddr` connects to the cluster, `host` is the name checked.
    let Some(rest) = url.strip_prefix("postgres://") else {
        panic!("BIGHUB_TEST_DATABASE_URL is not a postgres:// URL")
    };
    let (auth, path) = rest.split_once('@').unwrap();
    let (_, after_host) = path.split_once([':', '/']).unwrap();
    let sep = &path[path.len() - after_host.len() - 1..][..1];
    let renamed = format!("postgres://{auth}@db.invalid{sep}{after_host}");
    let build_renamed = |mode: &str| {
        LocalEngine::builder()
            .database_url(with_params(
                &renamed,
                &format!(
                    "hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={}",
                    ca.display()
                ),
            ))
            .database_schema(&schema)
            .build()
    };
    let err = build_renamed("verify-full").unwrap_err();
    assert!(matches!(err, LocalError::Database(_)), "{err}");
    build_renamed("verify-ca")
        .unwrap()
        .decide(&restart())
        .unwrap();
}

/// A TCP server that accepts connections and never answers (a database host that
/// vanished behind a load balancer); it lets go of them after `hold`.
fn silent_server(hold: std::time::Duration) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let until = std::time::Instant::now() + hold;
        let mut held = Vec::new();
        while std::time::Instant::now() < until {
            match listener.accept() {
                Ok((socket, _)) => held.push(socket),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    });
    port
}

#[test]
fn a_database_that_never_answers_is_unavailable_within_the_timeouts() {
    use bighub_local::storage::DatabaseTimeouts;
    use std::time::{Duration, Instant};
    let port = silent_server(Duration::from_secs(10));
    let started = Instant::now();
    let err = LocalEngine::builder()
        .database_url(format!(
            "postgres://bighub:secret@127.0.0.1:{port}/bighub?sslmode=disable"
        ))
        .database_timeouts(
            DatabaseTimeouts::default()
                .connect(Duration::from_millis(300))
                .call(Duration::from_secs(1)),
        )
        .build()
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_unavailable(), "{err:?}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_past_its_timeout_is_an_unavailable_store() {
    use bighub_local::storage::DatabaseTimeouts;
    use std::time::{Duration, Instant};
    let Some(url) = database_url() else { return };
    let schema = fresh_schema();
    let pg = LocalEngine::builder()
        .database_url(&url)
        .database_schema(&schema)
        .database_timeouts(DatabaseTimeouts::default().statement(Duration::from_millis(300)))
        .build()
        .unwrap();
    // Another session holds the decisions table; the engine's statements wait for it.
    let mut raw = raw_client(&url, &schema).await;
    let tx = raw.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = Instant::now();
    let err = pg.decide(&restart()).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_unavailable() && !err.is_invalid_input(), "{err:?}");
    assert!(err.to_string().contains("57014"), "{err}");
    // The same limit set in the URL, as libpq users set it.
    let in_url = LocalEngine::builder()
        .database_url(with_params(&url, "options=-c%20statement_timeout%3D300"))
        .database_schema(&schema)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = in_url.decide(&restart()).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("57014"), "{err}");
    tx.rollback().await.unwrap();
    pg.decide(&restart()).unwrap();
}
