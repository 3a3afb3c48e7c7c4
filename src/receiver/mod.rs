//! The receiving end of deliveries, behind `listen` (product.md, "Other commands"): an HTTP
//! server that takes a POST on any path, checks its `X-VNTANA-SIGNATURE` against every secret
//! and previous secret of a `--secrets-out` file (`keyring`), answers 200 when one verifies
//! and 401 otherwise, and reports each delivery, and each re-reading of the file, as a
//! `Notice`. It never prints (the command does) and never reports a secret.

pub mod keyring;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::api::delivery::DeliveryBody;
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
pub use keyring::{Change, Unreadable, Verdict, WatchedKeyring};

/// How long a shutdown waits for requests still being received (a client may never finish).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A delivery as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reception {
    /// When it arrived: UTC ISO-8601 with milliseconds.
    pub received: String,
    /// The body's `event`, if the body is a delivery (made printable).
    pub event: Option<String>,
    /// The body's `organization.uuid`, if the body is a delivery (made printable).
    pub organization: Option<String>,
    pub verdict: Verdict,
}

/// What the receiver has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Delivery(Reception),
    /// The secrets file changed.
    Secrets(Change),
}

/// A receiver that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    #[error(transparent)]
    Secrets(#[from] Unreadable),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running receiver.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    webhooks: usize,
    notices: mpsc::Receiver<Notice>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many webhooks' secrets the file held at start.
    pub fn webhooks(&self) -> usize {
        self.webhooks
    }

    /// The next notice; `None` once the server has stopped.
    pub async fn next(&mut self) -> Option<Notice> {
        self.notices.recv().await
    }

    /// Stops accepting deliveries and waits (a few seconds at most) for the ones being
    /// answered.
    pub async fn shutdown(mut self) {
        // Deliveries waiting to report must not wait for a reader that has gone.
        self.notices.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

struct Shared {
    keyring: WatchedKeyring,
    notices: mpsc::Sender<Notice>,
}

/// Reads the secrets file and starts serving on `listen`.
pub async fn start(listen: SocketAddr, secrets: &Path) -> Result<Receiver, ReceiverError> {
    let keyring = WatchedKeyring::open(secrets)?;
    let webhooks = keyring.current().0.len();
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| ReceiverError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ReceiverError::Bind {
            addr: listen,
            source,
        })?;
    // Bounded: a reader that stops reading slows deliveries down rather than filling memory.
    let (sender, notices) = mpsc::channel(256);
    let shared = Arc::new(Shared {
        keyring,
        notices: sender,
    });
    let app = Router::new().fallback(receive).with_state(shared);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Receiver {
        addr,
        webhooks,
        notices,
        stop: Some(stop),
        task,
    })
}

/// Any request: a POST is a delivery, verified and reported; anything else is 405.
async fn receive(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "deliveries are POSTed\n");
    }
    let received = now_utc();
    let (keyring, change) = shared.keyring.current();
    if let Some(change) = change {
        let _ = shared.notices.send(Notice::Secrets(change)).await;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verdict = match (header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER)) {
        (Some(timestamp), Some(signature)) => keyring.verify(timestamp, &body, signature),
        _ => Verdict::Unverified,
    };
    let parsed = serde_json::from_slice::<DeliveryBody>(&body).ok();
    let reception = Reception {
        received,
        event: parsed.as_ref().map(|b| printable(&b.event)),
        organization: parsed.map(|b| printable(b.organization.uuid.as_str())),
        verdict,
    };
    let answer = match reception.verdict {
        Verdict::Unverified => (StatusCode::UNAUTHORIZED, "invalid signature\n"),
        _ => (StatusCode::OK, "ok\n"),
    };
    let _ = shared.notices.send(Notice::Delivery(reception)).await;
    answer
}

/// A value from a body (unverified, so anyone's) made safe for one line of a terminal.
fn printable(value: &str) -> String {
    let mut shown: String = value
        .chars()
        .take(100)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if shown.is_empty() {
        shown.push('-');
    }
    shown
}

fn now_utc() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_bodies_are_made_printable() {
        assert_eq!(printable("product.added"), "product.added");
        assert_eq!(printable("a\u{1b}[31mb c"), "a?[31mb?c");
        assert_eq!(printable(""), "-");
        assert_eq!(printable(&"x".repeat(500)).len(), 100);
    }
}
