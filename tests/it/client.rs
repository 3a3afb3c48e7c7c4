//! The real client against the real emulator on 127.0.0.1: every operation and error path,
//! token minting and revocation, the retry policy (counted in the emulator's request log).

use std::time::Duration;

use serde_json::json;
use vntana_webhooks::api::ids::{FolderUuid, WebhookUuid};
use vntana_webhooks::api::redacted::{ApiKey, Password};
use vntana_webhooks::api::retry::RetryPolicy;
use vntana_webhooks::api::wire::{EventRequest, Organization, WebhookRequest, codes};
use vntana_webhooks::api::{
    ApiError, AuthError, Client, ClientError, ClientOptions, Credentials, Session, TokenUse,
};

use crate::support::emulator::{DEMO_KEY, Emulator, OWNER_EMAIL, OWNER_PASSWORD, VIEWER_KEY};
use crate::support::raw;

fn client(emulator: &Emulator) -> Client {
    let mut options = ClientOptions::new(&emulator.url);
    // Quick retries keep the suite fast; the policy's arithmetic has its own unit tests.
    options.retry = RetryPolicy {
        base: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    Client::new(&options).unwrap()
}

async fn session(emulator: &Emulator, key: &str) -> Session {
    Session::sign_in(client(emulator), &Credentials::ApiKey(ApiKey::new(key)))
        .await
        .unwrap()
}

fn org<'a>(session: &'a Session, slug: &str) -> &'a Organization {
    session.organization(slug).unwrap()
}

/// A valid request for a new webhook, with events resolved from the live catalogue.
async fn new_webhook(session: &Session, name: &str) -> WebhookRequest {
    let acme = org(session, "acme-3d");
    let catalogue = session
        .with_token(acme, TokenUse::ReadCatalogue, |t| async move {
            session.client().events(&t).await
        })
        .await
        .unwrap();
    let added = catalogue.grid[0]
        .events
        .iter()
        .find(|e| e.name == "product.added")
        .unwrap();
    WebhookRequest {
        name: name.to_owned(),
        url: "https://example.com/hook".to_owned(),
        description: "made by a test".to_owned(),
        user_email: OWNER_EMAIL.to_owned(),
        organization_uuid: Some(acme.uuid.clone()),
        clients: vec!["bags".to_owned()],
        events: vec![EventRequest {
            uuid: added.uuid.clone(),
            name: Some(added.name.clone()),
            description: Some(added.description.clone()),
            category: Some("Product".to_owned()),
        }],
        ..WebhookRequest::default()
    }
}

#[tokio::test]
async fn signing_in_by_key_or_password_lists_the_organizations_with_roles() {
    let emulator = Emulator::start();
    let by_key = session(&emulator, DEMO_KEY).await;
    assert_eq!(by_key.email(), OWNER_EMAIL);
    let roles: Vec<(&str, &str)> = by_key
        .organizations()
        .iter()
        .map(|o| (o.slug.as_str(), o.role.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("acme-3d", "ORGANIZATION_OWNER"),
            ("globex", "ORGANIZATION_ADMIN"),
            ("initech", "CLIENT_ORGANIZATION_VIEWER")
        ]
    );
    let credentials = Credentials::Password {
        email: OWNER_EMAIL.into(),
        password: Password::new(OWNER_PASSWORD),
    };
    let by_password = Session::sign_in(client(&emulator), &credentials)
        .await
        .unwrap();
    assert_eq!(by_password.organizations().len(), 3);
}

#[tokio::test]
async fn wrong_credentials_fail_with_bad_credentials_and_say_what_to_check() {
    let emulator = Emulator::start();
    let err = Session::sign_in(
        client(&emulator),
        &Credentials::ApiKey(ApiKey::new("wrong-key")),
    )
    .await
    .unwrap_err();
    let message = format!("{:#}", anyhow::Error::from(err));
    let expected = format!(
        "cannot sign in to {} with VNTANA_API_KEY: POST /v1/auth/login/token failed: 401 BAD_CREDENTIALS",
        emulator.url
    );
    assert!(message.starts_with(&expected), "{message}");
    assert!(message.contains("check VNTANA_API_KEY"), "{message}");
    assert!(
        !message.contains("wrong-key"),
        "the key never appears: {message}"
    );
}

