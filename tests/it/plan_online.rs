//! `plan` through the real binary against the emulator: every format, exit codes, `--out`,
//! `plan --live` equal to the online plan without a request, and the minimum of requests.

use std::collections::BTreeSet;

use vntana_webhooks::api::redacted::ApiKey;
use vntana_webhooks::api::{Client, ClientOptions, Credentials, Session};
use vntana_webhooks::live;

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::snapshot;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks.yaml");

/// The default seed exactly: planning it changes nothing.
const NO_CHANGES: &str = "\
version: 1
owner: platform-repo
organizations:
  acme-3d:
    webhooks:
      pim-sync:
        url: https://pim.acme.example/hooks/vntana
        description: Push finished products into the PIM
        events: [product.completed]
        folders: [footwear]
        userEmail: pim-team@acme.example
      cdn-purge:
        url: https://cdn.acme.example/purge
        description: Purge cached viewers when a product changes
        events: [product.published, product.deleted]
      legacy-ftp-export:
        url: https://ftp-bridge.acme.example/export
        events: [product.completed]
        folders: [bags]
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

fn plan(emulator: &Emulator, dir: &std::path::Path, args: &[&str]) -> Run {
    command(dir)
        .arg("plan")
        .args(args)
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY)
        .output()
        .unwrap()
        .into()
}

#[tokio::test]
async fn the_example_plans_in_every_format() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "json", "markdown"] {
        let run = plan(&emulator, dir.path(), &["-f", EXAMPLE, "--format", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.is_empty(), "{}", run.stderr);
        if format == "json" {
            let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(
                json["summary"],
                serde_json::json!({"create": 2, "update": 2, "rotate": 1, "delete": 1, "unchanged": 1})
            );
        }
        snapshot::settings()
            .bind(|| insta::assert_snapshot!(format!("plan_online_example_{format}"), run.stdout));
    }
}

