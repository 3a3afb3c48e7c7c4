//! What happens to every API request on its way in: it is recorded in the request log
//! (`GET /_emulator/requests`: method, path, status and timing, never a token or a body) and
//! meets the installed faults. `/_emulator/` requests are neither logged nor faulted.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::App;
use super::error::ApiError;
use super::faults::Outcome;
use crate::server::ConnectionKill;

/// How long a `hang` fault holds a request before giving up on it.
const HANG_LIMIT: Duration = Duration::from_mins(5);

/// One request, as the log shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestEntry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// The answered status; null when no answer was sent (dropped or hung).
    pub status: Option<u16>,
    pub started_ms: u64,
    pub duration_ms: u64,
    /// The fault kinds that fired for this request.
    pub faults: Vec<&'static str>,
}

#[derive(Debug)]
pub struct RequestLog {
    started: Instant,
    next_seq: AtomicU64,
    entries: Mutex<Vec<RequestEntry>>,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog {
            started: Instant::now(),
            next_seq: AtomicU64::new(1),
            entries: Mutex::default(),
        }
    }
}

impl RequestLog {
    /// Every finished request, in arrival order.
    pub fn entries(&self) -> Vec<RequestEntry> {
        let mut entries = self.entries.lock().expect("log lock").clone();
        entries.sort_by_key(|e| e.seq);
        entries
    }

    pub fn clear(&self) {
        self.entries.lock().expect("log lock").clear();
    }
}

/// A request being recorded; it is written to the log when dropped, so a request whose
/// connection is dropped mid-way is still logged.
struct Recording {
    app: App,
    entry: RequestEntry,
    began: Instant,
}

impl Drop for Recording {
    fn drop(&mut self) {
        let mut entry = std::mem::replace(
            &mut self.entry,
            RequestEntry {
                seq: 0,
                method: String::new(),
                path: String::new(),
                status: None,
                started_ms: 0,
                duration_ms: 0,
                faults: Vec::new(),
            },
        );
        entry.duration_ms = u64::try_from(self.began.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            "emulator: {} {} -> {} in {} ms",
            entry.method,
            entry.path,
            entry
                .status
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string()),
            entry.duration_ms
        );
        self.app.log.entries.lock().expect("log lock").push(entry);
    }
}

pub async fn middleware(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let kill = request.extensions().get::<ConnectionKill>().cloned();
    let decision = app.faults.decide(&method, &path);
    let began = Instant::now();
    let mut recording = Recording {
        entry: RequestEntry {
            seq: app.log.next_seq.fetch_add(1, Ordering::SeqCst),
            method,
            path,
            status: None,
            started_ms: u64::try_from(app.log.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            duration_ms: 0,
            faults: decision.fired.clone(),
        },
        app: app.clone(),
        began,
    };
    // A request the emulator accepted is handled to the end even when the client gives up
    // waiting (a timeout during injected latency), as a real server would: so a create can
    // commit after its client timed out, which is what the client must not duplicate.
    let latency = decision.latency;
    let handle = move |request: Request| async move {
        tokio::spawn(async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            next.run(request).await
        })
        .await
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    };
    if !latency.is_zero()
        && matches!(
            decision.outcome,
            Outcome::Hang | Outcome::Drop | Outcome::Status { .. }
        )
    {
        tokio::time::sleep(latency).await;
    }
    let response = match decision.outcome {
        Outcome::Proceed => handle(request).await,
        Outcome::Status {
            status,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            ApiError::for_status(status, retry_after).into_response()
        }
        Outcome::Hang => {
            tokio::time::sleep(HANG_LIMIT).await;
            return drop_connection(kill, recording).await;
        }
        Outcome::Drop => return drop_connection(kill, recording).await,
        Outcome::CommitThenStatus(status) => {
            let committed = handle(request).await;
            if committed.status().is_success() {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                ApiError::for_status(status, None).into_response()
            } else {
                // Nothing was committed: the request's own error stands.
                committed
            }
        }
        Outcome::CommitThenDrop => {
            let committed = handle(request).await;
            if committed.status().is_success() {
                return drop_connection(kill, recording).await;
            }
            committed
        }
    };
    recording.entry.status = Some(response.status().as_u16());
    response
}

/// Closes the connection without an answer: the server drops it when told, and this future
/// with it.
async fn drop_connection(kill: Option<ConnectionKill>, recording: Recording) -> Response {
    drop(recording);
    match kill {
        Some(kill) => {
            kill.close();
            std::future::pending().await
        }
        // Outside our server (no connection to close): the nearest thing is a bare 502.
        None => StatusCode::BAD_GATEWAY.into_response(),
    }
}