#[tokio::test]
async fn every_webhook_operation_works_through_the_client() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let acme = org(&session, "acme-3d");
    let client = session.client();
    let token = session.token(acme, TokenUse::ManageWebhooks).await.unwrap();

    let folders = client.folders(&token).await.unwrap();
    assert_eq!(
        folders.iter().map(|f| f.slug.as_str()).collect::<Vec<_>>(),
        ["footwear", "bags", "apparel"]
    );

    let request = new_webhook(&session, "client-made").await;
    let created = client.create_webhook(&token, &request).await.unwrap();
    assert_eq!(
        (created.name.as_str(), created.clients.as_slice()),
        ("client-made", &["bags".to_owned()][..])
    );
    assert_eq!(created.event_names().collect::<Vec<_>>(), ["product.added"]);
    assert_eq!(created.secret.expose().len(), 64);

    let fetched = client.get_webhook(&token, &created.uuid).await.unwrap();
    assert_eq!(fetched, created);

    let mut change = request.clone();
    change.url = "https://example.com/other".to_owned();
    change.disable = true;
    let updated = client
        .update_webhook(&token, &created.uuid, &change)
        .await
        .unwrap();
    assert_eq!(
        (updated.url.as_str(), updated.disable),
        ("https://example.com/other", true)
    );
    assert_eq!(updated.secret, created.secret);

    let rotated = client
        .regenerate_secret(&token, &created.uuid)
        .await
        .unwrap();
    assert_ne!(rotated.secret, created.secret);

    let listed = client.list_webhooks(&token, &acme.uuid).await.unwrap();
    assert_eq!(listed.len(), 5, "the seed's four and ours");
    assert!(
        listed
            .iter()
            .any(|w| w.uuid == created.uuid && w.secret == rotated.secret)
    );

    let deleted = client.delete_webhook(&token, &created.uuid).await.unwrap();
    assert_eq!(deleted.uuid, created.uuid);
    let again = client
        .delete_webhook(&token, &created.uuid)
        .await
        .unwrap_err();
    assert!(
        again.is_not_found() && again.has_code(codes::WEBHOOK_NOT_FOUND),
        "{again}"
    );
    assert!(emulator.webhooks_named("client-made").await.is_empty());
}

#[tokio::test]
async fn one_token_is_minted_per_organization_however_many_tasks_ask() {
    let emulator = Emulator::start();
    let session = std::sync::Arc::new(session(&emulator, DEMO_KEY).await);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let session = session.clone();
        tasks.spawn(async move {
            let acme = org(&session, "acme-3d").clone();
            session
                .with_token(&acme, TokenUse::ManageWebhooks, |t| {
                    let client = session.client().clone();
                    let uuid = acme.uuid.clone();
                    async move { client.list_webhooks(&t, &uuid).await }
                })
                .await
        });
    }
    for listed in tasks.join_all().await {
        assert_eq!(listed.unwrap().len(), 4);
    }
    assert_eq!(emulator.count("POST", "/v1/auth/refresh-token").await, 1);
    assert_eq!(emulator.count("POST", "/v1/auth/login/token").await, 1);
}

