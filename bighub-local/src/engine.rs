//! [`LocalEngine`], the embedded decision engine, and its builder.
//!
//! This module owns the flow of one decision (history from the store, input, policy,
//! engine fields, persistence, approval) and the engine's public API. Policy compilation
//! lives in `policy.rs`, the store and its approvals in `storage/`, replaying in
//! `replay.rs`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use bighub_core::{
    ApprovalClaim, ApprovalResolution, Decision, DecisionEngine, MemoryBatch, OutcomeReport,
    ProposedAction, RiskLevel,
};

use crate::answer::complete;
use crate::approval_terms::ApprovalTerms;
use crate::clock::Clock;
use crate::config::PolicyConfig;
use crate::context::{ContextProviders, ContextSnapshot, Prepared};
use crate::convert::object;
use crate::decision_logs::{DecisionLogs, entrypoint_path};
use crate::error::LocalError;
use crate::input::{DecisionExtras, History, build_input};
use crate::policy_reload::{PolicyRecipe, PolicySlot};
use crate::policy_source::{DEFAULT_ENTRYPOINT, Source};
use crate::policy_tests::{self, PolicyTestResult};
use crate::replay::{self, ReplayOptions, ReplayReport};
use crate::request_id::new_request_id;
use crate::storage::history::HistoryRequest;
use crate::storage::sqlite::{Sqlite, StoreLocation, describe};
use crate::storage::{
    DatabaseTimeouts, DecisionDetail, DecisionPage, DecisionQuery, DecisionRecord,
    IdempotencyClaim, IdempotentHit, NewApproval, NewDecision, Storage, storable,
};
use bighub_core::digest::canonical_sha256;

/// The embedded local decision engine: Rego policies evaluated in-process, a SQLite store
/// (or a shared PostgreSQL one).
///
/// It is the default engine when no BIGHUB API key is configured, and works offline. Build
/// it with [`LocalEngine::builder`] or from the environment with [`LocalEngine::from_env`];
/// policy errors are reported by `build`, with their file and line.
///
/// ```
/// use bighub_core::{DecisionEngine, Mode, ProposedAction, RiskLevel};
/// use bighub_local::LocalEngine;
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = LocalEngine::builder().in_memory().build()?;
///
/// let grant = ProposedAction::new("grant_access")
///     .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
///     .system("okta")
///     .risk(RiskLevel::High)
///     .environment("production")
///     .target("okta-admins");
/// let decision = engine.evaluate(&grant).await?;
/// assert_eq!(decision.mode, Some(Mode::Review));
/// assert!(decision.better_action.as_deref().unwrap().contains("2h instead of 48h"));
///
/// // A review leaves a pending approval bound to these exact arguments.
/// let pending = engine.pending_approvals()?;
/// assert_eq!(pending.len(), 1);
/// assert_eq!(Some(&pending[0].request_id), decision.request_id.as_ref());
/// # Ok(())
/// # }
/// ```
///
/// # Concurrency
///
/// The engine is `Send + Sync` and meant to be shared (`Arc`). Policy evaluation needs no
/// lock beyond taking the set in force (an `Arc` cloned under a read lock, which a
/// reload holds for writing only to swap it). The SQLite connection sits behind a mutex; its statements are short (indexed reads,
/// one small transaction per decision, WAL mode) and run inline on the calling task rather
/// than through `spawn_blocking`, whose hand-off costs more than the work it would move.
///
/// With a PostgreSQL store ([`LocalEngineBuilder::database_url`], feature `postgres`) the
/// methods stay synchronous: the store drives its pooled connections on a small runtime of
/// its own and each call waits for its statements (a few milliseconds per decision: the
/// history's reads, each prepared once per connection, pipelined in one round trip; then
/// the decision and its approval written by one statement, or with an idempotency key in
/// one transaction). The async [`DecisionEngine`] methods
/// wait the same way, on the calling thread; a server that must not hold a runtime thread
/// meanwhile calls the engine from a blocking pool, as `bighub-server` does. Approvals
/// resolve and run at most once across every engine on the database.
pub struct LocalEngine {
    /// The enforced policy set, swapped whole by a reload (`policy_reload.rs`).
    pub(crate) policies: Arc<PolicySlot>,
    /// The shadow policy set, decided beside the enforced one and never enforced.
    pub(crate) shadow: Option<Arc<PolicySlot>>,
    store: Box<dyn Storage>,
    /// Where the store is, for `Debug` (a database URL without its password).
    store_name: String,
    /// What each decision fetches before it is made (none by default).
    context: ContextProviders,
    /// The time decisions and approvals are recorded at.
    clock: Clock,
    /// Where each recorded decision is logged, with the entry point as a record's `path`.
    decision_logs: Option<(DecisionLogs, Arc<str>)>,
    /// Held from reading a rate limit's count to recording the decision, so that calls
    /// decided at once in this process (a model's parallel tool calls, a server's
    /// concurrent requests) each see the ones before them.
    counted_decisions: std::sync::Mutex<()>,
}

impl fmt::Debug for LocalEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEngine")
            .field("store", &self.store_name)
            .field("policy", &self.policies.current().set)
            .field(
                "shadow",
                &self
                    .shadow
                    .as_ref()
                    .map(|s| s.current().set.sha256().to_owned()),
            )
            .field("context", &self.context.names())
            .field(
                "decision_logs",
                &self
                    .decision_logs
                    .as_ref()
                    .map(|(logs, _)| logs.destination()),
            )
            .finish()
    }
}

/// Builds a [`LocalEngine`]: where the store lives, which policies and data to load.
///
/// ```
/// use bighub_local::LocalEngine;
/// use serde_json::json;
///
/// let engine = LocalEngine::builder()
///     .in_memory()
///     // Configure the default policy with data, no Rego needed.
///     .config(json!({"max_privilege_duration": "4h", "kill_switch": {"systems": ["argocd"]}}))
///     // Extend it with Rego.
///     .policy("no_friday.rego", r#"
///         package bighub.ext
///         import rego.v1
///         findings contains {"rule": "no_terraform_on_weekends", "mode": "review",
///                            "reason": "Terraform changes wait for Monday."} if {
///             input.action.system == "terraform"
///             input.now.unix > 0
///             false
///         }
///     "#)
///     .build()
///     .unwrap();
/// # let _ = engine;
/// ```
#[derive(Debug, Clone)]
pub struct LocalEngineBuilder {
    location: Option<StoreLocation>,
    database_url: Option<String>,
    database_schema: Option<String>,
    database_timeouts: DatabaseTimeouts,
    include_default: bool,
    entrypoint: String,
    paths: Vec<PathBuf>,
    inline: Vec<(String, String)>,
    data: Vec<Value>,
    config: Vec<Value>,
    context: Option<ContextProviders>,
    context_file: Option<PathBuf>,
    clock: Clock,
    shadow_paths: Vec<PathBuf>,
    decision_logs: Option<DecisionLogs>,
}

