//! The emulator's answers to bad input, over raw HTTP (not through our client): every refusal
//! of vntana-api.md with its exact status and envelope `{"success": false, "errors": [...],
//! "response": null}`, and the promise that a refused request changes nothing (the whole of
//! `GET /_emulator/state`, issued tokens included, is compared before and after each one).
//! Which caller may use which route (no token, foreign, revoked, a viewer, a login token) is
//! the table of `security::routes`; the refusals here are the finer points around it.

use serde_json::{Value, json};

use crate::support::emulator::{DEMO_KEY, Emulator, OWNER_EMAIL, OWNER_PASSWORD, VIEWER_KEY};
use crate::support::raw::{Call, call, login_token, org_token, wire};

/// The two event uuids vntana-api.md fixes.
const PRODUCT_ADDED: &str = "1a426e7d-5e41-480c-b00f-9f46ca12e5ca";
const PRODUCT_COMPLETED: &str = "d2c84a34-5abc-4d3e-bcaf-45b5a740463d";
/// A well-formed uuid that nothing in the default seed has.
const NOBODY: &str = "0b7e3c1a-9d4f-4e2b-8a6c-5f1d2e3c4b5a";
/// A well-formed emulator token that was never issued.
const NEVER_ISSUED: &str = "emu.00000000000000000000000000000000000000000000dead";
const DAY_MS: u64 = 24 * 3600 * 1000;

/// The default seed, with the owner's organization token for acme-3d.
struct World {
    emulator: Emulator,
    acme: String,
    globex: String,
    initech: String,
    /// The owner's (ORGANIZATION_OWNER) token for acme-3d.
    token: String,
    /// `pim-sync`, an acme-3d webhook.
    acme_hook: String,
    /// `erp-bridge`, a globex webhook.
    globex_hook: String,
}

impl World {
    async fn new() -> World {
        let emulator = Emulator::start();
        let acme = emulator.org_uuid("acme-3d").await;
        let globex = emulator.org_uuid("globex").await;
        let initech = emulator.org_uuid("initech").await;
        let token = org_token(&emulator.url, DEMO_KEY, &acme).await;
        let acme_hook = emulator.webhook_uuid("pim-sync").await;
        let globex_hook = emulator.webhook_uuid("erp-bridge").await;
        World {
            emulator,
            acme,
            globex,
            initech,
            token,
            acme_hook,
            globex_hook,
        }
    }

    fn base(&self) -> &str {
        &self.emulator.url
    }

    /// Sends `call`; asserts the exact error envelope and that the state did not change.
    async fn refused(&self, call: Call, status: u16, codes: &[&str]) {
        let label = call.label();
        let before = self.emulator.state().await;
        let answer = call.send().await;
        assert_eq!(
            (answer.status, &answer.body),
            (
                status,
                &json!({"success": false, "errors": codes, "response": null})
            ),
            "{label}"
        );
        assert_eq!(
            self.emulator.state().await,
            before,
            "{label} was refused but changed the state"
        );
    }

