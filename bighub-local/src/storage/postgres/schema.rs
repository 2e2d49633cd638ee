//! The PostgreSQL store's schema: its tables, their versions, and migrating them.
//!
//! This module owns the tables as each version wrote them (`bighub_schema.version`) and
//! the migration on open, under an advisory lock so that servers starting together migrate
//! once; it also drops expired idempotency keys then. It does not read or write rows.

use crate::clock::now_millis;
use crate::error::LocalError;
use crate::storage::IDEMPOTENCY_TTL_MS;

/// The schema version this code writes (`bighub_schema.version`).
const SCHEMA_VERSION: i32 = 6;

/// Serialises migrations of every bighub schema in one database.
const MIGRATION_LOCK: i64 = 0x6269_6768_7562; // "bighub"

/// The tables of version 1. JSON is kept as text, as the engine wrote it, so that a
/// decision read back (an idempotent retry) is byte for byte the one first answered.
const SCHEMA_V1: &str = "
CREATE TABLE decisions (
    id               BIGSERIAL PRIMARY KEY,
    request_id       TEXT NOT NULL UNIQUE,
    created_at       BIGINT NOT NULL,
    tool             TEXT NOT NULL,
    action           TEXT NOT NULL,
    target           TEXT NOT NULL,
    system           TEXT,
    environment      TEXT,
    risk             TEXT,
    actor            TEXT NOT NULL,
    mode             TEXT NOT NULL,
    risk_score       DOUBLE PRECISION,
    reason           TEXT,
    arguments        TEXT NOT NULL,
    arguments_sha256 TEXT NOT NULL,
    decision         TEXT NOT NULL,
    caller           TEXT
);
CREATE INDEX decisions_by_action ON decisions (action, target, created_at);
CREATE TABLE outcomes (
    id                BIGSERIAL PRIMARY KEY,
    request_id        TEXT,
    action            TEXT NOT NULL,
    target            TEXT NOT NULL,
    status            TEXT NOT NULL,
    description       TEXT,
    details           TEXT NOT NULL,
    correction_needed BOOLEAN NOT NULL,
    created_at        BIGINT NOT NULL,
    caller            TEXT
);
CREATE INDEX outcomes_by_action ON outcomes (action, target, created_at);
CREATE INDEX outcomes_by_request ON outcomes (request_id);
CREATE TABLE memory_events (
    id             BIGSERIAL PRIMARY KEY,
    source         TEXT NOT NULL,
    source_version TEXT,
    actor          TEXT,
    domain         TEXT,
    model          TEXT,
    trace_id       TEXT,
    event          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    caller         TEXT
);
CREATE TABLE approvals (
    request_id       TEXT PRIMARY KEY,
    created_at       BIGINT NOT NULL,
    tool             TEXT NOT NULL,
    action           TEXT NOT NULL,
    target           TEXT NOT NULL,
    arguments_sha256 TEXT NOT NULL,
    reason           TEXT,
    status           TEXT NOT NULL DEFAULT 'pending',
    comment          TEXT,
    resolved_by      TEXT,
    resolved_at      BIGINT,
    used             BOOLEAN NOT NULL DEFAULT false,
    used_at          BIGINT
);
CREATE INDEX approvals_pending ON approvals (created_at) WHERE status = 'pending';
CREATE TABLE idempotency_keys (
    caller        TEXT NOT NULL,
    key           TEXT NOT NULL,
    action_sha256 TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (caller, key)
);
";

/// Version 2 records who resolved an approval as authenticated (`resolver`), beside the
/// resolution's own `resolved_by`, and the (redacted) arguments it is asked for.
const MIGRATE_V2: &str = "
ALTER TABLE approvals ADD COLUMN resolver TEXT;
ALTER TABLE approvals ADD COLUMN arguments TEXT;
";