impl Default for LocalEngineBuilder {
    fn default() -> Self {
        Self {
            location: None,
            database_url: None,
            database_schema: None,
            database_timeouts: DatabaseTimeouts::default(),
            include_default: true,
            entrypoint: DEFAULT_ENTRYPOINT.to_owned(),
            paths: Vec::new(),
            inline: Vec::new(),
            data: Vec::new(),
            config: Vec::new(),
            context: None,
            context_file: None,
            clock: Clock::system(),
            shadow_paths: Vec::new(),
            decision_logs: None,
        }
    }
}

impl LocalEngineBuilder {
    /// A builder preloaded from the environment: `BIGHUB_DB` (the store path, `:memory:`
    /// for a private in-memory store), `BIGHUB_DATABASE_URL` (a PostgreSQL store, which
    /// then wins over `BIGHUB_DB`) and `BIGHUB_POLICY` (extra `.rego` files, `.json`
    /// data files or directories of both, separated by the OS path separator: `:` on Unix,
    /// `;` on Windows) and `BIGHUB_CONTEXT` (a context providers' configuration file, see
    /// [`context_file`](Self::context_file)).
    pub fn from_env() -> Self {
        let mut b = Self::default();
        if let Ok(url) = std::env::var("BIGHUB_DATABASE_URL")
            && !url.trim().is_empty()
        {
            b.database_url = Some(url);
        }
        if let Some(db) = std::env::var_os("BIGHUB_DB").filter(|v| !v.is_empty()) {
            b.location = Some(StoreLocation::parse(&db.to_string_lossy()));
        }
        if let Some(paths) = std::env::var_os("BIGHUB_POLICY") {
            b.paths
                .extend(std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()));
        }
        if let Some(path) = std::env::var_os("BIGHUB_CONTEXT").filter(|v| !v.is_empty()) {
            b.context_file = Some(PathBuf::from(path));
        }
        b
    }

    /// Fetches these context providers' documents for every decision made on the async
    /// paths; the policy reads them as `input.context.<name>` (see [`crate::context`]).
    /// Given with [`context_file`](Self::context_file) too, both sets are used (a name in
    /// both is an error at [`build`](Self::build)).
    pub fn context(mut self, providers: ContextProviders) -> Self {
        self.context = Some(providers);
        self
    }

    /// Reads the context providers from this configuration file (JSON, or TOML by its
    /// extension) at [`build`](Self::build); a mistake in it is
    /// [`LocalError::ContextConfig`], naming the key. See [`crate::context`] for the format.
    pub fn context_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.context_file = Some(path.into());
        self
    }

    /// Stores decisions in this SQLite file (`:memory:` for a private in-memory store).
    /// The default is the platform's data directory, e.g. `~/.local/share/bighub/decisions.db`.
    pub fn db_path(mut self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.location = Some(StoreLocation::parse(&path.to_string_lossy()));
        self
    }

    /// Stores decisions in PostgreSQL (`postgres://user:password@host:port/database`, or
    /// `key=value` settings), shared by every engine and decision server that names the
    /// same database: decisions, outcomes, memory, approvals and idempotency keys, with the
    /// same semantics as the SQLite store; an approval is resolved once and consumed once
    /// across all of them. The tables are created (or migrated) on [`build`](Self::build).
    /// A database URL wins over [`db_path`](Self::db_path). Needs the crate's `postgres`
    /// feature (without it `build` fails with [`LocalError::Database`]).
    ///
    /// TLS is configured as libpq users configure it: `sslmode` in the URL (`disable`,
    /// `allow`, `prefer` (the default), `require`, `verify-ca`, `verify-full`) or
    /// `PGSSLMODE`, and `sslrootcert=PATH` (or `PGSSLROOTCERT`) for a private CA; with no
    /// root certificate named, `verify-ca` and `verify-full` trust the platform's roots.
    /// `require` encrypts without checking the certificate unless a root certificate is
    /// given (then it checks the chain, as `verify-ca`); `verify-ca` checks the chain;
    /// `verify-full` also the host name. A certificate that does not verify fails the
    /// connection: there is no fallback to plain TCP. Time limits:
    /// [`database_timeouts`](Self::database_timeouts).
    ///
    /// ```no_run
    /// use bighub_local::LocalEngine;
    ///
    /// let engine = LocalEngine::builder()
    ///     .database_url("postgres://bighub:secret@db.internal/bighub?sslmode=verify-full")
    ///     .build()
    ///     .unwrap();
    /// # let _ = engine;
    /// ```
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Keeps the PostgreSQL store's tables in this schema (lower-case letters, digits and
    /// `_`; created when missing) instead of the role's search path: several deployments,
    /// or test runs, on one database.
    pub fn database_schema(mut self, schema: impl Into<String>) -> Self {
        self.database_schema = Some(schema.into());
        self
    }

    /// Time limits of the PostgreSQL store (connecting, each statement, each call,
    /// waiting for a pooled connection); see [`DatabaseTimeouts`] for the defaults. A call
    /// past them fails with [`LocalError::Database`], an unavailable store.
    pub fn database_timeouts(mut self, timeouts: DatabaseTimeouts) -> Self {
        self.database_timeouts = timeouts;
        self
    }

    /// Keeps the store in memory: nothing survives the engine (tests, policy checks).
    pub fn in_memory(mut self) -> Self {
        self.location = Some(StoreLocation::Memory);
        self
    }

    /// Adds a `.rego` policy file, a `.json` data file, or a directory of both.
    pub fn policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Adds a Rego policy from text; `name` is used in error messages (`name:line:col`).
    pub fn policy(mut self, name: impl Into<String>, rego: impl Into<String>) -> Self {
        self.inline.push((name.into(), rego.into()));
        self
    }

    /// Merges a JSON document into the Rego `data` (objects merge key by key). Its
    /// `bighub.config`, if any, is checked as [`config`](Self::config) is (named
    /// `builder data` in errors); keep your own policies' data elsewhere, such as under
    /// `bighub.ext` or your own package's name.
    pub fn data(mut self, data: Value) -> Self {
        self.data.push(data);
        self
    }

    /// Merges settings into the default policy's configuration (`data.bighub.config`),
    /// objects key by key; the keys are those of [`PolicyConfig`]. An unknown key or a
    /// wrong value is reported by [`build`](Self::build) as
    /// [`LocalError::InvalidConfig`] from `builder config`.
    pub fn config(mut self, config: Value) -> Self {
        self.config.push(config);
        self
    }

    /// Leaves the shipped default policy out; give your own with [`policy`](Self::policy)
    /// or [`policy_file`](Self::policy_file) and name its rule with
    /// [`entrypoint`](Self::entrypoint). The default configuration data stays available.
    pub fn without_default_policy(mut self) -> Self {
        self.include_default = false;
        self
    }

    /// The rule whose value is the decision (default `data.bighub.policy.decision`).
    pub fn entrypoint(mut self, rule: impl Into<String>) -> Self {
        self.entrypoint = rule.into();
        self
    }

    /// Loads and compiles the policy set, checks it on sample inputs, and opens the store.
    ///
    /// Every policy error (syntax, compile, a failing evaluation, an answer that is not a
    /// decision, bad configuration) is reported here, with the file and line, except a rule
    /// that fails only on inputs the sample inputs do not cover: that fails those calls
    /// ([`LocalError::PolicyEvaluation`]).
    pub fn build(mut self) -> Result<LocalEngine, LocalError> {
        let mut context = self.context.clone().unwrap_or_default();
        if let Some(path) = &self.context_file {
            context = context.merge(ContextProviders::from_file(path)?)?;
        }
        if let Some(max_age) = context.evidence_lookup().and_then(|e| e.max_scan_age()) {
            // First, so that configuration given to the builder still wins.
            self.config.insert(
                0,
                json!({"max_scan_age": format!("{}s", max_age.as_secs())}),
            );
        }
        let policies = Arc::new(PolicySlot::new("enforced", self.recipe(), sample_inputs())?);
        let shadow = match self.shadow_recipe() {
            Some(recipe) => Some(Arc::new(PolicySlot::new(
                "shadow",
                recipe,
                sample_inputs(),
            )?)),
            None => None,
        };
        let (store, store_name) = self.open_store()?;
        let path = entrypoint_path(&self.entrypoint);
        Ok(LocalEngine {
            policies,
            shadow,
            store,
            store_name,
            context,
            clock: self.clock,
            decision_logs: self.decision_logs.map(|logs| (logs, path)),
            counted_decisions: std::sync::Mutex::new(()),
        })
    }

    /// Logs every decision this engine records to `logs` (a file or an HTTP endpoint, see
    /// [`crate::decision_logs`]), once the store has it, without waiting: the record is
    /// queued, or dropped and counted when the queue is full. Keep a clone of `logs` to
    /// read its counts and to [`close`](DecisionLogs::close) it on shutdown. An agent's
    /// embedded engine is given one this way.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bighub_local::LocalEngine;
    /// use bighub_local::decision_logs::{DecisionLogConfig, DecisionLogs};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let logs = DecisionLogs::new(
    ///     DecisionLogConfig::file(dir.path().join("decisions.jsonl")).drop_mode("autonomous")?,
    /// )?;
    /// let engine = LocalEngine::builder().in_memory().decision_logs(logs.clone()).build()?;
    /// # let _ = engine;
    /// // On shutdown: send what is queued, waiting at most 5 seconds.
    /// let stats = logs.close(Duration::from_secs(5));
    /// assert_eq!(stats.pending, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn decision_logs(mut self, logs: DecisionLogs) -> Self {
        self.decision_logs = Some(logs);
        self
    }

    /// Records decisions and approvals at the time `clock` shows (the system clock by
    /// default): a [`Clock::manual`] lets a test expire an approval without waiting.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Adds a shadow policy: a `.rego` file, a `.json` data file or a directory of both
    /// (repeatable). The shadow set is the enforced set (the default policy, the policy
    /// files, inline policies, data and configuration) with these added: it decides what
    /// the engine would decide once they are moved in with the enforced policies. Every
    /// decision is also decided by the shadow set, on the same input, and the result is
    /// recorded beside it (`decision_brain.shadow`); it never changes what runs. A shadow
    /// set that does not compile fails [`build`](Self::build). See the crate's "Shadow
    /// policies".
    ///
    /// ```
    /// use bighub_core::ProposedAction;
    /// use bighub_local::LocalEngine;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let strict = dir.path().join("no_restarts.rego");
    /// std::fs::write(&strict, r#"
    ///     package bighub.ext
    ///     import rego.v1
    ///     findings contains {"rule": "no_restarts", "mode": "blocked",
    ///                        "reason": "Restarts are frozen."} if input.action.name == "restart_service"
    /// "#).unwrap();
    /// let engine = LocalEngine::builder().in_memory().shadow_policy(&strict).build().unwrap();
    ///
    /// let decision = engine.decide(&ProposedAction::new("restart_service")).unwrap();
    /// assert_eq!(decision.raw["mode"], "autonomous");
    /// let shadow = &decision.raw["decision_brain"]["shadow"];
    /// assert_eq!(shadow["mode"], "blocked");
    /// assert_eq!(shadow["deciding_rules"][0], "no_restarts");
    /// assert_eq!(shadow["agrees"], false);
    /// assert_eq!(engine.shadow_disagreements(10).unwrap().len(), 1);
    /// ```
    pub fn shadow_policy(mut self, path: impl Into<PathBuf>) -> Self {
        self.shadow_paths.push(path.into());
        self
    }

    /// What the enforced policy set is loaded from, kept for reloading it.
    fn recipe(&self) -> PolicyRecipe {
        PolicyRecipe {
            include_default: self.include_default,
            entrypoint: self.entrypoint.clone(),
            paths: self.paths.clone(),
            inline: self.inline.clone(),
            data: self.data.clone(),
            config: self.config.clone(),
            test_paths: self.paths.clone(),
        }
    }

    /// What the shadow set is loaded from: the enforced set's recipe and the shadow paths.
    fn shadow_recipe(&self) -> Option<PolicyRecipe> {
        if self.shadow_paths.is_empty() {
            return None;
        }
        let mut recipe = self.recipe();
        recipe.paths.extend(self.shadow_paths.iter().cloned());
        recipe.test_paths = self.shadow_paths.clone();
        Some(recipe)
    }

    /// Opens the store the builder names: PostgreSQL when a database URL is given, else
    /// the SQLite location (the platform default when none).
    fn open_store(&self) -> Result<(Box<dyn Storage>, String), LocalError> {
        if let Some(url) = &self.database_url {
            return open_postgres(
                url,
                self.database_schema.as_deref(),
                &self.database_timeouts,
            );
        }
        let location = match &self.location {
            Some(l) => l.clone(),
            None => StoreLocation::platform_default()?,
        };
        let store = Sqlite::open(&location)?;
        Ok((Box::new(store), describe(&location)))
    }

    /// Runs the Rego tests under `paths` against this builder's policy set: the `test_*`
    /// rules of the `*_test.rego` files in those directories (recursively, hidden entries
    /// skipped) and of the `.rego` files named outright, loaded beside the default policy,
    /// the policy files and inline policies, with the same data. As `opa test DIR` does,
    /// the policies in those directories (their other `.rego` files, and `.json` data) are
    /// loaded too. A test passes when its rule evaluates to `true`; a failing test carries
    /// the entry point's answer for each input it built with `bighub.input`
    /// ([`PolicyTestResult::decisions`](crate::policy_tests::PolicyTestResult::decisions)). Opens no
    /// store.
    ///
    /// Tests may call `bighub.input(action)`, which builds the input document the engine
    /// would decide `action` (a proposed action as JSON, as `bighub policy eval` reads it)
    /// on, now and with no history, so that a test can evaluate the default policy on a
    /// realistic call:
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("grants_test.rego");
    /// std::fs::write(&path, r#"
    ///     package grants_test
    ///     import rego.v1
    ///
    ///     test_a_long_admin_grant_is_reviewed if {
    ///         call := bighub.input({"tool": "grant_access", "system": "okta", "risk": "high",
    ///             "environment": "production", "target": "okta-admins",
    ///             "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}})
    ///         decision := data.bighub.policy.decision with input as call
    ///         decision.mode == "review"
    ///     }
    /// "#).unwrap();
    ///
    /// let results = bighub_local::LocalEngine::builder().run_policy_tests(&[&path]).unwrap();
    /// assert_eq!(results.len(), 1);
    /// assert_eq!(results[0].rule, "data.grants_test.test_a_long_admin_grant_is_reviewed");
    /// assert!(results[0].passed());
    /// ```
    ///
    /// A policy or test file that does not compile is an error ([`LocalError::Policy`]);
    /// a test rule that fails to evaluate is a result with
    /// [`PolicyTestOutcome::Error`](crate::policy_tests::PolicyTestOutcome::Error).
    pub fn run_policy_tests<P: AsRef<Path>>(
        &self,
        paths: &[P],
    ) -> Result<Vec<PolicyTestResult>, LocalError> {
        // As `opa test DIR` does, a directory's policies (its `.rego` files other than
        // tests, and its `.json` data) are loaded beside the builder's.
        let mut with_dirs = self.clone();
        with_dirs.paths.extend(
            paths
                .iter()
                .map(AsRef::as_ref)
                .filter(|p| p.is_dir())
                .map(Path::to_path_buf),
        );
        let (mut sources, data, _) = with_dirs.load()?;
        // A file named both as a policy and under a tested directory is loaded once.
        let mut seen = std::collections::HashSet::new();
        sources.retain(|s| {
            s.shipped || std::fs::canonicalize(&s.name).map_or(true, |path| seen.insert(path))
        });
        let files = policy_tests::discover(paths)?;
        policy_tests::run(&sources, &data, &files, &self.entrypoint)
    }

    /// The policy sources and the Rego data this builder names, the configuration read
    /// from every source and checked.
    fn load(&self) -> Result<(Vec<Source>, Value, PolicyConfig), LocalError> {
        self.recipe().load()
    }
}

