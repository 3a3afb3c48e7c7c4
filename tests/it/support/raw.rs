//! Raw HTTP against the emulator with `reqwest` and JSON values, NOT through our client, so a
//! misreading of the spec shared by client and emulator cannot hide. Every 200 body is checked
//! against the platform's OpenAPI schema for its operation.

use std::time::Duration;

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

    /// `METHOD path`, for assertion messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub async fn send(self) -> Answer {
        self.try_send(&reqwest::Client::new()).await.expect("send")
    }

    /// Sends with `client` (e.g. one with a timeout); `Err` when no answer came (a dropped
    /// connection, a timeout). An answer that is not JSON still panics.
    pub async fn try_send(self, client: &reqwest::Client) -> Result<Answer, reqwest::Error> {
        let mut request = client.request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(body) = self.body {
            request = request.body(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        Ok(answer(
            self.method.as_str(),
            &self.path,
            status,
            headers,
            &bytes,
        ))
    }
}

/// An answer whose body must be JSON; a 200 body must also conform to the OpenAPI schema.
fn answer(
    method: &str,
    path: &str,
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: &[u8],
) -> Answer {
    let body: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: body is not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    });
    if status == 200 {
        conformance::check(method, path, &body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// A reqwest client that gives up after `timeout` (for requests that may never be answered).
pub fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("a reqwest client")
}

/// Sends one request over a fresh TCP connection byte for byte, so header names reach the
/// emulator exactly as spelled here (reqwest lowercases them). `Host`, `Content-Length` and
/// `Connection: close` are added; the answer is read to the end of the connection.
pub async fn wire(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let authority = base.strip_prefix("http://").expect("an http:// base url");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {}", String::from_utf8_lossy(&raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII headers");
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head}"));
    let mut map = reqwest::header::HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("a header line");
        map.append(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    assert!(
        map.get("transfer-encoding").is_none(),
        "the emulator answers with a Content-Length"
    );
    answer(method, path, status, map, &raw[split + 4..])
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
