//! A faithful, persistent stand-in for the VNTANA Admin API (product.md, "The emulator"):
//! every endpoint, token rule, validation and error code of vntana-api.md over real HTTP, a
//! seed, an optional state file, a deterministic mode, injected faults, signed deliveries of
//! fired events and the `/_emulator/` control API. Used by the tests, by `--emulator`, and by
//! users trying a config or receiver.
//! It shares the wire types of `crate::api` with the client and never imports the client.

mod accounts;
mod auth;
pub mod catalogue;
mod clock;
mod control;
mod delivery;
mod error;
pub mod faults;
mod ids;
mod origin;
mod persist;
mod seed;
pub mod state;
mod store;
mod traffic;
mod validate;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get, patch, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use origin::{HOST_NOT_ALLOWED, UNSUPPORTED_MEDIA_TYPE, parse_host};
pub use persist::PersistError;
pub use seed::{DEFAULT_SEED, Seed, SeedError};

use crate::api::wire::{codes, paths};
use crate::server::{Limits, OnStop};
use error::ApiError;

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    store: store::Store,
    faults: faults::Faults,
    log: traffic::RequestLog,
    delivery: delivery::Deliverer,
}

type App = Arc<Shared>;

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: Seed,
    /// Persist to (and load from) this file.
    pub state_file: Option<PathBuf>,
    /// Seeded ids and the test clock.
    pub deterministic: Option<u64>,
    /// Deliver to urls that are not loopback too.
    pub allow_remote_delivery: bool,
    /// Hosts requests may name besides loopback ones and the listen address (`--allow-host`).
    pub allowed_hosts: Vec<url::Host<String>>,
    /// What a client may cost the server (`server::Limits`).
    pub limits: Limits,
}

/// Connections served at once: far more than any test or tool drives, and half of the 1024
/// file descriptors a process commonly gets, so that a flood of connections still leaves
/// descriptors for the state file and the delivery worker's own connections.
pub const MAX_CONNECTIONS: usize = 512;

/// The default limits: `server::READ_TIMEOUT` and `MAX_CONNECTIONS`.
pub fn default_limits() -> Limits {
    Limits::new(crate::server::READ_TIMEOUT, MAX_CONNECTIONS)
}

/// An emulator that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error(transparent)]
    Persist(#[from] PersistError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running emulator. Dropping it leaves it running until the runtime ends; `shutdown`
/// stops accepting connections.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    /// The delivery worker.
    worker: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base url, e.g. `http://127.0.0.1:8787`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and delivering, and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        self.worker.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the accept loop ends (it ends only through `shutdown`).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Loads or seeds the state and starts serving on `listen`.
pub async fn start(options: Options, listen: SocketAddr) -> Result<Running, EmulatorError> {
    let (clock, ids) = match options.deterministic {
        Some(seed) => (clock::Clock::test(), ids::IdSource::seeded(seed)),
        None => (clock::Clock::real(), ids::IdSource::random()),
    };
    let initial = options.seed.to_state(&ids, &clock)?;
    let (current, persister) = match &options.state_file {
        Some(path) => {
            let loaded = persist::load(path)?;
            let current = loaded.unwrap_or_else(|| initial.clone());
            // Write at once: a fresh state file exists from the start, and a bad path fails
            // now rather than on the first change.
            let bytes = serde_json::to_vec_pretty(&current).expect("the state serialises");
            persist::write_atomic(path, &bytes)?;
            (current, Some(persist::Persister::start(path.clone())))
        }
        None => (initial.clone(), None),
    };
    let app = Arc::new(Shared {
        store: store::Store::new(current, initial, clock, ids, persister),
        faults: faults::Faults::default(),
        log: traffic::RequestLog::default(),
        delivery: delivery::Deliverer::new(options.allow_remote_delivery),
    });
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: listen,
            source,
        })?;
    let hosts = origin::AllowedHosts::new(listen.ip(), &options.allowed_hosts);
    let worker = tokio::spawn(delivery::run(app.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    // Open connections are left to end on their own: a `hang` fault holds one on purpose.
    let task = tokio::spawn(crate::server::serve(
        listener,
        router(app, hosts),
        options.limits,
        OnStop::Leave,
        async {
            let _ = stopped.await;
        },
    ));
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
        worker,
    })
}

/// Registers a route under its path with and without a trailing slash.
fn both(router: Router<App>, path: &str, route: MethodRouter<App>) -> Router<App> {
    router
        .route(path, route.clone())
        .route(&format!("{path}/"), route)
}

fn router(app: App, hosts: origin::AllowedHosts) -> Router {
    let mut api = Router::new();
    api = both(api, paths::LOGIN, post(accounts::login));
    api = both(api, paths::LOGIN_WITH_KEY, post(accounts::login_with_key));
    api = both(api, paths::REFRESH_TOKEN, post(accounts::refresh_token));
    api = both(api, paths::LOGOUT, post(accounts::logout));
    api = both(api, paths::ORGANIZATIONS, get(accounts::organizations));
    api = both(api, paths::FOLDERS, get(accounts::folders));
    api = both(api, paths::EVENTS, get(webhooks::events));
    api = both(api, paths::WEBHOOKS, post(webhooks::create));
    api = both(
        api,
        "/v1/webhooks/{uuid}",
        get(webhooks::get)
            .put(webhooks::update)
            .delete(webhooks::delete),
    );
    api = both(
        api,
        "/v1/webhooks/{uuid}/secret",
        patch(webhooks::regenerate_secret),
    );
    api = both(
        api,
        "/v1/webhooks/organization/{organization}",
        get(webhooks::list),
    );
    api.merge(control::routes())
        .fallback(|| async { ApiError::new(axum::http::StatusCode::NOT_FOUND, codes::NOT_FOUND) })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                codes::METHOD_NOT_ALLOWED,
            )
        })
        .layer(DefaultBodyLimit::max(1 << 20))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            traffic::middleware,
        ))
        // Outermost: a refused host is neither logged nor faulted.
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(hosts),
            origin::hosts_only,
        ))
        .with_state(app)
}