#[cfg(feature = "postgres")]
fn open_postgres(
    url: &str,
    schema: Option<&str>,
    timeouts: &DatabaseTimeouts,
) -> Result<(Box<dyn Storage>, String), LocalError> {
    use crate::storage::postgres::{Postgres, describe_url};
    let store = Postgres::open(url, schema, timeouts)?;
    let mut name = describe_url(url);
    if let Some(schema) = schema {
        name.push_str(&format!(" (schema {schema})"));
    }
    Ok((Box::new(store), name))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(
    _url: &str,
    _schema: Option<&str>,
    _timeouts: &DatabaseTimeouts,
) -> Result<(Box<dyn Storage>, String), LocalError> {
    Err(LocalError::Database(
        "a database URL was given, but this build has no PostgreSQL store: enable the `postgres` feature of bighub-local".to_owned(),
    ))
}

/// Inputs evaluated at build time so that policy errors surface before the first call.
fn sample_inputs() -> Vec<Value> {
    [
        ProposedAction::new("grant_access")
            .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
            .system("okta")
            .risk(RiskLevel::High)
            .environment("production")
            .target("okta-admins"),
        ProposedAction::new("list_users")
            .system("okta")
            .risk(RiskLevel::Low),
        ProposedAction::new("delete_bucket")
            .system("aws")
            .risk(RiskLevel::Critical)
            .environment("staging"),
        ProposedAction::new("deploy"),
    ]
    .iter()
    .map(|a| build_input(a, History::default(), 0, &DecisionExtras::default()))
    .collect()
}

/// The history a [`LocalEngine::preview`] decides with (the store's is used otherwise).
///
/// ```
/// use bighub_local::PreviewHistory;
///
/// let history = PreviewHistory { failures_24h: 3, ..PreviewHistory::default() };
/// assert_eq!(history.failures_24h, 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct PreviewHistory {
    /// Failed outcomes of this action on this target in the last 24 hours.
    pub failures_24h: u64,
    /// Outcome counts by status within 24 hours (`{"SUCCESS": 2}`); `FAILURE` is taken
    /// from `failures_24h` when absent.
    pub outcomes_24h: Map<String, Value>,
    /// Recent decisions (`{request_id, mode, at}`), newest first.
    pub recent_decisions: Vec<Value>,
    /// `input.history.windows`: per window label (`"1h"`), per dimension (`actor`,
    /// `system`, `action`, `target`), `{decisions, by_mode, outcomes, capped}`.
    pub windows: Map<String, Value>,
    /// `input.history.rate_limits`: per limit name, `{decisions, by_mode, capped}`.
    pub rate_limits: Map<String, Value>,
    /// `input.history.last_outcomes`: `{status, action, request_id, at, at_unix}`, newest
    /// first.
    pub last_outcomes: Vec<Value>,
}

