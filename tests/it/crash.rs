//! Crashes, through the real binary against the real emulator (product.md, "Applying";
//! "Identity, ownership, rotation"): `apply` SIGKILLed at seeded random points of its
//! requests, and the emulator SIGKILLed mid-apply and restarted on its state file. The
//! invariants: never a new duplicate name; the state file always parses and holds every
//! answered change; the next apply converges (its plan then empty) without re-creating
//! anything; the `--secrets-out` file always matches the live secrets.
//!
//! CI kills each at `CRASH_POINTS` points (default 20) drawn from `CRASH_SEED` (default
//! 20261128); the long run draws more from other seeds (see BENCHMARKS.md, "Proof").

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::support::apply_runs::{
    APPLY, assert_every_new_secret_was_saved, assert_secrets_file_matches,
    assert_state_file_is_valid, cli, cli_command, env_number, plan_code, run_watching,
    settled_state, spawn_apply, wait_for_requests,
};
use crate::support::emulator::Emulator;
use crate::support::world::{World, name_counts};

const ORGS: usize = 3;
const PER_ORG: usize = 20;

/// A world, its emulator (with a state file, 20 ms of latency on every request so there is
/// time to land a kill between any two of them) and the arguments that restart it.
struct Scene {
    dir: tempfile::TempDir,
    world: World,
    emulator: Emulator,
    args: Vec<String>,
}

impl Scene {
    async fn new(rng: &mut StdRng) -> Scene {
        let world = World::random(ORGS, PER_ORG, rng);
        let dir = tempfile::tempdir().unwrap();
        world.write(dir.path());
        let args: Vec<String> = ["--seed", "seed.yaml", "--state", "state.json"]
            .iter()
            .map(|a| match *a {
                "seed.yaml" | "state.json" => dir.path().join(a).to_str().unwrap().to_owned(),
                other => other.to_owned(),
            })
            .collect();
        let emulator = start(&args).await;
        Scene {
            dir,
            world,
            emulator,
            args,
        }
    }

    fn path(&self, file: &str) -> std::path::PathBuf {
        self.dir.path().join(file)
    }
}

async fn start(args: &[String]) -> Emulator {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let emulator = Emulator::start_with(&args);
    emulator
        .faults(json!({"rules": [{"kind": "latency", "latencyMs": 20}]}))
        .await;
    emulator
}

/// How many API requests a whole apply of a world drawn from `seed` makes, counted on a
/// scene of its own: the range the kill points are drawn from.
async fn requests_of_a_whole_apply(seed: u64) -> usize {
    let scene = Scene::new(&mut StdRng::seed_from_u64(seed)).await;
    let run = cli(&scene.emulator.url, scene.dir.path(), &with_force(APPLY));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    scene.emulator.requests().await.len()
}

fn with_force<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut args = args.to_vec();
    args.push("--force");
    args
}

/// The next apply converges: exit 0, the world as desired, the secrets file right, an empty
/// plan, and the state file the emulator's state.
async fn assert_rerun_converges(scene: &Scene, before: &Value, when: &str) {
    let start = settled_state(&scene.emulator).await;
    let secrets = scene.path("secrets.json");
    let mut command = cli_command(&scene.emulator.url, scene.dir.path(), &with_force(APPLY));
    command.arg("--secrets-out").arg(&secrets);
    let baseline = name_counts(before);
    let every = Duration::from_millis(10);
    let rerun = run_watching(&scene.emulator, command, &baseline, every, when).await;
    assert_eq!(rerun.code, 0, "{when}: {}\n{}", rerun.stdout, rerun.stderr);
    let after = scene.emulator.state().await;
    scene.world.assert_converged(before, &after, when);
    assert_secrets_file_matches(&secrets, &after);
    assert_every_new_secret_was_saved(&secrets, &start, &after, when);
    let plan = plan_code(&scene.emulator.url, scene.dir.path());
    assert_eq!(plan.code, 0, "{when}: {}", plan.stdout);
    let on_disk = assert_state_file_is_valid(&scene.path("state.json"), when);
    assert_eq!(on_disk["webhooks"], after["webhooks"], "{when}");
}