#[tokio::test]
async fn a_revoked_token_is_reminted_once_and_a_second_revocation_is_an_error() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let acme = org(&session, "acme-3d");
    let list = || {
        session.with_token(acme, TokenUse::ManageWebhooks, |t| {
            let client = session.client().clone();
            let uuid = acme.uuid.clone();
            async move { client.list_webhooks(&t, &uuid).await }
        })
    };
    assert_eq!(list().await.unwrap().len(), 4);

    // Another run with the same credentials mints a token: ours is revoked.
    let _other = raw::org_token(&emulator.url, DEMO_KEY, acme.uuid.as_str()).await;
    assert_eq!(list().await.unwrap().len(), 4, "recovered by minting again");
    assert_eq!(
        emulator.count("POST", "/v1/auth/refresh-token").await,
        3,
        "ours, theirs, our re-mint"
    );

    let _again = raw::org_token(&emulator.url, DEMO_KEY, acme.uuid.as_str()).await;
    let err = list().await.unwrap_err();
    assert!(matches!(err, AuthError::RevokedAgain { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("another run with the same credentials seems to be active"),
        "{err}"
    );
}

#[tokio::test]
async fn another_organization_s_webhook_is_403_without_a_needless_remint() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let globex_hook = emulator.webhooks_named("qa-sandbox").await[0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let acme = org(&session, "acme-3d");
    let err = session
        .with_token(acme, TokenUse::ManageWebhooks, |t| {
            let client = session.client().clone();
            let uuid = WebhookUuid::new(globex_hook.clone());
            async move { client.get_webhook(&t, &uuid).await }
        })
        .await
        .unwrap_err();
    let AuthError::Api(api) = &err else {
        panic!("{err}")
    };
    assert!(api.is_forbidden(), "{api}");
    assert!(
        api.to_string().starts_with(&format!(
            "GET /v1/webhooks/{globex_hook} failed: 403 FORBIDDEN"
        )),
        "{api}"
    );
    assert_eq!(
        emulator.count("POST", "/v1/auth/refresh-token").await,
        1,
        "a real 403 is not a revocation"
    );
}

#[tokio::test]
async fn a_role_that_may_not_manage_webhooks_is_refused_before_minting() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let err = session
        .token(org(&session, "initech"), TokenUse::ManageWebhooks)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "owner@acme.example has the role CLIENT_ORGANIZATION_VIEWER in organization `initech`; managing webhooks needs ORGANIZATION_OWNER or ORGANIZATION_ADMIN"
    );
    assert_eq!(emulator.count("POST", "/v1/auth/refresh-token").await, 0);
    // The catalogue needs any organization token.
    let initech = org(&session, "initech");
    let session = &session;
    let catalogue = session
        .with_token(initech, TokenUse::ReadCatalogue, |t| async move {
            session.client().events(&t).await
        })
        .await
        .unwrap();
    assert_eq!(catalogue.grid.len(), 3);
    let unknown = session.organization("nope").unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "organization `nope` is not visible to owner@acme.example; the organizations it can see: acme-3d, globex, initech"
    );
}

#[tokio::test]
async fn a_viewer_gets_a_folder_token_through_the_folder_step() {
    let emulator = Emulator::start();
    let session = session(&emulator, VIEWER_KEY).await;
    let acme = org(&session, "acme-3d");
    let org_token = session.token(acme, TokenUse::ReadCatalogue).await.unwrap();
    let folders = session.client().folders(&org_token).await.unwrap();
    assert_eq!(
        folders.iter().map(|f| f.slug.as_str()).collect::<Vec<_>>(),
        ["footwear"]
    );
    let folder_token = session
        .client()
        .mint_folder_token(&org_token, &acme.uuid, &folders[0].uuid)
        .await
        .unwrap();
    assert_ne!(folder_token, org_token);
    // An owner has no folder tokens.
    let owner = self::session(&emulator, DEMO_KEY).await;
    let owner_acme = org(&owner, "acme-3d");
    let owner_token = owner
        .token(owner_acme, TokenUse::ManageWebhooks)
        .await
        .unwrap();
    let err = owner
        .client()
        .mint_folder_token(
            &owner_token,
            &owner_acme.uuid,
            &FolderUuid::new(folders[0].uuid.as_str()),
        )
        .await
        .unwrap_err();
    assert!(
        err.status() == Some(403) && err.has_code(codes::BAD_CREDENTIALS),
        "{err}"
    );
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let acme = org(&session, "acme-3d");
    let token = session.token(acme, TokenUse::ManageWebhooks).await.unwrap();
    emulator
        .faults(json!({"rules": [{"method": "GET", "path": "/v1/webhooks/organization/*", "kind": "status", "status": 429, "retryAfter": 1, "count": 1}]}))
        .await;
    let listed = session
        .client()
        .list_webhooks(&token, &acme.uuid)
        .await
        .unwrap();
    assert_eq!(listed.len(), 4);
    let path = format!("/v1/webhooks/organization/{}", acme.uuid);
    let statuses: Vec<_> = emulator
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == path.as_str())
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(429), json!(200)]);
}

