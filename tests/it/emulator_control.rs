//! The emulator's control API under `/_emulator/` (reset, state, the request log, faults, the
//! clock) and what lives outside a single run: the state file, deterministic mode and seeds
//! (product.md, "The emulator"). Raw HTTP against the real binary; no test asserts timing.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::cli::run_bounded;
use crate::support::emulator::{DEMO_KEY, Emulator, OWNER_EMAIL, OWNER_PASSWORD};
use crate::support::json::assert_matches;
use crate::support::raw::{call, client_with_timeout, login_token, org_token};

const PRODUCT_ADDED: &str = "1a426e7d-5e41-480c-b00f-9f46ca12e5ca";
const DETERMINISTIC: &[&str] = &["--deterministic", "--id-seed", "3"];
/// The deterministic clock's start, 2026-01-01T00:00:00Z, in milliseconds.
const TEST_EPOCH_MS: u64 = 1_767_225_600_000;

/// A valid create request named `name` for the organization `org`.
fn webhook_body(org: &str, name: &str) -> Value {
    json!({
        "name": name, "url": "https://example.com/hook", "description": "", "disable": false,
        "userEmail": "a@b.co", "organizationUuid": org, "clients": [],
        "events": [{"uuid": PRODUCT_ADDED, "name": "product.added", "description": "", "category": "Product"}]
    })
}

/// The owner's organization token for acme-3d, and acme-3d's uuid.
async fn acme_token(emulator: &Emulator) -> (String, String) {
    let acme = emulator.org_uuid("acme-3d").await;
    (org_token(&emulator.url, DEMO_KEY, &acme).await, acme)
}

/// The request log's entries for `method path`.
async fn logged(emulator: &Emulator, method: &str, path: &str) -> Vec<Value> {
    emulator
        .requests()
        .await
        .into_iter()
        .filter(|r| r["method"] == method && r["path"] == path)
        .collect()
}

#[tokio::test]
async fn reset_restores_the_seed_and_clears_faults_and_the_request_log() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let seeded = emulator.state().await;
    let (token, acme) = acme_token(&emulator).await;
    call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "made-before-reset"))
        .send()
        .await
        .response();
    let pim = emulator.webhook_uuid("pim-sync").await;
    call(base, "DELETE", &format!("/v1/webhooks/{pim}"))
        .token(&token)
        .send()
        .await
        .response();
    emulator
        .faults(json!({"rules": [{"path": "/v1/organizations", "kind": "status", "status": 500}]}))
        .await;
    assert_ne!(emulator.state().await, seeded);
    assert!(!emulator.requests().await.is_empty());

    let (status, answer) = emulator
        .control_answer(Method::POST, "/_emulator/reset", None)
        .await;
    assert_eq!((status, answer), (200, json!({"reset": true})));
    assert_eq!(emulator.state().await, seeded);
    assert_eq!(emulator.requests().await, Vec::<Value>::new());
    assert_eq!(
        emulator.installed_faults().await,
        json!({"seed": 0, "rules": []})
    );
    // The fault is gone, and so is every token issued before the reset.
    call(base, "GET", "/v1/organizations")
        .token(&token)
        .send()
        .await
        .assert_error(401, &["UNAUTHORIZED"]);
}

#[tokio::test]
async fn the_state_shows_the_seed_and_every_issued_token() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let state = emulator.state().await;
    let mut keys: Vec<&str> = state
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "formatVersion",
            "organizations",
            "tokens",
            "users",
            "webhooks"
        ]
    );
    assert_eq!(state["formatVersion"], 1);
    assert_eq!(state["tokens"], json!([]));
    let names: Vec<&str> = state["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "pim-sync",
            "slack-alerts",
            "cdn-purge",
            "legacy-ftp-export",
            "erp-bridge",
            "qa-sandbox"
        ]
    );
    let login = login_token(base, DEMO_KEY).await;
    let acme = emulator.org_uuid("acme-3d").await;
    let token = call(base, "POST", "/v1/auth/refresh-token")
        .token(&login)
        .header("organizationUuid", &acme)
        .send()
        .await
        .token();
    let tokens = emulator.state().await["tokens"].clone();
    assert_matches(
        &tokens,
        &json!([
            {"token": login, "user": "<uuid>", "scope": {"kind": "login"}, "expiresMicros": "<any>", "revoked": false},
            {"token": token, "user": "<uuid>", "scope": {"kind": "organization", "organization": acme}, "expiresMicros": "<any>", "revoked": false}
        ]),
    );
}

