//! The decision server as one value: its router, its counters and the limits its
//! connections are held to.
//!
//! This module owns how the pieces are put together ([`Server::new`],
//! [`Server::with_notifications`]) and served ([`Server::serve`]), approval notifications
//! running beside the connections for as long as they are served, and the decision-log
//! sink closed once they stop; the routes are `routes.rs`'s, the connections
//! `connections.rs`'s, the notifications `notify`'s, the sink `bighub_local`'s.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use bighub_local::decision_logs::DecisionLogs;

use crate::approval_events::ApprovalEvents;
use crate::backend::Backend;
use crate::connections::{self, ConnectionLimits};
use crate::metrics::Metrics;
use crate::notify::{Notifier, NotifyConfig, NotifyError};
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
    notifier: Option<Notifier>,
    backend: Arc<dyn Backend>,
    expiry_sweep: std::time::Duration,
    decision_logs: Option<DecisionLogs>,
}

/// How long a stopping server gives the decision-log records still queued.
const DECISION_LOG_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

impl Server {
    /// The server answering the hosted service's contract over `backend`, as `config`
    /// says.
    pub fn new(backend: Arc<dyn Backend>, config: ServerConfig) -> Self {
        let mut metrics = Metrics::default();
        let decision_logs = config.decision_logs.clone();
        if let Some(logs) = &decision_logs {
            metrics.watch_decision_logs(logs.clone());
        }
        let metrics = Arc::new(metrics);
        let limits = config.connections.clone();
        let expiry_sweep = config.expiry_sweep;
        let router = routes::build(Arc::clone(&backend), config, Arc::clone(&metrics));
        Self {
            router,
            limits,
            metrics,
            notifier: None,
            backend,
            expiry_sweep,
            decision_logs,
        }
    }

    /// Announces what happens to approvals (`events`, e.g. [`LocalBackend::events`]) to
    /// the webhooks of `config`, from now on, for as long as the server is served: each
    /// approval requested, answered or expired is POSTed, signed, to every target, in a
    /// body that is also a Slack message. Counted in `/metrics` as
    /// `bighub_notifications_{sent,failed,dropped}_total`. Notifications run inside
    /// [`serve`](Self::serve): routes taken alone with [`router`](Self::router) send none.
    ///
    /// [`LocalBackend::events`]: crate::LocalBackend::events
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use bighub_local::LocalEngine;
    /// use bighub_server::notify::{NotifyConfig, SigningSecret};
    /// use bighub_server::{ApiKeys, Auth, LocalBackend, Server, ServerConfig};
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = LocalEngine::builder().in_memory().build()?;
    /// let backend = Arc::new(LocalBackend::new(Arc::new(engine)));
    /// let mut notify = NotifyConfig::new(SigningSecret::new(&std::env::var("BIGHUB_NOTIFY_SECRET")?)?);
    /// notify.add_target("https://hooks.slack.com/services/T0/B0/xyz")?;
    /// notify.set_public_url("https://bighub.example.com")?;
    /// let config = ServerConfig::new(Auth::Keys(ApiKeys::parse("agent=bh_0123456789abcdef")?));
    /// let server = Server::new(backend.clone(), config).with_notifications(notify, backend.events())?;
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8484").await?;
    /// server.serve(listener, bighub_server::shutdown_signal()).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// A configuration without targets or with limits that cannot work, or an HTTP client
    /// that cannot be built.
    pub fn with_notifications(
        mut self,
        config: NotifyConfig,
        events: &ApprovalEvents,
    ) -> Result<Self, NotifyError> {
        self.notifier = Some(Notifier::new(config, events, Arc::clone(&self.metrics))?);
        Ok(self)
    }

    /// The routes alone, to nest in an application of one's own. Served that way, the
    /// connection limits of [`ServerConfig::connections`] are the application's to enforce.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves on `listener` until `shutdown` completes; then accepts no more connections,
    /// closes idle ones, and returns once the requests in flight are answered, and the
    /// notifications and decision-log records still queued are sent (within their grace). Meanwhile, every
    /// [`ServerConfig::expiry_sweep`], the approvals whose time ran out are marked expired
    /// (and announced).
    ///
    /// # Errors
    ///
    /// None today: failures to accept a connection are logged and retried.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let notifier = self.notifier.map(Notifier::start);
        let sweeper = tokio::spawn(sweep_expired(self.backend, self.expiry_sweep));
        let served =
            connections::serve(listener, self.router, self.limits, self.metrics, shutdown).await;
        sweeper.abort();
        if let Some(notifier) = notifier {
            notifier.stop().await;
        }
        if let Some(logs) = self.decision_logs {
            close_decision_logs(logs).await;
        }
        served
    }
}

/// Sends the decision-log records still queued, within [`DECISION_LOG_GRACE`].
async fn close_decision_logs(logs: DecisionLogs) {
    let closed = tokio::task::spawn_blocking(move || logs.close(DECISION_LOG_GRACE)).await;
    match closed {
        Ok(stats) if stats.abandoned > 0 => tracing::warn!(
            abandoned = stats.abandoned,
            "decision-log records still queued when the server stopped were not sent"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = ?e, "closing the decision logs failed"),
    }
}

/// Marks overdue approvals expired every `every`, for as long as the server serves. A
/// failure (the store down) is logged and tried again at the next tick.
async fn sweep_expired(backend: Arc<dyn Backend>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match backend.expire_due().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "approvals expired"),
            Err(error) => tracing::warn!(%error, "overdue approvals could not be marked expired"),
        }
    }
}
