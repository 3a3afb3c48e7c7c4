//! Issue 15, items 2 and 8. A long-running client outlives its tokens (vntana-api.md, "Token
//! facts"): when the platform stops accepting tokens that worked (expired after 30 days, or
//! forgotten by a restarted platform) the client signs in again and re-mints once, retries,
//! and only then reports a refusal, never in a loop; `watch` recovers by itself and backs off
//! while it cannot. And a proxy from the environment never sees a call to a loopback API,
//! where the API key and tokens travel in clear; real hosts still go through it. Counted in
//! the emulator's request log; timeouts guard liveness only.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use vntana_webhooks::api::redacted::ApiKey;
use vntana_webhooks::api::retry::RetryPolicy;
use vntana_webhooks::api::{AuthError, Client, ClientOptions, Credentials, Session, TokenUse};

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::watching::Watching;

const LOGIN: &str = "/v1/auth/login/token";
const MINT: &str = "/v1/auth/refresh-token";
const ORGANIZATIONS: &str = "/v1/organizations";
/// Long enough for every token the emulator issued to have expired (30 days).
const DAYS_31_MS: u64 = 31 * 24 * 3600 * 1000;

const CONFIG: &str = "\
version: 1
owner: long-runner
organizations:
  globex:
    webhooks:
      kept:
        url: https://one.example/hook
        events: [product.added]
";

/// How many logged requests have this method and path, and (if given) this status.
async fn count(emulator: &Emulator, method: &str, path: &str, status: Option<u16>) -> usize {
    emulator
        .requests()
        .await
        .iter()
        .filter(|r| r["method"] == method && r["path"] == path)
        .filter(|r| status.is_none_or(|s| r["status"] == s))
        .count()
}

/// `watch -f webhooks.yaml --interval 1h` (passes come from edits and outage retries only)
/// against `emulator`, with `extra` flags.
fn start(emulator: &Emulator, dir: &Path, extra: &[&str]) -> Watching {
    let args = [
        &[
            "-f",
            "webhooks.yaml",
            "--interval",
            "1h",
            "--debounce",
            "100ms",
        ][..],
        extra,
    ]
    .concat();
    Watching::start(emulator, dir, &args)
}

/// Every token the emulator ever issued that it still remembers, and the demo key.
async fn credentials_of(emulator: &Emulator) -> Vec<String> {
    let state = emulator.state().await;
    let mut found: Vec<String> = state["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token"].as_str().unwrap().to_owned())
        .collect();
    found.push(DEMO_KEY.to_owned());
    found
}