#[tokio::test]
async fn the_request_log_has_exactly_the_documented_keys_and_never_a_token_or_a_body() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let password_login = call(base, "POST", "/v1/auth/login")
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .token();
    let (token, acme) = acme_token(&emulator).await;
    let created = call(base, "POST", "/v1/webhooks/")
        .token(&token)
        .json(
            &json!({"name": "marker-name", "url": "https://marker-host.example/hook",
            "userEmail": "marker@mail.example", "events": [{"uuid": PRODUCT_ADDED}]}),
        )
        .send()
        .await;
    let secret = created.response()["secret"].as_str().unwrap().to_owned();
    call(base, "GET", "/v1/organizations?marker-query=1")
        .token(&password_login)
        .send()
        .await
        .response();
    call(base, "GET", "/v1/nothing").send().await;

    let log = emulator.requests().await;
    let entry = |method: &str, path: &str, status: u16| {
        json!({"seq": "<any>", "method": method, "path": path, "status": status,
            "startedMs": "<any>", "durationMs": "<any>", "faults": []})
    };
    assert_matches(
        &Value::Array(log.clone()),
        &json!([
            entry("POST", "/v1/auth/login", 200),
            entry("POST", "/v1/auth/login/token", 200),
            entry("POST", "/v1/auth/refresh-token", 200),
            entry("POST", "/v1/webhooks/", 200),
            entry("GET", "/v1/organizations", 200),
            entry("GET", "/v1/nothing", 404),
        ]),
    );
    let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    for entry in &log {
        assert!(entry["startedMs"].is_u64() && entry["durationMs"].is_u64());
    }
    let text = serde_json::to_string(&log).unwrap();
    for secret in [
        password_login.as_str(),
        &token,
        &secret,
        OWNER_PASSWORD,
        OWNER_EMAIL,
        DEMO_KEY,
        &acme,
        "marker",
    ] {
        assert!(!text.contains(secret), "the log shows `{secret}`: {text}");
    }
}

#[tokio::test]
async fn deleting_the_request_log_clears_it_and_control_requests_are_never_logged() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    call(base, "GET", "/v1/organizations").send().await;
    call(base, "GET", "/v1/webhooks/events").send().await;
    assert_eq!(emulator.requests().await.len(), 2);
    let (status, cleared) = emulator
        .control_answer(Method::DELETE, "/_emulator/requests", None)
        .await;
    assert_eq!((status, cleared), (200, json!([])));
    assert_eq!(emulator.requests().await, Vec::<Value>::new());

    emulator.state().await;
    emulator.installed_faults().await;
    emulator.clock().await;
    emulator.advance_clock_ms(0).await;
    emulator
        .control_answer(Method::GET, "/_emulator/nothing", None)
        .await;
    emulator
        .control_answer(Method::POST, "/_emulator/faults", Some("{not json"))
        .await;
    assert_eq!(emulator.requests().await, Vec::<Value>::new());

    call(base, "GET", "/v1/organizations").send().await;
    assert_eq!(emulator.count("GET", "/v1/organizations").await, 1);
    assert_eq!(emulator.requests().await.len(), 1);
}

#[tokio::test]
async fn a_429_fault_sets_retry_after_and_the_rate_limit_code_and_changes_nothing() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let (token, acme) = acme_token(&emulator).await;
    emulator
        .faults(
            json!({"rules": [{"method": "POST", "path": "/v1/webhooks", "kind": "status",
            "status": 429, "retryAfter": 7}]}),
        )
        .await;
    let before = emulator.state().await;
    // The rule's path matches both trailing-slash forms.
    for path in ["/v1/webhooks", "/v1/webhooks/"] {
        let answer = call(base, "POST", path)
            .token(&token)
            .json(&webhook_body(&acme, "rate-limited"))
            .send()
            .await;
        answer.assert_error(429, &["API_RATE_LIMIT_EXCEEDED"]);
        assert_eq!(answer.headers["retry-after"], "7");
        let entry = logged(&emulator, "POST", path).await;
        assert_eq!(entry[0]["status"], 429);
        assert_eq!(entry[0]["faults"], json!(["status"]));
    }
    assert_eq!(emulator.state().await, before, "the request never ran");
    // Only POSTs match.
    let list = call(base, "GET", &format!("/v1/webhooks/organization/{acme}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(list.status, 200);
}

#[tokio::test]
async fn a_counted_fault_fires_that_many_times_and_rules_apply_in_order() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let login = login_token(base, DEMO_KEY).await;
    emulator
        .faults(json!({"rules": [
            {"path": "/v1/organizations", "kind": "status", "status": 500, "count": 2},
            {"path": "/v1/organizations", "kind": "status", "status": 502, "count": 1},
            {"path": "/v1/organizations", "kind": "status", "status": 503, "count": 1}
        ]}))
        .await;
    let expected = [
        (500, Some("INTERNAL_SERVER_ERROR")),
        (500, Some("INTERNAL_SERVER_ERROR")),
        (502, Some("BAD_GATEWAY")),
        (503, Some("INTERNAL_SERVER_ERROR")),
        (200, None),
        (200, None),
    ];
    for (i, (status, code)) in expected.into_iter().enumerate() {
        let answer = call(base, "GET", "/v1/organizations")
            .token(&login)
            .send()
            .await;
        match code {
            Some(code) => answer.assert_error(status, &[code]),
            None => assert_eq!(answer.status, status, "request {i}: {:?}", answer.body),
        }
        assert!(
            answer.headers.get("retry-after").is_none(),
            "no retryAfter, no Retry-After"
        );
    }
}

