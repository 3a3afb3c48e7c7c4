//! Deliveries end to end: the real emulator fires signed events (`POST /_emulator/events`) at
//! the real `listen` or at a receiver inside the test (it stands for the user's endpoint),
//! retries on its own clock (advanced by the tests, never waited for), emails and disables;
//! `apply` and `plan` see the result. Every wait here only guards liveness.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};
use vntana_webhooks::signature::sign;

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::verify_listen::{Listen, post};

const LIVENESS: Duration = Duration::from_secs(30);
/// More than any wait between two attempts (8 minutes).
const PAST_ANY_BACKOFF_MS: u64 = 8 * 60 * 1000;

/// A seed with the demo key's owner in two organizations, and `webhooks` (YAML list items)
/// in acme.
fn seed(webhooks: &str) -> String {
    format!(
        "users:
  - email: owner@acme.example
    apiKey: {DEMO_KEY}
    roles:
      - {{organization: acme, role: ORGANIZATION_OWNER}}
      - {{organization: globex, role: ORGANIZATION_OWNER}}
organizations:
  - slug: acme
    folders: [{{slug: footwear, name: Footwear}}, {{slug: bags, name: Bags}}]
    webhooks: [{webhooks}]
  - slug: globex
    webhooks: []
"
    )
}

/// A deterministic emulator (test clock at 2026-01-01T00:00:00Z) started from `seed`.
fn emulator(dir: &std::path::Path, seed: &str, extra: &[&str]) -> Emulator {
    let path = dir.join("seed.yaml");
    std::fs::write(&path, seed).unwrap();
    let mut args = vec!["--seed", path.to_str().unwrap(), "--deterministic"];
    args.extend_from_slice(extra);
    Emulator::start_with(&args)
}

/// The binary against the emulator with the demo key, in `dir`.
fn cli(emulator: &Emulator, dir: &std::path::Path, args: &[&str]) -> Run {
    command(dir)
        .args(args)
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY)
        .output()
        .unwrap()
        .into()
}