#[tokio::test]
async fn reads_are_retried_on_5xx_dropped_connections_and_timeouts() {
    let emulator = Emulator::start();
    let mut options = ClientOptions::new(&emulator.url);
    options.timeout = Duration::from_millis(500);
    options.retry = RetryPolicy {
        base: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let session = Session::sign_in(
        Client::new(&options).unwrap(),
        &Credentials::ApiKey(ApiKey::new(DEMO_KEY)),
    )
    .await
    .unwrap();
    let acme = org(&session, "acme-3d");
    let token = session.token(acme, TokenUse::ManageWebhooks).await.unwrap();
    emulator
        .faults(json!({"rules": [
            {"method": "GET", "path": "/v1/webhooks/organization/*", "kind": "status", "status": 502, "count": 1},
            {"method": "GET", "path": "/v1/webhooks/organization/*", "kind": "drop", "count": 1},
            {"method": "GET", "path": "/v1/webhooks/organization/*", "kind": "hang", "count": 1}
        ]}))
        .await;
    assert_eq!(
        session
            .client()
            .list_webhooks(&token, &acme.uuid)
            .await
            .unwrap()
            .len(),
        4
    );
    let path = format!("/v1/webhooks/organization/{}", acme.uuid);
    let attempts: Vec<_> = emulator
        .requests()
        .await
        .into_iter()
        .filter(|r| r["path"] == path.as_str())
        .collect();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
}

#[tokio::test]
async fn retries_give_up_after_six_attempts_with_the_last_error() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let acme = org(&session, "acme-3d");
    let token = session.token(acme, TokenUse::ManageWebhooks).await.unwrap();
    emulator.faults(json!({"rules": [{"path": "/v1/webhooks/organization/*", "kind": "status", "status": 500}]})).await;
    let err = session
        .client()
        .list_webhooks(&token, &acme.uuid)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "GET /v1/webhooks/organization/{} failed: 500 INTERNAL_SERVER_ERROR (after 6 attempts): the platform failed; try again later",
            acme.uuid
        )
    );
}

#[tokio::test]
async fn a_create_that_failed_after_committing_is_reported_as_outcome_unknown() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let acme = org(&session, "acme-3d");
    let token = session.token(acme, TokenUse::ManageWebhooks).await.unwrap();
    let request = new_webhook(&session, "maybe-made").await;
    for rule in [
        json!({"kind": "commit-then-fail", "status": 500}),
        json!({"kind": "commit-then-fail"}),
    ] {
        let mut rule = rule;
        rule["method"] = json!("POST");
        rule["path"] = json!("/v1/webhooks");
        rule["count"] = json!(1);
        emulator.faults(json!({"rules": [rule]})).await;
        let err = session
            .client()
            .create_webhook(&token, &request)
            .await
            .unwrap_err();
        assert!(err.is_outcome_unknown(), "{err}");
        assert!(
            err.to_string()
                .starts_with("POST /v1/webhooks: outcome unknown"),
            "{err}"
        );
    }
    assert_eq!(
        emulator.webhooks_named("maybe-made").await.len(),
        2,
        "both were stored"
    );
    assert_eq!(
        emulator.count("POST", "/v1/webhooks").await,
        2,
        "neither was retried as is"
    );
}

#[tokio::test]
async fn a_rate_limited_create_is_retried_and_makes_one_webhook() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let acme = org(&session, "acme-3d");
    let token = session.token(acme, TokenUse::ManageWebhooks).await.unwrap();
    let request = new_webhook(&session, "limited").await;
    emulator
        .faults(json!({"rules": [{"method": "POST", "path": "/v1/webhooks", "kind": "status", "status": 429, "retryAfter": 0, "count": 2}]}))
        .await;
    session
        .client()
        .create_webhook(&token, &request)
        .await
        .unwrap();
    assert_eq!(emulator.webhooks_named("limited").await.len(), 1);
    assert_eq!(emulator.count("POST", "/v1/webhooks").await, 3);
}

