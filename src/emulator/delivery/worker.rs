//! The delivery worker: a background task that sends every queued delivery whose attempt is
//! due on the emulator's clock, each attempt in its own task, and settles the outcome through
//! the store. It wakes when an event is fired, the clock is advanced or an attempt ends (and,
//! on the real clock, when the next attempt falls due). The state lock is never held across a
//! network call, so deliveries never block API requests. Only loopback urls are sent to
//! unless remote delivery is allowed; other urls are recorded as refused attempts.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::super::App;
use super::super::clock::format_delivery_timestamp;
use super::record::{Outcome, WebhookRef};
use super::rules::{self, Report};
use crate::api::endpoint::masked;
use crate::api::ids::OrganizationUuid;
use crate::api::rules::is_loopback_url;
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

/// An attempt fails without an answer in this time (vntana-api.md, "Delivery").
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts in flight at most, so a burst of events to a hanging receiver stays bounded.
const MAX_IN_FLIGHT: usize = 32;
/// The longest the worker sleeps on the real clock before looking again.
const MAX_SLEEP: Duration = Duration::from_mins(1);

/// The worker's shared parts: its wake-up call, the deliveries being attempted and the HTTP
/// clients.
#[derive(Debug)]
pub struct Deliverer {
    wake: Notify,
    in_flight: Mutex<HashSet<String>>,
    allow_remote: bool,
    /// For loopback urls: no proxy, whatever the environment says.
    local: reqwest::Client,
    /// For other urls (only with remote delivery allowed): the environment's proxy.
    remote: reqwest::Client,
}

impl Deliverer {
    /// A deliverer; `allow_remote` lets it send to urls that are not loopback.
    pub fn new(allow_remote: bool) -> Deliverer {
        let builder = || {
            reqwest::Client::builder()
                .timeout(ATTEMPT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!(
                    "VNTANA-Webhooks (vntana-webhooks emulator ",
                    env!("CARGO_PKG_VERSION"),
                    ")"
                ))
        };
        Deliverer {
            wake: Notify::new(),
            in_flight: Mutex::default(),
            allow_remote,
            local: builder()
                .no_proxy()
                .build()
                .expect("the delivery client builds"),
            remote: builder().build().expect("the delivery client builds"),
        }
    }