/// The statuses of 40 unauthenticated catalogue requests under a seeded probability fault.
async fn probability_pattern(emulator: &Emulator, seed: u64) -> Vec<u16> {
    emulator
        .faults(
            json!({"seed": seed, "rules": [{"path": "/v1/webhooks/events", "kind": "status",
            "status": 503, "probability": 0.5}]}),
        )
        .await;
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(
            call(&emulator.url, "GET", "/v1/webhooks/events")
                .send()
                .await
                .status,
        );
    }
    statuses
}

#[tokio::test]
async fn a_probability_fault_with_a_seed_fires_the_same_way_in_two_emulators() {
    let (one, two) = (Emulator::start(), Emulator::start());
    let first = probability_pattern(&one, 11).await;
    assert_eq!(first, probability_pattern(&two, 11).await);
    assert!(
        first.contains(&503) && first.contains(&401),
        "it fires sometimes: {first:?}"
    );
    // Installing the rules again starts the generator over; another seed fires differently.
    assert_eq!(first, probability_pattern(&one, 11).await);
    assert_ne!(first, probability_pattern(&two, 12).await);
}

#[tokio::test]
async fn a_latency_fault_still_answers_correctly() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let (token, acme) = acme_token(&emulator).await;
    emulator
        .faults(json!({"rules": [
            {"method": "POST", "path": "/v1/webhooks", "kind": "latency", "latencyMs": 40},
            {"kind": "latency", "latencyMs": 10}
        ]}))
        .await;
    let created = call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "slow"))
        .send()
        .await;
    assert_eq!(created.response()["name"], "slow");
    assert_eq!(emulator.webhooks_named("slow").await.len(), 1);
    let list = format!("/v1/webhooks/organization/{acme}");
    let listed = call(base, "GET", &list).token(&token).send().await;
    assert!(
        listed.response()["grid"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "slow")
    );
    assert_eq!(
        logged(&emulator, "POST", "/v1/webhooks").await[0]["faults"],
        json!(["latency", "latency"])
    );
    assert_eq!(
        logged(&emulator, "GET", &list).await[0]["faults"],
        json!(["latency"])
    );
}

#[tokio::test]
async fn a_drop_fault_closes_the_connection_without_an_answer_and_stores_nothing() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let (token, acme) = acme_token(&emulator).await;
    emulator
        .faults(json!({"rules": [{"method": "POST", "path": "/v1/webhooks", "kind": "drop", "count": 1}]}))
        .await;
    let before = emulator.state().await;
    let outcome = call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "dropped"))
        .try_send(&reqwest::Client::new())
        .await;
    assert!(outcome.is_err(), "answered: {outcome:?}");
    assert_eq!(emulator.state().await, before);
    let entry = &logged(&emulator, "POST", "/v1/webhooks").await[0];
    assert_eq!(
        (&entry["status"], &entry["faults"]),
        (&Value::Null, &json!(["drop"]))
    );
    // The rule is spent: the same request goes through now.
    call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "dropped"))
        .send()
        .await
        .response();
    assert_eq!(emulator.webhooks_named("dropped").await.len(), 1);
}

