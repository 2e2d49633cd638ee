//! The PostgreSQL store (feature `postgres`): the same records and rules as the SQLite
//! store, in a database that any number of engines and decision servers share.
//!
//! This module owns the connection pool and its runtime, and the statements behind
//! [`Storage`] for decisions, outcomes, memory events and history. Inside it, `schema.rs`
//! owns the tables and their migrations (on open, under an advisory lock so that servers
//! starting together migrate once), `approvals.rs` resolving and consuming approvals,
//! `decision_log.rs` the log's pages and whole decisions for people,
//! `error.rs` how the driver's errors become [`LocalError`]s, and `tls.rs` TLS as libpq
//! users configure it. What must hold across processes is decided by the database: an
//! approval is resolved and consumed by conditional updates, so of any number of
//! concurrent callers on any number of machines exactly one succeeds; an idempotency key
//! is taken by `INSERT ... ON CONFLICT`, in the decision's own transaction.
//!
//! A decision costs two round trips once a connection has prepared its statements (each
//! is prepared once per pooled connection): the history's reads, sent together and
//! pipelined, and the write, one statement that inserts the decision and its pending
//! approval (an idempotency key adds the transaction around the key and that statement).
//!
//! # Blocking over an async driver
//!
//! The engine's API is synchronous, the driver (`tokio-postgres`, pooled by
//! `deadpool-postgres`) asynchronous. The store owns a small Tokio runtime (two threads)
//! that drives its connections; each call enters that runtime's context and waits for its
//! statements on the calling thread. So the engine works the same from synchronous code
//! (the CLI), from any async runtime, or from none, and one call holds one pooled
//! connection for the time of its statements. An async caller on a busy runtime should
//! call the engine from a blocking pool (the decision server does).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde_json::Value;
use tokio_postgres::types::ToSql;

use bighub_core::durable::{ClaimedRun, PausedRun, RunCompletion};
use bighub_core::{MemoryBatch, OutcomeReport};

use crate::clock::format_rfc3339;
use crate::error::LocalError;
use crate::input::History;
use crate::redact::redact_value;
use crate::storage::durable_runs::DurableRunStorage;
use crate::storage::history::{
    self, CountRow, DAY_MS, HistoryRequest, MAX_PRECEDENTS, Param, Placeholders, RECENT_DECISIONS,
    RecentEntry, RecentOutcome, Statement, TargetOutcome, summarize,
};
use crate::storage::{
    Answer, ApprovalRecord, DatabaseTimeouts, DecisionDetail, DecisionPage, DecisionQuery,
    DecisionRecord, IDEMPOTENCY_TTL_MS, IdempotencyClaim, IdempotentHit, NewApproval, NewDecision,
    Storage, StoredDecision,
};

mod approvals;
mod decision_log;
mod durable_runs;
mod error;
mod schema;
mod shadow_log;
mod tls;

use tls::TlsSettings;

/// Connections per store.
const POOL_SIZE: usize = 16;

/// How often a silent connection is probed, once it has been idle for the call limit.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// The PostgreSQL store; see the [module documentation](self).
pub(crate) struct Postgres {
    pool: Pool,
    /// How long one call may take, whatever the database does.
    call_timeout: Duration,
    /// Drives the pool's connections; shut down in the background on drop, which is
    /// allowed from inside another runtime.
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres")
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A database URL for messages: user, hosts, port and database, never the password.
pub(crate) fn describe_url(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(c) => {
            let hosts: Vec<String> = c
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    #[cfg(unix)]
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            let port = c
                .get_ports()
                .first()
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            format!(
                "postgres://{}@{}{port}/{}",
                c.get_user().unwrap_or(""),
                hosts.join(","),
                c.get_dbname().unwrap_or("")
            )
        }
        Err(_) => "postgres://(unreadable URL)".to_owned(),
    }
}

/// Whether `schema` is a plain lower-case SQL identifier (it is spliced into statements).
fn valid_schema(schema: &str) -> bool {
    let mut chars = schema.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63
}

