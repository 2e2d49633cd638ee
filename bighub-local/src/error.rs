//! The errors of the local decision engine.
//!
//! This module owns [`LocalError`] and its mapping onto [`bighub_core::Error`]; the places
//! that raise each variant live in their own modules (policy, store, approvals, ...).

use std::path::PathBuf;

use bighub_core::approval::ApprovalRefused;

/// Everything that can go wrong in the local decision engine.
///
/// Policy errors carry the file and line of the offending Rego; they are raised when the
/// engine is built, never at the first tool call, except a rule that fails only on some
/// inputs, which fails that call ([`PolicyEvaluation`](Self::PolicyEvaluation)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// A Rego file failed to parse or compile; the message starts with `file:line:column`.
    #[error("policy error in {file}: {message}")]
    Policy {
        /// The policy's file name (or the name given to [`policy`](crate::LocalEngineBuilder::policy)).
        file: String,
        /// The Rego compiler's message, with the line and column it points at.
        message: String,
    },

    /// A rule failed while deciding a call (two values for a complete rule, a built-in
    /// called with the wrong arguments, ...). Nothing is decided from the rest of the
    /// policy and no decision is recorded: the call is blocked.
    #[error("policy rule {rule} in {file} failed to evaluate, so the call is blocked: {message}")]
    PolicyEvaluation {
        /// The policy's file name (or the name given to [`policy`](crate::LocalEngineBuilder::policy)).
        file: String,
        /// The rule's path, e.g. `data.bighub.ext.override`.
        rule: String,
        /// What failed, starting with `file:line:column`.
        message: String,
    },

    /// The policy answered something that is not a decision object.
    #[error("the policy answered an invalid decision: {0}")]
    InvalidDecision(String),

    /// A policy file or directory could not be read.
    #[error("cannot read policy path {path}: {source}")]
    PolicyPath {
        /// The path given.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },

    /// The policy configuration (Rego data) is invalid; the message names the key.
    #[error("invalid policy configuration: {0}")]
    Config(String),

    /// A key of the policy configuration (`data.bighub.config`) is unknown, or its value
    /// has the wrong type or is invalid.
    #[error("invalid policy configuration in {origin}: {key}: {message}")]
    InvalidConfig {
        /// Where the configuration came from: a `.json` file's path, `builder config`,
        /// `builder data`.
        origin: String,
        /// The key's full path, e.g. `data.bighub.config.max_privilege_duration` or
        /// `data.bighub.config.freeze_windows[0].start`.
        key: String,
        /// What is wrong: `unknown key; did you mean `...`?`, or the type or value
        /// expected.
        message: String,
    },

    /// The context providers' configuration is invalid: a key that is unknown (with the
    /// closest known one), missing, or holds a wrong value.
    #[error("invalid context configuration in {origin}: {key}: {message}")]
    ContextConfig {
        /// Where it came from: the file's path, or `builder`.
        origin: String,
        /// The key's path, e.g. `providers[1].url`.
        key: String,
        /// What is wrong.
        message: String,
    },

    /// Context providers could not be run at all (no runtime to fetch on); a provider
    /// that fails is not an error but part of the decision.
    #[error("context providers could not run: {0}")]
    Context(String),

    /// A decision-log sink cannot be configured or started as asked: a URL it may not send
    /// to, a header that is not one, a mask that is not a JSON pointer, a file that cannot
    /// be opened, limits that cannot work. The message never holds a header's value.
    #[error("decision logs: {0}")]
    DecisionLogs(String),

    /// A duration could not be read ("48h", "2 days", "PT48H", "90m" are understood).
    #[error("cannot read duration `{0}`: use forms like 48h, 90m, 2 days or PT48H")]
    Duration(String),

    /// A timestamp could not be read (RFC 3339 is expected, e.g. 2026-12-24T00:00:00Z).
    #[error("cannot read timestamp `{0}`: use RFC 3339, e.g. 2026-12-24T00:00:00Z")]
    Timestamp(String),

    /// The store failed (open, migrate, read, write).
    #[error("local store error: {0}")]
    Store(#[from] rusqlite::Error),

    /// The PostgreSQL store failed or cannot be used (a URL or schema name that does not
    /// parse, connect, migrate, read, write); the message has the server's error code and
    /// text, never the database password.
    #[error("database store error: {0}")]
    Database(String),

    /// The request carries a value no store accepts (a NUL character, an identifier over
    /// [`MAX_IDENTIFIER_BYTES`](crate::storage::MAX_IDENTIFIER_BYTES), ...), or the database refused
    /// one of its values; nothing was written. The request is at fault, not the store: the
    /// decision server answers 422 naming the field, never "unavailable".
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The field at fault, as the request names it (`target`, `action`,
        /// `arguments.user_id`, `comment`, ...).
        field: String,
        /// What is wrong with it (never the value itself).
        message: String,
    },

    /// The store's directory could not be created.
    #[error("cannot create the store directory {path}: {source}")]
    StoreDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// No platform data directory is known and `BIGHUB_DB` is not set.
    #[error("no data directory is known for this platform: set BIGHUB_DB to a file path")]
    NoDataDir,

    /// The store lock was poisoned by a panic in another thread.
    #[error("the local store is unusable after a panic in another thread")]
    Poisoned,

    /// A JSON value could not be encoded or decoded.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),

    /// An approval may not be used for the call at hand (not found, already resolved, not
    /// approved, granted for another call, already used).
    #[error(transparent)]
    Approval(#[from] ApprovalRefused),

    /// An idempotency key came back with a different request than the one it was first
    /// used for; the earlier decision is not returned for it.
    #[error("idempotency key {0} was already used for a different request")]
    IdempotencyKeyReused(String),

    /// An outcome names a request id the store does not know.
    #[error("no decision is stored for request {0}")]
    DecisionNotFound(String),

    /// A durable run id is taken: another caller saved it, or a process is resuming it
    /// now (a live lease holds it).
    #[error("durable run {run_id} belongs to another caller or is being resumed")]
    RunUnavailable {
        /// The run.
        run_id: String,
    },

    /// A durable run is no longer held under the lease its claim took (it expired and
    /// another process claimed the run, or the run was completed).
    #[error("the lease on durable run {run_id} is no longer held")]
    LeaseLost {
        /// The run.
        run_id: String,
    },
}

impl LocalError {
    /// Whether the request is at fault (a value the store refuses, an idempotency key
    /// reused for another request), so that sending it again cannot succeed.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Self::InvalidInput { .. } | Self::IdempotencyKeyReused(_) => true,
            Self::Store(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::ConstraintViolation | rusqlite::ErrorCode::TooBig
            ),
            _ => false,
        }
    }

    /// Whether the store could not answer (unreachable, timed out, busy, broken): the
    /// request may succeed later, so a client retries and then applies its fail mode.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Store(_) | Self::Database(_) | Self::Poisoned)
            && !self.is_invalid_input()
    }
}

impl From<LocalError> for bighub_core::Error {
    fn from(err: LocalError) -> Self {
        match err {
            LocalError::InvalidInput { field, message } => Self::Validation {
                message: format!("invalid {field}: {message}"),
                detail: serde_json::json!([{
                    "loc": ["body", field], "msg": message, "type": "value_error",
                }]),
            },
            LocalError::Approval(refused) => Self::Approval(refused),
            LocalError::LeaseLost { run_id } => Self::LeaseLost { run_id },
            other => Self::Engine(other.to_string()),
        }
    }
}