/// Version 4 keeps durable runs: a paused run's state beside the approvals it waits for
/// (`durable_run_approvals`, keyed by run so that "are they all answered" is one index range
/// joined to approvals by their key), and the lease of the process resuming it.
const MIGRATE_V4: &str = "
CREATE TABLE durable_runs (
    run_id      TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    status      TEXT NOT NULL,
    state       TEXT NOT NULL,
    message     TEXT,
    lease_id    TEXT,
    lease_until BIGINT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX durable_runs_paused ON durable_runs (owner, updated_at) WHERE status = 'paused';
CREATE TABLE durable_run_approvals (
    run_id     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (run_id, request_id)
);
CREATE INDEX durable_run_approvals_by_request ON durable_run_approvals (request_id);
";

/// Version 3 gives approvals their lifecycle: when each expires, who asked for it (the
/// caller's name and the actor), its terms (a separate approver, how many approvals), the
/// approvals given so far (`approvers`, counted in `approver_count` for conditional
/// updates) and the change an approver made to the call (`arguments_change`).
const MIGRATE_V3: &str = "
ALTER TABLE approvals ADD COLUMN IF NOT EXISTS expires_at BIGINT;
ALTER TABLE approvals ADD COLUMN IF NOT EXISTS requester TEXT;
ALTER TABLE approvals ADD COLUMN IF NOT EXISTS actor TEXT;
ALTER TABLE approvals ADD COLUMN IF NOT EXISTS separate_approver BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE approvals ADD COLUMN IF NOT EXISTS required_approvals INTEGER NOT NULL DEFAULT 1;
ALTER TABLE approvals ADD COLUMN IF NOT EXISTS approvers TEXT;
ALTER TABLE approvals ADD COLUMN IF NOT EXISTS approver_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN IF NOT EXISTS arguments_change TEXT;
";

/// Version 5 keeps, beside each decision, what the shadow policy set decided (its mode,
/// and whether it agreed: null without a shadow set), and indexes the disagreements only,
/// so that listing them reads no other row.
const MIGRATE_V5: &str = "
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS shadow_mode TEXT;
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS shadow_agrees BOOLEAN;
CREATE INDEX IF NOT EXISTS decisions_shadow_disagreements ON decisions (id)
    WHERE shadow_agrees = false;
";

/// Version 6 counts the history by dimension and window: each outcome records its
/// decision's actor and system (outcomes written before have none, and are counted by
/// action and target only), and decisions and outcomes get an index on (dimension, time),
/// ending with the mode or status, so that a count reads only the index.
const MIGRATE_V6: &str = "
ALTER TABLE outcomes ADD COLUMN IF NOT EXISTS actor TEXT;
ALTER TABLE outcomes ADD COLUMN IF NOT EXISTS system TEXT;
CREATE INDEX IF NOT EXISTS decisions_by_actor_time ON decisions (actor, created_at, mode);
CREATE INDEX IF NOT EXISTS decisions_by_system_time ON decisions (system, created_at, mode);
CREATE INDEX IF NOT EXISTS decisions_by_action_time ON decisions (action, created_at, mode);
CREATE INDEX IF NOT EXISTS decisions_by_target_time ON decisions (target, created_at, mode);
CREATE INDEX IF NOT EXISTS outcomes_by_actor_time ON outcomes (actor, created_at, status);
CREATE INDEX IF NOT EXISTS outcomes_by_system_time ON outcomes (system, created_at, status);
CREATE INDEX IF NOT EXISTS outcomes_by_action_time ON outcomes (action, created_at, status);
CREATE INDEX IF NOT EXISTS outcomes_by_target_time ON outcomes (target, created_at, status);
";

/// Creates (or migrates) the tables in `schema` (the connection's search path when none).
pub(super) async fn migrate(
    client: &mut deadpool_postgres::Object,
    schema: Option<&str>,
) -> Result<(), LocalError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await?;
    }
    tx.batch_execute("CREATE TABLE IF NOT EXISTS bighub_schema (version INTEGER NOT NULL)")
        .await?;
    let version: Option<i32> = tx
        .query_one("SELECT max(version) FROM bighub_schema", &[])
        .await?
        .try_get(0)?;
    match version {
        Some(v) if v > SCHEMA_VERSION => {
            return Err(LocalError::Database(format!(
                "the database was written by a newer version (schema {v}, this build reads {SCHEMA_VERSION}); upgrade bighub-openai or use another database or schema"
            )));
        }
        Some(v) if v == SCHEMA_VERSION => {}
        older => {
            if older.is_none() {
                tx.batch_execute(SCHEMA_V1).await?;
            }
            if older.is_none_or(|v| v < 2) {
                tx.batch_execute(MIGRATE_V2).await?;
            }
            if older.is_none_or(|v| v < 3) {
                tx.batch_execute(MIGRATE_V3).await?;
            }
            if older.is_none_or(|v| v < 4) {
                tx.batch_execute(MIGRATE_V4).await?;
            }
            if older.is_none_or(|v| v < 5) {
                tx.batch_execute(MIGRATE_V5).await?;
            }
            tx.batch_execute(MIGRATE_V6).await?;
            tx.execute(
                "INSERT INTO bighub_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )
            .await?;
        }
    }
    tx.execute(
        "DELETE FROM idempotency_keys WHERE created_at <= $1",
        &[&(now_millis() - IDEMPOTENCY_TTL_MS)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