impl Postgres {
    /// Connects to `url` (a `postgres://` URL or `key=value` settings, with libpq's
    /// `sslmode` and `sslrootcert`; see `tls.rs`), in `schema` (created when
    /// missing; default the role's search path), within `timeouts`, and migrates the
    /// schema.
    pub(crate) fn open(
        url: &str,
        schema: Option<&str>,
        timeouts: &DatabaseTimeouts,
    ) -> Result<Self, LocalError> {
        let (url, tls) = TlsSettings::take_from_url(url, |name| std::env::var(name).ok())?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| LocalError::Database(format!("invalid database URL: {e}")))?;
        let mut options: Vec<String> = config
            .get_options()
            .map(str::to_owned)
            .into_iter()
            .collect();
        if let Some(schema) = schema {
            if !valid_schema(schema) {
                return Err(LocalError::Database(format!(
                    "invalid database schema name `{}`: use lower-case letters, digits and _",
                    schema.escape_debug()
                )));
            }
            options.push(format!("-c search_path={schema}"));
        }
        // A URL that sets its own (`options=-c statement_timeout=...`, as for libpq) keeps it.
        if !options.iter().any(|o| o.contains("statement_timeout")) {
            options.push(format!(
                "-c statement_timeout={}",
                timeouts.statement.as_millis().max(1)
            ));
        }
        config.options(options.join(" "));
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(timeouts.connect);
        }
        // A peer that stops acknowledging (a vanished host) closes the connection instead
        // of leaving it in the pool.
        config
            .tcp_user_timeout(timeouts.call)
            .keepalives(true)
            .keepalives_idle(timeouts.call)
            .keepalives_interval(KEEPALIVE_INTERVAL)
            .keepalives_retries(3);
        config.ssl_mode(tls.driver_mode());
        let connector = tls.connector()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bighub-postgres")
            .enable_all()
            .build()
            .map_err(|e| LocalError::Database(format!("cannot start the store's runtime: {e}")))?;
        let manager = Manager::from_config(
            config,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _context = runtime.enter();
            Pool::builder(manager)
                .max_size(POOL_SIZE)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(timeouts.pool_wait))
                .create_timeout(Some(timeouts.connect))
                .recycle_timeout(Some(timeouts.connect))
                .build()
                .map_err(|e| LocalError::Database(format!("cannot build the pool: {e}")))?
        };
        let store = Self {
            pool,
            call_timeout: timeouts.call,
            runtime: Some(runtime),
        };
        store.block(async { schema::migrate(&mut store.client().await?, schema).await })?;
        Ok(store)
    }

    /// Runs `work` to completion on this thread, inside the store's runtime context.
    fn block<T>(&self, work: impl Future<Output = Result<T, LocalError>>) -> Result<T, LocalError> {
        let Some(runtime) = &self.runtime else {
            return Err(LocalError::Database("the store is closed".to_owned()));
        };
        let _context = runtime.enter();
        let limit = self.call_timeout;
        futures::executor::block_on(async {
            tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                Err(LocalError::Database(format!(
                    "the database did not answer within {limit:?}"
                )))
            })
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, LocalError> {
        Ok(self.pool.get().await?)
    }

    async fn hit(
        &self,
        caller: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<IdempotentHit>, LocalError> {
        let client = self.client().await?;
        let rows = query_cached(
            &client,
            "SELECT k.action_sha256, d.decision FROM idempotency_keys k
             JOIN decisions d ON d.request_id = k.request_id
             WHERE k.caller = $1 AND k.key = $2 AND k.created_at > $3",
            &[&caller, &key, &(now_ms - IDEMPOTENCY_TTL_MS)],
        )
        .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let text: String = row.try_get(1)?;
        Ok(Some(IdempotentHit {
            action_sha256: row.try_get(0)?,
            decision: serde_json::from_str(&text)?,
        }))
    }

    async fn insert_decision_async(
        &self,
        d: &NewDecision<'_>,
        approval: Option<&NewApproval<'_>>,
        idempotency: Option<&IdempotencyClaim<'_>>,
    ) -> Result<Option<IdempotentHit>, LocalError> {
        let arguments = serde_json::to_string(d.arguments)?;
        let decision = serde_json::to_string(d.decision)?;
        let mut client = self.client().await?;
        let Some(claim) = idempotency else {
            // One statement, so atomic without a transaction: one round trip.
            let insert = client.prepare_cached(INSERT_DECISION).await?;
            client
                .execute(
                    &insert,
                    &decision_params(d, &arguments, &decision, approval).refs(),
                )
                .await?;
            return Ok(None);
        };
        let tx = client.transaction().await?;
        let expired = d.created_at - IDEMPOTENCY_TTL_MS;
        let claim_key = tx
            .prepare_cached(
                // An expired key is taken over; a live one stays with its request (a
                // concurrent insert of the same key waits for that request's commit).
                "INSERT INTO idempotency_keys (caller, key, action_sha256, request_id, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (caller, key) DO UPDATE SET action_sha256 = EXCLUDED.action_sha256,
                    request_id = EXCLUDED.request_id, created_at = EXCLUDED.created_at
                 WHERE idempotency_keys.created_at <= $6",
            )
            .await?;
        let taken = tx
            .execute(
                &claim_key,
                &[
                    &claim.caller,
                    &claim.key,
                    &claim.action_sha256,
                    &d.request_id,
                    &d.created_at,
                    &expired,
                ],
            )
            .await?;
        if taken == 0 {
            tx.rollback().await?;
            drop(client);
            return self
                .hit(claim.caller, claim.key, d.created_at)
                .await?
                .map(Some)
                .ok_or_else(|| {
                    LocalError::Database(
                        "an idempotency key was taken and then expired during one request"
                            .to_owned(),
                    )
                });
        }
        let insert = tx.prepare_cached(INSERT_DECISION).await?;
        tx.execute(
            &insert,
            &decision_params(d, &arguments, &decision, approval).refs(),
        )
        .await?;
        tx.commit().await?;
        Ok(None)
    }

    async fn history_async(
        &self,
        request: &HistoryRequest<'_>,
    ) -> Result<(History, u64), LocalError> {
        let (action, target) = (request.action, request.target);
        let since = request.now_ms - DAY_MS;
        let client = self.client().await?;
        let p_recent: [&(dyn ToSql + Sync); 3] = [&action, &target, &RECENT_DECISIONS];
        let p_count: [&(dyn ToSql + Sync); 3] = [&action, &target, &MAX_PRECEDENTS];
        let p_outcomes: [&(dyn ToSql + Sync); 3] = [&action, &target, &since];
        let windows = history::window_counts(request, Placeholders::Postgres);
        let limits = history::limit_counts(request, Placeholders::Postgres);
        let last = history::target_outcomes(request, Placeholders::Postgres);
        // Sent together, each statement prepared once per connection: the connection
        // pipelines them, so the whole history is one round trip.
        let (recent, count, outcomes, window_rows, limit_rows, last_rows) = futures::try_join!(
            query_cached(
                &client,
                "SELECT request_id, mode, created_at FROM decisions
                 WHERE action = $1 AND target = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
                &p_recent,
            ),
            query_cached(
                &client,
                "SELECT COUNT(*) FROM (SELECT 1 FROM decisions WHERE action = $1 AND target = $2
                 LIMIT $3) AS capped",
                &p_count,
            ),
            query_cached(
                &client,
                "SELECT id, created_at, status, request_id, description FROM outcomes
                 WHERE action = $1 AND target = $2 AND created_at >= $3 ORDER BY id",
                &p_outcomes,
            ),
            query_statement(&client, windows.as_ref()),
            query_statement(&client, limits.as_ref()),
            query_statement(&client, last.as_ref()),
        )?;
        let recent = recent
            .iter()
            .map(|r| {
                let at: i64 = r.try_get(2)?;
                Ok((
                    at,
                    serde_json::json!({
                        "request_id": r.try_get::<_, String>(0)?,
                        "mode": r.try_get::<_, String>(1)?,
                        "at": format_rfc3339(at),
                    }),
                ))
            })
            .collect::<Result<Vec<_>, LocalError>>()?;
        let outcomes = outcomes
            .iter()
            .map(|r| {
                Ok(RecentOutcome {
                    id: r.try_get(0)?,
                    created_at: r.try_get(1)?,
                    status: r.try_get(2)?,
                    request_id: r.try_get(3)?,
                    description: r.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, LocalError>>()?;
        let count = count
            .first()
            .ok_or_else(|| LocalError::Database("COUNT(*) answered no row".to_owned()))?
            .try_get(0)?;
        let entry = RecentEntry {
            recent,
            count,
            outcomes,
            outcomes_since: since,
        };
        let (mut history, precedents) = summarize(&entry);
        let last = last_rows
            .iter()
            .map(|r| {
                Ok(TargetOutcome {
                    id: r.try_get(0)?,
                    action: r.try_get(1)?,
                    status: r.try_get(2)?,
                    request_id: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, LocalError>>()?;
        history::add_counts(
            &mut history,
            request,
            &count_rows(&window_rows)?,
            &count_rows(&limit_rows)?,
            last,
        );
        Ok((history, precedents))
    }

    async fn insert_outcome_async(
        &self,
        report: &OutcomeReport,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<(), LocalError> {
        let details = redact_value(&Value::Object(report.details.clone()), &[]);
        let client = self.client().await?;
        let (action, target, actor, system): (String, String, Option<String>, Option<String>) =
            match &report.request_id {
                Some(id) => {
                    let row = query_cached(
                        &client,
                        "SELECT action, target, actor, system FROM decisions WHERE request_id = $1",
                        &[id],
                    )
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| LocalError::DecisionNotFound(id.clone()))?;
                    (
                        row.try_get(0)?,
                        row.try_get(1)?,
                        row.try_get(2)?,
                        row.try_get(3)?,
                    )
                }
                None => crate::storage::outcome_subject_from_details(&details)?,
            };
        let insert = client
            .prepare_cached(
                "INSERT INTO outcomes (request_id, action, target, status, description, details,
                    correction_needed, created_at, caller, actor, system)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .await?;
        client
            .execute(
                &insert,
                &[
                    &report.request_id,
                    &action,
                    &target,
                    &report.status.as_str(),
                    &report.description,
                    &details.to_string(),
                    &report.correction_needed,
                    &now_ms,
                    &caller,
                    &actor,
                    &system,
                ],
            )
            .await?;
        Ok(())
    }

    async fn insert_memory_async(
        &self,
        batch: &MemoryBatch,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<usize, LocalError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO memory_events (source, source_version, actor, domain, model,
                    trace_id, event, created_at, caller)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .await?;
        for event in &batch.events {
            tx.execute(
                &insert,
                &[
                    &batch.source,
                    &batch.source_version,
                    &batch.actor,
                    &batch.domain,
                    &batch.model,
                    &batch.trace_id,
                    &redact_value(event, &[]).to_string(),
                    &now_ms,
                    &caller,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(batch.events.len())
    }

    async fn recent_decisions_async(
        &self,
        limit: usize,
    ) -> Result<Vec<DecisionRecord>, LocalError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &format!(
                    "SELECT {} FROM decisions ORDER BY id DESC LIMIT $1",
                    decision_log::COLUMNS
                ),
                &[&limit],
            )
            .await?;
        let mut out = rows
            .iter()
            .map(|r| decision_log::record_from_row(r).map(|(_, record, _)| record))
            .collect::<Result<Vec<_>, LocalError>>()?;
        decision_log::attach_outcomes(&client, &mut out).await?;
        Ok(out)
    }

    async fn decisions_before_async(
        &self,
        since_ms: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredDecision>, LocalError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, request_id, created_at, tool, action, target, system, environment,
                        risk, actor, mode, arguments, decision
                 FROM decisions WHERE created_at >= $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                &[
                    &since_ms.max(0),
                    &before.unwrap_or(i64::MAX),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        rows.iter().map(stored_from_row).collect()
    }

    async fn stored_decision_async(
        &self,
        request_id: &str,
    ) -> Result<Option<StoredDecision>, LocalError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, request_id, created_at, tool, action, target, system, environment,
                        risk, actor, mode, arguments, decision
                 FROM decisions WHERE request_id = $1",
                &[&request_id],
            )
            .await?;
        row.as_ref().map(stored_from_row).transpose()
    }
}

/// Writes a decision and, when `$21` is true, its pending approval: one statement, so both
/// or neither are written.
const INSERT_DECISION: &str = "WITH d AS (
    INSERT INTO decisions (request_id, created_at, tool, action, target, system, environment,
        risk, actor, mode, risk_score, reason, arguments, arguments_sha256, decision, caller,
        shadow_mode, shadow_agrees)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $22, $23)
    RETURNING request_id
)
INSERT INTO approvals (request_id, created_at, tool, action, target, arguments_sha256, reason,
    arguments, expires_at, requester, actor, separate_approver, required_approvals, approvers)
SELECT d.request_id, $2, $3, $4, $5, $14, $17, $13, $18, $16, $9, $19, $20, '[]'
FROM d WHERE $21::boolean";

/// The parameters of [`INSERT_DECISION`], owned for the time of the statement.
struct DecisionParams<'a> {
    d: &'a NewDecision<'a>,
    arguments: &'a str,
    decision: &'a str,
    reason: &'a str,
    expires_at: i64,
    separate_approver: bool,
    required_approvals: i32,
    with_approval: bool,
}

fn decision_params<'a>(
    d: &'a NewDecision<'a>,
    arguments: &'a str,
    decision: &'a str,
    approval: Option<&'a NewApproval<'a>>,
) -> DecisionParams<'a> {
    DecisionParams {
        d,
        arguments,
        decision,
        reason: approval.map_or("", |a| a.reason),
        expires_at: approval.map_or(0, |a| a.expires_at),
        separate_approver: approval.is_some_and(|a| a.separate_approver),
        required_approvals: approval
            .map_or(1, |a| i32::try_from(a.required_approvals).unwrap_or(1)),
        with_approval: approval.is_some(),
    }
}

impl DecisionParams<'_> {
    fn refs(&self) -> [&(dyn ToSql + Sync); 23] {
        let d = self.d;
        [
            &d.request_id,
            &d.created_at,
            &d.tool,
            &d.action,
            &d.target,
            &d.system,
            &d.environment,
            &d.risk,
            &d.actor,
            &d.mode,
            &d.risk_score,
            &d.reason,
            &self.arguments,
            &d.arguments_sha256,
            &self.decision,
            &d.caller,
            &self.reason,
            &self.expires_at,
            &self.separate_approver,
            &self.required_approvals,
            &self.with_approval,
            &d.shadow_mode,
            &d.shadow_agrees,
        ]
    }
}

/// Runs `sql` as a statement prepared once per connection (the pool's statement cache).
async fn query_cached(
    client: &deadpool_postgres::Object,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, LocalError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

/// Runs a history statement built in `history.rs` (no rows without one).
async fn query_statement(
    client: &deadpool_postgres::Object,
    statement: Option<&Statement<'_>>,
) -> Result<Vec<tokio_postgres::Row>, LocalError> {
    let Some(st) = statement else {
        return Ok(Vec::new());
    };
    let params: Vec<&(dyn ToSql + Sync)> = st
        .params
        .iter()
        .map(|p| -> &(dyn ToSql + Sync) {
            match p {
                Param::Text(t) => t,
                Param::Int(n) => n,
            }
        })
        .collect();
    query_cached(client, &st.sql, &params).await
}

/// The rows of a counting statement: part, key, then one count per column.
fn count_rows(rows: &[tokio_postgres::Row]) -> Result<Vec<CountRow>, LocalError> {
    rows.iter()
        .map(|r| {
            Ok(CountRow {
                part: r.try_get(0)?,
                key: r.try_get(1)?,
                counts: (2..r.len())
                    .map(|i| {
                        r.try_get::<_, Option<i64>>(i)
                            .map(Option::unwrap_or_default)
                    })
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}

/// A decision row as `decisions_before_async` and `stored_decision_async` select it.
fn stored_from_row(r: &tokio_postgres::Row) -> Result<StoredDecision, LocalError> {
    Ok(StoredDecision {
        key: r.try_get(0)?,
        request_id: r.try_get(1)?,
        created_at: r.try_get(2)?,
        tool: r.try_get(3)?,
        action: r.try_get(4)?,
        target: r.try_get(5)?,
        system: r.try_get(6)?,
        environment: r.try_get(7)?,
        risk: r.try_get(8)?,
        actor: r.try_get(9)?,
        mode: r.try_get(10)?,
        arguments: r.try_get(11)?,
        decision: r.try_get(12)?,
    })
}

impl DurableRunStorage for Postgres {
    fn save_run(&self, owner: &str, run: &PausedRun, now_ms: i64) -> Result<(), LocalError> {
        self.block(async {
            let mut client = self.client().await?;
            durable_runs::save(&mut client, owner, run, now_ms).await
        })
    }

    fn claim_runs(
        &self,
        owner: &str,
        lease_id: &str,
        lease_until_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedRun>, LocalError> {
        self.block(async {
            let client = self.client().await?;
            durable_runs::claim(&client, owner, lease_id, lease_until_ms, now_ms, limit).await
        })
    }

    fn complete_run(
        &self,
        owner: &str,
        run_id: &str,
        lease_id: &str,
        completion: &RunCompletion,
        now_ms: i64,
    ) -> Result<(), LocalError> {
        self.block(async {
            let mut client = self.client().await?;
            durable_runs::complete(&mut client, owner, run_id, lease_id, completion, now_ms).await
        })
    }
}

impl Storage for Postgres {
    fn history(&self, request: &HistoryRequest<'_>) -> Result<(History, u64), LocalError> {
        self.block(self.history_async(request))
    }

    fn insert_decision(
        &self,
        decision: &NewDecision<'_>,
        approval: Option<&NewApproval<'_>>,
        idempotency: Option<&IdempotencyClaim<'_>>,
    ) -> Result<Option<IdempotentHit>, LocalError> {
        self.block(self.insert_decision_async(decision, approval, idempotency))
    }

    fn idempotent_hit(
        &self,
        caller: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<IdempotentHit>, LocalError> {
        self.block(self.hit(caller, key, now_ms))
    }

    fn insert_outcome(
        &self,
        report: &OutcomeReport,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<(), LocalError> {
        self.block(self.insert_outcome_async(report, caller, now_ms))
    }

    fn insert_memory(
        &self,
        batch: &MemoryBatch,
        caller: Option<&str>,
        now_ms: i64,
    ) -> Result<usize, LocalError> {
        self.block(self.insert_memory_async(batch, caller, now_ms))
    }

    fn recent_decisions(&self, limit: usize) -> Result<Vec<DecisionRecord>, LocalError> {
        self.block(self.recent_decisions_async(limit))
    }

    fn decision(&self, request_id: &str) -> Result<Option<DecisionDetail>, LocalError> {
        self.block(async { decision_log::get(&self.client().await?, request_id).await })
    }

    fn decision_log(&self, query: &DecisionQuery) -> Result<DecisionPage, LocalError> {
        self.block(async { decision_log::page(&self.client().await?, query).await })
    }

    fn shadow_disagreements(
        &self,
        limit: usize,
    ) -> Result<Vec<crate::storage::ShadowDisagreement>, LocalError> {
        self.block(async { shadow_log::list(&self.client().await?, limit).await })
    }

    fn decisions_before(
        &self,
        since_ms: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredDecision>, LocalError> {
        self.block(self.decisions_before_async(since_ms, before, limit))
    }

    fn stored_decision(&self, request_id: &str) -> Result<Option<StoredDecision>, LocalError> {
        self.block(self.stored_decision_async(request_id))
    }

    fn approval(&self, request_id: &str) -> Result<Option<ApprovalRecord>, LocalError> {
        self.block(async { approvals::get(&self.client().await?, request_id).await })
    }

    fn pending_approvals(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<ApprovalRecord>, LocalError> {
        self.block(async { approvals::list(&self.client().await?, Some(now_ms), limit).await })
    }

    fn all_approvals(&self, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError> {
        self.block(async { approvals::list(&self.client().await?, None, limit).await })
    }

    fn pending_count(&self, now_ms: i64) -> Result<u64, LocalError> {
        self.block(async { approvals::pending_count(&self.client().await?, now_ms).await })
    }

    fn resolve(&self, request_id: &str, answer: &Answer<'_>) -> Result<ApprovalRecord, LocalError> {
        self.block(async {
            let client = self.client().await?;
            approvals::resolve(&client, request_id, answer).await
        })
    }

    fn expire_due(&self, now_ms: i64, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError> {
        self.block(async {
            let client = self.client().await?;
            approvals::expire_due(&client, now_ms, limit).await
        })
    }

    fn consume(&self, request_id: &str, now_ms: i64) -> Result<ApprovalRecord, LocalError> {
        self.block(async {
            let client = self.client().await?;
            approvals::consume(&client, request_id, now_ms).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_described_without_their_password() {
        let d = describe_url("postgres://bighub:s3cret@db.internal:5433/decisions");
        assert_eq!(d, "postgres://bighub@db.internal:5433/decisions");
        let d = describe_url("host=/run/postgresql user=me password=s3cret dbname=x");
        assert!(!d.contains("s3cret"), "{d}");
        assert!(valid_schema("bighub_1"));
        assert!(!valid_schema("x; DROP TABLE decisions"));
        assert!(!valid_schema("Upper"));
    }
}
