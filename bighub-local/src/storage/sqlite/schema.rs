//! The SQLite store's schema: its tables, their versions, and migrating an older file.
//!
//! This module owns the tables as each schema version wrote them (`PRAGMA user_version`),
//! the migration of an older store when it first opens (under the write lock, so that two
//! processes opening one file migrate it once), and the row key of a decision, which the
//! schema defines ([`KEY_SLOTS`]). It does not read or write rows (`store.rs`).

use rusqlite::{Connection, TransactionBehavior};

use crate::error::LocalError;

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 9;

/// Row keys per millisecond. A decision's row key (`id`) is the millisecond it was made in
/// times this, plus its rank among the decisions of that millisecond; its request id carries
/// the same millisecond (`request_id.rs`), so an id finds its row by key, and the store keeps
/// no index of request ids (one page fewer in every commit). Keys also sort by time.
pub(super) const KEY_SLOTS: i64 = 1 << 20;

/// The columns of a decision after its key, the same in every schema version.
macro_rules! decision_columns {
    () => {
        "
    created_at       INTEGER NOT NULL,
    tool             TEXT NOT NULL,
    action           TEXT NOT NULL,
    target           TEXT NOT NULL,
    system           TEXT,
    environment      TEXT,
    risk             TEXT,
    actor            TEXT NOT NULL,
    mode             TEXT NOT NULL,
    risk_score       REAL,
    reason           TEXT,
    arguments        TEXT NOT NULL,
    arguments_sha256 TEXT NOT NULL,
    decision         TEXT NOT NULL"
    };
}

/// The columns of an approval, the same in every schema version.
macro_rules! approval_columns {
    () => {
        "
    request_id       TEXT PRIMARY KEY,
    created_at       INTEGER NOT NULL,
    tool             TEXT NOT NULL,
    action           TEXT NOT NULL,
    target           TEXT NOT NULL,
    arguments_sha256 TEXT NOT NULL,
    reason           TEXT,
    status           TEXT NOT NULL DEFAULT 'pending',
    comment          TEXT,
    resolved_by      TEXT,
    resolved_at      INTEGER,
    used             INTEGER NOT NULL DEFAULT 0,
    used_at          INTEGER
"
    };
}

