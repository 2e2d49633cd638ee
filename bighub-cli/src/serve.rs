//! `bighub serve`: the decision server on the local engine and its store.
//!
//! This module owns the command's options, where the API keys come from
//! (`BIGHUB_SERVER_API_KEYS`, `--api-key-file`), the refusal to run without keys anywhere
//! but on loopback, where the notification and Slack secrets come from
//! (`BIGHUB_NOTIFY_SECRET`, `BIGHUB_SLACK_SIGNING_SECRET`, or files), the approvals
//! console's settings (`BIGHUB_CONSOLE_TOKENS`, `--console-auth-header`,
//! `--console-trusted-proxy`, `BIGHUB_CONSOLE_SESSION_KEY`), the first line of output
//! (`listening on http://ADDR`, then `console: http://ADDR/` on standard error when the
//! console is on) and the graceful stop on SIGTERM or ctrl-c.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bighub_server::console::{Console, ConsoleSettings, OperatorTokens, ProxyAuth, SessionKey};
use bighub_server::notify::{NotifyConfig, SigningSecret, SlackActions};
use bighub_server::{ApiKeys, Auth, LocalBackend, Server, ServerConfig};
use clap::Args;

use crate::decision_log_args::DecisionLogArgs;
use crate::{Global, builder};

/// The variable holding the server's API keys.
const KEYS_VAR: &str = "BIGHUB_SERVER_API_KEYS";
/// The variable holding the secret that signs approval notifications.
const NOTIFY_SECRET_VAR: &str = "BIGHUB_NOTIFY_SECRET";
/// The variable holding the Slack app's signing secret.
const SLACK_SECRET_VAR: &str = "BIGHUB_SLACK_SIGNING_SECRET";
/// The variable holding the console's operator tokens.
const CONSOLE_TOKENS_VAR: &str = "BIGHUB_CONSOLE_TOKENS";
/// The variable holding the key console sessions are signed with.
const CONSOLE_KEY_VAR: &str = "BIGHUB_CONSOLE_SESSION_KEY";

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8484")]
    listen: SocketAddr,
    /// A file of API keys, one `name=key` (or bare key) per line, added to those in
    /// $BIGHUB_SERVER_API_KEYS.
    #[arg(long)]
    api_key_file: Option<PathBuf>,
    /// Accept requests without an API key; allowed on a loopback address only.
    #[arg(long)]
    insecure_no_auth: bool,
    /// The largest request body accepted, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// How long a client may take to send a request's body, and a read-only request may
    /// wait for the store, in seconds. A request that records is answered once the store
    /// has recorded it or refused it.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,
    /// How long a client may take to send a request's header, in seconds; waiting for the
    /// next request on a kept-alive connection counts.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: u64,
    /// How long a connection may stay without traffic and without a request in flight,
    /// in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// The most connections served at once; more are answered 503. Keep it under the
    /// process's limit of open files (`ulimit -n`).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// The most connections served at once for one client address; 0 for no cap (behind
    /// a reverse proxy, whose address every client shares).
    #[arg(long, default_value_t = 32)]
    max_connections_per_address: u64,
    /// The context providers' configuration (JSON, or TOML by its extension): each
    /// decision fetches them first. Wins over --context and $BIGHUB_CONTEXT.
    #[arg(long, value_name = "CONTEXT_FILE")]
    config: Option<PathBuf>,
    /// Require that every approval answered through this server (its API, console, Slack)
    /// is approved by someone other than whoever asked for it: not the API key that made
    /// the decision, not its actor. Rejections stay anyone's to give.
    #[arg(long)]
    separate_approver: bool,
    /// POST a signed JSON notification of every approval requested, answered or expired
    /// to URL (repeatable): https://, or http:// to this machine. A Slack incoming-webhook
    /// URL shows it as a message with Approve and Reject buttons. Signed (header
    /// X-Bighub-Signature) with $BIGHUB_NOTIFY_SECRET or --notify-secret-file.
    #[arg(long = "notify-url", value_name = "URL")]
    notify_urls: Vec<String>,
    /// A file holding the secret that signs notifications (instead of
    /// $BIGHUB_NOTIFY_SECRET); at least 16 characters.
    #[arg(long, value_name = "PATH")]
    notify_secret_file: Option<PathBuf>,
    /// The address people reach this server's console at (e.g.
    /// `https://bighub.example.com`): notifications link to
    /// URL/console/approvals/REQUEST_ID.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// A file holding the Slack app's signing secret (instead of
    /// $BIGHUB_SLACK_SIGNING_SECRET): enables POST /slack/actions, the app's
    /// interactivity request URL, where the Approve and Reject buttons answer approvals.
    #[arg(long, value_name = "PATH")]
    slack_signing_secret_file: Option<PathBuf>,
    /// A Slack user allowed to answer approvals from Slack, and the operator name the
    /// answer is recorded under (as slack:OPERATOR), e.g. U0123ABC=alice (repeatable).
    /// Other users' clicks change nothing.
    #[arg(long = "slack-user", value_name = "USERID=OPERATOR")]
    slack_users: Vec<String>,
    /// Serve the approvals console to operators signed in by an authenticating proxy that
    /// sets this header to their identity (e.g. X-Forwarded-Email); believed only from
    /// --console-trusted-proxy addresses. Operators may also sign in with a token from
    /// $BIGHUB_CONSOLE_TOKENS (name=token,...).
    #[arg(long, value_name = "HEADER")]
    console_auth_header: Option<String>,
    /// The address of the proxy whose --console-auth-header is believed (repeatable).
    #[arg(long, value_name = "ADDR")]
    console_trusted_proxy: Vec<IpAddr>,
    /// A shadow policy: a .rego file, a .json data file or a directory of both
    /// (repeatable). Every decision is also decided by the enforced set with these added,
    /// and the result is recorded beside it (`decision_brain.shadow`, `bighub decisions
    /// --shadow`, /metrics); it never changes what runs.
    #[arg(long = "shadow-policy", value_name = "PATH")]
    shadow_policies: Vec<PathBuf>,
    /// How often the policy files (--policy, $BIGHUB_POLICY, --shadow-policy) are checked
    /// for changes (a duration such as 2s or 1m, or whole seconds); a change that compiles and passes the *_test.rego tests beside it is put in force, one
    /// that does not is reported in /healthz and /metrics while the revision in force
    /// keeps deciding. 0 turns watching off.
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = poll_interval)]
    policy_poll_interval: Duration,
    #[command(flatten)]
    decision_logs: Box<DecisionLogArgs>,
}

