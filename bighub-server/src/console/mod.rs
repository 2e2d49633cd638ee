//! The approvals console: web pages where operators see what agents ask for and answer it.
//!
//! This module owns the console's configuration ([`ConsoleSettings`]), the console itself
//! over a [`LocalBackend`] ([`Console`]), and its routes, which the server mounts beside
//! the JSON API when a console is configured (and not otherwise: its paths are then 404,
//! the API unchanged):
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the pending approvals, updated live |
//! | `GET /console/approvals/fragment` | the pending list alone (what the page fetches on each event) |
//! | `GET /console/approvals/{request_id}` | one approval: the call, the engine's explanation, what it used, its history, the answer forms |
//! | `POST /console/approvals/{request_id}/approve`, `/reject` | answers it, with a comment the model sees, as `console:<operator>` |
//! | `GET /console/decisions` | the decision log, filtered and paged, newest first |
//! | `GET /console/decisions/{request_id}` | one decision whole, its outcomes and its approval's history |
//! | `GET /console/events` | server-sent events: approvals requested and answered |
//! | `GET`/`POST /console/login`, `POST /console/logout` | signing in with an operator token, and out |
//! | `GET /console/assets/{name}` | the stylesheet and the script, embedded |
//!
//! Inside: `operators.rs` who may sign in (tokens, a trusted proxy's identity header),
//! `session.rs` the signed session cookie, `csrf.rs` form tokens and the origin check,
//! `access.rs` who a request is from and what it may do, `headers.rs` the security
//! headers on every answer, `assets.rs` the embedded files, `views.rs` the templates,
//! `approval_view.rs` and `decision_view.rs` what the templates show, `pages.rs` the
//! pages, `answers.rs` approving and rejecting, `login.rs` signing in and out, and
//! `events.rs` the live updates. The console decides nothing and keeps no state of its
//! own: it reads the engine's store and answers through [`Backend::resolve_approval`],
//! so the store records the operator and the server publishes the answer.
//!
//! Answering with the engine's better action or with edited arguments is not here.
//!
//! [`Backend::resolve_approval`]: crate::Backend::resolve_approval

// A refusal here is the page that answers the request, returned once per request: boxing
// it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::backend::LocalBackend;

mod access;
mod answers;
mod approval_view;
mod assets;
mod csrf;
mod decision_view;
mod events;
mod headers;
mod login;
mod operators;
mod pages;
mod session;
mod views;

pub use headers::CONTENT_SECURITY_POLICY_VALUE;
pub use operators::{MIN_TOKEN_LEN, OperatorTokens, ProxyAuth};
pub use session::{MIN_SESSION_KEY_LEN, SESSION_COOKIE, SessionKey};

/// How long a session lasts by default.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// How operators sign in, and how their sessions are kept.
///
/// ```
/// use bighub_server::console::{ConsoleSettings, OperatorTokens, SessionKey};
///
/// let mut settings = ConsoleSettings::new(SessionKey::random().unwrap());
/// settings.tokens = OperatorTokens::parse("ana=op_ana_0123456789abcdef").unwrap();
/// // Listening on loopback only: the cookie may go over plain HTTP.
/// settings.secure_cookies = false;
/// assert!(settings.is_enabled());
/// ```
#[derive(Clone)]
pub struct ConsoleSettings {
    /// Operator tokens entered on the sign-in page (`BIGHUB_CONSOLE_TOKENS`).
    pub tokens: OperatorTokens,
    /// An authenticating proxy's identity header, believed from its addresses only.
    pub proxy: Option<ProxyAuth>,
    /// The key sessions and form tokens are signed with.
    pub session_key: SessionKey,
    /// Whether the session cookie is `Secure` (sent over HTTPS only): on, unless the
    /// server listens on a loopback address.
    pub secure_cookies: bool,
    /// How long a session lasts ([`DEFAULT_SESSION_TTL`]).
    pub session_ttl: Duration,
}

