//! `export`: an existing setup adopted in minutes (export, plan: only adoptions, apply, then
//! no changes), live snapshots for `plan --live`, and `completions`.

use serde_json::Value;

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::snapshot;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks.yaml");

/// A platform set up by hand: unmarked webhooks only, and one organization the user may not
/// manage.
const HAND_MADE: &str = "\
users:
  - email: ops@shop.example
    apiKey: hand-made-key-0001
    roles:
      - {organization: shop, role: ORGANIZATION_ADMIN}
      - {organization: partner, role: CLIENT_ORGANIZATION_VIEWER}
organizations:
  - slug: shop
    folders: [{slug: shoes}, {slug: hats}]
    webhooks:
      - {name: orders-sync, url: 'https://erp.shop.example/in?src=vntana', description: 'ERP: new products', events: [product.published, product.added], clients: [shoes], userEmail: ops@shop.example}
      - {name: alerts, url: 'https://alerts.shop.example/x', events: [product.failed], disable: true, userEmail: oncall@shop.example}
      - {name: 'true', url: 'https://odd.shop.example/', description: '50% ${weird}', events: [user.added], userEmail: ops@shop.example}
  - slug: partner
    webhooks: []
";

fn run(emulator: &Emulator, dir: &std::path::Path, key: &str, args: &[&str]) -> Run {
    command(dir)
        .args(args)
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", key)
        .output()
        .unwrap()
        .into()
}

#[test]
fn a_hand_made_setup_is_adopted_by_export_plan_apply() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seed.yaml"), HAND_MADE).unwrap();
    let emulator =
        Emulator::start_with(&["--seed", dir.path().join("seed.yaml").to_str().unwrap()]);
    let key = "hand-made-key-0001";
    let exported = run(&emulator, dir.path(), key, &["export"]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert!(exported.stderr.contains("note: skipping organization `partner`: the role CLIENT_ORGANIZATION_VIEWER may not manage webhooks"), "{}", exported.stderr);
    snapshot::settings().bind(|| insta::assert_snapshot!("export_hand_made_yaml", exported.stdout));
    std::fs::write(dir.path().join("exported.yaml"), &exported.stdout).unwrap();
    let plan = run(
        &emulator,
        dir.path(),
        key,
        &[
            "plan",
            "-f",
            "exported.yaml",
            "--detailed-exitcode",
            "--format",
            "json",
        ],
    );
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let actions = plan["organizations"][0]["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 3);
    assert!(
        actions.iter().all(|a| a["action"] == "update"
            && a["reason"] == "adopt"
            && a["changes"].as_array().unwrap().len() == 1),
        "only adoptions: {actions:?}"
    );
    assert_eq!(
        run(
            &emulator,
            dir.path(),
            key,
            &["apply", "-f", "exported.yaml", "--auto-approve"]
        )
        .code,
        0
    );
    assert_eq!(
        run(
            &emulator,
            dir.path(),
            key,
            &["plan", "-f", "exported.yaml", "--detailed-exitcode"]
        )
        .code,
        0
    );
}

#[test]
fn a_managed_organization_exports_to_a_config_with_no_changes() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        run(
            &emulator,
            dir.path(),
            DEMO_KEY,
            &["apply", "-f", EXAMPLE, "--auto-approve"]
        )
        .code,
        0
    );
    let exported = run(
        &emulator,
        dir.path(),
        DEMO_KEY,
        &["export", "--org", "acme-3d"],
    );
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert!(
        exported.stdout.contains("owner: platform-repo\n")
            && exported.stdout.contains("secretRotation: 1\n"),
        "{}",
        exported.stdout
    );
    std::fs::write(dir.path().join("exported.yaml"), &exported.stdout).unwrap();
    let plan = run(
        &emulator,
        dir.path(),
        DEMO_KEY,
        &["plan", "-f", "exported.yaml", "--detailed-exitcode"],
    );
    assert_eq!(plan.code, 0, "{}", plan.stdout);
}

#[test]
fn several_unmarked_webhooks_of_one_name_are_refused_with_their_uuids() {
    let dir = tempfile::tempdir().unwrap();
    let seed = "users: [{email: a@b.co, apiKey: twin-key-000001, roles: [{organization: o, role: ORGANIZATION_OWNER}]}]\norganizations:\n  - slug: o\n    webhooks:\n      - {name: twin, uuid: 00000000-0000-4000-8000-000000000001, url: 'https://a.example', events: [product.added], userEmail: a@b.co}\n      - {name: twin, uuid: 00000000-0000-4000-8000-000000000002, url: 'https://b.example', events: [product.added], userEmail: a@b.co}\n";
    std::fs::write(dir.path().join("seed.yaml"), seed).unwrap();
    let emulator =
        Emulator::start_with(&["--seed", dir.path().join("seed.yaml").to_str().unwrap()]);
    let refused = run(&emulator, dir.path(), "twin-key-000001", &["export"]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        "error: organization `o` has 2 unmarked webhooks named `twin` (00000000-0000-4000-8000-000000000001, 00000000-0000-4000-8000-000000000002); a config names each webhook once: delete or rename the extra ones, then export again\n"
    );
    assert!(refused.stdout.is_empty());
}

#[test]
fn an_exported_live_snapshot_plans_like_the_platform() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = run(
        &emulator,
        dir.path(),
        DEMO_KEY,
        &["export", "--format", "live-json"],
    );
    assert_eq!(snapshot.code, 0, "{}", snapshot.stderr);
    std::fs::write(dir.path().join("live.json"), &snapshot.stdout).unwrap();
    let online = run(&emulator, dir.path(), DEMO_KEY, &["plan", "-f", EXAMPLE]);
    let offline: Run = command(dir.path())
        .args(["plan", "-f", EXAMPLE, "--live", "live.json"])
        .output()
        .unwrap()
        .into();
    assert_eq!(
        (offline.code, &offline.stdout),
        (online.code, &online.stdout),
        "{}",
        offline.stderr
    );
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = crate::support::cli::run(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(
            run.stdout.contains("vntana-webhooks") && run.stdout.contains("plan"),
            "{shell}"
        );
    }
    assert_eq!(crate::support::cli::run(&["completions", "tcsh"]).code, 1);
}