/// A poll interval: a duration as the policy reads them (`2s`, `1m`, `30`), 0 for none.
fn poll_interval(text: &str) -> Result<Duration, String> {
    bighub_local::duration::parse_duration(text).map_err(|e| e.to_string())
}

pub(crate) fn serve(global: &Global, args: ServeArgs) -> Result<ExitCode, String> {
    // Logs go to standard error, so that standard output starts with the address.
    // Request logs name the API key, never its value, and never carry request bodies;
    // colours only on a terminal, so that log files hold no escape codes. Other crates
    // (the HTTP stack, drivers) log warnings only unless BIGHUB_LOG says otherwise, and
    // rmcp's own events, which quote what an MCP server sent unescaped, are off unless
    // BIGHUB_LOG names rmcp.
    let filter = tracing_subscriber::EnvFilter::try_from_env("BIGHUB_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "warn,bighub=info,bighub_cli=info,bighub_server=info,bighub_local=info",
        )
    });
    let filter = if std::env::var("BIGHUB_LOG").is_ok_and(|v| v.contains("rmcp")) {
        filter
    } else {
        filter.add_directive("rmcp=off".parse().map_err(|e| format!("{e}"))?)
    };
    // Spans are exported too when the standard OTEL_* variables configure OTLP; the guard
    // flushes them once the server has stopped.
    let telemetry = match bighub_telemetry::init_with_filter(filter, "bighub-server") {
        Ok(guard) => Some(guard),
        Err(bighub_telemetry::TelemetryError::AlreadyInstalled) => None,
        Err(error) => return Err(error.to_string()),
    };
    if telemetry.as_ref().is_some_and(|t| t.is_exporting()) {
        eprintln!("bighub: traces exported over OTLP");
    }
    let auth = auth(&args)?;
    bighub_server::check_listen(&args.listen, &auth)?;
    let mut engine = builder(global);
    if let Some(path) = &args.config {
        engine = engine.context_file(path);
    }
    for path in &args.shadow_policies {
        engine = engine.shadow_policy(path);
    }
    let decision_logs = args.decision_logs.start()?;
    if let Some(logs) = &decision_logs {
        engine = engine.decision_logs(logs.clone());
    }
    let engine = Arc::new(engine.build().map_err(|e| e.to_string())?);
    // Kept for as long as the server serves: dropping it stops the polling.
    let _watcher = if args.policy_poll_interval.is_zero() {
        None
    } else {
        Some(
            engine
                .watch_policies(args.policy_poll_interval)
                .map_err(|e| e.to_string())?,
        )
    };
    let notify = notifications(&args, std::env::var(NOTIFY_SECRET_VAR).ok())?;
    let slack = slack_actions(&args, std::env::var(SLACK_SECRET_VAR).ok())?;
    let mut config = ServerConfig::new(auth);
    if let Some(logs) = &decision_logs {
        // Endpoints by their path without the query, which may carry a token.
        eprintln!("bighub: decision logs to {}", logs.destination());
    }
    config.decision_logs = decision_logs;
    config.slack = slack.map(Arc::new);
    config.max_body_bytes = args.max_body_bytes;
    config.request_timeout = Duration::from_secs(args.request_timeout);
    config.connections.header_read_timeout = Duration::from_secs(args.header_read_timeout);
    config.connections.idle_timeout = Duration::from_secs(args.idle_timeout);
    config.connections.max_connections =
        usize::try_from(args.max_connections).unwrap_or(usize::MAX);
    config.connections.max_connections_per_address = match args.max_connections_per_address {
        0 => None,
        n => Some(usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let backend =
        Arc::new(LocalBackend::new(Arc::clone(&engine)).separate_approver(args.separate_approver));
    if let Some(settings) = console_settings(&args)? {
        config.console = Some(Console::new(Arc::clone(&backend), settings)?);
    }
    let console = config.console.is_some();
    let mut server = Server::new(backend.clone(), config);
    if let Some(notify) = notify {
        // Targets by origin only: a webhook URL carries its token in its path or query.
        let targets: Vec<String> = notify.targets().iter().map(ToString::to_string).collect();
        eprintln!("bighub: approval notifications to {}", targets.join(", "));
        server = server
            .with_notifications(notify, backend.events())
            .map_err(|e| e.to_string())?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
        drop(out);
        if console {
            eprintln!("console: http://{addr}/");
        }
        server
            .serve(listener, bighub_server::shutdown_signal())
            .await
            .map_err(|e| format!("the server failed: {e}"))
    })?;
    eprintln!("bighub: stopped");
    Ok(ExitCode::SUCCESS)
}

