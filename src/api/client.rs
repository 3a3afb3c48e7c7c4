//! The HTTP client of the VNTANA Admin API (reqwest with rustls): one method per operation of
//! vntana-api.md, each a request with the retry policy of its kind, `-v` tracing (method,
//! path, status, time; never a header value or body), and the envelope checked: `success:
//! false` is an error even on 200. `--parallelism` bounds the requests in flight here, so
//! reads count too. Tokens are arguments; `auth::Session` decides which one to use. A
//! loopback API (the emulator) is never reached through a proxy: the environment's proxies
//! serve real hosts only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::endpoint::Endpoint;
use super::error::{ApiError, ClientError};
use super::ids::{FolderUuid, OrganizationUuid, WebhookUuid};
use super::redacted::Token;
use super::retry::{self, Failure, Idempotency, RetryPolicy, Verdict};
use super::wire::{
    Envelope, EventCatalogue, Folder, Grid, Organization, SignInRequest, SignInResponse,
    SignInWithKeyRequest, Webhook, WebhookRequest, headers, paths,
};

/// How to build a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The API's base url (checked: https, or http on loopback).
    pub api_url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Requests in flight at most.
    pub parallelism: usize,
    pub retry: RetryPolicy,
    /// Told of every attempt: its HTTP status (`None`: no answer) and how long it took
    /// (`watch --health-addr`'s metrics).
    pub observer: Observer,
}

/// What `ClientOptions::observer` is.
pub type RequestObserver = Arc<dyn Fn(Option<u16>, Duration) + Send + Sync>;

/// An optional observer that prints as whether it is set (it holds no data worth showing).
#[derive(Clone, Default)]
pub struct Observer(pub Option<RequestObserver>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Observer" } else { "None" })
    }
}

impl ClientOptions {
    /// Options with the defaults of product.md: 30 s timeout, parallelism 4.
    pub fn new(api_url: impl Into<String>) -> Self {
        ClientOptions {
            api_url: api_url.into(),
            timeout: Duration::from_secs(30),
            parallelism: 4,
            retry: RetryPolicy::default(),
            observer: Observer::default(),
        }
    }
}

/// A cheap-to-clone handle on one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    endpoint: Endpoint,
    timeout: Duration,
    policy: RetryPolicy,
    in_flight: Semaphore,
    observer: Observer,
}

/// A sign-in's result: the login token and the signed-in user's email.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: Token,
    pub email: String,
}

/// One request to make.
struct Call<'a> {
    method: Method,
    path: String,
    token: Option<&'a Token>,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    kind: Idempotency,
}

impl<'a> Call<'a> {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Call {
            method,
            path: path.into(),
            token: None,
            headers: Vec::new(),
            body: None,
            kind: Idempotency::Idempotent,
        }
    }

    fn token(mut self, token: &'a Token) -> Self {
        self.token = Some(token);
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn json(mut self, body: &impl Serialize) -> Self {
        // Our request models always serialise.
        self.body = Some(serde_json::to_vec(body).expect("request models serialise"));
        self
    }

    fn create(mut self) -> Self {
        self.kind = Idempotency::Create;
        self
    }
}

/// A successful (2xx) answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// What one attempt ended with.
enum Attempt {
    Answered(Answer),
    Failed(reqwest::Error),
}

