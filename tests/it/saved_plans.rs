//! Saved plans gone stale, through the real binary against the real emulator (product.md,
//! "Planning": saved plans; "Applying"): `apply PLANFILE` is refused, before any mutating
//! request, when an organization's live state, an env value the plan uses or the config
//! given with `-f` changed since planning, or when the file is of an unknown format; a
//! current one applies without `-f` or `--auto-approve` and converges. A saved plan is a file
//! anyone may edit (issue 15): an edited action, an appended delete, an edited config or one
//! that breaks the config rules is refused, and nothing changes.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::raw;

/// A config for the default seed whose plan has every kind of action, and one value from the
/// environment in a changed field (slack-alerts' url: an adoption with a url change).
const SAVED_CONFIG: &str = "\
version: 1
owner: platform-repo
defaults:
  userEmail: owner@acme.example
organizations:
  acme-3d:
    prune: true
    webhooks:
      pim-sync:
        url: https://pim.acme.example/hooks/vntana
        description: Push finished products into the PIM
        events: [product.completed, product.published]
        folders: [footwear, bags]
        userEmail: pim-team@acme.example
      slack-alerts:
        url: ${RELAY_URL}
        description: Tell the on-call channel about failed conversions
        events: [product.failed, product.terminated]
      cdn-purge:
        url: https://cdn.acme.example/purge
        description: Purge cached viewers when a product changes
        events: [product.published, product.deleted]
        secretRotation: 1
      dam-ingest:
        url: https://dam.acme.example/vntana/ingest
        events: [product.added]
  globex:
    webhooks:
      erp-bridge:
        url: https://erp.globex.example/vntana/events
        description: Sync published products to the ERP
        events: [product.published]
        folders: [emea, americas]
        userEmail: it@globex.example
        secretRotation: 2
";

const RELAY_URL: &str = "https://relay.example/hooks/first";

/// Runs the binary against the default seed's emulator, with `RELAY_URL` set to `relay`.
fn saved_cli(emulator: &Emulator, dir: &Path, args: &[&str], relay: &str) -> Run {
    command(dir)
        .args(args)
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY)
        .env("RELAY_URL", relay)
        .output()
        .unwrap()
        .into()
}

/// An emulator with the default seed, `config.yaml` and a fresh `plan.json` in `dir`.
fn planned(dir: &Path) -> Emulator {
    let emulator = Emulator::start();
    std::fs::write(dir.join("config.yaml"), SAVED_CONFIG).unwrap();
    let run = saved_cli(
        &emulator,
        dir,
        &["plan", "-f", "config.yaml", "--out", "plan.json"],
        RELAY_URL,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Plan: 1 to create, 2 to update, 1 to rotate, 1 to delete; 1 unchanged."),
        "{}",
        run.stdout
    );
    emulator
}

/// Applies `plan.json` (with `extra` arguments and `relay` as `RELAY_URL`) and asserts it is
/// refused with `message`, without a single mutating request.
async fn assert_refused(
    emulator: &Emulator,
    dir: &Path,
    extra: &[&str],
    relay: &str,
    message: &str,
) {
    emulator.clear_requests().await;
    let mut args = vec!["apply", "plan.json"];
    args.extend(extra);
    let run = saved_cli(emulator, dir, &args, relay);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(message), "{}", run.stderr);
    assert_eq!(emulator.mutating_requests().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_saved_plan_is_refused_when_an_organization_changed_after_planning() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    // Someone edits a webhook the plan does not even touch (globex's unmanaged qa-sandbox).
    let globex = emulator.org_uuid("globex").await;
    let token = raw::org_token(&emulator.url, DEMO_KEY, &globex).await;
    let uuid = emulator.webhook_uuid("qa-sandbox").await;
    let live = raw::call(&emulator.url, "GET", &format!("/v1/webhooks/{uuid}"))
        .token(&token)
        .send()
        .await;
    let live = live.response();
    // Answers group events by category; requests name them by uuid.
    let events: Vec<Value> = live["events"]["grid"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|category| category["events"].as_array().unwrap())
        .map(|e| json!({"uuid": e["uuid"]}))
        .collect();
    let edited = raw::call(&emulator.url, "PUT", &format!("/v1/webhooks/{uuid}"))
        .token(&token)
        .json(&json!({
            "uuid": uuid, "name": live["name"], "url": live["url"],
            "description": "Edited by hand after the plan", "disable": live["disable"],
            "userEmail": live["userEmail"], "organizationUuid": globex,
            "clients": live["clients"], "events": events,
        }))
        .send()
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_refused(
        &emulator,
        dir.path(),
        &[],
        RELAY_URL,
        "the saved plan is stale: the live state of globex changed since it was planned",
    )
    .await;
}

#[tokio::test]
async fn a_saved_plan_is_refused_when_an_env_value_it_uses_changed() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    assert_refused(
        &emulator,
        dir.path(),
        &[],
        "https://relay.example/hooks/second",
        "the plan's environment changed: $RELAY_URL has a different value than when planning",
    )
    .await;
}

#[tokio::test]
async fn a_saved_plan_is_refused_when_f_names_another_config() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    let other = SAVED_CONFIG.replace("dam.acme.example", "dam2.acme.example");
    std::fs::write(dir.path().join("other.yaml"), other).unwrap();
    assert_refused(
        &emulator,
        dir.path(),
        &["-f", "other.yaml"],
        RELAY_URL,
        "the config given with -f differs from the one the saved plan was made from",
    )
    .await;
}

#[tokio::test]
async fn a_saved_plan_of_an_unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    let path = dir.path().join("plan.json");
    let mut saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    saved["formatVersion"] = json!(99);
    std::fs::write(&path, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
    assert_refused(
        &emulator,
        dir.path(),
        &[],
        RELAY_URL,
        "is a saved plan of format version 99",
    )
    .await;
}

