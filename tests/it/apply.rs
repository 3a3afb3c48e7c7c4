//! `apply` through the real binary against the emulator, counted with its request log:
//! convergence, idempotence, dry runs, refusals, approval, the report, `--secrets-out` and
//! `secret`.

use serde_json::{Value, json};

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::raw;
use crate::support::snapshot;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks.yaml");

fn run(emulator: &Emulator, dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    emulator.cli(dir, args, env)
}

#[tokio::test]
async fn apply_converges_and_a_second_apply_changes_nothing() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let first = run(
        &emulator,
        dir.path(),
        &["apply", "-f", EXAMPLE, "--auto-approve"],
        &[],
    );
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("Applied 6 of 6 actions.\n"),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.contains("A new plan would be empty"),
        "{}",
        first.stderr
    );
    let plan = run(
        &emulator,
        dir.path(),
        &["plan", "-f", EXAMPLE, "--detailed-exitcode"],
        &[],
    );
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    emulator.clear_requests().await;
    let second = run(
        &emulator,
        dir.path(),
        &["apply", "-f", EXAMPLE, "--auto-approve"],
        &[],
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second
            .stdout
            .ends_with("No changes. Live webhooks match the config.\n"),
        "{}",
        second.stdout
    );
    assert!(emulator.mutating_requests().await.is_empty());
    // What was applied: the rotation wrote the revision, the adoption the marker.
    let cdn = &emulator.webhooks_named("cdn-purge").await[0];
    assert!(
        cdn["description"]
            .as_str()
            .unwrap()
            .ends_with("[managed-by:vntana-webhooks owner:platform-repo secret-rev:1]")
    );
    let slack = &emulator.webhooks_named("slack-alerts").await[0];
    assert_eq!(
        slack["description"],
        "Tell the on-call channel about failed conversions [managed-by:vntana-webhooks owner:platform-repo]"
    );
    assert!(
        emulator
            .webhooks_named("legacy-ftp-export")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_dry_run_prints_each_request_and_sends_none() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let env = [("SLACK_RELAY_URL", "https://hooks.example/T0/B0/secret-path")];
    let dry = run(
        &emulator,
        dir.path(),
        &["apply", "-f", EXAMPLE, "--dry-run"],
        &env,
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(!dry.stdout.contains("secret-path") && !dry.stderr.contains("secret-path"));
    assert!(emulator.mutating_requests().await.is_empty());
    let requests = dry.stdout.split("Dry run:").nth(1).unwrap();
    snapshot::settings().bind(|| insta::assert_snapshot!("apply_dry_run_requests", requests));
}

#[tokio::test]
async fn without_a_terminal_apply_needs_auto_approve_and_changes_nothing() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let refused = run(&emulator, dir.path(), &["apply", "-f", EXAMPLE], &[]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains(
            "error: stdin is not a terminal, so apply cannot ask for approval: pass --auto-approve"
        ),
        "{}",
        refused.stderr
    );
    assert!(emulator.mutating_requests().await.is_empty());
}

fn many_webhooks(count: usize, url_of: impl Fn(usize) -> String) -> String {
    let mut config =
        String::from("version: 1\nowner: team\norganizations:\n  acme-3d:\n    webhooks:\n");
    for i in 0..count {
        config.push_str(&format!(
            "      hook-{i:02}:\n        url: {}\n        events: [product.added]\n",
            url_of(i)
        ));
    }
    config
}

#[tokio::test]
async fn a_safety_refusal_exits_3_without_a_change_and_force_proceeds() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        many_webhooks(10, |i| format!("https://r.example/{i}")),
    )
    .unwrap();
    assert_eq!(
        run(
            &emulator,
            dir.path(),
            &["apply", "-f", "c.yaml", "--auto-approve"],
            &[]
        )
        .code,
        0
    );
    // acme-3d now has 14 live webhooks; changing 5 of them is more than 30%.
    std::fs::write(
        dir.path().join("c.yaml"),
        many_webhooks(10, |i| {
            if i < 5 {
                format!("https://moved.example/{i}")
            } else {
                format!("https://r.example/{i}")
            }
        }),
    )
    .unwrap();
    emulator.clear_requests().await;
    let refused = run(
        &emulator,
        dir.path(),
        &["apply", "-f", "c.yaml", "--auto-approve"],
        &[],
    );
    assert_eq!(refused.code, 3, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("nothing was changed"),
        "{}",
        refused.stderr
    );
    // stderr ends with the refusal's cause and counts (product.md, "Planning").
    assert_eq!(
        refused.stderr.lines().last(),
        Some(
            "error: acme-3d: safety refusal: would update or delete 5 of 14 live webhooks (35%; the change-threshold guard allows 30% in an organization of 10 or more); review the plan, then use --force to override the change-threshold guard"
        ),
        "{}",
        refused.stderr
    );
    assert!(emulator.mutating_requests().await.is_empty());
    let forced = run(
        &emulator,
        dir.path(),
        &["apply", "-f", "c.yaml", "--auto-approve", "--force"],
        &[],
    );
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(emulator.mutating_requests().await.len(), 5);
}

