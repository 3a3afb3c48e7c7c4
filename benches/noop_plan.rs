//! A no-op plan at scale, against the network floor: 200 organizations of 50 webhooks each
//! (10,000; the config is 4 files in one directory, as one file may hold at most 1 MiB),
//! every one already as the config says and marked as ours, so `plan --detailed-exitcode`
//! must exit 0. The release binary plans against the release emulator (a child process on
//! loopback, in memory).
//!
//!     cargo bench --bench noop_plan        (about two minutes, after the release build)
//!
//! It prints, for the plan: wall time over `RUNS` runs (median, min, max; each run a whole
//! process: start, load the config, sign in, read, plan, print), the exact number of API
//! requests (the emulator's request log, checked against the minimum: 1 sign-in + 1
//! organization list + per organization 1 token + 1 webhook list + 1 folder list, as every
//! organization here names folders + 1 event catalogue), and peak memory (max RSS, from
//! `/usr/bin/time -f %M`). Then the baseline: the same requests (same methods, paths, bodies
//! and tokens, checked against the plan's request log) issued by a minimal client in this
//! process that does nothing else: no config, no parsing of what it lists, no plan. It keeps
//! the schedule our client keeps (at most `--parallelism` requests in flight; per organization
//! its token, then its webhooks, then its folders, organizations concurrently; the catalogue
//! last), so plan / baseline is our overhead over the network floor.
//!
//! Loopback has no latency, which hides the schedule, so the same comparison runs again with
//! the emulator adding `LATENCY` to every request (a `latency` fault rule), at the default
//! parallelism and at 16, beside the ideal, requests x latency / parallelism.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

#[path = "support/emulator.rs"]
mod emulator;
use emulator::Emulator;
const ORGANIZATIONS: usize = 200;
const PER_ORGANIZATION: usize = 50;
/// The config's files, in one directory (`-f config`).
const FILES: usize = 4;
/// Timed runs of each kind on loopback.
const RUNS: usize = 10;
/// Runs under `/usr/bin/time` for the peak memory.
const MEMORY_RUNS: usize = 3;
/// Added to every API request in the second comparison, and its runs of each kind.
const LATENCY: Duration = Duration::from_millis(20);
const LATENCY_RUNS: usize = 3;
/// `--parallelism`'s default (product.md, "Applying"), which the plan runs with on loopback.
const PARALLELISM: usize = 4;
/// The parallelisms of the runs with latency: the default, and more, to see what it buys.
const LATENCY_PARALLELISMS: [usize; 2] = [PARALLELISM, 16];
const BINARY: &str = env!("CARGO_BIN_EXE_vntana-webhooks");
const KEY: &str = "bench-owner-key";
const EMAIL: &str = "ops@bench.example";
const OWNER: &str = "bench";

/// The minimum a no-op plan needs (product.md, "Planning"; vntana-api.md): sign in, list the
/// organizations, and per organization of the config a token, its webhooks and (as every
/// organization here names folders) its folders; one event catalogue for all.
const MINIMUM_REQUESTS: usize = 1 + 1 + ORGANIZATIONS * 3 + 1;

fn slug(o: usize) -> String {
    format!("org-{o:03}")
}

/// Webhook `i`'s folders: every fifth is scoped to two, so every organization reads folders.
fn folders(i: usize) -> &'static str {
    if i.is_multiple_of(5) {
        "[f-a, f-b]"
    } else {
        "[]"
    }
}

fn seed() -> String {
    let mut seed = format!("users:\n  - email: {EMAIL}\n    apiKey: {KEY}\n    roles:\n");
    for o in 0..ORGANIZATIONS {
        let _ = writeln!(
            seed,
            "      - {{ organization: {}, role: ORGANIZATION_OWNER }}",
            slug(o)
        );
    }
    seed.push_str("organizations:\n");
    for o in 0..ORGANIZATIONS {
        let slug = slug(o);
        let _ = write!(
            seed,
            "  - slug: {slug}\n    folders: [{{ slug: f-a }}, {{ slug: f-b }}, {{ slug: f-c }}]\n    webhooks:\n"
        );
        for i in 0..PER_ORGANIZATION {
            let _ = write!(
                seed,
                "      - name: hook-{i:02}\n        url: https://receiver.example/{slug}/{i}\n        description: \"generated [managed-by:vntana-webhooks owner:{OWNER}]\"\n        events: [product.completed, product.published]\n        clients: {}\n        userEmail: {EMAIL}\n",
                folders(i)
            );
        }
    }
    seed
}