/// The notifications `--notify-url` asks for, signed with the secret of
/// `--notify-secret-file` or else `env_secret` ($BIGHUB_NOTIFY_SECRET).
fn notifications(
    args: &ServeArgs,
    env_secret: Option<String>,
) -> Result<Option<NotifyConfig>, String> {
    if args.notify_urls.is_empty() {
        if args.public_url.is_some() {
            return Err(
                "--public-url is the base of notifications' links: give --notify-url too"
                    .to_owned(),
            );
        }
        return Ok(None);
    }
    let secret = secret(
        args.notify_secret_file.as_deref(),
        env_secret,
        NOTIFY_SECRET_VAR,
        "--notify-secret-file",
        "--notify-url",
    )?;
    let mut config = NotifyConfig::new(secret);
    for url in &args.notify_urls {
        config.add_target(url).map_err(|e| e.to_string())?;
    }
    if let Some(url) = &args.public_url {
        config.set_public_url(url).map_err(|e| e.to_string())?;
    }
    Ok(Some(config))
}

/// Slack's buttons, when a Slack signing secret is given (`--slack-signing-secret-file`,
/// else `env_secret`, $BIGHUB_SLACK_SIGNING_SECRET), answered by the `--slack-user`s.
fn slack_actions(
    args: &ServeArgs,
    env_secret: Option<String>,
) -> Result<Option<SlackActions>, String> {
    let configured = args.slack_signing_secret_file.is_some()
        || env_secret.as_deref().is_some_and(|s| !s.trim().is_empty());
    if !configured {
        if !args.slack_users.is_empty() {
            return Err(format!(
                "--slack-user needs the Slack app's signing secret: set {SLACK_SECRET_VAR} or give --slack-signing-secret-file"
            ));
        }
        return Ok(None);
    }
    let secret = secret(
        args.slack_signing_secret_file.as_deref(),
        env_secret,
        SLACK_SECRET_VAR,
        "--slack-signing-secret-file",
        "Slack's buttons",
    )?;
    if args.slack_users.is_empty() {
        return Err(
            "Slack's buttons are on but nobody may answer: give --slack-user USERID=OPERATOR (repeatable)"
                .to_owned(),
        );
    }
    let mut slack = SlackActions::new(secret);
    for entry in &args.slack_users {
        slack.allow(entry).map_err(|e| e.to_string())?;
    }
    Ok(Some(slack))
}