impl LocalEngine {
    /// A builder with the default policy, its default configuration, and the platform's
    /// data directory for the store.
    pub fn builder() -> LocalEngineBuilder {
        LocalEngineBuilder::default()
    }

    /// An engine configured from `BIGHUB_DB` and `BIGHUB_POLICY` (see
    /// [`LocalEngineBuilder::from_env`]).
    pub fn from_env() -> Result<Self, LocalError> {
        LocalEngineBuilder::from_env().build()
    }

    /// Where the engine keeps its store, for people: a file path, `:memory:`, or a
    /// PostgreSQL URL without its password.
    pub fn store_name(&self) -> &str {
        &self.store_name
    }

    /// SHA-256 of the policy set (sources and data); it is in every decision's brain.
    pub fn policy_sha256(&self) -> String {
        self.policies.current().revision().to_owned()
    }

    /// The default policy's configuration in effect: the shipped defaults with every
    /// source of configuration merged over them, names lower-cased.
    pub fn policy_config(&self) -> PolicyConfig {
        self.policies.current().config.clone()
    }

    /// The names of the loaded policy sources, in order.
    pub fn policy_sources(&self) -> Vec<String> {
        self.policies.current().set.names().to_vec()
    }

    pub(crate) fn store(&self) -> Result<&dyn Storage, LocalError> {
        Ok(&*self.store)
    }

