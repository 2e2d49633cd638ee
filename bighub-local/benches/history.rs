//! Benchmark: what a decision costs as the decision log grows.
//!
//! For each size in `BENCH_SIZES` (default `1000,1000000` recorded decisions, with an
//! outcome for every other one), a store is seeded in bulk with SQL (a recursive CTE on
//! SQLite, `generate_series` on PostgreSQL) into the real schema (the engine opens and
//! migrates it first), across 200 actors, 1,000 targets, five actions and five systems, at
//! one steady rate of 500 decisions a day going back from now: 10^3 decisions are the last
//! two days, 10^6 the last 5½ years. The windows the policy reads (1h, 24h) then hold the
//! same rows whatever the size, and what changes is the log's size alone. (A count's cost
//! follows what its window holds, at most 10,000 rows each: a store deciding far more than
//! 500 calls a day pays for its busier windows, on a small log or a large one alike.)
//! Then `decide` runs back to back with the default policy plus every history window
//! counted (`history_windows` 1h and 24h), one rate limit and one prerequisite, and the p50 and p99 latency per decision are printed, per store, with the
//! ratio of the largest size to the smallest: the history's reads are bounded and indexed,
//! so it should stay near 1.
//!
//! SQLite always (a file in a temporary directory); PostgreSQL too when the bench is built
//! with `--features postgres` and `BIGHUB_TEST_DATABASE_URL` is set (each size in a schema
//! of its own, dropped afterwards).
//!
//! `cargo bench -p bighub-local --features postgres --bench history`

use std::time::{Duration, Instant};

use bighub_core::{ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use serde_json::{Value, json};

/// Decisions made before timing.
const WARMUP: usize = 100;
/// Decisions timed per store and size.
const ROUNDS: usize = 1_000;
/// The time between two seeded decisions: 500 a day, so that the newest thousand span the
/// last two days whatever the log's size, and every window the policy reads (1h, 24h)
/// holds the same rows on a small log as on a large one.
const STEP_MS: i64 = 48 * 3600 * 1000 / 1000;

fn config() -> Value {
    json!({
        "history_windows": ["1h", "24h"],
        "rate_limits": [{"name": "prod-deploys", "max": 3, "window": "1h", "action": "deploy",
                         "environment": "production", "per": "actor"}],
        "requires_prior": [{"name": "backup-first", "action": "rotate_credential",
                            "prior_action": "backup_database", "window": "1h"}]
    })
}

/// The calls timed, in turn: the limited deploy, the guarded rotation, and two others.
fn calls(i: usize) -> ProposedAction {
    let actor = format!("agent-{}", i % 200);
    let target = format!("svc-{}", i % 1000);
    let base = |name: &str, system: &str, risk: RiskLevel, env: &str| {
        ProposedAction::new(name)
            .actor(actor.clone())
            .system(system)
            .risk(risk)
            .environment(env)
            .target(target.clone())
    };
    match i % 4 {
        0 => base("deploy", "argocd", RiskLevel::Low, "production"),
        1 => base("rotate_credential", "vault", RiskLevel::Medium, "staging"),
        2 => base(
            "restart_service",
            "kubernetes",
            RiskLevel::Medium,
            "staging",
        )
        .arguments(json!({"service": target})),
        _ => base("grant_access", "okta", RiskLevel::High, "production")
            .arguments(json!({"user": "dana", "group": "payments", "duration": "1h"})),
    }
}

/// p50 and p99 of `decide` on `engine`.
fn measure(engine: &LocalEngine) -> (Duration, Duration) {
    for i in 0..WARMUP {
        engine.decide(&calls(i)).expect("decides");
    }
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|i| {
            let call = calls(i);
            let start = Instant::now();
            engine.decide(&call).expect("decides");
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[ROUNDS / 2], times[ROUNDS * 99 / 100])
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Seeds `n` decisions, and an outcome for every other one, into the SQLite store at
/// `path` (already migrated by the engine).
fn seed_sqlite(path: &std::path::Path, n: i64) {
    let conn = rusqlite::Connection::open(path).expect("opens the store");
    let now = now_ms();
    let step = STEP_MS;
    let start = now - step * n;
    // Row keys follow the store's: the millisecond times 2^20.
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < {n})
         INSERT INTO decisions (id, request_id, created_at, tool, action, target, system,
             environment, risk, actor, mode, risk_score, reason, arguments, arguments_sha256,
             decision, caller)
         SELECT ({start} + i * {step}) * 1048576, 'seed_' || i, {start} + i * {step},
             {action}, {action}, 'svc-' || (i % 1000), {system},
             CASE i % 3 WHEN 0 THEN 'production' WHEN 1 THEN 'staging' ELSE 'dev' END,
             'medium', 'agent-' || (i % 200),
             CASE WHEN i % 10 < 7 THEN 'autonomous' WHEN i % 10 < 9 THEN 'review'
                  ELSE 'blocked' END,
             0.3, 'seeded', '{{}}', '', '{{}}', NULL
         FROM seq;
         WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 2 FROM seq WHERE i + 2 < {n})
         INSERT INTO outcomes (request_id, action, target, status, description, details,
             correction_needed, created_at, caller, actor, system)
         SELECT 'seed_' || i, {action}, 'svc-' || (i % 1000),
             CASE WHEN i % 7 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END, NULL, '{{}}', 0,
             {start} + i * {step} + 1000, NULL, 'agent-' || (i % 200), {system}
         FROM seq;
         COMMIT;
         ANALYZE;",
        action = ACTION_SQL,
        system = SYSTEM_SQL,
    ))
    .expect("seeds the store");
}

