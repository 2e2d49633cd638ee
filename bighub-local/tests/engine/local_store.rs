//! The local store: outcomes change later decisions, secrets never reach the rows,
//! decisions persist across engine instances.

use bighub_core::{
    DecisionEngine, MemoryBatch, Mode, OutcomeReport, OutcomeStatus, ProposedAction, RiskLevel,
};
use bighub_local::LocalEngine;
use bighub_local::LocalError;
use serde_json::json;

fn restart() -> ProposedAction {
    ProposedAction::new("restart_service")
        .risk(RiskLevel::Low)
        .environment("staging")
        .target("payments-api")
}

fn failure(request_id: &str) -> OutcomeReport {
    let mut r = OutcomeReport::new(OutcomeStatus::Failure);
    r.request_id = Some(request_id.to_owned());
    r.description = Some("pod crash-looped".to_owned());
    r
}

#[tokio::test]
async fn three_reported_failures_turn_the_next_call_to_review() {
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    for i in 0..3 {
        let d = engine.evaluate(&restart()).await.unwrap();
        assert_eq!(
            d.mode,
            Some(Mode::Autonomous),
            "call {i} before {i} failures"
        );
        assert_eq!(d.decision_brain().unwrap()["precedents"], i);
        let id = d.request_id.as_deref().unwrap();
        engine.report_outcome(&failure(id)).await.unwrap();
    }
    let d = engine.evaluate(&restart()).await.unwrap();
    assert_eq!(d.mode, Some(Mode::Review));
    assert_eq!(
        d.decision_packet().unwrap()["input"]["history"]["failures_24h"],
        3
    );
    assert_eq!(
        d.decision_packet().unwrap()["input"]["history"]["last_failure"]["description"],
        "pod crash-looped"
    );
    assert!(
        d.salient_factors
            .iter()
            .any(|f| f.factor.as_deref() == Some("recent_failures"))
    );

    // History is per action and target: another target is unaffected.
    let other = restart().target("search-api");
    assert_eq!(
        engine.evaluate(&other).await.unwrap().mode,
        Some(Mode::Autonomous)
    );
    // Successes do not count as failures.
    let rows = engine.recent_decisions(10).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[2].outcomes[0].status, "FAILURE");
}

#[tokio::test]
async fn an_outcome_for_an_unknown_request_is_an_error() {
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let err = engine
        .report_outcome(&failure("loc_nope"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, bighub_core::Error::Engine(ref m) if m.contains("loc_nope")),
        "{err}"
    );
    assert!(matches!(
        engine.record_outcome(&failure("loc_nope")),
        Err(LocalError::DecisionNotFound(_))
    ));
}

#[tokio::test]
async fn secrets_are_redacted_in_every_stored_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("decisions.db");
    let engine = LocalEngine::builder().db_path(&db).build().unwrap();

    let mut action = ProposedAction::new("rotate_credentials")
        .arguments(json!({
            "service": "billing",
            "password": "hunter2-password",
            "api_key": "sk-live-apikey",
            "nested": {"client_secret": "nested-client-secret"},
            "passphrase_hint": "plain-text-hint",
            "opaque": "marked-secret-value"
        }))
        .risk(RiskLevel::Medium)
        .environment("staging");
    action
        .context
        .metadata
        .insert("secret_args".into(), json!(["opaque"]));
    let d = engine.evaluate(&action).await.unwrap();
    let id = d.request_id.as_deref().unwrap().to_owned();

    let mut report = OutcomeReport::new(OutcomeStatus::Success);
    report.request_id = Some(id.clone());
    report
        .details
        .insert("token".into(), json!("outcome-token-value"));
    engine.report_outcome(&report).await.unwrap();
    engine
        .ingest_memory(&MemoryBatch::new(
            "openai_adapter",
            vec![
                json!({"tool": "rotate_credentials", "arguments": {"password": "memory-password"}}),
            ],
        ))
        .await
        .unwrap();
    drop(engine);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut dump = String::new();
    for (table, cols) in [
        ("decisions", "arguments || decision"),
        ("outcomes", "details"),
        ("memory_events", "event"),
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT {cols} FROM {table}"))
            .unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 1, "{table}");
        dump.push_str(&rows[0]);
    }
    for secret in [
        "hunter2-password",
        "sk-live-apikey",
        "nested-client-secret",
        "marked-secret-value",
        "outcome-token-value",
        "memory-password",
        "plain-text-hint",
    ] {
        assert!(!dump.contains(secret), "{secret} leaked into the store");
    }
    assert!(dump.contains("[REDACTED]"));
    assert!(dump.contains("billing"), "non-secret arguments are kept");
    let args: String = conn
        .query_row(
            "SELECT arguments FROM decisions WHERE request_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    let args: serde_json::Value = serde_json::from_str(&args).unwrap();
    assert_eq!(args["password"], "[REDACTED]");
    assert_eq!(args["opaque"], "[REDACTED]");
    assert_eq!(args["service"], "billing");
    // The WAL journal is on.
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_second_engine_on_the_same_file_sees_the_first_ones_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/dir/decisions.db");
    {
        let first = LocalEngine::builder().db_path(&db).build().unwrap();
        for _ in 0..3 {
            let d = first.evaluate(&restart()).await.unwrap();
            first
                .report_outcome(&failure(d.request_id.as_deref().unwrap()))
                .await
                .unwrap();
        }
        first.close().await.unwrap();
    }
    let second = LocalEngine::builder().db_path(&db).build().unwrap();
    let d = second.evaluate(&restart()).await.unwrap();
    assert_eq!(d.mode, Some(Mode::Review));
    assert_eq!(d.decision_brain().unwrap()["precedents"], 3);
    assert_eq!(second.recent_decisions(100).unwrap().len(), 4);
}