#[tokio::test]
async fn commit_then_fail_with_a_status_answers_it_but_stores_the_change() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let (token, acme) = acme_token(&emulator).await;
    let pim = emulator.webhook_uuid("pim-sync").await;
    let pim_secret = emulator.webhooks_named("pim-sync").await[0]["secret"].clone();
    emulator
        .faults(json!({"rules": [
            {"method": "POST", "path": "/v1/webhooks", "kind": "commit-then-fail", "status": 500},
            {"method": "PATCH", "path": "/v1/webhooks/*/secret", "kind": "commit-then-fail", "status": 502}
        ]}))
        .await;
    call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "committed"))
        .send()
        .await
        .assert_error(500, &["INTERNAL_SERVER_ERROR"]);
    let stored = emulator.webhooks_named("committed").await;
    assert_eq!(stored.len(), 1, "the webhook is stored despite the 500");
    call(base, "PATCH", &format!("/v1/webhooks/{pim}/secret"))
        .token(&token)
        .send()
        .await
        .assert_error(502, &["BAD_GATEWAY"]);
    assert_ne!(
        emulator.webhooks_named("pim-sync").await[0]["secret"],
        pim_secret,
        "the secret is rotated despite the 502"
    );
    assert_eq!(
        logged(&emulator, "POST", "/v1/webhooks").await[0]["status"],
        500
    );
    // A request refused on its own keeps its own answer, and nothing is stored.
    let before = emulator.state().await;
    call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&json!({}))
        .send()
        .await
        .assert_error(
            422,
            &[
                "MISSING_NAME",
                "MISSING_URL",
                "MISSING_EVENTS",
                "MISSING_USER_EMAIL",
            ],
        );
    assert_eq!(emulator.state().await, before);
}

#[tokio::test]
async fn commit_then_fail_without_a_status_drops_the_connection_but_stores_the_change() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let (token, acme) = acme_token(&emulator).await;
    emulator
        .faults(json!({"rules": [{"method": "POST", "path": "/v1/webhooks", "kind": "commit-then-fail"}]}))
        .await;
    let outcome = call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "committed-unanswered"))
        .try_send(&reqwest::Client::new())
        .await;
    assert!(outcome.is_err(), "answered: {outcome:?}");
    assert_eq!(
        emulator.webhooks_named("committed-unanswered").await.len(),
        1
    );
    let entry = &logged(&emulator, "POST", "/v1/webhooks").await[0];
    assert_eq!(
        (&entry["status"], &entry["faults"]),
        (&Value::Null, &json!(["commit-then-fail"]))
    );
}

#[tokio::test]
async fn a_hang_fault_never_answers_and_does_not_block_other_requests() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let (token, acme) = acme_token(&emulator).await;
    emulator
        .faults(json!({"rules": [{"method": "POST", "path": "/v1/webhooks", "kind": "hang"}]}))
        .await;
    let impatient = client_with_timeout(Duration::from_millis(300));
    let outcome = call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "hung"))
        .try_send(&impatient)
        .await;
    let err = outcome.expect_err("a hung request is never answered");
    assert!(err.is_timeout(), "{err}");
    let list = call(base, "GET", &format!("/v1/webhooks/organization/{acme}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(list.status, 200);
    assert!(emulator.webhooks_named("hung").await.is_empty());
}

#[tokio::test]
async fn fault_rules_match_the_method_in_any_case_and_a_path_with_wildcards() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let (token, acme) = acme_token(&emulator).await;
    let pim = emulator.webhook_uuid("pim-sync").await;
    emulator
        .faults(json!({"rules": [{"method": "get", "path": "/v1/webhooks/*", "kind": "status", "status": 500}]}))
        .await;
    for (method, path, status) in [
        ("GET", format!("/v1/webhooks/{pim}"), 500),
        ("GET", format!("/v1/webhooks/{pim}/"), 500),
        ("PUT", format!("/v1/webhooks/{pim}"), 422),
        ("PATCH", format!("/v1/webhooks/{pim}/secret"), 200),
        ("GET", format!("/v1/webhooks/organization/{acme}"), 200),
    ] {
        let answer = call(base, method, &path)
            .token(&token)
            .json(&json!({}))
            .send()
            .await;
        assert_eq!(answer.status, status, "{method} {path}: {:?}", answer.body);
    }
}

