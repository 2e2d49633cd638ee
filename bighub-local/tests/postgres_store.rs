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

use bighub_core::{
    ApprovalResolution, DecisionEngine, MemoryBatch, OutcomeReport, OutcomeStatus, ProposedAction,
    RiskLevel,
};
use bighub_local::{LocalEngine, LocalError, ReplayOptions, RequestOrigin};
use serde_json::{Value, json};

/// The test database's URL, or `None` (after saying why) when the tests must skip.
fn database_url() -> Option<String> {
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
fn fresh_schema() -> String {
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
        Err(bighub_core::Error::ApprovalNotApproved { .. })
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
        matches!(&again, LocalError::ApprovalAlreadyResolved { resolution, .. } if resolution == "approved"),
        "{again:?}"
    );
    assert!(b.pending_approvals().unwrap().is_empty());
    assert_eq!(a.all_approvals(10).unwrap()[0].status.as_str(), "approved");

    // Bound to the tool and the exact arguments.
    assert!(matches!(
        a.verify_approval(&id, "grant_access", &grant("2h").arguments),
        Err(LocalError::ApprovalArgumentsChanged(_))
    ));
    assert!(matches!(
        a.verify_approval(&id, "revoke_access", &args),
        Err(LocalError::ApprovalToolChanged { .. })
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
        Err(bighub_core::Error::ApprovalAlreadyUsed(_))
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
