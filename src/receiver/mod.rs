//! The receiving end of deliveries, behind `listen` (product.md, "Other commands"): an HTTP
//! server that takes a POST on any path, checks its `X-VNTANA-SIGNATURE` against every secret
//! and previous secret of a `--secrets-out` file (`keyring`), answers 200 when one verifies
//! and 401 otherwise, and reports each delivery, and each re-reading of the file, as a
//! `Notice`. It never prints (the command does) and never reports a secret.
//! No client can hold it open (`crate::server`'s limits), and no reader can slow it down:
//! notices go through a bounded queue that a delivery never waits on; when it is full they
//! are counted, and the count is reported once the reader catches up (`Notice::Dropped`).

pub mod keyring;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use crate::api::delivery::DeliveryBody;
use crate::server::{Limits, OnStop};
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
pub use keyring::{Change, Unreadable, Verdict, WatchedKeyring};

/// How long a shutdown waits for requests still being received (a client may never finish).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Connections served at once: a receiver on a laptop or a CI job gets a few at a time from
/// the platform or the emulator; 256 is far more, and a quarter of the 1024 file descriptors
/// a process commonly gets, so a flood of connections cannot exhaust them.
pub const MAX_CONNECTIONS: usize = 256;

/// Notices waiting for their reader; beyond that they are counted, not kept. A screenful or
/// two of lines: enough for a burst while the reader is busy, small enough to cost nothing.
const QUEUE: usize = 256;

/// The default limits: `server::READ_TIMEOUT` and `MAX_CONNECTIONS`.
pub fn default_limits() -> Limits {
    Limits::new(crate::server::READ_TIMEOUT, MAX_CONNECTIONS)
}

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
    /// This many notices were lost because the reader did not keep up (the deliveries were
    /// answered all the same); reported once the reader has emptied the queue.
    Dropped(u64),
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

    /// Stops accepting deliveries and waits (a few seconds at most) for the ones being
    /// answered.
    pub async fn shutdown(mut self) {
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

/// The receiver's notices, in order, for one reader.
#[derive(Debug)]
pub struct Notices {
    queue: mpsc::Receiver<Notice>,
    dropped: Arc<AtomicU64>,
}

impl Notices {
    /// The next notice; `None` once the server has stopped and every notice was taken.
    pub async fn next(&mut self) -> Option<Notice> {
        match self.take() {
            Taken::Notice(notice) => Some(notice),
            Taken::End => None,
            Taken::Nothing => self.queue.recv().await,
        }
    }

    /// `next` for a reader on its own thread, outside the runtime (one that may block on a
    /// full pipe without holding up anything else).
    pub fn blocking_next(&mut self) -> Option<Notice> {
        match self.take() {
            Taken::Notice(notice) => Some(notice),
            Taken::End => None,
            Taken::Nothing => self.queue.blocking_recv(),
        }
    }

    /// A queued notice, else the count of lost ones, else, when the server has stopped, the
    /// end.
    fn take(&mut self) -> Taken {
        let closed = match self.queue.try_recv() {
            Ok(notice) => return Taken::Notice(notice),
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => true,
        };
        match self.dropped.swap(0, Ordering::Relaxed) {
            0 if closed => Taken::End,
            0 => Taken::Nothing,
            lost => Taken::Notice(Notice::Dropped(lost)),
        }
    }
}

/// What the queue has for its reader without waiting.
enum Taken {
    Notice(Notice),
    /// Nothing yet.
    Nothing,
    /// Nothing ever again.
    End,
}

/// The writing end of `Notices`.
struct Reporter {
    queue: mpsc::Sender<Notice>,
    dropped: Arc<AtomicU64>,
}

impl Reporter {
    /// Queues a notice without ever waiting for the reader.
    fn report(&self, notice: Notice) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.queue.try_send(notice) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A queue of `capacity` notices.
fn queue(capacity: usize) -> (Reporter, Notices) {
    let (sender, queue) = mpsc::channel(capacity);
    let dropped = Arc::new(AtomicU64::new(0));
    let reporter = Reporter {
        queue: sender,
        dropped: dropped.clone(),
    };
    (reporter, Notices { queue, dropped })
}

struct Shared {
    keyring: WatchedKeyring,
    notices: Reporter,
}

/// Reads the secrets file and starts serving on `listen` within `limits`.
pub async fn start(
    listen: SocketAddr,
    secrets: &Path,
    limits: Limits,
) -> Result<(Receiver, Notices), ReceiverError> {
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
    let (reporter, notices) = queue(QUEUE);
    let shared = Arc::new(Shared {
        keyring,
        notices: reporter,
    });
    let app = Router::new().fallback(receive).with_state(shared);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(crate::server::serve(
        listener,
        app,
        limits,
        OnStop::Drain,
        async {
            let _ = stopped.await;
        },
    ));
    let receiver = Receiver {
        addr,
        webhooks,
        stop: Some(stop),
        task,
    };
    Ok((receiver, notices))
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
        shared.notices.report(Notice::Secrets(change));
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
    shared.notices.report(Notice::Delivery(reception));
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

    fn delivery(event: &str) -> Notice {
        Notice::Delivery(Reception {
            received: "2026-01-01T10:00:00.123Z".into(),
            event: Some(event.into()),
            organization: None,
            verdict: Verdict::Unverified,
        })
    }

    #[tokio::test]
    async fn notices_beyond_the_queue_are_counted_and_reported_after_the_ones_kept() {
        let (reporter, mut notices) = queue(2);
        for event in ["a", "b", "c", "d", "e"] {
            reporter.report(delivery(event));
        }
        assert_eq!(notices.next().await, Some(delivery("a")));
        reporter.report(delivery("f"));
        assert_eq!(notices.next().await, Some(delivery("b")));
        assert_eq!(notices.next().await, Some(delivery("f")));
        assert_eq!(notices.next().await, Some(Notice::Dropped(3)));
        reporter.report(delivery("g"));
        drop(reporter);
        assert_eq!(notices.next().await, Some(delivery("g")));
        assert_eq!(
            notices.next().await,
            None,
            "the end, once every notice was taken"
        );
    }

    #[test]
    fn values_from_bodies_are_made_printable() {
        assert_eq!(printable("product.added"), "product.added");
        assert_eq!(printable("a\u{1b}[31mb c"), "a?[31mb?c");
        assert_eq!(printable(""), "-");
        assert_eq!(printable(&"x".repeat(500)).len(), 100);
    }
}
