//! The emulator's accept loop. It is axum's router served by hyper directly, because the
//! `drop` faults need to close a connection without answering, which `axum::serve` cannot
//! do: each connection carries a `ConnectionKill` the request can trigger.

use std::convert::Infallible;
use std::future::Future;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::ServiceExt;

use super::traffic::ConnectionKill;

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                stream
            }
            () = &mut shutdown => return,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream, app.clone()));
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, app: Router) {
    let kill = ConnectionKill::default();
    let notify = kill.0.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(kill.clone());
        let app = app.clone();
        async move {
            Ok::<_, Infallible>(
                app.oneshot(request.map(axum::body::Body::new))
                    .await
                    .unwrap_infallible(),
            )
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = notify.notified() => {}
    }
}

trait UnwrapInfallible<T> {
    fn unwrap_infallible(self) -> T;
}

impl<T> UnwrapInfallible<T> for Result<T, Infallible> {
    fn unwrap_infallible(self) -> T {
        match self {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }
}