/// A signing secret from `file`, else from the variable `var` (its value `env`); the
/// messages name where it came from, never its value.
fn secret(
    file: Option<&std::path::Path>,
    env: Option<String>,
    var: &str,
    flag: &str,
    needed_by: &str,
) -> Result<SigningSecret, String> {
    match (file, env) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {flag} {}: {e}", path.display()))?;
            SigningSecret::new(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
        (None, Some(text)) if !text.trim().is_empty() => {
            SigningSecret::new(&text).map_err(|e| format!("{var}: {e}"))
        }
        _ => Err(format!(
            "{needed_by} needs a signing secret: set {var} or give {flag}"
        )),
    }
}

fn auth(args: &ServeArgs) -> Result<Auth, String> {
    let mut keys = match std::env::var(KEYS_VAR) {
        Ok(list) => ApiKeys::parse(&list).map_err(|e| format!("{KEYS_VAR}: {e}"))?,
        Err(_) => ApiKeys::default(),
    };
    if let Some(path) = &args.api_key_file {
        keys.extend(&ApiKeys::from_file(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if keys.is_empty() && args.insecure_no_auth {
        return Ok(Auth::InsecureNoAuth);
    }
    if keys.is_empty() {
        return Err(format!(
            "no API key is configured: set {KEYS_VAR} (comma-separated, name=key) or give --api-key-file; --insecure-no-auth serves without keys on a loopback address"
        ));
    }
    Ok(Auth::Keys(keys))
}

/// The console's settings from $BIGHUB_CONSOLE_TOKENS, --console-auth-header and
/// --console-trusted-proxy, and $BIGHUB_CONSOLE_SESSION_KEY; `None` when no way to sign
/// in is configured (the console is then off).
fn console_settings(args: &ServeArgs) -> Result<Option<ConsoleSettings>, String> {
    let tokens = match std::env::var(CONSOLE_TOKENS_VAR) {
        Ok(list) => {
            OperatorTokens::parse(&list).map_err(|e| format!("{CONSOLE_TOKENS_VAR}: {e}"))?
        }
        Err(_) => OperatorTokens::default(),
    };
    let proxy = match (
        &args.console_auth_header,
        args.console_trusted_proxy.is_empty(),
    ) {
        (Some(header), _) => Some(ProxyAuth::new(header, args.console_trusted_proxy.clone())?),
        (None, false) => {
            return Err("--console-trusted-proxy needs --console-auth-header".to_owned());
        }
        (None, true) => None,
    };
    if tokens.is_empty() && proxy.is_none() {
        return Ok(None);
    }
    let session_key = match std::env::var(CONSOLE_KEY_VAR) {
        Ok(secret) => {
            SessionKey::from_secret(&secret).map_err(|e| format!("{CONSOLE_KEY_VAR}: {e}"))?
        }
        Err(_) => SessionKey::random()?,
    };
    let mut settings = ConsoleSettings::new(session_key);
    settings.tokens = tokens;
    settings.proxy = proxy;
    // Over plain HTTP the browser keeps a Secure cookie only for this machine's own
    // addresses; anywhere else the console is meant to be reached over HTTPS.
    settings.secure_cookies = !args.listen.ip().is_loopback();
    Ok(Some(settings))
}
