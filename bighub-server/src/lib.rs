//! # bighub-server
//!
//! A self-hosted BIGHUB decision server: the embedded engine (`bighub-local`) behind the
//! hosted service's wire contract, so that every client of the hosted service —
//! `bighub_remote::RemoteBighub`, the Python `bighub` and `bighub-openai` packages pointed at
//! `BIGHUB_BASE_URL`, agents in any language — shares one decision log and one set of
//! approvals, with no code change. `bighub serve` runs it from the command line.
//!
//! ```no_run
//! use std::sync::Arc;
//! use bighub_local::LocalEngine;
//! use bighub_server::{ApiKeys, Auth, LocalBackend, Server, ServerConfig};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = LocalEngine::builder().db_path("decisions.db").build()?;
//! let keys = ApiKeys::parse(&std::env::var("BIGHUB_SERVER_API_KEYS")?)?;
//! let config = ServerConfig::new(Auth::Keys(keys));
//! let server = Server::new(Arc::new(LocalBackend::new(Arc::new(engine))), config);
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8484").await?;
//! println!("listening on http://{}", listener.local_addr()?);
//! server.serve(listener, bighub_server::shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! What each module owns:
//!
//! - `server` — [`Server`]: the router, its counters and its connection limits, served;
//! - `connections` — the accept loop: header-read and idle timeouts, the caps on
//!   connections in all and per client address, the graceful stop;
//! - `routes` — the router, the order of the checks (404, 405, 401, 408, 413, 422, 503)
//!   and the answers' shapes, `/healthz` and `/metrics`;
//! - `probe` — the store reads `/healthz` and `/metrics` make off the request path;
//! - `wire` — the request bodies' rules (the hosted service's 422 `detail` lists) and
//!   their mapping onto the engine's types;
//! - `auth` — API keys: parsing, names, the constant-time check;
//! - `backend` — the [`Backend`] seam: [`LocalBackend`] (the embedded engine and its
//!   store) and [`EngineBackend`] (any `DecisionEngine`);
//! - `metrics` — the counters and their Prometheus text;
//! - `policy_metrics` — the policy revision, its reloads and the shadow set's decisions in
//!   `/metrics` and `/healthz`;
//! - [`approval_events`] — what happens to approvals, for the console and notifications;
//! - [`notify`] — signed approval webhooks (Slack-compatible) and Slack's buttons
//!   (`/slack/actions`).
//! - [`console`] — the approvals console: operators sign in, see pending approvals and the
//!   decision log, and answer approvals.
//!
//! The server keeps no state of its own beyond counters and the last answers of the
//! store to `/healthz` and `/metrics`: decisions, approvals and
//! idempotency keys live in the engine's store, so several servers on one shared store
//! answer as one.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod approval_events;
mod auth;
mod backend;
mod connections;
pub mod console;
mod metrics;
pub mod notify;
mod policy_metrics;
mod probe;
mod routes;
mod runs;
mod server;
mod spans;
pub mod wire;

use std::net::SocketAddr;

pub use auth::{ApiKeys, Auth, MIN_KEY_LEN};
pub use backend::{ApprovalFilter, Backend, BackendError, Caller, EngineBackend, LocalBackend};
pub use connections::ConnectionLimits;
pub use metrics::Metrics;
pub use routes::{
    API_KEY_HEADER, IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY_LEN, ServerConfig, router,
};
pub use server::Server;

/// Refuses to serve without API keys anywhere but on a loopback address, and with an empty
/// key list at all.
///
/// ```
/// use bighub_server::{Auth, check_listen};
///
/// assert!(check_listen(&"127.0.0.1:8484".parse().unwrap(), &Auth::InsecureNoAuth).is_ok());
/// assert!(check_listen(&"0.0.0.0:8484".parse().unwrap(), &Auth::InsecureNoAuth).is_err());
/// ```
///
/// # Errors
///
/// A message saying what to configure.
pub fn check_listen(addr: &SocketAddr, auth: &Auth) -> Result<(), String> {
    match auth {
        Auth::Keys(keys) if keys.is_empty() => Err(
            "no API key is configured: set BIGHUB_SERVER_API_KEYS (comma-separated, name=key) or give --api-key-file"
                .to_owned(),
        ),
        Auth::Keys(_) => Ok(()),
        Auth::InsecureNoAuth if addr.ip().is_loopback() => Ok(()),
        Auth::InsecureNoAuth => Err(format!(
            "refusing to serve without API keys on {addr}: without keys the server listens on a loopback address only"
        )),
    }
}

/// Completes on ctrl-c or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