#[tokio::test]
async fn a_current_saved_plan_applies_without_f_or_auto_approve_and_converges() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    emulator.clear_requests().await;
    let run = saved_cli(&emulator, dir.path(), &["apply", "plan.json"], RELAY_URL);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Applied 5 of 5 actions."),
        "{}",
        run.stdout
    );
    // POST, PUT, PUT, PATCH then PUT with the new revision, DELETE.
    assert_eq!(emulator.mutating_requests().await.len(), 6);
    let plan = saved_cli(
        &emulator,
        dir.path(),
        &["plan", "-f", "config.yaml", "--detailed-exitcode"],
        RELAY_URL,
    );
    assert_eq!(plan.code, 0, "{}", plan.stdout);
}

/// Edits `plan.json` in `dir` with `edit`, keeping it valid JSON.
fn edit_plan(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let path = dir.join("plan.json");
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut plan);
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
}

/// The action of `plan` on webhook `name` in organization `org`.
fn action<'a>(plan: &'a mut Value, org: &str, name: &str) -> &'a mut Value {
    plan["organizations"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|o| o["slug"] == org)
        .unwrap()["actions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["webhook"] == name)
        .unwrap()
}

#[tokio::test]
async fn a_saved_plan_whose_target_url_was_edited_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    edit_plan(dir.path(), |plan| {
        action(plan, "acme-3d", "dam-ingest")["target"]["url"]["value"] =
            json!("https://attacker.example/collect");
    });
    assert_refused(
        &emulator,
        dir.path(),
        &[],
        RELAY_URL,
        "the saved plan does not hold together: its actions are not the ones its config plans against the same live state",
    )
    .await;
    assert!(emulator.webhooks_named("dam-ingest").await.is_empty());
}

#[tokio::test]
async fn a_saved_plan_with_an_appended_delete_of_an_unmanaged_webhook_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    let victim = emulator.webhook_uuid("qa-sandbox").await;
    edit_plan(dir.path(), |plan| {
        let globex = plan["organizations"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|o| o["slug"] == "globex")
            .unwrap();
        globex["actions"].as_array_mut().unwrap().push(json!({
            "action": "delete", "webhook": "qa-sandbox", "uuid": victim, "reason": "prune",
            "changes": [], "target": null
        }));
    });
    assert_refused(
        &emulator,
        dir.path(),
        &[],
        RELAY_URL,
        "its actions are not the ones its config plans",
    )
    .await;
    assert_eq!(emulator.webhooks_named("qa-sandbox").await.len(), 1);
}

#[tokio::test]
async fn a_saved_plan_whose_config_was_edited_is_refused_by_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    edit_plan(dir.path(), |plan| {
        plan["config"]["organizations"]["acme-3d"]["webhooks"]["dam-ingest"]["url"] =
            json!("https://attacker.example/collect");
    });
    assert_refused(
        &emulator,
        dir.path(),
        &[],
        RELAY_URL,
        "its config does not match its desiredDigest",
    )
    .await;
}

#[tokio::test]
async fn a_saved_plan_s_config_is_held_to_every_rule_of_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    edit_plan(dir.path(), |plan| {
        let hooks = &mut plan["config"]["organizations"]["acme-3d"]["webhooks"];
        hooks["\u{1b}[2Jforged"] =
            json!({"url": "https://x.example/h", "events": ["product.added"]});
        hooks["exfiltrate"] =
            json!({"url": "https://x.example/?k=${VNTANA_API_KEY}", "events": ["product.added"]});
    });
    assert_refused(
        &emulator,
        dir.path(),
        &["--format", "json"],
        RELAY_URL,
        "(the saved plan's config)",
    )
    .await;
    let run = saved_cli(
        &emulator,
        dir.path(),
        &["apply", "plan.json", "--format", "json"],
        RELAY_URL,
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let codes: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"env-refused") && codes.contains(&"invalid-value"),
        "{codes:?}"
    );
    assert!(!run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'));
}

#[tokio::test]
async fn reordered_sets_keep_the_config_digest_and_a_saved_plan_checks_convergence_itself() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    // The same config with its events and folders in another order: no diff, same digest.
    let reordered = SAVED_CONFIG
        .replace(
            "[product.completed, product.published]",
            "[product.published, product.completed]",
        )
        .replace("[emea, americas]", "[americas, emea]");
    std::fs::write(dir.path().join("reordered.yaml"), reordered).unwrap();
    let run = saved_cli(
        &emulator,
        dir.path(),
        &["apply", "plan.json", "-f", "reordered.yaml"],
        RELAY_URL,
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // Without -f too, a saved plan knows its config: the result is checked.
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    let run = saved_cli(&emulator, dir.path(), &["apply", "plan.json"], RELAY_URL);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("A new plan would be empty"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_saved_plan_that_is_not_a_regular_file_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = Emulator::start();
    let fifo = dir.path().join("plan.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let run = crate::support::cli::output_within(
        command(dir.path())
            .args(["apply", "plan.json"])
            .env("VNTANA_API_URL", &emulator.url)
            .env("VNTANA_API_KEY", DEMO_KEY),
        std::time::Duration::from_secs(20),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not a regular file"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_saved_plan_whose_config_outgrows_the_config_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = planned(dir.path());
    edit_plan(dir.path(), |plan| {
        plan["config"]["organizations"]["acme-3d"]["webhooks"]["dam-ingest"]["description"] =
            json!("x".repeat(34 * 1024 * 1024));
    });
    assert_refused(
        &emulator,
        dir.path(),
        &[],
        RELAY_URL,
        "the limit of all files together",
    )
    .await;
}
