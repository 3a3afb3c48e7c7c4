//! Running `apply` and `plan` over a generated world (support/world.rs) the way the
//! reliability suites need: against a given emulator url with the world's key, watched for
//! duplicates while it runs, spawned to be killed, and the checks of what it leaves behind
//! (the `--secrets-out` file, the emulator's state file).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cli::{Run, command};
use super::emulator::Emulator;
use super::world::{KEY, assert_no_new_duplicates};

/// `apply` without a prompt, with a 2 s request timeout (the emulator's `hang` fault).
pub const APPLY: &[&str] = &[
    "apply",
    "--auto-approve",
    "-f",
    "config.yaml",
    "--timeout",
    "2s",
];

/// A suite's knob from the environment (`CHAOS_SEEDS`, `CRASH_POINTS`...), or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}"))
    })
}

/// Runs the binary against `url` with the generated world's key.
pub fn cli(url: &str, dir: &Path, args: &[&str]) -> Run {
    cli_command(url, dir, args).output().unwrap().into()
}

pub fn cli_command(url: &str, dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = command(dir);
    command
        .args(args)
        .env("VNTANA_API_URL", url)
        .env("VNTANA_API_KEY", KEY);
    command
}

/// `plan --detailed-exitcode --force`: 0 when the live state matches the config, 2 when not
/// (never 3: the generated worlds' applies take `--force`, as a world's starting state may
/// update more than the safety guard's 30% of an organization).
pub fn plan_code(url: &str, dir: &Path) -> Run {
    cli(
        url,
        dir,
        &[
            "plan",
            "-f",
            "config.yaml",
            "--detailed-exitcode",
            "--force",
        ],
    )
}

/// Runs `command` to its end while checking the emulator's state every `every` for a name
/// with more webhooks than `baseline` allows, so a duplicate that exists even briefly is
/// caught.
pub async fn run_watching(
    emulator: &Emulator,
    mut command: std::process::Command,
    baseline: &BTreeMap<(String, String), usize>,
    every: Duration,
    when: &str,
) -> Run {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let output = tokio::task::spawn_blocking(move || child.wait_with_output());
    while !output.is_finished() {
        let during = format!("{when}, during the apply");
        assert_no_new_duplicates(&emulator.state().await, baseline, &during);
        tokio::time::sleep(every).await;
    }
    let run = Run::from(output.await.unwrap().expect("wait for the binary"));
    let after = format!("{when}, after the apply");
    assert_no_new_duplicates(&emulator.state().await, baseline, &after);
    run
}

/// Spawns `apply` with its output discarded (it is killed; what it printed does not matter).
pub fn spawn_apply(url: &str, dir: &Path, extra: &[&str]) -> Child {
    cli_command(url, dir, APPLY)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn apply")
}

/// Waits until the emulator has logged `count` API requests, checking for duplicates
/// meanwhile (the deadline is a liveness guard only: the apply must still be running, and a
/// minute is far more than enough).
pub async fn wait_for_requests(
    emulator: &Emulator,
    apply: &mut Child,
    count: usize,
    baseline: &BTreeMap<(String, String), usize>,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        assert_no_new_duplicates(&emulator.state().await, baseline, "during the apply");
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

/// The emulator's state once two reads 100 ms apart agree (requests in flight have landed).
pub async fn settled_state(emulator: &Emulator) -> Value {
    let mut previous = emulator.state().await;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let current = emulator.state().await;
        if current == previous {
            return current;
        }
        previous = current;
    }
    previous
}

/// Every entry of the `--secrets-out` file (if there is one) is valid JSON and names a live
/// webhook with that very secret.
#[track_caller]
pub fn assert_secrets_file_matches(path: &Path, state: &Value) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let file: BTreeMap<String, Value> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the secrets file is not JSON ({e})"));
    let live: BTreeMap<&str, &str> = state["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["uuid"].as_str().unwrap(), w["secret"].as_str().unwrap()))
        .collect();
    for (key, entry) in &file {
        let uuid = entry["uuid"].as_str().unwrap();
        assert!(
            live.get(uuid).copied() == entry["secret"].as_str(),
            "{key}: the saved secret is not the live one"
        );
    }
}

/// After applies that all succeeded: every webhook made since `before` and every rotated
/// secret is in the `--secrets-out` file, a rotation with the secret it replaced.
#[track_caller]
pub fn assert_every_new_secret_was_saved(path: &Path, before: &Value, after: &Value, when: &str) {
    // No file: nothing was saved, which is right only when nothing is new.
    let file: BTreeMap<String, Value> = std::fs::read_to_string(path)
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or_default();
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
            None => assert!(
                saved.get(uuid).map(|e| &e["secret"]) == Some(secret),
                "{when}: the secret of the new {} was not saved",
                webhook["name"]
            ),
            Some(previous) if Some(*previous) != secret.as_str() => {
                let entry = saved.get(uuid).unwrap_or_else(|| {
                    panic!("{when}: the rotated {} was not saved", webhook["name"])
                });
                assert!(
                    (&entry["secret"], entry["previousSecret"].as_str())
                        == (secret, Some(*previous)),
                    "{when}: {}: the saved secret or previous secret is not the live one",
                    webhook["name"]
                );
            }
            Some(_) => {}
        }
    }
}

/// The state file parses as JSON (an emulator state).
#[track_caller]
pub fn assert_state_file_is_valid(path: &Path, when: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let state: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{when}: the state file ({} bytes) is not JSON ({e})",
            text.len()
        )
    });
    assert_eq!(state["formatVersion"], 1, "{when}");
    state
}