    /// How long a pending approval waits, as configured (`approval_ttl`), in milliseconds.
    pub(crate) fn default_ttl_ms(&self) -> i64 {
        let policy = self.policies.current();
        i64::try_from(policy.config.approval_ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// Now, as the engine's clock shows it (unix milliseconds).
    pub(crate) fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The clock decisions and approvals are recorded at.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The context providers each decision fetches from (empty when none are configured).
    pub fn context_providers(&self) -> &ContextProviders {
        &self.context
    }

    /// Fetches (or reuses) the context for `action` from every provider, concurrently,
    /// waiting at most the longest provider timeout; for
    /// [`decide_in_context`](Self::decide_in_context). Empty when there are no providers.
    /// Needs a Tokio runtime.
    pub async fn gather_context(&self, action: &ProposedAction) -> ContextSnapshot {
        if self.context.is_empty() {
            return ContextSnapshot::default();
        }
        self.context.gather(action).await
    }

    /// What a synchronous decision is made on: no provider fetched, each failed with
    /// `not fetched: synchronous decide`.
    pub(crate) fn unfetched_context(&self, action: &ProposedAction) -> ContextSnapshot {
        if self.context.is_empty() {
            return ContextSnapshot::default();
        }
        self.context.unfetched_for(action, "synchronous decide")
    }

    /// Decides `action` and records the decision (and, for a review, a pending approval).
    ///
    /// A policy rule that fails on this call is [`LocalError::PolicyEvaluation`]: nothing is
    /// decided from the rest of the policy, and nothing is recorded.
    ///
    /// A synchronous call cannot wait for context providers: with providers configured it
    /// decides as if every one of them failed with `not fetched: synchronous decide`, so a
    /// `fail_closed` provider blocks the call and the policy sees the others in
    /// `input.context_failed`. The async [`DecisionEngine::evaluate`] fetches them; so does
    /// [`gather_context`](Self::gather_context) followed by
    /// [`decide_in_context`](Self::decide_in_context).
    pub fn decide(&self, action: &ProposedAction) -> Result<Decision, LocalError> {
        self.decide_as(action, RequestOrigin::default())
    }

    /// Decides `action` as [`decide`](Self::decide) does, for a request that came from
    /// `origin`: the decision row records `origin.caller`, and with an idempotency key a
    /// retry of the same request (same caller, same key, same action) gets the decision
    /// the first attempt made, without a second row or approval. A key reused for another
    /// action is [`LocalError::IdempotencyKeyReused`]. Keys are kept for 24 hours.
    ///
    /// ```
    /// use bighub_core::ProposedAction;
    /// use bighub_local::{LocalEngine, RequestOrigin};
    ///
    /// let engine = LocalEngine::builder().in_memory().build().unwrap();
    /// let origin = RequestOrigin { caller: Some("agent-a"), idempotency_key: Some("k1") };
    /// let action = ProposedAction::new("restart_service").target("payments-api");
    /// let first = engine.decide_as(&action, origin).unwrap();
    /// let retry = engine.decide_as(&action, origin).unwrap();
    /// assert_eq!(first.request_id, retry.request_id);
    /// let rows = engine.recent_decisions(10).unwrap();
    /// assert_eq!(rows.len(), 1);
    /// assert_eq!(rows[0].caller.as_deref(), Some("agent-a"));
    /// ```
    pub fn decide_as(
        &self,
        action: &ProposedAction,
        origin: RequestOrigin<'_>,
    ) -> Result<Decision, LocalError> {
        self.decide_in_context(action, origin, &self.unfetched_context(action))
    }

    /// Decides `action` as [`decide_as`](Self::decide_as) does, on the context gathered for
    /// it by [`gather_context`](Self::gather_context): the policy sees each provider's
    /// document (or error) as `input.context.<name>`, a `fail_closed` provider that failed
    /// blocks the call (rule `context_unavailable`), and the decision records what it was
    /// made on in `decision_packet.context`.
    ///
    /// ```
    /// use bighub_core::ProposedAction;
    /// use bighub_local::context::{ContextProviders, FileProvider, OnFailure, ProviderOptions};
    /// use bighub_local::{LocalEngine, RequestOrigin};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut options = ProviderOptions::default();
    /// options.on_failure = OnFailure::FailClosed;
    /// let providers = ContextProviders::new()
    ///     .register("freezes", FileProvider::new("/nonexistent/freezes.json"), options)
    ///     .unwrap();
    /// let engine = LocalEngine::builder().in_memory().context(providers).build().unwrap();
    ///
    /// let action = ProposedAction::new("deploy").system("argocd");
    /// let context = engine.gather_context(&action).await;
    /// let decision = engine.decide_in_context(&action, RequestOrigin::default(), &context).unwrap();
    /// assert_eq!(decision.raw["mode"], "blocked");
    /// assert_eq!(decision.raw["decision_brain"]["deciding_rules"][0], "context_unavailable");
    /// assert!(decision.raw["reason"].as_str().unwrap().contains("`freezes`"));
    /// # }
    /// ```
    pub fn decide_in_context(
        &self,
        action: &ProposedAction,
        origin: RequestOrigin<'_>,
        context: &ContextSnapshot,
    ) -> Result<Decision, LocalError> {
        let now = self.now();
        let target = action.target.as_deref().unwrap_or("");
        let name = action_name(action);
        storable::action(action, name)?;
        storable::origin(origin.caller, origin.idempotency_key)?;
        let caller = origin.caller.unwrap_or("");
        let action_sha = match origin.idempotency_key {
            Some(key) => {
                // The real arguments: a retry with another secret is another request.
                let sha = canonical_sha256(&serde_json::to_value(action.unredacted())?);
                if let Some(hit) = self.store()?.idempotent_hit(caller, key, now)? {
                    return idempotent_answer(hit, key, &sha);
                }
                Some(sha)
            }
            None => None,
        };
        let policy = self.policies.current();
        let request = HistoryRequest::for_call(&policy.config, action, name, now);
        // Kept until the decision is recorded (the end of this function).
        let _counted = (!request.limits.is_empty()).then(|| {
            self.counted_decisions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        let (history, precedents) = self.store()?.history(&request)?;
        let prepared = context.prepare(now);
        let context_blocked = !prepared.blocked_by.is_empty();
        let mut raw = self.decide_prepared(action, history, precedents, now, prepared)?;
        self.add_shadow(&mut raw, context_blocked);
        let (shadow_mode, shadow_agrees) = crate::shadow::columns(&raw["decision_brain"]["shadow"]);

        let mode = raw["mode"].as_str().unwrap_or("blocked");
        let arguments = &raw["decision_packet"]["input"]["action"]["arguments"];
        let args_sha = action.approval_digest();
        let row = NewDecision {
            request_id: raw["request_id"].as_str().unwrap_or_default(),
            created_at: now,
            tool: &action.tool,
            action: name,
            target,
            system: action.system.as_deref(),
            environment: action.environment.as_deref(),
            risk: action.risk.map(RiskLevel::as_str),
            actor: &action.actor,
            mode,
            risk_score: raw["risk"].as_f64(),
            reason: raw["reason"].as_str(),
            arguments,
            arguments_sha256: &args_sha,
            decision: &raw,
            caller: origin.caller,
            shadow_mode,
            shadow_agrees,
        };
        let approval = (mode == "review").then(|| {
            let terms = ApprovalTerms::from_policy(&raw["approval"], self.default_ttl_ms());
            NewApproval {
                reason: raw["reason"].as_str().unwrap_or(""),
                expires_at: terms.expires_at(now),
                separate_approver: terms.separate_approver,
                required_approvals: terms.required_approvals,
            }
        });
        let claim = origin
            .idempotency_key
            .zip(action_sha.as_deref())
            .map(|(key, sha)| IdempotencyClaim {
                caller,
                key,
                action_sha256: sha,
            });
        storable::decision(&row, approval.as_ref().map(|a| a.reason), claim.as_ref())?;
        if let Some(hit) = self
            .store()?
            .insert_decision(&row, approval.as_ref(), claim.as_ref())?
        {
            // Another attempt of the same request decided first.
            let (key, sha) = origin
                .idempotency_key
                .zip(action_sha.as_deref())
                .unwrap_or_default();
            return idempotent_answer(hit, key, sha);
        }
        if let Some((logs, path)) = &self.decision_logs {
            logs.offer(&raw, &action.tool, origin.caller, now, path);
        }
        Ok(Decision::from_backend_value(raw))
    }

    /// Decides `action` as [`decide`](Self::decide) would, from the store's history, without
    /// writing anything: no decision row, no pending approval.
    ///
    /// With context providers configured it decides as [`decide`](Self::decide) does, every
    /// provider reported as not fetched.
    pub fn decide_without_recording(
        &self,
        action: &ProposedAction,
    ) -> Result<Decision, LocalError> {
        self.decide_without_recording_in_context(action, &self.unfetched_context(action))
    }

    /// Decides `action` as [`decide_without_recording`](Self::decide_without_recording)
    /// does, on the context gathered for it.
    pub fn decide_without_recording_in_context(
        &self,
        action: &ProposedAction,
        context: &ContextSnapshot,
    ) -> Result<Decision, LocalError> {
        let now = self.now();
        storable::action(action, action_name(action))?;
        let policy = self.policies.current();
        let request = HistoryRequest::for_call(&policy.config, action, action_name(action), now);
        let (history, precedents) = self.store()?.history(&request)?;
        let prepared = context.prepare(now);
        let context_blocked = !prepared.blocked_by.is_empty();
        let mut raw = self.decide_prepared(action, history, precedents, now, prepared)?;
        self.add_shadow(&mut raw, context_blocked);
        Ok(Decision::from_backend_value(raw))
    }

    /// Decides the call of `raw` with the shadow set, when there is one, on the input the
    /// enforced set decided, and records the result in `decision_brain.shadow`. Never
    /// fails: a shadow evaluation error is recorded as a disagreement.
    fn add_shadow(&self, raw: &mut Value, context_blocked: bool) {
        let Some(shadow) = &self.shadow else {
            return;
        };
        let shadow = shadow.current();
        let verdict = crate::shadow::decide(
            &shadow,
            &raw["decision_packet"]["input"],
            raw["mode"].as_str().unwrap_or("blocked"),
            &raw["decision_brain"]["deciding_rules"],
            context_blocked,
        );
        if let Some(brain) = raw["decision_brain"].as_object_mut() {
            brain.insert("shadow".into(), verdict);
        }
    }

    /// Decides `action` with the given history and time, without reading or writing the
    /// store: for policy tests and what-if questions. `now_ms` defaults to the current time.
    pub fn preview(
        &self,
        action: &ProposedAction,
        history: &PreviewHistory,
        now_ms: Option<i64>,
    ) -> Result<Decision, LocalError> {
        self.preview_with(action, history, &DecisionExtras::default(), now_ms)
    }

    /// Decides `action` as [`preview`](Self::preview) does, on the given context and
    /// evidence instead of none.
    pub fn preview_with(
        &self,
        action: &ProposedAction,
        history: &PreviewHistory,
        extras: &DecisionExtras,
        now_ms: Option<i64>,
    ) -> Result<Decision, LocalError> {
        let mut outcomes = history.outcomes_24h.clone();
        if history.failures_24h > 0 {
            outcomes
                .entry("FAILURE")
                .or_insert_with(|| json!(history.failures_24h));
        }
        let h = History {
            recent_decisions: history.recent_decisions.clone(),
            outcomes_24h: outcomes,
            failures_24h: history.failures_24h,
            last_failure: None,
            windows: history.windows.clone(),
            rate_limits: history.rate_limits.clone(),
            last_outcomes: history.last_outcomes.clone(),
        };
        let raw = self.decide_raw(
            action,
            h,
            history.recent_decisions.len() as u64,
            now_ms.unwrap_or_else(|| self.now()),
            extras,
        )?;
        Ok(Decision::from_backend_value(raw))
    }

    /// Decides on context read at the decision's time.
    fn decide_prepared(
        &self,
        action: &ProposedAction,
        history: History,
        precedents: u64,
        now_ms: i64,
        context: Prepared,
    ) -> Result<Value, LocalError> {
        self.decide_raw_with(
            action,
            history,
            precedents,
            now_ms,
            &context.extras,
            &context.blocked_by,
            context.packet,
        )
    }

    /// Evaluates the policy and adds the engine's fields.
    fn decide_raw(
        &self,
        action: &ProposedAction,
        history: History,
        precedents: u64,
        now_ms: i64,
        extras: &DecisionExtras,
    ) -> Result<Value, LocalError> {
        self.decide_raw_with(action, history, precedents, now_ms, extras, &[], Map::new())
    }

    /// Evaluates the policy, unless a `fail_closed` context provider failed (`blocked_by`:
    /// the call is blocked without asking it), and adds the engine's fields;
    /// `packet_extra` is what the decision records in `decision_packet` besides its input
    /// (`context`, `evidence`).
    #[allow(clippy::too_many_arguments)]
    fn decide_raw_with(
        &self,
        action: &ProposedAction,
        history: History,
        precedents: u64,
        now_ms: i64,
        extras: &DecisionExtras,
        blocked_by: &[(String, String)],
        packet_extra: Map<String, Value>,
    ) -> Result<Value, LocalError> {
        // Taken once: a reload meanwhile does not change this decision.
        let policy = self.policies.current();
        let default_ttl_ms =
            i64::try_from(policy.config.approval_ttl.as_millis()).unwrap_or(i64::MAX);
        let input = build_input(action, history, now_ms, extras);
        let mut answer = if blocked_by.is_empty() {
            policy.set.evaluate(&input)?
        } else {
            context_unavailable(blocked_by)
        };
        let obj = answer
            .as_object_mut()
            .ok_or_else(|| LocalError::InvalidDecision("not an object".to_owned()))?;
        let mode = obj
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("blocked")
            .to_owned();
        complete(obj, &mode, &input);
        // A review says what answering it takes; any other mode opens no approval.
        match obj.remove("approval") {
            Some(asked) if mode == "review" => {
                let terms = ApprovalTerms::from_policy(&asked, default_ttl_ms);
                obj.insert("approval".into(), terms.to_json(now_ms));
            }
            None if mode == "review" => {
                let terms = ApprovalTerms::from_policy(&Value::Null, default_ttl_ms);
                obj.insert("approval".into(), terms.to_json(now_ms));
            }
            _ => {}
        }
        let take = |obj: &mut Map<String, Value>, k: &str| obj.remove(k).unwrap_or(Value::Null);
        let rules_fired = take(obj, "rules_fired");
        let deciding_rules = take(obj, "deciding_rules");
        let exempted = take(obj, "exempted_rules");
        let overridden = take(obj, "overridden");
        obj.remove("invalid_findings");

        let risk = obj.get("risk").and_then(Value::as_f64);
        // Carries `now_ms`, the decision's time in the store, which keys its row.
        let request_id = new_request_id(now_ms);
        obj.insert("request_id".into(), json!(request_id));
        add_compat_fields(obj, &mode, risk);
        let input_sha256 = canonical_sha256(&input);
        let mut packet = object([("input", input), ("input_sha256", json!(input_sha256))]);
        if let Value::Object(packet) = &mut packet {
            packet.extend(packet_extra);
        }
        obj.insert("decision_packet".into(), packet);
        obj.insert(
            "decision_brain".into(),
            object([
                ("engine", json!("bighub-local")),
                ("engine_version", json!(env!("CARGO_PKG_VERSION"))),
                ("rules_fired", rules_fired),
                ("deciding_rules", deciding_rules),
                ("exempted_rules", exempted),
                ("overridden", overridden),
                ("policy_sha256", json!(policy.revision())),
                ("policy_revision", json!(policy.revision())),
                ("policy_sources", json!(policy.set.names())),
                ("precedents", json!(precedents)),
            ]),
        );
        Ok(answer)
    }

    /// Decides the recorded decisions again under this engine's policy set, and reports
    /// which would get another mode, and why: for finding out what a policy change would
    /// do to real traffic before shipping it. Writes nothing.
    ///
    /// Each decision is decided on the input it was recorded with (its
    /// `decision_packet.input`: the proposed action, secrets redacted as they were then,
    /// the history of that action and target at the time, and the time), classified again
    /// by the current policy and configuration; a decision recorded without that input
    /// is decided from its row (tool, action, arguments, system, environment, risk,
    /// target, actor) with no history. The newest are read first, in pages, so a long
    /// replay holds the store only for moments.
    ///
    /// ```
    /// use bighub_core::{ProposedAction, RiskLevel};
    /// use bighub_local::LocalEngine;
    /// use bighub_local::replay::ReplayOptions;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = dir.path().join("decisions.db");
    /// let before = LocalEngine::builder().db_path(&db).build().unwrap();
    /// let sync = ProposedAction::new("sync_app").system("argocd").risk(RiskLevel::Low);
    /// assert_eq!(before.decide(&sync).unwrap().raw["mode"], "autonomous");
    ///
    /// let after = LocalEngine::builder()
    ///     .db_path(&db)
    ///     .config(serde_json::json!({"kill_switch": {"systems": ["argocd"]}}))
    ///     .build()
    ///     .unwrap();
    /// let report = after.replay(&ReplayOptions::default()).unwrap();
    /// assert_eq!((report.decided, report.changed), (1, 1));
    /// assert_eq!(report.changes[0].mode_after, "blocked");
    /// assert_eq!(report.changes[0].deciding_rules, ["kill_switch"]);
    /// assert_eq!(after.recent_decisions(10).unwrap().len(), 1);
    /// ```
    pub fn replay(&self, options: &ReplayOptions) -> Result<ReplayReport, LocalError> {
        replay::run(
            self.store()?,
            options,
            |action, history, precedents, now_ms, extras| {
                // A `fail_closed` provider whose recorded answer is an error blocks the
                // replayed call, as it blocked (or would have blocked) the live one.
                let blocked_by = self.context.blocked_by_recorded(&extras.context);
                self.decide_raw_with(
                    action,
                    history,
                    precedents,
                    now_ms,
                    extras,
                    &blocked_by,
                    Map::new(),
                )
            },
        )
    }

    /// Replays as [`replay`](Self::replay) does, but on context fetched now from this
    /// engine's providers instead of the context recorded with each decision (the
    /// evidence recorded is kept): what the current policy would decide on the recorded
    /// calls given what is true now. Each call is still decided at its recorded time;
    /// documents are read into their shapes at the current time. Answers for the same
    /// cache key are reused within their TTL, so a long replay fetches once per key and
    /// TTL. Runs the fetches on a runtime of its own, on a thread of its own, so it may be
    /// called from anywhere; it blocks until done.
    pub fn replay_with_fresh_context(
        &self,
        options: &ReplayOptions,
    ) -> Result<ReplayReport, LocalError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| {
                            LocalError::Context(format!("cannot start a runtime for fetching: {e}"))
                        })?;
                    replay::run(
                        self.store()?,
                        options,
                        |action, history, precedents, now_ms, recorded| {
                            let context = runtime.block_on(self.gather_context(action));
                            let mut fresh = context.prepare(self.now());
                            fresh.extras.evidence = recorded.evidence.clone();
                            self.decide_raw_with(
                                action,
                                history,
                                precedents,
                                now_ms,
                                &fresh.extras,
                                &fresh.blocked_by,
                                Map::new(),
                            )
                        },
                    )
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(LocalError::Context(
                        "the replay's fetching thread panicked".into(),
                    ))
                })
        })
    }

    /// Records an outcome; later decisions on the same action and target see it.
    pub fn record_outcome(&self, report: &OutcomeReport) -> Result<(), LocalError> {
        self.record_outcome_as(report, None)
    }

    /// Records an outcome reported by `caller` (recorded with it).
    pub fn record_outcome_as(
        &self,
        report: &OutcomeReport,
        caller: Option<&str>,
    ) -> Result<(), LocalError> {
        storable::outcome(report, caller)?;
        self.store()?.insert_outcome(report, caller, self.now())
    }

    /// Stores memory events (secret-looking keys redacted); returns how many.
    pub fn record_memory(&self, batch: &MemoryBatch) -> Result<usize, LocalError> {
        self.record_memory_as(batch, None)
    }

    /// Stores memory events sent by `caller` (recorded with them); returns how many.
    pub fn record_memory_as(
        &self,
        batch: &MemoryBatch,
        caller: Option<&str>,
    ) -> Result<usize, LocalError> {
        storable::memory(batch, caller)?;
        self.store()?.insert_memory(batch, caller, self.now())
    }

    /// The most recent decisions with their outcomes, newest first.
    pub fn recent_decisions(&self, limit: usize) -> Result<Vec<DecisionRecord>, LocalError> {
        self.store()?.recent_decisions(limit)
    }

    /// One decision by its request id, whole: its row with its outcomes, the decision as
    /// answered (with its `decision_packet`), and the approval it opened, if any.
    ///
    /// ```
    /// use bighub_core::ProposedAction;
    /// use bighub_local::LocalEngine;
    ///
    /// let engine = LocalEngine::builder().in_memory().build().unwrap();
    /// let decided = engine.decide(&ProposedAction::new("list_pods")).unwrap();
    /// let id = decided.request_id.unwrap();
    /// let detail = engine.decision_detail(&id).unwrap().unwrap();
    /// assert_eq!(detail.record.tool, "list_pods");
    /// assert_eq!(detail.decision["request_id"], id.as_str());
    /// assert!(engine.decision_detail("loc_unknown").unwrap().is_none());
    /// ```
    pub fn decision_detail(&self, request_id: &str) -> Result<Option<DecisionDetail>, LocalError> {
        storable::identifier("request_id", request_id)?;
        self.store()?.decision(request_id)
    }

    /// A page of the decision log: the decisions `query` selects (by tool, mode, actor,
    /// system, environment, time), newest first, each with its outcomes; the page's
    /// `next` continues it.
    ///
    /// ```
    /// use bighub_core::ProposedAction;
    /// use bighub_local::LocalEngine;
    /// use bighub_local::storage::DecisionQuery;
    ///
    /// let engine = LocalEngine::builder().in_memory().build().unwrap();
    /// for _ in 0..3 {
    ///     engine.decide(&ProposedAction::new("list_pods").system("kubernetes")).unwrap();
    /// }
    /// let query = DecisionQuery { system: Some("kubernetes".into()), limit: 2, ..Default::default() };
    /// let first = engine.decision_log(&query).unwrap();
    /// assert_eq!(first.decisions.len(), 2);
    /// let rest = engine
    ///     .decision_log(&DecisionQuery { after: first.next, ..query })
    ///     .unwrap();
    /// assert_eq!(rest.decisions.len(), 1);
    /// assert!(rest.next.is_none());
    /// ```
    pub fn decision_log(&self, query: &DecisionQuery) -> Result<DecisionPage, LocalError> {
        self.store()?.decision_log(query)
    }
}