#[tokio::test]
async fn invalid_fault_rules_are_refused_with_400_and_a_message() {
    let emulator = Emulator::start();
    let installed = json!({"seed": 5, "rules": [{"kind": "latency", "latencyMs": 1}]});
    emulator.faults(installed.clone()).await;
    let cases = [
        (
            r#"{"rules":[{"kind":"status"}]}"#,
            "rule 0: kind `status` needs `status`",
        ),
        (
            r#"{"rules":[{"kind":"status","status":200}]}"#,
            "rule 0: `status` 200 is not an error status",
        ),
        (
            r#"{"rules":[{"kind":"drop"},{"kind":"commit-then-fail","status":404}]}"#,
            "rule 1: commit-then-fail answers 5xx",
        ),
        (
            r#"{"rules":[{"kind":"latency"}]}"#,
            "rule 0: kind `latency` needs `latencyMs`",
        ),
        (
            r#"{"rules":[{"kind":"drop","probability":1.5}]}"#,
            "rule 0: `probability` 1.5 is not between 0 and 1",
        ),
        (r#"{"rules":[{"kind":"explode"}]}"#, "explode"),
        (r#"{"rules":[{"kind":"drop","pathh":"/x"}]}"#, "pathh"),
        (r#"{"rules":[{"path":"/x"}]}"#, "kind"),
        (r#"{"rules":"all"}"#, "invalid type"),
        (r#"{"seed":-1}"#, "invalid value"),
        (
            r#"{"rules":[{"kind":"status","status":429,"retryAfter":"soon"}]}"#,
            "invalid type",
        ),
        ("{not json", "line 1"),
        ("", "EOF"),
    ];
    for (body, message) in cases {
        let (status, answer) = emulator
            .control_answer(Method::POST, "/_emulator/faults", Some(body))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_matches(
            &answer,
            &json!({"success": false, "errors": ["BAD_REQUEST"], "response": null, "message": "<any>"}),
        );
        let text = answer["message"].as_str().unwrap();
        assert!(text.contains(message), "{body}: `{text}` lacks `{message}`");
        assert_eq!(
            emulator.installed_faults().await,
            installed,
            "{body} replaced the rules"
        );
    }
}

#[tokio::test]
async fn deleting_the_faults_removes_them() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let config = json!({"seed": 9, "rules": [{"kind": "drop"}]});
    emulator.faults(config.clone()).await;
    assert_eq!(emulator.installed_faults().await, config);
    let dropped = call(base, "GET", "/v1/organizations")
        .try_send(&reqwest::Client::new())
        .await;
    assert!(dropped.is_err(), "answered: {dropped:?}");
    // Control requests are never faulted, so the rule that drops everything can be removed.
    let (status, answer) = emulator
        .control_answer(Method::DELETE, "/_emulator/faults", None)
        .await;
    assert_eq!((status, answer), (200, json!({"seed": 0, "rules": []})));
    call(base, "GET", "/v1/organizations")
        .send()
        .await
        .assert_error(401, &["UNAUTHORIZED"]);
}

/// Asserts that the state file holds exactly what `GET /_emulator/state` shows, is private,
/// and is alone in its directory (no temporary file left behind).
async fn assert_state_file(emulator: &Emulator, path: &Path, step: &str) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{step}: {e}"));
    let file: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{step}: the state file is not JSON: {e}"));
    assert_eq!(file, emulator.state().await, "{step}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{step}: mode {mode:o}");
    }
    let entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(entries, 1, "{step}: files beside the state file");
}

#[tokio::test]
async fn the_state_file_is_private_and_valid_json_after_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let emulator = Emulator::with_state(&path);
    let base = &emulator.url;
    assert_state_file(&emulator, &path, "at start").await;
    let login = login_token(base, DEMO_KEY).await;
    assert_state_file(&emulator, &path, "login").await;
    let acme = emulator.org_uuid("acme-3d").await;
    let token = call(base, "POST", "/v1/auth/refresh-token")
        .token(&login)
        .header("organizationUuid", &acme)
        .send()
        .await
        .token();
    assert_state_file(&emulator, &path, "refresh-token").await;
    let created = call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "persisted"))
        .send()
        .await;
    let hook = format!(
        "/v1/webhooks/{}",
        created.response()["uuid"].as_str().unwrap()
    );
    assert_state_file(&emulator, &path, "create").await;
    call(base, "PUT", &hook)
        .token(&token)
        .json(&webhook_body(&acme, "persisted-renamed"))
        .send()
        .await
        .response();
    assert_state_file(&emulator, &path, "update").await;
    call(base, "PATCH", &format!("{hook}/secret"))
        .token(&token)
        .send()
        .await
        .response();
    assert_state_file(&emulator, &path, "rotate").await;
    call(base, "DELETE", &hook)
        .token(&token)
        .send()
        .await
        .response();
    assert_state_file(&emulator, &path, "delete").await;
    call(base, "POST", "/v1/auth/logout")
        .token(&login)
        .send()
        .await
        .response();
    assert_state_file(&emulator, &path, "logout").await;
    emulator.reset().await;
    assert_state_file(&emulator, &path, "reset").await;
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file["tokens"], json!([]), "the reset reached the file");
}