fn assert_shows_none(printed: &[String], secrets: &[String]) {
    for line in printed {
        for secret in secrets {
            assert!(
                !line.contains(secret.as_str()),
                "a token or the API key was printed: {}...",
                &secret[..8]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_signs_in_again_after_its_tokens_expire_and_applies_the_next_change() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let mut watch = start(&emulator, dir.path(), &["--apply", "-v"]);
    watch.wait_for("Applied 1 of 1 actions.");
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, 1);
    assert_eq!(count(&emulator, "POST", MINT, None).await, 1);

    // 31 days on: the login and organization tokens have expired (403 FORBIDDEN).
    emulator.advance_clock_ms(DAYS_31_MS).await;
    std::fs::write(
        dir.path().join("webhooks.yaml"),
        CONFIG.replace("https://one.example/hook", "https://two.example/hook"),
    )
    .unwrap();
    watch.wait_for("Applied 1 of 1 actions.");
    assert_eq!(
        emulator.webhooks_named("kept").await[0]["url"],
        "https://two.example/hook"
    );
    // Another pass reuses the new tokens.
    std::fs::write(
        dir.path().join("webhooks.yaml"),
        CONFIG.replace("https://one.example/hook", "https://three.example/hook"),
    )
    .unwrap();
    watch.wait_for("Applied 1 of 1 actions.");
    let printed = watch.stop();
    assert_eq!(
        count(&emulator, "POST", LOGIN, None).await,
        2,
        "one sign-in at start, one after the expiry"
    );
    assert_eq!(
        count(&emulator, "POST", MINT, None).await,
        2,
        "one mint at start, one re-mint after the expiry"
    );
    assert_eq!(
        count(&emulator, "POST", MINT, Some(403)).await,
        0,
        "no mint with the expired login token"
    );
    assert!(
        printed.iter().any(|l| l.contains("signing in again")),
        "{}",
        printed.join("\n")
    );
    assert_shows_none(&printed, &credentials_of(&emulator).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_signs_in_again_exactly_once_when_the_platform_forgets_its_tokens() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let mut watch = start(&emulator, dir.path(), &["--apply"]);
    watch.wait_for("Applied 1 of 1 actions.");

    // Back to the seed: the webhook is gone, every token is forgotten (401 UNAUTHORIZED), and
    // the request log starts again.
    emulator.reset().await;
    std::fs::write(
        dir.path().join("webhooks.yaml"),
        format!("{CONFIG}# touched\n"),
    )
    .unwrap();
    watch.wait_for("Applied 1 of 1 actions.");
    assert_eq!(emulator.webhooks_named("kept").await.len(), 1);
    std::fs::write(
        dir.path().join("webhooks.yaml"),
        format!("{CONFIG}# touched again\n"),
    )
    .unwrap();
    // A pass with nothing new is one line.
    watch.wait_for("· config changed: No changes.");
    let printed = watch.stop();

    // The pass after the reset: its list is refused (401), the token checked (401), one
    // sign-in, one re-mint, the list again; then the create and a quiet pass.
    assert_eq!(
        count(&emulator, "GET", ORGANIZATIONS, Some(401)).await,
        1,
        "{:?}",
        emulator.request_lines().await
    );
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, 1);
    assert_eq!(count(&emulator, "POST", MINT, None).await, 1);
    assert_eq!(count(&emulator, "POST", MINT, Some(200)).await, 1);
    assert_eq!(count(&emulator, "POST", "/v1/webhooks", Some(200)).await, 1);
    assert_shows_none(&printed, &credentials_of(&emulator).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watch_that_cannot_sign_in_again_says_so_once_a_pass_and_backs_off() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let mut watch = start(&emulator, dir.path(), &["--apply"]);
    watch.wait_for("Applied 1 of 1 actions.");

    // The key stops working, and the tokens expire.
    emulator
        .faults(
            json!({"rules": [{"method": "POST", "path": LOGIN, "kind": "status", "status": 401}]}),
        )
        .await;
    emulator.clear_requests().await;
    emulator.advance_clock_ms(DAYS_31_MS).await;
    std::fs::write(
        dir.path().join("webhooks.yaml"),
        format!("{CONFIG}# touched\n"),
    )
    .unwrap();
    watch.wait_for("· config changed");
    watch.wait_for("cannot sign in again for organization `globex`");
    // Then retried as an outage is, with backoff; the same error is a one-line reminder.
    watch.wait_for_times("· retry after an outage", 2);
    let printed = watch.stop();

    let text = printed.join("\n");
    assert!(
        text.contains(&format!(
            "cannot sign in to {} with VNTANA_API_KEY",
            emulator.url
        )),
        "{text}"
    );
    // Each pass: the list refused, the token checked, one sign-in refused; never a mint, never
    // a second sign-in in a pass.
    let globex = emulator.org_uuid("globex").await;
    let lists = count(
        &emulator,
        "GET",
        &format!("/v1/webhooks/organization/{globex}"),
        Some(403),
    )
    .await;
    let logins = count(&emulator, "POST", LOGIN, Some(401)).await;
    assert!(
        logins >= 3,
        "{logins}: {:?}",
        emulator.request_lines().await
    );
    assert_eq!(lists, logins, "{:?}", emulator.request_lines().await);
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, logins);
    assert_eq!(
        count(&emulator, "GET", ORGANIZATIONS, Some(403)).await,
        logins
    );
    assert_eq!(count(&emulator, "POST", MINT, None).await, 0);
    let passes = printed.iter().filter(|l| l.contains(" UTC · ")).count();
    assert!(logins <= passes, "{logins} sign-ins in {passes} passes");
    assert_shows_none(&printed, &credentials_of(&emulator).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_whose_tokens_expire_during_the_run_signs_in_again_and_finishes() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    // The list waits before it is authenticated: the clock moves meanwhile.
    emulator
        .faults(json!({"rules": [{"method": "GET", "path": "/v1/webhooks/organization/*", "kind": "latency", "latencyMs": 1500, "count": 1}]}))
        .await;
    let mut apply = command(dir.path());
    apply
        .args(["apply", "-f", "webhooks.yaml", "--auto-approve"])
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY);
    let running = tokio::task::spawn_blocking(move || Run::from(apply.output().unwrap()));
    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    while count(&emulator, "POST", MINT, Some(200)).await == 0 {
        assert!(std::time::Instant::now() < deadline, "no mint");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    emulator.advance_clock_ms(DAYS_31_MS).await;
    let run = running.await.unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Applied 1 of 1 actions."),
        "{}",
        run.stdout
    );
    assert_eq!(emulator.webhooks_named("kept").await.len(), 1);
    let lines = emulator.request_lines().await;
    let globex = emulator.org_uuid("globex").await;
    let list = format!("/v1/webhooks/organization/{globex}");
    assert_eq!(
        count(&emulator, "GET", &list, Some(403)).await,
        1,
        "{lines:?}"
    );
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, 2, "{lines:?}");
    assert_eq!(count(&emulator, "POST", MINT, None).await, 2, "{lines:?}");
}

fn quick_client(emulator: &Emulator) -> Client {
    let mut options = ClientOptions::new(&emulator.url);
    options.retry = RetryPolicy {
        base: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    Client::new(&options).unwrap()
}

#[tokio::test]
async fn a_session_signs_in_again_at_most_once_per_organization_per_pass() {
    let emulator = Emulator::start();
    let session = Session::sign_in(
        quick_client(&emulator),
        &Credentials::ApiKey(ApiKey::new(DEMO_KEY)),
    )
    .await
    .unwrap();
    let globex = session.organization("globex").unwrap();
    let list = || {
        session.with_token(globex, TokenUse::ManageWebhooks, |t| {
            let client = session.client().clone();
            let uuid = globex.uuid.clone();
            async move { client.list_webhooks(&t, &uuid).await }
        })
    };
    assert!(list().await.is_ok());

    // The platform forgets every token, and the key stops working.
    emulator.reset().await;
    emulator
        .faults(
            json!({"rules": [{"method": "POST", "path": LOGIN, "kind": "status", "status": 401}]}),
        )
        .await;
    let err = list().await.unwrap_err();
    let chain = format!("{:#}", anyhow::Error::from(err));
    assert!(
        chain.starts_with("cannot sign in again for organization `globex` after the platform stopped accepting its token: cannot sign in to http://127.0.0.1:"),
        "{chain}"
    );
    assert!(
        chain.contains("POST /v1/auth/login/token failed: 401 UNAUTHORIZED"),
        "{chain}"
    );
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, 1);

    // Later in the same pass: a clear refusal, without another sign-in.
    let again = list().await.unwrap_err();
    assert!(
        again
            .to_string()
            .contains("not signing in again before the next pass"),
        "{again}"
    );
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, 1);
    assert_eq!(count(&emulator, "POST", MINT, None).await, 0);

    // The next pass signs in again (the key works again): one sign-in, one re-mint.
    emulator.clear_faults().await;
    emulator.clear_requests().await;
    session.start_pass();
    assert!(list().await.is_ok());
    assert!(list().await.is_ok());
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, 1);
    assert_eq!(count(&emulator, "POST", MINT, None).await, 1);
}