/// Who made a request, and how its retries are recognised: what a decision server knows
/// about a request beyond the proposed action. The default (no caller, no key) is an
/// in-process call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestOrigin<'a> {
    /// A name for who asked (the decision server uses its name for the API key, never the
    /// key); recorded with the decision.
    pub caller: Option<&'a str>,
    /// The request's idempotency key, scoped to the caller.
    pub idempotency_key: Option<&'a str>,
}

/// The decision an idempotency key answers, when it was taken for the same action.
fn idempotent_answer(
    hit: IdempotentHit,
    key: &str,
    action_sha: &str,
) -> Result<Decision, LocalError> {
    if hit.action_sha256 != action_sha {
        return Err(LocalError::IdempotencyKeyReused(key.to_owned()));
    }
    Ok(Decision::from_backend_value(hit.decision))
}

/// The answer for a call whose `fail_closed` context providers failed: blocked by the
/// rule `context_unavailable`, naming each provider and its error; the policy is not
/// asked.
fn context_unavailable(blocked_by: &[(String, String)]) -> Value {
    let what: Vec<String> = blocked_by
        .iter()
        .map(|(name, error)| format!("`{name}` ({error})"))
        .collect();
    let reason = format!(
        "Required context is unavailable, so the call is blocked: the context provider{} {} could not be fetched.",
        if blocked_by.len() == 1 { "" } else { "s" },
        what.join(", ")
    );
    let names: Vec<&str> = blocked_by.iter().map(|(n, _)| n.as_str()).collect();
    json!({
        "mode": "blocked",
        "risk": Value::Null,
        "reason": reason,
        "findings": [{
            "rule": "context_unavailable",
            "mode": "blocked",
            "reason": reason,
            "factor": {"factor": "context_unavailable", "severity": "critical",
                       "reason": format!("unavailable: {}", names.join(", "))},
            "action_space": {"information_gathering": names.iter().map(|n| json!({
                "action": "restore_context", "description": format!("Make the context provider {n} answer, then try again"),
            })).collect::<Vec<_>>()},
        }],
        "deciding_rules": ["context_unavailable"],
        "exempted_rules": [],
        "overridden": false,
    })
}