#[tokio::test]
async fn webhooks_secrets_and_tokens_survive_a_kill_through_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut emulator = Emulator::with_state(&path);
    let login = login_token(&emulator.url, DEMO_KEY).await;
    let (token, acme) = acme_token(&emulator).await;
    let created = call(&emulator.url, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "survivor"))
        .send()
        .await;
    let created = created.response().clone();
    let before = emulator.state().await;
    emulator.kill();

    let again = Emulator::with_state(&path);
    let base = &again.url;
    assert_eq!(again.state().await, before);
    let got = call(
        base,
        "GET",
        &format!("/v1/webhooks/{}", created["uuid"].as_str().unwrap()),
    )
    .token(&token)
    .send()
    .await;
    assert_eq!(got.response(), &created, "the same webhook and secret");
    assert_eq!(
        call(base, "GET", "/v1/organizations")
            .token(&login)
            .send()
            .await
            .status,
        200,
        "the login token survives too"
    );
    // Revocation state survives as well: a new token for acme-3d revokes the old one.
    org_token(base, DEMO_KEY, &acme).await;
    call(base, "GET", "/v1/organizations")
        .token(&token)
        .send()
        .await
        .assert_error(403, &["FORBIDDEN"]);
}

/// Signs in, mints an organization token and creates a webhook: every answer, with its token.
async fn first_steps(emulator: &Emulator) -> Vec<(Value, Option<String>)> {
    let base = &emulator.url;
    let acme = emulator.org_uuid("acme-3d").await;
    let login = call(base, "POST", "/v1/auth/login/token")
        .json(&json!({"personal-access-token": DEMO_KEY}))
        .send()
        .await;
    let refresh = call(base, "POST", "/v1/auth/refresh-token")
        .token(&login.token())
        .header("organizationUuid", &acme)
        .send()
        .await;
    let created = call(base, "POST", "/v1/webhooks")
        .token(&refresh.token())
        .json(&webhook_body(&acme, "deterministic"))
        .send()
        .await;
    [login, refresh, created]
        .into_iter()
        .map(|a| {
            let token = a
                .headers
                .get("x-auth-token")
                .map(|v| v.to_str().unwrap().to_owned());
            (a.body, token)
        })
        .collect()
}

#[tokio::test]
async fn two_deterministic_emulators_with_the_same_id_seed_are_identical() {
    let one = Emulator::start_with(DETERMINISTIC);
    let two = Emulator::start_with(DETERMINISTIC);
    let other = Emulator::start_with(&["--deterministic", "--id-seed", "4"]);
    assert_eq!(one.state().await, two.state().await);
    assert_ne!(
        one.state().await["organizations"],
        other.state().await["organizations"],
        "the id seed matters"
    );
    let steps = first_steps(&one).await;
    assert_eq!(steps, first_steps(&two).await);
    assert!(steps.iter().take(2).all(|(_, token)| token.is_some()));
    assert_eq!(one.state().await, two.state().await);
}