impl Client {
    /// Builds a client; the url is checked before any request.
    pub fn new(options: &ClientOptions) -> Result<Client, ClientError> {
        let endpoint = Endpoint::parse(&options.api_url)?;
        let mut http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("vntana-webhooks/", env!("CARGO_PKG_VERSION")));
        if endpoint.is_loopback() {
            // `HTTP_PROXY` and `ALL_PROXY` would otherwise carry a plain-http request, API key
            // and tokens in clear, to the proxy: a loopback API is on this machine, never
            // proxied. Other hosts keep the environment's proxies (`HTTPS_PROXY`, `NO_PROXY`).
            http = http.no_proxy();
        }
        let http = http.build().map_err(ClientError::Build)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                endpoint,
                timeout: options.timeout,
                policy: options.retry,
                in_flight: Semaphore::new(options.parallelism.max(1)),
                observer: options.observer.clone(),
            }),
        })
    }

    /// The API's base url, any password masked (for messages).
    pub fn base_url(&self) -> String {
        self.inner.endpoint.shown()
    }

    /// `POST /v1/auth/login/token` with an API key.
    pub async fn sign_in_with_key(
        &self,
        key: &super::redacted::ApiKey,
    ) -> Result<SignedIn, ApiError> {
        let body = SignInWithKeyRequest {
            personal_access_token: key.clone(),
        };
        self.sign_in_call(Call::new(Method::POST, paths::LOGIN_WITH_KEY).json(&body))
            .await
    }

    /// `POST /v1/auth/login` with email and password.
    pub async fn sign_in_with_password(
        &self,
        email: &str,
        password: &super::redacted::Password,
    ) -> Result<SignedIn, ApiError> {
        let body = SignInRequest {
            email: email.to_owned(),
            password: password.clone(),
        };
        self.sign_in_call(Call::new(Method::POST, paths::LOGIN).json(&body))
            .await
    }

    async fn sign_in_call(&self, call: Call<'_>) -> Result<SignedIn, ApiError> {
        let (response, token): (SignInResponse, _) = self.call_with_token(call).await?;
        Ok(SignedIn {
            token,
            email: response.email,
        })
    }

    /// `GET /v1/organizations` (login or organization token).
    pub async fn organizations(&self, token: &Token) -> Result<Vec<Organization>, ApiError> {
        let call = Call::new(Method::GET, paths::ORGANIZATIONS).token(token);
        self.call_list(call).await
    }

    /// `POST /v1/auth/refresh-token`: an organization token. Minting revokes the user's
    /// previous token for the organization.
    pub async fn mint_organization_token(
        &self,
        token: &Token,
        organization: &OrganizationUuid,
    ) -> Result<Token, ApiError> {
        let call = Call::new(Method::POST, paths::REFRESH_TOKEN)
            .token(token)
            .header(headers::ORGANIZATION_UUID, organization.as_str());
        let (_, token): (SignInResponse, _) = self.call_with_token(call).await?;
        Ok(token)
    }

    /// `POST /v1/auth/refresh-token` with `clientUuid`: a folder token, for non-admin roles.
    pub async fn mint_folder_token(
        &self,
        organization_token: &Token,
        organization: &OrganizationUuid,
        folder: &FolderUuid,
    ) -> Result<Token, ApiError> {
        let call = Call::new(Method::POST, paths::REFRESH_TOKEN)
            .token(organization_token)
            .header(headers::ORGANIZATION_UUID, organization.as_str())
            .header(headers::CLIENT_UUID, folder.as_str());
        let (_, token): (SignInResponse, _) = self.call_with_token(call).await?;
        Ok(token)
    }

    /// `GET /v1/clients/client-organizations`: the folders of the token's organization.
    pub async fn folders(&self, token: &Token) -> Result<Vec<Folder>, ApiError> {
        self.call_list(Call::new(Method::GET, paths::FOLDERS).token(token))
            .await
    }

    /// `GET /v1/webhooks/events`: the event catalogue (any organization token).
    pub async fn events(&self, token: &Token) -> Result<EventCatalogue, ApiError> {
        self.call(Call::new(Method::GET, paths::EVENTS).token(token))
            .await
    }

    /// `GET /v1/webhooks/organization/{uuid}`: every webhook of the organization. A list whose
    /// `totalCount` disagrees with its entries is an error, never a partial answer.
    pub async fn list_webhooks(
        &self,
        token: &Token,
        organization: &OrganizationUuid,
    ) -> Result<Vec<Webhook>, ApiError> {
        self.call_list(
            Call::new(Method::GET, paths::organization_webhooks(organization)).token(token),
        )
        .await
    }

    /// `GET /v1/webhooks/{uuid}`.
    pub async fn get_webhook(
        &self,
        token: &Token,
        uuid: &WebhookUuid,
    ) -> Result<Webhook, ApiError> {
        self.call(Call::new(Method::GET, paths::webhook(uuid)).token(token))
            .await
    }

    /// `POST /v1/webhooks`. Retried only when surely not processed; otherwise the error is
    /// `OutcomeUnknown` and the caller re-lists.
    pub async fn create_webhook(
        &self,
        token: &Token,
        request: &WebhookRequest,
    ) -> Result<Webhook, ApiError> {
        let mut body = request.clone();
        body.uuid = None;
        self.call(
            Call::new(Method::POST, paths::WEBHOOKS)
                .token(token)
                .json(&body)
                .create(),
        )
        .await
    }

    /// `PUT /v1/webhooks/{uuid}`: replaces the whole webhook.
    pub async fn update_webhook(
        &self,
        token: &Token,
        uuid: &WebhookUuid,
        request: &WebhookRequest,
    ) -> Result<Webhook, ApiError> {
        let mut body = request.clone();
        body.uuid = Some(uuid.clone());
        self.call(
            Call::new(Method::PUT, paths::webhook(uuid))
                .token(token)
                .json(&body),
        )
        .await
    }

    /// `DELETE /v1/webhooks/{uuid}`: answers with the deleted webhook.
    pub async fn delete_webhook(
        &self,
        token: &Token,
        uuid: &WebhookUuid,
    ) -> Result<Webhook, ApiError> {
        self.call(Call::new(Method::DELETE, paths::webhook(uuid)).token(token))
            .await
    }

    /// `PATCH /v1/webhooks/{uuid}/secret`: a new secret, in the answered webhook.
    pub async fn regenerate_secret(
        &self,
        token: &Token,
        uuid: &WebhookUuid,
    ) -> Result<Webhook, ApiError> {
        self.call(Call::new(Method::PATCH, paths::webhook_secret(uuid)).token(token))
            .await
    }

    /// A call answering `response: T`.
    async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, ApiError> {
        let answer = self.execute(&call).await?;
        decode(&call, &answer)
    }

    /// A call answering a grid whose `totalCount` must match its entries.
    async fn call_list<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<Vec<T>, ApiError> {
        let answer = self.execute(&call).await?;
        complete_list(&call, decode(&call, &answer)?)
    }

    /// A call whose answer carries a new token in `x-auth-token`.
    async fn call_with_token<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
    ) -> Result<(T, Token), ApiError> {
        let answer = self.execute(&call).await?;
        let body = decode(&call, &answer)?;
        let token = answer
            .headers
            .get(headers::AUTH_TOKEN)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().trim_start_matches(headers::BEARER_PREFIX).trim())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::MissingToken {
                method: call.method.clone(),
                path: call.path.clone(),
            })?;
        super::redacted::never_show(token, super::redacted::Kind::Token);
        Ok((body, Token::new(token)))
    }

    /// Runs `call` with its retry policy until it is answered with a 2xx, fails for good, or
    /// (a create) has an unknown outcome.
    async fn execute(&self, call: &Call<'_>) -> Result<Answer, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.attempt(call).await;
            let failure = match &outcome {
                Attempt::Answered(answer) if answer.status.is_success() => {
                    let Attempt::Answered(answer) = outcome else {
                        unreachable!()
                    };
                    return Ok(answer);
                }
                Attempt::Answered(answer) if answer.status == StatusCode::TOO_MANY_REQUESTS => {
                    Failure::RateLimited(retry_after(&answer.headers))
                }
                Attempt::Answered(answer) if answer.status.is_server_error() => {
                    Failure::ServerError
                }
                Attempt::Answered(answer) => return Err(status_error(call, answer, attempt)),
                Attempt::Failed(err) => classify(err),
            };
            match self
                .inner
                .policy
                .decide(call.kind, failure, attempt, retry::jitter())
            {
                Verdict::RetryAfter(wait) => {
                    tracing::debug!(
                        "retrying {} {} in {} ms ({})",
                        call.method,
                        call.path,
                        wait.as_millis(),
                        describe(failure)
                    );
                    tokio::time::sleep(wait).await;
                }
                Verdict::GiveUp => return Err(self.final_error(call, outcome, attempt)),
                Verdict::OutcomeUnknown => {
                    return Err(ApiError::OutcomeUnknown {
                        method: call.method.clone(),
                        path: call.path.clone(),
                        cause: describe(failure),
                        answered: failure == Failure::ServerError,
                    });
                }
            }
        }
    }

    /// One attempt, holding a place among the requests in flight.
    async fn attempt(&self, call: &Call<'_>) -> Attempt {
        let _permit = self
            .inner
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), self.inner.endpoint.url(&call.path));
        if let Some(token) = call.token {
            request = request.header(
                headers::AUTH_TOKEN,
                format!("{}{}", headers::BEARER_PREFIX, token.expose()),
            );
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let started = Instant::now();
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Answer {
                status,
                headers,
                body,
            })
        }
        .await;
        let took = started.elapsed();
        let millis = took.as_millis();
        if let Some(observe) = &self.inner.observer.0 {
            observe(result.as_ref().ok().map(|a| a.status.as_u16()), took);
        }
        match result {
            Ok(answer) => {
                tracing::info!(
                    "{} {} -> {} ({millis} ms)",
                    call.method,
                    call.path,
                    answer.status.as_u16()
                );
                Attempt::Answered(answer)
            }
            Err(err) => {
                tracing::info!(
                    "{} {} -> {} ({millis} ms)",
                    call.method,
                    call.path,
                    describe(classify(&err))
                );
                Attempt::Failed(err.without_url())
            }
        }
    }

    fn final_error(&self, call: &Call<'_>, outcome: Attempt, attempts: u32) -> ApiError {
        match outcome {
            Attempt::Answered(answer) => status_error(call, &answer, attempts),
            Attempt::Failed(err) if err.is_timeout() && !err.is_connect() => ApiError::Timeout {
                method: call.method.clone(),
                path: call.path.clone(),
                timeout_ms: self.inner.timeout.as_millis(),
                attempts,
            },
            Attempt::Failed(source) => ApiError::Transport {
                method: call.method.clone(),
                path: call.path.clone(),
                host: self.inner.endpoint.host(),
                attempts,
                source,
            },
        }
    }
}