fn action_name(action: &ProposedAction) -> &str {
    if action.action.is_empty() {
        &action.tool
    } else {
        &action.action
    }
}

/// The structured flags and the legacy fields, consistent with the mode so that any reader
/// of either agrees with it.
///
/// `needs_context` has no legacy equivalent: marking it enforced, `allowed: false` or
/// `do_not_proceed` would read as a block, and `review_recommended` as a review. So it is
/// advisory, with no `recommendation` and no `allowed`, and `needs_more_context: true`.
fn add_compat_fields(obj: &mut Map<String, Value>, mode: &str, risk: Option<f64>) {
    let (recommendation, enforcement, verdict, allowed, requires_approval, result) = match mode {
        "autonomous" => (
            Some("proceed"),
            "enforced",
            Some("allowed"),
            Some(true),
            false,
            "allowed",
        ),
        "constrained" => (
            Some("proceed_with_caution"),
            "enforced",
            Some("allowed"),
            Some(true),
            false,
            "limited",
        ),
        "review" => (
            Some("review_recommended"),
            "enforced",
            Some("requires_approval"),
            Some(false),
            true,
            "requires_approval",
        ),
        "needs_context" => (None, "advisory", None, None, false, "needs_context"),
        _ => (
            Some("do_not_proceed"),
            "enforced",
            Some("blocked"),
            Some(false),
            false,
            "blocked",
        ),
    };
    obj.insert(
        "can_run".into(),
        json!(matches!(mode, "autonomous" | "constrained")),
    );
    obj.insert("needs_review".into(), json!(mode == "review"));
    obj.insert("needs_more_context".into(), json!(mode == "needs_context"));
    obj.insert("should_not_run".into(), json!(mode == "blocked"));
    if let Some(r) = recommendation {
        obj.insert("recommendation".into(), json!(r));
    }
    obj.insert("risk_score".into(), json!(risk));
    obj.insert("enforcement_mode".into(), json!(enforcement));
    if let Some(v) = verdict {
        obj.insert("enforced_verdict".into(), json!(v));
    }
    if let Some(a) = allowed {
        obj.insert("allowed".into(), json!(a));
    }
    obj.insert("requires_approval".into(), json!(requires_approval));
    obj.insert("result".into(), json!(result));
}

