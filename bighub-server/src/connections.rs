//! Connections: the accept loop, the limits it holds clients to, and the graceful stop.
//!
//! This module owns what happens below requests: how long a client may take to send a
//! request's header, how long a connection may sit idle, how many connections are served at
//! once in all and from one address, and how connections drain when the server stops. A
//! client that sends half a header and waits, or opens connections without end, holds at
//! most its share of them for at most the header-read timeout. Connections speak HTTP/1.1,
//! which every client of the contract uses. Each request carries its client's address
//! (axum's `ConnectInfo`) and a signal of the server stopping ([`Stopping`]). What a
//! request gets is `routes.rs`'s concern.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::metrics::Metrics;

/// How many connections the server holds, and for how long.
///
/// The defaults suit a server reachable by anyone: a client gets 10 s to send a request's
/// header, a connection without traffic and without a request in flight is closed after
/// 10 s, at most 512 connections are served at once (under the usual limit of 1024 open
/// files), at most 32 of them from one client address. Connections over a limit are
/// answered `503 {"detail": "too many connections"}` and closed.
///
/// A kept-alive connection waiting for its next request is closed after the shorter of
/// the two timeouts. Keep both longer than clients keep idle connections (the Python SDK's
/// `httpx`: 5 s), so that a client rarely sends a request on a connection the server is
/// closing.
///
/// ```
/// use std::time::Duration;
/// use bighub_server::ConnectionLimits;
///
/// // Behind a reverse proxy every client shares the proxy's address: no cap per address.
/// let limits = ConnectionLimits {
///     max_connections_per_address: None,
///     ..ConnectionLimits::default()
/// };
/// assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client may take to send a whole request header; the connection is
    /// closed when it has not. Waiting for the next request on a kept-alive connection
    /// counts as reading its header.
    pub header_read_timeout: Duration,
    /// How long a connection may go without traffic while no request is in flight (the
    /// keep-alive timeout); then it is closed, and dropped when the client still does not
    /// read its last answer after as long again. A request in flight is bounded by the
    /// request timeout and the store's own timeouts instead.
    pub idle_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
    /// The most connections served at once for one client address; `None` for no cap
    /// (behind a reverse proxy, whose address all clients share).
    pub max_connections_per_address: Option<usize>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10),
            max_connections: 512,
            max_connections_per_address: Some(32),
        }
    }
}

/// Tells a request whose answer lasts (a stream of events) that the server is stopping,
/// so that it ends the answer and the graceful stop does not wait for it.
#[derive(Debug, Clone)]
pub(crate) struct Stopping(pub(crate) watch::Receiver<bool>);

/// How long to wait before accepting again after the system refused (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);
/// How often a refusal is logged at most; the others are counted in `/metrics`.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then stops
/// accepting and waits for the connections to finish their requests.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let registry = Arc::new(Registry::new(&limits));
    let lingering = Arc::new(tokio::sync::Semaphore::new(MAX_LINGERING));
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "cannot accept connections");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        match registry.admit(peer.ip()) {
            Ok(slot) => {
                metrics.connection_opened();
                tasks.spawn(connection(
                    stream,
                    peer,
                    slot,
                    router.clone(),
                    limits.clone(),
                    Arc::clone(&metrics),
                    stopping.clone(),
                ));
            }
            Err(reason) => {
                metrics.connection_refused(reason.label());
                registry.log_refusal(peer.ip(), reason);
                refuse(stream, &lingering);
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Errors of one connection, not of the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// How long a refused connection is kept to deliver its 503 (reading what the client sent,
/// so that closing does not reset the connection before the answer is read).
const REFUSAL_LINGER: Duration = Duration::from_secs(1);
/// How many refused connections may linger at once; past that they are closed at once.
const MAX_LINGERING: usize = 64;

/// Answers 503 and closes: within [`REFUSAL_LINGER`] when a lingering place is free,
/// otherwise with one non-blocking write.
fn refuse(stream: TcpStream, lingering: &Arc<tokio::sync::Semaphore>) {
    const BODY: &str = r#"{"detail":"too many connections"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let Ok(place) = Arc::clone(lingering).try_acquire_owned() else {
        let _ = stream.try_write(answer.as_bytes());
        return;
    };
    tokio::spawn(async move {
        let _place = place;
        let _ = tokio::time::timeout(REFUSAL_LINGER, async move {
            let mut stream = stream;
            stream.write_all(answer.as_bytes()).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            let mut read = 0;
            while read < 64 * 1024 {
                match stream.read(&mut sink).await? {
                    0 => break,
                    n => read += n,
                }
            }
            io::Result::Ok(())
        })
        .await;
    });
}

/// Which limit refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Total,
    PerAddress,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Self::Total => "max_connections",
            Self::PerAddress => "max_connections_per_address",
        }
    }
}