#[test]
fn the_engine_is_send_sync_and_its_debug_names_the_store() {
    fn shareable<T: Send + Sync + std::fmt::Debug>() {}
    shareable::<LocalEngine>();
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let debug = format!("{engine:?}");
    assert!(
        debug.contains(":memory:") && debug.contains("default_policy.rego"),
        "{debug}"
    );
}

/// Two engines on one file (two processes, or an agent and the CLI): each sees the other's
/// decisions in the history, although an engine keeps recent decisions in memory.
#[tokio::test]
async fn engines_sharing_a_file_see_each_others_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = LocalEngine::builder().db_path(&path).build().unwrap();
    let b = LocalEngine::builder().db_path(&path).build().unwrap();
    let history = |d: &bighub_core::Decision| {
        let recent = d.decision_packet().unwrap()["input"]["history"]["recent_decisions"].clone();
        (d.decision_brain().unwrap()["precedents"].clone(), recent)
    };

    let first = a.evaluate(&restart()).await.unwrap();
    let second = a.evaluate(&restart()).await.unwrap();
    let (n, recent) = history(&second);
    assert_eq!(n, 1);
    assert_eq!(recent[0]["request_id"], first.raw["request_id"]);

    let third = b.evaluate(&restart()).await.unwrap();
    let (n, recent) = history(&third);
    assert_eq!(n, 2);
    assert_eq!(recent[0]["request_id"], second.raw["request_id"]);

    // `a` has this action cached; it must still see `b`'s decision.
    let fourth = a.evaluate(&restart()).await.unwrap();
    let (n, recent) = history(&fourth);
    assert_eq!(n, 3);
    assert_eq!(recent[0]["request_id"], third.raw["request_id"]);
    assert_eq!(recent[1]["request_id"], second.raw["request_id"]);
    assert_eq!(recent.as_array().unwrap().len(), 3);
}

/// The tables of schemas 1 and 2, as those versions wrote them; schema 2 made approvals
/// `WITHOUT ROWID` and dropped two indexes, which the fixtures below add or change.
const OLD_TABLES: &str =
    "CREATE TABLE decisions (request_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL,
                tool TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, system TEXT,
                environment TEXT, risk TEXT, actor TEXT NOT NULL, mode TEXT NOT NULL,
                risk_score REAL, reason TEXT, arguments TEXT NOT NULL,
                arguments_sha256 TEXT NOT NULL, decision TEXT NOT NULL);
             CREATE INDEX decisions_by_action ON decisions (action, target, created_at);
             CREATE TABLE outcomes (id INTEGER PRIMARY KEY, request_id TEXT, action TEXT NOT NULL,
                target TEXT NOT NULL, status TEXT NOT NULL, description TEXT,
                details TEXT NOT NULL, correction_needed INTEGER NOT NULL,
                created_at INTEGER NOT NULL);
             CREATE INDEX outcomes_by_action ON outcomes (action, target, created_at);
             CREATE INDEX outcomes_by_request ON outcomes (request_id);
             CREATE TABLE memory_events (id INTEGER PRIMARY KEY, source TEXT NOT NULL,
                source_version TEXT, actor TEXT, domain TEXT, model TEXT, trace_id TEXT,
                event TEXT NOT NULL, created_at INTEGER NOT NULL);
             CREATE TABLE approvals (request_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL,
                tool TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
                arguments_sha256 TEXT NOT NULL, reason TEXT,
                status TEXT NOT NULL DEFAULT 'pending', comment TEXT, resolved_by TEXT,
                resolved_at INTEGER, used INTEGER NOT NULL DEFAULT 0, used_at INTEGER)";

