//! `apply` when things go wrong, through the real binary against the real emulator
//! (product.md, "Applying"; "Identity, ownership, rotation"; saved plans in "Planning"):
//! injected faults (rate limits, 5xx, commit-then-fail, dropped connections, hangs,
//! latency), an apply SIGKILLed at seeded random points, an emulator SIGKILLed mid-apply and
//! restarted on its state file, and saved plans gone stale. The invariants: never two
//! webhooks of one name in an organization; convergence within two applies; a stale saved
//! plan refused before any mutating request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::raw;

/// The generated seed's only user: the owner of every organization.
const KEY: &str = "apply-faults-owner-key";
const EMAIL: &str = "ops@faults.example";
const OWNER: &str = "platform";

/// What a desired webhook of a generated world is, live, before the first apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Absent: a create.
    Missing,
    /// Live as desired but without the marker: an adoption.
    Unmarked,
    /// Ours, with another url: an update (counted by the safety guard).
    Drifted,
    /// Ours, at secret revision 0; the config asks for 1: a rotation (counted).
    Rotating,
    /// Ours and as desired.
    Current,
}

/// Organizations of `per_org` desired webhooks each, whose `i`-th starts as `start(i)`.
/// With `extras`, each organization also has a marked webhook absent from the config (pruned:
/// `prune: true`) and an unmarked one (listed as unmanaged, never touched).
struct World {
    orgs: usize,
    per_org: usize,
    start: fn(usize) -> Start,
    extras: bool,
}

fn slug(o: usize) -> String {
    format!("org-{o}")
}

fn name(i: usize) -> String {
    format!("hook-{i:02}")
}

fn url(slug: &str, i: usize) -> String {
    format!("https://hooks.example/{slug}/{}", name(i))
}

fn description(slug: &str, i: usize) -> String {
    format!("Hook {i} of {slug}")
}

fn events(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "[product.completed, product.failed]"
    } else {
        "[product.published]"
    }
}

fn folders(i: usize) -> &'static str {
    match i % 3 {
        0 => "[f-a]",
        1 => "[f-a, f-b]",
        _ => "[]",
    }
}

fn marked(description: &str) -> String {
    format!("{description} [managed-by:vntana-webhooks owner:{OWNER}]")
}

/// One webhook of a seed (YAML strings as JSON strings, which YAML reads alike).
fn seed_webhook(out: &mut String, name: &str, url: &str, description: &str, i: usize) {
    let _ = write!(
        out,
        "      - name: {name}\n        url: {url}\n        description: {}\n        events: {}\n        clients: {}\n        userEmail: {EMAIL}\n",
        json!(description),
        events(i),
        folders(i),
    );
}

impl World {
    /// The emulator seed (format: src/emulator/default-seed.yaml).
    fn seed(&self) -> String {
        let mut out = format!("users:\n  - email: {EMAIL}\n    apiKey: {KEY}\n    roles:\n");
        for o in 0..self.orgs {
            let _ = write!(
                out,
                "      - organization: {}\n        role: ORGANIZATION_OWNER\n",
                slug(o)
            );
        }
        out.push_str("organizations:\n");
        for o in 0..self.orgs {
            let slug = slug(o);
            let _ = write!(
                out,
                "  - slug: {slug}\n    folders:\n      - {{ slug: f-a }}\n      - {{ slug: f-b }}\n      - {{ slug: f-c }}\n    webhooks:\n"
            );
            if !self.extras && (0..self.per_org).all(|i| (self.start)(i) == Start::Missing) {
                out.push_str("      []\n");
                continue;
            }
            for i in 0..self.per_org {
                let (url, description) = (url(&slug, i), description(&slug, i));
                match (self.start)(i) {
                    Start::Missing => {}
                    Start::Unmarked => seed_webhook(&mut out, &name(i), &url, &description, i),
                    Start::Drifted => seed_webhook(
                        &mut out,
                        &name(i),
                        &url.replace("hooks.example", "old.example"),
                        &marked(&description),
                        i,
                    ),
                    Start::Rotating | Start::Current => {
                        seed_webhook(&mut out, &name(i), &url, &marked(&description), i);
                    }
                }
            }
            if self.extras {
                let gone = format!("https://gone.example/{slug}");
                seed_webhook(&mut out, "retired", &gone, &marked("Retired"), 0);
                let manual = format!("https://manual.example/{slug}");
                seed_webhook(&mut out, "made-by-hand", &manual, "Not ours", 1);
            }
        }
        out
    }