/// The config, as `FILES` files of as many organizations each: 10,000 webhooks do not fit in
/// one file (a config file may have at most 1 MiB).
fn configs() -> Vec<String> {
    let per_file = ORGANIZATIONS / FILES;
    (0..FILES)
        .map(|f| {
            let mut config = format!(
                "version: 1\nowner: {OWNER}\ndefaults:\n  userEmail: {EMAIL}\norganizations:\n"
            );
            for o in f * per_file..(f + 1) * per_file {
                let slug = slug(o);
                let _ = write!(config, "  {slug}:\n    prune: true\n    webhooks:\n");
                for i in 0..PER_ORGANIZATION {
                    let _ = write!(
                        config,
                        "      hook-{i:02}:\n        url: https://receiver.example/{slug}/{i}\n        description: generated\n        events: [product.published, product.completed]\n        folders: {}\n",
                        folders(i)
                    );
                }
            }
            config
        })
        .collect()
}

/// The emulator (a child process, killed on drop) and the files.
struct Bench {
    emulator: Emulator,
    dir: tempfile::TempDir,
}

/// One logged request, as the baseline must repeat it.
type Logged = (String, String);

impl Bench {
    fn start() -> Bench {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("seed.yaml"), seed()).expect("write the seed");
        let config = dir.path().join("config");
        std::fs::create_dir(&config).expect("a config directory");
        for (f, text) in configs().iter().enumerate() {
            std::fs::write(config.join(format!("webhooks-{f}.yaml")), text)
                .expect("write the config");
        }
        let emulator = Emulator::start(dir.path());
        Bench { emulator, dir }
    }

    fn clear_log(&self) {
        self.emulator
            .control(reqwest::Method::DELETE, "/_emulator/requests", None);
    }

    /// The requests since the last clear, sorted; every one must have succeeded.
    fn log(&self) -> Vec<Logged> {
        let log = self
            .emulator
            .control(reqwest::Method::GET, "/_emulator/requests", None);
        let mut requests: Vec<Logged> = log
            .as_array()
            .expect("a list")
            .iter()
            .map(|entry| {
                let status = entry["status"].as_u64().unwrap_or(0);
                assert!((200..300).contains(&status), "a failed request: {entry}");
                (
                    entry["method"].as_str().expect("a method").to_owned(),
                    entry["path"].as_str().expect("a path").to_owned(),
                )
            })
            .collect();
        requests.sort();
        requests
    }

    fn latency(&self, latency: Duration) {
        if latency.is_zero() {
            self.emulator
                .control(reqwest::Method::DELETE, "/_emulator/faults", None);
        } else {
            let millis = u64::try_from(latency.as_millis()).expect("a small latency");
            self.emulator.control(
                reqwest::Method::POST,
                "/_emulator/faults",
                Some(json!({"rules": [{"kind": "latency", "latencyMs": millis}]})),
            );
        }
    }

    /// `plan -f config --detailed-exitcode --parallelism N`, under `/usr/bin/time` when `time` is given.
    fn plan_command(&self, time: Option<&Path>, parallelism: usize) -> Command {
        let mut command = match time {
            Some(time) => {
                let mut command = Command::new(time);
                command.args(["-f", "%M", "-o", "rss.txt", BINARY]);
                command
            }
            None => Command::new(BINARY),
        };
        command
            .args([
                "plan",
                "-f",
                "config",
                "--detailed-exitcode",
                "--parallelism",
            ])
            .arg(parallelism.to_string())
            .current_dir(self.dir.path())
            .env_clear()
            .env("NO_COLOR", "1")
            .env("VNTANA_API_URL", &self.emulator.url)
            .env("VNTANA_API_KEY", KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    }

    /// One whole no-op plan: its wall-clock time. It must exit 0 (no changes).
    fn plan(&self, parallelism: usize) -> Duration {
        let mut command = self.plan_command(None, parallelism);
        let started = Instant::now();
        let output = command.output().expect("run the binary");
        let elapsed = started.elapsed();
        assert_no_op(&output);
        elapsed
    }

    /// One plan under `/usr/bin/time`: its peak resident memory in KiB.
    fn plan_memory(&self, time: &Path) -> u64 {
        let output = self
            .plan_command(Some(time), PARALLELISM)
            .output()
            .expect("run /usr/bin/time");
        assert_no_op(&output);
        let text = std::fs::read_to_string(self.dir.path().join("rss.txt")).expect("rss.txt");
        text.trim().parse().expect("a number of KiB")
    }

    fn baseline(&self, parallelism: usize) -> Duration {
        self.emulator
            .block_on(minimal_requests(&self.emulator.url, parallelism))
    }
}