/// How a transport error matters to retrying.
fn classify(err: &reqwest::Error) -> Failure {
    if err.is_connect() {
        Failure::ConnectRefused
    } else if err.is_timeout() {
        Failure::Timeout
    } else {
        Failure::ConnectionLost
    }
}

fn describe(failure: Failure) -> String {
    match failure {
        Failure::RateLimited(_) => "429 rate limited".to_owned(),
        Failure::ServerError => "server error".to_owned(),
        Failure::Timeout => "timed out".to_owned(),
        Failure::ConnectRefused => "connection refused".to_owned(),
        Failure::ConnectionLost => "connection lost without an answer".to_owned(),
    }
}

/// `Retry-After` as seconds or as an HTTP date (RFC 9110 allows both; a date in the past is
/// no wait). The retry policy caps it.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(headers::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The error for an answer that is not a success: the envelope's codes, if it has some.
fn status_error(call: &Call<'_>, answer: &Answer, attempts: u32) -> ApiError {
    let codes = serde_json::from_slice::<Envelope<serde_json::Value>>(&answer.body)
        .map(|envelope| envelope.errors)
        .unwrap_or_default();
    ApiError::Status {
        method: call.method.clone(),
        path: call.path.clone(),
        status: answer.status.as_u16(),
        codes,
        attempts,
    }
}