#[tokio::test]
async fn an_apply_killed_at_random_points_is_finished_by_the_next_apply_without_duplicates() {
    let seed = env_number("CRASH_SEED", 20_261_128);
    let points = env_number("CRASH_POINTS", 20);
    let total = requests_of_a_whole_apply(seed).await;
    let mut rng = StdRng::seed_from_u64(seed);
    for point in 0..points {
        let kill_after = rng.random_range(1..total);
        // The world of `seed` each time (its whole apply makes `total` requests, so every kill
        // lands mid-apply); other seeds draw other worlds.
        let scene = Scene::new(&mut StdRng::seed_from_u64(seed)).await;
        let when =
            format!("world {seed}, point {point}: apply killed after {kill_after} of {total}");
        let before = scene.emulator.state().await;
        let baseline = name_counts(&before);
        let secrets = scene.path("secrets.json");
        let extra = ["--force", "--secrets-out", secrets.to_str().unwrap()];
        let mut apply = spawn_apply(&scene.emulator.url, scene.dir.path(), &extra);
        wait_for_requests(&scene.emulator, &mut apply, kill_after, &baseline).await;
        apply.kill().unwrap();
        apply.wait().unwrap();
        // A create or rotation the emulator accepted just before the kill still commits (as on
        // the real platform); its secret never reached the killed run (`secret ORG/NAME`
        // prints it). So "new" means new after the in-flight requests settled.
        let state = settled_state(&scene.emulator).await;
        assert_secrets_file_matches(&secrets, &state);
        assert_state_file_is_valid(&scene.path("state.json"), &when);
        assert_rerun_converges(&scene, &before, &when).await;
    }
}

#[tokio::test]
async fn an_emulator_killed_at_random_points_restarts_from_its_state_file_and_converges() {
    let seed = env_number("CRASH_SEED", 20_261_128) + 1;
    let points = env_number("CRASH_POINTS", 20);
    let total = requests_of_a_whole_apply(seed).await;
    let mut rng = StdRng::seed_from_u64(seed);
    for point in 0..points {
        let kill_after = rng.random_range(1..total);
        let mut scene = Scene::new(&mut StdRng::seed_from_u64(seed)).await;
        let when =
            format!("world {seed}, point {point}: emulator killed after {kill_after} of {total}");
        let before = scene.emulator.state().await;
        let baseline = name_counts(&before);
        let mut apply = spawn_apply(&scene.emulator.url, scene.dir.path(), &["--force"]);
        let requests = wait_for_requests(&scene.emulator, &mut apply, kill_after, &baseline).await;
        let answered = answered_creates(&requests);
        scene.emulator.kill();
        // Mostly the machine went down with both; every fifth time the operator stops the
        // apply whose platform is gone.
        if point % 5 == 0 {
            stop(&mut apply, &when).await;
        } else {
            apply.kill().unwrap();
            apply.wait().unwrap();
        }
        let on_disk = assert_state_file_is_valid(&scene.path("state.json"), &when);
        // Every create the emulator answered was on disk before it answered.
        let created = uuids(&on_disk).difference(&uuids(&before)).count();
        assert!(
            created >= answered,
            "{when}: {answered} answered, {created} on disk"
        );

        scene.emulator = start(&scene.args).await;
        let restarted = scene.emulator.state().await;
        assert_eq!(restarted["webhooks"], on_disk["webhooks"], "{when}");
        assert_rerun_converges(&scene, &before, &when).await;
    }
}

fn uuids(state: &Value) -> BTreeSet<&str> {
    state["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["uuid"].as_str().unwrap())
        .collect()
}

/// Creates the emulator answered with 200 (before the ones it logged after them).
fn answered_creates(requests: &[Value]) -> usize {
    requests
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v1/webhooks" && r["status"] == 200)
        .count()
}

/// The operator stops an apply whose platform is gone (left alone it would spend its retries
/// on every remaining action): SIGTERM, no new action starts, it ends with 1 (or 0 when it was
/// already done, or by the signal while it was still reading). It must be gone before the re-run, which might get the same port.
async fn stop(apply: &mut std::process::Child, when: &str) {
    let term = Command::new("kill")
        .args(["-TERM", &apply.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success(), "{when}");
    let deadline = Instant::now() + Duration::from_mins(1);
    let status = loop {
        if let Some(status) = apply.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "{when}: the apply did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Before it starts changing anything, apply takes SIGTERM's default: it just ends.
    let ended = matches!(status.code(), Some(0 | 1)) || status.signal() == Some(15);
    assert!(ended, "{when}: {status}");
}
