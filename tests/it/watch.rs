//! `watch --apply` through the real binary against the emulator: edits (a rename-over save
//! included) reach the platform, an invalid edit changes nothing, a webhook deleted by hand is
//! re-created on the next interval, and SIGTERM exits 0. Timeouts here only guard liveness.

use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::raw;
use crate::support::watching::Watching;

const CONFIG: &str = "\
version: 1
owner: watcher
organizations:
  globex:
    webhooks:
      watched:
        url: https://one.example/hook
        events: [product.added]
";

/// `watch --apply -f webhooks.yaml --interval 1s --debounce 100ms` in `dir`.
fn start_watch(emulator: &Emulator, dir: &std::path::Path) -> Watching {
    Watching::start(
        emulator,
        dir,
        &[
            "--apply",
            "-f",
            "webhooks.yaml",
            "--interval",
            "1s",
            "--debounce",
            "100ms",
        ],
    )
}

/// Saves `text` the way many editors do: write a temporary file, rename it over the config.
fn save_by_rename(dir: &std::path::Path, text: &str) {
    std::fs::write(dir.join(".webhooks.yaml.swp"), text).unwrap();
    std::fs::rename(dir.join(".webhooks.yaml.swp"), dir.join("webhooks.yaml")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_apply_follows_edits_heals_drift_and_stops_on_sigterm() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let mut watch = start_watch(&emulator, dir.path());
    watch.wait_for("Applied 1 of 1 actions.");
    assert_eq!(emulator.webhooks_named("watched").await.len(), 1);

    // An edit saved by rename reaches the platform.
    save_by_rename(
        dir.path(),
        &CONFIG.replace("https://one.example/hook", "https://two.example/hook"),
    );
    watch.wait_for("Applied 1 of 1 actions.");
    assert_eq!(
        emulator.webhooks_named("watched").await[0]["url"],
        "https://two.example/hook"
    );

    // An invalid edit is reported and changes nothing.
    let before = emulator.state().await["webhooks"].clone();
    std::fs::write(
        dir.path().join("webhooks.yaml"),
        CONFIG.replace("events: [product.added]", "events: [product.added"),
    )
    .unwrap();
    watch.wait_for("· config changed");
    watch.wait_for("· interval");
    assert_eq!(emulator.state().await["webhooks"], before);

    // A webhook deleted by hand comes back on the next interval, from the last valid config.
    let globex = emulator.org_uuid("globex").await;
    let token = raw::org_token(&emulator.url, DEMO_KEY, &globex).await;
    let uuid = emulator.webhooks_named("watched").await[0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = raw::call(&emulator.url, "DELETE", &format!("/v1/webhooks/{uuid}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(deleted.status, 200);
    watch.wait_for("Applied 1 of 1 actions.");
    let recreated = emulator.webhooks_named("watched").await;
    assert_eq!(recreated.len(), 1);
    assert_eq!(
        recreated[0]["url"], "https://two.example/hook",
        "the last valid config stays in force"
    );

    let passes = watch.passes();
    assert!(passes >= 4, "{passes}");
    watch.stop();
}

/// Disables the webhook by hand, as the platform does after failed deliveries.
async fn disable(emulator: &Emulator, token: &str, name: &str) {
    let webhook = emulator.webhooks_named(name).await.remove(0);
    let uuid = webhook["uuid"].as_str().unwrap().to_owned();
    let listed = raw::call(&emulator.url, "GET", &format!("/v1/webhooks/{uuid}"))
        .token(token)
        .send()
        .await;
    let mut body = listed.response().clone();
    body["disable"] = serde_json::json!(true);
    let events: Vec<serde_json::Value> = body["events"]["grid"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["events"].as_array().unwrap().clone())
        .map(|e| serde_json::json!({"uuid": e["uuid"]}))
        .collect();
    body["events"] = serde_json::json!(events);
    let answer = raw::call(&emulator.url, "PUT", &format!("/v1/webhooks/{uuid}"))
        .token(token)
        .json(&body)
        .send()
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_the_platform_keeps_disabling_is_re_enabled_at_most_once_an_hour() {
    // A second admin stands for the platform disabling the webhook: its own tokens do not
    // revoke the watch's.
    let dir = tempfile::tempdir().unwrap();
    let second = "  - email: second@acme.example\n    apiKey: second-admin-key-01\n    roles:\n      - organization: globex\n        role: ORGANIZATION_ADMIN\n";
    let seed = vntana_webhooks::emulator::DEFAULT_SEED.replacen(
        "  - email: viewer@acme.example",
        &format!("{second}  - email: viewer@acme.example"),
        1,
    );
    std::fs::write(dir.path().join("seed.yaml"), seed).unwrap();
    let emulator =
        Emulator::start_with(&["--seed", dir.path().join("seed.yaml").to_str().unwrap()]);
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let mut watch = start_watch(&emulator, dir.path());
    watch.wait_for("Applied 1 of 1 actions.");
    let globex = emulator.org_uuid("globex").await;
    let token = raw::org_token(&emulator.url, "second-admin-key-01", &globex).await;

    disable(&emulator, &token, "watched").await;
    watch.wait_for("(re-enable)");
    watch.wait_for("Applied 1 of 1 actions.");
    assert_eq!(
        emulator.webhooks_named("watched").await[0]["disable"],
        false
    );

    disable(&emulator, &token, "watched").await;
    let since = watch.seen.len();
    // The next passes hold the re-enable back for the hour, and say so instead of claiming
    // it will be re-enabled; then, nothing new, one line each.
    watch.wait_for("stays disabled for now");
    watch.wait_for("no changes; the same 1 problem as before");
    assert_eq!(emulator.webhooks_named("watched").await[0]["disable"], true);
    let after = &watch.seen[since..];
    assert!(
        !after.iter().any(|l| l.starts_with("Applied")
            || l.contains("(re-enable)")
            || l.contains("will be re-enabled")),
        "{after:?}"
    );
}
