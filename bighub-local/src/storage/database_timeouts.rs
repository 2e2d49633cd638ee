//! How long the PostgreSQL store waits for the database: [`DatabaseTimeouts`].
//!
//! This module owns the limits and their defaults; the PostgreSQL store (`postgres/`)
//! applies them (they live outside it so that the builder takes them in every build). A
//! call that runs out of time is [`LocalError::Database`](crate::LocalError), an
//! unavailable store (the decision server answers 503), never a hang: a database host that
//! vanished holds no connection and no caller for longer than these limits.

use std::time::Duration;

/// Time limits of the PostgreSQL store ([`LocalEngineBuilder::database_timeouts`](crate::LocalEngineBuilder::database_timeouts)).
///
/// | limit | default | bounds |
/// |---|---|---|
/// | `connect` | 10 s | opening a connection: TCP, TLS and start-up (`connect_timeout` in the URL sets the TCP part) |
/// | `statement` | 10 s | one statement, cancelled by the server (`statement_timeout`; a URL's `options=-c statement_timeout=MS` wins) |
/// | `call` | 20 s | one store call, all its statements, also when the server never answers |
/// | `pool_wait` | 10 s | waiting for a pooled connection while all are busy |
///
/// Connections also give up on a peer that stops acknowledging (TCP user timeout and
/// keepalives, at `call`), so that a dead host's connections are closed rather than
/// reused.
///
/// ```
/// use std::time::Duration;
/// use bighub_local::storage::DatabaseTimeouts;
///
/// let timeouts = DatabaseTimeouts::default()
///     .statement(Duration::from_secs(5))
///     .call(Duration::from_secs(8));
/// assert_eq!(timeouts.connect, Duration::from_secs(10));
/// assert_eq!(timeouts.statement, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseTimeouts {
    /// Opening a connection (TCP, TLS, start-up); also the pool's create and recycle limit.
    pub connect: Duration,
    /// One statement, enforced by the server.
    pub statement: Duration,
    /// One store call, enforced by the client.
    pub call: Duration,
    /// Waiting for a free pooled connection.
    pub pool_wait: Duration,
}

impl Default for DatabaseTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            statement: Duration::from_secs(10),
            call: Duration::from_secs(20),
            pool_wait: Duration::from_secs(10),
        }
    }
}

impl DatabaseTimeouts {
    /// Sets the limit on opening a connection.
    pub fn connect(mut self, limit: Duration) -> Self {
        self.connect = limit;
        self
    }

    /// Sets the limit on one statement (the server's `statement_timeout`).
    pub fn statement(mut self, limit: Duration) -> Self {
        self.statement = limit;
        self
    }

    /// Sets the limit on one store call.
    pub fn call(mut self, limit: Duration) -> Self {
        self.call = limit;
        self
    }

    /// Sets the limit on waiting for a pooled connection.
    pub fn pool_wait(mut self, limit: Duration) -> Self {
        self.pool_wait = limit;
        self
    }
}