#[tokio::test]
async fn the_deterministic_clock_stands_still_until_advanced() {
    let emulator = Emulator::start_with(DETERMINISTIC);
    let base = &emulator.url;
    let start = "2026-01-01T00:00:00.000000";
    assert_eq!(
        emulator.clock().await,
        json!({"nowMs": TEST_EPOCH_MS, "now": start})
    );
    let state = emulator.state().await;
    assert!(
        state["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["created"] == start && w["updated"] == start)
    );
    let (token, acme) = acme_token(&emulator).await;
    let created = call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&webhook_body(&acme, "on-time"))
        .send()
        .await;
    assert_eq!(
        (
            &created.response()["created"],
            &created.response()["updated"]
        ),
        (&json!(start), &json!(start))
    );
    assert_eq!(
        emulator.clock().await["now"],
        start,
        "requests do not move it"
    );
    // Tokens live 30 days from the clock's time.
    let tokens = emulator.state().await["tokens"].clone();
    let thirty_days_us = 30 * 24 * 3600 * 1_000_000_u64;
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["expiresMicros"] == TEST_EPOCH_MS * 1000 + thirty_days_us),
        "{tokens}"
    );

    let (status, moved) = emulator
        .control_answer(
            Method::POST,
            "/_emulator/clock",
            Some(r#"{"advanceMs": 1500}"#),
        )
        .await;
    assert_eq!(
        (status, moved),
        (
            200,
            json!({"nowMs": TEST_EPOCH_MS + 1500, "now": "2026-01-01T00:00:01.500000"})
        )
    );
    let rotated = call(
        base,
        "PATCH",
        &format!(
            "/v1/webhooks/{}/secret",
            created.response()["uuid"].as_str().unwrap()
        ),
    )
    .token(&token)
    .send()
    .await;
    assert_eq!(
        (
            &rotated.response()["created"],
            &rotated.response()["updated"]
        ),
        (&json!(start), &json!("2026-01-01T00:00:01.500000"))
    );
    // The clock only moves forward.
    for body in [r#"{"advanceMs": -1}"#, "{}", "{not json"] {
        let (status, _) = emulator
            .control_answer(Method::POST, "/_emulator/clock", Some(body))
            .await;
        assert_eq!(status, 400, "{body}");
    }
    assert_eq!(emulator.clock().await["nowMs"], TEST_EPOCH_MS + 1500);
}

const TINY_SEED: &str = r#"
users:
  - email: solo@tiny.example
    apiKey: tiny-key
    roles:
      - organization: tiny
        role: ORGANIZATION_ADMIN
organizations:
  - slug: tiny
    name: Tiny Co
    uuid: 00000000-0000-4000-8000-0000000000aa
    folders:
      - slug: only
        name: Only Folder
        uuid: 00000000-0000-4000-8000-0000000000bb
    webhooks:
      - name: seeded-hook
        uuid: 00000000-0000-4000-8000-0000000000cc
        url: https://tiny.example/hook
        description: from the seed
        events: [user.added, product.added]
        clients: [only]
        userEmail: solo@tiny.example
        secret: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        created: "2025-05-05T05:05:05.000005"
"#;

#[tokio::test]
async fn a_custom_seed_is_used_instead_of_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("tiny.yaml");
    std::fs::write(&seed, TINY_SEED).unwrap();
    let emulator = Emulator::start_with(&["--seed", seed.to_str().unwrap()]);
    let base = &emulator.url;
    assert!(
        emulator
            .startup
            .contains(&"export VNTANA_API_KEY=tiny-key".to_owned()),
        "{:?}",
        emulator.startup
    );
    let state = emulator.state().await;
    assert_eq!(
        (
            state["users"].as_array().unwrap().len(),
            state["organizations"].as_array().unwrap().len(),
            state["webhooks"].as_array().unwrap().len()
        ),
        (1, 1, 1)
    );
    let org = "00000000-0000-4000-8000-0000000000aa";
    let token = org_token(base, "tiny-key", org).await;
    let list = call(base, "GET", &format!("/v1/webhooks/organization/{org}"))
        .token(&token)
        .send()
        .await;
    assert_matches(
        list.response(),
        &json!({"totalCount": 1, "grid": [{
            "uuid": "00000000-0000-4000-8000-0000000000cc", "name": "seeded-hook",
            "description": "from the seed", "url": "https://tiny.example/hook", "disable": false,
            "secret": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "userEmail": "solo@tiny.example", "organizationUuid": org, "clients": ["only"],
            "created": "2025-05-05T05:05:05.000005", "updated": "2025-05-05T05:05:05.000005",
            "events": {"totalCount": 2, "grid": [
                {"uuid": "<uuid>", "category": "Product", "totalCount": 1,
                    "events": [{"uuid": PRODUCT_ADDED, "name": "product.added", "description": "<any>"}]},
                {"uuid": "<uuid>", "category": "User", "totalCount": 1,
                    "events": [{"uuid": "<uuid>", "name": "user.added", "description": "<any>"}]}
            ]}
        }]}),
    );
    let folders = call(base, "GET", "/v1/clients/client-organizations")
        .token(&token)
        .send()
        .await;
    assert_matches(
        folders.response(),
        &json!({"totalCount": 1, "grid": [{"uuid": "00000000-0000-4000-8000-0000000000bb",
            "slug": "only", "name": "Only Folder", "imageBlobId": "<any>",
            "role": "ORGANIZATION_ADMIN", "created": "<timestamp>"}]}),
    );
    call(base, "POST", "/v1/auth/login/token")
        .json(&json!({"personal-access-token": DEMO_KEY}))
        .send()
        .await
        .assert_error(401, &["BAD_CREDENTIALS"]);
}

