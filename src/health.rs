//! `watch --health-addr`: what an operator's probes and Prometheus read. `/healthz` says the
//! loop is alive, `/readyz` that a pass has completed since start and the last few have not
//! all failed, `/metrics` the Prometheus metrics (OpenMetrics text, through the Prometheus
//! organisation's `prometheus-client`). Names follow controller-runtime's and Flux's
//! (`<tool>_<noun>_<unit>`); label values are bounded: organizations come from the config,
//! statuses from HTTP, the rest from fixed sets. Nothing here knows what a pass does.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::time::Instant;

/// `/readyz` fails when this many passes in a row failed.
const READY_AFTER_FAILURES: usize = 3;
/// Probes and scrapes at once, at most: a handful is normal.
const MAX_CONNECTIONS: usize = 32;
/// `/healthz` fails when one pass has run longer than this (requests time out long before).
const PASS_STUCK_AFTER: Duration = Duration::from_hours(1);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassLabels {
    trigger: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    organization: String,
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OrganizationLabels {
    organization: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    /// The HTTP status, or `error` when there was no answer.
    status: String,
}

/// The loop's state, as the probes see it.
#[derive(Debug, Default)]
struct Loop {
    /// Outcomes of the latest passes, newest last (true: succeeded).
    recent: VecDeque<bool>,
    completed: usize,
    /// When the pass in progress started.
    in_pass_since: Option<Instant>,
    stopped: bool,
}

/// The metrics and probe state of one `watch`. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Health {
    registry: Registry,
    passes: Family<PassLabels, Counter>,
    pass_duration: Histogram,
    actions: Family<ActionLabels, Counter>,
    drift: Family<OrganizationLabels, Gauge>,
    api_requests: Family<StatusLabels, Counter>,
    api_duration: Histogram,
    config_valid: Gauge,
    last_success: Gauge,
    state: Mutex<Loop>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    pub fn new() -> Health {
        let mut registry = Registry::with_prefix("vntana_webhooks");
        let passes = Family::<PassLabels, Counter>::default();
        registry.register(
            "passes",
            "Watch passes by what triggered them and how they ended",
            passes.clone(),
        );
        // 10 ms to about 160 s.
        let pass_duration = Histogram::new(exponential_buckets(0.01, 2.0, 15));
        registry.register(
            "pass_duration_seconds",
            "How long a watch pass took",
            pass_duration.clone(),
        );
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "actions",
            "Actions applied, by organization, kind and outcome",
            actions.clone(),
        );
        let drift = Family::<OrganizationLabels, Gauge>::default();
        registry.register(
            "drift_actions",
            "Actions the latest plan of each organization had (0: the platform matches)",
            drift.clone(),
        );
        let api_requests = Family::<StatusLabels, Counter>::default();
        registry.register(
            "api_requests",
            "Requests to the VNTANA API by HTTP status (error: no answer)",
            api_requests.clone(),
        );
        // 5 ms to about 80 s.
        let api_duration = Histogram::new(exponential_buckets(0.005, 2.0, 15));
        registry.register(
            "api_request_duration_seconds",
            "How long a request to the VNTANA API took",
            api_duration.clone(),
        );
        let config_valid = Gauge::default();
        registry.register(
            "config_valid",
            "Whether the config files are valid (1) or not (0)",
            config_valid.clone(),
        );
        let last_success = Gauge::default();
        registry.register(
            "last_success_timestamp_seconds",
            "When the latest successful pass ended (Unix time)",
            last_success.clone(),
        );
        Health {
            registry,
            passes,
            pass_duration,
            actions,
            drift,
            api_requests,
            api_duration,
            config_valid,
            last_success,
            state: Mutex::new(Loop::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Loop> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A pass begins.
    pub fn pass_started(&self) {
        self.state().in_pass_since = Some(Instant::now());
    }

    /// A pass ended: `trigger` and `outcome` are short fixed names (`start`, `done`...).
    pub fn pass_finished(
        &self,
        trigger: &'static str,
        outcome: &'static str,
        succeeded: bool,
        took: Duration,
    ) {
        self.passes
            .get_or_create(&PassLabels { trigger, outcome })
            .inc();
        self.pass_duration.observe(took.as_secs_f64());
        if succeeded {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            self.last_success
                .set(i64::try_from(now).unwrap_or(i64::MAX));
        }
        let mut state = self.state();
        state.in_pass_since = None;
        state.completed += 1;
        state.recent.push_back(succeeded);
        if state.recent.len() > READY_AFTER_FAILURES {
            state.recent.pop_front();
        }
    }

    /// Whether the config files loaded.
    pub fn config_valid(&self, valid: bool) {
        self.config_valid.set(i64::from(valid));
    }

    /// The number of actions the latest plan of `organization` (of the config) had.
    pub fn drift(&self, organization: &str, actions: usize) {
        self.drift
            .get_or_create(&OrganizationLabels {
                organization: organization.to_owned(),
            })
            .set(i64::try_from(actions).unwrap_or(i64::MAX));
    }

    /// An action's outcome; `organization` is of the config.
    pub fn action(&self, organization: &str, kind: &'static str, outcome: &'static str) {
        self.actions
            .get_or_create(&ActionLabels {
                organization: organization.to_owned(),
                kind,
                outcome,
            })
            .inc();
    }

    /// A request to the API: its status (`None`: no answer) and how long it took.
    pub fn request(&self, status: Option<u16>, took: Duration) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.api_requests
            .get_or_create(&StatusLabels { status })
            .inc();
        self.api_duration.observe(took.as_secs_f64());
    }

    /// The loop ended: `/healthz` fails from now on.
    pub fn stopped(&self) {
        self.state().stopped = true;
    }

    /// `/healthz`: the loop runs and no pass is stuck.
    pub fn is_alive(&self) -> bool {
        let state = self.state();
        !state.stopped
            && state
                .in_pass_since
                .is_none_or(|since| since.elapsed() < PASS_STUCK_AFTER)
    }

    /// `/readyz`: a pass completed since start, and the latest ones did not all fail.
    pub fn is_ready(&self) -> bool {
        let state = self.state();
        state.completed > 0
            && !(state.recent.len() == READY_AFTER_FAILURES && state.recent.iter().all(|ok| !ok))
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// A running health server; dropping it stops it.
pub struct Server {
    pub address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `/healthz`, `/readyz` and `/metrics` on `address` (port 0 picks one).
pub async fn serve(address: SocketAddr, health: Arc<Health>) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let address = listener.local_addr()?;
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(health);
    // The hardened accept loop of `listen` and the emulator: read deadlines and a connection
    // cap, so a scraper (or anyone on the pod network) cannot hold the probes open.
    let limits = crate::server::Limits::new(crate::server::READ_TIMEOUT, MAX_CONNECTIONS);
    let task = tokio::spawn(crate::server::serve(
        listener,
        router,
        limits,
        crate::server::OnStop::Leave,
        std::future::pending(),
    ));
    Ok(Server { address, task })
}

fn probe(ok: bool, what: &'static str) -> (StatusCode, &'static str) {
    if ok {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, what)
    }
}

async fn healthz(State(health): State<Arc<Health>>) -> impl IntoResponse {
    probe(health.is_alive(), "the watch loop is stopped or stuck\n")
}

async fn readyz(State(health): State<Arc<Health>>) -> impl IntoResponse {
    probe(
        health.is_ready(),
        "no pass has completed yet, or the latest passes all failed\n",
    )
}

async fn metrics(State(health): State<Arc<Health>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        health.encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_after_a_pass_and_not_after_three_failures_in_a_row() {
        let health = Health::new();
        assert!(health.is_alive() && !health.is_ready());
        health.pass_started();
        health.pass_finished("start", "done", true, Duration::from_millis(20));
        assert!(health.is_ready());
        for _ in 0..2 {
            health.pass_finished("retry", "outage", false, Duration::from_millis(20));
        }
        assert!(health.is_ready(), "two failures of three");
        health.pass_finished("retry", "outage", false, Duration::from_millis(20));
        assert!(!health.is_ready());
        health.pass_finished("retry", "done", true, Duration::from_millis(20));
        assert!(health.is_ready());
        health.stopped();
        assert!(!health.is_alive());
    }

    #[test]
    fn metrics_carry_their_names_labels_and_values() {
        let health = Health::new();
        health.pass_finished("config", "done", true, Duration::from_millis(40));
        health.action("acme-3d", "create", "applied");
        health.drift("acme-3d", 2);
        health.request(Some(200), Duration::from_millis(3));
        health.request(None, Duration::from_millis(3));
        health.config_valid(true);
        let text = health.encode();
        for line in [
            "vntana_webhooks_passes_total{trigger=\"config\",outcome=\"done\"} 1",
            "vntana_webhooks_actions_total{organization=\"acme-3d\",kind=\"create\",outcome=\"applied\"} 1",
            "vntana_webhooks_drift_actions{organization=\"acme-3d\"} 2",
            "vntana_webhooks_api_requests_total{status=\"200\"} 1",
            "vntana_webhooks_api_requests_total{status=\"error\"} 1",
            "vntana_webhooks_config_valid 1",
            "vntana_webhooks_pass_duration_seconds_count 1",
        ] {
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