#[tokio::test]
async fn expired_tokens_of_several_organizations_cost_one_sign_in() {
    let emulator = Emulator::start();
    let session = Session::sign_in(
        quick_client(&emulator),
        &Credentials::ApiKey(ApiKey::new(DEMO_KEY)),
    )
    .await
    .unwrap();
    let list = |slug: &'static str| {
        let session = &session;
        async move {
            let org = session.organization(slug).unwrap();
            session
                .with_token(org, TokenUse::ManageWebhooks, |t| {
                    let client = session.client().clone();
                    let uuid = org.uuid.clone();
                    async move { client.list_webhooks(&t, &uuid).await }
                })
                .await
        }
    };
    assert!(list("acme-3d").await.is_ok() && list("globex").await.is_ok());
    emulator.advance_clock_ms(DAYS_31_MS).await;
    emulator.clear_requests().await;
    let (acme, globex) = tokio::join!(list("acme-3d"), list("globex"));
    assert!(acme.is_ok() && globex.is_ok(), "{acme:?} {globex:?}");
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, 1);
    assert_eq!(count(&emulator, "POST", MINT, Some(200)).await, 2);
    assert_eq!(count(&emulator, "POST", MINT, None).await, 2);
}

#[tokio::test]
async fn a_first_mint_after_the_login_expired_signs_in_again() {
    let emulator = Emulator::start();
    let session = Session::sign_in(
        quick_client(&emulator),
        &Credentials::ApiKey(ApiKey::new(DEMO_KEY)),
    )
    .await
    .unwrap();
    emulator.advance_clock_ms(DAYS_31_MS).await;
    emulator.clear_requests().await;
    let globex = session.organization("globex").unwrap();
    let listed = session
        .with_token(globex, TokenUse::ManageWebhooks, |t| {
            let client = session.client().clone();
            let uuid = globex.uuid.clone();
            async move { client.list_webhooks(&t, &uuid).await }
        })
        .await;
    assert!(listed.is_ok(), "{listed:?}");
    // The mint with the expired login is refused, the login checked, one sign-in, one mint.
    assert_eq!(
        emulator.request_lines().await,
        [
            "POST /v1/auth/refresh-token",
            "GET /v1/organizations",
            "POST /v1/auth/login/token",
            "POST /v1/auth/refresh-token",
            &format!("GET /v1/webhooks/organization/{}", globex.uuid.as_str()),
        ]
    );
}

