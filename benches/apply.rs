//! Apply throughput against a slow platform: 1,000 creates (4 organizations of 250) by the
//! real binary against the emulator (the binary too, in memory) adding 20 ms to every API
//! request (a `latency` fault rule), at `--parallelism` 8 and 16.
//!
//!     cargo bench --bench apply        (about a minute, after the release build)
//!
//! Each sample is one whole `apply` process (sign-in, reads, plan, 1,000 creates, the re-read
//! that checks the result) after `POST /_emulator/reset`, so criterion takes 10 flat samples
//! of one run each (and warns that they do not fit its 1 s target: expected, harmless). After
//! each benchmark, one more run prints how many requests an apply makes (the emulator's
//! request log), the ideal time, requests x 20 ms / parallelism, and the ratio of the measured
//! time to it. The ideal is out of reach by a fixed amount: sign-in, the organizations, the
//! tokens (minted one at a time) and the reads before and after the creates wait for each
//! other, about ten round trips of 20 ms, plus starting the process and planning.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use serde_json::json;

#[path = "support/emulator.rs"]
mod emulator;
use emulator::Emulator;
const ORGANIZATIONS: usize = 4;
const PER_ORGANIZATION: usize = 250;
const LATENCY: Duration = Duration::from_millis(20);
const KEY: &str = "bench-owner-key";
const EMAIL: &str = "ops@bench.example";

fn seed() -> String {
    let mut seed = format!("users:\n  - email: {EMAIL}\n    apiKey: {KEY}\n    roles:\n");
    for o in 0..ORGANIZATIONS {
        let _ = write!(
            seed,
            "      - organization: org-{o}\n        role: ORGANIZATION_OWNER\n"
        );
    }
    seed.push_str("organizations:\n");
    for o in 0..ORGANIZATIONS {
        let _ = write!(
            seed,
            "  - slug: org-{o}\n    folders: [{{ slug: f-a }}]\n    webhooks: []\n"
        );
    }
    seed
}

fn config() -> String {
    let mut config = format!("version: 1\ndefaults:\n  userEmail: {EMAIL}\norganizations:\n");
    for o in 0..ORGANIZATIONS {
        let _ = write!(config, "  org-{o}:\n    webhooks:\n");
        for i in 0..PER_ORGANIZATION {
            let _ = write!(
                config,
                "      hook-{i:03}:\n        url: https://hooks.example/org-{o}/{i}\n        events: [product.completed]\n"
            );
        }
    }
    config
}

/// The emulator (a child process, killed on drop) and the config file.
struct Bench {
    emulator: Emulator,
    dir: tempfile::TempDir,
}

impl Bench {
    fn start() -> Bench {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("seed.yaml"), seed()).expect("write the seed");
        std::fs::write(dir.path().join("config.yaml"), config()).expect("write the config");
        let emulator = Emulator::start(dir.path());
        Bench { emulator, dir }
    }

    /// Back to the seed (no webhooks), with 20 ms on every API request.
    fn prepare(&self) {
        self.emulator
            .control(reqwest::Method::POST, "/_emulator/reset", None);
        let latency = u64::try_from(LATENCY.as_millis()).expect("a small latency");
        self.emulator.control(
            reqwest::Method::POST,
            "/_emulator/faults",
            Some(json!({"rules": [{"kind": "latency", "latencyMs": latency}]})),
        );
    }

    /// One whole apply; its wall-clock time.
    fn apply(&self, parallelism: usize) -> Duration {
        let started = Instant::now();
        let status = binary(self.dir.path())
            .args([
                "apply",
                "--auto-approve",
                "-f",
                "config.yaml",
                "--parallelism",
            ])
            .arg(parallelism.to_string())
            .env("VNTANA_API_URL", &self.emulator.url)
            .env("VNTANA_API_KEY", KEY)
            .status()
            .expect("run the binary");
        let elapsed = started.elapsed();
        assert!(status.success(), "apply failed: {status}");
        elapsed
    }

    fn requests(&self) -> usize {
        let log = self
            .emulator
            .control(reqwest::Method::GET, "/_emulator/requests", None);
        log.as_array().expect("a list").len()
    }

    fn webhooks(&self) -> usize {
        let state = self
            .emulator
            .control(reqwest::Method::GET, "/_emulator/state", None);
        state["webhooks"].as_array().expect("a list").len()
    }
}

fn binary(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vntana-webhooks"));
    command
        .current_dir(dir)
        .env_clear()
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[allow(
    clippy::print_stdout,
    reason = "a benchmark's report line, beside criterion's"
)]
fn apply(c: &mut Criterion) {
    let bench = Bench::start();
    let mut group = c.benchmark_group("apply 1,000 creates at 20 ms per request");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    for parallelism in [8, 16] {
        group.bench_function(format!("parallelism {parallelism}"), |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| {
                        bench.prepare();
                        bench.apply(parallelism)
                    })
                    .sum()
            });
        });
        bench.prepare();
        let elapsed = bench.apply(parallelism);
        assert_eq!(bench.webhooks(), ORGANIZATIONS * PER_ORGANIZATION);
        let requests = bench.requests();
        let ideal = LATENCY * u32::try_from(requests).expect("a count")
            / u32::try_from(parallelism).expect("small");
        println!(
            "parallelism {parallelism}: {requests} requests; ideal {:.2} s (requests x 20 ms / {parallelism}); this run {:.2} s, {:.2}x the ideal",
            ideal.as_secs_f64(),
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() / ideal.as_secs_f64()
        );
    }
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
