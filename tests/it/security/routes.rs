//! Every route of the emulator's Admin API (vntana-api.md, "Authentication" and "Webhooks";
//! the emulator's router) against every caller that must not get in: no token, another user's
//! token for another organization, the caller's own token for another organization, a revoked
//! token, a role that may not manage webhooks, and a login token where an organization token
//! is needed. Each cell is the exact answer the spec prescribes: the refusal's status and code
//! with the whole `GET /_emulator/state` unchanged, or, where the route is public or open to
//! that caller, its documented 200 (raw HTTP; every 200 body is also checked against the
//! platform's OpenAPI schema by `support::raw`).

use serde_json::{Value, json};

use crate::support::emulator::{DEMO_KEY, Emulator, OWNER_EMAIL, OWNER_PASSWORD, VIEWER_KEY};
use crate::support::raw::{Call, call, login_token, org_token};

/// A third user of the seed: an admin of globex only, so not a member of acme-3d.
const GLOBEX_ADMIN_KEY: &str = "globex-admin-key-5d0c81";
const GLOBEX_ADMIN_EMAIL: &str = "admin@globex.example";
const VIEWER_EMAIL: &str = "viewer@acme.example";
const PRODUCT_ADDED: &str = "1a426e7d-5e41-480c-b00f-9f46ca12e5ca";

/// Who calls. The resource of every route is acme-3d's (its webhook `pim-sync`, its list, its
/// tokens), so "another organization" means a token of globex.
#[derive(Debug, Clone, Copy)]
enum Caller {
    /// No `X-AUTH-TOKEN` header.
    NoToken,
    /// The globex-only admin's organization token for globex: another user, another
    /// organization, a role that may manage webhooks there.
    OtherUser,
    /// The owner's own organization token for globex (they own acme-3d too).
    OtherOrganization,
    /// The owner's acme-3d token after a second one was minted (vntana-api.md: revoked).
    Revoked,
    /// The acme-3d viewer's organization token (CLIENT_ORGANIZATION_VIEWER).
    Viewer,
    /// The owner's login token, which is not an organization token.
    LoginToken,
}

const CALLERS: [Caller; 6] = [
    Caller::NoToken,
    Caller::OtherUser,
    Caller::OtherOrganization,
    Caller::Revoked,
    Caller::Viewer,
    Caller::LoginToken,
];

/// What a cell's answer must be.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// This status and error code, and the state unchanged.
    Refused(u16, &'static str),
    /// 200 with this `response`.
    Ok(Shows),
}

/// The `response` of a documented 200.
#[derive(Debug, Clone, Copy)]
enum Shows {
    /// Sign-in and token answers: `{"email"}` (the token travels in a header).
    Email(&'static str),
    /// `GET /v1/organizations`: the caller's organizations, by slug.
    Organizations(&'static [&'static str]),
    /// `GET /v1/clients/client-organizations`: the token's organization's folders the caller
    /// sees, by slug.
    Folders(&'static [&'static str]),
    /// The event catalogue: three categories.
    Catalogue,
    /// Logout: an empty object.
    Nothing,
}

use Expect::{Ok, Refused};

const UNAUTHORIZED: Expect = Refused(401, "UNAUTHORIZED");
const FORBIDDEN: Expect = Refused(403, "FORBIDDEN");
/// A webhook operation: only an owner's or admin's token of the webhook's organization.
const MANAGERS_ONLY: [Expect; 6] = [
    UNAUTHORIZED,
    FORBIDDEN,
    FORBIDDEN,
    FORBIDDEN,
    FORBIDDEN,
    FORBIDDEN,
];
/// Sign-in needs no token, and a token sent along changes nothing.
const PUBLIC: [Expect; 6] = [Ok(Shows::Email(OWNER_EMAIL)); 6];

/// The seed's uuids the requests name.
struct World {
    emulator: Emulator,
    acme: String,
    globex: String,
    /// acme-3d's webhook `pim-sync`.
    hook: String,
    /// acme-3d's folder `footwear` (the viewer's folder).
    footwear: String,
    _dir: tempfile::TempDir,
}

