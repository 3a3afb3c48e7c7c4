//! The accept loop of the crate's two HTTP servers, the emulator and `listen`'s receiver: an
//! axum router served by hyper's HTTP/1 directly, so that no client can hold a server open
//! (issue 15): a request's head must arrive within a deadline (which also closes idle
//! keep-alive connections), a body the server is reading must arrive within one too, and only
//! so many connections are served at once; the rest wait, unaccepted, in the kernel's listen
//! backlog, so a flood costs no file descriptors. Each connection carries a `ConnectionKill`
//! its requests can use to close it without an answer (the emulator's `drop` faults).
//! It owns connections only: what a request means is the router's business.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;

/// The read deadline both servers use unless told otherwise: a client on the same machine or
/// a platform sending a small JSON body needs milliseconds; a slow link, a few seconds.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What a client may cost a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// For a request's line and headers, from when the server starts waiting for them; so
    /// also how long an idle keep-alive connection stays open.
    pub header_read: Duration,
    /// For the rest of a body, from when the server first finds it incomplete; a body that
    /// trickles in byte by byte is cut off too.
    pub body_read: Duration,
    /// Connections served at once. Further ones wait in the listen backlog until one ends.
    pub connections: usize,
}

impl Limits {
    /// `read_timeout` for heads and bodies alike, and at most `connections` at once.
    pub fn new(read_timeout: Duration, connections: usize) -> Limits {
        Limits {
            header_read: read_timeout,
            body_read: read_timeout,
            connections,
        }
    }
}

/// What stopping the server does to the connections already open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStop {
    /// Nothing: they end on their own (the emulator, where a `hang` fault holds one for
    /// minutes on purpose).
    Leave,
    /// Idle ones are closed, requests in flight are answered, and `serve` waits for that.
    Drain,
}

/// Lets a request close its own connection without an answer. `serve` inserts one per
/// connection into every request's extensions.
#[derive(Debug, Clone, Default)]
pub struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    /// Closes the connection the request came on; the request's future is dropped with it.
    pub fn close(&self) {
        self.0.notify_one();
    }
}

/// Serves `app` on `listener` within `limits` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    on_stop: OnStop,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    tokio::pin!(stop);
    loop {
        // A permit first, so a connection over the cap is not even accepted.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                stream
            }
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let watcher = (on_stop == OnStop::Drain).then(|| graceful.watcher());
        let connection = connection(&http, stream, app.clone(), limits.body_read, watcher);
        tokio::spawn(async move {
            connection.await;
            drop(permit);
        });
    }
    if on_stop == OnStop::Drain {
        graceful.shutdown().await;
    }
}

/// One connection, served until it ends or a request closes it.
fn connection(
    http: &hyper::server::conn::http1::Builder,
    stream: TcpStream,
    app: Router,
    body_read: Duration,
    watcher: Option<hyper_util::server::graceful::Watcher>,
) -> impl Future<Output = ()> + Send + 'static {
    let kill = ConnectionKill::default();
    let killed = kill.0.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut request = request.map(|body| axum::body::Body::new(Deadline::new(body, body_read)));
        request.extensions_mut().insert(kill.clone());
        let app = app.clone();
        async move {
            Ok::<_, Infallible>(match app.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            })
        }
    });
    let served = http.serve_connection(TokioIo::new(stream), service);
    let served: Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>> = match watcher {
        Some(watcher) => Box::pin(watcher.watch(served)),
        None => Box::pin(served),
    };
    async move {
        tokio::select! {
            _ = served => {}
            () = killed.notified() => {}
        }
    }
}

/// A request body that must arrive within `limit` of the first time the server finds it
/// incomplete (hyper times out heads, not bodies). Counting from that moment rather than
/// from the head means a body the server reads late, after an injected latency, is not
/// penalised for the server's own delay; counting the whole rest of the body rather than the
/// gap between frames (as tower-http's `TimeoutBody` does) means a trickle is cut off too.
struct Deadline {
    body: Incoming,
    limit: Duration,
    expires: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Deadline {
    fn new(body: Incoming, limit: Duration) -> Deadline {
        Deadline {
            body,
            limit,
            expires: None,
        }
    }
}

/// A body that did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
struct BodyTimeout(Duration);

impl Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let limit = this.limit;
        let expires = this
            .expires
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match expires.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout(limit).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