/// The connections open, in all and by client address.
#[derive(Debug)]
struct Registry {
    max: usize,
    max_per_address: Option<usize>,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl Registry {
    fn new(limits: &ConnectionLimits) -> Self {
        Self {
            max: limits.max_connections,
            max_per_address: limits.max_connections_per_address,
            open: Mutex::new(Open::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for one more connection from `ip`, or the limit that refuses it.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        // An IPv4 client reached over an IPv6 socket is the same client.
        let ip = ip.to_canonical();
        let mut open = self.lock();
        if open.total >= self.max {
            return Err(Refusal::Total);
        }
        let from_ip = open.by_address.get(&ip).copied().unwrap_or(0);
        if self.max_per_address.is_some_and(|cap| from_ip >= cap) {
            return Err(Refusal::PerAddress);
        }
        open.total += 1;
        open.by_address.insert(ip, from_ip + 1);
        Ok(Slot {
            registry: Arc::clone(self),
            ip,
        })
    }

    /// Logs a refusal, at most once per [`REFUSAL_LOG_EVERY`], so a flood of connections
    /// does not become a flood of log lines.
    fn log_refusal(&self, ip: IpAddr, reason: Refusal) {
        let mut open = self.lock();
        open.unlogged += 1;
        if open
            .last_logged
            .is_some_and(|t| t.elapsed() < REFUSAL_LOG_EVERY)
        {
            return;
        }
        let refused = std::mem::take(&mut open.unlogged);
        open.last_logged = Some(Instant::now());
        drop(open);
        tracing::warn!(
            client = %ip,
            limit = reason.label(),
            refused,
            "connections refused with 503 (counted in bighub_connections_refused_total)"
        );
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
struct Slot {
    registry: Arc<Registry>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.registry.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.ip);
            }
        }
    }
}

/// Serves one connection until the client leaves, a timeout closes it, or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    router: Router,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        let stopping = Stopping(stopping.clone());
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let busy = Busy::enter(Arc::clone(&activity));
            let mut router = router.clone();
            let mut request = request.map(axum::body::Body::new);
            // Handlers may ask who connected (the console trusts an identity header from
            // configured proxies only) and end long answers when the server stops.
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(stopping.clone());
            async move {
                let response = tower_service::Service::call(&mut router, request).await;
                drop(busy);
                response
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut closed_by: Option<&'static str> = None;
    // Asked to finish its request and close (the server stops, or the connection idled).
    let mut finishing = false;
    loop {
        let idle_at = activity.idle_deadline(limits.idle_timeout);
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    if e.is_timeout() {
                        closed_by = Some("header_read_timeout");
                        tracing::debug!(client = %peer, "closed: request header not received in time");
                    } else {
                        tracing::debug!(client = %peer, error = ?e, "connection ended");
                    }
                }
                break;
            }
            _ = stopping.changed(), if !finishing => {
                finishing = true;
                activity.touch();
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_at) => {
                if activity.is_idle(limits.idle_timeout) {
                    closed_by = Some("idle_timeout");
                    if finishing {
                        // Nothing in flight and nothing moved since it was asked to close:
                        // a client that does not read its answer. Drop the connection.
                        tracing::debug!(client = %peer, "closed: the client stopped reading");
                        break;
                    }
                    finishing = true;
                    activity.touch();
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
    metrics.connection_closed(closed_by);
    drop(slot);
}

/// When a connection last moved bytes, and how many of its requests are in flight.
#[derive(Debug)]
struct Activity {
    epoch: Instant,
    last_millis: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            last_millis: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(now, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.epoch + Duration::from_millis(self.last_millis.load(Ordering::Relaxed))
    }

    /// When the connection will have been idle for `idle`, if nothing moves meanwhile.
    fn idle_deadline(&self, idle: Duration) -> tokio::time::Instant {
        let from = if self.busy.load(Ordering::Relaxed) > 0 {
            Instant::now()
        } else {
            self.last()
        };
        tokio::time::Instant::from_std(from + idle)
    }

    fn is_idle(&self, idle: Duration) -> bool {
        self.busy.load(Ordering::Relaxed) == 0 && self.last().elapsed() >= idle
    }
}

/// A request in flight on a connection; its end counts as activity.
struct Busy(Arc<Activity>);

impl Busy {
    fn enter(activity: Arc<Activity>) -> Self {
        activity.busy.fetch_add(1, Ordering::Relaxed);
        activity.touch();
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream that notes when bytes move.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_per_address_counts_each_address_and_frees_on_drop() {
        let registry = Arc::new(Registry::new(&ConnectionLimits {
            max_connections: 3,
            max_connections_per_address: Some(2),
            ..ConnectionLimits::default()
        }));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let a_v6: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = registry.admit(a).unwrap();
        let _second = registry.admit(a_v6).unwrap();
        assert_eq!(registry.admit(a).unwrap_err(), Refusal::PerAddress);
        let _third = registry.admit(b).unwrap();
        assert_eq!(registry.admit(b).unwrap_err(), Refusal::Total);
        drop(first);
        assert!(registry.admit(a).is_ok());
        assert_eq!(registry.lock().total, 2);
    }
}