    /// The config: every organization with `prune: true` and all its desired webhooks.
    fn config(&self) -> String {
        let mut out = format!(
            "version: 1\nowner: {OWNER}\ndefaults:\n  userEmail: {EMAIL}\norganizations:\n"
        );
        for o in 0..self.orgs {
            let slug = slug(o);
            let _ = write!(out, "  {slug}:\n    prune: true\n    webhooks:\n");
            for i in 0..self.per_org {
                let _ = write!(
                    out,
                    "      {}:\n        url: {}\n        description: {}\n        events: {}\n        folders: {}\n",
                    name(i),
                    url(&slug, i),
                    json!(description(&slug, i)),
                    events(i),
                    folders(i),
                );
                if (self.start)(i) == Start::Rotating {
                    out.push_str("        secretRotation: 1\n");
                }
            }
        }
        out
    }

    /// Writes `seed.yaml` and `config.yaml` into `dir`.
    fn write(&self, dir: &Path) {
        std::fs::write(dir.join("seed.yaml"), self.seed()).unwrap();
        std::fs::write(dir.join("config.yaml"), self.config()).unwrap();
    }
}

/// Per organization of 20: 6 creates, 4 adoptions, 2 updates, 1 rotation, 7 unchanged, and
/// the extras (1 prune). Counted by the 30% guard: 2 updates, 1 rotation, 1 prune of 16 live
/// webhooks (25%), so no `--force` is needed.
fn mixed(i: usize) -> Start {
    match i {
        0..=5 => Start::Missing,
        6..=9 => Start::Unmarked,
        10 | 11 => Start::Drifted,
        12 => Start::Rotating,
        _ => Start::Current,
    }
}

fn all_missing(_: usize) -> Start {
    Start::Missing
}

/// Runs the binary against `url` with the generated seed's key.
fn cli(url: &str, dir: &Path, args: &[&str]) -> Run {
    cli_command(url, dir, args).output().unwrap().into()
}

fn cli_command(url: &str, dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = command(dir);
    command
        .args(args)
        .env("VNTANA_API_URL", url)
        .env("VNTANA_API_KEY", KEY);
    command
}

const APPLY: &[&str] = &[
    "apply",
    "--auto-approve",
    "-f",
    "config.yaml",
    "--timeout",
    "2s",
];

/// `plan --detailed-exitcode`: 0 when the live state matches the config.
fn plan_code(url: &str, dir: &Path) -> Run {
    cli(
        url,
        dir,
        &["plan", "-f", "config.yaml", "--detailed-exitcode"],
    )
}

/// Asserts that no organization of `state` has two webhooks of one name.
#[track_caller]
fn assert_no_duplicate_names(state: &Value, when: &str) {
    let mut names: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for webhook in state["webhooks"].as_array().expect("webhooks") {
        let key = (
            webhook["organizationUuid"].as_str().unwrap(),
            webhook["name"].as_str().unwrap(),
        );
        *names.entry(key).or_default() += 1;
    }
    let duplicates: Vec<_> = names.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "{when}: duplicate names (organization uuid, name, count): {duplicates:?}"
    );
}