/// `POST /_emulator/events`; the answer.
async fn fire(emulator: &Emulator, event: Value) -> Value {
    let (status, answer) = emulator
        .control_answer(
            reqwest::Method::POST,
            "/_emulator/events",
            Some(&event.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The names of the webhooks an event was queued for.
fn queued(answer: &Value) -> Vec<&str> {
    answer["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["webhook"]["name"].as_str().unwrap())
        .collect()
}

/// The reason each skipped webhook was skipped, by name.
fn skipped(answer: &Value) -> Vec<(&str, &str)> {
    answer["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["webhook"]["name"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
            )
        })
        .collect()
}

async fn listing(emulator: &Emulator, path: &str) -> Vec<Value> {
    let (status, list) = emulator
        .control_answer(reqwest::Method::GET, path, None)
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().expect("a list").clone()
}

/// `GET /_emulator/deliveries` once it holds at least `count` attempts.
async fn attempts(emulator: &Emulator, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + LIVENESS;
    loop {
        let attempts = listing(emulator, "/_emulator/deliveries").await;
        if attempts.len() >= count {
            return attempts;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waiting for {count} attempts, have {attempts:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One request the test's receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A receiver inside the test, standing for the user's endpoint: it records every request and
/// answers `status`, once its gate lets it.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    gate: Arc<tokio::sync::Semaphore>,
}

impl Receiver {
    /// A receiver answering at once.
    async fn start(bind: &str, status: u16) -> Receiver {
        Receiver::gated(bind, status, tokio::sync::Semaphore::MAX_PERMITS).await
    }

    /// A receiver answering only as many requests as `open` and `release` allow.
    async fn gated(bind: &str, status: u16, open: usize) -> Receiver {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let gate = Arc::new(tokio::sync::Semaphore::new(open));
        let (record, wait) = (received.clone(), gate.clone());
        let status = StatusCode::from_u16(status).unwrap();
        let app = axum::Router::new().fallback(
            move |uri: Uri, headers: HeaderMap, body: Bytes| async move {
                record.lock().unwrap().push(Received {
                    path: uri.path().to_owned(),
                    headers,
                    body: String::from_utf8(body.to_vec()).unwrap(),
                });
                let _permit = wait.acquire().await;
                status
            },
        );
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url,
            received,
            gate,
        }
    }

    /// Lets one more request be answered.
    fn release(&self) {
        self.gate.add_permits(1);
    }

    /// Waits until `count` requests have arrived.
    async fn wait_for(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + LIVENESS;
        while self.received.lock().unwrap().len() < count {
            assert!(tokio::time::Instant::now() < deadline, "no request came");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.received().into_iter().map(|r| r.path).collect();
        paths.sort();
        paths
    }
}

fn config(url: &str, events: &str) -> String {
    format!(
        "version: 1
organizations:
  acme:
    webhooks:
      receiver:
        url: {url}
        events: [{events}]
        userEmail: ops@acme.example
"
    )
}

fn secrets(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("secrets.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn a_fired_event_reaches_listen_verified_and_after_a_rotation_both_secrets_verify() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(dir.path(), &seed(""), &[]);
    // Started before apply writes the file: it is read when it appears.
    let listen = Listen::start(dir.path(), "secrets.json");
    std::fs::write(
        dir.path().join("c.yaml"),
        config(&format!("{}/hooks/vntana", listen.url), "product.added"),
    )
    .unwrap();
    let apply = cli(
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
    );
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let acme = emulator.org_uuid("acme").await;

    let answer = fire(
        &emulator,
        json!({"organization": "acme", "event": "product.added"}),
    )
    .await;
    assert_eq!(queued(&answer), ["receiver"]);
    let line = listen.next_line();
    assert!(
        line.ends_with(&format!(" product.added {acme} acme/receiver")),
        "{line}"
    );

    // A tampered body: rejected.
    let secret = secrets(dir.path())["acme/receiver"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let timestamp = "2026-01-01T00:00:00.000Z";
    let body = answer["payload"].to_string();
    let signature = sign(&secret, timestamp, body.as_bytes());
    let tampered = body.replace("DRAFT", "PUBLISHED");
    assert_ne!(tampered, body);
    assert_eq!(
        post(&listen.url, timestamp, &signature, &tampered).await,
        401
    );
    assert!(listen.next_line().ends_with(" unverified"));

    // A rotation: both the new and, during the rollout, the previous secret verify.
    let rotate = cli(
        &emulator,
        dir.path(),
        &[
            "apply",
            "-f",
            "c.yaml",
            "--auto-approve",
            "--rotate",
            "acme/receiver",
            "--secrets-out",
            "secrets.json",
        ],
    );
    assert_eq!(rotate.code, 0, "{}\n{}", rotate.stdout, rotate.stderr);
    let entry = secrets(dir.path())["acme/receiver"].clone();
    assert_eq!(entry["previousSecret"], secret.as_str());
    assert_ne!(entry["secret"], secret.as_str());
    fire(
        &emulator,
        json!({"organization": "acme", "event": "product.added"}),
    )
    .await;
    let line = listen.next_line();
    assert!(
        line.ends_with(&format!(" product.added {acme} acme/receiver")),
        "verified by the new secret: {line}"
    );
    assert_eq!(post(&listen.url, timestamp, &signature, &body).await, 200);
    assert!(
        listen
            .next_line()
            .ends_with(&format!(" {acme} previous secret of acme/receiver"))
    );

    let run = listen.stop();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let attempts = attempts(&emulator, 2).await;
    assert!(attempts.iter().all(|a| a["outcome"] == "delivered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_its_owner_emailed_then_its_webhook_disabled_and_plan_re_enables_it()
 {
    let receiver = Receiver::start("127.0.0.1:0", 500).await;
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(dir.path(), &seed(""), &[]);
    std::fs::write(
        dir.path().join("c.yaml"),
        config(&format!("{}/hook", receiver.url), "product.completed"),
    )
    .unwrap();
    let apply = cli(
        &emulator,
        dir.path(),
        &["apply", "-f", "c.yaml", "--auto-approve"],
    );
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);

    let mut seen = 0;
    for delivery in 1..=3 {
        let answer = fire(
            &emulator,
            json!({"organization": "acme", "event": "product.completed"}),
        )
        .await;
        assert_eq!(queued(&answer), ["receiver"]);
        for attempt in 1..=5 {
            seen += 1;
            attempts(&emulator, seen).await;
            if attempt < 5 {
                emulator.advance_clock_ms(PAST_ANY_BACKOFF_MS).await;
            }
        }
        let outbox = listing(&emulator, "/_emulator/outbox").await;
        let disabled = emulator.webhooks_named("receiver").await[0]["disable"].clone();
        match delivery {
            1 | 2 => {
                assert_eq!(outbox.len(), 1, "one email per streak: {outbox:#?}");
                assert_eq!(disabled, false);
            }
            _ => {
                assert_eq!(outbox.len(), 2, "{outbox:#?}");
                assert_eq!(disabled, true);
            }
        }
    }
    let webhook = emulator.webhooks_named("receiver").await[0].clone();
    assert_ne!(
        webhook["updated"], webhook["created"],
        "disabling updates it"
    );
    let outbox = listing(&emulator, "/_emulator/outbox").await;
    for (email, subject) in outbox.iter().zip(["is failing", "was disabled"]) {
        assert_eq!(email["to"], "ops@acme.example");
        assert_eq!(email["webhook"]["name"], "receiver");
        assert!(
            email["subject"].as_str().unwrap().ends_with(subject),
            "{email}"
        );
    }

    // Fifteen attempts, five per delivery, the waits doubling on the emulator's clock.
    let log = attempts(&emulator, 15).await;
    assert_eq!(log.len(), 15);
    let numbers: Vec<u64> = log.iter().map(|a| a["attempt"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5].repeat(3));
    let waits: Vec<i64> = log[..5]
        .iter()
        .filter(|a| a.get("nextAttempt").is_some())
        .map(|a| seconds_between(&a["finished"], &a["nextAttempt"]))
        .collect();
    assert_eq!(waits, [60, 120, 240, 480]);
    assert!(
        log.iter()
            .all(|a| a["outcome"] == "failed" && a["status"] == 500)
    );
    let secret = emulator.webhooks_named("receiver").await[0]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let requests = receiver.received();
    assert_eq!(requests.len(), 15);
    for (request, attempt) in requests.iter().zip(&log) {
        let timestamp = request.headers["x-timestamp"].to_str().unwrap();
        assert_eq!(timestamp, attempt["timestamp"]);
        assert_eq!(
            request.headers["x-vntana-signature"],
            sign(&secret, timestamp, request.body.as_bytes()).as_str()
        );
    }
    assert!(
        !serde_json::to_string(&log).unwrap().contains(&secret),
        "the log holds no secret"
    );

    let plan = cli(&emulator, dir.path(), &["plan", "-f", "c.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("~ receiver (re-enable)")
            && plan.stdout.contains("is disabled on the platform"),
        "{}",
        plan.stdout
    );

    // A reset forgets deliveries and emails.
    emulator.reset().await;
    assert!(listing(&emulator, "/_emulator/deliveries").await.is_empty());
    assert!(listing(&emulator, "/_emulator/outbox").await.is_empty());
}

fn seconds_between(from: &Value, to: &Value) -> i64 {
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(
            v.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    (parse(to) - parse(from)).whole_seconds()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_scoped_user_scoped_and_disabled_webhooks_receive_only_what_they_should() {
    let receiver = Receiver::start("127.0.0.1:0", 204).await;
    let url = &receiver.url;
    let dir = tempfile::tempdir().unwrap();
    let hook = |name: &str, extra: &str| {
        format!(
            "{{name: {name}, url: '{url}/{name}', userEmail: ops@acme.example, events: [product.added, client.added, user.added], {extra}}}"
        )
    };
    let webhooks = [
        hook("whole", "clients: []"),
        hook("shoes", "clients: [footwear]"),
        hook("off", "disable: true"),
        format!(
            "{{name: deletes, url: '{url}/deletes', userEmail: ops@acme.example, events: [product.deleted]}}"
        ),
        "{name: remote, url: 'https://remote.example/hook', userEmail: ops@acme.example, events: [product.added]}"
            .to_owned(),
    ]
    .join(", ");
    let seed = seed(&webhooks).replace(
        "  - slug: globex\n    webhooks: []",
        &format!(
            "  - slug: globex\n    webhooks: [{{name: elsewhere, url: '{url}/elsewhere', userEmail: ops@acme.example, events: [product.added]}}]"
        ),
    );
    let emulator = emulator(dir.path(), &seed, &[]);

    let fired = [
        (
            json!({"organization": "acme", "event": "product.added", "folder": "footwear"}),
            vec!["whole", "shoes", "remote"],
        ),
        (
            json!({"organization": "acme", "event": "product.added", "folder": "bags"}),
            vec!["whole", "remote"],
        ),
        (
            json!({"organization": "acme", "event": "product.added"}),
            vec!["whole", "remote"],
        ),
        (
            json!({"organization": "acme", "event": "client.added", "folder": "footwear"}),
            vec!["whole", "shoes"],
        ),
        (
            json!({"organization": "acme", "event": "user.added", "folder": "footwear"}),
            vec!["whole"],
        ),
        (
            json!({"organization": "acme", "event": "user.revoked"}),
            vec![],
        ),
    ];
    let mut answers = Vec::new();
    for (event, expected) in &fired {
        let answer = fire(&emulator, event.clone()).await;
        assert_eq!(queued(&answer), *expected, "{event}");
        answers.push(answer);
    }
    assert_eq!(
        skipped(&answers[0]),
        [("off", "disabled"), ("deletes", "notSubscribed")]
    );
    assert_eq!(skipped(&answers[1])[0], ("shoes", "otherFolder"));
    assert_eq!(skipped(&answers[2])[0], ("shoes", "noFolder"));
    assert_eq!(skipped(&answers[4])[0], ("shoes", "wholeOrganizationOnly"));

    let log = attempts(&emulator, 10).await;
    assert_eq!(log.len(), 10, "{log:#?}");
    assert_eq!(
        receiver.paths(),
        [
            "/shoes", "/shoes", "/whole", "/whole", "/whole", "/whole", "/whole"
        ]
    );
    // A url that is not loopback: recorded as refused, once, never retried.
    let remote: Vec<&Value> = log
        .iter()
        .filter(|a| a["webhook"]["name"] == "remote")
        .collect();
    assert_eq!(remote.len(), 3);
    assert!(
        remote.iter().all(|a| a["outcome"] == "refused"
            && a["attempt"] == 1
            && a.get("nextAttempt").is_none())
    );
    assert_eq!(emulator.state().await["delivery"]["queue"], json!([]));

    // What a receiver gets: a compact JSON body, the clock's time, the signature.
    let first = receiver
        .received()
        .into_iter()
        .find(|r| r.path == "/shoes" && r.body.starts_with(r#"{"event":"product.added""#))
        .unwrap();
    assert_eq!(first.headers["content-type"], "application/json");
    assert_eq!(first.headers["x-timestamp"], "2026-01-01T00:00:00.000Z");
    let secret = emulator.webhooks_named("shoes").await[0]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        first.headers["x-vntana-signature"],
        sign(&secret, "2026-01-01T00:00:00.000Z", first.body.as_bytes()).as_str()
    );
    assert!(
        first.body.starts_with(&format!(
            r#"{{"event":"product.added","organization":{{"uuid":"{}"}},"client":{{"uuid":""#,
            emulator.org_uuid("acme").await
        )) && !first.body.contains('\n')
            && !first.body.contains("\": "),
        "{}",
        first.body
    );
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body, answers[0]["payload"]);
    assert_eq!(body["product"]["status"], "DRAFT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_that_are_not_loopback_are_delivered_to_only_with_allow_remote_delivery() {
    // 0.0.0.0 reaches this machine but is not a loopback address.
    let receiver = Receiver::start("0.0.0.0:0", 204).await;
    let port = receiver.url.rsplit(':').next().unwrap().to_owned();
    let webhook = format!(
        "{{name: wide, url: 'http://0.0.0.0:{port}/wide', userEmail: ops@acme.example, events: [product.added]}}"
    );
    let event = json!({"organization": "acme", "event": "product.added"});
    for (extra, outcome) in [
        (&[][..], "refused"),
        (&["--allow-remote-delivery"][..], "delivered"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let emulator = emulator(dir.path(), &seed(&webhook), extra);
        assert_eq!(queued(&fire(&emulator, event.clone()).await), ["wide"]);
        let log = attempts(&emulator, 1).await;
        assert_eq!(log[0]["outcome"], outcome, "{extra:?}: {log:#?}");
    }
    assert_eq!(receiver.paths(), ["/wide"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_waiting_for_its_receiver_blocks_no_api_request() {
    let receiver = Receiver::gated("127.0.0.1:0", 204, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(
        dir.path(),
        &seed(&format!(
            "{{name: slow, url: '{}/slow', userEmail: ops@acme.example, events: [product.added]}}",
            receiver.url
        )),
        &["--state", dir.path().join("state.json").to_str().unwrap()],
    );
    fire(
        &emulator,
        json!({"organization": "acme", "event": "product.added"}),
    )
    .await;
    receiver.wait_for(1).await;
    // The attempt is in flight: sign-in, token mints (persisted changes) and reads still work.
    let events = cli(&emulator, dir.path(), &["events", "--org", "acme"]);
    assert_eq!(events.code, 0, "{}", events.stderr);
    assert!(events.stdout.contains("product.added"), "{}", events.stdout);
    assert!(listing(&emulator, "/_emulator/deliveries").await.is_empty());
    receiver.release();
    assert_eq!(attempts(&emulator, 1).await[0]["outcome"], "delivered");
}

#[tokio::test]
async fn events_naming_unknown_things_are_refused_with_a_suggestion() {
    let emulator = Emulator::start();
    for (body, status, message) in [
        (
            r#"{"organization": "acme-3d", "event": "product.add"}"#,
            400,
            "unknown event `product.add`; did you mean `product.added`?",
        ),
        (
            r#"{"organization": "acme3d", "event": "product.added"}"#,
            404,
            "no organization `acme3d`; did you mean `acme-3d`?",
        ),
        (
            r#"{"organization": "acme-3d", "event": "product.added", "folder": "footware"}"#,
            404,
            "organization `acme-3d` has no folder `footware`; did you mean `footwear`?",
        ),
    ] {
        let (got, answer) = emulator
            .control_answer(reqwest::Method::POST, "/_emulator/events", Some(body))
            .await;
        assert_eq!(
            (got, answer["message"].as_str().unwrap()),
            (status, message)
        );
        assert_eq!(answer["success"], false);
    }
    let (status, _) = emulator
        .control_answer(
            reqwest::Method::POST,
            "/_emulator/events",
            Some(r#"{"organization": "acme-3d", "event": "product.added", "extra": 1}"#),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_delivery_log_survives_a_restart_with_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let seed_path = dir.path().join("seed.yaml");
    std::fs::write(
        &seed_path,
        seed("{name: remote, url: 'https://remote.example/hook', userEmail: ops@acme.example, events: [product.added]}"),
    )
    .unwrap();
    let args = [
        "--seed",
        seed_path.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    let mut first = Emulator::start_with(&args);
    fire(
        &first,
        json!({"organization": "acme", "event": "product.added"}),
    )
    .await;
    let before = attempts(&first, 1).await;
    // The attempt is answered from memory first; wait until the file has it too.
    let deadline = tokio::time::Instant::now() + LIVENESS;
    let on_disk = || {
        let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        saved["delivery"]["attempts"].as_array().map_or(0, Vec::len)
    };
    while on_disk() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the attempt never reached the file"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    let second = Emulator::start_with(&args);
    assert_eq!(listing(&second, "/_emulator/deliveries").await, before);
}