#[tokio::test]
async fn a_conflict_in_one_organization_stops_every_change() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    // Someone else's webhook named like one of ours, in globex.
    let globex = emulator.org_uuid("globex").await;
    let token = raw::org_token(&emulator.url, DEMO_KEY, &globex).await;
    let body = json!({"name": "erp-bridge", "url": "https://other.example", "description": "[managed-by:vntana-webhooks owner:other-team]",
        "disable": false, "userEmail": "a@b.co", "organizationUuid": globex, "clients": [],
        "events": [{"uuid": "1a426e7d-5e41-480c-b00f-9f46ca12e5ca"}]});
    assert_eq!(
        raw::call(&emulator.url, "POST", "/v1/webhooks")
            .token(&token)
            .json(&body)
            .send()
            .await
            .status,
        200
    );
    emulator.clear_requests().await;
    let run = run(
        &emulator,
        dir.path(),
        &["apply", "-f", EXAMPLE, "--auto-approve"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("conflict:"), "{}", run.stdout);
    assert!(run.stderr.contains("--target acme-3d"), "{}", run.stderr);
    assert!(
        emulator.mutating_requests().await.is_empty(),
        "acme-3d is not changed either"
    );
}

#[tokio::test]
async fn new_secrets_go_to_the_secrets_file_with_the_previous_one_after_a_rotation() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let before = emulator.webhooks_named("cdn-purge").await[0]["secret"].clone();
    let out = dir.path().join("secrets.json");
    std::fs::write(&out, r#"{"other/kept": {"uuid": "u", "secret": "s"}}"#).unwrap();
    let applied = run(
        &emulator,
        dir.path(),
        &[
            "apply",
            "-f",
            EXAMPLE,
            "--auto-approve",
            "--secrets-out",
            "secrets.json",
        ],
        &[],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let secrets: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let keys: Vec<&String> = secrets.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "acme-3d/cdn-purge",
            "acme-3d/dam-ingest",
            "globex/analytics-feed",
            "other/kept"
        ]
    );
    for (key, name) in [
        ("acme-3d/dam-ingest", "dam-ingest"),
        ("globex/analytics-feed", "analytics-feed"),
        ("acme-3d/cdn-purge", "cdn-purge"),
    ] {
        let live = &emulator.webhooks_named(name).await[0];
        assert_eq!(secrets[key]["secret"], live["secret"], "{key}");
        assert_eq!(secrets[key]["uuid"], live["uuid"], "{key}");
    }
    assert_eq!(secrets["acme-3d/cdn-purge"]["previousSecret"], before);
    assert!(
        secrets["acme-3d/dam-ingest"]
            .get("previousSecret")
            .is_none()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    for secret in secrets
        .as_object()
        .unwrap()
        .values()
        .filter_map(|v| v["secret"].as_str())
        .filter(|s| s.len() == 64)
    {
        assert!(!applied.stdout.contains(secret) && !applied.stderr.contains(secret));
    }
    let printed = run(
        &emulator,
        dir.path(),
        &["secret", "acme-3d/dam-ingest"],
        &[],
    );
    crate::support::cli::allow_secrets(&printed);
    assert_eq!(
        printed.stdout,
        format!(
            "{}\n",
            secrets["acme-3d/dam-ingest"]["secret"].as_str().unwrap()
        )
    );
}

#[tokio::test]
async fn an_imperative_rotation_sends_only_the_patch() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        run(
            &emulator,
            dir.path(),
            &["apply", "-f", EXAMPLE, "--auto-approve"],
            &[]
        )
        .code,
        0
    );
    emulator.clear_requests().await;
    let rotated = run(
        &emulator,
        dir.path(),
        &[
            "apply",
            "-f",
            EXAMPLE,
            "--auto-approve",
            "--rotate",
            "globex/erp-bridge",
        ],
        &[],
    );
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let uuid = emulator.webhooks_named("erp-bridge").await[0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        emulator.mutating_requests().await,
        [format!("PATCH /v1/webhooks/{uuid}/secret")]
    );
}