/// One route of the API, with a request it would accept from its rightful caller.
struct Route {
    name: &'static str,
    method: &'static str,
    path: fn(&World) -> String,
    headers: fn(&World) -> Vec<(&'static str, String)>,
    body: fn(&World) -> Option<Value>,
    /// The answer for each caller, in the order of `CALLERS`.
    expect: [Expect; 6],
}

fn no_headers(_: &World) -> Vec<(&'static str, String)> {
    Vec::new()
}

fn no_body(_: &World) -> Option<Value> {
    None
}

/// A valid request model for acme-3d.
fn webhook_body(world: &World) -> Value {
    json!({
        "name": "intruder", "url": "https://example.com/hook", "description": "",
        "disable": false, "userEmail": "a@b.co", "organizationUuid": world.acme, "clients": [],
        "events": [{"uuid": PRODUCT_ADDED, "name": "product.added", "description": "", "category": "Product"}]
    })
}

/// Every route the emulator's router serves under `/v1` (the folder-token step of
/// `refresh-token` is its own row: vntana-api.md lists it as its own step).
const ROUTES: &[Route] = &[
    Route {
        name: "sign in with email and password",
        method: "POST",
        path: |_| "/v1/auth/login".into(),
        headers: no_headers,
        body: |_| Some(json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD})),
        expect: PUBLIC,
    },
    Route {
        name: "sign in with an API key",
        method: "POST",
        path: |_| "/v1/auth/login/token".into(),
        headers: no_headers,
        body: |_| Some(json!({"personal-access-token": DEMO_KEY})),
        expect: PUBLIC,
    },
    Route {
        name: "mint an organization token",
        method: "POST",
        path: |_| "/v1/auth/refresh-token".into(),
        headers: |w| vec![("organizationUuid", w.acme.clone())],
        body: no_body,
        // vntana-api.md mints with the login token and is silent about other tokens of
        // the same user; the emulator lets any of them switch to an organization the user
        // belongs to (any role: the viewer gets a token, not webhooks), and another user
        // who is no member of acme-3d gets 403.
        expect: [
            UNAUTHORIZED,
            FORBIDDEN,
            Ok(Shows::Email(OWNER_EMAIL)),
            FORBIDDEN,
            Ok(Shows::Email(VIEWER_EMAIL)),
            Ok(Shows::Email(OWNER_EMAIL)),
        ],
    },
    Route {
        name: "mint a folder token",
        method: "POST",
        path: |_| "/v1/auth/refresh-token".into(),
        headers: |w| {
            vec![
                ("organizationUuid", w.acme.clone()),
                ("clientUuid", w.footwear.clone()),
            ]
        },
        body: no_body,
        // Only with an organization token of that organization, and only for non-admin
        // roles in their own folders: the viewer of footwear.
        expect: [
            UNAUTHORIZED,
            FORBIDDEN,
            FORBIDDEN,
            FORBIDDEN,
            Ok(Shows::Email(VIEWER_EMAIL)),
            FORBIDDEN,
        ],
    },
    Route {
        name: "log out",
        method: "POST",
        path: |_| "/v1/auth/logout".into(),
        headers: no_headers,
        body: no_body,
        // Any live token may end itself.
        expect: [
            UNAUTHORIZED,
            Ok(Shows::Nothing),
            Ok(Shows::Nothing),
            FORBIDDEN,
            Ok(Shows::Nothing),
            Ok(Shows::Nothing),
        ],
    },
    Route {
        name: "list organizations",
        method: "GET",
        path: |_| "/v1/organizations".into(),
        headers: no_headers,
        body: no_body,
        // A login or organization token: the caller's own organizations.
        expect: [
            UNAUTHORIZED,
            Ok(Shows::Organizations(&["globex"])),
            Ok(Shows::Organizations(&["acme-3d", "globex", "initech"])),
            FORBIDDEN,
            Ok(Shows::Organizations(&["acme-3d"])),
            Ok(Shows::Organizations(&["acme-3d", "globex", "initech"])),
        ],
    },
    Route {
        name: "list folders",
        method: "GET",
        path: |_| "/v1/clients/client-organizations".into(),
        headers: no_headers,
        body: no_body,
        // The organization is the token's: a globex token sees globex's folders, never
        // acme-3d's; the viewer sees their own folder.
        expect: [
            UNAUTHORIZED,
            Ok(Shows::Folders(&["emea", "americas"])),
            Ok(Shows::Folders(&["emea", "americas"])),
            FORBIDDEN,
            Ok(Shows::Folders(&["footwear"])),
            FORBIDDEN,
        ],
    },
    Route {
        name: "read the event catalogue",
        method: "GET",
        path: |_| "/v1/webhooks/events".into(),
        headers: no_headers,
        body: no_body,
        // The same for every organization, for any organization token and any role.
        expect: [
            UNAUTHORIZED,
            Ok(Shows::Catalogue),
            Ok(Shows::Catalogue),
            FORBIDDEN,
            Ok(Shows::Catalogue),
            FORBIDDEN,
        ],
    },
    Route {
        name: "create a webhook",
        method: "POST",
        path: |_| "/v1/webhooks".into(),
        headers: no_headers,
        body: |w| Some(webhook_body(w)),
        expect: MANAGERS_ONLY,
    },
    Route {
        name: "get a webhook",
        method: "GET",
        path: |w| format!("/v1/webhooks/{}", w.hook),
        headers: no_headers,
        body: no_body,
        expect: MANAGERS_ONLY,
    },
    Route {
        name: "update a webhook",
        method: "PUT",
        path: |w| format!("/v1/webhooks/{}", w.hook),
        headers: no_headers,
        body: |w| {
            let mut body = webhook_body(w);
            body["uuid"] = json!(w.hook);
            Some(body)
        },
        expect: MANAGERS_ONLY,
    },
    Route {
        name: "delete a webhook",
        method: "DELETE",
        path: |w| format!("/v1/webhooks/{}", w.hook),
        headers: no_headers,
        body: no_body,
        expect: MANAGERS_ONLY,
    },
    Route {
        name: "regenerate a webhook's secret",
        method: "PATCH",
        path: |w| format!("/v1/webhooks/{}/secret", w.hook),
        headers: no_headers,
        body: no_body,
        expect: MANAGERS_ONLY,
    },
    Route {
        name: "list an organization's webhooks",
        method: "GET",
        path: |w| format!("/v1/webhooks/organization/{}", w.acme),
        headers: no_headers,
        body: no_body,
        expect: MANAGERS_ONLY,
    },
];

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let admin = format!(
            "  - email: {GLOBEX_ADMIN_EMAIL}\n    apiKey: {GLOBEX_ADMIN_KEY}\n    roles:\n      - organization: globex\n        role: ORGANIZATION_ADMIN\n"
        );
        let seed = vntana_webhooks::emulator::DEFAULT_SEED.replacen(
            "  - email: viewer@acme.example",
            &format!("{admin}  - email: viewer@acme.example"),
            1,
        );
        let path = dir.path().join("seed.yaml");
        std::fs::write(&path, seed).unwrap();
        let emulator = Emulator::start_with(&["--seed", path.to_str().unwrap()]);
        let state = emulator.state().await;
        let acme = emulator.org_uuid("acme-3d").await;
        let footwear = state["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["slug"] == "acme-3d")
            .and_then(|o| o["folders"].as_array())
            .and_then(|folders| folders.iter().find(|f| f["slug"] == "footwear"))
            .map(|f| f["uuid"].as_str().unwrap().to_owned())
            .expect("acme-3d's footwear folder");
        World {
            globex: emulator.org_uuid("globex").await,
            hook: emulator.webhook_uuid("pim-sync").await,
            emulator,
            acme,
            footwear,
            _dir: dir,
        }
    }

    /// A fresh token of `caller` (minting revokes the same user's earlier token of the same
    /// organization, so each cell mints its own).
    async fn token(&self, caller: Caller) -> Option<String> {
        let base = &self.emulator.url;
        match caller {
            Caller::NoToken => None,
            Caller::OtherUser => Some(org_token(base, GLOBEX_ADMIN_KEY, &self.globex).await),
            Caller::OtherOrganization => Some(org_token(base, DEMO_KEY, &self.globex).await),
            Caller::Revoked => {
                let revoked = org_token(base, DEMO_KEY, &self.acme).await;
                org_token(base, DEMO_KEY, &self.acme).await;
                Some(revoked)
            }
            Caller::Viewer => Some(org_token(base, VIEWER_KEY, &self.acme).await),
            Caller::LoginToken => Some(login_token(base, DEMO_KEY).await),
        }
    }

    fn request(&self, route: &Route, token: Option<&str>) -> Call {
        let mut request = call(&self.emulator.url, route.method, &(route.path)(self));
        for (name, value) in (route.headers)(self) {
            request = request.header(name, &value);
        }
        if let Some(token) = token {
            request = request.token(token);
        }
        match (route.body)(self) {
            Some(body) => request.json(&body),
            None => request,
        }
    }
}