#[tokio::test]
async fn a_seed_whose_first_user_has_only_a_password_prints_email_and_password() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("password.yaml");
    std::fs::write(
        &seed,
        "users:\n  - email: pw@tiny.example\n    password: pw-secret\n    roles: [{organization: tiny, role: ORGANIZATION_OWNER}]\norganizations:\n  - slug: tiny\n",
    )
    .unwrap();
    let emulator = Emulator::start_with(&["--seed", seed.to_str().unwrap()]);
    for line in [
        "export VNTANA_EMAIL=pw@tiny.example",
        "export VNTANA_PASSWORD=pw-secret",
    ] {
        assert!(
            emulator.startup.contains(&line.to_owned()),
            "{:?}",
            emulator.startup
        );
    }
    let login = call(&emulator.url, "POST", "/v1/auth/login")
        .json(&json!({"email": "pw@tiny.example", "password": "pw-secret"}))
        .send()
        .await;
    assert_eq!(login.response(), &json!({"email": "pw@tiny.example"}));
}

#[test]
fn a_bad_seed_makes_the_binary_exit_1_with_a_message_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let org = "organizations:\n  - slug: tiny\n    folders: [{slug: only}]\n";
    let hook = |extra: &str| {
        format!(
            "{org}    webhooks:\n      - {{name: h, url: 'https://x.example', userEmail: a@b.co, {extra}}}\n"
        )
    };
    let user = |role: &str| {
        format!("users:\n  - email: solo@tiny.example\n    apiKey: k\n    roles: [{role}]\n{org}")
    };
    let same_uuid = "{slug: tiny, uuid: 00000000-0000-4000-8000-000000000001}";
    let cases = [
        (
            hook("events: [product.nope]"),
            "webhook `h` of `tiny` names unknown event `product.nope`",
        ),
        (
            hook("events: [product.added], clients: [attic]"),
            "webhook `h` of `tiny` names unknown folder `attic`",
        ),
        (hook("clients: [only]"), "missing field `events`"),
        (
            user("{organization: ghost, role: ORGANIZATION_OWNER}"),
            "user `solo@tiny.example` has a role in unknown organization `ghost`",
        ),
        (
            user("{organization: tiny, role: CLIENT_ORGANIZATION_VIEWER, folders: [attic]}"),
            "user `solo@tiny.example` names unknown folder `attic` of `tiny`",
        ),
        (
            format!("{org}  - slug: tiny\n"),
            "organization `tiny` appears twice",
        ),
        (
            "organizations:\n  - slug: tiny\n    folders: [{slug: only}, {slug: only}]\n"
                .to_owned(),
            "folder `only` appears twice in organization `tiny`",
        ),
        (
            format!(
                "organizations:\n  - {same_uuid}\n  - {}\n",
                same_uuid.replace("tiny", "other")
            ),
            "organization uuid `00000000-0000-4000-8000-000000000001` appears twice",
        ),
        (
            "users:\n  - email: a@b.co\n  - email: A@b.co\n".to_owned(),
            "user `A@b.co` appears twice",
        ),
        (
            "organisations: []\n".to_owned(),
            "unknown field `organisations`",
        ),
        ("users: [\n".to_owned(), "is not valid YAML for a seed"),
        ("users: 5\n".to_owned(), "is not valid YAML for a seed"),
    ];
    for (i, (yaml, problem)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("seed-{i}.yaml"));
        std::fs::write(&path, yaml).unwrap();
        let path = path.to_str().unwrap();
        let run = run_bounded(
            &["emulator", "--listen", "127.0.0.1:0", "--seed", path],
            Duration::from_mins(1),
        );
        assert_eq!(run.code, 1, "{yaml}\n{run:?}");
        assert!(
            run.stderr.starts_with("error: ")
                && run.stderr.contains(path)
                && run.stderr.contains(problem),
            "{yaml}\nexpected `{problem}` in:\n{}",
            run.stderr
        );
        assert!(!run.stdout.contains("export"), "{}", run.stdout);
    }
    let missing = dir.path().join("missing.yaml");
    let run = run_bounded(
        &[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            missing.to_str().unwrap(),
        ],
        Duration::from_mins(1),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains(&format!("cannot read the seed file {}", missing.display())),
        "{}",
        run.stderr
    );
}