#[tokio::test]
async fn a_failed_action_is_reported_with_its_codes_and_the_others_still_apply() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let pim = emulator.webhooks_named("pim-sync").await[0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let legacy = emulator.webhooks_named("legacy-ftp-export").await[0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    emulator
        .faults(json!({"rules": [
            {"method": "PUT", "path": format!("/v1/webhooks/{pim}"), "kind": "status", "status": 422},
            // A webhook deleted by someone else meanwhile: its delete is a success.
            {"method": "DELETE", "path": format!("/v1/webhooks/{legacy}"), "kind": "status", "status": 404, "count": 1}
        ]}))
        .await;
    let applied = run(
        &emulator,
        dir.path(),
        &["apply", "-f", EXAMPLE, "--auto-approve", "--format", "json"],
        &[],
    );
    assert_eq!(applied.code, 1, "{}", applied.stderr);
    let report: Value =
        serde_json::from_str(&applied.stdout).expect("only the JSON report on stdout");
    assert_eq!(
        report["summary"],
        json!({"applied": 5, "failed": 1, "skipped": 0, "dryRun": 0})
    );
    let failed = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["status"] == "failed")
        .unwrap();
    assert_eq!(
        (&failed["webhook"], &failed["codes"]),
        (&json!("pim-sync"), &json!(["UNPROCESSABLE_ENTITY"]))
    );
    let gone = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["webhook"] == "legacy-ftp-export")
        .unwrap();
    assert_eq!(
        (&gone["status"], &gone["message"]),
        (&json!("applied"), &json!("already gone"))
    );
    assert_eq!(report["converged"], json!(false));
}

#[tokio::test]
async fn the_most_verbose_apply_prints_no_secret_or_token() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let verbose = run(
        &emulator,
        dir.path(),
        &[
            "-vvv",
            "apply",
            "-f",
            EXAMPLE,
            "--auto-approve",
            "--rotate",
            "acme-3d/pim-sync",
        ],
        &[],
    );
    assert_eq!(verbose.code, 0, "{}", verbose.stderr);
    assert!(
        verbose.stderr.contains("PATCH /v1/webhooks/"),
        "requests are traced: {}",
        verbose.stderr
    );
    // The emulator scans every printed byte for its secrets and tokens when it stops.
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_reports_every_action() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::from("version: 1\norganizations:\n  globex:\n    webhooks:\n");
    for i in 0..30 {
        config.push_str(&format!("      slow-{i:02}:\n        url: https://r.example/{i}\n        events: [product.added]\n"));
    }
    std::fs::write(dir.path().join("c.yaml"), config).unwrap();
    emulator.faults(json!({"rules": [{"method": "POST", "path": "/v1/webhooks", "kind": "latency", "latencyMs": 100}]})).await;
    let child = command(dir.path())
        .args([
            "apply",
            "-f",
            "c.yaml",
            "--auto-approve",
            "--parallelism",
            "1",
            "--format",
            "json",
        ])
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until creates are under way, then interrupt.
    for _ in 0..200 {
        if emulator.count("POST", "/v1/webhooks").await >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let run: Run = child.wait_with_output().unwrap().into();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("interrupted: no new action starts"),
        "{}",
        run.stderr
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["interrupted"], json!(true));
    let applied = report["summary"]["applied"].as_u64().unwrap();
    let skipped = report["summary"]["skipped"].as_u64().unwrap();
    assert!(
        skipped > 0 && applied + skipped == 30,
        "{}",
        report["summary"]
    );
    let created = emulator.state().await["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"].as_str().unwrap().starts_with("slow-"))
        .count();
    assert_eq!(
        created as u64, applied,
        "every change the platform made is in the report"
    );
}