#[tokio::test]
async fn detailed_exitcode_is_2_with_actions_and_0_without() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        plan(
            &emulator,
            dir.path(),
            &["-f", EXAMPLE, "--detailed-exitcode"]
        )
        .code,
        2
    );
    assert_eq!(plan(&emulator, dir.path(), &["-f", EXAMPLE]).code, 0);
    std::fs::write(dir.path().join("same.yaml"), NO_CHANGES).unwrap();
    let run = plan(
        &emulator,
        dir.path(),
        &["-f", "same.yaml", "--detailed-exitcode"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .ends_with("No changes. Live webhooks match the config.\n"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn a_no_op_plan_makes_exactly_the_minimum_of_requests() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("same.yaml"), NO_CHANGES).unwrap();
    let run = plan(&emulator, dir.path(), &["-f", "same.yaml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut requests: Vec<String> = emulator.request_lines().await;
    requests.sort();
    let (acme, globex) = (
        emulator.org_uuid("acme-3d").await,
        emulator.org_uuid("globex").await,
    );
    let mut expected = vec![
        "POST /v1/auth/login/token".to_owned(),
        "GET /v1/organizations".to_owned(),
        // One token and one list per organization; folders where the config names folders.
        "POST /v1/auth/refresh-token".to_owned(),
        "POST /v1/auth/refresh-token".to_owned(),
        format!("GET /v1/webhooks/organization/{acme}"),
        format!("GET /v1/webhooks/organization/{globex}"),
        "GET /v1/clients/client-organizations".to_owned(),
        "GET /v1/clients/client-organizations".to_owned(),
        // One catalogue for the run.
        "GET /v1/webhooks/events".to_owned(),
    ];
    expected.sort();
    assert_eq!(requests, expected);
}

#[tokio::test]
async fn plan_live_equals_the_online_plan_and_sends_no_request() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(&ClientOptions::new(&emulator.url)).unwrap();
    let session = Session::sign_in(client, &Credentials::ApiKey(ApiKey::new(DEMO_KEY)))
        .await
        .unwrap();
    let slugs: BTreeSet<String> = ["acme-3d".to_owned(), "globex".to_owned()].into();
    let snapshot = live::read(&session, &slugs, &slugs).await.unwrap().snapshot;
    std::fs::write(dir.path().join("live.json"), snapshot.to_json()).unwrap();
    let online = plan(&emulator, dir.path(), &["-f", EXAMPLE, "--format", "json"]);
    emulator.clear_requests().await;
    let offline: Run = command(dir.path())
        .args([
            "plan",
            "-f",
            EXAMPLE,
            "--format",
            "json",
            "--live",
            "live.json",
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(
        (offline.code, &offline.stdout),
        (online.code, &online.stdout),
        "{}",
        offline.stderr
    );
    assert!(
        emulator.requests().await.is_empty(),
        "plan --live sent requests"
    );
}

#[tokio::test]
async fn plan_out_saves_a_plan_that_reads_back_to_the_same_plan() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let run = plan(
        &emulator,
        dir.path(),
        &["-f", EXAMPLE, "--out", "plan.json", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Saved the plan to plan.json"),
        "{}",
        run.stderr
    );
    let path = dir.path().join("plan.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let saved = vntana_webhooks::plan::file::SavedPlan::read(&path).unwrap();
    assert_eq!(saved.format_version, 1);
    assert_eq!(saved.tool_version, env!("CARGO_PKG_VERSION"));
    // It carries its config (read back by the config loader) and the actions it showed.
    let desired = saved.desired(&|_| None).unwrap();
    assert_eq!(
        vntana_webhooks::plan::file::desired_digest(&desired),
        saved.desired_digest
    );
    assert_eq!(desired.organizations.len(), 2);
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for (org, printed_org) in saved
        .organizations
        .iter()
        .zip(printed["organizations"].as_array().unwrap())
    {
        assert_eq!(org.live_digest, printed_org["liveDigest"]);
        let actions: Vec<(String, Option<String>)> = org
            .actions
            .iter()
            .map(|a| (a.webhook.clone(), a.uuid.clone()))
            .collect();
        let shown: Vec<(String, Option<String>)> = printed_org["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["webhook"].as_str().unwrap().to_owned(),
                    a["uuid"].as_str().map(str::to_owned),
                )
            })
            .collect();
        assert_eq!(actions, shown);
    }
}

#[tokio::test]
async fn a_saved_plan_holds_env_values_only_as_templates_and_refuses_a_changed_value() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = Emulator::start();
    let config = "version: 1\norganizations:\n  acme-3d:\n    webhooks:\n      secret-hook:\n        url: ${HOOK_URL}\n        events: [product.added]\n";
    std::fs::write(dir.path().join("c.yaml"), config).unwrap();
    let secret_url = "https://hooks.example/T0/B0/very-secret-path";
    let run: Run = command(dir.path())
        .args(["plan", "-f", "c.yaml", "--out", "plan.json"])
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY)
        .env("HOOK_URL", secret_url)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("url:         (from $HOOK_URL)"),
        "{}",
        run.stdout
    );
    let text = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    assert!(
        !text.contains(secret_url)
            && !run.stdout.contains(secret_url)
            && !run.stderr.contains(secret_url)
    );
    assert!(text.contains("\"template\": \"${HOOK_URL}\""), "{text}");
    let saved =
        vntana_webhooks::plan::file::SavedPlan::read(&dir.path().join("plan.json")).unwrap();
    let same = |name: &str| (name == "HOOK_URL").then(|| secret_url.to_owned());
    assert!(saved.desired(&same).is_ok());
    let changed =
        |name: &str| (name == "HOOK_URL").then(|| "https://hooks.example/other".to_owned());
    let err = saved.desired(&changed).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the plan's environment changed: $HOOK_URL has a different value than when planning; plan again"
    );
}

#[test]
fn a_huge_plan_fits_a_pull_request_comment_with_its_whole_summary() {
    use vntana_webhooks::plan::model::{
        Action, ActionKind, OrganizationPlan, Plan, Reason, Summary,
    };
    let organizations: Vec<OrganizationPlan> = (0..40)
        .map(|o| OrganizationPlan {
            slug: format!("org-{o:02}"),
            actions: (0..200)
                .map(|i| Action {
                    action: ActionKind::Delete,
                    webhook: format!("webhook-with-a-long-name-{i:04}"),
                    uuid: Some(format!("00000000-0000-4000-8000-{i:012}")),
                    reason: Reason::Prune,
                    changes: Vec::new(),
                    target: None,
                })
                .collect(),
            ..OrganizationPlan::default()
        })
        .collect();
    let summary = Summary {
        delete: 8000,
        ..Summary::default()
    };
    let plan = Plan {
        format_version: 1,
        organizations,
        summary,
        problems: Vec::new(),
    };
    let markdown = vntana_webhooks::plan::render::markdown(&plan);
    assert!(markdown.len() < 60_000, "{} characters", markdown.len());
    assert!(
        markdown.contains("| `org-39` | 0 | 0 | 0 | 200 | 0 | none |"),
        "every organization in the summary table"
    );
    assert!(
        markdown.contains(
            "**Plan: 0 to create, 0 to update, 0 to rotate, 8000 to delete; 0 unchanged.**"
        )
    );
    assert!(markdown.contains(
        "Details truncated to fit a comment; run `vntana-webhooks plan` to see the whole plan."
    ));
}