impl fmt::Debug for ConsoleSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleSettings")
            .field("tokens", &self.tokens)
            .field("proxy", &self.proxy)
            .field("session_key", &self.session_key)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_ttl", &self.session_ttl)
            .finish()
    }
}

impl ConsoleSettings {
    /// No way to sign in yet, `Secure` cookies, sessions of [`DEFAULT_SESSION_TTL`].
    pub fn new(session_key: SessionKey) -> Self {
        Self {
            tokens: OperatorTokens::default(),
            proxy: None,
            session_key,
            secure_cookies: true,
            session_ttl: DEFAULT_SESSION_TTL,
        }
    }

    /// Whether anyone can sign in: operator tokens or a proxy are configured.
    pub fn is_enabled(&self) -> bool {
        !self.tokens.is_empty() || self.proxy.is_some()
    }
}

/// The approvals console over a [`LocalBackend`]; give it to
/// [`ServerConfig::console`](crate::ServerConfig::console) to serve it.
///
/// ```no_run
/// use std::sync::Arc;
/// use bighub_local::LocalEngine;
/// use bighub_server::console::{Console, ConsoleSettings, OperatorTokens, SessionKey};
/// use bighub_server::{ApiKeys, Auth, LocalBackend, Server, ServerConfig};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = LocalEngine::builder().db_path("decisions.db").build()?;
/// let backend = Arc::new(LocalBackend::new(Arc::new(engine)));
/// let mut settings = ConsoleSettings::new(SessionKey::random()?);
/// settings.tokens = OperatorTokens::parse(&std::env::var("BIGHUB_CONSOLE_TOKENS")?)?;
/// settings.secure_cookies = false;
///
/// let mut config = ServerConfig::new(Auth::Keys(ApiKeys::parse(&std::env::var("BIGHUB_SERVER_API_KEYS")?)?));
/// config.console = Some(Console::new(backend.clone(), settings)?);
/// let server = Server::new(backend, config);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8484").await?;
/// eprintln!("console: http://{}/", listener.local_addr()?);
/// server.serve(listener, bighub_server::shutdown_signal()).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Console {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) backend: Arc<LocalBackend>,
    pub(crate) settings: ConsoleSettings,
}

impl Console {
    /// The console over `backend`, signing in as `settings` say.
    ///
    /// # Errors
    ///
    /// `settings` let nobody sign in (no token, no proxy).
    pub fn new(backend: Arc<LocalBackend>, settings: ConsoleSettings) -> Result<Self, String> {
        if !settings.is_enabled() {
            return Err(
                "the console needs operator tokens (BIGHUB_CONSOLE_TOKENS) or an authenticating proxy (--console-auth-header with --console-trusted-proxy)"
                    .to_owned(),
            );
        }
        Ok(Self {
            inner: Arc::new(Inner { backend, settings }),
        })
    }

    /// The console's routes, with its security headers on every answer.
    pub(crate) fn router(&self) -> Router {
        Router::new()
            .route("/", get(pages::pending))
            .route("/console", get(pages::to_pending))
            .route("/console/", get(pages::to_pending))
            .route("/console/approvals/fragment", get(pages::fragment))
            .route("/console/approvals/{request_id}", get(pages::approval))
            .route(
                "/console/approvals/{request_id}/approve",
                post(answers::approve),
            )
            .route(
                "/console/approvals/{request_id}/reject",
                post(answers::reject),
            )
            .route(
                "/console/approvals/{request_id}/preview",
                post(answers::preview),
            )
            .route("/console/decisions", get(pages::decisions))
            .route("/console/decisions/{request_id}", get(pages::decision))
            .route("/console/events", get(events::stream))
            .route("/console/login", get(login::form).post(login::sign_in))
            .route("/console/logout", post(login::sign_out))
            .route("/console/assets/{name}", get(assets::serve))
            .route(
                "/console/{*rest}",
                get(pages::not_found).post(pages::not_found),
            )
            .with_state(Arc::clone(&self.inner))
            .layer(axum::middleware::map_response(headers::secure))
    }
}

/// The console's shared state, as handlers get it.
pub(crate) type Shared = Arc<Inner>;