#[async_trait]
impl DecisionEngine for LocalEngine {
    /// Gathers the context providers' documents, then decides on them and records the
    /// decision.
    async fn evaluate(&self, action: &ProposedAction) -> Result<Decision, bighub_core::Error> {
        let context = self.gather_context(action).await;
        Ok(self.decide_in_context(action, RequestOrigin::default(), &context)?)
    }

    /// Decides from the store's history and the context gathered now, and records nothing.
    async fn preview(&self, action: &ProposedAction) -> Result<Decision, bighub_core::Error> {
        let context = self.gather_context(action).await;
        Ok(self.decide_without_recording_in_context(action, &context)?)
    }

    async fn report_outcome(&self, report: &OutcomeReport) -> Result<(), bighub_core::Error> {
        Ok(self.record_outcome(report)?)
    }

    async fn ingest_memory(&self, batch: &MemoryBatch) -> Result<(), bighub_core::Error> {
        self.record_memory(batch)?;
        Ok(())
    }

    async fn resolve_approval(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
    ) -> Result<Value, bighub_core::Error> {
        let record = self.resolve(request_id, resolution)?;
        Ok(serde_json::to_value(record).map_err(LocalError::from)?)
    }

    async fn approval(&self, request_id: &str) -> Result<Option<Value>, bighub_core::Error> {
        let record = LocalEngine::approval(self, request_id)?;
        Ok(record
            .map(|r| serde_json::to_value(r).map_err(LocalError::from))
            .transpose()?)
    }

    /// Verifies the approval against the exact call, then consumes it (once, also across
    /// processes sharing the store); see [`LocalEngine::claim`].
    async fn claim_approval(
        &self,
        request_id: &str,
        action: &ProposedAction,
    ) -> Result<ApprovalClaim, bighub_core::Error> {
        self.claim(request_id, action)?;
        Ok(ApprovalClaim::Claimed)
    }
}