#[tokio::test]
async fn a_create_the_platform_rejects_names_the_validation_codes() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let acme = org(&session, "acme-3d");
    let token = session.token(acme, TokenUse::ManageWebhooks).await.unwrap();
    let mut request = new_webhook(&session, "bad").await;
    request.url = "not a url".into();
    request.user_email = "nobody".into();
    let err: ApiError = session
        .client()
        .create_webhook(&token, &request)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "POST /v1/webhooks failed: 422 INVALID_URL, INVALID_EMAIL: the platform rejected the webhook's fields (MISSING_* and INVALID_* name them)"
    );
    assert_eq!(
        emulator.count("POST", "/v1/webhooks").await,
        1,
        "a 4xx is not retried"
    );
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let err = Client::new(&ClientOptions::new("http://api-platform.vntana.com")).unwrap_err();
    assert!(matches!(err, ClientError::InsecureUrl { .. }), "{err}");
}

#[tokio::test]
async fn an_unreachable_api_is_a_transport_error_naming_the_host() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = ClientOptions::new(format!("http://127.0.0.1:{port}"));
    options.retry = RetryPolicy {
        max_attempts: 2,
        base: Duration::from_millis(1),
        ..RetryPolicy::default()
    };
    let client = Client::new(&options).unwrap();
    let err = Session::sign_in(client, &Credentials::ApiKey(ApiKey::new(DEMO_KEY)))
        .await
        .unwrap_err();
    let message = format!("{:#}", anyhow::Error::from(err));
    assert!(
        message.starts_with(&format!("cannot sign in to http://127.0.0.1:{port} with VNTANA_API_KEY: POST /v1/auth/login/token failed: cannot reach 127.0.0.1:{port} (after 2 attempts)")),
        "{message}"
    );
}

#[tokio::test]
async fn no_token_or_secret_reaches_a_debug_or_error_output() {
    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let acme = org(&session, "acme-3d");
    let token = session.token(acme, TokenUse::ManageWebhooks).await.unwrap();
    let listed = session
        .client()
        .list_webhooks(&token, &acme.uuid)
        .await
        .unwrap();
    let err = session
        .client()
        .get_webhook(&token, &WebhookUuid::new("missing"))
        .await
        .unwrap_err();
    let printed = format!("{session:?} {token:?} {listed:?} {err} {err:?}");
    let state = emulator.state().await;
    let mut secrets: Vec<String> = state["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token"].as_str().unwrap().to_owned())
        .collect();
    secrets.extend(
        state["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["secret"].as_str().unwrap().to_owned()),
    );
    secrets.push(DEMO_KEY.to_owned());
    assert!(secrets.len() > 6);
    for secret in &secrets {
        assert!(
            !printed.contains(secret.as_str()),
            "a secret or token leaked into Debug/Display output"
        );
    }
}

/// A tracing writer into a shared buffer, to read what `-v` would print.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn every_request_is_traced_with_method_path_status_and_time_but_no_token() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    // The test runtime is single-threaded, so a thread-local subscriber sees every event.
    let _guard = tracing::subscriber::set_default(subscriber);

    let emulator = Emulator::start();
    let session = session(&emulator, DEMO_KEY).await;
    let acme = org(&session, "acme-3d");
    let token = session.token(acme, TokenUse::ManageWebhooks).await.unwrap();
    session
        .client()
        .list_webhooks(&token, &acme.uuid)
        .await
        .unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "POST /v1/auth/login/token -> 200 (".to_owned(),
        "GET /v1/organizations -> 200 (".to_owned(),
        "POST /v1/auth/refresh-token -> 200 (".to_owned(),
        format!("GET /v1/webhooks/organization/{} -> 200 (", acme.uuid),
    ] {
        assert!(log.contains(&expected), "missing `{expected}` in:\n{log}");
    }
    let state = emulator.state().await;
    for record in state["tokens"].as_array().unwrap() {
        assert!(
            !log.contains(record["token"].as_str().unwrap()),
            "a token reached the log"
        );
    }
    assert!(!log.contains(DEMO_KEY));
}
