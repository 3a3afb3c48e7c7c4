//! `watch` as an unattended service (issue 16), through the real binary against the real
//! emulator: probes and Prometheus metrics on `--health-addr`, JSON logs, a Kubernetes
//! ConfigMap's `..data` swap, bursts of saves, `--once` and its exit codes, SIGTERM during an
//! apply.

// Metrics are counts and 0/1 gauges, which f64 holds exactly.
#![allow(clippy::float_cmp)]

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::watching::Watching;

const CONFIG: &str = "\
version: 1
organizations:
  globex:
    webhooks:
      served:
        url: https://one.example/hook
        events: [product.added]
";

/// The health address a watch printed.
fn health_url(service: &mut Watching) -> String {
    let line = service.wait_for("Serving /healthz, /readyz and /metrics on ");
    line.split("on ")
        .nth(1)
        .unwrap()
        .trim_end_matches('.')
        .to_owned()
}

async fn get(url: &str) -> (u16, String) {
    let answer = reqwest::get(url).await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// The samples of `/metrics`, read by a Prometheus text-format parser.
async fn metrics(base: &str) -> Vec<prometheus_parse::Sample> {
    let (status, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines)
        .expect("the Prometheus text format")
        .samples
}

fn value(samples: &[prometheus_parse::Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_and_metrics_follow_the_passes_with_changes_faults_and_a_bad_config() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    // A slow first sign-in, so /readyz can be seen before the first pass completes.
    emulator
        .faults(json!({"rules": [{"path": "/v1/organizations", "kind": "latency", "latencyMs": 1500, "count": 1}]}))
        .await;
    let mut service = Watching::start(
        &emulator,
        dir.path(),
        &[
            "--apply",
            "-f",
            "webhooks.yaml",
            "--health-addr",
            "127.0.0.1:0",
            "--debounce",
            "100ms",
        ],
    );
    let base = health_url(&mut service);
    assert_eq!(get(&format!("{base}/readyz")).await.0, 503);
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    service.wait_for("Applied 1 of 1 actions.");
    assert_eq!(get(&format!("{base}/readyz")).await.0, 200);
    let samples = metrics(&base).await;
    assert_eq!(
        value(
            &samples,
            "vntana_webhooks_actions_total",
            &[
                ("organization", "globex"),
                ("kind", "create"),
                ("outcome", "applied")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "vntana_webhooks_passes_total",
            &[("trigger", "start"), ("outcome", "done")]
        ),
        1.0
    );
    assert_eq!(value(&samples, "vntana_webhooks_config_valid", &[]), 1.0);
    assert_eq!(
        value(
            &samples,
            "vntana_webhooks_drift_actions",
            &[("organization", "globex")]
        ),
        1.0
    );
    assert!(
        value(
            &samples,
            "vntana_webhooks_api_requests_total",
            &[("status", "200")]
        ) >= 4.0
    );
    assert!(
        value(
            &samples,
            "vntana_webhooks_last_success_timestamp_seconds",
            &[]
        ) > 1.7e9
    );

    after_a_fault_and_a_bad_config(&emulator, dir.path(), &mut service, &base).await;
    service.signal("TERM");
    assert_eq!(service.child.wait().unwrap().code(), Some(0));
}

/// The metrics after an outage and after an invalid config.
async fn after_a_fault_and_a_bad_config(
    emulator: &Emulator,
    dir: &Path,
    service: &mut Watching,
    base: &str,
) {
    // A fault: the list answers 500 until the retries give up; the pass is an outage.
    let list = format!(
        "/v1/webhooks/organization/{}",
        emulator.org_uuid("globex").await
    );
    emulator
        .faults(json!({"rules": [{"method": "GET", "path": list, "kind": "status", "status": 500, "count": 6}]}))
        .await;
    std::fs::write(dir.join("webhooks.yaml"), format!("{CONFIG}# touched\n")).unwrap();
    service.wait_for("· config changed");
    service.wait_for("· retry after an outage");
    let samples = metrics(base).await;
    assert!(
        value(
            &samples,
            "vntana_webhooks_api_requests_total",
            &[("status", "500")]
        ) >= 6.0
    );
    assert_eq!(
        value(
            &samples,
            "vntana_webhooks_passes_total",
            &[("trigger", "config"), ("outcome", "outage")]
        ),
        1.0
    );

    // A bad config: not valid, and said once.
    std::fs::write(dir.join("webhooks.yaml"), "version: 1\norganizations: [\n").unwrap();
    service.wait_for("the config is invalid");
    let samples = metrics(base).await;
    assert_eq!(value(&samples, "vntana_webhooks_config_valid", &[]), 0.0);
    assert_eq!(
        value(
            &samples,
            "vntana_webhooks_passes_total",
            &[("trigger", "config"), ("outcome", "invalid_config")]
        ),
        1.0
    );
    // Label values stay bounded: organizations of the config only.
    let organizations: std::collections::BTreeSet<&str> = samples
        .iter()
        .filter_map(|s| s.labels.get("organization"))
        .collect();
    assert_eq!(organizations, ["globex"].into_iter().collect());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configmap_swap_and_a_burst_of_saves_are_one_pass_each() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    // A ConfigMap volume as the kubelet lays it out: the file is a link into `..data`, which
    // links to a timestamped folder; an update makes a new folder and swaps `..data`.
    let config = dir.path().join("config");
    std::fs::create_dir(&config).unwrap();
    let first = config.join("..2026_12_04_10_00_00.1");
    std::fs::create_dir(&first).unwrap();
    std::fs::write(first.join("webhooks.yaml"), CONFIG).unwrap();
    std::os::unix::fs::symlink("..2026_12_04_10_00_00.1", config.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/webhooks.yaml", config.join("webhooks.yaml")).unwrap();
    let mut service = Watching::start(
        &emulator,
        dir.path(),
        &["--apply", "-f", "config", "--debounce", "200ms"],
    );
    service.wait_for("Applied 1 of 1 actions.");
    service.drain(Duration::from_millis(500));
    let before = service.passes();
    let second = config.join("..2026_12_04_10_05_00.2");
    std::fs::create_dir(&second).unwrap();
    std::fs::write(
        second.join("webhooks.yaml"),
        CONFIG.replace("https://one.example/hook", "https://two.example/hook"),
    )
    .unwrap();
    std::os::unix::fs::symlink("..2026_12_04_10_05_00.2", config.join("..data_tmp")).unwrap();
    std::fs::rename(config.join("..data_tmp"), config.join("..data")).unwrap();
    std::fs::remove_dir_all(&first).unwrap();
    service.wait_for("Applied 1 of 1 actions.");
    service.drain(Duration::from_secs(1));
    assert_eq!(service.passes(), before + 1, "{}", service.seen.join("\n"));
    assert_eq!(
        emulator.webhooks_named("served").await[0]["url"],
        "https://two.example/hook"
    );

    // Twenty saves in a burst of a plain file: one pass.
    drop(service);
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let mut service = Watching::start(
        &emulator,
        dir.path(),
        &["--apply", "-f", "webhooks.yaml", "--debounce", "200ms"],
    );
    service.wait_for("· start");
    service.drain(Duration::from_millis(500));
    let before = service.passes();
    let file = dir.path().join("webhooks.yaml");
    for i in 0..20 {
        std::fs::write(&file, format!("{CONFIG}# save {i}\n")).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    service.wait_for("· config changed");
    service.drain(Duration::from_secs(1));
    assert_eq!(service.passes(), before + 1, "{}", service.seen.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn once_runs_one_pass_and_exits_as_plan_and_apply_do() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let once = |config: &str, extra: &[&str]| -> Run {
        std::fs::write(dir.path().join("webhooks.yaml"), config).unwrap();
        command(dir.path())
            .args(["watch", "--once", "-f", "webhooks.yaml"])
            .args(extra)
            .env("VNTANA_API_URL", &emulator.url)
            .env("VNTANA_API_KEY", DEMO_KEY)
            .output()
            .unwrap()
            .into()
    };
    let applied = once(CONFIG, &["--apply"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert!(
        applied.stdout.contains("Applied 1 of 1 actions."),
        "{}",
        applied.stdout
    );
    assert_eq!(emulator.webhooks_named("served").await.len(), 1);
    let quiet = once(CONFIG, &["--apply"]);
    assert_eq!(quiet.code, 0);
    assert!(quiet.stdout.contains("No changes."), "{}", quiet.stdout);
    let invalid = once("version: 2\n", &["--apply"]);
    assert_eq!(invalid.code, 1, "{}", invalid.stderr);
    let unknown = once(&CONFIG.replace("product.added", "product.addded"), &[]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    // A safety refusal: deleting every managed webhook of globex.
    let refused = once(
        "version: 1\norganizations:\n  globex:\n    prune: true\n    webhooks: {}\n",
        &["--apply"],
    );
    assert_eq!(refused.code, 3, "{}\n{}", refused.stdout, refused.stderr);
    assert_eq!(emulator.webhooks_named("served").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_an_apply_finishes_the_requests_in_flight_prints_the_report_and_exits_0() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config: String = (0..6).fold(
        "version: 1\norganizations:\n  globex:\n    webhooks:\n".to_owned(),
        |config, i| {
            config
                + &format!("      w{i}:\n        url: https://w{i}.example/hook\n        events: [product.added]\n")
        },
    );
    std::fs::write(dir.path().join("webhooks.yaml"), config).unwrap();
    emulator
        .faults(json!({"rules": [{"method": "POST", "path": "/v1/webhooks", "kind": "latency", "latencyMs": 700}]}))
        .await;
    let mut service = Watching::start(
        &emulator,
        dir.path(),
        &[
            "--apply",
            "-f",
            "webhooks.yaml",
            "--parallelism",
            "1",
            "--log-format",
            "json",
        ],
    );
    // The first create is answered: the apply is under way.
    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    while emulator.count("POST", "/v1/webhooks").await == 0 {
        assert!(std::time::Instant::now() < deadline, "no create was sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service.signal("TERM");
    let status = service.child.wait().unwrap();
    service.drain(Duration::from_millis(300));
    assert_eq!(status.code(), Some(0), "{}", service.seen.join("\n"));
    let printed = service.seen.join("\n");
    assert!(printed.contains("Apply report:"), "{printed}");
    assert!(printed.contains("not started (interrupted)"), "{printed}");
    let created = emulator.count("POST", "/v1/webhooks").await;
    assert!((1..6).contains(&created), "{created} creates");
    // Every JSON log line parses; the pass's end carries its id, outcome and duration.
    let events: Vec<serde_json::Value> = service
        .seen
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ended = events
        .iter()
        .find(|e| e["duration_ms"].is_u64())
        .unwrap_or_else(|| panic!("no pass end in {events:?}"));
    assert_eq!(ended["span"]["id"], 1, "{ended}");
    assert_eq!(ended["outcome"], "done", "{ended}");
    assert!(
        events.iter().any(|e| e["outcome"] == "applied"
            && e["organization"] == "globex"
            && e["span"]["id"] == 1),
        "{events:?}"
    );
}