    /// The uuid of a folder of the state.
    async fn folder_uuid(&self, org_slug: &str, folder_slug: &str) -> String {
        let state = self.emulator.state().await;
        let org = state["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["slug"] == org_slug)
            .unwrap();
        let folder = org["folders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["slug"] == folder_slug)
            .unwrap();
        folder["uuid"].as_str().unwrap().to_owned()
    }
}

/// A valid create request for `org`.
fn request_body(org: &str) -> Value {
    json!({
        "name": "bad-input", "url": "https://example.com/hook", "description": "",
        "disable": false, "userEmail": "a@b.co", "organizationUuid": org, "clients": [],
        "events": [{"uuid": PRODUCT_ADDED, "name": "product.added", "description": "", "category": "Product"}]
    })
}

/// `body` with `key` set to `value` (or removed, for `None`).
fn with(body: &Value, key: &str, value: Option<Value>) -> Value {
    let mut body = body.clone();
    let object = body.as_object_mut().unwrap();
    match value {
        Some(value) => object.insert(key.to_owned(), value),
        None => object.remove(key),
    };
    body
}

/// One endpoint that needs a token, with a request it would accept.
struct Endpoint {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Endpoint {
    fn new(method: &'static str, path: String, body: Option<Value>) -> Endpoint {
        Endpoint {
            method,
            path,
            headers: Vec::new(),
            body,
        }
    }

    fn call(&self, base: &str) -> Call {
        let mut call = call(base, self.method, &self.path);
        for (name, value) in &self.headers {
            call = call.header(name, value);
        }
        match &self.body {
            Some(body) => call.json(body),
            None => call,
        }
    }
}

/// The webhook endpoints for the organization `org` and its webhook `hook`: the ones that
/// need an owner's or admin's organization token.
fn webhook_endpoints(org: &str, hook: &str) -> Vec<Endpoint> {
    let update = with(&request_body(org), "uuid", Some(json!(hook)));
    vec![
        Endpoint::new("POST", "/v1/webhooks".into(), Some(request_body(org))),
        Endpoint::new("GET", format!("/v1/webhooks/{hook}"), None),
        Endpoint::new("PUT", format!("/v1/webhooks/{hook}"), Some(update)),
        Endpoint::new("DELETE", format!("/v1/webhooks/{hook}"), None),
        Endpoint::new("PATCH", format!("/v1/webhooks/{hook}/secret"), None),
        Endpoint::new("GET", format!("/v1/webhooks/organization/{org}"), None),
    ]
}

/// Every endpoint that needs a token, on acme-3d.
fn authenticated_endpoints(world: &World) -> Vec<Endpoint> {
    let mut endpoints = webhook_endpoints(&world.acme, &world.acme_hook);
    endpoints.push(Endpoint::new("GET", "/v1/webhooks/events".into(), None));
    endpoints.push(Endpoint::new(
        "GET",
        "/v1/clients/client-organizations".into(),
        None,
    ));
    endpoints.push(Endpoint::new("GET", "/v1/organizations".into(), None));
    endpoints.push(Endpoint::new("POST", "/v1/auth/logout".into(), None));
    let mut refresh = Endpoint::new("POST", "/v1/auth/refresh-token".into(), None);
    refresh
        .headers
        .push(("organizationUuid", world.acme.clone()));
    endpoints.push(refresh);
    endpoints
}

#[tokio::test]
async fn malformed_json_and_fields_of_the_wrong_type_are_400_bad_request() {
    let world = World::new().await;
    let base = world.base();
    let valid = request_body(&world.acme);
    let mut wrong_types: Vec<Vec<u8>> = [
        ("name", json!(5)),
        ("url", json!(["https://example.com"])),
        ("description", json!(7)),
        ("disable", json!("no")),
        ("userEmail", json!(true)),
        ("organizationUuid", json!(3)),
        ("clients", json!("footwear")),
        ("clients", json!([1])),
        ("events", json!("x")),
        ("events", json!([5])),
        ("events", json!({"uuid": PRODUCT_ADDED})),
        ("events", json!([{"uuid": 5}])),
        ("events", json!([{"uuid": PRODUCT_ADDED, "name": false}])),
        // A model given as an array (serde would read its fields by position).
        ("events", json!([[PRODUCT_ADDED, "product.added"]])),
    ]
    .into_iter()
    .map(|(key, value)| serde_json::to_vec(&with(&valid, key, Some(value))).unwrap())
    .collect();
    wrong_types.extend(
        [
            &b"{not json"[..],
            b"",
            b"null",
            b"42",
            b"\"a webhook\"",
            b"[]",
            b"{} {}",
            b"{\"name\": \"x\",}",
        ]
        .map(<[u8]>::to_vec),
    );
    // The same model positionally, as an array: not an object, so the wrong type.
    wrong_types.push(
        serde_json::to_vec(
            &json!([null, "bad-input", "https://example.com/hook", "", false,
            "a@b.co", null, [], [{"uuid": PRODUCT_ADDED}]]),
        )
        .unwrap(),
    );
    let put = format!("/v1/webhooks/{}", world.acme_hook);
    for body in &wrong_types {
        for (method, path) in [("POST", "/v1/webhooks"), ("PUT", put.as_str())] {
            let request = call(base, method, path)
                .token(&world.token)
                .header("content-type", "application/json")
                .raw_body(body);
            world.refused(request, 400, &["BAD_REQUEST"]).await;
        }
    }
    // On update, `uuid` is a string too.
    let update = with(&valid, "uuid", Some(json!(9)));
    world
        .refused(
            call(base, "PUT", &put).token(&world.token).json(&update),
            400,
            &["BAD_REQUEST"],
        )
        .await;
    // Sign-in bodies.
    let sign_in: [(&str, &[u8]); 11] = [
        ("/v1/auth/login", &b"{not json"[..]),
        ("/v1/auth/login", b""),
        ("/v1/auth/login", b"[]"),
        ("/v1/auth/login", b"null"),
        ("/v1/auth/login", br#"{"email": 5, "password": "x"}"#),
        (
            "/v1/auth/login",
            br#"["owner@acme.example", "emulator-demo-password"]"#,
        ),
        ("/v1/auth/login/token", b"{not json"),
        ("/v1/auth/login/token", b""),
        ("/v1/auth/login/token", b"[\"vntana-emulator-demo-key\"]"),
        ("/v1/auth/login/token", br#"{"personal-access-token": 42}"#),
        (
            "/v1/auth/login/token",
            br#"{"personal-access-token": ["k"]}"#,
        ),
    ];
    for (path, body) in sign_in {
        let request = call(base, "POST", path)
            .header("content-type", "application/json")
            .raw_body(body);
        world.refused(request, 400, &["BAD_REQUEST"]).await;
    }
}

#[tokio::test]
async fn each_missing_or_invalid_field_has_its_422_code_alone_or_together() {
    let world = World::new().await;
    let valid = request_body(&world.acme);
    let bags = world.folder_uuid("acme-3d", "bags").await;
    let event = |uuid: &str, name: &str| json!({"uuid": uuid, "name": name});
    // One field changed (`None`: left out) from a valid request.
    let single: Vec<(&str, Option<Value>, &str)> = vec![
        ("name", None, "MISSING_NAME"),
        ("name", Some(json!("")), "MISSING_NAME"),
        ("name", Some(json!("   ")), "MISSING_NAME"),
        ("name", Some(Value::Null), "MISSING_NAME"),
        ("url", None, "MISSING_URL"),
        ("url", Some(json!("")), "MISSING_URL"),
        ("url", Some(json!("ftp://example.com/hook")), "INVALID_URL"),
        ("url", Some(json!("example.com/hook")), "INVALID_URL"),
        ("url", Some(json!("https://")), "INVALID_URL"),
        ("url", Some(json!("/relative")), "INVALID_URL"),
        ("events", None, "MISSING_EVENTS"),
        ("events", Some(json!([])), "MISSING_EVENTS"),
        ("events", Some(json!([{"uuid": NOBODY}])), "UNKNOWN_EVENT"),
        // A name that does not match its uuid, alone or beside a good event.
        (
            "events",
            Some(json!([event(PRODUCT_ADDED, "product.deleted")])),
            "UNKNOWN_EVENT",
        ),
        (
            "events",
            Some(json!([
                event(PRODUCT_ADDED, "product.added"),
                event(PRODUCT_COMPLETED, "product.added")
            ])),
            "UNKNOWN_EVENT",
        ),
        (
            "events",
            Some(json!([{"name": "product.added"}])),
            "UNKNOWN_EVENT",
        ),
        ("clients", Some(json!(["shoes"])), "UNKNOWN_CLIENT"),
        // Another organization's folder, and a folder named by uuid instead of slug.
        (
            "clients",
            Some(json!(["footwear", "emea"])),
            "UNKNOWN_CLIENT",
        ),
        ("clients", Some(json!([bags])), "UNKNOWN_CLIENT"),
        ("userEmail", None, "MISSING_USER_EMAIL"),
        ("userEmail", Some(json!("")), "MISSING_USER_EMAIL"),
        ("userEmail", Some(json!("nobody")), "INVALID_EMAIL"),
        ("userEmail", Some(json!("a@localhost")), "INVALID_EMAIL"),
        ("userEmail", Some(json!("a b@c.co")), "INVALID_EMAIL"),
        ("userEmail", Some(json!("a@b@c.co")), "INVALID_EMAIL"),
        ("userEmail", Some(json!("@c.co")), "INVALID_EMAIL"),
    ];
    let mut cases: Vec<(Value, Vec<&str>)> = single
        .into_iter()
        .map(|(key, value, code)| (with(&valid, key, value), vec![code]))
        .collect();
    // Several at once: every code, in the order vntana-api.md lists them.
    cases.push((
        json!({}),
        vec![
            "MISSING_NAME",
            "MISSING_URL",
            "MISSING_EVENTS",
            "MISSING_USER_EMAIL",
        ],
    ));
    cases.push((
        json!({"name": "x", "url": "mailto:a@b.co", "userEmail": "nobody", "clients": ["shoes"],
            "events": [{"uuid": NOBODY}]}),
        vec![
            "INVALID_URL",
            "UNKNOWN_EVENT",
            "UNKNOWN_CLIENT",
            "INVALID_EMAIL",
        ],
    ));
    cases.push((
        with(&with(&valid, "name", None), "userEmail", Some(json!("x@y"))),
        vec!["MISSING_NAME", "INVALID_EMAIL"],
    ));
    let put = format!("/v1/webhooks/{}", world.acme_hook);
    for (body, codes) in &cases {
        for (method, path) in [("POST", "/v1/webhooks/"), ("PUT", put.as_str())] {
            // An update is validated like a create (PUT replaces the whole object).
            let request = call(world.base(), method, path)
                .token(&world.token)
                .json(body);
            world.refused(request, 422, codes).await;
        }
    }
}

#[tokio::test]
async fn unknown_routes_are_404_not_found_with_or_without_a_token() {
    let world = World::new().await;
    let hook = &world.acme_hook;
    let paths = [
        "/".to_owned(),
        "/v1".into(),
        "/v1/".into(),
        "/v2/webhooks".into(),
        "/v1/webhook".into(),
        "/v1/auth".into(),
        "/v1/auth/login/token/extra".into(),
        "/v1/organizations/acme-3d".into(),
        "/v1/webhooks/events/extra".into(),
        format!("/v1/webhooks/{hook}/secrets"),
        format!("/v1/webhooks/{hook}/secret/again"),
        format!("/v1/webhooks/organization/{}/extra", world.acme),
        "/_emulator".into(),
        "/_emulator/nothing".into(),
        "/V1/ORGANIZATIONS".into(),
    ];
    for path in &paths {
        for method in ["GET", "POST"] {
            world
                .refused(call(world.base(), method, path), 404, &["NOT_FOUND"])
                .await;
            world
                .refused(
                    call(world.base(), method, path).token(&world.token),
                    404,
                    &["NOT_FOUND"],
                )
                .await;
        }
    }
}

#[tokio::test]
async fn wrong_methods_are_405_method_not_allowed_with_or_without_a_token() {
    let world = World::new().await;
    let hook = &world.acme_hook;
    let cases = [
        ("GET", "/v1/auth/login".to_owned()),
        ("PUT", "/v1/auth/login".into()),
        ("GET", "/v1/auth/login/token".into()),
        ("GET", "/v1/auth/refresh-token".into()),
        ("DELETE", "/v1/auth/logout".into()),
        ("POST", "/v1/organizations".into()),
        ("DELETE", "/v1/clients/client-organizations".into()),
        ("POST", "/v1/webhooks/events".into()),
        ("DELETE", "/v1/webhooks/events".into()),
        ("GET", "/v1/webhooks".into()),
        ("PUT", "/v1/webhooks".into()),
        ("DELETE", "/v1/webhooks".into()),
        ("POST", format!("/v1/webhooks/{hook}")),
        ("PATCH", format!("/v1/webhooks/{hook}")),
        ("GET", format!("/v1/webhooks/{hook}/secret")),
        ("PUT", format!("/v1/webhooks/{hook}/secret")),
        ("POST", format!("/v1/webhooks/organization/{}", world.acme)),
        (
            "DELETE",
            format!("/v1/webhooks/organization/{}", world.acme),
        ),
    ];
    for (method, path) in &cases {
        for path in [path.clone(), format!("{path}/")] {
            world
                .refused(
                    call(world.base(), method, &path),
                    405,
                    &["METHOD_NOT_ALLOWED"],
                )
                .await;
            world
                .refused(
                    call(world.base(), method, &path)
                        .token(&world.token)
                        .json(&request_body(&world.acme)),
                    405,
                    &["METHOD_NOT_ALLOWED"],
                )
                .await;
        }
    }
}

#[tokio::test]
async fn requests_without_a_bearer_token_or_with_one_never_issued_are_401_unauthorized() {
    let world = World::new().await;
    let token = &world.token;
    let values = [
        None,
        // The token without `Bearer `, as the platform hands it out.
        Some(token.clone()),
        Some(format!("Basic {token}")),
        Some(format!("Bearer{token}")),
        Some(format!("Bearer {token} {token}")),
        Some("Bearer".to_owned()),
        Some(String::new()),
        Some(format!("Bearer {NEVER_ISSUED}")),
    ];
    for value in &values {
        for endpoint in authenticated_endpoints(&world) {
            let mut request = endpoint.call(world.base());
            if let Some(value) = value {
                request = request.header("X-AUTH-TOKEN", value);
            }
            world.refused(request, 401, &["UNAUTHORIZED"]).await;
        }
    }
    // The same token with the prefix is fine.
    let answer = call(
        world.base(),
        "GET",
        &format!("/v1/webhooks/organization/{}", world.acme),
    )
    .token(token)
    .send()
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

#[tokio::test]
async fn a_revoked_token_is_403_forbidden_after_re_minting_the_same_organization() {
    let world = World::new().await;
    let base = world.base();
    let list = format!("/v1/webhooks/organization/{}", world.acme);
    // Another user's token for the same organization, and the owner's for another one.
    let viewer = org_token(base, VIEWER_KEY, &world.acme).await;
    let globex = org_token(base, DEMO_KEY, &world.globex).await;
    assert_eq!(
        call(base, "GET", &list)
            .token(&world.token)
            .send()
            .await
            .status,
        200,
        "minting for another organization revokes nothing"
    );
    let fresh = org_token(base, DEMO_KEY, &world.acme).await;
    for endpoint in authenticated_endpoints(&world) {
        world
            .refused(endpoint.call(base).token(&world.token), 403, &["FORBIDDEN"])
            .await;
    }
    assert_eq!(
        call(base, "GET", &list).token(&fresh).send().await.status,
        200
    );
    let globex_list = format!("/v1/webhooks/organization/{}", world.globex);
    assert_eq!(
        call(base, "GET", &globex_list)
            .token(&globex)
            .send()
            .await
            .status,
        200,
        "the owner's token for globex is unaffected"
    );
    assert_eq!(
        call(base, "GET", "/v1/webhooks/events")
            .token(&viewer)
            .send()
            .await
            .status,
        200,
        "other users' tokens are unaffected"
    );
}

#[tokio::test]
async fn an_expired_token_is_403_forbidden_even_after_later_tokens_are_minted() {
    let world = World::new().await;
    let base = world.base();
    let login = login_token(base, DEMO_KEY).await;
    let list = format!("/v1/webhooks/organization/{}", world.acme);
    world.emulator.advance_clock_ms(29 * DAY_MS).await;
    assert_eq!(
        call(base, "GET", &list)
            .token(&world.token)
            .send()
            .await
            .status,
        200,
        "29 days old: still valid"
    );
    world.emulator.advance_clock_ms(2 * DAY_MS).await;
    for endpoint in authenticated_endpoints(&world) {
        world
            .refused(endpoint.call(base).token(&world.token), 403, &["FORBIDDEN"])
            .await;
    }
    world
        .refused(
            call(base, "GET", "/v1/organizations").token(&login),
            403,
            &["FORBIDDEN"],
        )
        .await;
    // An expired token was issued: minting new ones must not turn it into "never issued".
    let fresh = org_token(base, DEMO_KEY, &world.acme).await;
    world
        .refused(
            call(base, "GET", &list).token(&world.token),
            403,
            &["FORBIDDEN"],
        )
        .await;
    world
        .refused(
            call(base, "GET", "/v1/organizations").token(&login),
            403,
            &["FORBIDDEN"],
        )
        .await;
    assert_eq!(
        call(base, "GET", &list).token(&fresh).send().await.status,
        200
    );
}

#[tokio::test]
async fn listing_another_organization_is_403_and_an_unknown_one_404_organization_not_found() {
    let world = World::new().await;
    let list = |org: &str| {
        call(
            world.base(),
            "GET",
            &format!("/v1/webhooks/organization/{org}"),
        )
        .token(&world.token)
    };
    world
        .refused(list(&world.globex), 403, &["FORBIDDEN"])
        .await;
    world
        .refused(list(&world.initech), 403, &["FORBIDDEN"])
        .await;
    for unknown in [NOBODY, "not-a-uuid", "%FF"] {
        world
            .refused(list(unknown), 404, &["ORGANIZATION_NOT_FOUND"])
            .await;
    }
}

#[tokio::test]
async fn an_unknown_webhook_uuid_is_404_webhook_not_found() {
    let world = World::new().await;
    // `%FF` decodes to bytes that are not UTF-8: still the envelope, not a plain-text 400.
    for unknown in [NOBODY, "not-a-uuid", "%FF", "%C3%28"] {
        for endpoint in webhook_endpoints(&world.acme, unknown)
            .into_iter()
            .filter(|e| e.path.contains(unknown))
        {
            world
                .refused(
                    endpoint.call(world.base()).token(&world.token),
                    404,
                    &["WEBHOOK_NOT_FOUND"],
                )
                .await;
        }
    }
}

#[tokio::test]
async fn an_update_whose_body_uuid_differs_from_the_path_is_409_conflict() {
    let world = World::new().await;
    let base = world.base();
    let path = format!("/v1/webhooks/{}", world.acme_hook);
    let other = world.emulator.webhook_uuid("slack-alerts").await;
    let body = request_body(&world.acme);
    for uuid in [other.as_str(), NOBODY, &world.globex_hook] {
        world
            .refused(
                call(base, "PUT", &path).token(&world.token).json(&with(
                    &body,
                    "uuid",
                    Some(json!(uuid)),
                )),
                409,
                &["CONFLICT"],
            )
            .await;
    }
    // The same body with the path's uuid, or none, is accepted.
    for uuid in [Some(json!(world.acme_hook)), None] {
        let answer = call(base, "PUT", &path)
            .token(&world.token)
            .json(&with(&body, "uuid", uuid))
            .send()
            .await;
        assert_eq!(answer.response()["uuid"], world.acme_hook.as_str());
    }
}

#[tokio::test]
async fn a_body_organization_uuid_other_than_the_token_s_is_403_forbidden() {
    let world = World::new().await;
    let base = world.base();
    let put = format!("/v1/webhooks/{}", world.acme_hook);
    for org in [world.globex.as_str(), NOBODY] {
        let body = request_body(org);
        world
            .refused(
                call(base, "POST", "/v1/webhooks")
                    .token(&world.token)
                    .json(&body),
                403,
                &["FORBIDDEN"],
            )
            .await;
        world
            .refused(
                call(base, "PUT", &put).token(&world.token).json(&with(
                    &body,
                    "uuid",
                    Some(json!(world.acme_hook)),
                )),
                403,
                &["FORBIDDEN"],
            )
            .await;
    }
}

#[tokio::test]
async fn roles_that_may_not_manage_webhooks_are_403_forbidden_but_read_the_catalogue() {
    let world = World::new().await;
    let base = world.base();
    let catalogue = call(base, "GET", "/v1/webhooks/events")
        .token(&world.token)
        .send()
        .await;
    // The default seed's viewer of acme-3d, and the owner on initech, where they are a
    // CLIENT_ORGANIZATION_VIEWER: the refresh token works, webhooks do not. Even a webhook
    // that does not exist is 403, not 404: the role is checked first.
    let refresh = |key: &'static str, org: &str| {
        let org = org.to_owned();
        async move {
            let login = login_token(base, key).await;
            let answer = call(base, "POST", "/v1/auth/refresh-token")
                .token(&login)
                .header("organizationUuid", &org)
                .send()
                .await;
            assert_eq!(answer.status, 200, "{key} on {org}: {:?}", answer.body);
            answer.token()
        }
    };
    let viewer = refresh(VIEWER_KEY, &world.acme).await;
    let initech = refresh(DEMO_KEY, &world.initech).await;
    for (token, org, hook) in [
        (&viewer, &world.acme, world.acme_hook.as_str()),
        (&viewer, &world.acme, NOBODY),
        (&initech, &world.initech, NOBODY),
    ] {
        for endpoint in webhook_endpoints(org, hook) {
            world
                .refused(endpoint.call(base).token(token), 403, &["FORBIDDEN"])
                .await;
        }
        let theirs = call(base, "GET", "/v1/webhooks/events/")
            .token(token)
            .send()
            .await;
        assert_eq!(theirs.response(), catalogue.response());
    }
}

#[tokio::test]
async fn a_wrong_password_or_key_is_401_bad_credentials() {
    let world = World::new().await;
    let cases = [
        (
            "/v1/auth/login",
            json!({"email": OWNER_EMAIL, "password": "wrong"}),
        ),
        (
            "/v1/auth/login",
            json!({"email": OWNER_EMAIL, "password": "emulator-viewer-password"}),
        ),
        (
            "/v1/auth/login",
            json!({"email": "nobody@acme.example", "password": OWNER_PASSWORD}),
        ),
        (
            "/v1/auth/login",
            json!({"email": OWNER_EMAIL, "password": ""}),
        ),
        ("/v1/auth/login", json!({"email": OWNER_EMAIL})),
        ("/v1/auth/login", json!({})),
        (
            "/v1/auth/login/token",
            json!({"personal-access-token": "wrong-key"}),
        ),
        ("/v1/auth/login/token", json!({"personal-access-token": ""})),
        (
            "/v1/auth/login/token",
            json!({"personalAccessToken": DEMO_KEY}),
        ),
        ("/v1/auth/login/token", json!({})),
        // A password is not a key, nor the other way round.
        (
            "/v1/auth/login/token",
            json!({"personal-access-token": OWNER_PASSWORD}),
        ),
        (
            "/v1/auth/login",
            json!({"email": OWNER_EMAIL, "password": DEMO_KEY}),
        ),
    ];
    for (path, body) in &cases {
        for path in [(*path).to_owned(), format!("{path}/")] {
            world
                .refused(
                    call(world.base(), "POST", &path).json(body),
                    401,
                    &["BAD_CREDENTIALS"],
                )
                .await;
        }
    }
}

#[tokio::test]
async fn refresh_token_needs_an_organization_the_user_belongs_to() {
    let world = World::new().await;
    let base = world.base();
    let owner = login_token(base, DEMO_KEY).await;
    let viewer = login_token(base, VIEWER_KEY).await;
    let refresh = |token: &str| call(base, "POST", "/v1/auth/refresh-token").token(token);
    // vntana-api.md does not say; the code comes from the OpenAPI file's enum.
    world
        .refused(refresh(&owner), 403, &["MISSING_ORGANIZATION_UUID"])
        .await;
    world
        .refused(
            refresh(&owner).header("organizationUuid", ""),
            403,
            &["MISSING_ORGANIZATION_UUID"],
        )
        .await;
    world
        .refused(
            refresh(&owner).header("organizationUuid", NOBODY),
            404,
            &["ORGANIZATION_NOT_FOUND"],
        )
        .await;
    for org in [&world.globex, &world.initech] {
        world
            .refused(
                refresh(&viewer).header("organizationUuid", org),
                403,
                &["FORBIDDEN"],
            )
            .await;
    }
}

#[tokio::test]
async fn the_folder_token_step_is_for_non_admin_roles_and_their_own_folders() {
    let world = World::new().await;
    let base = world.base();
    let footwear = world.folder_uuid("acme-3d", "footwear").await;
    let bags = world.folder_uuid("acme-3d", "bags").await;
    let emea = world.folder_uuid("globex", "emea").await;
    let viewer_login = login_token(base, VIEWER_KEY).await;
    let viewer = org_token(base, VIEWER_KEY, &world.acme).await;
    let folder_token = |token: &str, folder: &str| {
        call(base, "POST", "/v1/auth/refresh-token")
            .token(token)
            .header("organizationUuid", &world.acme)
            .header("clientUuid", folder)
    };

    let minted = folder_token(&viewer, &footwear).send().await;
    assert_eq!(
        minted.body,
        json!({"success": true, "errors": [], "response": {"email": "viewer@acme.example"}})
    );
    let folder = minted.token();
    assert_ne!(folder, viewer);
    let folders = call(base, "GET", "/v1/clients/client-organizations")
        .token(&folder)
        .send()
        .await;
    assert_eq!(folders.response()["grid"][0]["slug"], "footwear");
    assert_eq!(folders.response()["totalCount"], 1);
    assert_eq!(
        call(base, "GET", "/v1/webhooks/events")
            .token(&viewer)
            .send()
            .await
            .status,
        200,
        "a folder token does not revoke the organization token"
    );

    // A folder token is not an organization token.
    let mut endpoints = webhook_endpoints(&world.acme, &world.acme_hook);
    endpoints.push(Endpoint::new("GET", "/v1/webhooks/events".into(), None));
    endpoints.push(Endpoint::new("GET", "/v1/organizations".into(), None));
    let mut refresh = Endpoint::new("POST", "/v1/auth/refresh-token".into(), None);
    refresh
        .headers
        .push(("organizationUuid", world.acme.clone()));
    endpoints.push(refresh);
    for endpoint in endpoints {
        world
            .refused(endpoint.call(base).token(&folder), 403, &["FORBIDDEN"])
            .await;
    }

    // Owners and admins have no folder tokens.
    world
        .refused(
            folder_token(&world.token, &footwear),
            403,
            &["BAD_CREDENTIALS"],
        )
        .await;
    for unknown in [NOBODY, emea.as_str()] {
        world
            .refused(
                folder_token(&viewer, unknown),
                403,
                &["INVALID_CLIENT_UUID"],
            )
            .await;
    }
    // A folder of the organization that is not the viewer's, and the login token instead of
    // the organization token.
    world
        .refused(folder_token(&viewer, &bags), 403, &["FORBIDDEN"])
        .await;
    world
        .refused(folder_token(&viewer_login, &footwear), 403, &["FORBIDDEN"])
        .await;

    // A second folder token revokes the first.
    let second = folder_token(&viewer, &footwear).send().await.token();
    world
        .refused(
            call(base, "GET", "/v1/clients/client-organizations").token(&folder),
            403,
            &["FORBIDDEN"],
        )
        .await;
    assert_eq!(
        call(base, "GET", "/v1/clients/client-organizations")
            .token(&second)
            .send()
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn endpoints_that_take_no_body_ignore_one() {
    let world = World::new().await;
    let base = world.base();
    let junk = b"{not json at all";
    let list = format!("/v1/webhooks/organization/{}", world.acme);
    let hook = format!("/v1/webhooks/{}", world.acme_hook);
    for (method, path) in [
        ("GET", list.as_str()),
        ("GET", hook.as_str()),
        ("GET", "/v1/webhooks/events"),
        ("GET", "/v1/organizations"),
        ("PATCH", &format!("{hook}/secret")),
        ("DELETE", hook.as_str()),
    ] {
        let answer = call(base, method, path)
            .token(&world.token)
            .header("content-type", "application/json")
            .raw_body(junk)
            .send()
            .await;
        assert_eq!(answer.status, 200, "{method} {path}: {:?}", answer.body);
    }
    let login = login_token(base, DEMO_KEY).await;
    let refreshed = call(base, "POST", "/v1/auth/refresh-token")
        .token(&login)
        .header("organizationUuid", &world.acme)
        .raw_body(junk)
        .send()
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
}

/// One pass over every endpoint (and a few refusals), with `slash` after every path. Returns
/// each answer's status, body and new token.
async fn every_endpoint(base: &str, slash: &str) -> Vec<(u16, Value, Option<String>)> {
    let p = |path: &str| format!("{path}{slash}");
    let mut answers = Vec::new();
    let mut record = |answer: &crate::support::raw::Answer| {
        let token = answer
            .headers
            .get("x-auth-token")
            .map(|v| v.to_str().unwrap().to_owned());
        answers.push((answer.status, answer.body.clone(), token));
    };
    let login = call(base, "POST", &p("/v1/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await;
    record(&login);
    let key_login = call(base, "POST", &p("/v1/auth/login/token"))
        .json(&json!({"personal-access-token": DEMO_KEY}))
        .send()
        .await;
    record(&key_login);
    let orgs = call(base, "GET", &p("/v1/organizations"))
        .token(&login.token())
        .send()
        .await;
    record(&orgs);
    let acme = orgs.response()["grid"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = call(base, "POST", &p("/v1/auth/refresh-token"))
        .token(&key_login.token())
        .header("organizationUuid", &acme)
        .send()
        .await;
    record(&refresh);
    let token = refresh.token();
    for path in [
        "/v1/clients/client-organizations".to_owned(),
        "/v1/webhooks/events".into(),
        format!("/v1/webhooks/organization/{acme}"),
    ] {
        record(&call(base, "GET", &p(&path)).token(&token).send().await);
    }
    let created = call(base, "POST", &p("/v1/webhooks"))
        .token(&token)
        .json(&request_body(&acme))
        .send()
        .await;
    record(&created);
    let hook = format!(
        "/v1/webhooks/{}",
        created.response()["uuid"].as_str().unwrap()
    );
    record(&call(base, "GET", &p(&hook)).token(&token).send().await);
    let renamed = with(&request_body(&acme), "name", Some(json!("renamed")));
    record(
        &call(base, "PUT", &p(&hook))
            .token(&token)
            .json(&renamed)
            .send()
            .await,
    );
    record(
        &call(base, "PATCH", &p(&format!("{hook}/secret")))
            .token(&token)
            .send()
            .await,
    );
    record(&call(base, "DELETE", &p(&hook)).token(&token).send().await);
    record(&call(base, "GET", &p(&hook)).token(&token).send().await);
    record(&call(base, "GET", &p("/v1/organizations")).send().await);
    record(&call(base, "DELETE", &p("/v1/organizations")).send().await);
    record(
        &call(base, "POST", &p("/v1/webhooks"))
            .token(&token)
            .raw_body(b"{not json")
            .send()
            .await,
    );
    record(
        &call(base, "POST", &p("/v1/auth/logout"))
            .token(&login.token())
            .send()
            .await,
    );
    answers
}

#[tokio::test]
async fn both_trailing_slash_forms_of_every_endpoint_answer_the_same() {
    // Two deterministic emulators from the same seed mint the same ids and tokens, so the
    // same requests must get byte-for-byte the same answers whichever form the paths take.
    let plain = Emulator::start_with(&["--deterministic", "--id-seed", "3"]);
    let slashed = Emulator::start_with(&["--deterministic", "--id-seed", "3"]);
    let without = every_endpoint(&plain.url, "").await;
    let with_slash = every_endpoint(&slashed.url, "/").await;
    let statuses: Vec<u16> = without.iter().map(|a| a.0).collect();
    assert_eq!(
        statuses,
        [
            200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401, 405, 400, 200
        ]
    );
    for (i, (a, b)) in without.iter().zip(&with_slash).enumerate() {
        assert_eq!(a, b, "answer {i}");
    }
    assert_eq!(plain.state().await, slashed.state().await);
}

#[tokio::test]
async fn header_names_are_case_insensitive() {
    let world = World::new().await;
    let base = world.base();
    let login = login_token(base, VIEWER_KEY).await;
    let footwear = world.folder_uuid("acme-3d", "footwear").await;
    let mut org_token = String::new();
    for (auth, org) in [
        ("X-AUTH-TOKEN", "ORGANIZATIONUUID"),
        ("x-auth-token", "organizationuuid"),
        ("X-Auth-Token", "OrganizationUuid"),
    ] {
        let bearer = format!("Bearer {login}");
        let answer = wire(
            base,
            "POST",
            "/v1/auth/refresh-token",
            &[(auth, bearer.as_str()), (org, world.acme.as_str())],
            b"",
        )
        .await;
        assert_eq!(answer.status, 200, "{auth}, {org}: {:?}", answer.body);
        org_token = answer.token();
    }
    let bearer = format!("Bearer {org_token}");
    let folder = wire(
        base,
        "POST",
        "/v1/auth/refresh-token/",
        &[
            ("x-AUTH-token", bearer.as_str()),
            ("ORGANIZATIONUUID", world.acme.as_str()),
            ("CLIENTUUID", footwear.as_str()),
        ],
        b"",
    )
    .await;
    assert_eq!(folder.status, 200, "{:?}", folder.body);
    assert_ne!(folder.token(), org_token);
    let owner = format!("Bearer {}", world.token);
    let created = wire(
        base,
        "POST",
        "/v1/webhooks",
        &[
            ("X-AUTH-TOKEN", owner.as_str()),
            ("CONTENT-TYPE", "application/json"),
        ],
        &serde_json::to_vec(&request_body(&world.acme)).unwrap(),
    )
    .await;
    assert_eq!(created.response()["name"], "bad-input");
}