/// `--detailed-exitcode` says 0: no changes. Otherwise, what the plan said on stderr.
fn assert_no_op(output: &std::process::Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "the plan is not a no-op ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The minimal client: the plan's requests and nothing else, with a fresh connection pool as
/// a new process would have. Its wall-clock time.
async fn minimal_requests(url: &str, parallelism: usize) -> Duration {
    let started = Instant::now();
    let http = reqwest::Client::new();
    let in_flight = Semaphore::new(parallelism);
    let send = async |request: reqwest::RequestBuilder| {
        let _permit = in_flight.acquire().await.expect("never closed");
        let response = request.send().await.expect("a request");
        assert!(response.status().is_success(), "{}", response.status());
        let token = response
            .headers()
            .get("x-auth-token")
            .map(|v| v.to_str().expect("an ASCII token").to_owned());
        let body = response.bytes().await.expect("a body");
        (token, body)
    };
    let bearer = |token: &str| format!("Bearer {token}");

    let (login, _) = send(
        http.post(format!("{url}/v1/auth/login/token"))
            .header("content-type", "application/json")
            .body(format!(r#"{{"personal-access-token":"{KEY}"}}"#)),
    )
    .await;
    let login = login.expect("a login token");
    let (_, organizations) = send(
        http.get(format!("{url}/v1/organizations"))
            .header("x-auth-token", bearer(&login)),
    )
    .await;
    // The one answer the client must read: the organizations' uuids.
    let organizations: Value = serde_json::from_slice(&organizations).expect("JSON");
    let mut uuids: BTreeMap<String, String> = organizations["response"]["grid"]
        .as_array()
        .expect("a grid")
        .iter()
        .map(|o| {
            (
                o["slug"].as_str().expect("a slug").to_owned(),
                o["uuid"].as_str().expect("a uuid").to_owned(),
            )
        })
        .collect();
    uuids.retain(|slug, _| slug.starts_with("org-"));
    let (http, login, send) = (&http, &login, &send);
    let reads = uuids.values().map(|uuid| async move {
        let mint = http
            .post(format!("{url}/v1/auth/refresh-token"))
            .header("x-auth-token", bearer(login))
            .header("organizationUuid", uuid.as_str());
        let (token, _) = send(mint).await;
        let token = bearer(&token.expect("an organization token"));
        send(
            http.get(format!("{url}/v1/webhooks/organization/{uuid}"))
                .header("x-auth-token", &token),
        )
        .await;
        send(
            http.get(format!("{url}/v1/clients/client-organizations"))
                .header("x-auth-token", &token),
        )
        .await;
        token
    });
    let tokens = futures_util::future::join_all(reads).await;
    send(
        http.get(format!("{url}/v1/webhooks/events"))
            .header("x-auth-token", &tokens[0]),
    )
    .await;
    started.elapsed()
}

/// Median, min and max, in seconds.
fn spread(samples: &mut [Duration]) -> String {
    samples.sort();
    format!(
        "median {:.3} s (min {:.3} s, max {:.3} s, {} runs)",
        samples[samples.len() / 2].as_secs_f64(),
        samples[0].as_secs_f64(),
        samples[samples.len() - 1].as_secs_f64(),
        samples.len()
    )
}

fn median(samples: &[Duration]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2].as_secs_f64()
}

fn main() {
    let bench = Bench::start();
    let requests = loopback(&bench);
    for parallelism in LATENCY_PARALLELISMS {
        with_latency(&bench, &requests, parallelism);
    }
}

/// After `what` ran: it made exactly `requests`. Clears the log for the next.
fn assert_same_requests(bench: &Bench, requests: &[Logged], what: &str) {
    assert_eq!(
        bench.log(),
        requests,
        "{what} did not make the plan's requests"
    );
    bench.clear_log();
}

/// The plan and its baseline on loopback; the requests a no-op plan makes.
#[allow(clippy::print_stdout, reason = "a benchmark's report")]
fn loopback(bench: &Bench) -> Vec<Logged> {
    println!(
        "no-op plan, {ORGANIZATIONS} organizations x {PER_ORGANIZATION} webhooks ({} webhooks), --parallelism {PARALLELISM}, emulator on loopback",
        ORGANIZATIONS * PER_ORGANIZATION
    );
    // A first run: the requests a no-op plan makes, which every later run must repeat.
    bench.clear_log();
    bench.plan(PARALLELISM);
    let requests = bench.log();
    assert_eq!(
        requests.len(),
        MINIMUM_REQUESTS,
        "a no-op plan should make the minimum of requests"
    );
    bench.clear_log();
    let mut plans = Vec::new();
    for _ in 0..RUNS {
        plans.push(bench.plan(PARALLELISM));
        assert_same_requests(bench, &requests, "a plan");
    }
    let mut baselines = Vec::new();
    for _ in 0..RUNS {
        baselines.push(bench.baseline(PARALLELISM));
        assert_same_requests(bench, &requests, "the baseline");
    }
    println!("  plan:      {}", spread(&mut plans));
    println!(
        "  requests:  {} = 1 sign-in + 1 organization list + {ORGANIZATIONS} x (token + webhook list + folder list) + 1 event catalogue",
        requests.len()
    );
    let time = PathBuf::from("/usr/bin/time");
    if time.exists() {
        let peak = (0..MEMORY_RUNS)
            .map(|_| bench.plan_memory(&time))
            .max()
            .unwrap_or(0);
        bench.clear_log();
        println!(
            "  memory:    peak RSS {:.1} MiB (max of {MEMORY_RUNS} runs, /usr/bin/time -f %M)",
            f64::from(u32::try_from(peak).expect("less than 4 TiB")) / 1024.0
        );
    } else {
        println!("  memory:    not measured (no /usr/bin/time)");
    }
    println!(
        "  baseline:  {} (the same {} requests alone)",
        spread(&mut baselines),
        requests.len()
    );
    println!(
        "  overhead:  plan / baseline = {:.1}x (medians)",
        median(&plans) / median(&baselines)
    );
    requests
}

/// The plan and its baselines with `LATENCY` added to every request, beside the ideal.
#[allow(clippy::print_stdout, reason = "a benchmark's report")]
fn with_latency(bench: &Bench, requests: &[Logged], parallelism: usize) {
    bench.latency(LATENCY);
    let mut plans = Vec::new();
    let mut baselines = Vec::new();
    for _ in 0..LATENCY_RUNS {
        plans.push(bench.plan(parallelism));
        assert_same_requests(bench, requests, "a plan");
        baselines.push(bench.baseline(parallelism));
        assert_same_requests(bench, requests, "the baseline");
    }
    bench.latency(Duration::ZERO);
    let ideal = LATENCY * u32::try_from(requests.len()).expect("a count")
        / u32::try_from(parallelism).expect("small");
    println!(
        "the same with {} ms added to every request, --parallelism {parallelism}:",
        LATENCY.as_millis()
    );
    println!("  plan:      {}", spread(&mut plans));
    println!(
        "  baseline:  {} (the same requests alone)",
        spread(&mut baselines)
    );
    println!(
        "  overhead:  plan / baseline = {:.2}x (medians)",
        median(&plans) / median(&baselines)
    );
    println!(
        "  ideal:     {:.3} s (requests x {} ms / {parallelism})",
        ideal.as_secs_f64(),
        LATENCY.as_millis()
    );
}
