//! What the server allows a connection before and between calls: at most so
//! many connections (more are closed at accept), none held open without a
//! call for longer than the idle timeout (also one that never sent a byte),
//! and none whose peer stops reading (a write that makes no progress, or an
//! answer hyper cannot hand on because the peer's HTTP/2 flow-control window
//! stays shut) for longer than the write timeout. Either way the socket is
//! closed, and with it every buffer of the connection.
//!
//! hyper has neither limit for a server, and tonic none beyond HTTP/2 keepalive
//! pings, which tell a dead peer but not an idle or a stalling one. The calls
//! and answers of a connection are counted by the admission layer through the
//! connection's `Activity`, which tonic hands to every request as its connect
//! info.

use std::{
    future::Future,
    io,
    num::NonZeroUsize,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use atomic_waker::AtomicWaker;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::{Instant, Sleep},
};
use tokio_stream::{Stream, StreamExt, wrappers::TcpListenerStream};
use tonic::transport::server::Connected;

use crate::tls::Tls;

/// Connections open at once unless configured otherwise (`--max-connections`).
pub(crate) const DEFAULT_MAX_CONNECTIONS: NonZeroUsize = NonZeroUsize::new(10_000).unwrap();
/// How long a connection may carry no call unless configured otherwise (`--idle-timeout`).
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a peer may go without reading what it is sent unless configured
/// otherwise (`--write-timeout`).
pub(crate) const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server allows each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; more are closed as they are accepted.
    pub max_connections: usize,
    /// How long a connection may carry no call before it is closed.
    pub idle_timeout: Duration,
    /// How long a peer may go without taking what it is sent before its
    /// connection is closed.
    pub write_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS.get(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }
}

/// The connections accepted on `listener`, each watched as `limits` say, and
/// with `tls`, handed on once their handshake is done.
pub fn incoming(
    listener: TcpListener,
    limits: ConnectionLimits,
    tls: Option<Arc<Tls>>,
) -> impl Stream<Item = io::Result<Io>> {
    let accepted = accepted(listener, limits);
    match tls {
        None => futures_util::StreamExt::left_stream(accepted.map(|conn| conn.map(Io::Plain))),
        Some(tls) => futures_util::StreamExt::right_stream(handshaken(accepted, tls)),
    }
}

/// The connections of `accepted` whose TLS handshake succeeds. Handshakes run
/// side by side, each bounded by the connection's idle and write timeouts,
/// and each connection counts towards the limit while it shakes hands.
fn handshaken(
    accepted: impl Stream<Item = io::Result<Conn>> + Send + 'static,
    tls: Arc<Tls>,
) -> impl Stream<Item = io::Result<Io>> {
    let handshakes = tokio::task::JoinSet::new();
    futures_util::stream::unfold(
        (Box::pin(accepted), handshakes, tls),
        |(mut accepted, mut handshakes, tls)| async move {
            loop {
                tokio::select! {
                    next = accepted.next() => match next? {
                        Ok(conn) => {
                            let acceptor = tls.acceptor();
                            handshakes.spawn(async move { acceptor.accept(conn).await });
                        }
                        Err(error) => return Some((Err(error), (accepted, handshakes, tls))),
                    },
                    Some(done) = handshakes.join_next(), if !handshakes.is_empty() => match done {
                        Ok(Ok(stream)) => {
                            let io = Io::tls(stream);
                            return Some((Ok(io), (accepted, handshakes, tls)));
                        }
                        Ok(Err(error)) => {
                            crate::telemetry::metrics::refused("TLS_HANDSHAKE");
                            tracing::debug!(%error, "connection closed: TLS handshake failed");
                        }
                        Err(error) => tracing::debug!(%error, "a TLS handshake task ended"),
                    },
                }
            }
        },
    )
}

/// The connections accepted on `listener`, each watched as `limits` say.
fn accepted(listener: TcpListener, limits: ConnectionLimits) -> impl Stream<Item = io::Result<Conn>> {
    let open = Arc::new(AtomicUsize::new(0));
    TcpListenerStream::new(listener).filter_map(move |accepted| {
        let stream = match accepted {
            Ok(stream) => stream,
            Err(error) => return Some(Err(error)),
        };
        if open.load(Ordering::Relaxed) >= limits.max_connections {
            tracing::debug!(
                max = limits.max_connections,
                "connection closed at accept: too many open"
            );
            return None;
        }
        // Nagle's algorithm would hold small answers back until the client's
        // delayed ACK, adding up to 40 ms to a call: off, as tonic's own bind does.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        Some(Ok(Conn::new(stream, open.clone(), limits)))
    })
}

/// What a connection is doing, as the admission layer reports it: calls in
/// progress (until their answer is sent) and answers waiting for the peer to
/// take their last chunk.
#[derive(Debug)]
pub struct Activity {
    calls: AtomicUsize,
    stalled: AtomicUsize,
    /// When the count of calls or of waiting answers last moved, or an answer
    /// was last asked for more, in milliseconds since `epoch`.
    last_ms: AtomicU64,
    epoch: Instant,
    /// The connection's reader, woken when a deadline may have changed.
    reader: AtomicWaker,
    /// The subject of the client's TLS certificate, when it showed one.
    client: std::sync::OnceLock<String>,
}

