//! Raw HTTP against the emulator with `reqwest` and JSON values, NOT through our client, so a
//! misreading of the spec shared by client and emulator cannot hide. Every 200 body is checked
//! against the platform's OpenAPI schema for its operation.

use reqwest::Method;
use serde_json::Value;

use super::conformance;

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The raw `x-auth-token` header (a new token).
    pub fn token(&self) -> String {
        self.headers
            .get("x-auth-token")
            .unwrap_or_else(|| panic!("no x-auth-token in {:?}", self.headers))
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The `response` of a success envelope.
    pub fn response(&self) -> &Value {
        assert_eq!(self.status, 200, "{:?}", self.body);
        &self.body["response"]
    }

    /// Asserts the exact error envelope of vntana-api.md.
    #[track_caller]
    pub fn assert_error(&self, status: u16, codes: &[&str]) {
        assert_eq!(
            (self.status, &self.body),
            (
                status,
                &serde_json::json!({"success": false, "errors": codes, "response": null})
            ),
        );
    }
}

/// A request builder for one call.
pub struct Call {
    method: Method,
    url: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// Starts a call of `method` on `base` + `path`.
pub fn call(base: &str, method: &str, path: &str) -> Call {
    Call {
        method: Method::from_bytes(method.as_bytes()).unwrap(),
        url: format!("{base}{path}"),
        path: path.to_owned(),
        headers: Vec::new(),
        body: None,
    }
}

impl Call {
    /// `X-AUTH-TOKEN: Bearer <token>`.
    pub fn token(self, token: &str) -> Call {
        self.header("X-AUTH-TOKEN", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn json(mut self, body: &Value) -> Call {
        self.body = Some(serde_json::to_vec(body).unwrap());
        self.header("content-type", "application/json")
    }

    pub fn raw_body(mut self, body: &[u8]) -> Call {
        self.body = Some(body.to_vec());
        self
    }

    pub async fn send(self) -> Answer {
        let client = reqwest::Client::new();
        let mut request = client.request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(body) = self.body {
            request = request.body(body);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{} {}: body is not JSON ({e}): {bytes:?}",
                self.method, self.path
            )
        });
        if status == 200 {
            conformance::check(self.method.as_str(), &self.path, &body);
        }
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// Signs in with the default seed's owner key and mints an organization token.
pub async fn org_token(base: &str, key: &str, org_uuid: &str) -> String {
    let login = call(base, "POST", "/v1/auth/login/token")
        .json(&serde_json::json!({"personal-access-token": key}))
        .send()
        .await
        .token();
    call(base, "POST", "/v1/auth/refresh-token")
        .token(&login)
        .header("organizationUuid", org_uuid)
        .send()
        .await
        .token()
}

/// A login token for an API key.
pub async fn login_token(base: &str, key: &str) -> String {
    call(base, "POST", "/v1/auth/login/token")
        .json(&serde_json::json!({"personal-access-token": key}))
        .send()
        .await
        .token()
}
