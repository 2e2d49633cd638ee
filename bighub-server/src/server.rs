//! The decision server as one value: its router, its counters and the limits its
//! connections are held to.
//!
//! This module owns how the pieces are put together ([`Server::new`]) and served
//! ([`Server::serve`]); the routes are `routes.rs`'s, the connections `connections.rs`'s.

use std::future::Future;
use std::sync::Arc;

use axum::Router;

use crate::backend::Backend;
use crate::connections::{self, ConnectionLimits};
use crate::metrics::Metrics;
use crate::routes::{self, ServerConfig};

/// The decision server over a [`Backend`], ready to serve.
///
/// ```no_run
/// use std::sync::Arc;
/// use bighub_local::LocalEngine;
/// use bighub_server::{ApiKeys, Auth, LocalBackend, Server, ServerConfig};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = LocalEngine::builder().in_memory().build()?;
/// let mut config = ServerConfig::new(Auth::Keys(ApiKeys::parse("agent=bh_0123456789abcdef")?));
/// config.connections.max_connections = 256;
/// let server = Server::new(Arc::new(LocalBackend::new(Arc::new(engine))), config);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8484").await?;
/// server.serve(listener, bighub_server::shutdown_signal()).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    router: Router,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
}

impl Server {
    /// The server answering the hosted service's contract over `backend`, as `config`
    /// says.
    pub fn new(backend: Arc<dyn Backend>, config: ServerConfig) -> Self {
        let metrics = Arc::new(Metrics::default());
        let limits = config.connections.clone();
        let router = routes::build(backend, config, Arc::clone(&metrics));
        Self {
            router,
            limits,
            metrics,
        }
    }

    /// The routes alone, to nest in an application of one's own. Served that way, the
    /// connection limits of [`ServerConfig::connections`] are the application's to enforce.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves on `listener` until `shutdown` completes; then accepts no more connections,
    /// closes idle ones, and returns once the requests in flight are answered.
    ///
    /// # Errors
    ///
    /// None today: failures to accept a connection are logged and retried.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        connections::serve(listener, self.router, self.limits, self.metrics, shutdown).await
    }
}