impl Activity {
    fn new() -> Self {
        Self {
            calls: AtomicUsize::new(0),
            stalled: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            reader: AtomicWaker::new(),
            client: std::sync::OnceLock::new(),
        }
    }

    /// The subject of the client's TLS certificate, when it showed one.
    pub fn client(&self) -> Option<&str> {
        self.client.get().map(String::as_str)
    }

    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.epoch + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// A call began on this connection; it lasts until the guard is dropped.
    pub fn call(self: &Arc<Self>) -> CallGuard {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.touch();
        CallGuard {
            activity: self.clone(),
            waiting: false,
        }
    }

    /// When the connection is to be closed unless something moves first.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.calls.load(Ordering::Relaxed) == 0 {
            Some(self.last() + limits.idle_timeout)
        } else if self.stalled.load(Ordering::Relaxed) > 0 {
            Some(self.last() + limits.write_timeout)
        } else {
            None
        }
    }
}

/// One call of a connection, held by its answer until the answer is sent.
#[derive(Debug)]
pub struct CallGuard {
    activity: Arc<Activity>,
    /// Whether the answer handed on a chunk and waits to be asked for the next.
    waiting: bool,
}

impl CallGuard {
    /// The answer is asked for its next chunk: the peer takes what it is sent.
    pub fn asked(&mut self) {
        if std::mem::take(&mut self.waiting) {
            self.activity.stalled.fetch_sub(1, Ordering::Relaxed);
        }
        self.activity.touch();
    }

    /// The answer handed on a chunk and has more to send.
    pub fn handed_on(&mut self) {
        if !std::mem::replace(&mut self.waiting, true) && self.activity.stalled.fetch_add(1, Ordering::Relaxed) == 0 {
            self.activity.reader.wake();
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if self.waiting {
            self.activity.stalled.fetch_sub(1, Ordering::Relaxed);
        }
        self.activity.touch();
        if self.activity.calls.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.activity.reader.wake();
        }
    }
}

/// An accepted connection: the socket, closed (by an I/O error to hyper) when
/// it idles or stalls past its limits.
pub struct Conn {
    stream: TcpStream,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    /// The idle or stall deadline, checked while the reader waits.
    read_deadline: Pin<Box<Sleep>>,
    /// Set while a write waits for the peer to take bytes.
    write_deadline: Option<Pin<Box<Sleep>>>,
    open: Arc<AtomicUsize>,
}

impl Conn {
    fn new(stream: TcpStream, open: Arc<AtomicUsize>, limits: ConnectionLimits) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new());
        Self {
            stream,
            read_deadline: Box::pin(tokio::time::sleep_until(activity.last() + limits.idle_timeout)),
            activity,
            limits,
            write_deadline: None,
            open,
        }
    }

    /// Fails the read once the connection has idled or stalled past its limit;
    /// otherwise arms the timer that wakes the reader then.
    fn check_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        self.activity.reader.register(cx.waker());
        while let Some(deadline) = self.activity.deadline(&self.limits) {
            if deadline <= Instant::now() {
                let idle = self.activity.calls.load(Ordering::Relaxed) == 0;
                tracing::debug!(idle, "connection closed: no call, or an answer not taken, for too long");
                return Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle or stalled"));
            }
            if self.read_deadline.deadline() != deadline {
                self.read_deadline.as_mut().reset(deadline);
            }
            if self.read_deadline.as_mut().poll(cx).is_pending() {
                break;
            }
        }
        Ok(())
    }

    /// Runs a write, failing it once it has waited for the peer past the write timeout.
    fn write_with_deadline<T>(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match write(Pin::new(&mut self.stream), cx) {
            Poll::Ready(result) => {
                self.write_deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let limit = self.limits.write_timeout;
                let deadline = self
                    .write_deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        tracing::debug!("connection closed: the peer does not read");
                        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the peer does not read")))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connected for Conn {
    type ConnectInfo = Arc<Activity>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.activity.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Pending => match this.check_deadline(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
            ready => ready,
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write_with_deadline(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.write_with_deadline(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_with_deadline(cx, |stream, cx| stream.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A connection as hyper sees it: the socket, or TLS over it.
pub enum Io {
    Plain(Conn),
    Tls(Box<tokio_rustls::server::TlsStream<Conn>>),
}

impl Io {
    fn tls(stream: tokio_rustls::server::TlsStream<Conn>) -> Self {
        let (conn, session) = stream.get_ref();
        if let Some(subject) = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(crate::tls::subject)
        {
            tracing::debug!(client = %subject, "TLS connection with a client certificate");
            let _ = conn.activity.client.set(subject);
        }
        Self::Tls(Box::new(stream))
    }
}

impl Connected for Io {
    type ConnectInfo = Arc<Activity>;

    fn connect_info(&self) -> Self::ConnectInfo {
        match self {
            Io::Plain(conn) => conn.connect_info(),
            Io::Tls(stream) => stream.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(conn) => Pin::new(conn).poll_read(cx, buf),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(conn) => Pin::new(conn).poll_write(cx, buf),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(conn) => Pin::new(conn).poll_write_vectored(cx, bufs),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Io::Plain(conn) => conn.is_write_vectored(),
            Io::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(conn) => Pin::new(conn).poll_flush(cx),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(conn) => Pin::new(conn).poll_shutdown(cx),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}