/// `sql`'s rows as pairs.
fn pairs<A: rusqlite::types::FromSql, B: rusqlite::types::FromSql>(
    conn: &rusqlite::Connection,
    sql: &str,
) -> Vec<(A, B)> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every index of the store, by name, including the ones SQLite makes for keys.
fn indexes(conn: &rusqlite::Connection) -> Vec<String> {
    conn.prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A store written by the first schema (with its time and approval-status indexes) opens,
/// keeps its rows and approvals, and is migrated: the two indexes that only cost writes go,
/// approvals move to a single b-tree keyed by request id, and decisions are keyed by time,
/// with an index of request ids kept for the old rows only.
#[tokio::test]
async fn a_store_of_the_first_schema_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "{OLD_TABLES};
             CREATE INDEX decisions_by_time ON decisions (created_at);
             CREATE INDEX approvals_by_status ON approvals (status, created_at);
             INSERT INTO decisions VALUES ('loc_old', 1790000000000, 'grant_access',
                'grant_access', 'okta-admins', 'okta', 'production', 'high', 'cli', 'review',
                0.9, 'old review', '{{\"duration\":\"48h\"}}', 'abc', '{{\"mode\":\"review\"}}');
             INSERT INTO approvals (request_id, created_at, tool, action, target,
                arguments_sha256, reason)
             VALUES ('loc_old', 1790000000000, 'grant_access', 'grant_access', 'okta-admins',
                'abc', 'old review');
             PRAGMA user_version = 1;"
        ))
        .unwrap();
    }

    let engine = LocalEngine::builder().db_path(&path).build().unwrap();
    let recent = engine.recent_decisions(10).unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].request_id, "loc_old");
    // The old row is still found by its id.
    engine.report_outcome(&failure("loc_old")).await.unwrap();
    assert_eq!(engine.recent_decisions(1).unwrap()[0].outcomes.len(), 1);
    assert_eq!(recent[0].arguments, json!({"duration": "48h"}));
    let pending = engine.pending_approvals().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].request_id, "loc_old");

    // New decisions list after the old one, newest first, and are found by their ids.
    let d = engine.evaluate(&restart()).await.unwrap();
    let id = d.request_id.as_deref().unwrap();
    let recent = engine.recent_decisions(10).unwrap();
    assert_eq!(recent[0].request_id, id);
    assert_eq!(recent[1].request_id, "loc_old");
    engine.report_outcome(&failure(id)).await.unwrap();
    drop(engine);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 9);
    assert_eq!(
        indexes(&conn),
        [
            "decisions_by_action",
            "decisions_by_action_time",
            "decisions_by_actor_time",
            "decisions_by_legacy_id",
            "decisions_by_system_time",
            "decisions_by_target_time",
            "decisions_shadow_disagreements",
            "durable_run_approvals_by_request",
            "durable_runs_paused",
            "outcomes_by_action",
            "outcomes_by_action_time",
            "outcomes_by_actor_time",
            "outcomes_by_request",
            "outcomes_by_system_time",
            "outcomes_by_target_time"
        ]
    );
    // The old row is marked as such; the new one is not, and stays out of that index.
    let legacy: Vec<(String, Option<i64>)> = pairs(
        &conn,
        "SELECT request_id, legacy FROM decisions ORDER BY id",
    );
    assert_eq!(
        legacy,
        [("loc_old".to_owned(), Some(1)), (id.to_owned(), None)]
    );
    let approvals: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'approvals'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(approvals.ends_with("WITHOUT ROWID"), "{approvals}");
}