/// The tables of version 1, without the two indexes version 2 drops (so that a new store
/// does not build them only to drop them); `MIGRATE_V2` follows it on every store.
pub(super) const SCHEMA_V1: &str = concat!(
    "
CREATE TABLE IF NOT EXISTS decisions (
    request_id       TEXT PRIMARY KEY,",
    decision_columns!(),
    "
);
CREATE INDEX IF NOT EXISTS decisions_by_action ON decisions (action, target, created_at);
CREATE TABLE IF NOT EXISTS outcomes (
    id                INTEGER PRIMARY KEY,
    request_id        TEXT,
    action            TEXT NOT NULL,
    target            TEXT NOT NULL,
    status            TEXT NOT NULL,
    description       TEXT,
    details           TEXT NOT NULL,
    correction_needed INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outcomes_by_action ON outcomes (action, target, created_at);
CREATE INDEX IF NOT EXISTS outcomes_by_request ON outcomes (request_id);
CREATE TABLE IF NOT EXISTS memory_events (
    id             INTEGER PRIMARY KEY,
    source         TEXT NOT NULL,
    source_version TEXT,
    actor          TEXT,
    domain         TEXT,
    model          TEXT,
    trace_id       TEXT,
    event          TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (",
    approval_columns!(),
    ");
"
);

/// Version 2 writes fewer pages per decision, since each b-tree a commit touches is one more
/// page in the log: recent decisions are listed in insertion order (rowid) instead of by a
/// time index; pending approvals, one per review, are few enough to scan; and approvals
/// live in a single b-tree keyed by request id (`WITHOUT ROWID`) rather than a table plus
/// its key's index.
pub(super) const MIGRATE_V2: &str = concat!(
    "
DROP INDEX IF EXISTS decisions_by_time;
DROP INDEX IF EXISTS approvals_by_status;
CREATE TABLE approvals_v2 (",
    approval_columns!(),
    ") WITHOUT ROWID;
INSERT INTO approvals_v2 SELECT request_id, created_at, tool, action, target,
    arguments_sha256, reason, status, comment, resolved_by, resolved_at, used, used_at
    FROM approvals;
DROP TABLE approvals;
ALTER TABLE approvals_v2 RENAME TO approvals;
"
);

/// Version 3 keys decisions by time (see [`KEY_SLOTS`]) instead of by request id, so each
/// commit updates one index fewer. Rows kept from earlier versions get their key from their
/// time in the same way, and are marked `legacy`: their request ids do not carry that time
/// (version 1 ids are random; version 2 ids were timed apart from the row), so a small
/// index, over them only, still finds them by id.
pub(super) const MIGRATE_V3: &str = concat!(
    "
CREATE TABLE decisions_v3 (
    id               INTEGER PRIMARY KEY,
    request_id       TEXT NOT NULL,",
    decision_columns!(),
    ",
    legacy           INTEGER
);
INSERT INTO decisions_v3 (id, request_id, created_at, tool, action, target, system,
    environment, risk, actor, mode, risk_score, reason, arguments, arguments_sha256, decision,
    legacy)
SELECT created_at * 1048576 + row_number() OVER (PARTITION BY created_at ORDER BY rowid) - 1,
    request_id, created_at, tool, action, target, system, environment, risk, actor, mode,
    risk_score, reason, arguments, arguments_sha256, decision, 1
FROM decisions;
DROP TABLE decisions;
ALTER TABLE decisions_v3 RENAME TO decisions;
CREATE INDEX decisions_by_action ON decisions (action, target, created_at);
CREATE UNIQUE INDEX decisions_by_legacy_id ON decisions (request_id) WHERE legacy IS NOT NULL;
"
);

const _: () = assert!(KEY_SLOTS == 1_048_576, "MIGRATE_V3 spells KEY_SLOTS out");

/// Version 4 records who asked (the server's name for the API key; none in-process) with
/// decisions, outcomes and memory events, and keeps idempotency keys: a retried request
/// finds the decision its first attempt made, instead of making a second one.
const MIGRATE_V4: &str = "
ALTER TABLE decisions ADD COLUMN caller TEXT;
ALTER TABLE outcomes ADD COLUMN caller TEXT;
ALTER TABLE memory_events ADD COLUMN caller TEXT;
CREATE TABLE idempotency_keys (
    caller         TEXT NOT NULL,
    key            TEXT NOT NULL,
    action_sha256  TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (caller, key)
) WITHOUT ROWID;
";

/// Version 5 records who resolved an approval as authenticated (`resolver`: the server's
/// name for the API key, the CLI's operator), beside the resolution's own `resolved_by`,
/// and keeps the arguments an approval is asked for (redacted, as the decision recorded
/// them), so that whoever lists approvals sees what they approve.
const MIGRATE_V5: &str = "
ALTER TABLE approvals ADD COLUMN resolver TEXT;
ALTER TABLE approvals ADD COLUMN arguments TEXT;
";

/// Version 6 gives approvals their lifecycle: when each expires, who asked for it (the
/// caller's name and the actor), its terms (a separate approver, how many approvals), the
/// approvals given so far (`approvers`, counted in `approver_count` for conditional
/// updates) and the change an approver made to the call (`arguments_change`).
const MIGRATE_V6: &str = "
ALTER TABLE approvals ADD COLUMN expires_at INTEGER;
ALTER TABLE approvals ADD COLUMN requester TEXT;
ALTER TABLE approvals ADD COLUMN actor TEXT;
ALTER TABLE approvals ADD COLUMN separate_approver INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN required_approvals INTEGER NOT NULL DEFAULT 1;
ALTER TABLE approvals ADD COLUMN approvers TEXT;
ALTER TABLE approvals ADD COLUMN approver_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN arguments_change TEXT;
";

/// Version 7 keeps durable runs: a paused run's state beside the approvals it waits for
/// (`durable_run_approvals`, keyed by run so that "are they all answered" is a range of one
/// index joined to approvals by their key), and the lease of the process resuming it.
const MIGRATE_V7: &str = "
CREATE TABLE durable_runs (
    run_id      TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    status      TEXT NOT NULL,
    state       TEXT NOT NULL,
    message     TEXT,
    lease_id    TEXT,
    lease_until INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX durable_runs_paused ON durable_runs (owner, updated_at) WHERE status = 'paused';
CREATE TABLE durable_run_approvals (
    run_id     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (run_id, request_id)
) WITHOUT ROWID;
CREATE INDEX durable_run_approvals_by_request ON durable_run_approvals (request_id);
";

/// Version 8 keeps, beside each decision, what the shadow policy set decided (its mode,
/// and whether it agreed: null without a shadow set), and indexes the disagreements only,
/// so that listing them reads no other row and a decision that agrees writes no index
/// page.
const MIGRATE_V8: &str = "
ALTER TABLE decisions ADD COLUMN shadow_mode TEXT;
ALTER TABLE decisions ADD COLUMN shadow_agrees INTEGER;
CREATE INDEX decisions_shadow_disagreements ON decisions (id) WHERE shadow_agrees = 0;
";

/// Version 9 counts the history by dimension and window: each outcome records its
/// decision's actor and system (outcomes written before have none, and are counted by
/// action and target only), and decisions and outcomes get an index on (dimension, time),
/// ending with the mode or status, so that a count reads only the index.
const MIGRATE_V9: &str = "
ALTER TABLE outcomes ADD COLUMN actor TEXT;
ALTER TABLE outcomes ADD COLUMN system TEXT;
CREATE INDEX decisions_by_actor_time ON decisions (actor, created_at, mode);
CREATE INDEX decisions_by_system_time ON decisions (system, created_at, mode);
CREATE INDEX decisions_by_action_time ON decisions (action, created_at, mode);
CREATE INDEX decisions_by_target_time ON decisions (target, created_at, mode);
CREATE INDEX outcomes_by_actor_time ON outcomes (actor, created_at, status);
CREATE INDEX outcomes_by_system_time ON outcomes (system, created_at, status);
CREATE INDEX outcomes_by_action_time ON outcomes (action, created_at, status);
CREATE INDEX outcomes_by_target_time ON outcomes (target, created_at, status);
";

/// Migrates the store to [`SCHEMA_VERSION`], creating it when empty.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), LocalError> {
    if schema_version(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    // Read again under the write lock: another process opening the same store may have
    // migrated it meanwhile, and migrating twice would mark its new rows as old.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = schema_version(&tx)?;
    if version < SCHEMA_VERSION {
        // Moving an older store's decisions to keys by time rewrites them all once:
        // about five seconds per hundred thousand decisions.
        let _span =
            tracing::info_span!("bighub.store.migrate", from = version, to = SCHEMA_VERSION)
                .entered();
        if version > 0 {
            tracing::info!(
                from = version,
                to = SCHEMA_VERSION,
                "migrating the local store; this rewrites its decisions once"
            );
        }
        if version < 1 {
            tx.execute_batch(SCHEMA_V1)?;
        }
        if version < 2 {
            tx.execute_batch(MIGRATE_V2)?;
        }
        if version < 3 {
            tx.execute_batch(MIGRATE_V3)?;
        }
        if version < 4 {
            tx.execute_batch(MIGRATE_V4)?;
        }
        if version < 5 {
            tx.execute_batch(MIGRATE_V5)?;
        }
        if version < 6 {
            tx.execute_batch(MIGRATE_V6)?;
        }
        if version < 7 {
            tx.execute_batch(MIGRATE_V7)?;
        }
        if version < 8 {
            tx.execute_batch(MIGRATE_V8)?;
        }
        tx.execute_batch(MIGRATE_V9)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}

/// The store's schema version; an error when a newer build wrote it.
fn schema_version(conn: &Connection) -> Result<i64, LocalError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(LocalError::Config(format!(
            "the store was written by a newer version (schema {version}, this build reads {SCHEMA_VERSION}); upgrade bighub-openai or use another BIGHUB_DB"
        )));
    }
    Ok(version)
}

/// The first row key of millisecond `ms`.
pub(super) fn first_key(ms: i64) -> i64 {
    ms.saturating_mul(KEY_SLOTS)
}
