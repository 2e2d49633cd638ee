//! Connections the fake server can cut on purpose, to play a server that stops answering,
//! and counts, to show how many a client keeps open at once.
//!
//! This file owns the listener and stream wrappers that make [`Reply::drop_connection`]
//! (super::Reply::drop_connection) possible, and the connection counters; everything else
//! about serving is axum's.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How many connections are open now, and the most that were open at once.
#[derive(Debug, Default)]
pub(crate) struct ConnectionStats {
    open: AtomicUsize,
    peak: AtomicUsize,
    accepted: AtomicUsize,
}

impl ConnectionStats {
    fn opened(&self) {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A TCP listener whose connections can be cut from a handler, and are counted.
pub(crate) struct CuttableListener {
    pub(crate) listener: TcpListener,
    pub(crate) stats: Arc<ConnectionStats>,
}

impl Listener for CuttableListener {
    type Io = CuttableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.listener.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    self.stats.opened();
                    let stream = CuttableStream {
                        inner: stream,
                        cut: Arc::new(AtomicBool::new(false)),
                        stats: self.stats.clone(),
                    };
                    return (stream, addr);
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// A TCP stream that, once cut, reads end-of-file and refuses every write, so the HTTP
/// server drops the connection without sending a byte of its answer. Dropping it counts
/// the connection as closed.
pub(crate) struct CuttableStream {
    inner: TcpStream,
    cut: Arc<AtomicBool>,
    stats: Arc<ConnectionStats>,
}

impl Drop for CuttableStream {
    fn drop(&mut self) {
        self.stats.closed();
    }
}

impl CuttableStream {
    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.is_cut() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.is_cut() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.is_cut() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The handle a request handler gets to cut its own connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionCutter(Arc<AtomicBool>);

impl ConnectionCutter {
    /// Cuts the connection: the answer being written is never sent.
    pub(crate) fn cut(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, CuttableListener>> for ConnectionCutter {
    fn connect_info(stream: IncomingStream<'_, CuttableListener>) -> Self {
        Self(stream.io().cut.clone())
    }
}