    /// Tells the worker to look at the queue again (an event was fired, the clock moved).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Runs the worker until the task is aborted.
pub async fn run(app: App) {
    loop {
        // Registered before looking, so a wake-up during the look is not lost.
        let woken = app.delivery.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let now = app.store.clock.now_micros();
        let (due, next) = app.store.read(|state| {
            let mut in_flight = app.delivery.in_flight.lock().expect("in-flight lock");
            let mut due = Vec::new();
            let mut next: Option<i64> = None;
            let mut waiting: Vec<_> = state
                .delivery
                .queue
                .iter()
                .filter(|q| !in_flight.contains(&q.id))
                .collect();
            waiting.sort_by_key(|q| q.due_micros);
            for queued in waiting {
                if queued.due_micros > now {
                    next = Some(next.map_or(queued.due_micros, |n| n.min(queued.due_micros)));
                } else if in_flight.len() < MAX_IN_FLIGHT {
                    in_flight.insert(queued.id.clone());
                    due.push(queued.id.clone());
                }
            }
            (due, next)
        });
        for id in due {
            tokio::spawn(attempt(app.clone(), id));
        }
        // The test clock moves only when advanced, which wakes the worker.
        match next.filter(|_| app.store.clock.is_real()) {
            Some(next) => {
                let wait = Duration::from_micros(u64::try_from(next - now).unwrap_or(0));
                tokio::select! {
                    () = tokio::time::sleep(wait.min(MAX_SLEEP)) => {}
                    () = &mut woken => {}
                }
            }
            None => woken.await,
        }
    }
}

/// Why an attempt to a url that is not loopback was not sent.
const REFUSED: &str =
    "not sent: the url is not loopback (start the emulator with --allow-remote-delivery)";

/// What an attempt needs, read under the lock.
enum Prepared {
    /// The delivery is no longer queued (the emulator was reset).
    Gone,
    /// Its webhook was deleted or disabled.
    Cancel,
    Send(Due),
}

/// An attempt to make, with the webhook's url and secret as they are now.
struct Due {
    body: String,
    secret: String,
    url: String,
    webhook: WebhookRef,
    organization: OrganizationUuid,
    event: String,
}

/// One attempt of delivery `id`, settled in the state; then the worker looks again.
async fn attempt(app: App, id: String) {
    let prepared = app.store.read(|state| {
        let Some(queued) = state.delivery.queue.iter().find(|q| q.id == id) else {
            return Prepared::Gone;
        };
        match state.webhook(&queued.webhook) {
            Some(webhook) if !webhook.disable => Prepared::Send(Due {
                body: queued.body.clone(),
                secret: webhook.secret.clone(),
                url: webhook.url.clone(),
                webhook: WebhookRef {
                    uuid: webhook.uuid.clone(),
                    name: webhook.name.clone(),
                },
                organization: webhook.organization_uuid.clone(),
                event: queued.event.clone(),
            }),
            _ => Prepared::Cancel,
        }
    });
    let settled = match prepared {
        Prepared::Gone => Ok(()),
        Prepared::Cancel => {
            app.store
                .mutate(|state| {
                    rules::cancel(state, &id);
                    Ok(())
                })
                .await
        }
        Prepared::Send(due) => {
            let event = due.event.clone();
            let timestamp = format_delivery_timestamp(app.store.clock.now_micros());
            let report = deliver(&app.delivery, due, timestamp).await;
            tracing::info!(
                "emulator: {event} to {} (delivery {id}, attempt) -> {}",
                without_query(&report.url),
                report
                    .status
                    .map_or_else(|| format!("{:?}", report.outcome), |s| s.to_string())
            );
            let now = app.store.clock.now_micros();
            app.store
                .mutate(|state| {
                    rules::settle(state, &id, &report, now);
                    Ok(())
                })
                .await
        }
    };
    if settled.is_err() {
        tracing::error!("emulator: cannot record the attempt of delivery {id}");
    }
    app.delivery
        .in_flight
        .lock()
        .expect("in-flight lock")
        .remove(&id);
    app.delivery.wake();
}

/// Sends `due` signed with `timestamp`, or refuses it (not loopback, remote delivery off).
async fn deliver(deliverer: &Deliverer, due: Due, timestamp: String) -> Report {
    let started = Instant::now();
    let loopback = is_loopback_url(&due.url);
    let (outcome, status, error) = if loopback || deliverer.allow_remote {
        let client = if loopback {
            &deliverer.local
        } else {
            &deliverer.remote
        };
        let signature = sign(&due.secret, &timestamp, due.body.as_bytes());
        send(client, &due.url, &timestamp, &signature, due.body).await
    } else {
        (Outcome::Refused, None, Some(REFUSED.to_owned()))
    };
    Report {
        webhook: due.webhook,
        organization: due.organization,
        url: masked(&due.url),
        outcome,
        status,
        error,
        timestamp,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// POSTs one attempt: delivered on 2xx, failed on any other answer or none in time.
async fn send(
    client: &reqwest::Client,
    url: &str,
    timestamp: &str,
    signature: &str,
    body: String,
) -> (Outcome, Option<u16>, Option<String>) {
    let request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp)
        .header(SIGNATURE_HEADER, signature)
        .body(body);
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            (Outcome::Delivered, Some(response.status().as_u16()), None)
        }
        Ok(response) => (Outcome::Failed, Some(response.status().as_u16()), None),
        Err(err) => (Outcome::Failed, None, Some(describe(&err))),
    }
}

/// `url` (already password-masked) without its query and fragment, for the log: a receiver's
/// url often carries a token there, and the log is printed (product.md: `-v` tracing has
/// "secrets redacted"). `GET /_emulator/deliveries` keeps the whole masked url.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// A transport error in a few words, without the url (it may hold a password).
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())
    } else if err.is_connect() {
        "cannot connect".to_owned()
    } else {
        "the connection failed before an answer".to_owned()
    }
}