/// Runs `command` to its end while checking the emulator's state for duplicate names every
/// few milliseconds, so a duplicate that exists even briefly is caught.
async fn run_watching(emulator: &Emulator, mut command: std::process::Command, when: &str) -> Run {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let output = tokio::task::spawn_blocking(move || child.wait_with_output());
    while !output.is_finished() {
        assert_no_duplicate_names(
            &emulator.state().await,
            &format!("{when}, during the apply"),
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let run = Run::from(output.await.unwrap().expect("wait for the binary"));
    assert_no_duplicate_names(&emulator.state().await, &format!("{when}, after the apply"));
    run
}

/// Faults on about 30% of API requests (each rule is tried only when the ones before it did
/// not fire): 429 with `Retry-After: 0`, 500, commit-then-fail answering 500,
/// commit-then-fail dropping the connection, a drop, and a rare hang (the client's 2 s
/// timeout); plus 5 ms of latency on a fifth of them.
fn faults(seed: u64) -> Value {
    json!({"seed": seed, "rules": [
        {"kind": "latency", "latencyMs": 5, "probability": 0.2},
        {"kind": "hang", "probability": 0.01, "count": 2},
        {"kind": "status", "status": 429, "retryAfter": 0, "probability": 0.08},
        {"kind": "status", "status": 500, "probability": 0.07},
        {"kind": "commit-then-fail", "status": 500, "probability": 0.07},
        {"kind": "commit-then-fail", "probability": 0.06},
        {"kind": "drop", "probability": 0.05},
    ]})
}

/// A fault as the request log shows it: its kind, and for commit-then-fail how it failed.
fn fault_label(request: &Value) -> Option<String> {
    let kinds: Vec<&str> = request["faults"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .filter(|k| *k != "latency")
        .collect();
    let kind = *kinds.first()?;
    Some(match (kind, request["status"].as_u64()) {
        ("status" | "commit-then-fail", Some(status)) => format!("{kind} {status}"),
        ("commit-then-fail", None) => "commit-then-drop".to_owned(),
        _ => kind.to_owned(),
    })
}

#[tokio::test]
async fn apply_under_faults_never_duplicates_a_name_and_converges_within_two_runs() {
    let world = World {
        orgs: 5,
        per_org: 20,
        start: mixed,
        extras: true,
    };
    let dir = tempfile::tempdir().unwrap();
    world.write(dir.path());
    let seed = dir.path().join("seed.yaml");
    let mut fired: BTreeMap<String, usize> = BTreeMap::new();
    let mut creates_faulted = 0;
    for fault_seed in [1_u64, 2, 3] {
        let emulator = Emulator::start_with(&["--seed", seed.to_str().unwrap()]);
        if fault_seed == 1 {
            // The world is what it claims to be.
            let run = cli(
                &emulator.url,
                dir.path(),
                &["plan", "-f", "config.yaml", "--format", "json"],
            );
            assert_eq!(run.code, 0, "{}", run.stderr);
            let plan: Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(
                plan["summary"],
                json!({"create": 30, "update": 30, "rotate": 5, "delete": 5, "unchanged": 35})
            );
        }
        let before = emulator.state().await;
        let secrets = dir.path().join(format!("secrets-{fault_seed}.json"));
        let mut every_run_clean = true;
        let mut runs = 0;
        loop {
            runs += 1;
            let when = format!("fault seed {fault_seed}, apply {runs}");
            emulator.faults(faults(fault_seed * 1000 + runs)).await;
            emulator.clear_requests().await;
            let mut command = cli_command(&emulator.url, dir.path(), APPLY);
            command.args(["--secrets-out", secrets.to_str().unwrap()]);
            let apply = run_watching(&emulator, command, &when).await;
            emulator.clear_faults().await;
            every_run_clean &= apply.code == 0;
            for request in &emulator.requests().await {
                if let Some(label) = fault_label(request) {
                    if request["method"] == "POST" && request["path"] == "/v1/webhooks" {
                        creates_faulted += 1;
                    }
                    *fired.entry(label).or_default() += 1;
                }
            }
            let state = emulator.state().await;
            assert_secrets_file_matches(&secrets, &state);
            if every_run_clean {
                assert_every_new_secret_was_saved(&secrets, &before, &state, &when);
            }
            let plan = plan_code(&emulator.url, dir.path());
            if plan.code == 0 {
                break;
            }
            assert!(
                plan.code == 2 && runs < 2,
                "{when}: not converged\napply ({}):\n{}\n{}\nplan ({}):\n{}\n{}",
                apply.code,
                apply.stdout,
                apply.stderr,
                plan.code,
                plan.stdout,
                plan.stderr
            );
        }
        // Pruning took the marked webhook absent from the config and left the unmarked one.
        let state = emulator.state().await;
        let names: Vec<&str> = state["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 5 * 21, "{names:?}");
        assert!(!names.contains(&"retired"));
        assert_eq!(names.iter().filter(|n| **n == "made-by-hand").count(), 5);
    }
    // The faults did fire, every kind of them, creates included.
    for kind in [
        "status 429",
        "status 500",
        "commit-then-fail 500",
        "commit-then-drop",
        "drop",
    ] {
        assert!(fired.contains_key(kind), "{kind} never fired: {fired:?}");
    }
    assert!(creates_faulted > 0, "{fired:?}");
}

/// Spawns `apply` with its output discarded (it is killed; what it printed does not matter).
fn spawn_apply(url: &str, dir: &Path, extra: &[&str]) -> Child {
    cli_command(url, dir, APPLY)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn apply")
}

/// Waits until the emulator has logged `count` API requests, checking for duplicate names
/// meanwhile (the deadline is a liveness guard only: the apply must still be running, and a
/// minute is far more than enough).
async fn wait_for_requests(emulator: &Emulator, apply: &mut Child, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        assert_no_duplicate_names(&emulator.state().await, "during the apply");
        let requests = emulator.requests().await;
        if requests.len() >= count {
            return requests;
        }
        assert!(
            apply.try_wait().unwrap().is_none(),
            "the apply ended before {count} requests: {} were made",
            requests.len()
        );
        assert!(Instant::now() < deadline, "no progress: {requests:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Every entry of the `--secrets-out` file (if there is one) is valid JSON and names a live
/// webhook with that very secret.
#[track_caller]
fn assert_secrets_file_matches(path: &Path, state: &Value) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let file: BTreeMap<String, Value> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let live: BTreeMap<&str, &str> = state["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["uuid"].as_str().unwrap(), w["secret"].as_str().unwrap()))
        .collect();
    for (key, entry) in &file {
        let uuid = entry["uuid"].as_str().unwrap();
        assert_eq!(
            live.get(uuid).copied(),
            entry["secret"].as_str(),
            "{key}: the saved secret is not the live one"
        );
    }
}

/// After applies that all succeeded: every webhook made since `before` and every rotated
/// secret is in the `--secrets-out` file, a rotation with the secret it replaced.
#[track_caller]
fn assert_every_new_secret_was_saved(path: &Path, before: &Value, after: &Value, when: &str) {
    let file: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let saved: BTreeMap<&str, &Value> = file
        .values()
        .map(|entry| (entry["uuid"].as_str().unwrap(), entry))
        .collect();
    let old: BTreeMap<&str, &str> = before["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["uuid"].as_str().unwrap(), w["secret"].as_str().unwrap()))
        .collect();
    for webhook in after["webhooks"].as_array().unwrap() {
        let (uuid, secret) = (webhook["uuid"].as_str().unwrap(), &webhook["secret"]);
        match old.get(uuid) {
            None => assert_eq!(
                saved.get(uuid).map(|e| &e["secret"]),
                Some(secret),
                "{when}: the secret of the new {} was not saved",
                webhook["name"]
            ),
            Some(previous) if Some(*previous) != secret.as_str() => {
                let entry = saved.get(uuid).unwrap_or_else(|| {
                    panic!("{when}: the rotated {} was not saved", webhook["name"])
                });
                assert_eq!(
                    (&entry["secret"], entry["previousSecret"].as_str()),
                    (secret, Some(*previous)),
                    "{when}: {}",
                    webhook["name"]
                );
            }
            Some(_) => {}
        }
    }
}

#[tokio::test]
async fn an_apply_killed_at_any_point_is_finished_by_the_next_apply_without_duplicates() {
    let world = World {
        orgs: 3,
        per_org: 20,
        start: all_missing,
        extras: false,
    };
    // A seeded random point in each third of the apply's requests before it re-reads to check
    // its work (sign-in, organizations, a token, folders and a list per organization, the
    // catalogue: 12; then 60 creates), so reads, early creates and late creates are all hit.
    let mut rng = StdRng::seed_from_u64(20_261_128);
    let points: Vec<usize> = [1..=24, 25..=48, 49..=72]
        .into_iter()
        .map(|range| rng.random_range(range))
        .collect();
    for kill_after in points {
        let dir = tempfile::tempdir().unwrap();
        world.write(dir.path());
        let state_file = dir.path().join("state.json");
        let emulator = Emulator::start_with(&[
            "--seed",
            dir.path().join("seed.yaml").to_str().unwrap(),
            "--state",
            state_file.to_str().unwrap(),
        ]);
        emulator
            .faults(json!({"rules": [{"kind": "latency", "latencyMs": 20}]}))
            .await;
        let secrets = dir.path().join("secrets.json");
        let extra = ["--secrets-out", secrets.to_str().unwrap()];
        let mut apply = spawn_apply(&emulator.url, dir.path(), &extra);
        wait_for_requests(&emulator, &mut apply, kill_after).await;
        apply.kill().unwrap();
        apply.wait().unwrap();
        let when = format!("killed after {kill_after} requests");
        // A create the emulator accepted just before the kill still commits (as on the real
        // platform); its secret never reached the killed run, and `secret ORG/NAME` prints it.
        // So "new" means new after the in-flight requests settled.
        let state = settled_state(&emulator).await;
        assert_no_duplicate_names(&state, &when);
        assert_secrets_file_matches(&secrets, &state);

        let mut command = cli_command(&emulator.url, dir.path(), APPLY);
        command.args(extra);
        let rerun = run_watching(&emulator, command, &format!("{when}, re-run")).await;
        assert_eq!(rerun.code, 0, "{when}: {}\n{}", rerun.stdout, rerun.stderr);
        let after = emulator.state().await;
        assert_eq!(after["webhooks"].as_array().unwrap().len(), 60);
        assert_secrets_file_matches(&secrets, &after);
        assert_every_new_secret_was_saved(&secrets, &state, &after, &when);
        emulator.clear_faults().await;
        let plan = plan_code(&emulator.url, dir.path());
        assert_eq!(plan.code, 0, "{when}: {}", plan.stdout);
    }
}

/// The emulator's state once two reads 100 ms apart agree (requests in flight have landed).
async fn settled_state(emulator: &Emulator) -> Value {
    let mut previous = emulator.state().await;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let current = emulator.state().await;
        if current == previous {
            return current;
        }
        previous = current;
    }
    previous
}

/// The state file parses as JSON (an emulator state).
#[track_caller]
fn assert_state_file_is_valid(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let state: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the state file is not JSON ({e}): {text}"));
    assert_eq!(state["formatVersion"], 1, "{text}");
    state
}

#[tokio::test]
async fn an_emulator_killed_mid_apply_restarts_from_its_state_file_and_the_next_apply_converges() {
    let world = World {
        orgs: 3,
        per_org: 20,
        start: all_missing,
        extras: false,
    };
    let dir = tempfile::tempdir().unwrap();
    world.write(dir.path());
    let seed = dir.path().join("seed.yaml");
    let state_file = dir.path().join("state.json");
    let args = [
        "--seed",
        seed.to_str().unwrap(),
        "--state",
        state_file.to_str().unwrap(),
    ];
    let emulator = Emulator::start_with(&args);
    emulator
        .faults(json!({"rules": [{"kind": "latency", "latencyMs": 20}]}))
        .await;
    let mut apply = spawn_apply(&emulator.url, dir.path(), &[]);
    let mut answered = 0;
    // About halfway through the creates.
    while answered < 30 {
        let requests = wait_for_requests(&emulator, &mut apply, 1).await;
        answered = requests
            .iter()
            .filter(|r| r["method"] == "POST" && r["path"] == "/v1/webhooks" && r["status"] == 200)
            .count();
    }
    emulator.kill();
    // The operator stops the apply whose platform is gone (left alone, it would fail every
    // remaining create after its retries, a few seconds each): no new action starts, the ones
    // in flight fail, and it ends with 1. It must be gone before the re-run, which might get
    // the same port.
    let term = std::process::Command::new("kill")
        .args(["-TERM", &apply.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_mins(1);
    let status = loop {
        if let Some(status) = apply.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the apply did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(1));
    let on_disk = assert_state_file_is_valid(&state_file);
    // Every create the emulator answered was on disk before it answered.
    assert!(
        on_disk["webhooks"].as_array().unwrap().len() >= answered,
        "{answered} creates were answered"
    );

    let emulator = Emulator::start_with(&args);
    let state = emulator.state().await;
    assert_eq!(state["webhooks"], on_disk["webhooks"]);
    assert_no_duplicate_names(&state, "after the restart");
    let rerun = cli(&emulator.url, dir.path(), APPLY);
    assert_eq!(rerun.code, 0, "{}\n{}", rerun.stdout, rerun.stderr);
    let state = emulator.state().await;
    assert_no_duplicate_names(&state, "after the re-run");
    assert_eq!(state["webhooks"].as_array().unwrap().len(), 60);
    let plan = plan_code(&emulator.url, dir.path());
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    assert_eq!(
        assert_state_file_is_valid(&state_file)["webhooks"],
        state["webhooks"]
    );
}

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

/// Requests that change webhooks: POST, PUT, PATCH or DELETE of /v1/webhooks*.
async fn mutating_requests(emulator: &Emulator) -> Vec<String> {
    emulator
        .requests()
        .await
        .iter()
        .filter(|r| {
            r["method"] != "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/v1/webhooks"))
        })
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect()
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
    assert_eq!(mutating_requests(emulator).await, Vec::<String>::new());
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
    assert_eq!(mutating_requests(&emulator).await.len(), 6);
    let plan = saved_cli(
        &emulator,
        dir.path(),
        &["plan", "-f", "config.yaml", "--detailed-exitcode"],
        RELAY_URL,
    );
    assert_eq!(plan.code, 0, "{}", plan.stdout);
}
