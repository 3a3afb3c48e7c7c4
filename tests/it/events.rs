//! `vntana-webhooks events`: the catalogue by category, read with the right organization's
//! token, in text and JSON.

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator, VIEWER_KEY};
use crate::support::snapshot;

fn events(emulator: &Emulator, key: &str, args: &[&str], dir: &std::path::Path) -> Run {
    command(dir)
        .arg("events")
        .args(args)
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", key)
        .output()
        .unwrap()
        .into()
}

#[tokio::test]
async fn the_catalogue_prints_by_category_in_text_and_json() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let text = events(&emulator, DEMO_KEY, &[], dir.path());
    assert_eq!(text.code, 0, "{}", text.stderr);
    snapshot::settings().bind(|| insta::assert_snapshot!("events_text", text.stdout));
    let json = events(&emulator, DEMO_KEY, &["--format", "json"], dir.path());
    assert_eq!(json.code, 0, "{}", json.stderr);
    let parsed: serde_json::Value =
        serde_json::from_str(&json.stdout).expect("clean JSON on stdout");
    assert_eq!(parsed["categories"].as_array().unwrap().len(), 3);
    snapshot::settings().bind(|| insta::assert_snapshot!("events_json", json.stdout));
}

#[tokio::test]
async fn the_catalogue_is_read_with_the_org_flag_else_the_config_s_first_organization() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let globex = emulator.org_uuid("globex").await;
    let acme = emulator.org_uuid("acme-3d").await;
    let token_orgs = |state: &serde_json::Value| -> Vec<String> {
        state["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["scope"]["organization"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        events(&emulator, DEMO_KEY, &["--org", "globex"], dir.path()).code,
        0
    );
    assert_eq!(
        token_orgs(&emulator.state().await),
        std::slice::from_ref(&globex)
    );
    std::fs::write(
        dir.path().join("vntana-webhooks.yaml"),
        "version: 1\norganizations:\n  globex: {}\n  acme-3d: {}\n",
    )
    .unwrap();
    assert_eq!(events(&emulator, DEMO_KEY, &[], dir.path()).code, 0);
    assert_eq!(
        token_orgs(&emulator.state().await),
        [globex, acme],
        "acme-3d sorts first"
    );
    // Any role may read the catalogue.
    assert_eq!(
        events(&emulator, VIEWER_KEY, &["--org", "acme-3d"], dir.path()).code,
        0
    );
}

#[tokio::test]
async fn an_unknown_org_and_missing_credentials_are_clear_errors() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let unknown = events(&emulator, DEMO_KEY, &["--org", "acme"], dir.path());
    assert_eq!(unknown.code, 1);
    assert_eq!(
        unknown.stderr,
        "error: organization `acme` is not visible to owner@acme.example; the organizations it can see: acme-3d, globex, initech\n"
    );
    let no_credentials: Run = command(dir.path())
        .args(["events"])
        .env("VNTANA_API_URL", &emulator.url)
        .output()
        .unwrap()
        .into();
    assert_eq!(no_credentials.code, 1);
    assert_eq!(
        no_credentials.stderr,
        "error: no credentials: set VNTANA_API_KEY (wins), or VNTANA_EMAIL and VNTANA_PASSWORD\n"
    );
    assert!(
        emulator.requests().await.len() <= 2,
        "no request without credentials"
    );
}