/// The entries of a grid, unless `totalCount` disagrees with them (a partial list).
fn complete_list<T>(call: &Call<'_>, grid: Grid<T>) -> Result<Vec<T>, ApiError> {
    if grid.total_count != grid.grid.len() as u64 {
        return Err(ApiError::PartialList {
            method: call.method.clone(),
            path: call.path.clone(),
            total_count: grid.total_count,
            entries: grid.grid.len(),
        });
    }
    Ok(grid.grid)
}

/// The `response` of a success envelope; `success: false` is an error even on 200.
fn decode<T: DeserializeOwned>(call: &Call<'_>, answer: &Answer) -> Result<T, ApiError> {
    let decode_error = |source: serde_json::Error| ApiError::Decode {
        method: call.method.clone(),
        path: call.path.clone(),
        status: answer.status.as_u16(),
        source: source.into(),
    };
    // A success decodes straight into T: through a Value first, a webhook list of thousands
    // costs twice the time and memory. Anything else (a failure, whose `response` may have any
    // shape, a null response, a body T does not fit) takes the Value path below, which reads
    // the error codes and makes the same error as before.
    if let Ok(Envelope {
        success: true,
        response: Some(response),
        ..
    }) = serde_json::from_slice::<Envelope<T>>(&answer.body)
    {
        return Ok(response);
    }
    let envelope: Envelope<serde_json::Value> =
        serde_json::from_slice(&answer.body).map_err(decode_error)?;
    if !envelope.success {
        return Err(ApiError::Status {
            method: call.method.clone(),
            path: call.path.clone(),
            status: answer.status.as_u16(),
            codes: envelope.errors,
            attempts: 1,
        });
    }
    serde_json::from_value(envelope.response.unwrap_or(serde_json::Value::Null))
        .map_err(decode_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(headers::RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers)
        };
        assert_eq!(with("7"), Some(Duration::from_secs(7)));
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        let waited = with(&soon).unwrap();
        assert!(
            waited > Duration::from_secs(25) && waited <= Duration::from_secs(30),
            "{waited:?}"
        );
        assert_eq!(with("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(with("soon"), None);
    }

    #[test]
    fn success_false_is_an_error_even_on_200() {
        let call = Call::new(Method::GET, "/v1/organizations");
        let body = r#"{"success":false,"errors":["FORBIDDEN"],"response":null}"#;
        let err = decode::<serde_json::Value>(&call, &answer(200, body)).unwrap_err();
        assert!(
            err.has_code("FORBIDDEN") && err.status() == Some(200),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("GET /v1/organizations failed: 200 FORBIDDEN"),
            "{err}"
        );
    }

    #[test]
    fn a_body_that_is_not_the_envelope_is_a_decode_error() {
        let call = Call::new(Method::GET, "/v1/organizations");
        let err = decode::<serde_json::Value>(&call, &answer(200, "<html>")).unwrap_err();
        assert!(matches!(err, ApiError::Decode { .. }), "{err}");
    }

    #[test]
    fn a_success_decodes_its_response_and_a_null_or_misshapen_one_as_before() {
        let call = Call::new(Method::GET, "/v1/webhooks/organization/o");
        let list = r#"{"success":true,"errors":[],"response":{"totalCount":1,"grid":[7]}}"#;
        assert_eq!(
            decode::<Grid<u32>>(&call, &answer(200, list)).unwrap(),
            Grid::of(vec![7])
        );
        let null = r#"{"success":true,"errors":[],"response":null}"#;
        assert_eq!(
            decode::<Option<u32>>(&call, &answer(200, null)).unwrap(),
            None
        );
        let misshapen = r#"{"success":true,"errors":[],"response":{"grid":"no"}}"#;
        let err = decode::<Grid<u32>>(&call, &answer(200, misshapen)).unwrap_err();
        assert!(matches!(err, ApiError::Decode { status: 200, .. }), "{err}");
    }

    #[test]
    fn a_list_whose_total_count_disagrees_is_not_trusted() {
        let call = Call::new(Method::GET, "/v1/webhooks/organization/o");
        let grid = Grid {
            total_count: 3,
            grid: vec![1, 2],
        };
        let err = complete_list(&call, grid).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GET /v1/webhooks/organization/o failed: the list is inconsistent (totalCount 3, 2 entries); not trusting a partial list"
        );
        assert_eq!(complete_list(&call, Grid::of(vec![1, 2])).unwrap(), [1, 2]);
    }

    #[test]
    fn an_error_status_carries_the_envelope_s_codes() {
        let call = Call::new(Method::DELETE, "/v1/webhooks/w");
        let body = r#"{"success":false,"errors":["WEBHOOK_NOT_FOUND"],"response":null}"#;
        let err = status_error(&call, &answer(404, body), 1);
        assert!(err.is_not_found() && err.has_code("WEBHOOK_NOT_FOUND"));
        let html = status_error(&call, &answer(502, "<html>bad gateway</html>"), 6);
        assert_eq!(
            html.to_string(),
            "DELETE /v1/webhooks/w failed: 502 (no error code) (after 6 attempts): the platform failed; try again later"
        );
    }
}