/// The seeded row's action, by its number `i`.
const ACTION_SQL: &str = "CASE i % 5 WHEN 0 THEN 'deploy' WHEN 1 THEN 'restart_service' \
     WHEN 2 THEN 'grant_access' WHEN 3 THEN 'rotate_credential' ELSE 'backup_database' END";

/// The seeded row's system, by its number `i`.
const SYSTEM_SQL: &str = "CASE i % 5 WHEN 0 THEN 'argocd' WHEN 1 THEN 'kubernetes' \
     WHEN 2 THEN 'okta' WHEN 3 THEN 'vault' ELSE 'postgres' END";

fn sqlite_run(n: i64) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("decisions.db");
    // Opened once to create and migrate the schema the rows go into.
    drop(
        LocalEngine::builder()
            .db_path(&path)
            .build()
            .expect("the store opens"),
    );
    let seeding = Instant::now();
    seed_sqlite(&path, n);
    eprintln!("  sqlite: seeded {n} decisions in {:?}", seeding.elapsed());
    let engine = LocalEngine::builder()
        .db_path(&path)
        .config(config())
        .build()
        .expect("the engine builds");
    measure(&engine)
}

#[cfg(feature = "postgres")]
fn postgres_run(url: &str, n: i64) -> (Duration, Duration) {
    let schema = format!("bench_history_{}_{n}", std::process::id());
    // Opened once to create and migrate the schema the rows go into.
    drop(
        LocalEngine::builder()
            .database_url(url)
            .database_schema(&schema)
            .build()
            .expect("the store opens"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connects");
        tokio::spawn(connection);
        client
    });
    let now = now_ms();
    let step = STEP_MS;
    let start = now - step * n;
    let seeding = Instant::now();
    runtime
        .block_on(client.batch_execute(&format!(
            "SET search_path = {schema};
             INSERT INTO decisions (request_id, created_at, tool, action, target, system,
                 environment, risk, actor, mode, risk_score, reason, arguments,
                 arguments_sha256, decision, caller)
             SELECT 'seed_' || i, {start} + i * {step}, {action}, {action},
                 'svc-' || (i % 1000), {system},
                 CASE i % 3 WHEN 0 THEN 'production' WHEN 1 THEN 'staging' ELSE 'dev' END,
                 'medium', 'agent-' || (i % 200),
                 CASE WHEN i % 10 < 7 THEN 'autonomous' WHEN i % 10 < 9 THEN 'review'
                      ELSE 'blocked' END,
                 0.3, 'seeded', '{{}}', '', '{{}}', NULL
             FROM generate_series(0::bigint, {n} - 1) AS i;
             INSERT INTO outcomes (request_id, action, target, status, description, details,
                 correction_needed, created_at, caller, actor, system)
             SELECT 'seed_' || i, {action}, 'svc-' || (i % 1000),
                 CASE WHEN i % 7 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END, NULL, '{{}}', false,
                 {start} + i * {step} + 1000, NULL, 'agent-' || (i % 200), {system}
             FROM generate_series(0::bigint, {n} - 1, 2) AS i;
             ANALYZE decisions;
             ANALYZE outcomes;",
            action = ACTION_SQL,
            system = SYSTEM_SQL,
        )))
        .expect("seeds the store");
    eprintln!(
        "  postgres: seeded {n} decisions in {:?}",
        seeding.elapsed()
    );
    let engine = LocalEngine::builder()
        .database_url(url)
        .database_schema(&schema)
        .config(config())
        .build()
        .expect("the engine builds");
    let result = measure(&engine);
    drop(engine);
    runtime
        .block_on(client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")))
        .expect("drops the schema");
    result
}

fn sizes() -> Vec<i64> {
    let text = std::env::var("BENCH_SIZES").unwrap_or_else(|_| "1000,1000000".to_owned());
    let sizes: Vec<i64> = text
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|n| *n > 0)
        .collect();
    assert!(!sizes.is_empty(), "BENCH_SIZES holds no size: {text:?}");
    sizes
}

fn report(store: &str, results: &[(i64, (Duration, Duration))]) {
    for (n, (p50, p99)) in results {
        println!("{store:>8} {n:>9} decisions: p50 {p50:>10.2?}  p99 {p99:>10.2?}");
    }
    if let (Some((small, (p50_s, p99_s))), Some((large, (p50_l, p99_l)))) =
        (results.first(), results.last())
        && results.len() > 1
    {
        println!(
            "{store:>8} ratio {large}/{small}: p50 {:.2}x  p99 {:.2}x",
            p50_l.as_secs_f64() / p50_s.as_secs_f64(),
            p99_l.as_secs_f64() / p99_s.as_secs_f64()
        );
    }
}

fn main() {
    let sizes = sizes();
    println!(
        "decide latency with the default policy, history windows 1h and 24h, one rate limit and one prerequisite"
    );
    let sqlite: Vec<_> = sizes.iter().map(|n| (*n, sqlite_run(*n))).collect();
    report("sqlite", &sqlite);
    #[cfg(feature = "postgres")]
    match std::env::var("BIGHUB_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let pg: Vec<_> = sizes.iter().map(|n| (*n, postgres_run(&url, *n))).collect();
            report("postgres", &pg);
        }
        _ => println!("postgres: skipped (BIGHUB_TEST_DATABASE_URL is not set)"),
    }
    #[cfg(not(feature = "postgres"))]
    println!("postgres: skipped (built without the `postgres` feature)");
}
