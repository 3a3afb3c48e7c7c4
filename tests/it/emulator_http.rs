//! The emulator over raw HTTP, checked against golden JSON transcribed from vntana-api.md
//! (not through our client): every endpoint, token rule and error of the spec.

use serde_json::json;

use crate::support::emulator::{DEMO_KEY, Emulator, OWNER_EMAIL, OWNER_PASSWORD};
use crate::support::json::assert_matches;
use crate::support::raw::{call, login_token, org_token};

fn webhook_pattern(name: &str, events: &serde_json::Value) -> serde_json::Value {
    json!({
        "uuid": "<uuid>", "name": name, "description": "<any>", "url": "<any>", "disable": false,
        "secret": "<secret>", "userEmail": "<any>", "organizationUuid": "<uuid>", "clients": "<any>",
        "created": "<timestamp>", "updated": "<timestamp>", "events": events
    })
}

#[tokio::test]
async fn the_whole_auth_flow_and_webhook_crud_work_by_hand() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let acme = emulator.org_uuid("acme-3d").await;

    let login = call(base, "POST", "/v1/auth/login")
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await;
    assert_eq!(
        login.body,
        json!({"success": true, "errors": [], "response": {"email": OWNER_EMAIL}})
    );
    let login_token = login.token();
    assert!(!login_token.starts_with("Bearer"), "tokens come back raw");

    let orgs = call(base, "GET", "/v1/organizations")
        .token(&login_token)
        .send()
        .await;
    assert_matches(
        orgs.response(),
        &json!({"totalCount": 3, "grid": [
            {"uuid": "<uuid>", "slug": "acme-3d", "name": "Acme 3D", "role": "ORGANIZATION_OWNER", "imageBlobId": "<any>", "created": "<timestamp>"},
            {"uuid": "<uuid>", "slug": "globex", "name": "Globex", "role": "ORGANIZATION_ADMIN", "imageBlobId": "<any>", "created": "<timestamp>"},
            {"uuid": "<uuid>", "slug": "initech", "name": "Initech", "role": "CLIENT_ORGANIZATION_VIEWER", "imageBlobId": "<any>", "created": "<timestamp>"}
        ]}),
    );

    let refresh = call(base, "POST", "/v1/auth/refresh-token")
        .token(&login_token)
        .header("organizationUuid", &acme)
        .send()
        .await;
    assert_eq!(
        refresh.body,
        json!({"success": true, "errors": [], "response": {"email": OWNER_EMAIL}})
    );
    let token = refresh.token();

    let folders = call(base, "GET", "/v1/clients/client-organizations")
        .token(&token)
        .send()
        .await;
    let slugs: Vec<_> = folders.response()["grid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["slug"].clone())
        .collect();
    assert_eq!(slugs, [json!("footwear"), json!("bags"), json!("apparel")]);

    let catalogue = call(base, "GET", "/v1/webhooks/events")
        .token(&token)
        .send()
        .await;
    let product = &catalogue.response()["grid"][0];
    assert_eq!(product["category"], "Product");
    assert_eq!(
        product["events"][0],
        json!({"uuid": "1a426e7d-5e41-480c-b00f-9f46ca12e5ca", "name": "product.added", "description": product["events"][0]["description"]})
    );

    let created = call(base, "POST", "/v1/webhooks")
        .token(&token)
        .json(&json!({
            "name": "by-hand", "url": "https://example.com/hook", "description": "", "disable": false,
            "userEmail": "a@b.co", "organizationUuid": acme, "clients": ["bags"],
            "events": [{"uuid": "1a426e7d-5e41-480c-b00f-9f46ca12e5ca", "name": "product.added", "description": "", "category": "Product"}]
        }))
        .send()
        .await;
    let events = json!({"totalCount": 1, "grid": [{"uuid": "<uuid>", "category": "Product", "totalCount": 1,
        "events": [{"uuid": "1a426e7d-5e41-480c-b00f-9f46ca12e5ca", "name": "product.added", "description": "<any>"}]}]});
    assert_matches(created.response(), &webhook_pattern("by-hand", &events));
    let uuid = created.response()["uuid"].as_str().unwrap().to_owned();
    assert_eq!(created.response()["clients"], json!(["bags"]));

    let got = call(base, "GET", &format!("/v1/webhooks/{uuid}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(got.response(), created.response());

    let updated = call(base, "PUT", &format!("/v1/webhooks/{uuid}"))
        .token(&token)
        .json(&json!({"uuid": uuid, "name": "renamed", "url": "https://example.com/hook", "userEmail": "a@b.co",
            "events": [{"uuid": "1a426e7d-5e41-480c-b00f-9f46ca12e5ca"}]}))
        .send()
        .await;
    assert_matches(updated.response(), &webhook_pattern("renamed", &events));
    assert_eq!(
        updated.response()["clients"],
        json!([]),
        "PUT replaces: omitted lists become empty"
    );
    assert_eq!(updated.response()["secret"], created.response()["secret"]);

    let rotated = call(base, "PATCH", &format!("/v1/webhooks/{uuid}/secret"))
        .token(&token)
        .send()
        .await;
    assert_matches(rotated.response(), &webhook_pattern("renamed", &events));
    assert_ne!(rotated.response()["secret"], created.response()["secret"]);

    let list = call(base, "GET", &format!("/v1/webhooks/organization/{acme}"))
        .token(&token)
        .send()
        .await;
    let grid = list.response()["grid"].as_array().unwrap();
    assert_eq!(list.response()["totalCount"], grid.len());
    assert!(grid.iter().any(|w| w["uuid"] == uuid.as_str()));

    let deleted = call(base, "DELETE", &format!("/v1/webhooks/{uuid}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(deleted.response()["uuid"], uuid.as_str());
    call(base, "GET", &format!("/v1/webhooks/{uuid}"))
        .token(&token)
        .send()
        .await
        .assert_error(404, &["WEBHOOK_NOT_FOUND"]);
}

#[tokio::test]
async fn minting_a_new_organization_token_revokes_the_old_one() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    let acme = emulator.org_uuid("acme-3d").await;
    let first = org_token(base, DEMO_KEY, &acme).await;
    let path = format!("/v1/webhooks/organization/{acme}");
    assert_eq!(
        call(base, "GET", &path).token(&first).send().await.status,
        200
    );
    let second = org_token(base, DEMO_KEY, &acme).await;
    call(base, "GET", &path)
        .token(&first)
        .send()
        .await
        .assert_error(403, &["FORBIDDEN"]);
    assert_eq!(
        call(base, "GET", &path).token(&second).send().await.status,
        200
    );
    // A token never issued is 401, not 403.
    call(base, "GET", &path)
        .token("emu.never-issued")
        .send()
        .await
        .assert_error(401, &["UNAUTHORIZED"]);
    // Logging out expires the token it is called with.
    let login = login_token(base, DEMO_KEY).await;
    let logout = call(base, "POST", "/v1/auth/logout")
        .token(&login)
        .send()
        .await;
    assert_eq!(
        logout.body,
        json!({"success": true, "errors": [], "response": {}})
    );
    call(base, "GET", "/v1/organizations")
        .token(&login)
        .send()
        .await
        .assert_error(403, &["FORBIDDEN"]);
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_non_json_bodies_answer_in_the_envelope() {
    let emulator = Emulator::start();
    let base = &emulator.url;
    call(base, "GET", "/v1/nothing-here")
        .send()
        .await
        .assert_error(404, &["NOT_FOUND"]);
    call(base, "DELETE", "/v1/organizations")
        .send()
        .await
        .assert_error(405, &["METHOD_NOT_ALLOWED"]);
    call(base, "POST", "/v1/auth/login")
        .raw_body(b"{not json")
        .send()
        .await
        .assert_error(400, &["BAD_REQUEST"]);
    call(base, "POST", "/v1/auth/login/token/")
        .json(&json!({"personal-access-token": 42}))
        .send()
        .await
        .assert_error(400, &["BAD_REQUEST"]);
}

#[test]
fn the_conformance_check_rejects_bodies_the_schema_does_not_allow() {
    use crate::support::conformance::{check, operation_count};
    assert_eq!(
        operation_count(),
        13,
        "every operation of the OpenAPI file with a 200 schema"
    );
    let good = json!({"success": true, "errors": [], "response": {"email": "a@b.co"}});
    check("POST", "/v1/auth/login", &good);
    for bad in [
        json!({"success": true, "errors": [], "response": {}}),
        json!({"success": true, "errors": [], "response": {"email": "a@b.co", "token": "x"}}),
        json!({"success": "yes", "errors": [], "response": {"email": "a@b.co"}}),
    ] {
        let outcome = std::panic::catch_unwind(|| check("POST", "/v1/auth/login", &bad));
        assert!(outcome.is_err(), "accepted {bad}");
    }
}