#[tokio::test]
async fn a_create_that_commits_after_its_client_timed_out_is_not_duplicated() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = "version: 1\norganizations:\n  globex:\n    webhooks:\n      slow:\n        url: https://slow.example/hook\n        events: [product.added]\n";
    std::fs::write(dir.path().join("c.yaml"), config).unwrap();
    // The platform takes longer than the client waits, then makes the webhook anyway.
    emulator.faults(json!({"rules": [{"method": "POST", "path": "/v1/webhooks", "kind": "latency", "latencyMs": 1500, "count": 1}]})).await;
    let first = run(
        &emulator,
        dir.path(),
        &[
            "apply",
            "--timeout",
            "300ms",
            "-f",
            "c.yaml",
            "--auto-approve",
        ],
        &[],
    );
    assert_eq!(first.code, 1, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("so it is not sent again"),
        "{}",
        first.stdout
    );
    for _ in 0..100 {
        if !emulator.webhooks_named("slow").await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        emulator.webhooks_named("slow").await.len(),
        1,
        "the late create arrived once"
    );
    let second = run(
        &emulator,
        dir.path(),
        &["apply", "-f", "c.yaml", "--auto-approve"],
        &[],
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second
            .stdout
            .ends_with("No changes. Live webhooks match the config.\n"),
        "{}",
        second.stdout
    );
    assert_eq!(emulator.webhooks_named("slow").await.len(), 1);
}

#[tokio::test]
async fn quiet_apply_prints_the_report_and_errors_but_not_the_plan() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let quiet = run(
        &emulator,
        dir.path(),
        &["apply", "-q", "-f", EXAMPLE, "--auto-approve"],
        &[],
    );
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(
        !quiet.stdout.contains("Organization acme-3d"),
        "{}",
        quiet.stdout
    );
    assert!(
        quiet.stdout.contains("Applied 6 of 6 actions.\n"),
        "{}",
        quiet.stdout
    );
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

#[tokio::test]
async fn apply_json_carries_the_problems_of_a_blocked_plan_and_of_a_config_that_does_not_load() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        "version: 1\norganizations:\n  acme-3d:\n    webhooks:\n      w:\n        url: https://w.example/h\n        events: [product.addded]\n",
    )
    .unwrap();
    let blocked = run(
        &emulator,
        dir.path(),
        &[
            "apply",
            "-f",
            "c.yaml",
            "--auto-approve",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(blocked.code, 1, "{}", blocked.stderr);
    let report: serde_json::Value = serde_json::from_str(&blocked.stdout).unwrap();
    assert_eq!(report["problems"][0]["code"], "unknown-event");
    assert_eq!(report["problems"][0]["suggestion"], "product.added");
    assert_eq!(
        report["plan"]["organizations"][0]["problems"],
        report["problems"]
    );
    assert_eq!(report["actions"], serde_json::json!([]));
    assert!(emulator.mutating_requests().await.is_empty());
    std::fs::write(dir.path().join("c.yaml"), "version: 2\n").unwrap();
    let broken = run(
        &emulator,
        dir.path(),
        &[
            "apply",
            "-f",
            "c.yaml",
            "--auto-approve",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(broken.code, 1);
    let report: serde_json::Value = serde_json::from_str(&broken.stdout).unwrap();
    assert_eq!(report["problems"][0]["code"], "unsupported-version");
    assert_eq!(report["problems"][0]["line"], 1);
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_actions_fields_and_no_secret() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let run = run(
        &emulator,
        dir.path(),
        &[
            "apply",
            "-f",
            EXAMPLE,
            "--auto-approve",
            "--log-format",
            "json",
            "-vvv",
            "--secrets-out",
            "secrets.json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let secrets = std::fs::read_to_string(dir.path().join("secrets.json")).unwrap();
    let secrets: Value = serde_json::from_str(&secrets).unwrap();
    let mut actions = Vec::new();
    for line in run.stderr.lines() {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line}"));
        assert!(
            event["timestamp"].is_string() && event["level"].is_string(),
            "{line}"
        );
        assert!(event["message"].is_string(), "{line}");
        assert!(!line.contains(DEMO_KEY), "{line}");
        for entry in secrets.as_object().unwrap().values() {
            assert!(!line.contains(entry["secret"].as_str().unwrap()), "{line}");
        }
        if event["outcome"].is_string() {
            actions.push((
                event["organization"].as_str().unwrap().to_owned(),
                event["action"].as_str().unwrap().to_owned(),
                event["outcome"].as_str().unwrap().to_owned(),
            ));
        }
    }
    actions.sort();
    assert_eq!(actions.len(), 6, "{actions:?}");
    assert!(actions.iter().all(|(_, _, outcome)| outcome == "applied"));
    assert!(actions.contains(&(
        "acme-3d".to_owned(),
        "delete".to_owned(),
        "applied".to_owned()
    )));
    // stdout keeps the results for people (or --format json for programs).
    assert!(
        run.stdout.contains("Applied 6 of 6 actions."),
        "{}",
        run.stdout
    );
}