/// A store written by schema 2 (decisions keyed by request id) is migrated to keys by time:
/// rows made in the same millisecond get distinct keys, in the order they were written,
/// and every old row is still found by its id, whatever that id looks like.
#[tokio::test]
async fn a_store_of_the_second_schema_is_keyed_by_time_and_keeps_its_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    // An id of the version-2 form, whose time is not its row's.
    let v7 = format!("loc_{}", uuid::Uuid::now_v7().simple());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "{OLD_TABLES} WITHOUT ROWID;
             PRAGMA user_version = 2;"
        ))
        .unwrap();
        let mut insert = conn
            .prepare(
                "INSERT INTO decisions VALUES (?1, ?2, 'restart_service', 'restart_service',
                    'payments-api', NULL, 'staging', 'low', 'cli', 'autonomous', 0.1, NULL,
                    '{}', 'abc', '{}')",
            )
            .unwrap();
        for (id, at) in [
            ("loc_b", 1_790_000_000_000i64),
            (v7.as_str(), 1_790_000_000_000),
            ("loc_a", 1_790_000_000_000),
            ("loc_c", 1_790_000_000_001),
        ] {
            insert.execute(rusqlite::params![id, at]).unwrap();
        }
    }

    let engine = LocalEngine::builder().db_path(&path).build().unwrap();
    let newest_first: Vec<String> = engine
        .recent_decisions(10)
        .unwrap()
        .into_iter()
        .map(|d| d.request_id)
        .collect();
    assert_eq!(newest_first, ["loc_c", "loc_a", v7.as_str(), "loc_b"]);
    for id in ["loc_a", "loc_b", "loc_c", v7.as_str()] {
        engine.report_outcome(&failure(id)).await.unwrap();
    }
    drop(engine);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let keys: Vec<(i64, String)> = pairs(&conn, "SELECT id, request_id FROM decisions ORDER BY id");
    let ms = 1_790_000_000_000i64 << 20;
    assert_eq!(
        keys,
        [
            (ms, "loc_b".to_owned()),
            (ms + 1, v7.clone()),
            (ms + 2, "loc_a".to_owned()),
            (ms + (1 << 20), "loc_c".to_owned()),
        ]
    );
    let reported: i64 = conn
        .query_row("SELECT count(*) FROM outcomes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(reported, 4);
    assert!(
        !indexes(&conn)
            .iter()
            .any(|i| i.starts_with("sqlite_autoindex_decisions")),
        "{:?}",
        indexes(&conn)
    );
}

/// Decisions made back to back (several per millisecond in a release build) are each found
/// by their request id; the store's unit tests pin keys within one millisecond.
#[tokio::test]
async fn decisions_made_back_to_back_are_each_found_by_their_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let engine = LocalEngine::builder().db_path(&path).build().unwrap();
    let mut ids = Vec::new();
    for _ in 0..200 {
        let d = engine.evaluate(&restart()).await.unwrap();
        ids.push(d.request_id.as_deref().unwrap().to_owned());
    }
    for id in &ids {
        engine.report_outcome(&failure(id)).await.unwrap();
    }
    drop(engine);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let attributed: i64 = conn
        .query_row(
            "SELECT count(DISTINCT request_id) FROM outcomes WHERE request_id IN
                (SELECT request_id FROM decisions)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attributed, 200);
}

fn grant() -> ProposedAction {
    ProposedAction::new("grant_access")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target("okta-admins")
}

#[test]
fn the_oldest_pending_approvals_are_read_and_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("decisions.db");
    let engine = LocalEngine::builder().db_path(&db).build().unwrap();
    let ids: Vec<String> = (0..5)
        .map(|_| {
            // Each in its own millisecond, so that age alone orders them.
            std::thread::sleep(std::time::Duration::from_millis(2));
            engine.decide(&grant()).unwrap().request_id.unwrap()
        })
        .collect();
    // The newest approval is made unreadable: a listing that reads every pending row
    // fails on it, one that stops at its limit in the query never sees it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE approvals SET tool = X'FF' WHERE request_id = ?1",
        [&ids[4]],
    )
    .unwrap();
    assert!(engine.pending_approvals().is_err());
    let page = engine.oldest_pending_approvals(2).unwrap();
    let listed: Vec<&str> = page.iter().map(|a| a.request_id.as_str()).collect();
    assert_eq!(listed, [ids[0].as_str(), ids[1].as_str()]);
    let page = engine.oldest_pending_approvals(4).unwrap();
    let listed: Vec<&str> = page.iter().map(|a| a.request_id.as_str()).collect();
    assert_eq!(
        listed,
        ids[..4].iter().map(String::as_str).collect::<Vec<_>>()
    );
}
