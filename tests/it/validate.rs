//! `vntana-webhooks validate` online: organizations, roles, folders and event names checked
//! against the platform with reads only, with did-you-mean; and which reads it makes.

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::snapshot;

fn validate(emulator: &Emulator, config: &str, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vntana-webhooks.yaml"), config).unwrap();
    command(dir.path())
        .arg("validate")
        .args(extra)
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY)
        .output()
        .unwrap()
        .into()
}

/// A misspelt organization, one whose role may not manage webhooks, unknown events and a
/// folder.
pub(crate) const PROBLEMS: &str = "\
version: 1
organizations:
  acme3d:
    webhooks: {}
  globex:
    webhooks:
      erp:
        url: https://erp.globex.example/hook
        events: [product.complete, product.published, user.remove]
        folders: [emia, americas]
  initech:
    webhooks: {}
";

#[tokio::test]
async fn online_problems_are_all_reported_with_places_and_suggestions() {
    let emulator = Emulator::start();
    let run = validate(&emulator, PROBLEMS, &[]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    snapshot::settings().bind(|| insta::assert_snapshot!("validate_online_problems", run.stderr));
    let methods: Vec<String> = emulator.request_lines().await;
    let globex = emulator.org_uuid("globex").await;
    assert_eq!(
        methods,
        [
            "POST /v1/auth/login/token".to_owned(),
            "GET /v1/organizations".to_owned(),
            "POST /v1/auth/refresh-token".to_owned(),
            format!("GET /v1/webhooks/organization/{globex}"),
            "GET /v1/clients/client-organizations".to_owned(),
            "GET /v1/webhooks/events".to_owned(),
        ],
        "reads only, as plan reads, one token: globex's (acme3d is unknown, initech's role may not manage webhooks)"
    );
}

#[tokio::test]
async fn the_same_file_offline_is_valid_and_sends_nothing() {
    let emulator = Emulator::start();
    let run = validate(&emulator, PROBLEMS, &["--offline"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "The config is valid: 3 organizations, 1 webhook (offline: not checked against the platform).\n"
    );
    assert!(emulator.requests().await.is_empty());
}

#[tokio::test]
async fn a_config_without_folders_reads_no_folders() {
    let emulator = Emulator::start();
    let config = "version: 1\norganizations:\n  acme-3d:\n    webhooks:\n      a:\n        url: https://a.example\n        events: [product.added]\n";
    let run = validate(&emulator, config, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        emulator
            .count("GET", "/v1/clients/client-organizations")
            .await,
        0
    );
}