/// The slugs of a `grid` of organizations or folders, in the answer's order.
fn slugs(response: &Value) -> Vec<&str> {
    response["grid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["slug"].as_str().unwrap())
        .collect()
}

/// Why `response` is not what `shows` says, if it is not.
fn mismatch(response: &Value, shows: Shows) -> Option<String> {
    let fine = match shows {
        Shows::Email(email) => *response == json!({ "email": email }),
        Shows::Organizations(expected) => {
            let mut found = slugs(response);
            found.sort_unstable();
            found == expected
        }
        Shows::Folders(expected) => slugs(response) == expected,
        Shows::Catalogue => response["totalCount"] == 3,
        Shows::Nothing => *response == json!({}),
    };
    (!fine).then(|| format!("expected {shows:?}, got {}", redacted(response)))
}

/// `body` with every `secret` replaced, for failure messages (a wrongly accepted request may
/// answer a webhook, secret included).
fn redacted(body: &Value) -> Value {
    match body {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| {
                    let v = if k == "secret" {
                        json!("****")
                    } else {
                        redacted(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

/// Everything in the state but the issued tokens: what an accepted token request may not
/// change either.
fn without_tokens(state: &Value) -> Value {
    let mut state = state.clone();
    state.as_object_mut().unwrap().remove("tokens");
    state
}

#[tokio::test]
async fn every_api_route_refuses_or_answers_each_kind_of_caller_exactly_as_the_spec_says() {
    let world = World::new().await;
    let mut failures = Vec::new();
    for route in ROUTES {
        for (caller, expect) in CALLERS.iter().zip(route.expect) {
            let cell = format!(
                "{} ({} {}) by {caller:?}",
                route.name,
                route.method,
                (route.path)(&world)
            );
            let token = world.token(*caller).await;
            let before = world.emulator.state().await;
            let answer = world.request(route, token.as_deref()).send().await;
            let after = world.emulator.state().await;
            match expect {
                Refused(status, code) => {
                    let envelope = json!({"success": false, "errors": [code], "response": null});
                    if (answer.status, &answer.body) != (status, &envelope) {
                        failures.push(format!(
                            "{cell}: expected {status} {code}, got {} {}",
                            answer.status,
                            redacted(&answer.body)
                        ));
                    } else if after != before {
                        failures.push(format!("{cell}: refused, but the state changed"));
                    }
                }
                Ok(shows) => {
                    if answer.status != 200
                        || answer.body["success"] != true
                        || answer.body["errors"] != json!([])
                    {
                        failures.push(format!(
                            "{cell}: expected 200, got {} {}",
                            answer.status,
                            redacted(&answer.body)
                        ));
                    } else if let Some(problem) = mismatch(&answer.body["response"], shows) {
                        failures.push(format!("{cell}: {problem}"));
                    } else if without_tokens(&after) != without_tokens(&before) {
                        failures.push(format!("{cell}: changed more than the tokens"));
                    }
                }
            }
        }
    }
    let cells = ROUTES.len() * CALLERS.len();
    assert!(
        failures.is_empty(),
        "{} of {cells} cells are wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