#[tokio::test]
async fn a_real_refusal_is_reported_without_signing_in_again() {
    let emulator = Emulator::start();
    let session = Session::sign_in(
        quick_client(&emulator),
        &Credentials::ApiKey(ApiKey::new(DEMO_KEY)),
    )
    .await
    .unwrap();
    let acme = session.organization("acme-3d").unwrap();
    let foreign = emulator.webhook_uuid("qa-sandbox").await;
    let err = session
        .with_token(acme, TokenUse::ManageWebhooks, |t| {
            let client = session.client().clone();
            let uuid = vntana_webhooks::api::ids::WebhookUuid::new(foreign.clone());
            async move { client.get_webhook(&t, &uuid).await }
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403 FORBIDDEN"), "{err}");
    assert_eq!(
        count(&emulator, "POST", LOGIN, None).await,
        1,
        "no re-sign-in"
    );
    assert_eq!(count(&emulator, "POST", MINT, None).await, 1, "no re-mint");
    // A role that may not manage webhooks is refused before any mint, as before.
    let initech = session.organization("initech").unwrap();
    let err = session
        .token(initech, TokenUse::ManageWebhooks)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::RoleMayNotManage { .. }), "{err}");
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, 1);
}

#[tokio::test]
async fn sign_in_and_the_organizations_list_are_retried_like_reads() {
    let emulator = Emulator::start();
    emulator
        .faults(json!({"rules": [
            {"method": "POST", "path": LOGIN, "kind": "status", "status": 503, "count": 2},
            {"method": "GET", "path": ORGANIZATIONS, "kind": "drop", "count": 1},
        ]}))
        .await;
    let session = Session::sign_in(
        quick_client(&emulator),
        &Credentials::ApiKey(ApiKey::new(DEMO_KEY)),
    )
    .await
    .unwrap();
    assert_eq!(session.organizations().len(), 3);
    assert_eq!(count(&emulator, "POST", LOGIN, None).await, 3);
    assert_eq!(count(&emulator, "POST", LOGIN, Some(200)).await, 1);
    assert!(count(&emulator, "GET", ORGANIZATIONS, None).await >= 1);
}

/// A plain TCP listener standing for a proxy: it records what every connection sends first,
/// then hangs up.
struct ProxyRecorder {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ProxyRecorder {
    fn start() -> ProxyRecorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut first = vec![0; 4096];
                let read = stream.read(&mut first).unwrap_or(0);
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&first[..read]).into_owned());
            }
        });
        ProxyRecorder { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Every proxy variable reqwest reads, in both cases, pointing here.
    fn env(&self) -> Vec<(&'static str, String)> {
        [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ]
        .into_iter()
        .map(|name| (name, self.url.clone()))
        .collect()
    }
}

#[tokio::test]
async fn a_proxy_never_sees_a_call_to_a_loopback_api() {
    let emulator = Emulator::start();
    let proxy = ProxyRecorder::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let run = |args: &[&str]| -> Run {
        command(dir.path())
            .args(args)
            .args(["--timeout", "3s"])
            .env("VNTANA_API_KEY", DEMO_KEY)
            .envs(proxy.env())
            .output()
            .unwrap()
            .into()
    };
    let plan = run(&["plan", "-f", "webhooks.yaml", "--api-url", &emulator.url]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let apply = run(&[
        "apply",
        "-f",
        "webhooks.yaml",
        "--auto-approve",
        "--api-url",
        &emulator.url,
    ]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let localhost = emulator.url.replace("127.0.0.1", "localhost");
    let by_name = run(&["plan", "-f", "webhooks.yaml", "--api-url", &localhost]);
    assert_eq!(by_name.code, 0, "{}\n{}", by_name.stdout, by_name.stderr);
    let embedded = run(&["plan", "-f", "webhooks.yaml", "--emulator"]);
    assert_eq!(embedded.code, 0, "{}\n{}", embedded.stdout, embedded.stderr);
    assert_eq!(proxy.seen(), Vec::<String>::new());
    assert_eq!(emulator.webhooks_named("kept").await.len(), 1);
}

#[tokio::test]
async fn a_proxy_still_carries_calls_to_a_real_host_through_a_tunnel() {
    let proxy = ProxyRecorder::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let run: Run = command(dir.path())
        .args(["plan", "-f", "webhooks.yaml", "--timeout", "3s"])
        .args(["--api-url", "https://api-platform.example.invalid"])
        .env("VNTANA_API_KEY", DEMO_KEY)
        .envs(proxy.env())
        .output()
        .unwrap()
        .into();
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .any(|s| s.starts_with("CONNECT api-platform.example.invalid:443 ")),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|s| !s.contains(DEMO_KEY)),
        "the key is inside the tunnel"
    );
}
