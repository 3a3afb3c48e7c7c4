//! The command edge's way to the platform: the client from a command's connection flags
//! (`ConnectionArgs`) and the session from the environment's credentials, or (`--emulator`)
//! an embedded emulator with its state under `./.vntana-emulator/`, locked against concurrent
//! runs. Reads `VNTANA_*` here and nowhere else.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::api::client::Observer;
use crate::api::redacted::ApiKey;
use crate::api::{Client, ClientOptions, Credentials, Session};
use crate::cli::ConnectionArgs;
use crate::emulator::{self, Running, Seed};
use crate::printer::Printer;

/// Where `--emulator` keeps its state, relative to the working directory.
pub const EMULATOR_DIR: &str = ".vntana-emulator";

/// A signed-in session, and the embedded emulator behind it when `--emulator` is on.
pub struct Connection {
    pub session: Session,
    /// Kept alive (and locked) for as long as the connection.
    _embedded: Option<(Running, File)>,
}

/// A client for `url` with `--timeout`, at most `parallelism` requests in flight.
fn client(
    args: &ConnectionArgs,
    url: String,
    parallelism: usize,
    observer: &Observer,
) -> anyhow::Result<Client> {
    let mut options = ClientOptions::new(url);
    options.timeout = args.timeout;
    options.parallelism = parallelism;
    options.observer = observer.clone();
    Ok(Client::new(&options)?)
}

/// Signs in: to the embedded emulator with its demo user, or to `--api-url` with the
/// environment's credentials.
pub async fn connect(
    args: &ConnectionArgs,
    parallelism: usize,
    printer: &Printer,
) -> anyhow::Result<Connection> {
    connect_observed(args, parallelism, printer, &Observer::default()).await
}

/// `connect`, with every request's status and time told to `observer` (watch's metrics).
pub async fn connect_observed(
    args: &ConnectionArgs,
    parallelism: usize,
    printer: &Printer,
    observer: &Observer,
) -> anyhow::Result<Connection> {
    if args.emulator {
        let (running, lock, key) = start_embedded(Path::new(EMULATOR_DIR)).await?;
        printer.status(&format!(
            "Using the embedded emulator at {} (state in {EMULATOR_DIR}/).",
            running.url()
        ));
        let client = client(args, running.url(), parallelism, observer)?;
        let credentials = Credentials::ApiKey(key);
        never_show_credentials(&credentials);
        let session = Session::sign_in(client, &credentials).await?;
        return Ok(Connection {
            session,
            _embedded: Some((running, lock)),
        });
    }
    let client = client(
        args,
        args.api_url(|name| std::env::var(name).ok()),
        parallelism,
        observer,
    )?;
    let credentials = Credentials::from_env(|name| std::env::var(name).ok())?;
    never_show_credentials(&credentials);
    let session = Session::sign_in(client, &credentials).await?;
    Ok(Connection {
        session,
        _embedded: None,
    })
}

/// Registers the run's credentials with the printer's masking (defence in depth: they are
/// redacted types already).
fn never_show_credentials(credentials: &Credentials) {
    use crate::api::redacted::{Kind, never_show};
    match credentials {
        Credentials::ApiKey(key) => never_show(key.expose(), Kind::Credential),
        Credentials::Password { password, .. } => never_show(password.expose(), Kind::Credential),
    }
}

/// Starts the emulator on its state under `dir` (seeded with the default seed on first use),
/// holding the directory's lock.
async fn start_embedded(dir: &Path) -> anyhow::Result<(Running, File, ApiKey)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Keep the state out of the user's git repository.
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n")
            .with_context(|| format!("cannot write {}", ignore.display()))?;
    }
    let lock_path = dir.join("lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    lock.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "another vntana-webhooks run is using the embedded emulator ({} is locked); wait for it to finish",
            dir.display()
        )
    })?;
    let seed = Seed::default_seed();
    let key = seed
        .first_user()
        .and_then(|u| u.api_key.clone())
        .map(ApiKey::new)
        .context("the default seed has an API key")?;
    let options = emulator::Options {
        seed,
        state_file: Some(PathBuf::from(dir).join("state.json")),
        deterministic: None,
        allow_remote_delivery: false,
        allowed_hosts: Vec::new(),
        limits: emulator::default_limits(),
    };
    let running = emulator::start(options, ([127, 0, 0, 1], 0).into())
        .await
        .context("cannot start the embedded emulator")?;
    Ok((running, lock, key))
}
